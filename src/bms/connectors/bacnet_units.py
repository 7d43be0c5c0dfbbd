"""BACnet engineering units -> the SI (UCUM-like) codes of the site model, and conversions.

A BACnet object says its unit in its ``units`` property (an ``EngineeringUnits`` name such as
``degrees-fahrenheit``). :data:`BACNET_UNITS` maps each name to ``(code, scale, offset)``: the
site-model unit code and the affine conversion ``si = raw * scale + offset``. Points of the site
model may use another code of the same quantity (``W`` rather than ``kW``, ``K`` rather than
``Cel``): :data:`SI_CONVERSIONS` goes from one code to another. :func:`conversion` composes both.

Quantities are converted to the units the site model uses by default: temperatures to ``Cel``,
temperature differences to ``K``, pressures to ``Pa``, volume flows to ``m3/s``, powers to
``kW``, energies to ``kWh``, fractions to ``%``.
"""

from __future__ import annotations

from typing import NamedTuple

_F = 5.0 / 9.0
_PSI_PA = 6894.757293168
_INH2O_PA = 249.08891
_CFM_M3S = 0.000471947443
_GPM_M3S = 6.30901964e-5
_BTU_KJ = 1.05505585262


class Conversion(NamedTuple):
    """An affine unit conversion ``to = from * scale + offset``."""

    scale: float
    offset: float

    def apply(self, value: float) -> float:
        return value * self.scale + self.offset

    def invert(self, value: float) -> float:
        return (value - self.offset) / self.scale


#: BACnet EngineeringUnits name -> (site-model unit code, scale, offset): si = raw*scale+offset.
BACNET_UNITS: dict[str, tuple[str, float, float]] = {
    # temperature
    "degrees-celsius": ("Cel", 1.0, 0.0),
    "degrees-fahrenheit": ("Cel", _F, -32.0 * _F),
    "degrees-kelvin": ("Cel", 1.0, -273.15),
    "delta-degrees-kelvin": ("K", 1.0, 0.0),
    "delta-degrees-fahrenheit": ("K", _F, 0.0),
    # pressure
    "pascals": ("Pa", 1.0, 0.0),
    "hectopascals": ("Pa", 100.0, 0.0),
    "kilopascals": ("Pa", 1000.0, 0.0),
    "millibars": ("Pa", 100.0, 0.0),
    "bars": ("Pa", 1.0e5, 0.0),
    "pounds-force-per-square-inch": ("Pa", _PSI_PA, 0.0),
    "inches-of-water": ("Pa", _INH2O_PA, 0.0),
    "millimeters-of-water": ("Pa", 9.80665, 0.0),
    "centimeters-of-water": ("Pa", 98.0665, 0.0),
    # volume flow
    "cubic-meters-per-second": ("m3/s", 1.0, 0.0),
    "cubic-meters-per-minute": ("m3/s", 1.0 / 60.0, 0.0),
    "cubic-meters-per-hour": ("m3/s", 1.0 / 3600.0, 0.0),
    "liters-per-second": ("m3/s", 1.0e-3, 0.0),
    "liters-per-minute": ("m3/s", 1.0e-3 / 60.0, 0.0),
    "liters-per-hour": ("m3/s", 1.0e-3 / 3600.0, 0.0),
    "cubic-feet-per-minute": ("m3/s", _CFM_M3S, 0.0),
    "us-gallons-per-minute": ("m3/s", _GPM_M3S, 0.0),
    # power
    "watts": ("kW", 1.0e-3, 0.0),
    "kilowatts": ("kW", 1.0, 0.0),
    "megawatts": ("kW", 1.0e3, 0.0),
    "btus-per-hour": ("kW", _BTU_KJ / 3600.0, 0.0),
    "kilo-btus-per-hour": ("kW", _BTU_KJ * 1000.0 / 3600.0, 0.0),
    "tons-refrigeration": ("kW", 3.516852842, 0.0),
    "horsepower": ("kW", 0.745699872, 0.0),
    # energy
    "watt-hours": ("kWh", 1.0e-3, 0.0),
    "kilowatt-hours": ("kWh", 1.0, 0.0),
    "megawatt-hours": ("kWh", 1.0e3, 0.0),
    "kilojoules": ("kWh", 1.0 / 3600.0, 0.0),
    "megajoules": ("kWh", 1.0 / 3.6, 0.0),
    "joules": ("kWh", 1.0 / 3.6e6, 0.0),
    # electrical
    "volts": ("V", 1.0, 0.0),
    "millivolts": ("V", 1.0e-3, 0.0),
    "kilovolts": ("V", 1.0e3, 0.0),
    "amperes": ("A", 1.0, 0.0),
    "milliamperes": ("A", 1.0e-3, 0.0),
    "hertz": ("Hz", 1.0, 0.0),
    "power-factor": ("1", 1.0, 0.0),
    # fractions and concentrations
    "percent": ("%", 1.0, 0.0),
    "percent-relative-humidity": ("%", 1.0, 0.0),
    "per-mille": ("%", 0.1, 0.0),
    "parts-per-million": ("ppm", 1.0, 0.0),
    "parts-per-billion": ("ppm", 1.0e-3, 0.0),
    "no-units": ("1", 1.0, 0.0),
    # irradiance, speed, vibration, rotation
    "watts-per-square-meter": ("W/m2", 1.0, 0.0),
    "meters-per-second": ("m/s", 1.0, 0.0),
    "kilometers-per-hour": ("m/s", 1.0 / 3.6, 0.0),
    "millimeters-per-second": ("mm/s", 1.0, 0.0),
    "revolutions-per-minute": ("rpm", 1.0, 0.0),
    # time
    "seconds": ("s", 1.0, 0.0),
    "minutes": ("s", 60.0, 0.0),
    "hours": ("h", 1.0, 0.0),
    # mass flow, volume
    "kilograms-per-second": ("kg/s", 1.0, 0.0),
    "kilograms-per-hour": ("kg/s", 1.0 / 3600.0, 0.0),
    "cubic-meters": ("m3", 1.0, 0.0),
    "liters": ("m3", 1.0e-3, 0.0),
}

#: (from code, to code) -> Conversion, between codes of the same quantity.
SI_CONVERSIONS: dict[tuple[str, str], Conversion] = {
    ("kW", "W"): Conversion(1.0e3, 0.0),
    ("kW", "MW"): Conversion(1.0e-3, 0.0),
    ("kWh", "Wh"): Conversion(1.0e3, 0.0),
    ("kWh", "MWh"): Conversion(1.0e-3, 0.0),
    ("kWh", "J"): Conversion(3.6e6, 0.0),
    ("Pa", "kPa"): Conversion(1.0e-3, 0.0),
    ("Pa", "hPa"): Conversion(1.0e-2, 0.0),
    ("Pa", "bar"): Conversion(1.0e-5, 0.0),
    ("m3/s", "m3/h"): Conversion(3600.0, 0.0),
    ("m3/s", "L/s"): Conversion(1.0e3, 0.0),
    ("Cel", "K"): Conversion(1.0, 273.15),
    ("s", "min"): Conversion(1.0 / 60.0, 0.0),
    ("s", "h"): Conversion(1.0 / 3600.0, 0.0),
    ("h", "s"): Conversion(3600.0, 0.0),
    ("%", "1"): Conversion(0.01, 0.0),
    ("1", "%"): Conversion(100.0, 0.0),
}

#: The identity.
IDENTITY = Conversion(1.0, 0.0)


class UnitMismatchError(ValueError):
    """The device's unit cannot be converted to the point's unit."""


def si_unit(bacnet_unit: str) -> str | None:
    """The site-model unit code a BACnet unit converts to by default (None when unknown)."""
    entry = BACNET_UNITS.get(bacnet_unit)
    return entry[0] if entry else None


def conversion(bacnet_unit: str | None, point_unit: str) -> Conversion:
    """The conversion from a device's BACnet unit to a point's site-model unit.

    Parameters
    ----------
    bacnet_unit : str or None
        The object's ``units`` property (``degrees-fahrenheit``...); None for objects that
        have no unit (binary and multi-state objects), which are taken as they are.
    point_unit : str
        The point's unit in the site model (``Cel``, ``Pa``, ``m3/s``...).

    Returns
    -------
    Conversion
        ``point_value = raw * scale + offset``.

    Raises
    ------
    UnitMismatchError
        When the BACnet unit is unknown or measures another quantity than ``point_unit``.
    """
    if bacnet_unit is None or bacnet_unit == "no-units":
        return IDENTITY
    if bacnet_unit not in BACNET_UNITS:
        raise UnitMismatchError(f"unknown BACnet unit {bacnet_unit!r} (point unit {point_unit!r})")
    code, scale, offset = BACNET_UNITS[bacnet_unit]
    if code == point_unit:
        return Conversion(scale, offset)
    if (code, point_unit) in SI_CONVERSIONS:
        then = SI_CONVERSIONS[(code, point_unit)]
        return Conversion(scale * then.scale, offset * then.scale + then.offset)
    raise UnitMismatchError(
        f"device unit {bacnet_unit!r} ({code}) is not the point unit {point_unit!r}"
    )


def bacnet_unit_for(point_unit: str) -> str:
    """The BACnet unit a simulated device announces for a site-model unit (inverse, for servers)."""
    if point_unit in _PREFERRED:
        return _PREFERRED[point_unit]
    for name, (code, scale, offset) in BACNET_UNITS.items():
        if code == point_unit and scale == 1.0 and offset == 0.0:
            return name
    return "no-units"


_PREFERRED = {
    "1": "no-units",
    "K": "delta-degrees-kelvin",
    "W": "watts",
    "kPa": "kilopascals",
    "m3/h": "cubic-meters-per-hour",
    "L/s": "liters-per-second",
}
