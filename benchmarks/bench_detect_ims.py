"""`bms detect` on the IMS bearing run-to-failure, beside PyOD's detectors in the same run.

Held-out real data the detectors were never developed on (``bms.evaluate.ims``): train on the
healthy start of the run, test on the rest up to bearing 1's failure. Printed per detector: the
first alarm and its lead before the failure [h], the lead of the alarm still on at the failure
[h], false alarms on the healthy test rows (count, share %), and the share of rows flagged over
the final 48 h [%]. Two splits: Flovik's (train 12-13 February, the protocol's) and one more
day of training (train until 15 February 00:00), to show whether a figure hangs on the split;
then the product's detector alone over five training ends, from half a day (79 rows) to three
and a half days (439 rows).

``bms detect`` runs as a user runs it (a subprocess, the CSVs written by ``DataFrame.to_csv``
with their time index); its top contributor over the first alarm hours is printed too. PyOD
detectors get features standardised on the training rows and PyOD's default contamination 0.1,
as in docs/BENCHMARKS.md.

    .venv/bin/python benchmarks/bench_detect_ims.py [--datasets DIR]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
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

from bms.evaluate.ims import TRAIN_END, evaluate_ims, ims_split, read_ims, warning_figures

SPLITS = {"train 12-13 Feb (protocol)": TRAIN_END, "train 12-14 Feb": pd.Timestamp("2004-02-15")}
#: Training ends of the sensitivity sweep (the product's detector alone).
SWEEP = ("2004-02-13 00:00", "2004-02-13 12:00", TRAIN_END, "2004-02-15 00:00", "2004-02-15 12:00")
PYOD: dict[str, Callable[[], Any]] = {
    "pyod IForest": lambda: IForest(random_state=0, n_jobs=1),
    "pyod ECOD": ECOD,
    "pyod COPOD": COPOD,
    "pyod PCA": PYOD_PCA,
}
#: Hours after the first alarm over which bms detect's top contributors are counted.
FIRST_HOURS = 6


def pyod_predictor(make: Callable[[], Any]) -> Callable[[pd.DataFrame, pd.DataFrame], Any]:
    def predict(train: pd.DataFrame, test: pd.DataFrame) -> np.ndarray:
        scaler = StandardScaler().fit(train.to_numpy())
        model = make().fit(scaler.transform(train.to_numpy()))
        return np.asarray(model.predict(scaler.transform(test.to_numpy())))

    return predict


def bms_detect(frame: pd.DataFrame, train_end: pd.Timestamp) -> tuple[dict[str, Any], str, float]:
    """Figures of ``bms detect`` (subprocess), its top contributors, wall seconds."""
    train, test = ims_split(frame, train_end)
    bms = Path(sys.executable).with_name("bms")
    with tempfile.TemporaryDirectory() as tmp:
        train_csv, test_csv, out_csv = (Path(tmp) / n for n in ("tr.csv", "te.csv", "o.csv"))
        train.rename_axis(None).to_csv(train_csv)  # the file's own layout: unnamed time index
        test.rename_axis(None).to_csv(test_csv)
        started = time.perf_counter()
        command = [str(bms), "detect", "--train", str(train_csv), "--test", str(test_csv)]
        subprocess.run([*command, "--out", str(out_csv)], check=True, capture_output=True)
        seconds = time.perf_counter() - started
        out = pd.read_csv(out_csv, parse_dates=["time"])
    figures = warning_figures(pd.DatetimeIndex(out["time"]), out["anomaly"].to_numpy())
    top = "-"
    if figures["first_alarm"] is not None:
        first = pd.Timestamp(figures["first_alarm"])
        early = out[(out["anomaly"] == 1) & (out["time"] < first + pd.Timedelta(hours=FIRST_HOURS))]
        counts = early["top_contributor"].value_counts()
        top = ", ".join(f"{name} {n}" for name, n in counts.items())
    return figures, top, seconds


def row(name: str, figures: dict[str, Any]) -> str:
    def hours(value: float | None) -> str:
        return "    -" if value is None else f"{value:5.1f}"

    first, final = figures["first_alarm"] or "-", figures["final_flagged"]
    false = f"{figures['false_alarm_rows']:3d}/{figures['healthy_rows']} ({figures['far']:.1f} %)"
    return (
        f"  {name:<26} first alarm {first:<19}  lead {hours(figures['lead_hours'])} h"
        f"  held {hours(figures['held_lead_hours'])} h  false {false}  final 48 h {final:5.1f} %"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default = Path(os.environ.get("BMS_DATASETS", "../shared/datasets")) / "ims_bearing"
    parser.add_argument("--datasets", type=Path, default=default, help="IMS bearing folder")
    args = parser.parse_args()
    frame = read_ims(args.datasets)
    for split, train_end in SPLITS.items():
        train, test = ims_split(frame, train_end)
        print(f"{split}: {len(train)} training rows, {len(test)} test rows to the failure")
        figures, top, seconds = bms_detect(frame, train_end)
        print(row("bms detect", figures) + f"  ({seconds:.1f} s, whole CLI)")
        print(f"    top contributors over the first {FIRST_HOURS} h of alarm: {top}")
        for name, make in PYOD.items():
            result = evaluate_ims(
                args.datasets, predictor=pyod_predictor(make), train_end=train_end
            )
            print(row(name, result))
    print("bms detector alone, training end swept (rows of training):")
    for train_end in SWEEP:
        result = evaluate_ims(args.datasets, train_end=train_end)
        print(row(f"to {pd.Timestamp(train_end):%d Feb %H:%M} ({result['n_train']})", result))


if __name__ == "__main__":
    main()
