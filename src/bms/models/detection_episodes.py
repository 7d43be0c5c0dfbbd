"""Detections (episodes) of one equipment from its row scores: persistence, merging, evidence.

A flag holds through steps with no score (a fault seen on Friday evening is still there on Monday
morning), runs closer than ``merge_gap_hours`` are merged, and an episode needs
``min_episode_steps`` flagged, scored steps (settings in
:class:`bms.models.equipment_detection.DetectionParams`).

Its evidence lists the indicators by their summed excess over its flagged steps, except that a
*symptom* (a control loop missing its set point: supply air, secondary supply, chilled water)
comes after the indicators of a cause past their threshold on ``min_episode_steps`` of those
steps (enough for a detection of their own). A leaking heating valve keeps the supply air off
its set point, with more excess than the heat it gives with both valves shut, yet the valve is
what the technician should look at first.
"""

from __future__ import annotations

from typing import Any, Protocol

import numpy as np
import pandas as pd

from bms.models.detection_params import DetectionParams

__all__ = ["DETECTION_COLUMNS", "episodes"]

#: Columns of the detections frame.
DETECTION_COLUMNS = ("equipment", "start", "end", "peak_score", "top_points", "top_indicators")


class _HasPoints(Protocol):
    def points_of(self, indicator: str) -> tuple[str, ...]: ...

    def is_symptom(self, indicator: str) -> bool: ...


def episodes(
    scores: pd.DataFrame,
    excess: pd.DataFrame,
    detector: _HasPoints,
    equipment_id: str,
    params: DetectionParams | None = None,
) -> pd.DataFrame:
    """Detections of one equipment from its row scores.

    Parameters
    ----------
    scores : DataFrame
        :meth:`~bms.models.equipment_detection.EquipmentDetector.score` output (regular UTC index).
    excess : DataFrame
        :meth:`~bms.models.equipment_detection.EquipmentDetector.excess` on the same rows
        (for the contributing points).
    detector : EquipmentDetector
        Anything with ``points_of(indicator)`` (the local points behind an indicator) and
        ``is_symptom(indicator)``.
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
        found = np.where(np.isfinite(values[hits]), values[hits], 0.0)
        indicators = _evidence_order(excess.columns, found, detector, p.min_episode_steps)
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


def _evidence_order(
    names: pd.Index, found: np.ndarray, detector: _HasPoints, min_steps: int
) -> list[str]:
    """Indicators with some excess on an episode's flagged steps (``found``: steps x indicators,
    threshold units) by summed excess, except that the causes past their threshold on at least
    ``min_steps`` of them (enough for a detection of their own) come first when a symptom
    is among the indicators."""
    weight = found.sum(axis=0)
    order = [int(j) for j in np.argsort(-weight, kind="stable") if weight[j] > 0]
    if not any(detector.is_symptom(names[j]) for j in order):
        return [str(names[j]) for j in order]
    in_fault = {
        j
        for j in order
        if not detector.is_symptom(names[j]) and (found[:, j] >= 1.0).sum() >= min_steps
    }
    order.sort(key=lambda j: j not in in_fault)  # stable: by weight within each group
    return [str(names[j]) for j in order]
