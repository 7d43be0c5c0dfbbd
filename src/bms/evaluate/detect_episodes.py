"""The anomalous episodes of a ``bms detect`` result: what to read before the rows.

OUT has one row per TEST row; a reader first wants the events. A run of anomalous rows is an
episode, and runs fewer than ``merge_rows`` rows apart are one (``bms detect`` passes the
detector's smoothing window: a dip shorter than the window is the same event seen through
noise), unless a gap in time lies between them (a new stretch of rows, where the detector
itself restarts: test days picked one in two are not one event). Each episode gives its first
and last anomalous row's time (as written in TEST), how many rows were anomalous, its peak
score, the signal most often the top contributor over those rows (an AHU rule's point where a
rule flagged them), the signals that carry most of its anomaly (mean contribution shares over
its rows, the largest first, down to :data:`MIN_SIGNAL_SHARE`), and the AHU rules in fault in
it (most rows first, a rule that states a mere consequence last): what a reader needs to start
a diagnosis.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from numpy.typing import NDArray

__all__ = ["EPISODE_COLUMNS", "alarm_days", "anomaly_episodes"]

#: Columns of :func:`anomaly_episodes`' frame.
EPISODE_COLUMNS = (
    "start",
    "end",
    "anomalous_rows",
    "peak_score",
    "top_contributor",
    "signals",
    "rules",
)
#: Signals listed for an episode carry at least this mean share of its anomaly (at most
#: :data:`MAX_SIGNALS` of them).
MIN_SIGNAL_SHARE = 0.1
MAX_SIGNALS = 3


def _main_signals(mean_shares: pd.DataFrame) -> list[str]:
    """Per episode (row), ``flow 62 %, pressure 21 %``: the signals with the largest mean
    share, at least :data:`MIN_SIGNAL_SHARE`, at most :data:`MAX_SIGNALS` (NaN: no row to
    share; none: ``""``)."""
    values = mean_shares.to_numpy(dtype=np.float64)
    names = mean_shares.columns.to_numpy()
    largest = np.argsort(-np.nan_to_num(values, nan=-1.0), axis=1)[:, :MAX_SIGNALS]
    return [
        ", ".join(
            f"{names[j]} {100 * values[i, j]:.0f} %"
            for j in columns
            if values[i, j] >= MIN_SIGNAL_SHARE
        )
        for i, columns in enumerate(largest)
    ]


def _ranked(episode: NDArray[np.int64], names: NDArray[np.object_]) -> pd.DataFrame:
    """``episode, name`` pairs, each once, ordered by episode then by how many of the
    episode's rows hold the name, the most first (the first met, on a tie)."""
    pairs = pd.DataFrame({"episode": episode, "name": names})
    counts = pairs.groupby(["episode", "name"], sort=False).size().reset_index(name="n")
    return counts.sort_values(["episode", "n"], ascending=[True, False], kind="stable")


def _most_frequent(episode: pd.Series, names: pd.Series) -> NDArray[np.object_]:
    """Per episode (in order), the name that occurs most often among its rows."""
    ranked = _ranked(episode.to_numpy(), names.to_numpy())
    return ranked.drop_duplicates("episode")["name"].to_numpy()


def _rules_in_fault(
    episode: pd.Series, codes: pd.Series, n_episodes: int, symptoms: frozenset[str]
) -> list[str]:
    """Per episode, ``FC7, FC5``: the rules in fault over its rows (``codes``: comma-separated
    per row), the most rows first, ``symptoms`` after the others; ``""`` where none."""
    listed = pd.DataFrame({"episode": episode.to_numpy(), "rule": codes.to_numpy()}).dropna()
    listed = listed.assign(rule=listed["rule"].astype(str).str.split(",")).explode("rule")
    listed["rule"] = listed["rule"].str.strip()
    listed = listed[listed["rule"] != ""]
    ranked = _ranked(listed["episode"].to_numpy(), listed["rule"].to_numpy())
    code = ranked["name"].str.split().str[-1]  # "AHU-2 FC7": a unit's rule
    ranked = ranked.assign(symptom=code.isin(symptoms)).sort_values(
        ["episode", "symptom"], kind="stable"
    )
    joined = ranked.groupby("episode", sort=True)["name"].agg(", ".join)
    return joined.reindex(range(n_episodes), fill_value="").tolist()


def anomaly_episodes(
    out: pd.DataFrame,
    merge_rows: int,
    stretches: Sequence[tuple[int, int]] = (),
    shares: pd.DataFrame | None = None,
    symptom_rules: frozenset[str] = frozenset(),
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
    shares : DataFrame or None
        Per row of ``out`` (same order), each signal's share of the anomaly (columns named
        by signal; NaN on rows with none to share, such as rows only a rule flagged); None:
        ``signals`` is empty. ``out``'s ``rule`` column, if any, gives ``rules``.
    symptom_rules : frozenset of str
        Rule codes listed after the others in ``rules`` (a consequence many faults share).

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
    n_episodes = len(grouped)
    signals = [""] * n_episodes
    if shares is not None:
        means = shares.iloc[flagged].set_axis(labels).groupby(level=0, sort=True).mean()
        signals = _main_signals(means)
    rules = [""] * n_episodes
    if "rule" in out.columns:
        rules = _rules_in_fault(rows["_episode"], rows["rule"], n_episodes, symptom_rules)
    return pd.DataFrame(
        {
            "start": grouped["time"].first().to_numpy(),
            "end": grouped["time"].last().to_numpy(),
            "anomalous_rows": grouped.size().to_numpy(),
            "peak_score": grouped["score"].max().to_numpy(),
            "top_contributor": _most_frequent(rows["_episode"], rows["top_contributor"]),
            "signals": signals,
            "rules": rules,
        }
    )


def alarm_days(
    flags: NDArray[np.bool_],
    days: NDArray[np.object_],
    stretches: Sequence[tuple[int, int]],
    min_rows: int,
) -> list[str]:
    """The days holding part of an alarm: ``min_rows`` flagged rows in a row or more.

    Parameters
    ----------
    flags : bool array of shape (n_rows,)
        OUT's flags, rows in time order.
    days : array of shape (n_rows,)
        Each row's day (``2026-03-01``), in the same order.
    stretches : sequence of (start, stop)
        Contiguous stretches of rows: a gap in time ends a run of flags.
    min_rows : int
        Shortest run that counts (``bms detect`` passes the smoothing window: a shorter run is
        a flicker, not an alarm a reader acts on).

    Returns
    -------
    list of str
        The days, each once, in time order.
    """
    in_alarm = np.zeros(len(flags), dtype=bool)
    for start, stop in stretches or [(0, len(flags))]:
        padded = np.concatenate([[False], flags[start:stop], [False]])
        edges = np.flatnonzero(np.diff(padded.astype(np.int8)))
        for begin, end in zip(edges[::2], edges[1::2], strict=True):
            if end - begin >= min_rows:
                in_alarm[start + begin : start + end] = True
    return list(dict.fromkeys(days[in_alarm].tolist()))
