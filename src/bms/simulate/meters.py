"""Building meters: electrical (main board) and heat (district heating) power and energy.

``elec power = fans + pumps + chiller + base``, ``base = floor_area * (5 + 12 occupancy) W/m2``
(lighting, plug loads, IT, lifts); ``heat power = substation heat``. Each meter measures power
with 0.5 % noise; its energy index [kWh] is cumulative (``E0 + sum(P dt)`` of the true power),
so it never decreases, even across gaps.
"""

from __future__ import annotations

import numpy as np

from bms.simulate.context import SimContext


def base_electric_load(ctx: SimContext, floor_area_m2: float) -> np.ndarray:
    """Non-HVAC electrical load [kW] of shape (n_steps,)."""
    rng = ctx.rng("base-load")
    occupancy = ctx.calendar.occupancy
    watts_per_m2 = 5.0 + 12.0 * occupancy + 0.3 * rng.standard_normal(ctx.n)
    return np.maximum(floor_area_m2 * watts_per_m2 / 1000.0, 0.0)


def simulate_meter(ctx: SimContext, name: str, power_kw: np.ndarray) -> dict[str, np.ndarray]:
    """Measured ``power`` [kW] and cumulative ``energy`` [kWh] of a meter of true ``power_kw``."""
    rng = ctx.rng(name)
    start_index = rng.uniform(2.0e5, 5.0e6)
    energy = start_index + np.cumsum(power_kw) * ctx.step_hours
    return {
        "power": np.maximum(power_kw * (1.0 + 0.005 * rng.standard_normal(ctx.n)), 0.0),
        "energy": np.round(energy, 1),
        "_power_kw": power_kw,
    }
