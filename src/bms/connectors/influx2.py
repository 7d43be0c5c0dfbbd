"""InfluxDB 2.x as a telemetry *source*: points mapped to measurement / field / tags, read with
Flux whose text is a constant and whose values are typed parameters.

Configured in ``bms.toml``::

    [connectors.gtb2]
    kind = "influxdb2"
    url = "influxdb2://gtb.example.org:8086?org=exploitation&bucket=gtb"   # &ssl=true: HTTPS
    token_env = "BMS_GTB_INFLUX_TOKEN"          # the variable holding a read token
    start = "2025-01-01T00:00:00Z"              # where the first run starts (else --since)
    chunk_hours = 24                            # one query window
    fields_per_query = 50                       # at most this many fields per query

A point's ``source`` is the same as for 1.x: ``{connector: influxdb2, measurement: ahu,
field: sat, tags: "site=hq,unit=1"}`` (or a mapping of tags). Points of one measurement and tag
set are read by one query per window (and per ``fields_per_query`` fields)::

    from(bucket: bms_bucket)
      |> range(start: bms_start, stop: bms_stop)
      |> filter(fn: (r) => r._measurement == bms_measurement
                           and contains(value: r._field, set: bms_fields))
      |> filter(fn: (r) => length(arr: array.filter(arr: bms_tags,
                  fn: (x) => record.get(r: r, key: x[0], default: "") != x[1])) == 0)

``bms_*`` are ``option`` statements that influxdb-client sends as typed literals in the
request's ``extern`` AST (:class:`~bms.telemetry.influx_io.Influx2Client`): a measurement,
field, tag key or value is never pasted into Flux text. The rows that come back are matched
again to the configured (measurement, field, tags) before they are kept, so a row the server
should not have sent is dropped, never attributed to a point.
"""

from __future__ import annotations

import collections
import logging
import math
from collections.abc import Iterable, Sequence
from typing import Any, ClassVar, Literal

import pandas as pd
from pydantic import Field, field_validator

from bms.connectors.base import Connector, ConnectorConfig, register
from bms.connectors.influx import check_time, parse_tags
from bms.errors import ConfigError, SiteError
from bms.site.model import Point
from bms.telemetry.frame import as_utc, empty_frame, validate_frame
from bms.telemetry.influx_io import Influx2Client, parse_influx_url

log = logging.getLogger(__name__)

Tags = tuple[tuple[str, str], ...]

#: Points without tags: measurement and fields only.
FLUX_READ = (
    "from(bucket: bms_bucket)\n"
    "  |> range(start: bms_start, stop: bms_stop)\n"
    "  |> filter(fn: (r) => r._measurement == bms_measurement"
    " and contains(value: r._field, set: bms_fields))\n"
    '  |> keep(columns: ["_time", "_value", "_field", "_measurement"])\n'
)
#: Points with tags: every (key, value) of ``bms_tags`` must match (a missing tag never does).
FLUX_READ_TAGGED = (
    'import "array"\n'
    'import "experimental/record"\n'
    "\n"
    "from(bucket: bms_bucket)\n"
    "  |> range(start: bms_start, stop: bms_stop)\n"
    "  |> filter(fn: (r) => r._measurement == bms_measurement"
    " and contains(value: r._field, set: bms_fields))\n"
    "  |> filter(fn: (r) => length(arr: array.filter(arr: bms_tags,"
    ' fn: (x) => record.get(r: r, key: x[0], default: "") != x[1])) == 0)\n'
    '  |> keep(fn: (column) => column == "_time" or column == "_value" or column == "_field"'
    ' or column == "_measurement" or contains(value: column, set: bms_tag_keys))\n'
)


class Influx2SourceConfig(ConnectorConfig):
    """``[connectors.NAME]`` table of an InfluxDB 2.x source."""

    kind: Literal["influxdb2"] = "influxdb2"
    url: str = Field(
        title="Server URL", description="influxdb2://host:port?org=O&bucket=B[&ssl=true]"
    )
    token_env: str = Field(default="BMS_INFLUX_TOKEN", title="API token variable")
    timeout_seconds: float = Field(default=30.0, gt=0, title="Request timeout [s]")
    chunk_hours: float = Field(default=24.0, gt=0, title="Query window [h]")
    fields_per_query: int = Field(default=50, ge=1, title="Fields read by one query at most")
    start: str | None = Field(default=None, title="First time read on a first run (ISO 8601)")

    @field_validator("start")
    @classmethod
    def _start_is_a_time(cls, value: str | None) -> str | None:
        return check_time(value)


def group_sources(points: Iterable[Point]) -> dict[tuple[str, Tags], dict[str, str]]:
    """(measurement, sorted tags) -> {field: point id} of points with an InfluxDB source.

    Raises
    ------
    SiteError
        A source without ``measurement`` or ``field``, or with malformed ``tags``; two points
        reading the same (measurement, tags, field).
    """
    groups: dict[tuple[str, Tags], dict[str, str]] = collections.defaultdict(dict)
    for p in points:
        try:
            measurement, field = str(p.source["measurement"]), str(p.source["field"])
        except KeyError as exc:
            raise SiteError(f"point {p.id!r}: influxdb source lacks {exc.args[0]!r}") from None
        tags = parse_tags(p.id, p.source.get("tags"))
        fields = groups[(measurement, tags)]
        if field in fields:
            raise SiteError(
                f"points {fields[field]!r} and {p.id!r} read the same InfluxDB series "
                f"({measurement}, field {field!r}, tags {dict(tags)})"
            )
        fields[field] = p.id
    return dict(groups)


def flux_params(
    bucket: str,
    measurement: str,
    tags: Tags,
    fields: Sequence[str],
    start: pd.Timestamp,
    stop: pd.Timestamp,
) -> tuple[str, dict[str, Any]]:
    """The Flux text (a constant) and its typed parameters for one group and window
    (``start <= _time < stop``; naive times are UTC)."""
    params: dict[str, Any] = {
        "bms_bucket": bucket,
        "bms_start": as_utc(start),  # a Timestamp, not a datetime: its nanoseconds are kept
        "bms_stop": as_utc(stop),
        "bms_measurement": measurement,
        "bms_fields": list(fields),
    }
    if not tags:
        return FLUX_READ, params
    params["bms_tags"] = [[key, value] for key, value in tags]
    params["bms_tag_keys"] = [key for key, _ in tags]
    return FLUX_READ_TAGGED, params


@register
class Influx2SourceConnector(Connector):
    """History source: an InfluxDB 2.x bucket read with constant, parameterised Flux."""

    kind: ClassVar[str] = "influxdb2"
    config_model: ClassVar[type[ConnectorConfig]] = Influx2SourceConfig

    def __init__(self, config: ConnectorConfig, points: Sequence[Point]) -> None:
        super().__init__(config, points)
        assert isinstance(config, Influx2SourceConfig)
        self.cfg = config
        if parse_influx_url(config.url, f"connectors.{config.name}.url").scheme != "influxdb2":
            raise ConfigError(f"connectors.{config.name}.url: only influxdb2:// (2.x) sources")
        self.groups = group_sources(self.points)
        self.client = Influx2Client(
            config.url, token_env=config.token_env, timeout_seconds=config.timeout_seconds
        )
        self.dropped_rows = 0  # rows that matched no configured series, or were not numeric

    def extent(self) -> tuple[pd.Timestamp, pd.Timestamp] | None:
        """(configured ``start``, now) when ``start`` is set, else None (give ``--since``)."""
        if self.cfg.start is None:
            return None
        return as_utc(pd.Timestamp(self.cfg.start)), pd.Timestamp.now(tz="UTC")

    def _query(
        self,
        measurement: str,
        tags: Tags,
        fields: dict[str, str],
        start: pd.Timestamp,
        stop: pd.Timestamp,
    ) -> list[tuple[str, Any, float]]:
        flux, params = flux_params(self.client.bucket, measurement, tags, list(fields), start, stop)
        rows: list[tuple[str, Any, float]] = []
        for record in self.client.query(flux, params):
            values = record.values
            point = fields.get(str(values.get("_field")))
            matches = values.get("_measurement", measurement) == measurement and all(
                values.get(key) == value for key, value in tags
            )
            value = _number(record.get_value())
            if point is None or not matches or value is None:
                self.dropped_rows += 1
                continue
            rows.append((point, record.get_time(), value))
        return rows

    def read(
        self, start: pd.Timestamp, end: pd.Timestamp, points: Sequence[Point] | None = None
    ) -> pd.DataFrame:
        """Readings with ``start <= time < end``, in windows of ``chunk_hours`` and at most
        ``fields_per_query`` fields per query."""
        wanted = {p.id for p in points} if points is not None else None
        step = pd.Timedelta(hours=self.cfg.chunk_hours)
        size = self.cfg.fields_per_query
        dropped_before = self.dropped_rows
        rows: list[tuple[str, Any, float]] = []
        window = start
        while window < end:
            stop = min(window + step, end)
            for (measurement, tags), fields in self.groups.items():
                chosen = [(f, p) for f, p in fields.items() if wanted is None or p in wanted]
                for begin in range(0, len(chosen), size):
                    part = dict(chosen[begin : begin + size])
                    rows.extend(self._query(measurement, tags, part, window, stop))
            window = stop
        if self.dropped_rows > dropped_before:
            log.warning(
                "%s: %d rows ignored (not numeric, or not a configured series)",
                self.cfg.name,
                self.dropped_rows - dropped_before,
            )
        if not rows:
            return empty_frame()
        frame = pd.DataFrame(rows, columns=["point", "time", "value"])
        frame["time"] = pd.to_datetime(frame["time"], utc=True)
        return validate_frame(frame)

    def close(self) -> None:
        """Close the HTTP client."""
        self.client.close()


def _number(value: Any) -> float | None:
    """A Flux ``_value`` as a finite float (booleans as 0/1), or None."""
    if isinstance(value, bool):
        return float(value)
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None
