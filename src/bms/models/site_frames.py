"""Wide per-equipment frames from canonical telemetry, and their cleaning before detection.

:func:`equipment_frames` turns the long telemetry (``time, point, value``) into one regular-step
frame per equipment whose columns are local point names; :func:`clean_frame` blanks values that
cannot be trusted (out of the point's range, one-step spikes) so the health indicators of
:mod:`bms.models.equipment_indicators` do not see them; :func:`frames_of` accepts the sources
:func:`bms.models.equipment_detection.run_site_detection` takes; :func:`indicator_frames` goes on
to each equipment's health-indicator frame (what its detector is fitted on and scores).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from bms.errors import BmsError
from bms.features.quality import out_of_range_flags, spike_flags
from bms.models.equipment_indicators import IndicatorSpec, build_context, indicator_frame
from bms.site.model import Equipment, Site

__all__ = ["clean_frame", "equipment_frames", "frames_of", "indicator_frames"]


def equipment_frames(
    telemetry: pd.DataFrame, site: Site, step: str | pd.Timedelta = "5min"
) -> dict[str, pd.DataFrame]:
    """One wide, regular-step frame per equipment from canonical telemetry (one pass).

    Readings are averaged per step (left-labelled); steps without a reading are NaN (no fill:
    a gap is a gap). Columns are local point names, index a UTC DatetimeIndex from the first to
    the last reading of the site.
    """
    missing = {"time", "point", "value"} - set(telemetry.columns)
    if missing:
        raise BmsError(f"telemetry frame lacks column(s) {', '.join(sorted(missing))}")
    if telemetry.empty:
        raise BmsError("telemetry frame is empty")
    step_td = pd.Timedelta(step)
    times = pd.DatetimeIndex(telemetry["time"]).floor(step_td)
    first, last = times.min(), times.max()
    n_steps = int((last - first) / step_td) + 1
    row = ((times - first) // step_td).to_numpy(dtype=np.int64)
    codes, points = pd.factorize(telemetry["point"], sort=True)
    flat = row * len(points) + codes
    size = n_steps * len(points)
    values = telemetry["value"].to_numpy(dtype=float)
    sums = np.bincount(flat, weights=values, minlength=size)
    counts = np.bincount(flat, minlength=size)
    with np.errstate(invalid="ignore", divide="ignore"):
        grid = (sums / counts).reshape(n_steps, len(points))
    index = pd.date_range(first, periods=n_steps, freq=step_td, name="time")
    column_of = {str(p): j for j, p in enumerate(points)}
    frames = {}
    for eq in site.all_equipment():
        cols = [(pt.name, column_of[pt.id]) for pt in eq.points if pt.id in column_of]
        if cols:
            frames[eq.id] = pd.DataFrame(
                grid[:, [j for _, j in cols]], index=index, columns=[n for n, _ in cols]
            )
    return frames


def clean_frame(x: pd.DataFrame, eq: Equipment) -> pd.DataFrame:
    """Blank out-of-range values (``Point.low/high``) and one-step spikes of measured points."""
    x = x.copy()
    for point in eq.points:
        if point.name not in x:
            continue
        series = x[point.name]
        bad = out_of_range_flags(series, point.low, point.high)
        if point.kind.endswith("Sensor"):
            bad |= spike_flags(series)
        if bad.any():
            x[point.name] = series.mask(bad)
    return x


def frames_of(
    source: Any, site: Site, step: str | pd.Timedelta = "5min"
) -> dict[str, pd.DataFrame]:
    """Wide frames per equipment from a SimulationResult, a telemetry frame or a mapping.

    A mapping is taken as equipment id -> wide frame; its columns starting with ``_`` (the
    simulator's hidden truth) are dropped.
    """
    if isinstance(source, pd.DataFrame):
        return equipment_frames(source, site, step)
    if isinstance(source, Mapping):
        return {
            str(k): v[[c for c in v.columns if not str(c).startswith("_")]]
            for k, v in source.items()
        }
    telemetry = getattr(source, "telemetry", None)
    if isinstance(telemetry, pd.DataFrame):
        return equipment_frames(telemetry, site, step)
    raise BmsError(
        "source must be a SimulationResult, a telemetry frame or a mapping of wide frames"
    )


def indicator_frames(
    source: Any, site: Site, step: str | pd.Timedelta = "5min"
) -> dict[str, tuple[pd.DataFrame, list[IndicatorSpec]]]:
    """Equipment id -> (indicator frame, its indicators), for equipment with any indicator.

    ``source`` is what :func:`frames_of` accepts. Zones are compared with their peers and AHUs
    with the weather station, so the frames are built for the whole site at once.
    """
    frames = frames_of(source, site, step)
    equipment = [eq for eq in site.all_equipment() if eq.id in frames]
    cleaned = {eq.id: clean_frame(frames[eq.id], eq) for eq in equipment}
    context = build_context(cleaned, equipment)
    out = {}
    for eq in equipment:
        frame, specs = indicator_frame(cleaned[eq.id], eq, context)
        if specs:
            out[eq.id] = (frame, specs)
    return out
