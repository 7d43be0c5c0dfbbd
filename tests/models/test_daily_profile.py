"""Daily profiles: a signal that follows the clock is judged against its value for the hour."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from bms.models.anomaly_pipeline import TimeSeriesDetector
from bms.models.daily_profile import DailyProfile, time_of_day_basis

STEPS_PER_DAY = 288  # 5-minute rows


def room_temperature(
    rng: np.random.Generator, days: int, start: str = "2026-03-02"
) -> pd.DataFrame:
    """A temperature with a daily swing of +-3 K (warm afternoons) and 0.3 K of noise."""
    index = pd.date_range(start, periods=days * STEPS_PER_DAY, freq="5min")
    hours = index.hour + index.minute / 60
    swing = 3.0 * np.sin(2 * np.pi * (hours - 9) / 24)
    values = 20.0 + swing + rng.normal(0, 0.3, len(index))
    return pd.DataFrame({"temp": values}, index=index)


def test_a_shift_within_the_daily_range_is_flagged_against_the_profile(rng):
    # +2 K through the night: still inside the day's 17-23 C range, 6 s.d. above the night's
    train, test = room_temperature(rng, 7), room_temperature(rng, 4, start="2026-03-09")
    night = (test.index >= "2026-03-11 00:00") & (test.index < "2026-03-11 06:00")
    test.loc[night, "temp"] += 2.0
    after = test.index >= "2026-03-11 09:00"  # the smoothing has let go by then
    normal = ~night & ((test.index < "2026-03-11 00:00") | after)

    model = TimeSeriesDetector().fit(train)
    flags = model.score(test, contributions=False)["anomaly"].to_numpy()
    assert model.profiled_signals_ == ["temp"]
    assert flags[night].mean() > 0.8
    # minus its profile the signal is white noise, flagged as white noise is: 1.2 % of rows on
    # average over 20 seeds, 10 % at the worst (the same with or without the daily swing)
    assert flags[normal].mean() < 0.1

    blind = TimeSeriesDetector(daily_profiles=False).fit(train)
    assert blind.profiled_signals_ == []
    assert blind.score(test, contributions=False)["anomaly"].to_numpy()[night].mean() < 0.3


def test_no_profile_for_a_signal_without_a_daily_pattern(rng):
    index = pd.date_range("2026-03-02", periods=7 * STEPS_PER_DAY, freq="5min")
    frame = pd.DataFrame(
        {
            "noise": rng.normal(0, 1, len(index)),
            "walk": np.cumsum(rng.normal(0, 0.1, len(index))),
        },
        index=index,
    )
    model = TimeSeriesDetector().fit(frame)
    assert model.profiled_signals_ == []
    assert (model.daily_profile_.held_out_r2_ <= 0).all()


def test_no_profile_with_a_mode_signal_too_few_days_or_no_times(rng):
    frame = room_temperature(rng, 7)
    # a fan status: the operating regimes carry the schedule, a profile would count it twice
    with_status = frame.assign(fan=(frame.index.hour >= 7) & (frame.index.hour < 19))
    assert TimeSeriesDetector().fit(with_status.astype(float)).profiled_signals_ == []
    # two days cannot be held out one at a time against another
    assert TimeSeriesDetector().fit(frame.iloc[: 2 * STEPS_PER_DAY]).profiled_signals_ == []
    # office hours only: a profile would be extrapolated into the night
    office = frame[(frame.index.hour >= 8) & (frame.index.hour < 18)]
    assert TimeSeriesDetector().fit(office).profiled_signals_ == []
    # rows without times
    assert TimeSeriesDetector().fit(frame.reset_index(drop=True)).profiled_signals_ == []


def test_training_days_are_judged_by_the_profile_of_the_other_days(rng):
    """Cross-fitting: each training day minus the profile fitted on the *other* days, so the
    training rows vary as much as a new day will; new rows minus the profile of every day."""
    frame = room_temperature(rng, 4)
    # each day's afternoon a little different: the weather
    day_number = (frame.index.normalize() - frame.index[0].normalize()).days
    frame["temp"] += 0.5 * np.sin(2 * np.pi * frame.index.hour / 24) * np.asarray(day_number)
    values = frame.to_numpy()
    profile = DailyProfile()
    crossed = profile.fit_transform(values, frame.index)
    assert profile.profiled_.tolist() == [True]

    basis = time_of_day_basis(frame.index)
    in_sample = values - basis @ profile.coefficients_
    # both keep the mean level (units), and held-out days are harder to predict
    assert crossed.mean() == pytest.approx(values.mean(), abs=0.3)
    assert crossed.std() > 1.05 * in_sample.std()
    np.testing.assert_allclose(profile.transform(values, frame.index), in_sample)


def test_scoring_rows_without_times_is_refused_once_a_profile_is_learnt(rng):
    model = TimeSeriesDetector().fit(room_temperature(rng, 7))
    test = room_temperature(rng, 1, start="2026-03-09").reset_index(drop=True)
    with pytest.raises(ValueError, match="index the rows to score by time"):
        model.score(test)


def test_a_small_swing_on_a_large_reading_is_found(rng):
    # an absolute pressure: 101,325 Pa swinging by 5 Pa over the day, 0.5 Pa of noise
    index = pd.date_range("2026-03-02", periods=5 * STEPS_PER_DAY, freq="5min")
    swing = 5.0 * np.cos(2 * np.pi * index.hour.to_numpy() / 24)
    values = (101_325.0 + swing + rng.normal(0, 0.5, len(index))).reshape(-1, 1)
    profile = DailyProfile().fit(values, index)
    assert profile.profiled_.tolist() == [True]
    assert profile.held_out_r2_[0] > 0.9
