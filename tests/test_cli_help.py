"""Every command's ``--help`` prints its help texts whole (brackets are text, not markup)."""

from __future__ import annotations

import re
from typing import Any

import pytest
import typer

from bms.cli import app, main


def _commands(group: Any, path: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """Every command path under a click group (typer ships its own click: duck-typed)."""
    found = []
    for name, command in group.commands.items():
        found.append((*path, name))
        if hasattr(command, "commands"):
            found.extend(_commands(command, (*path, name)))
    return found


COMMAND = typer.main.get_command(app)
PATHS = _commands(COMMAND)


def _command_at(path: tuple[str, ...]) -> Any:
    command = COMMAND
    for name in path:
        command = command.commands[name]
    return command


@pytest.mark.parametrize("path", PATHS, ids=" ".join)
def test_help_keeps_the_bracketed_units_and_names(
    path: tuple[str, ...], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        main([*path, "--help"])
    assert exited.value.code in (0, None)
    printed = " ".join(capsys.readouterr().out.split())
    bracketed = [
        token
        for param in _command_at(path).params
        for token in re.findall(r"\[[^\]]+\]", getattr(param, "help", None) or "")
    ]
    for token in bracketed:
        assert " ".join(token.split()) in printed, f"{' '.join(path)} --help lost {token}"


def test_ingest_help_names_the_connector_table(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["ingest", "--help"])
    printed = " ".join(capsys.readouterr().out.split())
    assert "a [connectors.NAME] of bms.toml" in printed
    assert "History read window [h]" in printed


@pytest.mark.parametrize(
    ("argv", "message"),
    [(["rul", "--train", "a.csv"], "Missing option '--test'. (see 'bms rul --help')"),
     (["rul", "--max-rul", "abc"], "Invalid value for '--max-rul'"),
     (["nope"], "No such command 'nope'. (see 'bms --help')"),
     (["detect", "--bogus", "1"], "No such option: --bogus")],
)  # fmt: skip
def test_a_usage_error_is_one_line_with_where_to_look(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # click printed the usage, a hint and the error over four lines
    with pytest.raises(SystemExit) as exited:
        main(argv)
    assert exited.value.code == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("bms: error: ") and message in err and "\n" not in err


def test_bare_bms_shows_the_help(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main([])
    shown = capsys.readouterr()
    assert exited.value.code == 2 and "Usage: bms [OPTIONS] COMMAND" in shown.out + shown.err
