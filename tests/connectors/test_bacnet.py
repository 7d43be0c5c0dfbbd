"""BACnet/IP connector against simulated bacpypes3 devices on loopback (each on its own port)."""

from __future__ import annotations

import importlib.util
import threading
import time
from collections.abc import Iterator

import pandas as pd
import pytest
import yaml

from bms.connectors.bacnet import BacnetConfig, BacnetConnector
from bms.connectors.bacnet_units import BACNET_UNITS, conversion
from bms.connectors.base import parse_config
from bms.connectors.fieldbus import LoopThread, free_port
from bms.errors import ConfigError, SiteError
from bms.simulate.live_bacnet import BacnetSimDevice, SimObject
from bms.site.model import Point
from tests.conftest import missing


@pytest.fixture(autouse=True)
def _protocol_libraries() -> None:
    """Skip (or fail, in CI) when the protocol libraries are not installed."""
    for module, extra in [("bacpypes3", "bacnet")]:
        if importlib.util.find_spec(module) is None:
            missing(f"{module} is not installed (pip install 'bms[{extra}]')")


EQ = "test/b/ahu-1"


def point(name: str, unit: str, obj: str, device: int = 1001) -> Point:
    return Point(
        id=f"{EQ}/{name}",
        name=name,
        equipment=EQ,
        kind="Sensor",
        unit=unit,
        source={"connector": "bacnet", "device": device, "object": obj},
    )


# point name, SI unit, object, unit the device announces, value in that device unit
OBJECTS = [
    ("sat", "Cel", "analog-input,1", "degrees-fahrenheit", 64.4),  # 18 Cel
    ("filter_dp", "Pa", "analog-input,2", "kilopascals", 0.25),  # 250 Pa
    ("supply_flow", "m3/s", "analog-input,3", "liters-per-second", 1500.0),  # 1.5 m3/s
    ("fan_power", "kW", "analog-input,4", "watts", 5500.0),  # 5.5 kW
    ("oa_damper", "%", "analog-value,1", "percent", 35.0),
    ("fan_status", "1", "binary-value,1", None, 1.0),
]
EXPECTED = {
    "sat": 18.0,
    "filter_dp": 250.0,
    "supply_flow": 1.5,
    "fan_power": 5.5,
    "oa_damper": 35.0,
    "fan_status": 1.0,
}
POINTS = [point(name, unit, obj) for name, unit, obj, _, _ in OBJECTS]


class Sim:
    """Two simulated devices in one loop thread: 1001 accepts COV, 1002 refuses it."""

    def __init__(self) -> None:
        self.loop = LoopThread("test-bacnet-sim").start()
        objects = [
            SimObject(f"{EQ}/{n}", o, n, u, f"{n} of AHU 1", bacnet_unit=b)
            for n, u, o, b, _ in OBJECTS
        ]
        self.dev1 = BacnetSimDevice(1001, f"127.0.0.1/8:{free_port()}", objects)
        self.dev2 = BacnetSimDevice(
            1002,
            f"127.0.0.1/8:{free_port()}",
            [SimObject(f"{EQ}/sp", "analog-value,1", "sp", "Cel")],
            cov=False,
        )
        for device in (self.dev1, self.dev2):
            self.loop.run(device.start(), timeout=5)
        self.set({f"{EQ}/{n}": EXPECTED[n] for n in EXPECTED} | {f"{EQ}/sp": 19.0}, 1.78e9)

    def set(self, values: dict[str, float], time_s: float | None = None) -> None:
        async def _set() -> None:
            for device in (self.dev1, self.dev2):
                device.set_values(values, time_s)

        self.loop.run(_set(), timeout=5)

    def config(self, **extra: object) -> BacnetConfig:
        raw = {
            "kind": "bacnet",
            "address": f"127.0.0.1/8:{free_port()}",
            "devices": {"1001": self.dev1.host_port, "1002": self.dev2.host_port},
            "timeout_seconds": 1.0,
            "whois_timeout_seconds": 0.5,
            **extra,
        }
        config = parse_config("gtb", raw)
        assert isinstance(config, BacnetConfig)
        return config

    def close(self) -> None:
        for device in (self.dev1, self.dev2):
            self.loop.run(device.stop(), timeout=5)
        self.loop.stop()


@pytest.fixture
def sim() -> Iterator[Sim]:
    simulator = Sim()
    yield simulator
    simulator.close()


# Units ----------------------------------------------------------------------------------------
def test_every_unit_in_the_table_is_a_bacnet_engineering_unit() -> None:
    from bacpypes3.basetypes import EngineeringUnits

    for name in BACNET_UNITS:
        assert str(EngineeringUnits(name)) == name


@pytest.mark.parametrize(
    ("bacnet_unit", "point_unit", "raw", "si"),
    [
        ("degrees-fahrenheit", "Cel", 212.0, 100.0),
        ("degrees-kelvin", "Cel", 273.15, 0.0),
        ("degrees-celsius", "K", 0.0, 273.15),
        ("kilopascals", "Pa", 1.5, 1500.0),
        ("liters-per-second", "m3/s", 250.0, 0.25),
        ("cubic-meters-per-hour", "m3/s", 3600.0, 1.0),
        ("watts", "kW", 1500.0, 1.5),
        ("kilowatts", "W", 1.5, 1500.0),
        ("percent", "%", 42.0, 42.0),
        ("megawatt-hours", "kWh", 2.0, 2000.0),
    ],
)
def test_conversion_to_si(bacnet_unit: str, point_unit: str, raw: float, si: float) -> None:
    assert conversion(bacnet_unit, point_unit).apply(raw) == pytest.approx(si)


def test_a_unit_of_another_quantity_is_refused() -> None:
    with pytest.raises(ValueError, match="'percent'.*not the point unit 'Cel'"):
        conversion("percent", "Cel")


def test_config_needs_a_local_address_and_a_bounded_batch() -> None:
    with pytest.raises(ConfigError, match="connectors.gtb.address"):
        parse_config("gtb", {"kind": "bacnet"})
    with pytest.raises(ConfigError, match="connectors.gtb.batch_size"):
        parse_config("gtb", {"kind": "bacnet", "address": "127.0.0.1/8:47809", "batch_size": 0})


def test_a_source_without_object_names_the_point() -> None:
    bad = Point(
        id="s/b/e/p",
        name="p",
        equipment="s/b/e",
        kind="K",
        unit="Cel",
        source={"connector": "bacnet", "device": 1},
    )
    with pytest.raises(SiteError, match="point 's/b/e/p': bacnet source lacks field 'object'"):
        BacnetConnector(parse_config("g", {"kind": "bacnet", "address": "127.0.0.1/8:1"}), [bad])


def test_a_port_held_by_another_application_is_a_config_error(sim: Sim) -> None:
    taken = sim.dev1.address  # a stale simulator on the client's port would steal answers
    config = parse_config("gtb", {"kind": "bacnet", "address": taken})
    with (
        BacnetConnector(config, POINTS) as conn,
        pytest.raises(ConfigError, match=r"connectors.gtb.address: cannot bind UDP 127.0.0.1:\d+"),
    ):
        conn.poll()


def test_an_unparseable_address_is_a_config_error() -> None:
    config = parse_config("gtb", {"kind": "bacnet", "address": "not-an-address"})
    with (
        BacnetConnector(config, POINTS) as conn,
        pytest.raises(
            ConfigError, match="connectors.gtb.address: bad BACnet/IP address 'not-an-address'"
        ),
    ):
        conn.poll()


# Discovery ------------------------------------------------------------------------------------
def test_directed_discovery_finds_the_device_objects_and_units(sim: Sim) -> None:
    with BacnetConnector(sim.config(), []) as conn:
        devices = conn.discover(targets=[sim.dev1.host_port])
        proposals, snippet = conn.propose(devices)
    assert [d.instance for d in devices] == [1001]
    objects = {o.object: o for o in devices[0].objects}
    assert objects["analog-input,1"].name == "sat"
    assert objects["analog-input,1"].units == "degrees-fahrenheit"
    assert objects["analog-input,2"].description == "filter_dp of AHU 1"
    assert objects["binary-value,1"].units is None
    points = {p["name"]: p for p in proposals[0]["points"]}
    assert points["sat"]["unit"] == "Cel" and points["supply_flow"]["unit"] == "m3/s"
    assert points["sat"]["kind"] == "Temperature_Sensor"
    assert points["fan_status"]["source"] == {
        "connector": "bacnet",
        "device": 1001,
        "object": "binary-value,1",
        "property": "present-value",
    }
    assert yaml.safe_load(snippet)["equipment"][0]["name"] == "device-1001"


def test_broadcast_discovery_through_a_bbmd_as_foreign_device() -> None:
    loop = LoopThread("test-bbmd").start()
    address = f"127.0.0.1/8:{free_port()}"
    device = BacnetSimDevice(
        1077, address, [SimObject("s/b/e/t", "analog-input,1", "t", "Cel")], bbmd_peers=[address]
    )
    loop.run(device.start(), timeout=5)
    try:
        config = parse_config(
            "g",
            {
                "kind": "bacnet",
                "address": f"127.0.0.1/8:{free_port()}",
                "bbmd": device.host_port,
                "whois_timeout_seconds": 0.5,
            },
        )
        with BacnetConnector(config, []) as conn:
            devices = conn.discover()
        assert [(d.instance, d.address) for d in devices] == [(1077, device.host_port)]
        assert [o.object for o in devices[0].objects] == ["analog-input,1", "large-analog-value,1"]
    finally:
        loop.run(device.stop(), timeout=5)
        loop.stop()


# Polling --------------------------------------------------------------------------------------
def test_poll_reads_every_point_in_si_units_with_one_rpm(sim: Sim) -> None:
    with BacnetConnector(sim.config(), POINTS) as conn:
        conn.poll()  # the first poll also reads the units
        frame = conn.poll()
        report = conn.last_report
    got = {p.rsplit("/", 1)[1]: v for p, v in zip(frame["point"], frame["value"], strict=True)}
    assert got == pytest.approx(EXPECTED, rel=1e-6)
    assert report.errors == {} and report.n_requests == 1


def test_batches_are_bounded(sim: Sim) -> None:
    with BacnetConnector(sim.config(batch_size=4), POINTS) as conn:
        conn.poll()
        conn.poll()
        assert conn.last_report.n_requests == 2  # 6 points in batches of 4


def test_a_missing_object_is_reported_not_fatal(sim: Sim) -> None:
    ghost = point("ghost", "Cel", "analog-input,99")
    with BacnetConnector(sim.config(), [*POINTS, ghost]) as conn:
        frame = conn.poll()
        assert set(frame["point"]) == {p.id for p in POINTS}
        assert list(conn.last_report.errors) == [ghost.id]
        assert "unknown-object" in conn.last_report.errors[ghost.id]
        conn.poll()
        assert conn.stats.error_counts[ghost.id] == 2


def test_a_silent_device_is_reported_with_its_points() -> None:
    lost = point("lost", "Cel", "analog-input,1", device=4321)
    config = parse_config(
        "g",
        {"kind": "bacnet", "address": f"127.0.0.1/8:{free_port()}", "whois_timeout_seconds": 0.3},
    )
    with BacnetConnector(config, [lost]) as conn:
        frame = conn.poll()
    assert frame.empty
    assert conn.last_report.errors == {lost.id: "device 4321 did not answer Who-Is"}


def test_time_source_stamps_readings_with_the_device_clock(sim: Sim) -> None:
    clock = {"device": 1001, "object": "large-analog-value,1"}
    with BacnetConnector(sim.config(time_source=clock), POINTS) as conn:
        frame = conn.poll()
    assert (frame["time"] == pd.Timestamp(1.78e9, unit="s", tz="UTC")).all()


# COV ------------------------------------------------------------------------------------------
def test_cov_notifications_arrive_and_refused_points_are_polled(sim: Sim) -> None:
    sp = point("sp", "Cel", "analog-value,1", device=1002)
    frames: list[pd.DataFrame] = []
    stop = threading.Event()
    conn = BacnetConnector(sim.config(poll_interval_seconds=0.2), [*POINTS, sp])
    worker = threading.Thread(target=conn.stream, args=(frames.append, stop))
    worker.start()
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not any(sp.id in set(f["point"]) for f in frames):
            time.sleep(0.05)
        sim.set({f"{EQ}/sat": 20.0})  # SI value; the device announces 68 degrees-fahrenheit
        target = f"{EQ}/sat"
        while time.monotonic() < deadline:
            seen = pd.concat(frames) if frames else pd.DataFrame(columns=["point", "value"])
            if ((seen["point"] == target) & (seen["value"].round(4) == 20.0)).any():
                break
            time.sleep(0.05)
    finally:
        stop.set()
        worker.join(10)
        conn.close()
    seen = pd.concat(frames)
    sat = seen.loc[seen["point"] == target, "value"].round(4).tolist()
    assert sat[0] == 18.0 and sat[-1] == 20.0  # the initial notification, then the change
    assert (seen.loc[seen["point"] == sp.id, "value"] == 19.0).any()  # polled fallback


def test_stream_without_cov_polls_every_point(sim: Sim) -> None:
    frames: list[pd.DataFrame] = []
    stop = threading.Event()
    conn = BacnetConnector(sim.config(cov=False, poll_interval_seconds=0.1), POINTS)
    worker = threading.Thread(target=conn.stream, args=(frames.append, stop))
    worker.start()
    deadline = time.monotonic() + 5
    while len(frames) < 2 and time.monotonic() < deadline:
        time.sleep(0.02)
    stop.set()
    worker.join(5)
    conn.close()
    assert len(frames) >= 2
    assert all(set(f["point"]) == {p.id for p in POINTS} for f in frames)


def test_free_port_never_hands_out_the_same_port_twice():
    # the devices of a simulated site each ask for a port before any of them binds: the
    # system may offer the port it just released again, and the second device then fails
    ports = [free_port() for _ in range(300)]
    assert len(set(ports)) == len(ports)
