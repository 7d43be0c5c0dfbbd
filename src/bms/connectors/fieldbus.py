"""Helpers shared by the field-bus connectors (BACnet/IP, Modbus TCP) and their simulators.

* :class:`LoopThread` runs one asyncio event loop in a daemon thread, so that the synchronous
  ``poll()`` of a connector can drive an asyncio protocol stack (bacpypes3, pymodbus) whose
  sockets and subscriptions must outlive a single call, even when the caller already runs an
  event loop of its own (a web server, a notebook).
* :class:`FieldbusConnector` is the ``poll()`` both connectors share: split known from unknown
  points, run the protocol's poll in the I/O thread within a time budget, keep the report.
* :class:`PollReport` says what the last poll read, how many requests it took and which points
  failed, and why: a bad point never makes a poll raise, it is counted and reported.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import importlib.util
import logging
import socket
import threading
import time
from abc import abstractmethod
from collections import Counter
from collections.abc import Coroutine, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Self, TypeVar

import numpy as np
import pandas as pd

from bms.connectors.base import Connector, ConnectorConfig
from bms.errors import ConfigError
from bms.site.model import Point
from bms.telemetry.frame import empty_frame

log = logging.getLogger(__name__)

T = TypeVar("T")


class LoopThread:
    """An asyncio event loop running in its own daemon thread.

    Parameters
    ----------
    name : str
        Thread name, shown in stack dumps.
    """

    def __init__(self, name: str) -> None:
        self.name = name
        self.loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> LoopThread:
        """Start the thread and its loop (idempotent)."""
        if self.running:
            return self
        ready = threading.Event()
        loop = asyncio.new_event_loop()
        self.loop = loop

        def _run() -> None:
            asyncio.set_event_loop(loop)
            loop.call_soon(ready.set)
            loop.run_forever()

        self._thread = threading.Thread(target=_run, name=self.name, daemon=True)
        self._thread.start()
        ready.wait()
        return self

    def submit(self, coro: Coroutine[Any, Any, T]) -> concurrent.futures.Future[T]:
        """Schedule ``coro`` on the loop; return a thread-safe future of its result."""
        self.start()
        assert self.loop is not None
        return asyncio.run_coroutine_threadsafe(coro, self.loop)

    def run(self, coro: Coroutine[Any, Any, T], timeout: float | None = None) -> T:
        """Run ``coro`` on the loop and wait for its result (at most ``timeout`` [s])."""
        future = self.submit(coro)
        try:
            return future.result(timeout)
        except concurrent.futures.TimeoutError:
            future.cancel()
            raise

    def stop(self, timeout: float = 5.0) -> None:
        """Cancel the loop's pending tasks, stop it and join the thread (idempotent)."""
        if not self.running or self.loop is None:
            return
        loop = self.loop

        async def _cancel_all() -> None:
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

        try:
            asyncio.run_coroutine_threadsafe(_cancel_all(), loop).result(timeout)
        except (concurrent.futures.TimeoutError, RuntimeError):
            log.warning(
                "loop thread %s: pending tasks did not finish in %.1f s", self.name, timeout
            )
        loop.call_soon_threadsafe(loop.stop)
        assert self._thread is not None
        self._thread.join(timeout)
        if not loop.is_running():
            loop.close()
        self._thread = None


@dataclass
class PollReport:
    """What one poll did.

    Attributes
    ----------
    time : Timestamp or None
        The time stamp given to the readings (UTC).
    n_points : int
        Points asked for.
    n_values : int
        Readings returned.
    n_requests : int
        Protocol requests sent (ReadPropertyMultiple, Read Holding Registers...).
    errors : dict of str to str
        Point id -> reason, for every point that gave no reading.
    seconds : float
        Wall-clock duration of the poll [s].
    """

    time: pd.Timestamp | None = None
    n_points: int = 0
    n_values: int = 0
    n_requests: int = 0
    errors: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0

    def fail(self, point_ids: Iterable[str], reason: str) -> None:
        """Record ``reason`` for each point id (the first reason of a point is kept)."""
        for point_id in point_ids:
            self.errors.setdefault(point_id, reason)


class PollStats:
    """Counters kept across polls: errors per point, requests, values."""

    def __init__(self) -> None:
        self.error_counts: Counter[str] = Counter()
        self.n_requests = 0
        self.n_values = 0
        self.n_polls = 0

    def add(self, report: PollReport) -> None:
        self.n_polls += 1
        self.n_requests += report.n_requests
        self.n_values += report.n_values
        self.error_counts.update(report.errors.keys())


def readings_frame(time_stamp: pd.Timestamp, readings: dict[str, float]) -> pd.DataFrame:
    """Canonical frame of one poll: every reading stamped with ``time_stamp``.

    Built directly in canonical form (one time, unique points sorted, float64 values); the
    values must be finite (the connectors report non-finite readings as errors).
    """
    if not readings:
        return empty_frame()
    points = np.array(sorted(readings), dtype=object)
    values = np.fromiter((readings[p] for p in points), dtype="float64", count=len(points))
    stamp = pd.Timestamp(time_stamp).tz_convert("UTC").as_unit("ns")
    times = pd.DatetimeIndex(np.full(len(points), stamp.value, dtype="int64").view("M8[ns]"))
    point = pd.Series(points, dtype=object)
    return pd.DataFrame({"time": times.tz_localize("UTC"), "point": point, "value": values})


def log_report(kind: str, name: str, report: PollReport) -> None:
    """Log a poll's failures (one warning line, listing at most five points)."""
    if not report.errors:
        return
    shown = "; ".join(f"{pid}: {why}" for pid, why in list(report.errors.items())[:5])
    more = f" and {len(report.errors) - 5} more" if len(report.errors) > 5 else ""
    log.warning(
        "%s connector %r: %d point(s) unread: %s%s", kind, name, len(report.errors), shown, more
    )


def epoch_to_timestamp(seconds: float) -> pd.Timestamp:
    """A UTC timestamp from POSIX seconds [s]."""
    return pd.Timestamp(round(float(seconds) * 1e9), unit="ns", tz="UTC")


def wall_clock() -> pd.Timestamp:
    """The current UTC time."""
    return pd.Timestamp(time.time_ns(), unit="ns", tz="UTC")


def require_module(module: str, extra: str, kind: str) -> None:
    """Raise ConfigError when ``module`` (a connector's protocol library) is not installed."""
    if importlib.util.find_spec(module) is None:
        raise ConfigError(
            f"connector kind {kind!r} needs the {module} package: pip install 'bms[{extra}]'"
        )


#: Ports :func:`free_port` has handed out in this process, per socket kind.
_HANDED_OUT: set[tuple[int, int]] = set()
_HANDED_OUT_LOCK = threading.Lock()


def free_port(kind: int = socket.SOCK_DGRAM, host: str = "127.0.0.1") -> int:
    """A port free on ``host`` for ``kind`` (UDP by default) right now (for tests and demos).

    Never the same port twice in one process: the probe socket is closed before the caller
    binds, so two calls in a row (the devices of one simulated site) could otherwise both get
    the port the system just released, and the second device fail to bind it.
    """
    with _HANDED_OUT_LOCK:
        for _ in range(1000):
            with socket.socket(socket.AF_INET, kind) as sock:
                sock.bind((host, 0))
                port = int(sock.getsockname()[1])
            if (kind, port) not in _HANDED_OUT:
                _HANDED_OUT.add((kind, port))
                return port
    raise OSError(f"no free port on {host} that this process has not handed out already")


class FieldbusConnector(Connector):
    """A polled field-bus source whose protocol stack runs in a :class:`LoopThread`.

    Subclasses set ``_loop`` in ``__init__`` and provide :meth:`_point_addresses` (point id ->
    address, in poll order), :meth:`_poll_budget_s` and the coroutine :meth:`_poll`.

    Attributes
    ----------
    last_report : PollReport
        What the last poll read, the requests it sent and the points it could not read.
    stats : PollStats
        Counters across polls (errors per point id, requests, values).
    """

    _loop: LoopThread

    def __init__(self, config: ConnectorConfig, points: Sequence[Point]) -> None:
        super().__init__(config, points)
        self.last_report = PollReport()
        self.stats = PollStats()

    @abstractmethod
    def _point_addresses(self) -> Mapping[str, Any]:
        """Point id -> protocol address of every point this connector reads."""

    @abstractmethod
    def _poll_budget_s(self, n_points: int) -> float:
        """Longest a poll of ``n_points`` known points may take before it gives up [s]."""

    @abstractmethod
    async def _poll(
        self, ids: list[str], report: PollReport
    ) -> tuple[dict[str, float], pd.Timestamp]:
        """Read ``ids``: (point id -> value in SI units, time stamp); failures go in ``report``."""

    def poll(self, points: Sequence[Point] | None = None) -> pd.DataFrame:
        """Read the present value of ``points`` (default: all of this connector's points).

        Returns
        -------
        DataFrame
            Canonical frame, one row per point read, in the points' SI units, stamped with the
            time source's value or the wall clock at the start of the poll; unread points are in
            ``last_report.errors``.
        """
        addresses = self._point_addresses()
        wanted = [p.id for p in points] if points is not None else list(addresses)
        started = time.perf_counter()
        report = PollReport(n_points=len(wanted))
        unknown = [pid for pid in wanted if pid not in addresses]
        report.fail(unknown, "not a point of this connector")
        ids = [pid for pid in wanted if pid in addresses]
        budget_s = self._poll_budget_s(len(ids))
        try:
            readings, stamp = self._loop.run(self._poll(ids, report), timeout=budget_s)
        except TimeoutError:
            readings, stamp = {}, wall_clock()
            report.fail(ids, f"poll gave up after {budget_s:.0f} s")
        report.time = stamp
        report.n_values = len(readings)
        report.seconds = time.perf_counter() - started
        self.last_report = report
        self.stats.add(report)
        log_report(self.kind, self.config.name, report)
        return readings_frame(stamp, readings)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
