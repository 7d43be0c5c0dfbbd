"""LBNL AHU day-level protocol: days scored from their rows, documented splits."""

from __future__ import annotations

import numpy as np
import pandas as pd

from bms.evaluate.lbnl import day_scores, evaluate_lbnl


def test_a_day_scores_the_median_of_its_rows_so_a_few_odd_minutes_do_not_count():
    days = pd.Series(["d1"] * 5 + ["d2"] * 5)
    rows = np.array([0.1, 0.1, 0.9, 0.1, 0.1, 0.6, 0.7, 0.6, 0.1, 0.6])
    assert day_scores(days, rows).to_dict() == {"d1": 0.1, "d2": 0.6}


def test_within_and_cross_unit_protocols_on_the_real_files(dataset):
    results = evaluate_lbnl(dataset("lbnl_ahu"))
    assert set(results) == {
        "within:MZVAV-2-2",
        "within:SZCAV",
        "cross:MZVAV-2-2->SZCAV",
        "cross:SZCAV->MZVAV-2-2",
    }
    within = results["within:MZVAV-2-2"]
    days = (within["n_train_days"], within["n_test_days"], within["n_faulty_test_days"])
    assert days == (7, 19, 13)
    # trained on 7 fault-free days: no false alarm on the 6 others, most faulted days found
    assert within["far"] == 0.0
    assert within["f1"] > 0.8
    # row level, bms detect's own flags: start-ups no longer set the only threshold (row F1
    # was 0.00: every faulted row sat under a threshold made of fan starts and stops)
    assert within["row_f1"] > 0.5
    assert within["row_far"] < 1.0
    assert results["cross:MZVAV-2-2->SZCAV"]["n_test_days"] == 15
