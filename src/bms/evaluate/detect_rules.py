"""``bms detect`` on an air-handling unit's export: the AHU rules beside the learned detector.

A learned detector judges TEST by what TRAIN showed. A few normal days rarely show every
operating point (a heating valve fully open, say), and a fault that keeps the supply air at a
usual temperature while the valve says otherwise passes unseen. The ASHRAE Guideline 36 and
NIST APAR rules (:mod:`bms.models.rules`) need no training: they state what must hold in each
operating state. When the feature columns name an AHU's points
(:func:`bms.features.role_names.guess_ahu_roles`), :func:`ahu_rule_flags` runs them on TEST.

TRAIN guards them: TRAIN is normal operation, so a rule that holds a confirmed fault on more
than :data:`RULE_FALSE_ALARM_RATE` of TRAIN's evaluated rows does not fit this unit (its set
points, its sensors, a sequence the rule's defaults do not know) and is left out, with a note.
When most of those faults lie on one day of several, for an hour or more, the note names that
day: it may be a fault inside TRAIN, which the learned detector also takes for normal operation
(one faulted day added to MZVAV-2-2's eight training days: row F1 down by 0.11 in the median,
0.42 at worst, ``benchmarks/bench_detect_contaminated.py``), and the user can take it out and
run again.
The rules run with G36's defaults, but for FC6's reference, read off TRAIN when the file gives
no design minimum (:mod:`bms.models.rule_params_learnt`): nothing is fitted on labels.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from bms.features.role_names import (
    ahu_role_frame,
    ahu_role_matches,
    equipment_tag,
    guess_ahu_roles,
    temperature_names_disagreeing,
)
from bms.models.rule_params_learnt import learn_damper_positions
from bms.models.rules import AHU_RULES, RuleParams, RuleResult, evaluate_rules

__all__ = [
    "MIN_AHU_ROLES",
    "RULE_FALSE_ALARM_RATE",
    "SYMPTOM_RULES",
    "RuleFlags",
    "ahu_rule_flags",
    "ahu_rule_flags_by_unit",
    "names_an_ahu",
    "one_day_note",
    "several_units_note",
]

#: Fewest recognised AHU roles (besides the fan's) for the rules to run: fewer would leave
#: nearly every rule skipped for missing points.
MIN_AHU_ROLES = 4
#: A rule in fault on more than this share of TRAIN's evaluated rows is left out: the learned
#: detector's own false-alarm rate on TRAIN (1 %).
RULE_FALSE_ALARM_RATE = 0.01
#: A left-out rule's TRAIN faults are said to lie on one day when at least this share of them
#: does (and TRAIN spans several days) ...
ONE_DAY_SHARE = 0.8
#: ... for at least this long [h]: a fault under way, not a start-up (on clean MZVAV-2-2
#: days FC9 and APAR_SAT_CONTROL hold for 5-20 minutes at the morning start).
ONE_DAY_MIN_HOURS = 1.0
#: Rules stating a consequence many faults share (the supply air off its set point): listed
#: after the more specific rules in fault on the same rows, which name the fault.
SYMPTOM_RULES = frozenset(rule.code for rule in AHU_RULES if rule.symptom)


@dataclass(frozen=True)
class RuleFlags:
    """What :func:`ahu_rule_flags` found, one entry per TEST row."""

    #: True where at least one rule holds a confirmed fault.
    flags: NDArray[np.bool_]
    #: Comma-separated codes of the rules in fault ("" elsewhere).
    codes: NDArray[np.object_]
    #: The column a rule's fault is read on (its first point), "" elsewhere.
    columns: NDArray[np.object_]
    #: Codes of the rules that ran on TEST.
    applied: tuple[str, ...]
    #: Role -> column recognised.
    roles: dict[str, str]
    #: One line per thing the user should know (units decided, rules left out and why).
    notes: tuple[str, ...]


def _train_faults(frame: pd.DataFrame, params: RuleParams) -> tuple[pd.DataFrame, pd.Series]:
    """Per TRAIN row and rule, whether the rule holds a confirmed fault; and per rule, the share
    of its evaluated (pass or fault) rows in fault."""
    report = evaluate_rules(frame, params, check_units=False)  # units decided by ahu_role_frame
    evaluated = report.rows.isin([RuleResult.FAULT.value, RuleResult.PASS.value]).sum()
    faults = report.faults()
    return faults, faults.sum() / evaluated.where(evaluated > 0)


def one_day_note(in_fault: pd.Series) -> str:
    """``"; 93% of them on 2008-05-08 (06:12 to 23:59): ..."`` when at least
    :data:`ONE_DAY_SHARE` of a rule's TRAIN faults (True rows of ``in_fault``, indexed by time
    in order) lie on one calendar day, for :data:`ONE_DAY_MIN_HOURS` or more (rows times the
    median step), and TRAIN spans several days; else ``""``."""
    index = pd.DatetimeIndex(in_fault.index)
    days = index.normalize()
    if days.nunique() < 2 or not in_fault.any():
        return ""
    fault_days = days[in_fault.to_numpy()]
    counts = pd.Series(fault_days).value_counts()
    share = counts.iloc[0] / len(fault_days)
    step = pd.Series(index).diff().median()
    if share < ONE_DAY_SHARE or counts.iloc[0] * step < pd.Timedelta(hours=ONE_DAY_MIN_HOURS):
        return ""
    times = index[in_fault.to_numpy() & (days == counts.index[0])]
    return (
        f"; {share:.0%} of them on {counts.index[0]:%Y-%m-%d} ({times.min():%H:%M} to "
        f"{times.max():%H:%M}): if a fault was under way then, take that day out of TRAIN "
        "and run again (a fault in TRAIN is learnt as normal)"
    )


def names_an_ahu(roles: dict[str, str]) -> bool:
    """Whether recognised roles are enough for the rules: a fan's status or speed, the supply
    air temperature and :data:`MIN_AHU_ROLES` other points."""
    running = {"fan_status", "fan_speed"} & roles.keys()
    return bool(running) and len(roles.keys() - running) >= MIN_AHU_ROLES and "sat" in roles


def _units(columns: pd.Index) -> dict[str, list[str]]:
    """Unit (``AHU-1``: :func:`~bms.features.role_names.equipment_tag`) -> its columns and the
    columns that name no unit (points the units share, such as the outdoor air); empty unless
    two units or more are named."""
    shared = [str(c) for c in columns if not equipment_tag(str(c))]
    units: dict[str, list[str]] = {}
    for column in columns:
        if unit := equipment_tag(str(column)):
            units.setdefault(unit, []).append(str(column))
    return {u: [*cols, *shared] for u, cols in units.items()} if len(units) > 1 else {}


def several_units_note(columns: pd.Index) -> str:
    """A line when the columns name the points of several AHUs (at least :data:`MIN_AHU_ROLES`
    roles matched by more than one column each) that no unit named in them tells apart: the
    rules, which judge one unit, cannot choose between them and do not run; "" otherwise."""
    doubled = {role: cols for role, cols in ahu_role_matches(columns).items() if len(cols) > 1}
    if len(doubled) < MIN_AHU_ROLES:
        return ""
    units = _units(columns)
    if units and all(names_an_ahu(guess_ahu_roles(cols)) for cols in units.values()):
        return ""  # told apart: the rules run on each (ahu_rule_flags_by_unit)
    example = next(iter(doubled.values()))
    shown = ", ".join(repr(c) for c in example[:3]) + (", ..." if len(example) > 3 else "")
    return (
        f"{len(doubled)} air-handling-unit points named by more than one column each ({shown}): "
        "several units in one file? The AHU rules and the alarm held while a fan is stopped "
        "judge one unit and were not applied; run bms detect once per unit (--ignore the "
        "other units' columns)"
    )


def ahu_rule_flags_by_unit(x_train: pd.DataFrame, x_test: pd.DataFrame) -> RuleFlags | None:
    """The AHU rules on each unit of a plant's export whose columns name their unit
    (``AHU-1: Supply Air Temperature``, ``Supply Air Temperature (AHU-2)``...; columns naming no
    unit are shared by every unit), else on the one unit the columns name
    (:func:`ahu_rule_flags`). A unit's rule codes, roles and notes are prefixed with its name
    (``AHU-2 FC7``)."""
    units = _units(x_train.columns)
    found = {u: ahu_rule_flags(x_train[cols], x_test[cols]) for u, cols in units.items()}
    found = {u: flags for u, flags in found.items() if flags is not None}
    if len(found) < 2:
        return ahu_rule_flags(x_train, x_test)
    flags = np.logical_or.reduce([f.flags for f in found.values()])
    codes = np.full(len(x_test), "", dtype=object)
    columns = np.full(len(x_test), "", dtype=object)
    for unit, unit_flags in found.items():
        for i in np.flatnonzero(unit_flags.flags):
            named = ",".join(f"{unit} {code}" for code in unit_flags.codes[i].split(","))
            codes[i] = f"{codes[i]},{named}" if codes[i] else named
            columns[i] = columns[i] or unit_flags.columns[i]
    return RuleFlags(
        flags=flags,
        codes=codes,
        columns=columns,
        applied=tuple(f"{u} {code}" for u, f in found.items() for code in f.applied),
        roles={f"{u} {role}": c for u, f in found.items() for role, c in f.roles.items()},
        notes=tuple(f"{u}: {note}" for u, f in found.items() for note in f.notes),
    )


def ahu_rule_flags(x_train: pd.DataFrame, x_test: pd.DataFrame) -> RuleFlags | None:
    """The AHU rules on TEST when the columns name an AHU's points, else None.

    Parameters
    ----------
    x_train, x_test : DataFrame
        Numeric feature columns (same names), rows in time order, indexed by time
        (DatetimeIndex): the rules need times (their 30-minute confirmation).

    Returns
    -------
    RuleFlags or None
        None when too few AHU points are recognised; flags all False (and a note) when they
        are but the rules cannot run.
    """
    roles = guess_ahu_roles(x_train.columns)
    if not names_an_ahu(roles):
        return None
    empty = np.full(len(x_test), "", dtype=object)
    nothing = RuleFlags(np.zeros(len(x_test), dtype=bool), empty, empty.copy(), (), roles, ())
    found = f"{len(roles)} air-handling-unit points recognised by name"
    timed = (isinstance(x.index, pd.DatetimeIndex) for x in (x_train, x_test))
    if not all(timed):
        note = f"{found}; the AHU rules need a time column of dates and times: not applied"
        return dataclasses.replace(nothing, notes=(note,))
    # one conversion of TRAIN and TEST together: both read in the same units
    both, decisions = ahu_role_frame(pd.concat([x_train, x_test]), roles)
    train, test = both.iloc[: len(x_train)], both.iloc[len(x_train) :]
    params, positions = RuleParams(), learn_damper_positions(train)
    if positions is not None:  # a CSV gives no design minimum: FC6 judges what TRAIN shows
        params = positions.params(params)
    train_faults, shares = _train_faults(train, params)
    noisy = shares[shares > RULE_FALSE_ALARM_RATE]
    kept = tuple(rule for rule in AHU_RULES if rule.code not in noisy.index)
    report = evaluate_rules(test, params, rules=kept, check_units=False)  # decided on TRAIN
    faults = report.faults()
    evaluated = (RuleResult.PASS, RuleResult.FAULT)
    ran = tuple(code for code, result in report.summary.items() if result in evaluated)
    units = ", ".join(decisions) or "canonical units"
    applied = ", ".join(ran) or "none could judge a TEST row (points or running rows missing)"
    notes = [f"{found} ({units}); AHU rules applied: {applied}"]
    mislabelled, unit = temperature_names_disagreeing(roles, decisions)
    if mislabelled:
        notes.append(
            f"{', '.join(map(repr, mislabelled))}: the name says another unit than the air "
            f"temperatures' values, which read as {unit} and are taken so; check the export"
        )
    if positions is not None and "FC6" in ran:
        notes.append(
            "AHU rule FC6 judges the outdoor-air fraction against what TRAIN shows at each "
            f"damper position it holds ({positions.describe()})"
        )
        if shut := positions.open_when_shut(params):
            notes.append(
                f"TRAIN lets in an outdoor-air fraction of {shut[1]:.2f} with the damper "
                f"commanded shut ({shut[0]:g} %): a damper that leaks or does not close (a fault "
                "in TRAIN is learnt as normal), or a minimum outdoor-air path the file does not "
                "show"
            )
    notes += [
        f"AHU rule {code} holds on {share:.1%} of TRAIN's rows (more than "
        f"{RULE_FALSE_ALARM_RATE:.0%}): left out, as TRAIN is normal operation"
        + one_day_note(train_faults[code])
        for code, share in noisy.items()
    ]
    values = faults.to_numpy()
    flags = values.any(axis=1)
    codes = np.array(faults.columns, dtype=object)
    first = {rule.code: roles.get(rule.requires[0], "") for rule in kept}
    joined = np.full(len(values), "", dtype=object)
    columns = np.full(len(values), "", dtype=object)
    for i in np.flatnonzero(flags):  # the flagged rows only: few on a healthy unit
        in_fault = sorted(codes[values[i]], key=lambda code: code in SYMPTOM_RULES)
        joined[i], columns[i] = ",".join(in_fault), first.get(in_fault[0], "")
    return RuleFlags(flags, joined, columns, ran, roles, tuple(notes))
