"""Operating points: a signal that moves with noisy settings is judged at its point."""

from __future__ import annotations

import numpy as np
import pandas as pd

from bms.models.anomaly_pipeline import TimeSeriesDetector
from bms.models.operating_points import OperatingPoints, find_setting_levels

ALTITUDES = np.array([0.0, 10.0, 20.0, 25.0, 35.0, 42.0])  # C-MAPSS FD002's, kft


def flights(rng: np.random.Generator, n: int, offsets: np.ndarray) -> pd.DataFrame:
    """An engine flown at a random one of six altitudes each row: the altitude with 0.002 kft
    of noise, and a temperature whose level at each altitude is ``offsets`` (0.5 K of noise)."""
    point = rng.integers(0, len(ALTITUDES), n)
    return pd.DataFrame(
        {
            "altitude": ALTITUDES[point] + rng.normal(0, 0.002, n),
            "temperature": 600.0 + offsets[point] + rng.normal(0, 0.5, n),
        }
    )


def test_noisy_settings_are_found_and_readings_are_not(rng):
    altitude = flights(rng, 300, np.zeros(6))["altitude"].to_numpy()
    np.testing.assert_allclose(find_setting_levels(altitude), ALTITUDES, atol=0.01)
    assert find_setting_levels(rng.normal(0, 1, 300)) is None  # a measurement
    # a reading quantised on a grid: one exact value per cluster
    assert find_setting_levels(np.round(rng.normal(0, 0.0003, 50), 4)) is None
    # three levels with a little float noise (SKAB's flow, 31 / 32 / 33 l/min): a mode's count
    flow = rng.choice([31.0, 32.0, 33.0], 400) + rng.normal(0, 0.001, 400)
    assert find_setting_levels(flow) is None
    # clusters too wide to be a setting's noise: a fan modulating between two speeds
    speed = np.r_[rng.uniform(0, 5, 100), rng.uniform(40, 100, 100), rng.uniform(150, 160, 100)]
    assert find_setting_levels(np.r_[speed, rng.uniform(200, 210, 100)]) is None


def test_a_small_fault_is_seen_against_its_operating_point(rng):
    # the altitude moves the temperature by up to 40 K, a fault by 3 K (6 s.d. of its noise)
    offsets = np.array([0.0, -12.0, 25.0, 40.0, -30.0, 8.0])
    train, test = flights(rng, 600, offsets), flights(rng, 600, offsets)
    test.loc[300:, "temperature"] += 3.0

    model = TimeSeriesDetector().fit(train)
    assert model.point_signals_ == ["temperature"] and model.setting_signals_ == ["altitude"]
    flags = model.score(test, contributions=False)["anomaly"].to_numpy()
    assert flags[340:].mean() > 0.9 and flags[:300].mean() < 0.05

    blind = TimeSeriesDetector(operating_points=False).fit(train)
    assert blind.point_signals_ == []
    assert blind.score(test, contributions=False)["anomaly"].to_numpy()[340:].mean() < 0.5


def test_training_occasions_are_judged_by_the_other_occasions_means(rng):
    offsets = np.array([0.0, -12.0, 25.0, 40.0, -30.0, 8.0])
    frame = flights(rng, 400, offsets)
    values = frame.to_numpy()
    points = OperatingPoints()
    crossed = points.fit_transform(values)
    assert points.centred_.tolist() == [False, True]  # the setting defines the point
    assert points.held_out_r2_[1] > 0.99
    # new rows minus the means of every occasion; training rows minus those of the others:
    # both keep the overall level, and the held-out ones vary a little more
    in_sample = points.transform(values)
    assert crossed[:, 1].mean() == np.float64(crossed[:, 1].mean())
    assert abs(crossed[:, 1].mean() - values[:, 1].mean()) < 0.1
    assert 1.0 < crossed[:, 1].std() / in_sample[:, 1].std() < 1.1
    np.testing.assert_array_equal(crossed[:, 0], values[:, 0])


def test_no_point_means_without_settings_or_for_a_signal_they_do_not_move(rng):
    frame = flights(rng, 400, np.zeros(6))  # the temperature ignores the altitude
    points = OperatingPoints()
    out = points.fit_transform(frame.to_numpy())
    assert points.setting_columns_ == [0]
    # point means of pure noise predict held-out occasions no better than the overall mean
    # (R² about -0.01; kept by chance where just above 0, then they move it by noise only)
    assert points.held_out_r2_[1] < 0.02
    assert np.abs(out - frame.to_numpy()).max() < 0.3
    plain = rng.normal(0, 1, (300, 3))
    points = OperatingPoints()
    assert points.fit_transform(plain) is plain and points.setting_columns_ == []


def test_a_point_the_training_rows_never_hold_keeps_its_values(rng):
    offsets = np.array([0.0, -12.0, 25.0, 40.0, -30.0, 8.0])
    train = flights(rng, 400, offsets)
    train = train[train["altitude"] < 40.0]  # never at 42 kft
    points = OperatingPoints()
    points.fit_transform(train.to_numpy())
    unseen = np.array([[42.0, 608.0], [10.0, 588.0]])
    out = points.transform(unseen)
    assert out[0, 1] == 608.0  # no means learnt at 42 kft
    # at 10 kft, 588 K is the usual level (600 - 12): minus its point mean, the overall mean
    assert abs(out[1, 1] - train["temperature"].mean()) < 0.3


def test_no_point_means_when_no_point_is_held_twice(rng):
    # each altitude flown once, in one run of rows: nothing to hold out, nothing learnt
    frame = flights(rng, 600, np.array([0.0, -12.0, 25.0, 40.0, -30.0, 8.0]))
    frame = frame.sort_values("altitude", ignore_index=True)
    points = OperatingPoints()
    out = points.fit_transform(frame.to_numpy())
    assert points.setting_columns_ == [0] and not points.centred_.any()
    np.testing.assert_array_equal(out, frame.to_numpy())
    np.testing.assert_array_equal(points.transform(frame.to_numpy()), frame.to_numpy())
