"""COV (change of value) streaming for the BACnet connector, with a polling fallback.

:func:`run_stream` subscribes (SubscribeCOV, unconfirmed notifications) to every point's
object in the connector's I/O loop. Notifications are queued to the calling thread, which hands
them to ``handle`` as canonical frames. Points whose device refuses the subscription (or does
not answer it), and all points when the config says ``cov = false``, are polled every
``poll_interval_seconds`` instead.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import queue
import threading
import time
from typing import TYPE_CHECKING, Any

import pandas as pd

from bms.connectors import bacnet_io as io
from bms.connectors.base import FrameHandler
from bms.connectors.fieldbus import PollReport, wall_clock
from bms.telemetry.frame import validate_frame

if TYPE_CHECKING:
    from bms.connectors.bacnet import BacnetConnector

log = logging.getLogger(__name__)

_FLUSH_SECONDS = 0.2


async def _subscribe_all(
    conn: BacnetConnector, events: queue.Queue[Any], halt: threading.Event
) -> None:
    """Hold one COV subscription per point until ``halt``; put ('refused', ids) first."""
    from bacpypes3.apdu import ErrorRejectAbortNack

    cfg = conn.cfg
    refused: list[str] = []
    report = PollReport()
    app = await conn.app()
    async with contextlib.AsyncExitStack() as stack:
        pumps = []
        for pid, (device, oid, _prop) in conn.refs.items():
            address = await conn.address(device)
            if address is None:
                refused.append(pid)
                continue
            await conn.load_units(address, [pid], report)
            scm = app.change_of_value(address, oid, None, False, cfg.cov_lifetime_seconds)
            try:
                await asyncio.wait_for(stack.enter_async_context(scm), cfg.timeout_seconds)
            except (TimeoutError, ErrorRejectAbortNack) as exc:
                log.info("bacnet %r: COV refused for %s (%s)", cfg.name, pid, io.error_text(exc))
                refused.append(pid)
                continue
            pumps.append(asyncio.create_task(_pump(conn, pid, scm, events)))
        events.put(("refused", refused))
        while not halt.is_set():
            await asyncio.sleep(0.05)
        for task in pumps:
            task.cancel()
        await asyncio.gather(*pumps, return_exceptions=True)


async def _pump(conn: BacnetConnector, pid: str, scm: Any, events: queue.Queue[Any]) -> None:
    while True:
        prop, value = await scm.get_value()
        if str(prop) != "present-value":
            continue
        readings: dict[str, float] = {}
        report = PollReport()
        conn.store_value(pid, value, readings, report)
        if pid in readings:
            events.put(("value", pid, wall_clock(), readings[pid]))
        else:
            log.warning(
                "bacnet %r: COV value of %s dropped: %s", conn.cfg.name, pid, report.errors.get(pid)
            )


def run_stream(conn: BacnetConnector, handle: FrameHandler, stop: threading.Event) -> None:
    """Body of :meth:`BacnetConnector.stream` (runs in the caller's thread)."""
    cfg = conn.cfg
    events: queue.Queue[Any] = queue.Queue()
    halt = threading.Event()
    polled: list[str] = list(conn.refs)
    future = None
    if cfg.cov:
        future = conn._loop.submit(_subscribe_all(conn, events, halt))
        polled = []
    next_poll = time.monotonic()
    try:
        while not stop.is_set():
            batch: dict[tuple[str, Any], float] = {}
            deadline = time.monotonic() + _FLUSH_SECONDS
            while (left := deadline - time.monotonic()) > 0:
                try:
                    event = events.get(timeout=left)
                except queue.Empty:
                    break
                if event[0] == "refused":
                    polled = event[1]
                    next_poll = time.monotonic()
                else:
                    batch[(event[1], event[2])] = event[3]
            if batch:
                rows = [(stamp, pid, value) for (pid, stamp), value in batch.items()]
                handle(validate_frame(pd.DataFrame(rows, columns=["time", "point", "value"])))
            if future is not None and future.done() and future.exception() is not None:
                raise future.exception()  # type: ignore[misc]
            if polled and time.monotonic() >= next_poll:
                frame = conn.poll([conn.by_id[pid] for pid in polled])
                if not frame.empty:
                    handle(frame)
                next_poll += cfg.poll_interval_seconds
    finally:
        halt.set()
        if future is not None:
            with contextlib.suppress(Exception):
                future.result(timeout=cfg.timeout_seconds + 2)
