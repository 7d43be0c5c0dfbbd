"""Shared simulations for the simulator tests (session-scoped: each is made once)."""

from __future__ import annotations

import pytest

from bms.simulate import SimulationResult, simulate_site
from bms.site.loader import load_site
from bms.site.model import Site


@pytest.fixture(scope="session")
def besancon() -> Site:
    return load_site("besancon")


@pytest.fixture(scope="session")
def winter(besancon: Site) -> SimulationResult:
    """30 winter days with the default fault plan."""
    return simulate_site(besancon, "2026-01-12", 30, seed=11)


@pytest.fixture(scope="session")
def season(besancon: Site) -> SimulationResult:
    """120 days (February to June) with the default fault plan."""
    return simulate_site(besancon, "2026-02-01", 120, seed=5)


@pytest.fixture(scope="session")
def healthy(besancon: Site) -> SimulationResult:
    """14 days spanning spring and early summer weather, no faults."""
    return simulate_site(besancon, "2026-06-01", 14, seed=2, faults="none")


@pytest.fixture(scope="session")
def cold(besancon: Site) -> SimulationResult:
    """10 January days, no faults (heating at full swing)."""
    return simulate_site(besancon, "2026-01-19", 10, seed=4, faults="none")
