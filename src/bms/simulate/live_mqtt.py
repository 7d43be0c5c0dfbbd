"""Publish simulated LoRaWAN sensor readings to an MQTT broker as ChirpStack v4 uplink events.

Zone sensors of the site have ``source = {connector: mqtt, dev_eui: ..., field: temperature}``.
For each time stamp, :meth:`UplinkPublisher.publish` sends one uplink per device that has
readings at that instant, on the ChirpStack v4 topic
``application/<application_id>/device/<dev_eui>/event/up``, with the JSON body of a ChirpStack
``up`` event: ``time`` (ISO 8601, UTC), ``deviceInfo`` (``devEui``, ``deviceName``...),
``fCnt``, ``fPort``, ``data`` (the payload bytes, base64) and ``object`` (the decoded fields,
``{"temperature": 21.3, "humidity": 45.2, "co2": 612.0, "battery": 3.05}``). A gap in the frame
sends nothing, as a sensor that missed a measurement.
"""

from __future__ import annotations

import base64
import json
import logging
import struct
import uuid
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import urlparse

import pandas as pd

from bms.errors import ConfigError
from bms.site.model import Point

log = logging.getLogger(__name__)

DEFAULT_APPLICATION = "bms-sim"


def uplink_topic(application_id: str, dev_eui: str) -> str:
    """ChirpStack v4 topic of a device's uplink events."""
    return f"application/{application_id}/device/{dev_eui}/event/up"


def uplink_event(
    dev_eui: str,
    device_name: str,
    fields: Mapping[str, float],
    time: pd.Timestamp,
    f_cnt: int,
    application_id: str = DEFAULT_APPLICATION,
) -> dict[str, Any]:
    """A ChirpStack v4 ``up`` event carrying ``fields`` measured at ``time``."""
    names = sorted(fields)
    data = struct.pack(f">{len(names)}f", *(fields[n] for n in names))
    return {
        "deduplicationId": str(uuid.uuid5(uuid.NAMESPACE_URL, f"{dev_eui}/{f_cnt}")),
        "time": pd.Timestamp(time).tz_convert("UTC").isoformat().replace("+00:00", "Z"),
        "deviceInfo": {
            "tenantName": "bms",
            "applicationId": application_id,
            "applicationName": application_id,
            "deviceProfileName": "bms-simulated-sensor",
            "deviceName": device_name,
            "devEui": dev_eui,
            "tags": {},
        },
        "devAddr": dev_eui[-8:],
        "adr": True,
        "dr": 5,
        "fCnt": f_cnt,
        "fPort": 2,
        "confirmed": False,
        "data": base64.b64encode(data).decode("ascii"),
        "object": {n: float(fields[n]) for n in names},
    }


class UplinkPublisher:
    """Publishes the readings of a site's MQTT points as ChirpStack uplinks.

    Parameters
    ----------
    points : sequence of Point
        Points whose ``source`` has ``connector: mqtt``, ``dev_eui`` and ``field`` are used.
    url : str
        Broker, ``mqtt://[user:password@]host[:port]`` (``mqtts://`` for TLS, verified
        against the system CAs).
    application_id : str
        ChirpStack application id used in the topics.
    """

    def __init__(
        self, points: Sequence[Point], url: str, application_id: str = DEFAULT_APPLICATION
    ) -> None:
        self.application_id = application_id
        self.devices: dict[str, dict[str, str]] = {}  # dev_eui -> {point id: field}
        self.names: dict[str, str] = {}
        for pt in points:
            src = pt.source
            if src.get("connector") == "mqtt" and "dev_eui" in src and "field" in src:
                self.devices.setdefault(str(src["dev_eui"]), {})[pt.id] = str(src["field"])
                self.names[str(src["dev_eui"])] = pt.equipment.rsplit("/", 1)[-1]
        parsed = urlparse(url)
        if parsed.scheme not in ("mqtt", "mqtts") or not parsed.hostname:
            raise ConfigError(f"MQTT broker URL must be mqtt://host[:port], got {url!r}")
        self._parsed = parsed
        self._f_cnt: dict[str, int] = {}
        self._client: Any = None

    @property
    def point_ids(self) -> list[str]:
        return [pid for fields in self.devices.values() for pid in fields]

    def connect(self, timeout_seconds: float = 5.0) -> None:
        """Connect to the broker (paho-mqtt network loop in its own thread)."""
        import paho.mqtt.client as mqtt

        parsed = self._parsed
        client = mqtt.Client(
            mqtt.CallbackAPIVersion.VERSION2, client_id=f"bms-sim-{uuid.uuid4().hex[:8]}"
        )
        if parsed.username:
            client.username_pw_set(parsed.username, parsed.password)
        if parsed.scheme == "mqtts":
            client.tls_set()
        port = parsed.port or (8883 if parsed.scheme == "mqtts" else 1883)
        try:
            client.connect(parsed.hostname or "", port)
        except OSError as exc:
            raise ConfigError(
                f"cannot connect to MQTT broker {parsed.hostname}:{port}: {exc}"
            ) from None
        client.loop_start()
        self._client = client

    def publish(
        self, time: pd.Timestamp, values: Mapping[str, float], timeout_seconds: float = 5.0
    ) -> int:
        """Send one uplink per device with readings in ``values`` (point id -> value) at
        ``time``; returns the number of uplinks sent (QoS 1, waited for)."""
        if self._client is None:
            self.connect()
        infos = []
        for dev_eui, fields in self.devices.items():
            readings = {field: values[pid] for pid, field in fields.items() if pid in values}
            if not readings:
                continue
            self._f_cnt[dev_eui] = self._f_cnt.get(dev_eui, -1) + 1
            event = uplink_event(
                dev_eui,
                self.names[dev_eui],
                readings,
                time,
                self._f_cnt[dev_eui],
                self.application_id,
            )
            topic = uplink_topic(self.application_id, dev_eui)
            infos.append(self._client.publish(topic, json.dumps(event), qos=1))
        for info in infos:
            info.wait_for_publish(timeout_seconds)
        return len(infos)

    def close(self) -> None:
        """Disconnect from the broker."""
        if self._client is not None:
            self._client.disconnect()  # first, so that the network thread ends at once
            self._client.loop_stop()
            self._client = None
