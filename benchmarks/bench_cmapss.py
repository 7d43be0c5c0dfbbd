"""C-MAPSS RUL quality and speed: the bms model beside a random-forest baseline, same run.

Protocol (``bms.evaluate.cmapss``): fit on ``train_FD00x``, predict the RUL at the last cycle of
each ``test_FD00x`` unit, compare with ``RUL_FD00x`` (read after predicting). Clipped figures:
true RUL clipped at 125 as in the papers of docs/BENCHMARKS.md; unclipped: raw true RUL.

Models:

* ``bms``: :class:`bms.models.rul.RunToFailureRUL` with the protocol cap 125 (what
  ``bms evaluate cmapss`` runs).
* ``RF raw last-cycle``: the baseline of docs/BENCHMARKS.md, a random forest (200 trees, at
  least 5 samples a leaf) on the raw settings and sensors of each row, piecewise-linear target
  capped at 125, predicting from each test unit's last row; its p10/p90 are the 10th and 90th
  percentiles of the trees' predictions.

Multi-condition check: FD001 with six synthetic operating regimes
(:func:`bms.evaluate.cmapss.add_operating_regimes`, like FD002/FD004, which are not in the
datasets folder): bms with and without regime normalisation, and the baseline.

Fit and predict seconds are medians over ``--repeats`` runs (quality figures do not change
between runs: every model is seeded). Run:
``.venv/bin/python benchmarks/bench_cmapss.py [--datasets DIR] [--repeats N]`` (~5 min).
"""

from __future__ import annotations

import argparse
import os
import statistics
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.ensemble import RandomForestRegressor

from bms.evaluate.cmapss import (
    PROTOCOL_MAX_RUL,
    add_operating_regimes,
    default_model,
    evaluate_frames,
    read_cmapss,
    read_cmapss_rul,
)
from bms.models.rul import RunToFailureRUL, piecewise_target


class RawForest:
    """The baseline: a random forest on the raw columns of each row, capped target."""

    def __init__(self, max_rul: float = PROTOCOL_MAX_RUL) -> None:
        self.max_rul = max_rul

    def fit(self, frame: pd.DataFrame) -> RawForest:
        self.columns_ = [c for c in frame.columns if c not in ("unit", "cycle")]
        target = piecewise_target(
            frame["unit"].to_numpy(), frame["cycle"].to_numpy(float), self.max_rul
        )
        self.forest_ = RandomForestRegressor(
            n_estimators=200, min_samples_leaf=5, n_jobs=1, random_state=0
        ).fit(frame[self.columns_].to_numpy(float), target)
        return self

    def predict_quantiles(self, frame: pd.DataFrame) -> pd.DataFrame:
        last = frame.sort_values(["unit", "cycle"]).groupby("unit").tail(1)
        x = last[self.columns_].to_numpy(float)
        trees = np.stack([t.predict(x) for t in self.forest_.estimators_])
        return pd.DataFrame(
            {
                "rul_p10": np.percentile(trees, 10, axis=0),
                "rul_p50": trees.mean(axis=0),
                "rul_p90": np.percentile(trees, 90, axis=0),
            },
            index=last["unit"].to_numpy(),
        )


def no_regimes() -> RunToFailureRUL:
    return RunToFailureRUL(
        unit_column="unit", time_column="cycle", max_rul=PROTOCOL_MAX_RUL, regime_columns=None
    )


def run(
    train: pd.DataFrame,
    test: pd.DataFrame,
    truth: np.ndarray,
    subset: str,
    factory: Callable[[], Any],
    repeats: int,
) -> dict[str, Any]:
    runs = [
        evaluate_frames(train, test, lambda: truth, subset=subset, model_factory=factory)
        for _ in range(repeats)
    ]
    result = dict(runs[0])
    result["fit_seconds"] = statistics.median(r["fit_seconds"] for r in runs)
    result["predict_seconds"] = statistics.median(r["predict_seconds"] for r in runs)
    return result


def row(name: str, r: dict[str, Any]) -> str:
    return (
        f"| {r['subset']} | {name} | {r['rmse']:.2f} | {r['phm08_score']:.0f} | "
        f"{r['rmse_unclipped']:.2f} | {r['phm08_score_unclipped']:.0f} | "
        f"{r['coverage']:.0%} | {r['fit_seconds']:.1f} | {r['predict_seconds']:.2f} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default = Path(os.environ.get("BMS_DATASETS", Path(__file__).parents[2] / "shared/datasets"))
    parser.add_argument("--datasets", type=Path, default=default)
    parser.add_argument("--repeats", type=int, default=3, help="runs of each model (timings)")
    args = parser.parse_args()
    folder = args.datasets / "cmapss"

    print(
        f"C-MAPSS, {os.cpu_count()} CPU(s); clipped at {PROTOCOL_MAX_RUL:g}; "
        f"seconds: median of {args.repeats}\n"
    )
    print(
        "| subset | model | RMSE | PHM08 | RMSE unclipped | PHM08 unclipped | p10-p90 "
        "coverage | fit s | predict s |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for subset in ("FD001", "FD003"):
        train = read_cmapss(folder / f"train_{subset}.txt")
        test = read_cmapss(folder / f"test_{subset}.txt")
        truth = read_cmapss_rul(folder / f"RUL_{subset}.txt")
        print(row("bms", run(train, test, truth, subset, default_model, args.repeats)), flush=True)
        print(row("RF raw last-cycle", run(train, test, truth, subset, RawForest, 1)), flush=True)

    train = read_cmapss(folder / "train_FD001.txt")
    test = read_cmapss(folder / "test_FD001.txt")
    truth = read_cmapss_rul(folder / "RUL_FD001.txt")
    train, test = add_operating_regimes([train, test], seed=0)
    name = "FD001+6 regimes"
    print(row("bms", run(train, test, truth, name, default_model, 1)), flush=True)
    print(row("bms, no regime normalisation", run(train, test, truth, name, no_regimes, 1)))
    print(row("RF raw last-cycle", run(train, test, truth, name, RawForest, 1)), flush=True)


if __name__ == "__main__":
    main()
