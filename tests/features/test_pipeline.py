"""Feature frames: the contract, the glossary, the transformers, simulated and LBNL data."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from bms.errors import SchemaError
from bms.features.catalog import describe
from bms.features.pipeline import EquipmentFeatures, RollingFeatures, build_features
from bms.features.roles import LBNL_MZVAV_ROLE_MAP, lbnl_ahu_frame, role_map_for
from bms.simulate import SimulationResult, simulate_site
from bms.site.loader import load_site
from bms.site.model import Site


@pytest.fixture(scope="module")
def site() -> Site:
    return load_site("besancon")


@pytest.fixture(scope="module")
def winter(site: Site) -> SimulationResult:
    """30 winter days with the default fault plan (a filter clogs, the exchanger fouls)."""
    return simulate_site(site, "2026-01-12", 30, seed=11)


def fault(result: SimulationResult, name: str) -> pd.Series:
    rows = result.ground_truth[result.ground_truth["fault"] == name]
    if rows.empty:
        pytest.fail(f"the simulator's default plan no longer holds a {name!r} fault")
    return rows.iloc[0]


def test_feature_frame_contract_and_glossary(site: Site, winter: SimulationResult) -> None:
    for name in ("ahu-1", "pump-1", "hx-1", "chiller-1", "zone-03"):
        equipment = site.equipment_by_id(f"besancon/hq/{name}")
        features = build_features(winter.telemetry, equipment, "5min")
        index = features.index
        assert isinstance(index, pd.DatetimeIndex) and str(index.tz) == "UTC"
        assert (np.diff(index.asi8) == np.diff(index.asi8)[0]).all()  # regular step
        assert len(index) == 30 * 288
        assert features.columns.is_unique
        for column in features.columns:
            assert describe(column).unit, column  # every column is in the glossary
        assert features["quality_bad_share"].between(0, 1).all()


def test_filter_resistance_rises_while_the_filter_clogs(
    site: Site, winter: SimulationResult
) -> None:
    clog = fault(winter, "filter_clogging")
    features = build_features(winter.telemetry, site.equipment_by_id(clog["equipment"]))
    resistance = features["filter_dp_per_flow2"]
    before = resistance[clog["onset"] - pd.Timedelta("3D") : clog["onset"]].median()
    at_end = resistance[clog["failure"] - pd.Timedelta("2D") : clog["failure"]].median()
    assert at_end > 2.0 * before
    design = features["filter_dp_at_design_flow_pa"]
    design = design[clog["failure"] - pd.Timedelta("1D") : clog["failure"]]
    assert design.median() > 0.8 * 450.0  # near the nameplate final pressure drop
    assert features["filter_dp_per_flow2_slope_per_h_24h"][clog["onset"] :].median() > 0


def test_exchanger_approach_grows_with_fouling(site: Site, winter: SimulationResult) -> None:
    fouling = fault(winter, "hx_fouling")
    features = build_features(winter.telemetry, site.equipment_by_id(fouling["equipment"]))
    approach = features["approach_k"]
    first_day = approach[fouling["onset"] : fouling["onset"] + pd.Timedelta("1D")].median()
    last_day = approach[fouling["failure"] - pd.Timedelta("1D") : fouling["failure"]].median()
    assert last_day > 2.0 * first_day


def test_role_map_overrides_and_errors(site: Site) -> None:
    ahu = site.equipment_by_id("besancon/hq/ahu-1")
    mapping = role_map_for(ahu, {"sat": "supply_temp"})
    assert mapping["sat"] == "supply_temp" and mapping["mat"] == "mat"
    with pytest.raises(SchemaError, match="'head' is not a role of AHU"):
        role_map_for(ahu, {"head": "x"})
    with pytest.raises(SchemaError, match="no role map for equipment kind 'Boiler'"):
        role_map_for("Boiler")


def test_lbnl_columns_are_converted_to_si(dataset: Callable[[str], Path]) -> None:
    from bms.evaluate.lbnl import read_lbnl

    raw = read_lbnl(dataset("lbnl_ahu") / "MZVAV-2-2.csv").iloc[:120]
    ahu = lbnl_ahu_frame(raw)
    assert set(ahu.columns) == set(LBNL_MZVAV_ROLE_MAP)
    assert str(ahu.index.tz) == "UTC"
    assert ahu.index[0] == pd.Timestamp("2007-08-28T05:00:00Z")  # 00:00 CDT
    assert ahu["sat"].iloc[0] == pytest.approx((77.13 - 32) * 5 / 9)
    assert ahu["duct_static_sp"].iloc[0] == pytest.approx(1.4 * 249.0889)
    assert ahu["fan_speed"].iloc[0] == 100.0  # 0-1 signal -> %

    transformer = EquipmentFeatures(kind="AHU", windows=("1h",), damper_min_pct=20.0)
    features = transformer.fit(ahu).transform(ahu)
    assert len(transformer.oa_model_) == 2
    assert {"sat_error_k", "duct_static_error_pa", "state_off", "sat_error_k_mean_1h"} <= set(
        features.columns
    )
    assert features["sat_error_k"].iloc[0] == pytest.approx(
        ahu["sat"].iloc[0] - ahu["sat_sp"].iloc[0]
    )


def test_chiller_transformer_learns_the_expected_cop(rng: np.random.Generator) -> None:
    idx = pd.date_range("2026-07-01", periods=400, freq="15min", tz="UTC")
    load = rng.uniform(80, 400, len(idx))
    cond = rng.uniform(28, 42, len(idx))
    cop = 2.5 + 1.2 * load / 400 - 0.4 * (load / 400) ** 2 - 0.03 * (cond - 35)
    frame = pd.DataFrame({"cooling_load": load, "power": load / cop, "cond_temp": cond}, index=idx)
    transformer = EquipmentFeatures(kind="Chiller", windows=("1h",), design_cooling_kw=400.0)
    features = transformer.fit(frame).transform(frame)
    assert features["cop_residual"].abs().max() < 1e-6
    degraded = frame.assign(power=frame["power"] * 1.25)
    assert transformer.transform(degraded)["cop_residual"].median() < -0.4


def test_rolling_transformer_refuses_frames_without_time_index() -> None:
    with pytest.raises(SchemaError, match="DatetimeIndex"):
        RollingFeatures().fit(pd.DataFrame({"x": [1.0, 2.0]}))
