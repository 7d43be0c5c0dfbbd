"""The Besançon site simulator: weather, calendar, equipment physics, faults and ground truth."""

from bms.simulate.faults import CATALOGUE, CATEGORIES, FAULT_PLANS, Fault
from bms.simulate.run import (
    GROUND_TRUTH_COLUMNS,
    GROUND_TRUTH_FILE,
    SimulationResult,
    check_window,
    ground_truth_frame,
    simulate_site,
    summarise,
    write_simulation,
)

__all__ = [
    "CATALOGUE",
    "CATEGORIES",
    "FAULT_PLANS",
    "GROUND_TRUTH_COLUMNS",
    "GROUND_TRUTH_FILE",
    "Fault",
    "SimulationResult",
    "check_window",
    "ground_truth_frame",
    "simulate_site",
    "summarise",
    "write_simulation",
]
