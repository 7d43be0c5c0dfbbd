"""The spool: frames read while the telemetry store was down, kept on disk until it is back.

``$BMS_HOME/spool/<connector>/<time ns>-<pid>-<n>.parquet`` (columns time, point, value), each
written to a temporary name, ``fsync``-ed and renamed: a file in the spool is whole. Files are
flushed to the store oldest first and deleted only after the store accepted them; the store is
idempotent on (point, time), so a crash between the write and the delete only writes the same
rows twice.
"""

from __future__ import annotations

import itertools
import logging
import os
import tempfile
import time
from pathlib import Path
from urllib.parse import quote

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from bms.telemetry.store import TelemetryStore

log = logging.getLogger(__name__)
_SEQUENCE = itertools.count()


class Spool:
    """The spool directory of one connector."""

    def __init__(self, home: Path | str, name: str) -> None:
        self.directory = Path(home) / "spool" / quote(name, safe="")

    def files(self) -> list[Path]:
        """Spooled files, oldest first."""
        if not self.directory.is_dir():
            return []
        return sorted(self.directory.glob("*.parquet"))

    def pending_rows(self) -> int:
        """Rows waiting in the spool."""
        return sum(pq.ParquetFile(path).metadata.num_rows for path in self.files())

    def put(self, frame: pd.DataFrame) -> Path:
        """Keep a canonical frame on disk (durably) and return its file."""
        self.directory.mkdir(parents=True, exist_ok=True)
        name = f"{time.time_ns():020d}-{os.getpid()}-{next(_SEQUENCE):06d}.parquet"
        handle, tmp = tempfile.mkstemp(dir=self.directory, prefix=".", suffix=".tmp")
        os.close(handle)
        try:
            table = pa.Table.from_pandas(frame.reset_index(drop=True), preserve_index=False)
            pq.write_table(table, tmp)
            with open(tmp, "rb") as written:
                os.fsync(written.fileno())
            os.replace(tmp, self.directory / name)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
        log.warning("spooled %d rows to %s", len(frame), self.directory / name)
        return self.directory / name

    def flush(self, store: TelemetryStore) -> int:
        """Write every spooled file to ``store`` (oldest first); return the rows written.

        Stops at, and re-raises, the first failure: the rest stays in the spool.
        """
        rows = 0
        for path in self.files():
            frame = pq.read_table(path).to_pandas()
            rows += store.write(frame)
            path.unlink()
        if rows:
            log.info("flushed %d spooled rows from %s", rows, self.directory)
        return rows
