"""The times of ``bms detect``'s TRAIN and TEST rows: read with one order of day and month for
both files, on the site's clock (the time of day the daily profiles read) and as they run (UTC's,
or a wall clock's run on through autumn's repeated hour: durations, the order, the episodes),
with the order that sorts each file by time and a line for what a reader should know."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from bms.evaluate.detect_clock import (
    fold_spring_change,
    site_clock,
    unfold_clock_change,
    with_numeric_offsets,
    without_mixed_offsets,
    written_clock,
)
from bms.evaluate.detect_notes import step_mismatch_notes
from bms.evaluate.detect_rows import time_order
from bms.evaluate.detect_times import (
    day_first,
    filled_times_note,
    guessed_order_note,
    read_times,
    unread_times_notes,
)

__all__ = ["TimeAxes", "time_axes"]


@dataclass(frozen=True)
class TimeAxes:
    """The rows' times, as the detector sees them, and what to say about them."""

    train: pd.DatetimeIndex | None  # on the site's clock (None: the cells are not times)
    test: pd.DatetimeIndex | None
    train_utc: pd.DatetimeIndex | None  # the times as they run (UTC's, or a wall clock's
    # run on through autumn's repeated hour): durations, the order, the episodes
    test_utc: pd.DatetimeIndex | None
    utc_clock: bool  # read on the UTC clock for want of the site's zone
    notes: list[str]
    # the rows in time order (a stable sort), None when the file is in order already
    train_order: NDArray[np.intp] | None = None
    test_order: NDArray[np.intp] | None = None


def time_axes(
    train: pd.DataFrame,
    test: pd.DataFrame,
    tcol: str,
    paths: tuple[Path, Path],
    timezone: str | None,
) -> TimeAxes:
    """Both files' time columns read as times, one order of day and month for both (a TEST of
    one ambiguous day reads as TRAIN), on the site's clock, with the order that sorts each file
    by time and a line for a file out of order, for different steps, or for dates that could
    not be read."""
    # zone abbreviations (Niagara's "1:30:47 PM CET") as the offsets they stand for; a column
    # mixing cells with and without an offset read on the clock as written
    unmixed = [without_mixed_offsets(with_numeric_offsets(f[tcol])) for f in (train, test)]
    cells = unmixed[0][0], unmixed[1][0]
    mixed_notes = [
        f"{path}: time column {tcol!r} mixes times with and without a UTC offset: all read "
        "on the clock as written, their offsets left out"
        for path, (_, mixed) in zip(paths, unmixed, strict=True)
        if mixed
    ]
    joined = pd.concat(cells, ignore_index=True)
    dayfirst = day_first(joined)
    guessed = guessed_order_note(joined, dayfirst, f"time column {tcol!r}")
    mixed_notes += [guessed] if guessed else []
    (t_train, unread_train), (t_test, unread_test) = (
        read_times(cells[0], dayfirst),
        read_times(cells[1], dayfirst),
    )
    if t_train is None or t_test is None:
        notes = unread_times_notes(
            ((paths[0], cells[0], t_train), (paths[1], cells[1], t_test)), tcol, dayfirst
        )
        return TimeAxes(None, None, None, None, utc_clock=False, notes=[*mixed_notes, *notes])
    # the time of day on the site's clock (daily profiles), the order of UTC's
    # how each column is written, read once: its offsets are a regex over every cell
    clocks = written_clock(cells[0]), written_clock(cells[1])
    clock_train, utc_train = site_clock(cells[0], t_train, timezone, clocks[0])
    clock_test, utc_test = site_clock(cells[1], t_test, timezone, clocks[1])
    if utc_train != utc_test:  # one file on UTC's clock for want of a zone: both, so hours agree
        clock_train, clock_test, utc_train = t_train, t_test, True
    notes = mixed_notes + [
        filled_times_note(path, tcol, as_written, unread)
        for path, as_written, unread in zip(
            paths, (train[tcol], test[tcol]), (unread_train, unread_test), strict=True
        )
        if unread.any()
    ]
    running = []  # each file's times as they run (durations, order): UTC's, or the wall clock's
    for path, clock, times, kept in zip(
        paths,
        clocks,
        (t_train, t_test),
        ("", "; OUT keeps its row order"),
        strict=True,
    ):
        wall_clock = clock.naive
        unfolded = unfold_clock_change(times) if wall_clock else None
        if unfolded is not None:  # in order but for autumn's repeated hour: kept as written
            times, first = unfolded
            notes.append(
                f"{path}: the clock goes back an hour at data row {first + 1} (autumn's "
                "change): the rows are read in the file's order"
            )
        if wall_clock:  # spring's skipped hour is no gap in the data
            times = fold_spring_change(times)
        back = np.flatnonzero(np.diff(times.asi8) < 0)
        if back.size:
            notes.append(
                f"{path}: time goes backwards at {back.size:,} row(s) (first at data row "
                f"{back[0] + 2}): the rows are read in time order{kept}"
            )
        running.append(times)
    notes += step_mismatch_notes(t_train, t_test)
    return TimeAxes(
        clock_train,
        clock_test,
        running[0],
        running[1],
        utc_train or utc_test,
        notes,
        train_order=time_order(running[0]),
        test_order=time_order(running[1]),
    )
