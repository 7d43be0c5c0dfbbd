"""Modbus TCP connector: polls meters and controllers with few, batched register reads.

Configured in ``bms.toml``::

    [connectors.meters]
    kind = "modbus"
    host = "192.168.10.20"
    port = 502
    max_gap_registers = 8            # bridge holes of up to 8 unused registers in one read
    # optional: stamp readings with a clock held by the device (POSIX seconds)
    time_source = {unit = 1, register_type = "input", address = 9000, data_type = "uint32"}

Each point's ``source`` gives its unit id, register table, address and encoding
(:mod:`bms.connectors.modbus_map`). :meth:`ModbusConnector.poll` plans the fewest reads
(contiguous registers of one unit and table, at most 125 registers per read), decodes them
and returns one canonical frame. A read the device refuses (an undefined address: exception
code 2) is split into one read per point so that only the bad points are reported; the split is
remembered for the next polls. Nothing a single point does makes the poll raise: see
``last_report`` and ``stats``.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import replace
from typing import Any, ClassVar, Literal

import pandas as pd
from pydantic import Field

from bms.connectors.base import ConnectorConfig, register
from bms.connectors.fieldbus import (
    FieldbusConnector,
    LoopThread,
    PollReport,
    epoch_to_timestamp,
    require_module,
    wall_clock,
)
from bms.connectors.modbus_map import (
    MAX_BITS_PER_READ,
    MAX_REGISTERS_PER_READ,
    RegisterSpec,
    decode,
    parse_source,
    plan_reads,
)
from bms.site.model import Point

log = logging.getLogger(__name__)

_TIME_POINT = "<time_source>"


class ModbusConfig(ConnectorConfig):
    """``[connectors.NAME]`` table of a Modbus TCP connector (one TCP server or gateway)."""

    kind: Literal["modbus"] = "modbus"
    host: str = Field(
        default="127.0.0.1", title="Host", description="Modbus TCP server or gateway."
    )
    port: int = Field(default=502, ge=1, le=65535, title="TCP port")
    timeout_seconds: float = Field(default=3.0, gt=0, title="Timeout of one request [s]")
    retries: int = Field(default=1, ge=0, le=5, title="Retries of a request that timed out")
    max_registers_per_read: int = Field(
        default=MAX_REGISTERS_PER_READ,
        ge=1,
        le=MAX_REGISTERS_PER_READ,
        title="Largest register read",
    )
    max_bits_per_read: int = Field(
        default=MAX_BITS_PER_READ, ge=1, le=MAX_BITS_PER_READ, title="Largest coil/discrete read"
    )
    max_gap_registers: int = Field(
        default=8,
        ge=0,
        le=120,
        title="Bridge holes",
        description="Unused addresses one read may span.",
    )
    time_source: dict[str, Any] | None = Field(
        default=None,
        title="Time source",
        description="A register holding POSIX seconds (same keys as a point source) whose value "
        "stamps every reading of a poll; default: the wall clock.",
    )


@register
class ModbusConnector(FieldbusConnector):
    """Live source: the present value of Modbus registers, coils and discrete inputs.

    Parameters
    ----------
    config : ModbusConfig
    points : sequence of Point
        Site points; those whose ``source["connector"]`` is this connector's tag are read.

    Attributes
    ----------
    last_report, stats
        See :class:`~bms.connectors.fieldbus.FieldbusConnector`.
    """

    kind: ClassVar[str] = "modbus"
    config_model: ClassVar[type[ConnectorConfig]] = ModbusConfig

    def __init__(self, config: ConnectorConfig, points: Sequence[Point]) -> None:
        super().__init__(config, points)
        require_module("pymodbus", "modbus", self.kind)
        assert isinstance(config, ModbusConfig)
        self.cfg: ModbusConfig = config
        self.specs: dict[str, RegisterSpec] = {
            p.id: parse_source(p.id, p.source) for p in self.points
        }
        self.time_spec = (
            parse_source(f"connectors.{config.name}.time_source", config.time_source)
            if config.time_source
            else None
        )
        self._split: set[tuple[int, str, int, int]] = set()
        self._loop = LoopThread(f"bms-modbus-{config.name or 'client'}")
        self._client: Any = None

    # Public API -----------------------------------------------------------------------------
    def close(self) -> None:
        """Close the TCP connection and stop the I/O thread."""
        if self._client is not None and self._loop.running:
            self._client.close()
        self._client = None
        self._loop.stop()

    def _point_addresses(self) -> dict[str, RegisterSpec]:
        return self.specs

    def _poll_budget_s(self, n_points: int) -> float:
        return (self.cfg.timeout_seconds * (self.cfg.retries + 1) + 1.0) * (n_points + 2)

    # Internals ------------------------------------------------------------------------------
    async def _connect(self) -> bool:
        from pymodbus.client import AsyncModbusTcpClient

        if self._client is None:
            self._client = AsyncModbusTcpClient(
                self.cfg.host,
                port=self.cfg.port,
                timeout=self.cfg.timeout_seconds,
                retries=self.cfg.retries,
                reconnect_delay=0,
            )
        if not self._client.connected:
            await self._client.connect()
        return bool(self._client.connected)

    async def _poll(
        self, ids: list[str], report: PollReport
    ) -> tuple[dict[str, float], pd.Timestamp]:
        stamp = wall_clock()
        if not await self._connect():
            report.fail(ids, f"cannot connect to {self.cfg.host}:{self.cfg.port}")
            return {}, stamp
        if self.time_spec is not None:
            clock: dict[str, float] = {}
            await self._read_values([_TIME_POINT], [self.time_spec], clock, report)
            if _TIME_POINT in clock:
                stamp = epoch_to_timestamp(clock[_TIME_POINT])
            else:
                log.warning(
                    "modbus %r: time source unreadable (%s); using the wall clock",
                    self.config.name,
                    report.errors.pop(_TIME_POINT, "?"),
                )
        readings: dict[str, float] = {}
        await self._read_values(ids, [self.specs[pid] for pid in ids], readings, report)
        return readings, stamp

    async def _read_values(
        self, ids: list[str], specs: list[RegisterSpec], out: dict[str, float], report: PollReport
    ) -> None:
        await self._read_plan(
            ids, specs, list(range(len(specs))), out, report, self.cfg.max_gap_registers
        )

    async def _read_plan(
        self,
        ids: list[str],
        specs: list[RegisterSpec],
        indices: list[int],
        out: dict[str, float],
        report: PollReport,
        max_gap: int,
    ) -> None:
        """Read ``specs[indices]``; a refused merged read is re-planned finer (no holes, then
        one read per value) and the refusal remembered for the next polls."""
        finer = 0 if max_gap > 0 else -1
        plan = plan_reads(
            [specs[i] for i in indices],
            max_registers=self.cfg.max_registers_per_read,
            max_bits=self.cfg.max_bits_per_read,
            max_gap=max_gap,
        )
        for read in plan:
            members = [indices[i] for i in read.members]
            read = replace(read, members=tuple(members))
            key = (read.unit, read.register_type, read.address, read.count)
            can_split = len(members) > 1 and max_gap >= 0
            if can_split and key in self._split:
                await self._read_plan(ids, specs, members, out, report, finer)
                continue
            ok = await self._execute(read, ids, specs, out, report, quiet=can_split)
            if not ok and can_split:
                self._split.add(key)
                await self._read_plan(ids, specs, members, out, report, finer)

    async def _execute(
        self,
        read: Any,
        ids: list[str],
        specs: list[RegisterSpec],
        out: dict[str, float],
        report: PollReport,
        quiet: bool = False,
    ) -> bool:
        """Send one read and decode its members; False when the device refused it."""
        from pymodbus.exceptions import ModbusException

        client = self._client
        method = {
            "coil": client.read_coils,
            "discrete": client.read_discrete_inputs,
            "holding": client.read_holding_registers,
            "input": client.read_input_registers,
        }[read.register_type]
        report.n_requests += 1
        member_ids = [ids[i] for i in read.members]
        where = f"unit {read.unit} {read.register_type} {read.address}+{read.count}"
        try:
            response = await method(read.address, count=read.count, device_id=read.unit)
        except ModbusException as exc:
            report.fail(member_ids, f"{where}: {exc}")
            return True  # a transport failure: splitting would not help
        if response.isError():
            if not quiet:
                code = getattr(response, "exception_code", "?")
                report.fail(member_ids, f"{where}: device refused (exception code {code})")
            return False
        words = response.bits if read.register_type in ("coil", "discrete") else response.registers
        for index in read.members:
            spec = specs[index]
            start = spec.address - read.address
            try:
                value = decode(words[start : start + spec.width], spec)
            except (ValueError, IndexError) as exc:
                report.fail([ids[index]], f"{where}: cannot decode {spec.data_type}: {exc}")
                continue
            if math.isfinite(value):
                out[ids[index]] = value
            else:
                report.fail([ids[index]], f"{where}: {spec.data_type} is not a finite number")
        return True
