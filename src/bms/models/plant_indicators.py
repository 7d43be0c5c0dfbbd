"""Health indicators of the plant: pumps, heat exchangers and chillers.

One builder per equipment kind turns the equipment's wide frame (local point names) into
indicator columns, ``drv:<name>`` driver columns and their :class:`IndicatorSpec`
(:mod:`bms.models.indicator_spec`); :func:`bms.models.equipment_indicators.indicator_frame`
calls them. Pumps and chillers report an ``unexpected_stop`` (a pump's context is whether the
building's AHUs run; a chiller's stop is blanked while no chilled-water pump runs) and, only
while they run, vibration and bearing temperature (pumps), superheat, suction pressure, COP and
supply-temperature error (chillers). Heat exchangers report their approach temperature and
secondary supply error.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from bms.features import physics as ph
from bms.models.indicator_spec import (
    DRIVER_PREFIX,
    IndicatorSpec,
    SiteContext,
    building_of,
    has_columns,
    positive_param,
)
from bms.site.model import Equipment

__all__ = [
    "APPROACH_ALARM_RATIO",
    "BEARING_FLOOR_K",
    "BEARING_SETTLE_HOURS",
    "SUPERHEAT_ALARM_RISE_K",
    "SUPERHEAT_NOMINAL_K",
    "VIBRATION_ALARM_MM_S",
    "chiller_indicators",
    "hx_indicators",
    "pump_indicators",
]

#: Physics anchors: limits that do not come from the training period, so a fault already
#: under way while the detector trains cannot hide behind a shifted baseline.
#: Chiller suction superheat: typical expansion-valve setting [K] and alarm rise above it [K].
SUPERHEAT_NOMINAL_K = 5.0
SUPERHEAT_ALARM_RISE_K = 5.0
#: Pump vibration alarm: ISO 10816-3 zone C (restricted operation), rigid mounting [mm/s].
VIBRATION_ALARM_MM_S = 4.5
#: A bearing reaches its running temperature after a few thermal time constants (tens of
#: minutes): it is compared only after this much continuous running [h].
BEARING_SETTLE_HOURS = 2.0
#: A clean exchanger's approach is at most its design value at any load up to design (it
#: shrinks at part load); twice it means the conductance UA has at least halved: fouled,
#: whatever the training month saw [1].
APPROACH_ALARM_RATIO = 2.0
#: Bearing temperature change that matters: the plant room's own seasonal swing is a few K,
#: which a one-month training period may not see [K].
BEARING_FLOOR_K = 5.0


def _running_for(running: pd.Series, hours: float) -> pd.Series:
    """bool: ``running`` has been True for at least ``hours`` without a break."""
    if len(running) < 2:
        return running & False
    step = running.index[1] - running.index[0]
    need = max(int(pd.Timedelta(hours=hours) / step), 1)
    run_id = (~running).cumsum()
    length = running.astype(int).groupby(run_id).cumsum()
    return running & (length >= need)


def _stop(
    x: pd.DataFrame, status: str, context: pd.Series | None
) -> tuple[dict[str, pd.Series], list[IndicatorSpec]]:
    stopped = (x[status] < 0.5).astype(float).where(x[status].notna())
    ctx = (context >= 0.5).astype(float) if context is not None else stopped * 0.0
    return (
        {"unexpected_stop": stopped, f"{DRIVER_PREFIX}context": ctx.reindex(x.index).fillna(0.0)},
        [IndicatorSpec("unexpected_stop", (status,), kind="stop", drivers=("context",))],
    )


def pump_indicators(
    x: pd.DataFrame, eq: Equipment, ctx: SiteContext
) -> tuple[dict[str, pd.Series], list[IndicatorSpec]]:
    """A pump's ``unexpected_stop`` (given its AHUs), vibration and bearing temperature."""
    if "status" not in x:
        return {}, []
    out, specs = _stop(x, "status", ctx.ahu_on.get(building_of(eq)))
    running = x["status"] >= 0.5
    speed = (x["speed"] / 100.0).where(running) if "speed" in x else None
    if speed is not None:
        out[f"{DRIVER_PREFIX}speed2"] = speed**2
    if "vibration" in x and speed is not None:
        out["log_vibration"] = np.log(x["vibration"].where(running & (x["vibration"] > 0)))
        specs.append(
            IndicatorSpec(
                "log_vibration", ("vibration",), direction=1, floor=0.2, drivers=("speed2",)
            )
        )
    if "vibration" in x:
        out["vibration_iso"] = (x["vibration"] / VIBRATION_ALARM_MM_S).where(running)
        specs.append(IndicatorSpec("vibration_iso", ("vibration",), "excess"))
    if "bearing_temp" in x and speed is not None:
        # friction heat rises with speed squared the same way at any speed, so a rising fit
        # holds beyond August's speeds (a heating pump runs faster in October): extrapolated
        settled = _running_for(running, BEARING_SETTLE_HOURS)
        out["bearing_temp"] = x["bearing_temp"].where(settled)
        specs.append(
            IndicatorSpec(
                "bearing_temp",
                ("bearing_temp",),
                floor=BEARING_FLOOR_K,
                drivers=("speed2",),
                extrapolate=True,
                driver_signs=(1,),
            )
        )
    return out, specs


def hx_indicators(
    x: pd.DataFrame, eq: Equipment
) -> tuple[dict[str, pd.Series], list[IndicatorSpec]]:
    """A heat exchanger's approach temperature (given its heat power), the approach against
    its clean design value (``clean_approach_k``) and the supply error."""
    out: dict[str, pd.Series] = {}
    specs: list[IndicatorSpec] = []
    if has_columns(x, "prim_return_temp", "sec_return_temp"):
        out["approach_k"] = ph.approach_temperature(x["prim_return_temp"], x["sec_return_temp"])
        clean = positive_param(eq, "clean_approach_k")
        if clean is not None:
            limit = APPROACH_ALARM_RATIO * clean
            out["approach_vs_design"] = out["approach_k"] / limit
            specs.append(
                IndicatorSpec(
                    "approach_vs_design", ("prim_return_temp", "sec_return_temp"), "excess"
                )
            )
        drivers: tuple[str, ...] = ()
        if "heat_power" in x:
            out[f"{DRIVER_PREFIX}heat_power"] = x["heat_power"]
            drivers = ("heat_power",)
        specs.append(
            IndicatorSpec(
                "approach_k",
                ("prim_return_temp", "sec_return_temp"),
                direction=1,
                floor=1.0,
                drivers=drivers,
            )
        )
    if has_columns(x, "sec_supply_temp", "sec_supply_sp"):
        out["sec_supply_error_k"] = x["sec_supply_temp"] - x["sec_supply_sp"]
        specs.append(
            IndicatorSpec(
                "sec_supply_error_k", ("sec_supply_temp", "sec_supply_sp"), floor=2.0, symptom=True
            )
        )
    return out, specs


def chiller_indicators(
    x: pd.DataFrame, eq: Equipment, ctx: SiteContext
) -> tuple[dict[str, pd.Series], list[IndicatorSpec]]:
    """A chiller's ``unexpected_stop``, superheat, suction pressure, COP and supply error."""
    if "status" not in x:
        return {}, []
    out, specs = _stop(x, "status", None)
    pumps = ctx.chw_pump_on.get(building_of(eq))
    if pumps is not None:
        # interlocked: no chilled-water flow, no chiller (the pump's stop is seen on the pump)
        out["unexpected_stop"] = out["unexpected_stop"].mask(pumps.reindex(x.index) < 0.5)
    running = x["status"] >= 0.5
    if "superheat" in x:
        rise = (x["superheat"] - SUPERHEAT_NOMINAL_K) / SUPERHEAT_ALARM_RISE_K
        out["superheat"] = rise.where(running)
        specs.append(IndicatorSpec("superheat", ("superheat",), "excess"))
    if has_columns(x, "suction_pressure", "chw_supply_temp"):
        ok = running & (x["suction_pressure"] > 0)
        out["log_suction"] = np.log(x["suction_pressure"].where(ok))
        out[f"{DRIVER_PREFIX}inv_chw_k"] = 1.0 / (x["chw_supply_temp"] + ph.KELVIN)
        specs.append(
            IndicatorSpec(
                "log_suction",
                ("suction_pressure", "chw_supply_temp"),
                floor=0.03,
                drivers=("inv_chw_k",),
            )
        )
    if has_columns(x, "cooling_load", "power", "chw_supply_temp", "cond_temp"):
        design = positive_param(eq, "design_cooling_kw")
        plr = x["cooling_load"] / design if design else 1.0
        expected = ph.expected_cop_carnot(x["chw_supply_temp"], x["cond_temp"], plr)
        cop = ph.chiller_cop(x["cooling_load"], x["power"])
        out["cop_ratio"] = (cop / expected).where(running)
        specs.append(
            IndicatorSpec(
                "cop_ratio",
                ("power", "cooling_load", "cond_temp"),
                direction=-1,
                floor=0.15,
                relative=True,
            )
        )
    if has_columns(x, "chw_supply_temp", "chw_supply_sp"):
        out["chw_supply_error_k"] = (x["chw_supply_temp"] - x["chw_supply_sp"]).where(running)
        specs.append(
            IndicatorSpec(
                "chw_supply_error_k", ("chw_supply_temp", "chw_supply_sp"), floor=1.0, symptom=True
            )
        )
    return out, specs
