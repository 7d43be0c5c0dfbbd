"""Settings of the per-equipment detector and of its episodes (the same for every equipment)."""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

__all__ = ["DetectionParams"]


@dataclass(frozen=True)
class DetectionParams:
    """Settings of the detector and of the episodes (the same for every equipment).

    Attributes
    ----------
    smooth_steps : int
        Trailing window of the indicator smoothing [steps] (24 = 2 h at 5 min).
    min_valid_steps : int
        Fewest valid steps in the window for a smoothed value [steps].
    k_sigma : float
        Threshold in robust standard deviations of the smoothed training residual [-].
    min_train_steps : int
        Fewest valid training steps for an indicator to be fitted (else it is left out) [steps].
    stop_probability : float
        A stop is unexpected where the equipment ran at least this share of the training time
        in the same context [0-1].
    min_episode_steps : int
        Fewest flagged, scored steps in a detection [steps] (12 = 1 h at 5 min).
    merge_gap_hours : float
        Episodes separated by less than this are one detection [h].
    top_points : int
        Points listed per detection.
    baseline_days : int
        Days of same-time-of-day history behind a ``recent_baseline`` indicator [d].
    familiar_quantile : float
        A driver's training range runs from this quantile to its complement [0-0.5]
        (0.005: the 0.5 % most extreme training values on each side are not trusted).
    familiar_margin : float
        The range is widened on each side by this share of its width [-]; a driver outside it
        is an *unfamiliar operating point* where a learned indicator is not scored.
    """

    smooth_steps: int = 24
    min_valid_steps: int = 6
    k_sigma: float = 6.0
    min_train_steps: int = 288
    stop_probability: float = 0.9
    min_episode_steps: int = 12
    merge_gap_hours: float = 24.0
    top_points: int = 3
    baseline_days: int = 7
    familiar_quantile: float = 0.005
    familiar_margin: float = 0.1

    def familiar_range(
        self, values: NDArray[np.float64]
    ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """Familiar range of each column of ``values`` (n_rows, n_columns): between the
        ``familiar_quantile`` quantiles (NaN ignored), widened on each side by
        ``familiar_margin`` of its width and by 1e-6 of the values' size (a constant column
        keeps a range); NaN for a column with no value."""
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # an all-NaN column
            low = np.nanquantile(values, self.familiar_quantile, axis=0)
            high = np.nanquantile(values, 1.0 - self.familiar_quantile, axis=0)
        pad = self.familiar_margin * (high - low) + 1e-6 * (1.0 + np.abs(low) + np.abs(high))
        return low - pad, high + pad
