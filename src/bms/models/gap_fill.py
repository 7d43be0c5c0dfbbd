"""Missing and spiked readings filled so that a data problem is not judged as an equipment fault.

A gap in one signal is a data-quality problem, kept apart from the equipment's faults (issue 4:
"data-quality flags kept apart from equipment faults"). Filled with the reading before it, a
signal offline for hours stands still while the others move, and the detector sees a fault: on
LBNL MZVAV-2-2, one signal blanked for the first 10 hours of each test day had up to 43 % of
those hours flagged on the normal days (``benchmarks/bench_detect_outages.py``).

A one-row spike (a jump out and back, each beyond 8 training spreads of the signal's changes:
:func:`bms.features.quality.spike_mask`) in the rows scored is a reading lost too: it becomes
the mean of its two neighbours (``transform(despike=True)``); so is a short burst far beyond
every training reading (:meth:`GapFiller.bursts`), estimated as an outage is. Left in, each
spike lifted a whole smoothing window over the threshold. Training rows keep their spikes:
blanking them too took SKAB from F1 0.786 to 0.727. Only a training reading far outside every
other reading of its signal (:func:`training_glitches`: a glitch, or a short burst of them) is
a reading lost: one such reading (a temperature of 700 among readings near 70) in 400 SKAB
training rows silenced the detector on 4 of 8 files, 0 % of their fault rows flagged.

:class:`GapFiller` tells two kinds of gap apart, per signal:

* **Short gaps** (at most ``max_hold_rows`` rows, or any gap in a *sparse* signal: one missing
  on more than half of the training rows, as a change-of-value log writes a point only when it
  changes) hold the reading before them (the first rows of a series: the reading after).
* **Outages** (longer gaps in a dense signal, a signal missing from the start for longer) are
  estimated from the signals read in the same row: their conditional mean given them under the
  training rows' Gaussian model (:class:`ConditionalMean`). A mode signal (a status, at most
  :data:`bms.models.anomaly_regimes.MAX_MODE_LEVELS` training values) gets the nearest of its
  training values.

The detector's features (levels and changes) of an outage are then estimated the same way from
the features of the signals read (:meth:`TimeSeriesDetector._features` and
``feature_fill_``): for a Gaussian model of the features, a row whose missing features are
their conditional mean is judged exactly as by the model of the features it holds
(marginalisation), and the estimated features add nothing of their own. Estimating the raw
signal alone is not enough: its row-to-row changes are then a mix of the other signals' noise,
unlike any change the signal made in training.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from bms.features.quality import difference_spread, run_lengths, spike_mask
from bms.models.anomaly import mean_and_covariance
from bms.models.anomaly_regimes import MAX_MODE_LEVELS

__all__ = [
    "GLITCH_SPANS",
    "RIDGE",
    "SPARSE_SHARE",
    "ConditionalMean",
    "FeatureFill",
    "GapFiller",
    "glitch_bounds",
    "outage_cells",
    "training_glitches",
]

#: A signal missing on more than this share of its training rows is sparse (written only when
#: it changes): its gaps all hold the reading before them.
SPARSE_SHARE = 0.5
#: Ridge added to the standardised columns' covariance: a collinear set (three damper signals
#: that move as one) still gives a stable estimate.
RIDGE = 0.01
#: Training rows (evenly spread) a features' model is learnt from: a covariance needs no more.
MAX_FIT_ROWS = 20_000
#: An operating regime gets a features' model of its own with at least this many training rows
#: per feature (as the detector's per-regime models).
ROWS_PER_FEATURE = 10
#: A training reading is a glitch when it lies beyond its signal's 1-99 % range by more than
#: this many times that range: the rule that tells an error code from a reading
#: (:data:`bms.evaluate.error_codes.FAR_SPANS`).
GLITCH_SPANS = 10.0
#: Fewest readings of a signal to say what is far from them.
MIN_GLITCH_READINGS = 10
#: In the rows scored, a burst beyond the glitch bounds is lost readings while it is at most
#: ``max_hold_rows // BURST_HOLD_DIVISOR`` rows long (:attr:`GapFiller.max_burst_rows`).
BURST_HOLD_DIVISOR = 3


def glitch_bounds(values: NDArray[np.float64]) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Per signal, the readings beyond which a reading is a glitch: its 1-99 % range widened
    by :data:`GLITCH_SPANS` times that range on each side; no bound (``-inf``, ``inf``) for a
    signal with fewer than :data:`MIN_GLITCH_READINGS` readings, or one that holds one value on
    98 % of the rows (a valve shut all summer: its rare values are operation).

    Parameters
    ----------
    values : ndarray of shape (n_rows, n_signals)
        Training readings, NaN where missing.

    Returns
    -------
    low, high : ndarray of shape (n_signals,)
    """
    n_signals = np.shape(values)[1]
    low, high = np.full(n_signals, -np.inf), np.full(n_signals, np.inf)
    for j, column in enumerate(np.asarray(values, dtype=np.float64).T):
        finite = column[np.isfinite(column)]
        if len(finite) < MIN_GLITCH_READINGS:
            continue
        bottom, top = np.percentile(finite, [1.0, 99.0])
        if top > bottom:
            reach = GLITCH_SPANS * (top - bottom)
            low[j], high[j] = bottom - reach, top + reach
    return low, high


def training_glitches(values: NDArray[np.float64]) -> NDArray[np.bool_]:
    """Cells of training rows that are glitches, not operation: beyond :func:`glitch_bounds`.

    A run of them is a burst of bad readings only while it is shorter than 1 % of the rows: a
    longer one moves the range and is no longer far from it. ``values`` as for
    :func:`glitch_bounds`; returns a boolean array of its shape.
    """
    low, high = glitch_bounds(values)
    with np.errstate(invalid="ignore"):
        return np.asarray((values < low) | (values > high))


def outage_cells(missing: NDArray[np.bool_], max_hold_rows: int) -> NDArray[np.bool_]:
    """The missing cells that belong to a run of more than ``max_hold_rows`` missing rows of
    their column (including a run at the start or the end)."""
    n_rows, n_cols = missing.shape
    out = np.zeros_like(missing)
    if n_rows == 0:
        return out
    edge = np.zeros((1, n_cols), dtype=np.int8)
    steps = np.diff(np.vstack([edge, missing.astype(np.int8), edge]), axis=0)
    for col in np.flatnonzero(missing.any(axis=0)):
        starts = np.flatnonzero(steps[:, col] == 1)
        ends = np.flatnonzero(steps[:, col] == -1)
        for start, end in zip(starts, ends, strict=True):
            if end - start > max_hold_rows:
                out[start:end, col] = True
    return out


class ConditionalMean:
    """Unknown cells of a row as their conditional mean given its known cells, under the
    Gaussian model of the training rows (mean and covariance of the standardised columns,
    plus :data:`RIDGE`), clipped to each column's training range.

    Attributes
    ----------
    mean_, scale_ : ndarray of shape (n_columns,)
        Training mean and s.d. (floored) of each column.
    covariance_ : ndarray of shape (n_columns, n_columns)
        Covariance of the standardised columns.
    low_, high_ : ndarray of shape (n_columns,)
        Each column's training range.
    """

    def fit(self, rows: NDArray[np.float64]) -> ConditionalMean:
        """Learn from complete rows (n_rows, n_columns; no NaN)."""
        n_rows, n_cols = rows.shape
        if n_rows == 0:
            self.mean_, self.scale_ = np.zeros(n_cols), np.ones(n_cols)
            self.covariance_ = np.eye(n_cols)
            self.low_, self.high_ = np.zeros(n_cols), np.zeros(n_cols)
            return self
        self.mean_, covariance = mean_and_covariance(rows)
        spread = np.sqrt(np.maximum(np.diag(covariance), 0.0))
        self.scale_ = np.maximum(spread, 1e-6 * (1.0 + np.abs(self.mean_)))
        self.covariance_ = covariance / np.outer(self.scale_, self.scale_)
        self.low_, self.high_ = rows.min(axis=0), rows.max(axis=0)
        return self

    def fill(self, values: NDArray[np.float64], unknown: NDArray[np.bool_]) -> NDArray[np.float64]:
        """``values`` with its ``unknown`` cells estimated, one solve per pattern of unknown
        columns (a row with no known cell gets the means)."""
        out = np.array(values, dtype=np.float64, copy=True)
        rows = np.flatnonzero(unknown.any(axis=1))
        if rows.size == 0:
            return out
        patterns, inverse = np.unique(unknown[rows], axis=0, return_inverse=True)
        inverse = inverse.ravel()
        for k, pattern in enumerate(patterns):
            members = rows[inverse == k]
            known = ~pattern
            z_unknown = np.zeros((len(members), int(pattern.sum())))
            if known.any():
                c_kk = self.covariance_[np.ix_(known, known)] + RIDGE * np.eye(int(known.sum()))
                c_uk = self.covariance_[np.ix_(pattern, known)]
                weights = np.linalg.solve(c_kk, c_uk.T)  # (known, unknown)
                z_known = (out[np.ix_(members, known)] - self.mean_[known]) / self.scale_[known]
                z_known = np.nan_to_num(z_known, nan=0.0)
                z_unknown = z_known @ weights
            estimate = self.mean_[pattern] + z_unknown * self.scale_[pattern]
            out[np.ix_(members, pattern)] = np.clip(
                estimate, self.low_[pattern], self.high_[pattern]
            )
        return out


class GapFiller:
    """Fill missing readings: hold short gaps, estimate outages from the other signals.

    Parameters
    ----------
    max_hold_rows : int
        Longest gap [rows] of a dense signal that holds the reading before it.

    Attributes
    ----------
    spike_center_, spike_scale_ : ndarray
        Median and robust spread of each signal's training changes, of its moves for a signal
        that often holds still (:func:`bms.features.quality.difference_spread`; infinite
        spread: no spike is judged).
    glitch_low_, glitch_high_ : ndarray
        Each signal's :func:`glitch_bounds` on the training rows: a short burst beyond them in
        the rows scored is lost readings (:meth:`bursts`).
    sparse_ : ndarray of bool
        Signals missing on more than :data:`SPARSE_SHARE` of the training rows.
    estimator_ : ConditionalMean
        Fitted on the training rows without an outage (a signal never read counts as 0).
    levels_ : list of ndarray or None
        Each mode signal's training values (None for the others).
    modes_ : ndarray of bool
        Which signals are modes (``levels_`` not None).
    """

    def __init__(self, max_hold_rows: int) -> None:
        self.max_hold_rows = max_hold_rows

    def fit(self, values: NDArray[np.float64]) -> GapFiller:
        """Learn the fill from training rows (n_rows, n_signals; NaN where missing)."""
        spreads = [difference_spread(column, moves_only=True) for column in values.T]
        self.spike_center_ = np.array([center for center, _ in spreads])
        self.spike_scale_ = np.array([scale for _, scale in spreads])
        self.glitch_low_, self.glitch_high_ = glitch_bounds(values)
        missing = np.isnan(values)
        never = missing.all(axis=0)
        self.sparse_ = missing.mean(axis=0) > SPARSE_SHARE if len(values) else never
        held = self._hold(values, missing & ~self.outages(values))
        held[:, never] = 0.0
        complete = ~np.isnan(held).any(axis=1)
        if complete.sum() < 2:  # no row holds every signal: medians stand in for the gaps
            with np.errstate(all="ignore"):
                medians = np.nan_to_num(np.nanmedian(held, axis=0), nan=0.0)
            held = np.where(np.isnan(held), medians, held)
            complete[:] = True
        rows = held[complete]
        self.estimator_ = ConditionalMean().fit(rows)
        self.levels_ = []
        for column in rows.T:
            distinct = np.unique(column)
            self.levels_.append(distinct if len(distinct) <= MAX_MODE_LEVELS else None)
        self.modes_ = np.array([levels is not None for levels in self.levels_], dtype=bool)
        return self

    def spikes(self, values: NDArray[np.float64]) -> NDArray[np.bool_]:
        """The one-row spikes of ``values`` (n_rows, n_signals), judged against each signal's
        training changes (:func:`bms.features.quality.spike_mask`)."""
        out = np.zeros(np.shape(values), dtype=bool)
        for j in np.flatnonzero(np.isfinite(self.spike_scale_)):
            out[:, j] = spike_mask(values[:, j], self.spike_center_[j], self.spike_scale_[j])
        return out

    @property
    def max_burst_rows(self) -> int:
        """Longest burst of glitches [rows] read as lost readings in the rows scored: a third
        of the longest gap held (10 rows of the default 30-row window); a longer run beyond
        the training readings is a sensor or a process gone wrong, judged."""
        return max(1, self.max_hold_rows // BURST_HOLD_DIVISOR)

    def bursts(self, values: NDArray[np.float64]) -> NDArray[np.bool_]:
        """The cells of ``values`` (n_rows, n_signals) beyond their signal's training
        :func:`glitch_bounds`, in runs of at most :attr:`max_burst_rows` rows."""
        with np.errstate(invalid="ignore"):
            far = (values < self.glitch_low_) | (values > self.glitch_high_)
        for j in np.flatnonzero(far.any(axis=0)):
            far[:, j] &= run_lengths(far[:, j]) <= self.max_burst_rows
        return np.asarray(far)

    def outages(self, values: NDArray[np.float64]) -> NDArray[np.bool_]:
        """The cells of ``values`` that are outages (long gaps of dense signals)."""
        out = outage_cells(np.isnan(values), self.max_hold_rows)
        out[:, self.sparse_] = False
        return out

    @staticmethod
    def _hold(
        values: NDArray[np.float64], fill: NDArray[np.bool_], *, backward: bool = True
    ) -> NDArray[np.float64]:
        """``values`` with the ``fill`` cells holding the reading before; with ``backward``,
        the cells before a signal's first reading take that reading, else they stay missing."""
        if not fill.any():
            return values.copy()
        held = pd.DataFrame(values).ffill()
        if backward:
            held = held.bfill()
        return np.where(fill, held.to_numpy(dtype=np.float64), values)

    def held_readings(self, values: NDArray[np.float64]) -> NDArray[np.float64]:
        """``values`` (n_rows, n_signals) with the gaps the detector holds (short gaps, and
        every gap of a sparse, change-of-value signal) holding the reading before them; every
        other cell as it is: an outage, and the rows before a signal's first reading, stay
        missing. For what judges readings, not estimates (the AHU rules)."""
        values = np.array(values, dtype=np.float64, copy=True)
        values[np.isinf(values)] = np.nan
        missing = np.isnan(values)
        if not missing.any():
            return values
        return self._hold(values, missing & ~self.outages(values), backward=False)

    def transform(
        self, values: NDArray[np.float64], despike: bool = False
    ) -> tuple[NDArray[np.float64], NDArray[np.bool_]]:
        """``values`` (n_rows, n_signals) without NaN (short gaps held, outages estimated;
        with ``despike``, one-row spikes replaced by the mean of their neighbours, and short
        bursts far beyond the training readings estimated as outages are), and which cells
        were estimated from the other signals."""
        values = np.array(values, dtype=np.float64, copy=True)
        values[np.isinf(values)] = np.nan  # an infinite reading is a missing reading
        bursts = np.zeros(values.shape, dtype=bool)
        if despike:
            rows, cols = np.nonzero(self.spikes(values))
            # the reading lost: the mean of the two around it (a spike is never first or last)
            values[rows, cols] = (values[rows - 1, cols] + values[rows + 1, cols]) / 2
            # a burst's readings lost, estimated from the row's other signals: held or drawn
            # between its neighbours, a tightly coupled signal parted from the others
            bursts = self.bursts(values)
            values[bursts] = np.nan
        missing = np.isnan(values)
        if not missing.any():
            return values, missing
        values = self._hold(values, missing & ~(self.outages(values) | bursts))
        unknown = np.isnan(values)  # outages, and the cells of a signal never read here
        if unknown.any():
            values = self.estimator_.fill(values, unknown)
            for j in np.flatnonzero(unknown.any(axis=0)):
                levels = self.levels_[j]
                if levels is not None:
                    cells = unknown[:, j]
                    nearest = np.abs(values[cells, j][:, None] - levels[None, :]).argmin(axis=1)
                    values[cells, j] = levels[nearest]
        return values, unknown


class FeatureFill:
    """The detector's features of estimated signals, as their conditional mean given the row's
    other features, within the row's operating regime (the detector judges a regime by a model
    of its own: a valve always shut in one regime is estimated shut there), else over all
    training rows.

    Attributes
    ----------
    overall_ : ConditionalMean
    by_regime_ : dict of int to ConditionalMean
        Regimes with at least :data:`ROWS_PER_FEATURE` training rows per feature.
    """

    def fit(
        self, X: NDArray[np.float64], regimes: NDArray[np.int64], usable: NDArray[np.bool_]
    ) -> FeatureFill:
        """Learn from the training features ``X`` on the ``usable`` rows (no estimated signal),
        at most :data:`MAX_FIT_ROWS` of them (evenly spread) per model."""
        self.overall_ = ConditionalMean().fit(_spread_rows(X, usable))
        self.by_regime_ = {}
        for regime in np.unique(regimes[usable]):
            rows = usable & (regimes == regime)
            if rows.sum() >= ROWS_PER_FEATURE * X.shape[1]:
                self.by_regime_[int(regime)] = ConditionalMean().fit(_spread_rows(X, rows))
        return self

    def fill(
        self, X: NDArray[np.float64], unknown: NDArray[np.bool_], regimes: NDArray[np.int64]
    ) -> NDArray[np.float64]:
        """``X`` with its ``unknown`` cells estimated."""
        rows = unknown.any(axis=1)
        if not rows.any():
            return X
        X = self.overall_.fill(X, unknown & ~np.isin(regimes, list(self.by_regime_))[:, None])
        for regime, model in self.by_regime_.items():
            members = np.flatnonzero(rows & (regimes == regime))
            if members.size:
                X[members] = model.fill(X[members], unknown[members])
        return X


def _spread_rows(X: NDArray[np.float64], rows: NDArray[np.bool_]) -> NDArray[np.float64]:
    """At most :data:`MAX_FIT_ROWS` of the ``rows`` of ``X``, evenly spread."""
    index = np.flatnonzero(rows)
    return X[index[:: max(1, -(-len(index) // MAX_FIT_ROWS))]]
