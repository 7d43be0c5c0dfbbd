"""The connector contract: a typed config per connector and a registry of connector kinds.

Two shapes of source exist:

* **history sources** (InfluxDB, files) answer ``read(start, end, points)`` for any past range;
* **live sources** (BACnet/IP, Modbus TCP) only know the present value: ``poll(points)``
  returns one reading per point, stamped with the time it was read;
* **pushed sources** (MQTT/LoRaWAN) deliver messages: ``stream(handle, stop)`` calls ``handle``
  with a canonical frame for each batch received until ``stop`` is set.

Every method returns the canonical telemetry frame (:mod:`bms.telemetry.frame`). Point
addresses come from the site model's ``Point.source`` dict; a connector reads the points whose
``source["connector"]`` equals its name (or its kind when the config names no points).

Connectors are configured by name in ``bms.toml``::

    [connectors.bms-bacnet]
    kind = "bacnet"
    address = "127.0.0.1/8:47809"
"""

from __future__ import annotations

import threading
from abc import ABC
from collections.abc import Callable, Sequence
from typing import Any, ClassVar

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from bms.errors import ConfigError
from bms.site.model import Point

FrameHandler = Callable[[pd.DataFrame], None]


class ConnectorConfig(BaseModel):
    """Fields every connector config has; each connector subclasses it with its own fields."""

    model_config = ConfigDict(extra="forbid")

    kind: str = Field(title="Connector kind", description="bacnet, modbus, mqtt, influxdb, file...")
    name: str = Field(default="", title="Name", description="The [connectors.NAME] table name.")
    source_tag: str | None = Field(
        default=None,
        title="Source tag",
        description="Points whose source['connector'] equals this are read; default: the kind.",
    )


class Connector(ABC):  # subclasses implement one or more of read, poll, stream
    """Base class of every connector. Subclasses set ``kind`` and ``config_model``."""

    kind: ClassVar[str]
    config_model: ClassVar[type[ConnectorConfig]]

    def __init__(self, config: ConnectorConfig, points: Sequence[Point]) -> None:
        self.config = config
        tag = config.source_tag or config.kind
        self.points = [p for p in points if p.source.get("connector") == tag]

    # History sources ------------------------------------------------------------------------
    def read(
        self, start: pd.Timestamp, end: pd.Timestamp, points: Sequence[Point] | None = None
    ) -> pd.DataFrame:
        """Readings with ``start <= time < end`` as a canonical frame (history sources)."""
        raise NotImplementedError(f"connector kind {self.kind!r} has no history; use poll()")

    # Live sources ---------------------------------------------------------------------------
    def poll(self, points: Sequence[Point] | None = None) -> pd.DataFrame:
        """The present value of each point, stamped with the read time (live sources)."""
        raise NotImplementedError(f"connector kind {self.kind!r} cannot be polled")

    # Pushed sources -------------------------------------------------------------------------
    def stream(self, handle: FrameHandler, stop: threading.Event) -> None:
        """Call ``handle(frame)`` for each batch received until ``stop`` is set (pushed sources)."""
        raise NotImplementedError(f"connector kind {self.kind!r} does not stream")

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release sockets and threads."""


CONNECTOR_KINDS: dict[str, type[Connector]] = {}


def register(cls: type[Connector]) -> type[Connector]:
    """Class decorator: make a connector kind available to ``bms.toml`` and ``bms ingest``."""
    CONNECTOR_KINDS[cls.kind] = cls
    return cls


def parse_config(name: str, raw: dict[str, Any]) -> ConnectorConfig:
    """Validate the ``[connectors.NAME]`` table; raise ConfigError naming the bad field."""
    if not isinstance(raw, dict):
        raise ConfigError(f"connectors.{name}: must be a table ([connectors.{name}])")
    kind = raw.get("kind")
    if kind is None:
        raise ConfigError(f"connectors.{name}: missing field 'kind'")
    if not isinstance(kind, str):
        raise ConfigError(
            f'connectors.{name}.kind: must be a string, e.g. kind = "file" '
            f"(got {type(kind).__name__})"
        )
    if kind not in CONNECTOR_KINDS:
        known = ", ".join(sorted(CONNECTOR_KINDS)) or "none registered"
        raise ConfigError(f"connectors.{name}.kind: unknown connector kind {kind!r} ({known})")
    model = CONNECTOR_KINDS[kind].config_model
    try:
        return model(**{"name": name, **raw})
    except ValidationError as exc:
        error = exc.errors()[0]
        where = "".join(f".{part}" for part in error["loc"])
        message = error["msg"].removeprefix("Value error, ")
        raise ConfigError(f"connectors.{name}{where}: {message}") from None
