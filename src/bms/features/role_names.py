"""Recognise an air-handling unit's points in a generic wide table by their column names.

``bms detect`` takes any wide CSV. When its columns name an AHU's points the way BMS exports
and public data sets write them, in English (``AHU: Supply Air Temperature``, ``Mixed Air
Temp``, ``OA Damper Command``, ``SAT``, the short ``CHWC_VLV``, ``SA_TEMPSPT``...) or French
(``Température air soufflé``, ``Vanne batterie chaude``, ``Registre air neuf``...), the AHU
rules of :mod:`bms.models.rules` can run on it too: they need no training, only roles in
canonical units (:mod:`bms.features.roles`).

:func:`guess_ahu_roles` maps roles to columns from the names alone (a name matches one role or
none; a role matched by two columns is dropped, not guessed). :func:`ahu_role_frame` converts
them to canonical units, deciding the units from reference values (``bms detect``: TRAIN and
TEST together, so that both are converted alike), and says what it decided:

* temperatures in °F when the return (else supply, else mixed) air median exceeds 40: room
  air is 18-26 °C, i.e. 64-79 °F, so the two scales never meet there;
* valve, damper and fan-speed commands as fractions (×100 to %) when none of them ever exceeds
  1: decided for all at once, as a valve closed all through the reference would look like a
  fraction on its own;
* duct static pressure in inches of water when its median is below 10 (Pa values of a running
  duct are in the hundreds).

Single-zone units hold a heating and a cooling supply set point: ``sat_sp`` is the heating one
while the heating valve is open, else the cooling one (as
:func:`bms.features.roles.lbnl_ahu_frame`).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping

import numpy as np
import pandas as pd

from bms.features.roles import PA_PER_INCH_WATER

__all__ = [
    "AHU_NAME_PATTERNS",
    "AHU_NAME_PATTERNS_FR",
    "ahu_role_frame",
    "ahu_role_matches",
    "equipment_tag",
    "guess_ahu_roles",
    "normalise_name",
    "temperature_names_disagreeing",
]

_TEMP = r"temp(erature)?"
_SP = r"(set ?point|setpt|sp|stpt|spt)"
_CMD = r"( (control signal|command|cmd|signal|position|pos|output))?"
#: The short forms of BMS point names (``CHWC_VLV``, ``OA_DMPR``, ``SF_SPD``, ``SA_TEMPSPT``).
_VLV = r"(valve|vlv)"
_DMPR = r"(damper|dmpr)"
_SPD = r"(speed|spd)"
#: Role -> regular expression on the normalised column name (:func:`normalise_name`).
#: ``sat_sp_heating`` / ``sat_sp_cooling`` are the single-zone pair that make ``sat_sp``.
AHU_NAME_PATTERNS: dict[str, str] = {
    # "DA-T", "RA-T": Metasys-style short names (discharge, return, mixed, outdoor air; "-T"
    # temperature, "SF-S" supply fan status, "OAD-O" outdoor-air damper output)
    "sat": rf"(supply air {_TEMP}|sa {_TEMP}|discharge air {_TEMP}|sat|dat|(sa|da) t)",
    "sat_sp": (
        rf"(supply air {_TEMP} {_SP}|sa {_TEMP} {_SP}|discharge air {_TEMP} {_SP}|sat {_SP}"
        rf"|(sa|da) t {_SP}|dat {_SP}|sa tempspt|sa tempsp|satsp|satspt|datsp)"
    ),
    "sat_sp_heating": rf"(supply air {_TEMP} heating {_SP}|sat heating {_SP})",
    "sat_sp_cooling": rf"(supply air {_TEMP} cooling {_SP}|sat cooling {_SP})",
    "oat": rf"(outdoor air {_TEMP}|outside air {_TEMP}|oa {_TEMP}|oat|oa t)",
    "mat": rf"(mixed air {_TEMP}|ma {_TEMP}|mat|ma t)",
    "rat": rf"(return air {_TEMP}|ra {_TEMP}|rat|ra t)",
    # a lone "fan": the supply fan (a return or exhaust fan's name says so, and fails the match)
    "fan_status": r"((supply (air )?)?fan (status|sts|stat)|sf (status|sts|stat|s))",
    "fan_speed": rf"((supply (air )?)?fan {_SPD}{_CMD}|sf {_SPD}{_CMD}|(supply fan|sf) vfd{_CMD})",
    "oa_damper": rf"((outdoor air|outside air|oa) {_DMPR}{_CMD}|oad( o)?{_CMD})",
    "cooling_valve": rf"((cooling coil|cooling|chw|chwc|clg) {_VLV}{_CMD}|clg o)",
    "heating_valve": rf"((heating coil|heating|hw|hwc|htg) {_VLV}{_CMD}|htg o)",
    "duct_static": r"((supply air )?duct static( pressure)?|dsp)",
    "duct_static_sp": rf"((supply air )?duct static( pressure)? {_SP}|dsp {_SP})",
}
#: French BMS exports (the Besançon site's language): accents are dropped before matching
#: (``Température air soufflé`` -> ``temperature air souffle``), and the abbreviations of French
#: BMS point names are read too (``CTA1_TSOUF``, ``T_REP``, ``TAN`` for the outdoor ("air
#: neuf") air, ``CONS_TSOUF``, ``V3V_CH``, ``VANNE_BF``, ``REG_AN``, ``VS_MARCHE``).
_FR_T = r"(temperature|temp|t)( (d )?air)?"
_FR_SOUF = r"(souffle|soufflage|souff|souf)"
_FR_SAT = rf"({_FR_T} {_FR_SOUF}|t{_FR_SOUF})"
_FR_CONS = r"(consigne|cons|csg)"
_FR_SAT_SP = rf"({_FR_CONS}( {_FR_T})? {_FR_SOUF}|{_FR_CONS} t{_FR_SOUF}|{_FR_SAT} {_FR_CONS})"
_FR_FAN = r"(ventilateur|ventil|vent)( (de )?(soufflage|souf))?"
_FR_VALVE = r"(vanne|v3 ?v|v2 ?v)( de)?( batterie)?"  # "V3V" parted as camel case: "v3 v"
AHU_NAME_PATTERNS_FR: dict[str, str] = {
    "sat": _FR_SAT,
    "sat_sp": _FR_SAT_SP,
    "sat_sp_heating": rf"{_FR_SAT_SP} (chaud|chaude|ch)",
    "sat_sp_cooling": rf"{_FR_SAT_SP} (froid|froide|fr)",
    "oat": rf"({_FR_T} (exterieure?|ext|neuf)|t ?(exterieure?|ext|an))",
    "mat": rf"({_FR_T} (melange|melangee|mel)|tmel)",
    "rat": rf"({_FR_T} (repris|reprise|rep)|trep)",
    "fan_status": (
        rf"((etat|marche|rm|retour (de )?marche) (du )?({_FR_FAN}|vs)"
        rf"|({_FR_FAN}|vs) (etat|marche|rm))"
    ),
    "fan_speed": rf"((vitesse|vit) (du )?({_FR_FAN}|vs)|({_FR_FAN}|vs) (vitesse|vit))",
    "oa_damper": r"(registre|volet|reg)( d)?( air)? (neuf|an)",
    "cooling_valve": rf"{_FR_VALVE} (froide|froid|fr|eau glacee|bf)",
    "heating_valve": rf"{_FR_VALVE} (chaude|chaud|ch|eau chaude|bc)",
    "duct_static": r"pression (statique )?(de )?gaine( (de )?soufflage)?",
    "duct_static_sp": r"consigne (de )?pression (statique )?(de )?gaine( (de )?soufflage)?",
}
_TEMPERATURES = ("sat", "sat_sp", "sat_sp_heating", "sat_sp_cooling", "oat", "mat", "rat")
_COMMANDS = ("fan_speed", "oa_damper", "cooling_valve", "heating_valve")
#: Above this median, air temperatures are °F (room air: 18-26 °C = 64-79 °F).
FAHRENHEIT_ABOVE = 40.0
#: Below this median, a running duct's static pressure is in inches of water, not Pa.
INCHES_WATER_BELOW = 10.0
#: The line :func:`ahu_role_frame` gives when it reads the air temperatures as °F.
FAHRENHEIT_DECIDED = "temperatures in °F"
#: A temperature unit written in a column name: ``°C``, ``(F)``, ``[degC]``, ``deg F``.
_NAMED_TEMPERATURE_UNIT = re.compile(
    r"°\s*([CF])\b|\bdeg\s*([CF])\b|[(\[]\s*([CF])\s*[)\]]", re.IGNORECASE
)


#: An equipment prefix :func:`normalise_name` drops (``AHU-1:``, ``RTU 2/``, ``ahu3.``,
#: ``CTA-1 :``, ``CTA1_``): an air-handling unit (AHU; CTA, "centrale de traitement d'air") or
#: a rooftop unit, its number, then ``:``, ``/`` or ``.`` (a numbered one: or a space, ``_``
#: or ``-``).
_UNIT_PREFIX = re.compile(
    r"^\s*((?:ahu|rtu|cta)[\s_-]*\d*)(?:\s*[:/.]|(?<=\d)[\s_-]+)", re.IGNORECASE
)
#: A numbered equipment suffix, in brackets or after a separator (``(AHU-1)``, ``_AHU2``,
#: `` CTA 3``), before any bracketed physical unit (``(AHU-1) (°F)``).
_UNIT_SUFFIX = re.compile(
    r"(?:[(\[]\s*|[\s_-])((ahu|rtu|cta)[\s_-]*\d+)\s*[)\]]?(\s*[(\[][^()\[\]]*[)\]])*\s*$",
    re.IGNORECASE,
)


def equipment_tag(name: str) -> str:
    """The unit a column name says its point belongs to, as written: an equipment prefix
    (``"AHU-1: Supply Air Temperature"`` -> ``"AHU-1"``) or a numbered suffix
    (``"Supply Air Temperature (AHU-2)"``, ``"SAT_AHU2"`` -> ``"AHU-2"``, ``"AHU2"``), else
    ``""``."""
    plain = unicodedata.normalize("NFKD", str(name))
    found = _UNIT_PREFIX.match(plain) or _UNIT_SUFFIX.search(plain)
    return found.group(1).strip() if found else ""


#: Where camel-case words meet: a lower-case letter or digit then a capital (``AirTemp``), or
#: an acronym then a capitalised word (``OADamper``).
_CAMEL_BOUNDARY = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")


def normalise_name(name: str) -> str:
    """Lower case, an equipment prefix (``AHU:``) or numbered suffix (``(AHU-2)``) and any unit
    suffix dropped, words only.

    ``"AHU: Supply Air Temperature "`` -> ``"supply air temperature"``;
    ``"OA_Damper_Cmd (%)"`` -> ``"oa damper cmd"``; words run together in camel case are
    parted (``"OADamperCmd"`` -> ``"oa damper cmd"``, ``"SupplyAirTempSP"`` -> ``"supply air
    temp sp"``), as many BMS front ends name their points.
    """
    plain = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    plain = _CAMEL_BOUNDARY.sub(" ", plain)
    text = _UNIT_SUFFIX.sub(" ", _UNIT_PREFIX.sub(" ", plain.lower()))
    text = re.sub(r"\(.*?\)|\[.*?\]", " ", text)
    text = re.sub(r"[^a-z0-9]+", " ", text)
    return " ".join(text.split())


def ahu_role_matches(columns: Iterable[str]) -> dict[str, list[str]]:
    """Role -> every column whose name says it is that AHU point (in the columns' order)."""
    found: dict[str, list[str]] = {}
    for column in columns:
        name = normalise_name(str(column))
        for patterns in (AHU_NAME_PATTERNS, AHU_NAME_PATTERNS_FR):
            for role, pattern in patterns.items():
                if re.fullmatch(pattern, name):
                    found.setdefault(role, []).append(str(column))
    return found


def guess_ahu_roles(columns: Iterable[str]) -> dict[str, str]:
    """Role -> column for the columns whose names say which AHU point they are.

    A column matching no pattern is left alone; a role that two columns match is dropped (no
    guess between them: :func:`ahu_role_matches` lists them).
    """
    found = ahu_role_matches(columns)
    return {role: cols[0] for role, cols in found.items() if len(cols) == 1}


def ahu_role_frame(
    frame: pd.DataFrame, roles: Mapping[str, str], reference: pd.DataFrame | None = None
) -> tuple[pd.DataFrame, list[str]]:
    """The role columns of ``frame`` in canonical units (°C, %, Pa, 0/1).

    Parameters
    ----------
    frame : DataFrame
        Numeric columns (at least those of ``roles``), any index.
    roles : mapping
        Role -> column (:func:`guess_ahu_roles`).
    reference : DataFrame, optional
        Same columns; the units are decided from it (default: ``frame`` itself).

    Returns
    -------
    frame : DataFrame
        Same index; one column per role (``sat_sp`` from the heating/cooling pair if need be).
    decisions : list of str
        One line per unit decided, e.g. ``"temperatures in °F"``.
    """
    out = pd.DataFrame({r: frame[c].astype(float) for r, c in roles.items()}, index=frame.index)
    source = frame if reference is None else reference
    ref = pd.DataFrame({r: source[c].astype(float) for r, c in roles.items()})
    decisions: list[str] = []
    basis = next((r for r in ("rat", "sat", "mat") if r in ref and ref[r].notna().any()), None)
    if basis is not None and float(np.nanmedian(ref[basis])) > FAHRENHEIT_ABOVE:
        for role in _TEMPERATURES:
            if role in out:
                out[role] = (out[role] - 32.0) * 5.0 / 9.0
        decisions.append(FAHRENHEIT_DECIDED)
    commands = [r for r in _COMMANDS if r in ref and ref[r].notna().any()]
    if commands and float(ref[commands].max().max()) <= 1.0:
        for role in commands:
            out[role] = out[role] * 100.0
        decisions.append("commands as 0-1 fractions")
    for role in ("duct_static", "duct_static_sp"):
        if role in ref and float(np.nanmedian(ref[role].abs())) < INCHES_WATER_BELOW:
            out[role] = out[role] * PA_PER_INCH_WATER
            decisions.append(f"{role.replace('_', ' ')} in inches of water")
    pair = {r: out.pop(r) for r in ("sat_sp_heating", "sat_sp_cooling") if r in out}
    heating, cooling = pair.get("sat_sp_heating"), pair.get("sat_sp_cooling")
    if "sat_sp" not in out and cooling is not None:
        out["sat_sp"] = cooling
        if heating is not None and "heating_valve" in out:
            out["sat_sp"] = cooling.where(~(out["heating_valve"] > 1.0), heating)
    elif "sat_sp" not in out and heating is not None:
        out["sat_sp"] = heating
    return out, decisions


def temperature_names_disagreeing(
    roles: Mapping[str, str], decisions: Iterable[str]
) -> tuple[list[str], str]:
    """The temperature columns whose name writes the other unit than the one their values were
    read in (``Supply Air Temp (°C)`` holding 55-70: °F), and that unit (``"°F"`` or ``"°C"``).
    The values decide (:func:`ahu_role_frame`); the name is a hint that the export mislabels a
    column, or holds columns in two units."""
    unit = "F" if FAHRENHEIT_DECIDED in decisions else "C"
    disagreeing = []
    for role in _TEMPERATURES:
        column = roles.get(role)
        found = _NAMED_TEMPERATURE_UNIT.search(str(column)) if column is not None else None
        named = next((g for g in found.groups() if g), "") if found else ""
        if named and named.upper() != unit:
            disagreeing.append(str(column))
    return disagreeing, f"°{unit}"
