"""One glitch in TRAIN: a single reading far outside its signal's others, as loggers write.

SKAB (``BMS_DATASETS/skab``), the leaderboard protocol (each file's first 400 rows train, the
rest test, figures over all test points pooled), with one training reading of one signal
replaced by a glitch: the signal's largest training reading plus 50 times its training range,
at training row 200 (and, apart, a burst of three: rows 200-202). Each of the 8 signals in
turn, so 8 runs over the 34 files per glitch. Printed: the
pooled F1, FAR and MAR [%] of the clean protocol; then, for each signal, the same with the
glitch, for the product's detector (:class:`bms.models.anomaly_pipeline.TimeSeriesDetector`,
which reads a glitch as a lost reading: :func:`bms.models.gap_fill.training_glitches`), for
the same detector with the glitch read as a reading (as before that check), and for the
baseline in the same run, scikit-learn's ``IsolationForest`` (default settings) on the rows
standardised on the training rows.

    .venv/bin/python benchmarks/bench_detect_train_glitches.py [--datasets DIR]
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable
from pathlib import Path
from unittest import mock

import numpy as np
import pandas as pd
from sklearn.ensemble import IsolationForest
from sklearn.preprocessing import StandardScaler

from bms.evaluate.detection_metrics import Confusion
from bms.evaluate.skab import TRAIN_ROWS, iter_skab_files, read_skab_file
from bms.models import anomaly_pipeline
from bms.models.anomaly_pipeline import TimeSeriesDetector

#: Training row where the glitch starts, how far out it is [training ranges], and the lengths
#: of the bursts tried [rows].
GLITCH_ROW = 200
GLITCH_RANGES = 50.0
BURST_ROWS = (1, 3)

Flags = Callable[[pd.DataFrame, pd.DataFrame], np.ndarray]


def product_flags(train: pd.DataFrame, test: pd.DataFrame) -> np.ndarray:
    """``bms detect``'s learned detector: its 0/1 flags of the test rows."""
    return TimeSeriesDetector().fit(train).score(test, contributions=False)["anomaly"].to_numpy()


def glitch_as_reading_flags(train: pd.DataFrame, test: pd.DataFrame) -> np.ndarray:
    """The same detector with no training reading taken for a glitch (as before the check)."""
    nothing = lambda values: np.zeros(np.shape(values), dtype=bool)  # noqa: E731
    with mock.patch.object(anomaly_pipeline, "training_glitches", nothing):
        return product_flags(train, test)


def forest_flags(train: pd.DataFrame, test: pd.DataFrame) -> np.ndarray:
    """scikit-learn's IsolationForest, default threshold, on standardised signals."""
    scaler = StandardScaler().fit(train)
    forest = IsolationForest(random_state=0).fit(scaler.transform(train))
    return (forest.predict(scaler.transform(test)) == -1).astype(np.int64)


def pooled(
    files: list[tuple[pd.DataFrame, np.ndarray]],
    flags: Flags,
    glitch_in: str | None,
    burst_rows: int = 1,
) -> str:
    """``F1 x / FAR y / MAR z`` of ``flags`` over every file's test points."""
    confusion = Confusion()
    for signals, labels in files:
        train, test = signals.iloc[:TRAIN_ROWS].copy(), signals.iloc[TRAIN_ROWS:]
        if glitch_in is not None:
            column = train[glitch_in]
            glitch = column.max() + GLITCH_RANGES * (column.max() - column.min())
            rows = slice(GLITCH_ROW, GLITCH_ROW + burst_rows)
            train.iloc[rows, train.columns.get_loc(glitch_in)] = glitch
        confusion.add(labels[TRAIN_ROWS:], flags(train, test))
    return f"{confusion.f1:.3f} / {confusion.far_pct:4.1f} / {confusion.mar_pct:4.1f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default = Path(os.environ.get("BMS_DATASETS", "../shared/datasets")) / "skab"
    parser.add_argument("--datasets", type=Path, default=default, help="SKAB folder")
    folder = parser.parse_args().datasets
    files = [read_skab_file(path) for path in iter_skab_files(folder)]
    names = list(files[0][0].columns)
    detectors = {
        "bms": product_flags,
        "bms, glitch read": glitch_as_reading_flags,
        "IsolationForest": forest_flags,
    }
    print(f"SKAB, {len(files)} files; F1 / FAR % / MAR % over the test points")
    print(f"{'glitch in':30s}" + "".join(f"{name:24s}" for name in detectors))
    cells = [pooled(files, flags, None) for flags in detectors.values()]
    print(f"{'(none)':30s}" + "".join(f"{cell:24s}" for cell in cells))
    for burst_rows in BURST_ROWS:
        for glitch_in in names:
            cells = [pooled(files, flags, glitch_in, burst_rows) for flags in detectors.values()]
            label = f"{glitch_in}, {burst_rows} row(s)"
            print(f"{label:30s}" + "".join(f"{cell:24s}" for cell in cells))


if __name__ == "__main__":
    main()
