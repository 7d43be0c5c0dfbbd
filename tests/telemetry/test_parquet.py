"""The embedded Parquet store: round trip, idempotence, partition pruning, bad input."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from bms.errors import BmsError, SchemaError
from bms.telemetry.frame import empty_frame, validate_frame
from bms.telemetry.parquet import ParquetStore


def year_of(point: str, rng: np.random.Generator) -> pd.DataFrame:
    times = pd.date_range("2026-01-01", "2026-12-31 23:00", freq="h", tz="UTC")
    return pd.DataFrame({"time": times, "point": point, "value": rng.normal(size=len(times))})


def test_round_trip_returns_what_was_written(tmp_path: Path, rng):
    store = ParquetStore(tmp_path)
    data = pd.concat([year_of("s/b/ahu-1/sat", rng), year_of("s/b/ahu-1/rat", rng)])
    assert store.write(data) == len(data)
    back = store.read()
    expected = data.sort_values(["point", "time"]).reset_index(drop=True)
    pd.testing.assert_frame_equal(back, expected, check_dtype=False)
    assert str(back["time"].dtype) == "datetime64[ns, UTC]"


def test_writing_twice_stores_once_and_last_value_wins(tmp_path: Path, rng):
    store = ParquetStore(tmp_path)
    data = year_of("s/b/p/x", rng)
    store.write(data)
    store.write(data)
    changed = data.iloc[:10].assign(value=99.0)
    store.write(changed)
    back = store.read(["s/b/p/x"])
    assert len(back) == len(data)
    assert (back["value"].iloc[:10] == 99.0).all()


def test_reads_only_the_time_range_asked(tmp_path: Path, rng):
    store = ParquetStore(tmp_path)
    store.write(year_of("s/b/p/x", rng))
    part = store.read(["s/b/p/x"], "2026-03-10", "2026-03-11")
    assert len(part) == 24
    assert part["time"].min() == pd.Timestamp("2026-03-10", tz="UTC")


def test_one_point_over_a_year_opens_only_its_own_files(tmp_path: Path, rng, monkeypatch):
    store = ParquetStore(tmp_path)
    store.write(pd.concat([year_of(f"s/b/e/p{i}", rng) for i in range(5)]))
    opened = []
    import pyarrow.parquet as pq

    real = pq.read_table
    monkeypatch.setattr(
        pq, "read_table", lambda path, *a, **k: opened.append(path) or real(path, *a, **k)
    )
    store.read(["s/b/e/p3"], "2026-01-01", "2027-01-01")
    assert len(opened) == 12
    assert all("p3" in str(path) for path in opened)


def test_lists_points_with_their_extent(tmp_path: Path, rng):
    store = ParquetStore(tmp_path)
    store.write(year_of("s/b/e/a", rng))
    [extent] = store.points()
    assert extent.point == "s/b/e/a"
    assert extent.rows == 8760
    assert extent.start == pd.Timestamp("2026-01-01", tz="UTC")
    assert extent.end == pd.Timestamp("2026-12-31 23:00", tz="UTC")


def test_bad_rows_are_refused_and_nothing_is_written(tmp_path: Path):
    store = ParquetStore(tmp_path)
    bad = pd.DataFrame(
        {"time": pd.to_datetime(["2026-01-01", "2026-01-02"]), "point": ["a", "a"], "value": [1, 2]}
    )
    with pytest.raises(SchemaError, match="naive"):
        store.write(bad)
    assert store.points() == []


def test_reading_an_unknown_point_gives_an_empty_frame(tmp_path: Path):
    assert ParquetStore(tmp_path).read(["nope"]).empty


def test_read_gives_the_dtypes_validate_frame_gives(tmp_path: Path, rng):
    """Frames compare equal (dtypes included) whichever store or connector they came from."""
    store = ParquetStore(tmp_path)
    data = pd.concat([year_of("s/b/ahu-1/sat", rng), year_of("s/b/ahu-1/rat", rng)])
    store.write(data)
    back = store.read(start="2026-03-01", end="2026-04-01")
    window = data[(data["time"] >= "2026-03-01") & (data["time"] < "2026-04-01")]
    pd.testing.assert_frame_equal(back, validate_frame(window))  # check_dtype on
    assert back["point"].dtype == object
    pd.testing.assert_frame_equal(store.read(["nope"]), empty_frame())


def test_a_damaged_month_file_is_named_in_one_line(tmp_path: Path, rng):
    # a month file cut short (a full disk, a copy interrupted) stopped every later read and
    # write of the store with pyarrow's traceback
    store = ParquetStore(tmp_path)
    store.write(year_of("s/b/p/x", rng))
    damaged = tmp_path / "s%2Fb%2Fp%2Fx" / "2026-03.parquet"
    damaged.write_bytes(damaged.read_bytes()[:100])
    for action in (lambda: store.read(["s/b/p/x"]), store.points,
                   lambda: store.write(year_of("s/b/p/x", rng))):  # fmt: skip
        with pytest.raises(BmsError, match=r"2026-03.parquet is not a readable Parquet file"):
            action()
    assert len(store.read(["s/b/p/x"], start="2026-04-01")) > 0  # the other months still read
