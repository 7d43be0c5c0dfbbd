"""Early warning on C-MAPSS: `bms detect`'s detector on each engine's run to failure.

Held-out real-world-style data for the anomaly detector (it was developed on SKAB and LBNL,
never on these files): NASA's simulated turbofans run from an unknown initial wear until a
fault (a compressor's, and in FD003 a fan's too) makes them fail at their last cycle. There
are no point labels, only the failure, so the protocol asks what a maintenance team asks of
a warning, engine by engine:

* train on the engine's first ``train_cycles`` cycles (default :data:`TRAIN_CYCLES`, the
  fewest rows ``bms detect`` trains on: a new engine's first flights), every column but
  ``unit`` and ``cycle`` a feature, as ``bms detect --ignore unit --time-column cycle`` would
  take them;
* score every later cycle up to the failure;
* report the first alarm and the alarm still on at the failure ("held": an alarm that comes and
  goes is not one a team acts on), each as the cycles left before the failure, the alarms on
  healthy cycles (more than :data:`HEALTHY_RUL` cycles before failure: the knee of the
  piecewise-linear RUL most C-MAPSS papers use, before which an engine counts as healthy), and
  the share of the last :data:`FINAL_CYCLES` cycles flagged.

Fleet figures: the share of engines with an alarm held at their failure, the median and 10th
percentile of the held alarm's lead [cycles], the share of healthy cycles flagged (pooled) and
the share of engines with any false alarm.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from bms.evaluate.cmapss import read_cmapss
from bms.evaluate.default_detector import Predictor, default_predictor
from bms.evaluate.detection_metrics import held_alarm_start

__all__ = [
    "FINAL_CYCLES",
    "HEALTHY_RUL",
    "TRAIN_CYCLES",
    "engine_warning",
    "evaluate_cmapss_warning",
    "fleet_figures",
    "fleet_warning",
]

#: Cycles of each engine that train its detector: the fewest rows ``bms detect`` accepts.
TRAIN_CYCLES = 50
#: Cycles before failure beyond which an engine counts as healthy (the usual RUL knee).
HEALTHY_RUL = 125
#: The last cycles before failure whose flagged share is reported.
FINAL_CYCLES = 20


def engine_warning(cycles_left: NDArray[np.int64], flags: NDArray[np.int64]) -> dict[str, Any]:
    """The protocol's figures for one engine's test cycles.

    Parameters
    ----------
    cycles_left : ndarray of shape (n_test,)
        Cycles before failure of each test cycle (0 at the last, failing, cycle).
    flags : ndarray of shape (n_test,)
        0/1 alarm per test cycle.

    Returns
    -------
    dict
        ``first_alarm_rul`` and ``held_rul`` [cycles before failure; None: no alarm, or none
        on at the failure], ``healthy_cycles``, ``false_alarms`` (flagged healthy cycles),
        ``final_flagged`` [share of the last :data:`FINAL_CYCLES` cycles].
    """
    flags = np.asarray(flags, dtype=np.int64)
    cycles_left = np.asarray(cycles_left, dtype=np.int64)
    if len(flags) != len(cycles_left):
        raise ValueError(f"{len(flags)} flags for {len(cycles_left)} test cycles")
    flagged = np.flatnonzero(flags == 1)
    held_row = held_alarm_start(flags)
    held = None if held_row is None else int(cycles_left[held_row])
    healthy = cycles_left > HEALTHY_RUL
    final = cycles_left < FINAL_CYCLES
    return {
        "first_alarm_rul": int(cycles_left[flagged[0]]) if len(flagged) else None,
        "held_rul": held,
        "healthy_cycles": int(healthy.sum()),
        "false_alarms": int(flags[healthy].sum()),
        "final_flagged": float(flags[final].mean()) if final.any() else None,
    }


def fleet_figures(engines: pd.DataFrame) -> dict[str, Any]:
    """Fleet summary of :func:`engine_warning` rows (one per engine)."""
    held = engines["held_rul"].dropna().to_numpy(dtype=np.float64)
    healthy = int(engines["healthy_cycles"].sum())
    with_healthy = engines["healthy_cycles"] > 0
    return {
        "n_engines": len(engines),
        "held_at_failure": round(100.0 * len(held) / len(engines), 1) if len(engines) else None,
        "held_rul_median": float(np.median(held)) if len(held) else None,
        "held_rul_p10": float(np.percentile(held, 10)) if len(held) else None,
        "first_alarm_rul_median": float(engines["first_alarm_rul"].dropna().median()),
        "healthy_cycles": healthy,
        "far": round(100.0 * engines["false_alarms"].sum() / healthy, 2) if healthy else None,
        "engines_with_false_alarm": int((engines.loc[with_healthy, "false_alarms"] > 0).sum()),
        "engines_with_healthy_cycles": int(with_healthy.sum()),
        "final_flagged": round(100.0 * float(engines["final_flagged"].mean()), 1),
    }


def evaluate_cmapss_warning(
    path: Path | str,
    *,
    predictor: Predictor = default_predictor,
    train_cycles: int = TRAIN_CYCLES,
    limit: int | None = None,
) -> tuple[dict[str, Any], pd.DataFrame]:
    """Run the protocol of the module docstring on one training file (``train_FD00x.txt``;
    ``limit``: its first engines only, for quick checks).

    Returns
    -------
    (dict, DataFrame)
        :func:`fleet_figures`, and the per-engine figures (index ``unit``).
    """
    return fleet_warning(
        read_cmapss(path), predictor=predictor, train_cycles=train_cycles, limit=limit
    )


def fleet_warning(
    frame: pd.DataFrame,
    *,
    predictor: Predictor = default_predictor,
    train_cycles: int = TRAIN_CYCLES,
    limit: int | None = None,
) -> tuple[dict[str, Any], pd.DataFrame]:
    """:func:`evaluate_cmapss_warning` on a frame already read (``unit``, ``cycle`` and the
    features): a file made multi-condition by :func:`bms.evaluate.cmapss.add_operating_regimes`,
    say."""
    features = [c for c in frame.columns if c not in ("unit", "cycle")]
    rows = {}
    units = sorted(frame["unit"].unique())[:limit]
    for unit, engine in frame[frame["unit"].isin(units)].groupby("unit", sort=True):
        engine = engine.sort_values("cycle")
        cycles_left = (engine["cycle"].max() - engine["cycle"]).to_numpy()
        train, test = engine.iloc[:train_cycles], engine.iloc[train_cycles:]
        flags = predictor(train[features], test[features])
        rows[unit] = engine_warning(cycles_left[train_cycles:], flags)
    engines = pd.DataFrame.from_dict(rows, orient="index").rename_axis("unit")
    return fleet_figures(engines), engines
