"""Data-quality defects: gaps, spikes, duplicates and late data.

Gaps and spikes change what the store holds, so they are applied while building the canonical
frame. Duplicates and late data cannot live in a canonical frame (it keeps one row per
(point, time)); they exist only in the *raw* frame (:func:`raw_frame`), the stream a connector
would receive, with a ``received`` column, and in the ground truth.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from bms.simulate.context import rng_for
from bms.simulate.faults import Fault

SPIKE_SIGMAS = 10.0  #: spike height in standard deviations of the point's own series


def apply_gaps_and_spikes(
    values: np.ndarray,
    keep: np.ndarray,
    point: str,
    faults: list[Fault],
    t_ns: np.ndarray,
    seed: int,
) -> None:
    """Apply the gap and spike faults of one point in place.

    Parameters
    ----------
    values : array of shape (n_steps,)
        The point's measured values (modified: spikes).
    keep : bool array of shape (n_steps,)
        Which rows reach the store (modified: gaps).
    point : str
        Local point name; faults with ``point`` None apply to every point of the equipment.
    """
    for fault in faults:
        if fault.point not in (None, point):
            continue
        active = fault.active(t_ns)
        if fault.fault == "gap":
            keep &= ~active
        elif fault.fault == "spikes" and active.any():
            rng = rng_for(seed, f"spikes/{fault.equipment}/{point}/{fault.onset.value}")
            rows = np.flatnonzero(active)
            days = len(rows) * (t_ns[1] - t_ns[0]) / 86400e9 if len(t_ns) > 1 else 1.0
            count = min(len(rows), max(3, round(float(fault.magnitude * days))))
            chosen = rng.choice(rows, size=count, replace=False)
            scale = max(float(np.std(values)), 0.05 * abs(float(np.mean(values))), 1e-3)
            signs = np.where(rng.random(count) < 0.5, -1.0, 1.0)
            values[chosen] += signs * SPIKE_SIGMAS * scale * rng.uniform(1.0, 2.0, count)


def raw_frame(
    telemetry: pd.DataFrame, faults: list[Fault], equipment_of: dict[str, str], seed: int
) -> pd.DataFrame:
    """The raw stream behind a canonical frame: duplicates and late rows, in arrival order.

    Parameters
    ----------
    telemetry : canonical frame (``time``, ``point``, ``value``)
    faults : the run's faults (only ``duplicates`` and ``late_data`` are used)
    equipment_of : point id -> equipment local name

    Returns
    -------
    DataFrame with columns ``time``, ``point``, ``value``, ``received`` (UTC), sorted by
    ``received``: rows normally arrive 1-30 s after their time; rows of a ``late_data`` episode
    ``magnitude`` hours after; rows of a ``duplicates`` episode are sent twice (60 s apart).
    """
    rng = rng_for(seed, "raw-frame")
    t = pd.DatetimeIndex(telemetry["time"]).as_unit("ns").asi8
    points = pd.Categorical(telemetry["point"])
    owners = np.array([equipment_of.get(p, "") for p in points.categories], dtype=object)
    equipment = owners[points.codes]
    delay = rng.uniform(1e9, 30e9, len(telemetry)).astype(np.int64)
    duplicate = np.zeros(len(telemetry), dtype=bool)
    for fault in faults:
        if fault.fault not in ("late_data", "duplicates"):
            continue
        rows = (equipment == fault.equipment) & fault.active(t)
        if fault.fault == "late_data":
            delay = np.where(rows, int(fault.magnitude * 3600e9), delay)
        else:
            duplicate |= rows
    index = np.concatenate([np.arange(len(t)), np.flatnonzero(duplicate)])
    received = np.concatenate([t + delay, (t + delay)[duplicate] + 60_000_000_000])
    order = np.lexsort((points.codes[index], received))
    index, received = index[order], received[order]
    return pd.DataFrame(
        {
            "time": pd.DatetimeIndex(t[index].astype("datetime64[ns]")).tz_localize("UTC"),
            "point": pd.Series(telemetry["point"].to_numpy()[index], dtype=object),
            "value": telemetry["value"].to_numpy()[index],
            "received": pd.DatetimeIndex(received.astype("datetime64[ns]")).tz_localize("UTC"),
        }
    )
