"""Per-equipment fault detection on a site: fit on a training period, score the rest, find episodes.

For each equipment of a site, :class:`EquipmentDetector` watches its health indicators
(:mod:`bms.models.equipment_indicators`: physics residuals, state-aware, NaN while the equipment
is off). It is fitted on the first ``train_days`` of the equipment's telemetry, assumed mostly
normal, without labels:

1. each ``residual`` indicator is regressed on its drivers (least squares); its residual is
   smoothed by a trailing mean over ``smooth_steps`` valid rows (2 h at 5 min) and its
   threshold is ``max(floor, k_sigma x robust s.d. of the smoothed training residual)``
   (``floor``: the smallest deviation that matters physically, per indicator);
2. ``excess`` indicators are already in threshold units; ``stop`` indicators learn how often the
   equipment runs in each context and flag a stop where it runs at least ``stop_probability`` of
   the training time.

Scoring gives each indicator an *excess* (smoothed deviation on its bad side / threshold, 1 =
threshold); the row's anomaly ``a`` is the largest excess, ``anomaly_score = a / (1 + a)`` (in
[0, 1), 0.5 = threshold), ``is_anomalous = anomaly_score >= 0.5``, and the contributions are the
indicators' shares of the summed excess. A step where no indicator applies has no score (NaN):
equipment off is not an anomaly.

*Detections* are episodes of flagged steps after persistence: a flag holds through steps with no
score (a fault seen on Friday evening is still there on Monday morning), episodes closer than
``merge_gap`` are merged, and an episode needs ``min_episode_steps`` flagged, scored steps.

Entry points: :func:`detect_site_faults` (detections of a whole site, for ``bms demo``) and
:func:`run_site_detection` (also the row scores and the fitted detectors).
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from bms.errors import BmsError
from bms.features.quality import out_of_range_flags, spike_flags
from bms.models.equipment_indicators import (
    BINARY_EXCESS,
    DRIVER_PREFIX,
    IndicatorSpec,
    build_context,
    indicator_frame,
)
from bms.site.model import Equipment, Site

__all__ = [
    "CONTRIBUTION_PREFIX",
    "DETECTION_COLUMNS",
    "DetectionParams",
    "EquipmentDetector",
    "SiteDetection",
    "detect_site_faults",
    "episodes",
    "equipment_frames",
    "run_site_detection",
]

logger = logging.getLogger(__name__)

CONTRIBUTION_PREFIX = "contribution:"
#: Columns of the detections frame.
DETECTION_COLUMNS = ("equipment", "start", "end", "peak_score", "top_points", "top_indicators")
MAD_TO_SD = 1.4826


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


def _trailing_nanmean(
    values: NDArray[np.float64], window: int, min_valid: int
) -> NDArray[np.float64]:
    """Causal mean of the finite values of the last ``window`` rows (axis 0); NaN if too few."""
    finite = np.isfinite(values)
    filled = np.where(finite, values, 0.0)
    csum = np.cumsum(filled, axis=0)
    ccount = np.cumsum(finite, axis=0, dtype=np.float64)
    csum[window:] = csum[window:] - csum[:-window].copy()
    ccount[window:] = ccount[window:] - ccount[:-window].copy()
    with np.errstate(invalid="ignore", divide="ignore"):
        out = csum / ccount
    out[ccount < min_valid] = np.nan
    # a window that only "sees" old values must not outlive the data: no value, no score
    out[~finite] = np.nan
    return np.asarray(out)


@dataclass
class _Fitted:
    spec: IndicatorSpec
    coef: NDArray[np.float64] | None = None
    center: float = 0.0
    threshold: float = 1.0
    expected_on: dict[float, bool] = field(default_factory=dict)


class EquipmentDetector:
    """Fault detector of one equipment on its indicator frame.

    Parameters
    ----------
    params : DetectionParams, optional
    """

    def __init__(self, params: DetectionParams | None = None) -> None:
        self.params = params or DetectionParams()

    def _design(self, frame: pd.DataFrame, spec: IndicatorSpec) -> NDArray[np.float64]:
        cols = [frame[f"{DRIVER_PREFIX}{d}"].to_numpy(dtype=float) for d in spec.drivers]
        return np.column_stack([np.ones(len(frame)), *cols])

    def _deviation(
        self, resid: NDArray[np.float64], spec: IndicatorSpec, index: pd.Index
    ) -> NDArray[np.float64]:
        """Smoothed residual, minus its recent same-time-of-day median if the spec asks."""
        p = self.params
        smoothed = _trailing_nanmean(resid, p.smooth_steps, p.min_valid_steps)
        if not spec.recent_baseline or len(index) < 2:
            return smoothed
        per_day = int(pd.Timedelta(days=1) / (index[1] - index[0]))
        lagged = np.full((p.baseline_days, len(smoothed)), np.nan)
        for k in range(1, p.baseline_days + 1):
            lagged[k - 1, k * per_day :] = smoothed[: len(smoothed) - k * per_day]
        enough = np.isfinite(lagged).sum(axis=0) >= max(2, p.baseline_days // 2)
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            baseline = np.nanmedian(lagged, axis=0)
        return np.where(enough, smoothed - baseline, np.nan)

    def fit(self, frame: pd.DataFrame, specs: list[IndicatorSpec]) -> EquipmentDetector:
        """Fit on training rows of an indicator frame (see :func:`indicator_frame`).

        Parameters
        ----------
        frame : DataFrame of shape (n_steps, n_columns)
            Training rows, oldest first.
        specs : list of IndicatorSpec
            The indicators of ``frame``.

        Returns
        -------
        self
        """
        p = self.params
        self.fitted_: list[_Fitted] = []
        self.skipped_: list[str] = []
        for spec in specs:
            y = frame[spec.name].to_numpy(dtype=float)
            if spec.kind == "excess":
                self.fitted_.append(_Fitted(spec))
                continue
            if spec.kind == "stop":
                context = frame[f"{DRIVER_PREFIX}{spec.drivers[0]}"].to_numpy(dtype=float)
                ok = np.isfinite(y)
                overall = 1.0 - float(np.mean(y[ok])) if ok.any() else 0.0
                expected = {}
                for value in (0.0, 1.0):
                    rows = ok & (context == value)
                    share = 1.0 - float(np.mean(y[rows])) if rows.sum() >= 12 else overall
                    expected[value] = share >= p.stop_probability
                self.fitted_.append(_Fitted(spec, expected_on=expected))
                continue
            X = self._design(frame, spec)
            ok = np.isfinite(y) & np.isfinite(X).all(axis=1)
            if ok.sum() < p.min_train_steps:
                self.skipped_.append(spec.name)
                continue
            # a driver that did not vary in training cannot be fitted: it is left out
            spread = np.std(X[ok], axis=0)
            usable = (spread > 1e-6 * (1.0 + np.abs(np.mean(X[ok], axis=0)))) | (
                np.arange(X.shape[1]) == 0
            )
            coef = np.zeros(X.shape[1])
            coef[usable] = np.linalg.lstsq(X[ok][:, usable], y[ok], rcond=None)[0]
            resid = y - np.nan_to_num(X) @ coef
            smoothed = self._deviation(resid, spec, frame.index)
            good = smoothed[np.isfinite(smoothed)]
            if len(good) < p.min_valid_steps:
                self.skipped_.append(spec.name)
                continue
            center = float(np.median(good))
            scale = MAD_TO_SD * float(np.median(np.abs(good - center)))
            floor = spec.floor * abs(float(np.median(y[ok]))) if spec.relative else spec.floor
            threshold = max(floor, p.k_sigma * scale, 1e-9)
            self.fitted_.append(_Fitted(spec, coef, center, threshold))
        if self.skipped_:
            logger.debug("indicators left out (too few training rows): %s", self.skipped_)
        return self

    @property
    def indicators_(self) -> list[str]:
        """Names of the fitted indicators."""
        return [f.spec.name for f in self.fitted_]

    def excess(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Each indicator's excess over its threshold (1 = at threshold; NaN = not applicable).

        Returns
        -------
        DataFrame of shape (n_steps, n_indicators)
        """
        p = self.params
        out = {}
        for fit in self.fitted_:
            spec = fit.spec
            y = frame[spec.name].to_numpy(dtype=float)
            if spec.kind == "excess":
                value = np.maximum(y, 0.0)
            elif spec.kind == "stop":
                context = frame[f"{DRIVER_PREFIX}{spec.drivers[0]}"].to_numpy(dtype=float)
                expected = np.where(context >= 0.5, fit.expected_on[1.0], fit.expected_on[0.0])
                value = np.where(np.isfinite(y), BINARY_EXCESS * y * expected, np.nan)
            else:
                assert fit.coef is not None
                resid = y - np.nan_to_num(self._design(frame, spec)) @ fit.coef
                smoothed = self._deviation(resid, spec, frame.index)
                dev = (smoothed - fit.center) / fit.threshold
                value = dev if spec.direction > 0 else -dev if spec.direction < 0 else np.abs(dev)
                out[spec.name] = np.maximum(value, 0.0)
                continue
            out[spec.name] = _trailing_nanmean(value, p.smooth_steps, p.min_valid_steps)
        return pd.DataFrame(out, index=frame.index, columns=self.indicators_, dtype=float)

    def score(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Row scores of an indicator frame.

        Returns
        -------
        DataFrame
            Index of ``frame``; ``anomaly_score`` in [0, 1) (0.5 = threshold; NaN where no
            indicator applies), ``is_anomalous`` (0/1), ``top_contributor`` (indicator name),
            ``top_points`` (comma-separated local point names of that indicator) and
            ``contribution:<indicator>`` shares (sum 1 where scored).
        """
        excess = self.excess(frame)
        values = excess.to_numpy()
        scored = np.isfinite(values).any(axis=1)
        filled = np.where(np.isfinite(values), values, 0.0)
        anomaly = np.where(scored, filled.max(axis=1), np.nan)
        score = anomaly / (1.0 + anomaly)
        out = pd.DataFrame(
            {"anomaly_score": score, "is_anomalous": (score >= 0.5).astype(np.int64)},
            index=frame.index,
        )
        names = np.asarray([*self.indicators_, ""], dtype=object)
        points = np.asarray([",".join(f.spec.points) for f in self.fitted_] + [""], dtype=object)
        top = np.where(scored, filled.argmax(axis=1) if values.shape[1] else 0, len(names) - 1)
        out["top_contributor"] = names[top]
        out["top_points"] = points[top]
        total = filled.sum(axis=1, keepdims=True)
        finite = np.isfinite(values)
        even = finite / np.maximum(finite.sum(axis=1, keepdims=True), 1)  # nothing in excess
        shares = np.where(total > 0, filled / np.where(total > 0, total, 1.0), even)
        shares[~scored] = np.nan
        for j, name in enumerate(self.indicators_):
            out[f"{CONTRIBUTION_PREFIX}{name}"] = shares[:, j]
        self._last_excess = excess
        return out

    def points_of(self, indicator: str) -> tuple[str, ...]:
        """Local point names an indicator is computed from."""
        return next(f.spec.points for f in self.fitted_ if f.spec.name == indicator)


def episodes(
    scores: pd.DataFrame,
    excess: pd.DataFrame,
    detector: EquipmentDetector,
    equipment_id: str,
    params: DetectionParams | None = None,
) -> pd.DataFrame:
    """Detections of one equipment from its row scores.

    Parameters
    ----------
    scores : DataFrame
        :meth:`EquipmentDetector.score` output (regular UTC index).
    excess : DataFrame
        :meth:`EquipmentDetector.excess` on the same rows (for the contributing points).
    detector : EquipmentDetector
    equipment_id : str
    params : DetectionParams, optional

    Returns
    -------
    DataFrame with columns :data:`DETECTION_COLUMNS`
        ``start`` (first flagged step), ``end`` (end of the last flagged step), ``peak_score``,
        ``top_points`` (point ids, most contributing first), ``top_indicators``.
    """
    p = params or DetectionParams()
    score = scores["anomaly_score"].to_numpy(dtype=float)
    flag = pd.Series(np.where(np.isfinite(score), score >= 0.5, np.nan), index=scores.index)
    held = flag.ffill().fillna(0.0).to_numpy() > 0.5
    rows: list[dict[str, Any]] = []
    if not held.any():
        return pd.DataFrame(columns=list(DETECTION_COLUMNS))
    index = scores.index
    step = index[1] - index[0] if len(index) > 1 else pd.Timedelta("5min")
    padded = np.concatenate([[False], held, [False]])
    edges = np.flatnonzero(np.diff(padded.astype(np.int8)))
    runs = [[int(b), int(e)] for b, e in zip(edges[::2], edges[1::2], strict=True)]
    gap = int(pd.Timedelta(hours=p.merge_gap_hours) / step)
    merged: list[list[int]] = []
    for run in runs:
        if merged and run[0] - merged[-1][1] < gap:
            merged[-1][1] = run[1]
        else:
            merged.append(run)
    observed = np.isfinite(score) & (score >= 0.5)
    values = excess.to_numpy()
    for begin, stop in merged:
        hits = np.flatnonzero(observed[begin:stop]) + begin
        if len(hits) < p.min_episode_steps:
            continue
        weight = np.nansum(np.where(np.isfinite(values[hits]), values[hits], 0.0), axis=0)
        order = [int(j) for j in np.argsort(-weight) if weight[j] > 0]
        indicators = [excess.columns[j] for j in order]
        points: list[str] = []
        for name in indicators:
            for point in detector.points_of(name):
                if f"{equipment_id}/{point}" not in points:
                    points.append(f"{equipment_id}/{point}")
        rows.append(
            {
                "equipment": equipment_id,
                "start": index[hits[0]],
                "end": index[hits[-1]] + step,
                "peak_score": float(np.nanmax(score[hits])),
                "top_points": points[: p.top_points],
                "top_indicators": indicators[: p.top_points],
            }
        )
    return pd.DataFrame(rows, columns=list(DETECTION_COLUMNS))


def equipment_frames(
    telemetry: pd.DataFrame, site: Site, step: str | pd.Timedelta = "5min"
) -> dict[str, pd.DataFrame]:
    """One wide, regular-step frame per equipment from canonical telemetry (one pass).

    Readings are averaged per step (left-labelled); steps without a reading are NaN (no fill:
    a gap is a gap). Columns are local point names, index a UTC DatetimeIndex from the first to
    the last reading of the site.
    """
    missing = {"time", "point", "value"} - set(telemetry.columns)
    if missing:
        raise BmsError(f"telemetry frame lacks column(s) {', '.join(sorted(missing))}")
    if telemetry.empty:
        raise BmsError("telemetry frame is empty")
    step_td = pd.Timedelta(step)
    times = pd.DatetimeIndex(telemetry["time"]).floor(step_td)
    first, last = times.min(), times.max()
    n_steps = int((last - first) / step_td) + 1
    row = ((times - first) // step_td).to_numpy(dtype=np.int64)
    codes, points = pd.factorize(telemetry["point"], sort=True)
    flat = row * len(points) + codes
    size = n_steps * len(points)
    values = telemetry["value"].to_numpy(dtype=float)
    sums = np.bincount(flat, weights=values, minlength=size)
    counts = np.bincount(flat, minlength=size)
    with np.errstate(invalid="ignore", divide="ignore"):
        grid = (sums / counts).reshape(n_steps, len(points))
    index = pd.date_range(first, periods=n_steps, freq=step_td, name="time")
    column_of = {str(p): j for j, p in enumerate(points)}
    frames = {}
    for eq in site.all_equipment():
        cols = [(pt.name, column_of[pt.id]) for pt in eq.points if pt.id in column_of]
        if cols:
            frames[eq.id] = pd.DataFrame(
                grid[:, [j for _, j in cols]], index=index, columns=[n for n, _ in cols]
            )
    return frames


def _clean(x: pd.DataFrame, eq: Equipment) -> pd.DataFrame:
    """Blank out-of-range values (``Point.low/high``) and one-step spikes of measured points."""
    x = x.copy()
    for point in eq.points:
        if point.name not in x:
            continue
        series = x[point.name]
        bad = out_of_range_flags(series, point.low, point.high)
        if point.kind.endswith("Sensor"):
            bad |= spike_flags(series)
        if bad.any():
            x[point.name] = series.mask(bad)
    return x


@dataclass
class SiteDetection:
    """What :func:`run_site_detection` returns."""

    detections: pd.DataFrame  #: one row per detection, columns :data:`DETECTION_COLUMNS`
    scores: dict[str, pd.DataFrame]  #: equipment id -> row scores after ``train_end``
    detectors: dict[str, EquipmentDetector]  #: equipment id -> fitted detector
    train_end: pd.Timestamp  #: first scored instant (UTC)
    end: pd.Timestamp  #: end of the scored period (UTC, exclusive)


def _frames_of(source: Any, site: Site, step: str | pd.Timedelta) -> dict[str, pd.DataFrame]:
    if isinstance(source, pd.DataFrame):
        return equipment_frames(source, site, step)
    if isinstance(source, Mapping):
        return {
            str(k): v[[c for c in v.columns if not str(c).startswith("_")]]
            for k, v in source.items()
        }
    telemetry = getattr(source, "telemetry", None)
    if isinstance(telemetry, pd.DataFrame):
        return equipment_frames(telemetry, site, step)
    raise BmsError(
        "source must be a SimulationResult, a telemetry frame or a mapping of wide frames"
    )


def run_site_detection(
    source: Any,
    site: Site,
    train_days: float,
    params: DetectionParams | None = None,
    step: str | pd.Timedelta = "5min",
) -> SiteDetection:
    """Fit one detector per equipment on the first ``train_days`` and score the rest.

    Parameters
    ----------
    source : SimulationResult, DataFrame or mapping
        A simulation (its ``telemetry`` is used: the data a real site gives, gaps and spikes
        included), a canonical telemetry frame (``time, point, value``), or a mapping equipment
        id -> wide frame of local point names (columns starting with ``_`` are dropped).
    site : Site
        The site model (kinds, nameplate parameters, zones' ``served_by``).
    train_days : float
        Length of the training period from the first step [d], > 0; at least a day of scored
        data must remain.
    params : DetectionParams, optional
    step : str or Timedelta
        Grid step when ``source`` is telemetry.

    Returns
    -------
    SiteDetection

    Raises
    ------
    BmsError
        Bad ``source`` or ``train_days``.
    """
    if not train_days > 0:
        raise BmsError(f"train_days must be > 0, got {train_days}")
    params = params or DetectionParams()
    frames = _frames_of(source, site, step)
    if not frames:
        raise BmsError("no equipment of the site has data")
    equipment = [eq for eq in site.all_equipment() if eq.id in frames]
    start = min(f.index[0] for f in frames.values())
    end = max(f.index[-1] for f in frames.values())
    train_end = start + pd.Timedelta(days=train_days)
    if train_end + pd.Timedelta(days=1) > end:
        raise BmsError(
            f"train_days {train_days} leaves less than a day to score (data span "
            f"{(end - start) / pd.Timedelta(days=1):.1f} days)"
        )
    cleaned = {eq.id: _clean(frames[eq.id], eq) for eq in equipment}
    context = build_context(cleaned, equipment)
    detections, scores, detectors = [], {}, {}
    for eq in equipment:
        frame, specs = indicator_frame(cleaned[eq.id], eq, context)
        if not specs:
            continue
        detector = EquipmentDetector(params).fit(frame[frame.index < train_end], specs)
        if not detector.fitted_:
            continue
        row_scores = detector.score(frame)
        test = frame.index >= train_end
        excess = detector._last_excess[test]
        scores[eq.id] = row_scores[test]
        detectors[eq.id] = detector
        detections.append(episodes(row_scores[test], excess, detector, eq.id, params))
    frames_out = [d for d in detections if not d.empty]
    table = (
        pd.concat(frames_out, ignore_index=True)
        if frames_out
        else pd.DataFrame(columns=list(DETECTION_COLUMNS))
    )
    table = table.sort_values(["start", "equipment"], ignore_index=True) if len(table) else table
    step_td = next(iter(frames.values())).index.freq or pd.Timedelta(step)
    return SiteDetection(table, scores, detectors, train_end, end + pd.Timedelta(step_td))


def detect_site_faults(
    source: Any,
    site: Site,
    train_days: float,
    params: DetectionParams | None = None,
) -> pd.DataFrame:
    """Detections of a whole site (see :func:`run_site_detection`).

    Returns
    -------
    DataFrame
        One row per detection: ``equipment`` (id), ``start``, ``end`` (UTC), ``peak_score``
        [0-1], ``top_points`` (list of point ids, most contributing first),
        ``top_indicators`` (list of indicator names).
    """
    return run_site_detection(source, site, train_days, params).detections
