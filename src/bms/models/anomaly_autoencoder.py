"""Autoencoder detector: a small MLP reconstructs causal lagged windows of the signals.

Each row is stacked with the rows ``lags`` before it (causal; before the first row, the first
row stands in) and an :class:`sklearn.neural_network.MLPRegressor` with one bottleneck layer
learns to reconstruct that window from itself. The bottleneck width is fixed from the training
rows: the number of principal components that keep 95 % of the lagged windows' variance (so
the network cannot learn the identity). The anomaly of a row is the mean over the window of the
squared reconstruction error, each divided by its training s.d. (floored at
:data:`bms.models.anomaly.MIN_RESIDUAL_SD`); a lagged copy's share counts for its feature.

The lags make scores depend on row order: rows must be given oldest first, as one stream.
"""

from __future__ import annotations

import warnings
from numbers import Integral
from typing import Any, ClassVar

import numpy as np
from numpy.typing import ArrayLike, NDArray
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPRegressor
from sklearn.utils._param_validation import Interval

from bms.models.anomaly import MIN_RESIDUAL_SD
from bms.models.anomaly_base import BaseDetector

__all__ = ["AutoencoderDetector", "lagged_window"]

#: Share of the lagged windows' variance the bottleneck width keeps.
BOTTLENECK_VARIANCE = 0.95


def lagged_window(Z: NDArray[np.float64], lags: tuple[int, ...]) -> NDArray[np.float64]:
    """``[Z[t - lag] for lag in lags]`` side by side; row 0 stands in before the series."""
    blocks = []
    for lag in lags:
        shifted = np.empty_like(Z)
        lag = min(lag, len(Z))
        shifted[lag:] = Z[: len(Z) - lag]
        shifted[:lag] = Z[:1]
        blocks.append(shifted)
    return np.hstack(blocks)


class AutoencoderDetector(BaseDetector):
    """MLP autoencoder on causal lagged windows; anomaly = mean squared z-reconstruction error.

    Parameters
    ----------
    lags : tuple of int, default=(0, 10, 20)
        Row offsets stacked into a window [rows] (default: the current row and two level
        windows back, covering the pipeline's smoothing window).
    max_iter : int, default=50
        L-BFGS iterations.
    random_state : int, default=0
        Seed of the network's initial weights.
    false_alarm_rate : float, default=0.01
        Share of held-out training rows above the threshold.
    n_splits : int, default=4
        Folds of the held-out calibration.
    block_rows : int or None, default=None
        Calibration block length [rows] (see :mod:`bms.models.anomaly_base`).
    """

    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {
        **BaseDetector._parameter_constraints,
        "lags": [tuple],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "random_state": [Interval(Integral, 0, None, closed="left")],
    }

    def __init__(
        self,
        *,
        lags: tuple[int, ...] = (0, 10, 20),
        max_iter: int = 50,
        random_state: int = 0,
        false_alarm_rate: float = 0.01,
        n_splits: int = 4,
        block_rows: int | None = None,
    ) -> None:
        super().__init__(
            false_alarm_rate=false_alarm_rate, n_splits=n_splits, block_rows=block_rows
        )
        self.lags = lags
        self.max_iter = max_iter
        self.random_state = random_state

    def fit(self, X: ArrayLike, y: object = None) -> AutoencoderDetector:
        """Fit on (mostly normal) rows in time order and calibrate the threshold.

        As :meth:`bms.models.anomaly_base.BaseDetector.fit`; also sets ``n_iter_``, the L-BFGS
        iterations of the final network.
        """
        super().fit(X, y)
        self.n_iter_ = int(self.state_["net"].n_iter_)
        return self

    def _fit_core(self, Z: NDArray[np.float64]) -> dict[str, Any]:
        W = lagged_window(Z, self.lags)
        eig = np.clip(np.linalg.eigvalsh(np.cov(W, rowvar=False).reshape(W.shape[1], -1)), 0, None)
        eig = np.sort(eig)[::-1]
        total = eig.sum()
        width = 1
        if total > 0:
            width = int(np.searchsorted(np.cumsum(eig) / total, BOTTLENECK_VARIANCE) + 1)
        width = max(1, min(width, W.shape[1] - 1 if W.shape[1] > 1 else 1))
        net = MLPRegressor(
            hidden_layer_sizes=(width,),
            activation="tanh",
            solver="lbfgs",
            max_iter=self.max_iter,
            random_state=self.random_state,
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            net.fit(W, W)
        resid = W - net.predict(W).reshape(W.shape)
        return {"net": net, "resid_sd": np.maximum(resid.std(axis=0), MIN_RESIDUAL_SD)}

    def _squared_errors(self, state: dict[str, Any], Z: NDArray[np.float64]) -> NDArray[np.float64]:
        """Normalised squared reconstruction errors of the lagged windows, (n, lags x features)."""
        W = lagged_window(Z, self.lags)
        return np.asarray(((W - state["net"].predict(W).reshape(W.shape)) / state["resid_sd"]) ** 2)

    def _fold_lags(self, sq: NDArray[np.float64], n_features: int) -> NDArray[np.float64]:
        """Lagged copies' errors summed onto their feature, (n, features)."""
        return np.asarray(sq.reshape(len(sq), len(self.lags), n_features).sum(axis=1))

    def _anomaly_core(
        self, state: dict[str, Any], Z: NDArray[np.float64], *, parts: bool = False
    ) -> NDArray[np.float64]:
        sq = self._squared_errors(state, Z)
        return self._fold_lags(sq, Z.shape[1]) if parts else np.asarray(sq.mean(axis=1))

    def _explain_core(
        self, state: dict[str, Any], Z: NDArray[np.float64]
    ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        sq = self._squared_errors(state, Z)
        return np.asarray(sq.mean(axis=1)), self._fold_lags(sq, Z.shape[1])
