"""Memory and time of fitting ``bms detect``'s detector on a wide TRAIN, with baselines.

A year of one-minute rows from a rooftop unit's 70 points is 525,600 rows x 70 columns (294 MB
as float64). The default :class:`~bms.models.anomaly_pipeline.TimeSeriesDetector` builds two
features per signal and fits a residual and a PCA member, each cross-validated over four
calibration folds; this script prints, for N rows x C signals (default 300,000 x 70), the
fit's peak of traced memory (``tracemalloc``: NumPy's arrays, not the interpreter) as MB and as
a multiple of the training array, and its time (median of 3 untraced fits). Baselines in the
same run, on the same array: scikit-learn's ``IsolationForest`` (default settings) and PyOD's
PCA, which fit on the raw rows without features or held-out calibration.

    .venv/bin/python benchmarks/bench_detect_fit_memory.py [--rows N] [--signals C]
"""

from __future__ import annotations

import argparse
import statistics
import time
import tracemalloc
from collections.abc import Callable

import numpy as np
import pandas as pd
from pyod.models.pca import PCA as PYOD_PCA
from sklearn.ensemble import IsolationForest

from bms.models.anomaly_pipeline import TimeSeriesDetector


def wide_train(rows: int, signals: int) -> pd.DataFrame:
    """``signals`` correlated signals (five drivers, noise) on one-minute rows."""
    rng = np.random.default_rng(0)
    drivers = np.sin(np.arange(rows)[:, None] / np.array([90.0, 400.0, 1440.0, 7.0, 33.0]))
    values = drivers @ rng.normal(size=(5, signals)) + rng.normal(0, 0.1, (rows, signals))
    index = pd.date_range("2026-01-01", periods=rows, freq="1min")
    return pd.DataFrame(values, index=index, columns=[f"p{i}" for i in range(signals)])


def traced_peak_mb(fit: Callable[[], object]) -> float:
    """Peak traced memory of ``fit()`` above what was allocated before [MB]."""
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    fit()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return (peak - before) / 1e6


def median_seconds(fit: Callable[[], object], runs: int = 3) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        fit()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=300_000)
    parser.add_argument("--signals", type=int, default=70)
    args = parser.parse_args()
    train = wide_train(args.rows, args.signals)
    size_mb = train.to_numpy().nbytes / 1e6
    print(f"TRAIN {args.rows:,} rows x {args.signals} signals: {size_mb:,.0f} MB as float64")
    fits: dict[str, Callable[[], object]] = {
        "bms detect (TimeSeriesDetector)": lambda: TimeSeriesDetector().fit(train),
        "sklearn IsolationForest": lambda: IsolationForest(random_state=0).fit(train.to_numpy()),
        "pyod PCA": lambda: PYOD_PCA().fit(train.to_numpy()),
    }
    for name, fit in fits.items():
        peak = traced_peak_mb(fit)
        seconds = median_seconds(fit)
        print(
            f"  {name:<32} peak {peak:7,.0f} MB ({peak / size_mb:4.1f} x TRAIN)  "
            f"fit {seconds:6.1f} s ({args.rows / seconds:>9,.0f} rows/s, median of 3)"
        )


if __name__ == "__main__":
    main()
