"""``bms ingest NAME``: run one configured connector and store what it reads, incrementally.

Three modes, from what the connector can do:

* **history** (files, InfluxDB): read ``[start, end)`` in chunks (one day by default), where
  ``start`` is ``--since``, else the watermark, else the first time the source holds, and
  ``end`` is ``--until``, else the last time the source holds (files) or now. After each chunk
  is stored the watermark moves to the chunk's end (:mod:`bms.jobs.watermarks`): a rerun reads
  only what is new, and a rerun after a crash re-reads at most the chunk that was in flight,
  whose rows the idempotent store keeps once.
* **live** (BACnet, Modbus): ``poll()`` ``count`` times, ``interval`` seconds apart.
* **pushed** (MQTT): ``stream()`` for ``duration`` seconds, or until no message came for
  ``idle`` seconds; each batch is acknowledged to the broker after it is stored.

Every read and write is retried with bounded exponential back-off (:mod:`bms.jobs.retry`).
When the store stays down, frames go to the spool (:mod:`bms.jobs.spool`) and count as kept:
the watermark moves and MQTT messages are acknowledged. The store is probed again every
``probe_seconds``; the spool is written back at the start of every run and as soon as a probe
finds the store back, before any newer frame.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import threading
import time
from dataclasses import asdict, dataclass, field
from typing import Any

import pandas as pd

from bms.config import Settings, get_settings
from bms.connectors import CONNECTOR_KINDS, Connector, parse_config
from bms.errors import BmsError, ConfigError
from bms.jobs.retry import RetryPolicy, retry_call
from bms.jobs.spool import Spool
from bms.jobs.watermarks import WatermarkStore
from bms.site.model import Site
from bms.telemetry.store import TelemetryStore

log = logging.getLogger(__name__)

DEFAULT_CHUNK = pd.Timedelta(days=1)
_ONE_NS = pd.Timedelta(1, "ns")


@dataclass
class IngestResult:
    """What one run did (printed by the CLI, kept as ``last_run`` in the state file)."""

    connector: str
    kind: str
    mode: str
    rows_read: int = 0
    rows_stored: int = 0
    rows_spooled: int = 0
    spool_flushed: int = 0
    spool_pending: int = 0
    chunks: int = 0
    start: str | None = None
    end: str | None = None
    watermark: str | None = None
    malformed: dict[str, int] = field(default_factory=dict)
    store_error: str | None = None
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class Writer:
    """Store frames with retries; spool them while the store is down.

    Once the store has failed (after the retries), frames go straight to the spool, and the
    store is probed again (one attempt) at most every ``probe_seconds``; when a probe succeeds,
    the spool is written first (oldest first), then the frame.
    """

    def __init__(
        self, store: TelemetryStore, spool: Spool, policy: RetryPolicy, probe_seconds: float = 30.0
    ) -> None:
        self.store, self.spool, self.policy = store, spool, policy
        self.probe_seconds = probe_seconds
        self.stored = self.spooled = self.flushed = 0
        self.error: str | None = None
        self._last_try = 0.0

    def _attempt(self, frame: pd.DataFrame | None) -> None:
        """Flush the spool then store ``frame``: with retries while up, one probe when down."""
        policy = self.policy
        if self.error is not None:
            policy = RetryPolicy(attempts=1, retry_on=self.policy.retry_on)
        self._last_try = time.monotonic()
        try:
            if self.spool.files():
                flush = functools.partial(self.spool.flush, self.store)
                self.flushed += retry_call(flush, policy, "flushing the spool")
            if frame is not None:
                write = functools.partial(self.store.write, frame)
                self.stored += retry_call(write, policy, "writing to the store")
        except policy.retry_on as exc:
            if self.error is None:
                log.error("telemetry store down (%s); spooling", exc)
            self.error = str(exc)
            raise
        if self.error is not None:
            log.info("telemetry store is back")
        self.error = None

    def flush_spool(self) -> None:
        """Write what the spool holds to the store (at the start of a run)."""
        if self.spool.files():
            with contextlib.suppress(*self.policy.retry_on):
                self._attempt(None)

    def write(self, frame: pd.DataFrame) -> None:
        """Store ``frame`` or, when the store is down, spool it. Returns once it is durable."""
        if frame.empty:
            return
        if self.error is None or time.monotonic() - self._last_try >= self.probe_seconds:
            try:
                self._attempt(frame)
                return
            except self.policy.retry_on:
                pass
        self.spool.put(frame)
        self.spooled += len(frame)


def _mode(connector: Connector) -> str:
    cls = type(connector)
    if cls.read is not Connector.read:
        return "history"
    if cls.poll is not Connector.poll:
        return "live"
    if cls.stream is not Connector.stream:
        return "pushed"
    raise ConfigError(f"connector kind {connector.kind!r} has no read, poll or stream")


def build_connector(name: str, settings: Settings, site: Site) -> Connector:
    """The connector ``[connectors.NAME]`` of ``bms.toml``, built over the site's points."""
    raw = settings.connectors.get(name)
    if raw is None:
        known = ", ".join(sorted(settings.connectors)) or "none"
        raise ConfigError(f"no connector {name!r} in bms.toml [connectors.*] (configured: {known})")
    config = parse_config(name, raw)
    connector = CONNECTOR_KINDS[config.kind](config, site.all_points())
    if not connector.points and config.kind != "file":  # a file maps its columns itself
        tag = config.source_tag or config.kind
        raise ConfigError(
            f"connectors.{name}: no point of site {site.id!r} is read through it (none has "
            f"source.connector = {tag!r}): nothing to read, and its watermark would move on "
            "regardless; give the points that source, or set source_tag"
        )
    return connector


def ingest(
    name: str,
    *,
    site: Site,
    store: TelemetryStore,
    settings: Settings | None = None,
    since: pd.Timestamp | None = None,
    until: pd.Timestamp | None = None,
    chunk: pd.Timedelta = DEFAULT_CHUNK,
    duration_seconds: float | None = 60.0,
    idle_seconds: float | None = None,
    count: int = 1,
    interval_seconds: float = 60.0,
    policy: RetryPolicy | None = None,
    probe_seconds: float = 30.0,
    connector: Connector | None = None,
) -> IngestResult:
    """Run connector ``name`` once and store what it reads (see the module docstring).

    Parameters
    ----------
    since, until : Timestamp (UTC), optional
        History window; default from the watermark and the source's extent.
    chunk : Timedelta
        History read window (one day).
    duration_seconds, idle_seconds : float, optional
        How long a pushed source is listened to [s]; stop early after ``idle_seconds`` [s]
        without a message. At least one must be set.
    count, interval_seconds : int, float
        Live sources: number of polls and the time between them [s].
    policy : RetryPolicy, optional
        Retries of reads and writes.
    probe_seconds : float
        While the store is down, how often it is tried again [s] (frames are spooled meanwhile).

    Returns
    -------
    IngestResult
    """
    settings = settings or get_settings()
    policy = policy or RetryPolicy()
    connector = connector or build_connector(name, settings, site)
    marks = WatermarkStore(settings.home)
    writer = Writer(store, Spool(settings.home, name), policy, probe_seconds)
    result = IngestResult(name, connector.kind, _mode(connector))
    began = time.monotonic()
    with marks.lock(name):
        writer.flush_spool()
        try:
            if result.mode == "history":
                _history(connector, marks, writer, result, since, until, chunk, policy)
            elif result.mode == "live":
                _live(connector, marks, writer, result, count, interval_seconds, policy)
            else:
                _pushed(connector, writer, result, duration_seconds, idle_seconds)
        finally:
            connector.close()
            result.rows_stored, result.rows_spooled = writer.stored, writer.spooled
            result.spool_flushed, result.store_error = writer.flushed, writer.error
            result.spool_pending = writer.spool.pending_rows()
            result.malformed = dict(getattr(connector, "malformed", {}))
            result.seconds = round(time.monotonic() - began, 3)
            last_run = {k: v for k, v in result.to_dict().items() if k != "watermark"}
            marks.save(name, None, last_run=last_run)
    result.watermark = str(marks.get(name)) if marks.get(name) is not None else None
    return result


def _history(
    connector: Connector,
    marks: WatermarkStore,
    writer: Writer,
    result: IngestResult,
    since: pd.Timestamp | None,
    until: pd.Timestamp | None,
    chunk: pd.Timedelta,
    policy: RetryPolicy,
) -> None:
    name = result.connector
    extent = getattr(connector, "extent", lambda: None)()
    start = since or marks.get(name) or (extent[0] if extent else None)
    if start is None and connector.kind == "file":  # a header, no row yet: nothing to read
        log.info("%s: the file(s) hold no reading yet", name)
        return
    if start is None:
        raise BmsError(f"connector {name!r}: no watermark yet; give --since (or set 'start')")
    if extent is not None and connector.kind == "file":
        # a file holds nothing after its last row yet: a watermark past it would skip the rows
        # appended to it later
        last = extent[1] + _ONE_NS
        end = last if until is None else min(until, last)
    elif until is not None:
        end = until
    else:
        end = pd.Timestamp.now(tz="UTC")
    result.start, result.end = str(start), str(end)
    window = start
    total = 0
    while window < end:
        stop = min(window + chunk, end)
        read = functools.partial(connector.read, window, stop)
        frame = retry_call(read, policy, f"reading {name} {window}")
        writer.write(frame)  # stored or spooled: durable when it returns
        result.rows_read += len(frame)
        total += len(frame)
        result.chunks += 1
        rows_total = int(marks.load(name).get("rows_total", 0)) + len(frame)
        marks.save(name, stop, rows_total=rows_total)
        window = stop
    log.info("%s: %d rows in %d chunks up to %s", name, total, result.chunks, end)


def _live(
    connector: Connector,
    marks: WatermarkStore,
    writer: Writer,
    result: IngestResult,
    count: int,
    interval_seconds: float,
    policy: RetryPolicy,
) -> None:
    def poll() -> pd.DataFrame:
        frame = connector.poll()
        report = getattr(connector, "last_report", None)
        if report is not None and report.n_points and not report.n_values:
            reason = next(iter(report.errors.values()), "no reading")
            raise ConnectionError(f"no point of {report.n_points} answered ({reason})")
        return frame

    for index in range(count):
        if index:
            time.sleep(interval_seconds)
        try:
            frame = retry_call(poll, policy, f"polling {result.connector}")
        except OSError as exc:  # unreachable after the retries: a failed run, not an empty one
            raise BmsError(f"connector {result.connector!r}: {exc}") from None
        writer.write(frame)
        result.rows_read += len(frame)
        result.chunks += 1
        if len(frame):
            marks.save(result.connector, frame["time"].max() + _ONE_NS)


def _pushed(
    connector: Connector,
    writer: Writer,
    result: IngestResult,
    duration_seconds: float | None,
    idle_seconds: float | None,
) -> None:
    if duration_seconds is None and idle_seconds is None:
        raise BmsError("a pushed source needs --duration or --idle (seconds)")
    stop = threading.Event()
    began = last = time.monotonic()

    def handle(frame: pd.DataFrame) -> None:
        nonlocal last
        writer.write(frame)  # raises only if even the spool fails: then nothing is acked
        result.rows_read += len(frame)
        result.chunks += 1
        last = time.monotonic()

    def watch() -> None:
        while not stop.wait(0.05):
            now = time.monotonic()
            if duration_seconds is not None and now - began >= duration_seconds:
                stop.set()
            if idle_seconds is not None and now - last >= idle_seconds:
                stop.set()

    watcher = threading.Thread(target=watch, name=f"ingest-{result.connector}-timer", daemon=True)
    watcher.start()
    try:
        connector.stream(handle, stop)
    finally:
        stop.set()
        watcher.join()
    # MQTT's counters: no connection made is a failed run, not a quiet broker
    stats = getattr(connector, "stats", None)
    if isinstance(stats, dict) and stats.get("connects", 0) == 0:
        config = connector.config
        where = f"{getattr(config, 'host', '?')}:{getattr(config, 'port', '?')}"
        raise BmsError(
            f"connector {result.connector!r}: no connection to the broker at {where} in "
            f"{time.monotonic() - began:.0f} s: is it running, and are host, port, TLS and "
            "credentials right?"
        )
