"""The SKAB outlier-detection protocol (repo ``waico/SKAB``, ``core/utils.py``).

Each of the 34 labelled files (``valve1/*``, ``valve2/*``, ``other/*``; not ``anomaly-free``)
is handled on its own: its first 400 rows train (no labels read), the rest test. F1, FAR and
MAR are computed over all test points of all files pooled, FAR and MAR in percent.

The published leaderboard was not computed over the test points alone. Its notebooks
(``notebooks/Conv_AE.ipynb``, ``notebooks/MSET.ipynb``) score every row of each file, the 400
training rows included (scored by the model fitted on them), and ``core/metrics.py``
(``chp_score(..., metric="binary")``) counts them all: the training rows, normal and flagged
by almost no detector, add about 13,300 true negatives to the 11,000 normal test points and
roughly halve the false-alarm rate. :func:`evaluate_skab` reports that counting as well
(``with_training_rows``), so that a figure can be set beside the leaderboard's like for like;
the headline figures stay those of the test points.

The detector is the product's default (:class:`bms.models.anomaly_pipeline.TimeSeriesDetector`,
the same settings ``bms detect`` uses); :func:`evaluate_skab` also takes any factory of a
``fit(train_frame) -> score(test_frame)``-like object for the baselines of the benchmark.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from bms.errors import BmsError
from bms.evaluate.dataset_cells import (
    describe_cell,
    in_time_order_or_refused,
    numbers_or_refused,
    times_or_refused,
)
from bms.evaluate.dataset_files import read_dataset_table
from bms.evaluate.default_detector import Predictor, default_predictor
from bms.evaluate.detection_metrics import Confusion

__all__ = ["SKAB_FOLDERS", "TRAIN_ROWS", "evaluate_skab", "iter_skab_files", "read_skab_file"]

logger = logging.getLogger(__name__)

#: Folders holding the labelled experiments.
SKAB_FOLDERS = ("valve1", "valve2", "other")
#: Rows of each file used for training in the leaderboard protocol.
TRAIN_ROWS = 400
_LABELS = ("anomaly", "changepoint")


def read_skab_file(path: Path) -> tuple[pd.DataFrame, NDArray[np.int64]]:
    """Read one SKAB CSV.

    Returns
    -------
    signals : DataFrame of shape (n_rows, 8)
        The eight sensor columns, indexed by ``datetime``.
    labels : ndarray of shape (n_rows,)
        The 0/1 ``anomaly`` column.

    Raises
    ------
    BmsError
        One line naming the file and the line, or the column, data row and cell: a file that
        is empty, not UTF-8, or a folder; a line of more or fewer fields than the header's; a
        label other than 0 or 1; a time that is not one, or earlier than the row before (the
        protocol's split is the file's order as written).
    """
    frame = read_dataset_table(path, sep=";")
    if "datetime" not in frame.columns:
        raise BmsError(f"{path}: no 'datetime' column (SKAB files are ';'-separated)")
    if "anomaly" not in frame.columns:
        raise BmsError(f"{path}: no 'anomaly' column; is this a labelled SKAB file?")
    if len(frame) <= TRAIN_ROWS:
        raise BmsError(
            f"{path}: {len(frame)} rows; the protocol trains on the first {TRAIN_ROWS} and "
            "tests the rest"
        )
    anomaly = pd.to_numeric(frame["anomaly"], errors="coerce")
    if not anomaly.isin([0, 1]).all():
        row = int(np.flatnonzero(~anomaly.isin([0, 1]).to_numpy())[0])
        cell = describe_cell(frame["anomaly"].iloc[row])
        raise BmsError(f"{path}: 'anomaly' must be 0 or 1; data row {row + 1} holds {cell}")
    times = times_or_refused(frame.pop("datetime"), path, "'datetime'")
    in_time_order_or_refused(times, path, "'datetime'")
    frame = frame.set_index(pd.DatetimeIndex(times, name="datetime"))
    labels = anomaly.to_numpy().astype(np.int64)
    signals = frame.drop(columns=[c for c in _LABELS if c in frame.columns])
    return numbers_or_refused(signals, path), labels


def iter_skab_files(data_dir: Path) -> Iterator[Path]:
    """The labelled files under ``data_dir`` in a stable order (folder, then file number)."""
    for folder in SKAB_FOLDERS:
        files = sorted((data_dir / folder).glob("*.csv"), key=lambda p: (len(p.stem), p.stem))
        yield from files


def evaluate_skab(
    data_dir: Path | str,
    *,
    predictor: Predictor = default_predictor,
    limit: int | None = None,
    with_training_rows: bool = True,
) -> dict[str, Any]:
    """Run the SKAB protocol on every labelled file.

    Parameters
    ----------
    data_dir : path
        The SKAB ``data`` folder (with ``valve1/``, ``valve2/``, ``other/``).
    predictor : callable, default=default_predictor
        ``predictor(train_frame, test_frame) -> 0/1 array`` for the test rows.
    limit : int or None
        Use only the first ``limit`` files (quick checks).
    with_training_rows : bool, default=True
        Also count each file's training rows, flagged by ``predictor(train, train)``, as the
        leaderboard's code does (module docstring).

    Returns
    -------
    dict
        ``f1``, ``far`` [%], ``mar`` [%] over the test points, ``n_files``, ``n_test_points``,
        ``seconds``, ``by_folder`` (``valve1``, ``valve2``, ``other`` -> ``f1``, ``far``,
        ``mar`` over that folder's test points: which kind of fault is missed); with
        ``with_training_rows``, ``with_training_rows``: ``f1``, ``far``, ``mar``, ``n_points``
        over every row of every file.
    """
    data_dir = Path(data_dir)
    if not data_dir.is_dir():
        raise BmsError(f"SKAB folder not found: {data_dir}")
    files = list(iter_skab_files(data_dir))
    if not files:
        raise BmsError(f"no SKAB files under {data_dir} (expected {', '.join(SKAB_FOLDERS)}/)")
    files = files[:limit] if limit is not None else files
    pooled, every_row = Confusion(), Confusion()
    by_folder: dict[str, Confusion] = {}
    started = time.perf_counter()
    for path in files:
        signals, labels = read_skab_file(path)
        train, test = signals.iloc[:TRAIN_ROWS], signals.iloc[TRAIN_ROWS:]
        pred = predictor(train, test)
        pooled.add(labels[TRAIN_ROWS:], pred)
        by_folder.setdefault(path.parent.name, Confusion()).add(labels[TRAIN_ROWS:], pred)
        if with_training_rows:
            every_row.add(labels, np.concatenate([predictor(train, train), pred]))
        logger.debug("%s/%s: %s", path.parent.name, path.name, pooled.as_dict())
    figures = pooled.as_dict()
    result: dict[str, Any] = {
        "f1": figures["f1"],
        "far": figures["far"],
        "mar": figures["mar"],
        "n_files": len(files),
        "n_test_points": pooled.n,
        "seconds": round(time.perf_counter() - started, 2),
        "by_folder": {
            folder: {key: confusion.as_dict()[key] for key in ("f1", "far", "mar")}
            for folder, confusion in by_folder.items()
        },
    }
    if with_training_rows:
        counted = every_row.as_dict()
        result["with_training_rows"] = {
            "f1": counted["f1"],
            "far": counted["far"],
            "mar": counted["mar"],
            "n_points": every_row.n,
        }
    return result
