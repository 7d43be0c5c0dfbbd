"""``bms train rul``: fit a RUL model on run-to-failure histories, register it, promote it only
if it is not worse than the production model on the same held-back units.

The held-back units are drawn from the histories (a fixed share, seeded) and never used for
fitting. Each is cut at a random row, as a test unit of the C-MAPSS protocol is, and both the
candidate and the production model predict its RUL at the cut; the score is the RMSE of the
median against the true remaining time, capped at the larger of the two models' ``max_rul_``
(the same truth for both, and no model is favoured by its own cap). The registered artifact is
the model fitted on the other units, so that the comparison that promoted it is the one it was
judged on.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from bms.errors import BmsError
from bms.evaluate.rul_csv import check_max_rul, prepare_histories, read_histories
from bms.evaluate.rul_metrics import rmse
from bms.models.registry import ModelRegistry
from bms.models.rul import MIN_TRAIN_UNITS, RunToFailureRUL
from bms.models.selection import SelectionDecision, register_and_maybe_promote

#: Smallest number of run-to-failure units: enough to hold some back and still fit.
MIN_UNITS = 5
#: A held-back unit keeps at least this share of its rows before the cut.
MIN_KEPT_SHARE = 0.3


@dataclass(frozen=True)
class HeldBack:
    """Held-back units cut before failure, and their true remaining time at the cut."""

    histories: pd.DataFrame  #: rows up to each unit's cut
    true_rul: np.ndarray  #: per unit, in sorted unit order [time unit]


def split_units(
    units: np.ndarray, holdout_fraction: float, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """(training units, held-back units): ``ceil(fraction x n)`` units held back, seeded."""
    if not 0 < holdout_fraction < 1:
        raise BmsError(f"--holdout-fraction must be between 0 and 1, got {holdout_fraction}")
    if len(units) < MIN_UNITS:
        raise BmsError(
            f"training needs at least {MIN_UNITS} run-to-failure units, got {len(units)}"
        )
    rng = np.random.default_rng(seed)
    n_held = max(1, math.ceil(holdout_fraction * len(units)))
    held = np.sort(rng.choice(units, size=n_held, replace=False))
    return np.setdiff1d(units, held), held


def cut_before_failure(
    histories: pd.DataFrame, unit_column: str, time_column: str, seed: int
) -> HeldBack:
    """Cut each unit at a random row (keeping >= 30 % of its rows); RUL = last time - cut time."""
    rng = np.random.default_rng(seed + 1)
    kept, truth = [], []
    for _, rows in histories.sort_values([unit_column, time_column]).groupby(unit_column):
        n = len(rows)
        low = max(2, math.ceil(MIN_KEPT_SHARE * n))
        stop = int(rng.integers(low, n + 1)) if n > low else n
        part = rows.iloc[:stop]
        kept.append(part)
        truth.append(float(rows[time_column].iloc[-1] - part[time_column].iloc[-1]))
    return HeldBack(pd.concat(kept, ignore_index=True), np.asarray(truth))


def _production_cap(registry: ModelRegistry, name: str) -> float:
    """The production model's target cap (0 when there is none)."""
    meta = registry.production(name) if name in registry.names() else None
    return float(meta.metrics.get("max_rul", 0.0)) if meta is not None else 0.0


def train_rul_from_csv(
    registry: ModelRegistry,
    path: Path,
    *,
    unit_column: str,
    time_column: str,
    sep: str | None = None,
    name: str = "rul",
    max_rul: float | None = None,
    holdout_fraction: float = 0.2,
    seed: int = 0,
    tolerance: float = 0.0,
) -> SelectionDecision:
    """Fit, register and maybe promote a :class:`RunToFailureRUL` on the histories in ``path``.

    Parameters
    ----------
    registry : ModelRegistry
    path : Path
        CSV of complete run-to-failure histories (each unit fails at its last row).
    unit_column, time_column : str
        As for ``bms rul``.
    sep : str or None
        As for ``bms rul`` (None: found from the file's lines).
    name : str
        Registry name of the model.
    max_rul : float, optional
        Target cap [time unit]; default chosen from the training runs.
    holdout_fraction : float
        Share of units held back for the champion/challenger comparison.
    seed : int
        Seed of the hold-out draw and of the cuts.
    tolerance : float
        How much worse (RMSE, time unit) the candidate may be and still be promoted.
    """
    check_max_rul(max_rul)  # before the fit: a model capped below 0 was promoted
    if not 0.0 <= tolerance < float("inf"):
        raise BmsError(f"--tolerance must be a number >= 0, got {tolerance}")
    if not path.is_file():
        raise BmsError(f"--train {path}: file not found")
    # read as ``bms rul`` reads it: encodings, Excel's lines, decimal commas, ids as written
    frame = read_histories(path, sep, unit_column)
    histories, time_unit = prepare_histories(
        frame,
        path,
        unit_column=unit_column,
        time_column=time_column,
        decimal_comma=frame.attrs.get("sep", ",") != ",",
    )
    units = np.sort(histories[unit_column].unique())
    train_units, held_units = split_units(units, holdout_fraction, seed)
    if len(train_units) < MIN_TRAIN_UNITS:  # the model's own message would not say why
        raise BmsError(
            f"{path}: {len(units)} unit(s), {len(held_units)} of them held back to compare "
            f"with production (--holdout-fraction {holdout_fraction:g}): {len(train_units)} "
            f"left to train on, at least {MIN_TRAIN_UNITS} are needed; give more run-to-failure "
            "histories"
        )
    train = histories[histories[unit_column].isin(train_units)]
    held = cut_before_failure(
        histories[histories[unit_column].isin(held_units)], unit_column, time_column, seed
    )

    model = RunToFailureRUL(unit_column=unit_column, time_column=time_column, max_rul=max_rul)
    model.fit(train)
    truth = np.minimum(held.true_rul, max(model.max_rul_, _production_cap(registry, name)))
    features = [c for c in histories.columns if c not in (unit_column, time_column)]
    now = pd.Timestamp.now(tz="UTC")
    times = histories[time_column]
    return register_and_maybe_promote(
        registry,
        model,
        name=name,
        kind="rul",
        scope="site",
        features=features,
        data_start=now,  # run-to-failure histories need not carry dates: see extra.time_range
        data_end=now,
        holdout=(held.histories, truth),
        metric=rmse,
        higher_is_better=False,
        tolerance=tolerance,
        metrics={"cv_rmse": float(model.cv_rmse_), "max_rul": float(model.max_rul_)},
        extra={
            "train_file": str(path),
            "time_unit": time_unit,
            "time_range": [float(times.min()), float(times.max())],
            "train_units": len(train_units),
            "held_back_units": len(held_units),
        },
    )
