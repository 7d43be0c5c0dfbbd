"""MQTT connector (paho-mqtt 2): LoRaWAN uplinks (ChirpStack v4, The Things Stack v3) and JSON.

Configured in ``bms.toml``::

    [connectors.lora]
    kind = "mqtt"
    host = "lns.example.org"
    port = 8883
    tls = true
    ca_file = "/etc/bms/lns-ca.pem"         # default: the system CAs
    username = "bms"
    password_env = "BMS_MQTT_PASSWORD"      # the password is read from this variable
    topics = ["application/+/device/+/event/up"]
    client_id = "bms-lora"                  # fixed: the broker keeps our session
    [connectors.lora.topic_map."plant/ahu-1/sat"]   # optional: a topic carrying one value
    point = "besancon/hq/ahu-1/sat"
    value_path = "data.value"
    time_path = "data.ts"

Delivery guarantees: subscriptions use QoS 1 over MQTT v5 with a fixed client id,
``clean_start = False`` and a session expiry, so the broker queues messages while ``bms`` is
away and across broker restarts (when the broker persists its state). Messages are
acknowledged manually, only after the handler given to :meth:`MqttConnector.stream` has
returned, i.e. after the batch is stored (or spooled on disk); a handler that raises leaves the
batch unacknowledged and the broker delivers it again. A redelivered message only rewrites the
same (point, time) rows. A malformed message is counted in ``malformed`` with its reason,
logged, and acknowledged (it would fail again).
"""

from __future__ import annotations

import collections
import logging
import os
import threading
import time
from collections.abc import Sequence
from typing import Any, ClassVar, Literal

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from bms.connectors.base import Connector, ConnectorConfig, FrameHandler, register
from bms.connectors.lorawan import (
    DecodeError,
    Reading,
    as_time,
    as_value,
    decode_plain,
    decode_uplink,
    envelope_kind,
    get_path,
    parse_json,
)
from bms.errors import ConfigError
from bms.site.model import Point
from bms.telemetry.frame import empty_frame, validate_frame

log = logging.getLogger(__name__)


class TopicMapping(BaseModel):
    """A topic whose JSON payload holds the value of one point."""

    model_config = ConfigDict(extra="forbid")

    point: str = Field(title="Point id")
    value_path: str = Field(default="value", title="Dotted JSON path of the value")
    time_path: str | None = Field(default=None, title="Dotted JSON path of the time")


class MqttConfig(ConnectorConfig):
    """``[connectors.NAME]`` table of an MQTT connector."""

    kind: Literal["mqtt"] = "mqtt"
    host: str = Field(title="Broker host")
    port: int = Field(default=1883, ge=1, le=65535, title="Broker port")
    tls: bool = Field(default=False, title="Use TLS (server certificate verified)")
    ca_file: str | None = Field(default=None, title="CA certificate file (PEM) for TLS")
    username: str | None = Field(default=None, title="User name")
    password_env: str | None = Field(
        default=None, title="Password variable", description="Environment variable name."
    )
    client_id: str | None = Field(default=None, title="Client id; default bms-<name>")
    topics: list[str] = Field(
        default_factory=lambda: ["application/+/device/+/event/up", "v3/+/devices/+/up"],
        title="Topic filters",
    )
    qos: Literal[0, 1, 2] = Field(default=1, title="Subscription QoS")
    format: Literal["auto", "chirpstack", "tts", "json"] = Field(default="auto", title="Payload")
    topic_map: dict[str, TopicMapping] = Field(default_factory=dict, title="Topic -> point map")
    keepalive_seconds: int = Field(default=30, ge=5, title="Keep-alive [s]")
    session_expiry_seconds: int = Field(default=86400, ge=0, title="Broker session life [s]")
    batch_size: int = Field(default=500, ge=1, le=65535, title="Messages per stored batch")
    batch_seconds: float = Field(default=1.0, gt=0, title="Longest wait before a batch [s]")
    reconnect_max_seconds: int = Field(default=30, ge=1, title="Longest reconnect back-off [s]")

    @field_validator("ca_file")
    @classmethod
    def _ca_file_exists(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is not None and info.data.get("tls") and not os.path.isfile(value):
            raise ValueError(f"no such file: {value!r} (the broker's CA certificate, PEM)")
        return value


@register
class MqttConnector(Connector):
    """Pushed source: MQTT messages decoded into readings (see the module docstring).

    Attributes
    ----------
    stats : Counter
        ``messages``, ``readings``, ``malformed``, ``connects`` counted across runs.
    malformed : Counter
        Malformed messages by reason.
    """

    kind: ClassVar[str] = "mqtt"
    config_model: ClassVar[type[ConnectorConfig]] = MqttConfig

    def __init__(self, config: ConnectorConfig, points: Sequence[Point]) -> None:
        super().__init__(config, points)
        assert isinstance(config, MqttConfig)
        self.cfg = config
        self.known_points = {p.id for p in points}
        self.by_device: dict[str, list[tuple[str, str]]] = collections.defaultdict(list)
        for p in self.points:
            if "dev_eui" in p.source:
                field = str(p.source.get("field", p.name))
                self.by_device[str(p.source["dev_eui"]).lower()].append((field, p.id))
        for topic, mapping in config.topic_map.items():
            if mapping.point not in self.known_points:
                raise ConfigError(
                    f"connectors.{config.name}.topic_map.{topic}.point: unknown point "
                    f"{mapping.point!r}"
                )
        self.password: str | None = None
        if config.username:
            if not config.password_env:
                raise ConfigError(f"connectors.{config.name}.password_env: needed with username")
            self.password = os.environ.get(config.password_env)
            if self.password is None:
                raise ConfigError(
                    f"connectors.{config.name}.password_env: {config.password_env} is not set"
                )
        self.stats: collections.Counter[str] = collections.Counter()
        self.malformed: collections.Counter[str] = collections.Counter()

    # Decoding ---------------------------------------------------------------------------------
    def decode(self, topic: str, payload: bytes, received: pd.Timestamp) -> list[Reading]:
        """Readings of one message; :class:`DecodeError` saying why when it has none."""
        from paho.mqtt.client import topic_matches_sub

        doc = parse_json(payload)
        for pattern, mapping in self.cfg.topic_map.items():
            if topic_matches_sub(pattern, topic):
                try:
                    raw = get_path(doc, mapping.value_path)
                    stamp = get_path(doc, mapping.time_path) if mapping.time_path else None
                except KeyError as exc:
                    raise DecodeError(f"topic {topic}: no {exc.args[0]!r} in payload") from None
                time_ = as_time(stamp, f"topic {topic}") if stamp is not None else received
                return [(time_, mapping.point, as_value(raw, f"topic {topic}"))]
        kind = envelope_kind(doc) if self.cfg.format in ("auto", "chirpstack", "tts") else None
        if kind is not None and self.cfg.format in ("auto", kind):
            eui, time_, decoded = decode_uplink(doc, kind, received)
            if eui not in self.by_device:
                raise DecodeError(f"unknown device EUI {eui}")
            readings = []
            for field, point in self.by_device[eui]:
                try:
                    readings.append((time_, point, as_value(get_path(decoded, field), point)))
                except KeyError:
                    self.stats["fields_absent"] += 1
            if not readings:
                raise DecodeError(f"uplink of {eui} has none of the fields of its points")
            return readings
        if self.cfg.format in ("auto", "json"):
            return decode_plain(doc, self.known_points, received)
        raise DecodeError(f"not a {self.cfg.format} message")

    # Client -----------------------------------------------------------------------------------
    def _client(self) -> Any:
        try:
            import paho.mqtt.client as mqtt
            from paho.mqtt.packettypes import PacketTypes
            from paho.mqtt.properties import Properties
        except ImportError:
            raise ConfigError(
                "the mqtt connector needs paho-mqtt: pip install 'bms[mqtt]'"
            ) from None
        client = mqtt.Client(
            mqtt.CallbackAPIVersion.VERSION2,
            client_id=self.cfg.client_id or f"bms-{self.cfg.name or 'mqtt'}",
            protocol=mqtt.MQTTv5,
            manual_ack=True,
        )
        if self.cfg.username:
            client.username_pw_set(self.cfg.username, self.password)
        if self.cfg.tls:
            client.tls_set(ca_certs=self.cfg.ca_file)
        client.reconnect_delay_set(1, self.cfg.reconnect_max_seconds)
        props = Properties(PacketTypes.CONNECT)
        props.SessionExpiryInterval = self.cfg.session_expiry_seconds
        props.ReceiveMaximum = min(self.cfg.batch_size, 65535)
        self._connect_props = props
        return client

    def stream(self, handle: FrameHandler, stop: threading.Event) -> None:
        """Subscribe and call ``handle(frame)`` per batch until ``stop`` is set.

        Messages are acknowledged after ``handle`` returns; when it raises, the exception is
        re-raised after disconnecting, leaving the batch unacknowledged (redelivered later).
        """
        client = self._client()
        cond = threading.Condition()
        queue: collections.deque[tuple[int, int, int, list[Reading]]] = collections.deque()
        state = {"generation": 0}

        def on_connect(client: Any, _u: Any, _f: Any, reason: Any, _p: Any) -> None:
            if reason.is_failure:
                log.warning("%s: broker refused the connection: %s", self.cfg.name, reason)
                return
            with cond:
                state["generation"] += 1
                queue.clear()  # unacknowledged messages of the old connection come again
            self.stats["connects"] += 1
            client.subscribe([(topic, self.cfg.qos) for topic in self.cfg.topics])
            log.info("%s: connected to %s:%d", self.cfg.name, self.cfg.host, self.cfg.port)

        def on_disconnect(_c: Any, _u: Any, _f: Any, reason: Any, _p: Any) -> None:
            if not stop.is_set():
                log.warning("%s: disconnected (%s); reconnecting", self.cfg.name, reason)

        def on_message(_c: Any, _u: Any, message: Any) -> None:
            received = pd.Timestamp.now(tz="UTC")
            self.stats["messages"] += 1
            try:
                readings = self.decode(message.topic, message.payload, received)
            except DecodeError as exc:
                self.stats["malformed"] += 1
                self.malformed[str(exc)] += 1
                log.warning("%s: malformed message on %s: %s", self.cfg.name, message.topic, exc)
                readings = []
            with cond:
                queue.append((state["generation"], message.mid, message.qos, readings))
                if len(queue) >= self.cfg.batch_size:
                    cond.notify()

        client.on_connect, client.on_disconnect = on_connect, on_disconnect
        client.on_message = on_message
        client.connect_async(
            self.cfg.host,
            self.cfg.port,
            keepalive=self.cfg.keepalive_seconds,
            clean_start=False,
            properties=self._connect_props,
        )
        client.loop_start()
        try:
            while not stop.is_set():
                with cond:
                    cond.wait_for(
                        lambda: len(queue) >= self.cfg.batch_size or stop.is_set(),
                        timeout=self.cfg.batch_seconds,
                    )
                    batch = list(queue)
                    queue.clear()
                if batch:
                    self._deliver(client, batch, state, handle)
        finally:
            client.disconnect()  # first: the network thread then ends at once
            client.loop_stop()

    def _deliver(
        self,
        client: Any,
        batch: list[tuple[int, int, int, list[Reading]]],
        state: dict[str, int],
        handle: FrameHandler,
    ) -> None:
        rows = [r for _, _, _, readings in batch for r in readings]
        if rows:
            frame = pd.DataFrame(rows, columns=["time", "point", "value"])
            frame = validate_frame(frame)
        else:
            frame = empty_frame()
        if len(frame):
            handle(frame)  # stored (or spooled) when it returns; raises otherwise: no ack
            self.stats["readings"] += len(frame)
        for gen, mid, qos, _ in batch:
            if qos > 0 and gen == state["generation"]:  # else the broker sends it again
                client.ack(mid, qos)

    def wait_connected(self, timeout_seconds: float = 5.0) -> bool:
        """True once a connection has been made (for tests and tools)."""
        deadline = time.monotonic() + timeout_seconds
        while time.monotonic() < deadline:
            if self.stats["connects"]:
                return True
            time.sleep(0.02)
        return False
