"""The canonical telemetry frame: what validate_frame accepts, repairs and refuses."""

import pandas as pd
import pytest

from bms.errors import SchemaError
from bms.telemetry.frame import from_wide, to_wide, validate_frame


def frame(times, points, values) -> pd.DataFrame:
    return pd.DataFrame({"time": times, "point": points, "value": values})


def test_sorts_by_point_then_time_and_converts_to_utc():
    raw = frame(
        pd.to_datetime(["2026-01-01 02:00", "2026-01-01 01:00", "2026-01-01 01:00"]).tz_localize(
            "Europe/Paris"
        ),
        ["s/b/e/b", "s/b/e/b", "s/b/e/a"],
        [2.0, 1.0, 3.0],
    )
    clean = validate_frame(raw)
    assert list(clean["point"]) == ["s/b/e/a", "s/b/e/b", "s/b/e/b"]
    assert str(clean["time"].dtype) == "datetime64[ns, UTC]"
    assert clean["time"].iloc[0] == pd.Timestamp("2026-01-01 00:00", tz="UTC")
    assert clean["value"].dtype == "float64"


def test_duplicates_keep_the_last_write():
    t = pd.Timestamp("2026-03-01", tz="UTC")
    clean = validate_frame(frame([t, t], ["p", "p"], [1.0, 5.0]))
    assert clean["value"].tolist() == [5.0]


def test_booleans_become_zero_one_floats():
    t = pd.date_range("2026-03-01", periods=2, freq="h", tz="UTC")
    clean = validate_frame(frame(t, ["p", "p"], [True, False]))
    assert clean["value"].tolist() == [1.0, 0.0]


def test_naive_timestamps_are_refused_naming_the_column():
    with pytest.raises(SchemaError, match="column 'time' has naive timestamps"):
        validate_frame(frame(pd.to_datetime(["2026-01-01"]), ["p"], [1.0]))


def test_naive_iso_strings_are_refused_naming_the_rows():
    raw = frame(["2026-01-01T00:00:00Z", "2026-01-01T01:00:00"], ["p", "p"], [1.0, 2.0])
    with pytest.raises(SchemaError, match="naive timestamps .* at row 1"):
        validate_frame(raw)


def test_non_numeric_values_are_refused_naming_the_rows():
    t = pd.date_range("2026-03-01", periods=3, freq="h", tz="UTC")
    with pytest.raises(SchemaError, match=r"column 'value'.* at rows 1, 2"):
        validate_frame(frame(t, ["p"] * 3, [1.0, "hot", float("inf")]))


def test_empty_point_ids_are_refused():
    t = pd.date_range("2026-03-01", periods=2, freq="h", tz="UTC")
    with pytest.raises(SchemaError, match="column 'point': missing or empty point id at row 0"):
        validate_frame(frame(t, ["", "p"], [1.0, 2.0]))


def test_unknown_points_are_refused_when_the_site_is_given():
    t = pd.date_range("2026-03-01", periods=1, freq="h", tz="UTC")
    with pytest.raises(SchemaError, match="unknown point 'x/y'"):
        validate_frame(frame(t, ["x/y"], [1.0]), known_points={"a/b"})


def test_missing_column_is_named():
    with pytest.raises(SchemaError, match="lacks column.* value"):
        validate_frame(pd.DataFrame({"time": [], "point": []}))


def test_wide_round_trip():
    t = pd.date_range("2026-03-01", periods=3, freq="5min", tz="UTC")
    long = validate_frame(frame(list(t) * 2, ["a"] * 3 + ["b"] * 3, range(6)))
    wide = to_wide(long)
    assert list(wide.columns) == ["a", "b"]
    pd.testing.assert_frame_equal(from_wide(wide), long)


def test_bad_point_ids_are_named_by_row_whatever_their_kind():
    t = pd.date_range("2026-03-01", periods=6, freq="h", tz="UTC")
    raw = frame(t, ["p", None, "p", "  ", 7, float("nan")], [1.0] * 6)
    with pytest.raises(SchemaError, match="missing or empty point id at rows 1, 3, 4, 5$"):
        validate_frame(raw)


def test_unknown_points_name_the_first_and_all_their_rows():
    t = pd.date_range("2026-03-01", periods=4, freq="h", tz="UTC")
    raw = frame(t, ["a/b", "x/z", "a/b", "x/y"], [1.0] * 4)
    with pytest.raises(SchemaError, match=r"unknown point 'x/z' at rows 1, 3$"):
        validate_frame(raw, known_points={"a/b"})


def test_shuffled_rows_with_repeats_sort_and_keep_the_last_write():
    t = pd.Timestamp("2026-03-01", tz="UTC")
    h = pd.Timedelta(hours=1)
    raw = frame(
        [t + h, t, t + h, t, t + h, t],
        pd.Series(["b", "b", "a", "a", "b", "a"], dtype="str"),  # pandas' string dtype in
        [1.0, 2.0, 3.0, 4.0, 5.0, 6.0],
    )
    clean = validate_frame(raw)
    assert clean["point"].tolist() == ["a", "a", "b", "b"]
    assert clean["time"].tolist() == [t, t + h, t, t + h]
    assert clean["value"].tolist() == [6.0, 3.0, 2.0, 5.0]
    assert clean["point"].dtype == object  # the canonical dtype, whatever came in


def test_the_result_is_a_new_frame_even_when_the_input_was_canonical():
    t = pd.date_range("2026-03-01", periods=3, freq="h", tz="UTC").as_unit("ns")
    raw = frame(t, ["p"] * 3, [1.0, 2.0, 3.0])
    clean = validate_frame(raw)
    raw.loc[0, "value"] = 99.0
    raw.loc[0, "time"] = pd.Timestamp("2020-01-01", tz="UTC")
    assert clean["value"].tolist() == [1.0, 2.0, 3.0] and clean["time"].iloc[0] == t[0]
