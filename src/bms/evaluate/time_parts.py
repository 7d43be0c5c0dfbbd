"""Times written in parts: a column each for the year, month, day, hour... or an hour beside a
date, as some loggers and spreadsheet exports write them.

Read as readings, such columns were features (an ``hour`` column was the top contributor of 37
of 48 hourly rows, a ``year`` that changed between TRAIN and TEST flagged every TEST row) and
the rows had no times (no gaps, daily profiles or AHU rules). :func:`find_time_parts` finds a
year, a month and a day (and an hour, minute, second when written) by their names and values;
:func:`assembled_times` writes each row's time from them; :func:`whole_hours` tells an hour
column (0–23) that goes with a date column.
"""

from __future__ import annotations

import pandas as pd

__all__ = ["PART_NAMES", "assembled_times", "find_time_parts", "whole_hours"]

#: Each part of a time, the column names it goes by (case-insensitive, English and French),
#: and the whole numbers it holds.
PART_NAMES: dict[str, tuple[tuple[str, ...], tuple[int, int]]] = {
    "year": (("year", "yyyy", "annee", "année"), (1900, 2100)),
    "month": (("month", "mois"), (1, 12)),
    "day": (("day", "jour"), (1, 31)),
    "hour": (("hour", "hh", "heure"), (0, 23)),
    "minute": (("minute", "mn"), (0, 59)),
    "second": (("second", "sec", "seconde"), (0, 59)),
}
#: The parts a time needs; the others default to 0.
_NEEDED = ("year", "month", "day")


def _whole_in(column: pd.Series, low: int, high: int) -> bool:
    """Whether every value of a column is a whole number within ``[low, high]``."""
    numbers = pd.to_numeric(column, errors="coerce")
    return bool(
        numbers.notna().all() and (numbers % 1 == 0).all() and numbers.between(low, high).all()
    )


def whole_hours(column: pd.Series) -> bool:
    """Whether a column holds hours of the day as whole numbers (0–23)."""
    return _whole_in(column, 0, 23)


def find_time_parts(frame: pd.DataFrame) -> dict[str, str] | None:
    """The column of each part of the time (``{"year": "Year", ...}``) when the year, month
    and day are columns of their own, named and valued as such, else None."""
    by_name = {str(c).strip().lower(): str(c) for c in frame.columns}
    parts = {}
    for part, (names, (low, high)) in PART_NAMES.items():
        column = next((by_name[n] for n in names if n in by_name), None)
        if column is not None and _whole_in(frame[column], low, high):
            parts[part] = column
    return parts if all(part in parts for part in _NEEDED) else None


def assembled_times(frame: pd.DataFrame, parts: dict[str, str]) -> pd.Series:
    """Each row's time written from its parts, ``YYYY-MM-DD HH:MM:SS`` (parts not written
    are 0)."""
    values = {
        part: pd.to_numeric(frame[parts[part]]).astype(int) if part in parts else 0
        for part in PART_NAMES
    }
    times = pd.to_datetime(
        pd.DataFrame({k: values[k] for k in ("year", "month", "day")}), errors="coerce"
    ) + pd.to_timedelta(values["hour"] * 3600 + values["minute"] * 60 + values["second"], "s")
    return times.dt.strftime("%Y-%m-%d %H:%M:%S")
