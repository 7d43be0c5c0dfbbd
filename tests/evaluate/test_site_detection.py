"""Matching site detections to injected-fault ground truth."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from bms.errors import BmsError
from bms.evaluate.site_detection import (
    data_quality_hits,
    match_faults,
    names_the_fault,
    score_detections,
)

T = pd.Timestamp("2026-02-01", tz="UTC")
DAY = pd.Timedelta(days=1)


def _truth() -> pd.DataFrame:
    rows = [
        ("s/b/ahu-1", "filter_clogging", "degradation", T + 5 * DAY, T + 30 * DAY, T + 32 * DAY),
        ("s/b/pump-1", "bearing_wear", "degradation", T + 2 * DAY, T + 20 * DAY, T + 21 * DAY),
        ("s/b/ahu-2", "stuck_oa_damper", "abrupt", T + 10 * DAY, pd.NaT, T + 15 * DAY),
        ("s/b/zone-1", "bias", "sensor", T + 12 * DAY, pd.NaT, T + 14 * DAY),
        ("s/b/hx-1", "hx_fouling", "degradation", T - 30 * DAY, T - 2 * DAY, T - DAY),
        ("s/b/zone-2", "gap", "data_quality", T + 3 * DAY, pd.NaT, T + 4 * DAY),
    ]
    return pd.DataFrame(
        rows, columns=["equipment", "fault", "category", "onset", "failure", "end"]
    ).astype({"failure": "datetime64[ns, UTC]"})


def _detections() -> pd.DataFrame:
    rows = [
        ("s/b/ahu-1", T + 20 * DAY, T + 31 * DAY),  # 10 days before failure
        ("s/b/pump-1", T + 17 * DAY, T + 21 * DAY),  # 3 days before failure
        ("s/b/ahu-2", T + 10 * DAY + pd.Timedelta(hours=3), T + 12 * DAY),  # 3 h after onset
        ("s/b/chiller-1", T + 11 * DAY, T + 11.5 * DAY),  # no fault there: false
        ("s/b/zone-3", T + 40 * DAY, T + 41 * DAY),  # false, nothing else going on
    ]
    return pd.DataFrame(rows, columns=["equipment", "start", "end"])


def test_lead_delay_and_misses_are_measured() -> None:
    faults = match_faults(_detections(), _truth(), T, T + 60 * DAY).set_index("fault")
    assert faults.loc["filter_clogging", "lead_days"] == pytest.approx(10.0)
    assert faults.loc["bearing_wear", "lead_days"] == pytest.approx(3.0)
    assert faults.loc["stuck_oa_damper", "delay_hours"] == pytest.approx(3.0)
    assert not faults.loc["bias", "detected"]
    assert not faults.loc["hx_fouling", "evaluable"]  # failed before the scored period
    assert "gap" not in faults.index  # data quality is not an equipment fault


def test_summary_shares_and_false_detection_rate() -> None:
    score = score_detections(_detections(), _truth(), T, T + 60 * DAY, n_equipment=10)
    assert score.degradation_lead_share == pytest.approx(0.5)  # 10 d yes, 3 d no
    assert score.abrupt_sensor_day_share == pytest.approx(0.5)  # damper yes, bias missed
    assert len(score.false_detections) == 2
    assert score.false_detections.set_index("equipment")["fault_elsewhere"].to_dict() == {
        "s/b/chiller-1": True,  # while the damper of ahu-2 was stuck
        "s/b/zone-3": False,
    }
    months = 10 * 60 / 30.44
    assert score.false_per_10_equipment_months == pytest.approx(10 * 2 / months)
    row = score.by_fault.set_index("fault").loc["filter_clogging"]
    assert row["on_target"] == 1


def test_a_degradation_failing_right_after_training_is_not_evaluable() -> None:
    truth = _truth()
    faults = match_faults(_detections(), truth, T + 15 * DAY, T + 60 * DAY)
    pump = faults.set_index("fault").loc["bearing_wear"]
    assert not pump["evaluable"]  # fails 5 days after training: no 7-day lead possible


def test_data_quality_faults_are_checked_with_the_quality_flags() -> None:
    index = pd.date_range(T, T + 6 * DAY, freq="5min", tz="UTC")
    values = np.sin(np.arange(len(index)) / 50.0)
    frame = pd.DataFrame({"temp": values}, index=index)
    frame.loc[T + 3 * DAY : T + 3.5 * DAY, "temp"] = np.nan
    hits = data_quality_hits({"s/b/zone-2": frame}, _truth())
    assert hits["flagged"].tolist() == [True]
    assert hits["how"].tolist() == ["gap flags"]


def test_a_run_without_faults_counts_every_detection_as_false() -> None:
    truth = _truth().iloc[0:0]
    score = score_detections(_detections(), truth, T, T + 60 * DAY, n_equipment=10)
    assert len(score.false_detections) == 5
    assert np.isnan(score.degradation_lead_share)
    assert score.to_dict()["degradations"] == 0


def test_missing_columns_are_named() -> None:
    with pytest.raises(BmsError, match="detections lacks column"):
        score_detections(pd.DataFrame({"x": []}), _truth(), T, T + DAY, 1)
    with pytest.raises(BmsError, match="n_equipment"):
        score_detections(_detections(), _truth(), T, T + DAY, 0)


def test_the_first_detection_is_judged_by_the_name_it_gives() -> None:
    truth = pd.concat(
        [
            _truth(),
            pd.DataFrame(
                [
                    (
                        "s/b/ahu-3",
                        "bias",
                        "sensor",
                        T + 5 * DAY,
                        pd.NaT,
                        T + 9 * DAY,
                        "s/b/ahu-3/sat",
                    )
                ],
                columns=["equipment", "fault", "category", "onset", "failure", "end", "point"],
            ),
        ],
        ignore_index=True,
    )
    rows = [
        ("s/b/ahu-1", T + 20 * DAY, T + 31 * DAY, ("s/b/ahu-1/filter_dp",), ("filter_clogging",)),
        # a symptom every coil fault shares, then the damper's own indicator: the first counts
        ("s/b/ahu-2", T + 10.1 * DAY, T + 10.2 * DAY, ("s/b/ahu-2/sat",), ("sat_error",)),
        ("s/b/ahu-2", T + 10.5 * DAY, T + 12 * DAY, ("s/b/ahu-2/mat",), ("mixed_air_residual_k",)),
        (
            "s/b/ahu-3",
            T + 5.5 * DAY,
            T + 6 * DAY,
            ("s/b/ahu-3/sat", "s/b/ahu-3/mat"),
            ("sat_error",),
        ),
    ]
    detections = pd.DataFrame(
        rows, columns=["equipment", "start", "end", "top_points", "top_indicators"]
    )
    faults = match_faults(detections, truth, T, T + 60 * DAY)
    named = faults.apply(names_the_fault, axis=1).set_axis(faults["fault"])
    faults = faults.set_index("fault")
    assert named["filter_clogging"]
    assert not named["stuck_oa_damper"]
    assert named["bias"].tolist() == [False, True]  # zone-1 undetected; ahu-3's sat named first
    assert faults.loc["bearing_wear", "top_indicators"] == ()
