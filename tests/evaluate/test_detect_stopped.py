"""``bms detect`` on an AHU: an alarm raised while the fan ran holds while it is stopped."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from bms.evaluate.detect_stopped import fan_running, held_flags, held_while_stopped
from tests.evaluate.test_detect_csv import detect_args, run_cli
from tests.evaluate.test_detect_rules import _ahu, _detect_ahu


def test_an_alarm_that_lasted_holds_through_the_stopped_rows_of_its_stretch() -> None:
    flags = np.array([0, 1, 1, 1, 0, 0, 0, 1, 0, 0, 1, 1, 1, 0, 0], dtype=bool)
    running = np.array([1, 1, 1, 1, 0, 0, 0, 0, 1, 0, 1, 1, 1, 0, 0], dtype=bool)
    bounds = [(0, 10), (10, 15)]
    held = held_while_stopped(flags, running, bounds, min_rows=3)
    # rows 4-6 hold row 3's alarm; row 7 is flagged of itself; the fan runs unflagged on row 8,
    # so row 9 holds nothing; the second stretch holds its own alarm, not the first one's
    assert held.tolist() == [-1, -1, -1, -1, 3, 3, 3, -1, -1, -1, -1, -1, -1, 12, 12]
    assert (held_while_stopped(flags, running, bounds, min_rows=4) == -1).all()  # a flicker
    across_a_gap = held_while_stopped(flags, running, [(0, 4), (4, 15)], min_rows=3)
    assert (across_a_gap[4:7] == -1).all()  # nothing known of the time between


def test_columns_that_name_no_fan_are_left_as_they_are() -> None:
    index = pd.date_range("2026-06-01", periods=120, freq="min")
    frame = pd.DataFrame({"flow": np.arange(120.0), "status": 0.0}, index=index)
    flags = np.zeros(120, dtype=bool)
    flags[:60] = True
    assert (held_flags(flags, frame, frame) == flags).all()


def _stuck_damper(test: pd.DataFrame, until_hour: int) -> pd.DataFrame:
    """TEST with the outdoor-air damper stuck wide open on its first day from 10:00 to
    ``until_hour``: the mixed air follows the outdoor air while the fan runs."""
    test = test.copy()
    hours = pd.to_datetime(test["time"])
    stuck = (hours.dt.day == 1) & (hours.dt.hour >= 10) & (hours.dt.hour < until_hour)
    test.loc[stuck, "Mixed Air Temperature"] = test.loc[stuck, "Outdoor Air Temperature"]
    return test


def test_the_night_after_a_fault_keeps_its_alarm_until_the_fan_runs_again(tmp_path, capsys):
    train, test = _ahu(3, 0.0), _stuck_damper(_ahu(2, 0.0), until_hour=24)
    out, err = _detect_ahu(tmp_path, capsys, train, test)
    hours = pd.to_datetime(out["time"])
    day1, day2 = hours.dt.day == 1, hours.dt.day == 2
    night = day1 & (hours.dt.hour >= 18) | day2 & (hours.dt.hour < 6)
    assert out.loc[day1 & (hours.dt.hour >= 11) & (hours.dt.hour < 18), "anomaly"].mean() > 0.9
    assert (out.loc[night, "anomaly"] == 1).all()  # the fan stopped; the damper did not unstick
    assert (out.loc[night, "score"] >= 0.5).all()
    assert (
        out.loc[night, "top_contributor"].iloc[0]
        == out.loc[day1 & (hours.dt.hour == 17), "top_contributor"].iloc[-1]
    )  # the evidence it was raised on
    assert "with the supply fan stopped keep the alarm raised while it ran" in err


@pytest.mark.parametrize("offset", ["", "-05:00"])
def test_the_days_holding_an_alarm_are_counted(tmp_path, capsys, offset):
    # days of the site's clock: with offsets (Chicago's summer time) they were UTC's, and two
    # days of the wall clock were counted as three
    train, test = _ahu(3, 0.0), _stuck_damper(_ahu(2, 0.0), until_hour=12)
    for frame in (train, test):
        frame["time"] = pd.to_datetime(frame["time"]).dt.strftime("%Y-%m-%dT%H:%M:%S") + offset
    args = detect_args(tmp_path, train, test)
    code, stdout, err = run_cli(args, capsys)
    assert code == 0, err
    assert "alarms on 1 of 2 TEST days (a smoothing window of anomalous rows" in stdout
    assert ": 2026-06-01\n" in stdout


def test_a_fault_that_cleared_while_the_fan_ran_leaves_the_night_alone(tmp_path, capsys):
    train, test = _ahu(3, 0.0), _stuck_damper(_ahu(2, 0.0), until_hour=12)
    out, err = _detect_ahu(tmp_path, capsys, train, test)
    hours = pd.to_datetime(out["time"])
    night = (hours.dt.hour >= 18) | (hours.dt.hour < 6)
    assert out.loc[(hours.dt.day == 1) & (hours.dt.hour == 11), "anomaly"].mean() > 0.9
    assert out.loc[night, "anomaly"].mean() < 0.01
    assert "keep the alarm raised while it ran" not in err


def test_a_fan_status_offline_is_no_stop() -> None:
    ahu = _ahu(1, 0.0).set_index("time")
    test = ahu.copy()
    test.iloc[:60, test.columns.get_loc("Supply Fan Status")] = np.nan  # 00:00-01:00, offline
    running = fan_running(ahu, test)
    assert running is not None
    assert running[:60].all()  # unknown: judged by the detector, no alarm held through it
    assert not running[60:360].any()  # 01:00-06:00: stopped
    assert running[360:1080].all()  # 06:00-18:00: running
