"""Modbus register maps: where each point lives, how to read many points in few requests,
and how to turn registers into SI values (and back, for simulators).

A point's ``source`` names its register::

    {connector: modbus, unit: 1, register_type: holding, address: 100,
     data_type: float32, word_order: big, byte_order: big, scale: 1.0, offset: 0.0}

``register_type`` is ``coil``, ``discrete`` (discrete input), ``holding`` or ``input``;
``data_type`` is ``int16``, ``uint16``, ``int32``, ``uint32``, ``float32``, ``int64``,
``uint64`` or ``float64`` (coils and discrete inputs are bits, read as 0/1). Multi-register
values are big-endian words unless ``word_order: little`` (low word first, "swapped" devices);
``byte_order: little`` swaps the two bytes inside each word. The SI value is
``raw * scale + offset``. Addresses are 0-based protocol addresses (register 40101 of the
"Modicon" convention is holding register 100).
"""

from __future__ import annotations

import struct
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from bms.errors import SiteError

RegisterType = Literal["coil", "discrete", "holding", "input"]
DataType = Literal["int16", "uint16", "int32", "uint32", "float32", "int64", "uint64", "float64"]
WordOrder = Literal["big", "little"]

#: Data type -> (struct code, number of 16-bit registers).
DATA_TYPES: dict[str, tuple[str, int]] = {
    "int16": ("h", 1),
    "uint16": ("H", 1),
    "int32": ("i", 2),
    "uint32": ("I", 2),
    "float32": ("f", 2),
    "int64": ("q", 4),
    "uint64": ("Q", 4),
    "float64": ("d", 4),
}
BIT_TYPES = ("coil", "discrete")
#: Protocol limits per request: registers (FC 3/4) and bits (FC 1/2).
MAX_REGISTERS_PER_READ = 125
MAX_BITS_PER_READ = 2000

_REGISTER_TYPE_ALIASES = {
    "coils": "coil",
    "discrete_input": "discrete",
    "discrete-input": "discrete",
    "discrete_inputs": "discrete",
    "holding_register": "holding",
    "holding-register": "holding",
    "input_register": "input",
    "input-register": "input",
}


class RegisterSpec(BaseModel):
    """The address and encoding of one value in a Modbus device."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    unit: int = Field(default=1, ge=0, le=255, title="Unit id (device id, slave id)")
    register_type: RegisterType = Field(default="holding", title="Register table")
    address: int = Field(ge=0, le=65535, title="0-based protocol address")
    data_type: DataType = Field(default="uint16", title="Encoding of registers")
    word_order: WordOrder = Field(default="big", title="Word order of multi-register values")
    byte_order: WordOrder = Field(default="big", title="Byte order inside each register")
    scale: float = Field(default=1.0, title="SI value = raw * scale + offset")
    offset: float = Field(default=0.0, title="SI value = raw * scale + offset")

    @property
    def is_bit(self) -> bool:
        return self.register_type in BIT_TYPES

    @property
    def width(self) -> int:
        """Number of addresses the value spans (bits or 16-bit registers)."""
        return 1 if self.is_bit else DATA_TYPES[self.data_type][1]


def parse_source(point_id: str, source: Mapping[str, Any]) -> RegisterSpec:
    """The :class:`RegisterSpec` of a point's ``source`` dict.

    Raises
    ------
    SiteError
        Naming the point and the bad field (missing address, unknown data type...).
    """
    raw = dict(source)
    if isinstance(raw.get("register_type"), str):
        kind = raw["register_type"].lower()
        raw["register_type"] = _REGISTER_TYPE_ALIASES.get(kind, kind)
    if raw.get("register_type") in BIT_TYPES:
        raw.setdefault("data_type", "uint16")
    try:
        return RegisterSpec(**raw)
    except ValidationError as exc:
        error = exc.errors()[0]
        where = ".".join(str(part) for part in error["loc"]) or "source"
        raise SiteError(
            f"point {point_id!r}: modbus source field {where!r}: {error['msg']}"
        ) from None


@dataclass(frozen=True)
class Read:
    """One request: ``count`` addresses from ``address`` in a unit's register table.

    ``members`` are the indices (in the planned sequence of specs) of the values it covers.
    """

    unit: int
    register_type: str
    address: int
    count: int
    members: tuple[int, ...]


def plan_reads(
    specs: Sequence[RegisterSpec],
    *,
    max_registers: int = MAX_REGISTERS_PER_READ,
    max_bits: int = MAX_BITS_PER_READ,
    max_gap: int = 8,
) -> list[Read]:
    """The fewest reads that cover ``specs``, merging neighbours separated by small gaps.

    Values of the same unit and register table are sorted by address and merged into one read
    while the hole between them is at most ``max_gap`` addresses and the read stays within the
    protocol limit (``max_registers`` for registers, ``max_bits`` for coils and discrete
    inputs). Overlapping values share their registers.

    Parameters
    ----------
    specs : sequence of RegisterSpec, length n_values
    max_registers, max_bits : int
        Largest read [registers] / [bits]; the protocol allows 125 and 2000.
    max_gap : int
        Largest hole of unused addresses bridged by one read; 0 merges only adjacent values.

    Returns
    -------
    list of Read
        Sorted by (unit, register table, address); every spec index appears in exactly one.
    """
    groups: dict[tuple[int, str], list[int]] = {}
    for index, spec in enumerate(specs):
        groups.setdefault((spec.unit, spec.register_type), []).append(index)
    reads: list[Read] = []
    for (unit, register_type), indices in sorted(groups.items()):
        limit = max_bits if register_type in BIT_TYPES else max_registers
        indices.sort(key=lambda i: (specs[i].address, i))
        start = end = -1
        members: list[int] = []
        for index in indices:
            spec = specs[index]
            stop = spec.address + spec.width
            if members and spec.address - end <= max_gap and max(end, stop) - start <= limit:
                end = max(end, stop)
                members.append(index)
                continue
            if members:
                reads.append(Read(unit, register_type, start, end - start, tuple(members)))
            start, end, members = spec.address, stop, [index]
        if members:
            reads.append(Read(unit, register_type, start, end - start, tuple(members)))
    return reads


def _to_bytes(registers: Sequence[int], spec: RegisterSpec) -> bytes:
    words = list(registers)
    if spec.word_order == "little":
        words.reverse()
    data = b"".join(int(w).to_bytes(2, "big") for w in words)
    if spec.byte_order == "little":
        data = bytes(b for i in range(0, len(data), 2) for b in (data[i + 1], data[i]))
    return data


def decode(registers: Sequence[int], spec: RegisterSpec) -> float:
    """The SI value held in ``registers`` (exactly ``spec.width`` 16-bit words, or one bit).

    Returns
    -------
    float
        ``raw * scale + offset`` [the point's unit].
    """
    if spec.is_bit:
        return float(bool(registers[0])) * spec.scale + spec.offset
    code, width = DATA_TYPES[spec.data_type]
    if len(registers) != width:
        raise ValueError(f"{spec.data_type} needs {width} registers, got {len(registers)}")
    (raw,) = struct.unpack(">" + code, _to_bytes(registers, spec))
    return float(raw) * spec.scale + spec.offset


def encode(value: float, spec: RegisterSpec) -> list[int]:
    """The registers (or the one bit as 0/1) that :func:`decode` turns back into ``value``.

    Integer types are rounded to the nearest representable raw value; out-of-range values
    raise ``ValueError`` (``struct.error``).
    """
    raw = (value - spec.offset) / spec.scale
    if spec.is_bit:
        return [int(bool(round(raw)))]
    code, _ = DATA_TYPES[spec.data_type]
    packed = struct.pack(">" + code, raw if code in "fd" else round(raw))
    if spec.byte_order == "little":
        packed = bytes(b for i in range(0, len(packed), 2) for b in (packed[i + 1], packed[i]))
    words = [int.from_bytes(packed[i : i + 2], "big") for i in range(0, len(packed), 2)]
    if spec.word_order == "little":
        words.reverse()
    return words
