"""Simulate a site: time grid, weather, calendar, faults, physics, telemetry and ground truth.

Public API::

    result = simulate_site(site, start="2026-01-01", days=120, seed=7)
    result.telemetry      # canonical long frame (time, point, value)
    result.ground_truth   # equipment, fault, category, onset, failure, point, end, detail
    result.wide           # equipment id -> wide frame (points + hidden '_' truth columns)
    result.raw()          # the raw stream with duplicates and late rows ('received' column)
    write_simulation(result, ParquetStore(dir), home)   # telemetry + home/ground_truth.csv

Determinism: every random draw comes from a stream named after its object and derived from the
seed (:func:`bms.simulate.context.rng_for`); the same site, start, days, seed, fault plan and
step give bit-identical telemetry and ground truth.
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np
import pandas as pd

from bms.errors import BmsError
from bms.simulate.calendar import site_calendar
from bms.simulate.context import SimContext, rng_for
from bms.simulate.faults import CATEGORIES, Fault, apply_sensor_faults, check_plan, plan_faults
from bms.simulate.plant import BuildingPlant, simulate_building
from bms.simulate.quality import apply_gaps_and_spikes, raw_frame, spike_point
from bms.simulate.weather import simulate_weather
from bms.site.model import Site
from bms.telemetry.store import TelemetryStore

logger = logging.getLogger(__name__)

GROUND_TRUTH_FILE = "ground_truth.csv"
GROUND_TRUTH_COLUMNS = ("equipment", "fault", "category", "onset", "failure")
EXTRA_COLUMNS = ("point", "end", "detail")
ISO_UTC = "%Y-%m-%dT%H:%M:%SZ"
MAX_DAYS = 3660
#: Years a simulated window may span (the calendar's holidays and the nanosecond times of the
#: telemetry frame hold within them).
SIMULATED_YEARS = (1900, 2200)


@dataclass
class SimulationResult:
    """What :func:`simulate_site` returns."""

    site_id: str
    start: pd.Timestamp
    end: pd.Timestamp  #: exclusive
    step: pd.Timedelta
    seed: int
    faults: list[Fault]
    telemetry: pd.DataFrame  #: canonical long frame
    wide: dict[str, pd.DataFrame]  #: equipment id -> wide frame (truth columns start with '_')

    @cached_property
    def ground_truth(self) -> pd.DataFrame:
        """One row per fault: ``equipment fault category onset failure point end detail``."""
        return ground_truth_frame(self.faults)

    def raw(self) -> pd.DataFrame:
        """The raw stream (duplicates, late rows, ``received`` column); built on demand."""
        equipment_of = {p: p.rsplit("/", 1)[0] for p in self.telemetry["point"].unique()}
        return raw_frame(self.telemetry, self.faults, equipment_of, self.seed)


def _detail(fault: Fault) -> str:
    m = fault.magnitude
    details = {
        "filter_clogging": "normalised filter_dp reaches filter_final_dp_pa at failure",
        "belt_wear": "belt slip grows to 25 %, belt breaks at failure",
        "bearing_wear": "vibration beyond 7.1 mm/s (ISO 10816 zone D) at failure",
        "hx_fouling": "approach x4, capacity halved at failure",
        "refrigerant_leak": "40 % of the charge lost, superheat beyond 15 K at failure",
        "stuck_oa_damper": f"damper stuck {'closed' if m < 0.5 else 'fully open'}",
        "leaking_heating_valve": f"leak {100 * (0.15 + 0.2 * m):.0f} % of coil capacity",
        "pump_trip": "pump stopped",
        "drift": f"drift to {m:+.2f} at end",
        "bias": f"offset {m:+.2f}",
        "stuck": "value frozen",
        "gap": "no data",
        "duplicates": "rows sent twice (raw frame)",
        "spikes": f"about {m:.0f} spikes a day",
        "late_data": f"rows received {m:.1f} h late (raw frame)",
    }
    return details.get(fault.fault, "")


def ground_truth_frame(faults: list[Fault]) -> pd.DataFrame:
    """The ground-truth table of a fault list (UTC timestamps, NaT when none)."""
    rows = [
        {
            "equipment": f.equipment,
            "fault": f.fault,
            "category": f.category,
            "onset": f.onset,
            "failure": f.failure if f.failure is not None else pd.NaT,
            "point": f"{f.equipment}/{f.point}" if f.point else "",
            "end": f.end if f.end is not None else pd.NaT,
            "detail": _detail(f),
        }
        for f in faults
    ]
    frame = pd.DataFrame(rows, columns=[*GROUND_TRUTH_COLUMNS, *EXTRA_COLUMNS])
    for column in ("onset", "failure", "end"):
        frame[column] = pd.to_datetime(frame[column], utc=True).astype("datetime64[ns, UTC]")
    return frame


def check_window(start: str | pd.Timestamp | None, days: float, seed: int) -> pd.Timestamp:
    """The first instant of a simulation (UTC), or a one-line BmsError naming the bad option.

    ``days`` in (0, :data:`MAX_DAYS`], ``seed`` >= 0 (a random generator's seed), ``start`` a
    date (or time) such that the window lies within :data:`SIMULATED_YEARS`; None: ``days``
    days before today, 00:00 UTC. The commands check this before they touch ``BMS_HOME``.
    """
    if not days > 0 or days > MAX_DAYS:
        raise BmsError(f"--days must be > 0 and <= {MAX_DAYS}, got {days}")
    if seed < 0:
        raise BmsError(f"--seed must be a whole number >= 0, got {seed}")
    if start is None:
        today = pd.Timestamp.now(tz="UTC").normalize()
        return today - pd.Timedelta(days=days)
    try:
        stamp = pd.Timestamp(start)
    except (ValueError, TypeError):
        raise BmsError(f"--start must be a date YYYY-MM-DD, got {start!r}") from None
    if stamp is pd.NaT:
        raise BmsError(f"--start must be a date YYYY-MM-DD, got {start!r}")
    stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
    first, last = SIMULATED_YEARS
    if stamp.year < first or (stamp + pd.Timedelta(days=days)).year > last:
        raise BmsError(
            f"--start {start!r} with --days {days:g}: the window must lie within the years "
            f"{first}-{last}"
        )
    return stamp


def _parse_step(step: str | pd.Timedelta) -> pd.Timedelta:
    try:
        delta = pd.Timedelta(step)
    except ValueError:
        raise BmsError(f"step must be a duration such as '5min', got {step!r}") from None
    if delta < pd.Timedelta(seconds=1) or delta > pd.Timedelta(hours=1):
        raise BmsError(f"step must be between 1s and 1h, got {step!r}")
    return delta


def _resolve_points(faults: list[Fault], site: Site, seed: int) -> list[Fault]:
    """Give spikes a point of their equipment; drop sensor faults on points the site lacks."""
    equipment = {eq.id: eq for eq in site.all_equipment()}
    resolved = []
    for f in faults:
        points = [p.name for p in equipment[f.equipment].points] if f.equipment in equipment else []
        if f.fault == "spikes" and f.point is None and points:
            target = spike_point(equipment[f.equipment], seed, f.onset)  # analogue points only
            if target is None:
                logger.warning("spikes on %s dropped: no analogue point", f.equipment)
                continue
            f = dataclasses.replace(f, point=target)
        if f.category == "sensor" and f.point not in points:
            logger.warning("sensor fault on %s/%s dropped: no such point", f.equipment, f.point)
            continue
        resolved.append(f)
    return resolved


def simulate_site(
    site: Site,
    start: str | pd.Timestamp | None,
    days: float,
    seed: int = 0,
    faults: str = "default",
    step: str | pd.Timedelta = "5min",
) -> SimulationResult:
    """Simulate every known equipment of a site.

    Parameters
    ----------
    site : Site
        The site model; equipment of unknown kinds is skipped with a warning; points the
        simulator does not make are left out.
    start : str, Timestamp or None
        First instant (a date means 00:00 UTC); None: ``days`` days before today, 00:00 UTC.
    days : float
        Length of the window [d], > 0.
    seed : int
        Random seed: same inputs and seed give bit-identical results.
    faults : {'default', 'none', 'ongoing'}
        Fault plan (see :func:`bms.simulate.faults.plan_faults`).
    step : str or Timedelta
        Grid step, default 5 minutes.

    Raises
    ------
    BmsError
        Bad ``days``, ``start``, ``seed``, ``faults`` or ``step`` (:func:`check_window`).
    """
    start_ts = check_window(start, days, seed)
    check_plan(faults)
    step_td = _parse_step(step)
    n = int(pd.Timedelta(days=days) // step_td)
    if n < 2:
        raise BmsError(f"--days {days} gives fewer than 2 steps of {step}")
    times = pd.date_range(start_ts, periods=n, freq=step_td).as_unit("ns")
    weather = simulate_weather(times, site.latitude, site.longitude, rng_for(seed, "weather"))
    calendar = site_calendar(times, site.timezone, rng_for(seed, "calendar"))
    ctx = SimContext(
        times=times,
        step_hours=step_td / pd.Timedelta(hours=1),
        seed=int(seed),
        oat=weather["oat"].to_numpy(),
        oat_slow=weather["_oat_slow"].to_numpy(),
        rh_out=weather["rh"].to_numpy(),
        ghi=weather["ghi"].to_numpy(),
        calendar=calendar,
    )
    plants = [BuildingPlant.of(b) for b in site.buildings]
    kinds: dict[str, list[str]] = {}
    continuous: list[str] = []
    for plant in plants:
        for model, eqs in plant.groups.items():
            kinds.setdefault(model, []).extend(e.id for e in eqs)
        continuous += [p.id for p in plant.get("pump") if plant.roles[p.id] != "ahu_heating"]
    hour = calendar.local_hour
    slots = ctx.t_ns[calendar.working_day & (hour >= 10.0) & (hour < 15.0)]
    plan = plan_faults(faults, kinds, start_ts, days, rng_for(seed, "faults"), slots, continuous)
    plan = _resolve_points(plan, site, seed)

    arrays: dict[str, dict[str, np.ndarray]] = {}
    for plant in plants:
        arrays |= simulate_building(ctx, plant, plan)
    wide = {}
    for eq_id, columns in arrays.items():
        frame = pd.DataFrame(columns, index=times)
        wide[eq_id] = apply_sensor_faults(
            frame, [f for f in plan if f.equipment == eq_id], ctx.t_ns
        )
    telemetry = _long_frame(site, wide, plan, ctx)
    logger.debug("simulated %d rows of %d points", len(telemetry), telemetry["point"].nunique())
    return SimulationResult(
        site.id, start_ts, start_ts + n * step_td, step_td, int(seed), plan, telemetry, wide
    )


def _long_frame(
    site: Site, wide: dict[str, pd.DataFrame], faults: list[Fault], ctx: SimContext
) -> pd.DataFrame:
    """The canonical frame of the site's points, with gaps and spikes applied."""
    t_ns = ctx.t_ns
    columns = []
    for point in sorted(site.all_points(), key=lambda p: p.id):
        frame = wide.get(point.equipment)
        if frame is None:
            continue
        if point.name not in frame.columns:
            logger.debug("point %s not simulated", point.id)
            continue
        values = frame[point.name].to_numpy(dtype=float, copy=True)
        keep = np.isfinite(values)
        mine = [f for f in faults if f.equipment == point.equipment]
        apply_gaps_and_spikes(values, keep, point.name, mine, t_ns, ctx.seed)
        columns.append((point.id, t_ns[keep], values[keep]))
    if not columns:
        from bms.telemetry.frame import empty_frame

        return empty_frame()
    counts = [len(c[1]) for c in columns]
    time = pd.DatetimeIndex(np.concatenate([c[1] for c in columns]).astype("datetime64[ns]"))
    point_ids = np.repeat(np.array([c[0] for c in columns], dtype=object), counts)
    return pd.DataFrame(
        {
            "time": time.tz_localize("UTC"),
            "point": pd.Series(point_ids, dtype=object),
            "value": np.concatenate([c[2] for c in columns]),
        }
    )


def summarise(result: SimulationResult) -> dict[str, object]:
    """Points, rows, period and faults by category of a simulation (for the CLI)."""
    by_category = result.ground_truth["category"].value_counts()
    return {
        "site": result.site_id,
        "points": int(result.telemetry["point"].nunique()),
        "rows": len(result.telemetry),
        "start": result.start.strftime(ISO_UTC),
        "end": result.end.strftime(ISO_UTC),
        "step": str(result.step),
        "seed": result.seed,
        "faults": {c: int(by_category.get(c, 0)) for c in CATEGORIES},
    }


def write_simulation(result: SimulationResult, store: TelemetryStore, directory: Path) -> Path:
    """Store the telemetry (equipment by equipment) and write ``directory/ground_truth.csv``.

    Returns the path of the ground-truth file. Timestamps are ISO 8601 UTC
    (``2026-03-14T06:00:00Z``); ``failure`` and ``end`` are empty when there is none.
    """
    codes, points = pd.factorize(result.telemetry["point"])  # rows are sorted by point
    owner_codes, _ = pd.factorize(pd.Index(points).str.rsplit("/", n=1).str[0])
    owner = owner_codes[codes]
    boundaries = np.flatnonzero(owner[1:] != owner[:-1]) + 1
    starts = np.concatenate([[0], boundaries])
    stops = np.concatenate([boundaries, [len(owner)]])
    for begin, stop in zip(starts, stops, strict=True):
        store.write(result.telemetry.iloc[begin:stop])
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / GROUND_TRUTH_FILE
    result.ground_truth.to_csv(path, index=False, date_format=ISO_UTC)
    return path
