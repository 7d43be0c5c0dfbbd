"""AHU points recognised by their column names, and converted to canonical units."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from bms.features.role_names import (
    ahu_role_frame,
    equipment_tag,
    guess_ahu_roles,
    normalise_name,
    temperature_names_disagreeing,
)
from bms.features.roles import LBNL_MZVAV_ROLE_MAP

#: The roles the name lists of the parametrised tests below give, in their order.
TEN_ROLES = [
    "sat", "sat_sp", "oat", "mat", "rat", "fan_status", "fan_speed", "oa_damper", "cooling_valve",
    "heating_valve",
]  # fmt: skip


def test_the_lbnl_headers_map_to_the_same_roles_as_the_curated_map() -> None:
    headers = [*LBNL_MZVAV_ROLE_MAP.values(), "AHU: Return Air Fan Status", "Datetime"]
    assert guess_ahu_roles(headers) == LBNL_MZVAV_ROLE_MAP


def test_common_export_spellings_are_recognised() -> None:
    names = [
        "SAT",
        "AHU-1: Mixed Air Temp",
        "OA_Damper_Cmd (%)",
        "Heating Valve Position",
        "Supply Fan Speed",
        "Return Air Damper Control Signal",
        "Zone Temperature",
    ]
    assert guess_ahu_roles(names) == {
        "sat": "SAT",
        "mat": "AHU-1: Mixed Air Temp",
        "oa_damper": "OA_Damper_Cmd (%)",
        "heating_valve": "Heating Valve Position",
        "fan_speed": "Supply Fan Speed",
    }
    assert normalise_name("AHU: Supply Air Temperature ") == "supply air temperature"


def test_short_point_names_are_recognised() -> None:
    # the abbreviations of BMS point names, as in LBNL's single-duct AHU export
    names = ["Datetime", "CHWC_VLV", "HWC_VLV", "MA_TEMP", "OA_DMPR", "OA_TEMP", "RA_DMPR",
             "RA_TEMP", "RF_SPD", "SA_TEMP", "SA_TEMPSPT", "SF_SPD", "ZONE_TEMP_1"]  # fmt: skip
    assert guess_ahu_roles(names) == {
        "cooling_valve": "CHWC_VLV",
        "heating_valve": "HWC_VLV",
        "mat": "MA_TEMP",
        "oa_damper": "OA_DMPR",
        "oat": "OA_TEMP",
        "rat": "RA_TEMP",
        "sat": "SA_TEMP",
        "sat_sp": "SA_TEMPSPT",
        "fan_speed": "SF_SPD",
    }
    # a mode or demand flag beside a point is not the point
    assert guess_ahu_roles(["CHWC_VLV_DM", "OA_DMPR_DM", "SF_SPD_DM"]) == {}


def test_french_export_names_are_recognised() -> None:
    names = ["Horodatage", "Température air soufflé (°C)", "Consigne soufflage", "T° air mélangé",
             "Température extérieure", "Vanne batterie chaude", "Registre air neuf",
             "État ventilateur soufflage", "Pression gaine soufflage"]  # fmt: skip
    assert guess_ahu_roles(names) == {
        "sat": "Température air soufflé (°C)",
        "sat_sp": "Consigne soufflage",
        "mat": "T° air mélangé",
        "oat": "Température extérieure",
        "heating_valve": "Vanne batterie chaude",
        "oa_damper": "Registre air neuf",
        "fan_status": "État ventilateur soufflage",
        "duct_static": "Pression gaine soufflage",
    }


def test_the_product_s_own_point_names_are_recognised() -> None:
    # the Besançon site's AHU points as bms stores them (bms.site), exported and run through
    # bms detect: every role the rules need, the fan's included
    names = ["oat", "rat", "mat", "sat", "sat_sp", "oa_damper", "heating_valve", "cooling_valve",
             "fan_status", "fan_speed", "fan_power", "supply_flow", "duct_static",
             "filter_dp"]  # fmt: skip
    roles = guess_ahu_roles(names)
    assert {r: roles.get(r) for r in ("fan_status", "fan_speed", "duct_static")} == {
        "fan_status": "fan_status",
        "fan_speed": "fan_speed",
        "duct_static": "duct_static",
    }
    assert len(roles) == 11
    # another fan's status or speed is not the supply fan's
    assert guess_ahu_roles(["Return Fan Status", "EF Speed", "Exhaust Fan Status"]) == {}


def test_two_columns_for_one_role_are_not_guessed_between() -> None:
    assert "sat" not in guess_ahu_roles(["SAT", "Supply Air Temperature", "MAT"])


def test_units_are_decided_from_train_and_applied_to_both() -> None:
    index = pd.date_range("2017-03-24", periods=4, freq="min")
    train = pd.DataFrame(
        {
            "Return Air Temperature": [68.0, 70.0, 72.0, 70.0],  # °F
            "Supply Air Temperature Heating Set Point": [50.0, 50.0, 83.0, 83.0],
            "Supply Air Temperature Cooling Set Point": [86.0, 86.0, 86.0, 86.0],
            "Heating Coil Valve Control Signal": [0.0, 0.0, 0.9, 0.9],  # 0-1
        },
        index=index,
    )
    roles = guess_ahu_roles(train.columns)
    frame, decisions = ahu_role_frame(train, roles, train)
    assert decisions == ["temperatures in °F", "commands as 0-1 fractions"]
    assert np.allclose(frame["rat"], [20.0, 21.111, 22.222, 21.111], atol=1e-3)
    assert np.allclose(frame["heating_valve"], [0.0, 0.0, 90.0, 90.0])
    # single zone: the heating set point while the heating valve is open, else the cooling one
    assert np.allclose(frame["sat_sp"], [30.0, 30.0, 28.333, 28.333], atol=1e-3)
    # a valve closed all through the reference says nothing of its scale: the others decide
    closed = pd.DataFrame({"Cooling Coil Valve": [0.0] * 4, "Heating Coil Valve": [0, 0, 40, 55]})
    frame, decisions = ahu_role_frame(closed, guess_ahu_roles(closed.columns), closed)
    assert decisions == [] and frame["heating_valve"].max() == 55.0
    celsius = train.assign(**{"Return Air Temperature": [20.0, 21.0, 22.0, 21.0]})
    frame, decisions = ahu_role_frame(celsius, roles, celsius)
    assert "temperatures in °F" not in decisions
    assert frame["rat"].iloc[0] == 20.0


@pytest.mark.parametrize(
    ("name", "tag", "normalised"),
    [
        ("AHU-1: Supply Air Temperature", "AHU-1", "supply air temperature"),
        ("CTA-1 : Température air soufflé", "CTA-1", "temperature air souffle"),
        ("Supply Air Temperature (AHU-2)", "AHU-2", "supply air temperature"),
        ("SAT_AHU2", "AHU2", "sat"),
        ("Supply Air Temperature (AHU-2) (°F)", "AHU-2", "supply air temperature"),
        ("Return Fan Speed [RTU-4]", "RTU-4", "return fan speed"),
        ("Température reprise CTA 3", "CTA 3", "temperature reprise"),
        ("AHU: Supply Air Temperature", "AHU", "supply air temperature"),  # one unnumbered unit
        ("Supply Air Temperature (°F)", "", "supply air temperature"),  # a physical unit
        ("Supply Air Temperature AHU", "", "supply air temperature ahu"),  # no number: no tag
        ("Supply Air Temperature (wing 1)", "", "supply air temperature"),
    ],
)
def test_the_unit_a_column_name_belongs_to_is_read_before_or_after_the_point(
    name: str, tag: str, normalised: str
) -> None:
    assert equipment_tag(name) == tag
    assert normalise_name(name) == normalised


@pytest.mark.parametrize(
    ("name", "decisions", "disagreeing"),
    [
        ("Supply Air Temp (°C)", ["temperatures in °F"], ["Supply Air Temp (°C)"]),
        ("Supply Air Temp [degF]", [], ["Supply Air Temp [degF]"]),
        ("Supply Air Temp (F)", ["temperatures in °F"], []),  # the name agrees
        ("Supply Air Temp deg C", [], []),
        ("Supply Air Temp", ["temperatures in °F"], []),  # no unit in the name
        ("Supply Air Temp (AHU-1)", [], []),  # an equipment, not a unit
    ],
)
def test_a_temperature_name_writing_the_other_unit_is_found(name, decisions, disagreeing):
    found, unit = temperature_names_disagreeing({"sat": name}, decisions)
    assert found == disagreeing
    assert unit == ("°F" if decisions else "°C")


@pytest.mark.parametrize(
    "names",
    [
        # camel case, as many BMS front ends name their points: none was recognised
        ["SupplyAirTemp", "SupplyAirTempSetpoint", "OutsideAirTemp", "MixedAirTemp",
         "ReturnAirTemp", "SupplyFanStatus", "SupplyFanSpeed", "OADamperCmd", "CoolingValveCmd",
         "HeatingValveCmd"],
        # short forms run together or abbreviated: SATSP, SF_STS were not recognised
        ["AHU1.SAT", "AHU1.SATSP", "AHU1.OAT", "AHU1.MAT", "AHU1.RAT", "AHU1.SF_STS",
         "AHU1.SF_SPD", "AHU1.OA_DMPR", "AHU1.CHWC_VLV", "AHU1.HWC_VLV"],
    ],
    ids=["camel case", "short forms"],
)  # fmt: skip
def test_camel_case_and_short_point_names_are_recognised(names: list[str]) -> None:
    roles = guess_ahu_roles(names)
    assert list(roles) == TEN_ROLES
    assert list(roles.values()) == names


@pytest.mark.parametrize(
    "names",
    [
        # French BMS point names, abbreviated after the unit: none was recognised (the unit's
        # prefix "CTA1_" was not dropped, and the abbreviations were unknown)
        ["CTA1_TSOUF", "CTA1_CONS_TSOUF", "CTA1_TAN", "CTA1_TMEL", "CTA1_TREP", "CTA1_VS_MARCHE",
         "CTA1_VS_VITESSE", "CTA1_REG_AN", "CTA1_VANNE_FR", "CTA1_VANNE_CH"],
        ["CTA1_T_SOUFFLAGE", "CTA1_CONS_T_SOUFFLAGE", "CTA1_T_AIR_NEUF", "CTA1_T_MELANGE",
         "CTA1_T_REPRISE", "CTA1_VENTIL_SOUFFLAGE_ETAT", "CTA1_VIT_VENTIL_SOUFFLAGE",
         "CTA1_REG_AIR_NEUF", "CTA1_V3V_FROID", "CTA1_V3V_CHAUD"],
        # Metasys-style short names: discharge air "-T", supply fan "-S", outputs "-O"
        ["DA-T", "DA-T-SP", "OA-T", "MA-T", "RA-T", "SF-S", "SF-SPD", "OAD-O", "CLG-O", "HTG-O"],
    ],
    ids=["French abbreviations", "French words", "Metasys short names"],
)  # fmt: skip
def test_french_and_metasys_point_names_are_recognised(names: list[str]) -> None:
    roles = guess_ahu_roles(names)
    assert list(roles) == TEN_ROLES
    assert list(roles.values()) == names
    assert {equipment_tag(name) for name in names} == ({"CTA1"} if "CTA1" in names[0] else {""})


def test_a_unit_named_without_a_separator_word_is_not_dropped_from_a_name() -> None:
    # only a numbered unit is parted from the point by a space, "_" or "-": "AHU Status" names
    # no point of the rules, and a sensor named "CTA_T" keeps its name
    assert normalise_name("AHU-1 Supply Air Temperature") == "supply air temperature"
    assert normalise_name("AHU Status") == "ahu status"
    assert guess_ahu_roles(["CTA_T", "AHU Status"]) == {}


def test_a_french_single_zone_set_point_pair_is_recognised() -> None:
    roles = guess_ahu_roles(["CTA1_CONS_TSOUF_CH", "CTA1_CONS_TSOUF_FR", "CTA1_TSOUF"])
    assert roles == {
        "sat_sp_heating": "CTA1_CONS_TSOUF_CH",
        "sat_sp_cooling": "CTA1_CONS_TSOUF_FR",
        "sat": "CTA1_TSOUF",
    }
