"""The feature glossary: every column a feature frame can hold, with its unit and meaning.

Three families of names:

* base features (:data:`FEATURES`): measured roles (``sat``, ``filter_dp``...) and derived
  quantities (``filter_dp_per_flow2``, ``cop_residual``...);
* state indicators ``state_<AhuState>`` (0/1);
* rolling features ``<base>_<stat>_<window>`` with ``stat`` in mean/std/min/max (unit of the
  base) and ``<base>_slope_per_h_<window>`` (unit of the base per hour).

:func:`describe` resolves any of them; ``docs/features.md`` is the readable version.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bms.errors import SchemaError
from bms.features.roles import ROLES
from bms.features.states import AhuState

__all__ = ["FEATURES", "FeatureSpec", "describe"]


@dataclass(frozen=True)
class FeatureSpec:
    """Name, unit (UCUM-like code) and one-line description of a feature."""

    name: str
    unit: str
    description: str


_DERIVED: dict[str, tuple[str, str]] = {
    # generic
    "quality_bad_share": ("1", "share of the equipment's points missing or flagged at the step"),
    # AHU
    "fan_on": ("1", "supply fan running (fan_status, else fan_speed above its threshold)"),
    "oa_fraction": (
        "1",
        "outdoor-air fraction (mat - rat) / (oat - rat); NaN if |oat - rat| small",
    ),
    "oa_fraction_expected": ("1", "outdoor-air fraction expected from the damper command"),
    "mixed_air_residual_k": ("K", "mat - (f oat + (1 - f) rat), f expected from the damper"),
    "sat_error_k": ("K", "supply-air temperature minus its set point"),
    "coil_delta_t_k": ("K", "sat - mat: temperature change across coils and fan"),
    "heating_coil_gain_k_per_pct": ("K/%", "sat - mat per % of heating valve (valve >= 10 %)"),
    "cooling_coil_gain_k_per_pct": ("K/%", "sat - mat per % of cooling valve (valve >= 10 %)"),
    "duct_static_error_pa": ("Pa", "duct static pressure minus its set point"),
    "filter_dp_per_flow2": ("Pa/(m3/s)2", "filter resistance dp / flow^2; rises as it clogs"),
    "filter_dp_at_design_flow_pa": ("Pa", "filter dp scaled to the design flow: dp (Qd / Q)^2"),
    "specific_fan_power_kw_per_m3s": ("kW/(m3/s)", "fan power per unit of supply air flow"),
    # pump
    "hydraulic_power_kw": ("kW", "flow x differential pressure"),
    "pump_efficiency": ("1", "hydraulic power / electrical power (wire to water)"),
    # heat exchanger
    "approach_k": ("K", "cold-end approach prim_return_temp - sec_return_temp"),
    "hx_effectiveness": ("1", "(sec_supply - sec_return) / (prim_supply - sec_return)"),
    "sec_supply_error_k": ("K", "secondary supply temperature minus its set point"),
    # chiller
    "chw_delta_t_k": ("K", "chilled-water return minus supply temperature"),
    "chw_supply_error_k": ("K", "chilled-water supply temperature minus its set point"),
    "part_load": ("1", "cooling_load / design cooling capacity"),
    "cop": ("1", "coefficient of performance cooling_load / power"),
    "cop_expected": ("1", "COP expected (fitted COP(plr, cond_temp), else Carnot fraction)"),
    "cop_residual": ("1", "cop - cop_expected; negative: worse than expected"),
}


#: Points of kinds without a role map (zones, meters, weather) kept under their local names.
_OTHER_POINTS: dict[str, tuple[str, str]] = {
    "temp": ("Cel", "measured zone air temperature (HVAC_Zone)"),
    "rh": ("%", "measured relative humidity (HVAC_Zone, Weather_Station)"),
    "co2": ("ppm", "measured CO2 concentration (HVAC_Zone)"),
    "battery": ("V", "wireless sensor battery voltage (HVAC_Zone)"),
    "energy": ("kWh", "energy meter index (meters)"),
    "ghi": ("W/m2", "global horizontal irradiance (Weather_Station)"),
}


def _build() -> dict[str, FeatureSpec]:
    specs: dict[str, FeatureSpec] = {
        name: FeatureSpec(name, unit, text) for name, (unit, text) in _OTHER_POINTS.items()
    }
    for kind, roles in ROLES.items():
        for role, unit in roles.items():
            specs.setdefault(role, FeatureSpec(role, unit, f"measured {role} ({kind})"))
    for name, (unit, text) in _DERIVED.items():
        specs[name] = FeatureSpec(name, unit, text)
    for state in AhuState:
        specs[f"state_{state.value}"] = FeatureSpec(
            f"state_{state.value}", "1", f"AHU in operating state '{state.value}'"
        )
    return specs


#: Base features by name.
FEATURES: dict[str, FeatureSpec] = _build()

_ROLLING = re.compile(
    r"^(?P<base>.+?)_(?P<stat>mean|std|min|max|slope_per_h)_(?P<window>\d+(h|min|s))$"
)
_STAT_TEXT = {
    "mean": "mean",
    "std": "standard deviation",
    "min": "minimum",
    "max": "maximum",
    "slope_per_h": "least-squares slope per hour",
}


def describe(name: str, extra: dict[str, FeatureSpec] | None = None) -> FeatureSpec:
    """The spec of a feature name (base, state indicator or rolling).

    Parameters
    ----------
    name : str
    extra : dict, optional
        More base features (e.g. the points of a kind without a role map), by name.

    Raises
    ------
    SchemaError
        When the name is not in the glossary.
    """
    known = FEATURES | (extra or {})
    if name in known:
        return known[name]
    match = _ROLLING.match(name)
    if match and match["base"] in known:
        base = known[match["base"]]
        unit = f"{base.unit}/h" if match["stat"] == "slope_per_h" else base.unit
        text = f"{_STAT_TEXT[match['stat']]} of {base.name} over the trailing {match['window']}"
        return FeatureSpec(name, unit, text)
    raise SchemaError(f"feature {name!r} is not in the glossary (bms.features.catalog)")
