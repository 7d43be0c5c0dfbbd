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


def _dated(frame: pd.DataFrame, start: str, written: str) -> pd.DataFrame:
    """``frame`` with its days as dates from ``start``, written with ``written`` (strftime)."""
    days = pd.Timestamp(start) + pd.to_timedelta(frame["day"], unit="D")
    return frame.assign(day=days.dt.strftime(written))


def test_dates_written_day_first_give_the_rul_of_iso_dates(
    tmp_path: Path, rng: np.random.Generator, caplog: pytest.LogCaptureFixture
) -> None:
    # a French export (15/01/2026): read element by element, its first twelve days of each
    # month fell in other months (01/02 as January 2), the times went backwards or the RULs
    # came out months too short; the day first is read as the dates show, for both files
    frames = {"train": histories(rng, 8, cut=False), "test": histories(rng, 3, cut=True)}
    results = {}
    for written in ("%Y-%m-%d", "%d/%m/%Y"):
        paths = {name: tmp_path / f"{name}-{written[1]}.csv" for name in (*frames, "out")}
        for name, frame in frames.items():
            _dated(frame, "2026-01-01", written).to_csv(paths[name], index=False)
        run_rul(paths["train"], paths["test"], paths["out"], unit_column="pump", time_column="day")
        results[written] = pd.read_csv(paths["out"])
    pd.testing.assert_frame_equal(results["%d/%m/%Y"], results["%Y-%m-%d"])
    assert "could put the day or the month first" not in caplog.text  # days past the 12th


def test_dates_whose_order_no_day_tells_are_read_with_a_line_saying_how(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # a reading on the first of each month: 01/02/2024 is January 2 or February 1; the
    # reading that spans less time is taken, and said, with the way to settle it
    rows = [{"unit": u, "date": f"01/{m:02d}/2024", "wear": m + 0.1 * u} for u in range(1, 7)
            for m in range(1, 13)]  # fmt: skip
    train, test, out = tmp_path / "tr.csv", tmp_path / "te.csv", tmp_path / "o.csv"
    pd.DataFrame(rows).to_csv(train, index=False)
    pd.DataFrame(rows[:6]).to_csv(test, index=False)
    run_rul(train, test, out, unit_column="unit", time_column="date")
    assert (
        "time column 'date': dates such as '01/02/2024' could put the day or the month first; "
        "read month first (02 January 2024), the reading that spans less time: if that is "
        "wrong, write the dates as YYYY-MM-DD"
    ) in caplog.text


def test_the_unit_and_time_columns_are_matched_whatever_their_case(
    files: tuple[Path, Path, Path], caplog: pytest.LogCaptureFixture
) -> None:
    train, test, out = files
    run_rul(train, test, out, unit_column="pump", time_column="day")
    expected = pd.read_csv(out)
    pd.read_csv(test).rename(columns={"pump": "Pump", "day": "DAY"}).to_csv(test, index=False)
    run_rul(train, test, out, unit_column="pump", time_column="day")
    pd.testing.assert_frame_equal(pd.read_csv(out), expected)
    assert "--unit-column 'pump' is written 'Pump' there: matched" in caplog.text


def test_a_feature_that_holds_no_value_is_named(
    files: tuple[Path, Path, Path], caplog: pytest.LogCaptureFixture
) -> None:
    # it was left to the model, which dropped it with numpy's multi-line warnings
    train, test, out = files
    run_rul(train, test, out, unit_column="pump", time_column="day")
    expected = pd.read_csv(out)
    pd.read_csv(train).assign(spare=np.nan).to_csv(train, index=False)
    run_rul(train, test, out, unit_column="pump", time_column="day")
    assert "train.csv: 'spare' hold(s) no value: not used" in caplog.text
    pd.testing.assert_frame_equal(pd.read_csv(out), expected)
    pd.read_csv(train).drop(columns="spare").to_csv(train, index=False)
    pd.read_csv(test).assign(flow_m3_h=np.nan).to_csv(test, index=False)
    run_rul(train, test, out, unit_column="pump", time_column="day")
    assert "'flow_m3_h' hold(s) no value: each unit is predicted from its other signals" in (
        caplog.text
    )
    assert pd.read_csv(out)[["rul_p10", "rul_p50", "rul_p90"]].notna().all().all()


def test_an_empty_time_cell_is_named_as_such(files: tuple[Path, Path, Path]) -> None:
    train, test, out = files
    frame = pd.read_csv(test)
    frame.loc[3, "day"] = np.nan
    frame.assign(day=frame["day"].astype(object)).to_csv(test, index=False)
    with pytest.raises(SchemaError, match=r"must be numbers or dates; row 5 holds an empty cell"):
        run_rul(train, test, out, unit_column="pump", time_column="day")


def test_a_test_unit_with_one_row_is_predicted(
    files: tuple[Path, Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    # a new asset with one reading: its features (window means, EWM, age...) exist from the
    # first row on, so it is predicted like the others, and they are left as they were
    train, test, out = files
    code, _, err = run_cli(cli_args(train, test, out), capsys)
    assert code == 0, err
    without = pd.read_csv(out)
    frame = pd.read_csv(test)
    pd.concat([frame, frame.iloc[[0]].assign(pump="lonely")]).to_csv(test, index=False)
    code, stdout, err = run_cli(cli_args(train, test, out), capsys)
    assert code == 0 and err == ""
    assert "predicted 7 units" in stdout
    result = pd.read_csv(out)
    assert result["unit"].tolist() == [*without["unit"], "lonely"]
    lonely = result.iloc[-1]
    assert 0 <= lonely["rul_p10"] <= lonely["rul_p50"] <= lonely["rul_p90"]
    pd.testing.assert_frame_equal(result.iloc[:-1], without)


def test_a_train_unit_with_one_row_is_refused(
    files: tuple[Path, Path, Path], capsys: pytest.CaptureFixture
) -> None:
    train, test, out = files
    frame = pd.read_csv(train)
    pd.concat([frame, frame.iloc[[0]].assign(pump="lonely")]).to_csv(train, index=False)
    code, _, err = run_cli(cli_args(train, test, out), capsys)
    assert code == 2
    assert err.strip() == (
        f"bms: error: {train}: unit 'lonely' has 1 row; every unit needs at least 2 rows of history"
    )


def numbered(frame: pd.DataFrame, ids: list[str]) -> pd.DataFrame:
    """``frame`` with its pumps renamed ``ids[0], ids[1], ...`` in order of appearance."""
    names = dict(zip(pd.unique(frame["pump"]), ids, strict=True))
    return frame.assign(pump=frame["pump"].map(names))


def test_unit_ids_are_copied_as_written(files: tuple[Path, Path, Path]) -> None:
    train, test, out = files
    ids = ["0001", "0002", "0010", "7.0", "1e3", "12"]
    numbered(pd.read_csv(train), [str(i) for i in range(1, 13)]).to_csv(train, index=False)
    numbered(pd.read_csv(test), ids).to_csv(test, index=False)
    run_rul(train, test, out, unit_column="pump", time_column="day")
    assert pd.read_csv(out, dtype=str)["unit"].tolist() == ids


def test_unit_ids_of_a_semicolon_csv_are_copied_as_written(
    files: tuple[Path, Path, Path],
) -> None:
    # Excel's French export: a first line "sep=;", decimal commas, Windows-1252
    train, test, out = files
    for path, prefix in ((train, "0"), (test, "00")):
        frame = pd.read_csv(path).rename(columns={"vibration_mm_s": "vibration_mm/s_é"})
        frame = numbered(frame, [f"{prefix}{i}" for i in range(frame["pump"].nunique())])
        frame["day"] = frame["day"].astype(int)
        text = "sep=;\n" + frame.to_csv(index=False, sep=";", decimal=",")
        path.write_bytes(text.encode("cp1252"))
    run_rul(train, test, out, unit_column="pump", time_column="day", sep=";")
    assert pd.read_csv(out, dtype=str)["unit"].tolist() == [f"00{i}" for i in range(6)]
    given = pd.read_csv(out)
    for path in (train, test):  # without its "sep=;" line: the separator found from the lines
        path.write_bytes(path.read_bytes().split(b"\n", 1)[1])
    run_rul(train, test, out, unit_column="pump", time_column="day")
    pd.testing.assert_frame_equal(pd.read_csv(out), given)


@pytest.mark.parametrize(
    ("ids", "damage", "message"),
    [
        (range(1, 13), "shuffle_8", "rows of unit 8 are not contiguous"),
        (range(1, 13), "backwards_3", "not increasing within unit 3 at row"),
        (range(1, 13), "lonely_4", "unit 4 has 1 row;"),
        (["0001", *map(str, range(2, 13))], "lonely_0001", "unit 0001 has 1 row;"),
        ([f"{i}.0" for i in range(1, 13)], "lonely_4.0", "unit 4.0 has 1 row;"),
    ],
)
def test_messages_show_unit_ids_as_written(
    files: tuple[Path, Path, Path],
    capsys: pytest.CaptureFixture,
    ids: list[str],
    damage: str,
    message: str,
) -> None:
    train, test, out = files
    frame = numbered(pd.read_csv(train), [str(i) for i in ids])
    how, unit = damage.split("_")
    rows = frame.index[frame["pump"] == unit]
    if how == "shuffle":  # the unit's first row moved to the end of the file
        frame = pd.concat([frame.drop(rows[0]), frame.loc[[rows[0]]]])
    elif how == "backwards":
        frame.loc[rows[3], "day"] = frame.loc[rows[1], "day"]
    else:  # the unit keeps one row
        frame = frame.drop(rows[1:])
    frame.to_csv(train, index=False)
    code, _, err = run_cli(cli_args(train, test, out), capsys)
    assert code == 2 and message in err, err
    assert "np." not in err


def hourly_local(start: str, n: int, minutes: int) -> list[str]:
    """Naive local times every ``minutes`` from ``start``, Europe/Paris, as a logger writes
    them: the autumn change (2026-10-25 03:00 CEST -> 02:00 CET) writes 02:00-03:00 twice."""
    utc = pd.date_range(pd.Timestamp(start, tz="Europe/Paris"), periods=n, freq=f"{minutes}min")
    return utc.tz_convert("Europe/Paris").strftime("%Y-%m-%d %H:%M").tolist()


@pytest.mark.parametrize(("minutes", "row"), [(60, 13), (10, 68)])
def test_a_clock_change_is_named_in_the_error(tmp_path: Path, minutes: int, row: int) -> None:
    # hourly readings step back by 0 (02:00 written twice), 10-minute ones by 50 minutes
    times = hourly_local("2026-10-24 16:00", 30 * 60 // minutes, minutes)
    frame = pd.DataFrame({"pump": 1, "time": times, "vibration_mm_s": 1.0})
    with pytest.raises(SchemaError) as caught:
        prepare_histories(frame, tmp_path / "a.csv", unit_column="pump", time_column="time")
    assert str(caught.value) == (
        f"{tmp_path / 'a.csv'}: time column 'time' is not increasing within unit 1 at row "
        f"{row} (a clock change? write times in UTC or with their offset)"
    )


@pytest.mark.parametrize(
    "times",
    [
        ["2026-10-25 01:00", "2026-10-25 02:00", "2026-10-24 23:00"],  # back 3 hours
        [1.0, 2.0, 1.5],  # numbers: no clock
    ],
)
def test_other_steps_back_get_no_clock_hint(tmp_path: Path, times: list[object]) -> None:
    frame = pd.DataFrame({"pump": "A", "time": times, "vibration_mm_s": 1.0})
    with pytest.raises(SchemaError, match=r"within unit 'A' at row 4$"):
        prepare_histories(frame, tmp_path / "a.csv", unit_column="pump", time_column="time")


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
    with pytest.raises(SchemaError, match="TEST lacks feature column.*'flow_m3_h'$"):
        run_rul(train, test, out, unit_column="pump", time_column="day")


def test_a_feature_renamed_in_test_is_named(files: tuple[Path, Path, Path]) -> None:
    train, test, out = files
    pd.read_csv(test).rename(columns={"flow_m3_h": "Flow (m3/h)"}).to_csv(test, index=False)
    renamed = r"'flow_m3_h' \(TEST has 'Flow \(m3/h\)': renamed\? give both files the same names\)"
    with pytest.raises(SchemaError, match=renamed):
        run_rul(train, test, out, unit_column="pump", time_column="day")


def test_a_feature_written_in_another_case_is_matched(
    files: tuple[Path, Path, Path], caplog: pytest.LogCaptureFixture
) -> None:
    train, test, out = files
    run_rul(train, test, out, unit_column="pump", time_column="day")
    expected = pd.read_csv(out)
    pd.read_csv(test).rename(columns={"flow_m3_h": "FLOW_M3_H"}).to_csv(test, index=False)
    run_rul(train, test, out, unit_column="pump", time_column="day")
    pd.testing.assert_frame_equal(pd.read_csv(out), expected)
    assert "1 column name(s) differ from TRAIN's only in case (first 'FLOW_M3_H'" in caplog.text


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


def test_a_unit_outside_train_s_range_is_named(
    files: tuple[Path, Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    # a pump logged in in/s and l/min beside mm/s and m3/h: its RUL came out without a word
    train, test, out = files
    code, _, err = run_cli(cli_args(train, test, out), capsys)
    assert code == 0 and "outside TRAIN's range" not in err
    frame = pd.read_csv(test)
    other = frame[frame["pump"] == "P-00"].assign(
        pump="P-99", vibration_mm_s=lambda f: f["vibration_mm_s"] / 25.4,
        flow_m3_h=lambda f: f["flow_m3_h"] * 1000 / 60,
    )  # fmt: skip
    pd.concat([frame, other]).to_csv(test, index=False)
    code, _, err = run_cli(cli_args(train, test, out), capsys)
    assert code == 0
    assert f"{test}: 1 unit(s) (P-99) lie outside TRAIN's range in most of the" in err
    assert len(pd.read_csv(out)) == 7  # still predicted: the line warns, it does not refuse


def test_an_out_naming_test_is_refused_and_test_kept(
    files: tuple[Path, Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    train, test, _ = files
    before = test.read_bytes()
    code, _, err = run_cli(cli_args(train, test, test), capsys)
    assert code == 2 and "OUT is the TEST file" in err
    assert test.read_bytes() == before
