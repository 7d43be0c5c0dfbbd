"""Poll throughput of the field-bus connectors against raw library calls, in the same run.

BACnet/IP: one simulated device with N analog inputs; the connector's ``poll()`` (RPM batches of
``--batch`` properties, unit conversion, canonical frame) against raw bacpypes3
``read_property_multiple`` calls with the same batches, and one ``read_property`` per point.
Modbus TCP: one simulated unit with N float32 holding registers; the connector's ``poll()``
(planned reads of <= 125 registers, decoding, frame) against raw pymodbus
``read_holding_registers`` + ``convert_from_registers`` on the same blocks, and one read per
point. Server and clients share this process (and its GIL), as in the tests.

Run::

    .venv/bin/python benchmarks/bench_fieldbus.py [--points 200] [--polls 20] [--batch 25]
"""

from __future__ import annotations

import argparse
import socket
import time
from collections.abc import Awaitable, Callable

from bms.connectors.bacnet import BacnetConnector
from bms.connectors.base import parse_config
from bms.connectors.fieldbus import LoopThread, free_port
from bms.connectors.modbus import ModbusConnector
from bms.connectors.modbus_map import parse_source, plan_reads
from bms.simulate.live_bacnet import BacnetSimDevice, SimObject
from bms.simulate.live_modbus import ModbusSimServer
from bms.site.model import Point

EQ = "bench/b/eq"


def _points(n: int, connector: str) -> list[Point]:
    if connector == "bacnet":
        sources = [{"device": 2001, "object": f"analog-input,{i + 1}"} for i in range(n)]
    else:
        sources = [
            {"unit": 1, "register_type": "holding", "address": 2 * i, "data_type": "float32"}
            for i in range(n)
        ]
    return [
        Point(
            id=f"{EQ}/p{i}",
            name=f"p{i}",
            equipment=EQ,
            kind="Sensor",
            unit="Cel",
            source={"connector": connector, **src},
        )
        for i, src in enumerate(sources)
    ]


def _rate(n_points: int, polls: int, run: Callable[[], object]) -> float:
    run()  # warm up (units, connection)
    start = time.perf_counter()
    for _ in range(polls):
        run()
    return n_points * polls / (time.perf_counter() - start)


def bench_bacnet(n: int, polls: int, batch: int) -> dict[str, float]:
    from bacpypes3.primitivedata import ObjectIdentifier

    from bms.connectors.bacnet_io import make_client

    points = _points(n, "bacnet")
    server_loop = LoopThread("bench-bacnet-sim").start()
    objects = [SimObject(p.id, p.source["object"], p.name, "Cel") for p in points]
    device = BacnetSimDevice(2001, f"127.0.0.1/8:{free_port()}", objects)
    server_loop.run(device.start())
    config = parse_config(
        "b",
        {
            "kind": "bacnet",
            "address": f"127.0.0.1/8:{free_port()}",
            "devices": {"2001": device.host_port},
            "batch_size": batch,
        },
    )
    results: dict[str, float] = {}
    with BacnetConnector(config, points) as conn:
        results["connector poll (RPM)"] = _rate(n, polls, conn.poll)
    raw_loop = LoopThread("bench-bacnet-raw").start()
    app = raw_loop.run(make_client(f"127.0.0.1/8:{free_port()}", 4194001))
    from bacpypes3.pdu import Address

    address = Address(device.host_port)
    oids = [ObjectIdentifier(p.source["object"]) for p in points]

    async def rpm() -> None:
        for start in range(0, n, batch):
            params: list[object] = []
            for oid in oids[start : start + batch]:
                params += [oid, ["present-value"]]
            await app.read_property_multiple(address, params)

    async def rp() -> None:
        for oid in oids:
            await app.read_property(address, oid, "present-value")

    results["raw bacpypes3 read_property_multiple"] = _rate(n, polls, lambda: raw_loop.run(rpm()))
    results["raw bacpypes3 read_property (1/point)"] = _rate(
        n, max(1, polls // 5), lambda: raw_loop.run(rp())
    )
    raw_loop.run(_close(app))
    raw_loop.stop()
    server_loop.run(device.stop())
    server_loop.stop()
    return results


async def _close(app: object) -> None:
    app.close()  # type: ignore[attr-defined]


def bench_modbus(n: int, polls: int) -> dict[str, float]:
    from pymodbus.client import AsyncModbusTcpClient

    points = _points(n, "modbus")
    specs = {p.id: parse_source(p.id, p.source) for p in points}
    server = ModbusSimServer(specs, port=free_port(socket.SOCK_STREAM))
    server_loop = LoopThread("bench-modbus-sim").start()
    server_loop.run(server.start())
    server_loop.run(server.set_values({p.id: 20.0 + i / 8 for i, p in enumerate(points)}))
    results: dict[str, float] = {}
    config = parse_config("m", {"kind": "modbus", "port": server.port})
    with ModbusConnector(config, points) as conn:
        results["connector poll (planned reads)"] = _rate(n, polls, conn.poll)
    raw_loop = LoopThread("bench-modbus-raw").start()

    async def connect() -> AsyncModbusTcpClient:
        client = AsyncModbusTcpClient("127.0.0.1", port=server.port)
        await client.connect()
        return client

    client = raw_loop.run(connect())
    reads = plan_reads(list(specs.values()))

    def runner(body: Callable[[], Awaitable[None]]) -> Callable[[], None]:
        return lambda: raw_loop.run(body())

    async def blocks() -> None:
        for read in reads:
            rr = await client.read_holding_registers(read.address, count=read.count, device_id=1)
            client.convert_from_registers(rr.registers, client.DATATYPE.FLOAT32)

    async def singles() -> None:
        for spec in specs.values():
            rr = await client.read_holding_registers(spec.address, count=2, device_id=1)
            client.convert_from_registers(rr.registers, client.DATATYPE.FLOAT32)

    results["raw pymodbus, same blocks"] = _rate(n, polls, runner(blocks))
    results["raw pymodbus, 1 read/point"] = _rate(n, max(1, polls // 5), runner(singles))
    raw_loop.run(_close(client))
    raw_loop.stop()
    server_loop.run(server.stop())
    server_loop.stop()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--points", type=int, default=200)
    parser.add_argument("--polls", type=int, default=20)
    parser.add_argument("--batch", type=int, default=25, help="BACnet properties per RPM")
    args = parser.parse_args()
    print(f"fieldbus poll throughput: {args.points} points, {args.polls} polls, loopback")
    for proto, results in (
        ("BACnet/IP", bench_bacnet(args.points, args.polls, args.batch)),
        ("Modbus TCP", bench_modbus(args.points, args.polls)),
    ):
        for label, rate in results.items():
            print(f"  {proto:<11} {label:<40} {rate:>10,.0f} points/s")


if __name__ == "__main__":
    main()
