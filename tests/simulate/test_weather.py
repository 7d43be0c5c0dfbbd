"""Besançon weather: climate normals, daily cycle, persistence, humidity and sun."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from bms.simulate.weather import simulate_weather


@pytest.fixture(scope="module")
def year() -> pd.DataFrame:
    times = pd.date_range("2026-01-01", periods=365 * 96, freq="15min", tz="UTC")
    return simulate_weather(times, 47.2378, 6.0241, np.random.default_rng(3))


def test_monthly_means_follow_the_climate_normals(year: pd.DataFrame) -> None:
    monthly = year["oat"].resample("MS").mean()
    assert -1.0 < monthly.iloc[0] < 5.0  # January ~2 °C
    assert 17.0 < monthly.iloc[6] < 23.0  # July ~20 °C


def test_the_daily_range_is_larger_in_summer(year: pd.DataFrame) -> None:
    daily = year["oat"].resample("D").agg(["min", "max"])
    spread = (daily["max"] - daily["min"]).resample("MS").mean()
    assert 5.0 < spread.iloc[0] < spread.iloc[6] < 14.0


def test_weather_persists_over_days(year: pd.DataFrame) -> None:
    anomaly = year["oat"].resample("D").mean()
    anomaly = anomaly - anomaly.rolling(31, center=True, min_periods=1).mean()
    assert anomaly.autocorr(lag=1) > 0.5


def test_humidity_is_anti_correlated_with_temperature(year: pd.DataFrame) -> None:
    assert np.corrcoef(year["oat"], year["rh"])[0, 1] < -0.3
    assert year["rh"].between(0, 100).all()


def test_irradiance_follows_the_sun(year: pd.DataFrame) -> None:
    local_hour = year.index.tz_convert("Europe/Paris").hour
    assert year["ghi"][(local_hour < 4) | (local_hour >= 23)].max() == 0.0
    noon = year["ghi"][(year.index.hour >= 11) & (year.index.hour < 12)]
    assert noon.resample("MS").mean().iloc[6] > 2 * noon.resample("MS").mean().iloc[0]
    assert 700.0 < year["ghi"].max() < 1100.0
