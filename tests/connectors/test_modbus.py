"""Modbus TCP connector against a pymodbus simulator server on loopback."""

from __future__ import annotations

import importlib.util
import socket
from collections.abc import Iterator

import numpy as np
import pandas as pd
import pytest

from bms.connectors.base import parse_config
from bms.connectors.fieldbus import LoopThread, free_port
from bms.connectors.modbus import ModbusConfig, ModbusConnector
from bms.connectors.modbus_map import (
    RegisterSpec,
    decode,
    encode,
    parse_source,
    plan_reads,
)
from bms.errors import ConfigError, SiteError
from bms.simulate.live_modbus import ModbusSimServer
from bms.site.model import Point
from tests.conftest import missing


@pytest.fixture(autouse=True)
def _protocol_libraries() -> None:
    """Skip (or fail, in CI) when the protocol libraries are not installed."""
    for module, extra in [("pymodbus", "modbus")]:
        if importlib.util.find_spec(module) is None:
            missing(f"{module} is not installed (pip install 'bms[{extra}]')")


EQ = "test/b/meter"


def point(name: str, si: str = "kW", **source: object) -> Point:
    return Point(
        id=f"{EQ}/{name}",
        name=name,
        equipment=EQ,
        kind="Sensor",
        unit=si,
        source={"connector": "modbus", **source},
    )


POINTS = [
    point("p_big", unit=1, register_type="holding", address=0, data_type="float32"),
    point(
        "p_little",
        unit=1,
        register_type="holding",
        address=2,
        data_type="float32",
        word_order="little",
    ),
    point(
        "t_scaled",
        si="Cel",
        unit=1,
        register_type="input",
        address=10,
        data_type="int16",
        scale=0.1,
        offset=-20.0,
    ),
    point("u32", si="kWh", unit=1, register_type="input", address=11, data_type="uint32"),
    point("run", si="1", unit=1, register_type="coil", address=3),
    point("alarm", si="1", unit=1, register_type="discrete", address=5),
    point(
        "m2_power",
        unit=2,
        register_type="input",
        address=52,
        data_type="float32",
        word_order="little",
    ),
]
VALUES = {
    f"{EQ}/p_big": 21.5,
    f"{EQ}/p_little": -1234.5678,
    f"{EQ}/t_scaled": 23.7,
    f"{EQ}/u32": 4_000_000_123.0,
    f"{EQ}/run": 1.0,
    f"{EQ}/alarm": 0.0,
    f"{EQ}/m2_power": 812.25,
}


@pytest.fixture
def sim() -> Iterator[ModbusSimServer]:
    """A simulator serving POINTS with VALUES on a fresh TCP port, in its own loop thread."""
    specs = {p.id: parse_source(p.id, p.source) for p in POINTS}
    server = ModbusSimServer(specs, port=free_port(socket.SOCK_STREAM))
    loop = LoopThread("test-modbus-sim").start()
    loop.run(server.start(), timeout=5)
    loop.run(server.set_values(VALUES, time_s=1_780_000_000), timeout=5)
    yield server
    loop.run(server.stop(), timeout=5)
    loop.stop()


def connector(
    server: ModbusSimServer, points: list[Point] = POINTS, **extra: object
) -> ModbusConnector:
    config = parse_config("meters", {"kind": "modbus", "port": server.port, **extra})
    return ModbusConnector(config, points)


# Register map ---------------------------------------------------------------------------------
@pytest.mark.parametrize("data_type", ["int16", "uint16", "int32", "uint32", "float32", "float64"])
@pytest.mark.parametrize("word_order", ["big", "little"])
@pytest.mark.parametrize("byte_order", ["big", "little"])
def test_encode_then_decode_round_trips(data_type: str, word_order: str, byte_order: str) -> None:
    spec = RegisterSpec(
        address=0,
        data_type=data_type,
        word_order=word_order,
        byte_order=byte_order,
        scale=0.5,
        offset=3.0,
    )
    assert decode(encode(1003.0, spec), spec) == pytest.approx(1003.0)


def test_float32_word_orders_are_the_two_halves_swapped() -> None:
    big = encode(21.5, RegisterSpec(address=0, data_type="float32"))
    little = encode(21.5, RegisterSpec(address=0, data_type="float32", word_order="little"))
    assert big == [0x41AC, 0x0000]
    assert little == [0x0000, 0x41AC]


def test_planner_merges_neighbours_and_small_gaps_only() -> None:
    specs = [
        RegisterSpec(address=0, data_type="float32"),
        RegisterSpec(address=2, data_type="float32"),
        RegisterSpec(address=8, data_type="int16"),  # 4-register hole: bridged with max_gap=4
        RegisterSpec(address=40, data_type="int16"),  # far away: own read
        RegisterSpec(unit=2, address=0, data_type="int16"),  # other unit: own read
        RegisterSpec(register_type="input", address=0, data_type="int16"),  # other table
    ]
    reads = plan_reads(specs, max_gap=4)
    assert [(r.unit, r.register_type, r.address, r.count) for r in reads] == [
        (1, "holding", 0, 9),
        (1, "holding", 40, 1),
        (1, "input", 0, 1),
        (2, "holding", 0, 1),
    ]
    assert sorted(i for r in reads for i in r.members) == list(range(len(specs)))
    assert len(plan_reads(specs, max_gap=0)) == 5


def test_planner_respects_the_125_register_limit() -> None:
    specs = [RegisterSpec(address=2 * i, data_type="float32") for i in range(100)]  # 200 regs
    reads = plan_reads(specs)
    assert [r.count for r in reads] == [124, 76]
    assert all(r.count <= 125 for r in reads)


def test_a_bad_source_names_the_point_and_field() -> None:
    with pytest.raises(SiteError, match=r"point 'x/y': modbus source field 'data_type'"):
        parse_source("x/y", {"address": 1, "data_type": "float16"})


def test_config_rejects_a_read_larger_than_the_protocol_allows() -> None:
    with pytest.raises(ConfigError, match="connectors.m.max_registers_per_read"):
        parse_config("m", {"kind": "modbus", "max_registers_per_read": 200})
    assert isinstance(parse_config("m", {"kind": "modbus"}), ModbusConfig)


# Polling a simulator --------------------------------------------------------------------------
def test_poll_decodes_every_encoding(sim: ModbusSimServer) -> None:
    with connector(sim) as conn:
        frame = conn.poll()
    got = dict(zip(frame["point"], frame["value"], strict=True))
    assert set(got) == set(VALUES)
    assert got[f"{EQ}/p_big"] == 21.5
    assert got[f"{EQ}/p_little"] == float(np.float32(-1234.5678))
    assert got[f"{EQ}/t_scaled"] == pytest.approx(23.7, abs=1e-9)
    assert got[f"{EQ}/u32"] == 4_000_000_123.0
    assert got[f"{EQ}/run"] == 1.0 and got[f"{EQ}/alarm"] == 0.0
    assert got[f"{EQ}/m2_power"] == 812.25
    assert conn.last_report.errors == {}


def test_contiguous_registers_are_read_in_one_request(sim: ModbusSimServer) -> None:
    with connector(sim) as conn:
        before = sim.n_requests
        conn.poll()
        # holding 0-3 (2 points), input 10-12 (2 points), coil, discrete, unit 2 input 52-53
        assert conn.last_report.n_requests == 5
        assert sim.n_requests - before == 5


def test_an_undefined_address_is_reported_with_its_point_id(sim: ModbusSimServer) -> None:
    ghost = point("ghost", unit=1, register_type="holding", address=6, data_type="float32")
    with connector(sim, [*POINTS, ghost]) as conn:
        frame = conn.poll()  # the merged read 0..7 is refused, then split per point
        assert set(frame["point"]) == set(VALUES)
        assert list(conn.last_report.errors) == [ghost.id]
        assert "exception code 2" in conn.last_report.errors[ghost.id]
        first = conn.last_report.n_requests
        conn.poll()  # the split is remembered: no refused merged read any more
        assert conn.last_report.n_requests == first - 1
        assert conn.stats.error_counts[ghost.id] == 2


def test_time_source_register_stamps_the_readings(sim: ModbusSimServer) -> None:
    clock = {"unit": 1, "register_type": "input", "address": 9000, "data_type": "uint32"}
    with connector(sim, time_source=clock) as conn:
        frame = conn.poll()
    assert (frame["time"] == pd.Timestamp(1_780_000_000, unit="s", tz="UTC")).all()


def test_an_unreachable_server_gives_an_empty_frame_and_reasons() -> None:
    config = parse_config(
        "meters",
        {
            "kind": "modbus",
            "port": free_port(socket.SOCK_STREAM),
            "timeout_seconds": 0.5,
            "retries": 0,
        },
    )
    with ModbusConnector(config, POINTS) as conn:
        frame = conn.poll()
    assert frame.empty
    assert set(conn.last_report.errors) == set(VALUES)
    assert "cannot connect" in next(iter(conn.last_report.errors.values()))
