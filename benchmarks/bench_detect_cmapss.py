"""Early warning on C-MAPSS engines: `bms detect`'s detector beside PyOD's, in the same run.

Held-out data for the anomaly detector (:mod:`bms.evaluate.cmapss_warning`): each engine of
``train_FD001.txt`` and ``train_FD003.txt`` trains its own detector on its first cycles and
is scored to its failure. Printed per detector and training length (50, 75, 100 cycles): the
share of engines with an alarm held at their failure, the held alarm's lead [cycles before
failure, median and 10th percentile], the first alarm's median lead, the share of cycles
flagged while more than 125 cycles from failure ("healthy" by the usual RUL knee; an engine
worn early may already be degrading there, so these are an upper bound on false alarms), the
engines with any such alarm, and the share of the last 20 cycles flagged. PyOD detectors get
features standardised on the training rows and PyOD's default contamination 0.1, as in
docs/BENCHMARKS.md (constant columns left at 0).

Last, FD001 made multi-condition like FD002 (:func:`bms.evaluate.cmapss.add_operating_regimes`:
each cycle flown at one of six operating points, which shift and scale every sensor by far more
than wear does), 50 training cycles: a check that the detector copes with operating points
it is not told of (FD002 itself is not in the datasets folder).

    .venv/bin/python benchmarks/bench_detect_cmapss.py [--datasets DIR]
"""

from __future__ import annotations

import argparse
import os
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from pyod.models.copod import COPOD
from pyod.models.ecod import ECOD
from pyod.models.iforest import IForest
from pyod.models.pca import PCA as PYOD_PCA
from sklearn.preprocessing import StandardScaler

from bms.evaluate.cmapss import add_operating_regimes, read_cmapss
from bms.evaluate.cmapss_warning import evaluate_cmapss_warning, fleet_warning
from bms.evaluate.default_detector import default_predictor

SUBSETS = ("FD001", "FD003")
TRAIN_CYCLES = (50, 75, 100)
PYOD: dict[str, Callable[[], Any]] = {
    "pyod IForest": lambda: IForest(random_state=0, n_jobs=1),
    "pyod ECOD": ECOD,
    "pyod COPOD": COPOD,
    "pyod PCA": PYOD_PCA,
}


def pyod_predictor(make: Callable[[], Any]) -> Callable[[pd.DataFrame, pd.DataFrame], Any]:
    def predict(train: pd.DataFrame, test: pd.DataFrame) -> np.ndarray:
        varying = train.columns[train.std() > 0]  # PyOD's PCA fails on constant columns
        scaler = StandardScaler().fit(train[varying].to_numpy())
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # ECOD's skew of near-constant data
            model = make().fit(scaler.transform(train[varying].to_numpy()))
            return np.asarray(model.predict(scaler.transform(test[varying].to_numpy())))

    return predict


def row(name: str, figures: dict[str, Any], seconds: float) -> str:
    def cycles(value: float | None) -> str:
        return "    -" if value is None else f"{value:5.0f}"

    return (
        f"  {name:<14} held at failure {figures['held_at_failure']:5.1f} %  held lead median "
        f"{cycles(figures['held_rul_median'])} (p10 {cycles(figures['held_rul_p10'])})  first "
        f"{cycles(figures['first_alarm_rul_median'])}  flagged >125 before {figures['far']:5.1f} %"
        f" ({figures['engines_with_false_alarm']:2d}/{figures['engines_with_healthy_cycles']} "
        f"engines)  last 20 {figures['final_flagged']:5.1f} %  ({seconds:.0f} s)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default = Path(os.environ.get("BMS_DATASETS", "../shared/datasets")) / "cmapss"
    parser.add_argument("--datasets", type=Path, default=default, help="C-MAPSS folder")
    args = parser.parse_args()
    detectors = {"bms detect": default_predictor} | {
        name: pyod_predictor(make) for name, make in PYOD.items()
    }
    for subset in SUBSETS:
        for train_cycles in TRAIN_CYCLES:
            print(f"{subset}, each engine trained on its first {train_cycles} cycles")
            for name, predictor in detectors.items():
                started = time.perf_counter()
                figures, _ = evaluate_cmapss_warning(
                    args.datasets / f"train_{subset}.txt",
                    predictor=predictor,
                    train_cycles=train_cycles,
                )
                print(row(name, figures, time.perf_counter() - started))
    (regimes,) = add_operating_regimes([read_cmapss(args.datasets / "train_FD001.txt")])
    print("FD001 flown at six operating points (FD002's), each engine trained on its first 50")
    for name, predictor in detectors.items():
        started = time.perf_counter()
        figures, _ = fleet_warning(regimes, predictor=predictor)
        print(row(name, figures, time.perf_counter() - started))


if __name__ == "__main__":
    main()
