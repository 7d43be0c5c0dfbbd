"""Which clock ``bms detect`` reads the time of day on: the site's, not UTC's.

A building runs on its local clock: the fans start at 07:00 local time in winter and in summer.
Times written in UTC (``Z``, ``+00:00``, Unix times, as InfluxDB exports them) put that start at
06:00 UTC in winter and 05:00 UTC in summer, so a daily profile learnt before a daylight-saving
change would be an hour off after it (on a simulated office trained before the March change and
scored after it, 31 % of the rows were flagged, against none on the local clock). So the
detector is given:

* naive cells (no offset, no ``Z``) and spreadsheet serial dates as written: they are the
  site's clock already;
* with ``--timezone`` (an IANA name such as ``Europe/Paris``), cells in UTC, with offsets or
  Unix times, in that zone (their order and gaps are those of UTC; the hours are the site's);
* else, cells that carry their UTC offset (``+01:00``, ``+02:00``...): the wall-clock time as
  written (the offsets change with daylight saving; the local clock does not), labelled UTC as
  naive cells are, so that both kinds compare;
* else (UTC cells, Unix times) UTC, and :func:`site_clock` says so, for a line suggesting
  ``--timezone``. When one file is read so and the other on its wall clock (TRAIN exported in
  UTC, TEST with offsets), ``bms detect`` reads both on UTC's, so that their hours agree.

Durations (the AHU rules' 30-minute confirmation) are timed on UTC's clock: the wall clock
repeats an hour in autumn.
"""

from __future__ import annotations

import re
import zoneinfo
from dataclasses import dataclass

import numpy as np
import pandas as pd

from bms.errors import SchemaError
from bms.evaluate.detect_times import is_excel_serial

__all__ = [
    "ZONE_ABBREVIATIONS",
    "WrittenClock",
    "check_timezone",
    "fold_spring_change",
    "site_clock",
    "unfold_clock_change",
    "with_numeric_offsets",
    "without_mixed_offsets",
    "written_clock",
    "written_naive",
]

#: A time of day followed by its UTC offset: ``12:00+01:00``, ``12:00:00.5-0500``, ``12:00Z``,
#: ``1:30:47 PM +01:00``.
_OFFSET = re.compile(
    r"(?<=\d\d:\d\d)(?::\d\d(?:\.\d+)?)?(?:\s*[AaPp][Mm])?\s*(Z|UTC|[+-]\d\d:?\d\d)\s*$"
)
#: The same, the time's seconds and AM/PM kept in group 1 and the offset left out.
_OFFSET_SUFFIX = re.compile(
    r"(?<=\d\d:\d\d)((?::\d\d(?:\.\d+)?)?(?:\s*[AaPp][Mm])?)\s*(?:Z|UTC|[+-]\d\d:?\d\d)\s*$"
)
#: Time-zone abbreviations that BMS front ends write after the time (Tridium Niagara's
#: history export: ``08-Feb-20 1:30:47 PM CET``), and their UTC offsets. ``CST`` and ``CDT``
#: are North America's Central times (China's standard time is also written CST).
ZONE_ABBREVIATIONS = {
    "UTC": "+00:00", "GMT": "+00:00", "WET": "+00:00", "WEST": "+01:00", "BST": "+01:00",
    "CET": "+01:00", "CEST": "+02:00", "MET": "+01:00", "MEST": "+02:00", "EET": "+02:00",
    "EEST": "+03:00", "EST": "-05:00", "EDT": "-04:00", "CST": "-06:00", "CDT": "-05:00",
    "MST": "-07:00", "MDT": "-06:00", "PST": "-08:00", "PDT": "-07:00",
}  # fmt: skip
_ABBREVIATION = re.compile(r"(?<=\d)(\s*[AaPp][Mm])?\s+(" + "|".join(ZONE_ABBREVIATIONS) + r")\s*$")
_ZERO_OFFSETS = {"Z", "UTC", "+00:00", "+0000", "-00:00", "-0000"}
#: Cells looked at first: without an offset among them, the column is taken as naive times.
_SAMPLE_CELLS = 100


def _offsets(cells: pd.Series) -> pd.Series | None:
    """Each cell's UTC offset as written, or None when some non-empty cell carries none."""
    sample = cells.head(_SAMPLE_CELLS).dropna().astype(str)
    if sample.str.extract(_OFFSET, expand=False).isna().all():
        return None  # naive times: spare a million cells the regex
    written = cells.dropna().astype(str)
    found = written.str.extract(_OFFSET, expand=False)
    if written.empty or found.isna().any():
        return None
    return found


@dataclass(frozen=True)
class WrittenClock:
    """How a time column is written: read once (each cell's offset is a regular expression's
    search, 1.6 s on a million cells), used by :func:`site_clock` and by whoever asks."""

    naive: bool  # on the site's clock, with no zone (see :func:`written_naive`)
    offsets: pd.Series | None  # each cell's UTC offset as written, None without offsets


def written_clock(cells: pd.Series) -> WrittenClock:
    """How the time column ``cells`` is written (:class:`WrittenClock`)."""
    if pd.api.types.is_numeric_dtype(cells):  # Unix times, or spreadsheet serial dates
        return WrittenClock(naive=is_excel_serial(cells), offsets=None)
    offsets = _offsets(cells)
    return WrittenClock(naive=offsets is None, offsets=offsets)


def written_naive(cells: pd.Series) -> bool:
    """Whether a time column is written on the site's clock, with no zone: text cells without
    a UTC offset, or spreadsheet serial dates (Unix times and offsets are UTC's)."""
    return written_clock(cells).naive


def _offset_delta(text: str) -> pd.Timedelta:
    """``+01:00``, ``-0500``, ``Z`` as the time to add to UTC to get the wall clock."""
    if text in _ZERO_OFFSETS:
        return pd.Timedelta(0)
    digits = text[1:].replace(":", "")
    minutes = 60 * int(digits[:2]) + int(digits[2:])
    return pd.Timedelta(minutes=minutes if text[0] == "+" else -minutes)


def check_timezone(name: str) -> zoneinfo.ZoneInfo:
    """The IANA time zone ``name``, or a one-line :class:`SchemaError`."""
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise SchemaError(
            f"--timezone: unknown time zone {name!r}; give an IANA name such as Europe/Paris"
        ) from None


def site_clock(
    cells: pd.Series,
    utc_times: pd.DatetimeIndex,
    timezone: str | None,
    written: WrittenClock | None = None,
) -> tuple[pd.DatetimeIndex, bool]:
    """The times the detector should see, and whether they are on the UTC clock for want of
    the site's.

    Parameters
    ----------
    cells : Series
        The time column as read from the CSV.
    utc_times : DatetimeIndex
        The same times in UTC (:func:`bms.evaluate.detect_times.parse_times`).
    timezone : str or None
        The site's IANA time zone (``--timezone``).
    written : WrittenClock or None
        How ``cells`` are written, when the caller read it already (:func:`written_clock`).

    Returns
    -------
    (DatetimeIndex, bool)
        The times (tz-aware in ``timezone`` when given, else naive or UTC as described in the
        module docstring), and True when they are UTC times and no zone was given.

    Raises
    ------
    SchemaError
        ``timezone`` is not a known IANA zone.
    """
    written = written_clock(cells) if written is None else written
    if written.naive:
        return utc_times, False  # the site's clock as written
    offsets = written.offsets  # None for Unix times
    if timezone is not None:
        return utc_times.tz_convert(check_timezone(timezone)), False
    if offsets is None or set(offsets.unique()) <= _ZERO_OFFSETS:
        return utc_times, True
    # the wall-clock time as written: each UTC time plus its own offset
    delta = {text: _offset_delta(text) for text in offsets.unique()}
    shift = offsets.map(delta).reindex(cells.index).ffill().bfill()
    wall = utc_times.tz_convert(None) + pd.to_timedelta(shift.to_numpy())
    return pd.DatetimeIndex(wall).tz_localize("UTC"), False  # labelled as naive cells are


#: Wall-clock hours an autumn change falls in (02:00 or 03:00 goes back an hour in Europe and
#: America, 01:00 in a few zones).
_CHANGE_HOURS = range(1, 4)
_HOUR_NS = 3_600_000_000_000
_DAY_NS = 24 * _HOUR_NS
#: Days of the week (Monday 0) a spring change falls on: Sunday in Europe, America and
#: Oceania, Friday in Israel.
_CHANGE_DAYS = (6, 4)
#: Days of data per spring change (one a year; a file may hold one more than its span says).
_DAYS_PER_SPRING_CHANGE = 365.0


def unfold_clock_change(times: pd.DatetimeIndex) -> tuple[pd.DatetimeIndex, int] | None:
    """Times written on a wall clock without offsets, made to run on through autumn's repeated
    hour, and the position of the first row after the change; None unless the file is in order
    but for such changes.

    The clock goes back an hour in autumn, so a file in written order steps back once, by an
    hour less one step (02:59 then 02:00 for minutes), between 01:00 and 04:00. Each such step
    back is undone by adding an hour to the rows after it; the times must then run in order.
    Sorted instead, the two hours' readings were interleaved minute by minute (a fan status
    flipping every minute: 86 false alarms in the repeated hour of an LBNL day).
    """
    stamps = times.as_unit("ns").asi8
    steps = np.diff(stamps)
    back = np.flatnonzero(steps < 0)
    forward = steps[steps > 0]
    if back.size == 0 or forward.size == 0:
        return None
    step = int(np.median(forward))
    hours = times[back].hour
    one_hour_back = np.abs(steps[back] + _HOUR_NS - step) <= step / 2
    if not (one_hour_back.all() and np.isin(hours, _CHANGE_HOURS).all()):
        return None
    shift = np.zeros(len(stamps), dtype=np.int64)
    for position in back:
        shift[position + 1 :] += _HOUR_NS
    unfolded = stamps + shift
    if (np.diff(unfolded) < 0).any():
        return None
    as_ns = pd.DatetimeIndex(unfolded.astype("datetime64[ns]"))
    return (as_ns if times.tz is None else as_ns.tz_localize(times.tz)), int(back[0] + 1)


def with_numeric_offsets(cells: pd.Series) -> pd.Series:
    """Time cells with a zone abbreviation at the end (``... 1:30:47 PM CET``) rewritten with
    its UTC offset (``... 1:30:47 PM +01:00``), which pandas reads and :func:`site_clock` puts
    on the wall clock; other columns unchanged. Before, such a column could not be read as
    times: no gaps, daily profiles or AHU rules."""
    if pd.api.types.is_numeric_dtype(cells):
        return cells
    sample = cells.head(_SAMPLE_CELLS).dropna().astype(str)
    if not any(_ABBREVIATION.search(cell) for cell in sample):
        return cells
    text = cells.astype("string")
    zone = text.str.extract(_ABBREVIATION)
    offset = zone[1].map(ZONE_ABBREVIATIONS)
    stripped = text.str.replace(_ABBREVIATION, lambda m: m.group(1) or "", regex=True)
    return stripped.where(offset.isna(), stripped + " " + offset).astype(object)


def without_mixed_offsets(cells: pd.Series) -> tuple[pd.Series, bool]:
    """Time cells of which some carry a UTC offset and others not (exports appended one after
    another), all without their offsets, and True; other columns unchanged, and False.

    Read as they were, the cells without an offset were taken as UTC and the others converted
    to it: a day written ``23:59`` then ``00:00+02:00`` sorted its first two hours among the
    day before's last two (266 false alarms on a normal LBNL day). Without the offsets every
    cell is read on the clock as written, which a site's export of its own clock is.
    The first and last cells are looked at first, so that a column of one kind costs nothing.
    """
    if pd.api.types.is_numeric_dtype(cells):
        return cells, False
    ends = pd.concat([cells.head(_SAMPLE_CELLS), cells.tail(_SAMPLE_CELLS)]).dropna().astype(str)
    with_offset = ends.map(lambda cell: _OFFSET.search(cell) is not None)
    if with_offset.all() or not with_offset.any():
        return cells, False
    text = cells.astype("string")
    return text.str.replace(_OFFSET_SUFFIX, r"\1", regex=True).astype(object), True


def fold_spring_change(times: pd.DatetimeIndex) -> pd.DatetimeIndex:
    """Times written on a wall clock without offsets, made to run on through spring's skipped
    hour: a step forward of an hour and one step (01:59 then 03:00 for minutes), between 01:00
    and 04:00 on a Sunday or a Friday, loses its hour from the rows after it. Read as written,
    the skipped hour was a gap in the data, and the detector's features restarted after it
    (nine minutes of a fault went unflagged at 03:00). Other times are returned as they are.

    The steps are those of the times in order, whatever the file's order: in a file of
    shuffled rows, steps between unrelated rows were read as changes, and every row after them
    was moved (``bms detect`` then refused its own sorted rows). A clock changes about twice a
    year, so more such steps than that are an hour of readings missing each night (a nightly
    backup), not changes, and none is folded.
    """
    stamps = times.as_unit("ns").asi8
    in_file_order = np.diff(stamps)
    if (in_file_order >= 0).all():  # in order already (most files): no sort
        order, steps = np.arange(len(stamps)), in_file_order
    else:
        order = np.argsort(stamps, kind="stable")
        steps = np.diff(stamps[order])
    forward = steps[steps > 0]
    if forward.size == 0:
        return times
    step = int(np.median(forward))
    jumps = np.flatnonzero(np.abs(steps - _HOUR_NS - step) <= step / 2)
    before = times[order[jumps]]  # the last reading before each jump
    jumps = jumps[np.isin(before.hour, _CHANGE_HOURS) & np.isin(before.day_of_week, _CHANGE_DAYS)]
    span_days = (stamps[order[-1]] - stamps[order[0]]) / _DAY_NS
    if jumps.size == 0 or jumps.size > 1 + span_days / _DAYS_PER_SPRING_CHANGE:
        return times
    in_order_shift = np.zeros(len(stamps), dtype=np.int64)
    for position in jumps:
        in_order_shift[position + 1 :] -= _HOUR_NS
    shift = np.empty_like(in_order_shift)
    shift[order] = in_order_shift
    as_ns = pd.DatetimeIndex((stamps + shift).astype("datetime64[ns]"))
    return as_ns if times.tz is None else as_ns.tz_localize(times.tz)
