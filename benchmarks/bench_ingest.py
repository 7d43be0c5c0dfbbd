"""Ingest throughput [points/s] of each part, with the raw library measured in the same run.

* file connector (CSV, 10 columns, local times) against a bare ``pandas.read_csv`` of the file;
* Parquet store ``write`` against ``pyarrow.parquet.write_table`` of the same rows;
* InfluxDB 1.x store ``write`` / ``read`` against a raw line-protocol ``POST /write`` of
  pre-built lines / a raw InfluxQL ``GET /query``;
* MQTT connector ``stream`` (ChirpStack uplinks, 3 readings each, QoS 1, manual acks after the
  handler) against a raw paho QoS 1 subscriber that only counts messages;
* the whole ``ingest`` job, file -> Parquet store, in chunks of one day.

Services come from the ``BMS_TEST_*`` variables of ``.ci/services`` when set, else are started
with ``.ci/services`` in a temporary directory (and stopped).

Run::

    .venv/bin/python benchmarks/bench_ingest.py [--rows 50000] [--messages 3000]
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import subprocess
import tempfile
import threading
import time
import urllib.parse
import urllib.request
import uuid
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from bms.config import Settings
from bms.connectors.base import parse_config
from bms.connectors.files import FileConnector
from bms.connectors.mqtt import MqttConnector
from bms.jobs.ingest import ingest
from bms.site.model import Building, Equipment, Point, Site
from bms.telemetry.influx import Influx1Store
from bms.telemetry.influx_io import line_protocol
from bms.telemetry.parquet import ParquetStore

REPO = Path(__file__).resolve().parents[1]
EUI = "a8404100018100ff"


def timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def row(what: str, n: int, ours: float, raw: float, baseline: str) -> None:
    print(
        f"{what:<28} {n:>9,} pts  bms {n / ours:>12,.0f} pts/s   raw {n / raw:>12,.0f} pts/s "
        f"({baseline})  bms/raw {raw / ours:5.2f}"
    )


def make_site(columns: int) -> Site:
    eq = "bench/b/eq"
    points = [
        Point(id=f"{eq}/c{i}", name=f"c{i}", equipment=eq, kind="Sensor", unit="1",
              source={"connector": "file", "column": f"c{i}"})
        for i in range(columns)
    ] + [
        Point(id=f"bench/b/zone/{f}", name=f, equipment="bench/b/zone", kind="Sensor", unit="1",
              source={"connector": "mqtt", "dev_eui": EUI, "field": f})
        for f in ("temperature", "humidity", "co2")
    ]  # fmt: skip
    equipment = (
        Equipment(id=eq, name="eq", site="bench", building="b", kind="AHU",
                  points=tuple(p for p in points if p.equipment == eq)),
        Equipment(id="bench/b/zone", name="zone", site="bench", building="b", kind="HVAC_Zone",
                  points=tuple(p for p in points if p.equipment != eq)),
    )  # fmt: skip
    building = Building(id="bench/b", name="b", equipment=equipment)
    return Site(id="bench", latitude=47.0, longitude=6.0, buildings=(building,))


def services(tmp: Path) -> dict[str, str]:
    if os.environ.get("BMS_TEST_INFLUX_URL") and os.environ.get("BMS_TEST_MQTT_PORT"):
        return dict(os.environ)
    env = {**os.environ, "BMS_SVC_INFLUX_PORT": "28086", "BMS_SVC_MQTT_PORT": "28830"}
    script = str(REPO / ".ci" / "services")
    subprocess.run([script, "start", str(tmp), "influxdb", "mosquitto"], env=env, check=True)
    exported = {}
    for line in (tmp / "env").read_text().splitlines():
        key, _, value = line.removeprefix("export ").partition("=")
        exported[key] = shlex.split(value)[0]
    return exported


def bench_files(tmp: Path, rows: int, columns: int, site: Site) -> pd.DataFrame:
    path = tmp / "bench.csv"
    times = pd.date_range("2026-01-01", periods=rows, freq="1min")  # naive Paris local times
    wide = pd.DataFrame(np.random.default_rng(0).normal(size=(rows, columns)).round(3),
                        columns=[f"c{i}" for i in range(columns)])  # fmt: skip
    wide.insert(0, "time", times.strftime("%Y-%m-%d %H:%M:%S"))
    wide.to_csv(path, index=False)
    local = {"timezone": "Europe/Paris", "ambiguous": "infer", "nonexistent": "shift_forward"}
    config = parse_config("csv", {"kind": "file", "path": str(path), **local})
    holder: dict[str, pd.DataFrame] = {}
    ours = timed(lambda: holder.update(frame=FileConnector(config, site.all_points()).load()))
    raw = timed(lambda: pd.read_csv(path))
    row("file connector (CSV)", rows * columns, ours, raw, "pandas.read_csv")
    return holder["frame"]


def bench_parquet(tmp: Path, frame: pd.DataFrame) -> None:
    ours = timed(lambda: ParquetStore(tmp / "store").write(frame))
    table = pa.Table.from_pandas(frame, preserve_index=False)
    raw = timed(lambda: pq.write_table(table, tmp / "raw.parquet", compression="zstd"))
    row("Parquet store write", len(frame), ours, raw, "pyarrow write_table")
    ours = timed(lambda: ParquetStore(tmp / "store").read())
    raw = timed(lambda: pq.read_table(tmp / "raw.parquet").to_pandas())
    row("Parquet store read", len(frame), ours, raw, "pyarrow read_table")


def bench_influx(base_url: str, frame: pd.DataFrame) -> None:
    database = f"bench_{uuid.uuid4().hex[:8]}"
    parts = urllib.parse.urlsplit(base_url)
    http = f"http://{parts.hostname}:{parts.port}"

    def statement(q: str) -> bytes:
        body = urllib.parse.urlencode({"q": q, "db": database, "epoch": "ns"}).encode()
        return urllib.request.urlopen(f"{http}/query", data=body, timeout=60).read()

    statement(f'CREATE DATABASE "{database}"')
    statement(f'CREATE DATABASE "{database}_raw"')
    store = Influx1Store(f"{http.replace('http', 'influxdb', 1)}/{database}")
    try:
        ours = timed(lambda: store.write(frame))
        lines = line_protocol("raw", frame["time"], {"point": frame["point"]},
                              {"value": frame["value"]})  # fmt: skip

        def raw_write() -> None:
            for begin in range(0, len(lines), 50_000):
                body = "\n".join(lines[begin : begin + 50_000]).encode()
                url = f"{http}/write?db={database}_raw&precision=ns"
                urllib.request.urlopen(urllib.request.Request(url, data=body), timeout=60).read()

        raw = timed(raw_write)
        row("InfluxDB 1.x store write", len(frame), ours, raw, "raw POST /write, lines pre-built")
        start, end = frame["time"].min(), frame["time"].max() + pd.Timedelta(1, "ns")
        ours = timed(lambda: store.read(None, start, end))
        raw = timed(
            lambda: json.loads(statement('SELECT "value" FROM "bms_telemetry" GROUP BY "point"'))
        )
        row("InfluxDB 1.x store read", len(frame), ours, raw, "raw GET /query, json.loads")
    finally:
        statement(f'DROP DATABASE "{database}"')
        statement(f'DROP DATABASE "{database}_raw"')


def chirpstack(i: int) -> bytes:
    return json.dumps({
        "time": (pd.Timestamp("2026-01-01", tz="UTC") + pd.Timedelta(seconds=i)).isoformat(),
        "deviceInfo": {"devEui": EUI},
        "object": {"temperature": 20 + i % 7, "humidity": 40, "co2": 600},
    }).encode()  # fmt: skip


def bench_mqtt(env: dict[str, str], site: Site, messages: int) -> None:
    import paho.mqtt.client as mqtt

    port = int(env["BMS_TEST_MQTT_PORT"])
    tag = uuid.uuid4().hex[:8]
    topic = f"application/{tag}/device/{EUI}/event/up"
    payloads = [chirpstack(i) for i in range(messages)]

    def publish_all() -> None:
        pub = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
        pub.max_inflight_messages_set(1000)
        pub.connect("127.0.0.1", port)
        pub.loop_start()
        infos = [pub.publish(topic, p, qos=1) for p in payloads]
        for info in infos:
            info.wait_for_publish(30)
        pub.loop_stop()
        pub.disconnect()

    # raw paho: QoS 1 subscriber that only counts
    got, done = [0], threading.Event()
    sub = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)

    def on_message(_c: object, _u: object, _m: object) -> None:
        got[0] += 1
        if got[0] == messages:
            done.set()

    sub.on_message = on_message
    sub.connect("127.0.0.1", port)
    sub.subscribe(topic, qos=1)
    sub.loop_start()
    time.sleep(0.3)
    raw = timed(lambda: (publish_all(), done.wait(60)))
    sub.loop_stop()
    sub.disconnect()

    raw_config = {
        "kind": "mqtt", "host": "127.0.0.1", "port": port, "topics": [f"application/{tag}/#"],
        "batch_seconds": 0.05, "client_id": f"bench-{tag}", "session_expiry_seconds": 60,
    }  # fmt: skip
    config = parse_config("lora", raw_config)
    conn = MqttConnector(config, site.all_points())
    stop, rows = threading.Event(), [0]

    def handle(frame: pd.DataFrame) -> None:
        rows[0] += len(frame)
        if rows[0] >= 3 * messages:
            stop.set()

    thread = threading.Thread(target=conn.stream, args=(handle, stop), daemon=True)
    thread.start()
    conn.wait_connected(10)
    time.sleep(0.3)
    ours = timed(lambda: (publish_all(), stop.wait(60)))
    stop.set()
    thread.join(10)
    print(
        f"{'MQTT (publish -> frame)':<28} {messages:>9,} msgs "
        f"bms {messages / ours:>12,.0f} msg/s   "
        f"raw {messages / raw:>12,.0f} msg/s (paho QoS 1 count)  bms/raw {raw / ours:5.2f} "
        f"[{3 * messages / ours:,.0f} pts/s]"
    )


def bench_job(tmp: Path, site: Site) -> None:
    settings = Settings(home=tmp / "home", connectors={"csv": {
        "kind": "file", "path": str(tmp / "bench.csv"), "timezone": "Europe/Paris",
        "ambiguous": "infer", "nonexistent": "shift_forward"}})  # fmt: skip
    store = ParquetStore(tmp / "job-store")
    holder = {}
    seconds = timed(
        lambda: holder.update(r=ingest("csv", site=site, settings=settings, store=store))
    )
    result = holder["r"]
    print(
        f"{'ingest job file->Parquet':<28} {result.rows_stored:>9,} pts  bms "
        f"{result.rows_stored / seconds:>12,.0f} pts/s   ({result.chunks} daily chunks, "
        "watermark saved after each)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=50_000, help="CSV rows (x 10 columns)")
    parser.add_argument("--messages", type=int, default=3000, help="MQTT messages")
    args = parser.parse_args()
    columns = 10
    site = make_site(columns)
    with tempfile.TemporaryDirectory() as directory:
        tmp = Path(directory)
        svc = tmp / "services"
        env = services(svc)
        try:
            frame = bench_files(tmp, args.rows, columns, site)
            bench_parquet(tmp, frame)
            bench_influx(env["BMS_TEST_INFLUX_URL"], frame)
            bench_mqtt(env, site, args.messages)
            bench_job(tmp, site)
        finally:
            if (svc / "env").exists():
                subprocess.run([str(REPO / ".ci" / "services"), "stop", str(svc)], check=False)


if __name__ == "__main__":
    main()
