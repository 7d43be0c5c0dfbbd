"""Health indicators per equipment kind: physics residuals that a per-equipment detector watches.

An *indicator* is one number per time step that should stay put while the equipment is healthy
whatever the weather, the load or the season, and moves when a fault appears: filter resistance
at design flow, air flow per unit of fan speed, vibration normalised by speed, the exchanger's
approach, the chiller's superheat... It is NaN where it does not apply (equipment off, fan in its
start-up, a valve open). :func:`indicator_frame` builds them from one equipment's wide frame of
local point names (the Besançon role names, see :mod:`bms.features.roles`) and a
:class:`SiteContext` made by :func:`build_context` from the other equipment (peer zones, outdoor
temperature, whether the building's AHUs run).

This module holds those two entry points, the indicators of the AHUs, zones and weather stations
and the flat-lined sensor check common to every kind; the plant's (pumps, heat exchangers,
chillers) are in :mod:`bms.models.plant_indicators`. Each indicator has an
:class:`IndicatorSpec` saying how the detector (:mod:`bms.models.equipment_detection`) treats it
(a residual regressed on drivers, an excess over a limit, an unexpected stop): see
:mod:`bms.models.indicator_spec`, which also holds :class:`SiteContext`.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from bms.features import physics as ph
from bms.features.quality import stuck_flags
from bms.features.states import AhuState, StateParams, ahu_states
from bms.models.indicator_spec import (
    DRIVER_PREFIX,
    IndicatorSpec,
    SiteContext,
    building_of,
    has_columns,
    positive_param,
)
from bms.models.plant_indicators import chiller_indicators, hx_indicators, pump_indicators
from bms.site.model import Equipment

__all__ = [
    "DRIVER_PREFIX",
    "FILTER_ALARM_FRACTION",
    "STUCK_STEPS",
    "IndicatorSpec",
    "SiteContext",
    "build_context",
    "indicator_frame",
]

#: Filter alarm: clogging beyond this share of the clean -> final pressure-drop range (at design
#: flow). Scheduled filter changes happen at ~44 % of the range on the Besançon AHUs.
FILTER_ALARM_FRACTION = 0.5
#: A sensor reading unchanged for this many steps is flat-lined (2 h at 5 min).
STUCK_STEPS = 24
#: Excess value given to a flat-lined sensor or an unexpected stop (1 = threshold).
BINARY_EXCESS = 2.0
#: Physics anchors: limits that do not come from the training period, so a fault already
#: under way while the detector trains cannot hide behind a shifted baseline.
#: Supply-fan heat pick-up (ASHRAE G36 default ΔT_SF, 2 °F) [K]; heat across closed coils beyond
#: it by more than COIL_HEAT_FLOOR_K is a leaking valve or a sensor error [K].
FAN_HEAT_K = 1.1
COIL_HEAT_FLOOR_K = 1.5
#: Supply temperature away from its set point (2 K, a little above APAR's 1.7 K) [K].
SAT_ERROR_FLOOR_K = 2.0
#: Coil valve against the duty it gives: smallest gap reported [% of opening] (stiction and
#: hysteresis of a healthy valve stay within a few %).
COIL_VALVE_FLOOR_PCT = 10.0
#: Zone readings against their peers: day-to-day solar gains differ between rooms by up to
#: ~1.5 K in spring, so a smaller change is not reported [K], [ppm].
ZONE_TEMP_FLOOR_K = 2.0
ZONE_CO2_FLOOR_PPM = 200.0
_NO_STUCK_UNITS = {"1", "%"}


def build_context(frames: Mapping[str, pd.DataFrame], equipment: list[Equipment]) -> SiteContext:
    """The :class:`SiteContext` of a site's wide frames (local point names)."""
    ahu_on: dict[str, list[pd.Series]] = {}
    chiller_on: dict[str, list[pd.Series]] = {}
    chw_pump_on: dict[str, list[pd.Series]] = {}
    sat_errors: dict[str, dict[str, pd.Series]] = {}
    oat: dict[str, list[pd.Series]] = {}
    served: dict[str, list[str]] = {}
    by_name = {eq.id: eq for eq in equipment}
    for eq in equipment:
        frame = frames.get(eq.id)
        if frame is None:
            continue
        building = building_of(eq)
        if eq.kind == "AHU":
            if "fan_status" in frame:
                ahu_on.setdefault(building, []).append((frame["fan_status"] >= 0.5).astype(float))
            if "oat" in frame:
                oat.setdefault(building, []).append(frame["oat"])
            if has_columns(frame, "sat", "sat_sp", "fan_status"):
                error = (frame["sat"] - frame["sat_sp"]).where(frame["fan_status"] >= 0.5)
                sat_errors.setdefault(building, {})[eq.id] = error
        if eq.kind == "Pump" and eq.parameters.get("loop") == "chilled_water" and "status" in frame:
            chw_pump_on.setdefault(building, []).append((frame["status"] >= 0.5).astype(float))
        if eq.kind == "Chiller" and "status" in frame:
            chiller_on.setdefault(building, []).append((frame["status"] >= 0.5).astype(float))
        if eq.kind == "HVAC_Zone":
            ahu = eq.parameters.get("served_by")
            key = f"{building}/{ahu}" if isinstance(ahu, str) else building
            served.setdefault(key, []).append(eq.id)
    peers = {
        zone: [z for z in group if z != zone and z in frames]
        for group in served.values()
        for zone in group
        if zone in by_name
    }
    return SiteContext(
        ahu_on={b: pd.concat(s, axis=1).mean(axis=1) for b, s in ahu_on.items()},
        oat={b: pd.concat(s, axis=1).median(axis=1) for b, s in oat.items()},
        zone_peers=peers,
        frames=frames,
        chiller_on={b: pd.concat(s, axis=1).mean(axis=1) for b, s in chiller_on.items()},
        chw_pump_on={b: pd.concat(s, axis=1).mean(axis=1) for b, s in chw_pump_on.items()},
        sat_errors={b: pd.DataFrame(s) for b, s in sat_errors.items()},
    )


def _stuck(x: pd.DataFrame, eq: Equipment) -> tuple[dict[str, pd.Series], list[IndicatorSpec]]:
    """Flat-lined measured points (``Point.kind`` ending in Sensor, not % nor 0/1)."""
    values: dict[str, pd.Series] = {}
    specs = []
    for point in eq.points:
        if point.name not in x or not point.kind.endswith("Sensor"):
            continue
        if point.unit in _NO_STUCK_UNITS:
            continue
        series = x[point.name]
        flags = stuck_flags(series, STUCK_STEPS).astype(float) * BINARY_EXCESS
        name = f"stuck:{point.name}"
        values[name] = flags.where(series.notna())
        specs.append(IndicatorSpec(name, (point.name,), kind="excess"))
    return values, specs


def _own_sat_error(x: pd.DataFrame, eq: Equipment, ctx: SiteContext) -> pd.Series:
    """sat - sat_sp [K], blank where the plant, not this AHU, explains it.

    Too warm while no chiller of the building runs, or too cold (warm) while every other AHU
    of the building is too cold (warm) by half the floor as well: a symptom shared by all the
    AHUs is the heating or cooling plant's, and is seen on the plant itself.
    """
    error = x["sat"] - x["sat_sp"]
    building = building_of(eq)
    chillers = ctx.chiller_on.get(building)
    if chillers is not None:
        error = error.mask((error > 0) & (chillers.reindex(x.index) < 0.5))
    others = ctx.sat_errors.get(building, pd.DataFrame(index=x.index))
    others = others.drop(columns=[eq.id], errors="ignore").reindex(x.index)
    if others.shape[1]:
        seen = others.notna().any(axis=1)
        half = SAT_ERROR_FLOOR_K / 2.0
        cold = seen & (others.isna() | (others < -half)).all(axis=1)
        warm = seen & (others.isna() | (others > half)).all(axis=1)
        error = error.mask(((error < 0) & cold) | ((error > 0) & warm))
    return error


def _ahu(
    x: pd.DataFrame, eq: Equipment, ctx: SiteContext
) -> tuple[dict[str, pd.Series], list[IndicatorSpec]]:
    out: dict[str, pd.Series] = {}
    specs: list[IndicatorSpec] = []
    min_oa = positive_param(eq, "min_oa_fraction")
    params = StateParams(damper_min_pct=100.0 * min_oa) if min_oa else StateParams()
    if "fan_status" not in x and "fan_speed" not in x:
        return out, specs
    states = ahu_states(x, params)
    running = (states != AhuState.OFF.value) & (states != AhuState.STARTUP.value)

    def on(series: pd.Series) -> pd.Series:
        return series.where(running)

    design_flow = positive_param(eq, "design_flow_m3_s")
    clean = positive_param(eq, "filter_clean_dp_pa")
    final = positive_param(eq, "filter_final_dp_pa")
    if has_columns(x, "filter_dp", "supply_flow"):
        if design_flow and clean and final and final > clean:
            at_design = ph.filter_dp_at_flow(x["filter_dp"], x["supply_flow"], design_flow)
            clog = (at_design - clean) / (final - clean)
            out["filter_clogging"] = on(clog.clip(lower=0.0) / FILTER_ALARM_FRACTION)
            specs.append(IndicatorSpec("filter_clogging", ("filter_dp", "supply_flow"), "excess"))
        else:
            out["filter_resistance"] = on(ph.filter_dp_per_flow2(x["filter_dp"], x["supply_flow"]))
            specs.append(
                IndicatorSpec(
                    "filter_resistance",
                    ("filter_dp", "supply_flow"),
                    direction=1,
                    floor=0.8,
                    relative=True,
                )
            )
    if has_columns(x, "supply_flow", "fan_speed"):
        speed = x["fan_speed"].where(x["fan_speed"] >= 20.0) / 100.0
        out["flow_per_speed"] = on(x["supply_flow"] / speed)
        specs.append(
            IndicatorSpec(
                "flow_per_speed",
                ("supply_flow", "fan_speed"),
                direction=-1,
                floor=0.06,
                relative=True,
            )
        )
        if "fan_power" in x:
            out["fan_power_per_speed3"] = on(x["fan_power"] / speed**3)
            specs.append(
                IndicatorSpec(
                    "fan_power_per_speed3",
                    ("fan_power", "fan_speed"),
                    direction=-1,
                    floor=0.1,
                    relative=True,
                )
            )
    if has_columns(x, "mat", "oat", "rat", "oa_damper"):
        fraction = (x["oa_damper"] / 100.0).clip(0.0, 1.0)
        out["mixed_air_residual_k"] = on(
            ph.mixed_air_residual(x["mat"], x["oat"], x["rat"], fraction)
        )
        specs.append(
            IndicatorSpec("mixed_air_residual_k", ("mat", "oat", "rat", "oa_damper"), floor=1.0)
        )
    if has_columns(x, "sat", "mat", "heating_valve", "cooling_valve"):
        closed = (x["heating_valve"] <= 0.5) & (x["cooling_valve"] <= 0.5)
        heat = x["sat"] - x["mat"] - FAN_HEAT_K
        out["coil_heat_valves_closed"] = on((heat / COIL_HEAT_FLOOR_K).where(closed))
        specs.append(
            IndicatorSpec("coil_heat_valves_closed", ("sat", "mat", "heating_valve"), "excess")
        )
    if has_columns(x, "sat", "sat_sp"):
        out["sat_error"] = on(_own_sat_error(x, eq, ctx).abs() / SAT_ERROR_FLOOR_K)
        specs.append(IndicatorSpec("sat_error", ("sat", "sat_sp"), "excess", symptom=True))
    chillers = ctx.chiller_on.get(building_of(eq))
    coil_values, coil_specs = _coil_balance(x, running, chillers)
    return out | coil_values, specs + coil_specs


def _coil_balance(
    x: pd.DataFrame, running: pd.Series, chillers_on: pd.Series | None
) -> tuple[dict[str, pd.Series], list[IndicatorSpec]]:
    """Each coil's valve opening against the temperature change it makes [%].

    A coil's duty ``ṁ·cp·ΔT`` grows with its valve opening, and the air also picks up the fan's
    heat, which grows with speed. So the cooling valve (heating valve closed) is fitted on the
    drop across the coil times the air flow (``(mat - sat) × Q``), the flow, and the fan speed
    times the flow; the heating valve (cooling valve closed) likewise on ``(sat - mat) × Q``.
    The air flow ``Q`` is ``supply_flow`` [m³/s] when measured, else the fan speed [%]. The
    valve is the indicator and the temperatures the drivers, not the other way round: a fault
    opens the valve beyond its training range, and a driver beyond its range would leave the
    row unscored (see :mod:`bms.models.equipment_detection`).

    Each balance watches the side a leaking heating valve pushes it to. The leak heats the air
    that the cooling coil then cools again: the cooling valve opens further than its drop
    needs, even while the supply temperature holds its set point (a fouled cooling coil or a
    starved chilled-water loop does the same); with the cooling off, the heating valve opens
    less than the heat the coil gives. The other sides are left out: a cooling valve opened
    less than its drop needs is only an air sensor error (the mixed-air balance and the supply
    error watch those), and it is how a leak present while the detector trained looks once
    repaired; a heating valve opened more than its heat needs is the hot-water loop's doing,
    at every AHU of the building at once (seen on the substation and as a supply temperature
    below its set point). A cooling valve open while no chiller of the building runs
    (``chillers_on``) is not scored either.
    """
    out: dict[str, pd.Series] = {}
    specs: list[IndicatorSpec] = []
    if not has_columns(x, "sat", "mat", "heating_valve", "cooling_valve", "fan_speed"):
        return out, specs
    flow = x["supply_flow"] if "supply_flow" in x else x["fan_speed"]
    flow = flow.where(x["fan_speed"] >= 20.0)
    out[f"{DRIVER_PREFIX}air_flow"] = flow
    out[f"{DRIVER_PREFIX}fan_speed_x_flow"] = x["fan_speed"] * flow
    never = pd.Series(False, index=x.index)
    chillers_off = never if chillers_on is None else chillers_on.reindex(x.index) < 0.5
    for coil, other, change, direction, excused in (
        ("cooling", "heating", x["mat"] - x["sat"], 1, chillers_off),
        ("heating", "cooling", x["sat"] - x["mat"], -1, never),
    ):
        valve, idle = x[f"{coil}_valve"], x[f"{other}_valve"] <= 0.5
        name = f"{coil}_valve_vs_duty"
        out[name] = valve.where(running & idle & (valve > 0.5) & ~excused)
        out[f"{DRIVER_PREFIX}{coil}_duty"] = change * flow
        specs.append(
            IndicatorSpec(
                name,
                (f"{coil}_valve", "sat", "mat"),
                direction=direction,
                floor=COIL_VALVE_FLOOR_PCT,
                drivers=(f"{coil}_duty", "air_flow", "fan_speed_x_flow"),
            )
        )
    return out, specs


def _zone(
    x: pd.DataFrame, eq: Equipment, ctx: SiteContext
) -> tuple[dict[str, pd.Series], list[IndicatorSpec]]:
    out: dict[str, pd.Series] = {}
    specs: list[IndicatorSpec] = []
    peers = [ctx.frames[p] for p in ctx.zone_peers.get(eq.id, [])]
    ahus = ctx.ahu_on.get(building_of(eq))
    # rooms left to float (AHUs off: nights, weekends, holidays) part from their peers with the
    # weather and the sun; they are compared only while ventilated
    ventilated = ahus.reindex(x.index) >= 0.5 if ahus is not None else x.index.notna()
    for point, floor in (("temp", ZONE_TEMP_FLOOR_K), ("co2", ZONE_CO2_FLOOR_PPM)):
        columns = [p[point] for p in peers if point in p]
        if point not in x or not columns:
            continue
        out[f"{point}_vs_peers"] = x[point].where(ventilated) if point == "temp" else x[point]
        out[f"{DRIVER_PREFIX}peer_{point}"] = pd.concat(columns, axis=1).median(axis=1)
        specs.append(
            IndicatorSpec(
                f"{point}_vs_peers",
                (point,),
                floor=floor,
                drivers=(f"peer_{point}",),
                recent_baseline=True,
                extrapolate=True,
            )
        )
    return out, specs


def _weather(
    x: pd.DataFrame, eq: Equipment, ctx: SiteContext
) -> tuple[dict[str, pd.Series], list[IndicatorSpec]]:
    reference = ctx.oat.get(building_of(eq))
    if "oat" not in x or reference is None:
        return {}, []
    # both measure the same air: the difference holds at any temperature (no fit to extrapolate)
    return (
        {"oat_vs_ahus": x["oat"] - reference.reindex(x.index)},
        [IndicatorSpec("oat_vs_ahus", ("oat",), floor=1.0)],
    )


def indicator_frame(
    x: pd.DataFrame, equipment: Equipment, context: SiteContext
) -> tuple[pd.DataFrame, list[IndicatorSpec]]:
    """The indicators of one equipment.

    Parameters
    ----------
    x : DataFrame of shape (n_steps, n_points)
        Regular-step wide frame, columns are local point names in canonical units (spikes and
        out-of-range values already blanked), UTC DatetimeIndex.
    equipment : Equipment
        Its ``kind`` selects the indicators; its ``parameters`` give nameplate values
        (``design_flow_m3_s``, ``filter_clean_dp_pa``, ``filter_final_dp_pa``,
        ``design_cooling_kw``, ``min_oa_fraction``).
    context : SiteContext
        From :func:`build_context` over the whole site.

    Returns
    -------
    frame : DataFrame of shape (n_steps, n_indicators + n_drivers)
        Indicator columns (NaN where they do not apply) and ``drv:<name>`` driver columns.
    specs : list of IndicatorSpec
        One per indicator column, in column order.
    """
    kind = equipment.kind
    if kind == "AHU":
        values, specs = _ahu(x, equipment, context)
    elif kind == "Pump":
        values, specs = pump_indicators(x, equipment, context)
    elif kind == "Heat_Exchanger":
        values, specs = hx_indicators(x, equipment)
    elif kind == "Chiller":
        values, specs = chiller_indicators(x, equipment, context)
    elif kind == "HVAC_Zone":
        values, specs = _zone(x, equipment, context)
    elif kind == "Weather_Station":
        values, specs = _weather(x, equipment, context)
    else:
        values, specs = {}, []
    stuck_values, stuck_specs = _stuck(x, equipment)
    values |= stuck_values
    specs = specs + stuck_specs
    frame = pd.DataFrame(values, index=x.index, dtype=float)
    frame = frame.replace([np.inf, -np.inf], np.nan)
    return frame, specs
