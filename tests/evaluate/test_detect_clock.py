"""``bms detect`` reads the time of day on the site's clock, across daylight-saving changes."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from bms.evaluate.detect_clock import (
    fold_spring_change,
    site_clock,
    unfold_clock_change,
    with_numeric_offsets,
)
from bms.evaluate.detect_times import parse_times
from tests.evaluate.test_detect_csv import detect_args, run_cli


@pytest.mark.parametrize(
    ("cells", "timezone", "hours", "utc_clock"),
    [
        # offsets that change with daylight saving: the wall clock as written
        (["2026-03-28T12:00:00+01:00", "2026-03-29T12:00:00+02:00"], None, [12, 12], False),
        (["2026-03-28 12:00:30.5 +0100", "2026-03-29 12:00:30.5 +0200"], None, [12, 12], False),
        # UTC cells: UTC, unless the site's zone is given
        (["2026-03-28T11:00:00Z", "2026-03-29T10:00:00Z"], None, [11, 10], True),
        (["2026-03-28T11:00:00Z", "2026-03-29T10:00:00Z"], "Europe/Paris", [12, 12], False),
        ([1_774_695_600, 1_774_778_400], "Europe/Paris", [12, 12], False),  # Unix times
        ([1_774_695_600, 1_774_778_400], None, [11, 10], True),
        # naive cells and spreadsheet dates are the site's clock already, whatever the zone
        (["2026-03-28 12:00", "2026-03-29 12:00"], "Europe/Paris", [12, 12], False),
        ([46_109.5, 46_110.5], "Europe/Paris", [12, 12], False),
        ([46_109.5, 46_110.5], None, [12, 12], False),
    ],
)
def test_the_time_of_day_is_the_sites(cells, timezone, hours, utc_clock):
    values = pd.Series(cells)
    clock, on_utc = site_clock(values, parse_times(values), timezone)
    assert clock.hour.tolist() == hours
    assert on_utc is utc_clock


def office(rng: np.random.Generator) -> pd.DataFrame:
    """A room heated 07:00-19:00 and occupied 08:00-18:00 local time, 5-minute rows, three
    weeks either side of the change to summer time (2026-03-29, Europe/Paris)."""
    local = pd.date_range("2026-03-10", "2026-04-06", freq="5min", tz="Europe/Paris")
    hours = (local.hour + local.minute / 60).to_numpy()
    set_point = np.where((hours >= 7) & (hours < 19), 21.0, 17.0)
    temp = np.empty(len(local))
    temp[0] = 17.0
    for i in range(1, len(local)):  # the room follows its set point within the hour
        temp[i] = temp[i - 1] + (set_point[i] - temp[i - 1]) / 12
    return pd.DataFrame(
        {
            "temp": temp + rng.normal(0, 0.2, len(local)),
            "co2": 420 + 500 * ((hours >= 8) & (hours < 18)) + rng.normal(0, 30, len(local)),
        },
        index=local,
    )


def office_csvs(tmp_path, rng: np.random.Generator, written: str) -> list[str]:
    """``bms detect`` arguments for the office, trained before the change and tested after it,
    times written with ``written`` (a strftime format; ending in ``Z``: UTC)."""
    frame = office(rng)
    times = frame.index.tz_convert("UTC") if written.endswith("Z") else frame.index
    table = frame.assign(time=times.strftime(written))[["time", "temp", "co2"]]
    before, after = frame.index < "2026-03-24", frame.index >= "2026-03-30"  # the change: 29th
    return detect_args(tmp_path, table[before], table[after])


@pytest.mark.parametrize(
    ("written", "timezone", "flagged_at_most", "note"),
    [
        ("%Y-%m-%dT%H:%M:%SZ", None, 1.0, True),  # UTC: an hour off after the change
        ("%Y-%m-%dT%H:%M:%SZ", "Europe/Paris", 0.02, False),
        ("%Y-%m-%dT%H:%M:%S%z", None, 0.02, False),  # offsets: the wall clock
    ],
)
def test_a_schedule_is_judged_on_the_local_clock_across_a_daylight_saving_change(
    tmp_path, rng, capsys, written, timezone, flagged_at_most, note
):
    args = office_csvs(tmp_path, rng, written)
    code, stdout, err = run_cli([*args, *(["--timezone", timezone] if timezone else [])], capsys)
    assert code == 0, err
    assert "follow the time of day in TRAIN" in stdout
    assert pd.read_csv(args[-1])["anomaly"].mean() <= flagged_at_most
    assert ("give --timezone" in err) is note


def test_the_time_zone_may_come_from_the_environment(tmp_path, rng, capsys, monkeypatch):
    args = office_csvs(tmp_path, rng, "%Y-%m-%dT%H:%M:%SZ")
    monkeypatch.setenv("BMS_TIMEZONE", "Europe/Paris")  # set once for a site's deployment
    code, _, err = run_cli(args, capsys)
    assert code == 0, err
    assert "give --timezone" not in err
    assert pd.read_csv(args[-1])["anomaly"].mean() <= 0.02


def test_an_unknown_time_zone_is_a_one_line_error(tmp_path, rng, capsys):
    frame = office(rng).iloc[:500]
    frame.to_csv(tmp_path / "tr.csv")
    args = ["detect", "--train", str(tmp_path / "tr.csv"), "--test", str(tmp_path / "tr.csv")]
    code, _, err = run_cli([*args, "--out", str(tmp_path / "o.csv"), "--timezone", "Paris"], capsys)
    assert code == 2
    assert err.count("\n") == 1 and "unknown time zone 'Paris'" in err


def _wall_clock(start_utc: str, periods: int, freq: str = "min") -> pd.DatetimeIndex:
    """Paris wall-clock times written without offsets, read as ``bms detect`` reads them."""
    utc = pd.date_range(start_utc, periods=periods, freq=freq, tz="UTC")
    return pd.DatetimeIndex(utc.tz_convert("Europe/Paris").tz_localize(None)).tz_localize("UTC")


@pytest.mark.parametrize("freq", ["min", "15min"])
def test_autumn_s_repeated_hour_is_unfolded_in_the_file_s_order(freq):
    wall = _wall_clock("2026-10-24T22:00", 24 * 60 // (1 if freq == "min" else 15), freq)
    unfolded = unfold_clock_change(wall)
    assert unfolded is not None
    times, first = unfolded
    assert (np.diff(times.asi8) > 0).all()
    assert str(wall[first - 1].time()) in ("02:59:00", "02:45:00")
    assert str(wall[first].time()) == "02:00:00"
    # an hour added from the change on: the times run as UTC's do, shifted by the offset
    utc = pd.date_range("2026-10-24T22:00", periods=len(wall), freq=freq, tz="UTC")
    assert (times - utc).unique().tolist() == [pd.Timedelta(hours=2)]


@pytest.mark.parametrize(
    "edit",
    [
        lambda t: t[::-1],  # newest first
        lambda t: t.insert(100, t[99] - pd.Timedelta(seconds=10)),  # one late row
        lambda t: t[:600].append(t[540:]),  # 09:00-09:59 again after 09:59
    ],
    ids=["newest first", "a late row", "an hour repeated at 10:00"],
)
def test_other_steps_back_are_not_a_clock_change(edit):
    in_order = pd.date_range("2026-10-24", periods=1440, freq="min", tz="UTC")
    assert unfold_clock_change(edit(in_order)) is None


def test_niagara_s_zone_abbreviations_are_read_on_the_wall_clock(tmp_path, rng, capsys):
    # Tridium Niagara writes '08-Feb-20 1:30:47 PM CET': such a column was not read as times
    utc = pd.date_range("2020-10-20", periods=8 * 1440, freq="min", tz="UTC")
    paris = utc.tz_convert("Europe/Paris")
    cells = paris.strftime("%d-%b-%y %I:%M:%S %p ") + np.where(
        paris.strftime("%z") == "+0100", "CET", "CEST"
    )
    frame = pd.DataFrame({"timestamp": cells, "flow": rng.normal(30, 1, len(utc))})
    args = detect_args(tmp_path, frame.iloc[: 5 * 1440], frame.iloc[5 * 1440 :])
    code, _, err = run_cli(args, capsys)
    assert code == 0, err
    assert "read without times" not in err and "not dates" not in err
    out = pd.read_csv(args[-1])
    assert (out["time"] == frame["timestamp"].iloc[5 * 1440 :].to_numpy()).all()
    times = parse_times(with_numeric_offsets(frame["timestamp"]))
    assert times is not None and (times == utc).all()
    wall, utc_clock = site_clock(with_numeric_offsets(frame["timestamp"]), times, None)
    assert not utc_clock and (wall.hour == paris.hour).all()


def test_spring_s_skipped_hour_is_folded_away():
    wall = _wall_clock("2026-03-28T22:00", 8 * 60)  # 01:59 then 03:00 on the 29th
    folded = fold_spring_change(wall)
    steps = np.diff(folded.asi8)
    assert (steps == steps[0]).all()  # one step all through
    in_order = pd.date_range("2026-03-28", periods=1440, freq="min", tz="UTC")
    assert (fold_spring_change(in_order) == in_order).all()  # nothing to fold
    gap_at_noon = in_order.delete(range(720, 780))  # an hour of readings missing at noon
    assert (fold_spring_change(gap_at_noon) == gap_at_noon).all()


def test_spring_s_skipped_hour_is_folded_in_time_order_whatever_the_file_s_order():
    wall = _wall_clock("2026-03-28T22:00", 8 * 60)
    shuffled = np.random.default_rng(0).permutation(len(wall))
    folded = fold_spring_change(wall[shuffled])
    # before, steps between unrelated rows of the shuffled file were read as changes
    assert (folded == fold_spring_change(wall)[shuffled]).all()
    newest_first = fold_spring_change(wall[::-1])
    assert (newest_first == fold_spring_change(wall)[::-1]).all()


@pytest.mark.parametrize(
    ("start", "nights"),
    [("2026-03-25", 1), ("2026-03-22", 14)],  # a Wednesday; every night for two weeks
    ids=["one weekday night", "every night"],
)
def test_an_hour_missing_at_night_is_a_gap_not_a_clock_change(start, nights):
    # a nightly backup at 02:00 leaves a gap; folded away, it moved every later row an hour
    in_order = pd.date_range(start, periods=nights * 1440, freq="min", tz="UTC")
    gaps = (in_order.hour == 2) & (in_order.day < in_order[0].day + nights)
    assert (fold_spring_change(in_order[~gaps]) == in_order[~gaps]).all()


def test_rows_in_any_order_are_judged_as_in_time_order(tmp_path, rng, capsys):
    # minute rows over days, shuffled: bms detect refused its own sorted rows with a traceback
    frame = office(rng).iloc[: 8 * 288].tz_localize(None).rename_axis("time").reset_index()
    frame["time"] = frame["time"].dt.strftime("%Y-%m-%d %H:%M")
    train, test = frame.iloc[: 5 * 288], frame.iloc[5 * 288 :]
    args = detect_args(tmp_path, train, test)
    code, _, err = run_cli(args, capsys)
    assert code == 0, err
    in_order = pd.read_csv(args[-1])
    (tmp_path / "shuffled").mkdir()
    order = rng.permutation(len(test))
    shuffled_train = train.sample(frac=1, random_state=1)
    args = detect_args(tmp_path / "shuffled", shuffled_train, test.iloc[order])
    code, _, err = run_cli(args, capsys)
    assert code == 0, err
    assert "the rows are read in time order; OUT keeps its row order" in err
    shuffled = pd.read_csv(args[-1])
    pd.testing.assert_frame_equal(shuffled, in_order.iloc[order].reset_index(drop=True))
