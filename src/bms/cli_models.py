"""``bms models ...``: the model registry from the command line (list, show, promote, roll back).

Registered on the ``bms`` app by :mod:`bms.cli`; the registry's logic lives in
:mod:`bms.models.registry`.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from bms.cli_output import echo_table, print_json
from bms.config import get_settings

models_app = typer.Typer(
    help="Model registry: list, show, promote and roll back model versions.",
    no_args_is_help=True,
    rich_markup_mode=None,  # brackets in help texts are text, not markup
)


def open_registry() -> Any:
    """The model registry under the configured ``models_dir`` (imported late: a fast CLI)."""
    from bms.models.registry import ModelRegistry

    return ModelRegistry(get_settings().models_dir)


@models_app.command("list")
def models_list(
    name: Annotated[str | None, typer.Option("--name", help="Only this model's versions.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """List registered model versions with their status and key metric."""
    versions = open_registry().list(name)
    if as_json:
        print_json({"models": [meta.to_dict() for meta in versions]})
        return
    if not versions:
        typer.echo("no models registered yet")
        return
    rows = [
        [
            meta.name,
            str(meta.version),
            meta.kind,
            meta.scope,
            str(meta.status),
            meta.created_at[:16].replace("T", " "),
            f"{meta.key_metric}={meta.key_metric_value:.4g}" if meta.key_metric else "-",
        ]
        for meta in versions
    ]
    echo_table(["NAME", "VERSION", "KIND", "SCOPE", "STATUS", "CREATED (UTC)", "KEY METRIC"], rows)


@models_app.command("show")
def models_show(
    name: Annotated[str, typer.Argument(help="Model name.")],
    version: Annotated[
        int | None, typer.Option("--version", help="Default: production, else the latest.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Show all metadata of one model version, and its promotion history."""
    registry = open_registry()
    if version is None:
        meta = registry.production(name) or registry.list(name)[-1]
    else:
        meta = registry.get(name, version)
    events = [e for e in registry.history(name) if meta.version in (e["version"], e["previous"])]
    payload = {**meta.to_dict(), "history": events}
    if as_json:
        print_json(payload)
        return
    for key, value in payload.items():
        if isinstance(value, dict):
            typer.echo(f"{key}:")
            for sub_key, sub_value in value.items():
                typer.echo(f"  {sub_key}: {sub_value}")
        elif key == "history":
            typer.echo("history:")
            for e in value:
                typer.echo(
                    f"  {e['at'][:19]} {e['action']} v{e['version']} (previous {e['previous']}) "
                    f"by {e['by']}: {e['reason'] or '-'}"
                )
        else:
            typer.echo(f"{key}: {', '.join(value) if isinstance(value, list) else value}")


@models_app.command("promote")
def models_promote(
    name: Annotated[str, typer.Argument(help="Model name.")],
    version: Annotated[int, typer.Argument(help="Version to put in production.")],
    reason: Annotated[str, typer.Option("--reason", help="Why (kept in the history).")] = "",
) -> None:
    """Put one version in production (the previous one is archived, and can be rolled back to)."""
    registry = open_registry()
    before = registry.production(name)
    meta = registry.promote(name, version, reason=reason)
    if before is not None and before.version == meta.version:
        typer.echo(f"{name} version {meta.version} is already in production")
    else:
        was = f" (was version {before.version})" if before is not None else ""
        typer.echo(f"promoted {name} version {meta.version} to production{was}")


@models_app.command("rollback")
def models_rollback(
    name: Annotated[str, typer.Argument(help="Model name.")],
    reason: Annotated[str, typer.Option("--reason", help="Why (kept in the history).")] = "",
) -> None:
    """Put the previous production version back in production."""
    registry = open_registry()
    before = registry.production(name)
    meta = registry.rollback(name, reason=reason)
    was = f" (was version {before.version})" if before is not None else ""
    typer.echo(f"rolled {name} back to version {meta.version}{was}")
