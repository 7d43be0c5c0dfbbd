"""Daily profiles: `bms detect` with and without them, on data that has no status column.

The detector judges a signal against its time-of-day profile when no mode signal (fan status,
occupancy) gives the operating mode (:mod:`bms.models.daily_profile`). Many building exports
hold only measurements: room temperatures, CO2, meters. To measure that case on real, labelled
data, the LBNL AHU files are read *without their mode signals* (the columns with at most 3
distinct training values: fan statuses, occupancy), and the product's default detector is run
with its daily profiles (``daily_profiles=True``, the default) and without them, in the same
run:

* the within-unit protocol of :mod:`bms.evaluate.lbnl` (alternate fault-free days train; day
  accuracy and F1, row F1 / FAR / MAR of the detector's own flags);
* few training days (``bench_detect_few_days.py``'s protocol: every run of k consecutive
  fault-free late-summer days of MZVAV-2-2 trains, the other August-September days test):
  median and worst run of the normal test rows flagged (FAR) and of the faulted rows flagged;
* a synthetic room (a +-3 K daily swing, 0.3 K noise, a week of 5-minute rows trains): a +2 K
  night-time offset, inside the day's range, over 20 seeds;
* a synthetic office (:func:`office`: a meter, a room and the outdoor air, 15-minute rows,
  three weeks train, the next three test) whose ventilation runs on working days only: the
  ventilation left on all one Saturday, and the lights left on through a weekday night, over 20
  seeds.

With the mode signals kept (the files as published), the detector learns no profile, and
``bench_detectors.py`` / ``bench_detect_few_days.py`` are unchanged.

    .venv/bin/python benchmarks/bench_daily_profile.py [--datasets DIR]
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import numpy as np
import pandas as pd

from bms.evaluate.lbnl import LABEL, RowPredictor, evaluate_lbnl, read_lbnl
from bms.models.anomaly_pipeline import TimeSeriesDetector
from bms.models.anomaly_regimes import MAX_MODE_LEVELS

SEASON_MONTHS = (8, 9)
FEW_DAYS = (3, 4, 5, 6, 7)
SEEDS = range(20)


def measured_only(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` without its mode signals (at most :data:`MAX_MODE_LEVELS` distinct values)."""
    return frame.loc[:, frame.nunique() > MAX_MODE_LEVELS]


def lbnl_predictor(profiles: bool) -> RowPredictor:
    """The default detector on the measured signals only, with or without daily profiles."""

    def predict(
        train: pd.DataFrame, test: pd.DataFrame
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        columns = measured_only(train).columns
        model = TimeSeriesDetector(daily_profiles=profiles).fit(train[columns])
        out = model.score(test[columns], contributions=False, levels=True)
        return model.train_levels_, out["level"].to_numpy(), out["anomaly"].to_numpy()

    return predict


def within_units(datasets: Path) -> None:
    print("within-unit protocol, mode signals removed (days: accuracy / F1; rows: F1 / FAR / MAR)")
    for profiles in (False, True):
        results = evaluate_lbnl(datasets, predictor=lbnl_predictor(profiles))
        for name, r in results.items():
            if not name.startswith("within:"):
                continue
            print(
                f"  {name[7:]:10s} profiles {'on ' if profiles else 'off'}: days "
                f"{r['accuracy']:.2f} / {r['f1']:.2f}; rows F1 {r['row_f1']:.3f}, FAR "
                f"{r['row_far']:.2f} %, MAR {r['row_mar']:.1f} %"
            )


def few_days(datasets: Path) -> None:
    frame = read_lbnl(datasets / "MZVAV-2-2.csv")
    day = pd.to_datetime(pd.Series(frame["day"].to_numpy(), index=frame.index))
    frame = frame[day.dt.month.isin(SEASON_MONTHS).to_numpy()]
    signals = measured_only(frame.drop(columns=[LABEL, "day"])).columns
    normal_days = sorted(frame.loc[frame[LABEL] == 0, "day"].unique())
    print(f"MZVAV-2-2, k consecutive late-summer days train, {len(signals)} measured signals")
    print("  k  profiles  runs  FAR % median (worst)  recall % median (worst)  profiled")
    for k in FEW_DAYS:
        for profiles in (False, True):
            far, recall, profiled = [], [], set()
            for first in range(len(normal_days) - k + 1):
                train_days = normal_days[first : first + k]
                if (train_days[-1] - train_days[0]).days > k + 1:  # not consecutive
                    continue
                in_train = frame["day"].isin(set(train_days))
                test = frame[~in_train]
                model = TimeSeriesDetector(daily_profiles=profiles)
                model.fit(frame.loc[in_train, signals])
                flags = model.score(test[signals], contributions=False)["anomaly"].to_numpy()
                faulted = test[LABEL].to_numpy() == 1
                far.append(100 * flags[~faulted].mean())
                recall.append(100 * flags[faulted].mean())
                profiled.add(len(model.profiled_signals_))
            print(
                f"  {k}  {'on ' if profiles else 'off'}       {len(far)}     "
                f"{np.median(far):5.1f} ({max(far):5.1f})          "
                f"{np.median(recall):5.1f} ({min(recall):5.1f})          {sorted(profiled)}"
            )


def synthetic_room() -> None:
    night_found: dict[bool, list[float]] = {False: [], True: []}
    normal_flagged: dict[bool, list[float]] = {False: [], True: []}
    for seed in SEEDS:
        rng = np.random.default_rng(seed)
        index = pd.date_range("2026-03-02", periods=11 * 288, freq="5min")
        hours = index.hour + index.minute / 60
        temp = 20 + 3 * np.sin(2 * np.pi * (hours - 9) / 24) + rng.normal(0, 0.3, len(index))
        frame = pd.DataFrame({"temp": temp}, index=index)
        train, test = frame.iloc[: 7 * 288], frame.iloc[7 * 288 :].copy()
        night = (test.index >= "2026-03-11") & (test.index < "2026-03-11 06:00")
        test.loc[night, "temp"] += 2.0
        normal = ~night & ((test.index < "2026-03-11") | (test.index >= "2026-03-11 09:00"))
        for profiles in (False, True):
            model = TimeSeriesDetector(daily_profiles=profiles).fit(train)
            flags = model.score(test, contributions=False)["anomaly"].to_numpy()
            night_found[profiles].append(100 * flags[night].mean())
            normal_flagged[profiles].append(100 * flags[normal].mean())
    print(f"synthetic room, +2 K at night inside the daily range, {len(SEEDS)} seeds")
    for profiles in (False, True):
        print(
            f"  profiles {'on ' if profiles else 'off'}: offset rows flagged median "
            f"{np.median(night_found[profiles]):5.1f} % (worst {min(night_found[profiles]):5.1f}); "
            f"normal rows flagged mean {np.mean(normal_flagged[profiles]):4.1f} % "
            f"(worst {max(normal_flagged[profiles]):4.1f})"
        )


def office(seed: int, start: str, days: int) -> pd.DataFrame:
    """An office's electricity meter [kW], a room [°C] and the outdoor air [°C], 15-minute rows.

    People from 8:00 to 18:00 (+55 kW) and ventilation from 6:00 to 19:00 (+15 kW; the room at
    21 °C, else floating near 17 °C) on working days; a random level per day (3 kW s.d.) and
    2 kW of noise on the meter; a daily outdoor swing of +-4 K around a level drawn per day.
    """
    rng = np.random.default_rng(seed)
    index = pd.date_range(start, periods=days * 96, freq="15min")
    hours = (index.hour + index.minute / 60).to_numpy()
    working = np.asarray(index.day_of_week < 5)
    people = working & (hours >= 8) & (hours < 18)
    ventilation = working & (hours >= 6) & (hours < 19)
    power = 20 + 55 * people + 15 * ventilation + rng.normal(0, 3, days).repeat(96)
    outdoor = 5 + 4 * np.sin(2 * np.pi * (hours - 9) / 24) + rng.normal(0, 2, days).repeat(96)
    room = np.where(ventilation, 21.0, 17.0 + 0.1 * outdoor) + rng.normal(0, 0.2, len(index))
    return pd.DataFrame(
        {
            "power_kw": power + rng.normal(0, 2, len(index)),
            "room_temp": pd.Series(room).ewm(alpha=0.2).mean().to_numpy(),
            "outdoor_temp": outdoor,
        },
        index=index,
    )


def synthetic_office() -> None:
    found: dict[str, dict[str, list[float]]] = {}
    for seed in SEEDS:
        train = office(seed, "2026-01-05", 21)
        test = office(seed + 1_000, "2026-01-26", 21)
        hours = test.index.hour + test.index.minute / 60
        day = test.index.normalize()
        saturday = (day == "2026-02-07") & (hours >= 6) & (hours < 19)
        test.loc[saturday, "power_kw"] += 15.0
        test.loc[saturday, "room_temp"] = 21.0
        night = (day == "2026-02-11") & (hours < 5)
        test.loc[night, "power_kw"] += 25.0
        after = ((day == "2026-02-07") & (hours >= 19)) | ((day == "2026-02-11") & (hours < 12))
        normal = ~(saturday | night | after)
        for name, profiles in (("profiles off", False), ("profiles on", True)):
            model = TimeSeriesDetector(daily_profiles=profiles).fit(train)
            flags = model.score(test, contributions=False)["anomaly"].to_numpy()
            runs = found.setdefault(name, {"saturday": [], "night": [], "normal": []})
            for key, rows in (("saturday", saturday), ("night", night), ("normal", normal)):
                runs[key].append(100 * flags[rows].mean())
    print(f"synthetic office, working days and weekends, {len(SEEDS)} seeds (% of rows flagged)")
    for name, runs in found.items():
        print(
            f"  {name:12}: ventilation on all Saturday median {np.median(runs['saturday']):5.1f} "
            f"(worst {min(runs['saturday']):5.1f}); lights on at night median "
            f"{np.median(runs['night']):5.1f} (worst {min(runs['night']):5.1f}); normal rows "
            f"mean {np.mean(runs['normal']):4.1f} (worst {max(runs['normal']):4.1f})"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default = Path(os.environ.get("BMS_DATASETS", "../shared/datasets")) / "lbnl_ahu"
    parser.add_argument("--datasets", type=Path, default=default, help="LBNL AHU folder")
    args = parser.parse_args()
    within_units(args.datasets)
    few_days(args.datasets)
    synthetic_room()
    synthetic_office()


if __name__ == "__main__":
    main()
