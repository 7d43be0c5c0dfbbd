"""Cells read as numbers, and where the first that is not one lies: the one check behind the
one-line errors of the telemetry features, the detectors' Python API and the public data
sets' readers (each names the culprit its own way: a point and time, a column, a data row)."""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["as_numbers"]


def as_numbers(cells: pd.Series) -> tuple[pd.Series, int | None]:
    """``cells`` as numbers (numbers written as text read, empty cells NaN), and the position
    of the first non-empty cell that is not a number, or None. A numeric or boolean column is
    returned as it is."""
    if pd.api.types.is_numeric_dtype(cells) or pd.api.types.is_bool_dtype(cells):
        return cells, None
    numbers = pd.to_numeric(cells, errors="coerce")
    bad = cells.notna().to_numpy() & numbers.isna().to_numpy()
    return numbers, int(np.flatnonzero(bad)[0]) if bad.any() else None
