"""``bms rul``: supervised remaining-useful-life on any long CSV of unit histories.

TRAIN holds complete run-to-failure histories (each unit fails at its last row); TEST holds
histories cut before failure. Both have a unit column, a time column and the same numeric
feature columns (every other column). OUT has one row per TEST unit, in order of first
appearance: ``unit, rul_p10, rul_p50, rul_p90``, predicted at the unit's last row, in the time
column's unit (days when the time column holds dates).

The model is :class:`bms.models.rul.RunToFailureRUL`. Every problem a user can cause is a
:class:`bms.errors.SchemaError` with a one-line message naming the file, column or unit.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from bms.errors import SchemaError
from bms.evaluate.out_path import check_out_path, write_out
from bms.evaluate.wide_csv import numeric_columns, read_wide_csv, saved_index_column
from bms.models.rul import MIN_TRAIN_UNITS, QUANTILE_COLUMNS, RunToFailureRUL

__all__ = ["RulSummary", "prepare_histories", "run_rul"]

logger = logging.getLogger(__name__)

#: Seconds per day: a date/time column is turned into elapsed days.
_DAY_SECONDS = 86400.0


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


def _times(frame: pd.DataFrame, column: str, path: Path) -> tuple[pd.Series, str]:
    """The time column as floats, and its unit ('days' for dates, else 'time-column units')."""
    raw = frame[column]
    numeric = pd.to_numeric(raw, errors="coerce")
    if numeric.notna().all():
        return numeric.astype(float), "time-column units"
    stamps = pd.to_datetime(raw, errors="coerce", utc=True, format="mixed")
    if stamps.notna().all():
        seconds = (stamps - pd.Timestamp("1970-01-01", tz="UTC")).dt.total_seconds()
        return seconds / _DAY_SECONDS, "days"
    bad = int((numeric.isna() & stamps.isna()).to_numpy().argmax())
    raise SchemaError(
        f"{path}: time column {column!r} must be numbers or dates; row {bad + 2} holds "
        f"{raw.iloc[bad]!r}"
    )


def prepare_histories(
    frame: pd.DataFrame,
    path: Path,
    *,
    unit_column: str,
    time_column: str,
    features: list[str] | None = None,
    decimal_comma: bool = False,
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

    Returns
    -------
    histories : DataFrame
        Columns ``unit_column, time_column, *features``, rows in file order.
    time_unit : str
    """
    for col, option in ((unit_column, "--unit-column"), (time_column, "--time-column")):
        if col not in frame.columns:
            raise SchemaError(
                f"{path}: {option} {col!r} not found; columns are {list(frame.columns)}"
            )
    if unit_column == time_column:
        raise SchemaError("--unit-column and --time-column must be different columns")
    if frame[unit_column].isna().any():
        row = int(frame[unit_column].isna().to_numpy().argmax())
        raise SchemaError(f"{path}: unit column {unit_column!r} is empty at row {row + 2}")
    if features is None:
        index = saved_index_column(frame)  # DataFrame.to_csv's row numbers: not a reading
        features = [c for c in frame.columns if c not in (unit_column, time_column, index)]
        if not features:
            raise SchemaError(
                f"{path}: no feature columns besides {unit_column!r}, {time_column!r}"
            )
    else:
        missing = [c for c in features if c not in frame.columns]
        if missing:
            raise SchemaError(
                f"{path}: TEST lacks feature column(s) of TRAIN: {', '.join(map(repr, missing))}"
            )
    times, time_unit = _times(frame, time_column, path)
    out = {unit_column: frame[unit_column].to_numpy(), time_column: times.to_numpy()}
    numeric, notes = numeric_columns(
        frame, features, path, fix="remove them from the CSV", decimal_comma=decimal_comma
    )
    for note in notes:
        logger.warning("%s", note)
    for col in features:
        out[col] = numeric[col].to_numpy()
    histories = pd.DataFrame(out)
    _check_units(histories, path, unit_column, time_column)
    if features:
        histories[features] = histories.groupby(unit_column, sort=False)[features].ffill()
    return histories, time_unit


def _check_units(frame: pd.DataFrame, path: Path, unit_column: str, time_column: str) -> None:
    units = frame[unit_column]
    counts = units.value_counts(sort=False)
    single = counts[counts < 2]
    if len(single):
        raise SchemaError(
            f"{path}: unit {single.index[0]!r} has {int(single.iloc[0])} row; every unit needs "
            "at least 2 rows of history"
        )
    # units must be contiguous blocks in time order
    change = units.ne(units.shift())
    blocks = units[change]
    if blocks.duplicated().any():
        unit = blocks[blocks.duplicated()].iloc[0]
        raise SchemaError(
            f"{path}: rows of unit {unit!r} are not contiguous; sort the file by unit then time"
        )
    step = frame[time_column].diff()
    bad = (~change) & ~(step > 0)
    if bad.any():
        row = int(bad.to_numpy().argmax())
        raise SchemaError(
            f"{path}: time column {time_column!r} is not increasing within unit "
            f"{units.iloc[row]!r} at row {row + 2}"
        )


def run_rul(
    train_path: Path,
    test_path: Path,
    out_path: Path,
    *,
    unit_column: str,
    time_column: str,
    sep: str = ",",
    max_rul: float | None = None,
) -> RulSummary:
    """Fit on TRAIN, predict each TEST unit's RUL at its last row, write OUT.

    Parameters
    ----------
    train_path, test_path, out_path : Path
    unit_column, time_column : str
    sep : str
        Field separator of both inputs.
    max_rul : float or None
        Target cap [time unit]; None: chosen from the training run lengths.

    Returns
    -------
    RulSummary
    """
    # header names are read stripped of surrounding spaces: so are the names a user gives
    unit_column, time_column = unit_column.strip(), time_column.strip()
    if max_rul is not None and not max_rul > 0:
        raise SchemaError(f"--max-rul must be > 0, got {max_rul}")
    train_path, test_path = Path(train_path), Path(test_path)
    check_out_path(Path(out_path))
    train, time_unit = prepare_histories(
        read_wide_csv(train_path, sep),
        train_path,
        unit_column=unit_column,
        time_column=time_column,
        decimal_comma=sep != ",",
    )
    features = [c for c in train.columns if c not in (unit_column, time_column)]
    test, test_unit = prepare_histories(
        read_wide_csv(test_path, sep),
        test_path,
        unit_column=unit_column,
        time_column=time_column,
        features=features,
        decimal_comma=sep != ",",
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
    return RulSummary(
        n_train_units=int(n_units),
        n_test_units=len(out),
        signals=list(model.signals_),
        max_rul=float(model.max_rul_),
        n_regimes=int(model.regimes_.n_regimes_),
        cv_rmse=float(model.cv_rmse_),
        time_unit=time_unit,
    )
