"""Time-series boundary of the anomaly detectors: wide frame in, calibrated scores out.

:class:`TimeSeriesDetector` wraps a row-wise detector (:mod:`bms.models.anomaly`) with what time
series need and a row-wise estimator cannot do:

1. **Missing readings** (:mod:`bms.models.gap_fill`). A gap of at most ``window_rows`` rows
   (any gap of a sparse, change-of-value signal) holds the reading before it; a longer one, an
   outage, is estimated from the signals read in the same row, and so are its features (step
   2), so that the row is judged on what it holds and an offline sensor is not a fault; in the
   rows scored, a one-row spike is a reading lost, replaced by the mean of its neighbours, and
   in the training rows a reading far outside every other reading of its signal is too. A
   NaN never crashes scoring. Without mode signals, a signal that follows the clock is judged
   against its time-of-day profile (:mod:`bms.models.daily_profile`).
2. **Features.** Each signal's level, denoised by a short trailing mean (a third of the
   smoothing window), and its first difference (rate of change per row): a fault that changes
   dynamics without moving levels out of range still shows. A *slow* signal, one whose level
   decorrelates so slowly that the training rows hold fewer than
   :data:`MIN_EFFECTIVE_SAMPLES` independent samples of it (see :func:`decorrelation_rows`),
   has not shown its normal range in training: its level is replaced by its change over
   :data:`DRIFT_HORIZON_WINDOWS` smoothing windows (drift-aware levels).
3. **Persistence.** Faults are collective: the raw anomaly is smoothed by a trailing
   (causal) mean over ``window_rows`` rows before thresholding.
4. **Calibration without labels.** The threshold comes from the *held-out* training anomalies
   (time-ordered blocked cross-validation inside the detector, blocks capped at a quarter of
   the training rows): the larger of their smoothed ``1 - false_alarm_rate`` quantile and a
   finite-sample gamma bound that stays sound with few training rows
   (:func:`bms.models.anomaly_calibration.smoothed_threshold`), and the boundary score
   is the monotone map ``a / (a + threshold)`` of the smoothed
   anomaly ``a >= 0``: in [0, 1), 0.5 exactly at the threshold. With mode signals (statuses,
   occupancy: :mod:`bms.models.anomaly_regimes`), each operating regime (a mode, or the
   transition just after a switch into it) gets its own threshold by the same rule, so start-ups
   do not set the threshold of steady running, and, when the training rows hold it on several
   occasions, its own model (``mode_models``).

Output per row (:meth:`TimeSeriesDetector.score`, :func:`detect_anomalies`): ``score`` in [0, 1]
(0.5 = threshold, higher = more anomalous), ``anomaly`` (0/1), ``top_contributor`` (signal
name), and one ``contribution:<signal>`` column per signal (shares of the smoothed anomaly,
summing to 1; a difference feature's share counts for its signal).
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from sklearn.base import BaseEstimator, clone
from sklearn.utils.validation import check_is_fitted

from bms.models.anomaly import EnsembleDetector
from bms.models.anomaly_calibration import smoothed_threshold
from bms.models.anomaly_regimes import (
    MAX_MODE_LEVELS,
    UNSEEN,
    OperatingRegimes,
    distinct_values,
    find_mode_columns,
    modelled_regimes,
    regime_thresholds,
)
from bms.models.daily_profile import DailyProfile
from bms.models.gap_fill import FeatureFill, GapFiller, training_glitches
from bms.models.operating_points import OperatingPoints
from bms.models.series_checks import check_frame, check_series, on_training_clock

__all__ = [
    "CONTRIBUTION_PREFIX",
    "DEFAULT_WINDOW_ROWS",
    "DRIFT_HORIZON_WINDOWS",
    "MIN_EFFECTIVE_SAMPLES",
    "TimeSeriesDetector",
    "calibration_block_rows",
    "decorrelation_rows",
    "detect_anomalies",
    "lagged_change",
    "per_segment",
    "segment_bounds",
    "trailing_mean",
]

logger = logging.getLogger(__name__)

#: Prefix of the per-signal contribution columns in the output frame.
CONTRIBUTION_PREFIX = "contribution:"
#: Levels are denoised by a trailing mean over ``window_rows // LEVEL_WINDOW_DIVISOR`` rows
#: (10 rows for the default window): single-row sensor noise is not a fault.
LEVEL_WINDOW_DIVISOR = 3
#: Held-out calibration blocks are this many smoothing windows long: long enough that the rows
#: of one event stay in one block, short enough that every regime of the training data lands
#: in several folds (see :mod:`bms.models.anomaly_base`).
CALIBRATION_BLOCK_WINDOWS = 2
#: Folds of the held-out calibration (the detectors' default ``n_splits``).
CALIBRATION_FOLDS = 4
#: Default smoothing window [rows]: long enough to average out single-row noise, short enough
#: to react within minutes at 1 s-1 min sampling.
DEFAULT_WINDOW_ROWS = 30
#: A signal's level is judged against the training rows only when they hold at least this many
#: decorrelation times of it (independent samples): with fewer, the training spread of a slowly
#: wandering signal (a temperature over a few minutes) says little about its normal range.
MIN_EFFECTIVE_SAMPLES = 10
#: A slow signal's level feature is its change over this many smoothing windows (the length of a
#: calibration block): drift at its training rate stays normal, a jump or a fast ramp does not.
DRIFT_HORIZON_WINDOWS = CALIBRATION_BLOCK_WINDOWS
#: Autocorrelation below which two rows of a signal count as decorrelated.
DECORRELATION_ACF = 0.5
#: Rows after a switch of operating mode (fan, occupancy...) that are judged as a transition,
#: in smoothing windows: the window that holds the switch itself, and one to settle (longer
#: when the features look further back: :meth:`TimeSeriesDetector._transition_rows`).
TRANSITION_WINDOWS = 2
#: Values (rows x features) the row-wise detector scores at a time: its temporaries (a few
#: arrays of that size, 2 MB each) then stay in the processor's cache. Scoring with
#: contributions ran 1.6-2.4 x faster than in one pass over all rows, on a million rows x 8
#: signals and on 50,000 rows x 200 signals (``benchmarks/bench_detect_throughput.py``; each
#: ratio measured within one run).
SCORE_CHUNK_CELLS = 2**18
#: Fewest rows in a chunk, however many features: below this the per-call overhead dominates.
MIN_CHUNK_ROWS = 512


#: Values of one column group's padded autocorrelation in :func:`decorrelation_rows` (8 M: a
#: 64 MB spectrum).
FFT_CHUNK_CELLS = 1 << 23


def decorrelation_rows(values: NDArray[np.float64]) -> NDArray[np.float64]:
    """First lag at which each column's autocorrelation falls below :data:`DECORRELATION_ACF`.

    Parameters
    ----------
    values : ndarray of shape (n_samples, n_columns)
        Rows in time order, no NaN.

    Returns
    -------
    ndarray of shape (n_columns,)
        Decorrelation time [rows]; ``n_samples`` when the autocorrelation stays above the limit
        up to half the series, 1 for a constant column (no drift to speak of).
    """
    n, m = values.shape
    out = np.ones(m)
    if n < 4:
        return out
    mean = values.mean(axis=0)
    size = 1 << int(np.ceil(np.log2(2 * n)))  # zero-padded: linear, not circular, correlation
    # a few columns at a time: the padded spectra of all of them at once would take 12 times
    # the rows' memory (1.9 GB for 300,000 rows x 70 columns)
    group = max(1, FFT_CHUNK_CELLS // size)
    scale = (1.0 + np.abs(values).max(axis=0)) ** 2 * n
    for first in range(0, m, group):
        columns = slice(first, first + group)
        centred = values[:, columns] - mean[columns]
        power = (centred**2).sum(axis=0)
        spectrum = np.fft.rfft(centred, n=size, axis=0)
        acov = np.fft.irfft(spectrum.real**2 + spectrum.imag**2, n=size, axis=0)[: n // 2]
        for j in np.flatnonzero(power > 1e-12 * scale[columns]):
            below = np.flatnonzero(acov[:, j] / power[j] < DECORRELATION_ACF)
            out[first + j] = below[0] if below.size else n
    return out


def lagged_change(values: NDArray[np.float64], lag_rows: int) -> NDArray[np.float64]:
    """Causal change over ``lag_rows`` rows along axis 0.

    Parameters
    ----------
    values : ndarray of shape (n_samples, n_columns)
    lag_rows : int
        Horizon [rows].

    Returns
    -------
    ndarray of the same shape: ``values[t] - values[t - lag_rows]``, NaN for the first
    ``lag_rows`` rows (no history that far back).
    """
    out = np.full_like(values, np.nan)
    if len(values) > lag_rows:
        out[lag_rows:] = values[lag_rows:] - values[:-lag_rows]
    return out


def segment_bounds(index: pd.Index, window_rows: int) -> list[tuple[int, int]]:
    """``(start, stop)`` row ranges of the contiguous stretches of a time index.

    A gap longer than ``window_rows`` steps (the median step), or time going backwards, starts
    a new stretch: the days of a training set picked one in two, a sensor offline for an hour.
    Rolling features and the smoothing restart there, as at the first row, instead of reading
    the jump across the gap as a change of the signals. Shorter gaps are a few missing rows,
    imputed. An index that is not a DatetimeIndex is one stretch, and so is one whose
    stretches would be shorter than a window on average (rows not in time order: newest
    first, say), read in the given order as before.
    """
    n = len(index)
    if not isinstance(index, pd.DatetimeIndex) or n < 3:
        return [(0, n)]
    steps = np.diff(index.asi8).astype(np.float64)
    positive = steps[steps > 0]
    if positive.size == 0:
        return [(0, n)]
    gap = window_rows * float(np.median(positive))
    starts = np.flatnonzero((steps > gap) | (steps < 0)) + 1
    if len(starts) + 1 > n / window_rows:
        return [(0, n)]
    edges = [0, *starts.tolist(), n]
    return list(itertools.pairwise(edges))


def _gap_times(frame: pd.DataFrame, elapsed: pd.DatetimeIndex | None) -> pd.Index:
    """The times gaps are told by: ``elapsed`` when given (checked against ``frame``), else
    ``frame``'s index."""
    if elapsed is None:
        return frame.index
    if len(elapsed) != len(frame):
        raise ValueError(f"elapsed holds {len(elapsed)} times for {len(frame)} rows")
    return pd.DatetimeIndex(elapsed)


def per_segment(
    function: Any, values: NDArray[np.float64], bounds: Sequence[tuple[int, int]]
) -> NDArray[np.float64]:
    """``function`` applied to each stretch of rows on its own, the results stacked."""
    if len(bounds) == 1:
        return np.asarray(function(values))
    return np.concatenate([function(values[a:b]) for a, b in bounds], axis=0)


def calibration_block_rows(n_rows: int, window_rows: int) -> int:
    """Length of the held-out calibration blocks [rows].

    :data:`CALIBRATION_BLOCK_WINDOWS` smoothing windows, capped so that each of the
    :data:`CALIBRATION_FOLDS` folds gets at least one block: with fewer training rows than
    that, held-out scores would silently become in-sample scores (optimistic: white noise
    trained on 50 rows scored twice as anomalous after training as in it).
    """
    return max(1, min(CALIBRATION_BLOCK_WINDOWS * window_rows, n_rows // CALIBRATION_FOLDS))


def trailing_mean(
    values: NDArray[np.float64], window_rows: int, *, full_window: bool = False
) -> NDArray[np.float64]:
    """Causal rolling mean along axis 0.

    Parameters
    ----------
    values : ndarray of shape (n_samples,) or (n_samples, n_columns)
    window_rows : int
        Window length [rows]; 1 returns the input.
    full_window : bool, default=False
        How the first ``window_rows - 1`` rows are averaged: False, over the rows that exist so
        far; True, over a full window with the missing history counted as 0 (for non-negative
        anomalies: evidence must build up over a window before it can cross a threshold).

    Returns
    -------
    ndarray of the same shape as ``values``
    """
    if window_rows <= 1 or len(values) == 0:
        return values
    csum = np.cumsum(values, axis=0, dtype=np.float64)
    out = csum.copy()
    out[window_rows:] -= csum[:-window_rows]  # in place: no temporary of the input's size
    del csum
    if full_window:
        out /= window_rows
        return out
    counts = np.minimum(np.arange(1, len(values) + 1), window_rows).astype(np.float64)
    out /= counts[:, None] if values.ndim == 2 else counts
    return out


class TimeSeriesDetector(BaseEstimator):
    """Unsupervised anomaly detection on a wide, time-ordered frame of numeric signals.

    Parameters
    ----------
    window_rows : int, default=DEFAULT_WINDOW_ROWS
        Trailing smoothing window of the anomaly [rows].
    false_alarm_rate : float, default=0.01
        Target share of normal rows flagged (held-out training rows, after smoothing).
    differences : bool, default=True
        Add each signal's first difference as a feature.
    detector : estimator or None, default=None
        Unfitted row-wise detector from :mod:`bms.models.anomaly` (cloned at fit);
        ``None`` gives an :class:`~bms.models.anomaly.EnsembleDetector` (residual + PCA).
    drift_aware : bool, default=True
        Judge slow signals (fewer than :data:`MIN_EFFECTIVE_SAMPLES` decorrelation times in the
        training rows) by their change over :data:`DRIFT_HORIZON_WINDOWS` windows instead of
        their level; the horizon is capped at a quarter of the training rows.
    mode_models : bool, default=True
        With mode signals, fit one model per operating regime seen on at least
        :data:`~bms.models.anomaly_regimes.MIN_MODE_EPISODES` separate occasions in training
        (for a detector that takes a ``state_column``: the default ensemble,
        :class:`~bms.models.anomaly.ResidualDetector`, :class:`~bms.models.anomaly.PCADetector`);
        the other regimes, and other detectors, get one model fitted on every row.
    daily_profiles : bool, default=True
        When no mode signal gives the operating mode, the training rows are indexed by time and
        span days, judge each signal whose time-of-day profile predicts held-out training days
        against that profile (:class:`~bms.models.daily_profile.DailyProfile`): a fan speed
        at 3 a.m. is not judged as one at 10 a.m. With mode signals the operating regimes
        already carry the schedule (a profile counted it twice and raised false alarms).
    operating_points : bool, default=True
        When some signals are settings recorded with noise (4 to 8 tight clusters of values:
        an engine's altitude and Mach number, a chiller's load stages), judge each other signal
        whose means at the operating points predict held-out occasions against its mean at the
        row's point (:class:`~bms.models.operating_points.OperatingPoints`); no daily profile
        is then learnt.

    Attributes
    ----------
    gap_filler_ : GapFiller
        How missing readings are filled (:mod:`bms.models.gap_fill`).
    train_glitches_ : ndarray of int, shape (n_signals,)
        Training readings of each signal read as glitches, lost readings rather than operation
        (:func:`~bms.models.gap_fill.training_glitches`).
    feature_fill_ : FeatureFill
        How the features of an outage are estimated from the row's other features.
    slow_signals_ : list of str
        Signals judged by their change (empty when ``drift_aware`` is False).
    profiled_signals_ : list of str
        Signals judged against their daily profile (empty when ``daily_profiles`` is False or
        the training rows hold no profile).
    point_signals_ : list of str
        Signals judged against their mean at the operating point (empty without settings).
    setting_signals_ : list of str
        The settings, and modes, that define the operating point (empty when no signal is
        judged against it).
    threshold_ : float
        Global threshold: smoothed raw anomaly at which ``score`` is 0.5 when there is a single
        operating regime.
    mode_signals_ : list of str
        Signals that define the operating regimes (2-3 distinct training values; empty: one
        regime).
    regime_thresholds_ : dict
        Operating regime -> threshold (:func:`bms.models.anomaly_regimes.regime_thresholds`).
    state_column_ : int or None
        Column of the detector's input that holds the operating regime (None: one model).
    modelled_regimes_ : ndarray
        Regimes with a model of their own (the others are :data:`UNSEEN` in that column).
    """

    def __init__(
        self,
        *,
        window_rows: int = DEFAULT_WINDOW_ROWS,
        false_alarm_rate: float = 0.01,
        differences: bool = True,
        detector: Any = None,
        drift_aware: bool = True,
        mode_models: bool = True,
        daily_profiles: bool = True,
        operating_points: bool = True,
    ) -> None:
        self.window_rows = window_rows
        self.false_alarm_rate = false_alarm_rate
        self.differences = differences
        self.detector = detector
        self.drift_aware = drift_aware
        self.mode_models = mode_models
        self.daily_profiles = daily_profiles
        self.operating_points = operating_points

    # -- features -------------------------------------------------------------------------
    def _estimated_features(self, unknown: NDArray[np.bool_]) -> NDArray[np.bool_]:
        """Which features of each row are estimated, from its estimated signals: a signal's
        level, and its change there and on the row after (it reaches back one row). A mode
        signal's features are not: its estimate is one of its values, and sets the regime."""
        unknown = unknown & ~self.gap_filler_.modes_
        if not self.differences:
            return unknown
        changed = unknown.copy()
        changed[1:] |= unknown[:-1]
        return np.hstack([unknown, changed])

    def _levels(self, values: NDArray[np.float64]) -> NDArray[np.float64]:
        return trailing_mean(values, max(1, self.window_rows // LEVEL_WINDOW_DIVISOR))

    def _features(self, values: NDArray[np.float64]) -> NDArray[np.float64]:
        """Each signal's level (its change over the drift horizon for a slow one), then, with
        ``differences``, its row-to-row difference: written into one array."""
        n_rows, n_signals = values.shape
        out = np.empty((n_rows, 2 * n_signals if self.differences else n_signals))
        levels = out[:, :n_signals]
        levels[:] = self._levels(values)
        if self.slow_mask_.any():
            change = lagged_change(levels[:, self.slow_mask_], self.drift_horizon_)
            # the first rows of a series have no history that far back: the typical training
            # change stands in, so they neither raise nor hide an alarm on that signal
            levels[:, self.slow_mask_] = np.where(np.isnan(change), self.drift_fill_, change)
        if self.differences:
            out[:1, n_signals:] = 0.0
            np.subtract(values[1:], values[:-1], out=out[1:, n_signals:])
        return out

    def _smooth(self, anomaly: NDArray[np.float64]) -> NDArray[np.float64]:
        """Persistence: the trailing mean over a full window (missing history counted as 0)."""
        return trailing_mean(anomaly, self.window_rows, full_window=True)

    def _transition_rows(self) -> int:
        """Rows after a mode switch judged as a transition: :data:`TRANSITION_WINDOWS` windows,
        and at least as long as the switch still shows in the smoothed anomaly. A feature looks
        back over the level mean (and, for a slow signal, the drift horizon before it), and the
        smoothing over one more window: until then a steady mode's rows still carry the switch
        (on LBNL SZCAV, rows 60-69 after a switch gave the steady night regime's held-out
        anomalies a tail 1,000 x their median, and a threshold that no fault reached)."""
        lookback = max(1, self.window_rows // LEVEL_WINDOW_DIVISOR)
        if self.slow_mask_.any():
            lookback += self.drift_horizon_
        return max(TRANSITION_WINDOWS * self.window_rows, lookback + self.window_rows)

    def _drift_horizon(self, n_rows: int) -> int:
        """Lag of the drift-aware change [rows]: the calibration block, capped so that short
        training still holds four of them (a change must be learnt from several horizons)."""
        return max(1, min(DRIFT_HORIZON_WINDOWS * self.window_rows, n_rows // 4))

    # -- fit / score ----------------------------------------------------------------------
    def fit(
        self, train: pd.DataFrame, *, elapsed: pd.DatetimeIndex | None = None
    ) -> TimeSeriesDetector:
        """Fit on mostly-normal rows (oldest first) and calibrate the threshold.

        Parameters
        ----------
        train : DataFrame of shape (n_samples, n_signals)
            Numeric signals only, one column each, rows in time order. NaN allowed.
        elapsed : DatetimeIndex of shape (n_samples,) or None
            The rows' times as they run, when ``train``'s index is a wall clock: gaps are
            told by them (a clock's spring change is no gap), the time of day by the index.
            None: the index tells both.

        Returns
        -------
        self
        """
        if self.window_rows < 1:
            raise ValueError(f"window_rows must be >= 1, got {self.window_rows}")
        if not 0.0 < self.false_alarm_rate < 0.5:
            raise ValueError(f"false_alarm_rate must be in (0, 0.5), got {self.false_alarm_rate}")
        check_frame(train, "training rows")
        check_series(train, "training rows")
        empty = [str(c) for c in train.columns if train[c].isna().all()]
        if empty:
            raise ValueError(
                f"training rows: signal(s) {empty} hold no value: leave them out (every value "
                "they take later would look abnormal)"
            )
        self.signals_ = [str(c) for c in train.columns]
        #: the training index's time zone: rows scored in another are read on this one's clock
        self.train_tz_ = getattr(train.index, "tz", None)
        raw = train.to_numpy(dtype=np.float64, copy=True)
        raw[np.isinf(raw)] = np.nan
        # a reading far outside its signal's others is a glitch, not operation: left in, its
        # held-out residuals set the residual scales, and one such reading silenced SKAB files
        glitches = training_glitches(raw)
        raw[glitches] = np.nan
        self.train_glitches_ = glitches.sum(axis=0)
        # missing readings: short gaps hold, outages are estimated from the other signals
        self.gap_filler_ = GapFiller(self.window_rows).fit(raw)
        values, unknown = self.gap_filler_.transform(raw)
        del raw
        # the distinct values of each column, found once: modes, settings and measured signals
        # are told apart by them (the profiles below leave modes and settings as they are)
        distinct = distinct_values(values)
        measured = np.array([len(levels) > MAX_MODE_LEVELS for levels in distinct])
        modes = find_mode_columns(values, distinct)
        # settings recorded with noise (an engine's altitude, a chiller's load stages): each
        # signal is judged against its mean at the row's operating point
        self.operating_points_ = OperatingPoints()
        values = self.operating_points_.fit_transform(
            values, measured, find_settings=self.operating_points, distinct=distinct
        )
        del distinct  # a measured signal's distinct values are as many as its rows
        centred = self.operating_points_.centred_
        self.point_signals_ = [s for s, kept in zip(self.signals_, centred, strict=True) if kept]
        self.setting_signals_ = (
            [self.signals_[j] for j in self.operating_points_.setting_columns_]
            if self.point_signals_
            else []
        )
        # the time of day stands in for the operating mode when no signal gives it; with mode
        # signals the regimes carry the schedule, and a profile would count it twice (so with
        # settings: they carry the conditions)
        self.daily_profile_ = DailyProfile().fit(values, None)  # none, unless:
        if (
            self.daily_profiles
            and isinstance(train.index, pd.DatetimeIndex)
            and not modes[0]
            and not self.point_signals_
        ):
            values = self.daily_profile_.fit_transform(values, train.index, measured)
        self.profiled_signals_ = [
            s for s, kept in zip(self.signals_, self.daily_profile_.profiled_, strict=True) if kept
        ]
        bounds = segment_bounds(_gap_times(train, elapsed), self.window_rows)
        #: contiguous stretches of the training rows (gaps in time split them)
        self.n_train_segments_ = len(bounds)
        self.slow_mask_ = np.zeros(len(self.signals_), dtype=bool)
        self.drift_fill_ = np.zeros(0)
        self.drift_horizon_ = self._drift_horizon(len(values))
        horizon = self.drift_horizon_
        if self.drift_aware and len(values) > 2 * horizon:  # else the changes cannot be learnt
            levels = per_segment(self._levels, values, bounds)
            self.slow_mask_ = len(values) / decorrelation_rows(levels) < MIN_EFFECTIVE_SAMPLES
            slow = self.slow_mask_
            change = per_segment(lambda v: lagged_change(v[:, slow], horizon), levels, bounds)
            with np.errstate(all="ignore"):
                fill = np.nanmedian(np.where(np.isnan(change).all(axis=0), 0.0, change), axis=0)
            self.drift_fill_ = np.nan_to_num(fill, nan=0.0)
            del levels, change  # a copy of the training rows each: not kept through the fit
        self.slow_signals_ = [
            s for s, slow in zip(self.signals_, self.slow_mask_, strict=True) if slow
        ]
        self.regimes_ = OperatingRegimes(self._transition_rows()).fit(values, modes)
        self.mode_signals_ = self.regimes_.mode_names(self.signals_)
        train_regimes = self.regimes_.transform(values)
        X = per_segment(self._features, values, bounds)
        # the features of an outage: their conditional mean given the row's other features
        estimated = self._estimated_features(unknown)
        self.feature_fill_ = FeatureFill().fit(X, train_regimes, ~estimated.any(axis=1))
        if estimated.any():
            X = self.feature_fill_.fill(X, estimated, train_regimes)
        detector = self.detector
        if detector is None:
            detector = EnsembleDetector(
                false_alarm_rate=self.false_alarm_rate,
                block_rows=calibration_block_rows(len(X), self.window_rows),
            )
        detector = clone(detector)
        self.state_column_: int | None = None
        self.modelled_regimes_ = modelled_regimes(train_regimes)
        if (
            self.mode_models
            and self.mode_signals_
            and "state_column" in detector.get_params(deep=False)
        ):
            self.state_column_ = X.shape[1]
            detector.set_params(state_column=self.state_column_)
        self.detector_ = detector.fit(self._with_regimes(X, train_regimes))
        held_out = np.maximum(-self.detector_.cv_scores_, 0.0)
        smoothed = per_segment(self._smooth, held_out, bounds)
        self.threshold_ = smoothed_threshold(held_out, self.window_rows, self.false_alarm_rate)
        self.regime_thresholds_ = regime_thresholds(
            held_out,
            smoothed,
            train_regimes,
            window_rows=self.window_rows,
            false_alarm_rate=self.false_alarm_rate,
            global_threshold=self.threshold_,
        )
        row_threshold = self._row_thresholds(train_regimes)
        #: held-out training rows flagged (0/1), in training order: day-level calibration etc.
        self.train_flags_ = (smoothed >= row_threshold).astype(np.int64)
        #: held-out training scores in [0, 1] (0.5 = threshold), in training order.
        self.train_scores_ = smoothed / (smoothed + row_threshold)
        #: held-out smoothed anomalies over the global threshold (one scale for all regimes).
        self.train_levels_ = smoothed / self.threshold_
        logger.debug(
            "fitted %s on %d rows x %d signals, threshold %.4g",
            type(self.detector_).__name__,
            len(train),
            len(self.signals_),
            self.threshold_,
        )
        return self

    def score(
        self,
        test: pd.DataFrame,
        *,
        contributions: bool = True,
        levels: bool = False,
        context: pd.DataFrame | None = None,
        elapsed: pd.DatetimeIndex | None = None,
    ) -> pd.DataFrame:
        """Score rows in time order.

        Each call reads its rows as one stream from its first row: the smoothing window, the
        level means and the drift changes start there. To score a stream in batches, give each
        batch the rows before it as ``context`` (a window's worth at least, 2 × the drift
        horizon for slow signals: the last few hundred rows are plenty); scored batch by batch
        without it, batches of 60 SKAB rows lost every alarm.

        Parameters
        ----------
        test : DataFrame of shape (n_samples, n_signals)
            The training signals (same names; extra columns ignored), rows in time order;
            indexed by time when the model learnt daily profiles (``profiled_signals_``), in
            any time zone (read on the training rows' zone).
        contributions : bool, default=True
            Also compute per-signal shares and ``top_contributor``.
        levels : bool, default=False
            Also give ``level``: the smoothed anomaly over the global threshold, one scale
            for every operating regime (``score`` is relative to the row's own regime), for
            ranking whole periods such as days.
        context : DataFrame or None, default=None
            Rows just before ``test`` (same signals), read first and not returned: the
            history a batch's first rows are judged with.
        elapsed : DatetimeIndex of shape (n_samples,) or None
            As in :meth:`fit` (not with ``context``).

        Returns
        -------
        DataFrame of shape (n_samples, 3 + n_signals)
            Index of ``test``; ``score`` [0, 1] (0.5 = the threshold of the row's operating
            regime), ``anomaly`` (0/1 int), ``top_contributor`` (signal name) and
            ``contribution:<signal>`` shares (sum 1); ``level`` if asked.
        """
        check_is_fitted(self, "signals_")
        check_frame(test, "rows scored")
        test = test.rename(columns=str)
        missing = [s for s in self.signals_ if s not in test.columns]
        if missing:
            raise KeyError(f"test frame lacks signals {missing}")
        if context is not None and elapsed is not None:
            raise ValueError("give elapsed times or context, not both")
        if context is not None:  # read the history first, return the batch's rows only
            check_frame(context, "context rows")
            joined = pd.concat([context.rename(columns=str)[self.signals_], test[self.signals_]])
            scored = self.score(joined, contributions=contributions, levels=levels)
            return scored.iloc[len(context) :]
        check_series(test[self.signals_], "rows scored")
        if test.empty:
            return self._empty_result(test.index, contributions=contributions, levels=levels)
        given_index = test.index
        test = test.set_axis(on_training_clock(test.index, getattr(self, "train_tz_", None)))
        raw = test[self.signals_].to_numpy(dtype=np.float64)
        values, unknown = self.gap_filler_.transform(raw, despike=True)  # spikes: readings lost
        values = self.operating_points_.transform(values)
        values = self.daily_profile_.transform(values, test.index)
        bounds = segment_bounds(_gap_times(test, elapsed), self.window_rows)
        regimes = self.regimes_.transform(values)
        X = per_segment(self._features, values, bounds)
        estimated = self._estimated_features(unknown)
        if estimated.any():  # judged on the features the rows hold (module gap_fill)
            X = self.feature_fill_.fill(X, estimated, regimes)
        X = self._with_regimes(X, regimes)
        step = max(MIN_CHUNK_ROWS, SCORE_CHUNK_CELLS // max(X.shape[1], 1))
        chunks = [X[start : start + step] for start in range(0, max(len(X), 1), step)]
        if contributions:
            # per chunk, each signal's part of the anomaly (features folded onto their signal):
            # rows x signals kept, not rows x features
            raw_chunks, part_chunks = [], []
            for chunk in chunks:
                anomaly, feature_shares = self.detector_.explain(chunk)
                anomaly = np.maximum(anomaly, 0.0)
                raw_chunks.append(anomaly)
                part_chunks.append(self._signal_parts(feature_shares) * anomaly[:, None])
            raw, parts = np.concatenate(raw_chunks), np.concatenate(part_chunks)
            del raw_chunks, part_chunks
        else:
            raw = np.maximum(np.concatenate([self.detector_.anomaly(c) for c in chunks]), 0.0)
        smoothed = per_segment(self._smooth, raw, bounds)
        row_threshold = self._row_thresholds(regimes)
        score = smoothed / (smoothed + row_threshold)
        out = pd.DataFrame(
            {"score": score, "anomaly": (score >= 0.5).astype(np.int64)}, index=test.index
        )
        if levels:
            out["level"] = smoothed / self.threshold_
        if contributions:
            signal_shares = self._signal_shares(parts, bounds)
            names = np.asarray(self.signals_, dtype=object)
            out["top_contributor"] = names[signal_shares.argmax(axis=1)]
            # one block, not a column at a time: hundreds of signals would fragment the frame
            shares_frame = pd.DataFrame(
                signal_shares,
                index=test.index,
                columns=[f"{CONTRIBUTION_PREFIX}{name}" for name in self.signals_],
            )
            out = pd.concat([out, shares_frame], axis=1)
        return out.set_axis(given_index)

    def _empty_result(self, index: pd.Index, *, contributions: bool, levels: bool) -> pd.DataFrame:
        """The result of scoring no row: its columns, no row."""
        columns = ["score", "anomaly"] + (["level"] if levels else [])
        if contributions:
            columns += ["top_contributor"]
            columns += [f"{CONTRIBUTION_PREFIX}{name}" for name in self.signals_]
        return pd.DataFrame(columns=columns, index=index)

    def _with_regimes(
        self, X: NDArray[np.float64], regimes: NDArray[np.int64]
    ) -> NDArray[np.float64]:
        """The detector's input: the features, and the regime column when there is one
        (:data:`UNSEEN` for a regime without a model of its own: the global model)."""
        if self.state_column_ is None:
            return X
        modelled = np.where(np.isin(regimes, self.modelled_regimes_), regimes, UNSEEN)
        return np.hstack([X, modelled[:, None].astype(np.float64)])

    def _row_thresholds(self, regimes: NDArray[np.int64]) -> NDArray[np.float64]:
        """Threshold of each row's smoothed anomaly, from its operating regime."""
        kinds, inverse = np.unique(regimes, return_inverse=True)
        unseen = self.regime_thresholds_[UNSEEN]
        per_kind = np.array([self.regime_thresholds_.get(int(k), unseen) for k in kinds])
        return per_kind[inverse].reshape(-1)

    def _signal_parts(self, feature_shares: NDArray[np.float64]) -> NDArray[np.float64]:
        """Each signal's share of a row's anomaly: a difference feature's share counts for its
        signal (the regime column, if any, has none)."""
        n = len(self.signals_)
        shares = feature_shares[:, :n]
        if self.differences:
            shares = shares + feature_shares[:, n : 2 * n]
        return np.asarray(shares)

    def _signal_shares(
        self, parts: NDArray[np.float64], bounds: Sequence[tuple[int, int]]
    ) -> NDArray[np.float64]:
        """Shares (summing to 1) of each row's anomaly-weighted signal parts, smoothed over the
        window like the anomaly, restarting at each stretch (``bounds``) as it does; equal
        shares where there is no anomaly to share."""
        n = len(self.signals_)
        weighted = per_segment(lambda p: trailing_mean(p, self.window_rows), parts, bounds)
        total = weighted.sum(axis=1, keepdims=True)
        return np.where(total > 0, weighted / np.where(total > 0, total, 1.0), 1.0 / n)


def detect_anomalies(
    train: pd.DataFrame,
    test: pd.DataFrame,
    *,
    window_rows: int = DEFAULT_WINDOW_ROWS,
    false_alarm_rate: float = 0.01,
    signals: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Fit on ``train`` and return the boundary output for every ``test`` row.

    Parameters
    ----------
    train, test : DataFrame
        Wide frames in time order; ``signals`` (default: every column of ``train``) must be
        numeric in both.
    window_rows : int
        Trailing smoothing window [rows].
    false_alarm_rate : float
        Target share of normal rows flagged.
    signals : sequence of str or None
        Columns to use.

    Returns
    -------
    DataFrame
        See :meth:`TimeSeriesDetector.score`.
    """
    cols = list(signals) if signals is not None else list(train.columns)
    model = TimeSeriesDetector(window_rows=window_rows, false_alarm_rate=false_alarm_rate)
    return model.fit(train[cols]).score(test[cols])
