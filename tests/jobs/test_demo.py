"""``bms demo``: the end-to-end walk, on a short window so that it stays fast."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from bms.cli import main
from bms.config import get_settings
from bms.errors import BmsError
from bms.jobs.demo import DEMO_MARKER, DemoHomeError, prepare_demo_home, run_demo
from bms.site.loader import load_site
from bms.telemetry.parquet import ParquetStore

SHORT_DAYS = 21


@pytest.fixture(scope="module")
def site():
    return load_site("besancon")


def test_demo_stores_the_simulation_and_its_ground_truth(bms_home: Path, site) -> None:
    run = run_demo(get_settings(), site, days=SHORT_DAYS, seed=3)

    store = ParquetStore(bms_home / "telemetry")
    assert run.store.points == len(site.point_ids()) == len(store.point_ids())
    assert run.store.rows == len(run.simulation.telemetry)
    assert run.store.by_kind["points"].sum() == run.store.points
    assert run.store.end is not None and run.store.end < pd.Timestamp.now(tz="UTC")
    truth = pd.read_csv(run.ground_truth_path)
    assert list(truth.columns[:5]) == ["equipment", "fault", "category", "onset", "failure"]
    assert len(truth) == len(run.simulation.ground_truth)
    assert (bms_home / DEMO_MARKER).is_file()
    assert len(run.detection.detectors) == 36
    assert run.detection.train_end < run.detection.end
    assert set(run.detection_score.faults["category"]) <= {"degradation", "abrupt", "sensor"}
    assert run.health["health"].between(0, 100).all()
    assert {"rul_p10", "rul_p50", "rul_p90"} <= set(run.health.columns)


def test_a_second_demo_replaces_the_first_instead_of_merging(bms_home: Path, site) -> None:
    run_demo(get_settings(), site, days=SHORT_DAYS, seed=3)
    second = run_demo(get_settings(), site, days=14, seed=4)
    assert second.store.rows == len(second.simulation.telemetry)


def test_a_demo_refused_for_its_options_keeps_the_last_demo(bms_home: Path, site) -> None:
    # the options were checked after the last demo's telemetry was cleared: a typo in --days
    # or --seed left BMS_HOME with its ground truth and no telemetry
    run_demo(get_settings(), site, days=14, seed=3)
    kept = sorted(p.name for p in (bms_home / "telemetry").iterdir())
    for days, seed in ((5000, 3), (14, -1)):
        with pytest.raises(BmsError, match="--days must be > 0 and <= 3660|--seed must be"):
            run_demo(get_settings(), site, days=days, seed=seed)
    assert sorted(p.name for p in (bms_home / "telemetry").iterdir()) == kept


def test_demo_refuses_a_home_holding_telemetry_it_did_not_write(bms_home: Path) -> None:
    foreign = bms_home / "telemetry" / "some%2Fpoint"
    foreign.mkdir(parents=True)
    (foreign / "2026-01.parquet").write_bytes(b"real data")
    with pytest.raises(DemoHomeError, match="did not write"):
        prepare_demo_home(get_settings())
    assert (foreign / "2026-01.parquet").read_bytes() == b"real data"


def test_demo_refuses_a_production_telemetry_store(
    bms_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BMS_TELEMETRY_URL", "influxdb://127.0.0.1:1/bms")
    get_settings.cache_clear()
    with pytest.raises(DemoHomeError, match="BMS_TELEMETRY_URL"):
        prepare_demo_home(get_settings())


def test_bms_demo_no_serve_prints_the_summary_and_exits_0(
    bms_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["demo", "--days", str(SHORT_DAYS), "--seed", "5", "--no-serve"])
    assert exited.value.code in (0, None)
    out = capsys.readouterr().out
    assert "Telemetry store 189 points" in out
    assert "Injected faults" in out
    assert "degradation" in out
    assert "Fault detection one detector per equipment (36)" in out
    assert "found within a day" in out
    assert "the first detection names the fault" in out
    assert "Health and remaining useful life" in out


def test_bms_demo_too_short_is_a_one_line_error(
    bms_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["demo", "--days", "3", "--no-serve"])
    assert exited.value.code == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "--days" in err


def test_a_ratio_s_limit_is_printed_without_its_unit_1() -> None:
    # the health table printed an exchanger's fouling ratio as "1.9 / 4 1"
    from bms.jobs.demo_print import _unit_suffix

    assert (_unit_suffix("1"), _unit_suffix("Pa"), _unit_suffix("mm/s")) == ("", " Pa", " mm/s")
