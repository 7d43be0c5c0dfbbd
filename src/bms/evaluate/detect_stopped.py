"""``bms detect`` on an air-handling unit: an alarm raised while the fan ran holds while it stops.

A stuck damper or a leaking valve shows while air moves through the unit; once the supply fan
stops, its rows cannot show it, and the learned detector (whose stopped rows are judged
against TRAIN's stopped rows) lets the alarm fall every evening and raises it again every
morning. A fault does not clear because the fan stopped: the site detectors already hold a
flag through steps they cannot judge (:mod:`bms.models.detection_episodes`). So, when the
columns name an AHU with a fan status or speed (:func:`bms.features.role_names.guess_ahu_roles`,
as for the AHU rules), the rows where the fan is stopped keep an alarm that had lasted a
smoothing window when it stopped, until the fan runs again or the rows stop (a gap in time).

Measured on LBNL MZVAV-2-2 (``benchmarks/bench_detect_cli_lbnl.py``): faults imposed for whole
days are flagged on their running hours only (46-69 % of some days' rows); held, row F1 0.881
-> 0.948 at the same FAR.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from bms.evaluate.detect_rules import names_an_ahu
from bms.features.role_names import ahu_role_frame, guess_ahu_roles
from bms.features.states import fan_on
from bms.models.anomaly_pipeline import DEFAULT_WINDOW_ROWS, segment_bounds

__all__ = ["fan_running", "held_flags", "held_while_stopped"]


def fan_running(x_train: pd.DataFrame, x_test: pd.DataFrame) -> NDArray[np.bool_] | None:
    """Per TEST row, whether the AHU's supply fan runs; None when the columns name no AHU with
    a fan status or speed (units decided on TRAIN, as the rules decide them). A row whose fan
    readings are missing counts as running: the detector judges it, and a status point offline
    holds no alarm."""
    roles = guess_ahu_roles(x_train.columns)
    if not names_an_ahu(roles):
        return None
    fan = {"fan_status", "fan_speed"} & roles.keys()
    test, _ = ahu_role_frame(x_test, roles, reference=x_train)
    running = fan_on(test)
    if running is None:
        return None
    unknown = test[sorted(fan)].isna().all(axis=1)
    return (running | unknown).to_numpy(dtype=bool)


def held_while_stopped(
    flags: NDArray[np.bool_],
    running: NDArray[np.bool_],
    bounds: Sequence[tuple[int, int]],
    min_rows: int,
) -> NDArray[np.intp]:
    """For each row, the row whose alarm it holds, else -1.

    Parameters
    ----------
    flags : bool array of shape (n_rows,)
        The rows flagged, in time order.
    running : bool array of shape (n_rows,)
        Whether the fan runs on each row.
    bounds : sequence of (start, stop)
        Contiguous stretches of rows (:func:`bms.models.anomaly_pipeline.segment_bounds`): an
        alarm is not held across a gap in time.
    min_rows : int
        Rows an alarm must have lasted on the last running row to hold (a smoothing window:
        a flicker at the stop does not hold for a night).

    Returns
    -------
    int array of shape (n_rows,)
        For an unflagged row where the fan is stopped, the last running row of its stretch if
        that row's alarm had lasted ``min_rows``; -1 elsewhere.
    """
    held = np.full(len(flags), -1, dtype=np.intp)
    for start, stop in bounds:
        on, flagged = running[start:stop], flags[start:stop]
        rows = np.arange(stop - start)
        # alarm length on each running row, counted over the running rows only
        on_rows = np.flatnonzero(on)
        on_flags = flagged[on_rows]
        breaks = np.maximum.accumulate(np.where(on_flags, -1, np.arange(len(on_rows))))
        lasted = np.arange(len(on_rows)) - breaks
        holds = np.zeros(len(rows), dtype=bool)
        holds[on_rows] = on_flags & (lasted >= min_rows)
        last_on = np.maximum.accumulate(np.where(on, rows, -1))
        stopped = ~on & ~flagged & (last_on >= 0)
        stopped[stopped] = holds[last_on[stopped]]
        held[start:stop][stopped] = start + last_on[stopped]
    return held


def held_flags(
    flags: NDArray[np.bool_],
    x_train: pd.DataFrame,
    x_test: pd.DataFrame,
    window_rows: int = DEFAULT_WINDOW_ROWS,
) -> NDArray[np.bool_]:
    """``flags`` of ``x_test``'s rows (indexed by time, in time order) with the alarms held
    while the fan is stopped, as ``bms detect`` outputs them; unchanged when the columns name
    no AHU with a fan."""
    running = fan_running(x_train, x_test)
    if running is None:
        return flags
    bounds = segment_bounds(x_test.index, window_rows)
    return flags | (held_while_stopped(flags, running, bounds, window_rows) >= 0)
