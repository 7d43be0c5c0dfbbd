"""How the ``bms`` commands print: one JSON object on the last line, or aligned columns."""

from __future__ import annotations

import json
from typing import Any

import typer

__all__ = ["echo_table", "print_json"]


def print_json(payload: dict[str, Any]) -> None:
    """Print one JSON object on its own (last) line of standard output."""
    typer.echo(json.dumps(payload, default=str))


def echo_table(headers: list[str], rows: list[list[str]]) -> None:
    """Print rows as left-aligned columns under their headers."""
    widths = [max(len(str(cell)) for cell in column) for column in zip(headers, *rows, strict=True)]
    for line in [headers, *rows]:
        typer.echo("  ".join(str(c).ljust(w) for c, w in zip(line, widths, strict=True)).rstrip())
