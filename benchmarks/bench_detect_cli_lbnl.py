"""`bms detect` end to end on the LBNL AHU files, scored outside the product.

For each unit: the fault-free days in date order, every other one (1st, 3rd, ...) written to a
training CSV, every other day to a test CSV (the split of ``bms.evaluate.lbnl``'s ``within``
protocol), ``bms detect`` run as a user would run it (a subprocess, CSV in, CSV out), and its
``anomaly`` column counted here against the file's day labels: row F1, FAR [% of normal test
rows flagged], MAR [%], and the share of rows flagged on each test day; the same without the
AHU rules (``--no-rules``: the learned detector alone). Baseline in the same run:
scikit-learn's ``IsolationForest`` (default settings, contamination "auto") on the same rows,
standardised on the training rows.

    .venv/bin/python benchmarks/bench_detect_cli_lbnl.py [--datasets DIR]
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from lbnl_data import lbnl_folder
from sklearn.ensemble import IsolationForest
from sklearn.preprocessing import StandardScaler

from bms.evaluate.lbnl import LABEL, read_lbnl, signal_columns, within_training_rows

UNITS = ("MZVAV-2-2", "SZCAV")


def row_figures(truth: np.ndarray, flags: np.ndarray) -> str:
    """``F1 x, FAR y %, MAR z %`` of 0/1 row flags against 0/1 labels."""
    tp = int(((flags == 1) & (truth == 1)).sum())
    fp = int(((flags == 1) & (truth == 0)).sum())
    fn = int(((flags == 0) & (truth == 1)).sum())
    normal, faulted = int((truth == 0).sum()), int((truth == 1).sum())
    f1 = 2 * tp / max(2 * tp + fp + fn, 1)
    far = f"{100 * fp / normal:.2f} %" if normal else "- (no normal row)"
    mar = f"{100 * fn / faulted:.1f} %" if faulted else "-"
    return f"F1 {f1:.3f}, FAR {far}, MAR {mar}"


def main() -> None:
    datasets = lbnl_folder(__doc__.splitlines()[0])
    bms = Path(sys.executable).with_name("bms")
    for unit in UNITS:
        frame = read_lbnl(datasets / f"{unit}.csv")
        in_train = within_training_rows(frame)
        signals = signal_columns(frame)
        train, test = frame[in_train], frame[~in_train]
        with tempfile.TemporaryDirectory() as tmp:
            train_csv, test_csv, out_csv = (Path(tmp) / n for n in ("tr.csv", "te.csv", "o.csv"))
            train[signals].to_csv(train_csv)
            test[signals].to_csv(test_csv)
            started = time.perf_counter()
            command = [str(bms), "detect", "--train", str(train_csv), "--test", str(test_csv)]
            subprocess.run(
                [*command, "--out", str(out_csv)],
                check=True,
                capture_output=True,
            )
            seconds = time.perf_counter() - started
            flags = pd.read_csv(out_csv)["anomaly"].to_numpy()
            subprocess.run(
                [*command, "--out", str(out_csv), "--no-rules"], check=True, capture_output=True
            )
            learned_only = pd.read_csv(out_csv)["anomaly"].to_numpy()
        truth = test[LABEL].to_numpy()
        medians = train[signals].median()
        train_filled = train[signals].fillna(medians)
        scaler = StandardScaler().fit(train_filled)
        forest = IsolationForest(random_state=0).fit(scaler.transform(train_filled))
        forest_flags = forest.predict(scaler.transform(test[signals].fillna(medians)))
        print(
            f"{unit}: {len(train):,} training rows ({train['day'].nunique()}"
            f" days), {len(test):,} test rows; bms detect {seconds:.1f} s (whole CLI)"
        )
        print(f"  bms detect:       {row_figures(truth, flags)}")
        print(f"    --no-rules:     {row_figures(truth, learned_only)}")
        print(f"  IsolationForest:  {row_figures(truth, (forest_flags == -1).astype(int))}")
        per_day = pd.DataFrame({"label": truth, "flagged": flags}, index=test["day"].to_numpy())
        table = per_day.groupby(level=0).agg(label=("label", "max"), flagged=("flagged", "mean"))
        print("  share of rows flagged per test day (label 1 = faulted):")
        for day, row in table.iterrows():
            print(f"    {day}  label {int(row['label'])}  {100 * row['flagged']:5.1f} %")


if __name__ == "__main__":
    main()
