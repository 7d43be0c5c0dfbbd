"""InfluxDB 1.x as a telemetry *source*: points mapped to measurement / field / tags.

Configured in ``bms.toml``::

    [connectors.legacy-gtb]
    kind = "influxdb"
    url = "influxdb://gtb.example.org:8086/gtb"   # add ?ssl=true for HTTPS
    username = "reader"                          # optional
    password_env = "BMS_GTB_INFLUX_PASSWORD"
    start = "2025-01-01T00:00:00Z"               # where the first run starts (else --since)

A point's ``source`` is ``{connector: influxdb, measurement: ahu, field: sat,
tags: "site=hq,ahu=1"}`` (tags as ``key=value`` pairs separated by commas). Points of the same
measurement and tags are read by one query per time window (``chunk_hours``, default 24):
``SELECT "sat","rat" FROM "ahu" WHERE "site" = $t0 AND "ahu" = $t1 AND time >= $start AND
time < $end``. Identifiers come from the site model and are double-quoted; tag values and times
are bound parameters.
"""

from __future__ import annotations

import collections
import logging
from collections.abc import Sequence
from typing import Any, ClassVar, Literal

import pandas as pd
from pydantic import Field, field_validator

from bms.connectors.base import Connector, ConnectorConfig, register
from bms.errors import ConfigError, SiteError
from bms.site.model import Point
from bms.telemetry.frame import empty_frame, validate_frame
from bms.telemetry.influx_io import Influx1HTTP, parse_influx_url, quote_ident, rfc3339

log = logging.getLogger(__name__)


class InfluxSourceConfig(ConnectorConfig):
    """``[connectors.NAME]`` table of an InfluxDB 1.x source."""

    kind: Literal["influxdb"] = "influxdb"
    url: str = Field(title="Server URL", description="influxdb://host:port/db[?ssl=true]")
    username: str | None = Field(default=None, title="User name")
    password_env: str = Field(default="BMS_INFLUX_PASSWORD", title="Password variable")
    timeout_seconds: float = Field(default=10.0, gt=0, title="Request timeout [s]")
    chunk_hours: float = Field(default=24.0, gt=0, title="Query window [h]")
    start: str | None = Field(default=None, title="First time read on a first run (ISO 8601)")

    @field_validator("start")
    @classmethod
    def _start_is_a_time(cls, value: str | None) -> str | None:
        return check_time(value)


def check_time(value: str | None) -> str | None:
    """``value`` when it is a time pandas reads (ISO 8601; naive is UTC), else ValueError."""
    if value is None:
        return value
    try:
        stamp = pd.Timestamp(value)
    except (ValueError, TypeError, OverflowError):
        stamp = pd.NaT
    if pd.isna(stamp):
        raise ValueError(f"not a time: {value!r}; use ISO 8601, e.g. 2025-01-01T00:00:00Z")
    return value


def parse_tags(point_id: str, raw: Any) -> tuple[tuple[str, str], ...]:
    """Tags of a source as sorted (key, value) pairs, from ``"k=v,k2=v2"`` or a mapping."""
    if raw is None or raw == "":
        return ()
    if isinstance(raw, dict):
        return tuple(sorted((str(k), str(v)) for k, v in raw.items()))
    pairs = []
    for item in str(raw).split(","):
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise SiteError(f"point {point_id!r}: influxdb tags must be 'key=value,...': {raw!r}")
        pairs.append((key.strip(), value.strip()))
    return tuple(sorted(pairs))


@register
class InfluxSourceConnector(Connector):
    """History source: an InfluxDB 1.x database read with bound-parameter InfluxQL."""

    kind: ClassVar[str] = "influxdb"
    config_model: ClassVar[type[ConnectorConfig]] = InfluxSourceConfig

    def __init__(self, config: ConnectorConfig, points: Sequence[Point]) -> None:
        super().__init__(config, points)
        assert isinstance(config, InfluxSourceConfig)
        self.cfg = config
        parsed = parse_influx_url(config.url, f"connectors.{config.name}.url")
        if parsed.scheme != "influxdb":
            raise ConfigError(f"connectors.{config.name}.url: only influxdb:// (1.x) sources")
        self.http = Influx1HTTP(
            parsed.http_url,
            parsed.database,
            config.username,
            password_env=config.password_env,
            timeout_seconds=config.timeout_seconds,
        )
        self.groups: dict[tuple[str, tuple[tuple[str, str], ...]], dict[str, str]] = (
            collections.defaultdict(dict)
        )
        for p in self.points:
            try:
                measurement, field = str(p.source["measurement"]), str(p.source["field"])
            except KeyError as exc:
                raise SiteError(f"point {p.id!r}: influxdb source lacks {exc.args[0]!r}") from None
            self.groups[(measurement, parse_tags(p.id, p.source.get("tags")))][field] = p.id

    def extent(self) -> tuple[pd.Timestamp, pd.Timestamp] | None:
        """(configured ``start``, now) when ``start`` is set, else None (give ``--since``)."""
        if self.cfg.start is None:
            return None
        start = pd.Timestamp(self.cfg.start)
        start = start.tz_localize("UTC") if start.tzinfo is None else start.tz_convert("UTC")
        return start, pd.Timestamp.now(tz="UTC")

    def _query(
        self,
        measurement: str,
        tags: tuple[tuple[str, str], ...],
        fields: dict[str, str],
        start: pd.Timestamp,
        end: pd.Timestamp,
    ) -> list[pd.DataFrame]:
        params: dict[str, Any] = {"start": rfc3339(start), "end": rfc3339(end)}
        where = [f"{quote_ident(k)} = $t{i}" for i, (k, _) in enumerate(tags)]
        params.update({f"t{i}": v for i, (_, v) in enumerate(tags)})
        columns = ", ".join(quote_ident(f) for f in fields)
        statement = f"SELECT {columns} FROM {quote_ident(measurement)} WHERE " + " AND ".join(
            [*where, "time >= $start AND time < $end"]
        )
        parts = []
        for series in self.http.query(statement, params)[0]:
            wide = pd.DataFrame(series["values"], columns=series["columns"])
            for field, point in fields.items():
                if field in wide.columns:
                    values = pd.to_numeric(wide[field], errors="coerce")
                    keep = values.notna()
                    parts.append(
                        pd.DataFrame(
                            {
                                "time": pd.to_datetime(wide["time"][keep], unit="ns", utc=True),
                                "point": point,
                                "value": values[keep],
                            }
                        )
                    )
        return parts

    def read(
        self, start: pd.Timestamp, end: pd.Timestamp, points: Sequence[Point] | None = None
    ) -> pd.DataFrame:
        """Readings with ``start <= time < end``, in windows of ``chunk_hours``."""
        wanted = {p.id for p in points} if points is not None else None
        step = pd.Timedelta(hours=self.cfg.chunk_hours)
        parts: list[pd.DataFrame] = []
        window = start
        while window < end:
            stop = min(window + step, end)
            for (measurement, tags), fields in self.groups.items():
                chosen = {f: p for f, p in fields.items() if wanted is None or p in wanted}
                if chosen:
                    parts.extend(self._query(measurement, tags, chosen, window, stop))
            window = stop
        if not parts:
            return empty_frame()
        return validate_frame(pd.concat(parts, ignore_index=True))
