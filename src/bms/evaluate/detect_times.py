"""The time column of a wide CSV: which column it is, and its cells read as times.

Exports write times in many ways: ISO times with or without offsets, ``nn/nn/yyyy`` dates with
the day or the month first, Unix times in seconds to nanoseconds, spreadsheet serial dates
(days since 1899-12-30, as Excel and LibreOffice store them), dates and times of day in two
columns (``Date;Heure``). :func:`find_time_column` and :func:`split_date_time` find the column
(or the two), :func:`parse_times` reads it as UTC times, and :func:`unread_times_notes` says when
a column of dates could not be read.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from bms.evaluate.time_parts import whole_hours

__all__ = [
    "EPOCH_RANGES",
    "EXCEL_SERIAL_RANGE",
    "MAX_BAD_TIME_SHARE",
    "TIME_NAMES",
    "day_first",
    "duration_text",
    "filled_times_note",
    "find_time_column",
    "guessed_order_note",
    "is_excel_serial",
    "parse_times",
    "read_times",
    "split_date_time",
    "text_times_utc",
    "unread_times_notes",
]

#: Column names taken as the time column when --time-column is not given (case-insensitive;
#: English and French exports; InfluxDB 2's ``_time``).
TIME_NAMES = (
    "time", "datetime", "timestamp", "date", "date_time", "ts", "horodatage", "date_heure", "temps",
    "_time",
)  # fmt: skip
#: A time column with more unreadable cells than this share is not read as times (the rows are
#: then one stretch, and the AHU rules, which need times, do not run).
MAX_BAD_TIME_SHARE = 0.01
#: Words in the name of a column of dates that is the time column when none has a time name.
_TIME_WORDS = r"(time|date|horodat|heure|jour|day|hour|changed|updated)"


def duration_text(step: pd.Timedelta) -> str:
    """``10 min``, ``1 h``, ``1.5 s``: a step as a reader writes it."""
    seconds = step.total_seconds()
    if seconds >= 3600 and seconds % 3600 == 0:
        return f"{seconds / 3600:g} h"
    if seconds >= 60 and seconds % 60 == 0:
        return f"{seconds / 60:g} min"
    return f"{seconds:g} s"


def find_time_column(frame: pd.DataFrame) -> str | None:
    """The time column, or None (rows are then the index).

    A column named like time/datetime/timestamp/date (of several, the first whose first cells
    read as times: ``Datetime`` rather than a ``Time`` of elapsed minutes); else one whose name
    contains such a word (or heure, jour, day, hour; changed, updated: Home Assistant's
    ``last_changed``) and whose cells read as dates; else a first column with no header name
    whose cells read as dates: a time index saved by ``DataFrame.to_csv``, which pandas reads
    back as ``Unnamed: 0``.
    """
    by_lower = {c.lower(): c for c in frame.columns}
    named = [by_lower[name] for name in TIME_NAMES if name in by_lower]
    if named:
        timed = (c for c in named if parse_times(frame[c].head(50)) is not None)
        return next(timed, named[0])
    for col in frame.columns:
        named = re.search(_TIME_WORDS, col, flags=re.IGNORECASE)
        if named and _reads_as_dates(frame[col]):
            return str(col)
    first = str(frame.columns[0]) if len(frame.columns) else ""
    if first == "Unnamed: 0" and _reads_as_dates(frame[first]):
        return first
    return None


#: A cell that holds a time of day only: ``07:05``, ``07:05:30``, ``07:05:30.250``.
_TIME_OF_DAY = r"\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?"


def _times_of_day(column: pd.Series) -> bool:
    """Whether a column's first 50 cells are times of day, 90 % of them at least."""
    cells = column.dropna().astype(str).str.strip().head(50)
    return bool(len(cells)) and bool(cells.str.fullmatch(_TIME_OF_DAY).mean() > 0.9)


def split_date_time(frame: pd.DataFrame, time_column: str) -> tuple[str, str] | None:
    """``(date column, time-of-day column)`` when the rows' times are split in two, else None.

    Many exports (French BMS front ends above all) write ``Date;Heure;...``: the dates in one
    column, the times of day in another. Whichever of the two ``time_column`` is, its partner
    is a column named like the other half (date/jour/day, or time/heure/hour) whose cells are
    dates without a time (no ``:``), or times of day (:data:`_TIME_OF_DAY`), or hours of the
    day as whole numbers (:func:`bms.evaluate.time_parts.whole_hours`).
    """

    def dates_only(column: pd.Series) -> bool:
        cells = column.dropna().astype(str).head(50)
        return bool(len(cells)) and not cells.str.contains(":").any() and _reads_as_dates(column)

    def partner(pattern: str, test: Callable[[pd.Series], bool]) -> str | None:
        for col in frame.columns:
            named = re.search(pattern, str(col), re.IGNORECASE)
            if col != time_column and named and test(frame[col]):
                return str(col)
        return None

    if _times_of_day(frame[time_column]):
        dates = partner(r"(date|jour|day)", dates_only)
        return (dates, time_column) if dates is not None else None
    if dates_only(frame[time_column]):  # hours written 07:00, or 7
        hours = partner(r"(time|heure|hour)", lambda c: _times_of_day(c) or whole_hours(c))
        return (time_column, hours) if hours is not None else None
    return None


def _reads_as_dates(column: pd.Series) -> bool:
    """Text (whatever pandas calls it: object before 3.0, str since) whose first cells parse
    as dates, 90 % of them at least."""
    if pd.api.types.is_numeric_dtype(column):
        return False
    parsed = pd.to_datetime(column.head(50), errors="coerce", format="mixed")
    return bool(parsed.notna().mean() > 0.9)


#: Unix times a numeric time column may hold, per unit: from 2001-09-09 to 2096-10-02 in
#: seconds, milliseconds, microseconds or nanoseconds (IoT exports write them so).
EPOCH_RANGES = (("s", 1e9), ("ms", 1e12), ("us", 1e15), ("ns", 1e18))
_EPOCH_SPAN = 4.0  # the upper bound of each range, as a multiple of its lower bound


#: Spreadsheet serial dates a numeric time column may hold: days since 1899-12-30 (Excel's and
#: LibreOffice's day 0 for every date after February 1900), from 2000-01-01 (36,526) to
#: 2099-12-31 (73,050), with the time of day as the fraction. A spreadsheet writes them when a
#: date cell loses its format (``45992.5`` for 2025-12-01 12:00).
EXCEL_SERIAL_RANGE = (36_526.0, 73_051.0)
_EXCEL_DAY_ZERO = pd.Timestamp("1899-12-30")


def _finite_numbers(values: pd.Series) -> NDArray[np.float64] | None:
    """A numeric column's finite values, or None when it holds none or too many gaps."""
    numbers = pd.to_numeric(values, errors="coerce").to_numpy(dtype=np.float64)
    finite = numbers[np.isfinite(numbers)]
    if finite.size == 0 or np.isnan(numbers).mean() > MAX_BAD_TIME_SHARE:
        return None
    return finite


def _in_excel_range(finite: NDArray[np.float64]) -> bool:
    low, high = EXCEL_SERIAL_RANGE
    return bool(finite.min() >= low and finite.max() < high)


def is_excel_serial(values: pd.Series) -> bool:
    """Whether a numeric time column holds spreadsheet serial dates: all its numbers within
    :data:`EXCEL_SERIAL_RANGE` (the 21st century). Such times are written on the site's clock
    (a spreadsheet keeps no zone), unlike Unix times, which are UTC's."""
    if not pd.api.types.is_numeric_dtype(values):
        return False
    finite = _finite_numbers(values)
    return finite is not None and _in_excel_range(finite)


def _numeric_times(values: pd.Series) -> pd.DatetimeIndex | None:
    """Numbers that are all Unix times in one unit, as UTC times, or all spreadsheet serial
    dates, as naive times taken as UTC (rounded to the millisecond: a serial's float error is
    about a microsecond); else None (row numbers, seconds since the start of a test)."""
    finite = _finite_numbers(values)
    if finite is None:
        return None
    numbers = pd.Series(pd.to_numeric(values, errors="coerce"), dtype=np.float64)
    if _in_excel_range(finite):
        days = pd.to_timedelta(numbers, unit="D").dt.round("ms")
        return pd.DatetimeIndex((_EXCEL_DAY_ZERO + days).ffill().bfill()).tz_localize("UTC")
    for unit, low in EPOCH_RANGES:
        if finite.min() >= low and finite.max() < _EPOCH_SPAN * low:
            parsed = pd.to_datetime(numbers, unit=unit, utc=True)
            return pd.DatetimeIndex(parsed.ffill().bfill())
    return None


#: A date written day and month first, in either order: ``05/03/2026``, ``5.3.26``, ``3-5-2026``.
_DAY_MONTH = r"^\s*(\d{1,2})([/.\-])(\d{1,2})[/.\-]\d{2,4}(?!\d)"
#: The date of a cell written ``nn/nn/yyyy`` (a time may follow).
_DATE_PART = r"^(\s*\d{1,2}[/.\-]\d{1,2}[/.\-]\d{2,4})"


def text_times_utc(values: pd.Series, *, dayfirst: bool) -> pd.Series:
    """Text cells as UTC times (NaT where unreadable), day first or not for all of them."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # format inference, per-element parsing
        return pd.to_datetime(values, errors="coerce", utc=True, format="mixed", dayfirst=dayfirst)


def _date_fields(values: pd.Series) -> tuple[pd.Series, pd.DataFrame]:
    """A column's distinct first ten characters (its dates: a few hundred, however many rows),
    and the fields of those written ``nn/nn/yyyy`` (:data:`_DAY_MONTH`: first, separator,
    second), indexed as the dates."""
    dates = pd.Series(values.dropna().astype(str).str.slice(0, 10).unique())
    return dates, dates.str.extract(_DAY_MONTH).dropna()


def day_first(values: pd.Series) -> bool:
    """Whether a column's ``nn/nn/yyyy`` dates put the day first.

    Read element by element, ``01/03/2026`` is January 3 and ``13/03/2026`` March 13: a French
    file's first twelve days of each month would land in other months. A first field above 12
    (with none in the second) says day first, a second field above 12 month first (LBNL:
    ``8/28/2007``). When every date is ambiguous (the first twelve days of a month), the
    reading that spans less time: twelve consecutive days read the other way span eleven
    months; and on a tie (one day), day first for dates written with dots (``05.03.2026``:
    Europe's way), else month first (pandas').
    """
    dates, fields = _date_fields(values)
    if fields.empty:
        return False
    first, second = int(fields[0].astype(int).max()), int(fields[2].astype(int).max())
    if first > 12 or second > 12:
        return first > 12 >= second
    spans = {}
    day_cells = dates.str.extract(_DATE_PART)[0]
    for dayfirst in (False, True):  # the distinct dates only: a few hundred, however many rows
        days = pd.DatetimeIndex(text_times_utc(day_cells.dropna(), dayfirst=dayfirst).dropna())
        spans[dayfirst] = days.max() - days.min() if len(days) else pd.Timedelta(0)
    if spans[True] != spans[False]:
        return bool(spans[True] < spans[False])
    return bool((fields[1] == ".").all())


def guessed_order_note(values: pd.Series, dayfirst: bool, where: str) -> str:
    """A line when the order of a column's ``nn/nn/yyyy`` dates was guessed: no field above 12
    tells the day from the month (readings on the first of each month, say), so
    :func:`day_first` took the reading that spans less time, which a user should check; ""
    when the dates tell. ``where``: the file and column, for the line."""
    dates, fields = _date_fields(values)
    first, second = fields[0].astype(int), fields[2].astype(int)
    if fields.empty or (first == second).all():  # 01/01, 05/05: the same either way
        return ""
    if int(first.max()) > 12 or int(second.max()) > 12:
        return ""
    written = dates[fields.index[(first != second).to_numpy()][0]]
    example = str(re.match(_DATE_PART, written).group(1)).strip()  # type: ignore[union-attr]
    read = text_times_utc(pd.Series([example]), dayfirst=dayfirst).iloc[0]
    as_read = f" ({read:%d %B %Y})" if not pd.isna(read) else ""
    return (
        f"{where}: dates such as {example!r} could put the day or the month first; read "
        f"{'day' if dayfirst else 'month'} first{as_read}, the reading that spans less "
        "time: if that is wrong, write the dates as YYYY-MM-DD"
    )


def parse_times(values: pd.Series, dayfirst: bool | None = None) -> pd.DatetimeIndex | None:
    """A time column's cells as UTC times (naive ones taken as UTC; numbers as Unix times in
    seconds, milliseconds, microseconds or nanoseconds when they all fall between 2001 and
    2096 in one of those units, as spreadsheet serial dates when they all fall in the 21st
    century in days since 1899-12-30: see :func:`is_excel_serial`), or None if they are not
    dates and times (row numbers, say, or more than 1 % unreadable cells). Dates written
    ``nn/nn/yyyy`` are read day first or month first for the whole column: as ``dayfirst``
    says, else as :func:`day_first` finds."""
    return read_times(values, dayfirst)[0]


def read_times(
    values: pd.Series, dayfirst: bool | None = None
) -> tuple[pd.DatetimeIndex | None, NDArray[np.bool_]]:
    """:func:`parse_times`, and which cells could not be read (empty, or not a time: a footer's
    ``Total``); each such cell takes the time of the row before it (the first, of the row
    after)."""
    if pd.api.types.is_numeric_dtype(values):
        return _numeric_times(values), values.isna().to_numpy()
    parsed = text_times_utc(values, dayfirst=day_first(values) if dayfirst is None else dayfirst)
    unread = parsed.isna().to_numpy()
    if unread.mean() > MAX_BAD_TIME_SHARE:
        return None, unread
    return pd.DatetimeIndex(parsed.ffill().bfill()), unread


def unread_times_notes(
    files: Sequence[tuple[Path, pd.Series, pd.DatetimeIndex | None]], tcol: str, dayfirst: bool
) -> list[str]:
    """A line for each file whose time column holds dates but could not be read as times, when
    the rows are therefore read without them (no gaps, no daily profile, no AHU rules)."""
    notes = []
    for path, cells, times in files:
        if times is not None or pd.api.types.is_numeric_dtype(cells):
            continue  # numbers that are not Unix times (cycles, row numbers) are no dates
        bad = text_times_utc(cells, dayfirst=dayfirst).isna().to_numpy() & cells.notna().to_numpy()
        if bad.any():
            first = int(np.flatnonzero(bad)[0])
            notes.append(
                f"{path}: time column {tcol!r}: {int(bad.sum()):,} cell(s) are not dates "
                f"(first {cells.iloc[first]!r} in data row {first + 1}): the rows are read "
                "without times (no gaps, daily profiles or AHU rules)"
            )
    return notes


def filled_times_note(path: Path, tcol: str, cells: pd.Series, unread: NDArray[np.bool_]) -> str:
    """The line for time cells that took the time of the row before them (:func:`read_times`):
    how many, and the first that holds something (a footer's ``Total``), else the first."""
    written = unread & cells.notna().to_numpy()
    first = int(np.flatnonzero(written if written.any() else unread)[0])
    shown = repr(cells.iloc[first]) if written.any() else "an empty cell"
    return (
        f"{path}: time column {tcol!r}: {int(unread.sum()):,} cell(s) empty or not a time "
        f"(first {shown} in data row {first + 1}): each takes the time of the row before it"
    )
