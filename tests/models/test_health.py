"""The health index: 100 when healthy, lower with degradation, explained by its contributors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from bms.models.health import (
    ISO_10816_ZONES_MM_S,
    HealthConfigError,
    HealthIndex,
    Indicator,
    anomaly_degradation,
    combine_health,
    cop_loss_fraction,
    explain_health,
    filter_dp_at_nominal_flow_pa,
    normalised_degradation,
    rul_degradation,
    vibration_degradation,
)


def _hours(n: int) -> pd.DatetimeIndex:
    return pd.date_range("2026-01-05", periods=n, freq="h", tz="UTC")


def _penalties(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.filter(like="penalty_")


# Degradations -------------------------------------------------------------------------------
def test_degradation_runs_from_baseline_to_limit_in_either_direction():
    rising = normalised_degradation(np.array([50.0, 100.0, 175.0, 250.0, 400.0]), 100.0, 250.0)
    np.testing.assert_allclose(rising, [0.0, 0.0, 0.5, 1.0, 1.0])
    falling = normalised_degradation(np.array([5.0, 4.0, 3.0]), 5.0, 3.0)  # e.g. a COP
    np.testing.assert_allclose(falling, [0.0, 0.5, 1.0])
    assert np.isnan(normalised_degradation(np.nan, 0.0, 1.0))
    with pytest.raises(HealthConfigError, match="limit 2.0 must differ from baseline 2.0"):
        normalised_degradation(1.0, 2.0, 2.0)


def test_anomaly_scores_below_the_threshold_cost_nothing():
    np.testing.assert_allclose(
        anomaly_degradation(np.array([0.0, 0.3, 0.5, 0.75, 1.0])), [0.0, 0.0, 0.0, 0.5, 1.0]
    )


def test_vibration_uses_iso_10816_zones_of_the_machine_class():
    assert ISO_10816_ZONES_MM_S["II"] == (1.12, 2.8, 7.1)
    assert vibration_degradation(1.0) == 0.0
    assert vibration_degradation(7.1) == 1.0
    assert vibration_degradation(2.8) == pytest.approx((2.8 - 1.12) / (7.1 - 1.12))
    assert vibration_degradation(4.5, machine_class="I") == 1.0
    assert vibration_degradation(2.0, baseline_mm_s=2.0) == 0.0
    with pytest.raises(HealthConfigError, match="machine_class 'V'"):
        vibration_degradation(1.0, machine_class="V")


def test_filter_pressure_drop_is_scaled_to_nominal_flow_and_undefined_at_low_flow():
    dp = pd.Series([100.0, 25.0, 10.0])
    scaled = filter_dp_at_nominal_flow_pa(dp, np.array([2.0, 1.0, 0.2]), nominal_flow_m3_s=2.0)
    assert scaled.iloc[0] == pytest.approx(100.0)
    assert scaled.iloc[1] == pytest.approx(100.0)  # half flow, a quarter of the drop: same filter
    assert np.isnan(scaled.iloc[2])  # 10 % of nominal flow: fan off, no verdict


def test_cop_loss_and_rul_degradations():
    assert cop_loss_fraction(3.0, 4.0) == pytest.approx(0.25)
    np.testing.assert_allclose(
        rul_degradation(np.array([400.0, 90.0, 45.0, 0.0]), 90.0), [0.0, 0.0, 0.5, 1.0]
    )
    with pytest.raises(HealthConfigError, match="horizon must be positive"):
        rul_degradation(10.0, 0.0)


# Combination --------------------------------------------------------------------------------
def test_healthy_inputs_give_100_and_no_penalty():
    health, penalties = explain_health({"anomaly": 0.0, "vibration": 0.0, "filter": 0.0})
    assert health == 100.0
    assert penalties == {"anomaly": 0.0, "vibration": 0.0, "filter": 0.0}


def test_penalties_sum_to_the_health_lost_and_health_stays_in_bounds(rng):
    raw = rng.uniform(-0.5, 1.5, size=(500, 4))  # includes values beyond both ends
    raw[rng.random(raw.shape) < 0.1] = np.nan
    degradations = pd.DataFrame(raw, columns=["anomaly", "vibration", "filter", "rul"])
    result = combine_health(degradations, {"anomaly": 0.5, "filter": 0.8})

    known = result["health"].notna()
    assert result.loc[known, "health"].between(0.0, 100.0).all()
    np.testing.assert_allclose(
        _penalties(result)[known].sum(axis=1), 100.0 - result.loc[known, "health"], atol=1e-9
    )
    assert (_penalties(result)[known] >= 0).all().all()


def test_health_decreases_as_an_indicator_degrades():
    vibration_mm_s = np.linspace(0.5, 9.0, 40)
    index = HealthIndex(indicators=[Indicator.vibration("vibration_mm_s")])
    result = index.compute(indicators=pd.DataFrame({"vibration_mm_s": vibration_mm_s}, _hours(40)))

    assert result["health"].iloc[0] == 100.0
    assert (np.diff(result["health"]) <= 0).all() and result["health"].iloc[20] < 100.0
    assert result["health"].iloc[-1] == 0.0  # beyond zone D with weight 1: at its limit
    np.testing.assert_allclose(result["penalty_vibration_mm_s"], 100.0 - result["health"])


def test_contributors_compound_and_the_worse_one_explains_more():
    health, penalties = explain_health({"filter": 0.5, "vibration": 0.2})
    assert health == pytest.approx(100.0 * 0.5 * 0.8)
    assert penalties["filter"] > penalties["vibration"] > 0.0
    failed, shares = explain_health({"filter": 1.0, "vibration": 0.5})
    assert failed == 0.0 and shares == {"filter": 100.0, "vibration": 0.0}


def test_missing_contributors_are_left_out_and_no_data_is_not_health():
    health, penalties = explain_health({"filter": 0.5, "vibration": np.nan})
    assert health == pytest.approx(50.0) and penalties["vibration"] == 0.0
    no_data, _ = explain_health({"filter": np.nan, "vibration": np.nan})
    assert np.isnan(no_data)


def test_weights_must_lie_between_zero_and_one():
    with pytest.raises(HealthConfigError, match=r"weights must lie in \[0, 1\].*'filter': 1.5"):
        explain_health({"filter": 0.5}, {"filter": 1.5})
    with pytest.raises(HealthConfigError, match="unknown contributors: pump"):
        explain_health({"filter": 0.5}, {"pump": 0.5})


# The HealthIndex class ----------------------------------------------------------------------
def test_health_index_combines_smoothed_anomaly_indicators_and_rul():
    times = _hours(24)
    score = pd.Series(0.2, times)
    score.iloc[10] = 1.0  # one odd hour
    filter_dp_pa = pd.Series(np.linspace(100.0, 175.0, 24), times)
    rul_days = pd.Series([200.0, 45.0], times[[0, 12]])  # daily RUL, carried forward
    index = HealthIndex(
        indicators=[Indicator("filter_dp_pa", baseline=100.0, limit=250.0)],
        anomaly_window="6h",
        rul_horizon=90.0,
    )
    result = index.compute(score, pd.DataFrame({"filter_dp_pa": filter_dp_pa}), rul_days)

    assert list(result.columns) == [
        "health",
        "penalty_anomaly",
        "penalty_filter_dp_pa",
        "penalty_rul",
    ]
    assert result["health"].iloc[0] == 100.0
    assert result["penalty_anomaly"].max() == 0.0  # smoothed: one hour at 1.0 stays under 0.5
    assert result["penalty_rul"].iloc[11] == 0.0 and result["penalty_rul"].iloc[12] > 0.0
    assert result["health"].iloc[-1] == pytest.approx(100.0 * (1 - 0.5) * (1 - 0.5))
    np.testing.assert_allclose(_penalties(result).sum(axis=1), 100.0 - result["health"])


def test_a_persistent_anomaly_lowers_health_by_at_most_its_weight():
    score = pd.Series(1.0, _hours(12))
    result = HealthIndex(anomaly_weight=0.5).compute(anomaly_score=score)
    assert result["health"].iloc[-1] == pytest.approx(50.0)


def test_health_index_names_a_missing_indicator_column():
    index = HealthIndex(indicators=[Indicator("approach_k", baseline=2.0, limit=6.0)])
    with pytest.raises(HealthConfigError, match="indicator column 'approach_k' is missing"):
        index.compute(indicators=pd.DataFrame({"other": [1.0]}))
    with pytest.raises(HealthConfigError, match="needs an anomaly score"):
        HealthIndex().compute()
