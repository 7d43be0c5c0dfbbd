"""IMS bearing run-to-failure (test 2): does a detector trained on healthy days warn in time?

The data set (``ims_bearing/Averaged_BearingTest_Dataset.csv``, see its README) holds the mean
absolute vibration of four bearings on one shaft, one row every 10 minutes from 12 to 19
February 2004; the run ended with an outer-race failure of bearing 1. It has no leaderboard and
no point labels, only the failure time, so the protocol here asks what a maintenance team asks:

* **train** on the rows before :data:`TRAIN_END`, the healthy start of the run that the code
  of the tutorial this file comes from (V. Flovik, 2018) trains on (12-13 February; the
  README's "12-15 Feb" is the healthy part); nothing else is read while fitting;
* **test** on every later row up to the failure (:data:`FAILURE_TIME`, the last running row;
  the two rows after it are the stopped rig and are dropped);
* **warning**: the first alarm and its lead time before the failure [h]; ``held_from``: the
  start of the alarm that is still on at the failure (an alarm that keeps coming and going is
  not one a team acts on), and its lead [h];
* **false alarms**: flagged test rows before :data:`HEALTHY_UNTIL` (the README calls 12-15
  February the healthy part of the run), as a count and a share [%];
* **recall proxy**: the share of rows flagged over the last :data:`FINAL_HOURS` hours [%].

The detector is the product's default, as ``bms detect`` runs it; :func:`evaluate_ims` takes
any ``predictor(train_frame, test_frame) -> 0/1 array`` for the baselines of the benchmark.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from bms.errors import BmsError
from bms.evaluate.dataset_cells import (
    in_time_order_or_refused,
    numbers_or_refused,
    times_or_refused,
)
from bms.evaluate.dataset_files import read_dataset_table
from bms.evaluate.default_detector import Predictor, default_predictor
from bms.evaluate.detection_metrics import held_alarm_start

__all__ = [
    "FAILURE_TIME",
    "FINAL_HOURS",
    "HEALTHY_UNTIL",
    "IMS_FILE",
    "TRAIN_END",
    "evaluate_ims",
    "ims_split",
    "read_ims",
    "warning_figures",
]

#: The derived test-2 file inside the data set's folder.
IMS_FILE = "Averaged_BearingTest_Dataset.csv"
#: The last row of the rig running: bearing 1 has failed (README).
FAILURE_TIME = pd.Timestamp("2004-02-19 06:02:39")
#: Rows before this time train (Flovik's split: 12 and 13 February).
TRAIN_END = pd.Timestamp("2004-02-13 23:52:39")
#: Test rows before this time are healthy: an alarm there is false.
HEALTHY_UNTIL = pd.Timestamp("2004-02-16 00:00:00")
#: The recall proxy looks at this many hours before the failure.
FINAL_HOURS = 48.0


def read_ims(data_dir: Path | str) -> pd.DataFrame:
    """The four bearings' mean absolute vibration [g], indexed by time, up to the failure.

    Raises
    ------
    BmsError
        One line naming the file and the line, or the data row and cell: a file that is
        missing, empty or not UTF-8; a line of more or fewer fields than the header's; a
        reading that is not a number; a time that is not one, written with a UTC offset, or
        earlier than the row before; a file that ends before :data:`FAILURE_TIME` (its
        figures would be those of a run that never fails).
    """
    path = Path(data_dir) / IMS_FILE
    if not path.is_file():
        raise BmsError(f"IMS bearing file not found: {path}")
    frame = read_dataset_table(path, sep=",", index_col=0)
    if frame.shape[1] == 0:
        raise BmsError(
            f"{path}: a single column; the IMS file is ','-separated: the time, then one "
            "column per bearing"
        )
    times = times_or_refused(pd.Series(frame.index), path, "the time column's")
    in_time_order_or_refused(times, path, "the time column's")
    frame.index = pd.DatetimeIndex(times, name="time")
    frame = numbers_or_refused(frame, path)
    if frame.index[-1] < FAILURE_TIME:
        raise BmsError(
            f"{path} ends at {frame.index[-1]}, before the bearing's failure at {FAILURE_TIME}: "
            "the protocol needs the run to failure"
        )
    return frame.loc[:FAILURE_TIME]


def ims_split(
    frame: pd.DataFrame, train_end: pd.Timestamp = TRAIN_END
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(train, test): the rows before ``train_end``, and the others."""
    in_train = frame.index < train_end
    return frame[in_train], frame[~in_train]


def _hours_before_failure(time: pd.Timestamp | None) -> float | None:
    if time is None:
        return None
    return round((FAILURE_TIME - time) / pd.Timedelta(hours=1), 1)


def warning_figures(times: pd.DatetimeIndex, flags: NDArray[np.int64]) -> dict[str, Any]:
    """The protocol's figures for 0/1 ``flags`` of the test rows at ``times`` (module doc)."""
    flags = np.asarray(flags, dtype=np.int64)
    if len(flags) != len(times):
        raise ValueError(f"{len(flags)} flags for {len(times)} test rows")
    flagged = np.flatnonzero(flags == 1)
    first = times[flagged[0]] if len(flagged) else None
    held_row = held_alarm_start(flags)
    held = None if held_row is None else times[held_row]
    healthy = times < HEALTHY_UNTIL
    final = times >= FAILURE_TIME - pd.Timedelta(hours=FINAL_HOURS)
    return {
        "first_alarm": None if first is None else str(first),
        "lead_hours": _hours_before_failure(first),
        "held_from": None if held is None else str(held),
        "held_lead_hours": _hours_before_failure(held),
        "healthy_rows": int(healthy.sum()),
        "false_alarm_rows": int(flags[healthy].sum()),
        "far": round(100.0 * float(flags[healthy].mean()), 2) if healthy.any() else None,
        "final_flagged": round(100.0 * float(flags[final].mean()), 1) if final.any() else None,
    }


def evaluate_ims(
    data_dir: Path | str,
    *,
    predictor: Predictor = default_predictor,
    train_end: pd.Timestamp | str = TRAIN_END,
) -> dict[str, Any]:
    """Run the protocol of the module docstring (``train_end``: another split, for checking
    that a figure does not hang on the split's day).

    Returns
    -------
    dict
        ``n_train``, ``n_test`` [rows], ``failure`` (time), and the figures of
        :func:`warning_figures`: ``first_alarm``, ``lead_hours``, ``held_from``,
        ``held_lead_hours``, ``healthy_rows``, ``false_alarm_rows``, ``far`` [%],
        ``final_flagged`` [%].
    """
    frame = read_ims(data_dir)
    train, test = ims_split(frame, pd.Timestamp(train_end))
    if train.empty:
        raise BmsError(
            f"{Path(data_dir) / IMS_FILE} starts at {frame.index[0]}, after the training days "
            f"(before {pd.Timestamp(train_end)}): the protocol trains on the run's healthy start"
        )
    flags = predictor(train, test)
    return {
        "n_train": len(train),
        "n_test": len(test),
        "failure": str(FAILURE_TIME),
        **warning_figures(pd.DatetimeIndex(test.index), flags),
    }
