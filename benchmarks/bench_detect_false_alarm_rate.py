"""`bms detect --false-alarm-rate`: the rate chosen beside the rate found on normal rows never seen.

The learned detector's threshold is calibrated without labels on TRAIN rows held out of the fit
(:mod:`bms.models.anomaly_base`), for the share of normal rows the user lets it flag. For each
chosen rate this prints, with the product's default detector
(:class:`bms.models.anomaly_pipeline.TimeSeriesDetector`, as ``bms detect`` runs it, AHU rules
left out: they do not depend on the rate):

* LBNL MZVAV-2-2, the ``within`` split of :mod:`bms.evaluate.lbnl` (alternate fault-free days
  train): the share of the normal test rows flagged (FAR), of the faulted rows (recall), row F1;
* SKAB, the leaderboard protocol (:mod:`bms.evaluate.skab`): F1, FAR, MAR over the test points;
* SKAB's ``anomaly-free.csv`` cut into 8 chunks of 1,150 rows, each trained on its first 400
  rows: the share of its other rows flagged (all normal; the session warms up, so harsher).

    .venv/bin/python benchmarks/bench_detect_false_alarm_rate.py [--datasets DIR]
        [--rates 0.002 0.005 0.01 0.02 0.05]
"""

from __future__ import annotations

import argparse
import os
from functools import partial
from pathlib import Path

import pandas as pd

from bms.evaluate.default_detector import default_predictor
from bms.evaluate.lbnl import LABEL, read_lbnl, signal_columns, within_training_rows
from bms.evaluate.skab import TRAIN_ROWS, evaluate_skab

#: Rows per chunk of ``anomaly-free.csv`` (400 train + 750 scored, as a labelled SKAB file).
CHUNK_ROWS = 1150


def lbnl_within(frame: pd.DataFrame, rate: float) -> dict[str, float]:
    """FAR and recall [%] and row F1 on MZVAV-2-2's within split."""
    in_train = within_training_rows(frame)
    signals = signal_columns(frame)
    train, test = frame.loc[in_train, signals], frame.loc[~in_train, signals]
    flagged = default_predictor(train, test, false_alarm_rate=rate) == 1
    truth = frame.loc[~in_train, LABEL].to_numpy() == 1
    tp, fp = int((flagged & truth).sum()), int((flagged & ~truth).sum())
    fn = int((~flagged & truth).sum())
    return {
        "lbnl_far": 100 * fp / max((~truth).sum(), 1),
        "lbnl_recall": 100 * tp / max(truth.sum(), 1),
        "lbnl_f1": 2 * tp / max(2 * tp + fp + fn, 1),
    }


def anomaly_free_far(path: Path, rate: float) -> float:
    """Share [%] of the scored rows of ``anomaly-free.csv``'s chunks flagged (all normal)."""
    frame = pd.read_csv(path, sep=";", index_col="datetime", parse_dates=True)
    flagged, scored = 0, 0
    for start in range(0, len(frame) - CHUNK_ROWS + 1, CHUNK_ROWS):
        chunk = frame.iloc[start : start + CHUNK_ROWS]
        found = default_predictor(
            chunk.iloc[:TRAIN_ROWS], chunk.iloc[TRAIN_ROWS:], false_alarm_rate=rate
        )
        flagged, scored = flagged + int(found.sum()), scored + len(found)
    return 100 * flagged / max(scored, 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default = Path(os.environ.get("BMS_DATASETS", "../shared/datasets"))
    parser.add_argument("--datasets", type=Path, default=default, help="datasets folder")
    parser.add_argument("--rates", type=float, nargs="+", default=[0.002, 0.005, 0.01, 0.02, 0.05])
    args = parser.parse_args()
    mzvav = read_lbnl(args.datasets / "lbnl_ahu" / "MZVAV-2-2.csv")
    skab = args.datasets / "skab"
    rows = []
    for rate in args.rates:
        predictor = partial(default_predictor, false_alarm_rate=rate)
        result = evaluate_skab(skab, predictor=predictor, with_training_rows=False)
        rows.append(
            {"rate %": 100 * rate}
            | lbnl_within(mzvav, rate)
            | {"skab_f1": result["f1"], "skab_far": result["far"], "skab_mar": result["mar"]}
            | {
                "anomaly_free_far": anomaly_free_far(
                    skab / "anomaly-free" / "anomaly-free.csv", rate
                )
            }
        )
        print(f"rate {rate:g} done", flush=True)
    table = pd.DataFrame(rows)
    print("\nFAR, recall, MAR and the rate in %; F1 of rows (LBNL) or test points (SKAB)")
    print(table.round(3).to_string(index=False))


if __name__ == "__main__":
    main()
