"""simulate_site / write_simulation / `bms simulate`: determinism, contracts, files, errors."""

from __future__ import annotations

import csv
import logging
import re
from pathlib import Path

import pandas as pd
import pytest

from bms.cli import main
from bms.errors import BmsError
from bms.simulate import SimulationResult, simulate_site, write_simulation
from bms.site.model import Building, Equipment, Site
from bms.telemetry.frame import validate_frame
from bms.telemetry.parquet import ParquetStore

ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")


def _without(site: Site, *names: str, extra: tuple[Equipment, ...] = ()) -> Site:
    building = site.buildings[0]
    kept = tuple(e for e in building.equipment if e.name not in names) + extra
    return site.model_copy(update={"buildings": (building.model_copy(update={"equipment": kept}),)})


def test_same_seed_gives_identical_data_and_another_seed_different_data(besancon: Site) -> None:
    first = simulate_site(besancon, "2026-03-02", 5, seed=7)
    again = simulate_site(besancon, "2026-03-02", 5, seed=7)
    other = simulate_site(besancon, "2026-03-02", 5, seed=8)
    pd.testing.assert_frame_equal(first.telemetry, again.telemetry, check_exact=True)
    pd.testing.assert_frame_equal(first.ground_truth, again.ground_truth, check_exact=True)
    assert not first.telemetry["value"].equals(other.telemetry["value"])
    assert not first.ground_truth.equals(other.ground_truth)


def test_removing_an_equipment_leaves_the_others_unchanged(besancon: Site) -> None:
    full = simulate_site(besancon, "2026-03-02", 3, seed=7, faults="none")
    fewer = simulate_site(_without(besancon, "heat-meter"), "2026-03-02", 3, seed=7, faults="none")
    kept = full.telemetry[~full.telemetry["point"].str.contains("/heat-meter/")]
    pd.testing.assert_frame_equal(kept.reset_index(drop=True), fewer.telemetry, check_exact=True)


def test_the_telemetry_is_a_canonical_frame_of_the_sites_points(
    winter: SimulationResult, besancon: Site
) -> None:
    frame = winter.telemetry
    assert list(frame.columns) == ["time", "point", "value"]
    assert str(frame["time"].dtype) == "datetime64[ns, UTC]"
    assert set(frame["point"]) == set(besancon.point_ids())
    assert len(validate_frame(frame)) == len(frame)  # sorted, unique, finite: nothing dropped
    first = frame[frame["point"] == "besancon/hq/ahu-1/sat"]["time"]
    assert (first.diff().dropna() == pd.Timedelta(minutes=5)).mean() > 0.99
    assert first.iloc[0] == pd.Timestamp("2026-01-12", tz="UTC")


def test_an_unknown_equipment_kind_is_skipped_with_a_warning(
    besancon: Site, caplog: pytest.LogCaptureFixture
) -> None:
    boiler = Equipment(id="besancon/hq/boiler-9", name="boiler-9", site="besancon",
                       building="besancon/hq", kind="Boiler")  # fmt: skip
    site = _without(besancon, extra=(boiler,))
    with caplog.at_level(logging.WARNING, logger="bms.simulate"):
        result = simulate_site(site, "2026-03-02", 2, seed=1, faults="none")
    assert "boiler-9" in caplog.text and "'Boiler'" in caplog.text
    assert not result.telemetry["point"].str.contains("boiler-9").any()


def test_a_site_with_only_zones_and_one_ahu_still_simulates(besancon: Site) -> None:
    building = besancon.buildings[0]
    keep = {"ahu-1", "zone-01", "zone-02"}
    small = Building(id=building.id, name=building.name,
                     equipment=tuple(e for e in building.equipment if e.name in keep))  # fmt: skip
    site = besancon.model_copy(update={"buildings": (small,)})
    result = simulate_site(site, "2026-07-06", 3, seed=1)
    assert result.telemetry["point"].str.startswith("besancon/hq/zone-01/").any()
    assert set(result.ground_truth["equipment"]) <= {e.id for e in small.equipment}


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"days": 0}, "--days must be > 0"), ({"start": "2026-13-01"}, "--start must be a date"),
     ({"step": "banana"}, "step must be a duration")],
)  # fmt: skip
def test_bad_arguments_are_refused(besancon: Site, kwargs: dict, message: str) -> None:
    arguments = {"start": "2026-01-01", "days": 2} | kwargs
    with pytest.raises(BmsError, match=message):
        simulate_site(besancon, **arguments)


def test_write_simulation_stores_telemetry_and_ground_truth(besancon: Site, tmp_path: Path) -> None:
    result = simulate_site(besancon, "2026-02-02", 10, seed=3)
    store = ParquetStore(tmp_path / "telemetry")
    path = write_simulation(result, store, tmp_path)
    back = store.read(["besancon/hq/ahu-1/filter_dp"])
    mine = result.telemetry[result.telemetry["point"] == "besancon/hq/ahu-1/filter_dp"]
    pd.testing.assert_frame_equal(
        back.reset_index(drop=True), mine.reset_index(drop=True), check_dtype=False
    )
    with path.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert path.name == "ground_truth.csv"
    assert list(rows[0])[:5] == ["equipment", "fault", "category", "onset", "failure"]
    assert {r["category"] for r in rows} == {"degradation", "abrupt", "sensor", "data_quality"}
    for r in rows:
        assert r["equipment"].startswith("besancon/hq/")
        assert ISO.match(r["onset"])
        assert ISO.match(r["failure"]) if r["category"] == "degradation" else r["failure"] == ""


def test_bms_simulate_writes_into_bms_home(
    bms_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as done:
        main(["simulate", "--days", "2", "--seed", "4", "--start", "2026-03-02"])
    assert done.value.code in (0, None)
    out = capsys.readouterr().out
    assert "189 points" in out and "2026-03-02T00:00:00Z .. 2026-03-04T00:00:00Z" in out
    assert (bms_home / "ground_truth.csv").exists()
    assert len(ParquetStore(bms_home / "telemetry").point_ids()) == 189


@pytest.mark.parametrize(
    ("args", "message"),
    [(["--days", "0"], "--days must be a positive number"),
     (["--days", "3", "--start", "2026-13-01"], "--start must be a date YYYY-MM-DD"),
     (["--days", "3", "--faults", "foo"], "--faults must be one of default, none"),
     # tracebacks before: a random generator's seed, and times pandas cannot hold
     (["--days", "3", "--seed", "-1"], "--seed must be a whole number >= 0, got -1"),
     (["--days", "3", "--start", "1500-01-01"], "the window must lie within the years 1900-2200"),
     (["--days", "3", "--start", "9999-12-31"], "the window must lie within the years")],
)  # fmt: skip
def test_bms_simulate_refuses_bad_input_in_one_line(
    bms_home: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    with pytest.raises(SystemExit) as done:
        main(["simulate", *args])
    assert done.value.code == 2
    err = capsys.readouterr().err.strip()
    assert message in err and "\n" not in err and "Traceback" not in err


def test_a_second_simulation_into_one_home_is_refused_and_the_same_one_is_rerun(
    bms_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # the telemetry is merged but the ground truth rewritten: two windows in one home left the
    # first one's faults in the telemetry and out of the ground truth, scored as false alarms
    first = ["simulate", "--days", "2", "--seed", "3", "--start", "2026-01-05"]
    for _ in range(2):  # the same simulation twice: the same rows again
        with pytest.raises(SystemExit) as done:
            main(first)
        assert done.value.code in (0, None)
    truth = (bms_home / "ground_truth.csv").read_text()
    with pytest.raises(SystemExit) as done:
        main(["simulate", "--days", "3", "--seed", "3", "--start", "2026-02-01"])
    assert done.value.code == 2
    err = capsys.readouterr().err.strip()
    assert "holds another simulation (2 days from 2026-01-05" in err and "\n" not in err
    assert (bms_home / "ground_truth.csv").read_text() == truth


def test_bms_home_that_is_a_file_is_one_line(
    bms_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bms_home.write_text("")
    with pytest.raises(SystemExit) as done:
        main(["simulate", "--days", "1"])
    assert done.value.code == 2
    err = capsys.readouterr().err.strip()
    assert err.endswith("a file where a folder is needed (BMS_HOME, or a path in it?)")
    assert "Traceback" not in err
