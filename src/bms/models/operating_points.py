"""Operating points: each signal's usual level at each set of conditions it runs at.

Some equipment runs at a few discrete conditions that its telemetry records with noise: an
engine flown at six altitude / Mach settings (C-MAPSS FD002), a chiller's load stages. Every
signal moves with the operating point, far more than with wear, so a detector that compares
each row with the training rows as a whole sees the points, not the faults.
:class:`OperatingPoints` finds the *setting* columns without being told which they are
(:func:`find_setting_levels`: a column whose training values fall into a few tight clusters,
far apart), gives each row its point (the combination of its settings' clusters, and of its
mode signals' values when there are settings), and removes from each other signal its mean at
that point; the detector then judges what is left.

As for daily profiles (:mod:`bms.models.daily_profile`), a signal keeps its point means only
where they predict *occasions they were not fitted on* (runs of consecutive rows at one point)
better than the signal's overall mean, and the training rows are *cross-fitted*: each occasion
minus the means of the other occasions at its point, so that the detector's threshold is set on
residuals as honest as a new row's. A point held on fewer than :data:`MIN_OCCASIONS` occasions,
and a point the training rows never hold, keep the overall mean: nothing is learnt from them.

Exact levels (a status, a set point's two values: at most
:data:`~bms.models.anomaly_regimes.MAX_MODE_LEVELS` distinct values) are the operating regimes'
(:mod:`bms.models.anomaly_regimes`), not settings: a quantised sensor with a few exact values
would otherwise look like one.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

from bms.models.anomaly_regimes import MAX_MODE_LEVELS, distinct_values, find_mode_columns

__all__ = [
    "MAX_POINT_LEVELS",
    "MIN_OCCASIONS",
    "OperatingPoints",
    "find_setting_levels",
]

#: Most clusters of one setting column (C-MAPSS FD002: six altitudes, five Mach numbers).
MAX_POINT_LEVELS = 8
#: Clusters are split where consecutive sorted training values are more than this share of the
#: column's range apart.
GAP_SHARE = 0.05
#: ... and each cluster spans at most this share of the range: the settings' noise (FD002's
#: altitude: 0.01 kft over 42), not a measurement's spread.
SPREAD_SHARE = 0.01
#: Fewest occasions (runs of consecutive rows) at a point before its means are learnt: one is
#: left out at a time, and another must remain.
MIN_OCCASIONS = 2


def find_setting_levels(
    column: NDArray[np.float64], distinct: NDArray[np.float64] | None = None
) -> NDArray[np.float64] | None:
    """The cluster centres of a setting column's training values, or None if not a setting.

    A setting's training values fall into more than :data:`MAX_MODE_LEVELS` and at most
    :data:`MAX_POINT_LEVELS` clusters separated by gaps of more than :data:`GAP_SHARE` of its
    range, each cluster spanning at most :data:`SPREAD_SHARE` of it and holding at least two
    distinct values: the setting's noise. Not settings:

    * a reading quantised to a few exact values on a grid (C-MAPSS FD001's settings over 50
      cycles: 0.0001 steps) has one value per cluster;
    * up to :data:`MAX_MODE_LEVELS` clusters are a mode's count, and a measured reading
      quantised with a little float noise looks the same (SKAB's flow over its 400 training
      rows: 31.001, 32.000, 32.999 l/min), so they are not taken for settings; a two-speed
      fan's measured speed is not one either.

    ``distinct``: the column's sorted distinct values, when already found.
    """
    if distinct is None:
        distinct = np.unique(column)
    if len(distinct) <= MAX_MODE_LEVELS:
        return None
    span = distinct[-1] - distinct[0]
    cuts = np.flatnonzero(np.diff(distinct) > GAP_SHARE * span)
    if not MAX_MODE_LEVELS <= len(cuts) < MAX_POINT_LEVELS:
        return None
    clusters = np.split(distinct, cuts + 1)
    if max(c[-1] - c[0] for c in clusters) > SPREAD_SHARE * span:
        return None
    if min(len(c) for c in clusters) < 2:  # a few exact values on a grid: a quantised reading
        return None
    return np.array([0.5 * (c[0] + c[-1]) for c in clusters])


def _occasions(point: NDArray[np.int64]) -> NDArray[np.int64]:
    """Occasion number of each row: a new one each time the point changes."""
    starts = np.ones(len(point), dtype=bool)
    starts[1:] = point[1:] != point[:-1]
    return np.cumsum(starts) - 1


def _held_out_point_means(
    values: NDArray[np.float64], point: NDArray[np.int64]
) -> tuple[
    NDArray[np.int64],
    NDArray[np.bool_],
    NDArray[np.float64],
    NDArray[np.float64],
    NDArray[np.float64],
]:
    """Each column's mean at each point, and the same without each row's own occasion.

    Parameters
    ----------
    values : ndarray of shape (n_rows, n_columns)
        The signals, rows in time order.
    point : ndarray of shape (n_rows,)
        Each row's point code.

    Returns
    -------
    keys : ndarray of shape (n_points,)
        The point codes, sorted.
    learnt : ndarray of bool, shape (n_points,)
        Points held on at least :data:`MIN_OCCASIONS` occasions.
    means : ndarray of shape (n_points, n_columns)
        Each point's mean of each column, minus the column's overall mean.
    cross : ndarray of shape (n_rows, n_columns)
        Each row's point mean (minus the overall mean) from the *other* occasions at its point;
        0 at a point not learnt.
    r2 : ndarray of shape (n_columns,)
        R² of ``cross`` against each row's overall mean without its occasion (held-out
        occasions, both ways).
    """
    y = values - values.mean(axis=0)
    occasion = _occasions(point)
    keys, point_of_row = np.unique(point, return_inverse=True)
    occasion_point = point_of_row[np.r_[0, np.flatnonzero(np.diff(occasion)) + 1]]
    learnt = np.bincount(occasion_point, minlength=len(keys)) >= MIN_OCCASIONS
    point_sum = np.zeros((len(keys), y.shape[1]))
    np.add.at(point_sum, point_of_row, y)
    point_rows = np.bincount(point_of_row, minlength=len(keys)).astype(np.float64)
    occasion_sum = np.zeros((occasion[-1] + 1, y.shape[1]))
    np.add.at(occasion_sum, occasion, y)
    occasion_rows = np.bincount(occasion).astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        others_at_point = point_rows[point_of_row] - occasion_rows[occasion]
        cross = (point_sum[point_of_row] - occasion_sum[occasion]) / others_at_point[:, None]
        others = len(y) - occasion_rows[occasion]
        overall = (y.sum(axis=0) - occasion_sum[occasion]) / others[:, None]
    cross[~learnt[point_of_row]] = 0.0
    point_error = ((y - cross) ** 2).sum(axis=0)
    mean_error = ((y - np.nan_to_num(overall)) ** 2).sum(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        r2 = np.where(mean_error > 0, 1.0 - point_error / mean_error, 0.0)
    return keys, learnt, point_sum / point_rows[:, None], cross, r2


class OperatingPoints:
    """Per-signal means at each operating point, kept where they predict held-out occasions.

    Attributes
    ----------
    setting_columns_ : list of int
        Columns that are settings (empty: no operating point, nothing removed).
    setting_levels_ : list of ndarray
        Cluster centres of each setting column.
    setting_tolerances_ : list of ndarray
        How far from each centre a value still belongs to its cluster.
    point_keys_ : ndarray of int
        Code of each learnt point (:meth:`points`), sorted.
    point_means_ : ndarray of shape (n_points, n_signals)
        Each learnt point's mean of each signal minus the signal's overall training mean
        (zeros for a signal without kept means).
    centred_ : ndarray of bool, shape (n_signals,)
        Signals whose point means are removed.
    held_out_r2_ : ndarray of shape (n_signals,)
        Held-out-occasion R² of the point means against the overall mean (NaN: not a
        candidate, or no point learnt).
    """

    def fit_transform(
        self,
        values: NDArray[np.float64],
        candidates: NDArray[np.bool_] | None = None,
        *,
        find_settings: bool = True,
        distinct: Sequence[NDArray[np.float64]] | None = None,
    ) -> NDArray[np.float64]:
        """Learn the points of ``values`` (n_rows, n_signals; imputed, no NaN, rows in time
        order), and return the training values cross-fitted (module docstring).

        ``candidates`` limits the signals whose means may be removed (the settings themselves
        never are: they define the point). With ``find_settings`` False, nothing is learnt.
        ``distinct``: the columns' :func:`~bms.models.anomaly_regimes.distinct_values`, when
        already found.
        """
        if distinct is None:
            distinct = distinct_values(values)
        n_signals = values.shape[1]
        self.setting_columns_: list[int] = []
        self.setting_levels_: list[NDArray[np.float64]] = []
        self.setting_tolerances_: list[NDArray[np.float64]] = []
        self.point_keys_ = np.zeros(0, dtype=np.int64)
        self.point_means_ = np.zeros((0, n_signals))
        self.centred_ = np.zeros(n_signals, dtype=bool)
        self.held_out_r2_ = np.full(n_signals, np.nan)
        for j in range(n_signals if find_settings else 0):
            levels = find_setting_levels(values[:, j], distinct[j])
            if levels is not None:
                self._add_setting(j, levels, values[:, j])
        if not self.setting_columns_:
            return values
        # with settings found, the modes (a status, a staged set point) are part of the point
        for j, levels in zip(*find_mode_columns(values, distinct), strict=True):
            self._add_setting(j, levels, values[:, j])
        allowed = np.ones(n_signals, dtype=bool) if candidates is None else candidates.copy()
        allowed[self.setting_columns_] = False
        columns = np.flatnonzero(allowed)
        if not len(columns):
            return values
        point = self.points(values)  # every training row is near its own cluster
        keys, learnt, means, cross, r2 = _held_out_point_means(values[:, columns], point)
        if not learnt.any():
            return values
        kept = r2 > 0.0
        self.held_out_r2_[columns] = r2
        if not kept.any():
            return values
        self.centred_[columns[kept]] = True
        self.point_keys_ = keys[learnt]
        self.point_means_ = np.zeros((len(self.point_keys_), n_signals))
        self.point_means_[:, columns[kept]] = means[learnt][:, kept]
        out = values.copy()
        out[:, columns[kept]] -= cross[:, kept]
        return out

    def _add_setting(
        self, column: int, levels: NDArray[np.float64], values: NDArray[np.float64]
    ) -> None:
        """Keep a setting column, its cluster centres and how far from each centre a value
        still belongs to it: the cluster's half-width in training, plus
        :data:`SPREAD_SHARE` of the setting's range."""
        nearest = np.abs(values[:, None] - levels[None, :]).argmin(axis=1)
        reach = np.zeros(len(levels))
        np.maximum.at(reach, nearest, np.abs(values - levels[nearest]))
        self.setting_columns_.append(column)
        self.setting_levels_.append(levels)
        self.setting_tolerances_.append(reach + SPREAD_SHARE * (values.max() - values.min()))

    def points(self, values: NDArray[np.float64]) -> NDArray[np.int64]:
        """Code of each row's operating point: its settings' clusters, combined; -1 where a
        setting is near none of its training clusters (a point never seen)."""
        code = np.zeros(len(values), dtype=np.int64)
        off = np.zeros(len(values), dtype=bool)
        for j, levels, reach in zip(
            self.setting_columns_, self.setting_levels_, self.setting_tolerances_, strict=True
        ):
            distance = np.abs(values[:, j, None] - levels[None, :])
            nearest = distance.argmin(axis=1)
            off |= distance[np.arange(len(values)), nearest] > reach[nearest]
            code = code * len(levels) + nearest
        return np.where(off, -1, code)

    def transform(self, values: NDArray[np.float64]) -> NDArray[np.float64]:
        """``values`` minus their point's means (a copy when any is kept); rows at a point the
        training rows did not learn keep their values."""
        if not self.centred_.any():
            return values
        point = self.points(values)
        found = np.clip(np.searchsorted(self.point_keys_, point), 0, len(self.point_keys_) - 1)
        known = (self.point_keys_[found] == point) & (point >= 0)
        out = values.copy()
        out[known] -= self.point_means_[found[known]]
        return out
