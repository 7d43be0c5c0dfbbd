"""Gaps in time split a series into stretches: the detector does not read a jump across them."""

from __future__ import annotations

import numpy as np
import pandas as pd

from bms.models.anomaly_pipeline import TimeSeriesDetector, segment_bounds


def test_a_gap_longer_than_a_window_starts_a_stretch() -> None:
    minutes = pd.date_range("2026-01-01", periods=10, freq="min")
    one_missing = minutes.delete(4)
    next_day = minutes.append(minutes + pd.Timedelta(days=2))
    assert segment_bounds(one_missing, window_rows=3) == [(0, 9)]
    assert segment_bounds(next_day, window_rows=3) == [(0, 10), (10, 20)]
    assert segment_bounds(minutes.append(minutes[:3]), window_rows=3) == [(0, 10), (10, 13)]
    assert segment_bounds(pd.RangeIndex(10), window_rows=3) == [(0, 10)]
    # newest first: not an order to split by, read as given
    assert segment_bounds(minutes[::-1], window_rows=3) == [(0, 10)]


def _days(rng: np.random.Generator, days: list[int]) -> pd.DataFrame:
    """Minute data of two signals whose levels shift from one day to the next (the weather),
    each day a smooth daily cycle: fault-free. Day ``d`` and day ``d + 1`` join smoothly; day
    ``d`` and day ``d + 2`` do not."""
    t = np.arange(1440)
    cycle = np.sin(2 * np.pi * t / 1440)
    frames = []
    for day in days:
        drift = (day + t / 1440) * np.array([[0.8], [-0.6]])  # changes smoothly across days
        a, b = drift + cycle + rng.normal(0, 0.05, (2, 1440))
        index = pd.date_range("2026-03-01", periods=1440, freq="min") + pd.Timedelta(days=day)
        frames.append(pd.DataFrame({"a": a, "b": b}, index))
    return pd.concat(frames)


def test_days_picked_one_in_two_teach_no_jump_at_their_boundaries(
    rng: np.random.Generator,
) -> None:
    # trained on every other day, scored on the others; on the last day 'b' steps by 0.5
    train, test = _days(rng, list(range(0, 20, 2))), _days(rng, list(range(1, 20, 2)))
    fault = np.arange(len(test)) >= len(test) - 720
    test.loc[fault, "b"] += 0.5
    first_hour = np.tile(np.arange(1440) < 60, 10)
    fault_hour = fault & ~np.roll(fault, 60)
    timed = TimeSeriesDetector().fit(train)
    assert timed.n_train_segments_ == 10
    flagged = timed.score(test)["anomaly"].to_numpy()
    assert flagged[first_hour & ~fault].mean() < 0.01  # no alarm where the days join
    assert flagged[~fault].mean() < 0.02
    assert flagged[fault_hour].mean() > 0.8
    # the same rows numbered instead of timed: the jumps where training days join look normal,
    # the threshold rises to cover them, and the step is missed
    numbered = TimeSeriesDetector().fit(train.reset_index(drop=True))
    assert numbered.threshold_ > 1.5 * timed.threshold_
    flagged = numbered.score(test.reset_index(drop=True))["anomaly"].to_numpy()
    assert flagged[fault_hour].mean() < 0.1


def test_contributions_restart_after_a_gap_as_the_anomaly_does(rng: np.random.Generator) -> None:
    # a fault on 'a' runs up to the end of one day; the next stretch, a day later, is normal
    train = _days(rng, list(range(0, 10, 2)))
    test = _days(rng, [11, 13])
    test.iloc[1000:1440, 0] += 3.0
    model = TimeSeriesDetector().fit(train)
    together = model.score(test).iloc[1440:]
    alone = model.score(test.iloc[1440:])
    # the stretch after the gap is scored as if it came alone: score and shares alike owe
    # nothing to the fault before the gap
    pd.testing.assert_frame_equal(together, alone)
