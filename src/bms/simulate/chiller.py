"""Air-cooled chiller: load, capacity, COP, refrigerant circuit (R410A) and chilled water.

With part-load ratio ``plr = Q / design_cooling`` and refrigerant charge ``c`` (1 when full;
a leak takes it to 0.6 at failure, ``d = 1 - c``)::

    T_evap     = chw_supply - 4 - 20 d                                   [°C]
    cond_temp  = max(oat + 10 + 8 plr, 25)     (head-pressure control)   [°C]
    COP        = design_cop * carnot(T_evap, T_cond) / carnot(3, 50) * plr / (0.1 + 0.9 plr)
                 * (1 - d)
    capacity   = design_cooling (1 - 0.8 d)
    suction_pressure = p_sat,R410A(T_evap),  ln(p / kPa) = 15.375 - 2374.6 / T[K]
    superheat  = 5 + 37.5 d                                              [K]

The load is a constant process load (IT room, 25 kW) plus the AHU cooling coils, so the chiller
runs all year; it trips on low pressure at the failure of a leak and stops when its chilled-
water pump is down.
"""

from __future__ import annotations

import numpy as np

from bms.simulate.context import WATER_RHO_CP, SimContext
from bms.simulate.faults import Fault, faults_for
from bms.simulate.weather import ar1
from bms.simulate.zones import first_order

DEFAULTS = {"design_cooling_kw": 400.0, "design_cop": 3.2, "process_load_kw": 25.0}
LEAKED_FRACTION = 0.4  #: refrigerant lost at the failure of a leak
SUPERHEAT_LIMIT_K = 15.0


def r410a_saturation_pa(temp_c: np.ndarray) -> np.ndarray:
    """Saturation pressure of R410A [Pa, absolute] (fit through -10, 0 and 10 °C)."""
    return 1000.0 * np.exp(15.375 - 2374.6 / (temp_c + 273.15))


def chiller_availability(ctx: SimContext, faults: list[Fault], name: str) -> np.ndarray:
    """bool of shape (n_steps,): not tripped after a refrigerant-leak failure."""
    up = np.ones(ctx.n, dtype=bool)
    for f in faults_for(faults, name, "refrigerant_leak"):
        up &= ~f.failed(ctx.t_ns)
    return up


def leak_fraction(ctx: SimContext, faults: list[Fault], name: str) -> np.ndarray:
    """Fraction of the refrigerant charge lost, ``d`` [0-0.4], of shape (n_steps,)."""
    lost = np.zeros(ctx.n)
    for f in faults_for(faults, name, "refrigerant_leak"):
        lost = np.where(f.active(ctx.t_ns), LEAKED_FRACTION * f.progress(ctx.t_ns), lost)
    return lost


def simulate_chiller(
    ctx: SimContext,
    params: dict[str, float],
    faults: list[Fault],
    name: str,
    load_kw: np.ndarray,
    running: np.ndarray,
    chw_flow_m3_s: np.ndarray,
) -> dict[str, np.ndarray]:
    """Measured chiller points given the cooling asked for [kW] and whether it can run.

    Returns ``status chw_supply_temp chw_return_temp chw_supply_sp cond_temp power
    cooling_load suction_pressure superheat`` and hidden ``_power_kw``, ``_cop``.
    """
    rng = ctx.rng(name)
    design = params["design_cooling_kw"]
    lost = leak_fraction(ctx, faults, name)
    capacity = design * (1.0 - 0.8 * lost)
    delivered = np.where(running, np.minimum(load_kw, capacity), 0.0)
    plr = delivered / design
    sp = np.where(ctx.oat_slow > 18.0, 7.0, 8.0)
    overload = np.clip(load_kw / capacity - 1.0, 0.0, 2.0)
    supply_on = sp + 2.0 * overload + ar1(rng, ctx.n, ctx.step_hours, 0.3, 0.15)
    supply = np.where(running, supply_on, first_order(np.full(ctx.n, 16.0), ctx.step_hours, 3))
    supply = np.where(running, supply, np.maximum(supply, sp + 3.0))
    flow = np.maximum(chw_flow_m3_s, 1e-4)
    chw_return = supply + np.where(chw_flow_m3_s > 0, delivered / (WATER_RHO_CP * flow), 0.5)
    t_evap = supply - 4.0 - 20.0 * lost
    cond = np.where(running, np.maximum(ctx.oat + 10.0 + 8.0 * plr, 25.0), ctx.oat + 2.0)
    carnot = (t_evap + 273.15) / np.maximum(cond - t_evap, 5.0)
    carnot_design = 276.15 / 47.0
    part_load = np.where(plr > 0, plr / (0.1 + 0.9 * plr), 1.0)
    cop = params["design_cop"] * carnot / carnot_design * part_load * (1.0 - lost)
    cop = np.clip(cop, 0.8, 9.0)
    power = np.where(running, delivered / cop, 0.0)
    suction = np.where(running, r410a_saturation_pa(t_evap), r410a_saturation_pa(ctx.oat))
    superheat = np.where(running, 5.0 + 37.5 * lost, 1.0)
    noise = rng.standard_normal((7, ctx.n))
    return {
        "status": running.astype(float),
        "chw_supply_temp": supply + 0.05 * noise[0],
        "chw_return_temp": chw_return + 0.05 * noise[1],
        "chw_supply_sp": sp,
        "cond_temp": cond + 0.3 * noise[2],
        "power": np.maximum(power * (1.0 + 0.01 * noise[3]), 0.0),
        "cooling_load": np.maximum(delivered * (1.0 + 0.01 * noise[4]), 0.0),
        "suction_pressure": suction * (1.0 + 0.005 * noise[5]),
        "superheat": np.maximum(superheat + 0.4 * noise[6], 0.0),
        "_power_kw": power,
        "_cop": cop,
        "_lost_charge": lost,
    }
