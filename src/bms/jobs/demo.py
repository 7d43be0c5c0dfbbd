"""``bms demo``: the end-to-end walk a newcomer runs first.

Simulate the Besançon site (with injected faults) into ``BMS_HOME``, store it, and gather what a
facility manager and a data scientist would look at: what the store holds, which faults were
injected, and (as the product grows) what the models found. Rendering lives in
:mod:`bms.jobs.demo_print`; this module only computes.

The demo owns the telemetry it writes: it leaves a marker file ``demo.json`` in ``BMS_HOME`` and
refuses to overwrite telemetry it did not write (a one-line error), so that running it in a
production ``BMS_HOME`` cannot destroy real data.
"""

from __future__ import annotations

import json
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from bms.config import Settings
from bms.errors import BmsError
from bms.evaluate.site_detection import DetectionScore, score_detections
from bms.models.equipment_detection import SiteDetection, run_site_detection
from bms.models.site_health import assess_site
from bms.simulate import SimulationResult, check_window, simulate_site, write_simulation
from bms.site.model import Site
from bms.telemetry.parquet import ParquetStore
from bms.telemetry.store import PointExtent

DEMO_MARKER = "demo.json"
DEFAULT_DAYS = 120
#: The detectors learn normal operation from the first four weeks (half of shorter windows).
TRAIN_DAYS = 28


class DemoHomeError(BmsError):
    """``BMS_HOME`` holds data the demo did not write."""


@dataclass(frozen=True)
class StoreSummary:
    """What the telemetry store holds after the demo wrote into it."""

    points: int
    rows: int
    start: pd.Timestamp | None
    end: pd.Timestamp | None
    size_bytes: int
    by_kind: pd.DataFrame  # columns: kind, equipment, points, rows


@dataclass
class DemoRun:
    """Everything the demo computed, in the order it computed it."""

    site: Site
    simulation: SimulationResult
    ground_truth_path: Path
    store: StoreSummary
    detection: SiteDetection
    detection_score: DetectionScore
    health: pd.DataFrame  #: bms.models.site_health.assess_site as of the end of the data
    seconds: dict[str, float] = field(default_factory=dict)


def prepare_demo_home(settings: Settings) -> Path:
    """Make ``settings.telemetry_dir`` empty for the demo, refusing to clear foreign data.

    Returns the telemetry directory. Raises :class:`DemoHomeError` when a telemetry store URL
    other than the embedded Parquet store is configured, or when the directory holds telemetry
    and no demo marker says the demo wrote it.
    """
    if settings.telemetry_url and not settings.telemetry_url.startswith(("parquet:", "file:")):
        raise DemoHomeError(
            "BMS_TELEMETRY_URL points to a production store; run the demo with the embedded "
            "store (unset BMS_TELEMETRY_URL) and its own BMS_HOME"
        )
    telemetry = settings.telemetry_dir
    marker = settings.home / DEMO_MARKER
    if telemetry.is_dir() and any(telemetry.iterdir()):
        if not marker.is_file():
            raise DemoHomeError(
                f"BMS_HOME={settings.home} already holds telemetry the demo did not write; "
                "set BMS_HOME to an empty directory for the demo"
            )
        shutil.rmtree(telemetry)
    telemetry.mkdir(parents=True, exist_ok=True)
    return telemetry


def _write_marker(settings: Settings, days: int, seed: int, start: pd.Timestamp) -> None:
    payload = {"days": days, "seed": seed, "start": start.isoformat(), "written_by": "bms demo"}
    (settings.home / DEMO_MARKER).write_text(json.dumps(payload, indent=2) + "\n")


def _directory_size_bytes(root: Path) -> int:
    return sum(p.stat().st_size for p in root.rglob("*") if p.is_file())


def summarise_store(store: ParquetStore, site: Site) -> StoreSummary:
    """Points, rows, time extent and size of the store, with a breakdown by equipment kind."""
    extents: list[PointExtent] = store.points()
    kind_of = {eq.id: eq.kind for eq in site.all_equipment()}
    rows = [
        (kind_of.get(e.point.rsplit("/", 1)[0], "unknown"), e.point.rsplit("/", 1)[0], e.rows)
        for e in extents
    ]
    table = pd.DataFrame(rows, columns=["kind", "equipment", "rows"])
    by_kind = (
        table.groupby("kind")
        .agg(equipment=("equipment", "nunique"), points=("rows", "size"), rows=("rows", "sum"))
        .reset_index()
        .sort_values("kind")
    )
    return StoreSummary(
        points=len(extents),
        rows=int(table["rows"].sum()),
        start=min((e.start for e in extents), default=None),
        end=max((e.end for e in extents), default=None),
        size_bytes=_directory_size_bytes(store.root),
        by_kind=by_kind,
    )


def run_demo(settings: Settings, site: Site, days: int = DEFAULT_DAYS, seed: int = 0) -> DemoRun:
    """Simulate ``days`` days ending today into the demo's ``BMS_HOME``, store them, read them
    back, fit the site's fault detectors on the first weeks and score the rest against the
    simulator's ground truth; assess health and remaining useful life as of the end."""
    if days < 14:
        raise BmsError(f"--days must be at least 14 (the demo needs a training period), got {days}")
    check_window(None, days, seed)  # before the last demo's telemetry is cleared
    telemetry_dir = prepare_demo_home(settings)
    seconds: dict[str, float] = {}

    began = time.perf_counter()
    simulation = simulate_site(site, None, days, seed=seed, faults="ongoing")
    seconds["simulate"] = time.perf_counter() - began

    began = time.perf_counter()
    store = ParquetStore(telemetry_dir)
    _write_marker(settings, days, seed, simulation.start)
    ground_truth_path = write_simulation(simulation, store, settings.home)
    seconds["store"] = time.perf_counter() - began

    began = time.perf_counter()
    telemetry = store.read(site.point_ids())  # what the models see is what the store holds
    detection = run_site_detection(telemetry, site, train_days=min(TRAIN_DAYS, days / 2))
    score = score_detections(
        detection.detections,
        simulation.ground_truth,
        detection.train_end,
        detection.end,
        n_equipment=len(detection.detectors),
    )
    seconds["detect"] = time.perf_counter() - began

    began = time.perf_counter()
    scores = {eq: frame["anomaly_score"] for eq, frame in detection.scores.items()}
    health = assess_site(telemetry, site, anomaly_scores=scores)
    seconds["health"] = time.perf_counter() - began

    return DemoRun(
        site=site,
        simulation=simulation,
        ground_truth_path=ground_truth_path,
        store=summarise_store(store, site),
        detection=detection,
        detection_score=score,
        health=health,
        seconds=seconds,
    )
