"""Degradation indicators: physics from measured points, daily series, limits."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from bms.errors import SchemaError
from bms.models.degradation_indicators import (
    affinity_belt_slip,
    daily_indicators,
    daily_median,
    fouling_ratio,
    indicator_samples,
)
from bms.simulate import simulate_site
from bms.site.loader import load_site
from bms.site.model import Site


@pytest.fixture(scope="module")
def site() -> Site:
    return load_site("besancon")


@pytest.fixture(scope="module")
def simulation(site: Site):
    """60 days with the default plan: one run-to-failure of each degradation type."""
    return simulate_site(site, start="2026-01-05", days=60, seed=1)


def test_affinity_slip_recovers_the_belt_slip() -> None:
    speed = pd.Series([30.0, 60.0, 90.0, 10.0])
    slip = np.array([0.02, 0.1, 0.25, 0.0])
    power = 7.5 * (speed / 100) ** 3 * (1 - slip) ** 2
    out = affinity_belt_slip(power, speed, 7.5)
    np.testing.assert_allclose(out[:3], slip[:3], atol=1e-12)
    assert np.isnan(out.iloc[3])  # fan too slow to trust the affinity law


def test_fouling_ratio_divides_out_the_load(rng_seed: int = 0) -> None:
    rng = np.random.default_rng(rng_seed)
    index = pd.date_range("2026-01-01", periods=24 * 60 * 12, freq="5min", tz="UTC")
    load = pd.Series(rng.uniform(0.05, 0.6, len(index)), index=index)
    fouling = np.where(np.arange(len(index)) < len(index) * 0.8, 1.0, 2.0)
    approach = 3.0 * fouling * (0.6 + 0.4 * load)
    ratio = fouling_ratio(approach, load)
    assert ratio.iloc[: len(index) // 2].median() == pytest.approx(1.0, abs=0.05)
    assert ratio.iloc[-100:].median() == pytest.approx(2.0, abs=0.1)


def test_daily_median_is_stamped_at_the_mean_time_of_its_samples() -> None:
    index = pd.date_range("2026-01-01 08:00", periods=13, freq="1h", tz="UTC")
    samples = pd.Series(np.arange(13.0), index=index)
    daily = daily_median(samples, min_samples=12)
    assert daily.iloc[0] == 6.0
    assert daily.index[0] == pd.Timestamp("2026-01-01 14:00", tz="UTC")
    assert daily_median(samples, min_samples=14).empty


def test_each_degradation_drives_its_indicator_to_its_limit(simulation, site: Site) -> None:
    truth = simulation.ground_truth
    names = {
        "filter_clogging": "filter_dp_at_design_flow_pa",
        "belt_wear": "belt_slip",
        "bearing_wear": "vibration_mm_s",
        "hx_fouling": "fouling_ratio",
        "refrigerant_leak": "superheat_k",
    }
    for _, fault in truth[truth["failure"].notna()].iterrows():
        equipment = site.equipment_by_id(fault["equipment"])
        wide = simulation.wide[fault["equipment"]]
        series = daily_indicators(wide, equipment, fault["failure"])[names[fault["fault"]]]
        before = series.daily[series.daily.index < fault["onset"]]
        near = series.daily.iloc[-1]
        spec = series.spec
        assert near > 0.7 * spec.limit, fault["fault"]
        if len(before):
            assert before.iloc[-1] < near, fault["fault"]
        assert spec.limit > spec.baseline


def test_hidden_truth_columns_are_never_read(simulation, site: Site) -> None:
    eq_id = "besancon/hq/ahu-1"
    wide = simulation.wide[eq_id]
    visible = wide[[c for c in wide if not c.startswith("_")]]
    tampered = wide.assign(_loading=0.0, _slip=1.0)
    equipment = site.equipment_by_id(eq_id)
    pd.testing.assert_frame_equal(
        indicator_samples(visible, equipment), indicator_samples(tampered, equipment)
    )


def test_as_of_cuts_the_data(simulation, site: Site) -> None:
    eq_id = "besancon/hq/pump-1"
    as_of = pd.Timestamp("2026-02-01", tz="UTC")
    series = daily_indicators(simulation.wide[eq_id], site.equipment_by_id(eq_id), as_of)
    assert series["vibration_mm_s"].daily.index.max() < as_of


def test_kinds_without_indicators_give_none(simulation, site: Site) -> None:
    eq_id = "besancon/hq/zone-01"
    assert daily_indicators(simulation.wide[eq_id], site.equipment_by_id(eq_id)) == {}


def test_a_bad_vibration_class_is_named(simulation, site: Site) -> None:
    pump = site.equipment_by_id("besancon/hq/pump-1")
    bad = pump.model_copy(update={"parameters": {**pump.parameters, "vibration_class": "V"}})
    with pytest.raises(SchemaError, match="vibration_class 'V'"):
        daily_indicators(simulation.wide[pump.id], bad)


def test_as_of_must_be_a_time(simulation, site: Site) -> None:
    pump = site.equipment_by_id("besancon/hq/pump-1")
    with pytest.raises(SchemaError, match="as_of must be a timestamp"):
        daily_indicators(simulation.wide[pump.id], pump, "yesterday-ish")
