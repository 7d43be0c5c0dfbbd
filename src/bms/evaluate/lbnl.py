"""LBNL AHU fault data: day-level fault detection (no leaderboard; protocol documented here).

Each fault in the LBNL release is imposed at 00:00 and held all day, so a *day* is the unit:
a detector is fitted on fault-free days (rows, no labels) and scores every row (0..1, 0.5 = the
row threshold). A day's score is the median of its row scores (robust to a few odd minutes,
sensitive to a condition that lasts), and a test day is flagged when its score exceeds the
highest day score among the training days, computed from held-out training scores: the rule
is calibrated without labels, and would raise no alarm on any training day. The product's
row scores for this ranking are its ``level`` (smoothed anomaly over the global threshold:
one scale for the whole day, whatever the operating regime of each row).

Row level as well: the detector's own row flags (``bms detect``'s ``anomaly`` column) against
the day's label on every test row: row F1, FAR and MAR.

Protocols (:func:`evaluate_lbnl`):

* ``within:<unit>``: the unit's fault-free days in date order, every other one (1st, 3rd, ...)
  trains, every other day of the unit (the remaining fault-free days and all faulted days)
  tests. Alternating keeps each season (MZVAV-2-2 has August, February and May days) on both
  sides; a unit with a single fault-free day trains on it and has no normal test day.
* ``cross:<A>-><B>``: all fault-free days of unit A train, every day of unit B tests, on the
  signals the two units share (:data:`COMMON_SIGNALS`; the set points differ between
  multi-zone and single-zone units and are left out).

Figures per protocol: day accuracy, F1 of the faulted class, FAR [% of normal test days
flagged], MAR [%], the day counts, and the row figures ``row_f1``, ``row_far`` [% of normal
test rows flagged], ``row_mar`` [%].
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from bms.errors import BmsError
from bms.evaluate.detection_metrics import Confusion
from bms.models.anomaly_pipeline import TimeSeriesDetector

__all__ = [
    "COMMON_SIGNALS",
    "LABEL",
    "day_scores",
    "evaluate_lbnl",
    "read_lbnl",
    "signal_columns",
    "within_training_rows",
]

logger = logging.getLogger(__name__)

LABEL = "Fault Detection Ground Truth"
#: Signals present in both the multi-zone (MZVAV) and single-zone (SZCAV/SZVAV) files.
COMMON_SIGNALS = (
    "AHU: Supply Air Temperature",
    "AHU: Outdoor Air Temperature",
    "AHU: Mixed Air Temperature",
    "AHU: Return Air Temperature",
    "AHU: Supply Air Fan Status",
    "AHU: Supply Air Fan Speed Control Signal",
    "AHU: Outdoor Air Damper Control Signal",
    "AHU: Return Air Damper Control Signal",
    "AHU: Exhaust Air Damper Control Signal",
    "AHU: Cooling Coil Valve Control Signal",
    "AHU: Heating Coil Valve Control Signal",
    "Occupancy Mode Indicator",
)
#: ``predictor(train_signals, test_signals) -> (train_row_scores, test_row_scores,
#: test_row_flags)``, scores higher = more anomalous, flags 0/1 (the detector's own row
#: decision); the training scores should be held-out (or in-sample) scores of the training
#: rows, in order: they calibrate the day rule.
RowPredictor = Callable[
    [pd.DataFrame, pd.DataFrame],
    tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.int64]],
]


def read_lbnl(path: Path | str) -> pd.DataFrame:
    """Read one LBNL AHU CSV: stripped names, ``Datetime`` parsed, a ``day`` column added.

    Cells that are not numbers (the files hold a few spreadsheet errors such as ``#VALUE!``)
    become NaN, which the detectors impute.

    Returns
    -------
    DataFrame of shape (n_minutes, n_columns + 1)
        Signals, ``LABEL`` (0/1) and ``day`` (datetime.date), rows in time order.
    """
    path = Path(path)
    if not path.is_file():
        raise BmsError(f"LBNL file not found: {path}")
    frame = pd.read_csv(path)
    frame.columns = [c.strip() for c in frame.columns]
    if LABEL not in frame.columns or "Datetime" not in frame.columns:
        raise BmsError(f"{path}: expected 'Datetime' and {LABEL!r} columns")
    time = pd.to_datetime(frame.pop("Datetime"), format="%m/%d/%Y %H:%M")
    frame = frame.apply(pd.to_numeric, errors="coerce")  # spreadsheet errors ('#VALUE!') -> NaN
    frame.index = pd.DatetimeIndex(time, name="time")
    frame["day"] = frame.index.date
    return frame.sort_index(kind="stable")


def signal_columns(frame: pd.DataFrame) -> list[str]:
    """The signals of a frame read by :func:`read_lbnl` (neither the label nor the day)."""
    return [c for c in frame.columns if c not in (LABEL, "day")]


def within_training_rows(frame: pd.DataFrame) -> NDArray[np.bool_]:
    """The training rows of the within-unit protocol: the fault-free days in date order,
    every other one (1st, 3rd, ...); the other rows are its test rows."""
    normal_days = sorted(frame.loc[frame[LABEL] == 0, "day"].unique())
    return frame["day"].isin(set(normal_days[::2])).to_numpy()


def default_row_predictor(
    train: pd.DataFrame, test: pd.DataFrame
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.int64]]:
    """The product default (as ``bms detect``): held-out training levels, test levels, flags."""
    model = TimeSeriesDetector().fit(train)
    out = model.score(test, contributions=False, levels=True)
    return model.train_levels_, out["level"].to_numpy(), out["anomaly"].to_numpy()


def day_scores(days: pd.Series, row_scores: NDArray[np.float64]) -> pd.Series:
    """Median row score of each day.

    Parameters
    ----------
    days : Series of shape (n_rows,)
        Day of each row.
    row_scores : ndarray of shape (n_rows,)
        Anomaly score per row (higher = more anomalous).

    Returns
    -------
    Series indexed by day
    """
    scores = pd.Series(np.asarray(row_scores, dtype=np.float64), index=days.to_numpy())
    return scores.groupby(level=0).median()


def _run(
    train: pd.DataFrame, test: pd.DataFrame, signals: list[str], predictor: RowPredictor
) -> dict[str, Any]:
    train_scores, test_scores, test_flags = predictor(train[signals], test[signals])
    day_threshold = float(day_scores(train["day"], train_scores).max())
    per_day = day_scores(test["day"], test_scores)
    predicted = (per_day > day_threshold).astype(np.int64)
    truth = test.groupby("day")[LABEL].max().astype(np.int64)
    confusion = Confusion().add(truth.loc[predicted.index].to_numpy(), predicted.to_numpy())
    figures = confusion.as_dict()
    rows = Confusion().add(test[LABEL].to_numpy(np.int64), np.asarray(test_flags, np.int64))
    row_figures = rows.as_dict()
    return {
        "accuracy": figures["accuracy"],
        "f1": figures["f1"],
        "far": figures["far"],
        "mar": figures["mar"],
        "row_f1": row_figures["f1"],
        "row_far": row_figures["far"],
        "row_mar": row_figures["mar"],
        "n_train_days": int(train["day"].nunique()),
        "n_test_days": len(predicted),
        "n_faulty_test_days": int(truth.sum()),
        "day_threshold": round(day_threshold, 4),
    }


def evaluate_lbnl(
    data_dir: Path | str,
    *,
    units: tuple[str, ...] = ("MZVAV-2-2", "SZCAV"),
    predictor: RowPredictor = default_row_predictor,
) -> dict[str, dict[str, Any]]:
    """Run the within-unit and cross-unit day-level protocols on the units present.

    Parameters
    ----------
    data_dir : path
        Folder holding ``<unit>.csv`` files.
    units : tuple of str
        Units to use (files missing from ``data_dir`` are skipped with a log line).
    predictor : callable
        See :data:`RowPredictor`.

    Returns
    -------
    dict
        Protocol name (``within:<unit>``, ``cross:<A>-><B>``) -> figures.
    """
    data_dir = Path(data_dir)
    frames = {}
    for unit in units:
        path = data_dir / f"{unit}.csv"
        if path.is_file():
            frames[unit] = read_lbnl(path)
        else:
            logger.info("LBNL unit %s not found under %s: skipped", unit, data_dir)
    if not frames:
        raise BmsError(f"no LBNL unit files ({', '.join(units)}) under {data_dir}")
    results: dict[str, dict[str, Any]] = {}
    for unit, frame in frames.items():
        in_train = within_training_rows(frame)
        if not in_train.any():
            continue  # no fault-free day
        results[f"within:{unit}"] = _run(
            frame[in_train], frame[~in_train], signal_columns(frame), predictor
        )
    for a, frame_a in frames.items():
        for b, frame_b in frames.items():
            if a == b:
                continue
            signals = [s for s in COMMON_SIGNALS if s in frame_a and s in frame_b]
            train = frame_a[frame_a[LABEL] == 0]
            if train.empty or not signals:
                continue
            results[f"cross:{a}->{b}"] = _run(train, frame_b, signals, predictor)
    return results
