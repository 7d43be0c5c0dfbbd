"""Real services for connector, store and ingest tests: InfluxDB 1.x, Mosquitto, VictoriaMetrics.

Each fixture uses the instance named by the ``BMS_TEST_*`` variables that ``.ci/services start``
writes (CI sources them); when they are unset it starts its own instance with ``.ci/services``
on free ports in a temporary directory (stopped at the end of the session); when the binary is
missing it skips, or fails under ``BMS_REQUIRE_SERVICES=1``.
"""

from __future__ import annotations

import os
import shlex
import shutil
import socket
import subprocess
import urllib.parse
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from bms.site.model import Building, Equipment, Point, Site
from tests.conftest import REPO_ROOT, missing

SERVICES_SCRIPT = REPO_ROOT / ".ci" / "services"
BINARIES = {"influxdb": "influxd", "mosquitto": "mosquitto", "victoria-metrics": "victoria-metrics"}


def free_tcp_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _start(service: str, directory: Path) -> dict[str, str]:
    """Start one service with .ci/services on free ports; return the variables it exported."""
    if shutil.which(BINARIES[service]) is None:
        missing(
            f"{service}: executable {BINARIES[service]!r} not found (apt-get install {service})"
        )
    env = dict(os.environ)
    base = free_tcp_port()
    env.update(
        BMS_SVC_INFLUX_PORT=str(base),
        BMS_SVC_VM_PORT=str(base),
        BMS_SVC_MQTT_PORT=str(_three_free_ports()),
    )
    done = subprocess.run(
        [str(SERVICES_SCRIPT), "start", str(directory), service],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    if done.returncode != 0:
        pytest.fail(f".ci/services start {service} failed: {done.stderr[-2000:]}")
    exported = {}
    for line in (directory / "env").read_text().splitlines():
        key, _, value = line.removeprefix("export ").partition("=")
        exported[key] = shlex.split(value)[0] if value else ""
    return exported


def _three_free_ports() -> int:
    for _ in range(50):
        port = free_tcp_port()
        if port < 65000 and all(_port_free(port + k) for k in (1, 2)):
            return port
    raise RuntimeError("no three consecutive free ports")


def _port_free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


class _Services:
    """Services started by this test session (when CI did not start them)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.started: dict[str, Path] = {}

    def env(self, service: str, variable: str) -> dict[str, str]:
        if os.environ.get(variable):
            return {k: v for k, v in os.environ.items() if k.startswith("BMS_TEST_")}
        directory = self.root / service
        self.started[service] = directory  # stopped at the end even if it fails half-way
        return _start(service, directory)

    def stop(self) -> None:
        for directory in self.started.values():
            subprocess.run([str(SERVICES_SCRIPT), "stop", str(directory)], timeout=60, check=False)


@pytest.fixture(scope="session")
def _services(tmp_path_factory: pytest.TempPathFactory) -> Iterator[_Services]:
    services = _Services(tmp_path_factory.mktemp("services"))
    yield services
    services.stop()


@pytest.fixture(scope="session")
def influx_server(_services: _Services) -> str:
    """``influxdb://127.0.0.1:PORT/bms`` of a running InfluxDB 1.x."""
    return _services.env("influxdb", "BMS_TEST_INFLUX_URL")["BMS_TEST_INFLUX_URL"]


def influx_http(url: str) -> str:
    parts = urllib.parse.urlsplit(url)
    return f"http://{parts.hostname}:{parts.port}"


def influx_statement(url: str, statement: str) -> None:
    body = urllib.parse.urlencode({"q": statement}).encode()
    urllib.request.urlopen(f"{influx_http(url)}/query", data=body, timeout=10).read()


@pytest.fixture
def influx_url(influx_server: str) -> Iterator[str]:
    """A fresh, empty InfluxDB 1.x database for one test (dropped afterwards)."""
    database = f"t_{uuid.uuid4().hex[:12]}"
    influx_statement(influx_server, f'CREATE DATABASE "{database}"')
    yield f"{influx_server.rsplit('/', 1)[0]}/{database}"
    influx_statement(influx_server, f'DROP DATABASE "{database}"')


@pytest.fixture(scope="session")
def mqtt_broker(_services: _Services) -> dict[str, str]:
    """Host, ports (anonymous, password, TLS), user, password and CA file of a Mosquitto."""
    env = _services.env("mosquitto", "BMS_TEST_MQTT_PORT")
    return {k.removeprefix("BMS_TEST_MQTT_").lower(): v for k, v in env.items() if "MQTT" in k}


@pytest.fixture(scope="session")
def vm_url(_services: _Services) -> str:
    """``http://127.0.0.1:PORT`` of a VictoriaMetrics (speaks the InfluxDB 2 write API)."""
    return _services.env("victoria-metrics", "BMS_TEST_VM_URL")["BMS_TEST_VM_URL"]


# -- A small site for connector and ingest tests --------------------------------------------
ZONE_EUI = "a840410001810001"


def _point(eq: str, name: str, unit: str, source: dict) -> Point:
    return Point(
        id=f"t/b/{eq}/{name}",
        name=name,
        equipment=f"t/b/{eq}",
        kind="Sensor",
        unit=unit,
        source=source,
    )


def make_site() -> Site:
    """AHU points read from InfluxDB and files, zone points from a LoRaWAN sensor over MQTT."""
    ahu = [
        _point(
            "ahu-1",
            "sat",
            "Cel",
            {"connector": "influxdb", "measurement": "ahu", "field": "sat", "tags": "unit=1"},
        ),
        _point(
            "ahu-1",
            "rat",
            "Cel",
            {"connector": "influxdb", "measurement": "ahu", "field": "rat", "tags": "unit=1"},
        ),
        _point("ahu-1", "power", "kW", {"connector": "file", "column": "P_kW"}),
    ]
    zone = [
        _point("zone-1", name, unit, {"connector": "mqtt", "dev_eui": ZONE_EUI, "field": field})
        for name, unit, field in [
            ("temp", "Cel", "temperature"),
            ("rh", "%", "humidity"),
            ("co2", "ppm", "co2"),
        ]
    ]
    equipment = (
        Equipment(
            id="t/b/ahu-1", name="ahu-1", site="t", building="b", kind="AHU", points=tuple(ahu)
        ),
        Equipment(
            id="t/b/zone-1",
            name="zone-1",
            site="t",
            building="b",
            kind="HVAC_Zone",
            points=tuple(zone),
        ),
    )
    building = Building(id="t/b", name="b", equipment=equipment)
    return Site(id="t", latitude=47.2, longitude=6.0, buildings=(building,))


SITE_YAML = f"""
id: t
latitude: 47.2
longitude: 6.0
buildings:
  - name: b
    equipment:
      - name: ahu-1
        kind: AHU
        points:
          - {{name: sat, kind: Sensor, unit: Cel,
             source: {{connector: influxdb, measurement: ahu, field: sat, tags: "unit=1"}}}}
          - {{name: rat, kind: Sensor, unit: Cel,
             source: {{connector: influxdb, measurement: ahu, field: rat, tags: "unit=1"}}}}
          - {{name: power, kind: Sensor, unit: kW, source: {{connector: file, column: P_kW}}}}
      - name: zone-1
        kind: HVAC_Zone
        source: {{connector: mqtt, dev_eui: "{ZONE_EUI}"}}
        points:
          - {{name: temp, kind: Sensor, unit: Cel, source: {{field: temperature}}}}
          - {{name: rh, kind: Sensor, unit: "%", source: {{field: humidity}}}}
          - {{name: co2, kind: Sensor, unit: ppm, source: {{field: co2}}}}
"""


@pytest.fixture
def site() -> Site:
    return make_site()
