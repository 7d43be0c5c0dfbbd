"""InfluxDB 1.x source: points mapped to measurement / field / tags, read with bound parameters."""

from __future__ import annotations

import urllib.request

import pandas as pd
import pytest

from bms.connectors.base import parse_config
from bms.connectors.influx import InfluxSourceConnector, parse_tags
from bms.errors import SiteError
from bms.site.model import Point
from tests.connectors.conftest import influx_http

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
