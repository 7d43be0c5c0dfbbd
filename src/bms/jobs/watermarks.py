"""Per-connector ingest state: the watermark, kept as a small JSON file, written atomically.

``$BMS_HOME/state/ingest-<name>.json``::

    {"connector": "meters-csv", "watermark": "2026-11-27T00:00:00+00:00",
     "updated_at": "2026-11-28T02:00:05+00:00", "rows_total": 1234567, "last_run": {...}}

For a history source the watermark means "every reading with time < watermark is stored (or
spooled)". It is written only after the chunk it covers is stored, by writing a temporary file
beside it, ``fsync`` and ``rename`` over the old one: a crash leaves the old or the new file,
never half of one. It only moves forward; a ``--since`` backfill before it does not move it
back. ``ingest-<name>.lock`` (``flock``) keeps two ingests of one connector from running at once.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pandas as pd

from bms.errors import BmsError


class WatermarkStore:
    """Watermarks of every connector under ``<home>/state``."""

    def __init__(self, home: Path | str) -> None:
        self.directory = Path(home) / "state"

    def path(self, name: str) -> Path:
        return self.directory / f"ingest-{quote(name, safe='')}.json"

    def load(self, name: str) -> dict[str, Any]:
        """The saved state of a connector ({} before its first run)."""
        path = self.path(name)
        if not path.exists():
            return {}
        try:
            return json.loads(path.read_text())
        except json.JSONDecodeError as exc:
            raise BmsError(
                f"{path}: corrupt ingest state ({exc}); delete it to start over"
            ) from None

    def get(self, name: str) -> pd.Timestamp | None:
        """The watermark of a connector, or None."""
        raw = self.load(name).get("watermark")
        return pd.Timestamp(raw).tz_convert("UTC") if raw else None

    def save(self, name: str, watermark: pd.Timestamp | None, **info: Any) -> None:
        """Atomically record a new state; the watermark never moves back."""
        state = self.load(name)
        old = state.get("watermark")
        if watermark is not None and (old is None or watermark > pd.Timestamp(old)):
            state["watermark"] = watermark.isoformat()
        state.update(info, connector=name, updated_at=pd.Timestamp.now(tz="UTC").isoformat())
        self.directory.mkdir(parents=True, exist_ok=True)
        handle, tmp = tempfile.mkstemp(dir=self.directory, prefix=".", suffix=".tmp")
        try:
            with os.fdopen(handle, "w") as out:
                json.dump(state, out, indent=1, default=str)
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, self.path(name))
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)

    @contextlib.contextmanager
    def lock(self, name: str) -> Iterator[None]:
        """Hold the connector's lock; BmsError when another process holds it."""
        self.directory.mkdir(parents=True, exist_ok=True)
        path = self.directory / f"ingest-{quote(name, safe='')}.lock"
        with path.open("a") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise BmsError(f"another 'bms ingest {name}' is running ({path})") from None
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)
