"""``bms train anomaly``: fit each equipment's fault detector on the stored telemetry, register
it, and promote it only if it is not worse than the production detector on held-back days.

The last ``holdout_days`` of the store are held back: the candidate is fitted on everything
before them, and both candidate and production detector flag the held-back rows. With labels
(``$BMS_HOME/labels.csv``, else the simulator's ``ground_truth.csv``: rows of an equipment
between a fault's ``onset`` and its ``end``, data-quality faults excluded) they are compared on
row-level F1; without labels, or when the held-back days hold no labelled fault of the
equipment, on the share of rows flagged (lower is better: the held-back days are then taken as
normal operation). Registry names are the equipment id with dots, e.g.
``besancon.hq.ahu-1.anomaly``.
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from sklearn.metrics import f1_score

from bms.config import Settings
from bms.errors import BmsError
from bms.models.equipment_detection import DetectionParams, EquipmentDetector, WideThreshold
from bms.models.registry import ModelRegistry
from bms.models.selection import SelectionDecision, register_and_maybe_promote
from bms.models.site_frames import indicator_frames
from bms.site.model import Site
from bms.telemetry.open_store import open_store

logger = logging.getLogger(__name__)

LABEL_FILES = ("labels.csv", "ground_truth.csv")
#: Fault categories that are equipment faults (data-quality defects are not).
FAULT_CATEGORIES = ("degradation", "abrupt", "sensor")
MIN_TRAIN_DAYS = 7.0


def model_name(equipment_id: str) -> str:
    """Registry name of an equipment's detector: ``site.building.equipment.anomaly``."""
    return equipment_id.replace("/", ".") + ".anomaly"


@dataclass
class RegisteredDetector:
    """What the registry stores for one equipment: its fitted detector, with ``predict``."""

    equipment: str
    detector: EquipmentDetector

    def predict(self, indicators: pd.DataFrame) -> NDArray[np.int64]:
        """0/1 flag per row of an indicator frame (rows without a score are not flagged)."""
        flags = self.detector.score(indicators)["is_anomalous"]
        return flags.fillna(0).to_numpy(dtype=np.int64)


def alarm_rate(y_true: NDArray[np.int64], y_pred: NDArray[np.int64]) -> float:
    """Share of rows flagged, for held-back days taken as normal (lower is better)."""
    return float(np.mean(y_pred)) if len(y_pred) else float("nan")


def wide_thresholds_text(wide: list[WideThreshold]) -> str:
    """What a model version keeps of its wide thresholds: ``"cooling_valve_vs_duty (7.2 x its
    floor), ..."``, ``", "`` between them (:func:`warn_if_production_is_blinder` counts them
    so), or ``"none"``."""
    return ", ".join(f"{w.indicator} ({w.floors:.1f} x its floor)" for w in wide) or "none"


def warn_if_production_is_blinder(
    registry: ModelRegistry, decision: SelectionDecision, n_wide: int
) -> None:
    """Warn when a refused candidate learned fewer wide thresholds than production.

    Without labels a candidate is judged by its alarm rate, lower being better, and a detector
    made blind by a fault while it trained raises fewer alarms: a retrained one that sees again
    is refused. This says so, and how to promote it once the fault is known to be repaired.
    """
    if decision.promoted or decision.champion_version is None:
        return
    kept = registry.get(decision.name, decision.champion_version).extra.get("wide_thresholds")
    if not isinstance(kept, str) or kept == "none":
        return
    n_champion = len(kept.split(", "))  # as wide_thresholds_text joins them
    if n_champion > n_wide:
        logger.warning(
            "%s: production version %d learned %d wide threshold(s) (%s), this candidate %d: "
            "production may be blind from a fault while it trained. If that fault is repaired, "
            "put the candidate in production: bms models promote %s %d",
            decision.name,
            decision.champion_version,
            n_champion,
            kept,
            n_wide,
            decision.name,
            decision.candidate_version,
        )


def row_f1(y_true: NDArray[np.int64], y_pred: NDArray[np.int64]) -> float:
    """Row-level F1 of the flags against the labels."""
    return float(f1_score(y_true, y_pred, zero_division=0.0))


def read_labels(home: Path) -> pd.DataFrame | None:
    """Labelled fault windows (``labels.csv`` or ``ground_truth.csv`` in ``home``), or None."""
    for name in LABEL_FILES:
        path = home / name
        if path.is_file():
            frame = pd.read_csv(path)
            missing = {"equipment", "category", "onset", "end"} - set(frame.columns)
            if missing:
                raise BmsError(f"{path}: missing column(s) {', '.join(sorted(missing))}")
            for column in ("onset", "end", "failure"):
                if column in frame:
                    frame[column] = pd.to_datetime(frame[column], utc=True, format="ISO8601")
            return frame[frame["category"].isin(FAULT_CATEGORIES)]
    return None


def row_labels(index: pd.DatetimeIndex, equipment: str, labels: pd.DataFrame) -> NDArray[np.int64]:
    """1 for rows of ``index`` inside a labelled fault window of ``equipment``, else 0."""
    y = np.zeros(len(index), dtype=np.int64)
    for fault in labels[labels["equipment"] == equipment].itertuples(index=False):
        stop = fault.end if pd.notna(fault.end) else index.max() + pd.Timedelta(seconds=1)
        y[(index >= fault.onset) & (index < stop)] = 1
    return y


def train_site_anomaly(
    settings: Settings,
    registry: ModelRegistry,
    site: Site,
    *,
    equipment: str | None = None,
    holdout_days: float = 14.0,
    tolerance: float = 0.0,
    params: DetectionParams | None = None,
) -> list[SelectionDecision]:
    """Train, register and maybe promote the detector of each equipment (or of one).

    ``params`` are the detector's settings (default :class:`DetectionParams`).

    Raises
    ------
    BmsError
        Unknown equipment, no telemetry, or too little of it for training and hold-out.
    """
    if equipment is not None:
        site.equipment_by_id(equipment)  # a one-line error naming an unknown id
    if not holdout_days > 0:
        raise BmsError(f"--holdout-days must be > 0, got {holdout_days}")
    telemetry = open_store(settings).read(site.point_ids())
    if telemetry.empty:
        raise BmsError("the telemetry store holds no data of the site: run bms ingest first")
    end = telemetry["time"].max()
    split = end - pd.Timedelta(days=holdout_days)
    if split - telemetry["time"].min() < pd.Timedelta(days=MIN_TRAIN_DAYS):
        raise BmsError(
            f"too little telemetry: training needs {MIN_TRAIN_DAYS:g} days before the "
            f"{holdout_days:g} held-back days"
        )
    labels = read_labels(settings.home)
    decisions = []
    for eq_id, (frame, specs) in indicator_frames(telemetry, site).items():
        if equipment is not None and eq_id != equipment:
            continue
        train, held = frame[frame.index < split], frame[frame.index >= split]
        detector = EquipmentDetector(params).fit(train, specs)
        if not detector.fitted_:
            logger.info("%s: no indicator could be fitted; skipped", eq_id)
            continue
        wide = detector.wide_thresholds_
        for indicator in wide:
            logger.warning("%s", indicator.note(eq_id))
        y = row_labels(held.index, eq_id, labels) if labels is not None else np.zeros(len(held))
        metric, higher = (row_f1, True) if y.any() else (alarm_rate, False)
        decision = register_and_maybe_promote(
            registry,
            RegisteredDetector(eq_id, detector),
            name=model_name(eq_id),
            kind="anomaly",
            scope=eq_id,
            features=list(detector.indicators_),
            data_start=train.index.min(),
            data_end=train.index.max(),
            holdout=(held, y),
            metric=metric,
            higher_is_better=higher,
            tolerance=tolerance,
            params=dataclasses.asdict(detector.params),
            extra={
                "labels": "yes" if y.any() else "none in the held-back days",
                "wide_thresholds": wide_thresholds_text(wide),
            },
        )
        warn_if_production_is_blinder(registry, decision, len(wide))
        decisions.append(decision)
    if not decisions:
        raise BmsError(f"no detector could be trained for {equipment or 'the site'}")
    return decisions
