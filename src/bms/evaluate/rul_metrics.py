"""Metrics for remaining-useful-life (RUL) predictions: RMSE, PHM08 score, interval coverage."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike


def _pair(y_true: ArrayLike, y_pred: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    true = np.asarray(y_true, dtype=float).ravel()
    pred = np.asarray(y_pred, dtype=float).ravel()
    if true.shape != pred.shape or true.size == 0:
        raise ValueError("y_true and y_pred must be non-empty and of the same length")
    return true, pred


def rmse(y_true: ArrayLike, y_pred: ArrayLike) -> float:
    """Root-mean-square error.

    Parameters
    ----------
    y_true, y_pred : array-like of shape (n_units,)
        True and predicted RUL. [time unit of the data]

    Returns
    -------
    float
        RMSE. [time unit of the data]
    """
    true, pred = _pair(y_true, y_pred)
    return float(np.sqrt(np.mean((pred - true) ** 2)))


def phm08_score(y_true: ArrayLike, y_pred: ArrayLike) -> float:
    """PHM08 challenge score: sum of exp(-d/13) - 1 for d < 0 and exp(d/10) - 1 for d >= 0.

    ``d = y_pred - y_true``: late predictions (d > 0) cost more than early ones.

    Parameters
    ----------
    y_true, y_pred : array-like of shape (n_units,)
        True and predicted RUL. [cycles]

    Returns
    -------
    float
        The score (lower is better, 0 for perfect predictions). [-]
    """
    true, pred = _pair(y_true, y_pred)
    d = pred - true
    return float(np.sum(np.where(d < 0, np.expm1(-d / 13.0), np.expm1(d / 10.0))))


def interval_coverage(y_true: ArrayLike, lower: ArrayLike, upper: ArrayLike) -> float:
    """Share of units whose true RUL lies in ``[lower, upper]``.

    Parameters
    ----------
    y_true, lower, upper : array-like of shape (n_units,)
        True RUL and the interval bounds (e.g. p10 and p90). [time unit of the data]

    Returns
    -------
    float
        Coverage in [0, 1]. [-]
    """
    true, low = _pair(y_true, lower)
    _, high = _pair(y_true, upper)
    return float(np.mean((true >= low) & (true <= high)))
