"""The NASA C-MAPSS turbofan protocol (Saxena et al., PHM08).

Train on ``train_FD00x.txt`` (complete run-to-failure histories); predict the RUL at the last
cycle of each unit of ``test_FD00x.txt``; compare with ``RUL_FD00x.txt``, which is read only
after the model is fitted and has predicted. Two figures are reported:

- the usual *clipped* protocol: true test RUL clipped at the cap (125 cycles), predictions
  capped likewise by the model's piecewise-linear target: ``rmse``, ``phm08_score``;
- the *unclipped* figures against the raw true RUL: ``rmse_unclipped``,
  ``phm08_score_unclipped``.

``coverage`` is the share of test units whose (clipped) true RUL lies in ``[rul_p10, rul_p90]``.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from bms.errors import BmsError
from bms.evaluate.dataset_cells import (
    finite_or_refused,
    numbers_or_refused,
    whole_numbers_or_refused,
)
from bms.evaluate.dataset_files import WHITESPACE, read_dataset_table, read_dataset_text
from bms.evaluate.rul_metrics import interval_coverage, phm08_score, rmse
from bms.models.rul import RunToFailureRUL

__all__ = [
    "CMAPSS_COLUMNS",
    "PROTOCOL_MAX_RUL",
    "add_operating_regimes",
    "default_model",
    "evaluate_cmapss",
    "evaluate_frames",
    "read_cmapss",
    "read_cmapss_rul",
]

logger = logging.getLogger(__name__)

#: Column names of the NASA text files, in order.
CMAPSS_COLUMNS = (
    "unit",
    "cycle",
    "op_setting_1",
    "op_setting_2",
    "op_setting_3",
    *(f"sensor_{i}" for i in range(1, 22)),
)
#: Cap of the target and of the true test RUL in the usual protocol. [cycles]
PROTOCOL_MAX_RUL = 125.0
_SUBSET = re.compile(r"^FD00[1-4]$")

#: Builds an unfitted model with ``fit(frame)`` and ``predict_quantiles(frame)``.
ModelFactory = Callable[[], Any]


def _check_subset(subset: str) -> str:
    name = subset.upper()
    if not _SUBSET.match(name):
        raise BmsError(f"--subset must be FD001, FD002, FD003 or FD004, got {subset!r}")
    return name


def read_cmapss(path: Path | str) -> pd.DataFrame:
    """Read a ``train_``/``test_FD00x.txt`` file into named columns (:data:`CMAPSS_COLUMNS`).

    Raises
    ------
    BmsError
        One line naming the file and the line or the cell: a file that is not there, empty
        or not UTF-8 (:func:`~bms.evaluate.dataset_files.read_dataset_table`); a line of more
        or fewer than 26 fields (one cut short was read with its missing readings filled
        in); a cell that is not a finite number (``nan`` and ``inf`` included: the files hold
        none); a unit id that is not a whole number.
    """
    path = Path(path)
    frame = read_dataset_table(
        path, sep=WHITESPACE, fields=len(CMAPSS_COLUMNS), header=None, keep_default_na=False
    )
    if frame.shape[1] != len(CMAPSS_COLUMNS):
        raise BmsError(
            f"{path}: {frame.shape[1]} columns, expected {len(CMAPSS_COLUMNS)} (C-MAPSS layout)"
        )
    frame.columns = list(CMAPSS_COLUMNS)
    frame = numbers_or_refused(frame, path)
    finite_or_refused(frame, path)
    frame["unit"] = whole_numbers_or_refused(frame["unit"], path, "a unit id")
    return frame


def read_cmapss_rul(path: Path | str) -> np.ndarray:
    """Read ``RUL_FD00x.txt``: the true RUL after each test unit's last cycle. [cycles]

    Raises
    ------
    BmsError
        One line naming the file and the value: not a number, not finite (``inf`` was
        written as ``Infinity`` into ``--json``, which is not JSON), or negative.
    """
    path = Path(path)
    cells = pd.Series(read_dataset_text(path).split(), dtype=object)
    if cells.empty:
        raise BmsError(f"{path}: the file is empty")
    numbers = pd.to_numeric(cells, errors="coerce")
    if numbers.isna().any():
        first = int(np.flatnonzero(numbers.isna().to_numpy())[0])
        raise BmsError(f"{path}: value {first + 1} is {cells.iloc[first]!r}, not a number")
    values = numbers.to_numpy(dtype=float)
    if not np.isfinite(values).all():
        first = int(np.flatnonzero(~np.isfinite(values))[0])
        raise BmsError(
            f"{path}: value {first + 1} is {cells.iloc[first]!r}, not a finite number of cycles"
        )
    if (values < 0).any():
        first = int(np.flatnonzero(values < 0)[0])
        raise BmsError(
            f"{path}: value {first + 1} is {cells.iloc[first]!r}: a remaining useful life is "
            "never negative"
        )
    return values


def default_model() -> RunToFailureRUL:
    """The product model with the protocol's cap (125 cycles)."""
    return RunToFailureRUL(unit_column="unit", time_column="cycle", max_rul=PROTOCOL_MAX_RUL)


def evaluate_cmapss(
    data_dir: Path | str,
    subset: str,
    *,
    model_factory: ModelFactory = default_model,
    max_rul: float = PROTOCOL_MAX_RUL,
) -> dict[str, Any]:
    """Fit on the training units, predict each test unit's last cycle, score.

    Parameters
    ----------
    data_dir : Path or str
        Folder holding ``train_/test_/RUL_FD00x.txt``.
    subset : str
        ``FD001`` .. ``FD004``.
    model_factory : callable, default=default_model
        Returns an unfitted model (``fit(frame)``; ``predict_quantiles(frame)`` -> frame indexed
        by unit with ``rul_p10, rul_p50, rul_p90``).
    max_rul : float, default=125
        Clip of the true test RUL for the clipped figures. [cycles]

    Returns
    -------
    dict
        ``subset, rmse, phm08_score, rmse_unclipped, phm08_score_unclipped, coverage, n_units,
        fit_seconds, predict_seconds``.
    """
    name = _check_subset(subset)
    folder = Path(data_dir)
    if not folder.is_dir():
        raise BmsError(f"--data {folder}: not a directory")
    train = read_cmapss(folder / f"train_{name}.txt")
    test = read_cmapss(folder / f"test_{name}.txt")
    rul_path = folder / f"RUL_{name}.txt"
    if not rul_path.is_file():
        raise BmsError(f"{rul_path}: file not found")

    return evaluate_frames(
        train, test, lambda: read_cmapss_rul(rul_path), subset=name,
        model_factory=model_factory, max_rul=max_rul,
    )  # fmt: skip


def evaluate_frames(
    train: pd.DataFrame,
    test: pd.DataFrame,
    truth: Callable[[], np.ndarray],
    *,
    subset: str,
    model_factory: ModelFactory = default_model,
    max_rul: float = PROTOCOL_MAX_RUL,
) -> dict[str, Any]:
    """The protocol on frames already read (see :func:`evaluate_cmapss`).

    ``truth`` returns the true RUL of each test unit in unit order; it is called only after
    the model has been fitted and has predicted.
    """
    model = model_factory()
    start = time.perf_counter()
    model.fit(train)
    fit_seconds = time.perf_counter() - start
    start = time.perf_counter()
    pred = model.predict_quantiles(test)
    predict_seconds = time.perf_counter() - start

    true_rul = np.asarray(truth(), dtype=float)  # read only now, after fitting and predicting
    units = np.sort(test["unit"].unique())
    if len(true_rul) != len(units):
        raise BmsError(f"{subset}: {len(true_rul)} true RUL values for {len(units)} test units")
    pred = pred.loc[units]
    clipped = np.minimum(true_rul, max_rul)
    p50 = pred["rul_p50"].to_numpy()
    return {
        "subset": subset,
        "rmse": round(rmse(clipped, p50), 3),
        "phm08_score": round(phm08_score(clipped, p50), 1),
        "rmse_unclipped": round(rmse(true_rul, p50), 3),
        "phm08_score_unclipped": round(phm08_score(true_rul, p50), 1),
        "coverage": round(
            interval_coverage(clipped, pred["rul_p10"].to_numpy(), pred["rul_p90"].to_numpy()), 3
        ),
        "n_units": len(units),
        "fit_seconds": round(fit_seconds, 2),
        "predict_seconds": round(predict_seconds, 3),
    }


#: Operating points of C-MAPSS FD002/FD004 (altitude [kft], Mach number, throttle resolver
#: angle), used to synthesise a multi-condition version of a single-condition subset.
FD002_OPERATING_POINTS = (
    (0.0, 0.0, 100.0),
    (10.0, 0.25, 100.0),
    (20.0, 0.7, 100.0),
    (25.0, 0.62, 60.0),
    (35.0, 0.84, 100.0),
    (42.0, 0.84, 100.0),
)


def add_operating_regimes(
    frames: list[pd.DataFrame], *, seed: int = 0, strength: float = 10.0
) -> list[pd.DataFrame]:
    """Make single-condition C-MAPSS frames multi-condition, like FD002/FD004.

    Every row is given one of six operating points at random (the settings columns take that
    point's values plus small noise), and each sensor is shifted and scaled per operating
    point: ``x' = offset[r] + scale[r] * x`` with offsets of ``strength`` sensor standard
    deviations (so the operating point moves sensors far more than wear does) and scales in
    [0.7, 1.4]. The same transform is applied to every frame (train and test).

    Parameters
    ----------
    frames : list of DataFrame
        Frames with :data:`CMAPSS_COLUMNS`.
    seed : int
    strength : float
        Size of the per-regime offsets in sensor standard deviations. [-]

    Returns
    -------
    list of DataFrame
    """
    rng = np.random.default_rng(seed)
    sensors = [c for c in CMAPSS_COLUMNS if c.startswith("sensor_")]
    ref = frames[0][sensors].astype(float)
    std = ref.std().replace(0.0, 1.0).to_numpy()
    mean = ref.mean().to_numpy()
    points = np.asarray(FD002_OPERATING_POINTS)
    n_reg = len(points)
    offsets = rng.normal(0.0, strength, size=(n_reg, len(sensors))) * std
    scales = rng.uniform(0.7, 1.4, size=(n_reg, len(sensors)))
    out = []
    for frame in frames:
        regime = rng.integers(0, n_reg, size=len(frame))
        new = frame.copy()
        noise = rng.normal(0.0, 1.0, size=(len(frame), 3)) * np.array([0.002, 0.0003, 0.0])
        new[["op_setting_1", "op_setting_2", "op_setting_3"]] = points[regime] + noise
        values = frame[sensors].to_numpy(dtype=float)
        new[sensors] = mean + offsets[regime] + scales[regime] * (values - mean)
        out.append(new)
    return out
