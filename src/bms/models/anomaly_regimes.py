"""Operating regimes of a wide frame, for a threshold per regime.

Building equipment runs in a few discrete *modes* (fan on or off, occupied or not, a set point
switched by the schedule), and every switch of mode makes every signal move at once. A single
threshold calibrated over all the training rows is then set by those switches: on the LBNL
MZVAV-2-2 unit, fan start and stop (two a day) fill more than 1 % of the smoothed training
anomalies, so the 99th percentile sat above every row of every faulted day, and ``bms detect``
flagged nothing (row F1 0.00) while the day-level ranking was good (F1 0.96).

:class:`OperatingRegimes` finds the mode signals without being told which they are, as the
signals that take :data:`MIN_MODE_LEVELS` to :data:`MAX_MODE_LEVELS` distinct values in the
training rows (statuses, occupancy, a schedule's two set points; a measured or modulated signal
takes hundreds), and gives each row a regime:

* the combination of the mode signals' values (*mode*), and whether a mode switch happened
  less than ``transition_rows`` rows before (*transition*): the rows just after a switch get a
  threshold of their own, calibrated on the training switches, so a start-up is judged
  against start-ups and steady running against steady running;
* :data:`UNSEEN` for a combination, or a value, that the training rows never hold. The detector
  has learnt nothing of such a mode, so it is judged strictly, against the lowest threshold of a
  steady training mode (a supply fan running with the return fan stopped at night is not a
  mode to wave through).

A regime held on at least :data:`MIN_MODE_EPISODES` separate occasions in the training rows also
gets a model of its own (:func:`modelled_regimes`; the pipeline passes the regime to the
detector as a state column), if the detector finds enough rows in it for its signals
(:data:`bms.models.anomaly_base.ROWS_PER_SIGNAL`).

Data without mode signals (the SKAB pump rig: every signal measured), or with more than
:data:`MAX_MODE_SIGNALS` of them (too many combinations to calibrate), have one regime, and the
threshold is the global one, unchanged.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

from bms.models.anomaly_calibration import gamma_bound

__all__ = [
    "MAX_MODE_LEVELS",
    "MAX_MODE_SIGNALS",
    "MIN_MODE_EPISODES",
    "MIN_MODE_LEVELS",
    "UNSEEN",
    "OperatingRegimes",
    "distinct_values",
    "find_mode_columns",
    "modelled_regimes",
    "regime_thresholds",
]

#: A mode signal takes at least this many distinct values in the training rows (one value is a
#: constant, not a mode).
MIN_MODE_LEVELS = 2
#: ... and at most this many: on/off statuses, occupied/unoccupied, a set point with a night
#: value. A measured signal quantised to few values (SKAB's pressure: 5 or more) is not a mode.
MAX_MODE_LEVELS = 3
#: With more mode signals than this, their combinations are too many to calibrate one by one
#: (and a new combination in later data would be judged strictly): one regime, as without.
MAX_MODE_SIGNALS = 6
#: Regime of a row whose mode the training rows never hold.
UNSEEN = -1
#: A regime gets a model of its own only when the training rows hold it on at least this many
#: separate occasions (runs of consecutive rows): a model of a mode seen once learns that
#: occasion (its weather, its load), not the mode. On LBNL SZCAV (one training day, each mode
#: one run) per-regime models made every faulted row look normal (row F1 0.18 -> 0.03).
MIN_MODE_EPISODES = 3


def distinct_values(values: NDArray[np.float64]) -> list[NDArray[np.float64]]:
    """The sorted distinct values of each column of ``values``: found once per fit, and passed
    to each rule that asks (modes, settings, measured signals)."""
    return [np.unique(column) for column in values.T]


def find_mode_columns(
    values: NDArray[np.float64], distinct: Sequence[NDArray[np.float64]] | None = None
) -> tuple[list[int], list[NDArray[np.float64]]]:
    """Mode columns of ``values`` (n_rows, n_signals; imputed, no NaN) and their sorted values.

    A mode column takes :data:`MIN_MODE_LEVELS` to :data:`MAX_MODE_LEVELS` distinct values;
    with more than :data:`MAX_MODE_SIGNALS` of them, none counts (a single regime).
    ``distinct``: :func:`distinct_values` of ``values``, when already found.
    """
    if distinct is None:
        distinct = distinct_values(values)
    columns: list[int] = []
    levels: list[NDArray[np.float64]] = []
    for j, column_values in enumerate(distinct):
        if MIN_MODE_LEVELS <= len(column_values) <= MAX_MODE_LEVELS:
            columns.append(j)
            levels.append(column_values)
    if len(columns) > MAX_MODE_SIGNALS:
        return [], []
    return columns, levels


class OperatingRegimes:
    """Regime of each row: mode combination x (steady | transition), or :data:`UNSEEN`.

    Parameters
    ----------
    transition_rows : int
        Rows after a mode switch that count as the transition into the new mode.

    Attributes
    ----------
    mode_columns_ : list of int
        Columns of the fitted array that are mode signals (empty: a single regime).
    mode_levels_ : list of ndarray
        Sorted training values of each mode column.
    """

    def __init__(self, transition_rows: int) -> None:
        if transition_rows < 1:
            raise ValueError(f"transition_rows must be >= 1, got {transition_rows}")
        self.transition_rows = transition_rows

    def fit(
        self,
        values: NDArray[np.float64],
        modes: tuple[list[int], list[NDArray[np.float64]]] | None = None,
    ) -> OperatingRegimes:
        """Find the mode columns of ``values`` (n_rows, n_signals), imputed, no NaN
        (``modes``: :func:`find_mode_columns` of them, when already found)."""
        self.mode_columns_, self.mode_levels_ = (
            modes if modes is not None else find_mode_columns(values)
        )
        return self

    def mode_names(self, signals: Sequence[str]) -> list[str]:
        """Names of the mode signals among ``signals`` (the fitted columns, in order)."""
        return [signals[j] for j in self.mode_columns_]

    def transform(self, values: NDArray[np.float64]) -> NDArray[np.int64]:
        """Regime of each row: ``2 * mode + transition``, or :data:`UNSEEN`.

        A series' first row has no known previous mode, so it does not count as a switch.
        """
        n = len(values)
        if not self.mode_columns_:
            return np.zeros(n, dtype=np.int64)
        mode = np.zeros(n, dtype=np.int64)
        seen = np.ones(n, dtype=bool)
        base = 1
        for j, levels in zip(self.mode_columns_, self.mode_levels_, strict=True):
            index = np.clip(np.searchsorted(levels, values[:, j]), 0, len(levels) - 1)
            seen &= levels[index] == values[:, j]
            mode += index * base
            base *= len(levels)
        switched = np.zeros(n, dtype=bool)
        switched[1:] = mode[1:] != mode[:-1]
        rows = np.arange(n)
        last_switch = np.maximum.accumulate(np.where(switched, rows, -self.transition_rows))
        transition = rows - last_switch < self.transition_rows
        return np.where(seen, 2 * mode + transition, UNSEEN)


def modelled_regimes(
    regimes: NDArray[np.int64], min_episodes: int = MIN_MODE_EPISODES
) -> NDArray[np.int64]:
    """Regimes of the training rows that occur in at least ``min_episodes`` separate runs.

    Parameters
    ----------
    regimes : ndarray of shape (n_rows,)
        :meth:`OperatingRegimes.transform` of the training rows, in time order.
    min_episodes : int
        Fewest runs of consecutive rows.

    Returns
    -------
    ndarray
        Sorted regimes (never :data:`UNSEEN`).
    """
    if len(regimes) == 0:
        return np.zeros(0, dtype=np.int64)
    starts = np.r_[True, regimes[1:] != regimes[:-1]]
    kinds, runs = np.unique(regimes[starts], return_counts=True)
    kept = kinds[(runs >= min_episodes) & (kinds != UNSEEN)]
    return np.asarray(kept, dtype=np.int64)


def regime_thresholds(
    held_out: NDArray[np.float64],
    smoothed: NDArray[np.float64],
    regimes: NDArray[np.int64],
    *,
    window_rows: int,
    false_alarm_rate: float,
    global_threshold: float,
) -> dict[int, float]:
    """Threshold of each training regime, and of :data:`UNSEEN`.

    Parameters
    ----------
    held_out : ndarray of shape (n_rows,)
        Raw held-out training anomalies (>= 0), in time order.
    smoothed : ndarray of shape (n_rows,)
        Their trailing ``window_rows`` mean (full window).
    regimes : ndarray of shape (n_rows,)
        :meth:`OperatingRegimes.transform` of the training rows.
    window_rows : int
        Smoothing window [rows].
    false_alarm_rate : float
        Target share of a regime's normal rows above its threshold.
    global_threshold : float
        Threshold over all rows: used for a regime with fewer than two windows of training rows
        (too few to calibrate on its own), and for everything when there is one regime.

    Returns
    -------
    dict
        Regime -> threshold of the smoothed anomaly; :data:`UNSEEN` gets the lowest threshold
        of a steady regime (the global one if there is none).
    """
    kinds = np.unique(regimes)
    if len(kinds) <= 1:
        return {int(k): global_threshold for k in kinds} | {UNSEEN: global_threshold}
    thresholds: dict[int, float] = {}
    for regime in kinds:
        rows = regimes == regime
        if rows.sum() < 2 * window_rows:
            thresholds[int(regime)] = global_threshold
            continue
        # the empirical quantile is taken on the smoothed series as it ran (windows that
        # straddle a switch belong to the regime of their last row); the gamma bound on the
        # regime's own raw anomalies
        empirical = float(np.quantile(smoothed[rows], 1.0 - false_alarm_rate))
        bound = gamma_bound(held_out[rows], window_rows, false_alarm_rate)
        thresholds[int(regime)] = max(empirical, bound, 1e-12)
    steady = [t for regime, t in thresholds.items() if regime % 2 == 0]
    thresholds[UNSEEN] = min(steady) if steady else global_threshold
    return thresholds
