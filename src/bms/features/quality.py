"""Data-quality flags: gaps, stuck (flat-line) values, out-of-range values and spikes.

These say whether a *sensor's data* can be trusted; they are kept apart from equipment faults
(rules, anomaly scores), which assume trusted data. Every function takes a regular-step series
(see :mod:`bms.features.resample`) and returns a boolean series on the same index, True where
the flag is raised.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = [
    "QualityFlags",
    "difference_spread",
    "gap_flags",
    "out_of_range_flags",
    "quality_flags",
    "run_lengths",
    "spike_flags",
    "spike_mask",
    "stuck_flags",
]

MAD_TO_SIGMA = 1.4826  #: scale of the median absolute deviation of a normal variable
#: A spike stands alone: the steps just before and just after it are smaller than this share of
#: its smaller jump (a one-row glitch; an oscillation's peak is reached and left by steps of the
#: same size as its neighbours').
SPIKE_ISOLATION_SHARE = 0.5


def run_lengths(mask: pd.Series | np.ndarray) -> np.ndarray:
    """Length of the run of consecutive True values each element belongs to (0 where False).

    Returns
    -------
    ndarray of int, shape (n,)
    """
    values = np.asarray(mask, dtype=bool)
    out = np.zeros(len(values), dtype=np.int64)
    if not values.any():
        return out
    padded = np.concatenate([[False], values, [False]])
    edges = np.flatnonzero(np.diff(padded.astype(np.int8)))
    for begin, end in zip(edges[::2], edges[1::2], strict=True):
        out[begin:end] = end - begin
    return out


def gap_flags(series: pd.Series, min_gap_steps: int = 1) -> pd.Series:
    """Flag missing values that belong to a run of at least ``min_gap_steps`` missing steps.

    Parameters
    ----------
    series : Series of shape (n_steps,)
        Regular-step values; a missing step is NaN.
    min_gap_steps : int
        Shortest run of NaN that counts as a gap [steps].
    """
    missing = series.isna().to_numpy()
    return pd.Series(run_lengths(missing) >= max(min_gap_steps, 1), index=series.index)


def stuck_flags(
    series: pd.Series, min_steps: int = 12, tolerance: float = 1e-6, ignore_zero: bool = True
) -> pd.Series:
    """Flag flat lines: runs of at least ``min_steps`` values that change by <= ``tolerance``.

    Parameters
    ----------
    series : Series of shape (n_steps,)
        Regular-step values [unit of the point]; NaN breaks a run.
    min_steps : int
        Shortest flat run flagged [steps]: every value of such a run is flagged.
    tolerance : float
        Largest step-to-step change still "unchanged" [unit of the point].
    ignore_zero : bool
        Do not flag runs at exactly 0: a stopped machine reads 0 power or flow for hours.
    """
    values = series.to_numpy(dtype=float)
    same = np.abs(np.diff(values)) <= tolerance  # NaN compares False
    if ignore_zero:
        same &= values[1:] != 0.0
    # a run of k unchanged differences covers k + 1 values
    run = run_lengths(same)
    flagged_diff = run + 1 >= min_steps
    flags = np.zeros(len(values), dtype=bool)
    flags[:-1] |= flagged_diff
    flags[1:] |= flagged_diff
    return pd.Series(flags, index=series.index)


def out_of_range_flags(
    series: pd.Series, low: float | None = None, high: float | None = None
) -> pd.Series:
    """Flag values below ``low`` or above ``high`` (plausible limits, e.g. ``Point.low/high``)."""
    values = series.to_numpy(dtype=float)
    flags = np.zeros(len(values), dtype=bool)
    with np.errstate(invalid="ignore"):
        if low is not None:
            flags |= values < low
        if high is not None:
            flags |= values > high
    return pd.Series(flags, index=series.index)


def difference_spread(values: np.ndarray, *, moves_only: bool = False) -> tuple[float, float]:
    """Centre and robust spread of a series' first differences: their median and 1.4826 x
    their median absolute deviation from it (their s.d. when that is 0; infinite when there
    are fewer than 3 or they never change).

    With ``moves_only``, the deviation is the median over the differences that move away from
    the centre: the typical move of a signal that often holds still (a valve shut while the
    fan is off, a command between set-point changes), whose median deviation would be 0 and
    make every move a jump.
    """
    diff = np.diff(np.asarray(values, dtype=float))
    finite = diff[np.isfinite(diff)]
    if len(finite) < 3:
        return 0.0, np.inf
    center = float(np.median(finite))
    deviations = np.abs(finite - center)
    if moves_only:
        deviations = deviations[deviations > 0]
        if len(deviations) < 3:
            return center, np.inf
    scale = MAD_TO_SIGMA * float(np.median(deviations))
    if scale <= 0.0:
        scale = float(np.std(finite)) or np.inf
    return center, scale


def spike_mask(
    values: np.ndarray, center: float, scale: float, z_threshold: float = 8.0
) -> np.ndarray:
    """One-step spikes of ``values`` (1-D), judged against a spread of its differences
    (:func:`difference_spread`, of these values or of a reference such as training data): a
    jump into a step and a jump out of it, both with ``|d - center| / scale`` above
    ``z_threshold`` and of opposite sign, standing alone (the steps just before and after are
    smaller than :data:`SPIKE_ISOLATION_SHARE` of its smaller jump). A step change (one jump)
    is not a spike, nor is the peak of an oscillation (it rises and falls over several
    steps)."""
    values = np.asarray(values, dtype=float)
    flags = np.zeros(len(values), dtype=bool)
    if len(values) < 3 or not np.isfinite(scale):
        return flags
    diff = np.diff(values)
    z = (diff - center) / scale
    with np.errstate(invalid="ignore"):
        into, out_of = z[:-1], z[1:]
        spike = (np.abs(into) > z_threshold) & (np.abs(out_of) > z_threshold)
        spike &= np.sign(into) != np.sign(out_of)
        # isolated: the steps just before and just after are small beside the spike's jumps
        # (at the ends of the series, the missing step counts as small)
        smaller = np.minimum(np.abs(diff[:-1]), np.abs(diff[1:]))
        before = np.abs(np.r_[0.0, diff[:-2]])
        after = np.abs(np.r_[diff[2:], 0.0])
        quiet = np.fmax(before, after)
        spike &= ~(quiet >= SPIKE_ISOLATION_SHARE * smaller)
    flags[1:-1] = spike
    return flags


def spike_flags(series: pd.Series, z_threshold: float = 8.0) -> pd.Series:
    """Flag one-step spikes: a jump out and a jump back, both with robust z above a threshold.

    The robust z of a first difference is ``(d - median(d)) / (1.4826 MAD(d))``. A spike at step
    ``i`` is a difference into ``i`` and a difference out of ``i`` that are both beyond
    ``z_threshold``, of opposite sign and standing alone (:func:`spike_mask`); a step change (one
    jump) is not a spike, nor the peak of an oscillation.

    Parameters
    ----------
    series : Series of shape (n_steps,)
    z_threshold : float
        Robust z beyond which a difference is a jump [-].
    """
    values = series.to_numpy(dtype=float)
    center, scale = difference_spread(values)
    return pd.Series(spike_mask(values, center, scale, z_threshold), index=series.index)


@dataclass(frozen=True)
class QualityFlags:
    """Boolean frames (n_steps, n_points), True where the flag is raised."""

    gap: pd.DataFrame
    stuck: pd.DataFrame
    out_of_range: pd.DataFrame
    spike: pd.DataFrame

    def bad(self) -> pd.DataFrame:
        """True where any flag other than ``gap`` is raised: a value present but untrusted."""
        return self.stuck | self.out_of_range | self.spike

    def share_bad(self) -> pd.Series:
        """Share of the points that are missing or untrusted at each step [0-1]."""
        any_flag = self.gap | self.bad()
        return any_flag.mean(axis=1) if any_flag.shape[1] else any_flag.sum(axis=1) * 0.0


def quality_flags(
    wide: pd.DataFrame,
    limits: Mapping[str, tuple[float | None, float | None]] | None = None,
    stuck_columns: list[str] | None = None,
    spike_columns: list[str] | None = None,
    min_gap_steps: int = 1,
    stuck_steps: int = 24,
    spike_z: float = 8.0,
) -> QualityFlags:
    """All data-quality flags of a wide regular-step frame.

    Parameters
    ----------
    wide : DataFrame of shape (n_steps, n_points)
    limits : mapping of column -> (low, high), optional
        Plausible range per column (``Point.low``, ``Point.high``); absent columns are not
        range-checked.
    stuck_columns : list of str, optional
        Columns checked for flat lines; default every column. Leave out commands and states
        (valves, dampers, 0/1 statuses) and set points, legitimately constant for long periods.
    spike_columns : list of str, optional
        Columns checked for spikes; default every column (leave out set points and commands,
        which may step up and back down by design).
    min_gap_steps, stuck_steps, spike_z
        See :func:`gap_flags`, :func:`stuck_flags`, :func:`spike_flags`.
    """
    limits = limits or {}
    stuck_set = set(wide.columns if stuck_columns is None else stuck_columns)
    spike_set = set(wide.columns if spike_columns is None else spike_columns)
    false = pd.Series(False, index=wide.index)
    gap, stuck, rng, spike = {}, {}, {}, {}
    for column in wide.columns:
        series = wide[column]
        gap[column] = gap_flags(series, min_gap_steps)
        stuck[column] = stuck_flags(series, stuck_steps) if column in stuck_set else false
        low, high = limits.get(column, (None, None))
        rng[column] = out_of_range_flags(series, low, high)
        spike[column] = spike_flags(series, spike_z) if column in spike_set else false

    def frame(flags: dict[str, pd.Series]) -> pd.DataFrame:
        return pd.DataFrame(flags, index=wide.index, columns=list(wide.columns)).astype(bool)

    return QualityFlags(frame(gap), frame(stuck), frame(rng), frame(spike))
