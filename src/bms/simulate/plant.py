"""Couple the equipment models of one building into per-equipment arrays.

Order (each step uses only what the previous ones made, so there is no iteration)::

    availability (faults) -> substation capacity and radiator heat -> AHU air side
    -> zone temperatures -> return air -> AHU dampers and coils -> zone CO2 and RH
    -> pumps (loop flows) -> chiller -> substation temperatures -> meters
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np

from bms.simulate import ahu as ahu_model
from bms.simulate import chiller as chiller_model
from bms.simulate import hx as hx_model
from bms.simulate import pump as pump_model
from bms.simulate.context import AIR_RHO_CP, SimContext
from bms.simulate.faults import Fault
from bms.simulate.meters import base_electric_load, simulate_meter
from bms.simulate.zones import zone_air_quality, zone_parameters, zone_temperature
from bms.site.model import Building, Equipment

logger = logging.getLogger(__name__)

#: Brick equipment class -> simulator model.
KIND_MODELS = {
    "AHU": "ahu",
    "Air_Handling_Unit": "ahu",
    "Pump": "pump",
    "Hot_Water_Pump": "pump",
    "Chilled_Water_Pump": "pump",
    "Heat_Exchanger": "hx",
    "Chiller": "chiller",
    "Air_Cooled_Chiller": "chiller",
    "HVAC_Zone": "zone",
    "Zone": "zone",
    "Electrical_Meter": "elec_meter",
    "Building_Electrical_Meter": "elec_meter",
    "Electric_Meter": "elec_meter",
    "Thermal_Power_Meter": "heat_meter",
    "Heat_Meter": "heat_meter",
    "Thermal_Energy_Meter": "heat_meter",
    "Weather_Station": "weather",
}
PUMP_ROLES = ("heating", "ahu_heating", "chilled_water")
DEFAULT_FLOOR_AREA_M2 = 10000.0


def model_of(eq: Equipment) -> str | None:
    """The simulator model of an equipment, or None (logged) when its kind is unknown."""
    model = KIND_MODELS.get(eq.kind)
    if model is None:
        logger.warning(
            "equipment %s skipped: the simulator has no model of kind %r", eq.id, eq.kind
        )
    return model


def numeric_params(eq: Equipment, defaults: dict[str, float]) -> dict[str, float]:
    """Design parameters of ``eq``, falling back to ``defaults`` for missing or bad values."""
    out = dict(defaults)
    for key in defaults:
        value = eq.parameters.get(key)
        if isinstance(value, int | float) and value > 0:
            out[key] = float(value)
    return out


def pump_role(eq: Equipment, equipment: list[Equipment]) -> str:
    """'heating', 'ahu_heating' or 'chilled_water': the ``loop`` parameter, else the topology."""
    loop = eq.parameters.get("loop")
    if isinstance(loop, str) and loop in PUMP_ROLES:
        return loop
    feeders = [e for e in equipment if eq.name in e.feeds]
    if any(KIND_MODELS.get(e.kind) == "chiller" for e in feeders):
        return "chilled_water"
    fed = [e for e in equipment if e.name in eq.feeds]
    if any(KIND_MODELS.get(e.kind) == "ahu" for e in fed):
        return "ahu_heating"
    return "heating"


@dataclass
class BuildingPlant:
    """The building's equipment grouped by simulator model (local name -> Equipment)."""

    building: Building
    groups: dict[str, list[Equipment]] = field(default_factory=dict)
    roles: dict[str, str] = field(default_factory=dict)  # pump id -> role

    @classmethod
    def of(cls, building: Building) -> BuildingPlant:
        plant = cls(building)
        for eq in building.equipment:
            model = model_of(eq)
            if model is not None:
                plant.groups.setdefault(model, []).append(eq)
        for eq in plant.groups.get("pump", []):
            plant.roles[eq.id] = pump_role(eq, list(building.equipment))
        return plant

    def get(self, model: str) -> list[Equipment]:
        return self.groups.get(model, [])

    def pumps(self, role: str) -> list[Equipment]:
        return [p for p in self.get("pump") if self.roles[p.id] == role]

    def serving_ahu(self, zone: Equipment) -> str | None:
        served_by = zone.parameters.get("served_by")
        for ahu in self.get("ahu"):
            if ahu.name == served_by or zone.name in ahu.feeds:
                return ahu.id
        return None


def _any_up(ctx: SimContext, faults: list[Fault], pumps: list[Equipment]) -> np.ndarray:
    if not pumps:
        return np.ones(ctx.n, dtype=bool)
    return np.logical_or.reduce([pump_model.pump_availability(ctx, faults, p.id) for p in pumps])


def _loop_flows(
    ctx: SimContext, faults: list[Fault], pumps: list[Equipment], ratio: np.ndarray, run: np.ndarray
) -> dict[str, np.ndarray]:
    """Flow of each pump of a loop asked for ``ratio`` x the loop's design flow."""
    if not pumps:
        return {}
    params = [pump_model.DEFAULTS | numeric_params(p, pump_model.DEFAULTS) for p in pumps]
    designs = [p["design_flow_m3_s"] for p in params]
    up = [pump_model.pump_availability(ctx, faults, p.id) & run for p in pumps]
    flows = pump_model.share_flow(ratio * sum(designs), designs, up)
    return {p.id: f for p, f in zip(pumps, flows, strict=True)}


def simulate_building(
    ctx: SimContext, plant: BuildingPlant, faults: list[Fault]
) -> dict[str, dict[str, np.ndarray]]:
    """Arrays of shape (n_steps,) by equipment id and point name (``_`` names: hidden truth)."""
    out: dict[str, dict[str, np.ndarray]] = {}
    t_n = ctx.n
    zeros = np.zeros(t_n)
    ahus = plant.get("ahu")
    ahu_params = {a.id: numeric_params(a, ahu_model.DEFAULTS) for a in ahus}

    # Availability of the loops, from the fault plan.
    chillers = plant.get("chiller")
    chw_pumps, coil_pumps = plant.pumps("chilled_water"), plant.pumps("ahu_heating")
    heat_pumps = plant.pumps("heating")
    chiller_up = {
        c.id: chiller_model.chiller_availability(ctx, faults, c.id)
        & _any_up(ctx, faults, chw_pumps)
        for c in chillers
    }
    cooling_available = (
        np.mean([u.astype(float) for u in chiller_up.values()], axis=0) if chillers else zeros
    )

    # Substation capacity, radiators and hot water.
    hxs = plant.get("hx")
    hx_params = {h.id: numeric_params(h, hx_model.DEFAULTS) for h in hxs}
    design_heat = sum(p["design_power_kw"] for p in hx_params.values()) or 900.0
    fouling = {h.id: hx_model.fouling_factor(ctx, faults, h.id) for h in hxs}
    capacity = (
        sum(hx_params[h].get("design_power_kw") / np.sqrt(fouling[h]) for h in fouling)
        if hxs
        else np.full(t_n, design_heat)
    )
    rad, dhw = hx_model.heating_demand(ctx, design_heat)
    demand = rad + dhw
    heating_loop_up = _any_up(ctx, faults, heat_pumps)
    base_heat = np.where(heating_loop_up, np.minimum(demand, capacity), 0.0)
    heat_shortfall = np.where(
        rad > 1.0, np.clip((demand - base_heat) / np.maximum(rad, 1.0), 0, 1), 0
    )
    coil_design = sum(
        AIR_RHO_CP * p["design_flow_m3_s"] * p["heating_coil_dt_k"] for p in ahu_params.values()
    )
    heating_available = np.clip((capacity - base_heat) / max(coil_design, 1.0), 0.0, 1.0)
    heating_available *= _any_up(ctx, faults, coil_pumps) & heating_loop_up

    # AHU air side, then zones.
    air = {a.id: ahu_model.ahu_airside(ctx, ahu_params[a.id], faults, a.id) for a in ahus}
    zones = plant.get("zone")
    zone_info = {}
    for z in zones:
        rng = ctx.rng(z.id)
        zp = zone_parameters(z.parameters, rng)
        served = plant.serving_ahu(z)
        flow_frac = air[served]["_flow_frac"] if served else zeros
        temp = zone_temperature(ctx, zp, flow_frac, cooling_available, heat_shortfall, rng)
        zone_info[z.id] = (zp, served, temp, rng)

    thermal = {}
    for a in ahus:
        served = [info for info in zone_info.values() if info[1] == a.id]
        rat = (
            np.mean([info[2] for info in served], axis=0) + 0.5
            if served
            else 21.0 + 2.0 * ctx.calendar.occupancy
        )
        thermal[a.id] = ahu_model.ahu_thermal(
            ctx,
            ahu_params[a.id],
            faults,
            a.id,
            air[a.id],
            rat,
            heating_available,
            cooling_available,
        )
        out[a.id] = {**air[a.id], **thermal[a.id]}

    for z in zones:
        zp, served, temp, rng = zone_info[z.id]
        oa = zeros
        if served:
            siblings = [i[0]["volume_m3"] for i in zone_info.values() if i[1] == served]
            oa = thermal[served]["_oa_flow"] * zp["volume_m3"] / sum(siblings)
            temp = temp + ahu_model.zone_supply_effect(ctx, thermal[served], air[served])
        out[z.id] = zone_air_quality(ctx, zp, temp, oa, rng)

    # Loop flows and pumps.
    ahu_heat = sum((thermal[a]["_heating_kw"] for a in thermal), start=zeros)
    ahu_cool = sum((thermal[a]["_cooling_kw"] for a in thermal), start=zeros)
    heat_total = base_heat + ahu_heat
    any_ahu_on = np.logical_or.reduce([air[a]["_on"] > 0.5 for a in air]) if air else zeros > 0
    flows = {}
    always = np.ones(t_n, dtype=bool)
    heat_ratio = np.clip(0.3 + 0.7 * heat_total / design_heat, 0.3, 1.0)
    flows |= _loop_flows(ctx, faults, heat_pumps, heat_ratio, always)
    flows |= _loop_flows(
        ctx,
        faults,
        coil_pumps,
        np.clip(0.3 + 0.7 * ahu_heat / max(coil_design, 1.0), 0.3, 1.0),
        any_ahu_on | (ctx.oat < 3.0),
    )
    chiller_design = (
        sum(numeric_params(c, chiller_model.DEFAULTS)["design_cooling_kw"] for c in chillers) or 1.0
    )
    process = chiller_model.DEFAULTS["process_load_kw"] * len(chillers)
    cool_load = process + ahu_cool
    chw_ratio = np.clip(0.5 + 0.5 * cool_load / chiller_design, 0.5, 1.0)
    flows |= _loop_flows(ctx, faults, chw_pumps, chw_ratio, always)  # runs with the chiller off
    for p in plant.get("pump"):
        params = numeric_params(p, pump_model.DEFAULTS)
        out[p.id] = pump_model.simulate_pump(ctx, params, faults, p.id, flows.get(p.id, zeros))

    chw_flow = sum((flows[p.id] for p in chw_pumps), start=zeros)
    if not chw_pumps:
        chw_flow = np.full(t_n, chiller_design / (4117.0 * 5.0))
    for c in chillers:
        params = numeric_params(c, chiller_model.DEFAULTS)
        share = params["design_cooling_kw"] / chiller_design
        out[c.id] = chiller_model.simulate_chiller(
            ctx, params, faults, c.id, cool_load * share, chiller_up[c.id], chw_flow * share
        )

    sec_flow = sum((flows[p.id] for p in heat_pumps), start=zeros)
    if not heat_pumps:
        sec_flow = np.full(t_n, design_heat / (4117.0 * 20.0))
    for h in hxs:
        share = hx_params[h.id]["design_power_kw"] / design_heat
        out[h.id] = hx_model.simulate_substation(
            ctx, hx_params[h.id], h.id, fouling[h.id], base_heat * share, demand * share,
            ahu_heat * share, sec_flow * share,
        )  # fmt: skip

    # Meters and weather station.
    area = plant.building.floor_area_m2 or DEFAULT_FLOOR_AREA_M2
    base = base_electric_load(ctx, area)
    hvac = sum((air[a.id]["_fan_kw"] for a in ahus), start=zeros)
    hvac = hvac + sum((out[p.id]["_power_kw"] for p in plant.get("pump")), start=zeros)
    hvac = hvac + sum((out[c.id]["_power_kw"] for c in chillers), start=zeros)
    heat_true = sum((out[h.id]["_heat_kw"] for h in hxs), start=zeros) if hxs else heat_total
    for m in plant.get("elec_meter"):
        out[m.id] = simulate_meter(ctx, m.id, hvac + base) | {"_base_kw": base, "_hvac_kw": hvac}
    for m in plant.get("heat_meter"):
        out[m.id] = simulate_meter(ctx, m.id, heat_true)
    for w in plant.get("weather"):
        rng = ctx.rng(w.id)
        out[w.id] = {
            "oat": ctx.oat + 0.1 * rng.standard_normal(t_n),
            "rh": np.clip(ctx.rh_out + 1.0 * rng.standard_normal(t_n), 0.0, 100.0),
            "ghi": ctx.ghi,
        }
    return out
