"""`bms detect --unit-column` on a fleet file: the LBNL AHUs stacked, scored outside the product.

MZVAV-2-2 and SZCAV, each split as in ``bench_detect_cli_lbnl.py`` (the ``within`` protocol:
fault-free days alternately to TRAIN and TEST, faulted days to TEST), are stacked in one TRAIN
and one TEST file with a column ``ahu`` naming the unit, as a fleet's export stacks its
machines (the two units' columns differ: each file leaves the other's points empty). Three
runs of ``bms detect`` as a user runs it (a subprocess, CSV in, CSV out):

* ``--unit-column ahu``: each unit judged by a detector fitted on its own TRAIN rows;
* one stream (``--ignore ahu``): the file judged as one machine, the baseline a user without
  the option gets;
* each unit in a file of its own: what ``--unit-column`` must reproduce.

Printed per unit: row F1, FAR [% of normal test rows flagged] and MAR [%] against the files'
day labels, whether the fleet run's flags equal the unit's own run, and each run's wall time.
Then a plant's export, the other way a BMS writes several units: MZVAV-2-2's ``within`` split
side by side with itself shifted by one test day (``AHU-1: ...``, ``AHU-2: ...`` columns; most
faulted days pair with faulted days, five normal days with normal days), a row faulted when
either unit is; one ``bms detect`` run (the rules run per unit; no alarm hold, which needs one
unit's fan). Then the cost of many units: a synthetic fleet of 200 pumps (a day of minutes
each to train, one to score, 4 signals), the whole command with ``--unit-column`` against one
stream in the same run, in TEST rows per second (median of 3).

    .venv/bin/python benchmarks/bench_detect_units.py [--datasets DIR]
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from bench_detect_cli_lbnl import row_figures
from lbnl_data import lbnl_folder

from bms.evaluate.lbnl import LABEL, read_lbnl, signal_columns, within_training_rows

UNITS = ("MZVAV-2-2", "SZCAV")
UNIT_COLUMN = "ahu"
#: The synthetic fleet of the speed figure: pumps, minutes per day.
FLEET_PUMPS = 200
MINUTES = 1440


def pump_day(rng: np.random.Generator, day: str, flow_m3h: float) -> pd.DataFrame:
    """A pump's day of minutes: flow around ``flow_m3h``, pressure, power and a bearing
    temperature following it."""
    slow = pd.Series(rng.normal(0, 1, MINUTES + 500)).ewm(alpha=0.05).mean().to_numpy()[500:]
    flow = flow_m3h + slow
    noise = rng.normal(0, 0.05, (MINUTES, 4))
    return pd.DataFrame(
        {
            "time": pd.date_range(day, periods=MINUTES, freq="min").astype(str),
            "flow_m3h": flow + noise[:, 0],
            "pressure_bar": 0.1 * flow + noise[:, 1],
            "power_kw": 0.3 * flow + noise[:, 2],
            "bearing_c": 40 + 0.2 * flow + noise[:, 3],
        }
    )


def fleet_speed(folder: Path) -> None:
    """TEST rows per second of ``--unit-column`` and of one stream on a synthetic fleet."""
    rng = np.random.default_rng(0)
    duties = rng.uniform(20, 60, FLEET_PUMPS)
    for name, day in (("train", "2026-03-02"), ("test", "2026-03-03")):
        frames = [pump_day(rng, day, d).assign(pump=f"P{i:03d}") for i, d in enumerate(duties)]
        pd.concat(frames).to_csv(folder / f"pumps_{name}.csv", index=False)
    paths = folder / "pumps_train.csv", folder / "pumps_test.csv", folder / "pumps_out.csv"
    rows = FLEET_PUMPS * MINUTES
    per_unit = np.median([run_bms(*paths, "--unit-column", "pump") for _ in range(3)])
    one_stream = np.median([run_bms(*paths, "--ignore", "pump") for _ in range(3)])
    print(
        f"{FLEET_PUMPS} pumps x {MINUTES:,} TEST rows, whole CLI (median of 3): --unit-column "
        f"{rows / per_unit:,.0f} rows/s ({per_unit:.1f} s), one stream {rows / one_stream:,.0f} "
        f"rows/s ({one_stream:.1f} s)"
    )


def fleet_files(datasets: Path, folder: Path) -> tuple[Path, Path, pd.DataFrame]:
    """Stacked TRAIN and TEST CSVs in ``folder``, and TEST's unit and label per row."""
    trains, tests = [], []
    for unit in UNITS:
        frame = read_lbnl(datasets / f"{unit}.csv")
        in_train = within_training_rows(frame)
        signals = signal_columns(frame)
        trains.append(frame.loc[in_train, signals].assign(**{UNIT_COLUMN: unit}))
        tests.append(frame.loc[~in_train, [*signals, LABEL]].assign(**{UNIT_COLUMN: unit}))
    train, test = pd.concat(trains), pd.concat(tests)
    train_csv, test_csv = folder / "fleet_train.csv", folder / "fleet_test.csv"
    train.to_csv(train_csv, index_label="Datetime")
    test.drop(columns=[LABEL]).to_csv(test_csv, index_label="Datetime")
    return train_csv, test_csv, test[[UNIT_COLUMN, LABEL]].reset_index(drop=True)


def side_by_side(frame: pd.DataFrame, shift_days: int) -> tuple[pd.DataFrame, np.ndarray]:
    """``frame``'s whole days as AHU-1 beside the same AHU ``shift_days`` days on as AHU-2 (at
    AHU-1's times), and the rows faulted in either."""
    signals = signal_columns(frame)
    days = list(dict.fromkeys(frame["day"]))
    shifted = [frame[frame["day"] == days[(i + shift_days) % len(days)]] for i in range(len(days))]
    two = pd.concat(shifted)
    own = [c for c in signals if c.startswith("AHU: ")]  # the occupancy mode is the plant's
    one_points = frame[signals].rename(columns=lambda c: c.replace("AHU: ", "AHU-1: "))
    two_points = two[own].rename(columns=lambda c: c.replace("AHU: ", "AHU-2: "))
    plant = pd.concat([one_points, two_points.set_axis(frame.index)], axis=1)
    return plant, ((frame[LABEL].to_numpy() == 1) | (two[LABEL].to_numpy() == 1)).astype(int)


def plant_export(datasets: Path, folder: Path) -> None:
    """Row figures of ``bms detect`` on a two-unit plant export built from MZVAV-2-2."""
    frame = read_lbnl(datasets / "MZVAV-2-2.csv")
    in_train = within_training_rows(frame)
    train, _ = side_by_side(frame[in_train], 1)
    test, truth = side_by_side(frame[~in_train], 1)
    paths = folder / "plant_train.csv", folder / "plant_test.csv", folder / "plant_out.csv"
    train.to_csv(paths[0], index_label="Datetime")
    test.to_csv(paths[1], index_label="Datetime")
    run_bms(*paths)
    flags = pd.read_csv(paths[2])["anomaly"].to_numpy()
    print(
        f"plant export, MZVAV-2-2 beside itself a test day on ({test.shape[1]} columns, "
        f"{len(test):,} TEST rows): {row_figures(truth, flags)}"
    )


def run_bms(train_csv: Path, test_csv: Path, out_csv: Path, *options: str) -> float:
    """``bms detect`` as a user runs it; its wall time [s]."""
    bms = Path(sys.executable).with_name("bms")
    command = [str(bms), "detect", "--train", str(train_csv), "--test", str(test_csv)]
    started = time.perf_counter()
    subprocess.run([*command, "--out", str(out_csv), *options], check=True, capture_output=True)
    return time.perf_counter() - started


def main() -> None:
    datasets = lbnl_folder(__doc__.splitlines()[0])
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        train_csv, test_csv, truth = fleet_files(datasets, folder)
        out_csv = folder / "out.csv"
        per_unit_s = run_bms(train_csv, test_csv, out_csv, "--unit-column", UNIT_COLUMN)
        fleet = pd.read_csv(out_csv)
        one_stream_s = run_bms(train_csv, test_csv, out_csv, "--ignore", UNIT_COLUMN)
        one_stream = pd.read_csv(out_csv)
        train, test = pd.read_csv(train_csv), pd.read_csv(test_csv)
        alone: dict[str, np.ndarray] = {}
        alone_s = 0.0
        for unit in UNITS:
            for name, frame in (("train", train), ("test", test)):
                rows = frame[frame[UNIT_COLUMN] == unit].drop(columns=[UNIT_COLUMN])
                rows.dropna(axis=1, how="all").to_csv(folder / f"{name}.csv", index=False)
            alone_s += run_bms(folder / "train.csv", folder / "test.csv", out_csv)
            alone[unit] = pd.read_csv(out_csv)["anomaly"].to_numpy()
    print(
        f"fleet of {len(UNITS)} AHUs, {len(train):,} TRAIN and {len(test):,} TEST rows; "
        f"whole CLI: --unit-column {per_unit_s:.1f} s, one stream {one_stream_s:.1f} s, "
        f"each unit alone {alone_s:.1f} s in all"
    )
    for unit in UNITS:
        mine = (truth[UNIT_COLUMN] == unit).to_numpy()
        labels = truth.loc[mine, LABEL].to_numpy()
        unit_flags = fleet.loc[mine, "anomaly"].to_numpy()
        same = "yes" if np.array_equal(unit_flags, alone[unit]) else "NO"
        print(f"{unit}: {int(mine.sum()):,} TEST rows")
        print(f"  --unit-column:  {row_figures(labels, unit_flags)} (same as alone: {same})")
        print(
            f"  one stream:     {row_figures(labels, one_stream.loc[mine, 'anomaly'].to_numpy())}"
        )
        print(f"  unit alone:     {row_figures(labels, alone[unit])}")
    labels = truth[LABEL].to_numpy()
    print("fleet, all rows:")
    print(f"  --unit-column:  {row_figures(labels, fleet['anomaly'].to_numpy())}")
    print(f"  one stream:     {row_figures(labels, one_stream['anomaly'].to_numpy())}")
    with tempfile.TemporaryDirectory() as tmp:
        plant_export(datasets, Path(tmp))
        fleet_speed(Path(tmp))


if __name__ == "__main__":
    main()
