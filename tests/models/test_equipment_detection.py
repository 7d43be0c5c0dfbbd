"""Per-equipment detection: the detector on hand-built indicators, and on simulated sites."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from bms.errors import BmsError
from bms.models.equipment_detection import (
    DETECTION_COLUMNS,
    UNFAMILIAR,
    WIDE_THRESHOLD_FLOORS,
    DetectionParams,
    EquipmentDetector,
    detect_site_faults,
    episodes,
    equipment_frames,
    run_site_detection,
    wide_threshold_notes,
)
from bms.models.equipment_indicators import IndicatorSpec, build_context, indicator_frame
from bms.simulate import SimulationResult, simulate_site
from bms.site.loader import load_site
from bms.site.model import Site


@pytest.fixture(scope="module")
def site() -> Site:
    return load_site("besancon")


@pytest.fixture(scope="module")
def healthy(site: Site) -> SimulationResult:
    return simulate_site(site, "2026-03-02", 40, seed=21, faults="none")


@pytest.fixture(scope="module")
def summer(site: Site) -> SimulationResult:
    """Trained in the August holidays, scored into the heating season."""
    return simulate_site(site, "2026-08-15", 60, seed=23, faults="none")


@pytest.fixture(scope="module")
def faulty(site: Site) -> SimulationResult:
    return simulate_site(site, "2026-01-05", 75, seed=8)


def _index(n: int) -> pd.DatetimeIndex:
    return pd.date_range("2026-01-01", periods=n, freq="5min", tz="UTC")


def test_residual_indicator_flags_a_step_on_its_bad_side_only(rng: np.random.Generator) -> None:
    n = 4000
    load = rng.uniform(0, 1, n)
    y = 2.0 + 3.0 * load + rng.normal(0, 0.05, n)
    y[3000:] += 1.0  # a fault: +1 after row 3000
    frame = pd.DataFrame({"ind": y, "drv:load": load}, index=_index(n))
    spec = IndicatorSpec("ind", ("p",), direction=1, floor=0.5, drivers=("load",))
    detector = EquipmentDetector().fit(frame.iloc[:2000], [spec])
    scores = detector.score(frame)
    assert scores["anomaly_score"].iloc[100:2900].max() < 0.5
    assert scores["is_anomalous"].iloc[3030:].all()
    assert scores["anomaly_score"].iloc[10:].between(0, 1).all()
    assert scores["anomaly_score"].iloc[:5].isna().all()  # too few steps yet to smooth over
    low = frame.assign(ind=np.where(np.arange(n) >= 3000, y - 2.0, y))
    assert detector.score(low)["is_anomalous"].iloc[3030:].sum() == 0  # wrong side: not bad


def test_an_unfamiliar_operating_point_is_not_scored(rng: np.random.Generator) -> None:
    n = 4000
    load = np.r_[rng.uniform(0.4, 0.6, 2000), rng.uniform(0.9, 1.0, 2000)]
    y = 2.0 + 3.0 * load**3 + rng.normal(0, 0.01, n)  # nearly linear over the training range
    frame = pd.DataFrame({"ind": y, "drv:load": load}, index=_index(n))
    spec = IndicatorSpec("ind", ("p",), floor=0.1, drivers=("load",))
    detector = EquipmentDetector().fit(frame.iloc[:2000], [spec])
    scores = detector.score(frame)
    assert scores["is_anomalous"].sum() == 0  # the linear fit is never used at load 0.9-1
    assert scores["anomaly_score"].iloc[2000:].isna().all()
    assert (scores["unfamiliar"].iloc[2000:] == "ind").all()
    assert (scores["top_contributor"].iloc[2000:] == UNFAMILIAR).all()
    assert (scores["unfamiliar"].iloc[100:2000] == "").all()
    free = IndicatorSpec("ind", ("p",), floor=0.1, drivers=("load",), extrapolate=True)
    forced = EquipmentDetector().fit(frame.iloc[:2000], [free]).score(frame)
    assert forced["is_anomalous"].iloc[2100:].all()  # what extrapolating would have said


def test_a_fit_of_the_wrong_physical_sign_is_not_extrapolated(rng: np.random.Generator) -> None:
    """A fault under way in training can bend a fit: a bearing warming as it wears while the
    pump slows makes temperature fall with speed. Such a fit is kept to its training range."""
    n = 4000
    load = np.r_[rng.uniform(0.2, 0.5, 2000), rng.uniform(0.8, 0.9, 2000)]
    falling = pd.DataFrame({"ind": 9.0 - 4.0 * load + rng.normal(0, 0.05, n), "drv:load": load})
    falling.index = _index(n)
    spec = IndicatorSpec(
        "ind", ("p",), floor=0.5, drivers=("load",), extrapolate=True, driver_signs=(1,)
    )
    scores = EquipmentDetector().fit(falling.iloc[:2000], [spec]).score(falling)
    assert (scores["unfamiliar"].iloc[2000:] == "ind").all()
    rising = falling.assign(ind=5.0 + 4.0 * load + rng.normal(0, 0.05, n))
    rising.iloc[3000:, 0] += 1.0  # a fault at a load training never saw
    scores = EquipmentDetector().fit(rising.iloc[:2000], [spec]).score(rising)
    assert (scores["unfamiliar"] == "").all()
    assert scores["is_anomalous"].iloc[2100:3000].sum() == 0
    assert scores["is_anomalous"].iloc[3100:].all()


def test_a_missing_driver_leaves_the_indicator_unscored(rng: np.random.Generator) -> None:
    n = 3000
    load = rng.uniform(0, 1, n)
    frame = pd.DataFrame({"ind": 5.0 + 3.0 * load, "drv:load": load}, index=_index(n))
    frame.iloc[2500:2520, 1] = np.nan  # a gap in the driver, not in the indicator
    spec = IndicatorSpec("ind", ("p",), floor=0.5, drivers=("load",))
    scores = EquipmentDetector().fit(frame.iloc[:2000], [spec]).score(frame)
    assert scores["is_anomalous"].sum() == 0


def test_recent_baseline_forgets_the_days_a_repaired_bias_spoiled(
    rng: np.random.Generator,
) -> None:
    per_day = 288
    n = 40 * per_day
    y = rng.normal(0, 0.05, n)
    y[20 * per_day : 23 * per_day] += 3.0  # a 3-day sensor bias, then repaired
    frame = pd.DataFrame({"ind": y}, index=_index(n))
    spec = IndicatorSpec("ind", ("p",), floor=1.0, recent_baseline=True)
    scores = EquipmentDetector().fit(frame.iloc[: 14 * per_day], [spec]).score(frame)
    flags = scores["is_anomalous"].to_numpy()
    assert flags[20 * per_day + 30 : 21 * per_day].all()  # the bias is seen
    assert not flags[23 * per_day + 30 :].any()  # its repair is not a new fault


def test_threshold_never_below_the_floor(rng: np.random.Generator) -> None:
    frame = pd.DataFrame({"ind": rng.normal(0, 1e-4, 2000)}, index=_index(2000))
    detector = EquipmentDetector().fit(frame, [IndicatorSpec("ind", ("p",), floor=0.3)])
    assert detector.fitted_[0].threshold == pytest.approx(0.3)
    shifted = frame + 0.2
    assert detector.score(shifted)["is_anomalous"].sum() == 0


def test_a_fault_while_training_is_reported_as_a_wide_threshold(
    rng: np.random.Generator,
) -> None:
    """A training month whose second half carries an offset of 4 floors (a sensor bias, say)
    learns a threshold several floors wide and says so; the same month without it does not."""
    n = 4000
    load = rng.uniform(0, 1, n)
    y = 2.0 + 3.0 * load + rng.normal(0, 0.05, n)
    spec = IndicatorSpec("ind", ("p",), direction=1, floor=0.5, drivers=("load",))
    clean = pd.DataFrame({"ind": y, "drv:load": load}, index=_index(n))
    assert EquipmentDetector().fit(clean, [spec]).wide_thresholds_ == []
    biased = clean.assign(ind=np.where(np.arange(n) >= n // 2, y + 2.0, y))
    detector = EquipmentDetector().fit(biased, [spec])
    (wide,) = detector.wide_thresholds_
    assert wide.indicator == "ind" and wide.floor == 0.5
    assert wide.threshold >= WIDE_THRESHOLD_FLOORS * 0.5
    notes = wide_threshold_notes(
        {"hq/ahu-9": detector, "hq/ahu-1": EquipmentDetector().fit(clean, [spec])}
    )
    assert len(notes) == 1 and notes[0].startswith("hq/ahu-9: 'ind' learned a threshold of ")
    assert f"{wide.threshold / 0.5:.1f} x its floor of 0.5" in notes[0]


def test_stop_is_an_anomaly_only_where_the_equipment_usually_runs() -> None:
    n = 3000
    context = np.tile(np.r_[np.ones(150), np.zeros(138)], 11)[:n]
    stopped = 1.0 - context  # runs exactly when the context says so
    frame = pd.DataFrame({"unexpected_stop": stopped, "drv:context": context}, index=_index(n))
    spec = IndicatorSpec("unexpected_stop", ("status",), kind="stop", drivers=("context",))
    detector = EquipmentDetector().fit(frame.iloc[:2000], [spec])
    assert detector.score(frame)["is_anomalous"].sum() == 0  # off when it should be: normal
    tripped = frame.copy()
    tripped.iloc[2500:2600, 0] = 1.0
    tripped.iloc[2500:2600, 1] = 1.0
    flags = detector.score(tripped)["is_anomalous"]
    assert flags.iloc[2530:2600].all()


def test_episodes_need_persistence_and_hold_through_unscored_steps() -> None:
    n = 2000
    score = np.full(n, 0.2)
    score[100:105] = 0.9  # 5 steps: too short
    score[500:560] = 0.9
    score[560:800] = np.nan  # equipment off: the flag holds
    score[800:830] = 0.9
    frame = pd.DataFrame({"anomaly_score": score}, index=_index(n))
    excess = pd.DataFrame({"ind": np.nan_to_num(score)}, index=frame.index)
    detector = EquipmentDetector()
    detector.fitted_ = []  # points_of is only asked for "ind"
    detector.points_of = lambda name: ("p",)  # type: ignore[method-assign]
    found = episodes(frame, excess, detector, "s/b/eq", DetectionParams())
    assert list(found.columns) == list(DETECTION_COLUMNS)
    assert len(found) == 1
    assert found["start"].iloc[0] == frame.index[500]
    assert found["end"].iloc[0] == frame.index[829] + pd.Timedelta("5min")
    assert found["top_points"].iloc[0] == ["s/b/eq/p"]


class _Evidence:
    """The two questions ``episodes`` asks a detector: an indicator's points, is it a symptom."""

    @staticmethod
    def points_of(name: str) -> tuple[str, ...]:
        points = {"sat_error": ("sat", "sat_sp"), "coil_heat": ("sat", "mat", "heating_valve")}
        return points.get(name, ("filter_dp",))

    @staticmethod
    def is_symptom(name: str) -> bool:
        return name == "sat_error"


@pytest.mark.parametrize(("cause_peak", "first"), [(1.5, "coil_heat"), (0.8, "sat_error")])
def test_a_cause_in_fault_leads_the_evidence_before_the_set_point_it_upsets(
    cause_peak: float, first: str
) -> None:
    n = 400
    score = np.full(n, 0.2)
    score[100:200] = 0.9
    frame = pd.DataFrame({"anomaly_score": score}, index=_index(n))
    excess = pd.DataFrame(
        {"sat_error": np.where(score > 0.5, 2.5, 0.1), "coil_heat": np.zeros(n)}, index=frame.index
    )
    excess.iloc[150:170, 1] = cause_peak  # a leaking valve's heat, past its threshold or not
    excess["filter"] = np.where(score > 0.5, 0.9, 0.0)  # more excess than the valve, none past
    found = episodes(frame, excess, _Evidence(), "s/b/ahu-1", DetectionParams())
    assert found["top_indicators"].iloc[0][0] == first
    assert found["top_indicators"].iloc[0][1] == ("sat_error" if first == "coil_heat" else "filter")
    assert found["top_points"].iloc[0][0] == "s/b/ahu-1/sat"


def _cooling_ahu(rng: np.random.Generator, n: int, leak_k: np.ndarray) -> pd.DataFrame:
    """An AHU cooling through office hours: its controller holds sat at 14 °C.

    A leaking heating valve adds ``leak_k`` of heat ahead of the cooling coil, which the cooling
    valve then removes too: a coil of 12 K design drop at the design flow of 4.5 m³/s, whose
    drop scales with valve / flow (as the simulator's coil).
    """
    index = _index(n)
    on = (index.hour >= 7) & (index.hour < 19)
    speed = rng.uniform(40.0, 100.0, n)
    flow = 4.5 * speed / 100.0
    mat = rng.uniform(18.0, 28.0, n)
    fan_heat = 0.4 + 0.6 * speed / 100.0
    valve = 100.0 * (mat + leak_k - (14.0 - fan_heat)) / (12.0 * 4.5 / flow)
    sat = 14.0 + rng.normal(0.0, 0.1, n)
    return pd.DataFrame(
        {
            "fan_status": on.astype(float),
            "fan_speed": np.where(on, speed, 0.0),
            "supply_flow": np.where(on, flow, 0.0),
            "mat": mat,
            "sat": np.where(on, sat, mat),
            "sat_sp": 14.0,
            "heating_valve": 0.0,
            "cooling_valve": np.where(on, valve, 0.0),
        },
        index=index,
    )


def test_a_leaking_heating_valve_shows_in_the_cooling_coil_balance(
    rng: np.random.Generator, site: Site
) -> None:
    n = 12 * 24 * 30  # 30 days at 5 min
    onset = 12 * 24 * 25
    leak_k = np.where(np.arange(n) >= onset, 4.0, 0.0)
    x = _cooling_ahu(rng, n, leak_k)
    ahu = next(eq for eq in site.all_equipment() if eq.id == "besancon/hq/ahu-2")
    frame, specs = indicator_frame(x, ahu, build_context({ahu.id: x}, [ahu]))
    detector = EquipmentDetector().fit(frame.iloc[: 12 * 24 * 20], specs)
    scores = detector.score(frame)
    daytime = (x["fan_status"] > 0) & (x.index.hour >= 9)
    healthy = daytime & (np.arange(n) >= 12 * 24 * 20) & (np.arange(n) < onset)
    leaking = daytime & (np.arange(n) >= onset)
    assert scores.loc[healthy, "is_anomalous"].mean() < 0.01
    # the supply temperature holds its set point: only the coil balance sees the leak
    assert scores.loc[leaking, "is_anomalous"].mean() > 0.95
    assert (scores.loc[leaking, "top_contributor"] == "cooling_valve_vs_duty").all()
    # a heating coil giving less than its valve asks is the hot-water loop's, not the coil's
    spec = next(s for s in specs if s.name == "heating_valve_vs_duty")
    assert spec.direction == -1
    assert next(s for s in specs if s.name == "cooling_valve_vs_duty").direction == 1


def test_a_bearing_sensor_bias_is_seen_at_speeds_training_never_saw(
    rng: np.random.Generator, site: Site
) -> None:
    """Trained at 40-55 % speed, run at 60-70 %: the bearing's rise, linear in speed squared,
    is extrapolated, so an 8 K sensor offset there shows at once."""
    n = 12 * 24 * 40  # 40 days at 5 min, running all the time
    train = 12 * 24 * 20
    onset = 12 * 24 * 30
    speed = np.where(np.arange(n) < train, rng.uniform(40.0, 55.0, n), rng.uniform(60.0, 70.0, n))
    n_ratio = speed / 100.0
    bearing = 24.0 + 14.0 * n_ratio**2 + rng.normal(0.0, 0.2, n)
    bearing[onset:] -= 8.0
    x = pd.DataFrame(
        {
            "status": 1.0,
            "speed": speed,
            "vibration": 2.0 * (0.85 + 0.15 * n_ratio**2) * np.exp(rng.normal(0.0, 0.04, n)),
            "bearing_temp": bearing,
        },
        index=_index(n),
    )
    pump = next(eq for eq in site.all_equipment() if eq.id == "besancon/hq/pump-1")
    frame, specs = indicator_frame(x, pump, build_context({pump.id: x}, [pump]))
    scores = EquipmentDetector().fit(frame.iloc[:train], specs).score(frame)
    before = scores.iloc[train + 12 * 24 : onset]
    after = scores.iloc[onset + 24 :]
    assert before["is_anomalous"].mean() < 0.01
    assert before["unfamiliar"].str.contains("log_vibration").all()  # no extrapolation there
    assert after["is_anomalous"].mean() > 0.95
    assert (after["top_contributor"] == "bearing_temp").all()


def test_an_exchanger_fouling_while_the_detector_trains_is_caught_by_its_design_approach(
    rng: np.random.Generator, site: Site
) -> None:
    """Fouling under way through the training month teaches the learned approach indicator a
    fouled baseline; twice the clean design approach (nameplate ``clean_approach_k``) does not
    depend on it."""
    n = 12 * 24 * 60  # 60 days at 5 min
    train = 12 * 24 * 28
    approach = np.linspace(3.0, 9.0, n) + rng.normal(0.0, 0.1, n)  # 3 K clean, x3 at the end
    sec_return = 45.0 + rng.normal(0.0, 0.5, n)
    x = pd.DataFrame(
        {"prim_return_temp": sec_return + approach, "sec_return_temp": sec_return},
        index=_index(n),
    )
    hx = next(eq for eq in site.all_equipment() if eq.id == "besancon/hq/hx-1")
    assert hx.parameters["clean_approach_k"] == 3.0
    frame, specs = indicator_frame(x, hx, build_context({hx.id: x}, [hx]))
    scores = EquipmentDetector().fit(frame.iloc[:train], specs).score(frame)
    below = approach < 5.5  # under twice the design approach (6 K)
    above = approach > 6.5
    assert scores.loc[below, "is_anomalous"].mean() < 0.01
    assert scores.loc[above, "is_anomalous"].mean() > 0.95
    assert (scores.loc[above, "top_contributor"] == "approach_vs_design").mean() > 0.5


def test_equipment_frames_match_the_simulated_points(healthy: SimulationResult, site: Site) -> None:
    frames = equipment_frames(healthy.telemetry, site)
    ahu = "besancon/hq/ahu-1"
    expected = healthy.wide[ahu]["filter_dp"]
    assert np.allclose(frames[ahu]["filter_dp"].to_numpy(), expected.to_numpy())


@pytest.mark.slow
def test_a_healthy_site_raises_almost_nothing(healthy: SimulationResult, site: Site) -> None:
    run = run_site_detection(healthy, site, train_days=14)
    assert len(run.scores) >= 30
    assert len(run.detections) <= 1
    ahu = run.scores["besancon/hq/ahu-1"]
    night = ahu.index.hour == 2  # AHUs are off at night: no physics indicator applies
    contributions = ahu.filter(like="contribution:flow_per_speed")
    assert (contributions[night] == 0).all().all()
    scored = ahu["anomaly_score"].notna()
    shares = ahu.filter(like="contribution:").loc[scored].sum(axis=1)
    assert np.allclose(shares, 1.0)


@pytest.mark.slow
def test_a_site_trained_in_summer_is_quiet_in_the_heating_season(
    summer: SimulationResult, site: Site
) -> None:
    run = run_site_detection(summer, site, train_days=21)
    scored = pd.concat([s["anomaly_score"] for s in run.scores.values()], axis=1)
    assert scored.notna().any(axis=1).mean() > 0.9  # the detectors still watch
    assert len(run.detections) <= 1
    # the heating loop's pumps speed up in October, beyond what August showed: vibration,
    # learned from August's speeds only, is not scored there, and named as such; the bearing
    # temperature, linear in speed squared, is still judged
    pump = run.scores["besancon/hq/pump-1"]
    assert pump["unfamiliar"].str.contains("log_vibration").any()
    assert not pump["unfamiliar"].str.contains("bearing_temp").any()
    assert pump["contribution:bearing_temp"].notna().mean() > 0.5


@pytest.mark.slow
def test_faults_of_a_simulated_site_are_found(faulty: SimulationResult, site: Site) -> None:
    detections = detect_site_faults(faulty, site, train_days=21)
    truth = faulty.ground_truth
    train_end = faulty.start + pd.Timedelta(days=21)
    degradations = truth[(truth["category"] == "degradation") & (truth["failure"] > train_end)]
    assert len(degradations)
    for fault in degradations.itertuples():
        mine = detections[detections["equipment"] == fault.equipment]
        assert (mine["start"] < fault.failure).any(), fault.fault
    assert detections["top_points"].map(len).gt(0).all()


def test_bad_inputs_are_refused(healthy: SimulationResult, site: Site) -> None:
    with pytest.raises(BmsError, match="train_days"):
        run_site_detection(healthy, site, train_days=0)
    with pytest.raises(BmsError, match="less than a day"):
        run_site_detection(healthy, site, train_days=39.5)
    with pytest.raises(BmsError, match="source must be"):
        run_site_detection(42, site, train_days=5)


def test_a_row_names_the_cause_past_its_threshold_before_the_set_point_it_upsets() -> None:
    index = _index(400)
    specs = [
        IndicatorSpec("sat_error", ("sat", "sat_sp"), "excess", symptom=True),
        IndicatorSpec("coil_heat_valves_closed", ("sat", "mat", "heating_valve"), "excess"),
    ]
    quiet = pd.DataFrame({"sat_error": 0.1, "coil_heat_valves_closed": 0.0}, index=index)
    detector = EquipmentDetector().fit(quiet.iloc[:200], specs)
    test = quiet.iloc[200:].copy()
    test["sat_error"] = 3.0  # the supply air 6 K off its set point...
    test.iloc[:100, 1] = 1.5  # ...with heat past its threshold while both valves are shut
    test.iloc[100:, 1] = 0.5  # ...or not
    top = detector.score(test)["top_contributor"]
    settled = 2 * detector.params.smooth_steps  # the excess is a smoothed mean
    assert (top.iloc[settled:100] == "coil_heat_valves_closed").all()
    assert (top.iloc[100 + settled :] == "sat_error").all()
