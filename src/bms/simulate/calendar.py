"""The French working calendar: public holidays, weekends and office occupancy schedules.

All schedules are computed in the site's local time (``Europe/Paris`` for Besançon), from a UTC
time grid, without a Python loop over the rows.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd

#: Office occupancy on a working day: (local hour, fraction of the nominal head count).
OCCUPANCY_PROFILE: tuple[tuple[float, float], ...] = (
    (0.0, 0.0),
    (7.5, 0.0),
    (9.0, 0.95),
    (12.0, 0.9),
    (12.5, 0.55),
    (13.75, 0.85),
    (16.5, 0.9),
    (19.0, 0.0),
    (24.0, 0.0),
)
#: Air-handling units run from this local hour on working days (pre-ventilation)...
AHU_START_HOUR = 6.0
#: ...until this local hour; outside it they are off (night and weekend setback).
AHU_STOP_HOUR = 19.5


def easter_sunday(year: int) -> dt.date:
    """Gregorian Easter Sunday (anonymous Gregorian algorithm, Meeus/Jones/Butcher)."""
    a = year % 19
    b, c = divmod(year, 100)
    d, e = divmod(b, 4)
    f = (b + 8) // 25
    g = (b - f + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = divmod(c, 4)
    leap = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * leap) // 451
    month, day = divmod(h + leap - 7 * m + 114, 31)
    return dt.date(year, month, day + 1)


def french_public_holidays(year: int) -> dict[dt.date, str]:
    """The eleven French public holidays (jours fériés) of ``year``, date -> French name."""
    easter = easter_sunday(year)
    return {
        dt.date(year, 1, 1): "Jour de l'an",
        easter + dt.timedelta(days=1): "Lundi de Pâques",
        dt.date(year, 5, 1): "Fête du Travail",
        dt.date(year, 5, 8): "Victoire 1945",
        easter + dt.timedelta(days=39): "Ascension",
        easter + dt.timedelta(days=50): "Lundi de Pentecôte",
        dt.date(year, 7, 14): "Fête nationale",
        dt.date(year, 8, 15): "Assomption",
        dt.date(year, 11, 1): "Toussaint",
        dt.date(year, 11, 11): "Armistice 1918",
        dt.date(year, 12, 25): "Noël",
    }


@dataclass(frozen=True)
class SiteCalendar:
    """Calendar arrays on the simulation grid, each of shape (n_steps,)."""

    local_hour: np.ndarray  #: local decimal hour [h], 0-24
    day_index: np.ndarray  #: local calendar day number since the first day (int)
    day_of_year: np.ndarray  #: local day of year, 1-366
    working_day: np.ndarray  #: bool: Monday-Friday and not a public holiday
    occupancy: np.ndarray  #: occupied fraction of the nominal head count [1], 0-1
    ahu_on: np.ndarray  #: bool: air-handling units scheduled on
    heating_comfort: np.ndarray  #: bool: heating at comfort (not setback) level


def site_calendar(times: pd.DatetimeIndex, timezone: str, rng: np.random.Generator) -> SiteCalendar:
    """Working days, occupancy and plant schedules on a UTC time grid.

    Parameters
    ----------
    times : DatetimeIndex of shape (n_steps,)
        The UTC simulation grid.
    timezone : str
        IANA time zone of the site (schedules are in local time, summer time included).
    rng : Generator
        Draws the day-to-day attendance level (0.75-1.0, halved in August and between
        Christmas and New Year).
    """
    local = times.tz_convert(timezone)
    hour = (local.hour + local.minute / 60.0 + local.second / 3600.0).to_numpy(dtype=float)
    dates = local.normalize().tz_localize(None)
    first = dates[0]
    day_index = ((dates - first) // pd.Timedelta(days=1)).to_numpy(dtype=np.int64)
    n_days = int(day_index[-1]) + 1 if len(day_index) else 0
    holidays: set[dt.date] = set()
    for year in range(first.year, (first + pd.Timedelta(days=n_days)).year + 1):
        holidays.update(french_public_holidays(year))
    day_dates = pd.date_range(first, periods=n_days, freq="D")
    day_working = (day_dates.day_of_week < 5) & ~np.isin(
        day_dates.date, np.array(sorted(holidays), dtype=object)
    )
    attendance = rng.uniform(0.75, 1.0, size=n_days)
    quiet = (day_dates.month == 8) | ((day_dates.month == 12) & (day_dates.day >= 24))
    attendance = np.where(quiet, 0.5 * attendance, attendance)
    working = day_working[day_index]
    xs, ys = zip(*OCCUPANCY_PROFILE, strict=True)
    profile = np.interp(hour, xs, ys)
    occupancy = np.where(working, profile * attendance[day_index], 0.0)
    ahu_on = working & (hour >= AHU_START_HOUR) & (hour < AHU_STOP_HOUR)
    heating_comfort = working & (hour >= AHU_START_HOUR - 1.0) & (hour < AHU_STOP_HOUR - 1.0)
    return SiteCalendar(
        local_hour=hour,
        day_index=day_index,
        day_of_year=local.day_of_year.to_numpy(),
        working_day=working,
        occupancy=occupancy,
        ahu_on=ahu_on,
        heating_comfort=heating_comfort,
    )
