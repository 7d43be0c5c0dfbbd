"""`bms detect`'s model trained on rows that hold a fault, as a site's history often does.

``bms detect`` asks for TRAIN to be (mostly) normal operation; a real history is never checked
row by row. LBNL MZVAV-2-2 (``BMS_DATASETS/lbnl_ahu``), the ``within`` split of
:mod:`bms.evaluate.lbnl` (every other fault-free day trains, the other days test), with the
training rows *contaminated*: for each faulted day D in turn, D leaves TEST and ``hours`` hours
of D from 06:00 (the fan's start; 24: the whole day; 0: none, the clean figure on the same
test rows) are added to TRAIN. Printed per ``hours``, over the faulted days, the median (and
range) of the row F1 of the learned detector (:class:`bms.models.anomaly_pipeline.
TimeSeriesDetector`, as ``bms detect`` runs it), of the same with the G36 / APAR rules
(:mod:`bms.evaluate.detect_rules`: ``bms detect``'s output on these columns), and of the
baseline in the same run, scikit-learn's ``IsolationForest`` (default settings) on the same
rows, standardised on the training rows; with the share of TRAIN's rows the fault holds; then
the F1 each loses against the clean TRAIN, median (worst).

    .venv/bin/python benchmarks/bench_detect_contaminated.py [--datasets DIR]
"""

from __future__ import annotations

import numpy as np
from bench_detect_few_days import isolation_forest_flags
from lbnl_data import lbnl_folder

from bms.evaluate.detect_rules import ahu_rule_flags
from bms.evaluate.lbnl import LABEL, read_lbnl, signal_columns, within_training_rows
from bms.models.anomaly_pipeline import TimeSeriesDetector

#: Hours of a faulted day added to TRAIN (0: none), from :data:`FIRST_HOUR`.
HOURS = (0, 3, 24)
FIRST_HOUR = 6


def row_f1(flags: np.ndarray, faulted: np.ndarray) -> float:
    """F1 of 0/1 row flags against the rows' day labels."""
    tp = int((flags & faulted).sum())
    return 2 * tp / max(int(flags.sum()) + int(faulted.sum()), 1)


def main() -> None:
    datasets = lbnl_folder(__doc__.splitlines()[0])
    frame = read_lbnl(datasets / "MZVAV-2-2.csv")
    signals = signal_columns(frame)
    in_train = within_training_rows(frame)
    day = frame["day"].astype(str).to_numpy()
    hour = frame.index.hour.to_numpy()
    faulted_days = sorted(set(day[frame[LABEL].to_numpy() == 1]))
    print(
        f"MZVAV-2-2, within split: {int(in_train.sum()):,} clean training rows; "
        f"{len(faulted_days)} faulted days, each added to TRAIN in turn"
    )
    print("hours  fault's share of TRAIN   row F1 median (range): bms detect | + AHU rules | "
          "IsolationForest")  # fmt: skip
    runs: dict[int, list[tuple[float, ...]]] = {hours: [] for hours in HOURS}
    for added_day in faulted_days:
        test = frame[~in_train & (day != added_day)]
        faulted = test[LABEL].to_numpy() == 1
        for hours in HOURS:
            added = (day == added_day) & (hour >= FIRST_HOUR) & (hour < FIRST_HOUR + hours)
            if hours == 24:
                added = day == added_day
            train = frame.loc[in_train | added, signals]
            scored = TimeSeriesDetector().fit(train).score(test[signals], contributions=False)
            learned = scored["anomaly"].to_numpy() == 1
            rules = ahu_rule_flags(train, test[signals])  # both indexed by time
            assert rules is not None  # the LBNL columns name an AHU's points
            forest = isolation_forest_flags(train, test[signals])
            runs[hours].append(
                (
                    added.sum() / len(train),
                    row_f1(learned, faulted),
                    row_f1(learned | rules.flags, faulted),
                    row_f1(forest, faulted),
                )
            )
    for hours, values in runs.items():
        table = np.array(values)
        cells = [
            f"{np.median(table[:, i]):.3f} ({table[:, i].min():.3f}-{table[:, i].max():.3f})"
            for i in (1, 2, 3)
        ]
        print(f"{hours:5d}  {100 * np.median(table[:, 0]):5.1f} %{'':17s}" + " | ".join(cells))
    clean = np.array(runs[0])
    for hours in HOURS[1:]:
        drop = clean[:, 1:] - np.array(runs[hours])[:, 1:]
        print(
            f"F1 lost with {hours} h in TRAIN, median (worst) over the same test rows: "
            + " | ".join(f"{np.median(drop[:, i]):.3f} ({drop[:, i].max():.3f})" for i in range(3))
        )


if __name__ == "__main__":
    main()
