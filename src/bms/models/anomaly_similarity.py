"""MSET-style similarity detector: each row estimated from its nearest training states.

A memory of training states (every training row, or an even subsample that keeps each
signal's extreme rows) stands for the normal operating envelope. A row is estimated by the
Gaussian-kernel weighted mean of its ``n_neighbors`` nearest memory states; the residual of each
signal against that estimate, divided by its leave-one-out training residual s.d. (floored at
:data:`bms.models.anomaly.MIN_RESIDUAL_SD`), is that signal's evidence; the anomaly is the mean
squared standardised residual. Settings are fixed by principle or from the training rows: the
kernel bandwidth is the median distance of a memory state to its ``n_neighbors``-th nearest
other state (leave-one-out), so the kernel spans the typical neighbourhood of the training
data whatever its scale.
"""

from __future__ import annotations

from numbers import Integral
from typing import Any, ClassVar

import numpy as np
from numpy.typing import NDArray
from sklearn.utils._param_validation import Interval

from bms.models.anomaly import MIN_RESIDUAL_SD
from bms.models.anomaly_base import EPS, BaseDetector

__all__ = ["SimilarityDetector"]

#: Rows scored per block when computing distances to the memory (bounds memory use).
_CHUNK_ROWS = 4096


def _memory_rows(Z: NDArray[np.float64], max_memory: int) -> NDArray[np.int64]:
    """Indices of the memory states: all rows, or each column's min and max row plus an even
    subsample of the rest (the MSET convention: the envelope must be in memory)."""
    n = len(Z)
    if n <= max_memory:
        return np.arange(n)
    extremes = np.unique(np.concatenate([Z.argmin(axis=0), Z.argmax(axis=0)]))
    spare = max(max_memory - len(extremes), 1)
    even = np.linspace(0, n - 1, spare).round().astype(np.int64)
    return np.unique(np.concatenate([extremes, even]))


def _neighbours(
    Z: NDArray[np.float64], M: NDArray[np.float64], k: int, *, exclude_self: bool = False
) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
    """Indices and squared distances of the k nearest memory rows of each row of Z."""
    idx = np.empty((len(Z), k), dtype=np.int64)
    dist = np.empty((len(Z), k))
    m_sq = (M**2).sum(axis=1)
    for start in range(0, len(Z), _CHUNK_ROWS):
        block = Z[start : start + _CHUNK_ROWS]
        d2 = np.maximum((block**2).sum(axis=1)[:, None] - 2 * block @ M.T + m_sq, 0.0)
        if exclude_self:  # Z is M: a row is not its own neighbour
            rows = np.arange(len(block))
            d2[rows, start + rows] = np.inf
        part = np.argpartition(d2, k - 1, axis=1)[:, :k]
        idx[start : start + len(block)] = part
        dist[start : start + len(block)] = np.take_along_axis(d2, part, axis=1)
    return idx, dist


class SimilarityDetector(BaseDetector):
    """MSET / kernel-similarity estimate of each row from its nearest training states.

    Parameters
    ----------
    n_neighbors : int, default=10
        Memory states that estimate a row.
    max_memory : int, default=1000
        Most memory states kept (each signal's extremes + an even subsample).
    false_alarm_rate : float, default=0.01
        Share of held-out training rows above the threshold.
    n_splits : int, default=4
        Folds of the held-out calibration.
    block_rows : int or None, default=None
        Calibration block length [rows] (see :mod:`bms.models.anomaly_base`).
    """

    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {
        **BaseDetector._parameter_constraints,
        "n_neighbors": [Interval(Integral, 1, None, closed="left")],
        "max_memory": [Interval(Integral, 2, None, closed="left")],
    }

    def __init__(
        self,
        *,
        n_neighbors: int = 10,
        max_memory: int = 1000,
        false_alarm_rate: float = 0.01,
        n_splits: int = 4,
        block_rows: int | None = None,
    ) -> None:
        super().__init__(
            false_alarm_rate=false_alarm_rate, n_splits=n_splits, block_rows=block_rows
        )
        self.n_neighbors = n_neighbors
        self.max_memory = max_memory

    @staticmethod
    def _estimate(
        M: NDArray[np.float64], idx: NDArray[np.int64], d2: NDArray[np.float64], bw2: float
    ) -> NDArray[np.float64]:
        # weights relative to the nearest state, so a far row still gets its nearest states
        w = np.exp(-(d2 - d2.min(axis=1, keepdims=True)) / (2 * bw2))
        w /= w.sum(axis=1, keepdims=True)
        return np.einsum("nk,nkd->nd", w, M[idx])

    def _fit_core(self, Z: NDArray[np.float64]) -> dict[str, Any]:
        M = Z[_memory_rows(Z, self.max_memory)]
        k = max(1, min(self.n_neighbors, len(M) - 1))
        idx, d2 = _neighbours(M, M, k, exclude_self=True)
        bw2 = max(float(np.median(d2.max(axis=1))), EPS)
        resid = M - self._estimate(M, idx, d2, bw2)  # leave-one-out residuals
        resid_sd = np.maximum(resid.std(axis=0), MIN_RESIDUAL_SD)
        return {"memory": M, "k": k, "bw2": bw2, "resid_sd": resid_sd}

    def _anomaly_core(
        self, state: dict[str, Any], Z: NDArray[np.float64], *, parts: bool = False
    ) -> NDArray[np.float64]:
        M = state["memory"]
        k = min(state["k"], len(M) - 1)
        idx, d2 = _neighbours(Z, M, k + 1)
        # leave-one-out, as in training: a row equal to a memory state (a training row scored
        # again) is estimated from the other states, not from itself
        order = np.argsort(d2, axis=1)
        idx, d2 = np.take_along_axis(idx, order, 1), np.take_along_axis(d2, order, 1)
        own = d2[:, 0] <= EPS * (1.0 + (Z**2).sum(axis=1))
        idx = np.where(own[:, None], idx[:, 1:], idx[:, :k])
        d2 = np.where(own[:, None], d2[:, 1:], d2[:, :k])
        sq = ((Z - self._estimate(M, idx, d2, state["bw2"])) / state["resid_sd"]) ** 2
        return sq if parts else np.asarray(sq.mean(axis=1))
