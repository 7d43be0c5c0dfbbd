"""`bms detect`'s model trained on a few days, as a site with little history would train it.

LBNL MZVAV-2-2 (``BMS_DATASETS/lbnl_ahu``): every run of ``k`` consecutive fault-free days of
the late-summer block (2008-08-27 to 2008-09-05, k = 1 to 4) trains the product's default
detector (:class:`bms.models.anomaly_pipeline.TimeSeriesDetector`, as ``bms detect`` runs it);
the test rows are every other day of the same season (August and September: the remaining
fault-free days and the faulted days of 2007), so that the detector is judged on conditions a
few days can cover. Printed per ``k``, as the median over the runs (and the range): the share
of normal test rows flagged (FAR), of faulted rows flagged (recall), and the normal test days
with more than 5 % of their rows flagged. "+ AHU rules": the learned detector's flags or the
G36 / APAR rules' (:mod:`bms.evaluate.detect_rules`); "+ held while stopped" is what
``bms detect`` outputs on these columns: those flags, an alarm held through the hours the fan
is stopped (:mod:`bms.evaluate.detect_stopped`). Baseline in the same run: scikit-learn's
``IsolationForest`` (default settings) on the same rows, standardised on the training rows.
Other seasons (February, May) are left out on purpose: a few summer days cannot describe
heating, and ``bms detect`` says so (most TEST rows outside the TRAIN range).

    .venv/bin/python benchmarks/bench_detect_few_days.py [--datasets DIR]
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from lbnl_data import lbnl_folder
from sklearn.ensemble import IsolationForest
from sklearn.preprocessing import StandardScaler

from bms.evaluate.detect_rules import ahu_rule_flags
from bms.evaluate.detect_stopped import held_flags
from bms.evaluate.lbnl import LABEL, read_lbnl, signal_columns
from bms.models.anomaly_pipeline import TimeSeriesDetector

SEASON_MONTHS = (8, 9)
FLAGGED_DAY_SHARE = 0.05


def figures(flags: np.ndarray, faulted: np.ndarray, days: np.ndarray) -> tuple[float, ...]:
    """FAR [%], recall [%] and the normal days flagged on more than 5 % of their rows."""
    per_day = pd.DataFrame({"flag": flags, "faulted": faulted}, index=days).groupby(level=0)
    table = per_day.agg(flag=("flag", "mean"), faulted=("faulted", "max"))
    normal_days = table[~table["faulted"]]
    return (
        100 * flags[~faulted].mean(),
        100 * flags[faulted].mean(),
        float((normal_days["flag"] > FLAGGED_DAY_SHARE).sum()),
        float(len(normal_days)),
    )


def isolation_forest_flags(train: pd.DataFrame, test: pd.DataFrame) -> np.ndarray:
    """scikit-learn's IsolationForest, default threshold, on standardised features."""
    medians = train.median()
    scaler = StandardScaler().fit(train.fillna(medians))
    forest = IsolationForest(random_state=0).fit(scaler.transform(train.fillna(medians)))
    return forest.predict(scaler.transform(test.fillna(medians))) == -1


def main() -> None:
    datasets = lbnl_folder(__doc__.splitlines()[0])
    frame = read_lbnl(datasets / "MZVAV-2-2.csv")
    signals = signal_columns(frame)
    day = pd.to_datetime(pd.Series(frame["day"].to_numpy(), index=frame.index))
    frame = frame[day.dt.month.isin(SEASON_MONTHS).to_numpy()]
    normal_days = sorted(frame.loc[frame[LABEL] == 0, "day"].unique())
    print(
        f"MZVAV-2-2, {len(normal_days)} fault-free and "
        f"{frame.loc[frame[LABEL] == 1, 'day'].nunique()} faulted days in August-September"
    )
    print("k days  detector         FAR % median (range)   recall % median (range)   "
          "normal days > 5 % flagged")  # fmt: skip
    for k in (1, 2, 3, 4):
        runs: dict[str, list[tuple[float, ...]]] = {
            "bms detect": [],
            "  + AHU rules": [],
            "  + held while stopped": [],
            "IsolationForest": [],
        }
        for first in range(len(normal_days) - k + 1):
            train_days = normal_days[first : first + k]
            if (pd.Timestamp(train_days[-1]) - pd.Timestamp(train_days[0])).days >= k + 2:
                continue  # not consecutive (a gap of more than two days)
            in_train = frame["day"].isin(set(train_days))
            train, test = frame.loc[in_train, signals], frame[~in_train]
            faulted = test[LABEL].to_numpy() == 1
            days = test["day"].to_numpy()
            flags = TimeSeriesDetector().fit(train).score(test[signals], contributions=False)
            learned = flags["anomaly"].to_numpy() == 1
            runs["bms detect"].append(figures(learned, faulted, days))
            rules = ahu_rule_flags(train, test[signals])  # both indexed by time
            assert rules is not None  # the LBNL columns name an AHU's points
            with_rules = learned | rules.flags
            runs["  + AHU rules"].append(figures(with_rules, faulted, days))
            held = held_flags(with_rules, train, test[signals])
            runs["  + held while stopped"].append(figures(held, faulted, days))
            forest = isolation_forest_flags(train, test[signals])
            runs["IsolationForest"].append(figures(forest, faulted, days))
        for name, values in runs.items():
            table = np.array(values)
            far, recall, flagged, total = (table[:, i] for i in range(4))
            print(
                f"{k:6d}  {name:22s}  {np.median(far):6.1f} ({far.min():.1f}-{far.max():.1f})"
                f"{'':8s}{np.median(recall):6.1f} ({recall.min():.1f}-{recall.max():.1f})"
                f"{'':10s}{flagged.sum():.0f} of {total.sum():.0f} over {len(table)} runs"
            )


if __name__ == "__main__":
    main()
