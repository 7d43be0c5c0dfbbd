"""Variable-speed pumps: operating point on the pump and system curves, vibration, bearing.

With ``q = flow / design_flow``, ``n = speed / 100`` and ``h = dp / design_head``::

    pump curve    h = 1.25 n^2 - 0.25 q^2
    system curve  h = 0.3 + 0.7 q^2          (differential-pressure controlled loop)
    =>            n = sqrt((0.3 + 0.95 q^2) / 1.25)
    power         P = design_power * q h / eta(q / n),  eta = 1 - 0.8 (q / n - 1)^2

so that ``q = n = h = 1`` at the design point. Vibration (RMS velocity) is a per-pump baseline of
1.6-2.6 mm/s times ``0.85 + 0.15 n^2``; bearing wear blends it towards 7.8 mm/s (beyond ISO 10816
zone D, 7.1 mm/s) along ``(exp(4 x) - 1) / (exp(4) - 1)`` of the degradation's progress ``x``,
and heats the bearing by up to 25 K. Bearing temperature is the plant-room temperature plus
``14 n^2`` K with a 45-minute lag.
"""

from __future__ import annotations

import numpy as np

from bms.simulate.context import SimContext
from bms.simulate.faults import Fault, faults_for
from bms.simulate.weather import ar1
from bms.simulate.zones import first_order

DEFAULTS = {"design_flow_m3_s": 0.01, "design_head_pa": 150000.0, "design_power_kw": 3.0}
ZONE_D_MM_S = 7.1  #: ISO 10816-3 zone C/D boundary for a medium machine [mm/s]
WORN_MM_S = 7.8  #: vibration reached at the failure of a worn bearing [mm/s]
RUNOUT_Q = 1.0  #: largest flow ratio: the design point is on the full-speed curve


def pump_availability(ctx: SimContext, faults: list[Fault], name: str) -> np.ndarray:
    """bool of shape (n_steps,): the pump is not tripped and not failed."""
    up = np.ones(ctx.n, dtype=bool)
    for f in faults_for(faults, name, "pump_trip"):
        up &= ~f.active(ctx.t_ns)
    for f in faults_for(faults, name, "bearing_wear"):
        up &= ~f.failed(ctx.t_ns)
    return up


def share_flow(demand_m3_s: np.ndarray, designs: list[float], up: list[np.ndarray]) -> list:
    """Split a loop's flow demand between parallel pumps that are up [m3/s each].

    Each running pump takes an equal share of the flow ratio, capped at runout; a pump that is
    down gives nothing (the loop then gets less than it asks for).
    """
    total_design = sum(designs)
    count = np.sum(np.vstack(up), axis=0) if up else np.zeros_like(demand_m3_s)
    share = np.where(count > 0, demand_m3_s / np.maximum(count, 1), 0.0)
    return [
        np.where(u, np.minimum(share * d / (total_design / len(designs)), RUNOUT_Q * d), 0.0)
        for d, u in zip(designs, up, strict=True)
    ]


def simulate_pump(
    ctx: SimContext,
    params: dict[str, float],
    faults: list[Fault],
    name: str,
    flow_m3_s: np.ndarray,
) -> dict[str, np.ndarray]:
    """Measured points of one pump given the flow it delivers (0 when stopped) [m3/s].

    Returns ``status speed flow dp power vibration bearing_temp`` and hidden ``_power_kw``.
    """
    rng = ctx.rng(name)
    running = flow_m3_s > 0.0
    q = flow_m3_s / params["design_flow_m3_s"]
    n = np.where(running, np.sqrt((0.3 + 0.95 * q**2) / 1.25), 0.0)
    h = np.where(running, 0.3 + 0.7 * q**2, 0.0)
    ratio = np.where(running, q / np.maximum(n, 1e-6), 1.0)
    eta = np.clip(1.0 - 0.8 * (ratio - 1.0) ** 2, 0.3, 1.0)
    power = np.where(running, params["design_power_kw"] * q * h / eta, 0.0)

    baseline = rng.uniform(1.6, 2.6)
    healthy = baseline * (0.85 + 0.15 * n**2)
    wear = np.zeros(ctx.n)
    for f in faults_for(faults, name, "bearing_wear"):
        x = f.progress(ctx.t_ns)
        wear = np.where(f.active(ctx.t_ns), (np.exp(4.0 * x) - 1.0) / (np.exp(4.0) - 1.0), wear)
    vib_true = healthy + wear * (WORN_MM_S - healthy)
    vib = vib_true * np.exp(ar1(rng, ctx.n, ctx.step_hours, 0.5, 0.04))
    vib = np.where(running, vib, 0.05 + 0.02 * rng.random(ctx.n))
    room = 24.0 + 1.5 * np.cos(2 * np.pi * (ctx.calendar.day_of_year - 200) / 365.25)
    bearing = first_order(room + 14.0 * n**2 + 25.0 * wear * running, ctx.step_hours, 0.75)

    noise = rng.standard_normal((4, ctx.n))
    return {
        "status": running.astype(float),
        "speed": np.round(100.0 * n, 1),
        "flow": np.maximum(flow_m3_s * (1.0 + 0.01 * noise[0]), 0.0),
        "dp": np.maximum(h * params["design_head_pa"] * (1.0 + 0.01 * noise[1]), 0.0),
        "power": np.maximum(power * (1.0 + 0.01 * noise[2]), 0.0),
        "vibration": np.round(vib, 3),
        "bearing_temp": bearing + 0.2 * noise[3],
        "_power_kw": power,
        "_wear": wear,
    }
