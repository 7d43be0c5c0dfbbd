"""``bms rul``: supervised remaining-useful-life on any long CSV of unit histories.

TRAIN holds complete run-to-failure histories (each unit fails at its last row); TEST holds
histories cut before failure. Both have a unit column, a time column and the same numeric
feature columns (every other column). OUT has one row per TEST unit, in order of first
appearance: ``unit, rul_p10, rul_p50, rul_p90``, predicted at the unit's last row, in the time
column's unit (days when the time column holds dates).

Unit ids are read as text and copied to OUT as written (``0001`` stays ``0001``, ``1.0``
stays ``1.0``). A TRAIN unit needs at least 2 rows (a run to failure); a TEST unit of one row
(an asset with its first reading) is predicted from that row, like any other.

The model is :class:`bms.models.rul.RunToFailureRUL`. Every problem a user can cause is a
:class:`bms.errors.SchemaError` with a one-line message naming the file, column or unit.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from bms.errors import SchemaError
from bms.evaluate.column_case import case_note, names_matched_but_for_case
from bms.evaluate.dataset_cells import describe_cell
from bms.evaluate.detect_notes import outside_training_range
from bms.evaluate.detect_times import day_first, guessed_order_note, text_times_utc
from bms.evaluate.out_path import check_out_path, write_out
from bms.evaluate.wide_csv import (
    numeric_columns,
    read_wide_csv,
    renamed_hint,
    saved_index_column,
)
from bms.models.rul import MIN_TRAIN_UNITS, QUANTILE_COLUMNS, RunToFailureRUL

__all__ = [
    "MIN_TRAIN_ROWS",
    "RulSummary",
    "check_max_rul",
    "dates_day_first",
    "named_columns",
    "prepare_histories",
    "read_histories",
    "run_rul",
    "unit_label",
]

logger = logging.getLogger(__name__)

#: Seconds per day: a date/time column is turned into elapsed days.
_DAY_SECONDS = 86400.0
#: Minutes per day: steps of a date/time column are compared in minutes.
_DAY_MINUTES = 1440.0
#: Largest step back [minutes] of a date/time column read as a daylight-saving change: local
#: clocks go back one hour, so readings every p minutes (p <= 60) step back by 60 - p.
_CLOCK_CHANGE_MINUTES = 60.0
#: Added to the "not increasing" message when the step back looks like a clock change.
_CLOCK_CHANGE_HINT = " (a clock change? write times in UTC or with their offset)"
#: Fewest rows of a TRAIN unit: a run-to-failure history of one row is a data error.
MIN_TRAIN_ROWS = 2


@dataclass(frozen=True)
class RulSummary:
    """What ``run_rul`` did."""

    n_train_units: int
    n_test_units: int
    signals: list[str]
    max_rul: float
    n_regimes: int
    cv_rmse: float
    time_unit: str
    #: What to tell the user (:func:`unfamiliar_units_note`).
    notes: tuple[str, ...] = ()


def _times(
    frame: pd.DataFrame, column: str, path: Path, dayfirst: bool | None = None
) -> tuple[pd.Series, str]:
    """The time column as floats, and its unit ('days' for dates, else 'time-column units').

    Dates written ``nn/nn/yyyy`` are read day first or month first for the whole column, as
    ``dayfirst`` says, else as the column shows (:func:`~bms.evaluate.detect_times.day_first`):
    read element by element, a French file's ``01/02/2024`` was January 2 and its
    ``13/02/2024`` February 13, and the RULs came out 36 times too short."""
    raw = frame[column]
    numeric = pd.to_numeric(raw, errors="coerce")
    if numeric.notna().all():
        return numeric.astype(float), "time-column units"
    if dayfirst is None:
        dayfirst = day_first(raw)
    stamps = text_times_utc(raw.astype(object), dayfirst=dayfirst)
    if stamps.notna().all():
        seconds = (stamps - pd.Timestamp("1970-01-01", tz="UTC")).dt.total_seconds()
        return seconds / _DAY_SECONDS, "days"
    bad = int((numeric.isna() & stamps.isna()).to_numpy().argmax())
    raise SchemaError(
        f"{path}: time column {column!r} must be numbers or dates; row {bad + 2} holds "
        f"{describe_cell(raw.iloc[bad])}"
    )


def dates_day_first(frames: Sequence[pd.DataFrame], column: str) -> bool:
    """Whether the ``nn/nn/yyyy`` dates of ``column`` put the day first, decided on every
    file together (TRAIN and TEST are one export: one convention for both)."""
    cells = [frame[column] for frame in frames if column in frame.columns]
    if not cells:
        return False
    joined = pd.concat(cells, ignore_index=True)
    dayfirst = day_first(joined)
    if pd.to_numeric(joined, errors="coerce").isna().any():  # dates, not cycle counts
        note = guessed_order_note(joined, dayfirst, f"time column {column!r}")
        if note:
            logger.warning("%s", note)
    return dayfirst


def named_columns(
    frame: pd.DataFrame, path: Path, names: Sequence[tuple[str, str]]
) -> pd.DataFrame:
    """``frame`` with each of ``names`` ((column, option) pairs: ``--unit-column`` and
    ``--time-column``) found, written in another case if need be (renamed to the name given,
    with a line saying so), else a SchemaError naming the option."""
    for column, option in names:
        if column in frame.columns:
            continue
        renamed = names_matched_but_for_case([column], frame.columns)
        if not renamed:
            raise SchemaError(
                f"{path}: {option} {column!r} not found; columns are {list(frame.columns)}"
            )
        written = next(iter(renamed))
        frame = frame.rename(columns=renamed)
        logger.warning("%s: %s %r is written %r there: matched", path, option, column, written)
    return frame


def check_max_rul(max_rul: float | None) -> None:
    """A SchemaError unless ``max_rul`` (``--max-rul``, a target cap) is None or > 0 (``inf``:
    no cap); NaN is refused."""
    if max_rul is not None and not max_rul > 0:
        raise SchemaError(f"--max-rul must be > 0, got {max_rul}")


def unit_label(unit: object) -> str:
    """A unit id for a message: bare when it reads as a number (``unit 8``), else quoted
    (``unit 'ENG-001'``); as written, never numpy's repr (``np.int64(8)``)."""
    text = str(unit)
    try:
        float(text)
    except ValueError:
        return repr(text)
    return text


def _as_text(values: pd.Series) -> pd.Series:
    """Each cell as a stripped string; missing cells stay missing."""
    return values.map(lambda v: v if pd.isna(v) else str(v).strip())


def read_histories(path: Path, sep: str | None, unit_column: str) -> pd.DataFrame:
    """:func:`read_wide_csv`, with the unit column (when there is one) as the text written
    (``0001`` read as a number is 1; a Parquet file's typed ids are turned into text)."""
    frame = read_wide_csv(path, sep, text_columns=(unit_column,))
    if unit_column in frame.columns:
        frame[unit_column] = _as_text(frame[unit_column])
    return frame


def prepare_histories(
    frame: pd.DataFrame,
    path: Path,
    *,
    unit_column: str,
    time_column: str,
    features: list[str] | None = None,
    decimal_comma: bool = False,
    min_rows: int = MIN_TRAIN_ROWS,
    dayfirst: bool | None = None,
) -> tuple[pd.DataFrame, str]:
    """Validate one CSV and return ``unit, time, features...`` (numeric, NaN forward-filled).

    Parameters
    ----------
    frame : DataFrame
        As read from ``path``.
    path : Path
        For messages.
    unit_column, time_column : str
    features : list of str or None
        The feature columns (TRAIN's); None: every other column.
    decimal_comma : bool
        Read ``21,5`` as 21.5 (the field separator is not a comma).
    min_rows : int
        Fewest rows a unit may have: :data:`MIN_TRAIN_ROWS` for run-to-failure histories, 1
        for TEST (a unit is predicted from the rows it has).
    dayfirst : bool or None
        Whether ``nn/nn/yyyy`` dates put the day first (:func:`dates_day_first` of TRAIN and
        TEST); None: as this file's dates show.

    Returns
    -------
    histories : DataFrame
        Columns ``unit_column, time_column, *features``, rows in file order.
    time_unit : str
    """
    frame = named_columns(
        frame, path, ((unit_column, "--unit-column"), (time_column, "--time-column"))
    )
    if unit_column == time_column:
        raise SchemaError("--unit-column and --time-column must be different columns")
    if frame[unit_column].isna().any():
        row = int(frame[unit_column].isna().to_numpy().argmax())
        raise SchemaError(f"{path}: unit column {unit_column!r} is empty at row {row + 2}")
    derived = features is None
    if features is None:
        index = saved_index_column(frame)  # DataFrame.to_csv's row numbers: not a reading
        features = [c for c in frame.columns if c not in (unit_column, time_column, index)]
        if not features:
            raise SchemaError(
                f"{path}: no feature columns besides {unit_column!r}, {time_column!r}"
            )
    else:
        renamed = names_matched_but_for_case(features, frame.columns)
        if renamed:
            frame = frame.rename(columns=renamed)
            logger.warning("%s", case_note(path, renamed))
        missing = [c for c in features if c not in frame.columns]
        if missing:
            others = [c for c in frame.columns if c not in (*features, unit_column, time_column)]
            raise SchemaError(
                f"{path}: TEST lacks feature column(s) of TRAIN: {', '.join(map(repr, missing))}"
                f"{renamed_hint(missing, others, 'give both files the same names')}"
            )
    times, time_unit = _times(frame, time_column, path, dayfirst)
    out = {unit_column: frame[unit_column].to_numpy(), time_column: times.to_numpy()}
    numeric, notes = numeric_columns(
        frame, features, path, fix="remove them from the CSV", decimal_comma=decimal_comma
    )
    for note in notes:
        logger.warning("%s", note)
    empty = [c for c in features if numeric[c].isna().all()]
    if empty and derived:  # TRAIN: nothing to learn from them
        logger.warning("%s: %s hold(s) no value: not used", path, ", ".join(map(repr, empty)))
        features = [c for c in features if c not in empty]
        if not features:
            raise SchemaError(f"{path}: every feature column is empty")
    elif empty:
        logger.warning(
            "%s: %s hold(s) no value: each unit is predicted from its other signals",
            path,
            ", ".join(map(repr, empty)),
        )
    for col in features:
        out[col] = numeric[col].to_numpy()
    histories = pd.DataFrame(out)
    units = histories[unit_column]
    _check_row_counts(units, path, min_rows)
    _check_contiguous(units, path)
    _check_increasing(units, histories[time_column], path, time_column, time_unit == "days")
    if features:
        histories[features] = histories.groupby(unit_column, sort=False)[features].ffill()
    return histories, time_unit


def _check_row_counts(units: pd.Series, path: Path, min_rows: int) -> None:
    """Refuse a unit with fewer than ``min_rows`` rows."""
    counts = units.value_counts(sort=False)
    short = counts[counts < min_rows]
    if len(short):
        n = int(short.iloc[0])
        raise SchemaError(
            f"{path}: unit {unit_label(short.index[0])} has {n} row{'' if n == 1 else 's'}; "
            f"every unit needs at least {min_rows} rows of history"
        )


def _check_contiguous(units: pd.Series, path: Path) -> None:
    """Refuse a unit whose rows are not one block."""
    blocks = units[units.ne(units.shift())]
    if blocks.duplicated().any():
        unit = blocks[blocks.duplicated()].iloc[0]
        raise SchemaError(
            f"{path}: rows of unit {unit_label(unit)} are not contiguous; sort the file by unit "
            "then time"
        )


def _clock_change_hint(step: float, dates: bool) -> str:
    """The hint for a step back of at most an hour between dates (``step`` in days, <= 0)."""
    if dates and -_CLOCK_CHANGE_MINUTES - 1e-6 <= step * _DAY_MINUTES <= 0:
        return _CLOCK_CHANGE_HINT
    return ""


def _check_increasing(
    units: pd.Series, times: pd.Series, path: Path, time_column: str, dates: bool
) -> None:
    """Refuse a time that does not increase within its unit (``times`` in days for dates)."""
    step = times.diff()
    bad = units.eq(units.shift()) & ~(step > 0)
    if bad.any():
        row = int(bad.to_numpy().argmax())
        raise SchemaError(
            f"{path}: time column {time_column!r} is not increasing within unit "
            f"{unit_label(units.iloc[row])} at row {row + 2}"
            f"{_clock_change_hint(float(step.iloc[row]), dates)}"
        )


#: Units named in the line of :func:`unfamiliar_units_note` (the first ones).
SHOWN_UNITS = 5


def unfamiliar_units_note(
    train: pd.DataFrame, test: pd.DataFrame, signals: list[str], unit_column: str, path: Path
) -> str | None:
    """A line naming the TEST units whose last row lies outside TRAIN's range in more than half
    of the model's signals (:func:`~bms.evaluate.detect_notes.outside_training_range`), or None.

    Their RUL is read off a model that never saw such values: a unit of another kind, other
    units of measure, a failure already under way further than any training history went.
    """
    if not signals:
        return None
    last = test.groupby(unit_column, sort=False).tail(1)
    outside = outside_training_range(train[signals], last[signals]).sum(axis=1).to_numpy()
    units = last[unit_column].to_numpy()[outside > len(signals) / 2]
    if units.size == 0:
        return None
    named = ", ".join(map(str, units[:SHOWN_UNITS])) + (", ..." if units.size > SHOWN_UNITS else "")
    return (
        f"{path}: {units.size} unit(s) ({named}) lie outside TRAIN's range in most of the "
        f"{len(signals)} signals at their last row: their RUL is an extrapolation the training "
        "histories do not back; check their units of measure, or that they are the same kind "
        "of machine"
    )


def run_rul(
    train_path: Path,
    test_path: Path,
    out_path: Path,
    *,
    unit_column: str,
    time_column: str,
    sep: str | None = None,
    max_rul: float | None = None,
) -> RulSummary:
    """Fit on TRAIN, predict each TEST unit's RUL at its last row, write OUT.

    Parameters
    ----------
    train_path, test_path, out_path : Path
    unit_column, time_column : str
    sep : str or None
        Field separator of both inputs; None: each file's own, found from its lines.
    max_rul : float or None
        Target cap [time unit]; None: chosen from the training run lengths.

    Returns
    -------
    RulSummary
    """
    # header names are read stripped of surrounding spaces: so are the names a user gives
    unit_column, time_column = unit_column.strip(), time_column.strip()
    check_max_rul(max_rul)
    train_path, test_path = Path(train_path), Path(test_path)
    check_out_path(Path(out_path), {"TRAIN": Path(train_path), "TEST": Path(test_path)})
    train_frame, test_frame = (read_histories(p, sep, unit_column) for p in (train_path, test_path))
    named = ((unit_column, "--unit-column"), (time_column, "--time-column"))
    train_frame = named_columns(train_frame, train_path, named)
    test_frame = named_columns(test_frame, test_path, named)
    dayfirst = dates_day_first((train_frame, test_frame), time_column)
    train, time_unit = prepare_histories(
        train_frame,
        train_path,
        unit_column=unit_column,
        time_column=time_column,
        decimal_comma=train_frame.attrs.get("sep", ",") != ",",  # not the field separator
        dayfirst=dayfirst,
    )
    features = [c for c in train.columns if c not in (unit_column, time_column)]
    test, test_unit = prepare_histories(
        test_frame,
        test_path,
        unit_column=unit_column,
        time_column=time_column,
        features=features,
        decimal_comma=test_frame.attrs.get("sep", ",") != ",",
        min_rows=1,
        dayfirst=dayfirst,
    )
    if test_unit != time_unit:
        raise SchemaError(
            f"{test_path}: time column {time_column!r} is {test_unit}, TRAIN's is {time_unit}"
        )
    n_units = train[unit_column].nunique()
    if n_units < MIN_TRAIN_UNITS:
        raise SchemaError(
            f"{train_path}: {n_units} training unit(s); at least {MIN_TRAIN_UNITS} "
            "run-to-failure histories are needed"
        )
    folds = min(5, n_units)
    model = RunToFailureRUL(
        unit_column=unit_column, time_column=time_column, max_rul=max_rul, cv_folds=folds
    ).fit(train)
    pred = model.predict_quantiles(test)
    order = pd.unique(test[unit_column])
    out = pred.loc[order].round(3).reset_index()
    out = out.rename(columns={unit_column: "unit"})[["unit", *QUANTILE_COLUMNS]]
    write_out(out, Path(out_path))
    unfamiliar = unfamiliar_units_note(train, test, list(model.signals_), unit_column, test_path)
    return RulSummary(
        n_train_units=int(n_units),
        n_test_units=len(out),
        signals=list(model.signals_),
        max_rul=float(model.max_rul_),
        n_regimes=int(model.regimes_.n_regimes_),
        cv_rmse=float(model.cv_rmse_),
        time_unit=time_unit,
        notes=(unfamiliar,) if unfamiliar else (),
    )
