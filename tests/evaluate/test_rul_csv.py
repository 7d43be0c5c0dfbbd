"""``bms rul`` on CSV files: the output contract and one-line errors for bad input."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from bms.cli import main
from bms.errors import SchemaError
from bms.evaluate.rul_csv import prepare_histories, run_rul
from bms.evaluate.wide_csv import read_wide_csv


def histories(rng: np.random.Generator, n_units: int, *, cut: bool) -> pd.DataFrame:
    """Pumps whose bearing vibration grows linearly until it reaches 10 mm/s at failure."""
    frames = []
    for unit in range(n_units):
        start = rng.uniform(1.0, 4.0)
        life = int((10.0 - start) / 0.1)  # days
        stop = int(rng.integers(10, life - 5)) if cut else life
        day = np.arange(stop, dtype=float)
        frames.append(
            pd.DataFrame(
                {
                    "pump": f"P-{unit:02d}",
                    "day": day,
                    "vibration_mm_s": start + 0.1 * day + rng.normal(0, 0.1, stop),
                    "flow_m3_h": 30 + rng.normal(0, 1, stop),
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


@pytest.fixture
def files(tmp_path: Path, rng: np.random.Generator) -> tuple[Path, Path, Path]:
    train, test = tmp_path / "train.csv", tmp_path / "test.csv"
    histories(rng, 12, cut=False).to_csv(train, index=False)
    histories(rng, 6, cut=True).to_csv(test, index=False)
    return train, test, tmp_path / "out.csv"


def run_cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    try:
        main(args)
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def cli_args(train: Path, test: Path, out: Path, *extra: str) -> list[str]:
    return [
        "rul", "--train", str(train), "--test", str(test), "--out", str(out),
        "--unit-column", "pump", "--time-column", "day", *extra,
    ]  # fmt: skip


def test_one_row_per_test_unit_with_monotone_quantiles(
    files: tuple[Path, Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    train, test, out = files
    code, stdout, _ = run_cli(cli_args(train, test, out, "--max-rul", "80"), capsys)
    assert code == 0 and "predicted 6 units" in stdout
    result = pd.read_csv(out)
    assert list(result.columns) == ["unit", "rul_p10", "rul_p50", "rul_p90"]
    assert result["unit"].tolist() == [f"P-{i:02d}" for i in range(6)]
    assert (result["rul_p10"] >= 0).all()
    assert (result["rul_p10"] <= result["rul_p50"]).all()
    assert (result["rul_p50"] <= result["rul_p90"]).all()
    assert result["rul_p50"].max() <= 80


def test_parquet_histories_give_the_csvs_predictions(
    files: tuple[Path, Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    train, test, out = files
    code, _, err = run_cli(cli_args(train, test, out), capsys)
    assert code == 0, err
    from_csv = pd.read_csv(out)
    parquet = [tmp_path / "train.parquet", tmp_path / "test.parquet"]
    for csv, path in zip((train, test), parquet, strict=True):
        pd.read_csv(csv).to_parquet(path)
    code, _, err = run_cli(cli_args(*parquet, out), capsys)
    assert code == 0, err
    pd.testing.assert_frame_equal(pd.read_csv(out), from_csv)


def test_rul_follows_the_wear(files: tuple[Path, Path, Path], tmp_path: Path) -> None:
    train, _, out = files
    test = tmp_path / "two.csv"
    day = np.arange(20.0)
    pd.DataFrame(
        {
            "pump": ["worn"] * 20 + ["new"] * 20,
            "day": np.concatenate([day, day]),
            "vibration_mm_s": np.concatenate([8.0 + 0.1 * day, 1.0 + 0.1 * day]),
            "flow_m3_h": 30.0,
        }
    ).to_csv(test, index=False)
    run_rul(train, test, out, unit_column="pump", time_column="day")
    result = pd.read_csv(out).set_index("unit")
    assert result.loc["worn", "rul_p50"] < 10  # 10 - 9.9 mm/s at 0.1 mm/s a day: ~1 day
    assert result.loc["new", "rul_p50"] > 30


def test_dates_give_rul_in_days(tmp_path: Path, rng: np.random.Generator) -> None:
    train, test, out = tmp_path / "train.csv", tmp_path / "test.csv", tmp_path / "out.csv"
    for path, cut, n in ((train, False, 8), (test, True, 3)):
        frame = histories(rng, n, cut=cut)
        frame["day"] = pd.Timestamp("2026-01-01") + pd.to_timedelta(frame["day"], unit="D")
        frame.to_csv(path, index=False)
    summary = run_rul(train, test, out, unit_column="pump", time_column="day")
    assert summary.time_unit == "days"
    assert len(pd.read_csv(out)) == 3


def test_unit_with_one_row(files: tuple[Path, Path, Path], capsys: pytest.CaptureFixture) -> None:
    train, test, out = files
    frame = pd.read_csv(test)
    frame = pd.concat([frame, frame.iloc[[0]].assign(pump="lonely")])
    frame.to_csv(test, index=False)
    code, _, err = run_cli(cli_args(train, test, out), capsys)
    assert code == 2
    assert err.strip() == (
        f"bms: error: {test}: unit 'lonely' has 1 row; every unit needs at least 2 rows of history"
    )


def test_time_going_backwards(
    files: tuple[Path, Path, Path], capsys: pytest.CaptureFixture
) -> None:
    train, test, out = files
    frame = pd.read_csv(train)
    frame.loc[5, "day"] = 1.0
    frame.to_csv(train, index=False)
    code, _, err = run_cli(cli_args(train, test, out), capsys)
    assert code == 2
    assert "not increasing within unit 'P-00' at row 7" in err
    assert len(err.strip().splitlines()) == 1


def test_missing_unit_column(files: tuple[Path, Path, Path], capsys: pytest.CaptureFixture) -> None:
    train, test, out = files
    args = cli_args(train, test, out)
    args[args.index("pump")] = "engine"
    code, _, err = run_cli(args, capsys)
    assert code == 2 and "--unit-column 'engine' not found" in err


def test_test_lacks_a_feature(files: tuple[Path, Path, Path]) -> None:
    train, test, out = files
    pd.read_csv(test).drop(columns=["flow_m3_h"]).to_csv(test, index=False)
    with pytest.raises(SchemaError, match="TEST lacks feature column.*'flow_m3_h'"):
        run_rul(train, test, out, unit_column="pump", time_column="day")


def test_non_numeric_feature(files: tuple[Path, Path, Path], capsys: pytest.CaptureFixture) -> None:
    train, test, out = files
    pd.read_csv(train).assign(status="ok").to_csv(train, index=False)
    code, _, err = run_cli(cli_args(train, test, out), capsys)
    assert code == 2 and "non-numeric feature column(s) 'status'" in err


def test_too_few_training_units(files: tuple[Path, Path, Path]) -> None:
    train, test, out = files
    frame = pd.read_csv(train)
    frame[frame["pump"].isin(["P-00", "P-01", "P-02"])].to_csv(train, index=False)
    with pytest.raises(SchemaError, match="3 training unit.*at least 5"):
        run_rul(train, test, out, unit_column="pump", time_column="day")


def test_units_must_be_contiguous(files: tuple[Path, Path, Path]) -> None:
    train, test, out = files
    frame = pd.read_csv(train)
    frame.sample(frac=1.0, random_state=0).to_csv(train, index=False)
    with pytest.raises(SchemaError, match="not contiguous; sort the file by unit then time"):
        run_rul(train, test, out, unit_column="pump", time_column="day")


def test_a_saved_row_index_is_not_a_feature(tmp_path: Path, rng: np.random.Generator) -> None:
    # DataFrame.to_csv() writes the row numbers first, under an empty header; they grow with
    # the time, so as a feature they would stand in for the wear
    train, test, out = tmp_path / "train.csv", tmp_path / "test.csv", tmp_path / "out.csv"
    histories(rng, 12, cut=False).to_csv(train)
    histories(rng, 6, cut=True).to_csv(test)
    frame = read_wide_csv(train, ",")
    assert frame.columns[0] == "Unnamed: 0"
    prepared, _ = prepare_histories(frame, train, unit_column="pump", time_column="day")
    assert list(prepared.columns) == ["pump", "day", "vibration_mm_s", "flow_m3_h"]
    run_rul(train, test, out, unit_column="pump", time_column="day")
    assert len(pd.read_csv(out)) == 6


def test_an_out_folder_is_refused_before_the_fit(
    files: tuple[Path, Path, Path], capsys: pytest.CaptureFixture
) -> None:
    train, test, out = files
    code, _, err = run_cli(cli_args(train, test, out.parent), capsys)
    assert code == 2
    assert err.startswith(f"bms: error: {out.parent}: a folder; give OUT a file name"), err
    assert err.count("\n") == 1
