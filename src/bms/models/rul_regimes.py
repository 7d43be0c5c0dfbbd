"""Operating-regime normalisation for multi-condition run-to-failure data.

Equipment that runs at several operating points (altitude and throttle for an engine, stages of
a chiller plant, speeds of a pump) shows sensor levels that move far more with the operating
point than with wear. :class:`RegimeNormalizer` finds the operating points automatically and
z-scores each signal *within* its regime, so that what is left is wear (and noise).

How the regimes are found, on training data only:

1. The regime columns (the operating settings) are standardised; their rows are clustered with
   k-means for ``k = 2 .. max_regimes``.
2. ``k`` is the one with the best silhouette (on a subsample of at most
   :data:`SILHOUETTE_SAMPLE` rows); when that silhouette is below ``min_silhouette`` the
   settings do not form distinct operating points (a single-condition data set: the settings
   are noise) and one regime is used.
3. Each signal's mean and standard deviation are learned per regime; a signal whose standard
   deviation is (near) zero in every regime carries no information and is dropped.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.cluster import KMeans
from sklearn.metrics import silhouette_score
from sklearn.utils.validation import check_is_fitted

__all__ = ["MIN_SILHOUETTE", "SILHOUETTE_SAMPLE", "RegimeNormalizer", "constant_columns"]

logger = logging.getLogger(__name__)

#: Silhouette above which clusters of the settings count as distinct operating points. Noise
#: split into k-means clusters scores 0.3-0.45; C-MAPSS FD002/FD004's six conditions score ~0.99.
MIN_SILHOUETTE = 0.7
#: Rows used to compute a silhouette (it is quadratic in the rows).
SILHOUETTE_SAMPLE = 3000
#: Relative standard deviation below which a column is constant (after rounding noise).
CONSTANT_RTOL = 1e-6


def constant_columns(values: NDArray[np.float64]) -> NDArray[np.bool_]:
    """Columns that do not vary (std <= CONSTANT_RTOL x (|mean| + 1)), or are all missing."""
    values = np.asarray(values, dtype=float)
    with np.errstate(invalid="ignore"):
        std = np.nanstd(values, axis=0)
        mean = np.nanmean(values, axis=0) if len(values) else np.zeros(values.shape[1])
    return ~(std > CONSTANT_RTOL * (np.abs(mean) + 1.0))


class RegimeNormalizer(TransformerMixin, BaseEstimator):
    """Cluster operating settings into regimes and z-score signals within each regime.

    Parameters
    ----------
    max_regimes : int, default=8
        Largest number of regimes tried.
    min_silhouette : float, default=MIN_SILHOUETTE
        Below this silhouette, one regime is used (the settings are noise).
    n_regimes : int or None, default=None
        Force this number of regimes (None: choose as described in the module docstring).
    random_state : int, default=0

    Attributes
    ----------
    n_regimes_ : int
        Regimes found (1 for single-condition data).
    silhouette_ : float or None
        Silhouette of the chosen clustering (None when no settings or forced).
    kmeans_ : KMeans or None
    settings_mean_, settings_scale_ : ndarray of shape (n_settings,)
    mean_, scale_ : ndarray of shape (n_regimes, n_signals)
    keep_ : ndarray of shape (n_signals,) of bool
        Signals that vary within at least one regime.
    """

    def __init__(
        self,
        max_regimes: int = 8,
        min_silhouette: float = MIN_SILHOUETTE,
        n_regimes: int | None = None,
        random_state: int = 0,
    ) -> None:
        self.max_regimes = max_regimes
        self.min_silhouette = min_silhouette
        self.n_regimes = n_regimes
        self.random_state = random_state

    def _choose_k(self, scaled: NDArray[np.float64]) -> tuple[int, KMeans | None, float | None]:
        if self.n_regimes is not None:
            if self.n_regimes <= 1:
                return 1, None, None
            km = KMeans(self.n_regimes, n_init=4, random_state=self.random_state).fit(scaled)
            return self.n_regimes, km, None
        if scaled.shape[1] == 0 or len(scaled) < 20:
            return 1, None, None
        rng = np.random.default_rng(self.random_state)
        sample = scaled
        if len(scaled) > SILHOUETTE_SAMPLE:
            sample = scaled[rng.choice(len(scaled), SILHOUETTE_SAMPLE, replace=False)]
        best: tuple[float, int, KMeans | None] = (-1.0, 1, None)
        for k in range(2, min(self.max_regimes, len(np.unique(sample, axis=0)) - 1) + 1):
            km = KMeans(k, n_init=4, random_state=self.random_state).fit(scaled)
            labels = km.predict(sample)
            if len(np.unique(labels)) < 2:
                continue
            score = float(silhouette_score(sample, labels))
            if score > best[0] + 1e-3:
                best = (score, k, km)
        score, k, km = best
        if km is None or score < self.min_silhouette:
            return 1, None, score if km is not None else None
        return k, km, score

    def fit(self, settings: NDArray[np.float64], signals: NDArray[np.float64]) -> RegimeNormalizer:
        """Learn the regimes from ``settings`` and the per-regime scale of ``signals``.

        Parameters
        ----------
        settings : ndarray of shape (n_rows, n_settings)
            Operating-setting columns (may have 0 columns: one regime).
        signals : ndarray of shape (n_rows, n_signals)
            Sensor columns to normalise.
        """
        settings = np.asarray(settings, dtype=float).reshape(len(signals), -1)
        signals = np.asarray(signals, dtype=float)
        varying = ~constant_columns(settings) if settings.shape[1] else np.zeros(0, bool)
        settings = settings[:, varying]
        self.settings_varying_ = varying
        self.settings_mean_ = np.nanmean(settings, axis=0) if settings.shape[1] else np.zeros(0)
        scale = np.nanstd(settings, axis=0) if settings.shape[1] else np.zeros(0)
        self.settings_scale_ = np.where(scale > 0, scale, 1.0)
        scaled = np.nan_to_num((settings - self.settings_mean_) / self.settings_scale_)
        self.n_regimes_, self.kmeans_, self.silhouette_ = self._choose_k(scaled)
        labels = self._labels(scaled)
        n_sig = signals.shape[1]
        self.mean_ = np.zeros((self.n_regimes_, n_sig))
        self.scale_ = np.ones((self.n_regimes_, n_sig))
        varies = np.zeros(n_sig, dtype=bool)
        for r in range(self.n_regimes_):
            rows = signals[labels == r]
            if len(rows) == 0:
                continue
            self.mean_[r] = np.nan_to_num(np.nanmean(rows, axis=0))
            std = np.nan_to_num(np.nanstd(rows, axis=0))
            flat = constant_columns(rows)
            varies |= ~flat
            self.scale_[r] = np.where(flat, 1.0, std)
        self.keep_ = varies
        logger.info(
            "operating regimes: %d (silhouette %s); %d of %d signals vary",
            self.n_regimes_,
            "n/a" if self.silhouette_ is None else f"{self.silhouette_:.2f}",
            int(varies.sum()),
            n_sig,
        )
        return self

    def _labels(self, scaled: NDArray[np.float64]) -> NDArray[np.int64]:
        if self.kmeans_ is None:
            return np.zeros(len(scaled), dtype=np.int64)
        return self.kmeans_.predict(scaled).astype(np.int64)

    def regimes(self, settings: NDArray[np.float64]) -> NDArray[np.int64]:
        """Regime index of each row. Returns ndarray of shape (n_rows,)."""
        check_is_fitted(self, "kmeans_")
        settings = np.asarray(settings, dtype=float).reshape(len(settings), -1)
        settings = settings[:, self.settings_varying_]
        scaled = np.nan_to_num((settings - self.settings_mean_) / self.settings_scale_)
        return self._labels(scaled)

    def transform(
        self, settings: NDArray[np.float64], signals: NDArray[np.float64]
    ) -> NDArray[np.float64]:
        """Signals z-scored within their rows' regime; only the kept (varying) signals.

        Returns
        -------
        ndarray of shape (n_rows, n_kept_signals)
        """
        labels = self.regimes(settings)
        signals = np.asarray(signals, dtype=float)
        out = (signals - self.mean_[labels]) / self.scale_[labels]
        return out[:, self.keep_]

    def fit_transform(  # type: ignore[override]
        self, settings: NDArray[np.float64], signals: NDArray[np.float64]
    ) -> NDArray[np.float64]:
        """``fit(settings, signals).transform(settings, signals)``."""
        return self.fit(settings, signals).transform(settings, signals)

    @staticmethod
    def names(names: Sequence[str], keep: NDArray[np.bool_]) -> list[str]:
        """The kept signal names."""
        return [n for n, k in zip(names, keep, strict=True) if k]
