"""The TelemetryStore protocol: what every telemetry store (Parquet, InfluxDB 1.x/2.x) offers."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import pandas as pd


@dataclass(frozen=True)
class PointExtent:
    """What a store holds for one point: first and last timestamp (UTC) and the row count."""

    point: str
    start: pd.Timestamp
    end: pd.Timestamp
    rows: int


@runtime_checkable
class TelemetryStore(Protocol):
    """A place to keep canonical telemetry frames."""

    def write(self, frame: pd.DataFrame) -> int:
        """Store a frame (validated first); return the number of rows accepted.

        Idempotent: writing the same (point, time) twice keeps one row, the last value.
        """
        ...

    def read(
        self,
        points: Iterable[str] | None = None,
        start: pd.Timestamp | None = None,
        end: pd.Timestamp | None = None,
    ) -> pd.DataFrame:
        """Rows of the given points (all when None) with ``start <= time < end``, canonical form."""
        ...

    def points(self) -> list[PointExtent]:
        """Every point held, with its time extent, sorted by point id."""
        ...
