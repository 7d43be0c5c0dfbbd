"""Role maps: canonical role names of each equipment kind and the local names they come from.

Feature functions and rules are written against *roles* (``sat``, ``mat``, ``heating_valve``...)
in canonical units, never against the point names of one site. A role map says which column of
a wide frame plays which role (pvlib's ``VARIABLE_MAP`` idea)::

    ROLE_MAPS["AHU"]            # the Besançon names: role -> local point name (identity)
    LBNL_MZVAV_ROLE_MAP         # the LBNL RP-1312 multi-zone VAV AHU column names
    role_map_for(equipment)     # the kind's map, overridden by ``role:<role>`` parameters

Canonical units: temperatures [°C], valve/damper/fan-speed commands [%] (0-100), pressures [Pa],
flows [m3/s], powers [kW], states 0/1.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

import pandas as pd

from bms.errors import SchemaError
from bms.site.model import Equipment

__all__ = [
    "LBNL_HEATING_SP",
    "LBNL_MZVAV_ROLE_MAP",
    "LBNL_SZ_ROLE_MAP",
    "ROLES",
    "ROLE_MAPS",
    "apply_role_map",
    "lbnl_ahu_frame",
    "role_map_for",
]

logger = logging.getLogger(__name__)

#: Canonical roles per equipment kind (Brick class), with their canonical unit.
ROLES: dict[str, dict[str, str]] = {
    "AHU": {
        "oat": "Cel",
        "rat": "Cel",
        "mat": "Cel",
        "sat": "Cel",
        "sat_sp": "Cel",
        "oa_damper": "%",
        "heating_valve": "%",
        "cooling_valve": "%",
        "fan_speed": "%",
        "fan_status": "1",
        "fan_power": "kW",
        "supply_flow": "m3/s",
        "duct_static": "Pa",
        "duct_static_sp": "Pa",
        "filter_dp": "Pa",
    },
    "Pump": {
        "status": "1",
        "speed": "%",
        "flow": "m3/s",
        "dp": "Pa",
        "power": "kW",
        "vibration": "mm/s",
        "bearing_temp": "Cel",
    },
    "Heat_Exchanger": {
        "prim_supply_temp": "Cel",
        "prim_return_temp": "Cel",
        "sec_supply_temp": "Cel",
        "sec_return_temp": "Cel",
        "sec_supply_sp": "Cel",
        "prim_valve": "%",
        "heat_power": "kW",
    },
    "Chiller": {
        "status": "1",
        "chw_supply_temp": "Cel",
        "chw_return_temp": "Cel",
        "chw_supply_sp": "Cel",
        "cond_temp": "Cel",
        "power": "kW",
        "cooling_load": "kW",
        "suction_pressure": "Pa",
        "superheat": "K",
    },
}

#: Default role maps (role -> local point name): the Besançon site uses the role names.
ROLE_MAPS: dict[str, dict[str, str]] = {
    kind: {role: role for role in roles} for kind, roles in ROLES.items()
}

#: The LBNL multi-zone VAV files (MZVAV-2-1, MZVAV-2-2), header names stripped.
LBNL_MZVAV_ROLE_MAP: dict[str, str] = {
    "sat": "AHU: Supply Air Temperature",
    "sat_sp": "AHU: Supply Air Temperature Set Point",
    "oat": "AHU: Outdoor Air Temperature",
    "mat": "AHU: Mixed Air Temperature",
    "rat": "AHU: Return Air Temperature",
    "fan_status": "AHU: Supply Air Fan Status",
    "fan_speed": "AHU: Supply Air Fan Speed Control Signal",
    "oa_damper": "AHU: Outdoor Air Damper Control Signal",
    "cooling_valve": "AHU: Cooling Coil Valve Control Signal",
    "heating_valve": "AHU: Heating Coil Valve Control Signal",
    "duct_static_sp": "AHU: Supply Air Duct Static Pressure Set Point",
    "duct_static": "AHU: Supply Air Duct Static Pressure",
}

#: The LBNL single-zone files (SZCAV, SZVAV): heating and cooling supply set points instead of
#: one. ``sat_sp`` maps to the cooling set point; :func:`lbnl_ahu_frame` uses the heating one
#: (:data:`LBNL_HEATING_SP`) at the steps where the heating valve is open.
LBNL_SZ_ROLE_MAP: dict[str, str] = {
    **{k: v for k, v in LBNL_MZVAV_ROLE_MAP.items() if not k.startswith("duct_static")},
    "sat_sp": "AHU: Supply Air Temperature Cooling Set Point",
}
LBNL_HEATING_SP = "AHU: Supply Air Temperature Heating Set Point"

_FAHRENHEIT_ROLES = ("sat", "sat_sp", "oat", "mat", "rat")
_FRACTION_ROLES = ("fan_speed", "oa_damper", "cooling_valve", "heating_valve")
PA_PER_INCH_WATER = 249.0889  #: [Pa per inch of water column]


def role_map_for(
    equipment: Equipment | str, overrides: Mapping[str, str] | None = None
) -> dict[str, str]:
    """The role map of one equipment: its kind's defaults, then its overrides.

    Parameters
    ----------
    equipment : Equipment or str
        An equipment (its ``kind`` picks the defaults; ``parameters`` entries named
        ``role:<role>`` map a role to another local point name) or a kind name.
    overrides : mapping of str to str, optional
        Role -> local name, applied last.

    Raises
    ------
    SchemaError
        Unknown kind, or an override for a role the kind does not have.
    """
    kind = equipment if isinstance(equipment, str) else equipment.kind
    if kind not in ROLE_MAPS:
        raise SchemaError(f"no role map for equipment kind {kind!r}; known: {sorted(ROLE_MAPS)}")
    mapping = dict(ROLE_MAPS[kind])
    extra: dict[str, str] = {}
    if not isinstance(equipment, str):
        extra |= {
            key.removeprefix("role:"): str(value)
            for key, value in equipment.parameters.items()
            if key.startswith("role:")
        }
    extra |= dict(overrides or {})
    for role in extra:
        if role not in mapping:
            raise SchemaError(f"role override {role!r} is not a role of {kind}")
    return mapping | extra


def apply_role_map(wide: pd.DataFrame, role_map: Mapping[str, str]) -> pd.DataFrame:
    """Select and rename the columns of a wide frame to role names.

    Roles whose column is absent are left out (rules then say which are missing).

    Returns
    -------
    DataFrame of shape (n_steps, n_roles_found)
        Same index; columns are role names, float64.
    """
    columns = {role: local for role, local in role_map.items() if local in wide.columns}
    out = pd.DataFrame({role: wide[local] for role, local in columns.items()}, index=wide.index)
    return out.astype("float64")


def lbnl_ahu_frame(
    frame: pd.DataFrame,
    role_map: Mapping[str, str] = LBNL_MZVAV_ROLE_MAP,
    timezone: str = "America/Chicago",
) -> pd.DataFrame:
    """Convert an LBNL AHU table to canonical roles and units.

    Temperatures °F -> °C, 0-1 control signals -> %, duct static pressure and its set point
    from inches of water -> Pa (the inventory says "psi", but a 1.4 set point and 0-5 readings
    are inches of water, the usual unit of duct static pressure in the US). Single-zone files
    hold a heating and a cooling supply set point, the unused one parked at a bound (50 or
    86 °F): ``sat_sp`` is the heating one while the heating valve is open, else the cooling one.

    Parameters
    ----------
    frame : DataFrame
        As returned by :func:`bms.evaluate.lbnl.read_lbnl`: naive local DatetimeIndex,
        stripped column names.
    role_map : mapping
        Role -> LBNL column name.
    timezone : str
        The site's IANA zone (the Iowa Energy Resource Station is in ``America/Chicago``);
        minutes that do not exist or are ambiguous in that zone are dropped.

    Returns
    -------
    DataFrame of shape (n_minutes, n_roles)
        UTC DatetimeIndex, role columns in canonical units.
    """
    out = apply_role_map(frame, role_map)
    if LBNL_HEATING_SP in frame and "sat_sp" in out and "heating_valve" in out:
        heating = out["heating_valve"] > 0.01  # still the 0-1 signal here
        out["sat_sp"] = out["sat_sp"].where(~heating, frame[LBNL_HEATING_SP].astype(float))
    for role in _FAHRENHEIT_ROLES:
        if role in out:
            out[role] = (out[role] - 32.0) * 5.0 / 9.0
    for role in _FRACTION_ROLES:
        if role in out:
            out[role] = out[role] * 100.0
    for role in ("duct_static", "duct_static_sp"):
        if role in out:
            out[role] = out[role] * PA_PER_INCH_WATER
    index = pd.DatetimeIndex(frame.index)
    if index.tz is None:
        index = index.tz_localize(timezone, ambiguous="NaT", nonexistent="NaT")
    out.index = index.tz_convert("UTC")
    out = out[out.index.notna()]
    out.index.name = "time"
    return out
