"""AHU rules: golden cases (open-fdd style), persistence, vocabulary, fingerprint, LBNL data."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from bms.errors import ConfigError, SchemaError
from bms.features.roles import LBNL_MZVAV_ROLE_MAP, apply_role_map, lbnl_ahu_frame
from bms.models.rules import (
    AHU_RULES,
    RuleParams,
    RuleResult,
    daily_fault_share,
    evaluate_rules,
    params_fingerprint,
    resolve_params,
    step_seconds,
)

CASES = Path(__file__).resolve().parents[1] / "data" / "rules"
CASE_NAMES = sorted(p.name for p in CASES.iterdir() if p.is_dir())


def load_case(name: str) -> tuple[pd.DataFrame, dict]:
    folder = CASES / name
    column_map = json.loads((folder / "column_map.json").read_text())
    history = pd.read_csv(folder / "history.csv", index_col="time")
    history.index = pd.to_datetime(history.index, utc=True)
    expected = json.loads((folder / "expected.json").read_text())
    return apply_role_map(history, column_map), expected


def test_the_golden_cases_cover_a_missing_points_and_an_equipment_off_case() -> None:
    assert {"missing_mixed_air_sensor", "unit_off"} <= set(CASE_NAMES)
    assert len(CASE_NAMES) >= 8


@pytest.mark.parametrize("name", CASE_NAMES)
def test_golden_case(name: str) -> None:
    ahu, expected = load_case(name)
    report = evaluate_rules(ahu, expected["params"])
    got = {code: report.summary[code].value for code in expected["results"]}
    assert got == expected["results"]


def test_a_condition_shorter_than_confirm_seconds_is_a_fault_with_a_shorter_delay() -> None:
    ahu, _ = load_case("cooling_excursion_not_confirmed")  # 20 min excursion
    assert evaluate_rules(ahu).summary["FC13"] is RuleResult.PASS
    short = evaluate_rules(ahu, {"confirm_seconds": 600})
    assert short.summary["FC13"] is RuleResult.FAULT
    rows = short.rows["FC13"]
    first_fault = rows.index[rows == "FAULT"][0]
    # the excursion starts at minute 40 and is confirmed after 10 min (the 10th step)
    assert first_fault == ahu.index[49]


def test_times_written_coarser_than_the_readings_keep_the_confirmation() -> None:
    # readings every 10 s with their times written to the minute: the step is 10 s, so a
    # condition needs 30 minutes of rows (180), not one row, to be confirmed
    minutes = pd.date_range("2026-01-05", periods=120, freq="min", tz="UTC")
    coarse = pd.DatetimeIndex(np.repeat(minutes, 6))
    assert step_seconds(coarse) == pytest.approx(10.0)
    assert step_seconds(minutes) == 60.0
    assert step_seconds(pd.DatetimeIndex([minutes[0]] * 3)) == 0.0
    ahu, _ = load_case("cooling_excursion_not_confirmed")  # 20 min excursion, a row a minute
    stretched = ahu.iloc[np.repeat(np.arange(len(ahu)), 6)]  # each reading six times
    assert evaluate_rules(stretched).summary["FC13"] is RuleResult.PASS


def test_a_single_row_confirms_nothing() -> None:
    # one row tells no duration: its condition cannot have held for 30 minutes (a one-row
    # TEST of the LBNL file was flagged by FC1 before)
    ahu, _ = load_case("cooling_excursion_not_confirmed")
    faults = evaluate_rules(ahu, {"confirm_seconds": 600}).faults()
    row = int(np.flatnonzero(faults["FC13"].to_numpy())[0])
    assert evaluate_rules(ahu.iloc[[row]]).faults().to_numpy().sum() == 0
    assert evaluate_rules(ahu.iloc[[row]], {"confirm_seconds": 0}).faults()["FC13"].all()


def test_every_row_result_is_in_the_vocabulary() -> None:
    ahu, _ = load_case("heating_valve_full_sat_low")
    report = evaluate_rules(ahu)
    assert set(np.unique(report.rows.to_numpy())) <= {r.value for r in RuleResult}
    assert list(report.rows.columns) == [rule.code for rule in AHU_RULES]


def test_missing_points_are_named() -> None:
    ahu, _ = load_case("missing_mixed_air_sensor")
    report = evaluate_rules(ahu)
    assert report.missing["FC2"] == ("mat",)
    assert report.missing["FC6"] == ("mat", "min_oa_fraction")
    assert "FC7" not in report.missing


def test_without_fan_status_or_speed_every_rule_says_points_are_missing() -> None:
    ahu, _ = load_case("heating_valve_full_sat_low")
    report = evaluate_rules(ahu.drop(columns=["fan_status", "fan_speed"]))
    assert set(report.summary.values()) == {RuleResult.SKIPPED_MISSING_POINTS}
    assert report.missing["FC7"][0] == "fan_status or fan_speed"


def test_a_missing_value_in_an_applicable_state_is_insufficient_data() -> None:
    ahu, _ = load_case("heating_valve_full_sat_low")
    ahu.loc[ahu.index[10:20], "sat"] = np.nan
    rows = evaluate_rules(ahu).rows["FC7"]
    assert (rows.iloc[10:20] == RuleResult.INSUFFICIENT_DATA.value).all()
    # the gap restarts the persistence count: no fault until 30 min after it
    assert (rows.iloc[20:49] == RuleResult.PASS.value).all()
    assert rows.iloc[49] == RuleResult.FAULT.value


def test_rules_wait_during_startup_after_the_fan_starts() -> None:
    ahu, _ = load_case("heating_valve_full_sat_low")
    ahu.loc[ahu.index[:30], "fan_status"] = 0.0
    rows = evaluate_rules(ahu).rows["FC7"]
    assert (rows.iloc[:30] == RuleResult.SKIPPED_EQUIPMENT_OFF.value).all()
    assert (rows.iloc[30:60] == RuleResult.SKIPPED_NOT_APPLICABLE_STATE.value).all()
    assert rows.iloc[60] == RuleResult.PASS.value


def test_the_fingerprint_is_the_sha256_of_the_canonical_parameters() -> None:
    ahu, _ = load_case("hunting")
    default = evaluate_rules(ahu)
    assert default.fingerprint == params_fingerprint(RuleParams())
    assert len(default.fingerprint) == 64
    assert evaluate_rules(ahu, {"sat_tolerance_k": 1.1}).fingerprint == default.fingerprint
    assert evaluate_rules(ahu, {"sat_tolerance_k": 2.0}).fingerprint != default.fingerprint
    payload = default.to_dict()
    assert payload["fingerprint"] == default.fingerprint
    assert payload["rules"]["FC4"]["result"] == "FAULT"
    json.dumps(payload)  # JSON-ready


def test_default_parameters_are_the_g36_values_in_si_units() -> None:
    params = RuleParams()
    assert params.sat_tolerance_k == pytest.approx(2 * 5 / 9, abs=0.02)  # 2 °F
    assert params.mat_tolerance_k == pytest.approx(5 * 5 / 9, abs=0.03)  # 5 °F
    assert params.duct_static_tolerance_pa == pytest.approx(0.1 * 249.09, abs=0.1)  # 0.1 in. w.c.
    assert params.max_state_changes_per_h == 7
    assert params.confirm_seconds == 1800


def test_bad_parameters_are_refused_with_their_name() -> None:
    with pytest.raises(ConfigError, match="unknown rule parameter 'sat_tol'"):
        resolve_params({"sat_tol": 1.0})
    with pytest.raises(ConfigError, match="'confirm_seconds' must be a number"):
        resolve_params(confirm_seconds="soon")
    assert dataclasses.asdict(resolve_params(RuleParams(), fan_heat_k=0.5))["fan_heat_k"] == 0.5


def test_a_frame_without_time_index_is_refused() -> None:
    with pytest.raises(SchemaError, match="DatetimeIndex"):
        evaluate_rules(pd.DataFrame({"sat": [1.0]}))


@pytest.fixture(scope="module")
def lbnl_days(dataset: Callable[[str], Path]) -> pd.DataFrame:
    from bms.evaluate.lbnl import LABEL, read_lbnl

    raw = read_lbnl(dataset("lbnl_ahu") / "MZVAV-2-2.csv")
    report = evaluate_rules(lbnl_ahu_frame(raw))  # G36 defaults, nothing tuned on labels
    days = daily_fault_share(report, timezone="America/Chicago")
    labels = raw.groupby("day")[LABEL].max()
    days["label"] = labels.reindex(days.index).to_numpy()
    return days


def test_on_lbnl_mzvav_2_2_the_rules_flag_faulted_days_more_than_fault_free_days(
    lbnl_days: pd.DataFrame,
) -> None:
    faulted = lbnl_days[lbnl_days["label"] == 1]
    normal = lbnl_days[lbnl_days["label"] == 0]
    assert len(faulted) == 13 and len(normal) == 13
    # a day is flagged when >= 10 % of its evaluated steps are in a confirmed fault
    assert (faulted["fault_share"] >= 0.10).sum() >= 7
    assert (normal["fault_share"] >= 0.10).sum() <= 1
    assert faulted["fault_share"].mean() > 5 * normal["fault_share"].mean()


def test_on_the_simulated_site_the_rules_see_a_leaking_valve_and_a_stuck_damper() -> None:
    from bms.features.resample import equipment_frame
    from bms.features.roles import role_map_for
    from bms.models.rules import rule_params_for
    from bms.simulate import simulate_site
    from bms.site.loader import load_site

    site = load_site("besancon")
    result = simulate_site(site, "2026-01-12", 30, seed=11)
    truth = result.ground_truth
    abrupt = truth[truth["fault"].isin(["leaking_heating_valve", "stuck_oa_damper"])]
    if abrupt.empty:
        pytest.fail("the simulator's default plan no longer holds an AHU valve or damper fault")
    for equipment_id, episodes in abrupt.groupby("equipment"):
        equipment = site.equipment_by_id(str(equipment_id))
        wide = equipment_frame(result.telemetry, equipment, "5min").values
        report = evaluate_rules(
            apply_role_map(wide, role_map_for(equipment)), rule_params_for(equipment)
        )
        any_fault = report.faults().any(axis=1)
        during = pd.Series(False, index=any_fault.index)
        for _, episode in episodes.iterrows():
            during |= (any_fault.index >= episode["onset"]) & (any_fault.index < episode["end"])
        running = report.states.isin(["heating", "economiser", "ventilation", "cooling"])
        assert any_fault[during & running].mean() > 0.5, equipment_id
        assert any_fault[~during & running].mean() < 0.05, equipment_id


def test_rows_out_of_time_order_are_refused():
    # newest first, no step runs forward and no fault could be confirmed: the report said PASS
    index = pd.date_range("2026-06-01", periods=120, freq="min", tz="UTC")
    frame = pd.DataFrame({"fan_status": 1.0, "sat": 14.0, "sat_sp": 14.0}, index=index)
    with pytest.raises(SchemaError, match="not in time order"):
        evaluate_rules(frame.iloc[::-1])


@pytest.mark.parametrize("bad", [float("nan"), -5.0, True])
def test_a_parameter_that_is_not_a_finite_number_at_least_zero_is_refused(bad):
    with pytest.raises(ConfigError, match="confirm_seconds"):
        resolve_params(confirm_seconds=bad)


def test_a_frame_in_fahrenheit_or_fractions_is_refused(dataset):
    # LBNL's raw units read every running minute as ventilation: FC8 on all 13 normal days
    from bms.evaluate.lbnl import read_lbnl

    raw = read_lbnl(dataset("lbnl_ahu") / "MZVAV-2-2.csv")
    frame = apply_role_map(raw.iloc[:2880], LBNL_MZVAV_ROLE_MAP)
    with pytest.raises(SchemaError, match="°F"):
        evaluate_rules(frame)
    celsius = frame.assign(
        **{r: (frame[r] - 32) * 5 / 9 for r in ("sat", "sat_sp", "oat", "mat", "rat")}
    )
    with pytest.raises(SchemaError, match="fractions"):
        evaluate_rules(celsius)
    evaluate_rules(lbnl_ahu_frame(raw.iloc[:2880]))  # converted: accepted
