"""Degradation indicators per equipment kind: daily series and their failure limits.

Each wear mode the site can suffer has one physical indicator, computed only from measured
points (never from the simulator's hidden ``_`` columns), that rises monotonically as the
equipment wears and reaches a known limit at functional failure:

=================  ===================  ==================================  ========  =========
kind               indicator            definition                          baseline  limit
=================  ===================  ==================================  ========  =========
AHU                ``filter_dp_at_      filter_dp (Q_design / Q)^2 [Pa]     clean dp  final dp
                   design_flow_pa``     (``bms.features.physics``)          (120)     (450)
AHU                ``belt_slip``        1 - sqrt(P / (P_design n^3)) [-]:   0.02      0.25
                                        fan affinity law, n = speed / 100
Pump               ``vibration_mm_s``   RMS velocity while running [mm/s]   own       ISO 10816
                                                                            healthy   zone C/D
Heat_Exchanger     ``fouling_ratio``    approach / clean approach at the    1         4
                                        same load [-] (clean: lower
                                        envelope of the history)
Chiller            ``superheat_k``      suction superheat while running [K] 5         20
=================  ===================  ==================================  ========  =========

Limits come from the equipment's ``parameters`` when given (``filter_clean_dp_pa``,
``filter_final_dp_pa``, ``belt_slip_limit``, ``vibration_class``, ``fouling_ratio_limit``,
``superheat_trip_k``) and fall back to the values above, which are the failure definitions of
the Besançon simulator (``docs/simulator.md``); see ``docs/site_rul.md`` for why each.

Daily aggregation: the median of the running samples of each UTC day (at least
``min_samples`` of them), stamped at the mean time of those samples, so a day of partial data
(the "as of" day) is placed where its data lie.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from bms.errors import SchemaError
from bms.features import physics as ph
from bms.features.roles import ROLE_MAPS, apply_role_map, role_map_for
from bms.models.health import ISO_10816_ZONES_MM_S, vibration_limits_mm_s
from bms.site.model import Equipment

__all__ = [
    "DEFAULTS",
    "INDICATOR_FAULTS",
    "DailyIndicator",
    "IndicatorSpec",
    "affinity_belt_slip",
    "daily_indicators",
    "daily_median",
    "fouling_ratio",
    "indicator_samples",
]

#: Default design values and limits (the Besançon simulator's).
DEFAULTS: dict[str, float] = {
    "filter_clean_dp_pa": 120.0,
    "filter_final_dp_pa": 450.0,
    "belt_healthy_slip": 0.02,
    "belt_slip_limit": 0.25,
    "fouling_ratio_limit": 4.0,
    "superheat_design_k": 5.0,
    "superheat_trip_k": 20.0,
}
#: Indicator -> the wear mode (simulator fault name) it tracks.
INDICATOR_FAULTS: dict[str, str] = {
    "filter_dp_at_design_flow_pa": "filter_clogging",
    "belt_slip": "belt_wear",
    "vibration_mm_s": "bearing_wear",
    "fouling_ratio": "hx_fouling",
    "superheat_k": "refrigerant_leak",
}
_UNITS = {
    "filter_dp_at_design_flow_pa": "Pa",
    "belt_slip": "1",
    "vibration_mm_s": "mm/s",
    "fouling_ratio": "1",
    "superheat_k": "K",
}
MIN_FLOW_FRACTION = 0.3  #: fan or pump below this share of design is "not running" [-]
MIN_SPEED_PCT = 20.0  #: fan speed below which the affinity law is not trusted [%]
MIN_HISTORY_DAYS = 14  #: days of history before a data-driven baseline is trusted [d]


@dataclass(frozen=True)
class IndicatorSpec:
    """One indicator of one equipment: name, unit, healthy baseline, failure limit, wear mode."""

    name: str
    unit: str
    baseline: float
    limit: float
    fault: str


@dataclass(frozen=True)
class DailyIndicator:
    """An indicator's daily series (index: mean sample time of the day, UTC) and its spec."""

    spec: IndicatorSpec
    daily: pd.Series


def _param(equipment: Equipment, name: str, default: float | None = None) -> float | None:
    value = equipment.parameters.get(name)
    return float(value) if isinstance(value, int | float) else default


def _roles(wide: pd.DataFrame, equipment: Equipment) -> pd.DataFrame:
    visible = wide[[c for c in wide.columns if not str(c).startswith("_")]]
    return apply_role_map(visible, role_map_for(equipment))


# Pure indicator functions ------------------------------------------------------------------
def affinity_belt_slip(
    fan_power_kw: pd.Series,
    fan_speed_pct: pd.Series,
    design_fan_power_kw: float,
    min_speed_pct: float = MIN_SPEED_PCT,
) -> pd.Series:
    """Belt slip from the fan affinity law, ``1 - sqrt(P / (P_design n^3))``. [-]

    A slipping belt turns the fan slower than the motor, ``n_fan = n (1 - slip)``, and the fan
    absorbs ``P_design n_fan^3``; the motor speed ``n = speed / 100`` is the drive's command.
    Unlike the flow-per-speed ratio, this is not confounded by a clogging filter. NaN below
    ``min_speed_pct`` [%] (fan stopped or starting).
    """
    n = fan_speed_pct.where(fan_speed_pct >= min_speed_pct) / 100.0
    ratio = (fan_power_kw / (design_fan_power_kw * n**3)).clip(lower=0.0)
    return 1.0 - np.sqrt(ratio)


def _lower_envelope(
    x: np.ndarray, y: np.ndarray, n_bins: int = 8, quantile: float = 0.1
) -> tuple[float, float] | None:
    """Line through the ``quantile`` of ``y`` in quantile bins of ``x``; None if too few data."""
    ok = np.isfinite(x) & np.isfinite(y)
    x, y = x[ok], y[ok]
    if len(x) < 50:
        return None
    edges = np.unique(np.quantile(x, np.linspace(0, 1, n_bins + 1)))
    if len(edges) < 2:
        return float(np.quantile(y, quantile)), 0.0
    which = np.clip(np.searchsorted(edges, x, side="right") - 1, 0, len(edges) - 2)
    xs, ys, ws = [], [], []
    for b in range(len(edges) - 1):
        sel = which == b
        if sel.sum() >= 10:
            xs.append(np.median(x[sel]))
            ys.append(np.quantile(y[sel], quantile))
            ws.append(np.sqrt(sel.sum()))
    if not xs:
        return None
    if len(xs) == 1 or np.ptp(xs) < 1e-9:
        return float(np.average(ys, weights=ws)), 0.0
    slope, intercept = np.polyfit(xs, ys, 1, w=ws)
    return float(intercept), float(max(slope, 0.0))


def fouling_ratio(
    approach_k: pd.Series, load_fraction: pd.Series, min_reference_k: float = 0.5
) -> pd.Series:
    """Approach temperature over the clean approach at the same load. [-]

    The clean approach ``a + b * load`` is the lower envelope (10th percentile per load bin) of
    the hourly history given, so it assumes fouled operation is under half of that history.
    Fouling raises the approach at a given load; 1 = as clean as the cleanest period seen.
    """
    hourly = pd.DataFrame({"a": approach_k, "q": load_fraction}).resample("1h").mean()
    line = _lower_envelope(hourly["q"].to_numpy(), hourly["a"].to_numpy())
    if line is None:
        return pd.Series(np.nan, index=approach_k.index)
    intercept, slope = line
    reference = (intercept + slope * load_fraction).clip(lower=min_reference_k)
    return approach_k / reference


# Per-kind samples --------------------------------------------------------------------------
def _ahu(x: pd.DataFrame, eq: Equipment) -> dict[str, pd.Series]:
    out: dict[str, pd.Series] = {}
    design_flow = _param(eq, "design_flow_m3_s")
    running = x["fan_status"] > 0.5 if "fan_status" in x else pd.Series(True, index=x.index)
    if design_flow and {"filter_dp", "supply_flow"} <= set(x):
        flow = x["supply_flow"].where(x["supply_flow"] >= MIN_FLOW_FRACTION * design_flow)
        dp = ph.filter_dp_at_flow(x["filter_dp"], flow, design_flow, min_flow=0.0)
        out["filter_dp_at_design_flow_pa"] = dp.where(running)
    design_power = _param(eq, "design_fan_power_kw")
    if design_power and {"fan_power", "fan_speed"} <= set(x):
        slip = affinity_belt_slip(x["fan_power"], x["fan_speed"], design_power)
        out["belt_slip"] = slip.where(running)
    return out


def _pump(x: pd.DataFrame, eq: Equipment) -> dict[str, pd.Series]:
    if "vibration" not in x:
        return {}
    running = x["status"] > 0.5 if "status" in x else x["vibration"] > 0.3
    return {"vibration_mm_s": x["vibration"].where(running)}


def _hx(x: pd.DataFrame, eq: Equipment) -> dict[str, pd.Series]:
    if not {"prim_return_temp", "sec_return_temp", "heat_power"} <= set(x):
        return {}
    approach = ph.approach_temperature(x["prim_return_temp"], x["sec_return_temp"])
    design = _param(eq, "design_power_kw") or float(np.nanmax(x["heat_power"].to_numpy()) or 1.0)
    return {"fouling_ratio": fouling_ratio(approach, x["heat_power"] / design)}


def _chiller(x: pd.DataFrame, eq: Equipment) -> dict[str, pd.Series]:
    if "superheat" not in x:
        return {}
    running = x["status"] > 0.5 if "status" in x else pd.Series(True, index=x.index)
    if "power" in x:
        running &= x["power"] > 1.0
    return {"superheat_k": x["superheat"].where(running)}


_BUILDERS = {"AHU": _ahu, "Pump": _pump, "Heat_Exchanger": _hx, "Chiller": _chiller}


def indicator_samples(
    wide: pd.DataFrame, equipment: Equipment, as_of: pd.Timestamp | None = None
) -> pd.DataFrame:
    """Indicator values at every step of one equipment (NaN while it does not run).

    Parameters
    ----------
    wide : DataFrame of shape (n_steps, n_points)
        UTC DatetimeIndex; columns are the equipment's local point names (the simulator's
        ``result.wide[id]`` or :func:`bms.features.resample.equipment_frame` values). Columns
        starting with ``_`` (hidden truth) are ignored.
    equipment : Equipment
        Its ``kind`` picks the indicators, its ``parameters`` the design values.
    as_of : Timestamp, optional
        Only samples strictly before it are used (also for any data-driven reference).

    Returns
    -------
    DataFrame of shape (n_steps, n_indicators)
        One column per indicator the equipment's points allow (none for other kinds).
    """
    if not isinstance(wide.index, pd.DatetimeIndex):
        raise SchemaError(f"wide frame of {equipment.id} needs a DatetimeIndex")
    if as_of is not None:
        wide = wide[wide.index < as_of]
    builder = _BUILDERS.get(equipment.kind)
    if builder is None or equipment.kind not in ROLE_MAPS:
        return pd.DataFrame(index=wide.index)
    columns = builder(_roles(wide, equipment), equipment)
    return pd.DataFrame(columns, index=wide.index, dtype=float)


def daily_median(samples: pd.Series, min_samples: int = 12) -> pd.Series:
    """Median per UTC day of the non-NaN samples, stamped at their mean time.

    Days with fewer than ``min_samples`` samples are dropped. Returns a Series on a UTC
    DatetimeIndex (one entry per kept day).
    """
    values = samples.dropna()
    if values.empty:
        return pd.Series(dtype=float, index=pd.DatetimeIndex([], tz="UTC"))
    day = values.index.floor("1D")
    groups = values.groupby(day)
    counts = groups.size()
    medians = groups.median()
    ns = pd.DatetimeIndex(values.index).as_unit("ns").asi8  # whatever the index's unit
    t_ns = pd.Series(ns, index=values.index).groupby(day).mean()
    keep = counts >= min_samples
    index = pd.DatetimeIndex(t_ns[keep].astype("int64").to_numpy(), tz="UTC")
    return pd.Series(medians[keep].to_numpy(dtype=float), index=index, name=samples.name)


def _spec(name: str, eq: Equipment, daily: pd.Series) -> IndicatorSpec:
    fault, unit = INDICATOR_FAULTS[name], _UNITS[name]
    if name == "filter_dp_at_design_flow_pa":
        base = _param(eq, "filter_clean_dp_pa", DEFAULTS["filter_clean_dp_pa"])
        limit = _param(eq, "filter_final_dp_pa", DEFAULTS["filter_final_dp_pa"])
    elif name == "belt_slip":
        base = _param(eq, "belt_healthy_slip", DEFAULTS["belt_healthy_slip"])
        limit = _param(eq, "belt_slip_limit", DEFAULTS["belt_slip_limit"])
    elif name == "vibration_mm_s":
        machine_class = str(eq.parameters.get("vibration_class", "II"))
        if machine_class not in ISO_10816_ZONES_MM_S:
            raise SchemaError(
                f"{eq.id}: parameters.vibration_class {machine_class!r}: expected one of "
                f"{', '.join(ISO_10816_ZONES_MM_S)}"
            )
        own = None
        if len(daily) >= MIN_HISTORY_DAYS:  # the machine's own healthy level
            own = float(np.quantile(daily.to_numpy(), 0.1))
        base, limit = vibration_limits_mm_s(machine_class, own)
        base = min(base, 0.8 * limit)
    elif name == "fouling_ratio":
        base, limit = 1.0, _param(eq, "fouling_ratio_limit", DEFAULTS["fouling_ratio_limit"])
    else:  # superheat_k
        base = _param(eq, "superheat_design_k", DEFAULTS["superheat_design_k"])
        limit = _param(eq, "superheat_trip_k", DEFAULTS["superheat_trip_k"])
    assert base is not None and limit is not None
    return IndicatorSpec(name, unit, float(base), float(limit), fault)


def daily_indicators(
    wide: pd.DataFrame,
    equipment: Equipment,
    as_of: pd.Timestamp | str | None = None,
    min_samples: int = 12,
) -> Mapping[str, DailyIndicator]:
    """The daily indicator series of one equipment with their baselines and limits.

    Parameters
    ----------
    wide : DataFrame
        See :func:`indicator_samples`.
    equipment : Equipment
    as_of : Timestamp or str, optional
        Use only data strictly before this time (UTC; naive times are taken as UTC).
    min_samples : int
        Fewest running samples for a day to count.

    Returns
    -------
    dict of indicator name -> DailyIndicator
        Empty for kinds without a degradation indicator (zones, meters, weather).
    """
    stamp = _utc(as_of)
    samples = indicator_samples(wide, equipment, stamp)
    out: dict[str, DailyIndicator] = {}
    for name in samples.columns:
        daily = daily_median(samples[name], min_samples)
        out[name] = DailyIndicator(_spec(str(name), equipment, daily), daily)
    return out


def _utc(stamp: pd.Timestamp | str | None) -> pd.Timestamp | None:
    if stamp is None:
        return None
    try:
        ts = pd.Timestamp(stamp)
    except (ValueError, TypeError):
        raise SchemaError(f"as_of must be a timestamp, got {stamp!r}") from None
    if ts is pd.NaT:
        raise SchemaError(f"as_of must be a timestamp, got {stamp!r}")
    return ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")
