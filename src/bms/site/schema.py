"""The YAML schema of a site file (what a user writes) and one-line validation messages.

Ids are never written in the file: :mod:`bms.site.loader` derives them from the local names.
Format: ``docs/site.md``.
"""

from __future__ import annotations

import datetime as dt
import re
import zoneinfo

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from bms.site.model import check_local_name

_DEV_EUI = re.compile(r"^[0-9A-Fa-f]{16}$")
Source = dict[str, str | int | float | bool]


def _check_source(source: Source) -> Source:
    """Catch the classic YAML trap: an unquoted all-digit EUI read as a number."""
    dev_eui = source.get("dev_eui")
    if dev_eui is not None and not (isinstance(dev_eui, str) and _DEV_EUI.match(dev_eui)):
        raise ValueError(
            f"dev_eui must be 16 hex digits written as a quoted string, not {dev_eui!r}"
        )
    return source


# -- The YAML schema (what a user writes; ids are derived, never written) ----------------------
class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PointSpec(_Spec):
    """A point in a template or an equipment's ``points`` list."""

    name: str
    kind: str | None = None
    unit: str | None = None
    description: str = ""
    low: float | None = None
    high: float | None = None
    source: Source = Field(default_factory=dict)

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        return check_local_name(value)

    _source = field_validator("source")(_check_source)

    @field_validator("kind", "unit")
    @classmethod
    def _not_blank(cls, value: str | None) -> str | None:
        if value is not None and not value.strip():
            raise ValueError("must not be empty")
        return value


class EquipmentSpec(_Spec):
    """An equipment entry of a building."""

    name: str
    kind: str
    template: str | None = None
    label: str = ""
    criticality: int = 3
    installed: dt.date | None = None
    nominal_life_years: float | None = Field(default=None, gt=0)
    feeds: list[str] = Field(default_factory=list)
    parameters: dict[str, float | str] = Field(default_factory=dict)
    source: Source = Field(default_factory=dict)
    address_offset: int = 0
    points: list[PointSpec] = Field(default_factory=list)

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        return check_local_name(value)

    _source = field_validator("source")(_check_source)

    @field_validator("criticality")
    @classmethod
    def _criticality(cls, value: int) -> int:
        if not 1 <= value <= 5:
            raise ValueError("must be between 1 and 5")
        return value


class BuildingSpec(_Spec):
    """A building entry of the site."""

    name: str
    label: str = ""
    floor_area_m2: float | None = Field(default=None, gt=0)
    equipment: list[EquipmentSpec] = Field(default_factory=list)

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        return check_local_name(value)


class SiteSpec(_Spec):
    """The whole site file."""

    id: str
    label: str = ""
    timezone: str = "Europe/Paris"
    latitude: float = Field(ge=-90, le=90)
    longitude: float = Field(ge=-180, le=180)
    elevation_m: float = 0.0
    templates: dict[str, list[PointSpec]] = Field(default_factory=dict)
    buildings: list[BuildingSpec] = Field(default_factory=list)

    @field_validator("id")
    @classmethod
    def _id(cls, value: str) -> str:
        return check_local_name(value)

    @field_validator("timezone")
    @classmethod
    def _timezone(cls, value: str) -> str:
        try:
            zoneinfo.ZoneInfo(value)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown IANA time zone {value!r}") from None
        return value


# -- Error formatting ---------------------------------------------------------------------------
def format_loc(loc: tuple[int | str, ...]) -> str:
    """``('buildings', 0, 'equipment', 2, 'criticality')`` -> ``buildings[0].equipment[2]...``."""
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "(top level)"


_PYDANTIC_MESSAGES = {
    "missing": "required field missing",
    "extra_forbidden": "unknown key (see docs/site.md for the allowed keys)",
}
_UNION_TAGS = {"str", "int", "float", "bool"}


def validation_error_line(source: str, error: ValidationError) -> str:
    """One line for a pydantic ``ValidationError``: ``file: path: message (+N more errors)``."""
    errors = error.errors()
    first = errors[0]
    loc = tuple(first["loc"])
    # dict[str, float | str] reports one error per union member: drop the member tags.
    while loc and isinstance(loc[-1], str) and loc[-1] in _UNION_TAGS and len(loc) > 1:
        loc = loc[:-1]
    message = _PYDANTIC_MESSAGES.get(first["type"], first["msg"])
    message = message.removeprefix("Value error, ")
    others = len({tuple(e["loc"])[: len(loc)] for e in errors}) - 1
    more = f" (and {others} more error{'s' if others > 1 else ''})" if others > 0 else ""
    return f"{source}: {format_loc(loc)}: {message}{more}"
