"""Supervised remaining-useful-life (RUL) from run-to-failure histories.

:class:`RunToFailureRUL` learns from complete histories (each unit fails at its last row) and
predicts, for units whose history stops before failure, the RUL at their last row as three
quantiles ``rul_p10``, ``rul_p50``, ``rul_p90`` in the time column's unit.

Method (every choice is made on training data only):

1. **Signals.** Every numeric column but the unit and time columns. Operating-setting columns
   (named like ``setting``/``op_``/``operating``/``regime``/``condition``) define operating
   regimes (:class:`bms.models.rul_regimes.RegimeNormalizer`: k-means, k by silhouette, one
   regime when the settings are noise); sensors are z-scored within their regime. With no
   such column, all signals are tried as settings (distinct operating points show in the
   sensors too; a single-condition history does not reach the silhouette threshold).
   Constant signals are dropped, then signals whose smoothed level hardly correlates with the
   target (``|Spearman| < min_abs_corr``).
2. **Features.** Causal window features per unit (:mod:`bms.models.rul_features`): trailing
   means over 5-30 rows, slopes over 20 and 50 rows, an exponentially weighted mean, the drift
   from the unit's first rows, and the unit's age.
3. **Target.** Piecewise-linear: ``min(time to failure, max_rul)``. Wear is invisible early in
   life, so a cap is learnable and an uncapped target is not. Default cap (``max_rul=None``):
   0.6 x the median training run length, rounded to 5 time units (FD001: 120, FD003: 130;
   papers use 125-130).
4. **Model.** An average of ``n_seeds`` gradient-boosted tree ensembles
   (``HistGradientBoostingRegressor``, feature subsampling, different seeds) trained on every
   row of every training unit, each unit weighted equally (rows weigh ``1 / rows of the unit``).
5. **Intervals.** Split-conformal on grouped cross-validation: a ``GroupKFold`` over training
   units gives out-of-fold predictions for every training row; the 10th and 90th percentiles
   of the residuals, conditional on the predicted value (:data:`INTERVAL_BINS` bins), are added
   to ``rul_p50``. The result is clipped to ``[0, ...]`` and made monotone.

The estimator follows scikit-learn's conventions (parameters stored in ``__init__``, learned
state ends with ``_``, ``fit`` returns ``self``); its input is a long frame (unit, time,
signals), not a plain matrix, because the features depend on each unit's history.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from scipy.stats import spearmanr
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.ensemble import HistGradientBoostingRegressor
from sklearn.model_selection import GroupKFold
from sklearn.utils.validation import check_is_fitted
from threadpoolctl import threadpool_limits

from bms.errors import SchemaError
from bms.models.rul_features import window_features
from bms.models.rul_regimes import RegimeNormalizer, constant_columns
from bms.models.series_checks import check_frame, check_numbers

__all__ = [
    "INTERVAL_BINS",
    "MIN_TRAIN_UNITS",
    "QUANTILE_COLUMNS",
    "REGIME_PATTERN",
    "RunToFailureRUL",
    "default_max_rul",
    "piecewise_target",
]

logger = logging.getLogger(__name__)

#: Output columns, in this order.
QUANTILE_COLUMNS = ("rul_p10", "rul_p50", "rul_p90")
#: Fewest training units: grouped cross-validation needs several units per fold.
MIN_TRAIN_UNITS = 5
#: Column names taken as operating settings (case-insensitive search).
REGIME_PATTERN = re.compile(r"setting|(^|_)op(_|$)|operating|regime|condition", re.IGNORECASE)
#: Bins of the predicted value over which residual quantiles are conditioned.
INTERVAL_BINS = 6
#: Bins per feature for the gradient-boosted trees (their own maximum).
MAX_BINS = 255
#: Fraction of the median run length used as the default target cap.
CAP_FRACTION = 0.6


def default_max_rul(run_lengths: Sequence[float]) -> float:
    """Default target cap: ``CAP_FRACTION`` x the median run length, rounded to 5.

    Parameters
    ----------
    run_lengths : sequence of float
        Time from first to last row of each training unit. [time unit]

    Returns
    -------
    float
        The cap, at least 1. [time unit]
    """
    median = float(np.median(np.asarray(run_lengths, dtype=float)))
    cap = 5.0 * round(CAP_FRACTION * median / 5.0)
    return cap if cap >= 5 else max(1.0, round(CAP_FRACTION * median, 3))


def piecewise_target(
    units: NDArray, times: NDArray[np.float64], max_rul: float
) -> NDArray[np.float64]:
    """``min(last time of the unit - time, max_rul)`` for every row. [time unit]"""
    last = pd.Series(times).groupby(pd.Series(units), sort=False).transform("max").to_numpy()
    return np.minimum(last - np.asarray(times, dtype=float), max_rul)


class RunToFailureRUL(RegressorMixin, BaseEstimator):
    """RUL quantiles from run-to-failure histories (see the module docstring for the method).

    Parameters
    ----------
    unit_column, time_column : str, default="unit", "time"
        Columns naming the unit and the time of each row (numeric, increasing within a unit).
    regime_columns : sequence of str, "auto" or None, default="auto"
        Operating-setting columns ("auto": by name, see :data:`REGIME_PATTERN`; else all
        signals; None: no regime normalisation).
    max_rul : float or None, default=None
        Target cap [time unit]; None: :func:`default_max_rul` of the training runs.
    n_seeds : int, default=3
        Gradient-boosted ensembles averaged.
    learning_rate, max_iter, max_leaf_nodes, min_samples_leaf, l2_regularization, max_features
        Passed to each ``HistGradientBoostingRegressor``.
    min_abs_corr : float, default=0.3
        Signals whose smoothed level has a smaller |Spearman correlation| with the target are
        dropped.
    cv_folds : int, default=5
        Grouped folds for the out-of-fold residuals that calibrate the interval.
    interval : float, default=0.8
        Nominal coverage of ``[rul_p10, rul_p90]``.
    unit_weighting : bool, default=True
        Weigh rows ``1 / rows of their unit`` (every unit counts the same), else 1.
    n_threads : int or None, default=1
        OpenMP threads for the trees and k-means (None: all cores). One by default: on a
        small shared machine, OpenMP threads that wait for busy cores make fits 10-20x slower.
    random_state : int, default=0

    Attributes
    ----------
    max_rul_ : float
    signals_ : list of str
        Signals kept after regime normalisation and the correlation filter.
    settings_ : list of str
        Columns used to find the regimes.
    regimes_ : RegimeNormalizer
    features_ : list of str
    models_ : list of HistGradientBoostingRegressor
    residual_bins_ : ndarray of shape (n_bins,)
        Centres of the predicted-value bins. [time unit]
    residual_low_, residual_high_ : ndarray of shape (n_bins,)
        Residual quantiles per bin. [time unit]
    cv_rmse_ : float
        Out-of-fold RMSE over all training rows, each unit weighted equally (capped target):
        the error at a uniformly random point of a unit's life. [time unit]
    """

    def __init__(
        self,
        unit_column: str = "unit",
        time_column: str = "time",
        regime_columns: Sequence[str] | str | None = "auto",
        max_rul: float | None = None,
        n_seeds: int = 3,
        learning_rate: float = 0.05,
        max_iter: int = 300,
        max_leaf_nodes: int = 15,
        min_samples_leaf: int = 50,
        l2_regularization: float = 1.0,
        max_features: float = 0.5,
        min_abs_corr: float = 0.3,
        cv_folds: int = 5,
        interval: float = 0.8,
        unit_weighting: bool = True,
        n_threads: int | None = 1,
        random_state: int = 0,
    ) -> None:
        self.unit_column = unit_column
        self.time_column = time_column
        self.regime_columns = regime_columns
        self.max_rul = max_rul
        self.n_seeds = n_seeds
        self.learning_rate = learning_rate
        self.max_iter = max_iter
        self.max_leaf_nodes = max_leaf_nodes
        self.min_samples_leaf = min_samples_leaf
        self.l2_regularization = l2_regularization
        self.max_features = max_features
        self.min_abs_corr = min_abs_corr
        self.cv_folds = cv_folds
        self.interval = interval
        self.unit_weighting = unit_weighting
        self.n_threads = n_threads
        self.random_state = random_state

    # -- input ------------------------------------------------------------------------------
    def _ordered(self, X: pd.DataFrame) -> pd.DataFrame:
        check_frame(X, "histories")
        for col in (self.unit_column, self.time_column):
            if col not in X.columns:
                raise SchemaError(f"column {col!r} not found; columns are {list(X.columns)}")
        check_numbers(X.drop(columns=[self.unit_column]), "histories")
        return X.sort_values([self.unit_column, self.time_column], kind="stable").reset_index(
            drop=True
        )

    def _signal_columns(self, X: pd.DataFrame) -> list[str]:
        return [c for c in X.columns if c not in (self.unit_column, self.time_column)]

    def _settings_columns(self, signals: list[str]) -> list[str]:
        if self.regime_columns is None:
            return []
        if isinstance(self.regime_columns, str):
            if self.regime_columns != "auto":
                return [self.regime_columns]
            named = [c for c in signals if REGIME_PATTERN.search(str(c))]
            return named or list(signals)
        return list(self.regime_columns)

    def _hgb(self, seed: int) -> HistGradientBoostingRegressor:
        return HistGradientBoostingRegressor(
            learning_rate=self.learning_rate,
            max_iter=self.max_iter,
            max_leaf_nodes=self.max_leaf_nodes,
            min_samples_leaf=self.min_samples_leaf,
            l2_regularization=self.l2_regularization,
            max_features=self.max_features,
            early_stopping=False,
            random_state=seed,
        )

    def _features(self, X: pd.DataFrame) -> pd.DataFrame:
        settings = X[self.settings_].to_numpy(dtype=float)
        normed = self.regimes_.transform(settings, X[self.normalised_].to_numpy(dtype=float))
        normed = normed[:, self.signal_mask_]
        return window_features(
            np.nan_to_num(normed),
            self.signals_,
            X[self.unit_column].to_numpy(),
            X[self.time_column].to_numpy(dtype=float),
        )

    # -- fit --------------------------------------------------------------------------------
    def fit(self, X: pd.DataFrame, y: Any = None) -> RunToFailureRUL:
        """Learn from run-to-failure histories (each unit fails at its last row).

        Parameters
        ----------
        X : DataFrame of shape (n_rows, n_columns)
            Unit column, time column and numeric signal columns.
        y : ignored
            The target is the time to each unit's last row.

        Returns
        -------
        self
        """
        with threadpool_limits(self.n_threads):
            return self._fit(X)

    def _fit(self, X: pd.DataFrame) -> RunToFailureRUL:
        X = self._ordered(X)
        units = X[self.unit_column].to_numpy()
        times = X[self.time_column].to_numpy(dtype=float)
        n_units = len(np.unique(units))
        if n_units < max(MIN_TRAIN_UNITS, self.cv_folds):
            raise SchemaError(
                f"{n_units} training unit(s); at least {max(MIN_TRAIN_UNITS, self.cv_folds)} "
                "run-to-failure histories are needed"
            )
        runs = pd.Series(times).groupby(units).agg(lambda t: t.max() - t.min())
        self.max_rul_ = float(self.max_rul) if self.max_rul else default_max_rul(runs.to_numpy())
        y_cap = piecewise_target(units, times, self.max_rul_)

        signals = self._signal_columns(X)
        values = X[signals].to_numpy(dtype=float)
        flat = constant_columns(values)
        signals = [c for c, f in zip(signals, flat, strict=True) if not f]
        if not signals:
            raise SchemaError("every signal column is constant in TRAIN: nothing to learn from")
        self.settings_ = [c for c in self._settings_columns(signals) if c in signals]
        named = self.regime_columns == "auto" and any(REGIME_PATTERN.search(c) for c in signals)
        explicit = not isinstance(self.regime_columns, str) and self.regime_columns is not None
        # named or explicit settings are not sensors; settings found by "all signals" are
        self.normalised_ = [
            c for c in signals if not (named or explicit) or c not in self.settings_
        ]
        self.regimes_ = RegimeNormalizer(random_state=self.random_state).fit(
            X[self.settings_].to_numpy(dtype=float), X[self.normalised_].to_numpy(dtype=float)
        )
        kept = RegimeNormalizer.names(self.normalised_, self.regimes_.keep_)
        normed = self.regimes_.transform(
            X[self.settings_].to_numpy(dtype=float), X[self.normalised_].to_numpy(dtype=float)
        )
        smooth = (
            pd.DataFrame(np.nan_to_num(normed))
            .groupby(units)
            .transform(lambda c: c.ewm(span=15).mean())
        )
        corr = np.array(
            [abs(spearmanr(smooth.iloc[:, j], y_cap).statistic) for j in range(len(kept))]
        )
        corr = np.nan_to_num(corr)
        mask = corr >= self.min_abs_corr
        if not mask.any():
            mask = corr >= corr.max()
        self.signal_mask_ = mask
        self.signals_ = [c for c, m in zip(kept, mask, strict=True) if m]
        self.signal_corr_ = dict(zip(kept, np.round(corr, 3).tolist(), strict=True))
        logger.info("RUL signals kept: %s (cap %.0f)", self.signals_, self.max_rul_)

        feats = self._features(X)
        self.features_ = list(feats.columns)
        counts = pd.Series(units).map(pd.Series(units).value_counts()).to_numpy(dtype=float)
        per_unit = 1.0 / counts  # every unit counts the same in the CV error and intervals
        weight = per_unit if self.unit_weighting else np.ones(len(counts))
        self.bin_edges_ = _bin_edges(feats.to_numpy(dtype=float))
        matrix = _apply_bins(feats.to_numpy(dtype=float), self.bin_edges_)

        oof = np.empty(len(X))
        folds = GroupKFold(n_splits=self.cv_folds)
        for k, (train, hold) in enumerate(folds.split(matrix, y_cap, groups=units)):
            model = self._hgb(self.random_state + 100 + k)
            model.fit(matrix[train], y_cap[train], sample_weight=weight[train])
            oof[hold] = np.clip(model.predict(matrix[hold]), 0.0, self.max_rul_)
        self.cv_rmse_ = float(np.sqrt(np.average((oof - y_cap) ** 2, weights=per_unit)))
        self._calibrate(oof, y_cap, per_unit)

        self.models_ = [
            self._hgb(self.random_state + s).fit(matrix, y_cap, sample_weight=weight)
            for s in range(self.n_seeds)
        ]
        self.n_train_units_ = n_units
        return self

    def _calibrate(
        self, pred: NDArray[np.float64], truth: NDArray[np.float64], weight: NDArray[np.float64]
    ) -> None:
        """Residual quantiles per bin of predicted value (weighted like the training rows)."""
        alpha = (1.0 - self.interval) / 2.0
        edges = np.unique(np.quantile(pred, np.linspace(0, 1, INTERVAL_BINS + 1)))
        bins = np.clip(np.searchsorted(edges, pred, side="right") - 1, 0, max(len(edges) - 2, 0))
        centres, low, high = [], [], []
        resid = truth - pred
        for b in np.unique(bins):
            sel = bins == b
            centres.append(float(np.average(pred[sel], weights=weight[sel])))
            low.append(_weighted_quantile(resid[sel], weight[sel], alpha))
            high.append(_weighted_quantile(resid[sel], weight[sel], 1.0 - alpha))
        self.residual_bins_ = np.asarray(centres)
        self.residual_low_ = np.minimum(np.asarray(low), 0.0)
        self.residual_high_ = np.maximum(np.asarray(high), 0.0)

    # -- predict ----------------------------------------------------------------------------
    def predict_rows(self, X: pd.DataFrame) -> pd.DataFrame:
        """RUL quantiles at every row of ``X``.

        Parameters
        ----------
        X : DataFrame
            Histories with the training columns (unit, time, signals).

        Returns
        -------
        DataFrame of shape (n_rows, 5)
            ``unit, time, rul_p10, rul_p50, rul_p90`` sorted by unit then time. [time unit]
        """
        check_is_fitted(self, "models_")
        X = self._ordered(X)
        needed = dict.fromkeys([*self.settings_, *self.normalised_])  # a setting may be both
        missing = [c for c in needed if c not in X.columns]
        if missing:
            raise SchemaError(f"column(s) {missing} seen in training are missing")
        with threadpool_limits(self.n_threads):
            matrix = _apply_bins(self._features(X).to_numpy(dtype=float), self.bin_edges_)
            p50 = np.mean([m.predict(matrix) for m in self.models_], axis=0)
        p50 = np.clip(p50, 0.0, self.max_rul_)
        low = p50 + np.interp(p50, self.residual_bins_, self.residual_low_)
        high = p50 + np.interp(p50, self.residual_bins_, self.residual_high_)
        out = pd.DataFrame(
            {
                self.unit_column: X[self.unit_column].to_numpy(),
                self.time_column: X[self.time_column].to_numpy(),
                "rul_p10": np.clip(np.minimum(low, p50), 0.0, None),
                "rul_p50": p50,
                "rul_p90": np.maximum(high, p50),
            }
        )
        return out

    def predict_quantiles(self, X: pd.DataFrame) -> pd.DataFrame:
        """RUL quantiles at each unit's last row.

        Returns
        -------
        DataFrame of shape (n_units, 3)
            Indexed by unit (sorted), columns ``rul_p10, rul_p50, rul_p90``. [time unit]
        """
        rows = self.predict_rows(X)
        last = rows.groupby(self.unit_column, sort=True).tail(1).set_index(self.unit_column)
        return last[list(QUANTILE_COLUMNS)]

    def predict(self, X: pd.DataFrame) -> NDArray[np.float64]:
        """Median RUL at each unit's last row, units in sorted order. [time unit]"""
        return self.predict_quantiles(X)["rul_p50"].to_numpy()


def _bin_edges(matrix: NDArray[np.float64]) -> list[NDArray[np.float64]]:
    """Per-column quantile edges (at most ``MAX_BINS - 1``), learned on training rows.

    Binning here, unweighted, rather than inside ``HistGradientBoostingRegressor``: with sample
    weights its binning computes 254 weighted percentiles per column, 100x slower; on columns
    with at most 255 distinct values it keeps them as they are.
    """
    qs = np.linspace(0.0, 1.0, MAX_BINS + 1)[1:-1]
    return [np.unique(np.quantile(col, qs)) for col in matrix.T]


def _apply_bins(
    matrix: NDArray[np.float64], edges: list[NDArray[np.float64]]
) -> NDArray[np.float64]:
    """Map each column to its bin number (0 .. len(edges)); the same ordering as the values."""
    out = np.empty_like(matrix, dtype=float)
    for j, col_edges in enumerate(edges):
        out[:, j] = np.searchsorted(col_edges, matrix[:, j], side="left")
    return out


def _weighted_quantile(
    values: NDArray[np.float64], weights: NDArray[np.float64], q: float
) -> float:
    order = np.argsort(values)
    v, w = values[order], weights[order]
    cum = (np.cumsum(w) - 0.5 * w) / w.sum()
    return float(np.interp(q, cum, v))
