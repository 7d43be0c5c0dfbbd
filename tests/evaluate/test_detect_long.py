"""``bms detect`` reads long CSVs (one reading per line: time, point, value) as wide ones."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from bms.evaluate.detect_long import long_layout, reporting_step
from tests.evaluate.test_detect_csv import detect_args, pump, run_cli


def long_lines(wide: pd.DataFrame, time: str = "Timestamp") -> pd.DataFrame:
    """``wide`` as the telemetry frame writes it: a line per reading, sorted by point, with a
    unit column."""
    lines = wide.melt(id_vars=time, var_name="point", value_name="value")
    return lines.assign(unit="-")


@pytest.fixture
def pump_pair(rng: np.random.Generator) -> tuple[pd.DataFrame, pd.DataFrame]:
    train, test = pump(rng, 600, "2026-01-01"), pump(rng, 400, "2026-01-02")
    test.loc[200:299, "pressure"] += 0.2
    train["fan"] = "ON"  # a status written as words, read by the wide file's cell rules
    test["fan"] = np.where(np.arange(400) < 350, "ON", "OFF")
    return train.drop(columns="site"), test.drop(columns="site")


def test_a_long_file_gives_the_same_out_as_its_wide_form(tmp_path, pump_pair, capsys):
    train, test = pump_pair
    (tmp_path / "wide").mkdir()
    wide_args = detect_args(tmp_path / "wide", train, test)
    code, _, err = run_cli(wide_args, capsys)
    assert code == 0, err
    (tmp_path / "long").mkdir()
    long_args = detect_args(tmp_path / "long", long_lines(train), long_lines(test))
    code, _, err = run_cli([*long_args, "--ignore", "unit"], capsys)  # a left-out column
    assert code == 0, err
    assert (
        "one reading per line ('Timestamp', 'point', 'value'): read as 600 rows x 3 points" in err
    )
    assert "column(s) 'unit' left out" in err
    wide_out, long_out = pd.read_csv(wide_args[-1]), pd.read_csv(long_args[-1])
    pd.testing.assert_frame_equal(wide_out, long_out)
    assert long_out["anomaly"].iloc[210:300].mean() > 0.9


def test_sensors_on_their_own_clocks_are_read_in_steps_of_their_reporting_interval(
    tmp_path, rng, capsys
):
    """Three sensors each reporting every 10 minutes, at their own second of the minute."""
    n = 3 * 24 * 6  # three days of 10-minute readings
    base = pd.date_range("2026-03-02", periods=n, freq="10min", tz="UTC")
    level = 20 + np.sin(np.arange(n) / 40) + rng.normal(0, 0.05, n)
    lines = []
    for k, name in enumerate(["t_in", "t_out", "t_mid"]):
        offset = pd.Timedelta(seconds=17 * k + 5)
        reading = level + 0.5 * k + rng.normal(0, 0.05, n)
        if name == "t_mid":
            reading[n - 100 :] += 2.0  # the last 100 readings of one sensor off by 2 K
        lines.append(pd.DataFrame({"ts": base + offset, "key": name, "value": reading}))
    frame = pd.concat(lines).sort_values("ts")
    frame["ts"] = frame["ts"].dt.strftime("%Y-%m-%dT%H:%M:%SZ")
    split = 3 * 2 * 24 * 6  # the first two days train
    args = detect_args(tmp_path, frame.iloc[:split], frame.iloc[split:])
    code, _, err = run_cli(args, capsys)
    assert code == 0, err
    assert "read as 288 rows x 3 points, each point's last reading in steps of 10 min" in err
    out = pd.read_csv(args[-1])
    assert len(out) == 144 and out["time"].iloc[0] == "2026-03-04T00:00:00Z"
    assert out["anomaly"].iloc[:30].sum() == 0
    assert out["anomaly"].iloc[-60:].mean() > 0.9
    assert out["top_contributor"].iloc[-60:].eq("t_mid").mean() > 0.9


def test_a_point_read_twice_at_one_time_keeps_its_last_line(tmp_path, pump_pair, capsys):
    train, test = pump_pair
    lines = long_lines(test)
    repeated = pd.concat([lines, lines.iloc[[5]].assign(value="99")])  # a late correction
    args = detect_args(tmp_path, long_lines(train), repeated)
    code, _, err = run_cli(args, capsys)
    assert code == 0, err
    assert "1 line(s) repeat a point at a time already read: the last one is kept" in err


@pytest.mark.parametrize("long_file", ["train", "test"])
def test_one_long_file_and_one_wide_file_are_refused(tmp_path, pump_pair, long_file, capsys):
    train, test = pump_pair
    if long_file == "train":
        train = long_lines(train)
    else:
        test = long_lines(test)
    code, _, err = run_cli(detect_args(tmp_path, train, test), capsys)
    assert code == 2
    assert "holds one reading per line (time, point, value): give both files in one layout" in err


def test_a_line_without_a_point_name_is_named(tmp_path, pump_pair, capsys):
    train, test = pump_pair
    lines = long_lines(train)
    lines.loc[7, "point"] = np.nan
    code, _, err = run_cli(detect_args(tmp_path, lines, long_lines(test)), capsys)
    assert code == 2
    assert "column 'point': no point name in data row 8" in err


def test_a_wide_file_is_not_taken_for_a_long_one():
    wide = pd.DataFrame(
        {"time": ["2026-01-01 00:00", "2026-01-01 00:01"], "name": ["a", "a"], "flow": [1.0, 2.0]}
    )
    assert long_layout(wide, None) is None  # no value column
    distinct = pd.DataFrame({"time": wide["time"], "point": ["a", "b"], "value": [1.0, 2.0]})
    assert long_layout(distinct, None) is None  # names that do not repeat: no readings of points
    lines = pd.concat([distinct, distinct])
    assert long_layout(lines, None) is not None


def test_the_reporting_step_is_the_median_over_points_of_their_median_step():
    times = pd.DatetimeIndex(
        ["2026-01-01 00:00", "2026-01-01 00:10", "2026-01-01 00:20", "2026-01-01 00:00",
         "2026-01-01 00:05", "2026-01-01 00:10", "2026-01-01 00:00", "2026-01-01 00:30"],
        tz="UTC",
    )  # fmt: skip
    points = pd.Series(["a", "a", "a", "b", "b", "b", "c", "c"])
    assert reporting_step(times, points) == pd.Timedelta("10min")
    assert reporting_step(times[:1], points[:1]) is None


def test_home_assistant_history_is_read_as_it_is_exported(tmp_path: Path, pump_pair, capsys):
    """``entity_id, state, last_changed``; ``unavailable`` while a sensor is offline."""
    train, test = pump_pair
    rename = {"Timestamp": "last_changed", "point": "entity_id", "value": "state"}
    train_lines = long_lines(train).rename(columns=rename)
    test_lines = long_lines(test).rename(columns=rename).astype({"state": object})
    test_lines.loc[3:5, "state"] = "unavailable"
    args = detect_args(tmp_path, train_lines, test_lines)
    code, _, err = run_cli(args, capsys)
    assert code == 0, err
    assert "('last_changed', 'entity_id', 'state')" in err
    assert len(pd.read_csv(args[-1])) == len(test)


def test_one_instant_written_two_ways_is_one_row(tmp_path, pump_pair, capsys):
    # one point's lines at every tenth instant with the time written ISO-style: each such
    # instant made two rows, each missing the other's points (on SKAB: 323 rows flagged, not 152)
    train, test = pump_pair
    outs = []
    for mixed in (False, True):
        folder = tmp_path / str(mixed)
        folder.mkdir()
        lines = [long_lines(train), long_lines(test)]
        if mixed:
            for frame in lines:
                tenth = (frame["point"] == "pressure") & (frame.index % 10 == 0)
                frame.loc[tenth, "Timestamp"] = frame.loc[tenth, "Timestamp"].str.replace(" ", "T")
        args = detect_args(folder, *lines)
        code, _, err = run_cli([*args, "--ignore", "unit"], capsys)
        assert code == 0, err
        outs.append(pd.read_csv(args[-1]))
    assert len(outs[1]) == len(test)
    columns = ["score", "anomaly", "top_contributor"]
    pd.testing.assert_frame_equal(outs[1][columns], outs[0][columns])
