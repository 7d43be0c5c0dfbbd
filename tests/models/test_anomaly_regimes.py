"""Operating regimes: mode signals found unaided, a threshold per regime, strict unseen modes."""

from __future__ import annotations

import numpy as np
import pandas as pd

from bms.models import anomaly_regimes
from bms.models.anomaly_pipeline import TimeSeriesDetector
from bms.models.anomaly_regimes import (
    UNSEEN,
    OperatingRegimes,
    modelled_regimes,
    regime_thresholds,
)


def test_mode_signals_are_the_few_valued_ones(rng):
    n = 500
    values = np.column_stack(
        [
            rng.normal(20, 1, n),  # measured
            np.repeat([0.0, 1.0], n // 2),  # status
            np.full(n, 1.4),  # constant set point: not a mode
            rng.choice([55.0, 60.0, 65.0], n),  # three set point values
            rng.choice([1.0, 2.0, 3.0, 4.0], n),  # four values: quantised measurement
        ]
    )
    regimes = OperatingRegimes(transition_rows=10).fit(values)
    assert regimes.mode_columns_ == [1, 3]
    assert regimes.mode_names(["t", "fan", "sp", "mode", "q"]) == ["fan", "mode"]


def test_too_many_mode_signals_give_a_single_regime(rng):
    statuses = rng.integers(0, 2, (500, anomaly_regimes.MAX_MODE_SIGNALS + 1)).astype(float)
    regimes = OperatingRegimes(transition_rows=10).fit(statuses)
    assert regimes.mode_columns_ == []
    assert set(regimes.transform(statuses).tolist()) == {0}


def test_rows_after_a_switch_are_a_transition_and_unknown_modes_are_unseen():
    status = np.array([0.0] * 5 + [1.0] * 5)[:, None]
    regimes = OperatingRegimes(transition_rows=3).fit(status)
    codes = regimes.transform(status)
    # steady off = 0, first 3 rows after the switch to on = 2 * 1 + 1, then steady on = 2
    assert codes.tolist() == [0, 0, 0, 0, 0, 3, 3, 3, 2, 2]
    assert regimes.transform(np.array([[0.0], [0.5]])).tolist() == [0, UNSEEN]


def test_no_mode_signal_keeps_the_global_threshold(rng):
    held_out = rng.gamma(2.0, 1.0, 400)
    thresholds = regime_thresholds(
        held_out,
        held_out,
        np.zeros(400, dtype=np.int64),
        window_rows=30,
        false_alarm_rate=0.01,
        global_threshold=7.0,
    )
    assert thresholds == {0: 7.0, UNSEEN: 7.0}


def air_handler(
    rng: np.random.Generator, days: int, stuck_valve: float | None = None
) -> pd.DataFrame:
    """Minute rows of an AHU that starts at 07:00 and stops at 19:00 every day.

    Every start and stop moves every signal at once (the transients that used to set the only
    threshold); ``stuck_valve`` holds the coil valve at that opening while the fan runs
    (normal: 0.2-0.4, following the outdoor temperature).
    """
    steps = days * 1440
    hour = (np.arange(steps) % 1440) / 60.0
    fan = ((hour >= 7) & (hour < 19)).astype(float)
    outdoor = 5 + 5 * np.sin(2 * np.pi * (hour - 9) / 24) + rng.normal(0, 0.3, steps)
    # first-order response to the fan: the supply air settles within ~30 minutes
    target = np.where(fan > 0, 14.0, 19.0)
    supply = np.empty(steps)
    level = 19.0
    for i in range(steps):
        level += (target[i] - level) / 10.0
        supply[i] = level
    supply += rng.normal(0, 0.1, steps)
    valve = np.clip(0.4 - 0.02 * outdoor + rng.normal(0, 0.01, steps), 0, 1)
    if stuck_valve is not None:
        valve[:] = stuck_valve
    return pd.DataFrame({"fan": fan, "outdoor": outdoor, "supply": supply, "valve": valve * fan})


def test_a_regime_whose_held_out_anomaly_is_zero_keeps_a_positive_threshold(rng):
    held_out = np.r_[np.zeros(200), rng.gamma(2.0, 1.0, 200)]  # a damper shut all night
    regimes = np.r_[np.zeros(200, dtype=np.int64), np.full(200, 2, dtype=np.int64)]
    thresholds = regime_thresholds(
        held_out,
        held_out,
        regimes,
        window_rows=30,
        false_alarm_rate=0.01,
        global_threshold=7.0,
    )
    assert 0.0 < thresholds[0] < thresholds[2]
    assert thresholds[UNSEEN] == thresholds[0]


def test_a_stuck_valve_is_flagged_despite_daily_start_ups(rng):
    """One threshold over all rows sat above the fault: the start-ups filled its 1 % tail."""
    train = air_handler(rng, 14)
    normal = air_handler(rng, 3)
    faulty = air_handler(rng, 3, stuck_valve=0.5)
    model = TimeSeriesDetector().fit(train)
    assert model.mode_signals_ == ["fan"]
    running = (faulty["fan"] > 0).to_numpy(copy=True)
    running[: 60 * 9] = False  # first start-up of the series
    found = model.score(faulty)["anomaly"].to_numpy()
    assert found[running].mean() > 0.8
    assert model.score(normal, contributions=False)["anomaly"].mean() < 0.02


def test_a_regime_needs_several_occasions_for_a_model_of_its_own():
    regimes = np.array([0, 0, 2, 2, 0, 2, 0, 0, 4, 4, 4, UNSEEN, 0], dtype=np.int64)
    # 0 runs 4 times, 2 twice, 4 once; UNSEEN never gets a model
    assert modelled_regimes(regimes, min_episodes=3).tolist() == [0]
    assert modelled_regimes(regimes, min_episodes=2).tolist() == [0, 2]
    assert modelled_regimes(np.zeros(0, dtype=np.int64)).tolist() == []


def pump_loop(rng: np.random.Generator, hours: int, swapped: bool = False) -> pd.DataFrame:
    """Minute rows of two pumps taking turns every 2 hours: with pump A on, the flow rises with
    the valve opening; with pump B on (through a bypass), it falls. The valve wanders (AR(1),
    about 20 minutes' memory). ``swapped`` gives pump A's rows pump B's relation (a valve
    wired the wrong way, a stuck bypass): no signal leaves its training range."""
    steps = hours * 60
    pump_a = ((np.arange(steps) // 120) % 2 == 0).astype(float)
    shocks = rng.normal(0, 0.05, steps)
    valve = np.empty(steps)
    opening = 0.0
    for i in range(steps):
        opening = 0.95 * opening + shocks[i]
        valve[i] = 0.5 + opening
    sign = -np.ones(steps) if swapped else np.where(pump_a > 0, 1.0, -1.0)
    flow = 10 + 8 * sign * (valve - 0.5) + rng.normal(0, 0.1, steps)
    return pd.DataFrame({"pump_a": pump_a, "valve": valve, "flow": flow})


def test_one_model_per_operating_regime_finds_a_relation_of_the_wrong_mode(rng):
    """Flow against valve is normal in one mode and a fault in the other: a model fitted over
    both modes at once learns both relations as normal and misses it."""
    train, faulty = pump_loop(rng, 48), pump_loop(rng, 12, swapped=True)
    per_mode = TimeSeriesDetector().fit(train)
    assert per_mode.mode_signals_ == ["pump_a"]
    assert per_mode.state_column_ is not None and len(per_mode.modelled_regimes_) == 4
    steady_a = per_mode.regimes_.transform(faulty.to_numpy()) == 2  # pump A on, settled
    assert per_mode.score(faulty)["anomaly"].to_numpy()[steady_a].mean() > 0.8
    assert per_mode.score(pump_loop(rng, 12), contributions=False)["anomaly"].mean() < 0.1
    pooled = TimeSeriesDetector(mode_models=False).fit(train)
    assert pooled.score(faulty)["anomaly"].to_numpy()[steady_a].mean() < 0.2


def test_a_mode_seen_once_is_scored_by_the_model_of_every_row(rng):
    train = pump_loop(rng, 4)  # two runs of each pump: too few occasions for a model each
    model = TimeSeriesDetector().fit(train)
    assert model.mode_signals_ == ["pump_a"]
    assert model.modelled_regimes_.tolist() == []


def test_a_transition_lasts_until_the_features_no_longer_see_the_switch(rng):
    """A slow signal's feature is its change over the drift horizon of a 10-row level mean: the
    rows after a switch carry it for that long, then for one smoothing window."""
    tank = np.linspace(20.0, 35.0, 48 * 60) + rng.normal(0, 0.05, 48 * 60)  # heats all along
    train = pump_loop(rng, 48).assign(tank=tank)
    model = TimeSeriesDetector().fit(train)
    assert model.slow_signals_ == ["tank"]
    assert model.regimes_.transition_rows == model.drift_horizon_ + 10 + model.window_rows
    quick = TimeSeriesDetector().fit(pump_loop(rng, 48))
    assert quick.slow_signals_ == []
    assert quick.regimes_.transition_rows == 2 * quick.window_rows
