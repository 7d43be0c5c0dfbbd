"""Daily profiles: each signal's usual swing over the hours of the day, learnt from training.

Building telemetry follows the clock: schedules raise fan speeds in the morning, the sun warms
the rooms and the return air through the afternoon. A detector that compares each row with the
training rows as a whole cannot tell a room 2 K too warm at night from a normal afternoon: both
lie within the day's range. :class:`DailyProfile` fits
each signal's time-of-day profile (a mean and :data:`HARMONICS` harmonics of the day: periods
of 24, 12 and 8 h) on the training rows, and keeps it for the signals where it predicts *days
it was not fitted on* better than the signal's mean does (leave-one-day-out cross-validation):
a signal without a daily pattern keeps its values. The detector then sees each kept signal
minus its profile (its mean level is kept, so values stay in their units).

For a linear model of the signals (the ridge residual member) removing the same profile
regressors from every signal is what adding the time of day as a driver of every regression
would do (Frisch-Waugh-Lovell); for a single signal it is the only context there is.

A profile is learnt only when the training rows span at least :data:`MIN_PROFILE_DAYS`
calendar days and hold every hour of the day (a profile fitted on office hours alone would be
extrapolated into the night).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from numpy.typing import NDArray

__all__ = ["HARMONICS", "MIN_PROFILE_DAYS", "DailyProfile", "time_of_day_basis"]

#: Harmonics of the day in a profile (periods 24, 12 and 8 h): smooth enough to be learnt from a
#: few days, sharp enough for a working day's shape. Fixed, not fitted; the choice matters little
#: (a first version, on LBNL MZVAV-2-2: 1, 2, 4 and 6 harmonics gave row F1 0.889-0.893).
HARMONICS = 3
#: Fewest calendar days in the training rows before a profile is learnt: leave-one-day-out needs
#: at least two days to fit on for each day it holds out.
MIN_PROFILE_DAYS = 3
#: Hours of the day the training rows must all hold.
HOURS_PER_DAY = 24
_SECONDS_PER_DAY = 86_400.0


def time_of_day_basis(index: pd.DatetimeIndex, harmonics: int = HARMONICS) -> NDArray[np.float64]:
    """Regressors of a daily profile: 1, then sin and cos of each harmonic of the time of day.

    Parameters
    ----------
    index : DatetimeIndex of shape (n_rows,)
        Times as the data gives them (local clock time when the index is local).
    harmonics : int
        Harmonics of the day.

    Returns
    -------
    ndarray of shape (n_rows, 1 + 2 * harmonics)
    """
    seconds = (index - index.normalize()).total_seconds().to_numpy(dtype=np.float64)
    phase = 2.0 * np.pi * seconds / _SECONDS_PER_DAY
    columns = [np.ones_like(phase)]
    for k in range(1, harmonics + 1):
        columns += [np.sin(k * phase), np.cos(k * phase)]
    return np.column_stack(columns)


def _rows_of_each_day(day_of_row: NDArray[np.intp], n_days: int) -> list[NDArray[np.intp]]:
    """Row numbers of each day (``day_of_row`` in 0 .. n_days - 1), one sort for all days."""
    order = np.argsort(day_of_row, kind="stable")
    bounds = np.searchsorted(day_of_row[order], np.arange(n_days + 1))
    return [order[bounds[d] : bounds[d + 1]] for d in range(n_days)]


def _solve(gram: NDArray[np.float64], moments: NDArray[np.float64]) -> NDArray[np.float64]:
    """Least-squares coefficients from the normal equations (pseudo-inverse if singular)."""
    return np.asarray(np.linalg.pinv(gram) @ moments)


class DailyProfile:
    """Per-signal time-of-day profiles, kept where they predict held-out days.

    Attributes
    ----------
    coefficients_ : ndarray of shape (1 + 2 * HARMONICS, n_signals)
        Profile of each signal without its mean (zeros: no profile kept).
    profiled_ : ndarray of bool, shape (n_signals,)
        Signals whose profile is removed.
    held_out_r2_ : ndarray of shape (n_signals,)
        Leave-one-day-out R² of each candidate's profile against its mean (NaN: not a
        candidate, or no profile learnt at all).
    """

    def fit(
        self,
        values: NDArray[np.float64],
        index: pd.Index | None,
        candidates: NDArray[np.bool_] | None = None,
    ) -> DailyProfile:
        """Learn the profiles of ``values`` (n_rows, n_signals; imputed, no NaN).

        ``index`` holds the rows' times; without a DatetimeIndex, fewer than
        :data:`MIN_PROFILE_DAYS` days or an hour of the day missing, no profile is kept.
        ``candidates`` limits the signals that may get one (statuses and modes should not).
        """
        self.fit_transform(values, index, candidates)
        return self

    def fit_transform(
        self,
        values: NDArray[np.float64],
        index: pd.Index | None,
        candidates: NDArray[np.bool_] | None = None,
    ) -> NDArray[np.float64]:
        """:meth:`fit`, and the training values *cross-fitted*: each day minus the profile
        fitted on the other days.

        A profile fitted on a few days follows those days' weather more closely than any
        later day's: the training rows minus their own profile would vary less than new days
        do, and a detector calibrated on them would flag normal days. Minus the profile of the
        other days, each training day is judged as a new day would be.
        """
        n_signals = values.shape[1]
        self.coefficients_ = np.zeros((1 + 2 * HARMONICS, n_signals))
        self.profiled_ = np.zeros(n_signals, dtype=bool)
        self.held_out_r2_ = np.full(n_signals, np.nan)
        if candidates is None:
            candidates = np.ones(n_signals, dtype=bool)
        if not isinstance(index, pd.DatetimeIndex) or not candidates.any():
            return values
        unique_days, day_of_row = np.unique(index.normalize().asi8, return_inverse=True)
        if len(unique_days) < MIN_PROFILE_DAYS or len(np.unique(index.hour)) < HOURS_PER_DAY:
            return values
        day_rows = _rows_of_each_day(day_of_row.reshape(-1), len(unique_days))
        basis = time_of_day_basis(index)
        columns = np.flatnonzero(candidates)
        y = values[:, columns]
        y = y - y.mean(axis=0)  # centred: the sums of squares below keep their precision
        r2, other_days = self._leave_one_day_out(basis, y, day_rows)
        kept = r2 > 0.0
        self.held_out_r2_[columns] = r2
        if not kept.any():
            return values
        coefficients = _solve(basis.T @ basis, basis.T @ y)
        coefficients[0] = 0.0  # the mean level stays: values keep their units
        self.profiled_[columns[kept]] = True
        self.coefficients_[:, columns[kept]] = coefficients[:, kept]
        out = values.copy()
        for rows, beta in zip(day_rows, other_days, strict=True):
            beta = beta[:, kept].copy()
            beta[0] = 0.0
            out[np.ix_(rows, columns[kept])] -= basis[rows] @ beta
        return out

    @staticmethod
    def _leave_one_day_out(
        basis: NDArray[np.float64],
        y: NDArray[np.float64],
        day_rows: list[NDArray[np.intp]],
    ) -> tuple[NDArray[np.float64], list[NDArray[np.float64]]]:
        """Leave-one-day-out R² of the profile against the mean, per column of ``y``, and the
        profile coefficients fitted without each day.

        Each day is predicted by the profile and by the mean fitted on the other days; the
        squared errors are summed over every held-out day. Uses each day's normal equations,
        so the cost is one pass over the rows.
        """
        width, n_days = basis.shape[1], len(day_rows)
        grams = np.zeros((n_days, width, width))
        moments = np.zeros((n_days, width, y.shape[1]))
        squares = np.zeros((n_days, y.shape[1]))
        for d, rows in enumerate(day_rows):
            b, v = basis[rows], y[rows]
            grams[d], moments[d], squares[d] = b.T @ b, b.T @ v, (v * v).sum(axis=0)
        gram_all, moment_all = grams.sum(axis=0), moments.sum(axis=0)
        profile_error = np.zeros(y.shape[1])
        mean_error = np.zeros(y.shape[1])
        other_days = []
        for d in range(n_days):
            beta = _solve(gram_all - grams[d], moment_all - moments[d])
            other_days.append(beta)
            # sum over the day of (v - b beta)^2 = v'v - 2 beta'b'v + beta'b'b beta
            profile_error += (
                squares[d]
                - 2.0 * (beta * moments[d]).sum(axis=0)
                + (beta * (grams[d] @ beta)).sum(axis=0)
            )
            rows_d, rows_other = grams[d][0, 0], gram_all[0, 0] - grams[d][0, 0]
            mean = (moment_all[0] - moments[d][0]) / rows_other
            mean_error += squares[d] - 2.0 * mean * moments[d][0] + rows_d * mean**2
        with np.errstate(divide="ignore", invalid="ignore"):
            r2 = 1.0 - profile_error / mean_error
        return np.where(mean_error > 0, r2, 0.0), other_days

    def transform(self, values: NDArray[np.float64], index: pd.Index) -> NDArray[np.float64]:
        """``values`` minus the kept profiles at the rows' times (a copy when any is kept)."""
        if not self.profiled_.any():
            return values
        if not isinstance(index, pd.DatetimeIndex):
            raise ValueError(
                "this model judges some signals against their daily profile, learnt from the "
                "training rows' times: index the rows to score by time too"
            )
        kept = self.profiled_
        out = values.copy()
        out[:, kept] -= time_of_day_basis(index) @ self.coefficients_[:, kept]
        return out
