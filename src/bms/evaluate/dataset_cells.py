"""The cells of the public data sets' files (SKAB, IMS, C-MAPSS) read as numbers, or refused
with one line naming the file, the column, the data row and the cell.

A copy of a data set edited by hand, or a file of the same layout exported by another tool,
may hold a word where a reading should be: the benchmarks' readers stopped with a traceback
from deep in the detector (``could not convert string to float``).
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pandas as pd

from bms.errors import BmsError
from bms.features.numbers import as_numbers

__all__ = [
    "describe_cell",
    "finite_or_refused",
    "in_time_order_or_refused",
    "numbers_or_refused",
    "times_or_refused",
    "whole_numbers_or_refused",
]

#: A time written with a UTC offset or zone: ``+01:00``, ``-0500``, ``Z``, `` UTC``.
_OFFSET = re.compile(r"(?:(?<=[\d\s])[+-]\d{2}:?\d{2}|(?<=\d)[zZ]|\s(?:UTC|GMT))$")


def describe_cell(value: object) -> str:
    """A cell as a message shows it: ``2.0``, ``'abc'``, ``an empty cell`` (not numpy's
    ``np.float64(2.0)``)."""
    if value is None or (isinstance(value, float | np.floating) and np.isnan(value)):
        return "an empty cell"
    if value is pd.NA or value is pd.NaT:
        return "an empty cell"
    if isinstance(value, np.generic):
        value = value.item()
    return repr(value)


def numbers_or_refused(
    frame: pd.DataFrame, path: Path, columns: Iterable[str] | None = None
) -> pd.DataFrame:
    """``frame`` with ``columns`` (default: every column) read as numbers, empty cells as NaN.

    Raises
    ------
    BmsError
        A non-empty cell that is not a number: ``<path>: 'a' data row 10 holds 'abc', not a
        number`` (data rows counted from 1, the header not counted).
    """
    out = frame.copy()
    for name in frame.columns if columns is None else columns:
        numbers, bad = as_numbers(frame[name])
        if bad is not None:
            raise BmsError(
                f"{path}: {str(name)!r} data row {bad + 1} holds {frame[name].iloc[bad]!r}, not "
                "a number"
            )
        out[name] = numbers
    return out


def finite_or_refused(frame: pd.DataFrame, path: Path) -> None:
    """Refuse the first cell of the numeric ``frame`` that is not a finite number (``nan``,
    ``inf``), for files that hold no empty cell: ``<path>: 'sensor_5' data row 5 holds inf,
    not a finite number``."""
    for name in frame.columns:
        values = frame[name].to_numpy(dtype=float)
        bad = ~np.isfinite(values)
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            raise BmsError(
                f"{path}: {str(name)!r} data row {row + 1} holds {values[row]}, not a finite number"
            )


def whole_numbers_or_refused(cells: pd.Series, path: Path, what: str) -> pd.Series:
    """The numeric ``cells`` as integers, or the first that is not a whole number refused:
    ``<path>: 'unit' data row 3 holds 1.5, not a whole number (a unit id)`` (``what``: the
    parenthesis). Casting would have cut 1.5 to 1."""
    values = cells.to_numpy(dtype=float)
    bad = values != np.floor(values)
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise BmsError(
            f"{path}: {str(cells.name)!r} data row {row + 1} holds {describe_cell(values[row])}, "
            f"not a whole number ({what})"
        )
    return cells.astype(np.int64)


def times_or_refused(cells: pd.Series, path: Path, column: str) -> pd.DatetimeIndex:
    """``cells`` read as the wall-clock times they are written as (no UTC offset), or the
    first that is not one refused: ``<path>: 'datetime' data row 5 holds 'yesterday', not a
    time`` (``column``: how the message names the column, ``'datetime'``).

    A time written with an offset is refused: the protocols' fixed times (the IMS failure,
    the training days) are the rig's clock as the data sets write it, without one, and pandas
    cannot compare the two (nor read offsets that differ between rows).
    """
    written = cells.astype("string").str.strip()
    offset = written.str.contains(_OFFSET, na=False).to_numpy(dtype=bool)
    if offset.any():
        row = int(np.flatnonzero(offset)[0])
        raise BmsError(
            f"{path}: {column} data row {row + 1} holds {cells.iloc[row]!r}, a time with a UTC "
            "offset: write the rig's clock as the data set does, without one"
        )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "Could not infer format": the cells are checked below
        times = pd.to_datetime(cells, errors="coerce")
    missing = times.isna().to_numpy(dtype=bool)
    if missing.any():
        row = int(np.flatnonzero(missing)[0])
        raise BmsError(
            f"{path}: {column} data row {row + 1} holds {describe_cell(cells.iloc[row])}, not a "
            "time"
        )
    return pd.DatetimeIndex(times)


def in_time_order_or_refused(times: pd.DatetimeIndex, path: Path, column: str) -> None:
    """Refuse the first row earlier than the row before it: the protocols read each file in
    time order as written (and their detectors refuse rows out of order with a traceback)."""
    values = times.to_numpy()
    back = np.flatnonzero(values[1:] < values[:-1])
    if len(back):
        row = int(back[0]) + 1  # 0-based position of the later, earlier-timed row
        raise BmsError(
            f"{path}: {column} data row {row + 1} ({times[row]}) is earlier than data row {row} "
            f"({times[row - 1]}): the protocol reads the rows in time order as written; restore "
            "the file's order"
        )
