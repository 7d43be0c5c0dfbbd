"""Render a :class:`bms.jobs.demo.DemoRun` as the tables a newcomer reads in a terminal."""

from __future__ import annotations

import pandas as pd
from rich.console import Console
from rich.table import Table

from bms.evaluate.site_detection import names_the_fault
from bms.jobs.demo import DemoRun
from bms.models.equipment_detection import wide_threshold_notes

TIME_FORMAT = "%Y-%m-%d %H:%M"


def _when(value: object) -> str:
    if value is None or (isinstance(value, float) and pd.isna(value)) or value is pd.NaT:
        return ""
    return pd.Timestamp(value).strftime(TIME_FORMAT)


def _minutes(step: pd.Timedelta) -> str:
    return f"{step.total_seconds() / 60:g} min"


def _megabytes(size_bytes: int) -> str:
    return f"{size_bytes / 1e6:,.1f} MB"


def print_store(run: DemoRun, console: Console) -> None:
    """What the telemetry store holds, by equipment kind."""
    store = run.store
    console.print(
        f"[bold]Telemetry store[/bold] {store.points} points, {store.rows:,} rows, "
        f"{_when(store.start)} .. {_when(store.end)} UTC, {_megabytes(store.size_bytes)} on disk"
    )
    table = Table("Equipment kind", "Equipment", "Points", "Rows", title=None)
    for row in store.by_kind.itertuples(index=False):
        table.add_row(str(row.kind), str(row.equipment), str(row.points), f"{row.rows:,}")
    console.print(table)


def print_faults(run: DemoRun, console: Console) -> None:
    """The faults the simulator injected (the ground truth the models are judged against)."""
    truth = run.simulation.ground_truth.sort_values(["category", "onset"])
    counts = truth["category"].value_counts()
    console.print(
        f"[bold]Injected faults[/bold] {len(truth)}: "
        + ", ".join(f"{c} {n}" for c, n in counts.items())
        + f" (ground truth: {run.ground_truth_path})"
    )
    table = Table("Category", "Equipment", "Fault", "Point", "Onset (UTC)", "Failure (UTC)")
    for row in truth.itertuples(index=False):
        point = str(row.point).rsplit("/", 1)[-1] if isinstance(row.point, str) else ""
        table.add_row(
            str(row.category),
            str(row.equipment).rsplit("/", 1)[-1],
            str(row.fault),
            point,
            _when(row.onset),
            _when(row.failure),
        )
    console.print(table)


def _found(row: pd.Series, train_end: pd.Timestamp) -> tuple[str, str, str]:
    """(found, when, lead or delay) cells of one ground-truth fault."""
    if row["onset"] < train_end and (pd.isna(row["failure"]) or row["failure"] < train_end):
        return "(training)", "", ""
    if not row["detected"]:
        return "[red]missed[/red]", "", ""
    when = _when(row["detected_at"])
    if row["category"] == "degradation":
        return "[green]yes[/green]", when, f"{row['lead_days']:.1f} d ahead"
    return "[green]yes[/green]", when, f"after {row['delay_hours']:.1f} h"


def _evidence(row: pd.Series) -> str:
    """What the first detection of a fault named: its first point for a sensor fault, else its
    top indicator; in green when that names the fault (:func:`names_the_fault`)."""
    if not row["detected"] or not row["top_indicators"]:
        return ""
    if row["category"] == "sensor" and row["top_points"]:
        text = str(row["top_points"][0]).rsplit("/", 1)[-1]
    else:
        text = str(row["top_indicators"][0])
    return f"[green]{text}[/green]" if names_the_fault(row) else text


def print_detections(run: DemoRun, console: Console) -> None:
    """Each equipment fault beside what the detectors found, then the headline figures."""
    score, detection = run.detection_score, run.detection
    console.print(
        f"[bold]Fault detection[/bold] one detector per equipment ({len(detection.detectors)}), "
        f"trained without labels on {_when(run.simulation.start)} .. {_when(detection.train_end)}"
        f", scored to {_when(detection.end)}; {len(detection.detections)} detections"
    )
    table = Table("Category", "Equipment", "Fault", "Onset (UTC)", "Found", "When", "Lead / delay")
    table.add_column("Named", overflow="fold")
    for _, row in score.faults.sort_values(["category", "onset"]).iterrows():
        found, when, lead = _found(row, detection.train_end)
        table.add_row(
            str(row["category"]),
            str(row["equipment"]).rsplit("/", 1)[-1],
            str(row["fault"]),
            _when(row["onset"]),
            found,
            when,
            lead,
            "" if found == "(training)" else _evidence(row),
        )
    console.print(table)
    named = score.faults[score.faults["evaluable"] & score.faults["detected"]]
    console.print(
        f"the first detection names the fault (its point, or an indicator of its cause; in "
        f"green): {int(named.apply(names_the_fault, axis=1).sum()) if len(named) else 0} "
        f"of {len(named)} found"
    )
    figures = score.to_dict()
    console.print(
        "degradations found >= 7 days before failure: "
        f"{_share_of(figures['degradation_lead_share'], figures['degradations'])}; abrupt and "
        "sensor faults found within a day: "
        f"{_share_of(figures['abrupt_sensor_day_share'], figures['abrupt_sensor'])}; "
        f"false detections: {figures['false_detections']} "
        f"({figures['false_per_10_equipment_months']:.2f} per 10 equipment-months)"
    )
    false = score.false_detections
    if len(false):
        counts = false["equipment"].str.rsplit("/", n=1).str[-1].value_counts()
        console.print(
            "false detections by equipment: " + ", ".join(f"{eq} {n}" for eq, n in counts.items())
        )
    for note in wide_threshold_notes(detection.detectors):
        console.print(f"[yellow]{note}[/yellow]", highlight=False)


def _days(value: float) -> str:
    if pd.isna(value):
        return "?"
    return "none" if value == float("inf") else f"{value:.0f}"


def _true_rul_days(run: DemoRun, equipment: str, as_of: pd.Timestamp) -> str:
    """Days from ``as_of`` to the equipment's next injected failure, from the ground truth."""
    truth = run.simulation.ground_truth
    mine = truth[(truth["equipment"] == equipment) & (truth["failure"] >= as_of)]
    if mine.empty:
        return "no failure due"
    return f"{(mine['failure'].min() - as_of) / pd.Timedelta(days=1):.0f}"


def _share_of(share: float, count: int) -> str:
    """``"80% of 5"``; ``"none to score"`` when there is nothing to count (a short run's
    scored days hold no fault)."""
    return f"{share:.0%} of {count}" if count else "none to score"


def _unit_suffix(unit: str) -> str:
    """`` Pa`` after a value; nothing for a ratio (unit ``"1"``: "1.9 / 4 1" read as a typo)."""
    return "" if unit in ("", "1") else f" {unit}"


def print_health(run: DemoRun, console: Console) -> None:
    """Health and remaining useful life today, with the simulator's truth beside them."""
    health = run.health
    as_of = run.detection.end
    watch = health[health["state"].isin(["degrading", "at_limit"]) | (health["health"] < 80)]
    console.print(
        f"[bold]Health and remaining useful life[/bold] as of {_when(as_of)} UTC: "
        f"{len(health)} equipment assessed, {len(watch)} to watch"
    )
    table = Table(
        "Equipment", "Health", "Wear mode", "Indicator now / limit", "RUL [d] p50 (p10-p90)",
        "True RUL [d]", "Health lost to",
    )  # fmt: skip
    for row in watch.itertuples(index=False):
        lost = ", ".join(f"{name} {points:.0f}" for name, points in row.top_contributors[:2])
        table.add_row(
            str(row.equipment).rsplit("/", 1)[-1],
            f"{row.health:.0f}",
            str(row.fault),
            f"{row.value:.3g} / {row.limit:.3g}{_unit_suffix(str(row.unit))}",
            f"{_days(row.rul_p50)} ({_days(row.rul_p10)}-{_days(row.rul_p90)})",
            _true_rul_days(run, str(row.equipment), as_of),
            lost,
        )
    console.print(table)


def print_demo(run: DemoRun, console: Console) -> None:
    """The whole demo summary."""
    sim = run.simulation
    equipment = len(run.site.all_equipment())
    console.print(
        f"[bold]bms demo[/bold] site {run.site.id} ({run.site.label}): {equipment} equipment, "
        f"{len(run.site.point_ids())} points; simulated {_when(sim.start)} .. {_when(sim.end)} "
        f"UTC every {_minutes(sim.step)}, seed {sim.seed}"
    )
    print_store(run, console)
    print_faults(run, console)
    print_detections(run, console)
    print_health(run, console)
    timings = ", ".join(f"{name} {seconds:.1f} s" for name, seconds in run.seconds.items())
    console.print(f"[dim]timings: {timings}[/dim]")
