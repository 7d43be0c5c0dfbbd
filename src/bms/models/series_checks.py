"""Checks of the frames a time-series model is given, from Python: what ``bms detect`` does for
its files (sorting, clocks), a notebook user must be told to do.

Found by feeding :class:`bms.models.anomaly_pipeline.TimeSeriesDetector` frames as a data
scientist holds them: rows shuffled were scored as one stream (732 of 747 SKAB rows flagged,
against 152 in time order); a TEST indexed in Europe/Paris against a TRAIN in UTC read every
daily profile two hours off (1,071 of 1,152 normal rows flagged); a signal empty all through
TRAIN flagged every TEST row.
"""

from __future__ import annotations

from collections import Counter

import numpy as np
import pandas as pd

from bms.features.numbers import as_numbers

__all__ = ["check_frame", "check_numbers", "check_series", "in_time_order", "on_training_clock"]


#: The largest step back a time index in order may take: a wall clock's autumn change.
CLOCK_CHANGE = pd.Timedelta(hours=1)
#: Days per step back a time index in order may take (two clock changes a year).
DAYS_PER_CLOCK_CHANGE = 180.0


def in_time_order(index: pd.DatetimeIndex) -> bool:
    """Whether rows are in time order, allowing a wall clock's autumn changes: steps back of
    at most an hour, about two a year (``bms detect`` gives its model such clocks)."""
    steps = np.diff(index.as_unit("ns").asi8)
    back = steps < 0
    if not back.any():
        return True
    span_days = (index.max() - index.min()) / pd.Timedelta(days=1)
    changes_allowed = 1 + span_days / DAYS_PER_CLOCK_CHANGE
    return bool(-steps[back].min() <= CLOCK_CHANGE.value and back.sum() <= changes_allowed)


def check_frame(frame: object, what: str) -> None:
    """Raise TypeError unless ``frame`` is a DataFrame (``what`` names it in the message): an
    array has no column names to match the training signals by."""
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(
            f"{what}: expected a pandas DataFrame with one column per signal, got "
            f"{type(frame).__name__}"
        )


def check_numbers(frame: pd.DataFrame, what: str) -> None:
    """Raise ValueError naming the first column of ``frame`` that holds a value that is not a
    number, with the value (``what`` names the frame); numbers written as text pass."""
    for name in frame.columns:
        _, bad = as_numbers(frame[name])
        if bad is not None:
            raise ValueError(
                f"{what}: column {str(name)!r} holds {frame[name].iloc[bad]!r}, not a "
                "number: give numbers (0/1 for states), or leave the column out"
            )


def check_series(frame: pd.DataFrame, what: str) -> None:
    """Raise ValueError when ``frame``'s columns repeat a name, a column holds a value that
    is not a number (named, with the value), or its time index is not in time order
    (:func:`in_time_order`; ``what`` names the frame in the message)."""
    repeated = [name for name, n in Counter(map(str, frame.columns)).items() if n > 1]
    if repeated:
        raise ValueError(f"{what}: column {repeated[0]!r} is given more than once")
    check_numbers(frame, what)
    index = frame.index
    if isinstance(index, pd.DatetimeIndex) and len(index) > 1 and not in_time_order(index):
        raise ValueError(
            f"{what}: rows are not in time order; sort them first (frame.sort_index()): the "
            "model reads them as one stream"
        )


def on_training_clock(index: pd.Index, training_tz: object) -> pd.Index:
    """A time index with a time zone read on the training rows' zone, so that an hour of the
    day means the same in both (a naive index, or one without a zone to compare, as given)."""
    if (
        isinstance(index, pd.DatetimeIndex)
        and index.tz is not None
        and training_tz is not None
        and str(index.tz) != str(training_tz)
    ):
        return index.tz_convert(training_tz)
    return index
