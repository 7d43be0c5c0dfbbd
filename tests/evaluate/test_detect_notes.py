"""What ``bms detect`` says about its input: the parts tested on their own."""

from __future__ import annotations

import numpy as np
import pandas as pd

from bms.evaluate.detect_notes import running_totals


def test_a_running_total_only_rises_in_both_files():
    rng = np.random.default_rng(0)
    load = np.where(np.arange(2000) % 100 < 50, 0.0, 1.0)  # runs half the time
    index = np.round(np.cumsum(load * 0.004), 2)  # a meter: rises by its resolution, or holds
    frame = pd.DataFrame(
        {
            "meter": index,
            "valve": np.r_[np.zeros(500), np.full(1500, 100.0)],  # opens once: one rise
            "temp": 20 + np.cumsum(np.abs(rng.normal(0, 0.01, 2000))) + rng.normal(0, 0.02, 2000),
        }
    )
    frame.loc[[10, 1500], "meter"] = np.nan  # a missing reading is stepped over
    train, test = frame.iloc[:1000], frame.iloc[1000:]
    assert running_totals(train, test) == ["meter"]
    reset = test.assign(meter=test["meter"] - 1.0 * (test.index > 1800))  # a meter replaced
    assert running_totals(train, reset) == []
