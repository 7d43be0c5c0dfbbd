"""MQTT connector: LoRaWAN envelopes and JSON decoding, password + TLS, acknowledgement after
storage, malformed messages, and a broker restart that loses no QoS 1 message."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pandas as pd
import pytest

from bms.connectors.base import parse_config
from bms.connectors.lorawan import DecodeError
from bms.connectors.mqtt import MqttConnector
from bms.errors import ConfigError
from tests.conftest import missing, require_binary
from tests.connectors.conftest import ZONE_EUI, free_tcp_port

TEMP, RH, CO2 = "t/b/zone-1/temp", "t/b/zone-1/rh", "t/b/zone-1/co2"
NOW = pd.Timestamp("2026-11-28 12:00", tz="UTC")
UP = f"application/app-1/device/{ZONE_EUI}/event/up"


def up_topic(tag: str) -> str:
    """The ChirpStack uplink topic of an application of its own (one per test)."""
    return f"application/{tag}/device/{ZONE_EUI}/event/up"


@pytest.fixture
def tag() -> str:
    """A name of its own for each test: its MQTT client ids and topics meet no other test's."""
    return uuid.uuid4().hex[:10]


@pytest.fixture(autouse=True)
def _paho() -> None:
    if importlib.util.find_spec("paho") is None:
        missing("paho-mqtt is not installed (pip install 'bms[mqtt]')")


def chirpstack(i: int, eui: str = ZONE_EUI.upper(), **decoded: float) -> bytes:
    payload = decoded or {"temperature": 20.0 + i, "humidity": 40, "co2": 600 + i}
    return json.dumps(
        {
            "deduplicationId": f"d-{i}",
            "time": f"2026-11-28T10:{i // 60:02d}:{i % 60:02d}Z",
            "deviceInfo": {"devEui": eui, "deviceName": "zone-1"},
            "fPort": 2,
            "object": payload,
        }
    ).encode()


def connector(site, tag: str = "app-1", **options) -> MqttConnector:
    raw = {
        "kind": "mqtt",
        "host": "127.0.0.1",
        "topics": [f"application/{tag}/#", "plant/#"],
        "client_id": f"bms-test-{tag}",
        "session_expiry_seconds": 300,
        **options,
    }
    return MqttConnector(parse_config("lora", raw), site.all_points())


# -- Decoding -------------------------------------------------------------------------------
def test_chirpstack_v4_uplink_maps_device_fields_to_points(site):
    readings = connector(site).decode(UP, chirpstack(5), NOW)
    assert sorted((p, v) for _, p, v in readings) == [(CO2, 605.0), (RH, 40.0), (TEMP, 25.0)]
    assert {t for t, _, _ in readings} == {pd.Timestamp("2026-11-28T10:00:05Z")}


def test_things_stack_v3_uplink(site):
    message = {
        "end_device_ids": {"device_id": "zone-1", "dev_eui": ZONE_EUI.upper()},
        "received_at": "2026-11-28T10:00:00.123456789Z",
        "uplink_message": {"f_port": 2, "decoded_payload": {"temperature": 19.5, "co2": 450}},
    }
    readings = connector(site).decode(
        "v3/app@ttn/devices/zone-1/up", json.dumps(message).encode(), NOW
    )
    assert sorted((p, v) for _, p, v in readings) == [(CO2, 450.0), (TEMP, 19.5)]
    assert readings[0][0] == pd.Timestamp("2026-11-28T10:00:00.123456789Z")


def test_plain_json_and_topic_map(site):
    conn = connector(
        site,
        topic_map={
            "plant/+/sat": {
                "point": "t/b/ahu-1/sat",
                "value_path": "data.v",
                "time_path": "data.ts",
            }
        },
    )
    plain = json.dumps(
        [
            {"point": TEMP, "time": "2026-11-28T11:00:00+01:00", "value": 21},
            {"point": RH, "value": True},
        ]
    ).encode()
    assert conn.decode("x/y", plain, NOW) == [
        (pd.Timestamp("2026-11-28T10:00Z"), TEMP, 21.0),
        (NOW, RH, 1.0),
    ]
    mapped = conn.decode("plant/ahu-1/sat", b'{"data": {"v": 17.5, "ts": 1795860000}}', NOW)
    assert mapped == [(pd.Timestamp(1795860000, unit="s", tz="UTC"), "t/b/ahu-1/sat", 17.5)]


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (b"\xff\xfe", "not JSON"),
        (b"{not json", "not JSON"),
        (chirpstack(1, eui="0000000000000000"), "unknown device EUI 0000000000000000"),
        (chirpstack(1, pressure=1.0), "none of the fields"),
        (json.dumps({"deviceInfo": {"devEui": ZONE_EUI}}).encode(), "without a decoded payload"),
        (
            json.dumps({"point": TEMP, "time": "2026-11-28 10:00", "value": 1}).encode(),
            "no UTC offset",
        ),
        (
            json.dumps({"point": TEMP, "time": "2026-11-28T10:00Z", "value": "hot"}).encode(),
            "not a finite",
        ),
        (json.dumps({"point": "t/b/nope", "value": 1}).encode(), "unknown point 't/b/nope'"),
    ],
)
def test_malformed_messages_say_why(site, payload, reason):
    with pytest.raises(DecodeError, match=reason):
        connector(site).decode(UP, payload, NOW)


def test_credentials_come_from_the_named_variable(site, monkeypatch):
    monkeypatch.delenv("BMS_TEST_NO_SUCH_PASSWORD", raising=False)
    with pytest.raises(ConfigError, match="BMS_TEST_NO_SUCH_PASSWORD is not set"):
        connector(site, username="bms", password_env="BMS_TEST_NO_SUCH_PASSWORD")
    with pytest.raises(ConfigError, match="password_env: needed with username"):
        connector(site, username="bms")


def test_a_missing_tls_ca_file_is_refused_at_config_time_naming_it(site, tmp_path):
    with pytest.raises(
        ConfigError, match=r"^connectors.lora.ca_file: no such file: '/nope/ca.pem'"
    ):
        connector(site, tls=True, ca_file="/nope/ca.pem")
    (tmp_path / "ca.pem").write_text("-----BEGIN CERTIFICATE-----\n")
    assert connector(site, tls=True, ca_file=str(tmp_path / "ca.pem")).cfg.tls


# -- Against a broker -----------------------------------------------------------------------
class Run:
    """A connector streaming in a thread into a list of frames."""

    def __init__(self, conn: MqttConnector, handle: Callable[[pd.DataFrame], None] | None = None):
        self.conn, self.frames, self.stop, self.error = conn, [], threading.Event(), None
        self._handle = handle or self.frames.append
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()
        assert conn.wait_connected(10), "connector did not connect"
        time.sleep(0.2)  # subscription acknowledged

    def _run(self) -> None:
        try:
            self.conn.stream(self._handle, self.stop)
        except Exception as exc:
            self.error = exc

    def rows(self) -> pd.DataFrame:
        return pd.concat(self.frames, ignore_index=True) if self.frames else pd.DataFrame()

    def wait_rows(self, n: int, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while len(self.rows()) < n and time.monotonic() < deadline:
            time.sleep(0.05)

    def finish(self) -> None:
        self.stop.set()
        self.thread.join(10)


def publish(port: int, messages: list[tuple[str, bytes]], **tls) -> None:
    import paho.mqtt.client as mqtt

    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
    client.connect("127.0.0.1", port)
    client.loop_start()
    for topic, payload in messages:
        client.publish(topic, payload, qos=1).wait_for_publish(5)
    client.loop_stop()
    client.disconnect()


def test_tls_and_password_qos1_with_malformed_messages(site, mqtt_broker, monkeypatch, tag):
    monkeypatch.setenv("BMS_TEST_LORA_PASSWORD", mqtt_broker["password"])
    conn = connector(
        site,
        host="localhost",
        port=int(mqtt_broker["tls_port"]),
        tls=True,
        ca_file=mqtt_broker["ca"],
        username=mqtt_broker["username"],
        password_env="BMS_TEST_LORA_PASSWORD",
        tag=tag,
        batch_seconds=0.1,
    )
    run = Run(conn)
    messages = [(up_topic(tag), chirpstack(i)) for i in range(10)]
    messages[3] = (up_topic(tag), b"garbage")
    messages[7] = (up_topic(tag), chirpstack(7, eui="0000000000000000"))
    publish(int(mqtt_broker["port"]), messages)
    run.wait_rows(24)
    run.finish()
    assert run.error is None
    rows = run.rows()
    assert len(rows) == 24 and set(rows["point"]) == {TEMP, RH, CO2}
    assert conn.stats["malformed"] == 2
    assert any("unknown device EUI" in reason for reason in conn.malformed)


def test_wrong_password_is_refused_not_crashing(site, mqtt_broker, monkeypatch, tag):
    monkeypatch.setenv("BMS_TEST_LORA_PASSWORD", "wrong")
    conn = connector(
        site,
        port=int(mqtt_broker["auth_port"]),
        username="bms",
        password_env="BMS_TEST_LORA_PASSWORD",
        tag=tag,
    )
    stop = threading.Event()
    threading.Timer(1.0, stop.set).start()
    conn.stream(lambda frame: None, stop)
    assert conn.stats["connects"] == 0


def test_a_batch_whose_storage_fails_is_delivered_again(site, mqtt_broker, tag):
    port = int(mqtt_broker["port"])
    options = {"port": port, "tag": tag, "batch_seconds": 0.1}

    def failing_store(frame: pd.DataFrame) -> None:
        raise OSError("store and spool both down")

    first = Run(connector(site, **options), failing_store)
    publish(port, [(up_topic(tag), chirpstack(i)) for i in range(3)])
    first.thread.join(10)
    assert isinstance(first.error, OSError)  # stream stopped without acknowledging
    second = Run(connector(site, **options))  # same client id: same broker session
    second.wait_rows(9)
    second.finish()
    assert len(second.rows()) == 9


# -- Broker restart -------------------------------------------------------------------------
@pytest.fixture
def own_broker(tmp_path: Path) -> Iterator[Callable[[], subprocess.Popen]]:
    """A Mosquitto with persistence on a free port; calling it (re)starts it."""
    binary = require_binary("mosquitto")
    port = free_tcp_port()
    conf = tmp_path / "mosquitto.conf"
    conf.write_text(
        f"user root\npersistence true\npersistence_location {tmp_path}/\n"
        f"listener {port} 127.0.0.1\nallow_anonymous true\n"
    )
    procs: list[subprocess.Popen] = []

    def start() -> subprocess.Popen:
        proc = subprocess.Popen([binary, "-c", str(conf)], stderr=subprocess.DEVNULL)
        procs.append(proc)
        time.sleep(0.3)
        return proc

    start.port = port  # type: ignore[attr-defined]
    yield start
    for proc in procs:
        proc.kill()
        proc.wait()


@pytest.mark.slow
def test_broker_restart_loses_no_qos1_message(site, own_broker):
    port = own_broker.port
    broker = own_broker()
    options = {"port": port, "batch_seconds": 0.1}
    Run(connector(site, **options)).finish()  # the broker now holds our persistent session
    publish(port, [(UP, chirpstack(i)) for i in range(5)])  # queued for us while we are away

    broker.terminate()  # SIGTERM: mosquitto saves sessions and queued messages
    broker.wait(10)
    broker = own_broker()
    conn = connector(site, **options)
    run = Run(conn)
    run.wait_rows(15)
    assert len(run.rows()) == 15, "messages queued before the restart were lost"

    broker.terminate()  # and a restart while we are connected: reconnect and resubscribe
    broker.wait(10)
    own_broker()
    deadline = time.monotonic() + 15
    while conn.stats["connects"] < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert conn.stats["connects"] == 2, "did not reconnect"
    time.sleep(0.3)
    publish(port, [(UP, chirpstack(i)) for i in range(5, 10)])
    run.wait_rows(30)
    run.finish()
    rows = run.rows()
    assert sorted(rows[rows["point"] == TEMP]["value"].unique()) == [20.0 + i for i in range(10)]
