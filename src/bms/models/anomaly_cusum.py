"""Per-signal two-sided CUSUM on standardised ridge residuals.

Each signal is predicted from the others as in :class:`bms.models.anomaly.ResidualDetector`
(signed residual in training residual s.d.); a two-sided CUSUM accumulates each signal's
residual over the rows, in the order given:
``S+_t = max(0, S+_{t-1} + e_t - k)``, ``S-_t = max(0, S-_{t-1} - e_t - k)``.
The drift ``k`` is half a residual s.d. (the textbook choice for detecting a shift of one
s.d.); each signal's statistic ``max(S+, S-)`` is divided by its own ``h``, the 99th percentile
of that statistic over the training rows, so that an autocorrelated residual (which wanders
further under normal operation) does not outweigh a white one. The anomaly of a row is the
mean over signals of ``(max(S+, S-) / h)²``.

The statistic depends on row order: rows must be given oldest first, as one stream (scoring a
subset of rows gives other values than scoring them within the full stream).
"""

from __future__ import annotations

from numbers import Real
from typing import Any, ClassVar

import numpy as np
from numpy.typing import NDArray
from sklearn.utils._param_validation import Interval

from bms.models.anomaly import ResidualDetector
from bms.models.anomaly_base import BaseDetector

__all__ = ["CusumDetector", "two_sided_cusum"]

#: Quantile of the training CUSUM statistic that normalises each signal (its ``h``).
H_QUANTILE = 0.99


def two_sided_cusum(e: NDArray[np.float64], drift: float) -> NDArray[np.float64]:
    """``max(S+, S-)`` of each column of ``e`` (rows in time order), both started at 0.

    Vectorised with the Lindley identity ``S_t = C_t - min(0, min_{s<=t} C_s)``, where ``C`` is
    the cumulative sum of the increments.
    """
    if len(e) == 0:
        return np.zeros_like(e)
    out = np.zeros_like(e)
    for sign in (1.0, -1.0):
        c = np.cumsum(sign * e - drift, axis=0)
        out = np.maximum(out, c - np.minimum(np.minimum.accumulate(c, axis=0), 0.0))
    return out


class CusumDetector(BaseDetector):
    """Two-sided CUSUM of each signal's standardised ridge residual.

    Parameters
    ----------
    drift : float, default=0.5
        CUSUM reference value ``k`` [residual s.d.].
    alpha : float, default=1.0
        Ridge penalty of the residual model (as :class:`ResidualDetector`).
    false_alarm_rate : float, default=0.01
        Share of held-out training rows above the threshold.
    n_splits : int, default=4
        Folds of the held-out calibration.
    block_rows : int or None, default=None
        Calibration block length [rows] (see :mod:`bms.models.anomaly_base`).
    """

    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {
        **BaseDetector._parameter_constraints,
        "drift": [Interval(Real, 0.0, None, closed="left")],
        "alpha": [Interval(Real, 0.0, None, closed="neither")],
    }

    def __init__(
        self,
        *,
        drift: float = 0.5,
        alpha: float = 1.0,
        false_alarm_rate: float = 0.01,
        n_splits: int = 4,
        block_rows: int | None = None,
    ) -> None:
        super().__init__(
            false_alarm_rate=false_alarm_rate, n_splits=n_splits, block_rows=block_rows
        )
        self.drift = drift
        self.alpha = alpha

    @staticmethod
    def _residuals(model: dict[str, Any], Z: NDArray[np.float64]) -> NDArray[np.float64]:
        return np.asarray((Z - model["mean"]) @ model["weights"])

    def _fit_core(self, Z: NDArray[np.float64]) -> dict[str, Any]:
        model = ResidualDetector(alpha=self.alpha)._fit_one(Z)
        stat = two_sided_cusum(self._residuals(model, Z), self.drift)
        h = np.maximum(np.quantile(stat, H_QUANTILE, axis=0), self.drift)
        return {**model, "h": h}

    def _anomaly_core(
        self, state: dict[str, Any], Z: NDArray[np.float64], *, parts: bool = False
    ) -> NDArray[np.float64]:
        stat = two_sided_cusum(self._residuals(state, Z), self.drift) / state["h"]
        sq = stat**2
        return sq if parts else np.asarray(sq.mean(axis=1))
