"""Brick Turtle export and import: the round trip is exact, the graph is queryable Brick."""

from __future__ import annotations

from pathlib import Path

import pytest
from rdflib import Graph, Literal

from bms.errors import SiteError
from bms.site import Site, from_brick_ttl, load_site, to_brick_ttl
from bms.site.brick import BMS, BRICK, UNIT, entity_iri

SITES = Path(__file__).resolve().parents[1] / "data" / "sites"


@pytest.fixture(scope="module")
def site() -> Site:
    return load_site("besancon")


@pytest.fixture(scope="module")
def ttl(site: Site) -> str:
    return to_brick_ttl(site)


@pytest.fixture(scope="module")
def graph(ttl: str) -> Graph:
    return Graph().parse(data=ttl, format="turtle")


def test_besancon_round_trips_exactly(site: Site, ttl: str) -> None:
    assert from_brick_ttl(ttl) == site


def test_small_site_round_trips_exactly() -> None:
    site = load_site(SITES / "minimal.yaml")

    assert from_brick_ttl(to_brick_ttl(site)) == site


def test_sparql_finds_the_three_ahus(graph: Graph) -> None:
    rows = graph.query("PREFIX brick: <https://brickschema.org/schema/Brick#> "
                       "SELECT ?ahu WHERE { ?ahu a brick:AHU }")  # fmt: skip

    assert sorted(str(row.ahu) for row in rows) == [
        str(entity_iri(f"besancon/hq/ahu-{i}")) for i in (1, 2, 3)
    ]


def test_points_and_parts_are_linked_both_ways(graph: Graph) -> None:
    ahu = entity_iri("besancon/hq/ahu-1")
    sat = entity_iri("besancon/hq/ahu-1/sat")
    hq = entity_iri("besancon/hq")

    assert (ahu, BRICK.hasPoint, sat) in graph
    assert (sat, BRICK.isPointOf, ahu) in graph
    assert (hq, BRICK.hasPart, ahu) in graph
    assert (ahu, BRICK.isPartOf, hq) in graph
    assert (entity_iri("besancon"), BRICK.hasPart, hq) in graph
    assert (ahu, BRICK.feeds, entity_iri("besancon/hq/zone-01")) in graph


def test_units_are_qudt_iris_and_unmapped_units_are_literals(graph: Graph) -> None:
    def unit_of(point: str) -> set:
        return set(graph.objects(entity_iri(point), BRICK.hasUnit))

    assert unit_of("besancon/hq/ahu-1/sat") == {UNIT.DEG_C}
    assert unit_of("besancon/hq/ahu-1/filter_dp") == {UNIT.PA}
    assert unit_of("besancon/hq/pump-1/vibration") == {UNIT["MilliM-PER-SEC"]}
    assert unit_of("besancon/hq/zone-01/co2") == {UNIT.PPM}
    status = entity_iri("besancon/hq/pump-1/status")
    assert unit_of("besancon/hq/pump-1/status") == set()
    assert set(graph.objects(status, BMS.unit)) == {Literal("1")}


def test_sparql_finds_pump_vibration_sensors_through_the_extension_class(graph: Graph) -> None:
    query = """
        PREFIX brick: <https://brickschema.org/schema/Brick#>
        PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
        SELECT ?point ?unit WHERE {
            ?pump a brick:Pump ; brick:hasPoint ?point .
            ?point a ?class ; brick:hasUnit ?unit .
            ?class rdfs:subClassOf brick:Sensor .
        }"""
    rows = list(graph.query(query))

    assert len(rows) == 4
    assert {row.unit for row in rows} == {UNIT["MilliM-PER-SEC"]}


def test_a_turtle_syntax_error_is_one_line() -> None:
    with pytest.raises(SiteError, match=r"^x.ttl: Turtle syntax error: [^\n]+$"):
        from_brick_ttl("<a> <b> .", source="x.ttl")


def test_turtle_without_a_site_is_refused() -> None:
    with pytest.raises(SiteError, match="expected exactly one brick:Site, found 0"):
        from_brick_ttl(
            "@prefix brick: <https://brickschema.org/schema/Brick#> .\n<a> a brick:AHU ."
        )


def test_load_site_reads_ttl_files(tmp_path: Path, site: Site, ttl: str) -> None:
    path = tmp_path / "besancon.ttl"
    path.write_text(ttl, encoding="utf-8")

    assert load_site(path) == site


def test_a_foreign_brick_model_is_read_with_names_from_its_iris() -> None:
    text = """
        @prefix brick: <https://brickschema.org/schema/Brick#> .
        @prefix unit: <http://qudt.org/vocab/unit/> .
        @prefix geo: <http://www.w3.org/2003/01/geo/wgs84_pos#> .
        @prefix ex: <http://example.org/dijon#> .
        ex:dijon a brick:Site ; geo:lat 47.32 ; geo:long 5.04 ; brick:hasPart ex:main .
        ex:main a brick:Building .
        ex:ahu1 a brick:AHU ; brick:isPartOf ex:main ; brick:hasPoint ex:sat .
        ex:sat a brick:Supply_Air_Temperature_Sensor ; brick:hasUnit unit:DEG_C .
    """
    site = from_brick_ttl(text)

    assert site.point_ids() == ["dijon/main/ahu1/sat"]
    assert site.point_by_id("dijon/main/ahu1/sat").unit == "Cel"
    assert site.all_equipment()[0].criticality == 3


def test_a_point_without_unit_is_refused() -> None:
    graph = Graph().parse(data=to_brick_ttl(load_site(SITES / "minimal.yaml")), format="turtle")
    graph.remove((entity_iri("demo/main/pump-1/status"), BMS.unit, None))
    text = graph.serialize(format="turtle")

    with pytest.raises(SiteError, match=r"pump-1/status>: no unit"):
        from_brick_ttl(text)
