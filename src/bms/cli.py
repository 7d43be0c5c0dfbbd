"""The ``bms`` command. Thin: parse arguments, call the blocks, print.

User errors (:class:`bms.errors.BmsError`) are printed to standard error as one line and exit
with status 2; no traceback. Each command's logic lives in its block (``simulate``, ``jobs``,
``models``, ``evaluate``...), never here.
"""

from __future__ import annotations

import logging
import sys
from typing import Annotated, Any

import typer
from typer import Abort

try:  # typer vendors click since 0.2x; before, click itself
    from typer._click.exceptions import ClickException, NoArgsIsHelpError, UsageError
except ImportError:  # pragma: no cover - older typer
    from click.exceptions import ClickException, NoArgsIsHelpError, UsageError

from bms.cli_models import models_app, open_registry
from bms.cli_output import echo_alarm_days, echo_episodes, echo_table, echo_units, print_json
from bms.config import get_settings
from bms.errors import BmsError

app = typer.Typer(
    name="bms",
    help="Predictive maintenance for building equipment.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,  # help texts name units and tables in brackets: [s], [connectors.X]
)

evaluate_app = typer.Typer(
    help="Reproduce public benchmark protocols (C-MAPSS, SKAB, IMS).", rich_markup_mode=None
)
app.add_typer(evaluate_app, name="evaluate")

#: ``--json`` of the ``evaluate`` commands: their figures as one JSON object, last line.
JsonFlag = Annotated[bool, typer.Option("--json", help="Print one JSON object on the last line.")]

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
    # the libraries' warnings (numpy's "Mean of empty slice", pandas' format inference) are
    # about their internals, and printed several lines each: a line in the log with -v only.
    # What the user should know, the commands say themselves
    logging.captureWarnings(True)
    logging.getLogger("py.warnings").setLevel(logging.DEBUG if verbose else logging.ERROR)


def _path_option(help_text: str) -> Any:
    return typer.Option(help=help_text, dir_okay=False)


# --- simulate / demo (issue 2) ------------------------------------------------------------
@app.command()
def simulate(
    days: Annotated[int, typer.Option(help="Length of the simulated window [days].")],
    seed: Annotated[int, typer.Option(help="Random seed (same seed -> same data).")] = 0,
    start: Annotated[
        str | None,
        typer.Option(help="First day YYYY-MM-DD (UTC). Default: DAYS days before today."),
    ] = None,
    faults: Annotated[
        str,
        typer.Option(
            help="Fault plan: 'default' (injected faults), 'none', or 'ongoing' (default plus "
            "degradations still under way at the end)."
        ),
    ] = "default",
) -> None:
    """Simulate the site's telemetry into the store and write ground_truth.csv in BMS_HOME."""
    import datetime as dt

    from bms.simulate import check_window, simulate_site, summarise, write_simulation
    from bms.simulate.faults import check_plan
    from bms.simulate.home import check_home, write_marker
    from bms.site.loader import load_site
    from bms.telemetry.open_store import open_store

    if days <= 0:
        raise BmsError(f"--days must be a positive number of days, got {days}")
    check_plan(faults)
    if start is not None:
        try:
            dt.date.fromisoformat(start)
        except ValueError:
            raise BmsError(f"--start must be a date YYYY-MM-DD, got {start!r}") from None
    first = check_window(start, days, seed)
    settings = get_settings()
    site = load_site(settings.site)
    params = {"site": site.id, "start": first.isoformat(), "days": days, "seed": seed,
              "faults": faults}  # fmt: skip
    embedded = settings.telemetry_dir if not settings.telemetry_url else None
    check_home(settings.home, embedded, params)
    store = open_store(settings)  # the configured store, as every command reads
    result = simulate_site(site, first, days, seed=seed, faults=faults)
    write_marker(settings.home, params)
    path = write_simulation(result, store, settings.home)
    summary = summarise(result)
    by_category = ", ".join(f"{k} {v}" for k, v in summary["faults"].items())  # type: ignore[union-attr]
    typer.echo(
        f"simulated {summary['site']}: {summary['points']} points, {summary['rows']:,} rows, "
        f"{summary['start']} .. {summary['end']}, seed {seed}"
    )
    typer.echo(f"faults: {by_category}")
    typer.echo(f"telemetry: {settings.telemetry_url or settings.telemetry_dir}")
    typer.echo(f"ground truth: {path}")


@app.command()
def demo(
    days: Annotated[int, typer.Option(help="Simulated days, ending today [days].")] = 120,
    seed: Annotated[int, typer.Option(help="Random seed of the simulation.")] = 0,
    no_serve: Annotated[
        bool,
        typer.Option(
            "--no-serve",
            help="Exit when done (the API and dashboard it will serve are not built yet).",
        ),
    ] = False,
    port: Annotated[int, typer.Option(help="Port of the API and dashboard (reserved).")] = 8000,
) -> None:
    """Simulate the Besançon site into BMS_HOME, run the models and print what they found."""
    from rich.console import Console

    from bms.jobs.demo import run_demo
    from bms.jobs.demo_print import print_demo
    from bms.site.loader import load_site

    settings = get_settings()
    run = run_demo(settings, load_site(settings.site), days=days, seed=seed)
    print_demo(run, Console(width=120))
    if not no_serve:
        typer.echo(
            "The API and dashboard are not built yet (a later issue); nothing to serve "
            f"on port {port}. Done."
        )


# --- ingest (issue 3) ---------------------------------------------------------------------
EXIT_SPOOLED = 1
#: Bounds of --chunk-hours [h]: a second (a shorter chunk reads nothing but its own overhead,
#: and a zero one never ends) to a year.
MIN_CHUNK_HOURS = 1 / 3600
MAX_CHUNK_HOURS = 24 * 366


def _utc_option(value: str | None, option: str) -> Any:
    import pandas as pd

    if value is None:
        return None
    try:
        stamp = pd.Timestamp(value)
    except ValueError:
        stamp = pd.NaT
    if stamp is pd.NaT:  # an empty or 'nan' value reads as no time at all
        raise BmsError(f"{option} must be an ISO 8601 date or time, got {value!r}")
    return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")


@app.command()
def ingest(
    name: Annotated[str, typer.Argument(help="Connector name: a [connectors.NAME] of bms.toml.")],
    since: Annotated[
        str | None, typer.Option(help="Read from this time (ISO 8601, UTC unless offset).")
    ] = None,
    until: Annotated[str | None, typer.Option(help="Read up to (excluding) this time.")] = None,
    chunk_hours: Annotated[float, typer.Option(help="History read window [h].")] = 24.0,
    duration: Annotated[
        float | None, typer.Option(help="Pushed sources (MQTT): listen this long [s].")
    ] = 60.0,
    idle: Annotated[
        float | None, typer.Option(help="Pushed sources: stop after this long without data [s].")
    ] = None,
    count: Annotated[int, typer.Option(help="Live sources: number of polls.")] = 1,
    interval: Annotated[float, typer.Option(help="Live sources: time between polls [s].")] = 60.0,
    retries: Annotated[
        int, typer.Option(help="Attempts per read or write (back-off 1, 2, 4 s).")
    ] = 4,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Run a connector once; store what it reads; rerun reads only what is new (watermark)."""
    import pandas as pd

    from bms.jobs.ingest import ingest as run_ingest
    from bms.jobs.retry import RetryPolicy
    from bms.site.loader import load_site
    from bms.telemetry.open_store import open_store

    if not MIN_CHUNK_HOURS <= chunk_hours <= MAX_CHUNK_HOURS:  # NaN fails too
        raise BmsError(
            f"--chunk-hours must lie between {MIN_CHUNK_HOURS:g} (a second) and "
            f"{MAX_CHUNK_HOURS:g} (a year), got {chunk_hours:g}"
        )
    if retries < 1:
        raise BmsError(f"--retries must be >= 1, got {retries}")
    if count < 1:
        raise BmsError(f"--count must be >= 1, got {count}")
    if not 0 <= interval < float("inf"):
        raise BmsError(f"--interval must be a number of seconds >= 0, got {interval:g}")
    start, end = _utc_option(since, "--since"), _utc_option(until, "--until")
    if start is not None and end is not None and start >= end:
        raise BmsError(f"--since ({since}) must be before --until ({until})")
    settings = get_settings()
    result = run_ingest(
        name,
        site=load_site(settings.site),
        store=open_store(settings),
        settings=settings,
        since=start,
        until=end,
        chunk=pd.Timedelta(hours=chunk_hours),
        duration_seconds=duration,
        idle_seconds=idle,
        count=count,
        interval_seconds=interval,
        policy=RetryPolicy(attempts=retries),
    )
    if as_json:
        print_json(result.to_dict())
    else:
        malformed = sum(result.malformed.values())
        typer.echo(
            f"{name} ({result.kind}, {result.mode}): read {result.rows_read:,} rows in "
            f"{result.chunks} chunk(s), stored {result.rows_stored:,}, spooled "
            f"{result.rows_spooled:,}, flushed {result.spool_flushed:,} from the spool"
            + (f", {malformed} malformed message(s)" if malformed else "")
            + (f"; watermark {result.watermark}" if result.watermark else "")
        )
    if result.spool_pending:
        typer.echo(
            f"bms: warning: telemetry store unavailable ({result.store_error}); "
            f"{result.spool_pending:,} rows wait in {settings.home / 'spool' / name}, "
            "written on the next run",
            err=True,
        )
        raise typer.Exit(EXIT_SPOOLED)


def _check_port(option: str, port: int, also: int = 0) -> None:
    """A one-line error unless ``port`` .. ``port + also`` are TCP/UDP ports (1-65535)."""
    if not 1 <= port <= 65535 - max(also, 0):
        more = f" (and the {also} after it, one per device)" if also > 0 else ""
        raise BmsError(
            f"{option} must be a port from 1 to {65535 - max(also, 0)}{more}, got {port}"
        )


@app.command("serve-sim")
def serve_sim(
    days: Annotated[float, typer.Option(help="Length of the simulated window (days).")] = 2,
    seed: Annotated[int, typer.Option(help="Random seed (same seed -> same data).")] = 0,
    start: Annotated[str | None, typer.Option(help="First day YYYY-MM-DD (UTC).")] = None,
    speed: Annotated[float, typer.Option(help="Simulated seconds per real second.")] = 60.0,
    host: Annotated[str, typer.Option(help="Address to serve on.")] = "127.0.0.1",
    bacnet_port: Annotated[
        int, typer.Option(help="UDP port of the first BACnet device (the next ones follow).")
    ] = 47808,
    modbus_port: Annotated[int, typer.Option(help="TCP port of the Modbus server.")] = 5020,
    client_port: Annotated[
        int, typer.Option(help="UDP port the printed bacnet connector config binds.")
    ] = 47830,
    mqtt: Annotated[
        str | None,
        typer.Option(help="Also publish the LoRaWAN sensors to this broker (mqtt://host:port)."),
    ] = None,
) -> None:
    """Serve the simulated site over BACnet/IP and Modbus TCP (and MQTT with --mqtt), replayed on
    a virtual clock."""
    import contextlib
    import threading

    from bms.simulate import check_window, simulate_site
    from bms.simulate.live import LiveSite, connector_toml, serve
    from bms.site.loader import load_site

    if speed <= 0:
        raise BmsError(f"--speed must be > 0, got {speed}")
    check_window(start, days, seed)
    site = load_site(get_settings().site)
    devices = {
        p.source.get("device") for p in site.all_points() if p.source.get("connector") == "bacnet"
    }
    _check_port("--bacnet-port", bacnet_port, also=len(devices - {None}) - 1)
    _check_port("--modbus-port", modbus_port)
    _check_port("--client-port", client_port)
    result = simulate_site(site, start, days, seed=seed)
    with LiveSite(
        site,
        result.telemetry,
        host=host,
        bacnet_base_port=bacnet_port,
        modbus_port=modbus_port,
        bbmd=True,
        mqtt_url=mqtt,
    ) as live:
        typer.echo("# bms.toml tables to read this simulated site:")
        typer.echo(connector_toml(live.connector_tables(client_port)))
        typer.echo(
            f"serving {len(live.points)} points, {live.times[0]} .. {live.times[-1]} "
            f"at x{speed:g}; Ctrl-C to stop",
            err=True,
        )
        with contextlib.suppress(KeyboardInterrupt):
            serve(live, speed, threading.Event())


# --- detect / evaluate skab (issue 4) -----------------------------------------------------
@app.command(context_settings={"allow_extra_args": True})
def detect(
    ctx: typer.Context,
    train: Annotated[str, typer.Option(help="CSV of (mostly) normal operation.")],
    test: Annotated[str, typer.Option(help="CSV to score, same feature columns as TRAIN.")],
    out: Annotated[
        str,
        typer.Option(help="Output CSV: time, score, anomaly, top_contributor (+ rule for an AHU)."),
    ],
    time_column: Annotated[
        str | None,
        typer.Option(
            help="Time column (default: a column named like time/date, or an unnamed first "
            "column of dates, else row #)."
        ),
    ] = None,
    sep: Annotated[
        str | None,
        typer.Option(
            help="Field separator of both CSVs (a tab: '\\t' or tab); default: each file's "
            "own, found from its lines (, ; tab |)."
        ),
    ] = None,
    ignore: Annotated[
        list[str] | None,
        typer.Option(help="Columns that are not features: --ignore A B or --ignore A --ignore B."),
    ] = None,
    rules: Annotated[
        bool,
        typer.Option(
            "--rules/--no-rules",
            help="When the columns name an air-handling unit's points, also run the G36/APAR "
            "AHU rules on TEST (OUT gains a 'rule' column).",
        ),
    ] = True,
    timezone: Annotated[
        str | None,
        typer.Option(
            envvar="BMS_TIMEZONE",
            help="The site's IANA time zone (e.g. Europe/Paris) when the times are in UTC: the "
            "time of day is read on its clock, across daylight-saving changes.",
        ),
    ] = None,
    false_alarm_rate: Annotated[
        float,
        typer.Option(
            help="Share of normal rows the threshold may flag, set on TRAIN rows held out of "
            "the fit (0 < rate < 0.5): lower, fewer false alarms and faults found later.",
        ),
    ] = 0.01,
    unit_column: Annotated[
        str | None,
        typer.Option(
            help="Column naming the machine of each row, when a file stacks several: each is "
            "judged by a detector fitted on its own TRAIN rows (OUT gains a 'unit' column).",
        ),
    ] = None,
) -> None:
    """Unsupervised anomaly detection on any wide CSV (score 0..1, 0.5 = threshold).

    Also reads files of one reading per line (time, point, value), InfluxDB's CSV exports and
    Parquet files.
    Rows are judged in time order; OUT keeps TEST's row order.
    """
    from pathlib import Path

    from bms.evaluate.detect_csv import run_detect

    if ctx.args and not ignore:
        raise BmsError(f"unexpected argument(s) {ctx.args}; did you mean --ignore {ctx.args[0]}?")
    ignore = [*(ignore or ()), *ctx.args]  # "--ignore A B": click leaves B as an extra argument

    summary = run_detect(
        Path(train),
        Path(test),
        Path(out),
        time_column=time_column,
        sep=sep,
        ignore=ignore or (),
        rules=rules,
        timezone=timezone,
        false_alarm_rate=false_alarm_rate,
        unit_column=unit_column,
    )
    for note in summary.notes:
        typer.echo(note, err=True)
    typer.echo(
        f"trained on {summary.n_train:,} rows x {len(summary.features)} features; "
        f"scored {summary.n_test:,} rows, {summary.n_anomalous:,} anomalous; wrote {out}"
    )
    echo_units(summary.unit_column, summary.units, summary.unit_alarms)
    echo_episodes(summary.episodes)
    echo_alarm_days(summary.alarm_days, summary.test_days)
    if summary.rules_applied:
        typer.echo(
            f"AHU rules flagged {summary.n_rule_rows:,} TEST rows, {summary.n_rule_only_rows:,} "
            "of them not flagged by the learned detector (column 'rule' names the rules)"
        )
    if summary.outside_most is not None:
        share = "<1%" if summary.outside_share < 0.005 else f"{summary.outside_share:.0%}"
        typer.echo(
            f"{share} of TEST rows have a feature outside its TRAIN range "
            f"(most often {summary.outside_most!r}): a fault, or conditions TRAIN lacks "
            "(another season, load or set point); in the latter case add such normal data to TRAIN"
        )
    if summary.running_totals:
        totals = ", ".join(map(repr, summary.running_totals))
        typer.echo(
            f"{totals} only rise(s) in TRAIN and TEST, as a running total does (a meter's index, "
            "a counter of hours): judged by the rate, not the total"
        )
    slow = [name for name in summary.slow_features if name not in summary.running_totals]
    if slow:
        typer.echo(
            f"{len(slow)} of {len(summary.features)} features vary too slowly for TRAIN to show "
            f"their normal range (first {slow[0]!r}): only their changes are judged, so an offset "
            "that builds up slowly goes unseen; more normal TRAIN data lets their levels be judged"
        )
    if summary.profiled_features:
        profiled = summary.profiled_features
        typer.echo(
            f"{len(profiled)} of {len(summary.features)} features follow the time of day in TRAIN "
            f"(first {profiled[0]!r}): each is judged against its usual value for the hour"
        )
    if summary.point_features:
        settings = ", ".join(map(repr, summary.setting_features))
        typer.echo(
            f"{len(summary.point_features)} of {len(summary.features)} features move with the "
            f"operating point set by {settings}: each is judged against its usual value there"
        )


@evaluate_app.command("skab")
def evaluate_skab_command(
    data: Annotated[str, typer.Option(help="SKAB data folder (valve1/, valve2/, other/).")],
    json_output: JsonFlag = False,
) -> None:
    """SKAB leaderboard protocol: per file, first 400 rows train; pooled F1, FAR %, MAR %."""
    from bms.evaluate.skab import evaluate_skab

    result = {**evaluate_skab(data), "detector": "bms residual+PCA ensemble"}
    if json_output:
        print_json(result)
    else:
        typer.echo(
            f"SKAB ({result['n_files']} files): F1 {result['f1']:.3f}, "
            f"FAR {result['far']:.2f} %, MAR {result['mar']:.2f} % over the test points"
        )
        every = result["with_training_rows"]
        typer.echo(
            f"counting the training rows too, as the leaderboard's code does: F1 "
            f"{every['f1']:.3f}, FAR {every['far']:.2f} %, MAR {every['mar']:.2f} %"
        )
        for folder, figures in result["by_folder"].items():
            typer.echo(
                f"  {folder}: F1 {figures['f1']:.3f}, FAR {figures['far']:.2f} %, "
                f"MAR {figures['mar']:.2f} %"
            )


@evaluate_app.command("ims")
def evaluate_ims_command(
    data: Annotated[
        str, typer.Option(help="IMS bearing folder (Averaged_BearingTest_Dataset.csv).")
    ],
    json_output: JsonFlag = False,
) -> None:
    """IMS bearing run to failure: train on 12-13 Feb; hours of warning, false alarms."""
    from bms.evaluate.ims import HEALTHY_UNTIL, evaluate_ims

    result = {**evaluate_ims(data), "detector": "bms residual+PCA ensemble"}
    if json_output:
        print_json(result)
        return
    held = result["held_lead_hours"]
    held_text = "not on at the failure" if held is None else f"on from {held:.1f} h before it"
    if result["first_alarm"] is None:
        typer.echo(f"IMS bearing: no alarm before the failure at {result['failure']}")
    else:
        typer.echo(
            f"IMS bearing: first alarm {result['first_alarm']}, {result['lead_hours']:.1f} h "
            f"before the failure at {result['failure']}; alarm {held_text}"
        )
    typer.echo(
        f"false alarms: {result['false_alarm_rows']} of {result['healthy_rows']} healthy test "
        f"rows (before {HEALTHY_UNTIL:%Y-%m-%d}); {result['final_flagged']:.1f} % of the last "
        "48 h flagged"
    )


# --- models registry (issue 5): bms.cli_models ------------------------------------------
app.add_typer(models_app, name="models")


# --- train (issue 5) ---------------------------------------------------------------------
def _print_decision(decision: Any) -> None:
    state = "promoted to production" if decision.promoted else "kept as candidate"
    typer.echo(f"{decision.name} version {decision.candidate_version}: {state}")
    typer.echo(f"  {decision.reason}")


@app.command()
def train(
    what: Annotated[str, typer.Argument(help="What to train: anomaly or rul.")],
    equipment: Annotated[
        str | None, typer.Option(help="Only this equipment id (anomaly; default: all).")
    ] = None,
    train_file: Annotated[
        str | None,
        typer.Option(
            "--train",
            help="rul: CSV of run-to-failure histories (each unit fails at its last row).",
        ),
    ] = None,
    unit_column: Annotated[str, typer.Option(help="rul: unit column.")] = "unit",
    time_column: Annotated[str, typer.Option(help="rul: time column.")] = "time",
    sep: Annotated[
        str | None, typer.Option(help="rul: CSV separator (default: found from its lines).")
    ] = None,
    name: Annotated[str, typer.Option(help="rul: registry name of the model.")] = "rul",
    max_rul: Annotated[
        float | None, typer.Option(help="rul: target cap [time unit]; default from the data.")
    ] = None,
    holdout_fraction: Annotated[
        float, typer.Option(help="Share of units (rul) held back for the comparison.")
    ] = 0.2,
    holdout_days: Annotated[
        float, typer.Option(help="anomaly: last days of telemetry held back [days].")
    ] = 14.0,
    seed: Annotated[int, typer.Option(help="Seed of the hold-out draw.")] = 0,
    tolerance: Annotated[
        float, typer.Option(help="How much worse than production a candidate may be promoted.")
    ] = 0.0,
) -> None:
    """Train a model, register it, and promote it only if not worse than production."""
    from pathlib import Path

    settings = get_settings()
    if what == "rul":
        if train_file is None:
            raise BmsError(
                "bms train rul needs --train FILE (run-to-failure histories); the site's "
                "equipment RUL is trend extrapolation, which has nothing to train"
            )
        from bms.jobs.train_rul import train_rul_from_csv

        decision = train_rul_from_csv(
            open_registry(),
            Path(train_file),
            unit_column=unit_column,
            time_column=time_column,
            sep=sep,
            name=name,
            max_rul=max_rul,
            holdout_fraction=holdout_fraction,
            seed=seed,
            tolerance=tolerance,
        )
        _print_decision(decision)
    elif what == "anomaly":
        from bms.jobs.train_anomaly import train_site_anomaly
        from bms.site.loader import load_site

        if train_file is not None:  # it was ignored, and every equipment trained instead
            raise BmsError(
                "bms train anomaly trains on the site's stored telemetry and takes no --train "
                "file (--equipment ID for one equipment); for a CSV, bms detect --train"
            )

        decisions = train_site_anomaly(
            settings,
            open_registry(),
            load_site(settings.site),
            equipment=equipment,
            holdout_days=holdout_days,
            tolerance=tolerance,
        )
        for decision in decisions:
            _print_decision(decision)
    else:
        raise BmsError(f"bms train: WHAT must be anomaly or rul, got {what!r}")


# --- rul / evaluate cmapss / train / models (issue 5) -------------------------------------
@app.command()
def rul(
    train: Annotated[str, typer.Option(help="CSV of complete run-to-failure histories.")],
    test: Annotated[str, typer.Option(help="CSV of histories cut before failure.")],
    out: Annotated[str, typer.Option(help="Output CSV: unit, rul_p10, rul_p50, rul_p90.")],
    unit_column: Annotated[str, typer.Option(help="Column naming each unit (engine, pump...).")],
    time_column: Annotated[
        str, typer.Option(help="Time column (numbers, or dates: RUL is then in days).")
    ],
    sep: Annotated[
        str | None,
        typer.Option(
            help="Field separator of both CSVs (a tab: '\\t' or tab); default: each file's "
            "own, found from its lines (, ; tab |)."
        ),
    ] = None,
    max_rul: Annotated[
        float | None,
        typer.Option(help="Cap of the learned RUL [time unit]; default: from the run lengths."),
    ] = None,
) -> None:
    """Supervised remaining useful life per test unit (p10, p50, p90 at its last row)."""
    from pathlib import Path

    from bms.evaluate.rul_csv import run_rul

    summary = run_rul(
        Path(train),
        Path(test),
        Path(out),
        unit_column=unit_column,
        time_column=time_column,
        sep=sep,
        max_rul=max_rul,
    )
    for note in summary.notes:
        typer.echo(note, err=True)
    typer.echo(
        f"trained on {summary.n_train_units} units ({len(summary.signals)} signals, "
        f"{summary.n_regimes} operating regime(s), RUL capped at {summary.max_rul:g} "
        f"{summary.time_unit}, cross-validated RMSE {summary.cv_rmse:.1f}); "
        f"predicted {summary.n_test_units} units; wrote {out}"
    )


@evaluate_app.command("cmapss")
def evaluate_cmapss_command(
    data: Annotated[str, typer.Option(help="Folder of train_/test_/RUL_FD00x.txt.")],
    subset: Annotated[str, typer.Option(help="FD001, FD002, FD003 or FD004.")],
    json_output: JsonFlag = False,
) -> None:
    """C-MAPSS protocol: RMSE and PHM08 score at each test unit's last cycle (RUL cap 125)."""
    from bms.evaluate.cmapss import evaluate_cmapss

    result = evaluate_cmapss(data, subset)
    if json_output:
        print_json(result)
    else:
        echo_table(
            [
                "SUBSET",
                "UNITS",
                "RMSE",
                "PHM08",
                "RMSE (UNCLIPPED)",
                "PHM08 (UNCLIPPED)",
                "P10-P90 COVERAGE",
                "FIT S",
                "PREDICT S",
            ],
            [
                [
                    result["subset"],
                    str(result["n_units"]),
                    f"{result['rmse']:.2f}",
                    f"{result['phm08_score']:.0f}",
                    f"{result['rmse_unclipped']:.2f}",
                    f"{result['phm08_score_unclipped']:.0f}",
                    f"{result['coverage']:.0%}",
                    f"{result['fit_seconds']:.1f}",
                    f"{result['predict_seconds']:.2f}",
                ]
            ],
        )


def _os_error_line(exc: OSError) -> str:
    """One line for a file or folder the command could not use."""
    if isinstance(exc, (FileExistsError, NotADirectoryError)) and exc.filename:
        return f"{exc.filename}: a file where a folder is needed (BMS_HOME, or a path in it?)"
    where = f": {exc.filename}" if exc.filename else ""
    return f"{exc.strerror or exc}{where}"


def _usage_error_line(exc: UsageError) -> str:
    """A usage error (a missing or misspelt option, a value of the wrong type) as one line,
    with where to look: click printed the usage, a hint and the error over four lines."""
    where = f" (see '{exc.ctx.command_path} --help')" if exc.ctx is not None else ""
    return f"{exc.format_message()}{where}"


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point: exit status 0, 1 (rows spooled), 2 (a user error, one line
    on standard error) or 130 (interrupted)."""
    try:
        status = app(args=argv, standalone_mode=False, prog_name="bms")
    except NoArgsIsHelpError as exc:  # bare "bms": the help, as asked for
        exc.show()
        sys.exit(exc.exit_code)
    except UsageError as exc:
        typer.echo(f"bms: error: {_usage_error_line(exc)}", err=True)
        sys.exit(EXIT_USER_ERROR)
    except ClickException as exc:
        typer.echo(f"bms: error: {exc.format_message()}", err=True)
        sys.exit(exc.exit_code)
    except BmsError as exc:
        typer.echo(f"bms: error: {exc}", err=True)
        sys.exit(EXIT_USER_ERROR)
    except OSError as exc:  # a folder or file the command cannot use: BMS_HOME a file, read-only
        typer.echo(f"bms: error: {_os_error_line(exc)}", err=True)
        sys.exit(EXIT_USER_ERROR)
    except (KeyboardInterrupt, Abort):
        typer.echo("bms: interrupted", err=True)
        sys.exit(130)
    sys.exit(status if isinstance(status, int) else 0)


if __name__ == "__main__":  # pragma: no cover
    main()
