"""Detections (episodes) of one equipment from its row scores: persistence, merging, evidence.

A flag holds through steps with no score (a fault seen on Friday evening is still there on Monday
morning), runs closer than ``merge_gap_hours`` are merged, and an episode needs
``min_episode_steps`` flagged, scored steps (settings in
:class:`bms.models.equipment_detection.DetectionParams`).
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
        Anything with ``points_of(indicator)`` (the local points behind an indicator).
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
