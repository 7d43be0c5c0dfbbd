"""The YAML site loader: ids, templates, overrides, and one-line errors naming the bad field."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest

from bms.errors import SiteError
from bms.site import load_site, parse_site, summarise_site

SITES = Path(__file__).resolve().parents[1] / "data" / "sites"
MINIMAL = (SITES / "minimal.yaml").read_text(encoding="utf-8")


def test_ids_are_built_from_local_names() -> None:
    site = load_site(SITES / "minimal.yaml")

    assert [eq.id for eq in site.all_equipment()] == [
        "demo/main/ahu-1",
        "demo/main/pump-1",
        "demo/main/pump-2",
        "demo/main/zone-1",
    ]
    pump = site.equipment_by_id("demo/main/pump-1")
    assert [p.id for p in pump.points] == ["demo/main/pump-1/status", "demo/main/pump-1/flow"]
    assert {p.equipment for p in pump.points} == {"demo/main/pump-1"}
    assert (pump.site, pump.building) == ("demo", "main")
    assert site.buildings[0].id == "demo/main"


def test_equipment_fields_are_read() -> None:
    ahu = load_site(SITES / "minimal.yaml").equipment_by_id("demo/main/ahu-1")

    assert ahu.criticality == 4
    assert ahu.installed == dt.date(2010, 5, 1)
    assert ahu.nominal_life_years == 25
    assert ahu.feeds == ("zone-1",)
    assert ahu.parameters == {"design_flow_m3_s": 2.5}


def test_template_points_take_the_equipment_source_defaults() -> None:
    status = load_site(SITES / "minimal.yaml").point_by_id("demo/main/pump-1/status")

    assert status.kind == "Pump_Status"
    assert status.unit == "1"
    assert status.source == {"connector": "bacnet", "device": 12, "object": "binary-value,1"}


def test_overrides_merge_field_by_field_and_add_points_after_the_template() -> None:
    pump = load_site(SITES / "minimal.yaml").equipment_by_id("demo/main/pump-2")

    assert [p.name for p in pump.points] == ["status", "flow", "power"]
    flow = pump.points[1]
    assert (flow.kind, flow.unit, flow.low, flow.high) == ("Water_Flow_Sensor", "m3/s", 0, 0.05)


def test_address_offset_shifts_bacnet_instances_and_modbus_addresses() -> None:
    pump = load_site(SITES / "minimal.yaml").equipment_by_id("demo/main/pump-2")
    assert [p.source["object"] for p in pump.points] == [
        "binary-value,11",
        "analog-input,11",
        "analog-input,13",
    ]

    meter = MINIMAL.replace(
        "      - name: zone-1\n",
        "      - name: meter\n"
        "        kind: Electrical_Meter\n"
        "        address_offset: 100\n"
        "        source: {connector: modbus, unit: 3}\n"
        "        points:\n"
        "          - {name: power, kind: Electric_Power_Sensor, unit: kW,\n"
        "             source: {register_type: input, address: 2}}\n"
        "      - name: zone-1\n",
    )
    power = parse_site(meter).point_by_id("demo/main/meter/power")
    assert power.source == {
        "connector": "modbus",
        "unit": 3,
        "register_type": "input",
        "address": 102,
    }


def test_feeds_are_kept_in_building_order_whatever_the_yaml_order() -> None:
    text = MINIMAL.replace("feeds: [ahu-1]", "feeds: [zone-1, ahu-1]")

    assert parse_site(text).equipment_by_id("demo/main/pump-1").feeds == ("ahu-1", "zone-1")


def test_summary_counts_equipment_by_kind_and_points() -> None:
    summary = summarise_site(load_site(SITES / "minimal.yaml"))

    assert summary["equipment"] == 4
    assert summary["equipment_by_kind"] == {"AHU": 1, "HVAC_Zone": 1, "Pump": 2}
    assert summary["points"] == 7
    assert summary["points_by_connector"] == {"bacnet": 6, "mqtt": 1}


def test_a_file_error_names_the_file_and_the_field() -> None:
    with pytest.raises(SiteError) as info:
        load_site(SITES / "bad_criticality.yaml")

    message = str(info.value)
    assert message.endswith(
        "bad_criticality.yaml: buildings[0].equipment[2].criticality: must be between 1 and 5"
    )
    assert "\n" not in message


def test_a_yaml_syntax_error_names_the_line() -> None:
    with pytest.raises(SiteError, match=r"bad_syntax\.yaml: line 8, column 1: YAML syntax error"):
        load_site(SITES / "bad_syntax.yaml")


# (replace this, with that) in minimal.yaml -> the one-line error expected for site.yaml
BAD_EDITS = [
    pytest.param(
        ("      - name: pump-2\n", "      - name: pump-2\n        colour: red\n"),
        "buildings[0].equipment[2].colour: unknown key",
        id="unknown-key",
    ),
    pytest.param(
        ("latitude: 47.0\n", ""),
        "latitude: required field missing",
        id="missing-field",
    ),
    pytest.param(
        (
            "        kind: Pump\n        template: pump\n        feeds",
            "        template: pump\n        feeds",
        ),
        "buildings[0].equipment[1].kind: required field missing",
        id="missing-kind",
    ),
    pytest.param(
        ("criticality: 4", "criticality: 0"),
        "buildings[0].equipment[0].criticality: must be between 1 and 5",
        id="bad-criticality",
    ),
    pytest.param(
        ("criticality: 4", "criticality: high"),
        "buildings[0].equipment[0].criticality: Input should be a valid integer",
        id="criticality-not-a-number",
    ),
    pytest.param(
        ("name: pump-2", "name: pump-1"),
        "buildings[0].equipment[2].name: duplicate equipment name 'pump-1'",
        id="duplicate-equipment",
    ),
    pytest.param(
        ("{name: power,", "{name: flow,"),
        "buildings[0].equipment[2].points[1].name: duplicate point name 'flow'",
        id="duplicate-point",
    ),
    pytest.param(
        ("{name: flow, kind: Water", "{name: status, kind: Water"),
        "templates.pump[1].name: duplicate point name 'status'",
        id="duplicate-template-point",
    ),
    pytest.param(
        ("name: ahu-1", "name: AHU 1"),
        "buildings[0].equipment[0].name: 'AHU 1' is not a valid name",
        id="bad-local-name",
    ),
    pytest.param(
        ("{name: sat,", "{name: s/at,"),
        "buildings[0].equipment[0].points[0].name: 's/at' is not a valid name",
        id="bad-point-name",
    ),
    pytest.param(
        ("template: pump\n        address_offset", "template: pumps\n        address_offset"),
        "buildings[0].equipment[2].template: unknown template 'pumps' (known: pump)",
        id="unknown-template",
    ),
    pytest.param(
        ("feeds: [ahu-1]", "feeds: [ahu-9]"),
        "buildings[0].equipment[1].feeds[0]: unknown equipment 'ahu-9'",
        id="feeds-unknown",
    ),
    pytest.param(
        ("served_by: ahu-1", "served_by: ahu-2"),
        "buildings[0].equipment[3].parameters.served_by: unknown equipment 'ahu-2'",
        id="served-by-unknown",
    ),
    pytest.param(
        (
            "{name: power, kind: Electric_Power_Sensor, unit: kW,",
            "{name: power, kind: Electric_Power_Sensor,",
        ),
        "buildings[0].equipment[2].points[1].unit: required field missing",
        id="new-point-without-unit",
    ),
    pytest.param(
        ("low: 5, high: 45", "low: 50, high: 45"),
        r"buildings[0].equipment[0].points[0].low: low (50) must not exceed high (45)",
        id="low-above-high",
    ),
    pytest.param(
        ("installed: 2010-05-01", "installed: 2010-13-01"),
        "buildings[0].equipment[0].installed: Input should be a valid date",
        id="bad-date",
    ),
    pytest.param(
        ("design_flow_m3_s: 2.5", "design_flow_m3_s: [2.5]"),
        "buildings[0].equipment[0].parameters.design_flow_m3_s: Input should be a valid number",
        id="parameter-not-scalar",
    ),
    pytest.param(
        ("timezone: Europe/Paris", "timezone: Europe/Besancon"),
        "timezone: unknown IANA time zone 'Europe/Besancon'",
        id="bad-timezone",
    ),
    pytest.param(
        ('dev_eui: "0011223344556677"', "dev_eui: 0011223344556677"),
        "buildings[0].equipment[3].points[0].source: dev_eui must be 16 hex digits",
        id="unquoted-dev-eui",
    ),
    pytest.param(
        ("label: Site de démonstration\n", "label: Site de démonstration\nlabel: again\n"),
        "site.yaml: line 4, column 1: YAML syntax error: duplicate key 'label'",
        id="duplicate-yaml-key",
    ),
]


@pytest.mark.parametrize(("edit", "expected"), BAD_EDITS)
def test_each_malformed_site_gives_one_line_naming_the_field(
    tmp_path: Path, edit: tuple[str, str], expected: str
) -> None:
    old, new = edit
    assert old in MINIMAL, "the edit must apply to the fixture"
    path = tmp_path / "site.yaml"
    path.write_text(MINIMAL.replace(old, new, 1), encoding="utf-8")

    with pytest.raises(SiteError, match=re.escape(expected)) as info:
        load_site(path)

    assert str(info.value).startswith(f"{path}: ")
    assert "\n" not in str(info.value)


def test_several_errors_are_counted_on_the_same_line() -> None:
    text = MINIMAL.replace("criticality: 4", "criticality: 9").replace(
        "latitude: 47.0", "latitude: 99"
    )

    with pytest.raises(SiteError, match=r"^<string>: latitude: .* \(and 1 more error\)$"):
        parse_site(text)


def test_the_top_level_must_be_a_mapping() -> None:
    with pytest.raises(SiteError, match="x.yaml: the file must be a YAML mapping"):
        parse_site("- just\n- a list\n", source="x.yaml")


def test_a_missing_file_or_unknown_site_name_is_a_site_error(tmp_path: Path) -> None:
    with pytest.raises(SiteError, match="nowhere.yaml: site file not found"):
        load_site(tmp_path / "nowhere.yaml")
    with pytest.raises(SiteError, match="unknown site 'paris'.*packaged: besancon"):
        load_site("paris")
