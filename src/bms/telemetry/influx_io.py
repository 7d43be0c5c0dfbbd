"""InfluxDB wire helpers: line protocol, InfluxQL identifiers, store URLs, the 1.x HTTP API and
the 2.x client (influxdb-client, Flux).

Nothing a user writes is ever pasted into a query: values (point ids, tag values, times) travel
as **bound parameters** (InfluxQL ``$name`` with the ``params`` form field; Flux ``params.name``
through the client's typed ``extern`` AST). Only identifiers chosen by the operator in
configuration (measurement, field and tag keys) appear in InfluxQL text, double-quoted with
:func:`quote_ident`.

Line protocol (writes) escapes ``,``, ``=`` and space in tag keys and values with a backslash; a
backslash is literal unless it precedes one of those, so a value ending in ``\\`` or holding a
newline cannot be written and is refused (:class:`SchemaError`).
"""

from __future__ import annotations

import base64
import json
import logging
import os
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from bms.errors import BmsError, ConfigError, SchemaError

log = logging.getLogger(__name__)

MAX_LINES_PER_POST = 50_000


class StoreUnavailableError(BmsError, ConnectionError):
    """The telemetry store (or a source server) cannot be reached or answers 5xx: retry later."""


# -- Line protocol ------------------------------------------------------------------------------
_TAG_ESCAPES = str.maketrans({",": r"\,", "=": r"\=", " ": r"\ "})
_MEASUREMENT_ESCAPES = str.maketrans({",": r"\,", " ": r"\ "})


def escape_tag(text: str) -> str:
    """Escape a tag key or value (or a field key) for line protocol."""
    if "\n" in text or "\r" in text or text.endswith("\\") or text == "":
        raise SchemaError(
            f"{text!r} cannot be an InfluxDB tag: empty, a newline or a trailing backslash"
        )
    return text.translate(_TAG_ESCAPES)


def escape_measurement(text: str) -> str:
    """Escape a measurement name for line protocol."""
    if "\n" in text or text.endswith("\\") or text == "":
        raise ConfigError(f"{text!r} cannot be an InfluxDB measurement name")
    return text.translate(_MEASUREMENT_ESCAPES)


def line_protocol(
    measurement: str,
    times: pd.Series,
    tags: Mapping[str, pd.Series | str],
    fields: Mapping[str, pd.Series],
) -> list[str]:
    """Build one line-protocol line per row.

    Parameters
    ----------
    measurement : str
        Measurement name.
    times : Series of datetime64[ns, UTC], length n
        Timestamps, written with nanosecond precision.
    tags : mapping of tag key -> Series of str (length n) or one str for every row
    fields : mapping of field key -> Series of float (length n)
        A NaN field is left out of its line; a row whose fields are all NaN is skipped.

    Returns
    -------
    list of str
        At most n lines.
    """
    n = len(times)
    prefix = np.full(n, escape_measurement(measurement), dtype=object)
    for key, values in tags.items():
        if isinstance(values, str):
            prefix = prefix + f",{escape_tag(key)}={escape_tag(values)}"
        else:
            unique = {v: escape_tag(str(v)) for v in pd.unique(values.to_numpy())}
            prefix = prefix + f",{escape_tag(key)}=" + values.map(unique).to_numpy(dtype=object)
    body = np.full(n, "", dtype=object)
    for key, values in fields.items():
        arr = values.to_numpy(dtype="float64")
        text = arr.astype(str).astype(object)  # shortest round-trip repr, e.g. '0.1'
        part = np.where(np.isnan(arr), "", f"{escape_tag(key)}=" + text)
        sep = np.where((body != "") & (part != ""), ",", "")
        body = body + sep + part
    stamps = times.astype("datetime64[ns, UTC]").astype("int64").astype(str).to_numpy(dtype=object)
    keep = body != ""
    lines = prefix + " " + body + " " + stamps
    return list(lines[keep])


def quote_ident(name: str) -> str:
    """Double-quote an InfluxQL identifier (measurement, field or tag key)."""
    if "\n" in name or name == "":
        raise ConfigError(f"{name!r} cannot be an InfluxQL identifier")
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def rfc3339(ts: pd.Timestamp) -> str:
    """A UTC timestamp as RFC 3339 with nanoseconds, for bound time parameters."""
    utc = ts.tz_convert("UTC") if ts.tzinfo is not None else ts.tz_localize("UTC")
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond * 1000 + utc.nanosecond:09d}Z"


# -- Store URLs ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class InfluxURL:
    """A parsed ``influxdb://`` or ``influxdb2://`` URL."""

    scheme: str
    http_url: str
    database: str = ""
    org: str = ""
    bucket: str = ""
    username: str | None = None
    options: dict[str, str] = field(default_factory=dict)


def parse_influx_url(url: str, what: str = "telemetry URL") -> InfluxURL:
    """Parse ``influxdb://[user@]host:port/db[?ssl=true]`` or
    ``influxdb2://host:port?org=O&bucket=B[&ssl=true]``; raise ConfigError naming what is wrong
    and ``what`` the URL is (the store's ``BMS_TELEMETRY_URL``, or ``connectors.NAME.url``).
    Passwords and tokens never go in the URL: they come from environment variables.
    """
    parts = urllib.parse.urlsplit(url)
    query = dict(urllib.parse.parse_qsl(parts.query))
    if parts.password:
        raise ConfigError(
            f"{what}: do not put a password in the URL; set BMS_INFLUX_PASSWORD "
            "(1.x) or BMS_INFLUX_TOKEN (2.x)"
        )
    if not parts.hostname:
        raise ConfigError(f"{what} {url!r}: missing host")
    ssl = query.pop("ssl", "false").lower() in ("1", "true", "yes")
    port = parts.port or 8086
    http_url = f"{'https' if ssl else 'http'}://{parts.hostname}:{port}"
    if parts.scheme == "influxdb":
        database = parts.path.strip("/")
        if not database:
            raise ConfigError(f"{what} {url!r}: missing database (influxdb://host:port/db)")
        return InfluxURL("influxdb", http_url, database, username=parts.username, options=query)
    if parts.scheme == "influxdb2":
        org, bucket = query.pop("org", ""), query.pop("bucket", "")
        if not org or not bucket:
            raise ConfigError(f"{what} {url!r}: influxdb2:// needs ?org=...&bucket=...")
        return InfluxURL("influxdb2", http_url, org=org, bucket=bucket, options=query)
    raise ConfigError(f"{what} {url!r}: scheme must be influxdb:// or influxdb2://")


# -- The 1.x HTTP API ---------------------------------------------------------------------------
class Influx1HTTP:
    """A small client of the InfluxDB 1.x HTTP API (``/ping``, ``/write``, ``/query``).

    Parameters
    ----------
    http_url : str
        ``http://host:port``.
    database : str
        Database written to and queried.
    username : str, optional
        With ``password``, sent as HTTP basic authentication.
    password_env : str
        Environment variable holding the password (read when ``username`` is set).
    timeout_seconds : float
        Timeout of each request [s].
    """

    def __init__(
        self,
        http_url: str,
        database: str,
        username: str | None = None,
        password_env: str = "BMS_INFLUX_PASSWORD",
        timeout_seconds: float = 10.0,
    ) -> None:
        self.http_url = http_url.rstrip("/")
        self.database = database
        self.timeout_seconds = timeout_seconds
        self._auth: str | None = None
        if username:
            password = os.environ.get(password_env)
            if password is None:
                raise ConfigError(f"InfluxDB user {username!r} given but {password_env} is not set")
            token = base64.b64encode(f"{username}:{password}".encode()).decode()
            self._auth = f"Basic {token}"

    def _request(self, path: str, params: dict[str, str], body: bytes | None) -> bytes:
        url = f"{self.http_url}{path}?{urllib.parse.urlencode(params)}"
        request = urllib.request.Request(url, data=body, method="POST" if body else "GET")
        if self._auth:
            request.add_header("Authorization", self._auth)
        if path == "/query":
            request.add_header("Content-Type", "application/x-www-form-urlencoded")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_seconds) as response:
                return response.read()
        except urllib.error.HTTPError as exc:
            detail = exc.read().decode(errors="replace").strip()[:300]
            if exc.code >= 500:
                raise StoreUnavailableError(f"InfluxDB {path}: HTTP {exc.code}: {detail}") from None
            if exc.code in (401, 403):
                raise ConfigError(f"InfluxDB {path}: not authorised (HTTP {exc.code})") from None
            raise BmsError(f"InfluxDB {path}: HTTP {exc.code}: {detail}") from None
        except (OSError, TimeoutError) as exc:
            reason = getattr(exc, "reason", exc)
            raise StoreUnavailableError(
                f"InfluxDB at {self.http_url} unreachable: {reason}"
            ) from None

    def ping(self) -> None:
        """Raise :class:`StoreUnavailableError` unless the server answers."""
        self._request("/ping", {}, None)

    def write_lines(self, lines: Sequence[str]) -> None:
        """POST line-protocol lines (nanosecond timestamps) in batches of 50,000."""
        for begin in range(0, len(lines), MAX_LINES_PER_POST):
            body = "\n".join(lines[begin : begin + MAX_LINES_PER_POST]).encode()
            self._request("/write", {"db": self.database, "precision": "ns"}, body)

    def query(
        self, statement: str, params: Mapping[str, Any] | None = None
    ) -> list[list[dict[str, Any]]]:
        """Run InfluxQL with bound ``$name`` parameters; return the series of each statement.

        Returns
        -------
        list of list of dict
            For each statement, its series: ``{"name", "tags", "columns", "values"}``;
            times are integer nanoseconds since the epoch (UTC).
        """
        form = {"db": self.database, "q": statement, "epoch": "ns"}
        if params:
            form["params"] = json.dumps(dict(params))
        payload = json.loads(self._request("/query", {}, urllib.parse.urlencode(form).encode()))
        if "error" in payload:
            raise BmsError(f"InfluxDB query failed: {payload['error']}")
        results = []
        for result in payload.get("results", []):
            if "error" in result:
                raise BmsError(f"InfluxDB query failed: {result['error']}")
            results.append(result.get("series", []))
        return results


# -- The 2.x API (influxdb-client, Flux) --------------------------------------------------------
class Influx2Client:
    """influxdb-client for one ``influxdb2://`` URL: token from the environment, Flux queries
    with typed parameters, line-protocol writes, and errors mapped to ``bms`` errors.

    Parameters
    ----------
    url : str
        ``influxdb2://host:port?org=O&bucket=B[&ssl=true]``.
    token_env : str
        Environment variable holding the API token (never the URL).
    timeout_seconds : float
        Timeout of each request [s].

    Flux parameters (:meth:`query`) travel as ``option name = <literal>`` statements of the
    request's ``extern`` AST, built by influxdb-client from Python values (str, int, float,
    bool, datetime, lists of them); the query text stays a constant of the caller.
    """

    def __init__(
        self, url: str, token_env: str = "BMS_INFLUX_TOKEN", timeout_seconds: float = 10.0
    ) -> None:
        try:
            from influxdb_client import InfluxDBClient
            from influxdb_client.client.write_api import SYNCHRONOUS
        except ImportError:
            raise ConfigError(
                "influxdb2:// needs the influxdb-client package: pip install 'bms[influx]'"
            ) from None
        parsed = parse_influx_url(url)
        if parsed.scheme != "influxdb2":
            raise ConfigError(f"an InfluxDB 2 client needs an influxdb2:// URL, got {url!r}")
        token = os.environ.get(token_env)
        if not token:
            raise ConfigError(f"influxdb2:// needs an API token in {token_env}")
        self.url, self.org, self.bucket, self.options = (
            url,
            parsed.org,
            parsed.bucket,
            parsed.options,
        )
        self.client = InfluxDBClient(
            url=parsed.http_url,
            token=token,
            org=parsed.org,
            timeout=int(timeout_seconds * 1000),
            retries=False,
        )
        self._write_api = self.client.write_api(write_options=SYNCHRONOUS)
        self._query_api = self.client.query_api()

    def call(self, what: str, fn: Any, *args: Any, **kwargs: Any) -> Any:
        """Call the client; map connection failures and 5xx to StoreUnavailableError."""
        from influxdb_client.rest import ApiException
        from urllib3.exceptions import HTTPError

        try:
            return fn(*args, **kwargs)
        except ApiException as exc:
            status = exc.status or 0
            if status >= 500 or status == 0:
                raise StoreUnavailableError(f"InfluxDB 2 {what}: HTTP {status}") from None
            if status in (401, 403):
                raise ConfigError(
                    f"InfluxDB 2 {what}: token not authorised (HTTP {status})"
                ) from None
            raise SchemaError(f"InfluxDB 2 {what}: HTTP {status}: {exc.body}") from None
        except (HTTPError, OSError) as exc:
            raise StoreUnavailableError(f"InfluxDB 2 {what} unreachable: {exc}") from None

    def query(self, flux: str, params: Mapping[str, Any]) -> list[Any]:
        """Run a constant Flux text with typed parameters; return its records (FluxRecord).

        ``params`` must not hold None (influxdb-client would leave the option out).
        """
        if any(value is None for value in params.values()):
            raise ValueError("Flux parameters cannot be None")
        tables = self.call("query", self._query_api.query, flux, org=self.org, params=dict(params))
        return [record for table in tables for record in table.records]

    def write_lines(self, lines: Sequence[str]) -> None:
        """Write line-protocol lines (nanosecond timestamps) in batches of 50,000."""
        from influxdb_client import WritePrecision

        for begin in range(0, len(lines), MAX_LINES_PER_POST):
            self.call(
                "write",
                self._write_api.write,
                bucket=self.bucket,
                org=self.org,
                record="\n".join(lines[begin : begin + MAX_LINES_PER_POST]),
                write_precision=WritePrecision.NS,
            )

    def close(self) -> None:
        """Close the HTTP client."""
        self.client.close()
