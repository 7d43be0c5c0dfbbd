"""Data-quality flags on small hand-built series."""

from __future__ import annotations

import numpy as np
import pandas as pd

from bms.features.quality import (
    difference_spread,
    gap_flags,
    out_of_range_flags,
    quality_flags,
    run_lengths,
    spike_flags,
    spike_mask,
    stuck_flags,
)

INDEX = pd.date_range("2026-01-01", periods=10, freq="5min", tz="UTC")


def series(values: list[float]) -> pd.Series:
    return pd.Series(values, index=INDEX[: len(values)], dtype=float)


def test_run_lengths_give_each_element_the_length_of_its_run() -> None:
    got = run_lengths(np.array([1, 1, 0, 1, 1, 1, 0], dtype=bool))
    assert got.tolist() == [2, 2, 0, 3, 3, 3, 0]


def test_gap_flags_mark_runs_of_missing_values_of_at_least_the_minimum_length() -> None:
    s = series([1, np.nan, 2, np.nan, np.nan, np.nan, 3])
    assert gap_flags(s).tolist() == [False, True, False, True, True, True, False]
    assert gap_flags(s, min_gap_steps=2).tolist() == [False] * 3 + [True] * 3 + [False]


def test_stuck_flags_mark_a_whole_flat_run_and_nothing_else() -> None:
    s = series([20.1, 20.3, 21.0, 21.0, 21.0, 21.0, 20.8, 20.9])
    assert stuck_flags(s, min_steps=4).tolist() == [False] * 2 + [True] * 4 + [False] * 2
    assert not stuck_flags(s, min_steps=5).any()


def test_a_machine_stopped_at_zero_is_not_a_stuck_sensor_unless_asked() -> None:
    s = series([0.0] * 8)
    assert not stuck_flags(s, min_steps=4).any()
    assert stuck_flags(s, min_steps=4, ignore_zero=False).all()


def test_out_of_range_flags_use_the_point_limits() -> None:
    s = series([-30.0, 10.0, 50.0, np.nan])
    assert out_of_range_flags(s, low=-25.0, high=42.0).tolist() == [True, False, True, False]
    assert out_of_range_flags(s, high=42.0).tolist() == [False, False, True, False]


def test_spike_flags_catch_a_one_step_spike_but_not_a_step_change(rng: np.random.Generator) -> None:
    noise = rng.normal(0.0, 0.1, 200)
    values = 20.0 + noise
    values[50] += 8.0  # spike: out and back
    values[120:] += 8.0  # step change: out, stays
    idx = pd.date_range("2026-01-01", periods=200, freq="5min", tz="UTC")
    flags = spike_flags(pd.Series(values, index=idx))
    assert np.flatnonzero(flags.to_numpy()).tolist() == [50]


def test_spikes_are_judged_against_a_reference_spread_and_a_holding_signal_has_one() -> None:
    """A command that mostly holds (changes of MAD 0): its changes' s.d. is the spread."""
    train = np.r_[np.zeros(100), np.full(100, 0.4), np.full(100, 0.2)]  # two moves in 300 rows
    center, scale = difference_spread(train)
    assert center == 0.0 and 0.0 < scale < 0.05
    test = np.r_[np.zeros(20), np.full(20, 0.3)]
    test[5] = 0.5  # out and back in one row: a spike
    assert np.flatnonzero(spike_mask(test, center, scale)).tolist() == [5]  # the move to 0.3 stays
    assert not spike_mask(test, center, np.inf).any()  # no spread (a constant): no spike


def test_the_spread_of_a_signal_that_often_holds_is_that_of_its_moves(rng) -> None:
    """A valve shut while the fan is off, noisy while it runs: its noise is no spike."""
    off = np.arange(2000) % 100 < 45  # the fan off 45 % of the time
    valve = np.where(off, 0.0, 0.3 + rng.normal(0, 0.01, 2000))
    _, all_changes = difference_spread(valve)
    _, moves = difference_spread(valve, moves_only=True)
    assert moves > 3 * all_changes  # 45 % of the changes are 0: their MAD is the noise's tail
    assert spike_mask(valve, 0.0, all_changes).sum() > 5  # the noise taken for spikes
    assert not spike_mask(valve, 0.0, moves).any()


def test_quality_flags_combine_per_column_and_share_bad_counts_points() -> None:
    wide = pd.DataFrame(
        {"sat": [15.0, 15.2, 99.0, 15.1], "valve": [0.0, 0.0, 0.0, np.nan]}, index=INDEX[:4]
    )
    flags = quality_flags(wide, {"sat": (5.0, 45.0)}, stuck_columns=["sat"], stuck_steps=3)
    assert flags.out_of_range["sat"].tolist() == [False, False, True, False]
    assert flags.gap["valve"].tolist() == [False, False, False, True]
    assert not flags.stuck.any().any()
    assert flags.share_bad().tolist() == [0.0, 0.0, 0.5, 0.5]


def test_the_peaks_of_an_oscillation_are_not_spikes(rng: np.random.Generator) -> None:
    """A control loop hunting (a fault to see, not a glitch to smooth away)."""
    steps = np.arange(300)
    hunting = 60 + 1.5 * np.sin(2 * np.pi * steps / 5) + rng.normal(0, 0.05, 300)
    glitch = hunting.copy()
    glitch[150] += 20.0
    assert not spike_mask(hunting, 0.0, 0.05).any()
    assert np.flatnonzero(spike_mask(glitch, 0.0, 0.05)).tolist() == [150]
