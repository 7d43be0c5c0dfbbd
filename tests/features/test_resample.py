"""Canonical long frame -> per-equipment regular-step wide frame."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from bms.errors import SchemaError
from bms.features.resample import equipment_frame


def long_frame() -> pd.DataFrame:
    t = pd.Timestamp("2026-01-01T00:00:00Z")
    rows = [
        (t, "s/b/ahu-1/sat", 15.0),
        (t + pd.Timedelta("2min"), "s/b/ahu-1/sat", 17.0),
        (t + pd.Timedelta("5min"), "s/b/ahu-1/sat", 18.0),
        (t + pd.Timedelta("31min"), "s/b/ahu-1/sat", 20.0),
        (t + pd.Timedelta("1min"), "s/b/ahu-1/fan_status", 1.0),
        (t, "s/b/ahu-10/sat", 99.0),  # another unit whose id shares the prefix text
    ]
    return pd.DataFrame(rows, columns=["time", "point", "value"])


def test_points_are_averaged_per_step_and_short_gaps_forward_filled() -> None:
    eq = equipment_frame(long_frame(), "s/b/ahu-1", "5min", fill_limit_steps=2)
    assert list(eq.values.columns) == ["fan_status", "sat"]
    assert eq.values.index.tz is not None and str(eq.values.index.tz) == "UTC"
    assert eq.values.index.freq == pd.Timedelta("5min")
    sat = eq.values["sat"]
    assert sat.iloc[0] == 16.0  # mean of 15 and 17
    assert sat.iloc[1] == 18.0
    assert sat.iloc[2:4].tolist() == [18.0, 18.0]  # filled 2 steps
    assert np.isnan(sat.iloc[4])
    assert sat.iloc[6] == 20.0
    assert eq.observed["sat"].tolist() == [True, True, False, False, False, False, True]


def test_an_equipment_without_points_is_an_error() -> None:
    with pytest.raises(SchemaError, match="no point of equipment 's/b/ahu-2'"):
        equipment_frame(long_frame(), "s/b/ahu-2")
    with pytest.raises(SchemaError, match="lacks column"):
        equipment_frame(long_frame().drop(columns="value"), "s/b/ahu-1")


@pytest.mark.parametrize(
    ("edit", "reason"),
    [
        (lambda f: f.assign(time=f["time"].dt.tz_localize(None)), "times without a zone"),
        (lambda f: f.assign(time=f["time"].astype(str)), r"not times: .*utc=True"),
        (
            lambda f: f.assign(value=f["value"].astype(object).where(f.index != 2, "err")),
            r"'value' of point 's/b/ahu-1/sat' at 2026-01-01 00:05:00\+00:00 is 'err'",
        ),
    ],
    ids=["naive times", "text times", "a word"],
)
def test_a_frame_off_the_canonical_contract_is_refused_in_one_line(edit, reason) -> None:
    # before: pandas' TypeError on naive times, "does not support operation 'mean'" on words
    with pytest.raises(SchemaError, match=reason):
        equipment_frame(edit(long_frame()), "s/b/ahu-1")


@pytest.mark.parametrize("step", ["abc", "0min", "-5min"])
def test_a_step_that_is_no_positive_duration_is_refused(step: str) -> None:
    with pytest.raises(SchemaError, match=f"step must be a positive duration .* got '{step}'"):
        equipment_frame(long_frame(), "s/b/ahu-1", step)


def test_numbers_written_as_text_are_read() -> None:
    as_text = long_frame().assign(value=lambda f: f["value"].astype(str))
    expected = equipment_frame(long_frame(), "s/b/ahu-1").values
    pd.testing.assert_frame_equal(equipment_frame(as_text, "s/b/ahu-1").values, expected)
