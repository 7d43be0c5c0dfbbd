"""The site model: Site > Building > Equipment > Point.

Equipment kinds are Brick classes (``AHU``, ``Pump``, ``Chiller``, ``Heat_Exchanger``, ``Fan``,
``Boiler``, ``Meter``...); point kinds are Brick point classes (``Supply_Air_Temperature_Sensor``,
``Filter_Differential_Pressure_Sensor``...). Units are SI, written as UCUM-like codes
(``Cel``, ``Pa``, ``m3/s``, ``kW``, ``kWh``, ``%``, ``ppm``, ``mm/s``, ``1`` for 0/1 states).

Point ids are stable strings ``site/building/equipment/point``; equipment ids are
``site/building/equipment``. The loader builds them from the short local names.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

_LOCAL_NAME = re.compile(r"^[a-z0-9][a-z0-9_.-]*$")


def _check_local_name(value: str) -> str:
    if not _LOCAL_NAME.match(value):
        raise ValueError(
            f"{value!r} is not a valid name (lower-case letters, digits, '-', '_', '.'; "
            "no '/' or spaces)"
        )
    return value


class Point(BaseModel):
    """One measured or commanded signal of a piece of equipment."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(title="Point id", description="site/building/equipment/point")
    name: str = Field(title="Local name", description="Last path element of the id, e.g. 'sat'.")
    equipment: str = Field(title="Equipment id", description="site/building/equipment")
    kind: str = Field(title="Brick point class", description="e.g. Supply_Air_Temperature_Sensor")
    unit: str = Field(title="SI unit", description="UCUM-like code: Cel, Pa, m3/s, kW, %, ppm, 1")
    description: str = Field(default="", title="Description")
    low: float | None = Field(default=None, title="Plausible minimum [unit]")
    high: float | None = Field(default=None, title="Plausible maximum [unit]")
    source: dict[str, Any] = Field(
        default_factory=dict,
        title="Connector address",
        description="Where a connector reads it: {'connector': 'bacnet', 'device': 1001, "
        "'object': 'analog-input,1', ...}; keys depend on the connector.",
    )


class Equipment(BaseModel):
    """A maintainable asset (air-handling unit, pump, chiller, heat exchanger, meter, zone...)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(title="Equipment id", description="site/building/equipment")
    name: str = Field(title="Local name")
    site: str
    building: str
    kind: str = Field(title="Brick equipment class", description="AHU, Pump, Chiller, ...")
    label: str = Field(default="", title="Human-readable label (French)")
    criticality: int = Field(default=3, ge=1, le=5, title="Criticality 1 (low) - 5 (high)")
    installed: dt.date | None = Field(default=None, title="Installation date")
    nominal_life_years: float | None = Field(default=None, gt=0, title="Nominal life [years]")
    feeds: tuple[str, ...] = Field(default=(), title="Local names of equipment this one feeds")
    parameters: dict[str, float | str] = Field(
        default_factory=dict,
        title="Design parameters",
        description="Nameplate values used by physics models, e.g. design_flow_m3_s.",
    )
    points: tuple[Point, ...] = ()


class Building(BaseModel):
    """A building of a site."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(title="Building id", description="site/building")
    name: str
    label: str = ""
    floor_area_m2: float | None = Field(default=None, gt=0)
    equipment: tuple[Equipment, ...] = ()


class Site(BaseModel):
    """A site: a set of buildings at one address, with its location and time zone."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(title="Site id", description="Short lower-case name, e.g. 'besancon'.")
    label: str = ""
    timezone: str = Field(default="Europe/Paris", title="IANA time zone")
    latitude: float = Field(ge=-90, le=90)
    longitude: float = Field(ge=-180, le=180)
    elevation_m: float = 0.0
    buildings: tuple[Building, ...] = ()

    @field_validator("id")
    @classmethod
    def _valid_id(cls, value: str) -> str:
        return _check_local_name(value)

    # Lookups ------------------------------------------------------------------------------
    def all_equipment(self) -> list[Equipment]:
        return [eq for building in self.buildings for eq in building.equipment]

    def all_points(self) -> list[Point]:
        return [pt for eq in self.all_equipment() for pt in eq.points]

    def point_ids(self) -> list[str]:
        return [pt.id for pt in self.all_points()]

    def equipment_by_id(self, equipment_id: str) -> Equipment:
        from bms.errors import SiteError

        for eq in self.all_equipment():
            if eq.id == equipment_id:
                return eq
        raise SiteError(f"unknown equipment {equipment_id!r} in site {self.id!r}")

    def point_by_id(self, point_id: str) -> Point:
        from bms.errors import UnknownPointError

        for pt in self.all_points():
            if pt.id == point_id:
                return pt
        raise UnknownPointError(f"unknown point {point_id!r} in site {self.id!r}")


def check_local_name(value: str) -> str:
    """Validate a local (path element) name; raise ValueError saying what is allowed."""
    return _check_local_name(value)
