"""The AHU fault conditions: ASHRAE Guideline 36 (§5.16.14) and two NIST APAR rules.

Each rule is a condition on role columns (canonical units: °C, %, Pa) evaluated only in the
operating states where it applies (:class:`bms.features.states.AhuState`). Notation follows
G36: ε are sensor/command tolerances, ΔT_SF the supply-fan heat. A condition returns a float
series: 1.0 (condition holds), 0.0 (does not), NaN (cannot be judged at that step).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from bms.features import physics as ph
from bms.features.states import RUNNING_STATES, AhuState, StateParams, state_changes

__all__ = ["AHU_RULES", "Rule", "RuleParams"]

S = AhuState


@dataclass(frozen=True)
class RuleParams:
    """Thresholds of the AHU rules; defaults are G36's (°F converted to K) unless noted.

    Attributes
    ----------
    sat_tolerance_k, rat_tolerance_k, oat_tolerance_k : float
        ε_SAT, ε_RAT, ε_OAT: 2 °F = 1.1 K [K].
    mat_tolerance_k : float
        ε_MAT: 5 °F = 2.8 K [K] (mixed-air sensors read stratified air).
    fan_heat_k : float
        ΔT_SF, temperature rise across the supply fan: 2 °F = 1.1 K [K].
    oat_rat_min_delta_k : float
        ΔT_min, least |oat - rat| for an outdoor-air fraction: 10 °F = 5.6 K [K].
    duct_static_tolerance_pa : float
        ε_DSP: 0.1 in. w.c. = 25 Pa [Pa].
    fan_speed_tolerance_pct, fan_speed_max_pct : float
        ε_VFDSPD 5 % and the maximum fan speed 100 % [%].
    valve_full_open_pct : float
        A valve at or above this is "fully open" (FC7, FC13) [%].
    valve_open_pct : float
        A valve above this is "open" (state detection, APAR_HEAT_COOL) [%].
    max_state_changes_per_h : float
        ΔOS_max: 7 changes per hour (FC4).
    min_oa_fraction : float or None
        Design minimum outdoor-air fraction [0-1]; FC6 is skipped when None.
    oa_fraction_tolerance : float
        Allowed |OA fraction - minimum| in FC6 [0-1] (ours: 0.1).
    oa_fraction_at_damper : tuple of (float, float)
        (damper command [%], outdoor-air fraction [0-1]) at each position normal operation
        holds the damper, learnt when the design minimum is not known
        (:mod:`bms.models.rule_params_learnt`). When given, FC6 judges a row whose damper is
        within ``damper_tolerance_pct`` of one of these positions against the fraction at the
        nearest one, instead of ``min_oa_fraction`` at ``damper_min_pct``.
    sat_control_tolerance_k : float
        APAR: persistent |sat - sat_sp| beyond this is a control fault (ours: 3 °F = 1.7 K) [K].
    damper_min_pct, damper_tolerance_pct, startup_minutes : float
        State detection (see :class:`bms.features.states.StateParams`).
    confirm_seconds : float
        A condition is a fault only after holding this long; G36 alarm delay 30 min [s].
    """

    sat_tolerance_k: float = 1.1
    rat_tolerance_k: float = 1.1
    oat_tolerance_k: float = 1.1
    mat_tolerance_k: float = 2.8
    fan_heat_k: float = 1.1
    oat_rat_min_delta_k: float = 5.6
    duct_static_tolerance_pa: float = 25.0
    fan_speed_tolerance_pct: float = 5.0
    fan_speed_max_pct: float = 100.0
    valve_full_open_pct: float = 99.0
    valve_open_pct: float = 1.0
    max_state_changes_per_h: float = 7.0
    min_oa_fraction: float | None = None
    oa_fraction_tolerance: float = 0.1
    oa_fraction_at_damper: tuple[tuple[float, float], ...] = ()
    sat_control_tolerance_k: float = 1.7
    damper_min_pct: float = 20.0
    damper_tolerance_pct: float = 5.0
    startup_minutes: float = 30.0
    confirm_seconds: float = 1800.0

    def state_params(self) -> StateParams:
        """The operating-state detection these thresholds set."""
        return StateParams(
            valve_open_pct=self.valve_open_pct,
            damper_min_pct=self.damper_min_pct,
            damper_tolerance_pct=self.damper_tolerance_pct,
            startup_minutes=self.startup_minutes,
        )


@dataclass(frozen=True)
class Rule:
    """One fault condition.

    Attributes
    ----------
    code : str
        ``FC1``... for G36, ``APAR_*`` for APAR.
    title : str
        What the fault means, in plain words.
    requires : tuple of str
        Roles the condition reads.
    states : frozenset of AhuState
        Operating states in which the rule applies.
    condition : callable (ahu, params, states) -> Series of float
    requires_params : tuple of str
        Parameters that must be set (not None), e.g. ``min_oa_fraction``.
    applies : callable (ahu, params) -> Series of bool, optional
        A further condition on the operating point (within ``states``) for the rule to apply;
        steps where it is False are ``SKIPPED_NOT_APPLICABLE_STATE``.
    symptom : bool
        The rule states a consequence many faults share (the supply air off its set point):
        where a more specific rule is in fault too, that one names the fault.
    """

    code: str
    title: str
    requires: tuple[str, ...]
    states: frozenset[AhuState]
    condition: Callable[[pd.DataFrame, RuleParams, pd.Series], pd.Series]
    requires_params: tuple[str, ...] = ()
    applies: Callable[[pd.DataFrame, RuleParams], pd.Series] | None = None
    symptom: bool = False


def _flag(mask: pd.Series, *inputs: pd.Series) -> pd.Series:
    """1.0/0.0 from a boolean mask, NaN where any input is NaN."""
    out = mask.astype(float)
    for series in inputs:
        out = out.where(series.notna())
    return out


def _fc1(x: pd.DataFrame, p: RuleParams, states: pd.Series) -> pd.Series:
    low = x["duct_static"] < x["duct_static_sp"] - p.duct_static_tolerance_pa
    full = x["fan_speed"] >= p.fan_speed_max_pct - p.fan_speed_tolerance_pct
    return _flag(low & full, x["duct_static"], x["duct_static_sp"], x["fan_speed"])


def _fc2(x: pd.DataFrame, p: RuleParams, states: pd.Series) -> pd.Series:
    bound = np.minimum(x["rat"] - p.rat_tolerance_k, x["oat"] - p.oat_tolerance_k)
    return _flag(x["mat"] + p.mat_tolerance_k < bound, x["mat"], x["rat"], x["oat"])


def _fc3(x: pd.DataFrame, p: RuleParams, states: pd.Series) -> pd.Series:
    bound = np.maximum(x["rat"] + p.rat_tolerance_k, x["oat"] + p.oat_tolerance_k)
    return _flag(x["mat"] - p.mat_tolerance_k > bound, x["mat"], x["rat"], x["oat"])


def _fc4(x: pd.DataFrame, p: RuleParams, states: pd.Series) -> pd.Series:
    changes = state_changes(states, "1h")
    return (changes > p.max_state_changes_per_h).astype(float)


def _fc5(x: pd.DataFrame, p: RuleParams, states: pd.Series) -> pd.Series:
    low = x["sat"] + p.sat_tolerance_k <= x["mat"] - p.mat_tolerance_k + p.fan_heat_k
    return _flag(low, x["sat"], x["mat"])


def _expected_oa_fraction(x: pd.DataFrame, p: RuleParams) -> pd.Series:
    """The outdoor-air fraction FC6 expects at each row [0-1]: ``min_oa_fraction``, or with
    ``oa_fraction_at_damper`` the fraction at the learnt position nearest the damper, NaN where
    none lies within ``damper_tolerance_pct``."""
    if not p.oa_fraction_at_damper:
        return pd.Series(np.nan if p.min_oa_fraction is None else p.min_oa_fraction, x.index)
    positions, fractions = np.array(p.oa_fraction_at_damper, dtype=float).T
    gap = np.abs(x["oa_damper"].to_numpy(dtype=float)[:, None] - positions[None, :])
    nearest = np.argmin(np.nan_to_num(gap, nan=np.inf), axis=1)
    near = np.take_along_axis(gap, nearest[:, None], axis=1)[:, 0] <= p.damper_tolerance_pct
    return pd.Series(np.where(near, fractions[nearest], np.nan), x.index)


def _fc6(x: pd.DataFrame, p: RuleParams, states: pd.Series) -> pd.Series:
    fraction = ph.oa_fraction(x["mat"], x["oat"], x["rat"], p.oat_rat_min_delta_k)
    expected = _expected_oa_fraction(x, p)
    wrong = (fraction - expected).abs() > p.oa_fraction_tolerance
    return _flag(wrong, fraction, expected)


def _damper_at_minimum(x: pd.DataFrame, p: RuleParams) -> pd.Series:
    if "oa_damper" not in x:
        return pd.Series(True, index=x.index)
    if p.oa_fraction_at_damper:
        return _expected_oa_fraction(x, p).notna()
    return (x["oa_damper"] <= p.damper_min_pct + p.damper_tolerance_pct).fillna(False)


def _fc7(x: pd.DataFrame, p: RuleParams, states: pd.Series) -> pd.Series:
    low = x["sat"] < x["sat_sp"] - p.sat_tolerance_k
    full = x["heating_valve"] >= p.valve_full_open_pct
    return _flag(low & full, x["sat"], x["sat_sp"], x["heating_valve"])


def _fc8(x: pd.DataFrame, p: RuleParams, states: pd.Series) -> pd.Series:
    tolerance = np.hypot(p.sat_tolerance_k, p.mat_tolerance_k)
    off = (x["sat"] - p.fan_heat_k - x["mat"]).abs() > tolerance
    return _flag(off, x["sat"], x["mat"])


def _fc9(x: pd.DataFrame, p: RuleParams, states: pd.Series) -> pd.Series:
    warm = x["oat"] - p.oat_tolerance_k > x["sat_sp"] - p.fan_heat_k + p.sat_tolerance_k
    return _flag(warm, x["oat"], x["sat_sp"])


def _fc10(x: pd.DataFrame, p: RuleParams, states: pd.Series) -> pd.Series:
    tolerance = np.hypot(p.mat_tolerance_k, p.oat_tolerance_k)
    return _flag((x["mat"] - x["oat"]).abs() > tolerance, x["mat"], x["oat"])


def _fc11(x: pd.DataFrame, p: RuleParams, states: pd.Series) -> pd.Series:
    cold = x["oat"] + p.oat_tolerance_k < x["sat_sp"] - p.fan_heat_k - p.sat_tolerance_k
    return _flag(cold, x["oat"], x["sat_sp"])


def _fc12(x: pd.DataFrame, p: RuleParams, states: pd.Series) -> pd.Series:
    high = x["sat"] - p.sat_tolerance_k - p.fan_heat_k >= x["mat"] + p.mat_tolerance_k
    return _flag(high, x["sat"], x["mat"])


def _fc13(x: pd.DataFrame, p: RuleParams, states: pd.Series) -> pd.Series:
    high = x["sat"] > x["sat_sp"] + p.sat_tolerance_k
    full = x["cooling_valve"] >= p.valve_full_open_pct
    return _flag(high & full, x["sat"], x["sat_sp"], x["cooling_valve"])


def _apar_heat_cool(x: pd.DataFrame, p: RuleParams, states: pd.Series) -> pd.Series:
    both = (x["heating_valve"] > p.valve_open_pct) & (x["cooling_valve"] > p.valve_open_pct)
    return _flag(both, x["heating_valve"], x["cooling_valve"])


def _apar_sat_control(x: pd.DataFrame, p: RuleParams, states: pd.Series) -> pd.Series:
    error = (x["sat"] - x["sat_sp"]).abs() > p.sat_control_tolerance_k
    return _flag(error, x["sat"], x["sat_sp"])


_RUNNING = frozenset(RUNNING_STATES)
_CONTROLLING = frozenset({S.HEATING, S.ECONOMISER, S.ECONOMISER_COOLING, S.COOLING})

#: The rule set, in G36 order.
AHU_RULES: tuple[Rule, ...] = (
    Rule(
        "FC1",
        "duct static pressure below set point with the supply fan at full speed",
        ("duct_static", "duct_static_sp", "fan_speed"),
        _RUNNING,
        _fc1,
    ),
    Rule(
        "FC2",
        "mixed-air temperature below both return and outdoor air",
        ("mat", "rat", "oat"),
        _RUNNING,
        _fc2,
    ),
    Rule(
        "FC3",
        "mixed-air temperature above both return and outdoor air",
        ("mat", "rat", "oat"),
        _RUNNING,
        _fc3,
    ),
    Rule(
        "FC4",
        "too many operating-state changes per hour (control hunting)",
        ("heating_valve", "cooling_valve", "oa_damper"),
        _RUNNING,
        _fc4,
    ),
    Rule(
        "FC5",
        "supply air not warmer than mixed air while heating",
        ("sat", "mat"),
        frozenset({S.HEATING}),
        _fc5,
    ),
    Rule(
        "FC6",
        "outdoor-air fraction away from the minimum at minimum damper position",
        ("mat", "rat", "oat"),
        frozenset({S.HEATING, S.COOLING, S.VENTILATION}),
        _fc6,
        ("min_oa_fraction",),
        _damper_at_minimum,
    ),
    Rule(
        "FC7",
        "supply air too cold with the heating valve fully open",
        ("sat", "sat_sp", "heating_valve"),
        frozenset({S.HEATING}),
        _fc7,
    ),
    Rule(
        "FC8",
        "supply and mixed air differ (beyond fan heat) with both coils off",
        ("sat", "mat"),
        frozenset({S.ECONOMISER, S.VENTILATION}),
        _fc8,
    ),
    Rule(
        "FC9",
        "outdoor air too warm for free cooling",
        ("oat", "sat_sp"),
        frozenset({S.ECONOMISER}),
        _fc9,
    ),
    Rule(
        "FC10",
        "mixed air differs from outdoor air at 100 % outdoor air",
        ("mat", "oat"),
        frozenset({S.ECONOMISER_COOLING}),
        _fc10,
    ),
    Rule(
        "FC11",
        "outdoor air too cold for mechanical cooling with economiser",
        ("oat", "sat_sp"),
        frozenset({S.ECONOMISER_COOLING}),
        _fc11,
    ),
    Rule(
        "FC12",
        "supply air warmer than mixed air while cooling",
        ("sat", "mat"),
        frozenset({S.ECONOMISER_COOLING, S.COOLING}),
        _fc12,
    ),
    Rule(
        "FC13",
        "supply air too warm with the cooling valve fully open",
        ("sat", "sat_sp", "cooling_valve"),
        frozenset({S.ECONOMISER_COOLING, S.COOLING}),
        _fc13,
    ),
    Rule(
        "APAR_HEAT_COOL",
        "heating and cooling valves open at the same time",
        ("heating_valve", "cooling_valve"),
        _RUNNING,
        _apar_heat_cool,
    ),
    Rule(
        "APAR_SAT_CONTROL",
        "persistent supply-air temperature control error",
        ("sat", "sat_sp"),
        _CONTROLLING,
        _apar_sat_control,
        symptom=True,
    ),
)
