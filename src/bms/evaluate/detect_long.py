"""Long CSVs (one reading per line: time, point, value) turned into the wide rows ``bms detect``
judges.

Many sources export one line per reading rather than one column per point: the product's own
telemetry frame (``time, point, value``), IoT platforms (ThingsBoard's ``ts, key, value``),
Home Assistant's history (``entity_id, state, last_changed``), InfluxDB's ``_time, _field,
_value``. Refused as a column of words before, such a file is now read as a wide one: a
column per point, in the order the points first appear, a row per time.

* **Found by its names.** A time column (given, else found as for a wide file), a column named
  like a point (:data:`POINT_NAMES`) holding text that repeats (fewer distinct names than half
  the lines), and a column named like a value (:data:`VALUE_NAMES`). Other columns (a unit, a
  quality code) are left out, with a line naming them.
* **Cells kept as written.** Values are moved, not parsed: each point's column is then read by
  the wide file's cell rules (decimal commas, statuses as words, units in cells).
* **Rows.** When the points are sampled together (most lines share their time with the other
  points), a row per distinct time (one instant written two ways is one row), in time order,
  the time as first written. When they are not
  (sensors that each report on their own clock), rows would hold one reading each, so the
  readings are put in steps of the points' typical reporting interval (the median over the
  points of their median step), the last reading of each point in each step, the row's time
  being the step's start. A point read twice at one time keeps its last line (as the telemetry
  frame does), and a line says how many were replaced.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from bms.errors import SchemaError
from bms.evaluate.detect_clock import written_naive
from bms.evaluate.detect_times import duration_text, find_time_column, parse_times

__all__ = [
    "POINT_NAMES",
    "VALUE_NAMES",
    "LongLayout",
    "WidePair",
    "long_layout",
    "reporting_step",
    "widen",
    "widen_pair",
]

#: Column names of a long file's point names (case-insensitive, stripped).
POINT_NAMES = (
    "point", "point_id", "point_name", "pointname", "tag", "tag_name", "tagname", "sensor",
    "sensor_id", "signal", "variable", "channel", "entity_id", "key", "metric", "_field",
    "field", "capteur", "nom", "nom_point",
)  # fmt: skip
#: Column names of a long file's readings (case-insensitive, stripped).
VALUE_NAMES = ("value", "_value", "val", "valeur", "reading", "state", "mesure")
#: Points count as sampled together when, on average, a time holds readings of more than this
#: share of the points.
ALIGNED_SHARE = 0.5


@dataclass(frozen=True)
class LongLayout:
    """The columns of a long file."""

    time: str
    point: str
    value: str
    others: tuple[str, ...]  # left out: units, quality codes...


@dataclass(frozen=True)
class WidePair:
    """TRAIN and TEST as wide frames, and what :func:`widen_pair` did to get them."""

    train: pd.DataFrame
    test: pd.DataFrame
    widened: bool  # both were long files: a row per time now, not per line
    notes: tuple[str, ...]  # the lines to say about them
    left_out: tuple[str, ...]  # the long files' point, value and other columns


def _named(frame: pd.DataFrame, names: tuple[str, ...]) -> str | None:
    by_lower = {str(c).strip().lower(): str(c) for c in frame.columns}
    return next((by_lower[n] for n in names if n in by_lower), None)


def long_layout(frame: pd.DataFrame, time_column: str | None) -> LongLayout | None:
    """The columns of ``frame`` if it is a long file (module docstring), else None."""
    point, value = _named(frame, POINT_NAMES), _named(frame, VALUE_NAMES)
    if point is None or value is None:
        return None  # a wide file: no need to look further
    time = time_column.strip() if time_column is not None else find_time_column(frame)
    if time is None or len({time, point, value}) < 3:
        return None
    if time not in frame.columns or pd.api.types.is_numeric_dtype(frame[point]):
        return None
    names = frame[point].dropna()
    if names.empty or names.nunique() > len(frame) / 2:
        return None  # names that do not repeat: not one line per reading
    others = tuple(c for c in frame.columns if c not in (time, point, value))
    return LongLayout(time=time, point=point, value=value, others=others)


def reporting_step(times: pd.DatetimeIndex, points: pd.Series) -> pd.Timedelta | None:
    """The points' typical reporting interval: the median over the points of their median
    step between readings (None when no point is read twice at different times)."""
    frame = pd.DataFrame({"t": times.as_unit("ns").asi8, "p": points.to_numpy()}).sort_values(
        ["p", "t"]
    )
    steps = frame.groupby("p", sort=False)["t"].diff()
    medians = steps[steps > 0].groupby(frame["p"]).median()
    if medians.empty:
        return None
    return pd.Timedelta(int(medians.median()), unit="ns")


def widen(
    frame: pd.DataFrame, layout: LongLayout, path: Path, step: pd.Timedelta | None = None
) -> tuple[pd.DataFrame, pd.Timedelta | None, list[str]]:
    """A long file as a wide frame: the time column (named as in the file), then a column per
    point.

    Parameters
    ----------
    frame : DataFrame
        The file as read.
    layout : LongLayout
        Its columns (:func:`long_layout`).
    path : Path
        The file, for the lines said about it.
    step : Timedelta or None
        The reporting interval to bucket unaligned readings by (TEST takes TRAIN's, so both
        are judged on one step); None: found from the file (:func:`reporting_step`).

    Returns
    -------
    (DataFrame, Timedelta or None, list of str)
        The wide frame, the step used (None when the points are sampled together) and the lines
        to say about the file.

    Raises
    ------
    SchemaError
        A line without a point name, or unreadable times where the points are not sampled
        together.
    """
    missing = frame[layout.point].isna().to_numpy()
    if missing.any():
        raise SchemaError(
            f"{path}: column {layout.point!r}: no point name in data row "
            f"{int(np.flatnonzero(missing)[0]) + 1}"
        )
    cells, points = frame[layout.time], frame[layout.point].astype(str).str.strip()
    utc = parse_times(cells)
    if utc is not None:
        utc = utc.as_unit("ns")  # a step's value is in nanoseconds
    distinct_times = len(np.unique(utc.asi8)) if utc is not None else cells.nunique()
    aligned = len(frame) > ALIGNED_SHARE * distinct_times * points.nunique()
    if not aligned and step is None and utc is not None:
        step = reporting_step(utc, points)
    lines = pd.DataFrame({"point": points, "value": frame[layout.value]})
    if aligned:  # a row per time, in time order, the time as first written
        # one instant written two ways ('2026-01-01 00:00:00', '2026-01-01T00:00:00') is one row
        lines["key"] = pd.factorize(utc.asi8 if utc is not None else cells)[0]
        order = utc.asi8 if utc is not None else lines["key"].to_numpy()
        rank = pd.Series(order).groupby(lines["key"].to_numpy()).first()
        rank = rank.sort_values(kind="stable")
        written = cells.groupby(lines["key"].to_numpy()).first().reindex(rank.index)
        step = None
    elif step is not None and utc is not None:  # a row per step, each point's last reading in it
        lines["key"] = utc.asi8 // step.value
        lines = lines.iloc[np.argsort(utc.asi8, kind="stable")]
        rank = pd.Series(np.unique(lines["key"].to_numpy()))
        rank.index = rank.to_numpy()
        starts = pd.DatetimeIndex(pd.to_datetime(rank.to_numpy() * step.value, utc=True))
        stamp = "%Y-%m-%d %H:%M:%S" if written_naive(cells) else "%Y-%m-%dT%H:%M:%SZ"
        written = pd.Series(starts.strftime(stamp), index=rank.index)
    else:
        raise SchemaError(
            f"{path}: the points are not read at the same times and column {layout.time!r} "
            "cannot be read as times to put them in steps; resample the file to one step"
        )
    duplicated = int(lines.duplicated(["key", "point"], keep="last").sum())
    wide = lines.drop_duplicates(["key", "point"], keep="last").pivot(
        index="key", columns="point", values="value"
    )
    wide = wide.reindex(index=rank.index, columns=pd.unique(points))
    wide.columns.name = None
    wide.insert(0, layout.time, written.to_numpy())
    bucketed = ""
    if step is not None:
        bucketed = f", each point's last reading in steps of {duration_text(step)}"
    notes = [
        f"{path}: one reading per line ({layout.time!r}, {layout.point!r}, {layout.value!r}): "
        f"read as {len(wide):,} rows x {wide.shape[1] - 1} points{bucketed}"
    ]
    if layout.others:
        notes.append(f"{path}: column(s) {', '.join(map(repr, layout.others))} left out")
    if duplicated and step is None:
        notes.append(
            f"{path}: {duplicated:,} line(s) repeat a point at a time already read: "
            "the last one is kept"
        )
    return wide.reset_index(drop=True), step, notes


def widen_pair(
    train: pd.DataFrame,
    test: pd.DataFrame,
    time_column: str | None,
    paths: tuple[Path, Path],
) -> WidePair:
    """TRAIN and TEST as wide frames when they are long files (both or neither), TEST in
    TRAIN's steps; wide files are returned unchanged.

    An ``--ignore`` naming one of the columns left out is then already satisfied.

    Raises
    ------
    SchemaError
        One file long and the other wide, or as :func:`widen`.
    """
    layouts = [long_layout(frame, time_column) for frame in (train, test)]
    if layouts[0] is None and layouts[1] is None:
        return WidePair(train, test, widened=False, notes=(), left_out=())
    if layouts[0] is None or layouts[1] is None:
        long_path, wide_path = paths if layouts[0] is not None else paths[::-1]
        raise SchemaError(
            f"{wide_path}: a column per point, while {long_path} holds one reading per line "
            "(time, point, value): give both files in one layout"
        )
    wide_train, step, notes = widen(train, layouts[0], paths[0])
    wide_test, _, test_notes = widen(test, layouts[1], paths[1], step)
    left_out = tuple(
        dict.fromkeys((*layouts[0].others, *layouts[1].others, layouts[0].point, layouts[0].value))
    )
    return WidePair(
        wide_train, wide_test, widened=True, notes=(*notes, *test_notes), left_out=left_out
    )
