"""Physics residuals and ratios per equipment kind: pure functions on aligned series.

Every function takes role series in canonical units (see :mod:`bms.features.roles`) and
returns a series on the same index; a value that cannot be computed (a denominator too small,
the equipment off) is NaN, never a made-up number.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from numpy.typing import NDArray

__all__ = [
    "KELVIN",
    "approach_temperature",
    "chiller_cop",
    "coil_delta_t",
    "coil_gain",
    "cop_residual",
    "expected_cop_carnot",
    "filter_dp_at_flow",
    "filter_dp_per_flow2",
    "fit_oa_fraction_model",
    "hx_effectiveness",
    "hydraulic_power",
    "mixed_air_residual",
    "oa_fraction",
    "oa_fraction_from_damper",
    "pump_efficiency",
    "specific_fan_power",
    "supply_temp_error",
]

KELVIN = 273.15


def _safe_ratio(num: pd.Series, den: pd.Series, min_den: float) -> pd.Series:
    return num / den.where(den.abs() >= min_den)


# AHU ---------------------------------------------------------------------------------------
def oa_fraction(
    mat: pd.Series, oat: pd.Series, rat: pd.Series, min_delta_k: float = 5.6
) -> pd.Series:
    """Outdoor-air fraction from temperatures: ``(mat - rat) / (oat - rat)`` [-].

    NaN where ``|oat - rat| < min_delta_k`` (G36 ΔT_min, 10 °F = 5.6 K): the ratio is then
    dominated by sensor error.
    """
    return _safe_ratio(mat - rat, oat - rat, min_delta_k)


def fit_oa_fraction_model(
    damper_pct: pd.Series,
    mat: pd.Series,
    oat: pd.Series,
    rat: pd.Series,
    min_delta_k: float = 5.6,
) -> tuple[float, float]:
    """Fit ``f = a + b * damper / 100`` to the measured outdoor-air fraction (least squares).

    Returns ``(a, b)``; ``(0, 1)`` (f = damper position) when fewer than 10 usable rows.
    """
    f = oa_fraction(mat, oat, rat, min_delta_k).clip(-0.2, 1.2)
    x = damper_pct / 100.0
    ok = f.notna() & x.notna()
    if ok.sum() < 10 or x[ok].std() < 1e-6:
        return 0.0, 1.0
    b, a = np.polyfit(x[ok].to_numpy(), f[ok].to_numpy(), 1)
    return float(a), float(b)


def oa_fraction_from_damper(
    damper_pct: pd.Series, model: tuple[float, float] = (0.0, 1.0)
) -> pd.Series:
    """Expected outdoor-air fraction from the damper command, ``clip(a + b d/100, 0, 1)`` [-]."""
    a, b = model
    return (a + b * damper_pct / 100.0).clip(0.0, 1.0)


def mixed_air_residual(
    mat: pd.Series, oat: pd.Series, rat: pd.Series, fraction: pd.Series | float
) -> pd.Series:
    """Mixed-air energy balance residual ``mat - (f oat + (1 - f) rat)`` [K]."""
    return mat - (fraction * oat + (1.0 - fraction) * rat)


def supply_temp_error(sat: pd.Series, sat_sp: pd.Series) -> pd.Series:
    """Supply-air temperature minus its set point [K]."""
    return sat - sat_sp


def coil_delta_t(sat: pd.Series, mat: pd.Series) -> pd.Series:
    """Temperature change across the coils and fan, ``sat - mat`` [K] (>0 heating)."""
    return sat - mat


def coil_gain(delta_t: pd.Series, valve_pct: pd.Series, min_valve_pct: float = 10.0) -> pd.Series:
    """Temperature change per % of valve opening [K/%]; NaN below ``min_valve_pct``.

    A healthy coil's gain is steady for a given air flow; a fouled coil or a starved water loop
    lowers it.
    """
    return delta_t / valve_pct.where(valve_pct >= min_valve_pct)


def filter_dp_per_flow2(dp: pd.Series, flow: pd.Series, min_flow: float = 0.3) -> pd.Series:
    """Filter resistance ``dp / flow²`` [Pa/(m3/s)²]: independent of fan speed, rises as it clogs.

    NaN where the flow is below ``min_flow`` [m3/s] (fan off or near off).
    """
    return dp / (flow.where(flow >= min_flow) ** 2)


def filter_dp_at_flow(
    dp: pd.Series, flow: pd.Series, design_flow: float, min_flow: float = 0.3
) -> pd.Series:
    """Filter pressure drop scaled to the design flow, ``dp (Q_design / Q)²`` [Pa].

    Comparable to the nameplate final pressure drop (``filter_final_dp_pa``).
    """
    return filter_dp_per_flow2(dp, flow, min_flow) * design_flow**2


def specific_fan_power(power_kw: pd.Series, flow: pd.Series, min_flow: float = 0.3) -> pd.Series:
    """Fan power per unit of air flow [kW/(m3/s)]: rises with duct or filter resistance."""
    return power_kw / flow.where(flow >= min_flow)


# Pumps -------------------------------------------------------------------------------------
def hydraulic_power(flow: pd.Series, dp: pd.Series) -> pd.Series:
    """Hydraulic power ``flow * dp`` [kW] from flow [m3/s] and differential pressure [Pa]."""
    return flow * dp / 1000.0


def pump_efficiency(
    flow: pd.Series, dp: pd.Series, power_kw: pd.Series, min_power_kw: float = 0.1
) -> pd.Series:
    """Wire-to-water efficiency: hydraulic power / electrical power [-]; NaN when off."""
    return _safe_ratio(hydraulic_power(flow, dp), power_kw, min_power_kw)


# Heat exchanger ------------------------------------------------------------------------------
def approach_temperature(prim_return: pd.Series, sec_return: pd.Series) -> pd.Series:
    """Cold-end approach of a counter-flow heating exchanger ``prim_return - sec_return`` [K].

    In counter-flow the primary (hot) return leaves facing the secondary return that enters, so
    this is the smallest temperature difference of the exchanger; fouling makes it grow.
    """
    return prim_return - sec_return


def hx_effectiveness(
    prim_supply: pd.Series, sec_supply: pd.Series, sec_return: pd.Series, min_delta_k: float = 2.0
) -> pd.Series:
    """Secondary-side effectiveness ``(sec_supply - sec_return) / (prim_supply - sec_return)``."""
    return _safe_ratio(sec_supply - sec_return, prim_supply - sec_return, min_delta_k)


# Chiller ----------------------------------------------------------------------------------
def chiller_cop(
    cooling_load_kw: pd.Series, power_kw: pd.Series, min_power_kw: float = 1.0
) -> pd.Series:
    """Coefficient of performance ``cooling_load / power`` [-]; NaN when the chiller is off."""
    return _safe_ratio(cooling_load_kw, power_kw, min_power_kw)


def expected_cop_carnot(
    chw_supply_temp: pd.Series,
    cond_temp: pd.Series,
    part_load: pd.Series | float = 1.0,
    carnot_fraction: float = 0.45,
    evap_approach_k: float = 4.0,
) -> pd.Series:
    """Expected COP from the Carnot limit between evaporating and condensing temperatures.

    ``COP = carnot_fraction * T_evap / (T_cond - T_evap) * plr / (0.1 + 0.9 plr)``, with
    ``T_evap = chw_supply - evap_approach`` [K absolute] and the part-load ratio ``plr`` [0-1]
    (a chiller is less efficient at low load). A reference without data; :func:`cop_residual`
    with a fitted model is sharper.
    """
    t_evap = chw_supply_temp - evap_approach_k + KELVIN
    lift = (cond_temp + KELVIN - t_evap).where(lambda v: v > 5.0)
    plr = np.clip(part_load, 0.05, 1.0)
    return carnot_fraction * t_evap / lift * plr / (0.1 + 0.9 * plr)


def _cop_design(part_load: pd.Series, cond_temp: pd.Series) -> NDArray[np.float64]:
    plr = part_load.to_numpy(dtype=float)
    return np.column_stack([np.ones_like(plr), plr, plr**2, cond_temp.to_numpy(dtype=float)])


def cop_residual(
    cop: pd.Series,
    part_load: pd.Series,
    cond_temp: pd.Series,
    coefficients: NDArray[np.float64] | None = None,
) -> tuple[pd.Series, NDArray[np.float64]]:
    """Residual of the COP against ``COP(plr, cond) = c0 + c1 plr + c2 plr² + c3 cond`` [-].

    Parameters
    ----------
    cop, part_load, cond_temp : Series of shape (n_steps,)
        COP [-], part-load ratio [0-1], condensing temperature [°C].
    coefficients : ndarray of shape (4,), optional
        A fitted model; when None it is fitted here by least squares on the rows given
        (fit on a reference period, then pass the coefficients for later data).

    Returns
    -------
    residual : Series
        ``cop - expected`` [-]; negative when the chiller does worse than it should.
    coefficients : ndarray of shape (4,)
    """
    design = _cop_design(part_load, cond_temp)
    y = cop.to_numpy(dtype=float)
    if coefficients is None:
        ok = np.isfinite(design).all(axis=1) & np.isfinite(y)
        if ok.sum() < 8:
            coefficients = np.array([np.nanmedian(y) if ok.any() else np.nan, 0.0, 0.0, 0.0])
        else:
            coefficients = np.linalg.lstsq(design[ok], y[ok], rcond=None)[0]
    expected = design @ coefficients
    return pd.Series(y - expected, index=cop.index), np.asarray(coefficients, dtype=float)
