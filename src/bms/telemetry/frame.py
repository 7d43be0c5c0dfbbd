"""The canonical telemetry frame, the one shape every connector returns and every store accepts.

A long pandas DataFrame with columns:

``time``  : datetime64[ns, UTC]  -- the instant the value was measured.
``point`` : str                  -- stable point id ``site/building/equipment/point``.
``value`` : float64              -- the reading in SI units; booleans and states as 0/1.

Sorted by (point, time), without duplicate (point, time) pairs (the last write wins).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import overload

import numpy as np
import pandas as pd

from bms.errors import SchemaError

FRAME_COLUMNS = ("time", "point", "value")
_MAX_LISTED_ROWS = 5


@overload
def as_utc(ts: None) -> None: ...
@overload
def as_utc(ts: pd.Timestamp | str) -> pd.Timestamp: ...
def as_utc(ts: pd.Timestamp | str | None) -> pd.Timestamp | None:
    """A timestamp in UTC: aware ones converted, naive ones taken as UTC; None stays None."""
    if ts is None:
        return None
    stamp = pd.Timestamp(ts)
    return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")


def empty_frame() -> pd.DataFrame:
    """An empty, correctly typed telemetry frame."""
    return pd.DataFrame(
        {
            "time": pd.Series([], dtype="datetime64[ns, UTC]"),
            "point": pd.Series([], dtype=object),
            "value": pd.Series([], dtype="float64"),
        }
    )


def _rows(index: Iterable[int]) -> str:
    rows = list(index)
    shown = ", ".join(str(r) for r in rows[:_MAX_LISTED_ROWS])
    more = f" and {len(rows) - _MAX_LISTED_ROWS} more" if len(rows) > _MAX_LISTED_ROWS else ""
    return f"row{'s' if len(rows) > 1 else ''} {shown}{more}"


def _coerce_time(time: pd.Series) -> pd.Series:
    if isinstance(time.dtype, pd.DatetimeTZDtype):
        return time.dt.tz_convert("UTC").astype("datetime64[ns, UTC]")
    if pd.api.types.is_datetime64_dtype(time.dtype):
        raise SchemaError(
            "column 'time' has naive timestamps (no time zone); localise them to UTC first "
            f"({_rows(time.index[:1])})"
        )
    missing_mask = time.isna().to_numpy()
    if missing_mask.any():
        raise SchemaError(f"column 'time': missing timestamp at {_rows(time.index[missing_mask])}")
    naive = np.fromiter((_is_naive(item) for item in time), dtype=bool, count=len(time))
    if naive.any():
        raise SchemaError(
            f"column 'time' has naive timestamps (no time zone) at {_rows(time.index[naive])}"
        )
    parsed = pd.to_datetime(time, errors="coerce", utc=True, format="ISO8601")
    bad = parsed.isna().to_numpy()
    if bad.any():
        raise SchemaError(f"column 'time': unparseable timestamp at {_rows(time.index[bad])}")
    return parsed.astype("datetime64[ns, UTC]")


_TZ_SUFFIX = re.compile(r"(Z|[+-]\d\d(:?\d\d)?)$", re.IGNORECASE)


def _is_naive(item: object) -> bool:
    """True for a timestamp or ISO 8601 string that carries no time zone."""
    if isinstance(item, str):
        return _TZ_SUFFIX.search(item.strip()) is None
    return getattr(item, "tzinfo", None) is None and not isinstance(item, int | float)


def validate_frame(frame: pd.DataFrame, known_points: Iterable[str] | None = None) -> pd.DataFrame:
    """Check a telemetry frame and return it in canonical form.

    Parameters
    ----------
    frame : DataFrame with columns ``time``, ``point``, ``value``
        Times must be time-zone aware (any zone; converted to UTC). Values must be numeric or
        boolean and finite.
    known_points : iterable of str, optional
        When given, every ``point`` must be one of them.

    Returns
    -------
    DataFrame
        A new frame: UTC nanosecond times, float64 values, sorted by (point, time), duplicates
        removed keeping the last occurrence.

    Raises
    ------
    SchemaError
        Naming the bad column and rows: missing columns, naive or unparseable timestamps,
        empty point ids, non-numeric or non-finite values, unknown points.
    """
    if not isinstance(frame, pd.DataFrame):
        raise SchemaError(f"telemetry must be a pandas DataFrame, got {type(frame).__name__}")
    missing = [c for c in FRAME_COLUMNS if c not in frame.columns]
    if missing:
        raise SchemaError(f"telemetry frame lacks column(s) {', '.join(missing)}")
    if frame.empty:
        return empty_frame()
    data = frame.loc[:, list(FRAME_COLUMNS)].reset_index(drop=True)

    time = _coerce_time(data["time"])

    codes, uniques = _factorize_points(data["point"])
    if known_points is not None:
        known = set(known_points)
        unknown = np.fromiter((u not in known for u in uniques), dtype=bool, count=len(uniques))
        if unknown.any():
            unknown_mask = unknown[codes]
            first = uniques[codes[unknown_mask.argmax()]]
            raise SchemaError(f"unknown point {first!r} at {_rows(data.index[unknown_mask])}")

    raw_value = data["value"]
    if pd.api.types.is_bool_dtype(raw_value.dtype):
        value = raw_value.astype("float64")
    else:
        value = pd.to_numeric(raw_value, errors="coerce").astype("float64")
    bad_value = ~np.isfinite(value.to_numpy())
    if bad_value.any():
        raise SchemaError(
            "column 'value': missing, non-numeric or infinite value at "
            f"{_rows(data.index[bad_value])}"
        )

    return _sort_dedup(time, codes, uniques, value.to_numpy())


def _factorize_points(point: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Codes (int64 per row) and sorted unique ids (object array) of valid point ids.

    Each distinct id is checked once, not once per row; the rows of a bad id are found back
    through the codes only to name them in the error. ``uniques[codes]`` gives the ids back and
    sorting by code is sorting by id.

    Raises
    ------
    SchemaError
        A missing (None/NaN), non-string or blank point id, naming its rows.
    """
    codes, uniques = pd.factorize(point, use_na_sentinel=True)
    uniques = np.asarray(uniques, dtype=object)
    bad = np.fromiter(
        (not (isinstance(u, str) and u.strip() != "") for u in uniques),
        dtype=bool,
        count=len(uniques),
    )
    if bad.any() or (codes < 0).any():
        bad_row = np.append(bad, True)[codes]  # code -1 (missing) picks the final True
        raise SchemaError(
            f"column 'point': missing or empty point id at {_rows(point.index[bad_row])}"
        )
    order = np.argsort(uniques, kind="stable")
    rank = np.empty(len(order), dtype=np.int64)
    rank[order] = np.arange(len(order))
    return rank[codes], uniques[order]


def _sort_dedup(
    time: pd.Series, codes: np.ndarray, uniques: np.ndarray, value: np.ndarray
) -> pd.DataFrame:
    """The canonical frame: rows sorted by (point, time), the last of each (point, time) kept.

    ``codes`` index the sorted ``uniques``, so sorting by (code, time) is sorting by
    (point id, time). Both sorts are stable, so equal keys keep their input order and the last
    row of a run of equal keys is the last one written. A frame already in canonical order
    (the simulator's, a store's) is only checked, not sorted.
    """
    t_ns = pd.DatetimeIndex(time).asi8
    step_code, step_t = np.diff(codes), np.diff(t_ns)
    if ((step_code > 0) | ((step_code == 0) & (step_t > 0))).all():
        t_ns, value = t_ns.copy(), value.copy()  # never a view of the caller's frame
    else:
        order = np.argsort(t_ns, kind="stable")
        small = codes.astype(np.min_scalar_type(max(len(uniques) - 1, 0)))  # radix sort
        order = order[np.argsort(small[order], kind="stable")]
        codes, t_ns = codes[order], t_ns[order]
        last = np.ones(len(order), dtype=bool)
        last[:-1] = (codes[1:] != codes[:-1]) | (t_ns[1:] != t_ns[:-1])
        if not last.all():
            order, codes, t_ns = order[last], codes[last], t_ns[last]
        value = value[order]
    # fresh arrays from here on: wrapped without another copy
    times = pd.DatetimeIndex(t_ns.view("datetime64[ns]"), copy=False).tz_localize("UTC")
    return pd.DataFrame(
        {
            "time": pd.Series(times, copy=False),
            "point": pd.Series(uniques[codes], dtype=object, copy=False),
            "value": pd.Series(value, dtype="float64", copy=False),
        },
        copy=False,
    )


def to_wide(frame: pd.DataFrame) -> pd.DataFrame:
    """Pivot a canonical frame to wide form: a UTC DatetimeIndex and one column per point."""
    wide = frame.pivot(index="time", columns="point", values="value")
    wide.columns.name = None
    return wide.sort_index()


def from_wide(wide: pd.DataFrame) -> pd.DataFrame:
    """Melt a wide frame (UTC DatetimeIndex, one column per point) to canonical long form."""
    long = wide.rename_axis("time").reset_index().melt(id_vars="time", var_name="point")
    long = long.dropna(subset=["value"])
    return validate_frame(long)
