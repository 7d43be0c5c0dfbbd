"""Rolling statistics and slopes over trailing time windows, named with their window.

Column names: ``<column>_<stat>_<window>`` (``sat_mean_1h``, ``filter_dp_std_24h``) and
``<column>_slope_per_h_<window>`` (least-squares slope in [unit of the column per hour]).
Windows are trailing (causal): the value at ``t`` uses data in ``(t - window, t]``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from bms.errors import SchemaError

__all__ = ["STATS", "rolling_features", "rolling_slope", "window_label"]

STATS = ("mean", "std", "min", "max")


def window_label(window: str | pd.Timedelta) -> str:
    """A short label for a window: ``1h``, ``24h``, ``15min``, ``2d`` -> as given, normalised."""
    td = pd.Timedelta(window)
    if td <= pd.Timedelta(0):
        raise SchemaError(f"rolling window must be positive, got {window!r}")
    minutes = td / pd.Timedelta(minutes=1)
    if minutes % 60 == 0:
        return f"{int(minutes // 60)}h"
    if minutes == int(minutes):
        return f"{int(minutes)}min"
    return f"{int(td / pd.Timedelta(seconds=1))}s"


def _min_periods(series: pd.Series, window: pd.Timedelta, min_fraction: float) -> int:
    if not isinstance(series.index, pd.DatetimeIndex) or len(series.index) < 2:
        return 1
    step = series.index[1] - series.index[0]
    return max(1, int(np.floor(min_fraction * (window / step))))


def rolling_slope(
    series: pd.Series, window: str | pd.Timedelta, min_fraction: float = 0.5
) -> pd.Series:
    """Least-squares slope of a series over a trailing time window.

    Parameters
    ----------
    series : Series of shape (n_steps,)
        DatetimeIndex; NaN values are ignored.
    window : str or Timedelta
        Trailing window length, e.g. ``"24h"``.
    min_fraction : float
        Share of the window's steps that must hold values, else NaN [0-1].

    Returns
    -------
    Series of shape (n_steps,)
        Slope [unit of the series per hour].
    """
    td = pd.Timedelta(window)
    index = pd.DatetimeIndex(series.index)
    hours = (index - index[0]) / pd.Timedelta(hours=1) if len(index) else np.array([])
    y = series.astype(float)
    t = pd.Series(np.asarray(hours, dtype=float), index=series.index).where(y.notna())
    min_periods = max(2, _min_periods(series, td, min_fraction))

    def mean(values: pd.Series) -> pd.Series:
        return values.rolling(td, min_periods=min_periods).mean()

    mean_t, mean_y = mean(t), mean(y)
    cov = mean(t * y) - mean_t * mean_y
    var = mean(t * t) - mean_t**2
    slope = cov / var.where(var > 1e-12)
    return slope.rename(None)


def rolling_features(
    wide: pd.DataFrame,
    windows: Sequence[str] = ("1h", "24h"),
    stats: Sequence[str] = STATS,
    slope: bool = True,
    min_fraction: float = 0.5,
) -> pd.DataFrame:
    """Rolling statistics (and slopes) of every column over each trailing window.

    Parameters
    ----------
    wide : DataFrame of shape (n_steps, n_columns)
        Regular-step frame with a DatetimeIndex.
    windows : sequence of str
        Window lengths (``"1h"``, ``"24h"``...).
    stats : sequence of {'mean', 'std', 'min', 'max'}
    slope : bool
        Also compute ``<column>_slope_per_h_<window>``.
    min_fraction : float
        Share of a window's steps that must hold values, else NaN [0-1].

    Returns
    -------
    DataFrame of shape (n_steps, n_columns * n_windows * (len(stats) + slope))
    """
    unknown = [s for s in stats if s not in STATS]
    if unknown:
        raise SchemaError(f"unknown rolling statistic {unknown[0]!r}; choose from {STATS}")
    out: dict[str, pd.Series] = {}
    for window in windows:
        label = window_label(window)
        td = pd.Timedelta(window)
        for column in wide.columns:
            series = wide[column].astype(float)
            roll = series.rolling(td, min_periods=_min_periods(series, td, min_fraction))
            for stat in stats:
                out[f"{column}_{stat}_{label}"] = getattr(roll, stat)()
            if slope:
                out[f"{column}_slope_per_h_{label}"] = rolling_slope(series, td, min_fraction)
    return pd.DataFrame(out, index=wide.index)
