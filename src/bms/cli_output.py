"""How the ``bms`` commands print: one JSON object on the last line, or aligned columns."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import typer

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "SHOWN_DAYS",
    "SHOWN_EPISODES",
    "SHOWN_UNITS",
    "echo_alarm_days",
    "echo_episodes",
    "echo_table",
    "echo_units",
    "print_json",
]


def print_json(payload: dict[str, Any]) -> None:
    """Print one JSON object on its own (last) line of standard output."""
    typer.echo(json.dumps(payload, default=str))


def echo_table(headers: list[str], rows: list[list[str]]) -> None:
    """Print rows as left-aligned columns under their headers."""
    widths = [max(len(str(cell)) for cell in column) for column in zip(headers, *rows, strict=True)]
    for line in [headers, *rows]:
        typer.echo("  ".join(str(c).ljust(w) for c, w in zip(line, widths, strict=True)).rstrip())


#: Episodes ``bms detect`` lists on standard output (the longest, in time order).
SHOWN_EPISODES = 5


def echo_episodes(episodes: pd.DataFrame) -> None:
    """``bms detect``'s summary of the events in OUT: how many, and the longest few, each with
    the signals that carry its anomaly (their mean shares) and the AHU rules in fault in it."""
    if episodes.empty:
        return
    shown = episodes.nlargest(SHOWN_EPISODES, "anomalous_rows").sort_index()
    which = "" if len(episodes) <= SHOWN_EPISODES else f"; the {len(shown)} longest"
    typer.echo(f"{len(episodes):,} anomalous episode(s){which}:")
    for episode in shown.itertuples():
        unit = f"{episode.unit}: " if "unit" in episodes.columns else ""
        line = (
            f"  {unit}{episode.start} -> {episode.end}: {episode.anomalous_rows:,} rows, peak "
            f"score {episode.peak_score:.2f}, mostly {episode.signals or episode.top_contributor}"
        )
        if episode.rules:
            line += f"; AHU rules in fault: {episode.rules}"
        typer.echo(line)


#: Days with an alarm ``bms detect`` names on standard output (the first ones).
SHOWN_DAYS = 10


def echo_alarm_days(days: tuple[str, ...], test_days: int) -> None:
    """``bms detect``'s count of the TEST days holding an alarm (a smoothing window of flagged
    rows in a row or more), and the first of them; nothing for a TEST of less than two days."""
    if test_days < 2:
        return
    named = ", ".join(days[:SHOWN_DAYS]) + (", ..." if len(days) > SHOWN_DAYS else "")
    typer.echo(
        f"alarms on {len(days)} of {test_days} TEST days (a smoothing window of anomalous rows "
        f"in a row or more){': ' + named if days else ''}"
    )


#: Units with alarms ``bms detect --unit-column`` names on standard output (the first ones).
SHOWN_UNITS = 10


def echo_units(
    column: str | None, units: tuple[str, ...], alarms: tuple[tuple[str, int, int], ...]
) -> None:
    """``bms detect --unit-column``'s lines: how many units were judged apart, and those with
    alarms, most alarm days first (the first :data:`SHOWN_UNITS`, each with its alarm days, or
    its anomalous rows when it has none: TEST without dates, or alarms shorter than a window)."""
    if column is None:
        return
    typer.echo(
        f"judged per unit ({column!r}): {len(units):,} unit(s), each by a detector fitted on its "
        "own TRAIN rows; the lines below pool them"
    )
    if not alarms:
        return

    def counted(days: int, rows: int) -> str:
        return f"{days} day(s)" if days else f"{rows:,} anomalous row(s)"

    shown = ", ".join(f"{label} ({counted(d, e)})" for label, d, e in alarms[:SHOWN_UNITS])
    more = ", ..." if len(alarms) > SHOWN_UNITS else ""
    typer.echo(f"alarms in {len(alarms)} of {len(units)} unit(s): {shown}{more}")
