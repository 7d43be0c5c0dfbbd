"""Site <-> Brick Turtle, with rdflib (mapping: ``docs/site.md``).

Entities are ``brick:Site``, ``brick:Building``, one Brick class per equipment kind and per point
kind. Relations: ``brick:hasPart``/``brick:isPartOf`` (site > building > equipment),
``brick:hasPoint``/``brick:isPointOf``, ``brick:feeds``. Units are QUDT unit IRIs on
``brick:hasUnit`` where a mapping exists, else a ``bms:unit`` literal. Our own attributes live in
the ``bms:`` namespace (criticality, installed, nominal life, plausible range, parameters and
connector source as JSON literals, position to keep the order of the lists).
"""

from __future__ import annotations

import json
import math
from decimal import Decimal
from typing import Any

from pydantic import ValidationError
from rdflib import OWL, RDF, RDFS, XSD, Graph, Literal, Namespace, URIRef
from rdflib.term import Node

from bms.errors import SiteError
from bms.site.model import Building, Equipment, Point, Site

BRICK = Namespace("https://brickschema.org/schema/Brick#")
BMS = Namespace("https://w3id.org/bms#")
UNIT = Namespace("http://qudt.org/vocab/unit/")
GEO = Namespace("http://www.w3.org/2003/01/geo/wgs84_pos#")
ENTITY_BASE = "https://w3id.org/bms/id/"

#: UCUM-like unit code -> QUDT unit local name. Codes not listed are written as literals.
QUDT_UNITS: dict[str, str] = {
    "Cel": "DEG_C",
    "K": "K",
    "Pa": "PA",
    "kPa": "KiloPA",
    "m3/s": "M3-PER-SEC",
    "m3/h": "M3-PER-HR",
    "W": "W",
    "kW": "KiloW",
    "kWh": "KiloW-HR",
    "%": "PERCENT",
    "ppm": "PPM",
    "mm/s": "MilliM-PER-SEC",
    "V": "V",
    "A": "A",
    "Hz": "HZ",
    "W/m2": "W-PER-M2",
}
_UNIT_CODES = {UNIT[local]: code for code, local in QUDT_UNITS.items()}

#: Kinds missing from Brick 1.4, written as ``bms:`` classes under the given Brick class.
EXTENSION_CLASSES: dict[str, str] = {"Vibration_Sensor": "Sensor"}


def kind_iri(kind: str) -> URIRef:
    """The class IRI of an equipment or point kind (``brick:`` or a ``bms:`` extension)."""
    return BMS[kind] if kind in EXTENSION_CLASSES else BRICK[kind]


def entity_iri(entity_id: str) -> URIRef:
    """IRI of a site entity: ``besancon/hq/ahu-1`` -> ``https://w3id.org/bms/id/besancon/hq/ahu-1``."""
    return URIRef(ENTITY_BASE + entity_id)


def unit_node(code: str) -> tuple[URIRef, Node]:
    """The (predicate, object) pair for a unit code: a QUDT IRI when mapped, else a literal."""
    if code in QUDT_UNITS:
        return BRICK.hasUnit, UNIT[QUDT_UNITS[code]]
    return BMS.unit, Literal(code)


def _number(value: float) -> Literal:
    """An ``xsd:decimal`` literal that reads back as the same float (and reads well)."""
    if not math.isfinite(value):
        return Literal(float(value))
    return Literal(format(Decimal(repr(float(value))), "f"), datatype=XSD.decimal)


def _json(value: dict[str, Any]) -> Literal:
    return Literal(json.dumps(value, ensure_ascii=False, sort_keys=True), datatype=RDF.JSON)


def _add_point(graph: Graph, point: Point, position: int) -> None:
    node = entity_iri(point.id)
    graph.add((node, RDF.type, kind_iri(point.kind)))
    graph.add((node, BMS.name, Literal(point.name)))
    graph.add((node, BMS.position, Literal(position)))
    graph.add((node, *unit_node(point.unit)))
    if point.description:
        graph.add((node, RDFS.comment, Literal(point.description, lang="en")))
    if point.low is not None:
        graph.add((node, BMS.low, _number(point.low)))
    if point.high is not None:
        graph.add((node, BMS.high, _number(point.high)))
    if point.source:
        graph.add((node, BMS.source, _json(point.source)))


def _add_equipment(graph: Graph, building: Building, eq: Equipment, position: int) -> None:
    node = entity_iri(eq.id)
    graph.add((node, RDF.type, kind_iri(eq.kind)))
    graph.add((node, BMS.name, Literal(eq.name)))
    graph.add((node, BMS.position, Literal(position)))
    graph.add((entity_iri(building.id), BRICK.hasPart, node))
    graph.add((node, BRICK.isPartOf, entity_iri(building.id)))
    if eq.label:
        graph.add((node, RDFS.label, Literal(eq.label, lang="fr")))
    graph.add((node, BMS.criticality, Literal(eq.criticality)))
    if eq.installed is not None:
        graph.add((node, BMS.installed, Literal(eq.installed, datatype=XSD.date)))
    if eq.nominal_life_years is not None:
        graph.add((node, BMS.nominalLifeYears, _number(eq.nominal_life_years)))
    if eq.parameters:
        graph.add((node, BMS.parameters, _json(eq.parameters)))
    for target in eq.feeds:
        graph.add((node, BRICK.feeds, entity_iri(f"{building.id}/{target}")))
    for index, point in enumerate(eq.points):
        graph.add((node, BRICK.hasPoint, entity_iri(point.id)))
        graph.add((entity_iri(point.id), BRICK.isPointOf, node))
        _add_point(graph, point, index)


def to_brick_graph(site: Site) -> Graph:
    """The site as an rdflib ``Graph`` of Brick triples (see :func:`to_brick_ttl`)."""
    graph = Graph(bind_namespaces="core")
    for prefix, namespace in (("brick", BRICK), ("bms", BMS), ("unit", UNIT), ("geo", GEO)):
        graph.bind(prefix, namespace)
    used = {eq.kind for eq in site.all_equipment()} | {pt.kind for pt in site.all_points()}
    for kind in sorted(used & EXTENSION_CLASSES.keys()):
        graph.add((BMS[kind], RDF.type, OWL.Class))
        graph.add((BMS[kind], RDFS.subClassOf, BRICK[EXTENSION_CLASSES[kind]]))
    site_node = entity_iri(site.id)
    graph.add((site_node, RDF.type, BRICK.Site))
    graph.add((site_node, BMS.name, Literal(site.id)))
    if site.label:
        graph.add((site_node, RDFS.label, Literal(site.label, lang="fr")))
    graph.add((site_node, BMS.timezone, Literal(site.timezone)))
    graph.add((site_node, GEO.lat, _number(site.latitude)))
    graph.add((site_node, GEO.long, _number(site.longitude)))
    graph.add((site_node, GEO.alt, _number(site.elevation_m)))
    for b_index, building in enumerate(site.buildings):
        node = entity_iri(building.id)
        graph.add((node, RDF.type, BRICK.Building))
        graph.add((node, BMS.name, Literal(building.name)))
        graph.add((node, BMS.position, Literal(b_index)))
        graph.add((site_node, BRICK.hasPart, node))
        graph.add((node, BRICK.isPartOf, site_node))
        if building.label:
            graph.add((node, RDFS.label, Literal(building.label, lang="fr")))
        if building.floor_area_m2 is not None:
            graph.add((node, BMS.floorAreaM2, _number(building.floor_area_m2)))
        for e_index, eq in enumerate(building.equipment):
            _add_equipment(graph, building, eq, e_index)
    return graph


def to_brick_ttl(site: Site) -> str:
    """Serialise a site to Brick Turtle.

    Parameters
    ----------
    site : Site
        The site model.

    Returns
    -------
    str
        Turtle text; ``from_brick_ttl`` reads it back into an equal ``Site``.
    """
    return to_brick_graph(site).serialize(format="turtle")


# -- Import ---------------------------------------------------------------------------------------
class _Reader:
    """Reads entities of a parsed graph; raises SiteError naming the entity and predicate."""

    def __init__(self, graph: Graph, source: str) -> None:
        self.graph = graph
        self.source = source

    def fail(self, node: Node, message: str) -> SiteError:
        return SiteError(f"{self.source}: <{node}>: {message}")

    def value(self, node: Node, predicate: URIRef, default: Any = None) -> Any:
        values = list(self.graph.objects(node, predicate))
        if len(values) > 1:
            raise self.fail(
                node, f"several values for {predicate.n3(self.graph.namespace_manager)}"
            )
        if not values:
            return default
        obj = values[0]
        if isinstance(obj, Literal):
            if obj.datatype == RDF.JSON:
                try:
                    return json.loads(str(obj))
                except json.JSONDecodeError:
                    raise self.fail(node, f"{predicate} is not valid JSON") from None
            python = obj.toPython()
            return str(obj) if isinstance(python, Literal) else python
        return obj

    def name(self, node: Node) -> str:
        name = self.value(node, BMS.name)
        if name is None:  # a foreign model: use the last segment of the IRI
            name = str(node).rstrip("/").rsplit("/", 1)[-1].rsplit("#", 1)[-1]
        return str(name)

    def kind(self, node: Node) -> str:
        namespaces = (str(BRICK), str(BMS))
        kinds = sorted(
            str(t).rsplit("#", 1)[-1]
            for t in self.graph.objects(node, RDF.type)
            if isinstance(t, URIRef) and str(t).startswith(namespaces)
        )
        if len(kinds) != 1:
            raise self.fail(node, f"needs exactly one Brick class, found {len(kinds)}")
        return kinds[0]

    def children(self, parent: Node, down: URIRef, up: URIRef) -> list[Node]:
        nodes = set(self.graph.objects(parent, down)) | set(self.graph.subjects(up, parent))
        return sorted(nodes, key=lambda n: (self.value(n, BMS.position, 1 << 30), self.name(n)))

    def unit(self, node: Node) -> str:
        iri = self.value(node, BRICK.hasUnit)
        if iri is not None:
            if iri not in _UNIT_CODES:
                raise self.fail(node, f"unit {iri} has no known unit code")
            return _UNIT_CODES[iri]
        code = self.value(node, BMS.unit)
        if code is None:
            raise self.fail(node, "no unit (brick:hasUnit or bms:unit)")
        return str(code)


def _read_equipment(reader: _Reader, site_id: str, b_name: str, node: Node) -> Equipment:
    eq_id = f"{site_id}/{b_name}/{reader.name(node)}"
    points = tuple(
        Point(
            id=f"{eq_id}/{reader.name(p)}",
            name=reader.name(p),
            equipment=eq_id,
            kind=reader.kind(p),
            unit=reader.unit(p),
            description=str(reader.value(p, RDFS.comment, "")),
            low=reader.value(p, BMS.low),
            high=reader.value(p, BMS.high),
            source=reader.value(p, BMS.source, {}),
        )
        for p in reader.children(node, BRICK.hasPoint, BRICK.isPointOf)
    )
    feeds = reader.children(node, BRICK.feeds, BRICK.isFedBy)
    return Equipment(
        id=eq_id,
        name=reader.name(node),
        site=site_id,
        building=b_name,
        kind=reader.kind(node),
        label=str(reader.value(node, RDFS.label, "")),
        criticality=reader.value(node, BMS.criticality, 3),
        installed=reader.value(node, BMS.installed),
        nominal_life_years=reader.value(node, BMS.nominalLifeYears),
        feeds=tuple(reader.name(f) for f in feeds),
        parameters=reader.value(node, BMS.parameters, {}),
        points=points,
    )


def from_brick_ttl(text: str, source: str = "<turtle>") -> Site:
    """Read a site from Brick Turtle (as written by :func:`to_brick_ttl`).

    Parameters
    ----------
    text : str
        Turtle text holding exactly one ``brick:Site``.
    source : str
        Name used in error messages.

    Returns
    -------
    Site
        The site; building, equipment and point order follows ``bms:position`` (then name).

    Raises
    ------
    SiteError
        Turtle syntax error, no or several sites, or an entity that does not fit the model.
    """
    graph = Graph()
    try:
        graph.parse(data=text, format="turtle")
    except Exception as exc:  # rdflib raises parser-specific exception types
        raise SiteError(f"{source}: Turtle syntax error: {' '.join(str(exc).split())}") from None
    reader = _Reader(graph, source)
    sites = sorted(graph.subjects(RDF.type, BRICK.Site))
    if len(sites) != 1:
        raise SiteError(f"{source}: expected exactly one brick:Site, found {len(sites)}")
    site_node = sites[0]
    site_id = reader.name(site_node)
    try:
        buildings = []
        for b_node in reader.children(site_node, BRICK.hasPart, BRICK.isPartOf):
            b_name = reader.name(b_node)
            equipment = reader.children(b_node, BRICK.hasPart, BRICK.isPartOf)
            buildings.append(
                Building(
                    id=f"{site_id}/{b_name}",
                    name=b_name,
                    label=str(reader.value(b_node, RDFS.label, "")),
                    floor_area_m2=reader.value(b_node, BMS.floorAreaM2),
                    equipment=tuple(_read_equipment(reader, site_id, b_name, e) for e in equipment),
                )
            )
        return Site(
            id=site_id,
            label=str(reader.value(site_node, RDFS.label, "")),
            timezone=str(reader.value(site_node, BMS.timezone, "Europe/Paris")),
            latitude=reader.value(site_node, GEO.lat),
            longitude=reader.value(site_node, GEO.long),
            elevation_m=reader.value(site_node, GEO.alt, 0.0),
            buildings=tuple(buildings),
        )
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise SiteError(f"{source}: {exc.title}.{where}: {first['msg']}") from None
