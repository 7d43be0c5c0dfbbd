"""``bms train anomaly``: per-equipment detectors from the store, guarded promotion."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from bms.cli import main
from bms.config import get_settings
from bms.errors import BmsError
from bms.jobs.train_anomaly import (
    model_name,
    train_site_anomaly,
    warn_if_production_is_blinder,
)
from bms.models.equipment_detection import DetectionParams
from bms.models.registry import ModelRegistry
from bms.models.selection import SelectionDecision
from bms.simulate import simulate_site, write_simulation
from bms.site.loader import load_site
from bms.telemetry.parquet import ParquetStore

CHILLER = "besancon/hq/chiller-1"


@pytest.fixture(scope="module")
def site():
    return load_site("besancon")


@pytest.fixture
def stored_site(bms_home: Path, site) -> Path:
    """30 simulated days (with faults and their ground truth) in the store of BMS_HOME."""
    result = simulate_site(site, "2026-02-02", 30, seed=21, faults="default")
    write_simulation(result, ParquetStore(bms_home / "telemetry"), bms_home)
    return bms_home


def test_first_detector_is_promoted_and_a_worse_one_is_refused(stored_site: Path, site) -> None:
    registry = ModelRegistry(get_settings().models_dir)
    first = train_site_anomaly(get_settings(), registry, site, equipment=CHILLER, holdout_days=7)
    assert [d.name for d in first] == [model_name(CHILLER)] == ["besancon.hq.chiller-1.anomaly"]
    assert first[0].promoted
    loaded = registry.load(model_name(CHILLER))  # hash verified before unpickling
    assert loaded.equipment == CHILLER

    # unsmoothed residuals against half a robust s.d. flag noise (same held-back days, labels)
    jumpy = DetectionParams(k_sigma=0.5, smooth_steps=1, min_valid_steps=1)
    worse = train_site_anomaly(
        get_settings(), registry, site, equipment=CHILLER, holdout_days=7, params=jumpy
    )
    assert not worse[0].promoted, worse[0].reason
    assert registry.production(model_name(CHILLER)).version == first[0].candidate_version


def test_wide_thresholds_are_logged_and_kept_with_the_model(
    stored_site: Path, site, caplog: pytest.LogCaptureFixture
) -> None:
    """Thresholds learned 3 floors wide or more are said at training and kept in the model's
    metadata (``bms models show``): here made wide by a k_sigma of 200."""
    registry = ModelRegistry(get_settings().models_dir)
    (normal,) = train_site_anomaly(get_settings(), registry, site, equipment=CHILLER)
    assert registry.get(normal.name, normal.candidate_version).extra["wide_thresholds"] == "none"
    wide = DetectionParams(k_sigma=200.0)
    with caplog.at_level("WARNING", logger="bms.jobs.train_anomaly"):
        (decision,) = train_site_anomaly(
            get_settings(), registry, site, equipment=CHILLER, params=wide
        )
    kept = registry.get(decision.name, decision.candidate_version).extra["wide_thresholds"]
    assert "x its floor" in kept
    assert f"{CHILLER}: " in caplog.text and "learned a threshold of" in caplog.text


def _decision(name: str, champion: int, candidate: int, promoted: bool) -> SelectionDecision:
    return SelectionDecision(
        name=name,
        candidate_version=candidate,
        champion_version=champion,
        metric="alarm_rate",
        higher_is_better=False,
        candidate_score=0.02,
        champion_score=0.0,
        tolerance=0.0,
        promoted=promoted,
        reason="worse",
    )


@pytest.mark.parametrize(
    ("promoted", "candidate_wide", "warned"),
    [
        (False, 0, True),  # refused, and sees where production is blind: say how to promote it
        (False, 2, False),  # refused, as blind as production: nothing to add
        (True, 0, False),  # promoted: nothing to add
    ],
)
def test_a_refused_candidate_that_sees_where_production_is_blind_is_pointed_out(
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    promoted: bool,
    candidate_wide: int,
    warned: bool,
) -> None:
    registry = ModelRegistry(tmp_path)
    name = "besancon.hq.ahu-2.anomaly"
    for wide in ("cooling_valve_vs_duty (7.2 x its floor), sat_error (3.1 x its floor)", "none"):
        registry.register(
            {"detector": wide},
            name=name,
            kind="anomaly",
            scope="besancon/hq/ahu-2",
            features=["cooling_valve_vs_duty"],
            data_start=pd.Timestamp("2026-08-01"),
            data_end=pd.Timestamp("2026-08-29"),
            metrics={"holdout_alarm_rate": 0.0},
            extra={"wide_thresholds": wide},
        )
    with caplog.at_level("WARNING", logger="bms.jobs.train_anomaly"):
        warn_if_production_is_blinder(registry, _decision(name, 1, 2, promoted), candidate_wide)
    said = "production version 1 learned 2 wide threshold(s)" in caplog.text
    assert said is warned
    if warned:
        assert f"bms models promote {name} 2" in caplog.text


def test_unknown_equipment_and_empty_store_are_one_line_errors(bms_home: Path, site) -> None:
    registry = ModelRegistry(get_settings().models_dir)
    with pytest.raises(BmsError, match="no data of the site"):
        train_site_anomaly(get_settings(), registry, site)
    with pytest.raises(BmsError, match="nope"):
        train_site_anomaly(get_settings(), registry, site, equipment="besancon/hq/nope")


def test_bms_train_anomaly_trains_every_equipment(
    stored_site: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["train", "anomaly", "--holdout-days", "7"])
    assert exited.value.code in (0, None)
    out = capsys.readouterr().out
    assert out.count("promoted to production") >= 30
    assert "besancon.hq.pump-1.anomaly version 1" in out
