"""Which rows ``bms detect`` judges, in which order, and how verdicts go back to TEST's rows."""

from __future__ import annotations

import numpy as np
import pandas as pd

from bms.evaluate.detect_rows import JudgedRows, repeated_readings, time_order


def test_time_order_is_a_stable_sort_or_none_when_in_order():
    times = pd.DatetimeIndex(["2026-01-03", "2026-01-01", "2026-01-02", "2026-01-01"])
    assert time_order(times).tolist() == [1, 3, 2, 0]  # ties keep the file's order
    assert time_order(times.sort_values()) is None


def test_repeated_readings_are_the_same_time_and_the_same_values():
    times = pd.DatetimeIndex(["2026-01-01"] * 3 + ["2026-01-02"] * 2 + ["2026-01-03"])
    rows = pd.DataFrame({"a": [1.0, 2.0, 1.0, np.nan, np.nan, 1.0]}, index=times)
    kept, judged = repeated_readings(rows)
    # row 0 is repeated by row 2; row 1 differs (a reading of its own at a coarse time);
    # the two missing readings of 01-02 are one; 01-03 repeats 01-01's value at another time
    assert kept.tolist() == [False, True, True, False, True, True]
    assert judged.tolist() == [1, 0, 1, 2, 2, 3]
    kept, judged = repeated_readings(rows.iloc[[0, 5]])  # no time repeats
    assert kept.all() and judged.tolist() == [0, 1]


def test_judged_rows_send_each_verdict_back_to_every_row_in_the_files_order():
    # written newest first, the middle reading twice
    times = pd.DatetimeIndex(["2026-01-03", "2026-01-02", "2026-01-02", "2026-01-01"])
    x_test = pd.DataFrame({"a": [3.0, 2.0, 2.0, 1.0]}, index=times)
    rows = JudgedRows.of(x_test, time_order(times))
    assert rows.order.tolist() == [3, 2, 1, 0]  # file rows in time order (ties: newest first)
    assert rows.kept.tolist() == [True, False, True, True]  # file row 2 is repeated by row 1
    assert rows.judged_file_rows().tolist() == [3, 1, 0]
    verdicts = np.array(["day 1", "day 2", "day 3"])  # one per judged row, in time order
    per_row = rows.per_row(verdicts)
    assert per_row.tolist() == ["day 1", "day 2", "day 2", "day 3"]
    out = rows.as_written_order(pd.DataFrame({"verdict": per_row}))
    assert out["verdict"].tolist() == ["day 3", "day 2", "day 2", "day 1"]
    plain = JudgedRows.as_written(3)
    assert plain.per_row(np.arange(3)).tolist() == [0, 1, 2]


def test_a_file_newest_first_keeps_each_time_s_rows_in_the_order_they_were_read():
    # readings every 250 ms with times written to the second, newest first: each second's four
    # rows, sorted stably, came out newest first within their second
    chronological = pd.date_range("2026-01-01", periods=40, freq="250ms").floor("s")
    newest_first = chronological[::-1]
    order = time_order(newest_first)
    assert order is not None
    assert order.tolist() == list(range(39, -1, -1))
