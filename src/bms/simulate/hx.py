"""The district-heating substation: plate heat exchanger between network and building loop.

Demand and delivery [kW]::

    Q_rad  = UA (T_in - oat) - gains,  UA = 0.7 design_power / 31 K   (heating season only)
    Q_dhw  = design_power (0.02 + 0.03 occupancy)
    Q_max  = design_power / sqrt(F)                 (F: fouling factor, 1 when clean)
    Q      = min(Q_rad + Q_dhw, Q_max) + AHU heating-coil loads (limited to what is left)

Temperatures [°C]: the secondary supply setpoint follows the heating curve
``sec_supply_sp = interp(oat, [-10, 18], [75, 35])`` (45 °C outside the heating season, 8 K
lower at night); ``sec_return = sec_supply - Q / (rho_cp flow_sec)``; the exchanger's cold-end
approach is ``prim_return - sec_return = clean_approach F (0.6 + 0.4 Q / design_power)``.
Fouling drives ``F`` from 1 to 4 at failure (approach x4, capacity halved).
"""

from __future__ import annotations

import numpy as np

from bms.simulate.context import WATER_RHO_CP, SimContext
from bms.simulate.faults import Fault, faults_for
from bms.simulate.weather import ar1

DEFAULTS = {"design_power_kw": 900.0, "clean_approach_k": 3.0}
FOULED_FACTOR = 4.0  #: fouling factor at failure (capacity = design / 2)


def fouling_factor(ctx: SimContext, faults: list[Fault], name: str) -> np.ndarray:
    """Fouling factor F [1] of shape (n_steps,): 1 + slow ageing, x4 at a fouling failure."""
    t = ctx.t_ns
    factor = 1.0 + 0.15 * (t - t[0]) / (365.0 * 86400e9)
    for f in faults_for(faults, name, "hx_fouling"):
        x = f.progress(t)
        factor = np.where(f.active(t), 1.0 + (FOULED_FACTOR - 1.0) * x**1.2, factor)
    return factor


def heating_demand(ctx: SimContext, design_power_kw: float) -> tuple[np.ndarray, np.ndarray]:
    """Radiator and domestic-hot-water demand [kW], each of shape (n_steps,)."""
    cal = ctx.calendar
    ua = 0.7 * design_power_kw / 31.0
    t_in = np.where(cal.heating_comfort, 21.0, 17.0)
    boost = cal.heating_comfort & (cal.local_hour < 7.0)
    gains = design_power_kw * (0.12 * cal.occupancy + 0.00008 * ctx.ghi)
    rad = np.maximum(ua * (t_in - ctx.oat) * np.where(boost, 1.3, 1.0) - gains, 0.0)
    rad = np.where(ctx.heating_season(), rad, 0.0)
    dhw = design_power_kw * (0.02 + 0.03 * cal.occupancy)
    return rad, dhw


def heating_setpoint(ctx: SimContext) -> np.ndarray:
    """Secondary supply setpoint from the heating curve [°C], 0.5 K steps."""
    curve = np.interp(ctx.oat_slow, [-10.0, 18.0], [75.0, 35.0])
    curve = curve - np.where(ctx.calendar.heating_comfort, 0.0, 8.0)
    curve = np.where(ctx.heating_season(), np.maximum(curve, 35.0), 45.0)
    return np.round(curve * 2.0) / 2.0


def simulate_substation(
    ctx: SimContext,
    params: dict[str, float],
    name: str,
    fouling: np.ndarray,
    base_kw: np.ndarray,
    demand_kw: np.ndarray,
    ahu_heating_kw: np.ndarray,
    sec_flow_m3_s: np.ndarray,
) -> dict[str, np.ndarray]:
    """Measured substation points.

    Parameters
    ----------
    fouling : fouling factor from :func:`fouling_factor`.
    base_kw : radiator and hot-water heat delivered [kW].
    demand_kw : radiator and hot-water heat asked for [kW] (>= ``base_kw`` when short).
    ahu_heating_kw : heat taken by the AHU heating coils [kW].
    sec_flow_m3_s : secondary loop flow (heating pumps) [m3/s].

    Returns ``prim_supply_temp prim_return_temp sec_supply_temp sec_return_temp sec_supply_sp
    prim_valve heat_power`` and hidden ``_heat_kw`` (true power) and ``_approach_k``.
    """
    rng = ctx.rng(name)
    design = params["design_power_kw"]
    total = base_kw + ahu_heating_kw
    sp = heating_setpoint(ctx)
    shortfall = np.clip(demand_kw / np.maximum(base_kw, 1.0) - 1.0, 0.0, 1.0)
    sec_supply = sp - 10.0 * shortfall + ar1(rng, ctx.n, ctx.step_hours, 0.5, 0.3)
    flow = np.maximum(sec_flow_m3_s, 1e-4)
    sec_return = np.maximum(sec_supply - total / (WATER_RHO_CP * flow), 15.0)
    sec_return = np.where(sec_flow_m3_s > 0, sec_return, sec_supply - 2.0)
    approach = params["clean_approach_k"] * fouling * (0.6 + 0.4 * total / design)
    prim_supply = np.where(
        ctx.heating_season(), np.interp(ctx.oat_slow, [-10.0, 15.0], [105.0, 80.0]), 75.0
    ) + ar1(rng, ctx.n, ctx.step_hours, 3.0, 1.0)
    prim_return = np.minimum(sec_return + approach, prim_supply - 5.0)
    prim_flow = total / (WATER_RHO_CP * (prim_supply - prim_return))
    prim_flow_design = design / (WATER_RHO_CP * 50.0)
    noise = rng.standard_normal((5, ctx.n))
    return {
        "prim_supply_temp": prim_supply + 0.1 * noise[0],
        "prim_return_temp": prim_return + 0.1 * noise[1],
        "sec_supply_temp": sec_supply + 0.1 * noise[2],
        "sec_return_temp": sec_return + 0.1 * noise[3],
        "sec_supply_sp": sp,
        "prim_valve": np.round(100.0 * np.clip(prim_flow / prim_flow_design, 0.0, 1.0), 1),
        "heat_power": np.maximum(total * (1.0 + 0.01 * noise[4]), 0.0),
        "_heat_kw": total,
        "_approach_k": approach,
    }
