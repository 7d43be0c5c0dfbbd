"""Remaining useful life by extrapolating a degradation trend to its failure limit.

Where no run-to-failure history exists (a building's filters, belts, bearings, exchangers and
chillers rarely fail twice the same way under the same sensors), the RUL of an equipment can
still be estimated from one physical indicator that rises as it wears and a known limit (a
filter's final pressure drop, ISO 10816 zone D, ...): fit the indicator's recent trend and
find when it crosses the limit. :class:`TrendRUL` does this with honest quantiles.

Method, per unit (one indicator series, e.g. daily medians):

1. **Segment.** Only data since the last maintenance count: a drop of the (3-day running
   median) indicator by more than ``reset_fraction`` of its span to the limit starts a new
   segment (a filter change, a repair).
2. **Window.** The segment's points in the last ``window_days`` before ``as_of``, weighted by
   recency (half-life ``half_life_days``); at least ``min_points`` of them.
3. **State.** ``at_limit`` if the latest values are beyond the limit (RUL 0); ``stable`` if
   the Theil-Sen slope's lower confidence bound is not positive, or the linear trend would
   take more than ``max_rul_days`` to reach the limit (RUL inf); otherwise ``degrading``.
4. **Trend models.** Three weighted least-squares fits, each a different belief about how wear
   accelerates: *linear* (none: an upper bracket for accelerating wear), *quadratic* (constant
   acceleration, curvature >= 0) and *exponential* ``c + a exp(k t)`` (proportional growth,
   as of a spalling bearing; rate ``k`` on a grid, ``c`` and ``a`` linear). The crossing time
   of each is its RUL. The fits are in :mod:`bms.models.rul_curves`.
5. **Model weights.** Each model is refitted without the window's latest quarter
   (``holdout_fraction``) and scored on how well it predicts those points; its share is
   proportional to ``1 / (error + noise)``, so models that extrapolate equally well within the
   noise share equally (``holdout_fraction=0``: equal shares).
6. **Uncertainty.** ``n_bootstrap`` resamplings of the window's days (multinomial weights) for
   each model; each crossing time is multiplied by a log-normal shape error of
   ``relative_error`` (the trend's form is never exactly one of the three); the weighted
   quantiles of the pooled crossing times are ``rul_p10``, ``rul_p50``, ``rul_p90``.
   ``window_days`` and ``relative_error`` were chosen on the simulator's development seeds
   (``docs/site_rul.md``). Crossings beyond ``max_rul_days`` are reported as ``inf``.

The estimator follows scikit-learn's conventions (parameters stored in ``__init__``, learned
state ends with ``_``, ``fit`` returns ``self``). Its input is a long frame (unit, time,
value), like :class:`bms.models.rul.RunToFailureRUL`, because each prediction depends on a
unit's history; ``fit`` learns nothing from labels (there are none): it validates the
settings and records the typical day-to-day noise of the indicator.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from scipy.stats import theilslopes
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.utils.validation import check_is_fitted

from bms.errors import BmsError, SchemaError
from bms.models.rul import QUANTILE_COLUMNS  # the same output columns as the supervised model
from bms.models.rul_curves import FITS, predict_model
from bms.models.rul_curves import RATE_GRID as RATE_GRID  # re-exported

__all__ = [
    "MODELS",
    "QUANTILE_COLUMNS",
    "TrendRUL",
    "TrendResult",
    "reset_points",
    "trend_rul",
]

logger = logging.getLogger(__name__)

MODELS = ("linear", "quadratic", "exponential")
EPOCH = pd.Timestamp(0, tz="UTC")
Float = NDArray[np.float64]


class TrendRULError(BmsError, ValueError):
    """A TrendRUL setting or input is invalid."""


@dataclass(frozen=True)
class TrendResult:
    """RUL quantiles [d] of one unit and how they were obtained.

    ``state`` is ``degrading``, ``stable`` (no trend towards the limit: RUL inf),
    ``at_limit`` (beyond it: RUL 0) or ``insufficient`` (too few recent points: NaN).
    ``slope_per_day`` is the Theil-Sen slope of the window [indicator unit / d].
    """

    rul_p10: float
    rul_p50: float
    rul_p90: float
    state: str
    slope_per_day: float
    last_value: float
    n_points: int
    by_model: dict[str, float]


def _running_median3(y: Float) -> Float:
    if len(y) < 3:
        return y.copy()
    padded = np.concatenate([[y[0]], y, [y[-1]]])
    return np.median(np.lib.stride_tricks.sliding_window_view(padded, 3), axis=1)


def reset_points(y: Float, limit: float, reset_fraction: float = 0.15) -> NDArray[np.int64]:
    """Indexes where a new segment starts: the 3-point running median drops by more than
    ``reset_fraction`` of the span between the series' lowest value and ``limit``."""
    if len(y) < 2:
        return np.zeros(0, dtype=np.int64)
    span = max(limit - float(np.min(y)), 1e-12)
    smooth = _running_median3(np.asarray(y, dtype=float))
    drops = np.flatnonzero(np.diff(smooth) < -reset_fraction * span) + 1
    return drops.astype(np.int64)


def _holdout_shares(
    tau: Float,
    y: Float,
    recency: Float,
    limit: float,
    fits: dict[str, Any],
    holdout_fraction: float,
) -> dict[str, float]:
    """Model weights from how well each, fitted without the latest points, predicts them.

    ``share_m`` is proportional to ``1 / (mse_m + noise)``, ``noise`` the variance of the
    series' scatter (from its second differences), so models that extrapolate equally well
    within the noise share equally. Equal shares when the window is too short to hold out.
    """
    n = len(tau)
    k = max(2, round(holdout_fraction * n))
    if holdout_fraction <= 0 or n - k < 4:
        return {m: 1.0 / len(fits) for m in fits}
    second = np.diff(y, 2)
    mad = np.median(np.abs(second - np.median(second))) if len(second) else 0.0
    noise = (1.4826 * mad) ** 2 / 6.0 + 1e-12 * (1.0 + np.var(y))
    inverse = {}
    for m, fit in fits.items():
        fitted, _ = fit(tau[:-k], y[:-k], recency[None, :-k], limit)
        err = np.mean((predict_model(m, fitted, tau[-k:]) - y[-k:]) ** 2)
        inverse[m] = 1.0 / (err + noise) if np.isfinite(err) else 0.0
    total = sum(inverse.values())
    if not total > 0:
        return {m: 1.0 / len(fits) for m in fits}
    return {m: v / total for m, v in inverse.items()}


def _weighted_quantiles(values: Float, weights: Float, qs: tuple[float, ...]) -> list[float]:
    order = np.argsort(values, kind="stable")
    v, w = values[order], weights[order]
    cum = np.cumsum(w) / np.sum(w)
    return [float(v[min(np.searchsorted(cum, q), len(v) - 1)]) for q in qs]


def trend_rul(
    t_days: Float,
    y: Float,
    limit: float,
    t_now: float,
    *,
    window_days: float = 14.0,
    half_life_days: float = 10.0,
    min_points: int = 5,
    models: tuple[str, ...] = MODELS,
    n_bootstrap: int = 200,
    max_rul_days: float = 365.0,
    relative_error: float = 0.1,
    reset_fraction: float = 0.15,
    holdout_fraction: float = 0.25,
    detect_alpha: float = 0.9,
    rng: np.random.Generator | None = None,
) -> TrendResult:
    """RUL quantiles [d] of one rising indicator series (see the module docstring).

    Parameters
    ----------
    t_days : array of shape (n,)
        Times [d] (any origin, same as ``t_now``).
    y : array of shape (n,)
        Indicator values, rising towards ``limit`` as the equipment wears.
    limit : float
        Failure limit, in the unit of ``y``.
    t_now : float
        The "as of" time [d]; points after it are ignored; RULs are counted from it.
    """
    rng = rng if rng is not None else np.random.default_rng(0)
    t = np.asarray(t_days, dtype=float)
    v = np.asarray(y, dtype=float)
    ok = np.isfinite(t) & np.isfinite(v) & (t <= t_now)
    order = np.argsort(t[ok], kind="stable")
    t, v = t[ok][order], v[ok][order]
    nan = float("nan")
    if len(v) == 0:
        return TrendResult(nan, nan, nan, "insufficient", nan, nan, 0, {})
    starts = reset_points(v, limit, reset_fraction)
    first = int(starts[-1]) if len(starts) else 0
    seg_t, seg_v = t[first:], v[first:]
    recent = seg_t > t_now - window_days
    wt, wv = seg_t[recent], seg_v[recent]
    last = float(np.median(seg_v[-2:]))
    if last >= limit:
        return TrendResult(0.0, 0.0, 0.0, "at_limit", nan, last, len(wv), {})
    if len(wv) < min_points:
        return TrendResult(nan, nan, nan, "insufficient", nan, last, len(wv), {})
    slope, _, low, _ = theilslopes(wv, wt, alpha=detect_alpha)
    inf = float("inf")
    if not low > 0 or (limit - last) / slope > max_rul_days:
        return TrendResult(inf, inf, inf, "stable", float(slope), last, len(wv), {})

    tau = wt - t_now
    recency = 0.5 ** (-tau / half_life_days)
    fits = {m: FITS[m] for m in models if m != "quadratic" or len(wt) >= 4}
    if not fits:
        raise TrendRULError(f"models must name some of {', '.join(MODELS)}, got {models!r}")
    counts = rng.multinomial(len(wt), np.full(len(wt), 1.0 / len(wt)), size=n_bootstrap)
    weights = counts * recency[None, :]
    crossings = {m: fit(tau, wv, weights, limit)[1] for m, fit in fits.items()}
    shares = _holdout_shares(tau, wv, recency, limit, fits, holdout_fraction)
    pooled = np.clip(np.concatenate([crossings[m] for m in fits]), 0.0, None)
    if relative_error > 0:  # trend-shape error beyond the fitted models: log-normal
        pooled = pooled * np.exp(relative_error * rng.standard_normal(len(pooled)))
    mass = np.concatenate([np.full(n_bootstrap, shares[m] / n_bootstrap) for m in fits])
    p10, p50, p90 = _weighted_quantiles(pooled, mass, (0.1, 0.5, 0.9))
    quantiles = [float(q) if q <= max_rul_days else inf for q in (p10, p50, p90)]
    by_model = {name: float(np.median(c)) for name, c in crossings.items()}
    by_model |= {f"share_{name}": shares[name] for name in crossings}
    return TrendResult(*quantiles, "degrading", float(slope), last, len(wv), by_model)


def _days(values: pd.Series | Any) -> Float:
    series = pd.Series(values)
    if pd.api.types.is_datetime64_any_dtype(series):
        stamps = pd.to_datetime(series, utc=True)
        return ((stamps - EPOCH) / pd.Timedelta(days=1)).to_numpy(dtype=float)
    if pd.api.types.is_numeric_dtype(series):
        return series.to_numpy(dtype=float)
    raise SchemaError("time column must hold datetimes or numbers of days")


class TrendRUL(RegressorMixin, BaseEstimator):
    """Degradation-trend extrapolation to a failure limit, with RUL quantiles in days.

    Parameters
    ----------
    limit : float
        Failure limit of the indicator (its unit).
    increasing : bool
        True when the indicator rises as the equipment wears; False for one that falls (it is
        then mirrored internally).
    window_days : float
        Length of the recent window fitted [d].
    half_life_days : float
        Recency weighting of the window's points [d].
    min_points : int
        Fewest points in the window for a prediction (else NaN, ``insufficient``).
    models : tuple of str
        Trend shapes pooled: some of ``linear``, ``quadratic``, ``exponential``.
    n_bootstrap : int
        Bootstrap replicates per model.
    max_rul_days : float
        Crossings further away are reported as ``inf`` [d].
    relative_error : float
        Log-normal spread [-] of the trend-shape error added to every crossing time.
    reset_fraction : float
        Drop (share of the span to the limit) that marks a maintenance reset.
    holdout_fraction : float
        Share of the window's latest points held out to weigh the models (0: equal weights).
    random_state : int
        Seed of the bootstrap.
    unit_column, time_column, value_column : str
        Columns of the long input frame; the time column holds datetimes (UTC) or days.
    """

    def __init__(
        self,
        limit: float = 1.0,
        increasing: bool = True,
        window_days: float = 14.0,
        half_life_days: float = 10.0,
        min_points: int = 5,
        models: tuple[str, ...] = MODELS,
        n_bootstrap: int = 200,
        max_rul_days: float = 365.0,
        relative_error: float = 0.1,
        reset_fraction: float = 0.15,
        holdout_fraction: float = 0.25,
        random_state: int = 0,
        unit_column: str = "unit",
        time_column: str = "time",
        value_column: str = "value",
    ) -> None:
        self.limit = limit
        self.increasing = increasing
        self.window_days = window_days
        self.half_life_days = half_life_days
        self.min_points = min_points
        self.models = models
        self.n_bootstrap = n_bootstrap
        self.max_rul_days = max_rul_days
        self.relative_error = relative_error
        self.reset_fraction = reset_fraction
        self.holdout_fraction = holdout_fraction
        self.random_state = random_state
        self.unit_column = unit_column
        self.time_column = time_column
        self.value_column = value_column

    # -- input -------------------------------------------------------------------------------
    def _check_params(self) -> None:
        if not np.isfinite(self.limit):
            raise TrendRULError(f"limit must be a finite number, got {self.limit}")
        unknown = set(self.models) - set(MODELS)
        if not self.models or unknown:
            raise TrendRULError(f"models must name some of {', '.join(MODELS)}, got {self.models}")
        for name in ("window_days", "half_life_days", "max_rul_days"):
            if not getattr(self, name) > 0:
                raise TrendRULError(f"{name} must be positive, got {getattr(self, name)}")
        if not self.relative_error >= 0 or not 0 <= self.holdout_fraction < 1:
            raise TrendRULError(
                f"relative_error must be >= 0 and holdout_fraction in [0, 1), got "
                f"{self.relative_error} and {self.holdout_fraction}"
            )
        if self.min_points < 3:
            raise TrendRULError(f"min_points must be at least 3, got {self.min_points}")
        if self.n_bootstrap < 10:
            raise TrendRULError(f"n_bootstrap must be at least 10, got {self.n_bootstrap}")

    def _units(self, X: pd.DataFrame) -> dict[Any, tuple[Float, Float]]:
        if not isinstance(X, pd.DataFrame):
            raise SchemaError("X must be a DataFrame with time and value columns")
        for column in (self.time_column, self.value_column):
            if column not in X:
                raise SchemaError(f"X lacks column {column!r}")
        t = _days(X[self.time_column])
        v = X[self.value_column].to_numpy(dtype=float)
        sign = 1.0 if self.increasing else -1.0
        units = X[self.unit_column] if self.unit_column in X else pd.Series(0, index=X.index)
        out: dict[Any, tuple[Float, Float]] = {}
        for unit, rows in pd.Series(np.arange(len(X))).groupby(units.to_numpy()):
            idx = rows.to_numpy()
            out[unit] = (t[idx], sign * v[idx])
        return out

    # -- estimator API -----------------------------------------------------------------------
    def fit(self, X: pd.DataFrame, y: Any = None) -> TrendRUL:
        """Validate the settings and record the indicator's day-to-day noise (``noise_``).

        ``X`` is a long frame of histories (unit, time, value); ``y`` is ignored: a trend
        extrapolation needs no failure labels.
        """
        self._check_params()
        diffs = [np.diff(v[np.argsort(t)]) for t, v in self._units(X).values() if len(v) > 2]
        pooled = np.concatenate(diffs) if diffs else np.zeros(0)
        pooled = pooled[np.isfinite(pooled)]
        mad = np.median(np.abs(pooled - np.median(pooled))) if len(pooled) else np.nan
        self.noise_ = float(1.4826 * mad / np.sqrt(2.0)) if len(pooled) else float("nan")
        self.n_units_ = len(self._units(X))
        return self

    def predict_details(
        self, X: pd.DataFrame, as_of: pd.Timestamp | str | float | None = None
    ) -> pd.DataFrame:
        """Per unit: ``rul_p10 rul_p50 rul_p90`` [d], ``state``, ``slope_per_day``,
        ``last_value``, ``n_points`` and the median RUL of each model (``rul_<model>``).

        ``as_of`` (a UTC time, or days when the time column is numeric) is when the RUL is
        counted from; default each unit's last time. Only data before it are used.
        """
        check_is_fitted(self, "noise_")
        sign = 1.0 if self.increasing else -1.0
        rows = []
        for unit, (t, v) in self._units(X).items():
            if as_of is None:
                t_now = float(np.nanmax(t)) if len(t) else float("nan")
            elif isinstance(as_of, int | float):
                t_now = float(as_of)
            else:
                t_now = float(_days(pd.Series([pd.Timestamp(as_of)]))[0])
            result = trend_rul(
                t,
                v,
                sign * self.limit,
                t_now,
                window_days=self.window_days,
                half_life_days=self.half_life_days,
                min_points=self.min_points,
                models=tuple(self.models),
                n_bootstrap=self.n_bootstrap,
                max_rul_days=self.max_rul_days,
                relative_error=self.relative_error,
                reset_fraction=self.reset_fraction,
                holdout_fraction=self.holdout_fraction,
                rng=np.random.default_rng(self.random_state),
            )
            row: dict[str, Any] = {
                "unit": unit,
                "rul_p10": result.rul_p10,
                "rul_p50": result.rul_p50,
                "rul_p90": result.rul_p90,
                "state": result.state,
                "slope_per_day": sign * result.slope_per_day,
                "last_value": sign * result.last_value,
                "n_points": result.n_points,
            }
            row |= {f"rul_{m}": result.by_model.get(m, float("nan")) for m in MODELS}
            row |= {f"share_{m}": result.by_model.get(f"share_{m}", 0.0) for m in MODELS}
            rows.append(row)
        return pd.DataFrame(rows).set_index("unit")

    def predict_quantiles(
        self, X: pd.DataFrame, as_of: pd.Timestamp | str | float | None = None
    ) -> pd.DataFrame:
        """``rul_p10 rul_p50 rul_p90`` [d] per unit (index); inf = no trend to the limit."""
        return self.predict_details(X, as_of)[list(QUANTILE_COLUMNS)]

    def predict(self, X: pd.DataFrame) -> Float:
        """Median RUL [d] per unit, units sorted."""
        return self.predict_quantiles(X)["rul_p50"].to_numpy(dtype=float)
