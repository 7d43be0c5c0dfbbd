"""TrendRUL: degradation-trend extrapolation to a limit, with honest quantiles in days."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from bms.models.rul_trend import QUANTILE_COLUMNS, TrendRUL, TrendRULError, reset_points, trend_rul


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(42)


def _frame(t: np.ndarray, y: np.ndarray, unit: str = "a") -> pd.DataFrame:
    return pd.DataFrame({"unit": unit, "time": t, "value": y})


def test_linear_wear_is_extrapolated_to_its_limit(rng: np.random.Generator) -> None:
    t = np.arange(0.0, 30.0)
    y = 100.0 + 5.0 * t + rng.normal(0.0, 1.0, t.size)  # reaches 450 at t = 70
    result = trend_rul(t, y, 450.0, t_now=30.0)
    assert result.state == "degrading"
    assert result.rul_p10 <= 40.0 <= result.rul_p90
    assert result.rul_p50 == pytest.approx(40.0, rel=0.1)


def test_exponential_wear_like_a_bearing_is_not_overestimated(rng: np.random.Generator) -> None:
    duration = 40.0
    t = np.arange(0.0, 30.0)
    x = t / duration
    y = 2.0 + 5.8 * (np.exp(4 * x) - 1) / (np.exp(4) - 1) + rng.normal(0, 0.02, t.size)
    limit = 2.0 + 5.8 * (np.exp(4 * 0.95) - 1) / (np.exp(4) - 1)  # crossed at t = 38
    result = trend_rul(t, y, limit, t_now=30.0)
    assert result.rul_p50 == pytest.approx(8.0, abs=2.5)
    assert result.rul_p10 <= 8.0 <= result.rul_p90


def test_interval_covers_most_power_law_curves(rng: np.random.Generator) -> None:
    covered = []
    for _ in range(40):
        duration = rng.uniform(25, 55)
        power = rng.uniform(1.0, 2.5)
        horizon = rng.choice([7.0, 14.0])
        t = np.arange(0.0, duration - horizon)
        y = 1.0 + 3.0 * (t / duration) ** power + rng.normal(0, 0.01, t.size)
        result = trend_rul(t, y, 4.0, t_now=duration - horizon)
        covered.append(result.rul_p10 <= horizon <= result.rul_p90)
    assert 0.6 <= np.mean(covered) <= 1.0


def test_flat_indicator_has_no_finite_rul(rng: np.random.Generator) -> None:
    t = np.arange(0.0, 30.0)
    result = trend_rul(t, 2.0 + rng.normal(0, 0.05, t.size), 7.1, t_now=30.0)
    assert result.state == "stable"
    assert np.isinf([result.rul_p10, result.rul_p50, result.rul_p90]).all()


def test_beyond_the_limit_the_rul_is_zero() -> None:
    t = np.arange(0.0, 10.0)
    result = trend_rul(t, 440.0 + 2 * t, 450.0, t_now=10.0)
    assert result.state == "at_limit"
    assert (result.rul_p10, result.rul_p50, result.rul_p90) == (0.0, 0.0, 0.0)


def test_too_few_recent_points_give_nan() -> None:
    result = trend_rul(np.array([0.0, 1.0, 2.0]), np.array([1.0, 2.0, 3.0]), 10.0, t_now=3.0)
    assert result.state == "insufficient"
    assert np.isnan(result.rul_p50)


def test_a_maintenance_reset_starts_a_new_segment(rng: np.random.Generator) -> None:
    t = np.arange(0.0, 60.0)
    y = np.where(t < 30, 120 + 10 * t, 120.0) + rng.normal(0, 1.0, t.size)  # filter changed
    assert 30 in reset_points(y, 450.0)
    assert trend_rul(t, y, 450.0, t_now=60.0).state == "stable"


def test_estimator_handles_units_datetimes_and_falling_indicators(rng: np.random.Generator) -> None:
    times = pd.date_range("2026-01-01", periods=25, freq="1D", tz="UTC")
    rising = _frame(times, 0.02 + 0.004 * np.arange(25), "belt")  # 0.25 at day 57.5
    falling = _frame(times, 1.0 - 0.02 * np.arange(25), "cop")  # crosses 0.4 at day 30
    model = TrendRUL(limit=0.25).fit(rising)
    out = model.predict_quantiles(rising, as_of=times[-1])
    assert list(out.columns) == list(QUANTILE_COLUMNS)
    assert out.loc["belt", "rul_p50"] == pytest.approx(57.5 - 24, rel=0.1)
    down = TrendRUL(limit=0.4, increasing=False).fit(falling)
    details = down.predict_details(falling)
    assert details.loc["cop", "rul_p50"] == pytest.approx(6.0, rel=0.15)
    assert details.loc["cop", "slope_per_day"] < 0
    assert model.predict(rising).shape == (1,)


def test_quantiles_are_ordered_and_reproducible(rng: np.random.Generator) -> None:
    t = np.arange(0.0, 20.0)
    frame = _frame(t, 1.0 + 0.05 * t**1.5 + rng.normal(0, 0.05, t.size))
    first = TrendRUL(limit=10.0, random_state=3).fit(frame).predict_quantiles(frame)
    again = TrendRUL(limit=10.0, random_state=3).fit(frame).predict_quantiles(frame)
    pd.testing.assert_frame_equal(first, again)
    row = first.iloc[0]
    assert row["rul_p10"] <= row["rul_p50"] <= row["rul_p90"]


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"models": ("cubic",)}, "models must name"),
        ({"window_days": 0}, "window_days must be positive"),
        ({"min_points": 2}, "min_points must be at least 3"),
        ({"relative_error": -1}, "relative_error must be >= 0"),
        ({"limit": float("nan")}, "limit must be a finite number"),
    ],
)
def test_bad_settings_are_refused(params: dict, message: str) -> None:
    frame = _frame(np.arange(10.0), np.arange(10.0))
    with pytest.raises(TrendRULError, match=message):
        TrendRUL(**params).fit(frame)


def test_missing_columns_are_named() -> None:
    with pytest.raises(ValueError, match="X lacks column 'value'"):
        TrendRUL().fit(pd.DataFrame({"time": [1.0, 2.0]}))
