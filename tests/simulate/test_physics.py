"""Golden checks of the coupled physics: energy balances, affinity laws, plausible ranges."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from bms.simulate import SimulationResult
from bms.site.model import Site

AHU = "besancon/hq/ahu-2"


def test_mixed_air_is_the_outdoor_air_fraction_mix_of_outdoor_and_return_air(
    healthy: SimulationResult,
) -> None:
    ahu = healthy.wide[AHU]
    on = ahu["fan_status"] > 0.5
    f = ahu["oa_damper"][on] / 100.0
    expected = f * ahu["oat"][on] + (1 - f) * ahu["rat"][on]
    residual = ahu["mat"][on] - expected
    assert on.sum() > 500
    assert residual.abs().quantile(0.99) < 1.5  # sensor noise and the AHU's own oat sensor
    low = np.minimum(ahu["oat"], ahu["rat"]) - 0.8
    high = np.maximum(ahu["oat"], ahu["rat"]) + 0.8
    assert ahu["mat"].between(low, high).all()


def test_the_economiser_uses_full_outdoor_air_for_free_cooling(healthy: SimulationResult) -> None:
    ahu = healthy.wide[AHU]
    on = ahu["fan_status"] > 0.5
    free_cooling = on & ahu["oat"].between(16, 19) & (ahu["oat"] < ahu["rat"] - 2)
    hot = on & (ahu["oat"] > 21.5)  # above the economiser high limit
    assert free_cooling.sum() > 20 and hot.sum() > 20
    assert (ahu["oa_damper"][free_cooling] == 100.0).mean() > 0.9
    assert (ahu["oa_damper"][hot] == 20.0).all()  # minimum outdoor air


def test_fan_power_follows_the_cube_of_speed(healthy: SimulationResult) -> None:
    ahu = healthy.wide[AHU]
    on = ahu["fan_status"] > 0.5
    n = ahu["fan_speed"][on] / 100.0
    slope, _ = np.polyfit(np.log(n), np.log(ahu["fan_power"][on]), 1)
    assert abs(slope - 3.0) < 0.1


def test_filter_pressure_drop_scales_with_flow_squared(healthy: SimulationResult) -> None:
    ahu = healthy.wide[AHU]
    on = ahu["fan_speed"] > 40
    slope, _ = np.polyfit(np.log(ahu["supply_flow"][on]), np.log(ahu["filter_dp"][on]), 1)
    assert abs(slope - 2.0) < 0.15


def test_heat_meter_reads_the_substation_heat(cold: SimulationResult) -> None:
    meter = cold.wide["besancon/hq/heat-meter"]["power"]
    hx = cold.wide["besancon/hq/hx-1"]["heat_power"]
    assert np.abs(meter - hx).sum() / hx.sum() < 0.02


def test_electricity_meter_is_fans_plus_pumps_plus_chiller_plus_base(
    healthy: SimulationResult,
) -> None:
    wide = healthy.wide
    parts = sum(wide[f"besancon/hq/ahu-{i}"]["fan_power"] for i in (1, 2, 3))
    parts = parts + sum(wide[f"besancon/hq/pump-{i}"]["power"] for i in (1, 2, 3, 4))
    parts = parts + wide["besancon/hq/chiller-1"]["power"]
    meter = wide["besancon/hq/elec-meter"]
    residual = meter["power"] - parts - meter["_base_kw"]
    assert residual.abs().quantile(0.99) / meter["power"].mean() < 0.02


def test_energy_indexes_are_cumulative_power(healthy: SimulationResult) -> None:
    for name in ("elec-meter", "heat-meter"):
        meter = healthy.wide[f"besancon/hq/{name}"]
        assert (meter["energy"].diff().dropna() >= 0).all()
        consumed = meter["energy"].iloc[-1] - meter["energy"].iloc[0]
        integrated = meter["power"].iloc[1:].sum() * 5 / 60
        assert abs(consumed - integrated) / integrated < 0.01


def test_the_hot_water_loop_carries_the_substation_heat(cold: SimulationResult) -> None:
    hx = cold.wide["besancon/hq/hx-1"]
    flow = sum(cold.wide[f"besancon/hq/pump-{i}"]["flow"] for i in (1, 2))
    carried = 4117.0 * flow * (hx["sec_supply_temp"] - hx["sec_return_temp"])
    assert hx["heat_power"].median() > 200.0
    assert np.abs(carried - hx["heat_power"]).median() / hx["heat_power"].median() < 0.05
    assert (hx["prim_return_temp"] > hx["sec_return_temp"]).all()


def test_zone_co2_rises_with_occupancy(healthy: SimulationResult) -> None:
    zone = healthy.wide["besancon/hq/zone-15"]
    local = zone.index.tz_convert("Europe/Paris")
    working = local.day_of_week < 5
    day = zone["co2"][working & (local.hour >= 10) & (local.hour < 17)].median()
    night = zone["co2"][(local.hour >= 2) & (local.hour < 5)].median()
    assert night < 470 < 550 < day


@pytest.mark.parametrize("run", ["healthy", "cold"])
def test_healthy_values_stay_in_the_sites_plausible_ranges(
    run: str, besancon: Site, request: pytest.FixtureRequest
) -> None:
    result: SimulationResult = request.getfixturevalue(run)
    frame = result.telemetry.merge(
        pd.DataFrame(
            [(p.id, p.low, p.high) for p in besancon.all_points()],
            columns=["point", "low", "high"],
        )
    )
    outside = frame[(frame["value"] < frame["low"]) | (frame["value"] > frame["high"])]
    assert outside.empty, outside.groupby("point").size().to_dict()


def test_pump_vibration_baseline_is_healthy(healthy: SimulationResult) -> None:
    for i in (1, 2, 4):
        pump = healthy.wide[f"besancon/hq/pump-{i}"]
        vibration = pump["vibration"][pump["status"] > 0.5]
        assert 1.2 < vibration.median() < 2.8
        assert vibration.max() < 4.5
