"""Common ground of the row-wise anomaly detectors (:mod:`bms.models.anomaly`).

Robust standardisation, threshold calibration on held-out training rows, and the
scikit-learn outlier API (``score_samples`` higher = more normal, ``decision_function =
score_samples - offset_``, ``predict`` +1 / -1). Held-out scores come from a blocked
cross-validation in time order: the training rows are cut into blocks, the blocks dealt to
``n_splits`` folds, and each fold scored by a model fitted on the others. With
``block_rows=None`` each fold is one contiguous block (the most pessimistic: a regime seen in
one block only is "unseen" when that block is held out); with ``block_rows`` set, blocks of
that many rows are dealt to the folds in rounds (each round gives every fold one block, in a
shuffled order: :func:`block_folds`), so every regime of the training data appears in several
folds while neighbouring rows (autocorrelated) mostly stay together.
"""

from __future__ import annotations

from numbers import Integral, Real
from typing import Any, ClassVar

import numpy as np
from numpy.typing import ArrayLike, NDArray
from sklearn.base import BaseEstimator, OutlierMixin
from sklearn.utils._param_validation import Interval
from sklearn.utils.validation import check_is_fitted, validate_data

__all__ = [
    "CLIP_Z",
    "EPS",
    "ROWS_PER_SIGNAL",
    "BaseDetector",
    "PerStateMixin",
    "ThresholdedOutlierMixin",
    "block_folds",
    "robust_scale",
    "shares",
]

#: A state gets a model of its own only with this many training rows per signal of the model
#: (the usual ten observations per predictor of a regression): with fewer, the model learns the
#: few occasions it saw, and its held-out errors, which set the state's threshold, are those
#: of a model worse than the one that scores new rows. On LBNL MZVAV-2-2 trained on three days,
#: the start-up regimes (180 rows, 32 features) had models of their own; without them the
#: median recall went from 83 % to 88 % and the worst run's false alarms from 6.8 % to 1.7 %.
ROWS_PER_SIGNAL = 10
#: Standardised values are clipped to this many robust standard deviations, so that one
#: runaway signal (or a column constant in training) cannot swamp every other.
CLIP_Z = 10.0
EPS = 1e-12
#: Below this many rows per block, held-out calibration falls back to in-sample scores.
_MIN_BLOCK_ROWS = 5


def robust_scale(X: NDArray[np.float64]) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Robust centre and scale of each column.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        Training rows.

    Returns
    -------
    center : ndarray of shape (n_features,)
        Column medians.
    scale : ndarray of shape (n_features,)
        IQR / 1.349 (the standard deviation for Gaussian data), floored at a tenth of the
        standard deviation and at ``1e-6 * (1 + |median|)`` so constant columns stay finite.
    """
    center = np.median(X, axis=0)
    q75, q25 = np.percentile(X, [75.0, 25.0], axis=0)
    scale = (q75 - q25) / 1.349
    scale = np.maximum(scale, 0.1 * X.std(axis=0))
    scale = np.maximum(scale, 1e-6 * (1.0 + np.abs(center)))
    return center, scale


def block_folds(n_rows: int, block_rows: int, n_splits: int) -> NDArray[np.int64]:
    """Fold of each row: blocks of ``block_rows`` rows dealt to the folds in rounds.

    Each round of ``n_splits`` consecutive blocks gives one block to every fold, so every
    stretch of the training data lands in several folds; the order inside a round is shuffled
    (fixed seed), so that a schedule whose period is a multiple of the round (a day of minutes
    is 24 blocks of 60) does not put the same hour of every day, a start-up say, in the same
    fold, where holding it out would leave no example of it to learn from.

    Returns
    -------
    ndarray of shape (n_rows,)
        Fold index in ``[0, n_splits)``.
    """
    n_blocks = -(-n_rows // block_rows)
    n_rounds = -(-n_blocks // n_splits)
    order = np.argsort(np.random.default_rng(0).random((n_rounds, n_splits)), axis=1)
    return np.repeat(order.ravel()[:n_blocks], block_rows)[:n_rows]


def shares(parts: NDArray[np.float64]) -> NDArray[np.float64]:
    """Rows of non-negative parts -> shares summing to 1 (uniform when a row is all zero)."""
    parts = np.abs(parts)
    total = parts.sum(axis=1, keepdims=True)
    uniform = np.full_like(parts, 1.0 / parts.shape[1])
    return np.where(total > EPS, parts / np.maximum(total, EPS), uniform)


class ThresholdedOutlierMixin(OutlierMixin):
    """The sklearn outlier API from ``anomaly(X)`` (raw anomaly, higher = worse) and ``offset_``
    (set at fit: the decision threshold on ``score_samples = -anomaly``)."""

    offset_: float

    def score_samples(self, X: ArrayLike) -> NDArray[np.float64]:
        """Normality of each row (higher = more normal), shape (n_samples,)."""
        return -self.anomaly(X)

    def decision_function(self, X: ArrayLike) -> NDArray[np.float64]:
        """``score_samples - offset_``: negative for rows flagged as anomalies."""
        return self.score_samples(X) - self.offset_

    def predict(self, X: ArrayLike) -> NDArray[np.int64]:
        """+1 for normal rows, -1 for anomalies, shape (n_samples,)."""
        return np.where(self.decision_function(X) < 0, -1, 1)

    @property
    def threshold_(self) -> float:
        """Raw anomaly at the decision threshold (``-offset_``, floored above zero)."""
        return max(-self.offset_, EPS)


class BaseDetector(ThresholdedOutlierMixin, BaseEstimator):
    """Robust scaling, blocked held-out calibration and the sklearn outlier API.

    Parameters
    ----------
    false_alarm_rate : float, default=0.01
        Share of held-out training rows above the threshold (``offset_`` is that quantile of
        ``cv_scores_``).
    n_splits : int, default=4
        Folds of the held-out calibration.
    block_rows : int or None, default=None
        Calibration block length [rows]; None: one contiguous block per fold.

    Attributes
    ----------
    center_, scale_ : ndarray of shape (n_features,)
        Robust standardisation (:func:`robust_scale`).
    cv_scores_ : ndarray of shape (n_samples,)
        Held-out ``score_samples`` of the training rows, in training order.
    offset_ : float
        Decision threshold on ``score_samples``.
    """

    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {
        "false_alarm_rate": [Interval(Real, 0.0, 0.5, closed="neither")],
        "n_splits": [Interval(Integral, 2, None, closed="left")],
        "block_rows": [Interval(Integral, 1, None, closed="left"), None],
    }

    def __init__(
        self, *, false_alarm_rate: float = 0.01, n_splits: int = 4, block_rows: int | None = None
    ) -> None:
        self.false_alarm_rate = false_alarm_rate
        self.n_splits = n_splits
        self.block_rows = block_rows

    # subclasses implement these two on standardised arrays
    def _fit_core(self, Z: NDArray[np.float64]) -> dict[str, Any]:
        raise NotImplementedError

    def _anomaly_core(
        self, state: dict[str, Any], Z: NDArray[np.float64], *, parts: bool = False
    ) -> NDArray[np.float64]:
        raise NotImplementedError

    def _standardise(self, X: NDArray[np.float64]) -> NDArray[np.float64]:
        Z = X - self.center_  # one array of X's size, worked on in place
        Z /= self.scale_
        return np.clip(Z, -CLIP_Z, CLIP_Z, out=Z)

    def fit(self, X: ArrayLike, y: object = None) -> BaseDetector:
        """Fit on (mostly normal) rows in time order and calibrate the threshold.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training rows, oldest first (calibration blocks are runs of consecutive rows).
        y : ignored

        Returns
        -------
        self
        """
        self._validate_params()
        values: NDArray[np.float64] = validate_data(self, X, dtype=np.float64, ensure_min_samples=2)
        self.center_, self.scale_ = robust_scale(values)
        Z = self._standardise(values)
        self._select(Z)
        self.state_ = self._fit_core(Z)
        self.cv_scores_ = -self._held_out_anomaly(Z)
        self.offset_ = float(np.quantile(self.cv_scores_, self.false_alarm_rate))
        return self

    def _select(self, Z: NDArray[np.float64]) -> None:
        """Choose data-dependent settings on the standardised training rows before fitting
        (e.g. a penalty by cross-validation on :meth:`_folds`); nothing by default."""

    def _folds(self, n: int) -> NDArray[np.int64] | None:
        """Fold of each of ``n`` training rows for held-out scoring; None when too few rows."""
        if n < self.n_splits * _MIN_BLOCK_ROWS:
            return None
        if self.block_rows is None:  # n_splits contiguous blocks
            sizes = [len(b) for b in np.array_split(np.arange(n), self.n_splits)]
            return np.repeat(np.arange(self.n_splits), sizes)
        return block_folds(n, self.block_rows, self.n_splits)

    #: Calibration fold whose model is being fitted (its rows held out); None otherwise. A
    #: model may read it to keep every trace of those rows out of its fit.
    _held_out_fold: int | None = None

    def _held_out_anomaly(self, Z: NDArray[np.float64]) -> NDArray[np.float64]:
        fold = self._folds(Z.shape[0])
        if fold is None:
            return self._anomaly_core(self.state_, Z)
        out = np.zeros(Z.shape[0])
        scored = np.zeros(Z.shape[0], dtype=bool)
        for k in range(self.n_splits):
            held = fold == k
            if held.any() and (~held).sum() >= 2:
                self._held_out_fold = k
                try:
                    model = self._fit_core(Z[~held])
                finally:
                    self._held_out_fold = None
                out[held] = self._anomaly_core(model, Z[held])
                scored |= held
        if not scored.all():  # a fold left empty: the final model scores its rows
            out[~scored] = self._anomaly_core(self.state_, Z[~scored])
        return out

    def anomaly(self, X: ArrayLike) -> NDArray[np.float64]:
        """Raw anomaly of each row (``-score_samples``; 0 = perfectly normal, higher = worse).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples,)
        """
        check_is_fitted(self)
        values: NDArray[np.float64] = validate_data(self, X, dtype=np.float64, reset=False)
        return self._anomaly_core(self.state_, self._standardise(values))

    def _explain_core(
        self, state: dict[str, Any], Z: NDArray[np.float64]
    ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """Anomaly and per-feature parts from one pass of the model: here the anomaly is the
        mean of the parts; a detector whose anomaly is not overrides this."""
        parts = self._anomaly_core(state, Z, parts=True)
        return np.asarray(parts.mean(axis=1)), parts

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
        anomaly, parts = self._explain_core(self.state_, self._standardise(values))
        return anomaly, shares(parts)

    def contributions(self, X: ArrayLike) -> NDArray[np.float64]:
        """Each feature's share of each row's anomaly.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples, n_features)
            Non-negative shares; each row sums to 1.
        """
        check_is_fitted(self)
        values: NDArray[np.float64] = validate_data(self, X, dtype=np.float64, reset=False)
        return shares(self._anomaly_core(self.state_, self._standardise(values), parts=True))


class PerStateMixin:
    """One model per discrete operating state, the global model for the other rows.

    For a :class:`BaseDetector` subclass (listed before it) with parameters ``state_column``
    (int or None) and ``min_state_rows`` (int) that implements ``_fit_one(S, state_key) -> model``,
    ``_anomaly_one(model, S) -> (n_rows,)`` and ``_explain_one(model, S) -> (anomaly, parts)``
    on the standardised signals ``S`` (every column but the state). The state column is read
    as given, not standardised nor clipped (two states must never merge), and is not a signal:
    its parts are 0. A state value with fewer than ``min_state_rows`` training rows or
    :data:`ROWS_PER_SIGNAL` rows per signal, or not seen in training, or negative (no state of
    its own), is scored by the global model fitted on every row.

    Attributes
    ----------
    own_states_ : ndarray
        State values with a model of their own, decided once on every training row.
    """

    state_column: int | None
    min_state_rows: int
    own_states_: NDArray[np.float64]  # set by _select, which fit runs before _fit_core

    def _standardise(self, X: NDArray[np.float64]) -> NDArray[np.float64]:
        Z: NDArray[np.float64] = super()._standardise(X)  # type: ignore[misc]
        if self.state_column is not None and self.state_column < X.shape[1]:
            Z[:, self.state_column] = X[:, self.state_column]
        return Z

    def _signals(self, n_features: int) -> NDArray[np.int64]:
        cols = np.arange(n_features)
        if self.state_column is not None and n_features > 1:
            cols = cols[cols != self.state_column]
        return cols

    def _signal_columns(self, Z: NDArray[np.float64]) -> NDArray[np.float64]:
        """The signals of ``Z`` (every column but the state): ``Z`` itself, not a copy, when
        there is no state column."""
        cols = self._signals(Z.shape[1])
        return Z if len(cols) == Z.shape[1] else Z[:, cols]

    def _state_keys(self, Z: NDArray[np.float64]) -> NDArray[np.float64]:
        return np.round(Z[:, self.state_column], 6)

    def _select(self, Z: NDArray[np.float64]) -> None:
        """Decide once, on every training row, which states get a model of their own
        (``own_states_``): the models fitted for the calibration folds follow the same
        decision, so a state near the limit is not scored by its own model in the final fit
        and by the global one in the held-out scores that set its threshold."""
        self.own_states_ = np.zeros(0)
        n_signals = len(self._signals(Z.shape[1]))
        if self.state_column is not None and n_signals < Z.shape[1]:
            values, counts = np.unique(self._state_keys(Z), return_counts=True)
            need = max(self.min_state_rows, ROWS_PER_SIGNAL * n_signals)
            self.own_states_ = values[(counts >= need) & (values >= 0)]
        super()._select(Z)  # type: ignore[misc]

    def _fit_one(self, S: NDArray[np.float64], state_key: float | None = None) -> Any:
        """The model of rows ``S`` (signals only): of state ``state_key``, or global if None."""
        raise NotImplementedError

    def _anomaly_one(self, model: Any, S: NDArray[np.float64]) -> NDArray[np.float64]:
        raise NotImplementedError

    def _explain_one(
        self, model: Any, S: NDArray[np.float64]
    ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        raise NotImplementedError

    def _fit_core(self, Z: NDArray[np.float64]) -> dict[str, Any]:
        if self.state_column is not None and self.state_column >= Z.shape[1]:
            raise ValueError(f"state_column={self.state_column} but X has {Z.shape[1]} columns")
        cols = self._signals(Z.shape[1])
        state: dict[str, Any] = {"global": self._fit_one(self._signal_columns(Z)), "by_state": {}}
        if self.state_column is not None and len(cols) < Z.shape[1]:
            keys = self._state_keys(Z)
            for key in map(float, self.own_states_):
                if (keys == key).sum() >= 2:  # else (a fold without it): the global model
                    state["by_state"][key] = self._fit_one(Z[keys == key][:, cols], key)
        return state

    def _by_state(
        self, state: dict[str, Any], Z: NDArray[np.float64], score: Any
    ) -> tuple[NDArray[np.float64], ...]:
        """``score(model, S_rows)`` (an array or a tuple of arrays) run on each state's rows
        with that state's model, put back in row order."""
        S = self._signal_columns(Z)
        if not state["by_state"] or len(Z) == 0:
            result = score(state["global"], S)
            return result if isinstance(result, tuple) else (result,)
        keys = self._state_keys(Z)
        known = np.array(list(state["by_state"]))
        groups = [(state["global"], ~np.isin(keys, known))]
        groups += [(model, keys == key) for key, model in state["by_state"].items()]
        out: list[NDArray[np.float64]] = []
        for model, rows in groups:
            if not rows.any():
                continue
            result = score(model, S[rows])
            parts = result if isinstance(result, tuple) else (result,)
            if not out:
                out = [np.zeros((len(Z), *p.shape[1:])) for p in parts]
            for whole, part in zip(out, parts, strict=True):
                whole[rows] = part
        return tuple(out)

    def _anomaly_core(
        self, state: dict[str, Any], Z: NDArray[np.float64], *, parts: bool = False
    ) -> NDArray[np.float64]:
        if not parts:
            return self._by_state(state, Z, self._anomaly_one)[0]
        return self._explain_core(state, Z)[1]

    def _explain_core(
        self, state: dict[str, Any], Z: NDArray[np.float64]
    ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        anomaly, signal_parts = self._by_state(state, Z, self._explain_one)
        parts = np.zeros_like(Z)
        parts[:, self._signals(Z.shape[1])] = signal_parts
        return anomaly, parts
