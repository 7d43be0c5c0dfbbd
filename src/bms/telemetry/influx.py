"""InfluxDB telemetry stores: 1.x (HTTP line protocol + InfluxQL) and 2.x (influxdb-client, Flux).

Schema, the same on both::

    bms_telemetry,point=<point id> value=<float> <time ns>
    bms_scores,equipment=<equipment id>,model_version=<v> anomaly_score=..,health=..,rul_p10=..

A (point, time) pair is one InfluxDB series + timestamp, so writing it again overwrites it:
writes are idempotent, as the :class:`~bms.telemetry.store.TelemetryStore` protocol requires.

Reads are always bounded in time and chunked: a read without ``start``/``end`` first asks the
store for the points' extents, then queries windows of ``read_chunk`` (7 days) for at most
``points_per_query`` points at a time. Point ids and times are bound parameters, never pasted
into query text (:mod:`bms.telemetry.influx_io`).

Connection failures and HTTP 5xx raise :class:`StoreUnavailableError` (a ``ConnectionError``),
which the ingest job retries, then spools.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import pandas as pd

from bms.errors import ConfigError, SchemaError
from bms.telemetry.frame import as_utc, empty_frame, validate_frame
from bms.telemetry.influx_io import (
    Influx1HTTP,
    Influx2Client,
    StoreUnavailableError,
    line_protocol,
    parse_influx_url,
    quote_ident,
    rfc3339,
)
from bms.telemetry.store import PointExtent

__all__ = ["SCORE_FIELDS", "Influx1Store", "Influx2Store", "StoreUnavailableError"]

SCORE_FIELDS = ("anomaly_score", "is_anomalous", "health", "rul_p10", "rul_p50", "rul_p90")
_ONE_NS = pd.Timedelta(1, "ns")


def _check_scores(frame: pd.DataFrame) -> pd.DataFrame:
    """Validate a scores frame: time (aware), equipment, model_version and score fields."""
    for column in ("time", "equipment", "model_version"):
        if column not in frame.columns:
            raise SchemaError(f"scores frame lacks column {column!r}")
    present = [c for c in SCORE_FIELDS if c in frame.columns]
    if not present:
        raise SchemaError(f"scores frame has none of the columns {', '.join(SCORE_FIELDS)}")
    times = pd.to_datetime(frame["time"])
    if times.dt.tz is None:
        raise SchemaError("scores frame: column 'time' has naive timestamps; localise to UTC")
    out = pd.DataFrame({"time": times.dt.tz_convert("UTC").reset_index(drop=True)})
    out["equipment"] = frame["equipment"].astype(str).to_numpy()
    out["model_version"] = frame["model_version"].astype(str).to_numpy()
    for column in present:
        out[column] = pd.to_numeric(frame[column], errors="raise").astype("float64").to_numpy()
    return out


class _InfluxStore:
    """What both stores share: chunked bounded reads and the line-protocol writes."""

    measurement: str
    scores_measurement: str
    read_chunk: pd.Timedelta = pd.Timedelta(days=7)
    points_per_query: int = 100

    # Backend hooks ------------------------------------------------------------------------
    def _write_lines(self, lines: Sequence[str]) -> None:
        raise NotImplementedError

    def _query_window(
        self, points: Sequence[str], start: pd.Timestamp, end: pd.Timestamp
    ) -> list[tuple[str, Any, float]]:
        raise NotImplementedError

    def points(self) -> list[PointExtent]:
        raise NotImplementedError

    # Protocol -----------------------------------------------------------------------------
    def write(self, frame: pd.DataFrame) -> int:
        """Validate and store a canonical frame; return the number of rows accepted."""
        clean = validate_frame(frame)
        if clean.empty:
            return 0
        lines = line_protocol(
            self.measurement, clean["time"], {"point": clean["point"]}, {"value": clean["value"]}
        )
        self._write_lines(lines)
        return len(clean)

    def read(
        self,
        points: Iterable[str] | None = None,
        start: pd.Timestamp | str | None = None,
        end: pd.Timestamp | str | None = None,
    ) -> pd.DataFrame:
        """Rows of ``points`` (all when None) with ``start <= time < end``, canonical form."""
        start_utc, end_utc = as_utc(start), as_utc(end)
        wanted = sorted(set(points)) if points is not None else None
        if wanted is None or start_utc is None or end_utc is None:
            extents = [e for e in self.points() if wanted is None or e.point in wanted]
            if not extents:
                return empty_frame()
            wanted = wanted if wanted is not None else [e.point for e in extents]
            start_utc = start_utc if start_utc is not None else min(e.start for e in extents)
            end_utc = end_utc if end_utc is not None else max(e.end for e in extents) + _ONE_NS
        if not wanted or start_utc >= end_utc:
            return empty_frame()
        rows: list[tuple[str, Any, float]] = []
        window = start_utc
        while window < end_utc:
            stop = min(window + self.read_chunk, end_utc)
            for begin in range(0, len(wanted), self.points_per_query):
                rows.extend(
                    self._query_window(wanted[begin : begin + self.points_per_query], window, stop)
                )
            window = stop
        if not rows:
            return empty_frame()
        frame = pd.DataFrame(rows, columns=["point", "time", "value"])
        frame["time"] = pd.to_datetime(frame["time"], utc=True).astype("datetime64[ns, UTC]")
        frame["value"] = frame["value"].astype("float64")
        frame["point"] = frame["point"].astype(object)  # as validate_frame gives it
        frame = frame.sort_values(["point", "time"], kind="stable").reset_index(drop=True)
        return frame.loc[:, ["time", "point", "value"]]

    # Scores -------------------------------------------------------------------------------
    def write_scores(self, frame: pd.DataFrame) -> int:
        """Write model outputs as the ``bms_scores`` measurement.

        Parameters
        ----------
        frame : DataFrame of shape (n_windows, k)
            Columns ``time`` (aware), ``equipment``, ``model_version`` and any of
            ``anomaly_score`` [0-1], ``is_anomalous`` [0/1], ``health`` [0-100],
            ``rul_p10``, ``rul_p50``, ``rul_p90`` [days]. NaN scores are left out.

        Returns
        -------
        int
            Number of rows written (one line each).
        """
        scores = _check_scores(frame)
        fields = {c: scores[c] for c in SCORE_FIELDS if c in scores.columns}
        tags = {"equipment": scores["equipment"], "model_version": scores["model_version"]}
        lines = line_protocol(self.scores_measurement, scores["time"], tags, fields)
        self._write_lines(lines)
        return len(lines)


class Influx1Store(_InfluxStore):
    """Telemetry in an InfluxDB 1.x database (``influxdb://[user@]host:port/db[?ssl=true]``).

    The password, when a user is given, comes from ``BMS_INFLUX_PASSWORD``.
    """

    def __init__(
        self,
        url: str,
        measurement: str = "bms_telemetry",
        scores_measurement: str = "bms_scores",
        timeout_seconds: float = 10.0,
    ) -> None:
        parsed = parse_influx_url(url)
        if parsed.scheme != "influxdb":
            raise ConfigError(f"Influx1Store needs an influxdb:// URL, got {url!r}")
        self.url = url
        self.measurement = parsed.options.get("measurement", measurement)
        self.scores_measurement = scores_measurement
        self.http = Influx1HTTP(
            parsed.http_url, parsed.database, parsed.username, timeout_seconds=timeout_seconds
        )

    def _write_lines(self, lines: Sequence[str]) -> None:
        self.http.write_lines(lines)

    def _query_window(
        self, points: Sequence[str], start: pd.Timestamp, end: pd.Timestamp
    ) -> list[tuple[str, Any, float]]:
        params: dict[str, Any] = {f"p{i}": p for i, p in enumerate(points)}
        match = " OR ".join(f'"point" = $p{i}' for i in range(len(points)))
        params.update(start=rfc3339(start), end=rfc3339(end))
        statement = (
            f"SELECT {quote_ident('value')} FROM {quote_ident(self.measurement)} "
            f'WHERE ({match}) AND time >= $start AND time < $end GROUP BY "point"'
        )
        rows: list[tuple[str, Any, float]] = []
        for series in self.http.query(statement, params)[0]:
            point = series["tags"]["point"]
            rows.extend((point, t, v) for t, v in series["values"] if v is not None)
        return rows

    def points(self) -> list[PointExtent]:
        """Every point held with its first and last timestamp and row count."""
        measurement = quote_ident(self.measurement)
        statements = "; ".join(
            f'SELECT {fn}("value") FROM {measurement} GROUP BY "point"'
            for fn in ("count", "first", "last")
        )
        counts, firsts, lasts = self.http.query(statements)
        first_time = {s["tags"]["point"]: s["values"][0][0] for s in firsts}
        last_time = {s["tags"]["point"]: s["values"][0][0] for s in lasts}
        extents = [
            PointExtent(
                point,
                pd.Timestamp(first_time[point], tz="UTC"),
                pd.Timestamp(last_time[point], tz="UTC"),
                int(series["values"][0][1]),
            )
            for series in counts
            if (point := series["tags"]["point"]) in first_time
        ]
        return sorted(extents, key=lambda e: e.point)

    def read_scores(
        self, start: pd.Timestamp | str, end: pd.Timestamp | str, equipment: str | None = None
    ) -> pd.DataFrame:
        """Scores with ``start <= time < end`` (of one equipment, or all), one row per window."""
        params: dict[str, Any] = {
            "start": rfc3339(pd.Timestamp(start)),
            "end": rfc3339(pd.Timestamp(end)),
        }
        where = "time >= $start AND time < $end"
        if equipment is not None:
            where += ' AND "equipment" = $equipment'
            params["equipment"] = equipment
        statement = (
            f"SELECT * FROM {quote_ident(self.scores_measurement)} WHERE {where} "
            'GROUP BY "equipment", "model_version"'
        )
        parts = []
        for series in self.http.query(statement, params)[0]:
            part = pd.DataFrame(series["values"], columns=series["columns"])
            part["equipment"] = series["tags"]["equipment"]
            part["model_version"] = series["tags"]["model_version"]
            parts.append(part)
        if not parts:
            return pd.DataFrame(columns=["time", "equipment", "model_version"])
        scores = pd.concat(parts, ignore_index=True)
        scores["time"] = pd.to_datetime(scores["time"], utc=True)
        return scores.sort_values(["equipment", "time"], kind="stable").reset_index(drop=True)


class Influx2Store(_InfluxStore):
    """Telemetry in an InfluxDB 2.x bucket (``influxdb2://host:port?org=O&bucket=B[&ssl=true]``).

    The API token comes from ``BMS_INFLUX_TOKEN`` (never from the URL). Needs the ``influx``
    extra (influxdb-client).
    """

    _FLUX_READ = (
        "from(bucket: bms_bucket)\n"
        "  |> range(start: bms_start, stop: bms_stop)\n"
        '  |> filter(fn: (r) => r._measurement == bms_measurement and r._field == "value")\n'
        "  |> filter(fn: (r) => contains(value: r.point, set: bms_points))\n"
        '  |> keep(columns: ["_time", "_value", "point"])\n'
    )
    _FLUX_EXTENT = (
        "from(bucket: bms_bucket)\n"
        "  |> range(start: bms_start, stop: bms_stop)\n"
        '  |> filter(fn: (r) => r._measurement == bms_measurement and r._field == "value")\n'
        '  |> keep(columns: ["_time", "_value", "point"])\n'
        '  |> group(columns: ["point"])\n'
        "  |> {fn}()\n"
    )

    def __init__(
        self,
        url: str,
        token_env: str = "BMS_INFLUX_TOKEN",
        measurement: str = "bms_telemetry",
        scores_measurement: str = "bms_scores",
        timeout_seconds: float = 10.0,
    ) -> None:
        parsed = parse_influx_url(url)
        if parsed.scheme != "influxdb2":
            raise ConfigError(f"Influx2Store needs an influxdb2:// URL, got {url!r}")
        self.http = Influx2Client(url, token_env=token_env, timeout_seconds=timeout_seconds)
        self.url, self.org, self.bucket = url, parsed.org, parsed.bucket
        self.measurement = parsed.options.get("measurement", measurement)
        self.scores_measurement = scores_measurement
        self.client = self.http.client

    def _write_lines(self, lines: Sequence[str]) -> None:
        self.http.write_lines(lines)

    def _flux(self, query: str, params: dict[str, Any]) -> list[Any]:
        params = {"bucket": self.bucket, "measurement": self.measurement, **params}
        return self.http.query(query, {f"bms_{key}": value for key, value in params.items()})

    def _query_window(
        self, points: Sequence[str], start: pd.Timestamp, end: pd.Timestamp
    ) -> list[tuple[str, Any, float]]:
        params = {  # Timestamps, not datetimes: the client keeps their nanoseconds
            "start": start.tz_convert("UTC"),
            "stop": end.tz_convert("UTC"),
            "points": list(points),
        }
        records = self._flux(self._FLUX_READ, params)
        return [
            (str(r.values["point"]), r.get_time(), float(r.get_value()))
            for r in records
            if r.get_value() is not None
        ]

    def points(self) -> list[PointExtent]:
        """Every point held with its extent and row count (three Flux aggregate queries)."""
        params = {
            "start": pd.Timestamp(0, tz="UTC").to_pydatetime(),
            "stop": (pd.Timestamp.now(tz="UTC") + pd.Timedelta(days=366)).to_pydatetime(),
        }
        found: dict[str, dict[str, Any]] = {}
        for fn in ("count", "first", "last"):
            for r in self._flux(self._FLUX_EXTENT.replace("{fn}", fn), params):
                entry = found.setdefault(str(r.values["point"]), {})
                if fn == "count":
                    entry[fn] = r.get_value()
                else:
                    entry[fn] = pd.Timestamp(r.get_time()).tz_convert("UTC").as_unit("ns")
        return [
            PointExtent(p, e["first"], e["last"], int(e["count"]))
            for p, e in sorted(found.items())
            if {"count", "first", "last"} <= e.keys()
        ]

    def close(self) -> None:
        """Close the HTTP client."""
        self.http.close()
