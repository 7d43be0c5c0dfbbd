"""Data-quality defects: gaps, spikes, duplicates and late data.

Gaps and spikes change what the store holds, so they are applied while building the canonical
frame. Duplicates and late data cannot live in a canonical frame (it keeps one row per
(point, time)); they exist only in the *raw* frame (:func:`raw_frame`), the stream a connector
would receive, with a ``received`` column, and in the ground truth.

Spikes (like the drift, bias and stuck sensor faults of :mod:`bms.simulate.faults`) only make
sense on an **analogue** point: a 0/1 state (pump or fan status, an alarm) cannot read 13.7.
:func:`is_binary` tells them apart from the site model, :func:`spike_point` picks the point a
spikes episode hits among the analogue ones, and :func:`apply_gaps_and_spikes` never spikes a
binary series (gaps hit every point).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import numpy as np
import pandas as pd

from bms.simulate.context import rng_for
from bms.simulate.faults import Fault
from bms.site.model import Equipment, Point

SPIKE_SIGMAS = 10.0  #: spike height in standard deviations of the point's own series
#: Brick point classes that hold a 0/1 state whatever their unit.
_BINARY_KIND = re.compile(r"(Status|Alarm|On_Off_Command|Enable_Command|Occupancy_Sensor)$")


def is_binary(point: Point) -> bool:
    """True for a 0/1 state point: a status/alarm/on-off Brick class, or unit ``1`` with a
    plausible range inside [0, 1] (the site model writes states as unit ``1``, low 0, high 1)."""
    if _BINARY_KIND.search(point.kind):
        return True
    in_unit_range = (point.low is None or point.low >= 0) and (
        point.high is None or point.high <= 1
    )
    return point.unit == "1" and in_unit_range


def analogue_points(points: Iterable[Point]) -> list[str]:
    """Local names of the analogue (not :func:`is_binary`) points, in the given order."""
    return [p.name for p in points if not is_binary(p)]


def spike_point(equipment: Equipment, seed: int, onset: pd.Timestamp) -> str | None:
    """The point (local name) a spikes episode of ``equipment`` starting at ``onset`` hits.

    Drawn among the equipment's analogue points from the stream
    ``spikes/<equipment id>/<onset ns>``; None when the equipment has no analogue point.
    """
    names = analogue_points(equipment.points)
    if not names:
        return None
    rng = rng_for(seed, f"spikes/{equipment.id}/{onset.value}")
    return names[int(rng.integers(len(names)))]


def looks_binary(values: np.ndarray) -> bool:
    """True when every finite value of a series is 0 or 1 (a state, or an unused output)."""
    finite = values[np.isfinite(values)]
    return bool(np.isin(finite, (0.0, 1.0)).all())


def apply_gaps_and_spikes(
    values: np.ndarray,
    keep: np.ndarray,
    point: str,
    faults: list[Fault],
    t_ns: np.ndarray,
    seed: int,
    binary: bool | None = None,
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
    binary : bool, optional
        Whether the point is a 0/1 state (:func:`is_binary`); such a point gets gaps but never
        spikes. None: judged from the values (:func:`looks_binary`).
    """
    for fault in faults:
        if fault.point not in (None, point):
            continue
        active = fault.active(t_ns)
        if fault.fault == "gap":
            keep &= ~active
        elif fault.fault == "spikes" and active.any():
            if binary is None:
                binary = looks_binary(values)
            if binary:
                continue
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
