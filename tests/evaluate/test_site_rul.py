"""Site trend RUL and health against the simulator's ground truth."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from bms.evaluate.site_rul import false_alarms, rul_cases, site_health_as_of, summarise_cases
from bms.models.site_health import ASSESSMENT_COLUMNS, assess_site, wide_frames
from bms.simulate import simulate_site
from bms.site.loader import load_site
from bms.site.model import Site


@pytest.fixture(scope="module")
def site() -> Site:
    return load_site("besancon")


@pytest.fixture(scope="module")
def demo_like(site: Site):
    """As ``bms demo``: the ongoing plan leaves a filter and a bearing wearing at the end."""
    return simulate_site(site, start="2026-01-05", days=70, seed=3, faults="ongoing")


def test_cases_hold_prediction_and_truth(demo_like, site: Site) -> None:
    cases = rul_cases(demo_like, site, horizons_days=(14.0, 7.0), frames=demo_like.wide)
    failures = demo_like.ground_truth["failure"].dropna()
    assert 0 < len(cases) <= 2 * len(failures)
    inside = (cases["rul_p10"] <= cases["true_rul"]) & (cases["true_rul"] <= cases["rul_p90"])
    assert (cases["covered"] == inside).all()
    assert (cases["as_of"] == cases["failure"] - pd.to_timedelta(cases["horizon_days"], "D")).all()
    week = cases[cases["horizon_days"] == 7.0]
    assert week["detected"].mean() >= 0.75
    assert week["error_p50"].abs().median() < 3.0
    table = summarise_cases(cases)
    assert "all" in table.index
    assert table.loc["all", "n"] == len(cases)


def test_site_assessment_finds_the_wearing_equipment(demo_like, site: Site) -> None:
    table = site_health_as_of(demo_like, site, demo_like.end)
    assert list(table.columns[: len(ASSESSMENT_COLUMNS)]) == list(ASSESSMENT_COLUMNS)
    assert table["health"].between(0, 100).all()
    truth = demo_like.ground_truth
    ongoing = truth[truth["failure"] > demo_like.end]
    for _, fault in ongoing.iterrows():
        row = table.set_index("equipment").loc[fault["equipment"]]
        true_rul = (fault["failure"] - demo_like.end) / pd.Timedelta(days=1)
        assert row["state"] == "degrading"
        assert row["rul_p10"] / 2 <= true_rul <= 2 * row["rul_p90"]
        assert row["health"] < table.loc[table["state"] == "stable", "health"].min()
        assert row["top_contributors"][0][0] in ("rul", row["indicator"])


def test_contributors_explain_the_health_lost(demo_like, site: Site) -> None:
    table = assess_site(demo_like.wide, site, demo_like.end)
    for _, row in table.iterrows():
        lost = sum(p for _, p in row["top_contributors"])
        assert lost == pytest.approx(100 - row["health"], abs=0.5)


def test_telemetry_and_wide_frames_agree(demo_like, site: Site) -> None:
    frames = wide_frames(demo_like, site)
    assert set(frames) == {
        eq.id
        for eq in site.all_equipment()
        if eq.kind in ("AHU", "Pump", "Heat_Exchanger", "Chiller")
    }
    from_telemetry = assess_site(frames, site, demo_like.end).set_index("equipment")
    from_wide = assess_site(demo_like.wide, site, demo_like.end).set_index("equipment")
    urgent = from_wide.index[np.isfinite(from_wide["rul_p50"]) & (from_wide["rul_p50"] < 30)]
    assert len(urgent) > 0
    for eq_id in urgent:  # gaps and spikes of the stored telemetry barely move the answer
        a, b = from_telemetry.loc[eq_id, "rul_p50"], from_wide.loc[eq_id, "rul_p50"]
        assert a == pytest.approx(b, rel=0.25)


def test_false_alarms_are_rare(demo_like, site: Site) -> None:
    checks = false_alarms(demo_like, site, frames=demo_like.wide, every_days=7.0)
    assert len(checks) > 0
    assert checks["alarm"].mean() <= 0.1
