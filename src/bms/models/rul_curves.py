"""Weighted fits of the three degradation curves and where they cross the failure limit.

The trend models of :mod:`bms.models.rul_trend`, each a different belief about how wear
accelerates: *linear* (none), *quadratic* (constant acceleration, curvature >= 0) and
*exponential* ``c + a exp(k t)`` (proportional growth; rate ``k`` on :data:`RATE_GRID`, ``c``
and ``a`` linear). Every fit is batched over replicates: ``tau`` (n,) are times relative to
the "as of" time [d], ``y`` (n,) the indicator values, ``w`` (B, n) one weighting (bootstrap
counts times recency) per replicate. A fit returns the fitted parameters and the crossing
times ``tau*`` (B,) [d, from the "as of" time] where each replicate's curve reaches ``limit``
(in the unit of ``y``): 0 if it starts beyond it, ``inf`` if it never does.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

__all__ = [
    "FITS",
    "RATE_GRID",
    "crossing_linear",
    "crossing_quadratic",
    "fit_exponential",
    "fit_linear",
    "fit_quadratic",
    "predict_model",
    "weighted_polyfit",
]

Float = NDArray[np.float64]


def weighted_polyfit(tau: Float, y: Float, w: Float, degree: int) -> Float:
    """Batched weighted least squares: coefficients (B, degree + 1), lowest order first.

    ``w`` has shape (B, n): one weighting (bootstrap counts times recency) per replicate.
    """
    powers = np.stack([tau**k for k in range(degree + 1)], axis=1)  # (n, p)
    gram = np.einsum("bn,np,nq->bpq", w, powers, powers)
    rhs = np.einsum("bn,np,n->bp", w, powers, y)
    ridge = (
        1e-9 * np.eye(degree + 1) * np.maximum(np.trace(gram, axis1=1, axis2=2), 1.0)[:, None, None]
    )
    return np.linalg.solve(gram + ridge, rhs[..., None])[..., 0]


def crossing_linear(coef: Float, limit: float) -> Float:
    """Crossing times [d] of lines ``a + b tau`` (``coef`` (B, 2)); inf if not rising."""
    a, b = coef[:, 0], coef[:, 1]
    with np.errstate(divide="ignore", invalid="ignore"):
        tau = np.where(b > 0, (limit - a) / b, np.inf)
    return np.where(a >= limit, 0.0, tau)


def crossing_quadratic(coef: Float, linear: Float, limit: float) -> Float:
    """Crossing times [d] of parabolas (``coef`` (B, 3)); the ``linear`` fit's if concave."""
    a, b, c = coef[:, 0], coef[:, 1], coef[:, 2]
    concave = c <= 1e-15
    cc = np.where(concave, 1.0, c)
    disc = b**2 - 4.0 * cc * (a - limit)
    with np.errstate(invalid="ignore"):
        root = (-b + np.sqrt(np.maximum(disc, 0.0))) / (2.0 * cc)
    tau = np.where(disc >= 0, root, np.inf)
    tau = np.where(concave, crossing_linear(linear, limit), tau)
    return np.where(a >= limit, 0.0, tau)


def fit_linear(tau: Float, y: Float, w: Float, limit: float) -> tuple[Any, Float]:
    """Weighted line: coefficients (B, 2) and crossing times [d]."""
    coef = weighted_polyfit(tau, y, w, 1)
    return coef, crossing_linear(coef, limit)


def fit_quadratic(tau: Float, y: Float, w: Float, limit: float) -> tuple[Any, Float]:
    """Weighted parabola and line: ``(quadratic (B, 3), linear (B, 2))`` and crossing times [d]."""
    coef = weighted_polyfit(tau, y, w, 2)
    linear = weighted_polyfit(tau, y, w, 1)
    return (coef, linear), crossing_quadratic(coef, linear, limit)


#: Growth rates tried by the exponential model [1/d]: e-folding times of 1.5 to 300 days.
RATE_GRID = np.geomspace(1.0 / 300.0, 1.0 / 1.5, 48)


def fit_exponential(tau: Float, y: Float, w: Float, limit: float) -> tuple[Any, Float]:
    """``y = c + a exp(k tau)`` (a > 0, k on :data:`RATE_GRID`), weighted least squares.

    For each rate the offset ``c`` and amplitude ``a`` are linear; the rate with the least
    weighted squared error is kept, per replicate. Returns ``(c, a, k)`` of shape (B, 3).
    """
    n_rep = w.shape[0]
    best = np.full(n_rep, np.inf)
    params = np.full((n_rep, 3), np.nan)
    s0, sy, syy = w.sum(axis=1), w @ y, w @ (y * y)
    for k in RATE_GRID:
        e = np.exp(k * tau)
        s1, s2, sye = w @ e, w @ (e * e), w @ (y * e)
        det = s0 * s2 - s1 * s1
        with np.errstate(divide="ignore", invalid="ignore"):
            amp = (s0 * sye - s1 * sy) / det
            off = (sy - amp * s1) / s0
        sse = syy - off * sy - amp * sye
        better = (amp > 0) & (det > 1e-12 * np.maximum(s0 * s2, 1e-300)) & (sse < best)
        best = np.where(better, sse, best)
        params[better] = np.column_stack([off, amp, np.full(n_rep, k)])[better]
    c, a, k = params[:, 0], params[:, 1], params[:, 2]
    with np.errstate(divide="ignore", invalid="ignore"):
        tau_star = np.log((limit - c) / a) / k
    tau_star = np.where(np.isfinite(tau_star), tau_star, np.inf)
    tau_star = np.where(c + a >= limit, 0.0, tau_star)
    return params, tau_star


def predict_model(name: str, fitted: Any, tau: Float) -> Float:
    """Values of a fitted model (first replicate) at ``tau``."""
    if name == "linear":
        return fitted[0, 0] + fitted[0, 1] * tau
    if name == "quadratic":
        quad, linear = fitted
        if quad[0, 2] <= 1e-15:
            return linear[0, 0] + linear[0, 1] * tau
        return quad[0, 0] + quad[0, 1] * tau + quad[0, 2] * tau**2
    c, a, k = fitted[0]
    return c + a * np.exp(k * tau)


#: The trend models by name (see :data:`bms.models.rul_trend.MODELS`).
FITS = {"linear": fit_linear, "quadratic": fit_quadratic, "exponential": fit_exponential}
