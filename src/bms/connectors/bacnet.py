"""BACnet/IP connector (bacpypes3): discovery, batched polling in SI units, COV subscriptions.

Configured in ``bms.toml``::

    [connectors.gtb]
    kind = "bacnet"
    address = "192.168.10.5/24:47809"      # this client's interface, prefix and UDP port
    devices = {1001 = "192.168.10.21:47808"} # static bindings (else found by Who-Is)
    bbmd = "192.168.10.1:47808"             # optional: register as a foreign device
    batch_size = 25                          # properties per ReadPropertyMultiple

A point's ``source`` is ``{connector: bacnet, device: 1001, object: "analog-input,1",
property: present-value}``. :meth:`BacnetConnector.poll` reads each device's points with
ReadPropertyMultiple in batches of ``batch_size``; the first poll also reads each object's
``units`` and converts every value to the point's SI unit (:mod:`bms.connectors.bacnet_units`).
An unknown object, an unreadable property, a unit that does not match or a silent device is
counted and reported with the point id (``last_report``, ``stats``), never raised.
:meth:`BacnetConnector.stream` subscribes to COV where devices accept it and polls the rest.
"""

from __future__ import annotations

import asyncio
import logging
import math
import threading
from collections.abc import Sequence
from typing import Any, ClassVar, Literal

import pandas as pd
from pydantic import Field

from bms.connectors import bacnet_io as io
from bms.connectors.bacnet_units import IDENTITY, Conversion, UnitMismatchError, conversion
from bms.connectors.base import ConnectorConfig, FrameHandler, register
from bms.connectors.fieldbus import (
    FieldbusConnector,
    LoopThread,
    PollReport,
    epoch_to_timestamp,
    require_module,
    wall_clock,
)
from bms.errors import ConfigError, SiteError
from bms.site.model import Point

log = logging.getLogger(__name__)


class BacnetConfig(ConnectorConfig):
    """``[connectors.NAME]`` table of a BACnet/IP connector."""

    kind: Literal["bacnet"] = "bacnet"
    address: str = Field(
        title="Local address",
        description="This client's BACnet/IP address 'ip/prefix:port', e.g. 192.168.1.5/24:47809; "
        "its UDP port must differ from every device's on the same host.",
    )
    device_instance: int = Field(default=4194000, ge=0, le=4194302, title="Client device id")
    devices: dict[int, str] = Field(
        default_factory=dict,
        title="Static bindings",
        description="Device instance -> 'ip:port'; other devices are found by Who-Is.",
    )
    bbmd: str | None = Field(default=None, title="BBMD 'ip:port' to register with")
    bbmd_ttl_seconds: int = Field(default=300, ge=30, title="Foreign registration TTL [s]")
    whois_timeout_seconds: float = Field(default=2.0, gt=0, title="Wait for I-Am [s]")
    timeout_seconds: float = Field(default=3.0, gt=0, title="Timeout of one request [s]")
    retries: int = Field(default=1, ge=0, le=5, title="APDU retries")
    batch_size: int = Field(default=25, ge=1, le=200, title="Properties per ReadPropertyMultiple")
    cov: bool = Field(default=True, title="Use COV in stream() where devices accept it")
    cov_lifetime_seconds: int = Field(default=600, ge=0, title="COV subscription lifetime [s]")
    poll_interval_seconds: float = Field(default=60.0, gt=0, title="stream() polling period [s]")
    time_source: dict[str, Any] | None = Field(
        default=None,
        title="Time source",
        description="{device, object, property}: a property holding POSIX seconds that stamps "
        "the readings of a poll (e.g. a simulator's clock); default: the wall clock.",
    )


def _address_of(point_id: str, source: dict[str, Any]) -> tuple[int, Any, str]:
    from bacpypes3.primitivedata import ObjectIdentifier

    try:
        device = int(source["device"])
        oid = ObjectIdentifier(str(source["object"]))
    except KeyError as exc:
        raise SiteError(f"point {point_id!r}: bacnet source lacks field {exc.args[0]!r}") from None
    except (TypeError, ValueError) as exc:
        raise SiteError(f"point {point_id!r}: bad bacnet source {source!r}: {exc}") from None
    return device, oid, str(source.get("property", "present-value"))


@register
class BacnetConnector(FieldbusConnector):
    """Live source: present values of BACnet objects, converted to the points' SI units.

    Attributes
    ----------
    last_report, stats
        See :class:`~bms.connectors.fieldbus.FieldbusConnector`.
    """

    kind: ClassVar[str] = "bacnet"
    config_model: ClassVar[type[ConnectorConfig]] = BacnetConfig

    def __init__(self, config: ConnectorConfig, points: Sequence[Point]) -> None:
        super().__init__(config, points)
        require_module("bacpypes3", "bacnet", self.kind)
        assert isinstance(config, BacnetConfig)
        self.cfg: BacnetConfig = config
        self.by_id = {p.id: p for p in self.points}
        self.refs = {p.id: _address_of(p.id, p.source) for p in self.points}
        self.time_ref = (
            _address_of(f"connectors.{config.name}.time_source", config.time_source)
            if config.time_source
            else None
        )
        self._conversions: dict[str, Conversion | str] = {}  # a str is a unit error
        self._addresses: dict[int, Any] = {}
        self._loop = LoopThread(f"bms-bacnet-{config.name or 'client'}")
        self._app: Any = None

    # Public API -----------------------------------------------------------------------------
    def discover(
        self, targets: Sequence[str] = (), low: int | None = None, high: int | None = None
    ) -> list[io.DiscoveredDevice]:
        """Find devices (Who-Is directed to each ``ip:port`` target, else broadcast, through the
        BBMD when configured) and read each one's objects with their names and units."""
        return self._loop.run(self._discover(list(targets), low, high))

    def propose(self, devices: Sequence[io.DiscoveredDevice]) -> tuple[list[dict[str, Any]], str]:
        """Proposed point mappings of discovered devices, as dicts and as a YAML snippet."""
        proposals = io.propose_points(devices, connector=self.config.source_tag or self.kind)
        return proposals, io.proposals_yaml(proposals)

    def stream(self, handle: FrameHandler, stop: threading.Event) -> None:
        """Call ``handle(frame)`` with COV notifications (stamped on reception) and, for the
        points whose device refuses COV (or all when ``cov = false``), with polls every
        ``poll_interval_seconds``, until ``stop`` is set."""
        from bms.connectors.bacnet_cov import run_stream

        run_stream(self, handle, stop)

    def close(self) -> None:
        """Close the UDP socket and stop the I/O thread."""
        if self._app is not None and self._loop.running:
            self._loop.run(self._close_app(), timeout=5)
        self._loop.stop()

    def _point_addresses(self) -> dict[str, tuple[int, Any, str]]:
        return self.refs

    def _poll_budget_s(self, n_points: int) -> float:
        per_batch = self.cfg.timeout_seconds * (self.cfg.retries + 2)
        return self.cfg.whois_timeout_seconds + per_batch * (2 + 2 * n_points)

    # Internals (run in the I/O loop) ---------------------------------------------------------
    async def _close_app(self) -> None:
        self._app.close()
        self._app = None

    async def app(self) -> Any:
        """The bacpypes3 application, created on first use."""
        if self._app is None:
            try:
                self._app = await self._make_app()
            except io.AddressError as exc:
                raise ConfigError(f"connectors.{self.config.name}.address: {exc}") from None
        return self._app

    async def _make_app(self) -> Any:
        return await io.make_client(
            self.cfg.address,
            self.cfg.device_instance,
            bbmd=self.cfg.bbmd,
            ttl_seconds=self.cfg.bbmd_ttl_seconds,
            timeout_seconds=self.cfg.timeout_seconds,
            retries=self.cfg.retries,
        )

    async def address(self, device: int) -> Any:
        """The address of a device instance: static binding, else Who-Is; None if silent."""
        if device in self._addresses:
            return self._addresses[device]
        if device in self.cfg.devices:
            try:
                found: Any = io.parse_address(self.cfg.devices[device])
            except io.AddressError as exc:
                raise ConfigError(
                    f"connectors.{self.config.name}.devices.{device}: {exc}"
                ) from None
        else:
            answers = await io.who_is(
                await self.app(), device, device, None, self.cfg.whois_timeout_seconds
            )
            found = dict(answers).get(device)
        if found is not None:
            self._addresses[device] = found
        return found

    async def _poll(
        self, ids: list[str], report: PollReport
    ) -> tuple[dict[str, float], pd.Timestamp]:
        await self.app()
        stamp = wall_clock()
        if self.time_ref is not None:
            clock: dict[str, float] = {}
            await self.read_device(
                self.time_ref[0], ["<time>"], clock, report, refs={"<time>": self.time_ref}
            )
            if "<time>" in clock:
                stamp = epoch_to_timestamp(clock["<time>"])
            else:
                reason = report.errors.pop("<time>", "?")
                log.warning("bacnet %r: time source unreadable (%s)", self.config.name, reason)
        by_device: dict[int, list[str]] = {}
        for pid in ids:
            by_device.setdefault(self.refs[pid][0], []).append(pid)
        readings: dict[str, float] = {}
        await asyncio.gather(
            *(self.read_device(dev, pids, readings, report) for dev, pids in by_device.items())
        )
        return readings, stamp

    async def read_device(
        self,
        device: int,
        ids: list[str],
        out: dict[str, float],
        report: PollReport,
        refs: dict[str, tuple[int, Any, str]] | None = None,
    ) -> None:
        """Read ``ids`` of one device in batches, converting to SI; failures go to ``report``."""
        refs = refs or self.refs
        address = await self.address(device)
        if address is None:
            report.fail(ids, f"device {device} did not answer Who-Is")
            return
        if refs is self.refs:
            await self.load_units(address, ids, report)
            ids = [pid for pid in ids if isinstance(self._conversions.get(pid), Conversion)]
        app = await self.app()
        for start in range(0, len(ids), self.cfg.batch_size):
            batch = ids[start : start + self.cfg.batch_size]
            values, n = await io.read_many(
                app, address, [refs[pid][1:] for pid in batch], self.cfg.timeout_seconds
            )
            report.n_requests += n
            for pid, value in zip(batch, values, strict=True):
                self.store_value(pid, value, out, report)

    def store_value(self, pid: str, value: Any, out: dict[str, float], report: PollReport) -> None:
        """Convert a read value to the point's SI unit into ``out``, or record why not."""
        if isinstance(value, io.ReadError):
            report.fail([pid], value.reason)
            return
        try:
            number = io.as_float(value)
        except TypeError as exc:
            report.fail([pid], str(exc))
            return
        conv = self._conversions.get(pid, IDENTITY)
        value_si = conv.apply(number) if isinstance(conv, Conversion) else number
        if math.isfinite(value_si):
            out[pid] = value_si
        else:
            report.fail([pid], f"not a finite number: {number}")

    async def load_units(self, address: Any, ids: list[str], report: PollReport) -> None:
        """Read the ``units`` of objects not seen yet and keep the conversion to SI."""
        missing = [pid for pid in ids if pid not in self._conversions]
        for pid in [p for p in missing if str(self.refs[p][1][0]) in io.UNITLESS_TYPES]:
            self._conversions[pid] = IDENTITY
        missing = [pid for pid in missing if pid not in self._conversions]
        for start in range(0, len(missing), self.cfg.batch_size):
            batch = missing[start : start + self.cfg.batch_size]
            refs = [(self.refs[pid][1], "units") for pid in batch]
            values, n = await io.read_many(
                await self.app(), address, refs, self.cfg.timeout_seconds
            )
            report.n_requests += n
            for pid, units in zip(batch, values, strict=True):
                if isinstance(units, io.ReadError):
                    if "unknown-property" in units.reason:  # an object without units
                        self._conversions[pid] = IDENTITY
                    else:  # unknown object or silent device: try again next poll
                        report.fail([pid], units.reason)
                    continue
                try:
                    self._conversions[pid] = conversion(str(units), self.by_id[pid].unit)
                except UnitMismatchError as exc:
                    self._conversions[pid] = str(exc)
        for pid in ids:
            conv = self._conversions.get(pid)
            if conv is None:
                report.fail([pid], f"units of {self.refs[pid][1]} unreadable")
            elif isinstance(conv, str):
                report.fail([pid], conv)

    async def _discover(
        self, targets: list[str], low: int | None, high: int | None
    ) -> list[io.DiscoveredDevice]:
        app = await self.app()
        found: dict[int, Any] = {}
        for target in targets or [None]:
            for instance, address in await io.who_is(
                app, low, high, target, self.cfg.whois_timeout_seconds
            ):
                found[instance] = address
        self._addresses.update(found)
        return [
            await io.describe_device(
                app,
                instance,
                address,
                batch_size=self.cfg.batch_size,
                timeout_seconds=self.cfg.timeout_seconds,
            )
            for instance, address in sorted(found.items())
        ]
