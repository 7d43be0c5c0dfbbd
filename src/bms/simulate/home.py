"""Which simulation a ``BMS_HOME`` holds, so that ``bms simulate`` does not mix two.

``bms simulate`` merges its telemetry into the store (rows are idempotent on point and time)
but writes ``ground_truth.csv`` anew. Simulating a second window into the same home therefore
left the telemetry of both and the faults of the second only: the first window's injected
faults, still in the telemetry, would be scored as false detections. :func:`check_home` refuses
that; the same simulation run again (same site, window, seed and plan) is allowed, and rewrites
the same rows.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from bms.errors import BmsError

__all__ = ["SIMULATION_MARKER", "check_home", "write_marker"]

#: The file in ``BMS_HOME`` that says which simulation wrote its telemetry.
SIMULATION_MARKER = "simulation.json"


def _described(params: dict[str, Any]) -> str:
    return (
        f"{params.get('days')} days from {params.get('start')}, seed {params.get('seed')}, "
        f"faults {params.get('faults')!r}"
    )


def check_home(home: Path, telemetry_dir: Path | None, params: dict[str, Any]) -> None:
    """Refuse to simulate ``params`` into ``home`` when it holds other telemetry.

    Parameters
    ----------
    home : Path
        ``BMS_HOME``.
    telemetry_dir : Path or None
        The embedded store's folder (None for a server store: only the marker is read).
    params : dict
        ``site``, ``start`` (ISO 8601), ``days``, ``seed`` and ``faults`` of this simulation.

    Raises
    ------
    BmsError
        ``home`` holds another simulation, or telemetry no simulation wrote.
    """
    marker = home / SIMULATION_MARKER
    if marker.is_file():
        try:
            previous = json.loads(marker.read_text())
        except (OSError, ValueError):
            previous = {}
        if previous == params:
            return
        raise BmsError(
            f"BMS_HOME={home} holds another simulation ({_described(previous)}): this one's "
            "telemetry would mix with it and its ground truth replace the other's; use another "
            f"BMS_HOME, or delete {marker.name} and the telemetry there"
        )
    if telemetry_dir is not None and telemetry_dir.is_dir() and any(telemetry_dir.iterdir()):
        raise BmsError(
            f"BMS_HOME={home} already holds telemetry bms simulate did not write "
            f"({telemetry_dir}): use another BMS_HOME for a simulation"
        )


def write_marker(home: Path, params: dict[str, Any]) -> None:
    """Say in ``home`` which simulation wrote its telemetry (:data:`SIMULATION_MARKER`)."""
    home.mkdir(parents=True, exist_ok=True)
    (home / SIMULATION_MARKER).write_text(json.dumps(params, indent=2) + "\n")
