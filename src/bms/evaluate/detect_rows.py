"""Which rows ``bms detect`` judges, in which order, and how the verdicts go back to TEST's rows.

A time series is judged in time order, whatever order a file gives (newest first, days
gathered from a set): :func:`time_order` sorts each file by time (a stable sort). A row that a
later row of the same time repeats with the same readings (overlapping exports appended to one
another, a stream's duplicates) is one reading: :func:`repeated_readings` leaves it out.
:class:`JudgedRows` keeps both for TEST, so that OUT has one row per TEST row, in TEST's order,
each with the verdict of the row judged for it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.typing import NDArray

__all__ = ["JudgedRows", "repeated_readings", "time_order"]


def time_order(times: pd.DatetimeIndex) -> NDArray[np.intp] | None:
    """Row positions that put ``times`` in order, or None when they are in order already.

    Rows of one time keep the file's order, read the way the file runs: in a file written
    newest first (no step forward), the last of them first. Readings every 250 ms
    with times written to the second, newest first, kept each second's rows reversed.
    """
    stamps = times.asi8
    steps = np.diff(stamps)
    if not (steps < 0).any():
        return None
    if not (steps > 0).any():  # newest first: ties in reverse too
        n = len(stamps)
        return (n - 1 - np.argsort(stamps[::-1], kind="stable")).astype(np.intp)
    return np.argsort(stamps, kind="stable")


def repeated_readings(rows: pd.DataFrame) -> tuple[NDArray[np.bool_], NDArray[np.intp]]:
    """For rows in time order (a DatetimeIndex): which to judge, leaving out a row that an
    identical later row of the same time repeats (one reading written twice), and for every
    row the position of its judged twin among the judged rows. Rows of one time with different
    readings (times written to the minute for readings every 10 s) are all judged."""
    n = len(rows)
    stamps = pd.DatetimeIndex(rows.index).asi8
    if n < 2 or not (stamps[1:] == stamps[:-1]).any():
        return np.ones(n, dtype=bool), np.arange(n)
    keyed = rows.reset_index(drop=True).set_axis(range(rows.shape[1]), axis=1).assign(t=stamps)
    group = keyed.groupby(list(keyed.columns), dropna=False, sort=False).ngroup().to_numpy()
    last_of_group = np.zeros(group.max() + 1, dtype=np.intp)
    last_of_group[group] = np.arange(n)  # later rows overwrite: each group's last row
    twin = last_of_group[group]
    kept = twin == np.arange(n)
    return kept, (np.cumsum(kept) - 1)[twin]


@dataclass(frozen=True)
class JudgedRows:
    """TEST's rows as judged. Positions "in time order" index TEST sorted by time."""

    #: The file row (from 0) of each row in time order.
    order: NDArray[np.intp]
    #: Which rows, in time order, are judged (not repeated by a later identical row).
    kept: NDArray[np.bool_]
    #: Per row in time order: the position of its judged row among the judged rows.
    judged: NDArray[np.intp]

    @classmethod
    def as_written(cls, n_rows: int) -> JudgedRows:
        """Every row judged, in the file's order (TEST without times)."""
        return cls(np.arange(n_rows), np.ones(n_rows, dtype=bool), np.arange(n_rows))

    @classmethod
    def of(cls, x_test: pd.DataFrame, order: NDArray[np.intp] | None) -> JudgedRows:
        """The rows of ``x_test`` (indexed by time) judged after sorting by ``order``
        (:func:`time_order`; None: in order already)."""
        order = np.arange(len(x_test)) if order is None else order
        kept, judged = repeated_readings(x_test.iloc[order])
        return cls(order, kept, judged)

    def judged_file_rows(self) -> NDArray[np.intp]:
        """The file row (from 0) of each judged row, in time order."""
        return self.order[self.kept]

    def per_row(self, values: NDArray[np.generic]) -> NDArray[np.generic]:
        """Values of the judged rows, spread to every row in time order."""
        return np.asarray(values)[self.judged]

    def as_written_order(self, frame: pd.DataFrame) -> pd.DataFrame:
        """A frame with a row per row in time order, put back in TEST's row order."""
        return frame.iloc[np.argsort(self.order)]
