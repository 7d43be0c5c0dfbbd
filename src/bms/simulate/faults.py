"""The fault catalogue, the fault plans (``default`` and ``none``) and fault timelines.

A :class:`Fault` is one injected event on one equipment. Physics models ask for the faults of
their equipment and turn them into arrays (``progress``: 0 before onset, rising to 1 at
failure; ``active``: between onset and end). Sensor faults alter measured values after the
physics; data-quality defects alter the long frame (see :mod:`bms.simulate.quality`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import pandas as pd

from bms.errors import BmsError

logger = logging.getLogger(__name__)

CATEGORIES = ("degradation", "abrupt", "sensor", "data_quality")
FAULT_PLANS = ("default", "none", "ongoing")
#: Degradations the ``ongoing`` plan leaves under way at the window's end (the demo's "now").
ONGOING_DEGRADATIONS = ("filter_clogging", "bearing_wear")


@dataclass(frozen=True)
class FaultSpec:
    """One entry of the catalogue."""

    category: str
    kind: str  #: simulator equipment kind it applies to ('ahu', 'pump', 'any'...)
    signature: str  #: what it looks like in the data


CATALOGUE: dict[str, FaultSpec] = {
    "filter_clogging": FaultSpec(
        "degradation",
        "ahu",
        "filter_dp/(supply_flow/design)^2 rises monotonically to "
        "filter_final_dp_pa (failure); supply flow falls up to 12 %",
    ),
    "belt_wear": FaultSpec(
        "degradation",
        "ahu",
        "supply_flow/fan_speed ratio falls (belt slip up to 25 %), then the "
        "belt breaks: flow ~0, duct_static ~0, fan_power ~12 % while fan_status stays 1",
    ),
    "bearing_wear": FaultSpec(
        "degradation",
        "pump",
        "vibration grows exponentially from ~2 mm/s to beyond 7.1 mm/s "
        "(ISO 10816 zone D); bearing_temp +25 K; the pump stops at failure",
    ),
    "hx_fouling": FaultSpec(
        "degradation",
        "hx",
        "approach prim_return - sec_return grows x4; capacity halves "
        "(sec_supply_temp falls below sec_supply_sp in cold weather)",
    ),
    "refrigerant_leak": FaultSpec(
        "degradation",
        "chiller",
        "suction_pressure falls, superheat rises beyond 15 K, capacity "
        "and COP fall; the chiller trips on low pressure at failure",
    ),
    "stuck_oa_damper": FaultSpec(
        "abrupt",
        "ahu",
        "mat stops following oa_damper: the actual outdoor-air fraction stays "
        "at 0 or 1 whatever the command",
    ),
    "leaking_heating_valve": FaultSpec(
        "abrupt",
        "ahu",
        "heat reaches the coil with heating_valve at 0: sat above mat + fan "
        "heat, cooling valve fighting it",
    ),
    "pump_trip": FaultSpec(
        "abrupt",
        "pump",
        "status 0, flow/dp/power 0; a parallel pump takes the flow or the loop loses it",
    ),
    "drift": FaultSpec("sensor", "any", "the reading drifts linearly away from the truth"),
    "bias": FaultSpec("sensor", "any", "a constant offset from onset to end"),
    "stuck": FaultSpec("sensor", "any", "the reading is frozen at its onset value"),
    "gap": FaultSpec("data_quality", "any", "no rows (communication loss)"),
    "duplicates": FaultSpec(
        "data_quality", "any", "rows sent twice (raw frame only; the canonical frame dedups)"
    ),
    "spikes": FaultSpec("data_quality", "any", "isolated outliers"),
    "late_data": FaultSpec(
        "data_quality", "any", "rows received hours after their time (raw frame 'received')"
    ),
}

#: Degradation type -> simulator kind; repaired 1-3 days after failure.
DEGRADATIONS = {
    "filter_clogging": "ahu",
    "bearing_wear": "pump",
    "belt_wear": "ahu",
    "hx_fouling": "hx",
    "refrigerant_leak": "chiller",
}
#: Sensor-fault candidates: (kind, point) -> magnitude scale [point unit].
SENSOR_POINTS: dict[tuple[str, str], float] = {
    ("ahu", "sat"): 2.5,
    ("ahu", "rat"): 2.0,
    ("ahu", "mat"): 2.5,
    ("zone", "temp"): 2.0,
    ("zone", "co2"): 250.0,
    ("chiller", "chw_supply_temp"): 1.5,
    ("hx", "sec_supply_temp"): 4.0,
    ("pump", "bearing_temp"): 6.0,
    ("weather", "oat"): 2.5,
}


@dataclass(frozen=True)
class Fault:
    """One injected fault.

    ``equipment`` and ``point`` are local names (``ahu-1``, ``sat``); ``point`` is None for a
    fault of the whole equipment. ``failure`` is set for degradations only; ``end`` is when it
    was repaired or cleared (may lie after the window). ``magnitude`` is fault-specific.
    """

    equipment: str
    fault: str
    category: str
    onset: pd.Timestamp
    failure: pd.Timestamp | None = None
    end: pd.Timestamp | None = None
    point: str | None = None
    magnitude: float = 0.0

    def progress(self, t_ns: np.ndarray) -> np.ndarray:
        """0 before onset, rising linearly to 1 at failure, 1 after (shape of ``t_ns``)."""
        stop = self.failure if self.failure is not None else self.end
        if stop is None:
            return (t_ns >= self.onset.value).astype(float)
        span = max(stop.value - self.onset.value, 1)
        return np.clip((t_ns - self.onset.value) / span, 0.0, 1.0)

    def active(self, t_ns: np.ndarray) -> np.ndarray:
        """bool: onset <= t < end (end None: to the end of the window)."""
        after = t_ns >= self.onset.value
        return after if self.end is None else after & (t_ns < self.end.value)

    def failed(self, t_ns: np.ndarray) -> np.ndarray:
        """bool: failure <= t < end (the failed state before repair)."""
        if self.failure is None:
            return np.zeros(t_ns.shape, dtype=bool)
        failed = t_ns >= self.failure.value
        return failed if self.end is None else failed & (t_ns < self.end.value)


def faults_for(faults: list[Fault], equipment: str, *names: str) -> list[Fault]:
    """The faults of one equipment (local name), optionally of the given fault names."""
    return [f for f in faults if f.equipment == equipment and (not names or f.fault in names)]


def check_plan(plan: str) -> str:
    """Return ``plan`` or raise a BmsError naming the allowed values."""
    if plan not in FAULT_PLANS:
        raise BmsError(f"--faults must be one of {', '.join(FAULT_PLANS)}, got {plan!r}")
    return plan


class _Planner:
    """Draws faults over a window, avoiding overlaps on the same equipment where it can."""

    def __init__(
        self, start: pd.Timestamp, days: float, rng: np.random.Generator, work_slots: np.ndarray
    ) -> None:
        self.start, self.days, self.rng = start, days, rng
        self.end = start + pd.Timedelta(days=days)
        self.work_slots = work_slots  # int64 ns of working-day, mid-day grid times
        self.busy: dict[str, list[tuple[int, int]]] = {}
        self.failures: list[pd.Timestamp] = []
        self.failed_periods: list[tuple[pd.Timestamp, pd.Timestamp]] = []

    def _days(self, low: float, high: float, cap_fraction: float) -> pd.Timedelta:
        value = min(self.rng.uniform(low, high), cap_fraction * self.days)
        return pd.Timedelta(days=value).round("5min")

    def _overlaps(self, name: str, begin: pd.Timestamp, stop: pd.Timestamp) -> int:
        return sum(b < stop.value and begin.value < e for b, e in self.busy.get(name, []))

    def _pick(self, candidates: list[str], begin: pd.Timestamp, stop: pd.Timestamp) -> str:
        order = [candidates[i] for i in self.rng.permutation(len(candidates))]
        chosen = min(order, key=lambda name: self._overlaps(name, begin, stop))
        self.busy.setdefault(chosen, []).append((begin.value, stop.value))
        return chosen

    def _time_in(self, low: pd.Timestamp, high: pd.Timestamp, working: bool) -> pd.Timestamp:
        if working:
            slots = self.work_slots
            slots = slots[(slots >= low.value) & (slots <= high.value)]
            if len(slots):
                return pd.Timestamp(int(self.rng.choice(slots)), tz="UTC")
        span = max(high.value - low.value, 0)
        return (low + pd.Timedelta(int(self.rng.uniform(0, span)), "ns")).round("5min")

    def degradation(self, fault: str, candidates: list[str]) -> Fault:
        """A run-to-failure whose course overlaps no other fault of its equipment and whose
        failure and repair hide no other failure, where the window allows it."""
        duration = self._days(21.0, 56.0, 0.5)
        tail = pd.Timedelta(days=min(3.0, 0.1 * self.days))
        margin = pd.Timedelta(hours=12)
        order = [candidates[i] for i in self.rng.permutation(len(candidates))]
        order.sort(key=lambda name: len(self.busy.get(name, [])))
        best: tuple[tuple[int, int], str, pd.Timestamp, pd.Timestamp] | None = None
        for attempt in range(40):
            equipment = order[attempt % len(order)]
            failure = self._time_in(self.start + duration, self.end - tail, working=True)
            end = failure + self._days(1.0, 3.0, 10.0)
            clashes = (
                self._overlaps(equipment, failure - duration, end),
                sum(f - margin <= end and failure <= e + margin for f, e in self.failed_periods),
            )
            if best is None or clashes < best[0]:
                best = (clashes, equipment, failure, end)
            if clashes == (0, 0):
                break
        assert best is not None
        _, equipment, failure, end = best
        onset = (failure - duration).round("5min")
        self.busy.setdefault(equipment, []).append((onset.value, end.value))
        self.failures.append(failure)
        self.failed_periods.append((failure, end))
        magnitude = float(self.rng.uniform(0.0, 1.0))
        return Fault(equipment, fault, "degradation", onset, failure, end, None, magnitude)

    def ongoing_degradation(self, fault: str, candidates: list[str]) -> Fault | None:
        """A degradation under way at the window's end: failure 7-25 days after it.

        Its onset is 35-56 days before failure, moved later (to at least 10 days before the
        window's end) on a candidate still busy with another fault then; the candidate free the
        earliest is chosen. ``None`` when none is free 10 days before the end.
        """
        failure = self.end + pd.Timedelta(days=float(self.rng.uniform(7.0, 25.0)))
        failure = self._time_in(failure, failure + pd.Timedelta(days=3), working=False)
        duration = pd.Timedelta(days=float(self.rng.uniform(35.0, 56.0)))
        wanted = max(failure - duration, self.start + pd.Timedelta(days=0.3 * self.days))
        latest = self.end - pd.Timedelta(days=10)
        margin = pd.Timedelta(hours=12).value
        options = []
        for name in (candidates[i] for i in self.rng.permutation(len(candidates))):
            free_from = max([e + margin for _, e in self.busy.get(name, [])], default=0)
            options.append((max(wanted.value, free_from), name))
        onset_ns, equipment = min(options)
        if onset_ns > latest.value:
            return None
        onset = pd.Timestamp(onset_ns, tz="UTC").round("5min")
        self.busy.setdefault(equipment, []).append((onset.value, failure.value))
        end = failure + pd.Timedelta(days=2)
        magnitude = float(self.rng.uniform(0.0, 1.0))
        return Fault(equipment, fault, "degradation", onset, failure, end, None, magnitude)

    def episode(
        self,
        fault: str,
        category: str,
        candidates: list[str],
        duration: pd.Timedelta,
        point: str | None = None,
        magnitude: float = 0.0,
    ) -> Fault:
        latest = self.end - min(duration, pd.Timedelta(days=0.3 * self.days))
        margin = pd.Timedelta(hours=12)
        for _ in range(20):  # keep clear of failures, so that each failure shows in the data
            onset = self._time_in(self.start + pd.Timedelta(days=0.05 * self.days), latest, True)
            end = onset + duration
            if not any(onset - margin <= f <= end + margin for f in self.failures):
                break
        equipment = self._pick(candidates, onset, end)
        return Fault(equipment, fault, category, onset, None, end, point, magnitude)


def plan_faults(
    plan: str,
    kinds: dict[str, list[str]],
    start: pd.Timestamp,
    days: float,
    rng: np.random.Generator,
    work_slots: np.ndarray,
    continuous_pumps: list[str] | None = None,
) -> list[Fault]:
    """Draw the faults of a plan over a window.

    Parameters
    ----------
    plan : {'default', 'none', 'ongoing'}
        ``ongoing``: the ``default`` faults (identical for the same ``rng`` state) plus one
        degradation of each type in :data:`ONGOING_DEGRADATIONS` still under way at the window's
        end: its ``failure`` lies 7-25 days after the window (the ground truth still says when).
    kinds : dict
        Simulator kind -> local names of the equipment of that kind in the site.
    start : Timestamp
        Window start (UTC); the window lasts ``days`` [d].
    rng : Generator
        The plan's own stream.
    work_slots : array of int64 ns
        Grid times on working days between 10:00 and 15:00 local time: degradations fail there,
        while the equipment runs, so the failure shows in the data.
    continuous_pumps : list of str, optional
        Pumps that run all year (bearing wear is placed on them).

    Returns
    -------
    list of Fault
        Sorted by onset. Per degradation type ``1 + days // 150`` run-to-failure degradations
        (onset 3-8 weeks before failure, shortened to half of short windows); per abrupt,
        sensor and data-quality type ``max(1, days // 60)`` episodes.
    """
    check_plan(plan)
    if plan == "none":
        return []
    planner = _Planner(start, days, rng, work_slots)
    faults: list[Fault] = []
    n_degradation = 1 + int(days // 150)
    n_episode = max(1, int(days // 60))
    for name, kind in DEGRADATIONS.items():
        candidates = kinds.get(kind, [])
        if kind == "pump" and continuous_pumps:
            candidates = continuous_pumps
        if not candidates:
            logger.warning("fault %s skipped: the site has no %s", name, kind)
            continue
        faults.extend(planner.degradation(name, candidates) for _ in range(n_degradation))

    def days_(low: float, high: float) -> pd.Timedelta:
        return planner._days(low, high, 0.5)

    abrupt = [
        ("stuck_oa_damper", "ahu", (3.0, 10.0)),
        ("leaking_heating_valve", "ahu", (5.0, 20.0)),
        ("pump_trip", "pump", (0.2, 1.2)),
    ]
    for name, kind, (low, high) in abrupt:
        if kinds.get(kind):
            for _ in range(n_episode):
                magnitude = float(rng.uniform(0.0, 1.0))
                faults.append(
                    planner.episode(name, "abrupt", kinds[kind], days_(low, high), None, magnitude)
                )
    sensor_points = [key for key in SENSOR_POINTS if kinds.get(key[0])]
    sensor = {"drift": (10.0, 30.0), "bias": (3.0, 15.0), "stuck": (2.0, 8.0)}
    for name, (low, high) in sensor.items():
        for _ in range(n_episode if sensor_points else 0):
            kind, point = sensor_points[int(rng.integers(len(sensor_points)))]
            sign = 1.0 if rng.uniform() < 0.5 else -1.0
            magnitude = sign * SENSOR_POINTS[(kind, point)] * rng.uniform(0.8, 1.5)
            faults.append(
                planner.episode(name, "sensor", kinds[kind], days_(low, high), point, magnitude)
            )
    everything = [name for names in kinds.values() for name in names]
    quality = {"gap": (0.1, 2.0), "duplicates": (0.25, 3.0), "spikes": (1.0, 7.0),
               "late_data": (0.1, 1.0)}  # fmt: skip
    for name, (low, high) in quality.items():
        for _ in range(n_episode if everything else 0):
            magnitude = float(rng.uniform(2.0, 12.0))  # late_data: delay [h]; spikes: count/day
            faults.append(
                planner.episode(name, "data_quality", everything, days_(low, high), None, magnitude)
            )
    if plan == "ongoing":
        planner.rng = np.random.default_rng(rng.integers(2**63))  # default part stays the same
        for name in ONGOING_DEGRADATIONS:
            candidates = kinds.get(DEGRADATIONS[name], [])
            if DEGRADATIONS[name] == "pump" and continuous_pumps:
                candidates = continuous_pumps
            fault = planner.ongoing_degradation(name, candidates) if candidates else None
            if fault is not None:
                faults.append(fault)
    return sorted(faults, key=lambda f: (f.onset.value, f.equipment, f.fault))


def apply_sensor_faults(wide: pd.DataFrame, faults: list[Fault], t_ns: np.ndarray) -> pd.DataFrame:
    """Alter the measured columns of one equipment's wide frame by its sensor faults.

    Drift grows linearly from 0 at onset to ``magnitude`` at end; bias adds ``magnitude``;
    stuck holds the value at onset. Columns absent from ``wide`` are left alone.
    """
    for fault in faults:
        if fault.category != "sensor" or fault.point not in wide.columns:
            continue
        values = wide[fault.point].to_numpy(dtype=float, copy=True)
        active = fault.active(t_ns)
        if not active.any():
            continue
        if fault.fault == "drift":
            values += fault.magnitude * fault.progress(t_ns) * active
        elif fault.fault == "bias":
            values += fault.magnitude * active
        elif fault.fault == "stuck":
            values[active] = values[np.flatnonzero(active)[0]]
        wide[fault.point] = values
    return wide
