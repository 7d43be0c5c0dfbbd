"""The packaged Besançon site meets the issue's minimums and has stable, unique point ids."""

from __future__ import annotations

import re
from collections import Counter

import pytest

from bms.site import Site, load_site, summarise_site

POINT_ID = re.compile(r"^besancon/hq/[a-z0-9][a-z0-9_.-]*/[a-z0-9][a-z0-9_.-]*$")


@pytest.fixture(scope="module")
def site() -> Site:
    return load_site("besancon")


def kinds(site: Site) -> Counter[str]:
    return Counter(eq.kind for eq in site.all_equipment())


def test_site_identity_and_location(site: Site) -> None:
    assert site.id == "besancon"
    assert site.label == "Région Bourgogne-Franche-Comté — site de Besançon"
    assert site.timezone == "Europe/Paris"
    assert (site.latitude, site.longitude, site.elevation_m) == (47.2378, 6.0241, 250)
    assert [b.name for b in site.buildings] == ["hq"]
    assert site.buildings[0].label == "Hôtel de Région, 4 square Castan"


def test_equipment_meets_the_minimums(site: Site) -> None:
    count = kinds(site)

    assert count["AHU"] >= 3
    assert count["Heat_Exchanger"] >= 1
    assert count["Pump"] >= 4
    assert count["Chiller"] >= 1
    assert count["HVAC_Zone"] >= 20
    assert count["Electrical_Meter"] >= 1
    assert count["Thermal_Power_Meter"] >= 1


def test_every_zone_measures_temperature_humidity_and_co2_over_mqtt(site: Site) -> None:
    zones = [eq for eq in site.all_equipment() if eq.kind == "HVAC_Zone"]
    eui = set()
    for zone in zones:
        points = {p.name: p for p in zone.points}
        assert {"temp", "rh", "co2"} <= set(points), zone.id
        assert points["co2"].unit == "ppm"
        assert {p.source["connector"] for p in zone.points} == {"mqtt"}
        eui |= {p.source["dev_eui"] for p in zone.points}
    assert len(eui) == len(zones), "one LoRaWAN sensor (EUI) per zone"


def test_each_zone_is_served_by_an_ahu_that_feeds_it(site: Site) -> None:
    ahus = {eq.name: eq for eq in site.all_equipment() if eq.kind == "AHU"}
    for zone in (eq for eq in site.all_equipment() if eq.kind == "HVAC_Zone"):
        served_by = zone.parameters["served_by"]
        assert zone.name in ahus[served_by].feeds
    assert Counter(z for ahu in ahus.values() for z in ahu.feeds) == Counter(
        eq.name for eq in site.all_equipment() if eq.kind == "HVAC_Zone"
    )


def test_ahus_have_the_points_and_parameters_the_simulator_uses(site: Site) -> None:
    expected = {
        "oat", "rat", "mat", "sat", "sat_sp", "oa_damper", "heating_valve", "cooling_valve",
        "fan_status", "fan_speed", "fan_power", "supply_flow", "duct_static", "filter_dp",
    }  # fmt: skip
    for name, criticality in (("ahu-1", 4), ("ahu-2", 4), ("ahu-3", 3)):
        ahu = site.equipment_by_id(f"besancon/hq/{name}")
        assert {p.name for p in ahu.points} == expected
        assert ahu.criticality == criticality
        assert ahu.parameters["filter_final_dp_pa"] > ahu.parameters["filter_clean_dp_pa"]
        assert ahu.nominal_life_years == 25


def test_point_ids_are_stable_unique_and_well_formed(site: Site) -> None:
    ids = site.point_ids()

    assert len(ids) == len(set(ids))
    assert all(POINT_ID.match(pid) for pid in ids)
    assert "besancon/hq/ahu-1/sat" in ids
    assert "besancon/hq/hx-1/sec_supply_temp" in ids
    assert "besancon/hq/zone-24/co2" in ids
    for point in site.all_points():
        assert point.id == f"{point.equipment}/{point.name}"


def test_every_point_has_a_range_a_description_and_a_source(site: Site) -> None:
    for point in site.all_points():
        assert point.low is not None and point.high is not None and point.low < point.high
        assert point.description, point.id
        assert point.source.get("connector") in {"bacnet", "modbus", "mqtt"}, point.id


def test_connector_addresses_are_unique_per_device(site: Site) -> None:
    bacnet = [(p.source["device"], p.source["object"]) for p in site.all_points()
              if p.source["connector"] == "bacnet"]  # fmt: skip
    modbus = [(p.source["unit"], p.source["register_type"], p.source["address"])
              for p in site.all_points() if p.source["connector"] == "modbus"]  # fmt: skip
    mqtt = [(p.source["dev_eui"], p.source["field"]) for p in site.all_points()
            if p.source["connector"] == "mqtt"]  # fmt: skip

    for addresses in (bacnet, modbus, mqtt):
        assert addresses and len(addresses) == len(set(addresses))


def test_summary(site: Site) -> None:
    summary = summarise_site(site)

    assert summary["site"] == "besancon"
    assert summary["equipment_by_kind"]["AHU"] == 3
    assert summary["equipment"] == len(site.all_equipment())
    assert summary["points"] == len(site.point_ids())
    assert sum(summary["points_by_connector"].values()) == summary["points"]


def test_plant_topology_links_heating_and_cooling_to_the_ahus(site: Site) -> None:
    eq = {e.name: e for e in site.all_equipment()}

    assert eq["hx-1"].feeds == ("pump-1", "pump-2", "pump-3")
    assert eq["chiller-1"].feeds == ("pump-4",)
    assert eq["pump-3"].feeds == eq["pump-4"].feeds == ("ahu-1", "ahu-2", "ahu-3")
    loops = {name: eq[name].parameters["loop"] for name in ("pump-1", "pump-2", "pump-3", "pump-4")}
    assert loops == {
        "pump-1": "heating",
        "pump-2": "heating",
        "pump-3": "ahu_heating",
        "pump-4": "chilled_water",
    }
