"""BACnet/IP plumbing shared by the connector and its discovery: the client application,
batched reads that never raise, value conversion, and device discovery with point proposals.

Every coroutine here runs in the event loop that created the bacpypes3 application.
"""

from __future__ import annotations

import asyncio
import logging
import re
import socket
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import yaml

from bms.connectors.bacnet_units import si_unit

log = logging.getLogger(__name__)

#: bacpypes3's sample vendor id, whose object classes are the standard ones.
VENDOR_ID = 999
#: Object types that carry no ``units`` property: their values are taken as they are.
UNITLESS_TYPES = (
    "binary-input",
    "binary-output",
    "binary-value",
    "multi-state-input",
    "multi-state-output",
    "multi-state-value",
)
_SKIPPED_TYPES = ("device", "network-port")


@dataclass
class ReadError:
    """Why a property could not be read."""

    reason: str


def error_text(error: Any) -> str:
    """A short text for a bacpypes3 error, reject, abort or ``ErrorType``."""
    error_class = getattr(error, "errorClass", None)
    error_code = getattr(error, "errorCode", None)
    if error_code is not None:
        return f"{error_class}: {error_code}" if error_class is not None else str(error_code)
    for attr in ("apduAbortRejectReason", "reason"):
        if getattr(error, attr, None) is not None:
            return f"{type(error).__name__}: {getattr(error, attr)}"
    return type(error).__name__


def as_float(value: Any) -> float:
    """A numeric BACnet value (Real, Double, Unsigned, Integer, Boolean, Enumerated) as float.

    Raises
    ------
    TypeError
        For strings, dates and constructed values.
    """
    if isinstance(value, bool | int | float):  # Real/Double subclass float, Enumerated int
        return float(value)
    raise TypeError(f"not a number: {type(value).__name__}")


class AddressError(ValueError):
    """A BACnet/IP address that cannot be parsed or bound."""


def parse_address(address: str) -> Any:
    """A bacpypes3 ``Address`` from ``ip[/prefix][:port]``; AddressError when malformed."""
    from bacpypes3.pdu import Address

    try:
        return Address(address)
    except (RuntimeError, ValueError, TypeError) as exc:
        raise AddressError(f"bad BACnet/IP address {address!r}: {exc}") from None


def check_bindable(address: str) -> None:
    """Raise AddressError unless the UDP port of ``address`` can be bound right now.

    bacpypes3 binds with SO_REUSEPORT, so a stale process on the same port would silently
    share it and steal answers; this probe binds without it, so that case fails loudly.
    """
    host, port = parse_address(address).addrTuple
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.bind((host, port))
        except OSError as exc:
            raise AddressError(
                f"cannot bind UDP {host}:{port} ({exc.strerror}); another BACnet application "
                "(a stale simulator?) may hold it: stop it by PID or choose another port"
            ) from None


async def make_client(
    address: str,
    device_instance: int,
    *,
    bbmd: str | None = None,
    ttl_seconds: int = 60,
    timeout_seconds: float = 3.0,
    retries: int = 1,
) -> Any:
    """A bacpypes3 application bound to ``address`` (``ip/prefix:port``), registered as a
    foreign device of ``bbmd`` (``ip:port``) when given. Call inside a running loop."""
    from bacpypes3.app import Application
    from bacpypes3.basetypes import HostNPort, IPMode
    from bacpypes3.local.device import DeviceObject
    from bacpypes3.local.networkport import NetworkPortObject

    check_bindable(address)
    device = DeviceObject(
        objectIdentifier=("device", device_instance),
        objectName=f"bms-client-{device_instance}",
        vendorIdentifier=VENDOR_ID,
        apduTimeout=int(timeout_seconds * 1000),
        numberOfApduRetries=retries,
    )
    port = NetworkPortObject(address, objectIdentifier=("network-port", 1), objectName="port-1")
    if bbmd:
        port.bacnetIPMode = IPMode.foreign
        port.fdBBMDAddress = HostNPort(bbmd)
        port.fdSubscriptionLifetime = ttl_seconds
    app = Application.from_object_list([device, port])
    if bbmd:
        link = next(iter(app.link_layers.values()))
        try:
            await asyncio.wait_for(link._registration_event.wait(), timeout_seconds)
        except TimeoutError:
            log.warning("BACnet: no answer from BBMD %s to the foreign-device registration", bbmd)
    return app


async def read_many(
    app: Any, address: Any, refs: Sequence[tuple[Any, str]], timeout_seconds: float
) -> tuple[list[Any], int]:
    """Read ``refs`` (object identifier, property) of one device in one ReadPropertyMultiple.

    When the device refuses the whole request (some devices do when one object is unknown),
    each property is read on its own with ReadProperty so that only the bad ones fail.

    Returns
    -------
    values : list, length len(refs)
        The decoded value, or a :class:`ReadError` saying why it is missing.
    n_requests : int
        Requests sent.
    """
    from bacpypes3.apdu import ErrorRejectAbortNack

    params: list[Any] = []
    for oid, prop in refs:
        params += [oid, [prop]]
    try:
        result = await asyncio.wait_for(
            app.read_property_multiple(address, params), timeout_seconds
        )
    except TimeoutError:
        return [ReadError(f"no answer from {address} in {timeout_seconds:g} s")] * len(refs), 1
    except ErrorRejectAbortNack as err:
        result = err
    if isinstance(result, list):
        found = {(str(oid), str(prop)): value for oid, prop, _index, value in result}
        values: list[Any] = []
        for oid, prop in refs:
            value = found.get((str(oid), prop), ReadError(f"{prop} missing from the answer"))
            if type(value).__name__ == "ErrorType":
                value = ReadError(error_text(value))
            values.append(value)
        return values, 1
    if len(refs) == 1:
        return [ReadError(error_text(result))], 1
    values = [await read_one(app, address, oid, prop, timeout_seconds) for oid, prop in refs]
    return values, 1 + len(refs)


async def read_one(app: Any, address: Any, oid: Any, prop: str, timeout_seconds: float) -> Any:
    """One ReadProperty: the value or a :class:`ReadError`."""
    from bacpypes3.apdu import ErrorRejectAbortNack

    try:
        value = await asyncio.wait_for(app.read_property(address, oid, prop), timeout_seconds)
    except TimeoutError:
        return ReadError(f"no answer from {address} in {timeout_seconds:g} s")
    except ErrorRejectAbortNack as err:
        return ReadError(error_text(err))
    if isinstance(value, ErrorRejectAbortNack):
        return ReadError(error_text(value))
    return value


async def who_is(
    app: Any, low: int | None, high: int | None, target: str | None, timeout_seconds: float
) -> list[tuple[int, Any]]:
    """``(device instance, address)`` of the devices answering a Who-Is (directed to
    ``target`` ``ip:port``, else broadcast)."""
    from bacpypes3.pdu import Address

    where = Address(target) if target else None
    answers = await app.who_is(low, high, where, timeout=timeout_seconds)
    found = {int(iam.iAmDeviceIdentifier[1]): iam.pduSource for iam in answers}
    return sorted(found.items())


# Discovery ------------------------------------------------------------------------------------
@dataclass
class DiscoveredObject:
    """One object of a device, as the device describes it."""

    object: str  # "analog-input,1"
    name: str
    description: str = ""
    units: str | None = None  # BACnet engineering unit


@dataclass
class DiscoveredDevice:
    """A device that answered Who-Is, with its objects."""

    instance: int
    address: str
    name: str = ""
    objects: list[DiscoveredObject] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


async def describe_device(
    app: Any, instance: int, address: Any, *, batch_size: int, timeout_seconds: float
) -> DiscoveredDevice:
    """Read a device's object list, then the name, description and units of each object."""
    from bacpypes3.primitivedata import ObjectIdentifier

    device = DiscoveredDevice(instance=instance, address=str(address))
    device_oid = ObjectIdentifier(f"device,{instance}")
    (name, objects), _ = await read_many(
        app, address, [(device_oid, "object-name"), (device_oid, "object-list")], timeout_seconds
    )
    if isinstance(objects, ReadError):
        device.errors.append(f"object-list: {objects.reason}")
        return device
    device.name = "" if isinstance(name, ReadError) else str(name)
    oids = [oid for oid in objects if str(oid[0]) not in _SKIPPED_TYPES]
    props = ("object-name", "description", "units")
    for start in range(0, len(oids), max(1, batch_size // len(props))):
        chunk = oids[start : start + max(1, batch_size // len(props))]
        values, _ = await read_many(
            app, address, [(oid, p) for oid in chunk for p in props], timeout_seconds
        )
        for i, oid in enumerate(chunk):
            obj_name, description, units = values[3 * i : 3 * i + 3]
            text = f"{oid[0]},{oid[1]}"
            device.objects.append(
                DiscoveredObject(
                    object=text,
                    name=text if isinstance(obj_name, ReadError) else str(obj_name),
                    description="" if isinstance(description, ReadError) else str(description),
                    units=None if isinstance(units, ReadError) else str(units),
                )
            )
    return device


_KIND_WORDS = (
    ("co2", "CO2_Level_Sensor"),
    ("humid", "Humidity_Sensor"),
    ("setpoint", "Setpoint"),
    ("valve", "Valve_Command"),
    ("damper", "Damper_Position_Command"),
    ("speed", "Speed_Command"),
    ("status", "Status"),
    ("energy", "Energy_Sensor"),
    ("power", "Power_Sensor"),
    ("flow", "Flow_Sensor"),
    ("press", "Pressure_Sensor"),
    ("temp", "Temperature_Sensor"),
)
_KIND_UNITS = {
    "Cel": "Temperature_Sensor",
    "K": "Temperature_Sensor",
    "Pa": "Pressure_Sensor",
    "m3/s": "Flow_Sensor",
    "kW": "Power_Sensor",
    "kWh": "Energy_Sensor",
    "ppm": "CO2_Level_Sensor",
}


def _slug(text: str) -> str:
    slug = re.sub(r"[^a-z0-9_.-]+", "_", text.strip().lower()).strip("_.-")
    return slug or "point"


def propose_points(
    devices: Sequence[DiscoveredDevice], connector: str = "bacnet"
) -> list[dict[str, Any]]:
    """Proposed equipment and point mappings for discovered devices, to review and edit.

    One equipment entry per device (``device-<instance>``); one point per object with its
    SI unit, a guessed Brick kind and the ``source`` that :class:`BacnetConnector` reads.

    Returns
    -------
    list of dict
        ``{"name", "kind", "label", "points": [{"name", "kind", "unit", "description",
        "source": {"connector", "device", "object", "property"}}]}`` per device.
    """
    proposals = []
    for device in devices:
        points: list[dict[str, Any]] = []
        seen: set[str] = set()
        for obj in device.objects:
            unit = "1" if obj.object.split(",")[0] in UNITLESS_TYPES else si_unit(obj.units or "")
            name = _slug(obj.name)
            while name in seen:
                name += "_"
            seen.add(name)
            text = f"{obj.name} {obj.description}".lower()
            kind = next((k for word, k in _KIND_WORDS if word in text), None)
            points.append(
                {
                    "name": name,
                    "kind": kind or _KIND_UNITS.get(unit or "", "Point"),
                    "unit": unit or "1",
                    "description": obj.description or obj.name,
                    "source": {
                        "connector": connector,
                        "device": device.instance,
                        "object": obj.object,
                        "property": "present-value",
                    },
                }
            )
        proposals.append(
            {
                "name": f"device-{device.instance}",
                "kind": "Equipment",
                "label": device.name,
                "points": points,
            }
        )
    return proposals


def proposals_yaml(proposals: Sequence[dict[str, Any]]) -> str:
    """The proposals as a YAML ``equipment:`` snippet for a site file (docs/site.md)."""
    header = "# Proposed by BACnet discovery: check kinds, units and names before use.\n"
    body = yaml.safe_dump(
        {"equipment": list(proposals)}, sort_keys=False, allow_unicode=True, width=100
    )
    return header + body
