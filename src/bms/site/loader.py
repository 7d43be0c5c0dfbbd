"""Load a site model from YAML (format: ``docs/site.md``).

``load_site("besancon")`` loads the packaged Besançon site; ``load_site("path/site.yaml")`` a file
(``.ttl`` files are read as Brick Turtle). Every mistake in the file raises :class:`SiteError`
with one line naming the file and the path of the bad field, e.g.
``site.yaml: buildings[0].equipment[2].criticality: must be between 1 and 5``.
"""

from __future__ import annotations

import importlib.resources
import logging
import re
from collections import Counter
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from bms.errors import SiteError
from bms.site.model import Building, Equipment, Point, Site
from bms.site.schema import (
    BuildingSpec,
    EquipmentSpec,
    PointSpec,
    SiteSpec,
    format_loc,
    validation_error_line,
)

logger = logging.getLogger(__name__)

PACKAGED_SITES = ("besancon",)
_BACNET_OBJECT = re.compile(r"^(?P<type>[a-z-]+),(?P<instance>\d+)$")


class _FieldError(Exception):
    """A semantic error found while building the site: a field path and a message."""

    def __init__(self, loc: tuple[int | str, ...], message: str) -> None:
        super().__init__(message)
        self.loc = loc
        self.message = message


# -- YAML reading -------------------------------------------------------------------------------
class _StrictLoader(yaml.SafeLoader):
    """A SafeLoader that refuses duplicate keys instead of keeping the last one silently."""


def _construct_mapping(loader: _StrictLoader, node: yaml.MappingNode, deep: bool = False) -> dict:
    seen: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r}", key_node.start_mark
            )
        seen.add(key)
    return yaml.SafeLoader.construct_mapping(loader, node, deep=deep)


def _construct_timestamp(loader: _StrictLoader, node: yaml.ScalarNode) -> Any:
    """A date-like scalar that is not a real date (2010-13-01) stays a string for pydantic."""
    try:
        return yaml.SafeLoader.construct_yaml_timestamp(loader, node)
    except ValueError:
        return loader.construct_scalar(node)


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
_StrictLoader.add_constructor("tag:yaml.org,2002:timestamp", _construct_timestamp)


def _read_yaml(text: str, source: str) -> dict[str, Any]:
    try:
        data = yaml.load(text, Loader=_StrictLoader)  # a SafeLoader subclass: safe
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        raise SiteError(f"{source}: {where}YAML syntax error: {exc.problem}") from None
    except yaml.YAMLError as exc:
        raise SiteError(f"{source}: YAML syntax error: {' '.join(str(exc).split())}") from None
    if not isinstance(data, dict):
        raise SiteError(f"{source}: the file must be a YAML mapping (id, latitude, buildings...)")
    return data


# -- Building the Site --------------------------------------------------------------------------
def _offset_source(source: dict[str, Any], offset: int) -> dict[str, Any]:
    """Add ``offset`` to a Modbus ``address`` and to a BACnet object instance."""
    if not offset:
        return source
    shifted = dict(source)
    if isinstance(shifted.get("address"), int):
        shifted["address"] += offset
    match = _BACNET_OBJECT.match(str(shifted.get("object", "")))
    if match:
        shifted["object"] = f"{match['type']},{int(match['instance']) + offset}"
    return shifted


def _check_unique(names: list[str], loc: tuple[int | str, ...], what: str) -> None:
    seen: set[str] = set()
    for index, name in enumerate(names):
        if name in seen:
            raise _FieldError((*loc, index, "name"), f"duplicate {what} name {name!r}")
        seen.add(name)


def _check_point(spec: PointSpec, loc: tuple[int | str, ...]) -> None:
    for field in ("kind", "unit"):
        if getattr(spec, field) is None:
            raise _FieldError((*loc, field), "required field missing")
    if spec.low is not None and spec.high is not None and spec.low > spec.high:
        raise _FieldError((*loc, "low"), f"low ({spec.low:g}) must not exceed high ({spec.high:g})")


def _merge_points(
    eq: EquipmentSpec, templates: dict[str, list[PointSpec]], loc: tuple[int | str, ...]
) -> list[dict[str, Any]]:
    """The equipment's points: its template's, overridden field by field by its own list."""
    _check_unique([p.name for p in eq.points], (*loc, "points"), "point")
    merged: dict[str, dict[str, Any]] = {}
    if eq.template is not None:
        if eq.template not in templates:
            known = ", ".join(sorted(templates)) or "none defined"
            raise _FieldError(
                (*loc, "template"), f"unknown template {eq.template!r} (known: {known})"
            )
        for spec in templates[eq.template]:
            merged[spec.name] = spec.model_dump()
    for index, spec in enumerate(eq.points):
        own = spec.model_dump(exclude_unset=True)
        base = merged.get(spec.name, {})
        source = {**base.get("source", {}), **own.pop("source", {})}
        merged[spec.name] = {**base, **own, "source": source}
        point_loc = (*loc, "points", index)
        _check_point(PointSpec(**merged[spec.name]), point_loc)
    points = []
    for fields in merged.values():
        fields["source"] = _offset_source({**eq.source, **fields["source"]}, eq.address_offset)
        points.append(fields)
    return points


def _build_equipment(
    site_id: str, building: BuildingSpec, b_index: int, templates: dict[str, list[PointSpec]]
) -> tuple[Equipment, ...]:
    loc_b: tuple[int | str, ...] = ("buildings", b_index, "equipment")
    names = [eq.name for eq in building.equipment]
    _check_unique(names, loc_b, "equipment")
    position = {name: i for i, name in enumerate(names)}
    result = []
    for e_index, eq in enumerate(building.equipment):
        loc = (*loc_b, e_index)
        for f_index, target in enumerate(eq.feeds):
            if target not in position:
                raise _FieldError((*loc, "feeds", f_index), f"unknown equipment {target!r}")
            if eq.feeds.index(target) != f_index:
                raise _FieldError((*loc, "feeds", f_index), f"duplicate equipment {target!r}")
        served_by = eq.parameters.get("served_by")
        if served_by is not None and served_by not in position:
            raise _FieldError((*loc, "parameters", "served_by"), f"unknown equipment {served_by!r}")
        eq_id = f"{site_id}/{building.name}/{eq.name}"
        points = tuple(
            Point(id=f"{eq_id}/{fields['name']}", equipment=eq_id, **fields)
            for fields in _merge_points(eq, templates, loc)
        )
        result.append(
            Equipment(
                id=eq_id,
                name=eq.name,
                site=site_id,
                building=building.name,
                kind=eq.kind,
                label=eq.label,
                criticality=eq.criticality,
                installed=eq.installed,
                nominal_life_years=eq.nominal_life_years,
                feeds=tuple(sorted(eq.feeds, key=position.__getitem__)),
                parameters=eq.parameters,
                points=points,
            )
        )
    return tuple(result)


def _build_site(spec: SiteSpec) -> Site:
    """Build the :class:`Site` (ids, merged templates) from a validated :class:`SiteSpec`.

    Raises ``_FieldError`` with the field path of the first semantic error.
    """
    for name, template in spec.templates.items():
        check_name = ("templates", name)
        _check_unique([p.name for p in template], check_name, "point")
        for index, point in enumerate(template):
            _check_point(point, (*check_name, index))
    _check_unique([b.name for b in spec.buildings], ("buildings",), "building")
    buildings = tuple(
        Building(
            id=f"{spec.id}/{b.name}",
            name=b.name,
            label=b.label,
            floor_area_m2=b.floor_area_m2,
            equipment=_build_equipment(spec.id, b, b_index, spec.templates),
        )
        for b_index, b in enumerate(spec.buildings)
    )
    fields = spec.model_dump(exclude={"templates", "buildings"})
    return Site(**fields, buildings=buildings)


def parse_site(text: str, source: str = "<string>") -> Site:
    """Parse a site from YAML text.

    Parameters
    ----------
    text : str
        The YAML document (format: ``docs/site.md``).
    source : str
        Name used in error messages, usually the file name.

    Returns
    -------
    Site
        The validated site with ids ``site/building/equipment/point``.

    Raises
    ------
    SiteError
        One line naming ``source`` and the path of the first bad field.
    """
    data = _read_yaml(text, source)
    try:
        spec = SiteSpec.model_validate(data)
        return _build_site(spec)
    except ValidationError as exc:
        raise SiteError(validation_error_line(source, exc)) from None
    except _FieldError as exc:
        raise SiteError(f"{source}: {format_loc(exc.loc)}: {exc.message}") from None


def packaged_site_path(name: str) -> Path:
    """Path of a packaged site YAML (``besancon`` -> ``.../bms/site/data/besancon.yaml``)."""
    if name not in PACKAGED_SITES:
        raise SiteError(
            f"unknown site {name!r}: not a file and not a packaged site "
            f"(packaged: {', '.join(PACKAGED_SITES)})"
        )
    return Path(str(importlib.resources.files("bms.site") / "data" / f"{name}.yaml"))


def load_site(path_or_name: str | Path) -> Site:
    """Load a site from a YAML or Brick Turtle file, or a packaged site by name.

    Parameters
    ----------
    path_or_name : str or Path
        A ``.yaml``/``.yml`` file, a ``.ttl`` Brick Turtle file, or the name of a packaged site
        (``"besancon"``).

    Returns
    -------
    Site
        The validated site.

    Raises
    ------
    SiteError
        The file is missing or malformed (one line naming the file and the bad field).
    """
    path = Path(path_or_name)
    label = str(path_or_name)
    if isinstance(path_or_name, str) and not path.suffix and not path.exists():
        path = packaged_site_path(path_or_name)
        label = path.name
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SiteError(f"{label}: site file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SiteError(f"{label}: cannot read the site file ({exc.__class__.__name__})") from None
    if path.suffix.lower() == ".ttl":
        from bms.site.brick import from_brick_ttl

        site = from_brick_ttl(text, source=label)
    else:
        site = parse_site(text, source=label)
    logger.debug("loaded site %s from %s: %d points", site.id, label, len(site.all_points()))
    return site


def summarise_site(site: Site) -> dict[str, Any]:
    """Counts for a summary: buildings, equipment (total and by kind), points (by connector).

    Returns
    -------
    dict
        ``{"site", "label", "buildings", "equipment", "equipment_by_kind", "points",
        "points_by_connector"}``; the ``*_by_*`` mappings are sorted by key.
    """
    equipment = site.all_equipment()
    points = site.all_points()
    by_kind = Counter(eq.kind for eq in equipment)
    by_connector = Counter(str(pt.source.get("connector", "none")) for pt in points)
    return {
        "site": site.id,
        "label": site.label,
        "buildings": len(site.buildings),
        "equipment": len(equipment),
        "equipment_by_kind": dict(sorted(by_kind.items())),
        "points": len(points),
        "points_by_connector": dict(sorted(by_connector.items())),
    }
