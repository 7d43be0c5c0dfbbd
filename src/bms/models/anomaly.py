"""Unsupervised anomaly detectors: scikit-learn outlier estimators, row by row.

Three detectors, all with scikit-learn's scoring convention inside (higher ``score_samples`` =
more normal; ``decision_function = score_samples - offset_``; ``predict`` gives +1 / -1 like
:class:`sklearn.ensemble.IsolationForest`):

* :class:`ResidualDetector`: each signal is predicted from all the others by a ridge regression
  (closed form from the regularised precision matrix, the penalty chosen by held-out prediction
  error); each residual is divided by its spread on rows the model has not seen, and the score
  is the mean squared result, each signal's share of it being its contribution.
* :class:`PCADetector`: PCA on the robust-standardised signals; the anomaly is Hotelling's T²
  (inside the principal subspace) plus Q / SPE (off it), each divided by its training mean.

Both take an optional ``state_column`` (one model per operating state:
:class:`~bms.models.anomaly_base.PerStateMixin`).
* :class:`EnsembleDetector`: the mean of its members' anomalies, each divided by that member's
  own threshold (so 1 = at threshold for every member).

Every detector standardises robustly on its training rows (median, IQR/1.349, with a floor so
that a constant column does not divide by zero) and clips standardised values to
``[-CLIP_Z, CLIP_Z]``. Thresholds are calibrated WITHOUT labels: ``offset_`` is the
``false_alarm_rate`` quantile of *held-out* training scores (blocked cross-validation in time
order, see :mod:`bms.models.anomaly_base`: each fold scored by a model fitted on the others),
kept in
``cv_scores_`` so that the time-series boundary (:mod:`bms.models.anomaly_pipeline`) can
calibrate its smoothed threshold from the same held-out scores.
"""

from __future__ import annotations

from numbers import Integral, Real
from typing import Any, ClassVar

import numpy as np
from numpy.typing import ArrayLike, NDArray
from sklearn.base import BaseEstimator, clone
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted, validate_data

from bms.models.anomaly_base import (
    CLIP_Z,
    EPS,
    BaseDetector,
    PerStateMixin,
    ThresholdedOutlierMixin,
    robust_scale,
    shares,
)

__all__ = [
    "ALPHA_GRID",
    "CLIP_Z",
    "MIN_RESIDUAL_SD",
    "EnsembleDetector",
    "PCADetector",
    "ResidualDetector",
    "mean_and_covariance",
    "robust_scale",
]

#: Ridge penalties tried by ``ResidualDetector(alpha="auto")`` [dimensionless, on standardised
#: signals]: from nearly least squares to nearly "predict the mean".
ALPHA_GRID = (0.001, 0.01, 0.1, 1.0, 10.0)
#: Penalty when the training rows are too few to cross-validate one.
FALLBACK_ALPHA = 1.0
#: Floor of a residual's standard deviation [robust standard deviations of its signal]: a
#: signal its neighbours predict (almost) exactly in training, such as a set point, must not
#: turn the smallest later deviation into an enormous residual.
MIN_RESIDUAL_SD = 0.1


#: Rows centred at a time when a covariance is summed: a few MB of temporaries, however many
#: training rows there are (a centred copy of 300,000 rows x 140 features is 336 MB).
COVARIANCE_CHUNK_ROWS = 4096


def mean_and_covariance(
    S: NDArray[np.float64],
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Column means and sample covariance of standardised rows ``S``, summed over chunks of
    :data:`COVARIANCE_CHUNK_ROWS` centred rows."""
    mean = S.mean(axis=0)
    gram = np.zeros((S.shape[1], S.shape[1]))
    for start in range(0, len(S), COVARIANCE_CHUNK_ROWS):
        D = S[start : start + COVARIANCE_CHUNK_ROWS] - mean
        gram += D.T @ D
    return mean, gram / max(len(S) - 1, 1)


def _spread_along(
    cov: NDArray[np.float64], directions: NDArray[np.float64], n_rows: int
) -> NDArray[np.float64]:
    """Mean square over the rows of their centred projections on each column of
    ``directions``: ``mean((D @ directions) ** 2, axis=0)``, from the rows' covariance."""
    variance = ((cov @ directions) * directions).sum(axis=0)
    return np.asarray(np.maximum(variance, 0.0) * (max(n_rows - 1, 1) / max(n_rows, 1)))


def _ridge_weights(cov: NDArray[np.float64], alpha: float) -> NDArray[np.float64]:
    """Residual weights: ``(D @ W)_j`` is signal j minus its ridge prediction from the others
    (``W = P / diag(P)``, ``P`` the inverse of the covariance + ``alpha I``)."""
    precision = np.linalg.inv(cov + alpha * np.eye(len(cov)))
    return np.asarray(precision / np.diag(precision))


def _fold_moments(
    S: NDArray[np.float64], fold: NDArray[np.int64], rows: NDArray[np.bool_], n_splits: int
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """Rows, column sums and Gram matrix (``X.T @ X``) of each fold's ``rows`` of ``S``:
    shapes (n_splits,), (n_splits, n) and (n_splits, n, n), summed over chunks of
    :data:`COVARIANCE_CHUNK_ROWS` rows (no copy of a fold)."""
    counts = np.zeros(n_splits)
    sums = np.zeros((n_splits, S.shape[1]))
    grams = np.zeros((n_splits, S.shape[1], S.shape[1]))
    for start in range(0, len(S), COVARIANCE_CHUNK_ROWS):
        stop = start + COVARIANCE_CHUNK_ROWS
        block, block_fold, block_rows = S[start:stop], fold[start:stop], rows[start:stop]
        for k in range(n_splits):
            part = block[block_rows & (block_fold == k)]
            counts[k] += len(part)
            sums[k] += part.sum(axis=0)
            grams[k] += part.T @ part
    return counts, sums, grams


def _held_out_squares(
    counts: NDArray[np.float64],
    sums: NDArray[np.float64],
    grams: NDArray[np.float64],
    k: int,
    alphas: tuple[float, ...],
) -> NDArray[np.float64]:
    """Summed squared residuals of each signal predicted from the others on fold ``k``'s
    rows, the model fitted on the other folds' (standardised rows, from
    :func:`_fold_moments`), for each penalty of ``alphas``: shape (len(alphas), n_signals).

    The residuals of rows ``x`` are ``(x - mean) @ W``; their squares summed over fold ``k``
    are the diagonal of ``W.T @ H @ W``, with ``H`` the fold's scatter about the other folds'
    mean: no row is visited again.
    """
    others = np.arange(len(counts)) != k
    n = counts[others].sum()
    mean = sums[others].sum(axis=0) / n
    cov = (grams[others].sum(axis=0) - n * np.outer(mean, mean)) / max(n - 1, 1)
    scatter = (
        grams[k]
        - np.outer(sums[k], mean)
        - np.outer(mean, sums[k])
        + counts[k] * np.outer(mean, mean)
    )
    out = []
    for alpha in alphas:
        weights = _ridge_weights(cov, alpha)
        out.append(np.maximum(((scatter @ weights) * weights).sum(axis=0), 0.0))
    return np.array(out)


class ResidualDetector(PerStateMixin, BaseDetector):
    """Each signal predicted from the others (ridge); anomaly = mean squared z-residual.

    Parameters
    ----------
    alpha : float or "auto", default="auto"
        Ridge penalty added to the diagonal of the standardised covariance [dimensionless].
        "auto": for each model (the global one, and each state's), the value of
        :data:`ALPHA_GRID` with the least held-out prediction error on its training rows (the
        calibration folds; no labels): exact physical relations (an air-handling unit's) get
        a light penalty, drifting ones (a test rig over a few minutes) and short regimes a
        heavy one. 1.0 when the training rows are too few to cross-validate.
    state_column : int or None, default=None
        Index of a column holding a discrete operating state (e.g. occupancy mode); one model
        is fitted per state value (>= 0) seen with at least ``min_state_rows`` rows, the global
        model serves the others. The state column itself is not a predicted signal.
    min_state_rows : int, default=50
        Fewest training rows for a state to get its own model (and at least
        :data:`~bms.models.anomaly_base.ROWS_PER_SIGNAL` per signal).
    false_alarm_rate : float, default=0.01
        Share of held-out training rows above the threshold.
    n_splits : int, default=4
        Folds of the held-out calibration.
    block_rows : int or None, default=None
        Calibration block length [rows]; None: one contiguous block per fold (see
        :mod:`bms.models.anomaly_base`).

    Each residual is divided by the larger of its in-sample standard deviation and its
    held-out one over the calibration folds (a model fitted on few occurrences of a mode
    predicts those far better than the next), at least :data:`MIN_RESIDUAL_SD`.

    Attributes
    ----------
    alpha_ : float
        The ridge penalty of the global model.
    state_alphas_ : dict
        State value -> ridge penalty of that state's model (``alpha="auto"`` with states).
    held_out_sq_, held_out_rows_ : dict
        Model (None: global; else the state value) -> summed squared held-out residuals of
        each signal per calibration fold, shape (n_splits, n_signals), and the rows summed per
        fold, shape (n_splits,): the residual scale (empty when too few rows).
    """

    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {
        **BaseDetector._parameter_constraints,
        "alpha": [Interval(Real, 0.0, None, closed="neither"), StrOptions({"auto"})],
        "state_column": [Interval(Integral, 0, None, closed="left"), None],
        "min_state_rows": [Interval(Integral, 2, None, closed="left")],
    }

    def __init__(
        self,
        *,
        alpha: float | str = "auto",
        state_column: int | None = None,
        min_state_rows: int = 50,
        false_alarm_rate: float = 0.01,
        n_splits: int = 4,
        block_rows: int | None = None,
    ) -> None:
        super().__init__(
            false_alarm_rate=false_alarm_rate, n_splits=n_splits, block_rows=block_rows
        )
        self.alpha = alpha
        self.state_column = state_column
        self.min_state_rows = min_state_rows

    def _select(self, Z: NDArray[np.float64]) -> None:
        super()._select(Z)  # the states with a model of their own
        self.state_alphas_: dict[float, float] = {}
        self.held_out_sq_: dict[float | None, NDArray[np.float64]] = {}
        self.held_out_rows_: dict[float | None, NDArray[np.float64]] = {}
        fold = self._folds(len(Z))
        if fold is None:
            self.alpha_ = FALLBACK_ALPHA if self.alpha == "auto" else float(self.alpha)
            return
        S = self._signal_columns(Z)
        with_states = self.state_column is not None and S.shape[1] < Z.shape[1]
        keys = self._state_keys(Z) if with_states else np.zeros(len(Z))
        # (key, rows) of every model: the global one on every row (key None), each state's
        own: list[tuple[float | None, NDArray[np.bool_]]] = [(None, np.ones(len(Z), dtype=bool))]
        if with_states:
            own += [(float(key), keys == key) for key in self.own_states_]
        # per model and fold, the held-out squared residuals of each signal for each candidate
        # penalty: the least summed error picks the model's penalty, and the squares at that
        # penalty give its residual scale (_scale)
        alphas = ALPHA_GRID if self.alpha == "auto" else (float(self.alpha),)
        penalties: dict[float | None, float] = {}
        for key, rows in own:
            squares = np.zeros((self.n_splits, len(alphas), S.shape[1]))
            counted = np.zeros(self.n_splits)
            moments = _fold_moments(S, fold, rows, self.n_splits)
            in_fold = moments[0]
            for k in range(self.n_splits):
                if in_fold.sum() - in_fold[k] >= 2 and in_fold[k] > 0:
                    squares[k] = _held_out_squares(*moments, k, alphas)
                    counted[k] = in_fold[k]
            best = int(np.argmin(squares.sum(axis=(0, 2))))
            penalties[key] = alphas[best]
            self.held_out_sq_[key], self.held_out_rows_[key] = squares[:, best], counted
        self.alpha_ = penalties.pop(None)
        if self.alpha == "auto":
            self.state_alphas_ = {key: a for key, a in penalties.items() if key is not None}

    def _penalty(self, state_key: float | None = None) -> float:
        """The ridge penalty of a state's model (``state_alphas_``), else of the global one
        (``alpha_``, chosen at fit), else ``alpha`` itself."""
        by_state = getattr(self, "state_alphas_", {})
        if state_key is not None and state_key in by_state:
            return float(by_state[state_key])
        return float(getattr(self, "alpha_", self.alpha))

    def _scale(
        self, in_sample: NDArray[np.float64], state_key: float | None
    ) -> NDArray[np.float64]:
        """Residual standard deviation of each signal: the larger of its in-sample value and
        its held-out value, over the calibration folds other than the one being held out
        (:attr:`_held_out_fold`; all folds for the final model), floored at
        :data:`MIN_RESIDUAL_SD`. A fold's own rows never scale its model, so the held-out
        scores that calibrate the threshold are not normalised by themselves."""
        squares = getattr(self, "held_out_sq_", {}).get(state_key)
        counted = getattr(self, "held_out_rows_", {}).get(state_key)
        scale = in_sample
        if squares is not None and counted is not None:
            use = np.arange(len(counted)) != self._held_out_fold
            if counted[use].sum() > 0:
                held_out = np.sqrt(squares[use].sum(axis=0) / counted[use].sum())
                scale = np.maximum(scale, held_out)
        return np.maximum(scale, MIN_RESIDUAL_SD)

    def _fit_one(
        self, S: NDArray[np.float64], state_key: float | None = None
    ) -> dict[str, NDArray[np.float64]]:
        mean, cov = mean_and_covariance(S)
        weights = _ridge_weights(cov, self._penalty(state_key))
        in_sample = np.sqrt(_spread_along(cov, weights, len(S)))  # residual s.d. on S
        return {"mean": mean, "weights": weights / self._scale(in_sample, state_key)}

    @staticmethod
    def _squared_residuals(
        model: dict[str, NDArray[np.float64]], S: NDArray[np.float64]
    ) -> NDArray[np.float64]:
        residuals = (S - model["mean"]) @ model["weights"]
        return np.asarray(np.clip(residuals, -CLIP_Z, CLIP_Z) ** 2)

    def _anomaly_one(
        self, model: dict[str, NDArray[np.float64]], S: NDArray[np.float64]
    ) -> NDArray[np.float64]:
        return np.asarray(self._squared_residuals(model, S).mean(axis=1))

    def _explain_one(
        self, model: dict[str, NDArray[np.float64]], S: NDArray[np.float64]
    ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        squared = self._squared_residuals(model, S)
        return squared.mean(axis=1), squared


class PCADetector(PerStateMixin, BaseDetector):
    """PCA Hotelling T² + Q (squared prediction error) on robust-standardised signals.

    Parameters
    ----------
    variance_ratio : float, default=0.95
        Share of the training variance the principal subspace keeps (at least one component,
        and at most ``n_features - 1`` so that Q is defined).
    state_column : int or None, default=None
        Index of a column holding a discrete operating state; one PCA is fitted per state
        value (>= 0) seen with at least ``min_state_rows`` rows, the global one serves the
        others. The state column itself is not a signal.
    min_state_rows : int, default=50
        Fewest training rows for a state to get its own model (and at least
        :data:`~bms.models.anomaly_base.ROWS_PER_SIGNAL` per signal).
    false_alarm_rate : float, default=0.01
        Share of held-out training rows above the threshold.
    n_splits : int, default=4
        Folds of the held-out calibration.
    block_rows : int or None, default=None
        Calibration block length [rows]; None: one contiguous block per fold (see
        :mod:`bms.models.anomaly_base`).
    """

    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {
        **BaseDetector._parameter_constraints,
        "variance_ratio": [Interval(Real, 0.0, 1.0, closed="right")],
        "state_column": [Interval(Integral, 0, None, closed="left"), None],
        "min_state_rows": [Interval(Integral, 2, None, closed="left")],
    }

    def __init__(
        self,
        *,
        variance_ratio: float = 0.95,
        state_column: int | None = None,
        min_state_rows: int = 50,
        false_alarm_rate: float = 0.01,
        n_splits: int = 4,
        block_rows: int | None = None,
    ) -> None:
        super().__init__(
            false_alarm_rate=false_alarm_rate, n_splits=n_splits, block_rows=block_rows
        )
        self.variance_ratio = variance_ratio
        self.state_column = state_column
        self.min_state_rows = min_state_rows

    def _fit_one(self, S: NDArray[np.float64], state_key: float | None = None) -> dict[str, Any]:
        mean, cov = mean_and_covariance(S)
        eigval, eigvec = np.linalg.eigh(cov)
        order = np.argsort(eigval)[::-1]
        eigval, eigvec = np.maximum(eigval[order], 0.0), eigvec[:, order]
        total = eigval.sum()
        n_features = S.shape[1]
        if total <= EPS:
            k = 1
        else:
            k = int(np.searchsorted(np.cumsum(eigval) / total, self.variance_ratio) + 1)
        k = max(1, min(k, n_features - 1 if n_features > 1 else 1))
        lam = np.maximum(eigval[:k], 1e-6 * max(total, 1.0))
        P = eigvec[:, :k]
        # the training means of T² and Q, from the covariance: T²'s is the spread along each
        # kept component over its lam, Q's the spread left off them
        along = _spread_along(cov, eigvec, len(S))
        t2_mean = float((along[:k] / lam).sum())
        q_mean = float(along[k:].sum())
        return {
            "mean": mean,
            "P": P,
            "lam": lam,
            "t2_mean": max(t2_mean, 1e-6),
            "q_mean": max(q_mean, 1e-6),
        }

    @staticmethod
    def _t2_q(model: dict[str, Any], S: NDArray[np.float64]) -> tuple[Any, Any]:
        D = S - model["mean"]
        T = D @ model["P"]
        R = D - T @ model["P"].T
        return (T**2 / model["lam"]).sum(axis=1), (R**2).sum(axis=1)

    def _anomaly_one(self, model: dict[str, Any], S: NDArray[np.float64]) -> NDArray[np.float64]:
        t2, q = self._t2_q(model, S)
        return np.asarray(0.5 * (t2 / model["t2_mean"] + q / model["q_mean"]))

    def _explain_one(
        self, model: dict[str, Any], S: NDArray[np.float64]
    ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        D = S - model["mean"]
        T = D @ model["P"]
        R = D - T @ model["P"].T
        scaled = T / model["lam"]
        t2 = (T * scaled).sum(axis=1)
        anomaly = 0.5 * (t2 / model["t2_mean"] + (R**2).sum(axis=1) / model["q_mean"])
        t2_parts = np.abs(D * (scaled @ model["P"].T))  # complete decomposition of T²
        return anomaly, 0.5 * (t2_parts / model["t2_mean"] + R**2 / model["q_mean"])


class EnsembleDetector(ThresholdedOutlierMixin, BaseEstimator):
    """Mean of member anomalies, each divided by that member's threshold.

    Parameters
    ----------
    detectors : list of detectors or None, default=None
        Unfitted members (cloned at fit). ``None``: a :class:`ResidualDetector` and a
        :class:`PCADetector`, both with this ensemble's ``false_alarm_rate`` and ``block_rows``.
    false_alarm_rate : float, default=0.01
        Share of held-out training rows above the ensemble threshold.
    block_rows : int or None, default=None
        Calibration block length of the default members [rows].
    state_column : int or None, default=None
        Column holding a discrete operating state: given to every member that takes a
        ``state_column`` (one model per state); members without one see it as a feature.
    """

    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {
        "detectors": [list, None],
        "false_alarm_rate": [Interval(Real, 0.0, 0.5, closed="neither")],
        "block_rows": [Interval(Integral, 1, None, closed="left"), None],
        "state_column": [Interval(Integral, 0, None, closed="left"), None],
    }

    def __init__(
        self,
        detectors: list[BaseDetector] | None = None,
        *,
        false_alarm_rate: float = 0.01,
        block_rows: int | None = None,
        state_column: int | None = None,
    ) -> None:
        self.detectors = detectors
        self.false_alarm_rate = false_alarm_rate
        self.block_rows = block_rows
        self.state_column = state_column

    def fit(self, X: ArrayLike, y: object = None) -> EnsembleDetector:
        """Fit every member on X (rows oldest first) and calibrate the ensemble threshold.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : ignored

        Returns
        -------
        self
        """
        self._validate_params()
        X = validate_data(self, X, dtype=np.float64, ensure_min_samples=2)
        members = self.detectors
        if members is None:
            far, block = self.false_alarm_rate, self.block_rows
            members = [
                ResidualDetector(false_alarm_rate=far, block_rows=block),
                PCADetector(false_alarm_rate=far, block_rows=block),
            ]
        if not members:
            raise ValueError("EnsembleDetector needs at least one detector")
        members = [clone(d) for d in members]
        if self.state_column is not None:
            for member in members:
                if "state_column" in member.get_params(deep=False):
                    member.set_params(state_column=self.state_column)
        self.detectors_ = [member.fit(X) for member in members]
        held_out = np.mean([-d.cv_scores_ / d.threshold_ for d in self.detectors_], axis=0)
        self.cv_scores_ = -held_out
        self.offset_ = float(np.quantile(self.cv_scores_, self.false_alarm_rate))
        return self

    def _member_anomalies(self, X: ArrayLike) -> list[NDArray[np.float64]]:
        check_is_fitted(self)
        X = validate_data(self, X, dtype=np.float64, reset=False)
        return [d.anomaly(X) / d.threshold_ for d in self.detectors_]

    def anomaly(self, X: ArrayLike) -> NDArray[np.float64]:
        """Raw ensemble anomaly of each row (``-score_samples``), shape (n_samples,)."""
        return np.asarray(np.mean(self._member_anomalies(X), axis=0))

    def explain(self, X: ArrayLike) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """Raw anomaly and per-feature shares in one pass.

        Returns
        -------
        anomaly : ndarray of shape (n_samples,)
            As :meth:`anomaly`.
        shares : ndarray of shape (n_samples, n_features)
            As :meth:`contributions`.
        """
        check_is_fitted(self)
        values: NDArray[np.float64] = validate_data(self, X, dtype=np.float64, reset=False)
        total = np.zeros(values.shape[0])
        parts = np.zeros(values.shape, dtype=np.float64)
        for member in self.detectors_:
            anomaly, member_shares = member.explain(values)
            normalised = anomaly / member.threshold_
            total += normalised
            parts += normalised[:, None] * member_shares
        return total / len(self.detectors_), shares(parts)

    def contributions(self, X: ArrayLike) -> NDArray[np.float64]:
        """Member contributions weighted by each member's normalised anomaly.

        Returns
        -------
        ndarray of shape (n_samples, n_features)
            Non-negative shares; each row sums to 1.
        """
        weights = self._member_anomalies(X)
        parts = sum(
            w[:, None] * d.contributions(X) for w, d in zip(weights, self.detectors_, strict=True)
        )
        return shares(np.asarray(parts))
