"""The anomalous episodes ``bms detect`` lists before its rows."""

from __future__ import annotations

import numpy as np
import pandas as pd

from bms.evaluate.detect_episodes import EPISODE_COLUMNS, alarm_days, anomaly_episodes


def detect_output(flags: list[int]) -> pd.DataFrame:
    n = len(flags)
    return pd.DataFrame(
        {
            "time": [f"t{i}" for i in range(n)],
            "score": [0.5 + 0.01 * i if f else 0.1 for i, f in enumerate(flags)],
            "anomaly": flags,
            "top_contributor": ["flow" if i < 6 else "pressure" for i in range(n)],
        }
    )


def test_runs_closer_than_the_window_are_one_episode():
    #        0  1  2  3  4  5  6  7  8  9 10 11 12 13
    flags = [0, 1, 1, 0, 1, 1, 0, 0, 0, 0, 1, 1, 1, 0]
    episodes = anomaly_episodes(detect_output(flags), merge_rows=2)
    assert list(episodes.columns) == list(EPISODE_COLUMNS)
    # rows 1-5 are one episode (one quiet row between runs); rows 10-12 another (four quiet rows)
    assert episodes["start"].tolist() == ["t1", "t10"]
    assert episodes["end"].tolist() == ["t5", "t12"]
    assert episodes["anomalous_rows"].tolist() == [4, 3]
    assert episodes["peak_score"].tolist() == [0.55, 0.62]
    assert episodes["top_contributor"].tolist() == ["flow", "pressure"]
    # a window of one row merges nothing
    assert len(anomaly_episodes(detect_output(flags), merge_rows=1)) == 3


def test_an_episode_never_spans_a_gap_in_time():
    flags = [0, 1, 1, 1, 1, 1, 0]
    # rows 0-2 one day, rows 3-6 another (a gap in time before row 3)
    episodes = anomaly_episodes(detect_output(flags), merge_rows=30, stretches=[(0, 3), (3, 7)])
    assert episodes["start"].tolist() == ["t1", "t3"]
    assert episodes["end"].tolist() == ["t2", "t5"]


def test_no_anomalous_row_gives_no_episode():
    episodes = anomaly_episodes(detect_output([0, 0, 0]), merge_rows=30)
    assert episodes.empty and list(episodes.columns) == list(EPISODE_COLUMNS)


def test_an_episode_names_the_signals_that_carry_it_and_the_rules_in_fault():
    #        0  1  2  3  4  5  6  7
    flags = [0, 1, 1, 1, 0, 0, 1, 1]
    out = detect_output(flags).assign(
        rule=["", "FC7", "FC5,FC7", "", "", "", "", "APAR_SAT_CONTROL"]
    )
    flow = [0.5, 0.7, 0.6, 0.8, 0.5, 0.5, 0.05, 0.05]
    shares = pd.DataFrame(
        {
            "flow": flow,
            "pressure": [1 - f - 0.05 for f in flow],
            "temp": [0.05] * 8,  # under the 10 % a listed signal carries
        }
    )
    episodes = anomaly_episodes(out, merge_rows=1, shares=shares)
    assert episodes["signals"].tolist() == ["flow 70 %, pressure 25 %", "pressure 90 %"]
    assert episodes["rules"].tolist() == ["FC7, FC5", "APAR_SAT_CONTROL"]
    # without shares nor rules, both are empty
    plain = anomaly_episodes(detect_output(flags), merge_rows=1)
    assert plain["signals"].tolist() == ["", ""] and plain["rules"].tolist() == ["", ""]


def test_a_day_holds_an_alarm_when_a_window_of_flagged_rows_in_a_row_reaches_it():
    #        day 1 ...........  day 2 ...........  day 3 ...........  day 4 (a new stretch)
    flags = [0, 0, 1, 1, 1, 1,  1, 1, 0, 0, 0, 0,  1, 1, 0, 1, 1, 0,  1, 1, 1, 0, 0, 0]  # fmt: skip
    days = np.repeat(["d1", "d2", "d3", "d4"], 6).astype(object)
    found = alarm_days(np.array(flags, dtype=bool), days, [(0, 18), (18, 24)], min_rows=3)
    # d1's run goes on into d2 (both hold part of it); d3's runs of 2 are flickers; d4's 3 count
    assert found == ["d1", "d2", "d4"]
    # a gap in time ends a run: the same flags cut between rows 5 and 6 leave d2 two rows
    cut = alarm_days(np.array(flags, dtype=bool), days, [(0, 6), (6, 18), (18, 24)], min_rows=3)
    assert cut == ["d1", "d4"]


def test_a_rule_stating_a_mere_consequence_comes_after_the_specific_ones():
    out = detect_output([1, 1, 1, 1]).assign(
        rule=["APAR_SAT_CONTROL", "APAR_SAT_CONTROL,FC7", "APAR_SAT_CONTROL", "FC7"]
    )
    by_rows = anomaly_episodes(out, merge_rows=2)
    assert by_rows["rules"].tolist() == ["APAR_SAT_CONTROL, FC7"]  # 3 rows against 2
    named = anomaly_episodes(out, merge_rows=2, symptom_rules=frozenset({"APAR_SAT_CONTROL"}))
    assert named["rules"].tolist() == ["FC7, APAR_SAT_CONTROL"]
