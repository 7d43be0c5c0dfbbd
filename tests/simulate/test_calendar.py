"""The French calendar: Easter, public holidays, working days and schedules in local time."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from bms.simulate.calendar import easter_sunday, french_public_holidays, site_calendar


@pytest.mark.parametrize(
    ("year", "easter"),
    [(2024, dt.date(2024, 3, 31)), (2025, dt.date(2025, 4, 20)), (2026, dt.date(2026, 4, 5)),
     (2027, dt.date(2027, 3, 28)), (2038, dt.date(2038, 4, 25))],
)  # fmt: skip
def test_easter_sunday_matches_the_published_dates(year: int, easter: dt.date) -> None:
    assert easter_sunday(year) == easter


def test_the_eleven_french_public_holidays_of_2026() -> None:
    holidays = french_public_holidays(2026)
    assert len(holidays) == 11
    assert holidays[dt.date(2026, 4, 6)] == "Lundi de Pâques"
    assert holidays[dt.date(2026, 5, 14)] == "Ascension"  # a Thursday, 39 days after Easter
    assert holidays[dt.date(2026, 5, 25)] == "Lundi de Pentecôte"
    assert {dt.date(2026, 7, 14), dt.date(2026, 11, 11), dt.date(2026, 12, 25)} <= set(holidays)


def _week(start: str) -> tuple[pd.DatetimeIndex, object]:
    times = pd.date_range(start, periods=7 * 288, freq="5min", tz="UTC")
    return times, site_calendar(times, "Europe/Paris", np.random.default_rng(0))


def test_no_occupancy_on_weekends_and_holidays_and_offices_full_at_ten() -> None:
    times, cal = _week("2026-05-11")  # Monday; Thursday 14 May is Ascension
    local = times.tz_convert("Europe/Paris")
    at_ten = (local.hour == 10) & (local.minute == 0)
    occupied = cal.occupancy[at_ten]
    assert list(occupied > 0.3) == [True, True, True, False, True, False, False]
    assert not cal.ahu_on[local.day_of_week >= 5].any()
    assert cal.occupancy[(local.hour < 7) | (local.hour >= 19)].max() == 0.0


def test_schedules_follow_local_time_across_daylight_saving() -> None:
    for start, utc_hour in (("2026-01-12", 5), ("2026-07-13", 4)):  # CET then CEST
        times, cal = _week(start)
        first_on = times[np.flatnonzero(cal.ahu_on)[0]]
        assert (first_on.hour, first_on.minute) == (utc_hour, 0)
