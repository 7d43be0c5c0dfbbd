"""The simulated Besançon site served live over BACnet/IP and Modbus TCP, polled back through
the connectors: what comes back is the simulator's output."""

from __future__ import annotations

import importlib.util
import json
import os
import socket
import subprocess
import sys
import threading
import time
import tomllib
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from bms.connectors.bacnet import BacnetConnector
from bms.connectors.base import parse_config
from bms.connectors.fieldbus import free_port
from bms.connectors.modbus import ModbusConnector
from bms.simulate.live import LiveSite, connector_toml
from bms.simulate.run import simulate_site
from bms.site.loader import load_site
from bms.site.model import Site
from tests.conftest import missing, require_binary


@pytest.fixture(autouse=True)
def _protocol_libraries() -> None:
    """Skip (or fail, in CI) when the protocol libraries are not installed."""
    for module, extra in [("bacpypes3", "bacnet"), ("pymodbus", "modbus")]:
        if importlib.util.find_spec(module) is None:
            missing(f"{module} is not installed (pip install 'bms[{extra}]')")


N_STEPS = 288  # one day at 5 minutes


@pytest.fixture(scope="module")
def site() -> Site:
    return load_site("besancon")


@pytest.fixture(scope="module")
def telemetry(site: Site) -> pd.DataFrame:
    return simulate_site(site, "2026-01-05", 2, seed=3).telemetry


@pytest.fixture
def live(site: Site, telemetry: pd.DataFrame) -> Iterator[LiveSite]:
    with LiveSite(site, telemetry) as served:
        yield served


def _as_float32(values: pd.Series) -> np.ndarray:
    return values.to_numpy().astype(np.float32).astype(np.float64)


@pytest.mark.slow
def test_polling_the_live_site_gives_back_the_simulated_frame(
    site: Site, telemetry: pd.DataFrame, live: LiveSite
) -> None:
    tables = live.connector_tables()
    bacnet = BacnetConnector(parse_config("bacnet", tables["bacnet"]), site.all_points())
    modbus = ModbusConnector(parse_config("modbus", tables["modbus"]), site.all_points())
    polled = []
    with bacnet, modbus:
        for ts in live.times[:N_STEPS]:
            live.advance_to(ts)
            polled += [bacnet.poll(), modbus.poll()]
            assert bacnet.last_report.errors == {} and modbus.last_report.errors == {}
    got = pd.concat(polled, ignore_index=True)

    served = set(live.points)
    assert len(served) == 93  # 89 BACnet points on 10 devices + 4 Modbus meter registers
    period = live.times[:N_STEPS]
    want = telemetry[telemetry["point"].isin(served) & telemetry["time"].isin(period)]
    assert set(got["time"]) == set(period)  # stamped with the simulated clock
    merged = want.merge(got, on=["time", "point"], how="left", suffixes=("_sim", "_live"))
    assert merged["value_live"].notna().all()  # every simulated reading came back
    # BACnet Real and Modbus float32 carry float32; a binary object carries 0/1 only (the
    # simulator's spike faults on a status point come back as the state they round to)
    binary = merged["point"].map(
        lambda pid: str(site.point_by_id(pid).source.get("object", "")).startswith("binary")
    )
    expected = _as_float32(merged["value_sim"])
    expected[binary.to_numpy()] = (merged.loc[binary, "value_sim"] >= 0.5).astype(float)
    np.testing.assert_allclose(merged["value_live"].to_numpy(), expected, rtol=1e-6, atol=1e-9)
    extra = len(got) - len(want)  # gaps in the frame: devices hold their last value
    assert extra == len(served) * len(period) - len(want)


def test_devices_may_announce_other_units_and_the_connector_converts(
    site: Site, telemetry: pd.DataFrame
) -> None:
    sat = "besancon/hq/ahu-1/sat"
    dp = "besancon/hq/ahu-1/filter_dp"
    units = {sat: "degrees-fahrenheit", dp: "inches-of-water"}
    points = [site.point_by_id(sat), site.point_by_id(dp)]
    with LiveSite(site, telemetry, bacnet_units=units) as live:
        config = parse_config("bacnet", live.connector_tables()["bacnet"])
        with BacnetConnector(config, points) as conn:
            ts = live.advance_to(live.times[100])
            frame = conn.poll()
    want = telemetry[(telemetry["time"] == ts) & telemetry["point"].isin(units)]
    got = frame.set_index("point")["value"]
    for pid, value in zip(want["point"], want["value"], strict=True):
        assert got[pid] == pytest.approx(value, rel=1e-5)


def test_advance_to_holds_the_last_value_through_gaps(live: LiveSite) -> None:
    ts = live.times[5] + pd.Timedelta(minutes=2)  # between two steps
    assert live.advance_to(ts) == ts
    assert live.now == ts


def test_replay_walks_the_virtual_clock_through_the_frame(
    site: Site, telemetry: pd.DataFrame
) -> None:
    short = telemetry[telemetry["time"] < telemetry["time"].min() + pd.Timedelta(hours=1)]
    with LiveSite(site, short) as live:
        live.replay(speed=1e6, stop=threading.Event())  # 1 h of data in ~4 ms of clock
        assert live.now == live.times[-1] and len(live.times) == 12


def test_connector_tables_are_valid_bms_toml(live: LiveSite) -> None:
    text = connector_toml(live.connector_tables(client_port=47999))
    tables = tomllib.loads(text)["connectors"]
    assert set(tables) == {"sim-bacnet", "sim-modbus"}
    bacnet = parse_config("sim-bacnet", tables["sim-bacnet"])
    assert bacnet.address.endswith(":47999")  # type: ignore[attr-defined]
    assert len(bacnet.devices) == 10  # type: ignore[attr-defined]
    assert parse_config("sim-modbus", tables["sim-modbus"]).kind == "modbus"


def test_broadcast_discovery_finds_every_device_of_the_live_site(
    site: Site, telemetry: pd.DataFrame
) -> None:
    with LiveSite(site, telemetry, bbmd=True) as live:
        table = live.connector_tables()["bacnet"]
        del table["devices"]  # nothing known in advance: Who-Is through the BBMD
        table["whois_timeout_seconds"] = 0.5
        with BacnetConnector(parse_config("bacnet", table), []) as conn:
            devices = conn.discover()
    assert [d.instance for d in devices] == list(range(1001, 1011))
    names = {o.name for d in devices for o in d.objects}
    assert {"ahu-1.sat", "chiller-1.superheat", "weather.ghi"} <= names


@pytest.fixture
def mosquitto(tmp_path: Path) -> Iterator[str]:
    """A throw-away anonymous Mosquitto broker on a fresh port; its URL."""
    binary = require_binary("mosquitto")
    port = free_port(socket.SOCK_STREAM)
    conf = tmp_path / "mosquitto.conf"
    conf.write_text(f"listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\n")
    proc = subprocess.Popen(
        [binary, "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.02)
        yield f"mqtt://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(5)


def test_zone_sensors_are_published_as_chirpstack_uplinks(
    site: Site, telemetry: pd.DataFrame, mosquitto: str
) -> None:
    import paho.mqtt.client as mqtt

    received: list[tuple[str, dict]] = []
    sub = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
    sub.on_message = lambda _c, _u, msg: received.append((msg.topic, json.loads(msg.payload)))
    host, port = mosquitto.removeprefix("mqtt://").split(":")
    sub.connect(host, int(port))
    sub.subscribe("application/+/device/+/event/up", qos=1)
    sub.loop_start()
    time.sleep(0.2)
    try:
        with LiveSite(site, telemetry, mqtt_url=mosquitto) as live:  # publishes times[0]
            live.advance_to(live.times[1])
            n_sensors = len(live.mqtt.devices)  # type: ignore[union-attr]
        deadline = time.monotonic() + 5
        while len(received) < 2 * n_sensors and time.monotonic() < deadline:
            time.sleep(0.02)
    finally:
        sub.disconnect()
        sub.loop_stop()
    assert n_sensors == 24
    field_of = {
        p.id: (str(p.source["dev_eui"]), p.source["field"])
        for p in site.all_points()
        if p.source.get("connector") == "mqtt"
    }
    sent = telemetry[telemetry["time"].isin(live.times[:2]) & telemetry["point"].isin(field_of)]
    expected: dict[tuple[str, str], dict[str, float]] = {}
    for ts, pid, value in sent.itertuples(index=False):
        dev_eui, field = field_of[pid]
        stamp = ts.isoformat().replace("+00:00", "Z")
        expected.setdefault((dev_eui, stamp), {})[field] = value
    got = {(e["deviceInfo"]["devEui"], e["time"]): e["object"] for _, e in received}
    assert got == expected  # one uplink per sensor and time stamp, its fields as simulated
    topic, event = received[0]
    assert topic == f"application/bms-sim/device/{event['deviceInfo']['devEui']}/event/up"


def test_the_mqtt_connector_reads_the_published_uplinks(
    site: Site, telemetry: pd.DataFrame, mosquitto: str
) -> None:
    from bms.connectors.mqtt import MqttConnector

    host, port = mosquitto.removeprefix("mqtt://").split(":")
    config = parse_config(
        "lora", {"kind": "mqtt", "host": host, "port": int(port), "batch_seconds": 0.1}
    )
    frames: list[pd.DataFrame] = []
    stop = threading.Event()
    conn = MqttConnector(config, site.all_points())
    worker = threading.Thread(target=conn.stream, args=(frames.append, stop))
    worker.start()
    try:
        time.sleep(0.5)  # subscribed
        with LiveSite(site, telemetry, mqtt_url=mosquitto) as live:
            for ts in live.times[1:4]:
                live.advance_to(ts)
            period = live.times[:4]
        zones = [p.id for p in site.all_points() if p.source.get("connector") == "mqtt"]
        want = telemetry[telemetry["time"].isin(period) & telemetry["point"].isin(zones)]
        deadline = time.monotonic() + 5
        while sum(len(f) for f in frames) < len(want) and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        stop.set()
        worker.join(10)
        conn.close()
    got = pd.concat(frames).sort_values(["point", "time"]).reset_index(drop=True)
    pd.testing.assert_frame_equal(got, want.reset_index(drop=True), check_dtype=False)


def test_bms_serve_sim_serves_what_its_printed_config_reads(site: Site, tmp_path: Path) -> None:
    bms = Path(sys.executable).with_name("bms")
    base = free_port()  # the ten device ports follow it: check they are free too
    ports = [base + i for i in range(10)]
    for port in ports:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                pytest.skip("no free block of UDP ports")
    args = [
        str(bms),
        "serve-sim",
        "--days",
        "1",
        "--speed",
        "1",
        "--bacnet-port",
        str(base),
        "--modbus-port",
        str(free_port(socket.SOCK_STREAM)),
        "--client-port",
        str(free_port()),
    ]
    env = {**os.environ, "BMS_HOME": str(tmp_path / "home")}
    proc = subprocess.Popen(
        args, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env, text=True
    )
    try:
        assert proc.stdout is not None
        lines: list[str] = []
        while not (lines and lines[-1] == "\n" and any("sim-modbus" in x for x in lines)):
            line = proc.stdout.readline()
            assert line, "bms serve-sim exited before printing its configuration"
            lines.append(line)
        tables = tomllib.loads("".join(lines))["connectors"]
        with BacnetConnector(parse_config("b", tables["sim-bacnet"]), site.all_points()) as conn:
            frame = conn.poll()
        assert len(frame) == 89 and conn.last_report.errors == {}
        first = frame["time"].iloc[0]  # the virtual clock: the simulated day's first step
        assert first == first.normalize() and frame["time"].nunique() == 1
    finally:
        proc.terminate()  # by PID: a stale simulator would share its ports (SO_REUSEPORT)
        proc.wait(10)
