"""Trend RUL and health of the simulated Besançon site against the simulator's ground truth.

For every run-to-failure degradation of a simulation (``ground_truth`` rows with a
``failure``), the RUL of the failing equipment's matching indicator is predicted "as of"
``horizon`` days before the failure, from the data before that instant only, for each horizon
(30, 14 and 7 days by default); the true RUL is then the horizon. Reported per case: the
quantiles, the error of ``rul_p50`` and whether ``[rul_p10, rul_p90]`` holds the truth.

False alarms are measured on the same simulation: every ``every_days`` days, each indicator of
each equipment whose true time to its next failure of that kind is beyond ``2 * alarm_days``
(or that has none) counts as a false alarm when ``rul_p50 < alarm_days``.

The hidden ``_`` columns are never read: wide frames are rebuilt from the stored telemetry
(with its gaps and spikes) by :func:`bms.models.site_health.wide_frames`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from bms.models.degradation_indicators import INDICATOR_FAULTS, daily_indicators
from bms.models.rul_trend import TrendRUL
from bms.models.site_health import assess_site, wide_frames
from bms.site.model import Site

__all__ = [
    "DEFAULT_HORIZONS_DAYS",
    "false_alarms",
    "rul_cases",
    "site_health_as_of",
    "summarise_cases",
]

DEFAULT_HORIZONS_DAYS = (30.0, 14.0, 7.0)
_FAULT_INDICATOR = {fault: name for name, fault in INDICATOR_FAULTS.items()}
DAY = pd.Timedelta(days=1)


def _predict(
    wide: pd.DataFrame, equipment: Any, indicator: str, as_of: pd.Timestamp,
    trend_params: Mapping[str, Any],
) -> dict[str, Any]:  # fmt: skip
    dailies = daily_indicators(wide, equipment, as_of)
    nan = float("nan")
    if indicator not in dailies or dailies[indicator].daily.empty:
        return {"rul_p10": nan, "rul_p50": nan, "rul_p90": nan, "state": "insufficient"}
    daily = dailies[indicator]
    frame = pd.DataFrame({"time": daily.daily.index, "value": daily.daily.to_numpy()})
    model = TrendRUL(limit=daily.spec.limit, **trend_params).fit(frame)
    out = model.predict_details(frame, as_of=as_of).iloc[0]
    return {k: out[k] for k in ("rul_p10", "rul_p50", "rul_p90", "state")} | {
        "value": float(daily.daily.iloc[-1]),
        "limit": daily.spec.limit,
    }


def rul_cases(
    result: Any,
    site: Site,
    horizons_days: Sequence[float] = DEFAULT_HORIZONS_DAYS,
    *,
    trend_params: Mapping[str, Any] | None = None,
    frames: Mapping[str, pd.DataFrame] | None = None,
    min_history_days: float = 7.0,
) -> pd.DataFrame:
    """One row per (degradation, horizon) with the prediction and the truth.

    Parameters
    ----------
    result : SimulationResult
        Its ``ground_truth`` gives the failures; its telemetry the data.
    site : Site
    horizons_days : sequence of float
        Days before each failure at which to predict [d].
    trend_params : mapping, optional
        :class:`TrendRUL` parameters.
    frames : mapping, optional
        Wide frames already built by :func:`wide_frames` (saves rebuilding them).
    min_history_days : float
        Cases whose "as of" falls earlier than this after the data start are skipped [d].

    Returns
    -------
    DataFrame with ``equipment fault onset failure horizon_days as_of true_rul rul_p10
    rul_p50 rul_p90 state started detected covered error_p50`` (``started``: the
    degradation's onset precedes "as of"; ``detected``: state ``degrading`` or ``at_limit``;
    ``covered``: ``rul_p10 <= true_rul <= rul_p90``; ``error_p50`` = ``rul_p50 - true_rul``
    [d], inf when no trend was found).
    """
    frames = frames if frames is not None else wide_frames(result, site)
    params = dict(trend_params or {})
    truth = result.ground_truth
    failures = truth[truth["failure"].notna()]
    rows = []
    for _, fault in failures.iterrows():
        indicator = _FAULT_INDICATOR.get(fault["fault"])
        wide = frames.get(fault["equipment"])
        if indicator is None or wide is None or wide.empty:
            continue
        equipment = site.equipment_by_id(fault["equipment"])
        for horizon in horizons_days:
            as_of = fault["failure"] - horizon * DAY
            if as_of < wide.index.min() + min_history_days * DAY or as_of > wide.index.max():
                continue
            pred = _predict(wide, equipment, indicator, as_of, params)
            rows.append(
                {
                    "equipment": fault["equipment"],
                    "fault": fault["fault"],
                    "onset": fault["onset"],
                    "failure": fault["failure"],
                    "horizon_days": float(horizon),
                    "as_of": as_of,
                    "true_rul": float(horizon),
                    **pred,
                }
            )
    cases = pd.DataFrame(rows)
    if cases.empty:
        return cases
    cases["started"] = cases["onset"] < cases["as_of"]
    cases["detected"] = cases["state"].isin(["degrading", "at_limit"])
    cases["covered"] = (cases["rul_p10"] <= cases["true_rul"]) & (
        cases["true_rul"] <= cases["rul_p90"]
    )
    cases["error_p50"] = cases["rul_p50"] - cases["true_rul"]
    return cases


def false_alarms(
    result: Any,
    site: Site,
    *,
    every_days: float = 7.0,
    alarm_days: float = 30.0,
    trend_params: Mapping[str, Any] | None = None,
    frames: Mapping[str, pd.DataFrame] | None = None,
    min_history_days: float = 14.0,
) -> pd.DataFrame:
    """Indicator checks far from any failure, and whether each raised a false RUL alarm.

    Returns one row per (equipment, indicator, as_of) whose true time to its next failure of
    that kind exceeds ``2 * alarm_days`` (or with none before the data end, which must be
    that far), and that is not between a failure and its repair: ``equipment indicator as_of
    rul_p50 state alarm`` (``alarm``: ``rul_p50 < alarm_days``).
    """
    frames = frames if frames is not None else wide_frames(result, site)
    params = dict(trend_params or {})
    truth = result.ground_truth
    rows = []
    for eq_id, wide in frames.items():
        equipment = site.equipment_by_id(eq_id)
        if wide.empty:
            continue
        start, end = wide.index.min(), wide.index.max()
        times = pd.date_range(
            start + min_history_days * DAY, end, freq=pd.Timedelta(days=every_days)
        )
        mine = truth[(truth["equipment"] == eq_id) & truth["failure"].notna()]
        for as_of in times:
            dailies = daily_indicators(wide, equipment, as_of)
            for name, daily in dailies.items():
                same = mine[mine["fault"] == INDICATOR_FAULTS[name]]
                nxt = same["failure"][same["failure"] >= as_of]
                ttf = (nxt.min() - as_of) / DAY if len(nxt) else np.inf
                if not len(nxt) and (end - as_of) / DAY < 2 * alarm_days:
                    continue  # a failure might follow the data's end
                down = ((same["failure"] <= as_of) & (same["end"] > as_of)).any()
                if ttf <= 2 * alarm_days or down or daily.daily.empty:
                    continue
                frame = pd.DataFrame({"time": daily.daily.index, "value": daily.daily.to_numpy()})
                model = TrendRUL(limit=daily.spec.limit, **params).fit(frame)
                out = model.predict_details(frame, as_of=as_of).iloc[0]
                rows.append(
                    {
                        "equipment": eq_id,
                        "indicator": name,
                        "as_of": as_of,
                        "rul_p50": float(out["rul_p50"]),
                        "state": out["state"],
                        "alarm": bool(out["rul_p50"] < alarm_days),
                    }
                )
    return pd.DataFrame(rows)


def summarise_cases(
    cases: pd.DataFrame, by: Sequence[str] = ("fault", "horizon_days")
) -> pd.DataFrame:
    """Per group: ``n``, ``started`` and ``detected`` shares, ``coverage`` of the p10-p90
    interval (all cases, and ``coverage_started``: cases whose degradation had begun),
    ``mae_p50`` and ``median_error_p50`` [d] over the cases with a finite ``rul_p50``."""

    def one(group: pd.DataFrame) -> pd.Series:
        finite = group[np.isfinite(group["rul_p50"])]
        started = group[group["started"]]
        return pd.Series(
            {
                "n": len(group),
                "started": group["started"].mean(),
                "detected": group["detected"].mean(),
                "coverage": group["covered"].mean(),
                "coverage_started": started["covered"].mean() if len(started) else np.nan,
                "mae_p50": finite["error_p50"].abs().mean() if len(finite) else np.nan,
                "median_error_p50": finite["error_p50"].median() if len(finite) else np.nan,
            }
        )

    rows = {key: one(group) for key, group in cases.groupby(list(by), sort=True)}
    rows["all"] = one(cases)
    out = pd.DataFrame(rows).T
    out["n"] = out["n"].astype(int)
    return out


def site_health_as_of(
    result: Any, site: Site, as_of: pd.Timestamp | str | None = None, **kwargs: Any
) -> pd.DataFrame:
    """:func:`bms.models.site_health.assess_site` on a simulation, with each equipment's
    ground-truth next failure (``true_failure``) and true RUL [d] beside its prediction."""
    table = assess_site(result, site, as_of, **kwargs)
    stamp = pd.Timestamp(as_of) if as_of is not None else result.end
    stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp
    truth = result.ground_truth
    upcoming = truth[truth["failure"].notna() & (truth["failure"] >= stamp)]
    first = upcoming.sort_values("failure").groupby("equipment")["failure"].first()
    table["true_failure"] = table["equipment"].map(first)
    table["true_rul"] = (table["true_failure"] - stamp) / DAY
    return table
