"""The cells of the public data sets' files (SKAB, IMS, C-MAPSS) read as numbers, or refused
with one line naming the file, the column, the data row and the cell.

A copy of a data set edited by hand, or a file of the same layout exported by another tool,
may hold a word where a reading should be: the benchmarks' readers stopped with a traceback
from deep in the detector (``could not convert string to float``).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import pandas as pd

from bms.errors import BmsError
from bms.features.numbers import as_numbers

__all__ = ["numbers_or_refused"]


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
