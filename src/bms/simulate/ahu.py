"""Air-handling units: fan and filter (air side), dampers, coils and supply temperature.

Air side (:func:`ahu_airside`), per step, when the unit is scheduled on::

    n            = fan_speed / 100, from occupancy and outdoor temperature (30-100 %)
    supply_flow  = design_flow * n * (1 - slip) * (1 - 0.12 clog^2)     [m3/s]
    fan_power    = design_fan_power * n^3 * (1 - slip)^2                (affinity laws) [kW]
    filter_dp    = filter_clean_dp * (supply_flow / design_flow)^2 * L  [Pa]
    duct_static  = 350 * (supply_flow / design_flow)^2                  [Pa]

``L`` (loading) grows linearly with operating hours from 1 to 2.2 and is reset by scheduled
filter changes; ``clog = (L - 1) / (L_final - 1)`` with ``L_final = final_dp / clean_dp``.

Thermal side (:func:`ahu_thermal`): mixed air ``mat = f oat + (1 - f) rat`` where the
outdoor-air fraction ``f`` follows a differential dry-bulb economiser (mix to the target when
cold, 100 % outdoor air for free cooling when ``oat < rat`` and ``oat < 21 °C``, minimum
outdoor air otherwise); the heating then cooling coil bring the air to ``sat_sp - fan_heat``;
coil loads ``Q = rho_cp * supply_flow * dT`` [kW].
"""

from __future__ import annotations

import numpy as np
from scipy.signal import lfilter

from bms.simulate.context import AIR_RHO_CP, SimContext
from bms.simulate.faults import Fault, faults_for
from bms.simulate.weather import ar1

DEFAULTS = {
    "design_flow_m3_s": 5.0,
    "design_fan_power_kw": 7.5,
    "filter_clean_dp_pa": 120.0,
    "filter_final_dp_pa": 450.0,
    "min_oa_fraction": 0.2,
    "heating_coil_dt_k": 25.0,  #: coil design temperature rise at design flow [K]
    "cooling_coil_dt_k": 12.0,  #: coil design temperature drop at design flow [K]
}
NORMAL_MAX_LOADING = 2.2  #: scheduled filter change at 2.2 x the clean pressure drop
HEALTHY_SLIP = 0.02  #: belt slip of a good belt
BROKEN_BELT_FLOW = 0.02  #: flow fraction left after the belt breaks (stack effect)


def _sawtooth_loading(
    ctx: SimContext, on: np.ndarray, resets_ns: list[int], rng: np.random.Generator
) -> np.ndarray:
    """Normal filter loading: 1 -> 2.2 over ~1,600 operating hours, then a filter change."""
    hours = np.cumsum(on) * ctx.step_hours
    interval = rng.uniform(1400.0, 1800.0)
    phase = rng.uniform(0.0, interval)
    since = hours + phase
    if resets_ns:
        idx = np.searchsorted(ctx.t_ns, np.sort(np.asarray(resets_ns)))
        idx = idx[idx < ctx.n]
        if len(idx):
            last = np.searchsorted(idx, np.arange(ctx.n), side="right") - 1
            has = last >= 0
            since = np.where(has, hours - hours[idx[np.maximum(last, 0)]], since)
    return 1.0 + (NORMAL_MAX_LOADING - 1.0) * (np.mod(since, interval) / interval)


def ahu_airside(
    ctx: SimContext, params: dict[str, float], faults: list[Fault], name: str
) -> dict[str, np.ndarray]:
    """Fan, belt and filter of one AHU; returns arrays of shape (n_steps,) by point name.

    Also returns hidden truth columns: ``_on``, ``_loading``, ``_slip``, ``_flow_frac``.
    """
    rng = ctx.rng(f"{name}/air")
    cal = ctx.calendar
    on = cal.ahu_on.copy()
    design_flow = params["design_flow_m3_s"]
    cooling_demand = np.clip((ctx.oat_slow - 16.0) / 10.0, 0.0, 1.0)
    speed = 50.0 + 30.0 * np.clip(cal.occupancy, 0, 1) + 15.0 * cooling_demand
    speed = np.clip(speed + ar1(rng, ctx.n, ctx.step_hours, 1.0, 2.0), 30.0, 100.0)
    speed = np.where(on, np.round(speed, 1), 0.0)
    n = speed / 100.0

    t = ctx.t_ns
    clogging = faults_for(faults, name, "filter_clogging")
    resets = [f.end.value for f in clogging if f.end is not None]
    loading = _sawtooth_loading(ctx, on, resets, rng)
    l_final = params["filter_final_dp_pa"] / params["filter_clean_dp_pa"]
    for f in clogging:
        x = f.progress(t)
        start_level = float(np.interp(f.onset.value, t, loading))
        ramp = start_level + (l_final * 1.01 - start_level) * x**1.5
        loading = np.where(f.active(t), ramp, loading)
        loading = np.where(f.failed(t), l_final * 1.02, loading)
    clog = np.clip((loading - 1.0) / (l_final - 1.0), 0.0, 1.0)

    slip = np.full(ctx.n, HEALTHY_SLIP)
    broken = np.zeros(ctx.n, dtype=bool)
    for f in faults_for(faults, name, "belt_wear"):
        slip = np.where(f.active(t), HEALTHY_SLIP + 0.23 * f.progress(t) ** 2, slip)
        broken |= f.failed(t)
    flow_frac = np.where(broken, BROKEN_BELT_FLOW, (1.0 - slip) * (1.0 - 0.12 * clog**2)) * n
    flow_true = design_flow * flow_frac
    power = params["design_fan_power_kw"] * np.where(broken, 0.12 * n, n**3 * (1.0 - slip) ** 2)

    noise = rng.standard_normal((4, ctx.n))
    flow = np.maximum(flow_true * (1.0 + 0.015 * noise[0]) + 0.01 * noise[1] * on, 0.0)
    dp_true = params["filter_clean_dp_pa"] * (flow_true / design_flow) ** 2 * loading
    return {
        "fan_status": on.astype(float),
        "fan_speed": speed,
        "fan_power": np.maximum(power * (1.0 + 0.01 * noise[2]), 0.0),
        "supply_flow": flow,
        "filter_dp": np.maximum(dp_true + 1.5 * noise[3], 0.0),
        "duct_static": np.maximum(
            350.0 * flow_frac**2 + 4.0 * rng.standard_normal(ctx.n) * on, 0.0
        ),
        "_on": on.astype(float),
        "_loading": loading,
        "_slip": np.where(broken, 1.0, slip),
        "_flow_frac": flow_frac,
        "_flow_true": flow_true,
        "_fan_kw": power,
    }


def supply_setpoint(oat_slow: np.ndarray) -> np.ndarray:
    """Supply-air temperature setpoint reset on outdoor temperature [°C], 0.5 K steps."""
    return np.round(2.0 * np.interp(oat_slow, [5.0, 22.0], [19.0, 14.0])) / 2.0


def ahu_thermal(
    ctx: SimContext,
    params: dict[str, float],
    faults: list[Fault],
    name: str,
    air: dict[str, np.ndarray],
    rat_true: np.ndarray,
    heating_available: np.ndarray,
    cooling_available: np.ndarray,
) -> dict[str, np.ndarray]:
    """Dampers, mixed air, coils and supply temperature of one AHU.

    Parameters
    ----------
    air : dict
        The output of :func:`ahu_airside` for the same unit.
    rat_true : array of shape (n_steps,)
        Return-air temperature (mean of the zones served + plenum gain) [°C].
    heating_available, cooling_available : arrays of shape (n_steps,)
        Fraction [0-1] of the coils' design capacity the hot- and chilled-water loops can give.

    Returns
    -------
    dict of arrays of shape (n_steps,)
        Points ``oat rat mat sat sat_sp oa_damper heating_valve cooling_valve`` and hidden
        ``_oa_fraction`` (actual), ``_heating_kw``, ``_cooling_kw``, ``_oa_flow`` [m3/s].
    """
    rng = ctx.rng(f"{name}/thermal")
    on = air["_on"] > 0.5
    flow = np.maximum(air["_flow_true"], 1e-6)
    oat, rat = ctx.oat, rat_true
    sat_sp = supply_setpoint(ctx.oat_slow)
    fan_heat = np.where(on, 0.4 + 0.6 * air["fan_speed"] / 100.0, 0.0)
    target = sat_sp - fan_heat
    f_min = params["min_oa_fraction"]
    denom = np.where(np.abs(rat - oat) < 0.1, 0.1, rat - oat)
    f_mix = np.clip((rat - target) / denom, f_min, 1.0)
    economise = (oat > target) & (oat < rat - 0.5) & (oat < 21.0)
    f_cmd = np.where(oat <= target, f_mix, np.where(economise, 1.0, f_min))
    f_cmd = np.where(on, f_cmd, 0.0)
    f_act = f_cmd.copy()
    t = ctx.t_ns
    for f in faults_for(faults, name, "stuck_oa_damper"):
        stuck_at = 0.0 if f.magnitude < 0.5 else 1.0
        f_act = np.where(f.active(t) & on, stuck_at, f_act)
    mat = np.where(on, f_act * oat + (1.0 - f_act) * rat, rat + 0.15 * (oat - rat))

    dt_heat_full = params["heating_coil_dt_k"] * params["design_flow_m3_s"] / flow
    heat_cmd = np.where(on, np.clip((target - mat) / dt_heat_full, 0.0, 1.0), 0.0)
    leak = np.zeros(ctx.n)
    for f in faults_for(faults, name, "leaking_heating_valve"):
        leak = np.where(f.active(t) & on, 0.15 + 0.2 * f.magnitude, leak)
    heat_frac = np.minimum(np.maximum(heat_cmd, leak), heating_available)
    after_heat = mat + heat_frac * dt_heat_full

    dt_cool_full = params["cooling_coil_dt_k"] * params["design_flow_m3_s"] / flow
    cooling_enabled = on & (oat > 12.0)
    cool_cmd = np.where(
        cooling_enabled, np.clip((after_heat - target) / dt_cool_full, 0.0, 1.0), 0.0
    )
    cool_frac = np.minimum(cool_cmd, cooling_available)
    coil_leaving = after_heat - cool_frac * dt_cool_full
    control_noise = ar1(rng, ctx.n, ctx.step_hours, 0.5, 0.15)
    sat = np.where(on, coil_leaving + fan_heat + control_noise, mat)
    flow_on = np.where(on, air["_flow_true"], 0.0)
    heating_kw = AIR_RHO_CP * flow_on * heat_frac * dt_heat_full
    cooling_kw = AIR_RHO_CP * flow_on * cool_frac * dt_cool_full * 1.15  # + latent

    noise = rng.standard_normal((4, ctx.n))
    oat_offset = rng.normal(0.0, 0.3)
    return {
        "oat": oat + oat_offset + 0.1 * noise[0],
        "rat": rat + 0.1 * noise[1],
        "mat": mat + 0.1 * noise[2],
        "sat": sat + 0.1 * noise[3],
        "sat_sp": sat_sp,
        "oa_damper": np.round(100.0 * f_cmd, 1),
        "heating_valve": np.round(100.0 * heat_cmd, 1),
        "cooling_valve": np.round(100.0 * cool_cmd, 1),
        "_oa_fraction": f_act,
        "_heating_kw": heating_kw,
        "_cooling_kw": cooling_kw,
        "_oa_flow": flow_on * f_act,
        "_sat_true": sat,
    }


def zone_supply_effect(ctx: SimContext, thermal: dict[str, np.ndarray], air: dict) -> np.ndarray:
    """Zone temperature offset [K] from the supply air missing its setpoint (1 h lag)."""
    sat_sp = supply_setpoint(ctx.oat_slow)
    raw = 0.3 * (thermal["_sat_true"] - sat_sp) * air["_flow_frac"]
    phi = float(np.exp(-ctx.step_hours / 1.0))
    return lfilter([1.0 - phi], [1.0, -phi], raw)
