"""Detector quality and speed: bms detectors beside PyOD's IForest, ECOD, COPOD and PCA.

Same run, same data, same protocols:

* SKAB (``bms.evaluate.skab``): per file, first 400 rows train; pooled F1, FAR %, MAR % over the
  test points, and F1 / FAR % counting the training rows too ("+train", scored in-sample), as
  the leaderboard's own code counts them.
* LBNL AHU day level (``bms.evaluate.lbnl``): within-unit and cross-unit protocols; day
  accuracy, F1, FAR %. Every detector gets the same day rule: median row score of the day
  above the highest training-day median, the training days scored in-sample (PyOD's
  ``decision_scores_``; bms: "PyOD's rule" row). The product's own rule is stricter: its
  training days scored held-out (a model that has not seen them), the "default" row.
* LBNL AHU row level, same protocols: each detector's own row flags (bms: ``anomaly``; PyOD:
  ``predict``) against the label of every test row: row F1 and FAR %.

PyOD detectors get features standardised on the training rows and PyOD's default
contamination 0.1 (their threshold: the 90th percentile of in-sample training scores), as in
BENCHMARKS.md (``../shared/docs/``). Speed: training rows fitted per second and test rows scored
per second, summed over the SKAB files.

Run: ``.venv/bin/python benchmarks/bench_detectors.py [--datasets DIR]`` (about three minutes, two
of them the MLP autoencoder).
"""

from __future__ import annotations

import argparse
import os
import time
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

from bms.evaluate.lbnl import evaluate_lbnl
from bms.evaluate.skab import evaluate_skab
from bms.models.anomaly import PCADetector, ResidualDetector
from bms.models.anomaly_autoencoder import AutoencoderDetector
from bms.models.anomaly_cusum import CusumDetector
from bms.models.anomaly_pipeline import (
    CALIBRATION_BLOCK_WINDOWS,
    DEFAULT_WINDOW_ROWS,
    TimeSeriesDetector,
)
from bms.models.anomaly_similarity import SimilarityDetector

Timer = dict[str, float]
#: Calibration blocks of the single bms members, as the default ensemble uses them.
BLOCK_ROWS = CALIBRATION_BLOCK_WINDOWS * DEFAULT_WINDOW_ROWS


def bms_factory(detector: Any, timer: Timer, in_sample: bool = False) -> Callable[..., Any]:
    """``predict(train, test, scores) -> (train values, test values)``: flags or scores.

    The training scores that calibrate the LBNL day rule are held out (the product's own,
    stricter rule) or, with ``in_sample``, the training rows scored by the final model: the
    rule every PyOD detector gets here (its ``decision_scores_``).
    """

    def predict(
        train: pd.DataFrame, test: pd.DataFrame, scores: bool = False
    ) -> tuple[np.ndarray, ...]:
        t0 = time.perf_counter()
        model = TimeSeriesDetector(detector=detector).fit(train)
        t1 = time.perf_counter()
        out = model.score(test, contributions=False, levels=scores)
        t2 = time.perf_counter()
        timer["fit_s"] += t1 - t0
        timer["score_s"] += t2 - t1
        timer["fit_rows"] += len(train)
        timer["score_rows"] += len(test)
        if scores:
            train_levels = model.train_levels_
            if in_sample:
                train_levels = model.score(train, contributions=False, levels=True)["level"]
            return np.asarray(train_levels), out["level"].to_numpy(), out["anomaly"].to_numpy()
        return model.train_flags_, out["anomaly"].to_numpy()

    return predict


def pyod_factory(make: Callable[[], Any], timer: Timer) -> Callable[..., Any]:
    """Same signature; scores are PyOD's in-sample training and test decision scores."""

    def predict(
        train: pd.DataFrame, test: pd.DataFrame, scores: bool = False
    ) -> tuple[np.ndarray, ...]:
        t0 = time.perf_counter()
        tr = train.ffill().fillna(train.median()).fillna(0.0).to_numpy()
        te = test.ffill().fillna(train.median()).fillna(0.0).to_numpy()
        scaler = StandardScaler().fit(tr)
        model = make().fit(scaler.transform(tr))
        t1 = time.perf_counter()
        test_x = scaler.transform(te)
        flags = model.predict(test_x)
        t2 = time.perf_counter()
        timer["fit_s"] += t1 - t0
        timer["score_s"] += t2 - t1
        timer["fit_rows"] += len(tr)
        timer["score_rows"] += len(te)
        if scores:
            return model.decision_scores_, model.decision_function(test_x), flags
        return model.labels_, flags

    return predict


DETECTORS: dict[str, tuple[str, Callable[[], Any]]] = {
    "bms ensemble (default)": ("bms", lambda: None),  # None: TimeSeriesDetector's default
    # same detector, LBNL day rule from in-sample training scores as PyOD's (SKAB: identical)
    "bms ensemble, PyOD's rule": ("bms_in_sample", lambda: None),
    "bms PCA T2+Q": ("bms", lambda: PCADetector(block_rows=BLOCK_ROWS)),
    "bms residual": ("bms", lambda: ResidualDetector(block_rows=BLOCK_ROWS)),
    # opt-in families (docs/anomaly.md): not the default
    "bms MSET similarity": ("bms", lambda: SimilarityDetector(block_rows=BLOCK_ROWS)),
    "bms CUSUM residuals": ("bms", lambda: CusumDetector(block_rows=BLOCK_ROWS)),
    "bms MLP autoencoder": ("bms", lambda: AutoencoderDetector(block_rows=BLOCK_ROWS)),
    "pyod IForest": ("pyod", lambda: IForest(random_state=0, n_jobs=1)),
    "pyod ECOD": ("pyod", ECOD),
    "pyod COPOD": ("pyod", COPOD),
    "pyod PCA": ("pyod", PYOD_PCA),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default = os.environ.get(
        "BMS_DATASETS", str(Path(__file__).parents[1].parent / "shared/datasets")
    )
    parser.add_argument("--datasets", default=default)
    args = parser.parse_args()
    root = Path(args.datasets)
    print(
        f"{'detector':26s} {'SKAB F1':>8s} {'FAR%':>6s} {'MAR%':>6s} {'+train F1/FAR%':>15s} "
        f"{'fit rows/s':>11s} "
        f"{'score rows/s':>13s} | LBNL day-level acc / F1 / FAR%, row-level F1 / FAR% "
        "per protocol"
    )
    for name, (kind, make) in DETECTORS.items():
        timer: Timer = {"fit_s": 0.0, "score_s": 0.0, "fit_rows": 0.0, "score_rows": 0.0}
        if kind.startswith("bms"):
            predict = bms_factory(make(), timer, in_sample=kind == "bms_in_sample")
        else:
            predict = pyod_factory(make, timer)
        skab = evaluate_skab(root / "skab", predictor=lambda tr, te, p=predict: p(tr, te)[1])
        every = skab["with_training_rows"]  # counted as the leaderboard's code counts
        fit_rate = timer["fit_rows"] / max(timer["fit_s"], 1e-9)
        score_rate = timer["score_rows"] / max(timer["score_s"], 1e-9)
        lbnl = evaluate_lbnl(root / "lbnl_ahu", predictor=lambda tr, te, p=predict: p(tr, te, True))
        lbnl_text = "; ".join(
            f"{k}: {v['accuracy']:.2f}/{v['f1']:.2f}/{v['far']:.0f}, "
            f"rows {v['row_f1']:.2f}/{v['row_far']:.1f}"
            for k, v in lbnl.items()
        )
        print(
            f"{name:26s} {skab['f1']:8.3f} {skab['far']:6.1f} {skab['mar']:6.1f} "
            f"{every['f1']:9.3f}/{every['far']:5.1f} {fit_rate:11,.0f} {score_rate:13,.0f} "
            f"| {lbnl_text}",
            flush=True,
        )


if __name__ == "__main__":
    main()
