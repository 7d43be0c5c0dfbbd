"""InfluxDB stores: 1.x against a real influxd, 2.x writes against VictoriaMetrics and Flux
reads on recorded annotated-CSV responses served by a local HTTP server."""

from __future__ import annotations

import json
import urllib.request
import uuid
from collections.abc import Iterator

import numpy as np
import pandas as pd
import pytest

from bms.config import Settings
from bms.errors import ConfigError, SchemaError
from bms.telemetry.frame import validate_frame
from bms.telemetry.influx import Influx1Store, Influx2Store, StoreUnavailableError
from bms.telemetry.open_store import open_store
from bms.telemetry.parquet import ParquetStore
from tests.connectors import conftest as services
from tests.connectors.conftest import free_tcp_port
from tests.telemetry.flux_server import DATA, TOKEN, FluxServer, extern_options, literal
from tests.telemetry.flux_server import flux_server as run_flux_server

# the service fixtures of tests/connectors/conftest.py, shared here
_services = services._services
influx_server = services.influx_server
influx_url = services.influx_url
vm_url = services.vm_url

T0 = pd.Timestamp("2026-01-05", tz="UTC")
HOSTILE = ["x' OR 1=1 --", 'a" or "1"="1', '") |> drop()', "sp ace,=comma\\back"]


def frame(
    points: list[str], n: int = 10, step: str = "1min", start: pd.Timestamp = T0
) -> pd.DataFrame:
    times = pd.date_range(start, periods=n, freq=step, tz="UTC")
    return pd.concat(
        [
            pd.DataFrame({"time": times, "point": p, "value": np.arange(n) + 100.0 * i})
            for i, p in enumerate(points)
        ],
        ignore_index=True,
    )


# -- 1.x -------------------------------------------------------------------------------------
def test_influx1_round_trip_is_idempotent_last_value_wins(influx_url):
    store = Influx1Store(influx_url)
    data = frame(["s/b/e/a", "s/b/e/b"])
    assert store.write(data) == 20
    again = data.assign(value=data["value"] + 0.5)
    store.write(again)
    back = store.read(["s/b/e/a", "s/b/e/b"], T0, T0 + pd.Timedelta(hours=1))
    pd.testing.assert_frame_equal(back, validate_frame(again), check_dtype=False)
    assert str(back["time"].dtype) == "datetime64[ns, UTC]" and back["value"].dtype == "float64"
    extents = store.points()
    assert [(e.point, e.rows, e.start, e.end) for e in extents] == [
        ("s/b/e/a", 10, T0, T0 + pd.Timedelta(minutes=9)),
        ("s/b/e/b", 10, T0, T0 + pd.Timedelta(minutes=9)),
    ]


def test_influx1_read_is_chunked_and_bounded(influx_url):
    store = Influx1Store(influx_url)
    store.read_chunk, store.points_per_query = pd.Timedelta(days=2), 1
    data = frame(["p/1", "p/2", "p/3"], n=10, step="1D")
    store.write(data)
    window = store.read(["p/1", "p/3"], T0 + pd.Timedelta(days=1), T0 + pd.Timedelta(days=8))
    assert sorted(set(window["point"])) == ["p/1", "p/3"]
    assert window["time"].min() == T0 + pd.Timedelta(days=1)
    assert window["time"].max() == T0 + pd.Timedelta(days=7)  # end is excluded
    assert len(store.read()) == 30  # no bounds: the extents are asked first


def test_influx1_hostile_point_ids_read_only_themselves(influx_url):
    store = Influx1Store(influx_url)
    store.write(frame(["victim/a", *HOSTILE], n=3))
    for point in HOSTILE:
        got = store.read([point], T0, T0 + pd.Timedelta(days=1))
        assert set(got["point"]) == {point} and len(got) == 3
    for attack in [
        "victim/a' OR '1'='1",
        'x" OR "point" =~ /.*/ --',
        "' OR 1=1; DROP DATABASE x --",
    ]:
        assert store.read([attack], T0, T0 + pd.Timedelta(days=1)).empty
    assert len(store.read(["victim/a"], T0, T0 + pd.Timedelta(days=1))) == 3


def test_influx1_refuses_point_ids_line_protocol_cannot_hold(influx_url):
    with pytest.raises(SchemaError, match="trailing backslash"):
        Influx1Store(influx_url).write(frame(["ends\\"], n=1))


def test_influx1_scores_measurement(influx_url):
    store = Influx1Store(influx_url)
    scores = pd.DataFrame(
        {
            "time": pd.date_range(T0, periods=3, freq="1h", tz="UTC"),
            "equipment": "s/b/ahu-1",
            "model_version": "iforest-3",
            "anomaly_score": [0.1, 0.7, np.nan],
            "health": [95.0, 60.0, 55.0],
            "rul_p10": [30.0, 5.0, 4.0],
            "rul_p50": [60.0, 12.0, 10.0],
            "rul_p90": [90.0, 20.0, 18.0],
        }
    )
    assert store.write_scores(scores) == 3
    back = store.read_scores(T0, T0 + pd.Timedelta(days=1), equipment="s/b/ahu-1")
    assert back["health"].tolist() == [95.0, 60.0, 55.0]
    assert back["anomaly_score"].iloc[:2].tolist() == [0.1, 0.7] and np.isnan(
        back["anomaly_score"].iloc[2]
    )
    assert set(back["model_version"]) == {"iforest-3"}
    assert store.read_scores(T0, T0 + pd.Timedelta(days=1), equipment="x' OR 1=1 --").empty
    with pytest.raises(SchemaError, match="lacks column 'equipment'"):
        store.write_scores(scores.drop(columns="equipment"))


def test_influx1_down_raises_store_unavailable():
    store = Influx1Store(f"influxdb://127.0.0.1:{free_tcp_port()}/bms", timeout_seconds=1)
    with pytest.raises(StoreUnavailableError, match="unreachable"):
        store.write(frame(["a"], n=1))
    assert isinstance(StoreUnavailableError("x"), ConnectionError)


# -- open_store --------------------------------------------------------------------------------
def test_open_store_follows_the_telemetry_url(tmp_path, monkeypatch):
    assert isinstance(open_store(Settings(home=tmp_path)), ParquetStore)
    assert isinstance(open_store(Settings(telemetry_url="influxdb://h:1/db")), Influx1Store)
    monkeypatch.delenv("BMS_INFLUX_TOKEN", raising=False)
    with pytest.raises(ConfigError, match="BMS_INFLUX_TOKEN"):
        open_store(Settings(telemetry_url="influxdb2://h:1?org=o&bucket=b"))
    with pytest.raises(ConfigError, match="password in the URL"):
        open_store(Settings(telemetry_url="influxdb://u:secret@h:1/db"))
    with pytest.raises(ConfigError, match="needs \\?org"):
        open_store(Settings(telemetry_url="influxdb2://h:1?org=o"))


# -- 2.x ---------------------------------------------------------------------------------------
def vm_export(vm: str, metric: str) -> list[dict]:
    urllib.request.urlopen(f"{vm}/internal/force_flush", timeout=10).read()
    url = f"{vm}/api/v1/export?match[]={metric}"
    body = urllib.request.urlopen(url, timeout=10).read().decode()
    return [json.loads(line) for line in body.splitlines() if line]


def test_influx2_write_reaches_a_v2_write_api(vm_url, monkeypatch):
    monkeypatch.setenv("BMS_INFLUX_TOKEN", "test-token")
    store = Influx2Store(f"{vm_url.replace('http', 'influxdb2', 1)}?org=bms&bucket=telemetry")
    run = uuid.uuid4().hex[:8]  # the server keeps data across test runs
    point = f"v2/b/{run}/p'\" x"
    assert store.write(frame([point], n=5)) == 5
    scores = pd.DataFrame(
        {"time": [T0], "equipment": f"v2/b/{run}", "model_version": "7", "health": [88.0]}
    )
    assert store.write_scores(scores) == 1
    series = [s for s in vm_export(vm_url, "bms_telemetry_value") if s["metric"]["point"] == point]
    assert series and series[0]["values"] == [0, 1, 2, 3, 4]
    assert series[0]["timestamps"][0] == T0.value // 1_000_000
    exported = vm_export(vm_url, "bms_scores_health")
    health = [s for s in exported if s["metric"]["equipment"] == f"v2/b/{run}"]
    assert health[0]["metric"]["model_version"] == "7" and health[0]["values"] == [88]
    store.close()


@pytest.fixture
def flux_server(monkeypatch) -> Iterator[FluxServer]:
    monkeypatch.setenv("BMS_INFLUX_TOKEN", TOKEN)
    with run_flux_server() as server:
        yield server


def test_influx2_flux_read_parses_annotated_csv(flux_server):
    flux_server.response = DATA / "read_two_points.csv"
    store = Influx2Store(flux_server.url())
    got = store.read(["t/b/ahu-1/sat", "t/b/ahu-1/rat"], T0, T0 + pd.Timedelta(hours=1))
    assert got["point"].tolist() == ["t/b/ahu-1/rat"] * 2 + ["t/b/ahu-1/sat"] * 3
    assert got["value"].tolist() == [18.5, 18.75, 16.0, 16.25, 16.5]
    assert got["time"].iloc[-1] == pd.Timestamp("2026-01-05T00:02:00.5Z")
    assert str(got["time"].dtype) == "datetime64[ns, UTC]"


def test_influx2_user_strings_travel_as_typed_parameters_only(flux_server):
    store = Influx2Store(flux_server.url())
    assert store.read(HOSTILE, T0, T0 + pd.Timedelta(hours=1)).empty
    (request,) = flux_server.requests
    assert request["query"] == Influx2Store._FLUX_READ  # the query text never changes
    for attack in HOSTILE:
        assert attack not in request["query"]
    props = extern_options(request)  # typed `option bms_x = <literal>` statements
    assert sorted(e["value"] for e in props["bms_points"]["elements"]) == sorted(HOSTILE)
    assert {e["type"] for e in props["bms_points"]["elements"]} == {"StringLiteral"}
    assert props["bms_start"]["type"] == props["bms_stop"]["type"] == "DateTimeLiteral"


def test_influx2_points_lists_each_point_with_its_extent_and_count(flux_server):
    flux_server.responses = [DATA / f"extent_{fn}.csv" for fn in ("count", "first", "last")]
    extents = Influx2Store(flux_server.url()).points()
    assert [(e.point, e.rows, e.start, e.end) for e in extents] == [
        ("t/b/ahu-1/rat", 2, T0, T0 + pd.Timedelta(minutes=1)),
        ("t/b/ahu-1/sat", 3, T0, pd.Timestamp("2026-01-05T00:02:00.5Z")),
    ]
    assert all(str(e.start.tz) == "UTC" and e.start.unit == "ns" for e in extents)
    queries = [r["query"] for r in flux_server.requests]
    assert queries == [
        Influx2Store._FLUX_EXTENT.replace("{fn}", fn) for fn in ("count", "first", "last")
    ]
    options = extern_options(flux_server.requests[0])
    assert literal(options["bms_measurement"]) == "bms_telemetry"
    assert literal(options["bms_bucket"]) == "telemetry"
    assert {p for p, token in flux_server.calls} == {"/api/v2/query?org=bms"}
    assert {token for p, token in flux_server.calls} == {f"Token {TOKEN}"}


def test_influx2_read_without_bounds_asks_the_extents_then_reads_them(flux_server):
    flux_server.responses = [DATA / f"extent_{fn}.csv" for fn in ("count", "first", "last")]
    flux_server.response = DATA / "read_two_points.csv"
    got = Influx2Store(flux_server.url()).read()
    pd.testing.assert_frame_equal(got, validate_frame(got))  # canonical, dtypes included
    assert len(got) == 5 and len(flux_server.requests) == 4
    window = extern_options(flux_server.requests[3])
    assert literal(window["bms_start"]) == "2026-01-05T00:00:00.000000000Z"
    assert literal(window["bms_stop"]) == "2026-01-05T00:02:00.500000001Z"  # last + 1 ns
    assert sorted(literal(window["bms_points"])) == ["t/b/ahu-1/rat", "t/b/ahu-1/sat"]


def test_influx2_reads_are_chunked_in_time_and_points(flux_server):
    store = Influx2Store(flux_server.url())
    store.read_chunk, store.points_per_query = pd.Timedelta(minutes=30), 2
    assert store.read(["a", "b", "c"], T0, T0 + pd.Timedelta(minutes=50)).empty
    asked = [
        (literal(o["bms_start"]), literal(o["bms_stop"]), literal(o["bms_points"]))
        for o in map(extern_options, flux_server.requests)
    ]
    t30 = "2026-01-05T00:30:00.000000000Z"
    t0, t50 = "2026-01-05T00:00:00.000000000Z", "2026-01-05T00:50:00.000000000Z"
    assert asked == [
        (t0, t30, ["a", "b"]), (t0, t30, ["c"]), (t30, t50, ["a", "b"]), (t30, t50, ["c"]),
    ]  # fmt: skip
