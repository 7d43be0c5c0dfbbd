"""Binary detection metrics as the public benchmarks report them.

SKAB reports F1 on the anomaly class, and the false-alarm and missed-alarm rates in percent:
``FAR = FP / (FP + TN) * 100``, ``MAR = FN / (FN + TP) * 100`` (repo ``waico/SKAB``,
``core/metrics.py``). Counts are pooled over files (or days) before the rates are taken.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = ["Confusion", "held_alarm_start"]


@dataclass
class Confusion:
    """Pooled confusion counts for the positive (anomalous) class."""

    tp: int = 0
    fp: int = 0
    tn: int = 0
    fn: int = 0

    def add(self, y_true: ArrayLike, y_pred: ArrayLike) -> Confusion:
        """Add one file's (or unit's) 0/1 labels and predictions, shape (n_samples,)."""
        t = np.asarray(y_true).astype(bool)
        p = np.asarray(y_pred).astype(bool)
        if t.shape != p.shape:
            raise ValueError(f"labels {t.shape} and predictions {p.shape} differ in shape")
        self.tp += int((t & p).sum())
        self.fp += int((~t & p).sum())
        self.tn += int((~t & ~p).sum())
        self.fn += int((t & ~p).sum())
        return self

    @property
    def n(self) -> int:
        """Number of points counted."""
        return self.tp + self.fp + self.tn + self.fn

    @property
    def f1(self) -> float:
        """F1 of the anomalous class, 0 when there is nothing to score."""
        denom = 2 * self.tp + self.fp + self.fn
        return 2 * self.tp / denom if denom else 0.0

    @property
    def far_pct(self) -> float:
        """False-alarm rate FP / (FP + TN) [%]."""
        denom = self.fp + self.tn
        return 100.0 * self.fp / denom if denom else 0.0

    @property
    def mar_pct(self) -> float:
        """Missed-alarm rate FN / (FN + TP) [%]."""
        denom = self.fn + self.tp
        return 100.0 * self.fn / denom if denom else 0.0

    @property
    def accuracy(self) -> float:
        """(TP + TN) / n."""
        return (self.tp + self.tn) / self.n if self.n else 0.0

    def as_dict(self) -> dict[str, float | int]:
        """Rounded figures: f1, far, mar [%], accuracy and the counts."""
        return {
            "f1": round(self.f1, 4),
            "far": round(self.far_pct, 2),
            "mar": round(self.mar_pct, 2),
            "accuracy": round(self.accuracy, 4),
            "tp": self.tp,
            "fp": self.fp,
            "tn": self.tn,
            "fn": self.fn,
        }


def held_alarm_start(flags: NDArray[np.int64]) -> int | None:
    """Row where the alarm still on at the last row began, or None when the last row is quiet.

    An alarm that comes and goes is not one a maintenance team acts on: the run-to-failure
    protocols (IMS, C-MAPSS) report the lead of the alarm held to the failure.
    """
    flags = np.asarray(flags)
    if not len(flags) or flags[-1] != 1:
        return None
    quiet = np.flatnonzero(flags == 0)
    return int(quiet[-1] + 1) if len(quiet) else 0
