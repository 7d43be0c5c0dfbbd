"""The IMS bearing run to failure: real held-out data for ``bms detect`` (never developed on)."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from bms.errors import BmsError
from bms.evaluate.ims import (
    FAILURE_TIME,
    HEALTHY_UNTIL,
    IMS_FILE,
    ims_split,
    read_ims,
    warning_figures,
)
from tests.evaluate.damaged_lines import crlf, swapped
from tests.evaluate.test_detect_csv import detect_args, run_cli


def test_bms_detect_warns_days_before_the_bearing_fails_and_names_it(dataset, tmp_path, capsys):
    train, test = ims_split(read_ims(dataset("ims_bearing")))
    # written as the data set's file is: the time index first, under no header name
    args = detect_args(tmp_path, train.rename_axis(None), test.rename_axis(None), index=True)
    code, stdout, err = run_cli(args, capsys)
    assert code == 0, err
    assert "x 4 features" in stdout
    # the summary names the one event and its bearing before the rows are read
    assert "1 anomalous episode(s):" in stdout and "mostly Bearing 1" in stdout
    result = pd.read_csv(args[-1], parse_dates=["time"])
    figures = warning_figures(pd.DatetimeIndex(result["time"]), result["anomaly"].to_numpy())
    # the healthy days stay quiet, and the alarm comes two days or more before the failure and
    # stays on (measured: 72 h, none false; PyOD's IForest flags 57 % of the healthy rows)
    assert figures["false_alarm_rows"] == 0 and figures["healthy_rows"] > 250
    assert figures["held_lead_hours"] is not None and figures["held_lead_hours"] >= 48
    # and it names the bearing that fails
    first = result[result["anomaly"] == 1].head(12)
    assert (first["top_contributor"] == "Bearing 1").all()


def test_bms_evaluate_ims_prints_one_json_line(dataset, capsys):
    code, stdout, err = run_cli(
        ["evaluate", "ims", "--data", str(dataset("ims_bearing")), "--json"], capsys
    )
    assert code == 0, err
    result = json.loads(stdout.strip().splitlines()[-1])
    assert result["failure"] == str(FAILURE_TIME)
    assert result["n_train"] == 222 and result["n_test"] == 758
    assert result["lead_hours"] >= result["held_lead_hours"] >= 48
    assert result["far"] == 0.0 and result["final_flagged"] == 100.0


def test_warning_figures_count_what_a_maintenance_team_sees():
    times = pd.date_range(HEALTHY_UNTIL - pd.Timedelta(hours=2), FAILURE_TIME, freq="1h")
    flags = np.zeros(len(times), dtype=np.int64)
    flags[[0, 5, 6]] = 1  # one false alarm, then an alarm that goes away
    flags[-10:] = 1  # the alarm still on at the failure
    figures = warning_figures(times, flags)
    assert figures["first_alarm"] == str(times[0])
    assert figures["held_from"] == str(times[-10])
    assert figures["held_lead_hours"] == pytest.approx(9.0, abs=0.1)
    assert (figures["healthy_rows"], figures["false_alarm_rows"]) == (2, 1)
    assert figures["far"] == 50.0
    quiet = warning_figures(times, np.zeros(len(times), dtype=np.int64))
    assert quiet["first_alarm"] is None and quiet["lead_hours"] is None
    assert quiet["held_lead_hours"] is None and quiet["final_flagged"] == 0.0
    with pytest.raises(ValueError, match="3 flags for"):
        warning_figures(times, np.zeros(3, dtype=np.int64))


def test_a_folder_without_the_ims_file_is_a_user_error(tmp_path: Path, capsys):
    with pytest.raises(BmsError, match="IMS bearing file not found"):
        read_ims(tmp_path)
    code, _, err = run_cli(["evaluate", "ims", "--data", str(tmp_path)], capsys)
    assert code != 0 and "IMS bearing file not found" in err


def test_a_word_among_the_readings_is_named_not_a_traceback(tmp_path: Path, capsys):
    lines = [",Bearing 1,Bearing 2", "2004-02-12 10:52:39,0.06,0.07", "2004-02-12 11:02:39,x,0.07"]
    (tmp_path / IMS_FILE).write_text("\n".join(lines) + "\n")
    code, _, err = run_cli(["evaluate", "ims", "--data", str(tmp_path)], capsys)
    assert code == 2
    reason = "'Bearing 1' data row 2 holds 'x', not a number"
    assert err == f"bms: error: {tmp_path / IMS_FILE}: {reason}\n"


# --- a damaged copy of the file (','-separated, CRLF): one line naming it --------------------
def _lines(dataset) -> list[str]:
    return (dataset("ims_bearing") / IMS_FILE).read_bytes().decode().split("\r\n")


@pytest.mark.parametrize(
    ("damage", "reason"),
    [
        (lambda lines: b"", r"the file is empty$"),
        # a ValueError from the detector before
        (
            lambda lines: crlf(swapped(lines, 50)),
            r": the time column's data row 51 \(2004-02-12 19:02:39\) is earlier than data row 50 "
            r"\(2004-02-12 19:12:39\): the protocol reads the rows in time order as written",
        ),
        # "rows scored: rows are not in time order" before
        (
            lambda lines: crlf([*lines[:299], lines[299] + ",1.0", *lines[300:]]),
            r": line 300 holds 6 fields, not 5 \(the header's\)$",
        ),
        (lambda lines: crlf(lines) + b"\xe9", r": line 984 holds the byte 0xe9, not UTF-8 text"),
        (lambda lines: "\r\n".join(lines).encode("utf-16"), r": UTF-16 text; save it as UTF-8"),
        # a TypeError (tz-naive and tz-aware times compared) before
        (
            lambda lines: crlf(
                [lines[0], *(line.replace(",", "+01:00,", 1) for line in lines[1:-1])]
            ),
            r": the time column's data row 1 holds '2004-02-12 10:52:39\+01:00', a time with a "
            r"UTC offset: write the rig's clock as the data set does, without one$",
        ),
        # exit 0 before, with n_test 0 and every figure null
        (
            lambda lines: crlf([*lines[:100], ""]),
            r" ends at 2004-02-13 03:12:39, before the bearing's failure at 2004-02-19 06:02:39: "
            r"the protocol needs the run to failure$",
        ),
        # exit 0 before, with 72.3 hours of warning before a failure the file does not hold
        (
            lambda lines: crlf([*lines[:700], ""]),
            r" ends at 2004-02-17 07:12:39, before the bearing's failure at 2004-02-19 06:02:39",
        ),
        # pandas' UserWarning (two lines) printed before the error
        (
            lambda lines: crlf([line.replace(",", ";") for line in lines]),
            r": a single column; the IMS file is ','-separated",
        ),
    ],
    ids=[
        "empty",
        "out of order",
        "extra field",
        "latin-1",
        "utf-16",
        "offsets",
        "100 lines",
        "700 lines",
        "';'-separated",
    ],
)
def test_a_damaged_copy_of_the_file_is_refused_in_one_line_naming_it(
    dataset, tmp_path: Path, damage, reason
):
    path = tmp_path / IMS_FILE
    path.write_bytes(damage(_lines(dataset)))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no warning leaks before the line
        with pytest.raises(BmsError, match=reason) as raised:
            read_ims(tmp_path)
    assert str(raised.value).startswith(str(path)) and "\n" not in str(raised.value)


def test_a_file_cut_before_the_failure_exits_2_through_the_cli(dataset, tmp_path: Path, capsys):
    (tmp_path / IMS_FILE).write_bytes(crlf([*_lines(dataset)[:700], ""]))
    code, stdout, err = run_cli(["evaluate", "ims", "--data", str(tmp_path), "--json"], capsys)
    assert (code, stdout) == (2, "")
    assert err.startswith(f"bms: error: {tmp_path / IMS_FILE} ends at") and err.count("\n") == 1


def test_a_file_that_starts_after_the_training_days_is_refused(dataset, tmp_path: Path, capsys):
    lines = _lines(dataset)
    (tmp_path / IMS_FILE).write_bytes(crlf([lines[0], *lines[299:]]))  # from 14 February
    code, stdout, err = run_cli(["evaluate", "ims", "--data", str(tmp_path), "--json"], capsys)
    assert (code, stdout) == (2, "")  # a ValueError from the detector before
    reason = (
        "starts at 2004-02-14 12:32:39, after the training days (before 2004-02-13 23:52:39): "
        "the protocol trains on the run's healthy start"
    )
    assert err == f"bms: error: {tmp_path / IMS_FILE} {reason}\n"
