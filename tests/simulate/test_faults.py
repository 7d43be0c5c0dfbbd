"""Injected faults: the plan, the ground truth, and each degradation's signature to failure."""

from __future__ import annotations

import dataclasses

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


# -- Spikes and drift-like defects hit analogue points only ----------------------------------
def _binary_ids(site: Site) -> set[str]:
    from bms.simulate.quality import is_binary

    return {p.id for p in site.all_points() if is_binary(p)}


def test_the_site_status_points_are_binary_and_the_rest_analogue(besancon: Site) -> None:
    names = sorted(i.split("/", 2)[2] for i in _binary_ids(besancon))
    assert names == [
        "ahu-1/fan_status", "ahu-2/fan_status", "ahu-3/fan_status", "chiller-1/status",
        "pump-1/status", "pump-2/status", "pump-3/status", "pump-4/status",
    ]  # fmt: skip


def test_a_spike_on_a_status_point_leaves_it_zero_or_one(besancon: Site) -> None:
    """Seed 36 draws its spikes on pump-2/status: the status stays a 0/1 state."""
    result = simulate_site(besancon, "2026-01-12", 2, seed=36)
    telemetry = result.telemetry
    binary = telemetry[telemetry["point"].isin(_binary_ids(besancon))]
    assert binary["point"].nunique() == 8
    assert binary["value"].isin([0.0, 1.0]).all(), binary[~binary["value"].isin([0.0, 1.0])]


def test_spikes_are_applied_to_analogue_series_and_never_to_binary_ones() -> None:
    from bms.simulate.faults import Fault
    from bms.simulate.quality import apply_gaps_and_spikes

    t_ns = pd.date_range("2026-01-01", periods=2016, freq="5min", tz="UTC").as_unit("ns").asi8
    onset = pd.Timestamp("2026-01-02", tz="UTC")
    faults = [
        Fault("pump-1", "spikes", "data_quality", onset, None, onset + pd.Timedelta(days=3)),
        Fault("pump-1", "gap", "data_quality", onset, None, onset + pd.Timedelta(hours=1)),
    ]
    faults = [dataclasses.replace(f, magnitude=5.0) for f in faults]
    status = (np.arange(len(t_ns)) // 100 % 2).astype(float)
    flow = np.random.default_rng(0).normal(20.0, 1.0, len(t_ns))
    out = {}
    for name, values, binary in [
        ("status", status, None), ("status", status, True), ("flow", flow, False),
        ("as_if_analogue", status, False),
    ]:  # fmt: skip
        spiked, keep = values.copy(), np.ones(len(t_ns), dtype=bool)
        apply_gaps_and_spikes(spiked, keep, name, faults, t_ns, seed=3, binary=binary)
        assert (~keep).sum() == 12  # gaps hit every point: one hour of 5 min rows
        out[name, binary] = (spiked != values).sum()
    assert out["status", None] == out["status", True] == 0  # judged from values, or told
    assert out["flow", False] >= 3 and out["as_if_analogue", False] >= 3


def test_spike_points_are_drawn_among_analogue_points_only(besancon: Site) -> None:
    from bms.simulate.quality import is_binary, spike_point

    onsets = pd.date_range("2026-01-01", periods=40, freq="7h", tz="UTC")
    for equipment in besancon.all_equipment():
        analogue = {p.name for p in equipment.points if not is_binary(p)}
        drawn = {spike_point(equipment, 1, onset) for onset in onsets}
        assert drawn <= analogue if analogue else drawn == {None}, equipment.id
    pump = next(e for e in besancon.all_equipment() if e.id.endswith("/pump-2"))
    only_status = pump.model_copy(update={"points": tuple(p for p in pump.points if is_binary(p))})
    assert spike_point(only_status, 1, onsets[0]) is None


def test_sensor_faults_target_analogue_points_only(
    winter: SimulationResult, besancon: Site
) -> None:
    from bms.simulate.faults import SENSOR_POINTS

    binary = _binary_ids(besancon)
    assert not {i for i in binary if i.rsplit("/", 1)[1] in {p for _, p in SENSOR_POINTS}}
    gt = winter.ground_truth
    assert not set(gt[gt["category"] == "sensor"]["point"]) & binary
    telemetry = winter.telemetry
    states = telemetry[telemetry["point"].isin(binary)]["value"]
    assert states.isin([0.0, 1.0]).all()


def test_the_ground_truth_names_an_analogue_point_for_spikes(besancon: Site) -> None:
    result = simulate_site(besancon, "2026-01-12", 2, seed=36)
    gt = result.ground_truth
    spiked = set(gt[gt["fault"] == "spikes"]["point"])
    assert spiked and not spiked & _binary_ids(besancon)
