"""Score site detections against injected-fault ground truth (the simulator's ``ground_truth``).

Protocol (:func:`score_detections`):

* Only the scored period counts: ``[train_end, end)``. A degradation is *evaluable* when its
  failure lies in ``[train_end + lead target, end)`` (one failing sooner after training cannot
  be flagged a week ahead); an abrupt or sensor fault when its onset lies in the scored period.
  The others have ``evaluable`` False and are left out of the shares.
* A fault is *detected* when a detection on the same equipment overlaps
  ``[onset, clear + grace)`` (``clear``: failure for a degradation, else end; ``grace`` 1 day).
  Its detection time is ``max(onset, start)`` of the earliest such detection.
* Degradations: ``lead_days = (failure - detection time)``; the target share counts those
  detected at least ``lead_target_days`` (7) before failure (a detection after failure, while
  the equipment stays broken, counts as detected with a negative lead).
* Abrupt and sensor faults: ``delay_hours = detection time - onset``; target within 24 h.
* False detections: detections on an equipment that overlap none of its
  degradation/abrupt/sensor fault windows ``[onset, end + grace)``; per 10 equipment-months
  (equipment scored x scored days / 30.44 / 10). Those that coincide with a fault of another
  equipment of the same building are also counted apart (``false_with_fault_elsewhere``):
  often a consequence (a chiller stopped because its pump tripped).
* Diagnosis (:func:`names_the_fault`): whether the first matching detection points at the
  fault: for a sensor fault, its first named point is the faulty point; for the others, its top
  indicator is one that the fault moves first (:data:`FAULT_INDICATORS`, read off the
  simulator's fault catalogue). A detection that names a symptom shared with other faults
  (the supply air too warm, the flow per fan speed for a filter) does not count.
* Data-quality faults are not equipment faults: :func:`data_quality_hits` checks whether the
  quality flags of :mod:`bms.features.quality` (gaps, spikes) see them in the telemetry;
  duplicates and late rows only exist in the raw stream (``SimulationResult.raw()``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from bms.errors import BmsError
from bms.features.quality import gap_flags, spike_flags
from bms.telemetry.frame import as_utc

__all__ = [
    "DAYS_PER_MONTH",
    "FAULT_INDICATORS",
    "DetectionScore",
    "data_quality_hits",
    "match_faults",
    "names_the_fault",
    "score_detections",
]

DAYS_PER_MONTH = 30.44
#: How long after a fault clears a detection still belongs to it.
GRACE = pd.Timedelta(days=1)
LEAD_TARGET = pd.Timedelta(days=7)
EQUIPMENT_CATEGORIES = ("degradation", "abrupt", "sensor")

#: Fault type -> the indicators of :mod:`bms.models.equipment_indicators` that point a
#: technician at its cause (what :data:`bms.simulate.faults.CATALOGUE` says the fault moves).
#: A leaking heating valve shows as heat with both valves shut or the cooling valve fighting it,
#: not as the supply air too warm (any coil or plant fault does that); a worn belt as the power
#: or the flow per fan speed (a clogged filter has its own pressure-drop indicator).
FAULT_INDICATORS: dict[str, frozenset[str]] = {
    "filter_clogging": frozenset({"filter_clogging"}),
    "belt_wear": frozenset({"fan_power_per_speed3", "flow_per_speed"}),
    "bearing_wear": frozenset({"log_vibration", "vibration_iso", "bearing_temp"}),
    "hx_fouling": frozenset({"approach_vs_design", "approach_k"}),
    "refrigerant_leak": frozenset({"log_suction", "superheat", "cop_ratio"}),
    "stuck_oa_damper": frozenset({"mixed_air_residual_k"}),
    "leaking_heating_valve": frozenset({"coil_heat_valves_closed", "cooling_valve_vs_duty"}),
    "pump_trip": frozenset({"unexpected_stop"}),
}


@dataclass
class DetectionScore:
    """Summary of :func:`score_detections` (figures in the units of their names)."""

    faults: pd.DataFrame  #: one row per equipment fault with detected / lead_days / delay_hours
    false_detections: pd.DataFrame  #: detections matching no fault of their equipment
    equipment_months: float
    degradation_lead_share: float  #: share of evaluable degradations detected >= lead target
    abrupt_sensor_day_share: float  #: share of evaluable abrupt+sensor faults detected <= 24 h
    false_per_10_equipment_months: float
    by_fault: pd.DataFrame  #: per fault type: n, detected, median lead/delay, target share
    data_quality: pd.DataFrame = field(default_factory=pd.DataFrame)

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly headline figures."""
        evaluable = self.faults[self.faults["evaluable"]]
        return {
            "degradations": int((evaluable["category"] == "degradation").sum()),
            "degradation_lead_share": self.degradation_lead_share,
            "abrupt_sensor": int(evaluable["category"].isin(["abrupt", "sensor"]).sum()),
            "abrupt_sensor_day_share": self.abrupt_sensor_day_share,
            "false_detections": len(self.false_detections),
            "equipment_months": self.equipment_months,
            "false_per_10_equipment_months": self.false_per_10_equipment_months,
        }


def _check(detections: pd.DataFrame, ground_truth: pd.DataFrame) -> None:
    for name, frame, columns in (
        ("detections", detections, ("equipment", "start", "end")),
        ("ground_truth", ground_truth, ("equipment", "fault", "category", "onset", "failure")),
    ):
        missing = [c for c in columns if c not in frame.columns]
        if missing:
            raise BmsError(f"{name} lacks column(s) {', '.join(missing)}")


def match_faults(
    detections: pd.DataFrame,
    ground_truth: pd.DataFrame,
    train_end: pd.Timestamp,
    end: pd.Timestamp,
    grace: pd.Timedelta = GRACE,
    lead_target: pd.Timedelta = LEAD_TARGET,
) -> pd.DataFrame:
    """One row per degradation/abrupt/sensor fault with its matching.

    Returns
    -------
    DataFrame
        Ground-truth columns plus ``evaluable`` (bool), ``detected`` (bool),
        ``detected_at`` (UTC), ``lead_days`` (degradations), ``delay_hours`` (others) and,
        when the detections carry them, the earliest matching detection's ``top_points`` and
        ``top_indicators`` (empty tuples when undetected).
    """
    _check(detections, ground_truth)
    train_end, end = as_utc(train_end), as_utc(end)
    faults = ground_truth[ground_truth["category"].isin(EQUIPMENT_CATEGORIES)].copy()
    rows = []
    for fault in faults.itertuples(index=False):
        onset = fault.onset
        degradation = fault.category == "degradation"
        clear = fault.failure if degradation else getattr(fault, "end", pd.NaT)
        if pd.isna(clear):
            clear = end
        # a degradation failing sooner than lead_target after training cannot be on target
        first = train_end + lead_target if degradation else train_end
        key = fault.failure if degradation else onset
        evaluable = bool(first <= key < end)
        mine = detections[detections["equipment"] == fault.equipment]
        hits = mine[(mine["start"] < clear + grace) & (mine["end"] > onset)]
        detected_at = max(onset, hits["start"].min()) if len(hits) else pd.NaT
        earliest = hits.sort_values("start").iloc[0] if len(hits) else pd.Series(dtype=object)
        rows.append(
            {
                "evaluable": evaluable,
                "detected": bool(len(hits)),
                "detected_at": detected_at,
                "lead_days": (fault.failure - detected_at) / pd.Timedelta(days=1)
                if degradation and len(hits)
                else np.nan,
                "delay_hours": (detected_at - onset) / pd.Timedelta(hours=1)
                if not degradation and len(hits)
                else np.nan,
                "top_points": tuple(earliest.get("top_points", ())),
                "top_indicators": tuple(earliest.get("top_indicators", ())),
            }
        )
    columns = ["evaluable", "detected", "detected_at", "lead_days", "delay_hours"]
    columns += ["top_points", "top_indicators"]
    extra = pd.DataFrame(rows, index=faults.index, columns=columns)
    extra = extra.astype({"evaluable": bool, "detected": bool})
    return pd.concat([faults, extra], axis=1).reset_index(drop=True)


def names_the_fault(fault: pd.Series) -> bool:
    """Whether a row of :func:`match_faults` was first detected under the fault's own name.

    A sensor fault is named when the detection's first point is the faulty point (point ids
    compared by their last part, ``.../ahu-1/sat`` = ``sat``); another fault when the top
    indicator is one of :data:`FAULT_INDICATORS` for its type. Undetected: False.
    """
    if not fault["detected"]:
        return False
    if fault["category"] == "sensor":
        points = fault["top_points"]
        faulty = str(fault.get("point", "")).rsplit("/", 1)[-1]
        return bool(points) and str(points[0]).rsplit("/", 1)[-1] == faulty
    indicators = fault["top_indicators"]
    return bool(indicators) and indicators[0] in FAULT_INDICATORS.get(fault["fault"], ())


def _false_detections(
    detections: pd.DataFrame, ground_truth: pd.DataFrame, grace: pd.Timedelta
) -> pd.DataFrame:
    faults = ground_truth[ground_truth["category"].isin(EQUIPMENT_CATEGORIES)]
    stop = faults["end"].fillna(faults["failure"]) if "end" in faults else faults["failure"]
    stop = stop.fillna(pd.Timestamp.max.tz_localize("UTC"))
    false_rows, elsewhere = [], []
    for det in detections.itertuples(index=False):
        overlap = (faults["onset"] < det.end) & (stop + grace > det.start)
        if (overlap & (faults["equipment"] == det.equipment)).any():
            continue
        building = str(det.equipment).rsplit("/", 1)[0]
        same_building = faults["equipment"].str.rsplit("/", n=1).str[0] == building
        false_rows.append(det)
        elsewhere.append(bool((overlap & same_building).any()))
    frame = pd.DataFrame(false_rows, columns=detections.columns)
    frame["fault_elsewhere"] = elsewhere
    return frame


def score_detections(
    detections: pd.DataFrame,
    ground_truth: pd.DataFrame,
    train_end: pd.Timestamp,
    end: pd.Timestamp,
    n_equipment: int,
    *,
    lead_target_days: float = 7.0,
    delay_target_hours: float = 24.0,
    grace: pd.Timedelta = GRACE,
) -> DetectionScore:
    """Match detections to the ground truth and summarise (protocol in the module docstring).

    Parameters
    ----------
    detections : DataFrame
        ``equipment``, ``start``, ``end`` (UTC) per detection
        (:func:`bms.models.equipment_detection.detect_site_faults`).
    ground_truth : DataFrame
        ``SimulationResult.ground_truth`` (or ``ground_truth.csv`` read with UTC timestamps).
    train_end, end : Timestamp
        The scored period ``[train_end, end)``.
    n_equipment : int
        Equipment scored (the denominator of the false-detection rate), > 0.
    lead_target_days, delay_target_hours : float
        Targets [d], [h].
    grace : Timedelta
        How long after a fault clears a detection still belongs to it.

    Returns
    -------
    DetectionScore
    """
    if n_equipment <= 0:
        raise BmsError(f"n_equipment must be > 0, got {n_equipment}")
    train_end, end = as_utc(train_end), as_utc(end)
    faults = match_faults(
        detections, ground_truth, train_end, end, grace, pd.Timedelta(days=lead_target_days)
    )
    scored_days = (end - train_end) / pd.Timedelta(days=1)
    months = n_equipment * scored_days / DAYS_PER_MONTH
    in_period = detections[(detections["start"] >= train_end) & (detections["start"] < end)]
    false = _false_detections(in_period, ground_truth, grace)
    evaluable = faults[faults["evaluable"]]
    deg = evaluable[evaluable["category"] == "degradation"]
    other = evaluable[evaluable["category"] != "degradation"]
    lead_ok = deg["detected"] & (deg["lead_days"] >= lead_target_days)
    delay_ok = other["detected"] & (other["delay_hours"] <= delay_target_hours)
    faults["on_target"] = False
    faults.loc[lead_ok[lead_ok].index, "on_target"] = True
    faults.loc[delay_ok[delay_ok].index, "on_target"] = True
    by_fault = (
        faults[faults["evaluable"]]
        .groupby(["category", "fault"])
        .agg(
            n=("fault", "size"),
            detected=("detected", "sum"),
            on_target=("on_target", "sum"),
            median_lead_days=("lead_days", "median"),
            median_delay_hours=("delay_hours", "median"),
        )
        .reset_index()
    )
    return DetectionScore(
        faults=faults,
        false_detections=false,
        equipment_months=float(months),
        degradation_lead_share=float(lead_ok.mean()) if len(deg) else float("nan"),
        abrupt_sensor_day_share=float(delay_ok.mean()) if len(other) else float("nan"),
        false_per_10_equipment_months=float(10.0 * len(false) / months) if months else 0.0,
        by_fault=by_fault,
    )


def data_quality_hits(
    frames: dict[str, pd.DataFrame],
    ground_truth: pd.DataFrame,
    raw: pd.DataFrame | None = None,
    late_hours: float = 1.0,
) -> pd.DataFrame:
    """Whether each data-quality fault is seen by the quality flags.

    Parameters
    ----------
    frames : dict equipment id -> DataFrame
        Regular-step wide frames built from the *telemetry* (gaps are NaN, spikes present),
        e.g. :func:`bms.models.equipment_detection.equipment_frames`.
    ground_truth : DataFrame
    raw : DataFrame, optional
        The raw stream (``time``, ``point``, ``value``, ``received``): duplicates are repeated
        (point, time) rows, late rows arrive more than ``late_hours`` after their time.

    Returns
    -------
    DataFrame
        One row per data-quality fault: ``equipment``, ``fault``, ``onset``, ``flagged``
        (bool, NaN when not observable without ``raw``), ``how``.
    """
    rows = []
    faults = ground_truth[ground_truth["category"] == "data_quality"]
    for fault in faults.itertuples(index=False):
        flagged: float | bool = np.nan
        how = "not observable in canonical telemetry"
        frame = frames.get(fault.equipment)
        window = slice(fault.onset, fault.end)
        if fault.fault == "gap" and frame is not None:
            part = frame.loc[window]
            flagged = bool(any(gap_flags(part[c]).any() for c in part.columns))
            how = "gap flags"
        elif fault.fault == "spikes" and frame is not None:
            point = str(getattr(fault, "point", "")).rsplit("/", 1)[-1]
            column = frame.get(point, None)
            flagged = bool(column is not None and spike_flags(column).loc[window].any())
            how = "spike flags"
        elif raw is not None and fault.fault in ("duplicates", "late_data"):
            prefix = f"{fault.equipment}/"
            mine = raw[raw["point"].str.startswith(prefix)]
            mine = mine[(mine["time"] >= fault.onset) & (mine["time"] < fault.end)]
            if fault.fault == "duplicates":
                flagged = bool(mine.duplicated(["point", "time"]).any())
                how = "repeated (point, time) in the raw stream"
            else:
                late = (mine["received"] - mine["time"]) > pd.Timedelta(hours=late_hours)
                flagged = bool(late.any())
                how = f"received > {late_hours:g} h after its time"
        rows.append(
            {
                "equipment": fault.equipment,
                "fault": fault.fault,
                "onset": fault.onset,
                "flagged": flagged,
                "how": how,
            }
        )
    return pd.DataFrame(rows, columns=["equipment", "fault", "onset", "flagged", "how"])
