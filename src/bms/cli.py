"""The ``bms`` command. Thin: parse arguments, call the blocks, print.

User errors (:class:`bms.errors.BmsError`) are printed to standard error as one line and exit
with status 2; no traceback. Each command's logic lives in its block (``simulate``, ``jobs``,
``models``, ``evaluate``...), never here.
"""

from __future__ import annotations

import json
import logging
import sys
from typing import Annotated, Any

import typer

from bms.config import get_settings
from bms.errors import BmsError

app = typer.Typer(
    name="bms",
    help="Predictive maintenance for building equipment.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

evaluate_app = typer.Typer(help="Reproduce public benchmark protocols (C-MAPSS, SKAB).")
app.add_typer(evaluate_app, name="evaluate")

EXIT_USER_ERROR = 2


@app.callback()
def _configure(
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log at DEBUG level.")] = False,
) -> None:
    """Read settings (refusing bad ones) and set up logging."""
    settings = get_settings()
    logging.basicConfig(
        level=logging.DEBUG if verbose else getattr(logging, settings.log_level),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )


def print_json(payload: dict[str, Any]) -> None:
    """Print one JSON object on its own (last) line of standard output."""
    typer.echo(json.dumps(payload, default=str))


def _path_option(help_text: str) -> Any:
    return typer.Option(help=help_text, dir_okay=False)


# --- simulate / demo (issue 2) ------------------------------------------------------------
# --- ingest (issue 3) ---------------------------------------------------------------------
# --- detect / evaluate skab (issue 4) -----------------------------------------------------
# --- rul / evaluate cmapss / train / models (issue 5) -------------------------------------


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point."""
    try:
        app(args=argv)  # standalone: usage errors print one line and exit 2 by themselves
    except BmsError as exc:
        typer.echo(f"bms: error: {exc}", err=True)
        sys.exit(EXIT_USER_ERROR)
    except KeyboardInterrupt:
        typer.echo("bms: interrupted", err=True)
        sys.exit(130)


if __name__ == "__main__":  # pragma: no cover
    main()
