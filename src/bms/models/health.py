"""Health index per equipment: 0-100 (100 = as new), explained by its contributors.

Each contributor ``i`` is first turned into a *degradation* ``d_i`` in [0, 1] (0 = healthy
baseline, 1 = failure limit) and given a *weight* ``w_i`` in [0, 1] (how close to failure the
equipment is when that contributor alone is at its limit). Contributors combine like independent
causes of failure (a "noisy-OR")::

    health = 100 * prod_i (1 - w_i * d_i)

so one contributor at its limit with weight 1 gives health 0, and several mild ones compound.
Each contributor's *penalty* is its share of ``100 - health`` in proportion to
``-ln(1 - w_i * d_i)`` (its factor's share of the product, in log space), hence the penalties are
non-negative and sum exactly to ``100 - health``. A contributor with no data (NaN) is left out
(penalty 0); when every contributor is missing, health is NaN rather than a reassuring 100.

Degradations:

* anomaly: the calibrated ``anomaly_score`` in [0, 1] (0.5 = decision threshold), smoothed by a
  rolling mean, maps to ``(score - 0.5) / 0.5`` clipped to [0, 1]: no penalty below the threshold.
* physical indicators: ``(value - baseline) / (limit - baseline)`` clipped to [0, 1]; ``limit``
  may be below ``baseline`` for indicators that fall as equipment degrades. Helpers below give
  the usual ones: filter pressure drop at nominal flow (clean -> final pressure drop), vibration
  velocity (ISO 10816 zones), heat-exchanger approach (clean -> limit approach), chiller COP loss.
* RUL: ``1 - rul_p50 / horizon`` clipped to [0, 1]: no penalty while the median remaining life
  exceeds the horizon.

See ``docs/registry.md`` (health index) for the choice of weights and limits.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TypeVar, cast

import numpy as np
import pandas as pd

from bms.errors import BmsError

#: ISO 10816-1 (Annex B) vibration severity zone boundaries, RMS velocity [mm/s], 10-1000 Hz:
#: (A/B, B/C, C/D). Zone A: newly commissioned; B: unrestricted long-term operation; C: not
#: suitable for long-term continuous operation; D: severe enough to cause damage. Class I: small
#: machines (up to 15 kW); II: medium machines (15-75 kW, or up to 300 kW on special
#: foundations); III: large machines on rigid foundations; IV: large machines on soft foundations.
ISO_10816_ZONES_MM_S: dict[str, tuple[float, float, float]] = {
    "I": (0.71, 1.8, 4.5),
    "II": (1.12, 2.8, 7.1),
    "III": (1.8, 4.5, 11.2),
    "IV": (2.8, 7.1, 18.0),
}

ANOMALY_THRESHOLD = 0.5
DEFAULT_ANOMALY_WEIGHT = 0.5

ArrayLike = pd.Series | np.ndarray | float
#: The same container comes out as went in (Series in, Series out).
ArrayT = TypeVar("ArrayT", pd.Series, np.ndarray, float)


class HealthConfigError(BmsError, ValueError):
    """A health index setting is invalid (limit equal to baseline, weight out of [0, 1], ...)."""


# Degradations: pure functions --------------------------------------------------------------
def normalised_degradation(value: ArrayT, baseline: float, limit: float) -> ArrayT:
    """Position of ``value`` between its healthy ``baseline`` (0) and failure ``limit`` (1).

    Parameters
    ----------
    value : float, array or Series
        Indicator values, in the same unit as ``baseline`` and ``limit``.
    baseline, limit : float
        Healthy and failure values; ``limit < baseline`` for an indicator that falls.

    Returns
    -------
    Same shape as ``value``, clipped to [0, 1]; NaN where ``value`` is NaN. [-]
    """
    if not np.isfinite(baseline) or not np.isfinite(limit) or limit == baseline:
        raise HealthConfigError(f"limit {limit} must differ from baseline {baseline}")
    return cast(ArrayT, np.clip((value - baseline) / (limit - baseline), 0.0, 1.0))


def smooth_anomaly_score(anomaly_score: pd.Series, window: str | int = "6h") -> pd.Series:
    """Rolling mean of the calibrated anomaly score, so one odd window does not move health.

    ``window`` is a pandas offset (``"6h"``, needs a DatetimeIndex) or a number of samples.
    """
    return anomaly_score.rolling(window, min_periods=1).mean()


def anomaly_degradation(anomaly_score: ArrayT, threshold: float = ANOMALY_THRESHOLD) -> ArrayT:
    """Degradation from a calibrated anomaly score: 0 up to ``threshold``, 1 at score 1. [-]"""
    return normalised_degradation(anomaly_score, threshold, 1.0)


def filter_dp_at_nominal_flow_pa(
    dp_pa: ArrayLike,
    flow_m3_s: ArrayLike,
    nominal_flow_m3_s: float,
    exponent: float = 2.0,
    min_flow_fraction: float = 0.3,
) -> ArrayLike:
    """Filter pressure drop scaled to nominal air flow, ``dp * (Q_nom / Q) ** exponent``. [Pa]

    Pressure drop grows with flow (``exponent`` 2 for turbulent, nearer 1 for fine media), so
    raw ``dp`` confuses loading with fan speed; scaled to nominal flow it rises only with
    loading. NaN where the flow is below ``min_flow_fraction`` of nominal (fan off or
    starting), where the ratio is meaningless. Compare it with the filter's clean (initial) and
    final pressure drops from its datasheet.
    """
    ratio = np.asarray(flow_m3_s, dtype=float) / nominal_flow_m3_s
    scaled = np.where(ratio >= min_flow_fraction, dp_pa * np.abs(ratio) ** -exponent, np.nan)
    return pd.Series(scaled, index=dp_pa.index) if isinstance(dp_pa, pd.Series) else scaled


def vibration_degradation(
    velocity_rms_mm_s: ArrayT, machine_class: str = "II", baseline_mm_s: float | None = None
) -> ArrayT:
    """Vibration velocity between its baseline and the ISO 10816 zone C/D boundary. [-]

    ``baseline_mm_s`` is the machine's own level when healthy; default the zone A/B boundary of
    its class (e.g. 1.12 mm/s for class II, whose limit is 7.1 mm/s).
    """
    baseline, limit = vibration_limits_mm_s(machine_class, baseline_mm_s)
    return normalised_degradation(velocity_rms_mm_s, baseline, limit)


def vibration_limits_mm_s(
    machine_class: str = "II", baseline_mm_s: float | None = None
) -> tuple[float, float]:
    """(baseline, limit) RMS velocity [mm/s]: own baseline or zone A/B, and zone C/D."""
    if machine_class not in ISO_10816_ZONES_MM_S:
        raise HealthConfigError(
            f"machine_class {machine_class!r}: expected one of {', '.join(ISO_10816_ZONES_MM_S)}"
        )
    zone_ab, _, zone_cd = ISO_10816_ZONES_MM_S[machine_class]
    return (zone_ab if baseline_mm_s is None else baseline_mm_s), zone_cd


def cop_loss_fraction(cop: ArrayLike, expected_cop: ArrayLike) -> ArrayLike:
    """Relative COP loss ``1 - cop / expected_cop`` (expected at the same load and temperatures).

    Degrade it between 0 (baseline) and the loss you treat as a failure (e.g. 0.3). [-]
    """
    return 1.0 - cop / expected_cop


def rul_degradation(rul_p50: ArrayT, horizon: float) -> ArrayT:
    """``1 - rul_p50 / horizon`` clipped to [0, 1] (same time unit for both, e.g. days). [-]"""
    if not horizon > 0:
        raise HealthConfigError(f"RUL horizon must be positive, got {horizon}")
    return normalised_degradation(rul_p50, horizon, 0.0)


# Combination -------------------------------------------------------------------------------
def combine_health(
    degradations: pd.DataFrame, weights: Mapping[str, float] | None = None
) -> pd.DataFrame:
    """Health and per-contributor penalties from degradations (see the module docstring).

    Parameters
    ----------
    degradations : DataFrame of shape (n_times, n_contributors)
        One column per contributor, values in [0, 1] (clipped); NaN = no data. [-]
    weights : mapping of column to float in [0, 1], optional
        Default 1 for every contributor.

    Returns
    -------
    DataFrame of shape (n_times, 1 + n_contributors)
        ``health`` [0-100] and ``penalty_<contributor>`` [health points], with
        ``sum(penalties) == 100 - health`` on every row.
    """
    weights = dict(weights or {})
    unknown = set(weights) - set(degradations.columns)
    if unknown:
        raise HealthConfigError(f"weights for unknown contributors: {', '.join(sorted(unknown))}")
    w = np.array([weights.get(column, 1.0) for column in degradations.columns], dtype=float)
    if np.any(~np.isfinite(w)) or np.any(w < 0) or np.any(w > 1):
        bad = {c: float(v) for c, v in zip(degradations, w, strict=True) if not 0 <= v <= 1}
        raise HealthConfigError(f"weights must lie in [0, 1], got {bad}")
    d = degradations.to_numpy(dtype=float)
    missing = np.isnan(d)
    factor = np.clip(np.nan_to_num(d, nan=0.0), 0.0, 1.0) * w  # w_i * d_i
    survival = np.prod(1.0 - factor, axis=1)
    health = 100.0 * survival
    full = factor >= 1.0
    with np.errstate(divide="ignore"):
        log_share = np.where(full.any(axis=1, keepdims=True), full, -np.log1p(-factor))
    total = log_share.sum(axis=1, keepdims=True)
    share = np.divide(log_share, total, out=np.zeros_like(log_share), where=total > 0)
    penalties = share * (100.0 - health)[:, None]
    no_data = missing.all(axis=1) if d.shape[1] else np.ones(len(d), dtype=bool)
    health[no_data] = np.nan
    penalties[no_data] = np.nan
    out = pd.DataFrame(
        penalties, index=degradations.index, columns=[f"penalty_{c}" for c in degradations]
    )
    out.insert(0, "health", health)
    return out


def explain_health(
    degradations: Mapping[str, float], weights: Mapping[str, float] | None = None
) -> tuple[float, dict[str, float]]:
    """Health [0-100] and ``{contributor: penalty}`` for one moment (scalar degradations)."""
    frame = combine_health(pd.DataFrame([dict(degradations)], dtype=float), weights)
    row = frame.iloc[0]
    return float(row["health"]), {name: float(row[f"penalty_{name}"]) for name in degradations}


# The class that wraps them -----------------------------------------------------------------
@dataclass(frozen=True)
class Indicator:
    """A physical degradation indicator: a feature column, its baseline, limit and weight."""

    column: str
    baseline: float
    limit: float
    weight: float = 1.0

    def degradation(self, values: pd.Series) -> pd.Series:
        """Normalised degradation of this indicator's values. [-]"""
        return normalised_degradation(values, self.baseline, self.limit)

    @classmethod
    def vibration(
        cls, column: str, machine_class: str = "II", baseline_mm_s: float | None = None
    ) -> Indicator:
        """Vibration velocity [mm/s RMS] from its baseline to the ISO 10816 zone C/D limit."""
        return cls(column, *vibration_limits_mm_s(machine_class, baseline_mm_s))


@dataclass(frozen=True)
class HealthIndex:
    """Health index of one equipment from its anomaly score, indicators and RUL.

    Parameters
    ----------
    indicators : sequence of Indicator
        Physical indicators, read from the columns of the ``indicators`` frame.
    anomaly_window : str or int
        Smoothing window of the anomaly score (pandas offset or number of samples).
    anomaly_weight : float in [0, 1]
        Weight of a maximal anomaly: an anomaly says something is wrong, not how worn it is.
    rul_horizon : float, optional
        RUL horizon (time unit of ``rul_p50``, e.g. days); None ignores RUL.
    rul_weight : float in [0, 1]
        Weight of the RUL contributor.
    """

    indicators: Sequence[Indicator] = field(default_factory=tuple)
    anomaly_window: str | int = "6h"
    anomaly_weight: float = DEFAULT_ANOMALY_WEIGHT
    rul_horizon: float | None = None
    rul_weight: float = 1.0

    def compute(
        self,
        anomaly_score: pd.Series | None = None,
        indicators: pd.DataFrame | None = None,
        rul_p50: pd.Series | None = None,
    ) -> pd.DataFrame:
        """Health over time: ``health`` [0-100] and ``penalty_<contributor>`` columns.

        Inputs are aligned on the union of their indexes and each is carried forward, so a
        daily RUL holds until the next one. Contributors: ``anomaly``, each indicator's column,
        ``rul``.
        """
        parts: dict[str, pd.Series] = {}
        weights: dict[str, float] = {}
        if anomaly_score is not None:
            smooth = smooth_anomaly_score(anomaly_score.astype(float), self.anomaly_window)
            parts["anomaly"] = anomaly_degradation(smooth)
            weights["anomaly"] = self.anomaly_weight
        for indicator in self.indicators:
            if indicators is None or indicator.column not in indicators:
                raise HealthConfigError(f"indicator column {indicator.column!r} is missing")
            parts[indicator.column] = indicator.degradation(indicators[indicator.column])
            weights[indicator.column] = indicator.weight
        if rul_p50 is not None and self.rul_horizon is not None:
            parts["rul"] = rul_degradation(rul_p50.astype(float), self.rul_horizon)
            weights["rul"] = self.rul_weight
        if not parts:
            raise HealthConfigError("health needs an anomaly score, an indicator or a RUL")
        frame = pd.concat(parts, axis=1).sort_index().ffill()
        return combine_health(frame, weights)
