"""Causal per-unit window features for remaining-useful-life models.

Every feature at row ``i`` of a unit uses only that unit's rows up to ``i`` (what a model sees
when it predicts at a test unit's last row). Rows of a unit must be in time order; units are
contiguous blocks (see :func:`unit_starts`). A unit's features are the same to the last bit
whatever the other units are, their names and their order: window sums come from cumulative
sums restarted at each unit's first row (:func:`unit_cumsum`), not from one running sum over
every row differenced per unit, whose rounding depends on the rows before the unit (and a
feature value that moves by 1e-16 can cross a bin edge of the trees). Every feature is
defined from a unit's first row on, so a unit of one row has features too.

Feature names, for a (normalised) signal ``s`` and a window of ``w`` rows:

- ``s__mean_w``: trailing mean over the last ``w`` rows (fewer at the start of a unit).
- ``s__slope_w``: least-squares slope over the last ``w`` rows [unit of ``s`` per time unit].
- ``s__ewm``: exponentially weighted mean (span :data:`EWM_SPAN` rows).
- ``s__drift``: ``s__ewm`` minus the mean of the unit's first :data:`BASELINE_ROWS` rows
  seen so far: wear relative to the unit's own healthy start, whatever its initial offset.
- ``age``: time since the unit's first row [time unit]; ``n_rows``: rows seen so far.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import pairwise

import numpy as np
import pandas as pd
from numpy.typing import NDArray

__all__ = [
    "BASELINE_ROWS",
    "DEFAULT_WINDOWS",
    "EWM_SPAN",
    "SLOPE_WINDOWS",
    "rolling_mean",
    "rolling_slope",
    "unit_cumsum",
    "unit_ewm",
    "unit_starts",
    "window_features",
]

#: Trailing mean windows [rows].
DEFAULT_WINDOWS: tuple[int, ...] = (5, 10, 20, 30)
#: Trailing slope windows [rows]: short slopes are noise on C-MAPSS-like data.
SLOPE_WINDOWS: tuple[int, ...] = (20, 50)
#: Span of the exponentially weighted mean [rows].
EWM_SPAN = 15
#: Rows at the start of a unit taken as its healthy baseline.
BASELINE_ROWS = 20


def unit_starts(units: NDArray) -> NDArray[np.int64]:
    """Index of the first row of each row's unit (units are contiguous blocks).

    Parameters
    ----------
    units : ndarray of shape (n_rows,)

    Returns
    -------
    ndarray of shape (n_rows,)
    """
    n = len(units)
    new = np.ones(n, dtype=bool)
    if n > 1:
        new[1:] = units[1:] != units[:-1]
    first = np.flatnonzero(new)
    return first[np.cumsum(new) - 1].astype(np.int64)


def unit_cumsum(values: NDArray[np.float64], starts: NDArray[np.int64]) -> NDArray[np.float64]:
    """Cumulative sum over each unit's rows, restarted at the unit's first row.

    Each unit's sums are computed from its own rows only, so they do not depend (not even in
    the last bit) on the units before it.

    Parameters
    ----------
    values : ndarray of shape (n_rows,) or (n_rows, n_columns)
    starts : ndarray of shape (n_rows,)
        From :func:`unit_starts`.

    Returns
    -------
    ndarray of the shape of ``values``
        Sum of the unit's rows up to and including each row. [unit of the values]
    """
    values = np.asarray(values, dtype=float)
    out = np.empty_like(values)
    bounds = [*np.flatnonzero(starts == np.arange(len(starts))).tolist(), len(values)]
    for lo, hi in pairwise(bounds):
        np.cumsum(values[lo:hi], axis=0, out=out[lo:hi])
    return out


def _window_sum(
    values: NDArray[np.float64], starts: NDArray[np.int64], lo: NDArray[np.int64]
) -> NDArray[np.float64]:
    """Sum of rows ``lo[i]..i`` for each row ``i`` (``lo[i]`` within row ``i``'s unit)."""
    cum = unit_cumsum(values, starts)
    before = np.maximum(lo - 1, 0)
    inside = (lo > starts).reshape(-1, *([1] * (cum.ndim - 1)))
    return cum - np.where(inside, cum[before], 0.0)


def rolling_mean(
    values: NDArray[np.float64], starts: NDArray[np.int64], window: int
) -> NDArray[np.float64]:
    """Trailing mean over ``window`` rows within each unit.

    Parameters
    ----------
    values : ndarray of shape (n_rows, n_columns)
    starts : ndarray of shape (n_rows,)
        From :func:`unit_starts`.
    window : int
        Window length [rows].

    Returns
    -------
    ndarray of shape (n_rows, n_columns)
    """
    idx = np.arange(len(values))
    lo = np.maximum(starts, idx - window + 1)
    count = (idx - lo + 1).astype(float)[:, None]
    return _window_sum(values, starts, lo) / count


def rolling_slope(
    values: NDArray[np.float64],
    times: NDArray[np.float64],
    starts: NDArray[np.int64],
    window: int,
) -> NDArray[np.float64]:
    """Least-squares slope over the trailing ``window`` rows within each unit (0 for one row).

    Parameters
    ----------
    values : ndarray of shape (n_rows, n_columns)
    times : ndarray of shape (n_rows,)
        Time of each row, relative to its unit's start. [time unit]
    starts : ndarray of shape (n_rows,)
    window : int
        Window length [rows].

    Returns
    -------
    ndarray of shape (n_rows, n_columns)
        Slope. [unit of the values per time unit]
    """
    idx = np.arange(len(values))
    lo = np.maximum(starts, idx - window + 1)
    n = (idx - lo + 1).astype(float)[:, None]
    t = times[:, None]
    s_t = _window_sum(t, starts, lo)
    s_tt = _window_sum(t * t, starts, lo)
    s_x = _window_sum(values, starts, lo)
    s_tx = _window_sum(t * values, starts, lo)
    var = s_tt - s_t * s_t / n
    cov = s_tx - s_t * s_x / n
    with np.errstate(invalid="ignore", divide="ignore"):
        slope = np.where(var > 1e-12, cov / np.where(var > 1e-12, var, 1.0), 0.0)
    return slope


def unit_ewm(
    values: NDArray[np.float64], units: NDArray, span: int = EWM_SPAN
) -> NDArray[np.float64]:
    """Exponentially weighted mean within each unit (adjusted, like pandas ``ewm(span)``)."""
    frame = pd.DataFrame(values)
    return (
        frame.groupby(pd.Series(units), sort=False).transform(
            lambda col: col.ewm(span=span, adjust=True).mean()
        )
    ).to_numpy(dtype=float)


def _baseline(values: NDArray[np.float64], starts: NDArray[np.int64]) -> NDArray[np.float64]:
    """Mean of each unit's first :data:`BASELINE_ROWS` rows, using only rows seen so far."""
    idx = np.arange(len(values))
    hi = np.minimum(idx, starts + BASELINE_ROWS - 1)
    cum = unit_cumsum(values, starts)
    return cum[hi] / (hi - starts + 1).astype(float)[:, None]


def window_features(
    signals: NDArray[np.float64],
    names: Sequence[str],
    units: NDArray,
    times: NDArray[np.float64],
    *,
    windows: Sequence[int] = DEFAULT_WINDOWS,
    slope_windows: Sequence[int] = SLOPE_WINDOWS,
) -> pd.DataFrame:
    """All window features of every row (see the module docstring for the names).

    Parameters
    ----------
    signals : ndarray of shape (n_rows, n_signals)
        Normalised signals, units contiguous and each in time order.
    names : sequence of str of length n_signals
    units : ndarray of shape (n_rows,)
    times : ndarray of shape (n_rows,)
        [time unit]
    windows, slope_windows : sequence of int
        Trailing mean and slope windows. [rows]

    Returns
    -------
    DataFrame of shape (n_rows, n_features)
    """
    signals = np.asarray(signals, dtype=float)
    starts = unit_starts(np.asarray(units))
    times = np.asarray(times, dtype=float)
    rel = times - times[starts]
    blocks: dict[str, NDArray[np.float64]] = {}
    for w in windows:
        blocks[f"mean_{w}"] = rolling_mean(signals, starts, w)
    for w in slope_windows:
        blocks[f"slope_{w}"] = rolling_slope(signals, rel, starts, w)
    ewm = unit_ewm(signals, np.asarray(units))
    blocks["ewm"] = ewm
    blocks["drift"] = ewm - _baseline(signals, starts)
    columns: dict[str, NDArray[np.float64]] = {}
    for stat, block in blocks.items():
        for j, name in enumerate(names):
            columns[f"{name}__{stat}"] = block[:, j]
    columns["age"] = rel
    columns["n_rows"] = (np.arange(len(signals)) - starts + 1).astype(float)
    return pd.DataFrame(columns)
