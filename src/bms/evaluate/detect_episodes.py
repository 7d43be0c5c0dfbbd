"""The anomalous episodes of a ``bms detect`` result: what to read before the rows.

OUT has one row per TEST row; a reader first wants the events. A run of anomalous rows is an
episode, and runs fewer than ``merge_rows`` rows apart are one (``bms detect`` passes the
detector's smoothing window: a dip shorter than the window is the same event seen through
noise), unless a gap in time lies between them (a new stretch of rows, where the detector
itself restarts: test days picked one in two are not one event). Each episode gives its first
and last anomalous row's time (as written in TEST), how many rows were anomalous, its peak
score, and the signal most often the top contributor over those rows (an AHU rule's point
where a rule flagged them).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

__all__ = ["EPISODE_COLUMNS", "anomaly_episodes"]

#: Columns of :func:`anomaly_episodes`' frame.
EPISODE_COLUMNS = ("start", "end", "anomalous_rows", "peak_score", "top_contributor")


def anomaly_episodes(
    out: pd.DataFrame, merge_rows: int, stretches: Sequence[tuple[int, int]] = ()
) -> pd.DataFrame:
    """Episodes of anomalous rows, in time order.

    Parameters
    ----------
    out : DataFrame
        ``bms detect`` output rows in TEST order: ``time``, ``score``, ``anomaly`` (0/1),
        ``top_contributor``.
    merge_rows : int
        Runs of anomalous rows separated by fewer unflagged rows than this are one episode.
    stretches : sequence of (start, stop), optional
        Row ranges of the contiguous stretches of TEST
        (:func:`bms.models.anomaly_pipeline.segment_bounds`); an episode never spans two.

    Returns
    -------
    DataFrame with columns :data:`EPISODE_COLUMNS`, one row per episode.
    """
    flagged = np.flatnonzero(out["anomaly"].to_numpy() == 1)
    if not flagged.size:
        return pd.DataFrame(columns=list(EPISODE_COLUMNS))
    # a new episode where the gap to the previous anomalous row is merge_rows rows or more, or
    # where that row lies in another stretch
    starts = np.array([start for start, _ in stretches], dtype=np.int64)
    stretch = np.searchsorted(starts, flagged, side="right")
    new = np.r_[True, (np.diff(flagged) > merge_rows) | (np.diff(stretch) != 0)]
    labels = np.cumsum(new) - 1
    rows = out.iloc[flagged].assign(_episode=labels)
    grouped = rows.groupby("_episode", sort=True)
    return pd.DataFrame(
        {
            "start": grouped["time"].first().to_numpy(),
            "end": grouped["time"].last().to_numpy(),
            "anomalous_rows": grouped.size().to_numpy(),
            "peak_score": grouped["score"].max().to_numpy(),
            "top_contributor": grouped["top_contributor"]
            .agg(lambda names: names.value_counts().index[0])
            .to_numpy(),
        }
    )
