"""``bms detect``: unsupervised anomaly detection on any wide CSV.

TRAIN holds (mostly) normal operation; every numeric column that is neither the time column nor
ignored is a feature. The model is the product default
(:class:`bms.models.anomaly_pipeline.TimeSeriesDetector`); its threshold is calibrated on TRAIN
alone (time-ordered held-out blocks). OUT has one row per TEST row:
``time, score, anomaly, top_contributor``.

When the feature columns name an air-handling unit's points, the G36 / APAR AHU rules run on
TEST as well (:mod:`bms.evaluate.detect_rules`): a row where a rule holds a confirmed fault is
anomalous (its score at least 0.5, its ``top_contributor`` the rule's point when the detector
did not flag it), and OUT gains a ``rule`` column with the codes of the rules in fault.

Every problem a user can cause is a :class:`bms.errors.BmsError` with a one-line message.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from bms.errors import SchemaError
from bms.evaluate.detect_axes import time_axes
from bms.evaluate.detect_clock import check_timezone
from bms.evaluate.detect_columns import resolve_columns
from bms.evaluate.detect_episodes import alarm_days, anomaly_episodes
from bms.evaluate.detect_long import widen_pair
from bms.evaluate.detect_notes import (
    constant_in_train_notes,
    copied_column_notes,
    data_quality_notes,
    label_like_notes,
    missing_in_test_notes,
    outside_training_range,
    running_totals,
    train_glitch_notes,
)
from bms.evaluate.detect_rows import JudgedRows, repeated_readings
from bms.evaluate.detect_rules import SYMPTOM_RULES, ahu_rule_flags_by_unit, several_units_note
from bms.evaluate.detect_stopped import fan_running, held_while_stopped
from bms.evaluate.detect_summary import DetectSummary
from bms.evaluate.detect_times import is_excel_serial
from bms.evaluate.detect_units import (
    UnitResult,
    pooled_summary,
    split_units,
    unit_column_hint,
    units_out,
)
from bms.evaluate.influx_csv import influx_layout, read_influx_csv, series_points
from bms.evaluate.not_readings import (
    counter_columns,
    id_like_notes,
    stacked_machines_notes,
    time_columns,
)
from bms.evaluate.out_path import check_out_path, write_out
from bms.evaluate.wide_csv import numeric_columns, read_wide_csv, separator_name
from bms.features.role_names import ahu_role_matches
from bms.models.anomaly_pipeline import CONTRIBUTION_PREFIX, TimeSeriesDetector, segment_bounds

__all__ = ["MIN_TRAIN_ROWS", "DetectSummary", "run_detect"]

#: Fewest training rows: the threshold is a quantile of held-out training scores.
MIN_TRAIN_ROWS = 50


def _readable_times(
    out: pd.DataFrame, written: pd.Series | None, times: pd.DatetimeIndex | None
) -> pd.DataFrame:
    """``out`` with Unix times and spreadsheet serial dates written as dates, for the episodes a
    reader sees first (OUT keeps the times as TEST wrote them)."""
    if written is None or not pd.api.types.is_numeric_dtype(written):
        return out
    if times is None:
        return out
    zone = "" if is_excel_serial(written) else " UTC"  # a spreadsheet's dates: the site's clock
    return out.assign(time=times.strftime("%Y-%m-%d %H:%M:%S") + zone)


def _day_names(times: pd.DatetimeIndex) -> NDArray[np.object_]:
    """``2026-03-01`` for each time, on its own clock (each distinct day formatted once: a
    million rows formatted one by one took a second)."""
    local = times.tz_localize(None) if times.tz is not None else times
    days, inverse = np.unique(local.to_numpy().astype("datetime64[D]"), return_inverse=True)
    return np.asarray(np.datetime_as_string(days, unit="D"), dtype=object)[inverse]


def _signal_shares(scored: pd.DataFrame) -> pd.DataFrame:
    """The detector's per-signal shares of each row's anomaly, columns named by signal; NaN
    on the rows it did not flag (a row only a rule flagged is the rule's to explain)."""
    columns = [c for c in scored.columns if c.startswith(CONTRIBUTION_PREFIX)]
    shares = scored[columns].rename(columns=lambda c: c[len(CONTRIBUTION_PREFIX) :])
    flagged = scored["anomaly"].to_numpy() == 1
    return shares.where(np.broadcast_to(flagged[:, None], shares.shape))


def _where_in_file(
    file_rows: NDArray[np.int64], time_cells: pd.Series | None
) -> Callable[[int], str]:
    """How a line says where a judged row ``i`` is in its file: by its time cell in a file of
    one reading per line (``time_cells``, a row per time), else by its data row
    (``file_rows[i]``: its row of the file as read)."""

    def where(i: int) -> str:
        if time_cells is not None:
            return f"the row of {time_cells.iloc[i]}"
        return f"data row {file_rows[i] + 1}"

    return where


def _read_exports(
    paths: tuple[Path, Path], sep: str | None, text_columns: Sequence[str] = ()
) -> list[pd.DataFrame]:
    """TRAIN and TEST as read: an InfluxDB CSV export as its long readings, a point per series
    named alike in both files (:mod:`bms.evaluate.influx_csv`), else a CSV (``text_columns``
    read as written: ids such as ``0001``)."""
    influx = [influx_layout(path) is not None for path in paths]
    frames = [
        read_influx_csv(path) if flag else read_wide_csv(path, sep, text_columns)
        for path, flag in zip(paths, influx, strict=True)
    ]
    named = iter(series_points([f for f, flag in zip(frames, influx, strict=True) if flag]))
    return [next(named) if flag else frame for frame, flag in zip(frames, influx, strict=True)]


def _repeated_reading_notes(
    paths: tuple[Path, Path], kept: tuple[NDArray[np.bool_], NDArray[np.bool_]]
) -> list[str]:
    """A line per file with rows that a later row repeats
    (:func:`bms.evaluate.detect_rows.repeated_readings`)."""
    said = ("used once", "judged once, and OUT gives each its score")
    return [
        f"{path}: {int((~rows).sum()):,} row(s) repeated by a later row (same time, same "
        f"readings): {what}"
        for path, rows, what in zip(paths, kept, said, strict=True)
        if not rows.all()
    ]


def _judged_columns(
    x_train: pd.DataFrame, x_test: pd.DataFrame, paths: tuple[Path, Path]
) -> tuple[pd.DataFrame, pd.DataFrame, list[str]]:
    """The numeric columns the detector judges, and what to say about them: row counters and
    times written as numbers left out (module not_readings), as is a column empty all through
    TRAIN (it teaches nothing, and any TEST value would look abnormal); ids, columns stuck in
    TRAIN, copies and TEST's missing readings named.

    Raises
    ------
    SchemaError
        Every TRAIN column empty, or no reading at all in TEST (every verdict would be made
        up).
    """
    train_path, test_path = paths
    notes = []
    features = list(x_train.columns)
    times = time_columns(x_train, x_test)
    left_out = {
        **{c: "holds times" for c in times},
        **{c: "counts the rows" for c in counter_columns(x_train, x_test) if c not in times},
    }
    if left_out and len(left_out) < len(features):
        notes.append(
            f"{train_path}: "
            + ", ".join(f"{column!r} {what}" for column, what in left_out.items())
            + ": not a reading, left out (name it in --time-column if it is the time)"
        )
        features = [c for c in features if c not in left_out]
    notes += id_like_notes(x_train, features, train_path)
    empty = [c for c in features if x_train[c].isna().all()]
    if len(empty) == len(features):
        raise SchemaError(f"{train_path}: every feature column is empty")
    if empty:
        notes.append(
            f"{train_path}: {', '.join(map(repr, empty))} hold(s) no value in TRAIN: "
            "not used as feature(s)"
        )
        features = [c for c in features if c not in empty]
    x_train, x_test = x_train[features], x_test[features]
    if not x_test.notna().to_numpy().any():
        raise SchemaError(
            f"{test_path}: no feature column holds a reading ({len(x_test):,} rows, all empty)"
        )
    notes += missing_in_test_notes(x_train, x_test, test_path)
    notes += constant_in_train_notes(x_train, x_test, train_path)
    notes += copied_column_notes(x_train, train_path)
    return x_train, x_test, notes


def _held_readings(model: TimeSeriesDetector, frame: pd.DataFrame) -> pd.DataFrame:
    """``frame``'s signals with the gaps ``model`` holds filled by the reading before them
    (:meth:`bms.models.gap_fill.GapFiller.held_readings`); outages stay missing. ``frame``
    itself when no column names an AHU point (only the rules and the fan's state read these)
    or it holds no gap: no copy of a large file's rows."""
    if not ahu_role_matches(frame.columns):
        return frame
    signals = frame[model.signals_]
    values = signals.to_numpy(dtype=np.float64)
    if not np.isnan(values).any():
        return frame
    held = model.gap_filler_.held_readings(values)
    return pd.DataFrame(held, index=frame.index, columns=signals.columns)


def _hold_while_stopped(
    out: pd.DataFrame,
    x_train: pd.DataFrame,
    x_judged: pd.DataFrame,
    rows: JudgedRows,
    stretches: Sequence[tuple[int, int]] | None,
    window_rows: int,
) -> int:
    """Flag, in ``out`` (a row per TEST row in time order), the rows where an AHU's fan is
    stopped with the alarm it raised while running (:mod:`bms.evaluate.detect_stopped`);
    the number of rows so flagged. ``stretches``: TEST's contiguous stretches in time, None
    when TEST has no times (nothing is held)."""
    running = fan_running(x_train, x_judged) if stretches is not None else None
    if running is None or stretches is None:
        return 0
    flags = out["anomaly"].to_numpy() == 1
    held = held_while_stopped(flags, rows.per_row(running), stretches, window_rows)
    hold = held >= 0
    if hold.any():
        out["score"] = np.where(hold, np.maximum(out["score"], 0.5), out["score"])
        out["anomaly"] = np.where(hold, 1, out["anomaly"]).astype(np.int64)
        contributors = out["top_contributor"].to_numpy()
        out["top_contributor"] = np.where(hold, contributors[held], contributors)
    return int(hold.sum())


def run_detect(
    train_path: Path,
    test_path: Path,
    out_path: Path,
    *,
    time_column: str | None = None,
    sep: str | None = None,
    ignore: Sequence[str] = (),
    rules: bool = True,
    timezone: str | None = None,
    false_alarm_rate: float = 0.01,
    unit_column: str | None = None,
) -> DetectSummary:
    """Fit on TRAIN, score TEST, write OUT (``time, score, anomaly, top_contributor``).

    On an AHU's columns, the G36 / APAR rules flag TEST rows too (``rules``), and the rows where
    its fan is stopped keep an alarm raised while it ran (:mod:`bms.evaluate.detect_stopped`).

    Parameters
    ----------
    train_path, test_path : Path
        Wide CSVs with the same feature columns. Rows are judged in time order (a stable
        sort by the time column when the file is not in order).
    out_path : Path
        Where to write the result (one row per TEST row, same order).
    time_column : str or None
        The time column; auto-detected by name when None, else the row index is the time.
    sep : str or None
        Field separator of both inputs; None: each file's own, found from its lines (and said
        when it is not a comma).
    ignore : sequence of str
        Columns that are not features.
    rules : bool
        Run the AHU rules when the columns name an AHU's points (module docstring).
    timezone : str or None
        The site's IANA time zone: the detector reads the time of day on its clock
        (:mod:`bms.evaluate.detect_clock`).
    false_alarm_rate : float
        Share of normal rows the learned detector's threshold may flag, calibrated on TRAIN
        rows held out of the fit, in (0, 0.5). The AHU rules do not depend on it.
    unit_column : str or None
        A column naming the machine of each row (several machines stacked in one file): each
        unit is judged by a detector fitted on its own TRAIN rows, and OUT gains a ``unit``
        column (:mod:`bms.evaluate.detect_units`).

    Returns
    -------
    DetectSummary
    """
    check_out_path(Path(out_path), {"TRAIN": Path(train_path), "TEST": Path(test_path)})
    ignore = [ignore] if isinstance(ignore, str) else list(ignore)  # one name, not its letters
    if timezone is not None:
        check_timezone(timezone)
    if not 0.0 < false_alarm_rate < 0.5:
        raise SchemaError(
            f"--false-alarm-rate must lie between 0 and 0.5 (a share of rows, 0.01 = 1 %), "
            f"got {false_alarm_rate:g}"
        )
    paths = (Path(train_path), Path(test_path))
    unit_column = unit_column.strip() if unit_column is not None else None
    if unit_column is not None and time_column is not None and unit_column == time_column.strip():
        raise SchemaError(f"--unit-column {unit_column!r} is also the --time-column")
    texts = (unit_column,) if unit_column is not None else ()
    train, test = _read_exports(paths, sep, texts)
    # each file's separator: a decimal comma is read where it is not the separator
    separators = [frame.attrs.get("sep", ",") for frame in (train, test)]
    found_notes = [
        f"{path}: fields separated by {separator_name(found)} (found from its lines; --sep sets it)"
        for path, found in zip(paths, separators, strict=True)
        if sep is None and found != ","
    ]
    settings = _Settings(
        time_column=time_column,
        ignore=tuple(c for c in ignore if str(c).strip() != unit_column),
        rules=rules,
        timezone=timezone,
        false_alarm_rate=false_alarm_rate,
        decimal_commas=(separators[0] != ",", separators[1] != ","),
    )
    if unit_column is None:
        detected = _detect_frames(train, test, paths, settings)
        write_out(detected.out, Path(out_path))
        summary = detected.summary
        return dataclasses.replace(summary, notes=(*found_notes, *summary.notes))
    units, split_notes = split_units(train, test, unit_column, paths)
    results = []
    for unit in units:
        frames = [
            frame.iloc[rows].drop(columns=unit_column).reset_index(drop=True)
            for frame, rows in ((train, unit.train_rows), (test, unit.test_rows))
        ]
        try:
            detected = _detect_frames(*frames, paths, settings)
        except SchemaError as error:
            raise SchemaError(unit.said(str(error), paths)) from None
        results.append(UnitResult(unit, detected.out, detected.summary, detected.per_time))
    write_out(units_out(results, len(test)), Path(out_path))
    summary = pooled_summary([(r.unit, r.summary) for r in results], paths, split_notes)
    return dataclasses.replace(summary, notes=(*found_notes, *summary.notes))


@dataclass(frozen=True)
class _Settings:
    """The options of a ``bms detect`` run that every unit's detection shares."""

    time_column: str | None
    ignore: tuple[str, ...]
    rules: bool
    timezone: str | None
    false_alarm_rate: float
    decimal_commas: tuple[bool, bool]  # TRAIN's and TEST's: a comma that does not separate


@dataclass(frozen=True)
class _Detected:
    """One detection: OUT's rows (in TEST's order) and what to say about them."""

    out: pd.DataFrame
    summary: DetectSummary
    per_time: bool  # OUT holds a row per time of a file of one reading per line


def _detect_frames(
    train: pd.DataFrame, test: pd.DataFrame, paths: tuple[Path, Path], settings: _Settings
) -> _Detected:
    """:func:`run_detect` on TRAIN and TEST as read (lines about them name ``paths``)."""
    train_path, test_path = paths
    time_column, timezone = settings.time_column, settings.timezone
    # one reading per line (time, point, value): a column per point
    wide = widen_pair(train, test, time_column, paths)
    train, test, long_file = wide.train, wide.test, wide.widened  # long: a row per time
    ignore = [c for c in settings.ignore if str(c).strip() not in wide.left_out]
    columns = resolve_columns(train, test, paths, time_column, ignore)
    tcol, features = columns.time, columns.features
    train_comma, test_comma = settings.decimal_commas
    try:
        x_train, train_notes = numeric_columns(
            train, features, train_path, decimal_comma=train_comma
        )
    except SchemaError as error:  # a column of words naming stacked machines: say so
        raise SchemaError(f"{error}{unit_column_hint(train, features, tcol)}") from None
    x_test, test_notes = numeric_columns(test, features, test_path, decimal_comma=test_comma)
    if len(x_train) < MIN_TRAIN_ROWS:
        raise SchemaError(
            f"{train_path}: {len(x_train)} training rows; at least {MIN_TRAIN_ROWS} are needed"
        )
    notes = [*wide.notes, *columns.notes, *train_notes, *test_notes]
    notes += label_like_notes(features)
    several_units = several_units_note(pd.Index(features))
    notes += [several_units] if several_units else []
    x_train, x_test, column_notes = _judged_columns(x_train, x_test, paths)
    features = list(x_train.columns)
    notes += column_notes
    utc_clock, test_times, train_utc = False, None, None
    rows = JudgedRows.as_written(len(x_test))
    train_rows = np.arange(len(x_train))  # each x_train row's row of TRAIN as read
    if tcol is not None:
        # times let the detector restart its rolling features after a gap (days picked one in
        # two), and the AHU rules time their confirmation
        timed = time_axes(train, test, tcol, paths, timezone)
        notes += timed.notes
        if timed.train is not None and timed.test is not None:
            x_train, x_test = x_train.set_axis(timed.train), x_test.set_axis(timed.test)
            utc_clock = timed.utc_clock
            # judged in time order, whatever order the files give; a reading written twice once
            train_utc = timed.train_utc
            if timed.train_order is not None:
                x_train = x_train.iloc[timed.train_order]
                train_utc = train_utc[timed.train_order]
                train_rows = train_rows[timed.train_order]
            notes += stacked_machines_notes(x_train, features, train_path)
            train_kept, _ = repeated_readings(x_train)
            x_train, train_utc = x_train[train_kept], train_utc[train_kept]
            train_rows = train_rows[train_kept]
            rows = JudgedRows.of(x_test, timed.test_order)
            notes += _repeated_reading_notes(paths, (train_kept, rows.kept))
            test_times = timed.test_utc[rows.order]
    x_test = x_test.iloc[rows.order]  # every TEST row, in time order
    written = test[tcol].iloc[rows.order] if tcol is not None else None  # their time cells
    model = TimeSeriesDetector(false_alarm_rate=settings.false_alarm_rate)
    model.fit(x_train, elapsed=train_utc)  # gaps in elapsed time
    train_cells = train[tcol].iloc[train_rows] if long_file and tcol is not None else None
    where_in_train = _where_in_file(train_rows, train_cells)
    notes += train_glitch_notes(model, x_train, train_path, where=where_in_train)
    if utc_clock and model.profiled_signals_:
        notes.append(
            "the times are in UTC, so the daily profiles follow the UTC clock, an hour off the "
            "site's after a daylight-saving change: give --timezone (an IANA name such as "
            "Europe/Paris)"
        )
    x_judged = x_test[rows.kept]
    if len(x_judged) < model.window_rows:
        notes.append(
            f"{test_path}: {len(x_judged)} row(s) to judge, fewer than the detector's smoothing "
            f"window ({model.window_rows} rows): each is judged on a part of a window, so a "
            "fault weighs less; score a longer stretch when you can"
        )
    judged_times = test_times[rows.kept] if test_times is not None else None
    scored = model.score(x_judged, elapsed=judged_times).iloc[rows.judged]  # in time order
    file_rows = rows.judged_file_rows()
    judged_cells = written[rows.kept] if written is not None else None
    where = _where_in_file(file_rows, judged_cells if long_file else None)
    notes += data_quality_notes(model, x_judged, test_path, where=where)
    out = pd.DataFrame(
        {
            "time": written.to_numpy() if written is not None else rows.order,
            "score": scored["score"].round(6).to_numpy(),
            "anomaly": scored["anomaly"].to_numpy(),
            "top_contributor": scored["top_contributor"].to_numpy(),
        }
    )
    # the rules and the fan's state read what the detector holds: a change-of-value log's
    # reading until the next, a short gap's reading before it (outages stay missing)
    held_train, held_judged = _held_readings(model, x_train), _held_readings(model, x_judged)
    found = None
    if settings.rules:  # durations on UTC's clock: the wall clock repeats an hour in autumn
        on_utc = train_utc is not None and test_times is not None
        found = ahu_rule_flags_by_unit(
            held_train.set_axis(train_utc) if on_utc else held_train,
            held_judged.set_axis(judged_times) if on_utc else held_judged,
        )
    rule_only = np.zeros(len(out), dtype=bool)
    if found is not None:
        found = dataclasses.replace(
            found,
            flags=rows.per_row(found.flags),
            codes=rows.per_row(found.codes),
            columns=rows.per_row(found.columns),
        )
        notes += found.notes
        rule_only = found.flags & (out["anomaly"].to_numpy() == 0)
        out["score"] = np.where(found.flags, np.maximum(out["score"], 0.5), out["score"])
        out["anomaly"] = (out["anomaly"].to_numpy() | found.flags).astype(np.int64)
        out["top_contributor"] = np.where(rule_only, found.columns, out["top_contributor"])
        out["rule"] = found.codes  # whenever the columns name an AHU: OUT's columns are stable
    # TEST's contiguous stretches in time: the hold, the episodes and the days end at a gap
    stretches = segment_bounds(
        test_times if test_times is not None else x_test.index, model.window_rows
    )
    timed_stretches = stretches if test_times is not None else None
    n_held = _hold_while_stopped(
        out, held_train, held_judged, rows, timed_stretches, model.window_rows
    )
    if n_held:
        notes.append(
            f"{n_held:,} TEST row(s) with the supply fan stopped keep the alarm raised while it "
            "ran: a stopped unit cannot show a stuck damper or a leaking valve, and a fault does "
            "not clear because the fan stopped"
        )
    levels_judged = [c for c in x_train.columns if c not in model.slow_signals_]
    outside = outside_training_range(x_train[levels_judged], x_test[levels_judged])
    per_feature = outside.mean()
    totals = [c for c in running_totals(x_train, x_test) if c in model.slow_signals_]
    days = np.array([], dtype=object)
    if test_times is not None:  # the days of the site's clock, which x_test is indexed by
        days = _day_names(pd.DatetimeIndex(x_test.index))
    summary = DetectSummary(
        n_train=len(x_train),
        n_test=len(x_test),
        n_anomalous=int(out["anomaly"].sum()),
        features=features,
        time_column=tcol,
        outside_share=float(outside.any(axis=1).mean()) if len(outside) else 0.0,
        outside_most=str(per_feature.idxmax())
        if len(per_feature) and per_feature.max() > 0
        else None,
        notes=tuple(notes),
        slow_features=tuple(model.slow_signals_),
        running_totals=tuple(totals),
        profiled_features=tuple(model.profiled_signals_),
        point_features=tuple(model.point_signals_),
        setting_features=tuple(model.setting_signals_),
        rules_applied=found.applied if found is not None else (),
        n_rule_rows=int(found.flags.sum()) if found is not None else 0,
        n_rule_only_rows=int(rule_only.sum()),
        episodes=anomaly_episodes(
            _readable_times(out, written, test_times),
            model.window_rows,
            stretches,
            shares=_signal_shares(scored),
            symptom_rules=SYMPTOM_RULES,
        ),
        alarm_days=tuple(
            alarm_days(out["anomaly"].to_numpy() == 1, days, stretches, model.window_rows)
        )
        if len(days)
        else (),
        test_day_names=tuple(sorted(set(days.tolist()))),
    )
    return _Detected(rows.as_written_order(out), summary, per_time=long_file)
