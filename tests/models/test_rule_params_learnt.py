"""FC6 at the damper positions normal operation holds, learnt when no design minimum is given."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from bms.errors import ConfigError
from bms.models.rule_params_learnt import (
    MIN_POSITION_ROWS,
    DamperPositions,
    learn_damper_positions,
)
from bms.models.rules import AHU_RULES, RuleParams, RuleResult, evaluate_rules, resolve_params

FC6 = [rule for rule in AHU_RULES if rule.code == "FC6"]


def ventilating_ahu(
    dampers: list[float], fractions: list[float], hours: float = 2.0
) -> pd.DataFrame:
    """A role frame (°C, %) in ventilation, one block of ``hours`` at 1 min per damper
    position, the mixed air made by the given outdoor-air fraction of 5 °C outdoor and 21 °C
    return air."""
    n = int(hours * 60)
    damper = np.repeat(dampers, n)
    fraction = np.repeat(fractions, n)
    index = pd.date_range("2026-01-05 08:00", periods=len(damper), freq="1min", tz="UTC")
    oat, rat = 5.0, 21.0
    return pd.DataFrame(
        {
            "fan_status": 1.0,
            "oa_damper": damper,
            "oat": oat,
            "rat": rat,
            "mat": rat + fraction * (oat - rat),
            "sat": rat + fraction * (oat - rat) + 1.1,
            "heating_valve": 0.0,
            "cooling_valve": 0.0,
        },
        index=index,
    )


def test_each_held_position_gets_its_own_fraction() -> None:
    # a unit shut at night (fraction 0.01) and at 15 % by day (0.27), as LBNL's FLEXLAB unit
    normal = ventilating_ahu([0.0, 15.0], [0.01, 0.27])
    learnt = learn_damper_positions(normal)
    assert learnt is not None
    assert [(d, round(f, 3)) for d, f, _ in learnt.positions] == [(0.0, 0.01), (15.0, 0.27)]
    params = learnt.params(RuleParams())
    assert params.oa_fraction_at_damper == ((0.0, pytest.approx(0.01)), (15.0, pytest.approx(0.27)))
    assert params.min_oa_fraction == pytest.approx(0.01)
    assert learnt.describe() == "0.01 at 0 % open, 0.27 at 15 %"
    # the normal rows pass at both positions: one minimum would put one of them in fault
    report = evaluate_rules(normal, params, rules=FC6)
    assert report.summary["FC6"] is RuleResult.PASS
    one_minimum = evaluate_rules(normal, RuleParams(min_oa_fraction=0.01), rules=FC6)
    assert one_minimum.summary["FC6"] is RuleResult.FAULT


def test_a_shut_damper_letting_in_outdoor_air_is_a_fault_after_half_an_hour() -> None:
    params = learn_damper_positions(ventilating_ahu([0.0, 15.0], [0.01, 0.27])).params(  # type: ignore[union-attr]
        RuleParams()
    )
    # commanded shut, but the mixed air is a quarter outdoor air: stuck part-open or leaking
    report = evaluate_rules(ventilating_ahu([0.0], [0.25], hours=1.0), params, rules=FC6)
    rows = report.rows["FC6"]
    assert (rows.iloc[:29] == RuleResult.PASS.value).all()
    assert (rows.iloc[30:] == RuleResult.FAULT.value).all()
    # the same fraction at 15 % is what normal operation showed there
    assert (
        evaluate_rules(ventilating_ahu([15.0], [0.25]), params, rules=FC6).summary["FC6"]
        is RuleResult.PASS
    )


def test_a_position_normal_operation_never_held_is_not_judged() -> None:
    params = DamperPositions(((0.0, 0.01, 120), (15.0, 0.27, 120))).params(RuleParams())
    report = evaluate_rules(ventilating_ahu([8.0], [0.6]), params, rules=FC6)
    assert report.summary["FC6"] is RuleResult.SKIPPED_NOT_APPLICABLE_STATE


def test_too_few_rows_or_a_missing_point_learn_nothing() -> None:
    short = ventilating_ahu([0.0], [0.01], hours=(MIN_POSITION_ROWS - 1) / 60)
    assert learn_damper_positions(short) is None
    assert learn_damper_positions(ventilating_ahu([0.0], [0.01]).drop(columns="mat")) is None
    # outdoor and return air too close for a fraction (G36's ΔT_min): nothing to learn from
    mild = ventilating_ahu([0.0], [0.01]).assign(oat=18.0)
    assert learn_damper_positions(mild) is None


def test_a_modulating_damper_teaches_no_position() -> None:
    # an economiser sweeping 20-100 %: no command is held for an hour
    normal = ventilating_ahu(list(np.linspace(0.0, 100.0, 120)), [0.01] * 120, hours=1 / 60)
    assert learn_damper_positions(normal) is None


@pytest.mark.parametrize("bad", ["0.2", [(10.0,)], [(-5.0, 0.1)], [(float("nan"), 0.2)]])
def test_bad_positions_are_refused_naming_the_parameter(bad) -> None:
    with pytest.raises(ConfigError, match="oa_fraction_at_damper"):
        resolve_params(oa_fraction_at_damper=bad)


def test_positions_given_as_lists_are_read_as_pairs() -> None:
    # a shut damper's fraction may read a little below 0 (stratified mixed air)
    params = resolve_params({"oa_fraction_at_damper": [[0, -0.02], [15, 0.27]]})
    assert params.oa_fraction_at_damper == ((0.0, -0.02), (15.0, 0.27))


def test_a_shut_damper_letting_in_outdoor_air_in_normal_operation_is_pointed_out() -> None:
    healthy = learn_damper_positions(ventilating_ahu([0.0, 15.0], [0.01, 0.27]))
    leaking = learn_damper_positions(ventilating_ahu([0.0, 15.0], [0.25, 0.27]))
    assert healthy is not None and healthy.open_when_shut() is None
    assert leaking is not None and leaking.open_when_shut() == (0.0, pytest.approx(0.25))
    # 15 % open letting in a quarter is not "shut"
    assert learn_damper_positions(ventilating_ahu([15.0], [0.25])).open_when_shut() is None  # type: ignore[union-attr]
