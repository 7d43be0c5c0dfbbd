"""``bms detect`` on an air-handling unit's export: the G36 / APAR rules beside the detector."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from bms.evaluate.detect_rules import ahu_rule_flags, one_day_note
from tests.evaluate.test_detect_csv import run_cli

LABEL = "Fault Detection Ground Truth"


def _szcav_days(dataset, tmp_path: Path, train_day: str, test_day: str) -> list[str]:
    """The real LBNL SZCAV export cut by day as written; the ``bms detect`` arguments."""
    lines = (dataset("lbnl_ahu") / "SZCAV.csv").read_text().splitlines()
    by_day: dict[str, list[str]] = {}
    for row in lines[1:]:
        by_day.setdefault(row.split(" ", 1)[0], []).append(row)
    train_csv, test_csv, out = tmp_path / "tr.csv", tmp_path / "te.csv", tmp_path / "o.csv"
    train_csv.write_text("\n".join([lines[0], *by_day[train_day]]) + "\n")
    test_csv.write_text("\n".join([lines[0], *by_day[test_day]]) + "\n")
    return ["detect", "--train", str(train_csv), "--test", str(test_csv), "--out", str(out)]


def test_the_rules_find_a_heating_valve_the_learned_detector_cannot_judge(
    dataset, tmp_path, capsys
):
    # 3/24/2017: the heating valve is commanded 91 % open through the occupied hours and the
    # supply air stays 1 °F above the mixed air (a valve stuck shut). The one normal training
    # day (4/1) opened that valve beyond 30 % for half an hour only: the learned detector has
    # nothing to judge such rows by; G36 FC7 needs no training.
    args = [*_szcav_days(dataset, tmp_path, "4/1/2017", "3/24/2017"), "--ignore", LABEL]
    code, stdout, err = run_cli([*args, "--no-rules"], capsys)
    assert code == 0, err
    out = pd.read_csv(args[6])
    assert "rule" not in out and out["anomaly"].mean() < 0.05
    code, stdout, err = run_cli(args, capsys)
    assert code == 0, err
    assert "11 air-handling-unit points recognised by name (temperatures in °F" in err
    assert "AHU rules flagged" in stdout
    # the episode says which rule holds it, and the rule's point (the learned detector flagged
    # none of its rows): where to start the diagnosis
    assert re.search(r"mostly AHU: Supply Air Temperature; AHU rules in fault: .*FC7", stdout)
    out = pd.read_csv(args[6], keep_default_na=False)
    fc7 = out["rule"].str.contains("FC7")
    assert fc7.mean() > 0.3
    assert (out.loc[fc7, "anomaly"] == 1).all() and (out.loc[fc7, "score"] >= 0.5).all()
    rule_only = fc7 & (out["top_contributor"] == "AHU: Supply Air Temperature")
    assert rule_only.sum() > 0.3 * len(out)


def test_the_one_normal_day_raises_no_rule(dataset, tmp_path, capsys):
    args = [*_szcav_days(dataset, tmp_path, "4/1/2017", "4/1/2017"), "--ignore", LABEL]
    code, _, err = run_cli(args, capsys)
    assert code == 0, err
    out = pd.read_csv(args[6], keep_default_na=False)
    assert (out["rule"] == "").all()
    # one day, 4/1/2017: nothing in it tells the day from the month (the whole file does)
    assert (
        "time column 'Datetime': dates such as '4/1/2017' could put the day or the month "
        "first; read month first (01 April 2017)"
    ) in err


def test_a_damper_letting_in_outdoor_air_where_train_kept_it_shut_is_fc6(dataset, tmp_path, capsys):
    # 4/1/2017, the one normal day, holds the outdoor-air damper shut (0 %: a fraction of 0.01
    # from the temperatures) and at 15 % (0.27). On 3/19/2017 the damper is commanded shut
    # and the mixed air is a quarter outdoor air: the learned detector flags 1 % of the day
    # (benchmarks/bench_detect_cli_lbnl.py); FC6 judges the fraction against the one TRAIN
    # shows at that position
    args = [*_szcav_days(dataset, tmp_path, "4/1/2017", "3/19/2017"), "--ignore", LABEL]
    code, _, err = run_cli(args, capsys)
    assert code == 0, err
    assert (
        "AHU rule FC6 judges the outdoor-air fraction against what TRAIN shows at each damper "
        "position it holds (0.01 at 0 % open, 0.27 at 15 %)" in err
    )
    out = pd.read_csv(args[6], keep_default_na=False)
    assert out["rule"].str.contains("FC6").mean() > 0.3


def _written_on_change(wide_csv: Path) -> None:
    """Rewrite an LBNL day as a change-of-value trend log (a BACnet COV log, Home Assistant's
    history): one line per point and time, written only when the point's value changes."""
    wide = pd.read_csv(wide_csv).drop(columns=LABEL)
    lines = wide.melt(id_vars="Datetime", var_name="point", value_name="value")
    changed = lines.groupby("point", sort=False)["value"].transform(lambda v: v.ne(v.shift()))
    lines[changed].to_csv(wide_csv, index=False)


def test_a_change_of_value_log_is_judged_by_the_rules_as_its_wide_export(dataset, tmp_path, capsys):
    # the day of the first test above (a heating valve stuck shut: FC7), written on change:
    # the statuses, commands and set points are missing on most rows, each reading holding
    # until the next. The rules read them so, as the learned detector does; read as missing,
    # they judged no row (a rule skips a row without its points)
    args = [*_szcav_days(dataset, tmp_path, "4/1/2017", "3/24/2017"), "--ignore", LABEL]
    code, _, err = run_cli(args, capsys)
    assert code == 0, err
    wide_fc7 = pd.read_csv(args[6], keep_default_na=False)["rule"].str.contains("FC7").mean()
    for csv in (args[2], args[4]):
        _written_on_change(Path(csv))
    code, _, err = run_cli(args[:7], capsys)
    assert code == 0, err
    assert "as points written only when they change: each reading holds until the next" in err
    assert "'AHU: Supply Air Fan Status'" in err.split("written only when")[0]
    out = pd.read_csv(args[6], keep_default_na=False)
    assert wide_fc7 > 0.3
    assert out["rule"].str.contains("FC7").mean() > 0.8 * wide_fc7


def test_a_damper_leaking_while_train_was_recorded_is_pointed_out(dataset, tmp_path, capsys):
    # trained on 3/19/2017 itself (the damper shut, a quarter outdoor air): FC6 learns that as
    # this unit's normal, and a line says why it may not be
    args = [*_szcav_days(dataset, tmp_path, "3/19/2017", "4/1/2017"), "--ignore", LABEL]
    code, _, err = run_cli(args, capsys)
    assert code == 0, err
    assert (
        "TRAIN lets in an outdoor-air fraction of 0.28 with the damper commanded shut (0 %): a "
        "damper that leaks or does not close (a fault in TRAIN is learnt as normal)" in err
    )


def test_days_written_out_of_order_are_judged_as_in_order(dataset, tmp_path, capsys):
    # days gathered from a set or a dictionary come in any order; each backward step in time
    # starts a new stretch for the learned detector, and the rules' rolling 30-minute
    # confirmation (which needs times in order) runs per stretch too, so a shuffled TEST
    # gives the same flags, row for row (it used to fail with pandas' "index values must be
    # monotonic")
    days = ["3/23/2017", "3/24/2017", "3/11/2017"]
    lines = (dataset("lbnl_ahu") / "SZCAV.csv").read_text().splitlines()
    by_day: dict[str, list[str]] = {}
    for row in lines[1:]:
        by_day.setdefault(row.split(" ", 1)[0], []).append(row)
    flags = {}
    for name, order in (("sorted", sorted(days, key=pd.Timestamp)), ("shuffled", days)):
        train_csv, test_csv = tmp_path / "tr.csv", tmp_path / f"te-{name}.csv"
        train_csv.write_text("\n".join([lines[0], *by_day["4/1/2017"]]) + "\n")
        test_csv.write_text("\n".join([lines[0], *(r for d in order for r in by_day[d])]) + "\n")
        out = tmp_path / f"o-{name}.csv"
        args = ["detect", "--train", str(train_csv), "--test", str(test_csv), "--out", str(out)]
        code, _, err = run_cli([*args, "--ignore", LABEL], capsys)
        assert code == 0, err
        flags[name] = pd.read_csv(out, keep_default_na=False).set_index("time")["rule"]
    assert "time goes backwards at 1 row(s)" in err
    shuffled = flags["shuffled"].reindex(flags["sorted"].index)
    assert (shuffled == flags["sorted"]).all()
    assert flags["sorted"].str.contains("FC").mean() > 0.3


def _ahu(n_days: int, sat_offset_k: float) -> pd.DataFrame:
    """Minute data of an AHU cooling through office hours, in °C and %."""
    rng = np.random.default_rng(3)
    index = pd.date_range("2026-06-01", periods=n_days * 1440, freq="min")
    on = (index.hour >= 6) & (index.hour < 18)
    oat = 22.0 + 6.0 * np.sin(2 * np.pi * (index.hour - 9) / 24) + rng.normal(0, 0.2, len(index))
    rat = 24.0 + rng.normal(0, 0.2, len(index))
    mat = 0.8 * rat + 0.2 * oat
    return pd.DataFrame(
        {
            "time": index.astype(str),
            "Supply Air Temperature": np.where(on, 14.0 + sat_offset_k, mat)
            + rng.normal(0, 0.2, len(index)),
            "Supply Air Temperature Set Point": 14.0,
            "Mixed Air Temperature": mat,
            "Return Air Temperature": rat,
            "Outdoor Air Temperature": oat,
            "Supply Fan Status": on.astype(float),
            "Outdoor Air Damper": np.where(on, 20.0, 0.0),
            "Cooling Coil Valve": np.where(on, 40.0 + rng.normal(0, 2, len(index)), 0.0),
            "Heating Coil Valve": 0.0,
        }
    )


def _detect_ahu(
    tmp_path: Path, capsys, train: pd.DataFrame, test: pd.DataFrame, **to_csv: str
) -> tuple[pd.DataFrame, str]:
    """``bms detect`` on an AHU's TRAIN and TEST frames written as CSVs (``to_csv``: the
    separator and decimal mark, given to the command too); its OUT and what it said."""
    paths = [tmp_path / name for name in ("tr.csv", "te.csv", "o.csv")]
    train.to_csv(paths[0], index=False, **to_csv)
    test.to_csv(paths[1], index=False, **to_csv)
    args = ["detect", "--train", str(paths[0]), "--test", str(paths[1]), "--out", str(paths[2])]
    sep = ["--sep", to_csv["sep"]] if "sep" in to_csv else []
    code, _, err = run_cli([*args, *sep], capsys)
    assert code == 0, err
    return pd.read_csv(paths[2], keep_default_na=False), err


def test_a_rule_that_holds_on_train_is_left_out(tmp_path, capsys):
    # this unit runs 3 K above its supply set point all the time (a set point the controller
    # does not follow, say): TRAIN is normal operation, so APAR_SAT_CONTROL is not for it
    out, err = _detect_ahu(tmp_path, capsys, _ahu(3, 3.0), _ahu(2, 3.0))
    assert "AHU rule APAR_SAT_CONTROL holds on" in err and "left out" in err
    assert "of them on" not in err  # every day alike: no day to name
    assert not out["rule"].str.contains("APAR_SAT_CONTROL").any()


def test_a_rule_that_holds_on_one_training_day_names_it(dataset, tmp_path, capsys):
    # a faulted day slipped into TRAIN (3/24/2017: a heating valve stuck shut, FC7 holds
    # through its occupied hours): the rule is left out as for any rule TRAIN contradicts,
    # and the note names the day, so that the user can check it and take it out
    args = [*_szcav_days(dataset, tmp_path, "4/1/2017", "3/23/2017"), "--ignore", LABEL]
    lines = (dataset("lbnl_ahu") / "SZCAV.csv").read_text().splitlines()
    faulted_day = [row for row in lines[1:] if row.startswith("3/24/2017 ")]
    with Path(args[2]).open("a") as train_csv:
        train_csv.write("\n".join(faulted_day) + "\n")
    code, _, err = run_cli(args, capsys)
    assert code == 0, err
    note = next(line for line in err.splitlines() if line.startswith("AHU rule FC7 holds on"))
    assert re.search(r"left out, as TRAIN is normal operation; \d+% of them on 2017-03-24 \(", note)
    assert "take that day out of TRAIN and run again" in note


def test_a_day_is_named_for_a_fault_under_way_not_a_start_up():
    index = pd.date_range("2026-06-01", periods=3 * 1440, freq="min")
    start_up = pd.Series(False, index=index)
    start_up["2026-06-02 07:00":"2026-06-02 07:04"] = True  # 5 minutes: a start-up
    assert one_day_note(start_up) == ""
    under_way = pd.Series(False, index=index)
    under_way["2026-06-02 07:00":"2026-06-02 08:29"] = True  # 90 minutes on one day of three
    assert one_day_note(under_way).startswith("; 100% of them on 2026-06-02 (07:00 to 08:29)")
    every_morning = pd.Series(index.hour == 7, index=index)  # each day alike: a misfit rule
    assert one_day_note(every_morning) == ""
    assert one_day_note(every_morning[:1440]) == ""  # TRAIN of one day: no day to name


def _timed(frame: pd.DataFrame) -> pd.DataFrame:
    """The readings indexed by their times, as ``bms detect`` passes them."""
    return frame.drop(columns="time").set_axis(pd.DatetimeIndex(frame["time"], tz="UTC"))


def test_rules_need_names_and_times():
    healthy = _ahu(2, 0.0)
    x = healthy.drop(columns="time")  # rows numbered, not timed
    sat_only = x[["Supply Air Temperature"]]
    assert ahu_rule_flags(sat_only, sat_only) is None
    found = ahu_rule_flags(x, x)
    assert found is not None and not found.flags.any()
    assert "need a time column" in found.notes[0]
    found = ahu_rule_flags(_timed(healthy), _timed(healthy))
    assert found is not None and "APAR_SAT_CONTROL" in found.applied
    assert not found.flags.any()


@pytest.mark.parametrize("offset_k", [-4.0, 4.0])
def test_a_supply_temperature_off_its_set_point_is_a_rule_fault(offset_k):
    train, test = _ahu(2, 0.0), _ahu(1, offset_k)
    found = ahu_rule_flags(_timed(train), _timed(test))
    assert found is not None
    office = pd.to_datetime(test["time"]).dt.hour.between(7, 17).to_numpy()
    assert found.flags[office].mean() > 0.8
    assert set(found.columns[found.flags]) == {"Supply Air Temperature"}


#: The points of ``_ahu`` as a French BMS names them.
FRENCH_POINTS = {
    "Supply Air Temperature": "Température air soufflé",
    "Supply Air Temperature Set Point": "Consigne soufflage",
    "Mixed Air Temperature": "Température air mélangé",
    "Return Air Temperature": "Température reprise",
    "Outdoor Air Temperature": "Température extérieure",
    "Supply Fan Status": "État ventilateur soufflage",
    "Outdoor Air Damper": "Registre air neuf",
    "Cooling Coil Valve": "Vanne batterie froide",
    "Heating Coil Valve": "Vanne batterie chaude",
}


def test_a_french_export_of_an_ahu_gets_the_rules(tmp_path, capsys):
    french = {
        **FRENCH_POINTS,
        "time": "Horodatage",
        "Supply Air Temperature": "Température air soufflé (°C)",  # a unit written in the name
    }
    train, test = _ahu(2, 0.0).rename(columns=french), _ahu(1, 4.0).rename(columns=french)
    out, err = _detect_ahu(tmp_path, capsys, train, test, sep=";", decimal=",")
    assert "9 air-handling-unit points recognised by name" in err
    office = pd.to_datetime(out["time"]).dt.hour.between(7, 17)
    assert out.loc[office, "rule"].str.contains("APAR_SAT_CONTROL").mean() > 0.8


def _written_with_offsets(frame: pd.DataFrame, start: str, zone: str) -> pd.DataFrame:
    """``frame``'s minutes from ``start`` (UTC), written on ``zone``'s clock with its offset."""
    utc = pd.date_range(start, periods=len(frame), freq="min", tz="UTC")
    return frame.assign(time=utc.tz_convert(zone).strftime("%Y-%m-%dT%H:%M%z"))


@pytest.mark.parametrize("train_written", ["with offsets", "in UTC"])
def test_times_with_offsets_across_the_autumn_change_get_the_rules(tmp_path, capsys, train_written):
    # on the wall clock, 02:00-02:59 comes twice on 2026-10-25 in Paris: the rules' 30-minute
    # confirmation crashed on the repeated hour ("index values must be monotonic"), and a
    # TRAIN exported in UTC beside a TEST with offsets stopped the rules with an error
    train = _written_with_offsets(_ahu(3, 0.0), "2026-10-20", "Europe/Paris")
    if train_written == "in UTC":
        train["time"] = pd.date_range("2026-10-20", periods=len(train), freq="min").strftime(
            "%Y-%m-%dT%H:%M:%SZ"
        )
    test = _written_with_offsets(_ahu(2, 4.0), "2026-10-24T12:00", "Europe/Paris")
    out, _ = _detect_ahu(tmp_path, capsys, train, test)
    assert (out["time"] == test["time"]).all()
    assert out["rule"].str.contains("APAR_SAT_CONTROL").mean() > 0.3


def test_a_wall_clock_without_offsets_is_judged_as_with_them_across_the_autumn_change(
    tmp_path, capsys
):
    # sorted, the repeated hour's two runs of readings were interleaved minute by minute: the
    # fan status flipped every minute and the hour was flagged
    outs = {}
    for written in ("with offsets", "without"):
        train = _written_with_offsets(_ahu(3, 0.0), "2026-10-20", "Europe/Paris")
        test = _written_with_offsets(_ahu(2, 0.0), "2026-10-24T12:00", "Europe/Paris")
        test.loc[720:779, "Supply Fan Status"] = 0.0  # the fan stops in the first 02:00 hour
        if written == "without":
            train["time"], test["time"] = train["time"].str[:16], test["time"].str[:16]
        outs[written], err = _detect_ahu(tmp_path, capsys, train, test)
    assert "the clock goes back an hour at data row" in err
    columns = ["score", "anomaly", "top_contributor", "rule"]
    pd.testing.assert_frame_equal(outs["without"][columns], outs["with offsets"][columns])


def test_a_short_test_is_said_and_keeps_the_rule_column(tmp_path, capsys):
    # five rows of an AHU: the rules cannot confirm anything in five minutes, and OUT lost its
    # 'rule' column, so its columns changed with TEST's length
    out, err = _detect_ahu(tmp_path, capsys, _ahu(3, 0.0), _ahu(1, 4.0).iloc[600:605])
    assert "5 row(s) to judge, fewer than the detector's smoothing window (30 rows)" in err
    assert list(out.columns) == ["time", "score", "anomaly", "top_contributor", "rule"]


@pytest.mark.parametrize("written", ["with offsets", "without"])
def test_spring_s_skipped_hour_is_no_gap(tmp_path, capsys, written):
    # 01:59 then 03:00 on 2026-03-29 in Paris: read as a gap, the features restarted at 03:00
    # and the first minutes after it were judged on part of a window
    train = _written_with_offsets(_ahu(3, 0.0), "2026-03-24", "Europe/Paris")
    test = _written_with_offsets(_ahu(1, 4.0), "2026-03-28T12:00", "Europe/Paris")
    reference = test.assign(
        time=pd.date_range("2026-03-28T12:00", periods=len(test), freq="min").strftime(
            "%Y-%m-%dT%H:%M:%SZ"
        )
    )
    if written == "without":
        train["time"], test["time"] = train["time"].str[:16], test["time"].str[:16]
    out, _ = _detect_ahu(tmp_path, capsys, train, test)
    (tmp_path / "utc").mkdir()
    utc_train = train.assign(
        time=pd.date_range("2026-03-24", periods=len(train), freq="min").strftime(
            "%Y-%m-%dT%H:%M:%SZ"
        )
    )
    expected, _ = _detect_ahu(tmp_path / "utc", capsys, utc_train, reference)
    columns = ["score", "anomaly", "rule"]
    pd.testing.assert_frame_equal(out[columns], expected[columns])


def _two_units(n_days: int, second_offset_k: float, name: str) -> pd.DataFrame:
    """A plant's export with two AHUs side by side, their columns named by ``name`` (a format
    of the point and the unit number); the second unit's supply air ``second_offset_k`` off."""
    one, two = _ahu(n_days, 0.0), _ahu(n_days, second_offset_k)
    points = [c for c in one.columns if c != "time"]
    return pd.concat(
        [
            one[["time"]],
            one[points].rename(columns=lambda p: name.format(point=p, unit=1)),
            two[points].rename(columns=lambda p: name.format(point=p, unit=2)),
        ],
        axis=1,
    )


def test_each_unit_of_a_plant_export_gets_its_own_rules(tmp_path, capsys):
    train, test = (
        _two_units(2, 0.0, "AHU-{unit}: {point}"),
        _two_units(1, 4.0, "AHU-{unit}: {point}"),
    )
    out, err = _detect_ahu(tmp_path, capsys, train, test)
    assert "AHU-1: " in err and "AHU-2: " in err  # each unit's points recognised, and said
    assert "named by more than one column" not in err
    faults = out["rule"][out["rule"] != ""]
    assert faults.str.contains("AHU-2 APAR_SAT_CONTROL").mean() > 0.9  # the unit 4 K off
    assert not faults.str.contains("AHU-1").any()


def test_each_unit_of_a_french_plant_export_gets_its_own_rules(tmp_path, capsys):
    # "CTA-1 : Température air soufflé": CTA, "centrale de traitement d'air", is an AHU
    name = "CTA-{unit} : {point}"
    train, test = _two_units(2, 0.0, name), _two_units(1, 4.0, name)
    for frame in (train, test):  # "CTA-1 : Supply Air Temperature" -> "... Température ..."
        frame.columns = [
            next((c.replace(en, fr) for en, fr in FRENCH_POINTS.items() if c.endswith(en)), c)
            for c in frame.columns
        ]
    out, err = _detect_ahu(tmp_path, capsys, train, test)
    assert "CTA-1: 9 air-handling-unit points recognised" in err
    assert "CTA-2: 9 air-handling-unit points recognised" in err
    faults = out["rule"][out["rule"] != ""]
    assert faults.str.contains("CTA-2 APAR_SAT_CONTROL").mean() > 0.9  # the unit 4 K off
    assert not faults.str.contains("CTA-1").any()


@pytest.mark.parametrize("name", ["{point} (AHU-{unit})", "{point}_AHU{unit}"])
def test_a_numbered_unit_after_the_point_tells_the_units_apart_too(tmp_path, capsys, name):
    train, test = _two_units(2, 0.0, name), _two_units(1, 4.0, name)
    out, err = _detect_ahu(tmp_path, capsys, train, test)
    assert "named by more than one column" not in err
    unit = name.format(point="", unit=2).strip(" _()")  # AHU-2, AHU2
    faults = out["rule"][out["rule"] != ""]
    assert faults.str.contains(f"{unit} APAR_SAT_CONTROL").mean() > 0.9  # the unit 4 K off


def test_two_units_no_name_tells_apart_are_said_not_guessed_between(tmp_path, capsys):
    name = "{point} (wing {unit})"  # a bracket read as a physical unit, dropped: no AHU named
    out, err = _detect_ahu(tmp_path, capsys, _two_units(2, 0.0, name), _two_units(1, 1.0, name))
    assert "air-handling-unit points named by more than one column each" in err
    assert "('Supply Air Temperature (wing 1)', 'Supply Air Temperature (wing 2)')" in err
    assert "run bms detect once per unit" in err
    assert "rule" not in out.columns  # no unit to judge: neither rules nor the alarm hold


def test_a_temperature_named_in_the_other_unit_is_said(tmp_path, capsys):
    # the values decide the unit (°C here); a name that says °F is a mislabelled export
    named = {"Return Air Temperature": "Return Air Temperature (°F)"}
    train, test = _ahu(3, 0.0).rename(columns=named), _ahu(1, 0.0).rename(columns=named)
    _, err = _detect_ahu(tmp_path, capsys, train, test)
    assert (
        "'Return Air Temperature (°F)': the name says another unit than the air temperatures' "
        "values, which read as °C and are taken so; check the export"
    ) in err
