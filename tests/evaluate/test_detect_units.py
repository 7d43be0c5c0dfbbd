"""``bms detect --unit-column``: machines stacked in one file, each judged on its own rows."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from bms.evaluate.detect_csv import run_detect
from bms.evaluate.lbnl import LABEL, read_lbnl, signal_columns, within_training_rows
from tests.evaluate.test_detect_csv import run_cli


def machine(rng: np.random.Generator, n: int, start: str, flow_m3h: float) -> pd.DataFrame:
    """A pump's minutes: flow around ``flow_m3h``, pressure following it."""
    slow = pd.Series(rng.normal(0, 1, n + 500)).ewm(alpha=0.05).mean().to_numpy()[500:]
    flow = flow_m3h + slow
    return pd.DataFrame(
        {
            "time": pd.date_range(start, periods=n, freq="min").astype(str),
            "flow": flow + rng.normal(0, 0.1, n),
            "pressure": 0.1 * flow + rng.normal(0, 0.01, n),
        }
    )


def fleet(rng: np.random.Generator, units: dict[str, float], n: int, start: str) -> pd.DataFrame:
    """The units' rows at the same times, interleaved (a row per unit and time), as a fleet's
    export writes them."""
    frames = [machine(rng, n, start, flow).assign(machine=name) for name, flow in units.items()]
    return pd.concat(frames).sort_values("time", kind="stable").reset_index(drop=True)


@pytest.fixture
def fleet_csvs(tmp_path: Path, rng: np.random.Generator) -> tuple[Path, Path, Path]:
    """Two pumps at different duties; B's pressure steps up on its TEST rows 200-299."""
    units = {"A": 30.0, "B": 50.0}
    train, test = fleet(rng, units, 600, "2026-01-01"), fleet(rng, units, 400, "2026-01-02")
    fault = test.index[test["machine"] == "B"][200:300]
    test.loc[fault, "pressure"] += 0.2
    paths = tmp_path / "train.csv", tmp_path / "test.csv", tmp_path / "out.csv"
    train.to_csv(paths[0], index=False)
    test.to_csv(paths[1], index=False)
    return paths


def test_each_unit_is_judged_as_if_it_had_been_run_alone(fleet_csvs, tmp_path):
    train_csv, test_csv, out_csv = fleet_csvs
    summary = run_detect(train_csv, test_csv, out_csv, unit_column="machine")
    out, test = pd.read_csv(out_csv), pd.read_csv(test_csv)
    assert list(out.columns) == ["time", "unit", "score", "anomaly", "top_contributor"]
    assert out["unit"].tolist() == test["machine"].tolist()  # TEST's row order, interleaved
    assert out["time"].tolist() == test["time"].tolist()
    assert summary.units == ("A", "B") and summary.unit_column == "machine"
    train = pd.read_csv(train_csv)
    for name in ("A", "B"):
        alone = tmp_path / name
        alone.mkdir()
        for frame, csv in ((train, "train.csv"), (test, "test.csv")):
            rows = frame[frame["machine"] == name].drop(columns="machine")
            rows.to_csv(alone / csv, index=False)
        run_detect(alone / "train.csv", alone / "test.csv", alone / "out.csv")
        expected = pd.read_csv(alone / "out.csv")
        mine = out[out["unit"] == name].reset_index(drop=True).drop(columns="unit")
        pd.testing.assert_frame_equal(mine, expected)


def test_the_fault_is_found_in_its_unit_only(fleet_csvs, capsys):
    train_csv, test_csv, out_csv = fleet_csvs
    args = ["detect", "--train", str(train_csv), "--test", str(test_csv), "--out", str(out_csv)]
    code, stdout, err = run_cli([*args, "--unit-column", "machine"], capsys)
    assert code == 0, err
    out = pd.read_csv(out_csv)
    b_rows = out[out["unit"] == "B"].reset_index(drop=True)
    assert b_rows["anomaly"].iloc[230:300].mean() > 0.9
    assert (b_rows["top_contributor"].iloc[230:300] == "pressure").mean() > 0.8
    assert out.loc[out["unit"] == "A", "anomaly"].mean() < 0.1
    assert "judged per unit ('machine'): 2 unit(s), each by a detector fitted on its own" in stdout
    alarms = next(line for line in stdout.splitlines() if line.startswith("alarms in "))
    assert "of 2 unit(s): machine=B (" in alarms  # the unit with the most alarm first
    assert "  machine=B: 2026-01-02 " in stdout  # the episode names its unit


def test_lines_about_a_unit_name_it_and_count_rows_in_the_file(fleet_csvs, capsys):
    train_csv, test_csv, out_csv = fleet_csvs
    test = pd.read_csv(test_csv)
    b_row = int(test.index[test["machine"] == "B"][10])
    test["flow"] = test["flow"].astype(object)
    test.loc[b_row, "flow"] = "#VALUE!"
    test.to_csv(test_csv, index=False)
    train = pd.read_csv(train_csv).assign(spare=np.nan)  # empty all through TRAIN, both units
    train.to_csv(train_csv, index=False)
    test.assign(spare=1.0).to_csv(test_csv, index=False)
    args = ["detect", "--train", str(train_csv), "--test", str(test_csv), "--out", str(out_csv)]
    code, _, err = run_cli([*args, "--unit-column", "machine"], capsys)
    assert code == 0, err
    assert (
        f"{test_csv}, machine=B: 'flow': 1 cell(s) are not numbers (first '#VALUE!' in data row "
        f"{b_row + 1}), read as missing"
    ) in err
    assert f"{train_csv}, machine=A, B: 'spare' hold(s) no value in TRAIN" in err  # said once
    assert err.count("'spare' hold(s) no value in TRAIN") == 1


def test_ids_are_kept_as_written_and_train_only_units_are_said(tmp_path, rng, capsys):
    train = fleet(rng, {"0001": 30.0, "0002": 50.0, "0003": 40.0}, 300, "2026-01-01")
    test = fleet(rng, {"0002": 50.0, "0001": 30.0}, 100, "2026-01-02")
    paths = [tmp_path / n for n in ("tr.csv", "te.csv", "o.csv")]
    train.to_csv(paths[0], index=False)
    test.to_csv(paths[1], index=False)
    args = ["detect", "--train", str(paths[0]), "--test", str(paths[1]), "--out", str(paths[2])]
    code, stdout, err = run_cli([*args, "--unit-column", "machine"], capsys)
    assert code == 0, err
    out = pd.read_csv(paths[2], dtype={"unit": str})
    assert out["unit"].tolist() == test["machine"].tolist()
    assert f"{paths[0]}: machine=0003 not in TEST: not judged" in err
    assert "judged per unit ('machine'): 2 unit(s)" in stdout


def test_a_long_file_with_a_device_column_is_widened_per_device(tmp_path, rng):
    # ThingsBoard-like export: ts, device, key, value
    def long(frame: pd.DataFrame) -> pd.DataFrame:
        melted = frame.melt(id_vars=["time", "machine"], var_name="key", value_name="value")
        return melted.rename(columns={"time": "ts", "machine": "device"})

    units = {"P1": 30.0, "P2": 50.0}
    train, test = fleet(rng, units, 300, "2026-01-01"), fleet(rng, units, 100, "2026-01-02")
    paths = [tmp_path / n for n in ("tr.csv", "te.csv", "o.csv")]
    long(train).to_csv(paths[0], index=False)
    long(test).to_csv(paths[1], index=False)
    summary = run_detect(*paths, unit_column="device")
    out = pd.read_csv(paths[2])
    assert out["unit"].tolist() == ["P1"] * 100 + ["P2"] * 100  # a row per time of each unit
    assert summary.n_train == 600 and sorted(summary.features) == ["flow", "pressure"]


def _unit_cell_emptied(train: pd.DataFrame, test: pd.DataFrame) -> tuple[pd.DataFrame, ...]:
    return train, test.assign(machine=test["machine"].where(test.index != 7))


def _unit_renamed(train: pd.DataFrame, test: pd.DataFrame) -> tuple[pd.DataFrame, ...]:
    return train, test.assign(machine=test["machine"].replace("B", "C"))


def _unit_cut_short(train: pd.DataFrame, test: pd.DataFrame) -> tuple[pd.DataFrame, ...]:
    return train.drop(train.index[train["machine"] == "B"][20:]), test


@pytest.mark.parametrize(
    ("edit", "unit_column", "message"),
    [
        (None, "pump", "--unit-column 'pump' not found; columns are"),
        (
            _unit_cell_emptied,
            "machine",
            "test.csv: data row 8 has no 'machine' (1 row(s) without one): with --unit-column",
        ),
        (
            _unit_renamed,
            "machine",
            "test.csv: machine=C (first in data row 2) has no rows in TRAIN: each unit is judged",
        ),
        (None, "time", "--unit-column 'time' is also the --time-column"),
        (_unit_cut_short, "machine", "train.csv, machine=B: 20 training rows; at least 50"),
    ],
)
def test_bad_units_are_one_line_errors(fleet_csvs, capsys, edit, unit_column, message):
    train_csv, test_csv, out_csv = fleet_csvs
    train, test = pd.read_csv(train_csv), pd.read_csv(test_csv)
    if edit is not None:
        train, test = edit(train, test)
    train.to_csv(train_csv, index=False)
    test.to_csv(test_csv, index=False)
    args = ["detect", "--train", str(train_csv), "--test", str(test_csv), "--out", str(out_csv)]
    args += ["--unit-column", unit_column]
    if unit_column == "time":
        args += ["--time-column", "time"]
    code, _, err = run_cli(args, capsys)
    assert code != 0
    assert message in err and len(err.strip().splitlines()) == 1, err
    assert not out_csv.exists()  # nothing written when a unit is refused


def test_two_real_ahus_in_one_file_keep_each_units_rules_and_flags(dataset, tmp_path):
    # LBNL MZVAV-2-2 and SZCAV (real column names, different points): two days of each to
    # train, two to score, stacked with a column naming the unit
    trains, tests = [], []
    for unit in ("MZVAV-2-2", "SZCAV"):
        frame = read_lbnl(dataset("lbnl_ahu") / f"{unit}.csv")
        signals = signal_columns(frame)
        normal_days = frame.loc[within_training_rows(frame), "day"].unique()[:2]
        faulted_days = frame.loc[frame[LABEL] == 1, "day"].unique()[:2]
        trains.append(frame.loc[frame["day"].isin(normal_days), signals].assign(ahu=unit))
        tests.append(frame.loc[frame["day"].isin(faulted_days), signals].assign(ahu=unit))
    paths = [tmp_path / n for n in ("tr.csv", "te.csv", "o.csv")]
    pd.concat(trains).to_csv(paths[0], index_label="Datetime")
    pd.concat(tests).to_csv(paths[1], index_label="Datetime")
    summary = run_detect(*paths, unit_column="ahu")
    out = pd.read_csv(paths[2], keep_default_na=False)
    assert "rule" in out.columns and (out["rule"] != "").any()
    assert summary.rules_applied and summary.unit_alarms
    for unit, train, test in zip(("MZVAV-2-2", "SZCAV"), trains, tests, strict=True):
        alone = [tmp_path / f"{unit}_{n}" for n in ("tr.csv", "te.csv", "o.csv")]
        for frame, csv in ((train, alone[0]), (test, alone[1])):
            frame.drop(columns="ahu").dropna(axis=1, how="all").to_csv(csv, index_label="Datetime")
        run_detect(*alone)
        expected = pd.read_csv(alone[2], keep_default_na=False)
        mine = out[out["unit"] == unit].reset_index(drop=True)
        assert np.array_equal(mine["anomaly"], expected["anomaly"])
        assert mine["rule"].tolist() == expected["rule"].tolist()


def test_units_of_a_typed_file_are_written_as_numbers_are(tmp_path, rng):
    # Parquet keeps the column's type: unit 1 is written "1", whether stored as int or float
    def typed(frame: pd.DataFrame, dtype: str) -> pd.DataFrame:
        ids = frame["machine"].map({"A": 1, "B": 2}).astype(dtype)
        return frame.assign(machine=ids, time=pd.to_datetime(frame["time"]))

    units = {"A": 30.0, "B": 50.0}
    train, test = fleet(rng, units, 300, "2026-01-01"), fleet(rng, units, 100, "2026-01-02")
    for dtype in ("int64", "float64"):
        paths = [tmp_path / f"{dtype}_{n}" for n in ("tr.parquet", "te.parquet", "o.csv")]
        typed(train, dtype).to_parquet(paths[0], index=False)
        typed(test, dtype).to_parquet(paths[1], index=False)
        summary = run_detect(*paths, unit_column="machine")
        assert summary.units == ("1", "2")
        assert pd.read_csv(paths[2], dtype={"unit": str})["unit"].iloc[:2].tolist() == ["1", "2"]


def test_a_column_of_words_naming_stacked_machines_is_refused_with_the_option_named(
    fleet_csvs, capsys
):
    train_csv, test_csv, out_csv = fleet_csvs
    args = ["detect", "--train", str(train_csv), "--test", str(test_csv), "--out", str(out_csv)]
    code, _, err = run_cli(args, capsys)
    assert code != 0
    assert err.strip().endswith(
        "exclude them with --ignore; or, if 'machine' names the machine of each row, judge each "
        "machine on its own with --unit-column 'machine'"
    )
    # a column of words that does not split the times (a site name) gets the plain fix
    train = pd.read_csv(train_csv)
    train[train["machine"] == "A"].assign(machine="besancon").to_csv(train_csv, index=False)
    code, _, err = run_cli(args, capsys)
    assert code != 0 and err.strip().endswith("exclude them with --ignore"), err


def test_without_times_each_out_row_is_numbered_as_its_test_row(fleet_csvs, capsys):
    train_csv, test_csv, out_csv = fleet_csvs
    for csv in (train_csv, test_csv):
        pd.read_csv(csv).drop(columns="time").to_csv(csv, index=False)
    args = ["detect", "--train", str(train_csv), "--test", str(test_csv), "--out", str(out_csv)]
    code, stdout, err = run_cli([*args, "--unit-column", "machine"], capsys)
    assert code == 0, err
    assert "of 2 unit(s): machine=B (" in stdout and "anomalous row(s))" in stdout  # no days
    out = pd.read_csv(out_csv)
    assert out["time"].tolist() == list(range(len(out)))  # the row number in TEST
    assert out["unit"].tolist() == pd.read_csv(test_csv)["machine"].tolist()
