"""Data-quality flags on small hand-built series."""

from __future__ import annotations

import numpy as np
import pandas as pd

from bms.features.quality import (
    gap_flags,
    out_of_range_flags,
    quality_flags,
    run_lengths,
    spike_flags,
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


def test_quality_flags_combine_per_column_and_share_bad_counts_points() -> None:
    wide = pd.DataFrame(
        {"sat": [15.0, 15.2, 99.0, 15.1], "valve": [0.0, 0.0, 0.0, np.nan]}, index=INDEX[:4]
    )
    flags = quality_flags(wide, {"sat": (5.0, 45.0)}, stuck_columns=["sat"], stuck_steps=3)
    assert flags.out_of_range["sat"].tolist() == [False, False, True, False]
    assert flags.gap["valve"].tolist() == [False, False, False, True]
    assert not flags.stuck.any().any()
    assert flags.share_bad().tolist() == [0.0, 0.0, 0.5, 0.5]
