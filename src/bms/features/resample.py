"""From the canonical long telemetry frame to one wide, regular-step frame per equipment."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from bms.errors import SchemaError
from bms.features.numbers import as_numbers
from bms.site.model import Equipment

__all__ = ["EquipmentFrame", "equipment_frame", "parse_step", "regular_index", "utc_times"]


@dataclass(frozen=True)
class EquipmentFrame:
    """The resampled points of one equipment.

    Attributes
    ----------
    values : DataFrame of shape (n_steps, n_points)
        UTC DatetimeIndex on a regular ``step``, columns are local point names, float64; a step
        with no reading (beyond the forward-fill limit) is NaN.
    observed : DataFrame of bool, same shape
        True where at least one raw reading fell into the step (False: missing or filled).
    step : Timedelta
    """

    values: pd.DataFrame
    observed: pd.DataFrame
    step: pd.Timedelta


def parse_step(step: str | pd.Timedelta) -> pd.Timedelta:
    """``step`` as a positive Timedelta (``"5min"``, ``"1h"``), or a one-line SchemaError."""
    try:
        step_td = pd.Timedelta(step)
    except (ValueError, TypeError):
        step_td = None
    if step_td is None or pd.isna(step_td) or step_td <= pd.Timedelta(0):
        raise SchemaError(f"step must be a positive duration such as '5min', got {step!r}")
    return step_td


def utc_times(times: pd.Series) -> pd.DatetimeIndex:
    """The ``time`` column of canonical telemetry as a UTC index, or a one-line SchemaError:
    times without a zone are refused, not guessed (UTC, or the site's local clock?)."""
    if not isinstance(times.dtype, pd.DatetimeTZDtype):
        if not pd.api.types.is_datetime64_dtype(times):
            raise SchemaError(
                f"telemetry 'time' holds {times.dtype}, not times: frame['time'] = "
                "pd.to_datetime(frame['time'], utc=True)"
            )
        raise SchemaError(
            "telemetry 'time' holds times without a zone; canonical telemetry is in UTC: "
            "frame['time'] = frame['time'].dt.tz_localize('UTC') if they are UTC, or "
            ".dt.tz_localize(<the site's zone>).dt.tz_convert('UTC') if local"
        )
    return pd.DatetimeIndex(times).tz_convert("UTC")


def _numeric_values(rows: pd.DataFrame) -> pd.Series:
    """The ``value`` column as floats, or a one-line SchemaError naming a point and its value."""
    values, bad = as_numbers(rows["value"])
    if bad is not None:
        first = rows.iloc[bad]
        raise SchemaError(
            f"telemetry 'value' of point {first['point']!r} at {first['time']} is "
            f"{first['value']!r}, not a number"
        )
    return values


def regular_index(
    start: pd.Timestamp, end: pd.Timestamp, step: str | pd.Timedelta
) -> pd.DatetimeIndex:
    """A UTC index from ``start`` floored to ``step`` up to ``end`` (inclusive), every ``step``."""
    step_td = pd.Timedelta(step)
    first = pd.Timestamp(start).tz_convert("UTC").floor(step_td)
    last = pd.Timestamp(end).tz_convert("UTC").floor(step_td)
    return pd.date_range(first, last, freq=step_td, name="time").as_unit("ns")


def equipment_frame(
    frame: pd.DataFrame,
    equipment: Equipment | str,
    step: str | pd.Timedelta = "5min",
    start: pd.Timestamp | None = None,
    end: pd.Timestamp | None = None,
    fill_limit_steps: int = 2,
) -> EquipmentFrame:
    """Pivot the points of one equipment to a wide frame on a regular step.

    Readings are averaged within each step (labelled by its left edge); a step with no reading
    takes the previous value for at most ``fill_limit_steps`` steps (change-of-value reporting),
    then stays NaN.

    Parameters
    ----------
    frame : DataFrame
        Canonical long frame (``time``, ``point``, ``value``).
    equipment : Equipment or str
        The equipment or its id ``site/building/equipment``; points whose id starts with
        ``<id>/`` are taken, named by the last path element.
    step : str or Timedelta
        Regular step, e.g. ``"5min"``.
    start, end : Timestamp, optional
        Bounds of the index (UTC); default the first and last reading.
    fill_limit_steps : int
        Longest forward fill [steps].

    Raises
    ------
    SchemaError
        When the frame lacks the canonical columns, holds no point of the equipment, holds
        times without a zone (:func:`utc_times`) or a value that is not a number, or ``step``
        is no positive duration (:func:`parse_step`).
    """
    missing = {"time", "point", "value"} - set(frame.columns)
    if missing:
        raise SchemaError(f"telemetry frame lacks column(s) {', '.join(sorted(missing))}")
    eq_id = equipment if isinstance(equipment, str) else equipment.id
    prefix = eq_id.rstrip("/") + "/"
    wanted = [p for p in pd.unique(frame["point"]) if str(p).startswith(prefix)]
    rows = frame[frame["point"].isin(wanted)]
    if rows.empty:
        raise SchemaError(f"telemetry holds no point of equipment {eq_id!r}")
    step_td = parse_step(step)
    times = utc_times(rows["time"])
    index = regular_index(
        times.min() if start is None else start, times.max() if end is None else end, step_td
    )
    local = rows["point"].astype(str).str.slice(len(prefix))
    binned = pd.DataFrame(
        {"time": times.floor(step_td), "point": local.to_numpy(), "value": _numeric_values(rows)}
    )
    means = binned.pivot_table(index="time", columns="point", values="value", aggfunc="mean")
    means.columns.name = None
    means = means.reindex(index)
    observed = means.notna()
    values = means.ffill(limit=fill_limit_steps) if fill_limit_steps > 0 else means
    return EquipmentFrame(values.astype("float64"), observed, step_td)
