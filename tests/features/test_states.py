"""Operating states on a synthetic AHU day; condition clusters; per-state normalisation."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.utils.estimator_checks import parametrize_with_checks

from bms.errors import SchemaError
from bms.features.states import (
    AhuState,
    ConditionClusterer,
    StateNormaliser,
    StateParams,
    ahu_states,
    normalise_per_state,
    state_changes,
)

#: (from, to, fan, heating %, cooling %, damper %) local schedule of the synthetic day [h]
SCHEDULE = [
    (0, 6, 0, 0, 0, 0),
    (6, 10, 1, 60, 0, 20),  # morning warm-up: heating at minimum outdoor air
    (10, 12, 1, 0, 0, 65),  # free cooling: damper modulating
    (12, 15, 1, 0, 45, 100),  # economiser + mechanical cooling
    (15, 18, 1, 0, 70, 20),  # hot afternoon: mechanical cooling at minimum outdoor air
    (18, 20, 1, 0, 0, 20),  # ventilation only
    (20, 24, 0, 0, 0, 0),
]


@pytest.fixture
def ahu_day() -> pd.DataFrame:
    idx = pd.date_range("2026-06-01", periods=288, freq="5min", tz="UTC")
    hour = idx.hour + idx.minute / 60
    frame = pd.DataFrame(
        index=idx,
        columns=["fan_status", "heating_valve", "cooling_valve", "oa_damper"],
        dtype=float,
    )
    for begin, end, fan, heat, cool, damper in SCHEDULE:
        rows = (hour >= begin) & (hour < end)
        frame.loc[rows] = [fan, heat, cool, damper]
    return frame


def state_at(states: pd.Series, hhmm: str) -> str:
    return states.loc[pd.Timestamp(f"2026-06-01T{hhmm}:00Z")]


def test_ahu_states_over_a_synthetic_day(ahu_day: pd.DataFrame) -> None:
    states = ahu_states(ahu_day, StateParams(damper_min_pct=20.0, startup_minutes=30))
    assert state_at(states, "03:00") == AhuState.OFF
    assert state_at(states, "06:00") == AhuState.STARTUP
    assert state_at(states, "06:25") == AhuState.STARTUP
    assert state_at(states, "06:30") == AhuState.HEATING
    assert state_at(states, "11:00") == AhuState.ECONOMISER
    assert state_at(states, "13:00") == AhuState.ECONOMISER_COOLING
    assert state_at(states, "16:00") == AhuState.COOLING
    assert state_at(states, "19:00") == AhuState.VENTILATION
    assert state_at(states, "21:00") == AhuState.OFF
    counts = states.value_counts()
    assert counts[AhuState.OFF] == 10 * 12
    assert counts[AhuState.STARTUP] == 6
    assert counts[AhuState.HEATING] == 4 * 12 - 6


def test_fan_speed_stands_in_for_a_missing_fan_status(ahu_day: pd.DataFrame) -> None:
    by_speed = ahu_day.assign(fan_speed=ahu_day["fan_status"] * 60).drop(columns="fan_status")
    assert ahu_states(by_speed).equals(ahu_states(ahu_day))
    no_fan = ahu_day.drop(columns="fan_status")
    assert set(ahu_states(no_fan)) == {AhuState.UNKNOWN}


def test_both_valves_open_is_unknown_and_state_changes_count_hunting(
    ahu_day: pd.DataFrame,
) -> None:
    ahu_day.loc[ahu_day.index[160], ["heating_valve", "cooling_valve"]] = [20, 20]
    states = ahu_states(ahu_day)
    assert states.iloc[160] == AhuState.UNKNOWN
    changes = state_changes(states, "1h")
    assert changes.iloc[161] == 2  # 13:25: into unknown and back out
    assert changes.max() == 2
    assert changes.iloc[100] == 0


def test_condition_clusterer_separates_two_regimes(rng: np.random.Generator) -> None:
    low = rng.normal([0.0, 10.0], 0.5, size=(100, 2))
    high = rng.normal([30.0, 80.0], 0.5, size=(100, 2))
    X = np.vstack([low, high, [[np.nan, 5.0]]])
    labels = ConditionClusterer(n_clusters=2, random_state=0).fit(X).predict(X)
    assert len(set(labels[:100])) == 1 and len(set(labels[100:200])) == 1
    assert labels[0] != labels[150]
    assert labels[-1] == -1  # incomplete row
    with pytest.raises(SchemaError, match="at least 3 complete rows"):
        ConditionClusterer(n_clusters=3).fit(X[:2])


def test_normalise_per_state_z_scores_within_each_state() -> None:
    frame = pd.DataFrame({"x": [1.0, 3.0, 10.0, 30.0]})
    states = pd.Series(["a", "a", "b", "b"])
    out, stats = normalise_per_state(frame, states)
    assert out["x"].tolist() == [-1.0, 1.0, -1.0, 1.0]
    later, _ = normalise_per_state(
        pd.DataFrame({"x": [2.0, 20.0, 5.0]}), pd.Series(["a", "b", "c"]), stats
    )
    assert later["x"].iloc[:2].tolist() == [0.0, 0.0]
    assert np.isnan(later["x"].iloc[2])  # a state not seen in fit
    normaliser = StateNormaliser().fit(frame.assign(state=states))
    assert normaliser.transform(frame.assign(state=states))["x"].tolist() == [-1.0, 1, -1, 1]


@parametrize_with_checks([ConditionClusterer(n_clusters=2)])
def test_condition_clusterer_follows_the_sklearn_estimator_contract(estimator, check) -> None:
    check(estimator)
