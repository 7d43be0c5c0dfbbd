"""Zones: air temperature, CO2, relative humidity and sensor battery voltage.

Temperature: a first-order response (time constant 1.5 h) to a target that is the
free-floating temperature clipped by the plant::

    T_free   = oat_slow + 5 + 7 occupancy + k_sun ghi / 1000 * 3 + gain   [°C]
    T_target = max(T_heat, min(T_free, T_cool))

``T_heat`` is 21 °C (comfort) or 17 °C (setback) in the heating season, lowered by up to 4 K
when the substation cannot deliver the radiators' heat; ``T_cool`` is 24.5 °C when the serving
AHU delivers air (more than 30 % of design flow) and chilled water is available, otherwise
``oat + 4`` (ventilation only) or no limit (no air). The supply air missing its setpoint moves
the zones too (:func:`bms.simulate.ahu.zone_supply_effect`).

CO2: ``C_ss = 420 + 1e6 * 5.2e-6 N / Q_oa`` [ppm] for ``N`` occupants and the zone's share of the
AHU outdoor-air flow plus 0.3 air changes per hour of infiltration, then first order (45 min).
RH: outdoor vapour pressure plus occupants' moisture, over the saturation pressure at the zone
temperature.
"""

from __future__ import annotations

import numpy as np
from scipy.signal import lfilter

from bms.simulate.context import SimContext
from bms.simulate.weather import ar1, saturation_vapour_pressure

OUTDOOR_CO2_PPM = 420.0
CO2_PER_PERSON_M3_S = 5.2e-6  #: CO2 generation of an office worker [m3/s]


def first_order(x: np.ndarray, step_hours: float, tau_hours: float) -> np.ndarray:
    """First-order lag of ``x`` (time constant ``tau_hours``), starting at ``x[0]``."""
    phi = float(np.exp(-step_hours / tau_hours))
    return lfilter([1.0 - phi], [1.0, -phi], x, zi=np.array([phi * x[0]]))[0]


def zone_parameters(params: dict[str, float | str], rng: np.random.Generator) -> dict[str, float]:
    """Size, head count and solar exposure of a zone (site parameters override the draws)."""
    area = float(params.get("area_m2", rng.uniform(80.0, 400.0)))
    return {
        "area_m2": area,
        "volume_m3": float(params.get("volume_m3", 3.0 * area)),
        "people": float(params.get("people", area / rng.uniform(10.0, 16.0))),
        "sun_factor": float(params.get("sun_factor", rng.uniform(0.3, 1.5))),
        "gain_k": float(params.get("internal_gain_k", rng.uniform(0.0, 1.5))),
        "battery_v0": float(rng.uniform(3.0, 3.6)),
    }


def zone_temperature(
    ctx: SimContext,
    zp: dict[str, float],
    flow_frac: np.ndarray,
    cooling_available: np.ndarray,
    heat_shortfall: np.ndarray,
    rng: np.random.Generator,
) -> np.ndarray:
    """True zone air temperature [°C] of shape (n_steps,) (before the supply-air correction).

    ``flow_frac`` is the serving AHU's supply flow over its design flow (zeros when the zone
    has no AHU); ``heat_shortfall`` the unmet fraction of the radiators' demand [0-1].
    """
    cal = ctx.calendar
    free = (
        ctx.oat_slow
        + 5.0
        + 7.0 * cal.occupancy
        + 3.0 * zp["sun_factor"] * ctx.ghi / 1000.0
        + zp["gain_k"]
    )
    heat_sp = np.where(cal.heating_comfort, 21.0, 17.0) - 4.0 * heat_shortfall
    heat_sp = np.where(ctx.heating_season(), heat_sp, -np.inf)
    airflow = flow_frac > 0.3
    cool_limit = np.where(
        airflow & (cooling_available > 0.5) & (ctx.oat > 12.0), 24.5, np.maximum(24.5, ctx.oat + 4)
    )
    cool_limit = np.where(flow_frac > 0.05, cool_limit, np.inf)
    target = np.maximum(heat_sp, np.minimum(free, cool_limit))
    return first_order(target, ctx.step_hours, 1.5) + ar1(rng, ctx.n, ctx.step_hours, 1.0, 0.15)


def zone_air_quality(
    ctx: SimContext,
    zp: dict[str, float],
    temp_true: np.ndarray,
    oa_flow_m3_s: np.ndarray,
    rng: np.random.Generator,
) -> dict[str, np.ndarray]:
    """Measured ``temp``, ``co2``, ``rh`` and ``battery`` of a zone (arrays of shape (n_steps,)).

    ``oa_flow_m3_s`` is the zone's share of outdoor air from its AHU [m3/s].
    """
    occupants = zp["people"] * ctx.calendar.occupancy
    infiltration = 0.3 * zp["volume_m3"] / 3600.0
    co2_ss = OUTDOOR_CO2_PPM + 1e6 * CO2_PER_PERSON_M3_S * occupants / (oa_flow_m3_s + infiltration)
    co2 = first_order(co2_ss, ctx.step_hours, 0.75)
    e_out = ctx.rh_out / 100.0 * saturation_vapour_pressure(ctx.oat)
    e_in = e_out + 2.5 * occupants / max(zp["area_m2"] / 12.0, 1.0) * 0.6
    rh = 100.0 * e_in / saturation_vapour_pressure(temp_true)
    days = (ctx.t_ns - ctx.t_ns[0]) / 86400e9
    battery = zp["battery_v0"] - 0.0004 * days + 0.002 * (temp_true - 21.0)
    noise = rng.standard_normal((4, ctx.n))
    return {
        "temp": np.round(temp_true + 0.05 * noise[0], 2),
        "co2": np.round(np.clip(co2 * (1.0 + 0.02 * noise[1]), 380.0, 5000.0)),
        "rh": np.round(np.clip(rh + 1.0 * noise[2], 5.0, 95.0), 1),
        "battery": np.round(battery + 0.005 * noise[3], 3),
    }
