"""Sensor outages and spikes on real AHU data: judged as data problems, or as faults?

LBNL MZVAV-2-2, the ``within`` protocol of ``bms.evaluate.lbnl`` (every other fault-free day
trains, the rest of the days test). For each of the 17 signals in turn, its readings are
blanked from 00:00 to 10:00 on every test day, and the default ``TimeSeriesDetector`` scores
the test rows. Printed per signal: the share of the blanked hours flagged on the normal test
days (false alarms caused by the outage) and on the faulted days (the fault should still show
in the signals read), for

* ``bms``: the product (short gaps held, outages estimated from the signals read:
  ``bms.models.gap_fill``);
* ``hold``: the same model given the test rows with every gap held at the reading before it
  (then the first reading after, then the training median): what the product did before, in
  the same run.

Then, on the normal test days, each signal in turn with a one-row spike of 10 training s.d.
every 2 hours, and with a burst of 3 glitches (readings 50 training ranges beyond the training
readings) every 2 hours: the share of rows flagged by the product and by the same model with
no spike or burst set apart (as before those rules).

    .venv/bin/python benchmarks/bench_detect_outages.py [--datasets DIR]
"""

from __future__ import annotations

import copy
import statistics
from collections.abc import Callable

import numpy as np
import pandas as pd
from lbnl_data import lbnl_folder

from bms.evaluate.lbnl import LABEL, read_lbnl, signal_columns, within_training_rows
from bms.models.anomaly_pipeline import TimeSeriesDetector

#: Hours of each test day with the signal offline: from midnight to this hour.
OFFLINE_UNTIL_HOUR = 10
#: A spike every this many rows (2 hours of minutes), of this many training s.d.
SPIKE_EVERY_ROWS = 120
SPIKE_SDS = 10.0
#: A burst of glitches: this many rows, this many training ranges (1-99 %) beyond the readings.
BURST_ROWS = 3
BURST_RANGES = 50.0


def held(test: pd.DataFrame, train: pd.DataFrame) -> pd.DataFrame:
    """Every gap held at the reading before it, then after it, then the training median."""
    return test.ffill().bfill().fillna(train.median())


def main() -> None:
    datasets = lbnl_folder(__doc__.splitlines()[0])
    frame = read_lbnl(datasets / "MZVAV-2-2.csv")
    in_train = within_training_rows(frame)
    signals = signal_columns(frame)
    train, test = frame.loc[in_train, signals], frame.loc[~in_train]
    model = TimeSeriesDetector().fit(train)
    offline = test.index.hour < OFFLINE_UNTIL_HOUR
    normal = (test[LABEL] == 0).to_numpy()
    intact = model.score(test[signals], contributions=False)["anomaly"].to_numpy()
    print(
        f"MZVAV-2-2 within: {len(train):,} training rows, {len(test):,} test rows; each signal "
        f"offline 00:00-{OFFLINE_UNTIL_HOUR:02d}:00 on every test day. Share of those hours "
        "flagged [%]:"
    )
    print(
        f"  no outage: normal days {100 * intact[offline & normal].mean():.2f}, "
        f"faulted days {100 * intact[offline & ~normal].mean():.1f}"
    )
    print(f"  {'signal':48s} {'normal days':>18s} {'faulted days':>18s}")
    print(f"  {'':48s} {'bms':>8s} {'hold':>9s} {'bms':>8s} {'hold':>9s}")
    shares: dict[str, list[float]] = {"bms": [], "hold": []}
    for signal in signals:
        x = test[signals].copy()
        x.loc[offline, signal] = np.nan
        row = []
        for name, rows in (("bms", x), ("hold", held(x, train))):
            flags = model.score(rows, contributions=False)["anomaly"].to_numpy()
            on_normal, on_faulted = flags[offline & normal], flags[offline & ~normal]
            shares[name].append(100 * on_normal.mean())
            row.append((100 * on_normal.mean(), 100 * on_faulted.mean()))
        print(
            f"  {signal[:48]:48s} {row[0][0]:8.2f} {row[1][0]:9.2f} {row[0][1]:8.1f} "
            f"{row[1][1]:9.1f}"
        )
    print(
        "  median over signals, normal days: "
        + ", ".join(f"{name} {statistics.median(v):.2f} %" for name, v in shares.items())
    )
    spikes(model, train, test.loc[normal, signals])
    bursts(model, train, test.loc[normal, signals])


def flagged_shares(
    models: dict[str, TimeSeriesDetector],
    normal: pd.DataFrame,
    corrupt: Callable[[pd.DataFrame, str], None],
) -> None:
    """Each signal in turn corrupted by ``corrupt(frame, signal)`` (in place): the share of the
    normal rows each model flags [%], per signal and as the median (max) over signals."""
    print(f"  {'signal':48s}" + "".join(f" {name:>8s}" for name in models))
    shares: dict[str, list[float]] = {name: [] for name in models}
    for signal in normal.columns:
        x = normal.astype(float)
        corrupt(x, signal)
        row = []
        for name, detector in models.items():
            flagged = 100 * detector.score(x, contributions=False)["anomaly"].mean()
            shares[name].append(flagged)
            row.append(flagged)
        print(f"  {signal[:48]:48s}" + "".join(f" {value:8.2f}" for value in row))
    print(
        "  median (max) over signals: "
        + ", ".join(f"{k} {statistics.median(v):.2f} % ({max(v):.2f})" for k, v in shares.items())
    )


def spikes(model: TimeSeriesDetector, train: pd.DataFrame, normal: pd.DataFrame) -> None:
    """Each signal with a one-row spike of 10 training s.d. every 2 hours: rows flagged."""
    blind = copy.deepcopy(model)
    blind.gap_filler_.spike_scale_[:] = np.inf  # no spike judged: as before
    print(
        "Normal test days, a one-row spike of 10 training s.d. every 2 hours in one signal. "
        "Share of rows flagged [%]:"
    )

    def spike(x: pd.DataFrame, signal: str) -> None:
        rows = slice(SPIKE_EVERY_ROWS // 2, None, SPIKE_EVERY_ROWS)
        x.iloc[rows, x.columns.get_loc(signal)] += SPIKE_SDS * train[signal].std()

    flagged_shares({"bms": model, "kept": blind}, normal, spike)


def bursts(model: TimeSeriesDetector, train: pd.DataFrame, normal: pd.DataFrame) -> None:
    """Each signal with a burst of 3 glitches every 2 hours: rows flagged."""
    blind = copy.deepcopy(model)
    blind.gap_filler_.glitch_low_[:] = -np.inf  # no burst judged: as before
    blind.gap_filler_.glitch_high_[:] = np.inf
    print(
        f"Normal test days, a burst of {BURST_ROWS} readings {BURST_RANGES:g} training ranges "
        "out every 2 hours in one signal. Share of rows flagged [%]:"
    )

    def burst(x: pd.DataFrame, signal: str) -> None:
        low, high = train[signal].quantile([0.01, 0.99])
        column = x.columns.get_loc(signal)
        for start in range(SPIKE_EVERY_ROWS // 2, len(x) - BURST_ROWS, SPIKE_EVERY_ROWS):
            x.iloc[start : start + BURST_ROWS, column] = high + BURST_RANGES * max(high - low, 1)

    flagged_shares({"bms": model, "kept": blind}, normal, burst)


if __name__ == "__main__":
    main()
