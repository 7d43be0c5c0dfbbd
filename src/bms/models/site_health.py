"""Health and trend RUL of every equipment of a site, "as of" a time.

:func:`assess_site` is what ``bms demo`` (and a nightly job) calls: for each equipment with a
degradation indicator (:mod:`bms.models.degradation_indicators`) it extrapolates each
indicator's trend to its limit (:class:`bms.models.rul_trend.TrendRUL`) and combines the
indicators, the most urgent RUL and, when given, the anomaly score into a health index 0-100
with its contributors (:class:`bms.models.health.HealthIndex`).

Input: the wide frames of the equipment (``SimulationResult.wide``; hidden ``_`` columns are
ignored), a long canonical telemetry frame, or a ``SimulationResult`` (its stored telemetry
is used, with its gaps and spikes, as a real site's would be).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from bms.errors import SchemaError
from bms.features.resample import equipment_frame
from bms.models.degradation_indicators import DailyIndicator, _utc, daily_indicators
from bms.models.health import HealthIndex, Indicator
from bms.models.rul_trend import QUANTILE_COLUMNS, TrendRUL
from bms.site.model import Equipment, Site

__all__ = [
    "ASSESSMENT_COLUMNS",
    "DEFAULT_RUL_HORIZON_DAYS",
    "assess_equipment",
    "assess_site",
    "wide_frames",
]

logger = logging.getLogger(__name__)

#: No health penalty while the median RUL exceeds this [d].
DEFAULT_RUL_HORIZON_DAYS = 60.0
#: Kinds that have a degradation indicator.
ASSESSED_KINDS = ("AHU", "Pump", "Heat_Exchanger", "Chiller")
ASSESSMENT_COLUMNS = (
    "equipment",
    "kind",
    "health",
    "top_contributors",
    "rul_p10",
    "rul_p50",
    "rul_p90",
    "state",
    "fault",
    "indicator",
    "value",
    "limit",
    "unit",
    "indicators",
)
_STATE_RANK = {"at_limit": 0, "degrading": 1, "stable": 2, "insufficient": 3}


def wide_frames(
    data: Any, site: Site, step: str = "5min", kinds: tuple[str, ...] = ASSESSED_KINDS
) -> dict[str, pd.DataFrame]:
    """Wide frames (local point names) of the site's equipment of ``kinds``.

    ``data``: a mapping equipment id -> wide frame (returned as is), a canonical long telemetry
    frame (``time, point, value``; resampled to ``step``) or a ``SimulationResult`` (its
    ``telemetry``).
    """
    if isinstance(data, Mapping):
        return {str(k): v for k, v in data.items()}
    telemetry = getattr(data, "telemetry", data)
    if not isinstance(telemetry, pd.DataFrame):
        raise SchemaError("data must be wide frames, a telemetry frame or a SimulationResult")
    out: dict[str, pd.DataFrame] = {}
    codes, points = pd.factorize(telemetry["point"])
    owners = np.asarray(pd.Index(points.astype(str)).str.rsplit("/", n=1).str[0])
    owner_of_row = owners[codes]
    for eq in site.all_equipment():
        if eq.kind in kinds and eq.id in owners:
            rows = telemetry[owner_of_row == eq.id]
            out[eq.id] = equipment_frame(rows, eq, step).values
    return out


def _trend(daily: DailyIndicator, params: Mapping[str, Any], as_of: pd.Timestamp) -> pd.Series:
    frame = pd.DataFrame({"time": daily.daily.index, "value": daily.daily.to_numpy()})
    model = TrendRUL(limit=daily.spec.limit, **params).fit(frame)
    return model.predict_details(frame, as_of=as_of).iloc[0]


def assess_equipment(
    wide: pd.DataFrame,
    equipment: Equipment,
    as_of: pd.Timestamp | str | None = None,
    *,
    anomaly_score: pd.Series | None = None,
    rul_horizon_days: float = DEFAULT_RUL_HORIZON_DAYS,
    trend_params: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Health, contributors and trend RUL of one equipment as of a time.

    Parameters
    ----------
    wide : DataFrame
        The equipment's wide frame (UTC DatetimeIndex, local point names).
    equipment : Equipment
    as_of : Timestamp or str, optional
        Only data before it are used; RULs count from it. Default: just after the last row.
    anomaly_score : Series, optional
        Calibrated anomaly score in [0, 1] on a DatetimeIndex (an extra health contributor).
    rul_horizon_days : float
        Horizon of the RUL health contributor [d].
    trend_params : mapping, optional
        :class:`TrendRUL` parameters (``window_days``, ``interval_scale``, ...).

    Returns
    -------
    dict with the keys of :data:`ASSESSMENT_COLUMNS`; ``indicators`` lists, per indicator,
    its value, baseline, limit and RUL quantiles. Health is NaN without any indicator data.
    """
    stamp = _utc(as_of)
    if stamp is None:
        stamp = wide.index.max() + pd.Timedelta(seconds=1) if len(wide) else pd.Timestamp.now("UTC")
    dailies = daily_indicators(wide, equipment, stamp)
    params = dict(trend_params or {})
    details: list[dict[str, Any]] = []
    for name, daily in dailies.items():
        spec = daily.spec
        entry: dict[str, Any] = {
            "indicator": name,
            "fault": spec.fault,
            "unit": spec.unit,
            "baseline": spec.baseline,
            "limit": spec.limit,
            "value": float(daily.daily.iloc[-1]) if len(daily.daily) else float("nan"),
        }
        if len(daily.daily):
            trend = _trend(daily, params, stamp)
            entry |= {c: float(trend[c]) for c in QUANTILE_COLUMNS} | {"state": trend["state"]}
        else:
            entry |= {c: float("nan") for c in QUANTILE_COLUMNS} | {"state": "insufficient"}
        details.append(entry)

    row: dict[str, Any] = {"equipment": equipment.id, "kind": equipment.kind, "indicators": details}
    urgent = min(
        details,
        key=lambda d: (_STATE_RANK[d["state"]], np.nan_to_num(d["rul_p50"], nan=np.inf)),
        default=None,
    )
    for key in ("rul_p10", "rul_p50", "rul_p90", "state", "fault", "indicator", "value", "limit",
                "unit"):  # fmt: skip
        row[key] = urgent[key] if urgent else (float("nan") if key.startswith("rul") else None)
    health, contributors = _health(details, stamp, anomaly_score, rul_horizon_days, urgent)
    row["health"] = health
    row["top_contributors"] = contributors
    return row


def _health(
    details: list[dict[str, Any]],
    stamp: pd.Timestamp,
    anomaly_score: pd.Series | None,
    horizon: float,
    urgent: dict[str, Any] | None,
) -> tuple[float, list[tuple[str, float]]]:
    indicators = [
        Indicator(d["indicator"], d["baseline"], d["limit"])
        for d in details
        if np.isfinite(d["value"]) and d["limit"] != d["baseline"]
    ]
    values = pd.DataFrame(
        {i.column: [_value(details, i.column)] for i in indicators}, index=[stamp]
    )
    rul = None
    if urgent is not None and urgent["state"] in ("degrading", "at_limit"):
        rul = pd.Series([urgent["rul_p50"]], index=[stamp])
    score = None
    if anomaly_score is not None and len(anomaly_score):
        score = anomaly_score[anomaly_score.index < stamp]
        score = score if len(score) else None
    if not indicators and rul is None and score is None:
        return float("nan"), []
    index = HealthIndex(indicators=indicators, rul_horizon=horizon if rul is not None else None)
    frame = index.compute(
        anomaly_score=score, indicators=values if indicators else None, rul_p50=rul
    )
    last = frame.iloc[-1]
    penalties = {c.removeprefix("penalty_"): float(last[c]) for c in frame if c != "health"}
    top = sorted(
        ((name, round(p, 1)) for name, p in penalties.items() if p >= 0.05),
        key=lambda item: -item[1],
    )
    return float(last["health"]), top


def _value(details: list[dict[str, Any]], name: str) -> float:
    return next(float(d["value"]) for d in details if d["indicator"] == name)


def assess_site(
    data: Any,
    site: Site,
    as_of: pd.Timestamp | str | None = None,
    *,
    anomaly_scores: Mapping[str, pd.Series] | None = None,
    rul_horizon_days: float = DEFAULT_RUL_HORIZON_DAYS,
    trend_params: Mapping[str, Any] | None = None,
) -> pd.DataFrame:
    """Health (0-100), top contributors and trend RUL of every assessable equipment.

    Parameters
    ----------
    data : SimulationResult, mapping of equipment id -> wide frame, or long telemetry frame
        See :func:`wide_frames`. Hidden ``_`` truth columns of wide frames are never read.
    site : Site
        The site model (equipment kinds and design parameters).
    as_of : Timestamp or str, optional
        Use data before this time (UTC); RULs count from it. Default: after the last data.
    anomaly_scores : mapping of equipment id -> Series, optional
        Calibrated anomaly scores, an extra health contributor.
    rul_horizon_days : float
        No RUL health penalty while ``rul_p50`` exceeds it [d].
    trend_params : mapping, optional
        :class:`bms.models.rul_trend.TrendRUL` parameters.

    Returns
    -------
    DataFrame, one row per equipment (AHU, pump, exchanger, chiller), columns
    :data:`ASSESSMENT_COLUMNS`: ``health`` [0-100]; ``top_contributors`` a list of
    ``(contributor, health points lost)``, largest first; ``rul_p10/p50/p90`` [d] of its most
    urgent indicator (inf: no trend towards the limit; 0: beyond it; NaN: too little data);
    ``state`` (``degrading``, ``at_limit``, ``stable``, ``insufficient``); ``fault`` the wear
    mode that indicator tracks; ``indicator``, ``value``, ``limit``, ``unit``; ``indicators``
    the details of every indicator. Sorted by ``rul_p50`` then ``health``.
    """
    frames = wide_frames(data, site)
    stamp = _utc(as_of)
    if stamp is None and frames:
        stamp = max(f.index.max() for f in frames.values() if len(f)) + pd.Timedelta(seconds=1)
    rows = []
    for eq in site.all_equipment():
        if eq.kind not in ASSESSED_KINDS or eq.id not in frames:
            continue
        score = (anomaly_scores or {}).get(eq.id)
        rows.append(
            assess_equipment(
                frames[eq.id],
                eq,
                stamp,
                anomaly_score=score,
                rul_horizon_days=rul_horizon_days,
                trend_params=trend_params,
            )
        )
    out = pd.DataFrame(rows, columns=list(ASSESSMENT_COLUMNS))
    if out.empty:
        return out
    out = out.sort_values(["rul_p50", "health"], na_position="last", kind="stable")
    return out.reset_index(drop=True)
