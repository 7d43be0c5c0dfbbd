"""InfluxDB sources: points mapped to measurement / field / tags. 1.x against a real influxd
(InfluxQL, bound parameters); 2.x (Flux, typed parameters) on recorded annotated-CSV responses
served on loopback, writing through VictoriaMetrics' InfluxDB 2 write API."""

from __future__ import annotations

import json
import urllib.request
import uuid

import pandas as pd
import pytest

from bms.config import Settings
from bms.connectors.base import parse_config
from bms.connectors.influx import InfluxSourceConnector, parse_tags
from bms.connectors.influx2 import FLUX_READ, FLUX_READ_TAGGED, Influx2SourceConnector
from bms.errors import ConfigError, SiteError
from bms.jobs.ingest import ingest
from bms.site.model import Point
from bms.telemetry.frame import validate_frame
from bms.telemetry.influx import Influx2Store
from tests.connectors.conftest import influx_http, make_site
from tests.telemetry.flux_server import DATA, TOKEN, extern_options, flux_server, literal

T0 = pd.Timestamp("2026-02-01", tz="UTC")
SAT, RAT = "t/b/ahu-1/sat", "t/b/ahu-1/rat"


def write_lines(url: str, lines: list[str]) -> None:
    database = url.rsplit("/", 1)[1]
    request = urllib.request.Request(
        f"{influx_http(url)}/write?db={database}&precision=s", data="\n".join(lines).encode()
    )
    urllib.request.urlopen(request, timeout=10).read()


def source(url: str, points, **options) -> InfluxSourceConnector:
    config = parse_config("gtb", {"kind": "influxdb", "url": url, **options})
    return InfluxSourceConnector(config, points)


@pytest.fixture
def gtb(influx_url):
    """Two AHUs in one measurement told apart by a tag; a second field per row."""
    base = int(T0.timestamp())
    lines = []
    for minute in range(180):
        t = base + 60 * minute
        lines.append(f"ahu,unit=1 sat={16 + minute / 100},rat=21 {t}")
        lines.append(f"ahu,unit=2 sat=99,rat=99 {t}")
    write_lines(influx_url, lines)
    return influx_url


def test_reads_each_point_from_its_field_and_tags(gtb, site):
    conn = source(gtb, site.all_points(), chunk_hours=1)
    got = conn.read(T0 + pd.Timedelta(minutes=30), T0 + pd.Timedelta(minutes=150))
    assert set(got["point"]) == {SAT, RAT}
    sat = got[got["point"] == SAT]
    assert len(sat) == 120 and sat["time"].min() == T0 + pd.Timedelta(minutes=30)
    assert sat["value"].iloc[0] == pytest.approx(16.3)
    assert (got[got["point"] == RAT]["value"] == 21).all()  # never unit 2's 99


def test_tag_values_are_bound_parameters(gtb):
    hostile = [
        Point(
            id=f"t/b/x/p{i}",
            name=f"p{i}",
            equipment="t/b/x",
            kind="S",
            unit="1",
            source={"connector": "influxdb", "measurement": "ahu", "field": "sat", "tags": tags},
        )
        for i, tags in enumerate(
            ["unit=1' OR unit='2", 'unit=1" OR "unit"=\'2', "unit=x' OR 1=1 --"]
        )
    ]
    got = source(gtb, hostile).read(T0, T0 + pd.Timedelta(hours=3))
    assert got.empty


def test_identifiers_are_quoted(gtb):
    odd = Point(
        id="t/b/x/q",
        name="q",
        equipment="t/b/x",
        kind="S",
        unit="1",
        source={"connector": "influxdb", "measurement": 'ahu" WHERE 1=1 --', "field": "sat"},
    )
    assert source(gtb, [odd]).read(T0, T0 + pd.Timedelta(hours=3)).empty


def test_extent_comes_from_the_configured_start(gtb, site):
    assert source(gtb, site.all_points()).extent() is None
    first, _ = source(gtb, site.all_points(), start="2026-02-01T00:00:00Z").extent()
    assert first == T0


def test_source_errors_name_the_point(site):
    bad = Point(
        id="t/b/x/q",
        name="q",
        equipment="t/b/x",
        kind="S",
        unit="1",
        source={"connector": "influxdb", "field": "sat"},
    )
    with pytest.raises(SiteError, match=r"point 't/b/x/q': influxdb source lacks 'measurement'"):
        source("influxdb://127.0.0.1:1/db", [bad])
    with pytest.raises(SiteError, match="key=value"):
        parse_tags("t/b/x/q", "unit")
    assert parse_tags("p", "b=2, a=1") == (("a", "1"), ("b", "2"))


@pytest.mark.parametrize(
    ("kind", "url"),
    [("influxdb", "influxdb://127.0.0.1:1/db"), ("influxdb2", "influxdb2://127.0.0.1:1?bucket=b")],
)
def test_a_start_that_is_not_a_time_is_refused_at_config_time(kind, url):
    with pytest.raises(
        ConfigError, match=r"^connectors.gtb.start: not a time: 'yesterday-ish'; use ISO 8601"
    ):
        parse_config("gtb", {"kind": kind, "url": url, "start": "yesterday-ish"})
    assert parse_config("gtb", {"kind": kind, "url": url, "start": "2025-01-01"}).start


@pytest.mark.parametrize(
    ("url", "message"),
    [("influxdb://me:secret@127.0.0.1:1/db", "do not put a password in the URL"),
     ("influxdb:///db", "'influxdb:///db': missing host"),
     ("http://127.0.0.1:1/db", "scheme must be influxdb:// or influxdb2://")],
)  # fmt: skip
def test_a_bad_source_url_names_the_connector_setting(url, message):
    # it said "telemetry URL", the store's setting, and the user looked in the wrong place
    with pytest.raises(ConfigError, match=rf"^connectors\.gtb\.url.*{message}"):
        InfluxSourceConnector(parse_config("gtb", {"kind": "influxdb", "url": url}), [])


# -- InfluxDB 2.x source: Flux on recorded annotated-CSV responses ----------------------------
def point2(name: str, source: dict, point_id: str | None = None) -> Point:
    return Point(
        id=point_id or f"t/b/ahu-1/{name}",
        name=name,
        equipment="t/b/ahu-1",
        kind="Sensor",
        unit="1",
        source={"connector": "influxdb2", **source},
    )


AHU2 = [
    point2(field, {"measurement": "ahu", "field": field, "tags": "unit=1"})
    for field in ("sat", "rat", "fan_on", "mode")
]
METER2 = point2("p_kw", {"measurement": "meter", "field": "p_kw"}, "t/b/meter/p_kw")
T2 = pd.Timestamp("2026-02-01", tz="UTC")


@pytest.fixture
def flux2(monkeypatch):
    monkeypatch.setenv("BMS_GTB_TOKEN", TOKEN)
    with flux_server() as server:
        yield server


def source2(server, points, **options) -> Influx2SourceConnector:
    raw = {"kind": "influxdb2", "url": server.url(bucket="gtb"), "token_env": "BMS_GTB_TOKEN"}
    return Influx2SourceConnector(parse_config("gtb2", {**raw, **options}), points)


def test_v2_reads_each_point_from_its_measurement_field_and_tags(flux2):
    flux2.response = DATA / "source_ahu.csv"
    conn = source2(flux2, AHU2)
    got = conn.read(T2, T2 + pd.Timedelta(hours=1))
    pd.testing.assert_frame_equal(got, validate_frame(got))  # canonical, dtypes included
    by_point = got.groupby("point")["value"].apply(list).to_dict()
    assert by_point == {
        "t/b/ahu-1/fan_on": [1.0, 0.0],  # boolean field: 0/1
        "t/b/ahu-1/rat": [21.0, 21.5],
        "t/b/ahu-1/sat": [16.0, 16.25, 16.5],  # never unit 2's 99 nor measurement other's 7
    }
    assert conn.dropped_rows == 4  # unit 2, field 'secret', measurement 'other', 'n/a'
    (request,) = flux2.requests
    assert request["query"] == FLUX_READ_TAGGED
    options = {k: literal(v) for k, v in extern_options(request).items()}
    assert options == {
        "bms_bucket": "gtb",
        "bms_start": "2026-02-01T00:00:00.000000000Z",
        "bms_stop": "2026-02-01T01:00:00.000000000Z",
        "bms_measurement": "ahu",
        "bms_fields": ["sat", "rat", "fan_on", "mode"],
        "bms_tags": [["unit", "1"]],
        "bms_tag_keys": ["unit"],
    }
    assert flux2.calls == [("/api/v2/query?org=bms", f"Token {TOKEN}")]


def test_v2_points_without_tags_use_the_untagged_query(flux2):
    flux2.response = DATA / "source_meter.csv"
    conn = source2(flux2, [METER2, *AHU2])
    got = conn.read(T2, T2 + pd.Timedelta(hours=1), points=[METER2])
    assert got["point"].unique().tolist() == ["t/b/meter/p_kw"]
    assert got["value"].tolist() == [12.5, 13.0, 12.75]
    (request,) = flux2.requests  # only the group holding the asked point
    assert request["query"] == FLUX_READ
    assert "bms_tags" not in extern_options(request)


def test_v2_reads_are_bounded_and_chunked(flux2):
    conn = source2(flux2, [*AHU2, METER2], chunk_hours=0.5, fields_per_query=3)
    assert conn.read(T2, T2 + pd.Timedelta(minutes=45)).empty
    asked = [
        (o["bms_start"], o["bms_stop"], o["bms_measurement"], o["bms_fields"])
        for o in ({k: literal(v) for k, v in extern_options(r).items()} for r in flux2.requests)
    ]
    t0, t30, t45 = (f"2026-02-01T00:{m}:00.000000000Z" for m in ("00", "30", "45"))
    assert asked == [
        (t0, t30, "ahu", ["sat", "rat", "fan_on"]), (t0, t30, "ahu", ["mode"]),
        (t0, t30, "meter", ["p_kw"]),
        (t30, t45, "ahu", ["sat", "rat", "fan_on"]), (t30, t45, "ahu", ["mode"]),
        (t30, t45, "meter", ["p_kw"]),
    ]  # fmt: skip


def test_v2_hostile_ids_and_sources_travel_as_parameters_and_read_nothing_else(flux2):
    """A point id with quotes reads its own series; Flux injections in the measurement, field
    and tags are parameters (the query text never changes) and match nothing."""
    flux2.response = DATA / "source_ahu.csv"  # as if the server answered with everything
    quoted_id = 't/b/ahu-1/it\'s "sat"'
    quoted = point2("q", {"measurement": "ahu", "field": "sat", "tags": "unit=1"}, quoted_id)
    injected_tag_key = {'unit"] != "" or r["unit': "2"}
    attacks = [
        point2("a", {"measurement": 'ahu" or true or r._measurement == "', "field": "sat"}),
        point2("b", {"measurement": "ahu", "field": 'sat") |> drop(columns: ["unit"]) //'}),
        point2("c", {"measurement": "ahu", "field": "sat", "tags": {"unit": '1" or true //'}}),
        point2("d", {"measurement": "ahu", "field": "rat", "tags": injected_tag_key}),
    ]
    got = source2(flux2, [quoted]).read(T2, T2 + pd.Timedelta(hours=1))
    assert set(got["point"]) == {quoted_id}
    assert got["value"].tolist() == [16.0, 16.25, 16.5]
    for attack in attacks:
        flux2.requests.clear()
        assert source2(flux2, [attack]).read(T2, T2 + pd.Timedelta(hours=1)).empty, attack.source
        (request,) = flux2.requests
        assert request["query"] in (FLUX_READ, FLUX_READ_TAGGED)
        options = {k: literal(v) for k, v in extern_options(request).items()}
        sent = [
            options["bms_measurement"],
            *options["bms_fields"],
            *options.get("bms_tag_keys", []),
        ]
        sent += [v for _, v in options.get("bms_tags", [])]
        for text in [attack.source["measurement"], attack.source["field"], *parse_tags_of(attack)]:
            assert text in sent and text not in request["query"]


def parse_tags_of(point: Point) -> list[str]:
    return [text for pair in parse_tags(point.id, point.source.get("tags")) for text in pair]


def test_v2_configuration_errors_are_one_line(flux2, monkeypatch):
    with pytest.raises(ConfigError, match="only influxdb2:// "):
        source2(flux2, AHU2, url="influxdb://127.0.0.1:1/db")
    monkeypatch.delenv("BMS_GTB_TOKEN")
    with pytest.raises(ConfigError, match="needs an API token in BMS_GTB_TOKEN"):
        source2(flux2, AHU2)
    monkeypatch.setenv("BMS_GTB_TOKEN", TOKEN)
    twice = [AHU2[0], point2("x", AHU2[0].source, "t/b/ahu-1/x")]
    with pytest.raises(SiteError, match="read the same InfluxDB series"):
        source2(flux2, twice)
    assert source2(flux2, AHU2, start="2026-02-01T00:00:00Z").extent()[0] == T2


def test_v2_ingest_writes_through_the_v2_write_api(flux2, vm_url, tmp_path, monkeypatch):
    """`bms ingest` with a 2.x source into an InfluxDB 2 store (VictoriaMetrics' /api/v2/write)."""
    flux2.response = DATA / "source_ahu.csv"
    monkeypatch.setenv("BMS_INFLUX_TOKEN", TOKEN)
    bucket = f"b{uuid.uuid4().hex[:8]}"  # the server keeps data across runs: tag this one apart
    store = Influx2Store(
        f"{vm_url.replace('http', 'influxdb2', 1)}?org=bms&bucket={bucket}&measurement={bucket}"
    )
    conn = source2(flux2, AHU2)
    settings = Settings(home=tmp_path, connectors={"gtb2": dict(conn.cfg)})
    result = ingest(
        "gtb2", site=make_site(), store=store, settings=settings, connector=conn,
        since=T2, until=T2 + pd.Timedelta(hours=1),
    )  # fmt: skip
    assert (result.rows_read, result.rows_stored, result.chunks) == (7, 7, 1)
    urllib.request.urlopen(f"{vm_url}/internal/force_flush", timeout=10).read()
    url = f"{vm_url}/api/v1/export?match[]={bucket}_value"
    lines = urllib.request.urlopen(url, timeout=10).read().decode().splitlines()
    exported = {s["metric"]["point"]: s["values"] for s in map(json.loads, lines)}
    assert exported == {
        "t/b/ahu-1/fan_on": [1, 0], "t/b/ahu-1/rat": [21, 21.5], "t/b/ahu-1/sat": [16, 16.25, 16.5],
    }  # fmt: skip
    store.close()
