"""Rule-based fault detection for air-handling units (G36 fault conditions, APAR rules).

A rule never silently passes: at each step its result is one of :class:`RuleResult`, e.g.
``SKIPPED_MISSING_POINTS`` when the unit lacks a sensor the rule needs, ``SKIPPED_EQUIPMENT_OFF``
when the fan is off, ``SKIPPED_NOT_APPLICABLE_STATE`` outside the operating states the rule is
meant for, ``INSUFFICIENT_DATA`` when a needed value is missing at that step. A condition becomes
a ``FAULT`` only after it has held continuously for ``confirm_seconds`` (persistence); until then
the step is a ``PASS``. Every report carries the SHA-256 fingerprint of its resolved
parameters, so an alert can be traced to the configuration that raised it.

Usage::

    ahu = apply_role_map(wide, role_map_for(equipment))    # role columns, SI units
    report = evaluate_rules(ahu, rule_params_for(equipment))
    report.summary          # rule code -> RuleResult over the window
    report.rows             # (n_steps, n_rules) per-step results
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import numpy as np
import pandas as pd

from bms.errors import ConfigError, SchemaError
from bms.features.role_names import FAHRENHEIT_ABOVE
from bms.features.states import ahu_states, fan_on
from bms.models.rules_ahu import AHU_RULES, Rule, RuleParams
from bms.site.model import Equipment

__all__ = [
    "AHU_RULES",
    "Rule",
    "RuleParams",
    "RuleResult",
    "RulesReport",
    "daily_fault_share",
    "evaluate_rules",
    "params_fingerprint",
    "resolve_params",
    "rule_params_for",
    "step_seconds",
]


class RuleResult(StrEnum):
    """The outcome of a rule at one step, or over a window."""

    PASS = "PASS"
    FAULT = "FAULT"
    SKIPPED_MISSING_POINTS = "SKIPPED_MISSING_POINTS"
    SKIPPED_EQUIPMENT_OFF = "SKIPPED_EQUIPMENT_OFF"
    SKIPPED_NOT_APPLICABLE_STATE = "SKIPPED_NOT_APPLICABLE_STATE"
    INSUFFICIENT_DATA = "INSUFFICIENT_DATA"


_VOCABULARY = [r.value for r in RuleResult]
_CODE = {r: i for i, r in enumerate(RuleResult)}


def resolve_params(
    params: RuleParams | Mapping[str, Any] | None = None, **overrides: Any
) -> RuleParams:
    """Defaults, then ``params`` (a RuleParams or a mapping), then keyword overrides.

    Raises
    ------
    ConfigError
        An unknown parameter name, or a value that is not a finite number >= 0 (every
        parameter is a tolerance, a share or a duration), or ``oa_fraction_at_damper``
        pairs that are not (damper command >= 0, finite fraction).
    """
    base = params if isinstance(params, RuleParams) else RuleParams()
    changes = dict(params) if isinstance(params, Mapping) else {}
    changes |= overrides
    names = {f.name for f in dataclasses.fields(RuleParams)}
    for key, value in changes.items():
        if key not in names:
            raise ConfigError(f"unknown rule parameter {key!r}; known: {', '.join(sorted(names))}")
        if value is None:
            continue
        if key == "oa_fraction_at_damper":
            changes[key] = _positions(value)
            continue
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigError(f"rule parameter {key!r} must be a number, got {value!r}")
        if not math.isfinite(value) or value < 0:  # tolerances, shares, durations: all >= 0
            raise ConfigError(f"rule parameter {key!r} must be a finite number >= 0, got {value}")
    return dataclasses.replace(base, **changes)


def _positions(value: Any) -> tuple[tuple[float, float], ...]:
    """``oa_fraction_at_damper`` as a tuple of (damper %, fraction) pairs: a damper command
    >= 0, a finite fraction (of either sign: a mixed-air sensor reading stratified air can put
    a shut damper's fraction a little below 0).

    Raises
    ------
    ConfigError
        Anything else, naming the parameter.
    """
    try:
        pairs = tuple((float(d), float(f)) for d, f in value)
    except (TypeError, ValueError):
        raise ConfigError(
            f"rule parameter 'oa_fraction_at_damper' must be (damper %, fraction) pairs, got "
            f"{value!r}"
        ) from None
    if not all(math.isfinite(d) and d >= 0 and math.isfinite(f) for d, f in pairs):
        raise ConfigError(
            "rule parameter 'oa_fraction_at_damper' must hold damper commands >= 0 and finite "
            f"fractions, got {value!r}"
        )
    return pairs


def params_fingerprint(params: RuleParams) -> str:
    """SHA-256 (hex) of the parameters as canonical JSON (sorted keys, no spaces)."""
    text = json.dumps(dataclasses.asdict(params), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def rule_params_for(equipment: Equipment, **overrides: Any) -> RuleParams:
    """Rule parameters of a site AHU: its ``min_oa_fraction`` sets FC6 and the damper minimum."""
    values: dict[str, Any] = {}
    min_oa = equipment.parameters.get("min_oa_fraction")
    if isinstance(min_oa, int | float):
        values = {"min_oa_fraction": float(min_oa), "damper_min_pct": 100.0 * float(min_oa)}
    return resolve_params(values, **overrides)


@dataclass(frozen=True)
class RulesReport:
    """What :func:`evaluate_rules` returns.

    Attributes
    ----------
    rows : DataFrame of shape (n_steps, n_rules)
        Per-step :class:`RuleResult` values (categorical of str), one column per rule code.
    summary : dict of str to RuleResult
        Per rule over the whole window: FAULT if any step is, else PASS if any step is, else
        the reason it never ran (missing points, equipment off, never in its states, no data).
    missing : dict of str to tuple of str
        Per rule, the roles or parameters it lacked.
    states : Series of shape (n_steps,)
        The operating states used.
    params : RuleParams
    fingerprint : str
        :func:`params_fingerprint` of ``params``.
    """

    rows: pd.DataFrame
    summary: dict[str, RuleResult]
    missing: dict[str, tuple[str, ...]]
    states: pd.Series
    params: RuleParams
    fingerprint: str

    def faults(self) -> pd.DataFrame:
        """Boolean frame (n_steps, n_rules): True where the rule is in FAULT."""
        return self.rows == RuleResult.FAULT.value

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary: fingerprint, parameters and per-rule counts."""
        rules = {}
        for code in self.rows.columns:
            counts = self.rows[code].value_counts()
            rules[code] = {
                "result": self.summary[code].value,
                "fault_steps": int(counts.get(RuleResult.FAULT.value, 0)),
                "evaluated_steps": int(
                    counts.get(RuleResult.FAULT.value, 0) + counts.get(RuleResult.PASS.value, 0)
                ),
                "missing": list(self.missing.get(code, ())),
            }
        return {
            "fingerprint": self.fingerprint,
            "params": dataclasses.asdict(self.params),
            "rules": rules,
        }


def step_seconds(index: pd.Index) -> float:
    """The rows' typical step [s]: the median step between distinct times, shared by the rows
    of one time (times written to the minute for readings every 10 s give 10 s, not 0); 0
    without times or with fewer than two distinct ones."""
    if not isinstance(index, pd.DatetimeIndex) or len(index) < 2:
        return 0.0
    steps = np.diff(index.as_unit("ns").asi8)
    forward = steps[steps > 0]
    if forward.size == 0:
        return 0.0
    rows_per_time = len(index) / (forward.size + 1)
    return float(np.median(forward)) / 1e9 / max(rows_per_time, 1.0)


def _persisted(condition: np.ndarray, step_s: float, confirm_seconds: float) -> np.ndarray:
    """True where ``condition`` has held for ``confirm_seconds`` (counting this step); never
    when the step is unknown (``step_s`` 0: a single row, or a single time), as no duration
    can then be told."""
    if confirm_seconds <= 0:
        return condition.copy()
    if step_s <= 0:
        return np.zeros_like(condition, dtype=bool)
    needed = max(int(np.ceil(confirm_seconds / step_s)), 1)
    total = np.cumsum(condition, dtype=np.int64)
    at_last_false = np.maximum.accumulate(np.where(condition, 0, total))
    held = total - at_last_false  # length of the current run of True, 0 where False
    return held >= needed


def _summarise(results: pd.Series) -> RuleResult:
    values = {str(v) for v in results.unique()}
    for verdict in (RuleResult.FAULT, RuleResult.PASS, RuleResult.SKIPPED_MISSING_POINTS):
        if verdict.value in values:
            return verdict
    if values == {RuleResult.SKIPPED_EQUIPMENT_OFF.value}:
        return RuleResult.SKIPPED_EQUIPMENT_OFF
    if RuleResult.INSUFFICIENT_DATA.value in values:
        return RuleResult.INSUFFICIENT_DATA
    return RuleResult.SKIPPED_NOT_APPLICABLE_STATE


def _missing(ahu: pd.DataFrame, rule: Rule, params: RuleParams) -> tuple[str, ...]:
    roles = [r for r in rule.requires if r not in ahu or not ahu[r].notna().any()]
    return (*roles, *(name for name in rule.requires_params if getattr(params, name) is None))


#: The role frame's commands, in % of full travel.
_COMMAND_ROLES = ("fan_speed", "oa_damper", "cooling_valve", "heating_valve")


def _check_canonical_units(ahu: pd.DataFrame) -> None:
    """Raise SchemaError when the role frame's temperatures look like °F or its commands like
    0-1 fractions: the rules' thresholds are in °C and %, and such a frame gave plausible,
    wrong results (every running minute read as ventilation, FC8 on all 13 normal LBNL days)."""
    basis = next((r for r in ("rat", "sat", "mat") if r in ahu and ahu[r].notna().any()), None)
    if basis is not None and float(np.nanmedian(ahu[basis])) > FAHRENHEIT_ABOVE:
        raise SchemaError(
            f"the AHU frame's {basis!r} has a median of {float(np.nanmedian(ahu[basis])):.0f}: "
            "°F? The rules take °C; build the frame with bms.features.role_names.ahu_role_frame, "
            "which converts"
        )
    commands = [r for r in _COMMAND_ROLES if r in ahu and ahu[r].notna().any()]
    if commands and float(ahu[commands].max().max()) <= 1.0 and ahu[commands].to_numpy().any():
        raise SchemaError(
            f"the AHU frame's commands ({', '.join(commands)}) stay within 0-1: fractions? The "
            "rules take %; build the frame with bms.features.role_names.ahu_role_frame, which "
            "converts"
        )


def evaluate_rules(
    ahu: pd.DataFrame,
    params: RuleParams | Mapping[str, Any] | None = None,
    rules: Iterable[Rule] = AHU_RULES,
    *,
    check_units: bool = True,
) -> RulesReport:
    """Evaluate the AHU rules at every step of a role frame.

    Parameters
    ----------
    ahu : DataFrame of shape (n_steps, n_roles)
        Regular-step DatetimeIndex, role columns in canonical units (°C, %, Pa, 0/1); see
        :mod:`bms.features.roles`. ``fan_status`` or ``fan_speed`` is needed to know when the
        unit runs; without either every rule is ``SKIPPED_MISSING_POINTS``.
    params : RuleParams or mapping, optional
        Thresholds; defaults are G36's (see :class:`RuleParams`).
    rules : iterable of Rule
        Default :data:`AHU_RULES`.
    check_units : bool, default=True
        Refuse temperatures that look like °F and commands that look like 0-1 fractions
        (off when the caller decided the units on other rows, as ``bms detect`` does on TRAIN:
        a short TEST with every valve under 1 % is not a frame of fractions).

    Returns
    -------
    RulesReport

    Raises
    ------
    SchemaError
        ``ahu`` is not indexed by time, its rows are not in time order, or (``check_units``)
        its temperatures look like °F or its commands like 0-1 fractions.
    """
    if not isinstance(ahu.index, pd.DatetimeIndex):
        raise SchemaError("the AHU frame must have a DatetimeIndex (one row per time step)")
    if not ahu.index.is_monotonic_increasing:  # a rule's confirmation runs forward in time
        raise SchemaError(
            "the AHU frame's rows are not in time order: sort them (frame.sort_index()); "
            "newest first, no fault could ever be confirmed"
        )
    if check_units:
        _check_canonical_units(ahu)
    resolved = resolve_params(params)
    state_params = resolved.state_params()
    states = ahu_states(ahu, state_params)
    running = fan_on(ahu, state_params)
    off = np.zeros(len(ahu), dtype=bool) if running is None else ~running.to_numpy()
    state_values = states.to_numpy()
    step_s = step_seconds(ahu.index)
    rows: dict[str, pd.Categorical[str]] = {}
    summary: dict[str, RuleResult] = {}
    missing: dict[str, tuple[str, ...]] = {}
    for rule in rules:
        lacks = _missing(ahu, rule, resolved)
        if running is None:
            lacks = ("fan_status or fan_speed", *lacks)
        if lacks:
            missing[rule.code] = lacks
            codes = np.full(len(ahu), _CODE[RuleResult.SKIPPED_MISSING_POINTS], dtype=np.int8)
        else:
            applies = np.isin(state_values, [s.value for s in rule.states])
            if rule.applies is not None:
                applies &= rule.applies(ahu, resolved).to_numpy(dtype=bool)
            condition = rule.condition(ahu, resolved, states).to_numpy(dtype=float)
            unknown = applies & np.isnan(condition)
            holds = applies & (condition == 1.0)
            fault = _persisted(holds, step_s, resolved.confirm_seconds)
            codes = np.select(
                [off, ~applies, unknown, fault],
                [
                    _CODE[RuleResult.SKIPPED_EQUIPMENT_OFF],
                    _CODE[RuleResult.SKIPPED_NOT_APPLICABLE_STATE],
                    _CODE[RuleResult.INSUFFICIENT_DATA],
                    _CODE[RuleResult.FAULT],
                ],
                default=_CODE[RuleResult.PASS],
            ).astype(np.int8)
        rows[rule.code] = pd.Categorical.from_codes(
            codes.astype(np.int64), categories=pd.Index(_VOCABULARY)
        )
        summary[rule.code] = _summarise(pd.Series(rows[rule.code]))
    frame = pd.DataFrame(rows, index=ahu.index)
    return RulesReport(frame, summary, missing, states, resolved, params_fingerprint(resolved))


def daily_fault_share(report: RulesReport, timezone: str = "UTC") -> pd.DataFrame:
    """Per local day: share of evaluated steps in FAULT for any rule, and per rule.

    A step counts as evaluated when at least one rule gave PASS or FAULT there.

    Returns
    -------
    DataFrame indexed by day
        ``fault_share`` [0-1] (any rule), ``evaluated_steps``, ``faulted_rules`` (codes with a
        confirmed fault that day, comma-separated) and one ``<code>`` share column per rule.
    """
    faults = report.faults()
    evaluated = report.rows.isin([RuleResult.FAULT.value, RuleResult.PASS.value])
    index = pd.DatetimeIndex(report.rows.index)
    day = (index.tz_convert(timezone) if index.tz is not None else index).date
    any_fault = faults.any(axis=1) & evaluated.any(axis=1)
    grouped = pd.DataFrame(
        {"fault": any_fault, "evaluated": evaluated.any(axis=1)}, index=report.rows.index
    ).groupby(day)
    out = pd.DataFrame(
        {
            "fault_share": grouped["fault"].sum()
            / grouped["evaluated"].sum().where(lambda n: n > 0),
            "evaluated_steps": grouped["evaluated"].sum().astype(int),
        }
    )
    per_rule = faults.groupby(day).sum() / evaluated.groupby(day).sum().where(lambda n: n > 0)
    faulted_on = faults.groupby(day).any()
    out["faulted_rules"] = [
        ",".join(c for c in faults.columns if faulted_on.loc[d, c]) for d in out.index
    ]
    out.index.name = "day"
    return pd.concat([out, per_rule], axis=1)
