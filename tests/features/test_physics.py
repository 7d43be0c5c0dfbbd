"""Physics features on hand-computed values."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from bms.features import physics as ph


def s(*values: float) -> pd.Series:
    return pd.Series(values, dtype=float)


def test_approach_temperature_is_primary_return_minus_secondary_return() -> None:
    assert ph.approach_temperature(s(48.0, 45.0), s(42.0, 43.5)).tolist() == [6.0, 1.5]


def test_hx_effectiveness() -> None:
    # sec heated 40 -> 55 by primary at 70: (55 - 40) / (70 - 40)
    assert ph.hx_effectiveness(s(70.0), s(55.0), s(40.0)).iloc[0] == pytest.approx(0.5)


def test_cop_is_load_over_power_and_nan_when_off() -> None:
    cop = ph.chiller_cop(s(300.0, 0.0), s(100.0, 0.0))
    assert cop.iloc[0] == pytest.approx(3.0)
    assert np.isnan(cop.iloc[1])


def test_cop_residual_is_zero_on_the_data_it_was_fitted_on_and_negative_when_worse() -> None:
    plr = pd.Series(np.linspace(0.2, 1.0, 30))
    cond = pd.Series(np.linspace(30.0, 45.0, 30)[::-1])
    cop = 2.0 + 1.5 * plr - 0.5 * plr**2 - 0.03 * cond
    residual, coefs = ph.cop_residual(cop, plr, cond)
    assert np.abs(residual).max() < 1e-9
    worse, _ = ph.cop_residual(cop * 0.8, plr, cond, coefs)
    assert (worse < 0).all()


def test_expected_carnot_cop_falls_as_the_condenser_warms() -> None:
    cop = ph.expected_cop_carnot(s(7.0, 7.0), s(35.0, 45.0))
    # 0.45 * 276.15 / (308.15 - 276.15) = 3.88
    assert cop.iloc[0] == pytest.approx(0.45 * 276.15 / 32.0)
    assert cop.iloc[1] < cop.iloc[0]


def test_filter_dp_normalised_by_flow_squared() -> None:
    got = ph.filter_dp_per_flow2(s(120.0, 30.0, 50.0), s(2.0, 1.0, 0.1))
    assert got.iloc[0] == pytest.approx(30.0)  # 120 Pa / (2 m3/s)^2
    assert got.iloc[1] == pytest.approx(30.0)  # same filter at half the flow
    assert np.isnan(got.iloc[2])  # fan nearly off
    assert ph.filter_dp_at_flow(s(30.0), s(1.0), design_flow=6.0).iloc[0] == pytest.approx(1080.0)


def test_pump_hydraulic_power_and_efficiency() -> None:
    # 0.02 m3/s x 150 kPa = 3 kW hydraulic; 5 kW electrical -> 60 %
    assert ph.hydraulic_power(s(0.02), s(150_000.0)).iloc[0] == pytest.approx(3.0)
    assert ph.pump_efficiency(s(0.02), s(150_000.0), s(5.0)).iloc[0] == pytest.approx(0.6)
    assert np.isnan(ph.pump_efficiency(s(0.0), s(0.0), s(0.0)).iloc[0])


def test_outdoor_air_fraction_and_mixed_air_residual() -> None:
    oat, rat = s(0.0, 18.0), s(20.0, 20.0)
    mat = s(16.0, 19.0)
    f = ph.oa_fraction(mat, oat, rat)
    assert f.iloc[0] == pytest.approx(0.2)
    assert np.isnan(f.iloc[1])  # |oat - rat| = 2 K < 5.6 K: not judged
    assert ph.mixed_air_residual(mat, oat, rat, 0.2).iloc[0] == pytest.approx(0.0)
    assert ph.mixed_air_residual(mat, oat, rat, 0.5).iloc[0] == pytest.approx(6.0)


def test_oa_fraction_model_recovers_a_linear_damper_map(rng: np.random.Generator) -> None:
    damper = pd.Series(rng.uniform(20, 100, 200))
    oat = pd.Series(rng.uniform(-10, 5, 200))
    rat = pd.Series(np.full(200, 21.0))
    f = 0.05 + 0.9 * damper / 100
    mat = f * oat + (1 - f) * rat
    a, b = ph.fit_oa_fraction_model(damper, mat, oat, rat)
    assert (a, b) == pytest.approx((0.05, 0.9), abs=1e-6)
    assert ph.oa_fraction_from_damper(s(100.0), (a, b)).iloc[0] == pytest.approx(0.95)


def test_coil_gain_is_temperature_change_per_percent_of_valve() -> None:
    delta = ph.coil_delta_t(s(30.0, 16.0), s(10.0, 15.0))
    assert ph.coil_gain(delta, s(50.0, 5.0)).iloc[0] == pytest.approx(0.4)
    assert np.isnan(ph.coil_gain(delta, s(50.0, 5.0)).iloc[1])
    assert ph.supply_temp_error(s(14.0), s(16.0)).iloc[0] == -2.0
    assert ph.specific_fan_power(s(6.0), s(4.0)).iloc[0] == pytest.approx(1.5)
