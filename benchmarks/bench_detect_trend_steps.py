"""`bms detect`'s model on trend logs of 5 and 15 minutes, as most building exports are written.

The smoothing window and the other lengths of :class:`bms.models.anomaly_pipeline.
TimeSeriesDetector` are counted in rows (30 rows: 30 minutes of minute data, 7.5 hours of a
15-minute log). LBNL MZVAV-2-2 (``BMS_DATASETS/lbnl_ahu``), ``within`` split of
:mod:`bms.evaluate.lbnl`, read as a trend log reads it: the reading at each step (the first
minute of each 5 or 15 minutes: a snapshot, not a mean). Printed per step: the training and test
rows, and the row F1, FAR [% of normal test rows flagged] and MAR [%] of the default detector;
of its flags with an alarm held while the fan is stopped, as ``bms detect`` outputs them on an
AHU (:mod:`bms.evaluate.detect_stopped`, AHU rules left out); of a window of about two hours (8
rows of 15 minutes, 24 of 5); and of the baseline in the same run, scikit-learn's
``IsolationForest`` (default settings) standardised on the training rows. Each LBNL fault lasts
a whole day; an event shorter than the window is judged on part of it (docs/anomaly.md, the
office's night lights).

    .venv/bin/python benchmarks/bench_detect_trend_steps.py [--datasets DIR]
"""

from __future__ import annotations

import numpy as np
from bench_detect_cli_lbnl import row_figures
from bench_detect_few_days import isolation_forest_flags
from lbnl_data import lbnl_folder

from bms.evaluate.detect_stopped import held_flags
from bms.evaluate.lbnl import LABEL, read_lbnl, signal_columns, within_training_rows
from bms.models.anomaly_pipeline import DEFAULT_WINDOW_ROWS, TimeSeriesDetector

#: Trend-log step [minutes] -> window of about two hours [rows].
STEPS_MINUTES = {1: 120, 5: 24, 15: 8}


def main() -> None:
    datasets = lbnl_folder(__doc__.splitlines()[0])
    frame = read_lbnl(datasets / "MZVAV-2-2.csv")
    signals = signal_columns(frame)
    frame = frame.assign(in_train=within_training_rows(frame))
    print("step    rows train / test   detector                      row figures")
    for minutes, two_hours in STEPS_MINUTES.items():
        log = frame[[*signals, LABEL, "in_train"]].resample(f"{minutes}min").first()
        log = log.dropna(how="all")
        in_train = log["in_train"].astype(bool).to_numpy()
        train, test = log.loc[in_train, signals], log.loc[~in_train, signals]
        truth = (log.loc[~in_train, LABEL].to_numpy() > 0.5).astype(np.int64)
        print(f"{minutes:2d} min  {len(train):6,d} / {len(test):6,d}")
        for window in (DEFAULT_WINDOW_ROWS, two_hours):
            scored = (
                TimeSeriesDetector(window_rows=window).fit(train).score(test, contributions=False)
            )
            name = f"bms, window {window} rows ({window * minutes / 60:.1f} h)"
            flags = scored["anomaly"].to_numpy()
            print(f"{'':26s}{name:30s}{row_figures(truth, flags)}")
            if window == DEFAULT_WINDOW_ROWS:
                held = held_flags(flags == 1, train, test, window).astype(np.int64)
                print(f"{'':26s}{'  + held while stopped':30s}{row_figures(truth, held)}")
        forest = isolation_forest_flags(train, test).astype(np.int64)
        print(f"{'':26s}{'IsolationForest':30s}{row_figures(truth, forest)}")


if __name__ == "__main__":
    main()
