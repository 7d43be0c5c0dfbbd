"""Early warning on C-MAPSS engines: held-out run-to-failure data for ``bms detect``'s detector."""

from __future__ import annotations

import numpy as np
import pytest

from bms.evaluate.cmapss import add_operating_regimes, read_cmapss
from bms.evaluate.cmapss_warning import (
    engine_warning,
    evaluate_cmapss_warning,
    fleet_figures,
    fleet_warning,
)


def test_every_engine_is_warned_well_before_it_fails(dataset):
    # the first 20 engines of FD001, each trained on its first 50 cycles
    figures, engines = evaluate_cmapss_warning(dataset("cmapss") / "train_FD001.txt", limit=20)
    assert len(engines) == 20 and figures == fleet_figures(engines)
    assert figures["held_at_failure"] == 100.0
    assert figures["held_rul_median"] >= 60  # cycles: weeks of flights for an airline
    assert figures["final_flagged"] == 100.0
    assert figures["far"] < 25.0  # cycles flagged while more than 125 from failure


def test_engines_flown_at_six_operating_points_are_still_warned(dataset):
    # FD001 made multi-condition like FD002: each cycle at one of six operating points, which
    # move the sensors ten times more than wear does; the detector is not told which columns
    # are the settings, and finds them (PyOD's IForest, same protocol: 75 % held, median lead
    # 4 cycles; bms before the operating points: 97 % held, 58 cycles)
    frame = read_cmapss(dataset("cmapss") / "train_FD001.txt")
    (regimes,) = add_operating_regimes([frame[frame["unit"] <= 20]])
    figures, engines = fleet_warning(regimes)
    assert len(engines) == 20
    assert figures["held_at_failure"] == 100.0
    assert figures["held_rul_median"] >= 75  # as flown at one point (FD001: 91 cycles)
    assert figures["far"] < 25.0


def test_the_warning_figures_of_one_engine():
    cycles_left = np.arange(200, -1, -1)  # 200 cycles to failure, one row each
    flags = np.zeros(201, dtype=np.int64)
    flags[10:12] = 1  # a blip 190 cycles before failure: a false alarm, not held
    flags[150:] = 1  # the alarm held from 50 cycles before failure
    figures = engine_warning(cycles_left, flags)
    assert figures["first_alarm_rul"] == 190
    assert figures["held_rul"] == 50
    assert figures["healthy_cycles"] == 75 and figures["false_alarms"] == 2
    assert figures["final_flagged"] == 1.0
    assert engine_warning(cycles_left, np.zeros(201, dtype=np.int64))["held_rul"] is None
    with pytest.raises(ValueError, match="3 flags for 201"):
        engine_warning(cycles_left, np.zeros(3, dtype=np.int64))
