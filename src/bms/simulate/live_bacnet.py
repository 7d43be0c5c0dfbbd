"""A simulated BACnet/IP device (bacpypes3) whose objects hold the values of simulated points.

One :class:`BacnetSimDevice` is one bacpypes3 application on its own UDP port (bacpypes3 takes
any 127.x address on its own port for itself, so two devices never share a port). Its objects
are analog-input/-output/-value and binary-input/-output/-value objects named after the
points, with ``units`` and ``description``; the values are written in the object's BACnet unit
(SI by default; ``units`` overrides, e.g. ``degrees-fahrenheit``, exercise the connector's
conversion). A ``large-analog-value,1`` object named ``sim-time`` holds the simulated time as
POSIX seconds (a Double: float32 cannot hold seconds since 1970 to the second).

Runs inside an asyncio event loop (the caller's, or a
:class:`~bms.connectors.fieldbus.LoopThread`)::

    device = BacnetSimDevice(1001, "127.0.0.1/8:47900", objects)
    await device.start()
    device.set_values({"site/b/ahu-1/sat": 17.5}, time_s=1.7e9)
    await device.stop()
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from bms.connectors.bacnet_io import AddressError, check_bindable
from bms.connectors.bacnet_units import bacnet_unit_for, conversion
from bms.errors import BmsError

log = logging.getLogger(__name__)

#: The clock object of every simulated device.
CLOCK_OBJECT = "large-analog-value,1"
_BINARY = ("binary-input", "binary-output", "binary-value")
_ANALOG = ("analog-input", "analog-output", "analog-value")


@dataclass(frozen=True)
class SimObject:
    """One object of a simulated device, serving one point."""

    point: str  # point id
    object: str  # "analog-input,1"
    name: str  # object-name, unique in the device
    unit: str  # the point's SI unit
    description: str = ""
    bacnet_unit: str | None = None  # default: the BACnet name of the SI unit

    @property
    def units(self) -> str:
        return self.bacnet_unit or bacnet_unit_for(self.unit)


def _classes(cov: bool) -> dict[str, Any]:
    """Local object classes by BACnet type; without COV support when ``cov`` is False."""
    from bacpypes3.local.analog import AnalogInputObject, AnalogOutputObject, AnalogValueObject
    from bacpypes3.local.binary import BinaryInputObject, BinaryOutputObject, BinaryValueObject
    from bacpypes3.local.object import Object as LocalObject
    from bacpypes3.object import LargeAnalogValueObject

    classes: dict[str, Any] = {
        "analog-input": AnalogInputObject,
        "analog-output": AnalogOutputObject,
        "analog-value": AnalogValueObject,
        "binary-input": BinaryInputObject,
        "binary-output": BinaryOutputObject,
        "binary-value": BinaryValueObject,
        "large-analog-value": type("LargeAnalogValue", (LocalObject, LargeAnalogValueObject), {}),
    }
    if not cov:  # a device that refuses SubscribeCOV
        classes = {
            k: type(f"NoCov{c.__name__}", (c,), {"_cov_criteria": None}) for k, c in classes.items()
        }
    return classes


class BacnetSimDevice:
    """A BACnet/IP device on its own UDP port serving ``objects``.

    Parameters
    ----------
    instance : int
        Device instance number.
    address : str
        ``ip/prefix:port`` to bind, e.g. ``127.0.0.1/8:47900``.
    objects : sequence of SimObject
    cov : bool
        Accept SubscribeCOV (True) or refuse it like an old controller (False).
    bbmd_peers : sequence of str, optional
        Make the device a BBMD with this broadcast distribution table (``ip/prefix:port`` of
        each BBMD, itself included) accepting foreign-device registrations.
    """

    def __init__(
        self,
        instance: int,
        address: str,
        objects: Sequence[SimObject],
        *,
        cov: bool = True,
        bbmd_peers: Sequence[str] | None = None,
    ) -> None:
        self.instance = instance
        self.address = address
        self.objects = list(objects)
        self.cov = cov
        self.bbmd_peers = list(bbmd_peers) if bbmd_peers else None
        self.app: Any = None
        self._local: dict[str, Any] = {}  # point id -> local object
        self._clock: Any = None

    @property
    def host_port(self) -> str:
        """``ip:port`` of the device, as a connector's static binding."""
        host, _, port = self.address.rpartition(":")
        return f"{host.split('/')[0]}:{port}"

    async def start(self) -> None:
        """Bind the UDP port and serve (in the running event loop)."""
        from bacpypes3.app import Application
        from bacpypes3.basetypes import BDTEntry, IPMode
        from bacpypes3.local.device import DeviceObject
        from bacpypes3.local.networkport import NetworkPortObject

        try:
            check_bindable(self.address)
        except AddressError as exc:
            raise BmsError(f"BACnet simulator device {self.instance}: {exc}") from None
        classes = _classes(self.cov)
        device = DeviceObject(
            objectIdentifier=("device", self.instance),
            objectName=f"bms-sim-{self.instance}",
            vendorIdentifier=999,
            description="bms simulated device",
        )
        port = NetworkPortObject(
            self.address, objectIdentifier=("network-port", 1), objectName="port-1"
        )
        if self.bbmd_peers:
            port.bacnetIPMode = IPMode.bbmd
            port.bbmdAcceptFDRegistrations = True
            port.bbmdForeignDeviceTable = []
            port.bbmdBroadcastDistributionTable = [BDTEntry(peer) for peer in self.bbmd_peers]
        local: list[Any] = [device, port]
        for obj in self.objects:
            kind, _, number = obj.object.partition(",")
            if kind not in classes or kind == "large-analog-value":
                raise ValueError(f"point {obj.point!r}: cannot simulate BACnet {kind!r} objects")
            fields: dict[str, Any] = {
                "objectIdentifier": (kind, int(number)),
                "objectName": obj.name,
                "description": obj.description or obj.name,
                "statusFlags": [0, 0, 0, 0],
            }
            if kind in _BINARY:
                fields["presentValue"] = "inactive"
            else:
                fields.update(presentValue=0.0, units=obj.units, covIncrement=0.0)
            self._local[obj.point] = classes[kind](**fields)
            local.append(self._local[obj.point])
        self._clock = classes["large-analog-value"](
            objectIdentifier=("large-analog-value", 1),
            objectName="sim-time",
            description="simulated time [POSIX s]",
            presentValue=0.0,
            units="seconds",
            statusFlags=[0, 0, 0, 0],
        )
        local.append(self._clock)
        self.app = Application.from_object_list(local)
        self._conversions = {
            obj.point: conversion(obj.units, obj.unit)
            for obj in self.objects
            if obj.object.split(",")[0] in _ANALOG
        }
        log.info("BACnet simulator device %d on %s", self.instance, self.address)

    def set_values(self, values: Mapping[str, float], time_s: float | None = None) -> None:
        """Write SI values (point id -> value; unknown ids ignored) and the clock [POSIX s].

        Call in the device's event loop: writes trigger COV notifications.
        """
        for pid, value in values.items():
            obj = self._local.get(pid)
            if obj is None:
                continue
            if pid in self._conversions:
                obj.presentValue = float(self._conversions[pid].invert(float(value)))
            else:
                obj.presentValue = "active" if value >= 0.5 else "inactive"
        if time_s is not None:
            self._clock.presentValue = float(time_s)

    async def stop(self) -> None:
        """Close the UDP socket."""
        if self.app is not None:
            self.app.close()
            self.app = None
