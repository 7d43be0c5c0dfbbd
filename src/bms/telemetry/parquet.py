"""The embedded telemetry store: Parquet files partitioned by point and month.

Layout under the store's root directory::

    <root>/<quoted point id>/<YYYY-MM>.parquet   columns time (timestamp[ns, UTC]), value (float64)

A point id such as ``besancon/hq/ahu-1/sat`` is percent-quoted into one directory name. A read
opens only the directories of the points asked for and, within them, only the months that
overlap the time range, so reading one point over one year touches at most 13 small files.

Writes are idempotent (rows are merged into the month file, the last value of a duplicate
(point, time) wins) and crash-safe: each file is written beside its target and renamed over it.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable
from pathlib import Path
from urllib.parse import quote, unquote

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from bms.errors import BmsError
from bms.telemetry.frame import as_utc, empty_frame, validate_frame
from bms.telemetry.store import PointExtent

_SCHEMA = pa.schema([("time", pa.timestamp("ns", tz="UTC")), ("value", pa.float64())])


def _damaged(path: Path, exc: Exception) -> BmsError:
    """The one-line error for a month file that cannot be read."""
    return BmsError(
        f"telemetry store: {path} is not a readable Parquet file ({exc}): restore it from a "
        "backup, or delete it (that point's month is then lost)"
    )


def _read_month(path: Path) -> pa.Table:
    """A month file's table, or a one-line error naming the damaged file."""
    try:
        return pq.read_table(path)
    except (pa.ArrowException, OSError) as exc:
        raise _damaged(path, exc) from None


def _month_key(times: pd.Series) -> np.ndarray:
    """``YYYY-MM`` for each UTC timestamp."""
    return times.dt.strftime("%Y-%m").to_numpy()


class ParquetStore:
    """Telemetry kept as Parquet files on local disk (see module docstring for the layout)."""

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root)

    # Paths --------------------------------------------------------------------------------
    def _point_dir(self, point: str) -> Path:
        return self.root / quote(point, safe="")

    def _month_file(self, point: str, month: str) -> Path:
        return self._point_dir(point) / f"{month}.parquet"

    # Writing ------------------------------------------------------------------------------
    def write(self, frame: pd.DataFrame) -> int:
        """Validate and store a canonical frame; return the number of rows accepted."""
        clean = validate_frame(frame)
        if clean.empty:
            return 0
        months = _month_key(clean["time"])
        points = clean["point"].to_numpy()
        key = np.char.add(np.char.add(points.astype(str), "\x00"), months.astype(str))
        boundaries = np.flatnonzero(key[1:] != key[:-1]) + 1
        starts = np.concatenate([[0], boundaries])
        ends = np.concatenate([boundaries, [len(clean)]])
        times = clean["time"].dt.tz_convert(None).to_numpy(dtype="datetime64[ns]")
        values = clean["value"].to_numpy()
        for begin, stop in zip(starts, ends, strict=True):
            self._merge_month(
                str(points[begin]), str(months[begin]), times[begin:stop], values[begin:stop]
            )
        return len(clean)

    def _merge_month(self, point: str, month: str, times: np.ndarray, values: np.ndarray) -> None:
        path = self._month_file(point, month)
        new = pd.DataFrame({"time": pd.DatetimeIndex(times).tz_localize("UTC"), "value": values})
        if path.exists():
            old = _read_month(path).to_pandas()
            new = pd.concat([old, new], ignore_index=True)
            new = new.drop_duplicates(subset="time", keep="last").sort_values("time", kind="stable")
        table = pa.Table.from_pandas(
            new.reset_index(drop=True), schema=_SCHEMA, preserve_index=False
        )
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=".", suffix=".tmp")
        os.close(handle)
        try:
            pq.write_table(table, tmp_name, compression="zstd")
            os.replace(tmp_name, path)
        finally:
            if os.path.exists(tmp_name):
                os.unlink(tmp_name)

    # Reading ------------------------------------------------------------------------------
    def _month_files(self, point: str, start: pd.Timestamp | None, end: pd.Timestamp | None):
        directory = self._point_dir(point)
        if not directory.is_dir():
            return []
        first = start.strftime("%Y-%m") if start is not None else None
        last = end.strftime("%Y-%m") if end is not None else None
        files = []
        for path in sorted(directory.glob("*.parquet")):
            month = path.stem
            if (first is None or month >= first) and (last is None or month <= last):
                files.append(path)
        return files

    def read(
        self,
        points: Iterable[str] | None = None,
        start: pd.Timestamp | str | None = None,
        end: pd.Timestamp | str | None = None,
    ) -> pd.DataFrame:
        """Rows of ``points`` (all when None) with ``start <= time < end``, in canonical form."""
        start_utc, end_utc = as_utc(start), as_utc(end)
        wanted = sorted(set(points)) if points is not None else self.point_ids()
        parts = []
        for point in wanted:
            for path in self._month_files(point, start_utc, end_utc):
                part = _read_month(path).to_pandas()
                if start_utc is not None:
                    part = part[part["time"] >= start_utc]
                if end_utc is not None:
                    part = part[part["time"] < end_utc]
                if len(part):
                    part.insert(1, "point", point)
                    parts.append(part)
        if not parts:
            return empty_frame()
        frame = pd.concat(parts, ignore_index=True)
        frame["time"] = frame["time"].astype("datetime64[ns, UTC]")
        # the dtypes validate_frame gives (object ids, not pandas' inferred ``str``), so frames
        # from any store or connector compare equal
        frame["point"] = frame["point"].astype(object)
        frame["value"] = frame["value"].astype("float64")
        return frame.loc[:, ["time", "point", "value"]]

    # Listing ------------------------------------------------------------------------------
    def point_ids(self) -> list[str]:
        """Ids of every point held, sorted."""
        if not self.root.is_dir():
            return []
        return sorted(
            unquote(p.name) for p in self.root.iterdir() if p.is_dir() and any(p.glob("*.parquet"))
        )

    def points(self) -> list[PointExtent]:
        """Every point held with its first and last timestamp and row count (from file metadata)."""
        extents = []
        for point in self.point_ids():
            rows, first, last = 0, None, None
            for path in self._month_files(point, None, None):
                try:
                    meta = pq.ParquetFile(path).metadata
                except (pa.ArrowException, OSError) as exc:
                    raise _damaged(path, exc) from None
                rows += meta.num_rows
                for group in range(meta.num_row_groups):
                    stats = meta.row_group(group).column(0).statistics
                    low, high = pd.Timestamp(stats.min), pd.Timestamp(stats.max)
                    low = low.tz_localize("UTC") if low.tzinfo is None else low
                    high = high.tz_localize("UTC") if high.tzinfo is None else high
                    first = low if first is None else min(first, low)
                    last = high if last is None else max(last, high)
            if rows and first is not None and last is not None:
                extents.append(PointExtent(point, first, last, rows))
        return extents
