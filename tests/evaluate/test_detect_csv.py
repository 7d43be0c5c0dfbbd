"""``bms detect``: generic anomaly detection on any wide CSV, and its one-line user errors."""

from __future__ import annotations

import gzip
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from bms.cli import main
from bms.evaluate.column_case import names_matched_but_for_case
from bms.evaluate.detect_csv import MIN_TRAIN_ROWS, run_detect
from bms.evaluate.detect_notes import outside_training_range
from bms.evaluate.detect_times import find_time_column, parse_times


def run_cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    try:
        main(args)
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def detect_args(
    tmp_path: Path, train: pd.DataFrame, test: pd.DataFrame, **to_csv: Any
) -> list[str]:
    """``bms detect`` arguments for ``train`` and ``test`` written as CSVs under ``tmp_path``
    (``to_csv``: how, ``index=False`` unless told); OUT is the last argument."""
    train_csv, test_csv, out = tmp_path / "tr.csv", tmp_path / "te.csv", tmp_path / "o.csv"
    to_csv = {"index": False, **to_csv}
    train.to_csv(train_csv, **to_csv)
    test.to_csv(test_csv, **to_csv)
    return ["detect", "--train", str(train_csv), "--test", str(test_csv), "--out", str(out)]


def pump(rng: np.random.Generator, n: int, start: str) -> pd.DataFrame:
    slow = pd.Series(rng.normal(0, 1, n + 500)).ewm(alpha=0.05).mean().to_numpy()[500:]
    flow = 30 + slow  # stationary (after a burn-in)
    return pd.DataFrame(
        {
            "Timestamp": pd.date_range(start, periods=n, freq="s").astype(str),
            "flow": flow + rng.normal(0, 0.1, n),
            "pressure": 0.1 * flow + rng.normal(0, 0.01, n),
            "site": "besancon",
        }
    )


@pytest.fixture
def csvs(tmp_path: Path, rng: np.random.Generator) -> tuple[Path, Path, Path]:
    train, test = pump(rng, 600, "2026-01-01"), pump(rng, 400, "2026-01-02")
    test.loc[200:299, "pressure"] += 0.2
    test.loc[50:60, "flow"] = np.nan
    paths = tmp_path / "train.csv", tmp_path / "test.csv", tmp_path / "out.csv"
    train.to_csv(paths[0], sep=";", index=False)
    test.to_csv(paths[1], sep=";", index=False)
    return paths


def test_detect_writes_one_row_per_test_row_and_flags_the_fault(csvs, capsys):
    train, test, out = csvs
    args = ["detect", "--train", str(train), "--test", str(test), "--out", str(out)]
    code, stdout, _ = run_cli([*args, "--sep", ";", "--ignore", "site"], capsys)
    assert code == 0, stdout
    result = pd.read_csv(out)
    assert list(result.columns) == ["time", "score", "anomaly", "top_contributor"]
    assert len(result) == 400
    assert result["time"].iloc[0] == "2026-01-02 00:00:00"  # auto-detected 'Timestamp'
    assert result["anomaly"].iloc[230:300].mean() > 0.9
    assert result["anomaly"].iloc[:50].mean() < 0.1
    assert (result["top_contributor"].iloc[230:300] == "pressure").mean() > 0.8
    assert result["score"].between(0, 1).all()


def test_detect_says_how_many_test_rows_lie_outside_the_training_range(csvs, capsys):
    train, test, out = csvs
    args = ["detect", "--train", str(train), "--test", str(test), "--out", str(out)]
    code, stdout, _ = run_cli([*args, "--sep", ";", "--ignore", "site"], capsys)
    assert code == 0
    # the pressure offset (+0.2 bar, 100 of 400 rows) leaves the training range; flow does not
    assert "of TEST rows have a feature outside its TRAIN range (most often 'pressure')" in stdout


def test_a_meter_s_running_total_is_judged_by_its_rate(csvs, capsys):
    # an energy meter's index (kWh, 0.01 resolution) beside the pump's readings: TEST's values
    # all lie beyond TRAIN's, which the line on the TRAIN range named as most often outside
    train, test, _ = csvs
    frames = [pd.read_csv(path, sep=";") for path in (train, test)]
    power_kw = np.concatenate([0.5 * frame["flow"].to_numpy() for frame in frames])
    index = np.round(20_000 + np.cumsum(power_kw / 3600), 2)  # one row a second
    frames[0]["energy_kwh"], frames[1]["energy_kwh"] = index[:600], index[600:]
    for frame, path in zip(frames, (train, test), strict=True):
        frame.to_csv(path, sep=";", index=False)
    args = ["detect", "--train", str(train), "--test", str(test), "--out", str(csvs[2])]
    code, stdout, err = run_cli([*args, "--sep", ";", "--ignore", "site"], capsys)
    assert code == 0, err
    assert (
        "'energy_kwh' only rise(s) in TRAIN and TEST, as a running total does (a meter's index, "
        "a counter of hours): judged by the rate, not the total"
    ) in stdout
    assert "(most often 'pressure')" in stdout  # not the meter
    assert "vary too slowly" not in stdout
    result = pd.read_csv(csvs[2])
    assert result["anomaly"].iloc[230:300].mean() > 0.9  # the pressure offset
    assert result["anomaly"].iloc[:200].mean() < 0.1


def test_detect_names_the_features_too_slow_for_a_short_train(tmp_path, rng, capsys):
    # a temperature cycling every 300 rows: 150 rows show half a cycle, not its normal range
    n = 4000
    frame = pd.DataFrame(
        {
            "temp": 20.0 + 3.0 * np.sin(2 * np.pi * np.arange(n) / 300) + rng.normal(0, 0.05, n),
            "flow": 30.0 + rng.normal(0, 0.5, n),
        }
    )
    args = detect_args(tmp_path, frame.iloc[:150], frame.iloc[3000:])
    code, stdout, err = run_cli(args, capsys)
    assert code == 0, err
    assert (
        "1 of 2 features vary too slowly for TRAIN to show their normal range (first 'temp')"
        in (stdout)
    )
    args = detect_args(tmp_path, frame.iloc[:3000], frame.iloc[3000:])  # ten cycles
    code, stdout, err = run_cli(args, capsys)
    assert code == 0 and "too slowly" not in stdout


def test_detect_names_the_features_judged_against_their_daily_profile(tmp_path, rng, capsys):
    # a room warming every afternoon, a week of 5-minute rows, no status column
    times = pd.date_range("2026-03-02", periods=9 * 288, freq="5min")
    hours = times.hour + times.minute / 60
    frame = pd.DataFrame(
        {
            "time": times.strftime("%Y-%m-%d %H:%M"),
            "room_temp": 20 + 3 * np.sin(2 * np.pi * (hours - 9) / 24) + rng.normal(0, 0.3, 2592),
            "co2": 450 + rng.normal(0, 20, 2592),
        }
    )
    args = detect_args(tmp_path, frame.iloc[: 7 * 288], frame.iloc[7 * 288 :])
    code, stdout, err = run_cli(args, capsys)
    assert code == 0, err
    assert "1 of 2 features follow the time of day in TRAIN (first 'room_temp')" in stdout


def test_detect_names_the_features_judged_at_their_operating_point(tmp_path, rng, capsys):
    # an engine flown at six altitudes (noisy settings), its temperature moving with them
    altitudes = np.array([0.0, 10.0, 20.0, 25.0, 35.0, 42.0])
    point = rng.integers(0, 6, 400)
    frame = pd.DataFrame(
        {
            "cycle": np.arange(400),
            "altitude": altitudes[point] + rng.normal(0, 0.002, 400),
            "temperature": 600.0 + 3.0 * altitudes[point] + rng.normal(0, 0.5, 400),
        }
    )
    args = detect_args(tmp_path, frame.iloc[:300], frame.iloc[300:])
    code, stdout, err = run_cli([*args, "--time-column", "cycle"], capsys)
    assert code == 0, err
    assert (
        "1 of 2 features move with the operating point set by 'altitude': each is judged "
        "against its usual value there" in stdout
    )


@pytest.mark.parametrize(
    ("cells", "first", "last"),
    [
        # a day above 12 says day first: the first twelve days are not read as months
        (["01/03/2026 00:00", "02/03/2026 00:00", "13/03/2026 00:00"], "2026-03-01", "2026-03-13"),
        # a second field above 12 says month first (LBNL's)
        (["8/28/2007 0:00", "12/1/2007 13:00"], "2007-08-28", "2007-12-01"),
        # all ambiguous: the reading that spans days, not months
        (["01/03/2026 00:00", "01/03/2026 12:00", "02/03/2026 00:00"], "2026-03-01", "2026-03-02"),
        (["8/1/2007 0:00", "8/2/2007 0:00", "8/3/2007 0:00"], "2007-08-01", "2007-08-03"),
        # one day only: dots are Europe's, day first
        (["05.03.2026 10:00", "05.03.2026 11:00"], "2026-03-05", "2026-03-05"),
        # ISO dates are never turned around
        (["2026-03-01T00:00Z", "2026-03-02T00:00Z"], "2026-03-01", "2026-03-02"),
    ],
)
def test_dates_are_read_day_first_or_month_first_for_the_whole_column(cells, first, last):
    times = parse_times(pd.Series(cells))
    assert str(times[0].date()) == first and str(times[-1].date()) == last


def test_a_time_column_is_found_by_its_name_and_its_dates():
    frame = pd.DataFrame(
        {
            "measurement_time": ["2026-01-01 00:00", "2026-01-01 00:01"],
            "uptime_h": [1.0, 2.0],  # named like a time, but numbers: a feature
            "a": [1.0, 2.0],
        }
    )
    assert find_time_column(frame) == "measurement_time"
    assert find_time_column(frame.drop(columns="measurement_time")) is None


def test_of_two_time_names_the_one_holding_times_is_the_time_column():
    # a 'Time' of elapsed minutes beside the 'Datetime' of the rows: 'Time' was taken, and
    # 'Datetime' refused as a column of words
    frame = pd.DataFrame(
        {"Datetime": ["3/11/2017 0:00", "3/11/2017 0:01"], "Time": [0, 1], "a": [1.0, 2.0]}
    )
    assert find_time_column(frame) == "Datetime"
    unix = pd.DataFrame({"time": [1.7e9, 1.7e9 + 60], "a": [1.0, 2.0]})  # numbers, Unix times
    assert find_time_column(unix) == "time"


@pytest.mark.parametrize(
    ("cells", "first"),
    [
        ([1_772_323_200, 1_772_323_260], "2026-03-01 00:00:00+00:00"),  # Unix seconds
        ([1_772_323_200_000, 1_772_323_260_000], "2026-03-01 00:00:00+00:00"),  # milliseconds
        ([1_772_323_200.5, 1_772_323_260.5], "2026-03-01 00:00:00.500000+00:00"),
        (["2026-03-01T01:00:00+01:00", "2026-03-01T01:01:00+01:00"], "2026-03-01 00:00:00+00:00"),
        ([46082.0, 46082.5], "2026-03-01 00:00:00+00:00"),  # spreadsheet serial dates
        ([46082.000694444, 46082.001388889], "2026-03-01 00:01:00+00:00"),  # float error
        ([0, 1], None),  # seconds since the start, row numbers: no dates
        ([30_000, 46_082], None),  # not all in the 21st century as serial dates
        ([1_772_323_200, 60], None),  # not all Unix times in one unit
    ],
)
def test_time_cells_read_as_utc_times_numbers_as_unix_times(cells, first):
    parsed = parse_times(pd.Series(cells))
    assert (str(parsed[0]) if parsed is not None else None) == first


@pytest.mark.parametrize(
    ("column", "times", "utc"),
    [
        ("timestamp", 1_772_323_200 + 60 * np.arange(1500), True),  # Unix seconds: UTC's clock
        ("Date", 46_082 + np.arange(1500) / 1440, False),  # a sheet's serial dates: the site's
    ],
)
def test_numeric_times_are_times_and_the_episodes_show_them_as_dates(
    tmp_path, rng, capsys, column, times, utc
):
    """Minutes from 2026-03-01 00:00, written as numbers."""
    flow = 30 + rng.normal(0, 0.5, 1500)
    flow[1300:1400] += 5.0
    frame = pd.DataFrame({column: times, "flow": flow})
    args = detect_args(tmp_path, frame.iloc[:1000], frame.iloc[1000:])
    code, stdout, err = run_cli(args, capsys)
    assert code == 0, err
    assert "2026-03-01 21:4" in stdout  # the episode starts soon after row 1300 (21:40)
    assert ("UTC" in stdout) is utc
    assert pd.read_csv(args[-1])["time"].iloc[0] == pytest.approx(times[1000])  # as written


def test_the_training_range_ignores_its_extreme_half_percent_and_gets_a_margin():
    train = pd.DataFrame({"a": np.r_[np.linspace(0.0, 10.0, 999), 1000.0]})
    test = pd.DataFrame({"a": [-1.5, 10.5, 11.5, 50.0, np.nan]})
    # range: the 0.5 % and 99.5 % quantiles (about 0.05 and 10.0, not 1000), widened by 10 %
    assert outside_training_range(train, test)["a"].tolist() == [True, False, True, True, False]


def error_of(args: list[str], capsys) -> str:
    code, _, err = run_cli(args, capsys)
    assert code == 2
    assert err.startswith("bms: error: ") and err.count("\n") == 1, err
    return err


def test_non_numeric_feature_columns_are_named_with_the_fix(csvs, capsys):
    train, test, out = csvs
    err = error_of(
        ["detect", "--train", str(train), "--test", str(test), "--out", str(out), "--sep", ";"],
        capsys,
    )
    assert "'site'" in err and "--ignore" in err


def test_a_column_of_other_words_is_refused_showing_its_words(csvs, tmp_path, capsys):
    train, _, _ = csvs
    frame = pd.read_csv(train, sep=";").drop(columns="site")
    frame["mode"] = np.where(np.arange(len(frame)) % 3 == 0, "heating", "cooling")
    err = error_of(detect_args(tmp_path, frame, frame), capsys)
    assert "non-numeric feature column(s) 'mode' (first 'mode' holds 'cooling', 'heating')" in err


def fan(rng: np.random.Generator, n: int, on: np.ndarray) -> pd.DataFrame:
    """A supply fan's status and air flow [m3/h]: about 1000 when on, 0 when off."""
    return pd.DataFrame(
        {
            "time": pd.date_range("2026-03-02", periods=n, freq="5min").astype(str),
            "fan_status": np.where(on, "ON", "OFF"),
            "air_flow_m3_h": np.where(on, 1000.0, 0.0) + rng.normal(0, 10, n),
        }
    )


def test_a_status_written_as_words_is_read_as_one_and_zero(tmp_path, rng, capsys):
    # ON/OFF as a BMS export writes them: the status is what tells a stopped fan (flow 0,
    # normal) from a fan running with a broken belt (flow 0 while ON): without it the fault
    # looks like any night
    n = 2_000
    on = (np.arange(n) // 100) % 2 == 0
    train = fan(rng, n, on)
    test = fan(rng, n, on)
    broken = on & (np.arange(n) >= 1_000)
    test.loc[broken, "air_flow_m3_h"] = rng.normal(0, 10, int(broken.sum()))
    args = detect_args(tmp_path, train, test)
    code, stdout, err = run_cli(args, capsys)
    assert code == 0, err
    assert "trained on 2,000 rows x 2 features" in stdout
    assert "'fan_status': two-state words (on/off" in err
    flagged = pd.read_csv(args[-1])["anomaly"].to_numpy() == 1
    assert flagged[broken].mean() > 0.9 and flagged[:1_000].mean() < 0.05  # before the fault
    # the same file with 1/0: the same result
    words = pd.read_csv(args[-1])
    for frame in (train, test):
        frame["fan_status"] = (frame["fan_status"] == "ON").astype(int)
    args = detect_args(tmp_path, train, test)
    assert run_cli(args, capsys)[0] == 0
    pd.testing.assert_frame_equal(pd.read_csv(args[-1]), words)
    # and without the status the broken belt is missed
    assert run_cli([*args, "--ignore", "fan_status"], capsys)[0] == 0
    assert (pd.read_csv(args[-1])["anomaly"].to_numpy()[broken] == 1).mean() < 0.1


def test_a_missing_time_column_is_named(csvs, capsys):
    train, test, out = csvs
    err = error_of(
        [
            "detect",
            "--train",
            str(train),
            "--test",
            str(test),
            "--out",
            str(out),
            "--sep",
            ";",
            "--ignore",
            "site",
            "--time-column",
            "when",
        ],
        capsys,
    )
    assert "'when'" in err


def test_too_few_training_rows_says_how_many_are_needed(csvs, tmp_path, capsys):
    train, test, out = csvs
    short = tmp_path / "short.csv"
    pd.read_csv(train, sep=";").head(10).to_csv(short, sep=";", index=False)
    err = error_of(
        [
            "detect",
            "--train",
            str(short),
            "--test",
            str(test),
            "--out",
            str(out),
            "--sep",
            ";",
            "--ignore",
            "site",
        ],
        capsys,
    )
    assert "10 training rows" in err and f"at least {MIN_TRAIN_ROWS}" in err


def test_test_columns_that_do_not_match_train_are_named(csvs, tmp_path, capsys):
    train, test, out = csvs
    other = tmp_path / "other.csv"
    pd.read_csv(test, sep=";").drop(columns="pressure").to_csv(other, sep=";", index=False)
    err = error_of(
        [
            "detect",
            "--train",
            str(train),
            "--test",
            str(other),
            "--out",
            str(out),
            "--sep",
            ";",
            "--ignore",
            "site",
        ],
        capsys,
    )
    assert "'pressure'" in err and "do not match" in err


def test_test_columns_not_in_train_are_said_and_not_judged(csvs, capsys):
    # a labelled TEST (its "anomaly" column) scored by a model of an unlabelled TRAIN
    train, test, out = csvs
    frame = pd.read_csv(test, sep=";")
    frame.assign(anomaly=0).to_csv(test, sep=";", index=False)
    args = ["detect", "--train", str(train), "--test", str(test), "--out", str(out), "--sep", ";"]
    code, _, err = run_cli([*args, "--ignore", "site"], capsys)
    assert code == 0, err
    assert f"{test}: column(s) 'anomaly' not in TRAIN: not judged" in err


@pytest.mark.parametrize("content", ["", "Timestamp;flow;pressure\n"])
def test_an_empty_file_is_refused(csvs, tmp_path, capsys, content):
    train, _, out = csvs
    empty = tmp_path / "empty.csv"
    empty.write_text(content)
    err = error_of(
        [
            "detect",
            "--train",
            str(train),
            "--test",
            str(empty),
            "--out",
            str(out),
            "--sep",
            ";",
            "--ignore",
            "site",
        ],
        capsys,
    )
    assert "empty.csv" in err and ("empty" in err or "no data rows" in err)


def test_without_a_time_column_the_row_number_is_the_time(tmp_path, rng, capsys):
    frame = pd.DataFrame(rng.normal(size=(200, 3)), columns=["a", "b", "c"])
    assert find_time_column(frame) is None
    train, test, out = tmp_path / "tr.csv", tmp_path / "te.csv", tmp_path / "o.csv"
    frame.to_csv(train, index=False)
    frame.iloc[:20].to_csv(test, index=False)
    code, _, _ = run_cli(
        ["detect", "--train", str(train), "--test", str(test), "--out", str(out)], capsys
    )
    assert code == 0
    assert pd.read_csv(out)["time"].tolist() == list(range(20))


def test_each_file_s_separator_is_found_and_a_wrong_one_explained(csvs, capsys):
    train, test, out = csvs  # written with ';'
    given, _ = detect_csvs(csvs, capsys)  # --sep ';'
    args = ["detect", "--train", str(train), "--test", str(test), "--out", str(out)]
    code, _, err = run_cli([*args, "--ignore", "site"], capsys)
    assert code == 0, err
    assert f"{train}: fields separated by ';' (found from its lines; --sep sets it)" in err
    pd.testing.assert_frame_equal(pd.read_csv(out), given)
    # TEST exported again with commas and decimal points: read as it is written
    pd.read_csv(test, sep=";").to_csv(test, index=False)
    code, _, err = run_cli([*args, "--ignore", "site"], capsys)
    assert code == 0, err
    assert f"{test}: fields separated by" not in err
    pd.testing.assert_frame_equal(pd.read_csv(out), given)
    err = error_of([*args, "--sep", ",", "--ignore", "site"], capsys)  # given, and wrong
    assert f"{train}: one column only with sep=',', but the header holds ';'; pass --sep ';'" in err


def test_a_decimal_comma_file_is_read_without_sep(tmp_path, rng, capsys):
    # a French export: fields separated by ';', numbers with a decimal comma
    frame = pump(rng, 600, "2026-01-01").drop(columns="site")
    frame.loc[400:, "pressure"] += 0.2
    args = detect_args(tmp_path, frame.iloc[:300], frame.iloc[300:], sep=";", decimal=",")
    code, _, err = run_cli(args, capsys)
    assert code == 0, err
    assert "fields separated by ';'" in err and "not numbers" not in err
    assert pd.read_csv(args[6])["anomaly"].iloc[130:300].mean() > 0.9


def test_infinite_and_missing_readings_are_imputed_not_fatal(tmp_path, rng, capsys):
    frame = pd.DataFrame(rng.normal(size=(300, 3)), columns=["a", "b", "c"])
    frame.loc[5, "a"] = np.inf
    frame.loc[7:9, "b"] = np.nan
    frame["c"] = frame["c"].astype(object)
    frame.loc[11, "c"] = "ERR"  # a rare unparsable cell becomes a missing reading
    train, out = tmp_path / "tr.csv", tmp_path / "o.csv"
    frame.to_csv(train, index=False)
    code, _, err = run_cli(
        ["detect", "--train", str(train), "--test", str(train), "--out", str(out)], capsys
    )
    assert code == 0, err
    assert pd.read_csv(out)["score"].notna().all()
    assert "'c': 1 cell(s) are not numbers (first 'ERR' in data row 12), read as missing" in err


def test_a_units_row_under_the_header_is_one_line_not_one_per_column(csvs, capsys):
    train, test, out = csvs
    for path in (train, test):
        frame = pd.read_csv(path, sep=";").astype(object)
        units = pd.DataFrame([{"Timestamp": "", "flow": "m3/h", "pressure": "bar", "site": ""}])
        pd.concat([units, frame]).to_csv(path, sep=";", index=False)
    args = ["detect", "--train", str(train), "--test", str(test), "--out", str(out), "--sep", ";"]
    code, _, err = run_cli([*args, "--ignore", "site"], capsys)
    assert code == 0, err
    assert f"{train}: data row 1 is not numbers in 2 columns (first 'm3/h' in 'flow'" in err
    assert err.count("not numbers") == 2  # one line per file


def test_a_header_repeated_where_two_exports_were_appended_is_said_so(csvs, capsys):
    train, test, out = csvs
    lines = test.read_text().splitlines()
    test.write_text("\n".join([*lines[:201], lines[0], *lines[201:]]) + "\n")
    args = ["detect", "--train", str(train), "--test", str(test), "--out", str(out), "--sep", ";"]
    code, _, err = run_cli([*args, "--ignore", "site"], capsys)
    assert code == 0, err
    assert (
        f"{test}: data row 201 is not numbers in 2 columns (first 'flow' in 'flow': the header "
        "again: files appended one after another?), read as missing"
    ) in err
    assert len(pd.read_csv(out)) == 401  # the line is still a row of OUT


def test_an_exports_error_cells_are_read_as_missing_and_reported(csvs, capsys):
    # a spreadsheet export of an AHU (LBNL SZCAV) holds '#VALUE!' for the 90 minutes a sensor
    # was offline: 15 of them in one training day; here 60 of the 600 training rows
    train, test, out = csvs
    frame = pd.read_csv(train, sep=";")
    frame["flow"] = frame["flow"].astype(object)
    frame.loc[300:359, "flow"] = "#VALUE!"
    frame.to_csv(train, sep=";", index=False)
    args = ["detect", "--train", str(train), "--test", str(test), "--out", str(out), "--sep", ";"]
    code, stdout, err = run_cli([*args, "--ignore", "site"], capsys)
    assert code == 0, err
    assert f"{train}: 'flow': 60 cell(s) are not numbers (first '#VALUE!' in data row 301)" in err
    assert len(pd.read_csv(out)) == 400 and "trained on 600 rows x 2 features" in stdout


def test_excel_s_separator_line_is_read_and_a_title_above_the_header_explained(
    csvs, tmp_path, capsys
):
    train, test, out = csvs  # ';'-separated
    hinted = tmp_path / "hinted.csv"
    hinted.write_text("sep=;\n" + train.read_text())
    args = ["detect", "--train", str(hinted), "--test", str(test), "--out", str(out)]
    code, stdout, err = run_cli([*args, "--sep", ";", "--ignore", "site"], capsys)
    assert code == 0, err
    assert "trained on" in stdout and "x 2 features" in stdout
    code, stdout, err = run_cli([*args, "--ignore", "site"], capsys)  # sep= names it
    assert code == 0, err
    assert "x 2 features" in stdout
    assert "the first line says 'sep=;'; pass --sep ';'" in error_of([*args, "--sep", ","], capsys)
    frame = pd.read_csv(train, sep=";").drop(columns="site")
    args = detect_args(tmp_path, frame, frame)  # ','-separated
    titled = Path(args[2])
    titled.write_text("Besancon AHU 1\nExported 2026-01-05\n" + titled.read_text())
    err = error_of(args, capsys)
    assert "do lines before the header hold a title or metadata? remove them" in err


@pytest.mark.parametrize("names", [("Date", "Heure"), ("Date", "Time"), ("Day", "Hour")])
def test_dates_and_times_of_day_in_two_columns_make_one_time(names, tmp_path, rng, capsys):
    # "Date;Heure;...": a French front end's export; the room swings with the time of day, so
    # the detector learns its daily profile only if the two columns are read as one time
    date, hour = names
    times = pd.date_range("2026-03-02", periods=7 * 288, freq="5min")
    swing = 3 * np.sin(2 * np.pi * (times.hour + times.minute / 60 - 9) / 24)
    frame = pd.DataFrame(
        {
            date: times.strftime("%d/%m/%Y"),
            hour: times.strftime("%H:%M:%S"),
            "T_ambiance": 20 + swing + rng.normal(0, 0.3, len(times)),
        }
    )
    args = detect_args(tmp_path, frame.iloc[:1440], frame.iloc[1440:], sep=";", decimal=",")
    code, stdout, err = run_cli([*args, "--sep", ";"], capsys)
    assert code == 0, err
    assert "trained on 1,440 rows x 1 features" in stdout
    assert "1 of 1 features follow the time of day in TRAIN" in stdout
    assert pd.read_csv(args[-1])["time"].iloc[0] == "07/03/2026 00:00:00"
    # the TEST file must hold the time of day too
    frame.iloc[1440:].drop(columns=hour).to_csv(args[4], sep=";", decimal=",", index=False)
    err = error_of([*args, "--sep", ";"], capsys)
    assert f"column {hour!r}" in err and "is missing" in err


def test_units_written_in_the_cells_are_read_and_named(tmp_path, rng, capsys):
    # a Desigo-style export: each value with its unit
    frame = pd.DataFrame(
        {
            "time": pd.date_range("2026-03-02", periods=300, freq="5min").astype(str),
            "supply": [f"{v:.1f} °C" for v in 18 + rng.normal(0, 0.3, 300)],
            "valve": [f"{v:.0f} %" for v in 40 + rng.normal(0, 3, 300)],
        }
    )
    code, stdout, err = run_cli(detect_args(tmp_path, frame, frame), capsys)
    assert code == 0, err
    assert "trained on 300 rows x 2 features" in stdout
    assert "'supply' in '°C', 'valve' in '%': read without the unit written in the cells" in err


def test_a_time_column_with_too_many_unreadable_cells_is_said(tmp_path, rng, capsys):
    times = pd.date_range("2026-03-02", periods=600, freq="5min").astype(str).to_numpy()
    frame = pd.DataFrame({"time": times, "a": rng.normal(size=600), "b": rng.normal(size=600)})
    test = frame.copy()
    test.loc[100:129, "time"] = "??"  # 5 % of the cells: more than the 1 % a time column may lose
    code, _, err = run_cli(detect_args(tmp_path, frame, test), capsys)
    assert code == 0, err
    assert (
        "te.csv: time column 'time': 30 cell(s) are not dates (first '??' in data row 101): "
        "the rows are read without times" in err
    )
    # cycles are numbers, not dates: nothing to say
    code, _, err = run_cli(
        detect_args(tmp_path, frame.assign(time=np.arange(600)), frame.assign(time=np.arange(600))),
        capsys,
    )
    assert code == 0 and "not dates" not in err


@pytest.mark.parametrize("typed", ["\\t", "tab"])
def test_a_tab_is_typed_as_backslash_t_or_tab(typed, tmp_path, rng, capsys):
    frame = pd.DataFrame({"a": rng.normal(size=300), "b": rng.normal(size=300)})
    args = detect_args(tmp_path, frame, frame, sep="\t")
    assert "pass --sep '\\t'" in error_of([*args, "--sep", ","], capsys)  # not a raw tab
    code, stdout, err = run_cli(args, capsys)  # found from the lines
    assert code == 0, err
    assert "fields separated by a tab" in err
    code, stdout, err = run_cli([*args, "--sep", typed], capsys)
    assert code == 0, err
    assert "trained on 300 rows x 2 features" in stdout and "Warning" not in err


def test_a_logger_s_nan_cells_are_missing_readings_not_words(tmp_path, rng, capsys):
    # data loggers write NAN (upper case, unknown to pandas) while a sensor is off: here the
    # supply air temperature, off 16 hours a day
    n = 2_000
    times = pd.date_range("2026-03-02", periods=n, freq="15min")
    on = (times.hour >= 7) & (times.hour < 15)
    frame = pd.DataFrame(
        {
            "TIMESTAMP": times.astype(str),
            "supply_temp": np.where(on, 12.8 + rng.normal(0, 0.2, n), np.nan),
            "fan": on.astype(int),
        }
    )
    args = detect_args(tmp_path, frame, frame, na_rep="NAN")
    assert "NAN" in (tmp_path / "tr.csv").read_text()
    code, stdout, err = run_cli(args, capsys)
    assert code == 0, err
    assert "trained on 2,000 rows x 2 features" in stdout


def french_pair(
    rng: np.random.Generator, supply: str, other: tuple[str, float, float]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """TRAIN: 600 minutes of a French export (``Horodatage`` day first, the supply temperature
    and ``other`` = (name, mean, s.d.)); TEST: its first 300, the supply 3 K up from row 150."""
    n = 600
    name, mean, sd = other
    frame = pd.DataFrame(
        {
            "Horodatage": pd.date_range("2026-01-01", periods=n, freq="min").strftime(
                "%d/%m/%Y %H:%M"
            ),
            supply: 18.0 + rng.normal(0, 0.2, n),
            name: mean + rng.normal(0, sd, n),
        }
    )
    test = frame.iloc[:300].copy()
    test.loc[150:, supply] += 3.0
    return frame, test


def test_a_french_export_reads_with_its_decimal_comma_and_horodatage(tmp_path, rng, capsys):
    # what a French BMS or spreadsheet writes: ';' between fields, ',' before the decimals,
    # a UTF-8 byte-order mark and the time column called 'Horodatage'
    frame, test = french_pair(rng, "T_soufflage", ("T_reprise", 21.0, 0.2))
    args = detect_args(tmp_path, frame, test, sep=";", decimal=",", encoding="utf-8-sig")
    code, stdout, err = run_cli([*args, "--sep", ";"], capsys)
    assert code == 0, err
    assert "trained on 600 rows x 2 features" in stdout
    result = pd.read_csv(args[-1])
    assert result["time"].iloc[0] == "01/01/2026 00:00"
    assert result["anomaly"].iloc[200:].mean() > 0.9 and result["anomaly"].iloc[:140].mean() < 0.05
    # with ',' as the field separator a comma inside a quoted cell is not taken for a decimal
    frame["T_reprise"] = frame["T_reprise"].map(lambda v: f"{v:.1f}".replace(".", ","))
    args = detect_args(tmp_path, frame, frame)
    err = error_of([*args, "--ignore", "Horodatage"], capsys)
    assert "non-numeric feature column(s) 'T_reprise'" in err


@pytest.mark.parametrize(("encoding", "sep"), [("cp1252", ";"), ("utf-16", "\t")])
def test_excel_exports_in_windows_1252_and_utf_16_are_read(tmp_path, rng, encoding, sep, capsys):
    # Excel on a French Windows writes "CSV (séparateur: point-virgule)" in Windows-1252 and
    # "Texte Unicode" in UTF-16 with tabs; both were refused as not UTF-8
    frame, test = french_pair(rng, "Température soufflage (°C)", ("Débit (m³/h)", 1000.0, 5.0))
    args = detect_args(tmp_path, frame, test, sep=sep, decimal=",", encoding=encoding)
    code, stdout, err = run_cli([*args, "--sep", "tab" if sep == "\t" else sep], capsys)
    assert code == 0, err
    assert "trained on 600 rows x 2 features" in stdout
    result = pd.read_csv(args[-1])
    assert result["anomaly"].iloc[200:].mean() > 0.9 and result["anomaly"].iloc[:140].mean() < 0.05
    assert set(result["top_contributor"].iloc[200:]) == {"Température soufflage (°C)"}


def test_parquet_files_are_read_and_an_excel_workbook_is_refused(csvs, tmp_path, capsys):
    # a data scientist's Parquet files (typed columns, times as datetimes) give the CSVs' OUT
    train, test, out = csvs
    from_csv, _ = detect_csvs(csvs, capsys)
    paths = []
    for path in (train, test):
        frame = pd.read_csv(path, sep=";", parse_dates=["Timestamp"])
        paths.append(tmp_path / f"{path.stem}.parquet")
        frame.to_parquet(paths[-1])
    args = ["detect", "--train", str(paths[0]), "--test", str(paths[1]), "--out", str(out),
            "--ignore", "site"]  # fmt: skip
    code, _, err = run_cli(args, capsys)
    assert code == 0, err
    from_parquet = pd.read_csv(out)
    columns = ["score", "anomaly", "top_contributor"]
    pd.testing.assert_frame_equal(from_parquet[columns], from_csv[columns])
    workbook = tmp_path / "export.xlsx"
    workbook.write_bytes(b"PK\x03\x04" + bytes(60))
    args = ["detect", "--train", str(workbook), "--test", str(paths[1]), "--out", str(out)]
    assert "a zip archive (an Excel workbook?), not a CSV: save the sheet as CSV" in error_of(
        args, capsys
    )


def test_names_given_with_the_headers_trailing_spaces_are_found(csvs, tmp_path, capsys):
    # the LBNL AHU files' headers end some names with spaces ('...Damper Control Signal  ');
    # a user who copies such a name into --ignore or --time-column means that column
    train, test, out = csvs
    for path in (train, test):
        frame = pd.read_csv(path, sep=";")
        frame.columns = ["Timestamp ", "flow", "pressure", "site  "]
        frame.to_csv(path, sep=";", index=False)
    args = ["detect", "--train", str(train), "--test", str(test), "--sep", ";", "--out", str(out)]
    code, _, err = run_cli([*args, "--ignore", "site  ", "--time-column", "Timestamp "], capsys)
    assert code == 0, err
    assert pd.read_csv(out)["time"].iloc[0] == "2026-01-02 00:00:00"


def test_the_raw_lbnl_szcav_export_runs_as_a_user_splits_it(dataset, tmp_path, capsys):
    # the real file, cut by day as it is written (m/d/yyyy times, header names ending in
    # spaces, '#VALUE!' cells): its one fault-free day trains, the next two days are scored
    lines = (dataset("lbnl_ahu") / "SZCAV.csv").read_text().splitlines()
    header, rows = lines[0], lines[1:]
    by_day: dict[str, list[str]] = {}
    for row in rows:
        by_day.setdefault(row.split(" ", 1)[0], []).append(row)
    train_csv, test_csv, out = tmp_path / "tr.csv", tmp_path / "te.csv", tmp_path / "o.csv"
    train_csv.write_text("\n".join([header, *by_day["4/1/2017"]]) + "\n")
    test_csv.write_text("\n".join([header, *by_day["3/15/2017"], *by_day["3/16/2017"]]) + "\n")
    args = ["detect", "--train", str(train_csv), "--test", str(test_csv), "--out", str(out)]
    label = "Fault Detection Ground Truth"
    code, stdout, err = run_cli([*args, "--ignore", label], capsys)
    assert code == 0, err
    assert "'AHU: Mixed Air Temperature': 15 cell(s) are not numbers (first '#VALUE!'" in err
    assert "like a label" not in err
    code, _, err = run_cli(args, capsys)  # the label column left in: a hint, not an error
    assert code == 0
    assert "'Fault Detection Ground Truth' looks like a label, not a reading" in err
    assert "trained on 1,440 rows x 14 features; scored 2,880 rows" in stdout
    result = pd.read_csv(out)
    assert result["time"].iloc[0] == "3/15/2017 0:00" and result["score"].notna().all()


def detect_edited_test(
    csvs: tuple[Path, Path, Path], capsys: pytest.CaptureFixture[str], edit: Any
) -> tuple[str, pd.DataFrame]:
    """``bms detect`` on the fixture's files after ``edit(test_frame)``: standard error, OUT."""
    train, test, out = csvs
    frame = pd.read_csv(test, sep=";")
    edit(frame)
    frame.to_csv(test, sep=";", index=False)
    args = ["detect", "--train", str(train), "--test", str(test), "--out", str(out), "--sep", ";"]
    code, _, err = run_cli([*args, "--ignore", "site"], capsys)
    assert code == 0, err
    return err, pd.read_csv(out)


def test_a_sensor_offline_in_test_is_said_not_silently_judged_normal(csvs, capsys):
    def edit(frame: pd.DataFrame) -> None:
        frame["flow"] = np.nan  # offline all through TEST
        frame.loc[:149, "pressure"] = np.nan  # offline on 150 of 400 rows

    err, out = detect_edited_test(csvs, capsys, edit)
    assert "'flow' hold(s) no value in TEST: estimated from the other features, so not" in err
    assert "'pressure' is missing on 38% of TEST rows" in err
    assert len(out) == 400  # every row is still written


def test_spikes_and_a_short_outage_in_test_are_said_as_data_problems(csvs, capsys):
    def edit(frame: pd.DataFrame) -> None:
        frame.loc[20, "flow"] += 50.0  # a one-row spike
        frame.loc[120:159, "pressure"] = np.nan  # offline for 40 rows, 10 % of TEST

    err, out = detect_edited_test(csvs, capsys, edit)
    assert "1 one-row spike(s) (first in 'flow', data row 21) read as lost readings" in err
    assert "'pressure' is offline for 40 row(s) in runs longer than 30 (first at data row" in err
    assert out["anomaly"].iloc[20:50].sum() == 0 and out["anomaly"].iloc[120:160].sum() == 0


def out_before_and_after(
    csvs: tuple[Path, Path, Path],
    capsys: pytest.CaptureFixture[str],
    rewrite: Callable[[Path, Path], None],
) -> tuple[pd.DataFrame, pd.DataFrame, str]:
    """OUT of ``bms detect`` on ``csvs``, then again after ``rewrite(train, test)`` changed the
    files, and what the second run said."""
    before, _ = detect_csvs(csvs, capsys)
    rewrite(*csvs[:2])
    after, err = detect_csvs(csvs, capsys)
    return before, after, err


def detect_csvs(
    csvs: tuple[Path, Path, Path], capsys: pytest.CaptureFixture[str]
) -> tuple[pd.DataFrame, str]:
    """OUT of ``bms detect`` on the ``csvs`` fixture's files, and what it said."""
    train, test, out = csvs
    args = ["detect", "--train", str(train), "--test", str(test), "--out", str(out),
            "--sep", ";", "--ignore", "site"]  # fmt: skip
    code, _, err = run_cli(args, capsys)
    assert code == 0, err
    return pd.read_csv(out), err


def test_rows_written_twice_are_one_reading(csvs, capsys):
    # overlapping exports appended to one another, a stream's duplicates: each reading is
    # judged once, and every TEST row gets its score
    def append_overlap(*paths: Path) -> None:
        for path in paths:
            frame = pd.read_csv(path, sep=";")
            pd.concat([frame, frame.iloc[100:200]]).to_csv(path, sep=";", index=False)

    once, twice, err = out_before_and_after(csvs, capsys, append_overlap)
    train, test, _ = csvs
    assert f"{train}: 100 row(s) repeated by a later row (same time, same readings): used" in err
    assert f"{test}: 100 row(s) repeated by a later row (same time, same readings): judged" in err
    assert len(twice) == 500  # one row per TEST row, in TEST's order
    pd.testing.assert_frame_equal(twice.iloc[:400], once)
    pd.testing.assert_frame_equal(
        twice.iloc[400:].reset_index(drop=True), once.iloc[100:200].reset_index(drop=True)
    )


def test_data_problems_of_a_file_newest_first_name_its_own_rows(csvs, capsys):
    def edit(frame: pd.DataFrame) -> None:
        frame.loc[20, "flow"] += 50.0  # a one-row spike: data row 380 once reversed
        frame.loc[120:159, "pressure"] = np.nan  # data rows 241-280 once reversed
        newest_first = frame.iloc[::-1].reset_index(drop=True)
        frame[newest_first.columns] = newest_first

    err, out = detect_edited_test(csvs, capsys, edit)
    assert "1 one-row spike(s) (first in 'flow', data row 380)" in err
    # the first offline row in time order is the last of the run in the file
    assert (
        "'pressure' is offline for 40 row(s) in runs longer than 30 (first at data row 280)" in err
    )
    assert out["anomaly"].iloc[::-1].iloc[20:50].sum() == 0


def test_train_and_test_sampled_at_different_steps_are_said(csvs, capsys):
    train, test, out = csvs
    frame = pd.read_csv(test, sep=";")
    frame.iloc[::5].to_csv(test, sep=";", index=False)  # 5 s steps against TRAIN's 1 s
    args = ["detect", "--train", str(train), "--test", str(test), "--out", str(out), "--sep", ";"]
    code, _, err = run_cli([*args, "--ignore", "site"], capsys)
    assert code == 0, err
    assert "TEST is sampled every 5 s, TRAIN every 1 s" in err
    frame.to_csv(test, sep=";", index=False)  # same steps: nothing said
    code, _, err = run_cli([*args, "--ignore", "site"], capsys)
    assert code == 0 and "is sampled every" not in err


def test_a_column_empty_in_train_is_left_out_not_flagged(csvs, capsys):
    # a sensor offline all through TRAIN and back in TEST: any value would look abnormal
    train, test, out = csvs
    for path, value in ((train, np.nan), (test, 55.0)):
        frame = pd.read_csv(path, sep=";")
        frame["set_point"] = value
        frame.to_csv(path, sep=";", index=False)
    args = ["detect", "--train", str(train), "--test", str(test), "--out", str(out), "--sep", ";"]
    code, stdout, err = run_cli([*args, "--ignore", "site"], capsys)
    assert code == 0, err
    assert "'set_point' hold(s) no value in TRAIN: not used as feature(s)" in err
    assert "x 2 features" in stdout
    assert pd.read_csv(out)["anomaly"].iloc[:50].mean() < 0.1
    frame = pd.read_csv(train, sep=";").assign(flow=np.nan, pressure=np.nan)
    frame.to_csv(train, sep=";", index=False)
    assert "every feature column is empty" in error_of([*args, "--ignore", "site"], capsys)


@pytest.mark.parametrize(
    "index",
    [
        pd.RangeIndex(400),  # row numbers: never a feature, copied to OUT as the time
        # a frame indexed by time (the IMS bearing file of the datasets is written so)
        pd.date_range("2004-02-12 10:52:39", periods=400, freq="10min"),
    ],
    ids=["row numbers", "times"],
)
def test_a_saved_index_is_the_time_not_a_feature(index, tmp_path, rng, capsys):
    # DataFrame.to_csv() writes the index first, under an empty header
    frame = pd.DataFrame({"a": rng.normal(size=400), "b": rng.normal(size=400)}, index=index)
    args = detect_args(tmp_path, frame.iloc[:200], frame.iloc[200:], index=True)
    code, stdout, err = run_cli(args, capsys)
    assert code == 0, err
    assert "x 2 features" in stdout and "Unnamed" not in stdout + err
    written = pd.read_csv(args[-1])["time"]
    if isinstance(index, pd.DatetimeIndex):
        written = pd.to_datetime(written)
    assert written.tolist() == index[200:].tolist()


def test_ignore_takes_several_columns_after_one_flag(csvs, tmp_path, capsys):
    train, test, out = csvs
    for path in (train, test):
        frame = pd.read_csv(path, sep=";")
        frame["operator"] = "night shift"
        frame.to_csv(path, sep=";", index=False)
    args = ["detect", "--train", str(train), "--test", str(test), "--sep", ";"]
    code, _, err = run_cli([*args, "--ignore", "site", "operator", "--out", str(out)], capsys)
    assert code == 0, err
    assert len(pd.read_csv(out)) == 400


def test_rows_newest_first_are_judged_in_time_order_and_written_as_given(csvs, capsys):
    # many exports write the newest reading first: the rows are judged in time order (a
    # stable sort), and OUT keeps TEST's row order, so its rows match TEST's line for line
    def write_newest_first(_: Path, test: Path) -> None:
        rows = test.read_text().splitlines()
        test.write_text("\n".join([rows[0], *rows[:0:-1]]) + "\n")

    oldest_first, newest_first, err = out_before_and_after(csvs, capsys, write_newest_first)
    assert "time goes backwards at 399 row(s) (first at data row 2)" in err
    assert "read in time order; OUT keeps its row order" in err
    pd.testing.assert_frame_equal(newest_first, oldest_first.iloc[::-1].reset_index(drop=True))


def test_a_separator_ending_each_data_line_is_dropped_not_shifted(csvs, capsys):
    # a logger or spreadsheet ends each data line (not the header) with a separator: pandas
    # took the first field as the row index, and every value slid under its neighbour's name
    def end_data_lines_with_a_separator(*paths: Path) -> None:
        for path in paths:
            header, *lines = path.read_text().splitlines()
            path.write_text("\n".join([header, *(line + ";" for line in lines)]) + "\n")

    before, after, _ = out_before_and_after(csvs, capsys, end_data_lines_with_a_separator)
    pd.testing.assert_frame_equal(after, before)


def test_a_value_beyond_the_header_s_fields_is_refused_naming_its_line(csvs, capsys):
    train, test, out = csvs
    header, *lines = test.read_text().splitlines()
    lines[6] += ";12.5"  # data line 7 is line 8 of the file
    test.write_text("\n".join([header, *lines]) + "\n")
    args = ["detect", "--train", str(train), "--test", str(test), "--out", str(out)]
    err = error_of([*args, "--sep", ";", "--ignore", "site"], capsys)
    assert err == (
        f"bms: error: {test}: line 8 holds 5 fields, the header 4: a value without a column "
        "name (a separator inside a value? quote it)\n"
    )
    assert not out.exists()


@pytest.mark.parametrize("second", ["flow", "flow  "])
def test_a_name_given_to_two_columns_is_refused(csvs, capsys, second):
    # pandas renamed the second 'flow.1', a name the user never wrote; LBNL-like trailing
    # spaces made two names that differ only by them collide once stripped
    train, test, out = csvs
    frame = pd.read_csv(train, sep=";")
    frame.insert(3, "flow2", frame["flow"])
    frame.to_csv(
        train, sep=";", index=False, header=["Timestamp", "flow", "pressure", second, "site"]
    )
    args = ["detect", "--train", str(train), "--test", str(test), "--out", str(out)]
    err = error_of([*args, "--sep", ";", "--ignore", "site"], capsys)
    assert err == (
        f"bms: error: {train}: the header names 2 columns 'flow' (columns 2, 4): give each "
        "column its own name\n"
    )


@pytest.mark.parametrize("where", ["folder", "under_a_file"])
def test_an_out_that_cannot_be_written_is_refused_before_the_work(csvs, capsys, where):
    train, test, out = csvs
    target = out.parent if where == "folder" else train / "out.csv"
    args = ["detect", "--train", str(train), "--test", str(test), "--out", str(target)]
    err = error_of([*args, "--sep", ";", "--ignore", "site"], capsys)
    reason = "a folder; give OUT a file name" if where == "folder" else f"{train} is a file"
    assert err.startswith(f"bms: error: {target}: {reason}"), err


def edit_train(csvs: tuple[Path, Path, Path], edit: Callable[[pd.DataFrame], None]) -> Path:
    """The ``csvs`` fixture's TRAIN rewritten after ``edit(frame)``; its path."""
    train = csvs[0]
    frame = pd.read_csv(train, sep=";")
    edit(frame)
    frame.to_csv(train, sep=";", index=False)
    return train


def test_a_logger_s_error_codes_in_train_are_missing_readings(csvs, capsys):
    # three -9999 cells (a logger's "no reading") among the training pressures raised the
    # threshold until the fault in TEST went unflagged
    def error_codes(frame: pd.DataFrame) -> None:
        frame.loc[[100, 300, 500], "pressure"] = -9999

    train = edit_train(csvs, error_codes)
    result, err = detect_csvs(csvs, capsys)
    assert (
        f"{train}: 'pressure': 3 cell(s) hold an error code far outside its readings (first "
        "-9999 in data row 101), read as missing"
    ) in err
    assert result["anomaly"].iloc[230:300].mean() > 0.9


def test_a_short_burst_of_glitches_in_test_is_lost_readings(csvs, capsys):
    # three pressure readings of 100 bar among readings near 3 (a logger's hiccup): judged, they
    # flagged the window after them
    def burst(*paths: Path) -> None:
        frame = pd.read_csv(paths[1], sep=";")
        frame.loc[100:102, "pressure"] = 100.0
        frame.to_csv(paths[1], sep=";", index=False)

    before, after, err = out_before_and_after(csvs, capsys, burst)
    test = csvs[1]
    assert (
        f"{test}: 3 reading(s) beyond their feature's TRAIN range (1-99 %) by more than 10 "
        "times its width, in bursts of at most 10 rows (first in 'pressure', data row 101), "
        "read as lost readings: glitches, not faults"
    ) in err
    assert after["anomaly"].iloc[90:200].sum() <= before["anomaly"].iloc[90:200].sum()
    assert after["anomaly"].iloc[230:300].mean() > 0.9


def test_names_written_in_another_case_are_matched_with_a_line(csvs, capsys):
    # two exports of one BMS, one in capitals: refused before, every feature "missing"
    def upper_case_test(_: Path, test: Path) -> None:
        frame = pd.read_csv(test, sep=";")
        frame.rename(columns=str.upper).to_csv(test, sep=";", index=False)

    before, after, err = out_before_and_after(csvs, capsys, upper_case_test)
    pd.testing.assert_frame_equal(after, before)
    assert (
        "4 column name(s) differ from TRAIN's only in case (first 'TIMESTAMP' for 'Timestamp'): "
        "matched to TRAIN's"
    ) in err


@pytest.mark.parametrize(
    ("train_names", "test_names", "matched"),
    [
        (["Flow", "p"], ["flow", "p"], {"flow": "Flow"}),
        (["Flow"], ["flow", "FLOW"], {}),  # two TEST names for one TRAIN name: which?
        (["Flow", "FLOW"], ["flow"], {}),
        (["Flow", "flow"], ["flow", "FLOW"], {}),  # 'flow' is in both as written
    ],
)
def test_names_are_matched_but_for_case_only_one_to_one(train_names, test_names, matched):
    assert names_matched_but_for_case(train_names, test_names) == matched


def test_a_feature_test_lacks_is_refused_naming_a_close_name(csvs, capsys):
    # TEST exported later, with a point renamed: the error names what TEST holds instead
    train, test, out = csvs
    frame = pd.read_csv(test, sep=";")
    frame.rename(columns={"pressure": "Pressure (bar)"}).to_csv(test, sep=";", index=False)
    args = ["detect", "--train", str(train), "--test", str(test), "--out", str(out)]
    err = error_of([*args, "--sep", ";", "--ignore", "site"], capsys)
    assert err == (
        f"bms: error: {test}: test columns do not match train: missing 'pressure' (TEST has "
        "'Pressure (bar)': renamed? give both files the same names, or --ignore the columns "
        "TEST lacks)\n"
    )
    frame.drop(columns="pressure").to_csv(test, sep=";", index=False)
    err = error_of([*args, "--sep", ";", "--ignore", "site"], capsys)
    assert err == f"bms: error: {test}: test columns do not match train: missing 'pressure'\n"


def test_a_glitch_in_train_is_a_lost_reading(csvs, capsys):
    # one pressure reading of 100 bar among readings near 3 (a logger's glitch, not a code):
    # read as operation, it would widen what TRAIN calls normal
    def glitch(frame: pd.DataFrame) -> None:
        frame.loc[100, "pressure"] = 100.0

    train = edit_train(csvs, glitch)
    result, err = detect_csvs(csvs, capsys)
    assert (
        f"{train}: 1 reading(s) beyond their feature's usual range (1-99 %) by more than 10 "
        "times its width (first in 'pressure', data row 101) read as lost readings: a glitch is "
        "not normal operation"
    ) in err
    assert result["anomaly"].iloc[230:300].mean() > 0.9


def test_a_column_to_ignore_may_be_in_one_file_only(csvs, capsys):
    # labels written in TRAIN only, as a data scientist splits a labelled file
    train, test, out = csvs
    frame = pd.read_csv(train, sep=";")
    frame.assign(label=0).to_csv(train, sep=";", index=False)
    args = ["detect", "--train", str(train), "--test", str(test), "--out", str(out), "--sep", ";"]
    code, _, err = run_cli([*args, "--ignore", "site", "label"], capsys)
    assert code == 0, err
    err = error_of([*args, "--ignore", "site", "lable"], capsys)
    assert "--ignore column(s) ['lable'] in neither TRAIN nor TEST" in err


def test_time_cells_that_are_not_times_are_said(csvs, capsys):
    # a spreadsheet's footer row, a blank time cell: each took the previous row's time silently
    def footer_and_blank(*paths: Path) -> None:
        frame = pd.read_csv(paths[1], sep=";")
        frame.loc[10, "Timestamp"] = np.nan
        frame.loc[len(frame)] = ["Total", 12_000.0, 1_200.0, "besancon"]
        frame.to_csv(paths[1], sep=";", index=False)

    _, after, err = out_before_and_after(csvs, capsys, footer_and_blank)
    test = csvs[1]
    assert (
        f"{test}: time column 'Timestamp': 2 cell(s) empty or not a time (first 'Total' in data "
        "row 401): each takes the time of the row before it"
    ) in err
    assert len(after) == 401 and after["time"].iloc[-1] == "Total"


@pytest.mark.parametrize("name", ["test.csv.gz", "test.csv"])
def test_a_gzip_compressed_export_is_read_whatever_its_name(csvs, capsys, name):
    # a compressed export saved as .csv failed with "'charmap' codec can't decode byte 0x8f"
    plain, _ = detect_csvs(csvs, capsys)
    train, test, out = csvs
    compressed = test.with_name(f"gz-{name}")
    compressed.write_bytes(gzip.compress(test.read_bytes()))
    args = ["detect", "--train", str(train), "--test", str(compressed), "--out", str(out)]
    code, _, err = run_cli([*args, "--sep", ";", "--ignore", "site"], capsys)
    assert code == 0, err
    pd.testing.assert_frame_equal(pd.read_csv(out), plain)


def test_a_test_without_any_reading_is_refused(csvs, capsys):
    train, test, out = csvs
    frame = pd.read_csv(test, sep=";")
    frame[["flow", "pressure"]] = np.nan
    frame.to_csv(test, sep=";", index=False)
    args = ["detect", "--train", str(train), "--test", str(test), "--out", str(out)]
    err = error_of([*args, "--sep", ";", "--ignore", "site"], capsys)
    assert err == (f"bms: error: {test}: no feature column holds a reading (400 rows, all empty)\n")


def test_a_saved_index_that_restarts_is_not_a_feature(csvs, capsys):
    # pd.concat keeps each frame's row numbers: to_csv then writes an index that restarts,
    # which was judged as a sensor (and TEST was told it was not in TRAIN)
    before, _ = detect_csvs(csvs, capsys)
    for path in csvs[:2]:
        frame = pd.read_csv(path, sep=";")
        half = len(frame) // 2
        joined = pd.concat([frame.iloc[:half], frame.iloc[half:].reset_index(drop=True)])
        joined.to_csv(path, sep=";")  # the index first, with no header name
    after, err = detect_csvs(csvs, capsys)
    assert "Unnamed" not in err
    pd.testing.assert_frame_equal(after, before)


def test_a_feature_that_never_moves_in_train_but_does_in_test_is_said(csvs, capsys):
    def stuck(frame: pd.DataFrame) -> None:
        frame["pressure"] = 0.5  # stuck while TRAIN was recorded

    train = edit_train(csvs, stuck)
    _, err = detect_csvs(csvs, capsys)
    assert (
        f"{train}: 'pressure' holds one value all through TRAIN (0.5) and others in TEST: a "
        "sensor stuck while TRAIN was recorded, or a setting changed since"
    ) in err


def _hourly_room(rng: np.random.Generator, days: int) -> tuple[pd.DatetimeIndex, pd.Series]:
    """Hourly times and a room temperature that swings with the time of day."""
    times = pd.date_range("2026-03-02", periods=days * 24, freq="h")
    swing = 3 * np.sin(2 * np.pi * (times.hour - 9) / 24)
    return times, pd.Series(20 + swing + rng.normal(0, 0.3, len(times)))


def test_a_date_beside_whole_hours_makes_one_time(tmp_path, rng, capsys):
    # "Date;Hour" with the hour a whole number: 'Hour' was judged as a reading (the top
    # contributor of most rows) and the rows had no times
    times, room = _hourly_room(rng, 28)
    frame = pd.DataFrame(
        {"Date": times.strftime("%Y-%m-%d"), "Hour": times.hour, "T_ambiance": room}
    )
    args = detect_args(tmp_path, frame.iloc[: 21 * 24], frame.iloc[21 * 24 :])
    code, stdout, err = run_cli(args, capsys)
    assert code == 0, err
    assert "x 1 features" in stdout and "follow the time of day" in stdout
    assert pd.read_csv(args[-1])["time"].iloc[0] == "2026-03-23 00:00"


def test_a_time_written_in_parts_makes_one_time(tmp_path, rng, capsys):
    times, room = _hourly_room(rng, 28)
    frame = pd.DataFrame(
        {
            "Year": times.year,
            "Month": times.month,
            "Day": times.day,
            "Hour": times.hour,
            "T_ambiance": room,
        }
    )
    args = detect_args(tmp_path, frame.iloc[: 21 * 24], frame.iloc[21 * 24 :])
    code, stdout, err = run_cli(args, capsys)
    assert code == 0, err
    assert "the times are written in parts ('Year', 'Month', 'Day', 'Hour'): read as one" in err
    assert "x 1 features" in stdout and "follow the time of day" in stdout
    assert pd.read_csv(args[-1])["time"].iloc[0] == "2026-03-23 00:00:00"


def test_a_row_counter_is_left_out_not_judged(csvs, capsys):
    # a row id let the detector predict the signals from the row's position
    before, _ = detect_csvs(csvs, capsys)
    for path, start in zip(csvs[:2], (0, 600), strict=False):
        frame = pd.read_csv(path, sep=";")
        frame.insert(1, "id", np.arange(start, start + len(frame)))
        frame.to_csv(path, sep=";", index=False)
    after, err = detect_csvs(csvs, capsys)
    assert f"{csvs[0]}: 'id' counts the rows: not a reading, left out" in err
    pd.testing.assert_frame_equal(after, before)
    summary = run_detect(*csvs, sep=";", ignore="site")
    assert list(summary.features) == ["flow", "pressure"]


def test_a_time_column_mixing_cells_with_and_without_offsets_is_read_as_written(csvs, capsys):
    # two exports appended, the second with offsets: its times were converted to UTC, the
    # first's taken as UTC, and the rows of the two hours interleaved
    def offsets_from_row_200(*paths: Path) -> None:
        frame = pd.read_csv(paths[1], sep=";")
        frame.loc[200:, "Timestamp"] = frame.loc[200:, "Timestamp"].str.replace(" ", "T") + "+02:00"
        frame.to_csv(paths[1], sep=";", index=False)

    before, after, err = out_before_and_after(csvs, capsys, offsets_from_row_200)
    assert "mixes times with and without a UTC offset: all read on the clock as written" in err
    columns = ["score", "anomaly", "top_contributor"]
    pd.testing.assert_frame_equal(after[columns], before[columns])


def test_a_column_that_copies_another_is_said(csvs, capsys):
    for path in csvs[:2]:
        frame = pd.read_csv(path, sep=";")
        frame.insert(2, "flow_copy", frame["flow"])
        frame.to_csv(path, sep=";", index=False)
    _, err = detect_csvs(csvs, capsys)
    assert f"{csvs[0]}: 'flow_copy' = 'flow' on every TRAIN row: one point exported twice?" in err


def test_the_false_alarm_rate_is_the_user_s_to_choose(tmp_path, rng, capsys):
    train, test = pump(rng, 3000, "2026-01-01"), pump(rng, 3000, "2026-01-02")  # all normal
    args = detect_args(tmp_path, train, test)
    flagged = {}
    for rate in (0.001, 0.2):
        code, _, err = run_cli([*args, "--ignore", "site", "--false-alarm-rate", str(rate)], capsys)
        assert code == 0, err
        flagged[rate] = pd.read_csv(args[-1])["anomaly"].mean()
    assert flagged[0.001] < flagged[0.2]
    assert flagged[0.2] > 0.02  # the threshold moved, not only the rounding


@pytest.mark.parametrize("rate", ["0", "0.5", "5", "nan"])
def test_a_false_alarm_rate_outside_0_to_0_5_is_a_one_line_error(csvs, capsys, rate):
    train, test, out = csvs
    args = ["detect", "--train", str(train), "--test", str(test), "--out", str(out)]
    err = error_of([*args, "--ignore", "site", "--false-alarm-rate", rate], capsys)
    assert "--false-alarm-rate must lie between 0 and 0.5" in err
    assert not out.exists()


@pytest.mark.parametrize("role", ["TRAIN", "TEST"])
def test_an_out_naming_an_input_is_refused_and_the_input_kept(csvs, capsys, role):
    # a slip of the shell's completion wrote OUT over TEST: the readings were lost
    train, test, _ = csvs
    target = train if role == "TRAIN" else test
    before = target.read_bytes()
    out = target.parent / "link.csv"  # another name of the same file
    out.symlink_to(target)
    args = ["detect", "--train", str(train), "--test", str(test), "--out", str(out)]
    err = error_of([*args, "--sep", ";", "--ignore", "site"], capsys)
    assert f"OUT is the {role} file, which writing OUT would replace; give OUT another name" in err
    assert target.read_bytes() == before
