"""``bms detect`` scoring throughput [rows/s] on synthetic wide data, with baselines.

Fits the default :class:`~bms.models.anomaly_pipeline.TimeSeriesDetector` (what ``bms detect``
runs) on 20,000 rows, then times its scoring step (imputation, features, detector, smoothing,
calibration, contributions and top contributor) on N rows x 8 columns (default 1,000,000).
Variants: every signal slow (drift-aware levels); two mode signals (one model per operating
regime); signals that swing over the day, judged against their daily profiles; one pass over
all rows instead of chunks of ``SCORE_CHUNK_CELLS`` values; 200 signals on 50,000 rows, in
chunks and in one pass. Baselines in the same run: sklearn IsolationForest ``score_samples``
and PyOD PCA ``decision_function`` on the same rows (no smoothing, no contributions).
Target: >= 100,000 rows/s for the scoring step.

The whole command is timed too, as a user times it: ``bms detect`` in a subprocess on CSVs of
the same rows with a timestamp column (start-up, reading, fit, scoring, writing OUT; median of
3 runs), beside the floor of its file work alone (pandas reading TEST and ``write_out``, the
command's own writer, writing an OUT of the same shape, in this process). The AHU rules that
``bms detect`` adds when the columns name an AHU's points are timed apart on the same values
under AHU names (their rate and the detector's combine as 1 / (1 / a + 1 / b)).

Run: ``.venv/bin/python benchmarks/bench_detect_throughput.py [--rows N]``
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from pyod.models.pca import PCA as PYOD_PCA
from sklearn.ensemble import IsolationForest

import bms.models.anomaly_pipeline as pipeline
from bms.evaluate.detect_rules import ahu_rule_flags
from bms.evaluate.out_path import write_out
from bms.models.anomaly_pipeline import TimeSeriesDetector

N_COLUMNS = 8


def synthetic(rng: np.random.Generator, n: int, mix: np.ndarray) -> pd.DataFrame:
    base = rng.normal(size=(n, 3))
    values = base @ mix + 0.1 * rng.normal(size=(n, N_COLUMNS))
    values[rng.random(values.shape) < 0.001] = np.nan  # a few gaps, imputed
    return pd.DataFrame(values, columns=[f"s{i}" for i in range(N_COLUMNS)])


def rate(n: int, seconds: float) -> str:
    return f"{n / seconds:>12,.0f} rows/s ({seconds:.2f} s)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    mix = rng.normal(size=(3, N_COLUMNS))  # 3 latent drivers of 8 correlated signals
    train, test = synthetic(rng, 20_000, mix), synthetic(rng, args.rows, mix)
    print(f"scoring {args.rows:,} rows x {N_COLUMNS} columns (fit on {len(train):,} rows)")

    t0 = time.perf_counter()
    model = TimeSeriesDetector().fit(train)
    print(f"bms detect fit                         {rate(len(train), time.perf_counter() - t0)}")
    t0 = time.perf_counter()
    out = model.score(test)
    print(f"bms detect score (+contributions)      {rate(args.rows, time.perf_counter() - t0)}")
    t0 = time.perf_counter()
    model.score(test, contributions=False)
    print(f"bms detect score (score + flag only)   {rate(args.rows, time.perf_counter() - t0)}")
    print(f"  share flagged: {out['anomaly'].mean():.4f}")
    print(f"  same, in one pass (no chunks)         {rate(args.rows, one_pass(model, test))}")
    # trained on drifting signals, every signal is "slow": the drift-aware (lagged-change) levels
    slow = TimeSeriesDetector().fit(train.add(np.linspace(0.0, 50.0, len(train)), axis=0))
    t0 = time.perf_counter()
    slow.score(test)
    seconds = time.perf_counter() - t0
    print(
        f"  same, {len(slow.slow_signals_)} slow signals (drift-aware) {rate(args.rows, seconds)}"
    )

    # two statuses (a fan that runs 2 h in 4, occupancy 6 h in 12): 4 operating modes, each with
    # its transition, one model per regime
    def with_modes(frame: pd.DataFrame) -> pd.DataFrame:
        minute = np.arange(len(frame))
        fan = ((minute // 120) % 2).astype(float)
        occupied = ((minute // 360) % 2).astype(float)
        return frame.assign(fan=fan, occupied=occupied)

    modes = TimeSeriesDetector().fit(with_modes(train))
    moded_test = with_modes(test)
    t0 = time.perf_counter()
    modes.score(moded_test)
    seconds = time.perf_counter() - t0
    regimes = len(modes.modelled_regimes_)
    print(f"  same, 2 mode signals ({regimes} regime models) {rate(args.rows, seconds)}")

    # minute rows whose signals swing over the day (no status column): fitted on 14 days, each
    # signal judged against its daily profile
    def clocked(frame: pd.DataFrame) -> pd.DataFrame:
        times = pd.date_range("2026-01-01", periods=len(frame), freq="min")
        swing = np.sin(2 * np.pi * (times.hour + times.minute / 60) / 24).to_numpy()
        return frame.add(2.0 * swing, axis=0).set_axis(times)

    t0 = time.perf_counter()
    daily = TimeSeriesDetector().fit(clocked(train))
    fit_seconds = time.perf_counter() - t0
    clocked_test = clocked(test)
    t0 = time.perf_counter()
    daily.score(clocked_test)
    seconds = time.perf_counter() - t0
    profiled = len(daily.profiled_signals_)
    print(f"  same, {profiled} signals with daily profiles  {rate(args.rows, seconds)}")
    print(f"    (their fit                         {rate(len(train), fit_seconds)})")

    wide_mix = rng.normal(size=(5, 200))
    wide_train, wide_test = (
        pd.DataFrame(rng.normal(size=(n, 5)) @ wide_mix + 0.2 * rng.normal(size=(n, 200)))
        for n in (5_000, 50_000)
    )
    wide = TimeSeriesDetector().fit(wide_train)
    t0 = time.perf_counter()
    wide.score(wide_test)
    seconds = time.perf_counter() - t0
    print(f"  200 signals, 50,000 rows             {rate(len(wide_test), seconds)}")
    print(
        f"  same, in one pass (no chunks)        {rate(len(wide_test), one_pass(wide, wide_test))}"
    )

    # the same 8 signals named as an AHU's points, minute timestamps: the G36 / APAR rules run
    # beside the detector (bms detect on an AHU export), TRAIN's check of them included
    names = ["Supply Air Temperature", "Supply Air Temperature Set Point", "Mixed Air Temperature",
             "Return Air Temperature", "Outdoor Air Temperature", "Supply Fan Speed",
             "Cooling Coil Valve", "Heating Coil Valve"]  # fmt: skip
    ahu_train, ahu_test = (
        f.set_axis(names, axis=1)
        .assign(**{"Supply Fan Status": 1.0})
        .set_axis(pd.date_range("2026-01-01", periods=len(f), freq="min"))
        for f in (train, test)
    )
    t0 = time.perf_counter()
    found = ahu_rule_flags(ahu_train, ahu_test)
    seconds = time.perf_counter() - t0
    assert found is not None
    print(f"  AHU rules alone ({len(found.applied)} rules)           {rate(args.rows, seconds)}")

    clean_train = train.fillna(0.0).to_numpy()
    clean_test = test.fillna(0.0).to_numpy()
    forest = IsolationForest(random_state=0, n_jobs=1).fit(clean_train)
    t0 = time.perf_counter()
    forest.score_samples(clean_test)
    print(f"baseline sklearn IsolationForest       {rate(args.rows, time.perf_counter() - t0)}")
    pca = PYOD_PCA().fit(clean_train)
    t0 = time.perf_counter()
    pca.decision_function(clean_test)
    print(f"baseline PyOD PCA                      {rate(args.rows, time.perf_counter() - t0)}")
    whole_command(train, test)


def one_pass(model: TimeSeriesDetector, test: pd.DataFrame) -> float:
    """Seconds to score ``test`` with contributions in one pass over all rows (no chunks)."""
    min_rows = pipeline.MIN_CHUNK_ROWS
    pipeline.MIN_CHUNK_ROWS = len(test)
    try:
        t0 = time.perf_counter()
        model.score(test)
        return time.perf_counter() - t0
    finally:
        pipeline.MIN_CHUNK_ROWS = min_rows


def whole_command(train: pd.DataFrame, test: pd.DataFrame, runs: int = 3) -> None:
    """``bms detect`` as a user times it, and the floor of its file work, same rows."""
    bms = Path(sys.executable).with_name("bms")
    with tempfile.TemporaryDirectory() as tmp:
        paths = {name: Path(tmp) / f"{name}.csv" for name in ("train", "test", "out")}
        for name, frame in (("train", train), ("test", test)):
            stamped = frame.set_axis(pd.date_range("2026-01-01", periods=len(frame), freq="min"))
            stamped.rename_axis("timestamp").to_csv(paths[name], float_format="%.5g")
        command = [str(bms), "detect", "--train", str(paths["train"]), "--test"]
        command += [str(paths["test"]), "--out", str(paths["out"])]
        seconds = []
        for _ in range(runs):
            t0 = time.perf_counter()
            subprocess.run(command, check=True, capture_output=True)
            seconds.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        read = pd.read_csv(paths["test"])
        written = read.iloc[:, :1].assign(score=0.5, anomaly=0, top_contributor="s0")
        write_out(written, Path(tmp) / "floor.csv")
        floor = time.perf_counter() - t0
    median = statistics.median(seconds)
    print(f"bms detect, whole command (median of {runs}) {rate(len(test), median)}")
    print(f"  floor: reading TEST, writing OUT     {rate(len(test), floor)}")


if __name__ == "__main__":
    main()
