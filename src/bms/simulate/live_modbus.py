"""A Modbus TCP server (pymodbus simulator) that holds the registers of simulated points.

Each point's ``source`` (:mod:`bms.connectors.modbus_map`) says where its value lives; the
server defines exactly those registers (other addresses answer "illegal data address", as a
real meter does) and :meth:`ModbusSimServer.set_values` writes new SI values, encoded as the
point says (float32 in either word order, int16 with scale and offset, coils...). An optional
clock register holds the simulated time as POSIX seconds.

Runs inside an asyncio event loop (the caller's, or a
:class:`~bms.connectors.fieldbus.LoopThread`)::

    server = ModbusSimServer(specs, port=15020)
    await server.start()
    await server.set_values({"site/b/meter/power": 12.5}, time_s=1.7e9)
    await server.stop()
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from bms.connectors.modbus_map import BIT_TYPES, RegisterSpec, encode
from bms.errors import BmsError

log = logging.getLogger(__name__)

#: Default clock register: input registers 9000-9001 (uint32, POSIX seconds) of every unit.
DEFAULT_CLOCK = {"register_type": "input", "address": 9000, "data_type": "uint32"}
_TABLES = ("coil", "discrete", "holding", "input")
#: Function codes the pymodbus datastore maps to each table.
_FUNCTION_CODE = {"coil": 15, "discrete": 2, "holding": 16, "input": 4}


def _runs(addresses: set[int]) -> list[tuple[int, int]]:
    """Contiguous runs ``(start, count)`` of a set of addresses."""
    runs: list[tuple[int, int]] = []
    for address in sorted(addresses):
        if runs and address == runs[-1][0] + runs[-1][1]:
            runs[-1] = (runs[-1][0], runs[-1][1] + 1)
        else:
            runs.append((address, 1))
    return runs


class ModbusSimServer:
    """A pymodbus TCP server holding the registers of ``specs``.

    Parameters
    ----------
    specs : mapping of str to RegisterSpec
        Point id -> register address and encoding.
    host, port : str, int
        Where to listen.
    clock : dict or None
        Keys of a :class:`RegisterSpec` (without ``unit``) for a clock register written on every
        unit; ``None`` for no clock. Default :data:`DEFAULT_CLOCK`.
    """

    def __init__(
        self,
        specs: Mapping[str, RegisterSpec],
        *,
        host: str = "127.0.0.1",
        port: int = 5020,
        clock: Mapping[str, Any] | None = DEFAULT_CLOCK,
    ) -> None:
        self.specs = dict(specs)
        self.host = host
        self.port = port
        units = sorted({spec.unit for spec in self.specs.values()}) or [1]
        self.clock_specs = (
            {unit: RegisterSpec(unit=unit, **dict(clock)) for unit in units} if clock else {}
        )
        self.n_requests = 0
        self._server: Any = None

    def _devices(self) -> list[Any]:
        from pymodbus.simulator import DataType, SimData, SimDevice

        used: dict[tuple[int, str], set[int]] = {}
        for spec in [*self.specs.values(), *self.clock_specs.values()]:
            span = range(spec.address, spec.address + spec.width)
            used.setdefault((spec.unit, spec.register_type), set()).update(span)
        devices = []
        for unit in sorted({unit for unit, _ in used}):
            tables: list[list[Any]] = []
            for table in _TABLES:
                runs = _runs(used.get((unit, table), set()))
                if table in BIT_TYPES:
                    blocks = [
                        SimData(a, values=[False] * n, datatype=DataType.BITS) for a, n in runs
                    ]
                    blocks = blocks or [SimData(65520, values=[False] * 16, datatype=DataType.BITS)]
                else:
                    blocks = [SimData(a, count=n, datatype=DataType.REGISTERS) for a, n in runs]
                    blocks = blocks or [SimData(65535, datatype=DataType.INVALID)]
                tables.append(blocks)
            devices.append(SimDevice(id=unit, simdata=tuple(tables)))
        return devices

    def _count(self, sending: bool, pdu: Any) -> Any:
        if not sending:
            self.n_requests += 1
        return pdu

    async def start(self) -> None:
        """Listen (in the running event loop)."""
        from pymodbus.server import ModbusTcpServer

        self._server = ModbusTcpServer(
            self._devices(), address=(self.host, self.port), trace_pdu=self._count
        )
        try:
            await self._server.serve_forever(background=True)
        except (OSError, RuntimeError) as exc:
            self._server = None
            raise BmsError(
                f"Modbus simulator: cannot listen on {self.host}:{self.port} ({exc})"
            ) from None
        log.info("modbus simulator listening on %s:%d", self.host, self.port)

    async def set_values(self, values: Mapping[str, float], time_s: float | None = None) -> None:
        """Write SI values (point id -> value) and, when given, the clock [POSIX s]."""
        assert self._server is not None, "start() the server first"
        writes = [(self.specs[pid], value) for pid, value in values.items() if pid in self.specs]
        if time_s is not None:
            writes += [(spec, float(int(time_s))) for spec in self.clock_specs.values()]
        for spec, value in writes:
            words = encode(value, spec)
            data: list[Any] = [bool(w) for w in words] if spec.is_bit else words
            code = _FUNCTION_CODE[spec.register_type]
            error = await self._server.context.async_setValues(spec.unit, code, spec.address, data)
            if error:
                raise RuntimeError(f"modbus simulator: cannot write {spec}: {error}")

    async def stop(self) -> None:
        """Close the listening socket and the connections."""
        if self._server is not None:
            await self._server.shutdown()
            self._server = None
