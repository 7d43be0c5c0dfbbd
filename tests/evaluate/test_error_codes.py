"""Error codes (-9999, the largest 32-bit float...) read as missing readings, not readings."""

from __future__ import annotations

import numpy as np
import pandas as pd

from bms.evaluate.error_codes import error_code_cells


def test_a_code_far_outside_the_readings_is_an_error_code(rng: np.random.Generator) -> None:
    volts = pd.Series(230 + rng.normal(0, 5, 1000))
    volts[[10, 500]] = -9999.0
    volts[700] = float("3.4028235e38")  # float32's largest, as a register export writes it
    assert np.flatnonzero(error_code_cells(volts)).tolist() == [10, 500, 700]


def test_a_code_among_readings_of_its_size_is_a_reading() -> None:
    meter = pd.Series(np.arange(9_900.0, 10_100.0))  # an index counting past 9999
    assert not error_code_cells(meter).any()


def test_too_few_other_readings_say_nothing() -> None:
    assert not error_code_cells(pd.Series([1.0, 2.0, -9999.0, 3.0])).any()
