"""The simulated site as a live source: replay a telemetry frame over BACnet/IP and Modbus TCP.

:class:`LiveSite` serves the points of a site whose ``source`` names the ``bacnet`` or
``modbus`` connector: one BACnet device (own UDP port) per ``source["device"]`` and one Modbus
TCP server for all Modbus units. Values come from a canonical frame (the simulator's
``.telemetry``) and move on a virtual clock: :meth:`LiveSite.advance_to` sets every point to its
value at a time stamp (the last one at or before it: a gap in the frame holds the last value,
as a real controller does), :meth:`LiveSite.replay` runs the clock at a speed-up factor. Each
device also serves the virtual clock (BACnet ``large-analog-value,1``, Modbus input registers
9000-9001 as uint32 POSIX seconds) so that connectors can stamp readings with simulated time
(their ``time_source`` option); :meth:`LiveSite.connector_tables` writes those configs::

    with LiveSite(site, result.telemetry) as live:
        configs = live.connector_tables()
        bacnet = BacnetConnector(parse_config("bacnet", configs["bacnet"]), site.all_points())
        for ts in live.times[:10]:
            live.advance_to(ts)
            frame = bacnet.poll()   # stamped with ts
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Mapping
from typing import Any

import pandas as pd

from bms.connectors.fieldbus import LoopThread, free_port
from bms.connectors.modbus_map import parse_source
from bms.simulate.live_bacnet import CLOCK_OBJECT, BacnetSimDevice, SimObject
from bms.simulate.live_modbus import DEFAULT_CLOCK, ModbusSimServer
from bms.simulate.live_mqtt import DEFAULT_APPLICATION, UplinkPublisher
from bms.site.model import Point, Site
from bms.telemetry.frame import to_wide, validate_frame

log = logging.getLogger(__name__)


class LiveSite:
    """Serve a site's BACnet and Modbus points with the values of a telemetry frame.

    Parameters
    ----------
    site : Site
    telemetry : DataFrame
        Canonical frame; only the points served are used.
    host : str
        Loopback or interface address to serve on.
    bacnet_ports : mapping of int to int, optional
        Device instance -> UDP port; default: a free port each.
    bacnet_base_port : int, optional
        Ports in instance order from this one (``bacnet_ports`` wins for the devices it names).
    modbus_port : int, optional
        TCP port of the Modbus server; default: a free port.
    bacnet_units : mapping of str to str, optional
        Point id -> BACnet unit a device announces instead of the SI one (e.g.
        ``degrees-fahrenheit``); the value served is converted to it.
    cov : bool
        Devices accept COV subscriptions.
    mqtt_url : str, optional
        Also publish the MQTT (LoRaWAN) points as ChirpStack uplinks to this broker
        (``mqtt://host:port``): at each time stamp, one uplink per sensor with readings then.
    mqtt_application : str
        ChirpStack application id of the uplink topics.
    bbmd : bool
        Every device is a BBMD whose broadcast distribution table holds all the others, so a
        client registered as a foreign device with any of them discovers all by broadcast.
    """

    def __init__(
        self,
        site: Site,
        telemetry: pd.DataFrame,
        *,
        host: str = "127.0.0.1",
        bacnet_ports: Mapping[int, int] | None = None,
        bacnet_base_port: int | None = None,
        modbus_port: int | None = None,
        bacnet_units: Mapping[str, str] | None = None,
        cov: bool = True,
        bbmd: bool = False,
        mqtt_url: str | None = None,
        mqtt_application: str = DEFAULT_APPLICATION,
    ) -> None:
        self.site = site
        self.host = host
        units = dict(bacnet_units or {})
        by_device: dict[int, list[SimObject]] = {}
        modbus_specs = {}
        for pt in site.all_points():
            connector = pt.source.get("connector")
            if connector == "bacnet":
                by_device.setdefault(int(pt.source["device"]), []).append(_sim_object(pt, units))
            elif connector == "modbus":
                modbus_specs[pt.id] = parse_source(pt.id, pt.source)
        ports = (
            {dev: bacnet_base_port + i for i, dev in enumerate(sorted(by_device))}
            if bacnet_base_port
            else {}
        )
        ports.update(bacnet_ports or {})
        addresses = {dev: f"{host}/8:{ports.get(dev) or free_port()}" for dev in sorted(by_device)}
        # a BDT entry with a /32 mask makes BBMDs forward by unicast to each other's port
        peers = [a.replace("/8:", "/32:") for a in addresses.values()] if bbmd else None
        self.bbmd = bbmd
        self.bacnet = [
            BacnetSimDevice(dev, addresses[dev], objects, cov=cov, bbmd_peers=peers)
            for dev, objects in sorted(by_device.items())
        ]
        self.modbus = (
            ModbusSimServer(
                modbus_specs, host=host, port=modbus_port or free_port(socket.SOCK_STREAM)
            )
            if modbus_specs
            else None
        )
        self.mqtt = (
            UplinkPublisher(site.all_points(), mqtt_url, mqtt_application) if mqtt_url else None
        )
        self.served = [o.point for d in self.bacnet for o in d.objects] + list(modbus_specs)
        wanted = self.served + (self.mqtt.point_ids if self.mqtt else [])
        frame = validate_frame(telemetry)
        self.wide = to_wide(frame[frame["point"].isin(wanted)])
        self._filled = self.wide.reindex(columns=self.served).ffill()
        self.now: pd.Timestamp | None = None
        self._loop = LoopThread("bms-live-site")

    @property
    def times(self) -> pd.DatetimeIndex:
        """The frame's time stamps, in order."""
        return pd.DatetimeIndex(self.wide.index)

    @property
    def points(self) -> list[str]:
        """Ids of the points served over BACnet and Modbus."""
        return list(self.served)

    def start(self) -> LiveSite:
        """Bind every device and the Modbus server; serve the frame's first time stamp."""
        self._loop.start()
        try:
            for device in self.bacnet:
                self._loop.run(device.start(), timeout=10)
            if self.modbus is not None:
                self._loop.run(self.modbus.start(), timeout=10)
            if self.mqtt is not None:
                self.mqtt.connect()
        except BaseException:
            self.stop()
            raise
        if len(self.wide):
            self.advance_to(self.times[0])
        return self

    def advance_to(self, ts: pd.Timestamp | str) -> pd.Timestamp:
        """Serve the values at ``ts`` (each point's last value at or before it) and set the
        clock to ``ts``; returns ``ts`` as a UTC timestamp."""
        stamp = pd.Timestamp(ts)
        stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
        row = int(self.times.searchsorted(stamp, side="right")) - 1
        values = self._filled.iloc[row].dropna().to_dict() if row >= 0 else {}
        seconds = stamp.value / 1e9
        self._loop.run(self._apply(values, seconds), timeout=10)
        if self.mqtt is not None and row >= 0 and self.times[row] == stamp:
            self.mqtt.publish(stamp, self.wide.iloc[row].dropna().to_dict())
        self.now = stamp
        return stamp

    async def _apply(self, values: dict[str, float], seconds: float) -> None:
        for device in self.bacnet:
            device.set_values(values, seconds)
        if self.modbus is not None:
            await self.modbus.set_values(values, time_s=seconds)

    def replay(
        self, speed: float, stop: threading.Event, start: pd.Timestamp | None = None
    ) -> None:
        """Advance through the frame's time stamps, ``speed`` simulated seconds per second,
        until the end of the frame or ``stop`` is set."""
        times = self.times if start is None else self.times[self.times >= start]
        if not len(times):
            return
        origin, began = times[0], time.monotonic()
        for ts in times:
            due = began + (ts - origin).total_seconds() / speed
            if stop.wait(max(0.0, due - time.monotonic())):
                return
            self.advance_to(ts)

    def connector_tables(self, client_port: int | None = None) -> dict[str, dict[str, Any]]:
        """``[connectors.NAME]`` tables reading this site: keys ``bacnet`` and ``modbus``, with
        static device bindings and the virtual clock as ``time_source``."""
        tables: dict[str, dict[str, Any]] = {}
        if self.bacnet:
            tables["bacnet"] = {
                "kind": "bacnet",
                "address": f"{self.host}/8:{client_port or free_port()}",
                "devices": {str(d.instance): d.host_port for d in self.bacnet},
                "time_source": {"device": self.bacnet[0].instance, "object": CLOCK_OBJECT},
            }
            if self.bbmd:
                tables["bacnet"]["bbmd"] = self.bacnet[0].host_port
        if self.modbus is not None:
            unit = min(spec.unit for spec in self.modbus.specs.values())
            tables["modbus"] = {
                "kind": "modbus",
                "host": self.host,
                "port": self.modbus.port,
                "time_source": {"unit": unit, **DEFAULT_CLOCK},
            }
        return tables

    def stop(self) -> None:
        """Close every socket and stop the I/O thread (idempotent)."""
        if self.mqtt is not None:
            self.mqtt.close()
        if not self._loop.running:
            return
        for device in self.bacnet:
            self._loop.run(device.stop(), timeout=10)
        if self.modbus is not None:
            self._loop.run(self.modbus.stop(), timeout=10)
        self._loop.stop()

    def __enter__(self) -> LiveSite:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _sim_object(pt: Point, units: Mapping[str, str]) -> SimObject:
    equipment = pt.equipment.rsplit("/", 1)[-1]
    return SimObject(
        point=pt.id,
        object=str(pt.source["object"]),
        name=f"{equipment}.{pt.name}",
        unit=pt.unit,
        description=pt.description,
        bacnet_unit=units.get(pt.id),
    )


def connector_toml(tables: Mapping[str, Mapping[str, Any]], prefix: str = "sim-") -> str:
    """``[connectors.NAME]`` tables (from :meth:`LiveSite.connector_tables`) as TOML text."""

    def value(v: Any) -> str:
        if isinstance(v, Mapping):
            return "{" + ", ".join(f'"{k}" = {value(x)}' for k, x in v.items()) + "}"
        if isinstance(v, str):
            return f'"{v}"'
        return str(v).lower() if isinstance(v, bool) else str(v)

    blocks = []
    for name, table in tables.items():
        lines = [f"[connectors.{prefix}{name}]"]
        lines += [f"{key} = {value(v)}" for key, v in table.items()]
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks) + "\n"


def serve(live: LiveSite, speed: float, stop: threading.Event, loop_forever: bool = True) -> None:
    """Replay ``live`` at ``speed`` (from its first time stamp, again and again when
    ``loop_forever``) until ``stop`` is set. Start it first."""
    while not stop.is_set():
        live.replay(speed, stop)
        if not loop_forever:
            return
