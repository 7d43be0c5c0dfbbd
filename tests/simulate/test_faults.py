"""Injected faults: the plan, the ground truth, and each degradation's signature to failure."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from bms.errors import BmsError
from bms.simulate import CATEGORIES, SimulationResult, simulate_site
from bms.simulate.faults import DEGRADATIONS
from bms.site.model import Site

BEFORE = pd.Timedelta(hours=2)


def _degradations(result: SimulationResult, fault: str) -> list:
    gt = result.ground_truth
    rows = gt[gt["fault"] == fault]
    assert len(rows) >= 1, f"no {fault} in the plan"
    return list(rows.itertuples())


def test_a_30_day_window_has_every_category(winter: SimulationResult) -> None:
    counts = winter.ground_truth["category"].value_counts()
    assert all(counts.get(c, 0) >= 1 for c in CATEGORIES), counts.to_dict()


def test_120_days_hold_a_run_to_failure_of_each_degradation_type(
    season: SimulationResult,
) -> None:
    gt = season.ground_truth
    for fault in DEGRADATIONS:
        rows = gt[gt["fault"] == fault]
        assert len(rows) >= 1, fault
        for row in rows.itertuples():
            assert season.start <= row.onset < row.failure < season.end
            assert pd.Timedelta(weeks=3) <= row.failure - row.onset <= pd.Timedelta(weeks=8)
    degraded = gt[gt["category"] == "degradation"]["equipment"]
    assert degraded.nunique() >= 4  # spread over different equipment
    assert (gt[gt["category"] != "degradation"]["failure"].isna()).all()


def test_no_faults_with_the_none_plan(besancon: Site) -> None:
    result = simulate_site(besancon, "2026-03-01", 3, seed=1, faults="none")
    assert result.ground_truth.empty
    assert list(result.ground_truth.columns[:5]) == [
        "equipment", "fault", "category", "onset", "failure"
    ]  # fmt: skip


def test_an_unknown_plan_is_refused(besancon: Site) -> None:
    with pytest.raises(BmsError, match="--faults must be one of default, none"):
        simulate_site(besancon, "2026-03-01", 3, faults="foo")


def test_a_clogging_filter_rises_monotonically_to_its_final_pressure_drop(
    season: SimulationResult, besancon: Site
) -> None:
    for row in _degradations(season, "filter_clogging"):
        params = besancon.equipment_by_id(row.equipment).parameters
        ahu = season.wide[row.equipment]
        running = ahu["fan_speed"] > 40
        at_design = ahu["filter_dp"] / (ahu["supply_flow"] / params["design_flow_m3_s"]) ** 2
        during = at_design[running][row.onset : row.failure]
        daily = during.resample("D").median().dropna()
        assert np.diff(daily.to_numpy()).min() > -5.0  # monotone within noise
        assert daily.iloc[-1] > 1.5 * daily.iloc[0]  # from at most 2.2 x clean at onset
        final = during[row.failure - BEFORE :].median()
        assert final >= 0.98 * params["filter_final_dp_pa"]


def test_a_worn_belt_slips_then_breaks(season: SimulationResult) -> None:
    for row in _degradations(season, "belt_wear"):
        ahu = season.wide[row.equipment]
        running = ahu["fan_status"] > 0.5
        ratio = (ahu["supply_flow"] / ahu["fan_speed"])[running]
        healthy = ratio[: row.onset].median()
        slipping = ratio[row.failure - pd.Timedelta(days=1) : row.failure].median()
        broken = ratio[row.failure : row.failure + BEFORE].median()
        assert 0.6 * healthy < slipping < 0.85 * healthy
        assert broken < 0.1 * healthy
        assert (ahu["fan_status"][row.failure : row.failure + BEFORE] == 1.0).all()


def test_a_worn_bearing_vibrates_into_iso_zone_d_and_heats_up(season: SimulationResult) -> None:
    for row in _degradations(season, "bearing_wear"):
        pump = season.wide[row.equipment]
        vibration = pump["vibration"][pump["status"] > 0.5]
        assert vibration[: row.onset].median() < 2.8
        assert vibration[row.failure - BEFORE : row.failure].median() > 7.1
        bearing = pump["bearing_temp"]
        hot = bearing[row.failure - BEFORE : row.failure].median()
        assert hot > bearing[: row.onset].median() + 15
        assert (pump["status"][row.failure : row.end][:-1] == 0.0).all()  # stopped until repair


def test_a_fouled_exchanger_has_a_wide_approach(season: SimulationResult, besancon: Site) -> None:
    for row in _degradations(season, "hx_fouling"):
        clean = besancon.equipment_by_id(row.equipment).parameters["clean_approach_k"]
        hx = season.wide[row.equipment]
        approach = hx["prim_return_temp"] - hx["sec_return_temp"]
        assert approach[row.onset - pd.Timedelta(days=3) : row.onset].median() < 1.5 * clean
        assert approach[row.failure - BEFORE : row.failure].median() > 2.0 * clean


def test_a_refrigerant_leak_lowers_suction_pressure_and_raises_superheat(
    season: SimulationResult,
) -> None:
    for row in _degradations(season, "refrigerant_leak"):
        chiller = season.wide[row.equipment]
        before = chiller[row.onset - pd.Timedelta(days=2) : row.onset]
        last = chiller[row.failure - BEFORE : row.failure]
        assert last["superheat"].median() > 15.0 > 8.0 > before["superheat"].median()
        assert last["suction_pressure"].median() < 0.85 * before["suction_pressure"].median()
        assert (chiller["status"][row.failure : row.end][:-1] == 0.0).all()  # tripped


def test_a_stuck_damper_breaks_the_mixed_air_balance(season: SimulationResult) -> None:
    for row in _degradations(season, "stuck_oa_damper"):
        ahu = season.wide[row.equipment]
        during = ahu[(ahu.index >= row.onset) & (ahu.index < row.end)]
        during = during[(during["fan_status"] > 0.5) & ((during["oat"] - during["rat"]).abs() > 5)]
        f = during["oa_damper"] / 100
        error = during["mat"] - (f * during["oat"] + (1 - f) * during["rat"])
        stuck = during["_oa_fraction"].iloc[0]
        assert stuck in (0.0, 1.0)
        assert (during["_oa_fraction"] == stuck).all()
        assert error.abs().median() > 1.0


def test_sensor_faults_alter_the_reading_not_the_truth(winter: SimulationResult) -> None:
    gt = winter.ground_truth
    for row in gt[gt["category"] == "sensor"].itertuples():
        name = row.point.rsplit("/", 1)[1]
        values = winter.wide[row.equipment][name][row.onset : row.end][:-1]
        if row.fault == "stuck":
            assert values.nunique() == 1
        else:
            assert len(values) > 10


def test_gaps_and_spikes_reach_the_canonical_frame(winter: SimulationResult) -> None:
    gt = winter.ground_truth
    telemetry = winter.telemetry
    for row in gt[gt["fault"] == "gap"].itertuples():
        mine = telemetry[telemetry["point"].str.startswith(row.equipment + "/")]
        inside = mine[(mine["time"] >= row.onset) & (mine["time"] < row.end)]
        assert inside.empty
    for row in gt[gt["fault"] == "spikes"].itertuples():
        name = row.point.rsplit("/", 1)[1]
        truth = winter.wide[row.equipment][name]
        stored = telemetry[telemetry["point"] == row.point].set_index("time")["value"]
        jumps = (stored - truth.reindex(stored.index)).abs()
        assert (jumps > 5 * truth.std()).sum() >= 3


def test_duplicates_and_late_rows_live_in_the_raw_frame(winter: SimulationResult) -> None:
    raw = winter.raw()
    assert list(raw.columns) == ["time", "point", "value", "received"]
    assert raw.duplicated(["point", "time"]).sum() > 0
    assert (raw["received"] - raw["time"]).max() > pd.Timedelta(hours=1)
    assert raw.drop_duplicates(["point", "time"]).shape[0] == len(winter.telemetry)


def test_the_ongoing_plan_adds_degradations_failing_after_the_window(besancon) -> None:
    from bms.simulate import simulate_site
    from bms.simulate.faults import ONGOING_DEGRADATIONS

    default = simulate_site(besancon, "2026-03-01", 60, seed=8, faults="default")
    ongoing = simulate_site(besancon, "2026-03-01", 60, seed=8, faults="ongoing")
    extra = [f for f in ongoing.faults if f not in default.faults]
    assert all(f in ongoing.faults for f in default.faults)  # same default part for a seed
    assert sorted(f.fault for f in extra) == sorted(ONGOING_DEGRADATIONS)
    for fault in extra:
        assert fault.category == "degradation"
        assert ongoing.start < fault.onset < ongoing.end < fault.failure
        others = [f for f in ongoing.faults if f.equipment == fault.equipment and f is not fault]
        assert all(f.end <= fault.onset or f.onset >= ongoing.end for f in others)
    filters = next(f for f in extra if f.fault == "filter_clogging")
    wide = ongoing.wide[filters.equipment]
    dp = wide["filter_dp"].where(wide["fan_status"] > 0.5).resample("1D").median()
    before, last = dp[: filters.onset].iloc[:-1].median(), dp.iloc[-3:].median()
    assert last > before * 1.2, (before, last)
