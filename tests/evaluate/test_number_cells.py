"""Number cells as building exports write them."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from bms.evaluate.number_cells import read_number_cells


@pytest.mark.parametrize(
    ("cells", "decimal_comma", "values", "unit"),
    [
        (["21.5", "7", None], False, [21.5, 7.0, np.nan], None),
        (["21,5", "-0,25", "3"], True, [21.5, -0.25, 3.0], None),
        # thousands grouped the way the decimal mark goes with
        (["1,008.2", "12,345", "-1,000,000.5"], False, [1008.2, 12345, -1000000.5], None),
        (["1 008,2", "1\u202f014,5", "1\u00a0019"], True, [1008.2, 1014.5, 1019], None),
        (["1'008.2", "12'345"], False, [1008.2, 12345], None),
        # a unit after the number, an error cell left unreadable
        (["21.5 °C", "22.0 °C", "#VALUE!", "-3°C"], False, [21.5, 22.0, np.nan, -3.0], "°C"),
        (["1 008,2 kWh", "7,5 kWh"], True, [1008.2, 7.5], "kWh"),
        (["45 %", "50%"], False, [45.0, 50.0], "%"),
    ],
)
def test_cells_read_as_numbers(cells, decimal_comma, values, unit):
    numbers, found = read_number_cells(pd.Series(cells), decimal_comma=decimal_comma)
    np.testing.assert_allclose(numbers, values)
    assert found == unit


def test_a_comma_groups_thousands_only_where_the_decimal_mark_is_a_point():
    numbers, _ = read_number_cells(pd.Series(["1,008", "2,5"]), decimal_comma=True)
    np.testing.assert_allclose(numbers, [1.008, 2.5])


def test_words_and_mixed_units_stay_unread():
    assert read_number_cells(pd.Series(["ok", "fault"]))[0].isna().all()
    numbers, unit = read_number_cells(pd.Series(["21.5 °C", "22 °F", "23 K"]))
    assert numbers.isna().all() and unit is None
