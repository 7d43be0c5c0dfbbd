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

The training period rarely covers every season or operating regime (a summer month has no
heating, a winter month no cooling). A learned fit is therefore trusted only at *familiar
operating points*: each driver's training range (between the ``familiar_quantile`` quantiles,
widened by ``familiar_margin`` of its width). Where a driver lies outside it, the indicator is
not scored (NaN) and the row lists it in ``unfamiliar``: the detector refuses to extrapolate
rather than calling an unseen regime a fault. Limits (``excess``) and indicators marked
``extrapolate=True`` do not depend on the training range: those compared with their peers or
their recent past, and fits whose physics holds at any operating point (a bearing's warming,
linear in speed squared) as long as their slopes have the sign physics gives them
(``driver_signs``).

Scoring gives each indicator an *excess* (smoothed deviation on its bad side / threshold, 1 =
threshold); the row's anomaly ``a`` is the largest excess, ``anomaly_score = a / (1 + a)`` (in
[0, 1), 0.5 = threshold), ``is_anomalous = anomaly_score >= 0.5``, and the contributions are the
indicators' shares of the summed excess. A step where no indicator applies has no score (NaN):
equipment off is not an anomaly.

*Detections* are episodes of flagged steps after persistence
(:mod:`bms.models.detection_episodes`).

Entry points: :func:`detect_site_faults` (detections of a whole site, for ``bms demo``) and
:func:`run_site_detection` (also the row scores and the fitted detectors).
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from bms.errors import BmsError
from bms.models.detection_episodes import DETECTION_COLUMNS, episodes
from bms.models.detection_params import DetectionParams
from bms.models.equipment_indicators import (
    BINARY_EXCESS,
    DRIVER_PREFIX,
    IndicatorSpec,
    build_context,
    indicator_frame,
)
from bms.models.site_frames import clean_frame, equipment_frames, frames_of
from bms.site.model import Site

__all__ = [
    "CONTRIBUTION_PREFIX",
    "DETECTION_COLUMNS",
    "UNFAMILIAR",
    "WIDE_THRESHOLD_FLOORS",
    "DetectionParams",
    "EquipmentDetector",
    "SiteDetection",
    "WideThreshold",
    "detect_site_faults",
    "episodes",
    "equipment_frames",
    "run_site_detection",
    "wide_threshold_notes",
]

logger = logging.getLogger(__name__)

CONTRIBUTION_PREFIX = "contribution:"
#: ``top_contributor`` of a row left unscored because its drivers are out of the training range.
UNFAMILIAR = "unfamiliar operating point"
MAD_TO_SD = 1.4826
#: A learned threshold this many times its indicator's floor is reported
#: (:attr:`EquipmentDetector.wide_thresholds_`): the training rows scatter about the fit by
#: half the floor or more (``k_sigma`` 6), so the indicator sees only deviations several times
#: the size that matters. On the simulated site (development seeds 0-7, trained in winter and
#: in summer) each of the 23 such thresholds came from a fault of that equipment that began
#: while it trained (``benchmarks/bench_site_detection.py`` prints the count).
WIDE_THRESHOLD_FLOORS = 3.0


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


def _may_extrapolate(spec: IndicatorSpec, slopes: NDArray[np.float64]) -> bool:
    """Whether a fit may be used beyond its drivers' training range: the spec allows it and
    each slope has the sign physics gives it (``driver_signs``; a zero slope is no evidence
    against it)."""
    if not spec.extrapolate:
        return False
    signs = np.asarray(spec.driver_signs or [0] * len(slopes), dtype=float)
    return bool(np.all(signs * slopes >= 0.0))


@dataclass
class _Fitted:
    spec: IndicatorSpec
    coef: NDArray[np.float64] | None = None
    center: float = 0.0
    threshold: float = 1.0
    expected_on: dict[float, bool] = field(default_factory=dict)
    #: columns of the design (intercept first) that were fitted; the others have coef 0
    usable: NDArray[np.bool_] | None = None
    #: familiar range of each driver (no intercept); None: the fit may extrapolate
    low: NDArray[np.float64] | None = None
    high: NDArray[np.float64] | None = None
    #: the smallest deviation that matters physically, in the indicator's unit (0: none)
    floor: float = 0.0


class WideThreshold(NamedTuple):
    """An indicator whose learned threshold is at least :data:`WIDE_THRESHOLD_FLOORS` times
    its floor, in the indicator's unit."""

    indicator: str
    threshold: float
    floor: float

    @property
    def floors(self) -> float:
        """The threshold in floors [-]."""
        return self.threshold / self.floor

    def note(self, equipment: str) -> str:
        """One line for the person who trained the detector."""
        return (
            f"{equipment}: {self.indicator!r} learned a threshold of {self.threshold:.3g}, "
            f"{self.floors:.1f} x its floor of {self.floor:.3g}: its training "
            "rows stray far from its fit, so it sees only deviations that large. Most often a "
            "fault of this equipment while it trained; retrain on normal data once repaired"
        )


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
        """Smoothed residual, minus its recent same-time-of-day median if the spec asks.

        The recent baseline leaves out the past values that were themselves unusual (off their
        own baseline by the indicator's floor or more): once a sensor bias is repaired, the
        days it spoiled do not make the repaired reading look wrong.
        """
        p = self.params
        smoothed = _trailing_nanmean(resid, p.smooth_steps, p.min_valid_steps)
        if not spec.recent_baseline or len(index) < 2:
            return smoothed
        per_day = int(pd.Timedelta(days=1) / (index[1] - index[0]))
        first = smoothed - self._recent_median(smoothed, per_day)
        usual = np.where(np.abs(first) < max(spec.floor, 1e-9), smoothed, np.nan)
        return smoothed - self._recent_median(usual, per_day)

    def _recent_median(self, values: NDArray[np.float64], per_day: int) -> NDArray[np.float64]:
        """Median of the same time of day over the previous ``baseline_days`` (NaN if too few)."""
        p = self.params
        lagged = np.full((p.baseline_days, len(values)), np.nan)
        for k in range(1, p.baseline_days + 1):
            lagged[k - 1, k * per_day :] = values[: len(values) - k * per_day]
        enough = np.isfinite(lagged).sum(axis=0) >= max(2, p.baseline_days // 2)
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            baseline = np.nanmedian(lagged, axis=0)
        return np.asarray(np.where(enough, baseline, np.nan))

    def _unfamiliar(self, frame: pd.DataFrame, fit: _Fitted) -> NDArray[np.bool_]:
        """Rows whose drivers lie outside their familiar range (False where unknown)."""
        if fit.low is None or fit.high is None:
            return np.zeros(len(frame), dtype=bool)
        drivers = self._design(frame, fit.spec)[:, 1:]
        with np.errstate(invalid="ignore"):
            outside = (drivers < fit.low) | (drivers > fit.high)
        return np.asarray(outside.any(axis=1))

    def _residual(self, frame: pd.DataFrame, fit: _Fitted) -> NDArray[np.float64]:
        """Indicator minus its fit; NaN where a fitted driver is missing."""
        assert fit.coef is not None
        y = frame[fit.spec.name].to_numpy(dtype=float)
        X = self._design(frame, fit.spec)
        usable = fit.usable if fit.usable is not None else fit.coef != 0
        usable = usable | (np.arange(X.shape[1]) == 0)
        return np.asarray(y - X[:, usable] @ fit.coef[usable])

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
            fitted = _Fitted(spec, coef, usable=usable)
            if spec.drivers and not _may_extrapolate(spec, coef[1:]):
                fitted.low, fitted.high = p.familiar_range(X[ok][:, 1:])
            resid = self._residual(frame, fitted)
            smoothed = self._deviation(resid, spec, frame.index)
            good = smoothed[np.isfinite(smoothed)]
            if len(good) < p.min_valid_steps:
                self.skipped_.append(spec.name)
                continue
            center = float(np.median(good))
            scale = MAD_TO_SD * float(np.median(np.abs(good - center)))
            floor = spec.floor * abs(float(np.median(y[ok]))) if spec.relative else spec.floor
            fitted.center, fitted.threshold = center, max(floor, p.k_sigma * scale, 1e-9)
            fitted.floor = floor
            self.fitted_.append(fitted)
        if self.skipped_:
            logger.debug("indicators left out (too few training rows): %s", self.skipped_)
        return self

    @property
    def indicators_(self) -> list[str]:
        """Names of the fitted indicators."""
        return [f.spec.name for f in self.fitted_]

    @property
    def wide_thresholds_(self) -> list[WideThreshold]:
        """The learned indicators whose threshold is at least :data:`WIDE_THRESHOLD_FLOORS`
        times their floor (:class:`WideThreshold`)."""
        return [
            WideThreshold(f.spec.name, f.threshold, f.floor)
            for f in self.fitted_
            if f.spec.kind == "residual"
            and f.floor > 0.0
            and f.threshold >= WIDE_THRESHOLD_FLOORS * f.floor
        ]

    def excess(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Each indicator's excess over its threshold (1 = at threshold; NaN = not applicable).

        Returns
        -------
        DataFrame of shape (n_steps, n_indicators)
            A learned indicator is NaN where its drivers lie outside their familiar range (see
            :meth:`unfamiliar`).
        """
        p = self.params
        out = {}
        self._unfamiliar_rows: dict[str, NDArray[np.bool_]] = {}
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
                resid = self._residual(frame, fit)
                unfamiliar = self._unfamiliar(frame, fit)
                resid[unfamiliar] = np.nan
                self._unfamiliar_rows[spec.name] = unfamiliar & np.isfinite(y)
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
            ``top_points`` (comma-separated local point names of that indicator),
            ``unfamiliar`` (comma-separated indicators not scored because their drivers lie
            outside the training range; ``top_contributor`` is :data:`UNFAMILIAR` where that
            leaves the row unscored) and ``contribution:<indicator>`` shares (sum 1 where
            scored).
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
        top = np.where(scored, self._top_indicator(filled), len(names) - 1)
        unfamiliar = self.unfamiliar(frame.index)
        out["top_contributor"] = np.where(~scored & (unfamiliar != ""), UNFAMILIAR, names[top])
        out["top_points"] = points[top]
        out["unfamiliar"] = unfamiliar
        total = filled.sum(axis=1, keepdims=True)
        finite = np.isfinite(values)
        even = finite / np.maximum(finite.sum(axis=1, keepdims=True), 1)  # nothing in excess
        shares = np.where(total > 0, filled / np.where(total > 0, total, 1.0), even)
        shares[~scored] = np.nan
        for j, name in enumerate(self.indicators_):
            out[f"{CONTRIBUTION_PREFIX}{name}"] = shares[:, j]
        self._last_excess = excess
        return out

    def _top_indicator(self, filled: NDArray[np.float64]) -> NDArray[np.intp]:
        """Per row, the column of the largest excess, or of the largest cause past its threshold
        where the largest is a symptom (``IndicatorSpec.symptom``: a set point missed)."""
        if not filled.shape[1]:
            return np.zeros(len(filled), dtype=np.intp)
        top = filled.argmax(axis=1)
        symptom = np.array([f.spec.symptom for f in self.fitted_], dtype=bool)
        if not symptom.any() or symptom.all():
            return top
        causes = np.where(symptom, -np.inf, filled)
        cause_first = symptom[top] & (causes.max(axis=1) >= 1.0)
        return np.where(cause_first, causes.argmax(axis=1), top)

    def unfamiliar(self, index: pd.Index) -> NDArray[np.object_]:
        """Per row of the last :meth:`excess` call: indicators left out at unfamiliar points."""
        names = np.full(len(index), "", dtype=object)
        for name, rows in getattr(self, "_unfamiliar_rows", {}).items():
            if len(rows) == len(index) and rows.any():
                names[rows] = np.where(names[rows] == "", name, names[rows] + "," + name)
        return names

    def points_of(self, indicator: str) -> tuple[str, ...]:
        """Local point names an indicator is computed from."""
        return next(f.spec.points for f in self.fitted_ if f.spec.name == indicator)

    def is_symptom(self, indicator: str) -> bool:
        """Whether an indicator is a control loop missing its set point (its spec's ``symptom``)."""
        return any(f.spec.symptom for f in self.fitted_ if f.spec.name == indicator)


@dataclass
class SiteDetection:
    """What :func:`run_site_detection` returns."""

    detections: pd.DataFrame  #: one row per detection, columns :data:`DETECTION_COLUMNS`
    scores: dict[str, pd.DataFrame]  #: equipment id -> row scores after ``train_end``
    detectors: dict[str, EquipmentDetector]  #: equipment id -> fitted detector
    train_end: pd.Timestamp  #: first scored instant (UTC)
    end: pd.Timestamp  #: end of the scored period (UTC, exclusive)


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
    frames = frames_of(source, site, step)
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
    cleaned = {eq.id: clean_frame(frames[eq.id], eq) for eq in equipment}
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


def wide_threshold_notes(detectors: Mapping[str, EquipmentDetector]) -> list[str]:
    """One line per indicator of ``detectors`` (equipment id -> fitted detector) that learned a
    wide threshold (:attr:`EquipmentDetector.wide_thresholds_`), equipment by equipment."""
    return [
        wide.note(equipment)
        for equipment, detector in detectors.items()
        for wide in detector.wide_thresholds_
    ]


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
