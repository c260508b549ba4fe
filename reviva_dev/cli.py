"""The `reviva` command: `reviva dev` runs the pipeline locally, `reviva simulate` sends traffic.

Commands that use the local stack (`reviva import spend`, `reviva replay-failed`) find the running
`reviva dev` through the data directory both take (`--data-dir`, `.reviva` by default), with
`reviva_dev.local.running_stack`; `--environment` points them at the stack the environment
describes instead (a deployed one).
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import logging
import os
import signal
import sys
import threading
import urllib.parse
import warnings
from collections.abc import Iterator, Mapping
from pathlib import Path
from types import FrameType
from typing import Any

import typer
from rich.console import Console
from rich.logging import RichHandler

from reviva_dev.ml_cli import ml_app

# Plain help (no rich panels): flags show as flags (`--dry-run`, `--demo / --no-demo`), values
# with their type (`--port <int>`).
app = typer.Typer(
    help="RevivaTech Analytics: customer analytics on AWS, runnable locally.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
)
console = Console(soft_wrap=True)
error_console = Console(stderr=True, soft_wrap=True)

DEFAULT_DATA_DIR = Path(".reviva")
DATA_DIR_HELP = "The data directory of `reviva dev` (its keys, lake catalog and running stack)."


def _print_version(value: bool) -> None:
    if value:
        console.print(f"reviva {importlib.metadata.version('reviva')}", highlight=False)
        raise typer.Exit()


@app.callback()
def main(
    version: bool = typer.Option(
        False, "--version", callback=_print_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """RevivaTech Analytics: customer analytics on AWS, runnable locally."""


def _configure_logging(verbose: bool) -> None:
    # Rich's columns only help on a terminal; piped logs stay one line per record.
    handler: logging.Handler = (
        RichHandler(console=error_console, show_path=False)
        if sys.stderr.isatty()
        else logging.StreamHandler(sys.stderr)
    )
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(name)s: %(message)s",
        handlers=[handler],
        force=True,
    )
    # botocore's pool warns whenever more threads than its 10 connections finish a request at once
    # (a connection is closed instead of kept): harmless, and not something to show after the ready line.
    logging.getLogger("urllib3.connectionpool").setLevel(logging.INFO if verbose else logging.ERROR)
    if not verbose:
        # Powertools warns on every invocation that records no metric (a read, a health check): in
        # Lambda a line in the function's log; here it would follow the ready message.
        warnings.filterwarnings("ignore", message="No application metrics to publish", category=UserWarning)


def _validate_url(value: str | None) -> str | None:
    if value is None:
        return None
    parsed = urllib.parse.urlparse(value)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise typer.BadParameter(f"{value!r} is not an http(s) URL, e.g. http://localhost:8000")
    return value.rstrip("/")


def dev_command(port: int, data_dir: str | Path, *, demo_visitors: int | None = None) -> list[str]:
    """The command line of a `reviva dev` for a child process (tests, bench): no demo traffic unless
    `demo_visitors` asks for some."""
    demo = ["--demo-visitors", str(demo_visitors)] if demo_visitors else ["--no-demo"]
    return [
        sys.executable,
        "-m",
        "reviva_dev.cli",
        "dev",
        *demo,
        "--port",
        str(port),
        "--data-dir",
        str(data_dir),
    ]


def ready_line(
    info: Any,
    *,
    demo: Any = None,
    demo_failed: bool = False,
    key_sources: Mapping[str, str] | None = None,
) -> str:
    """What `reviva dev` prints once the pipeline is ready (and the demo data loaded): its last words.

    `demo` is the demo traffic's `SimulationSummary` (None: none was loaded, or it failed:
    `demo_failed`, whose error was logged above); `key_sources` says
    where the "write key" and the "admin token" come from. The first line starts with "RevivaTech
    Analytics ready:"; the last one says how to stop.
    """
    sources = key_sources or {}
    lines = [f"RevivaTech Analytics ready: {info.api_url}"]
    names = {"/dashboard/": "dashboard", "/demo/": "demo store", "/tracker/": "tracker"}
    for prefix, url in info.static_urls.items():
        lines.append(f"  {names.get(prefix, prefix.strip('/')):<12}{url}")
    lines.append(f"  {'API':<12}{info.api_url}  (POST /v1/batch to send events, GET /health)")
    for name, value in (("write key", info.write_key), ("admin token", info.admin_token)):
        source = sources.get(name)
        lines.append(f"  {name:<12}{value}" + (f"  ({source})" if source else ""))
    if demo is not None and getattr(demo, "traffic", None) is not None:
        first, last = demo.traffic.first_timestamp, demo.traffic.last_timestamp
        dates = f"{first[:10]} to {last[:10]}" if first and last else "no dates"
        lines.append(
            f"  {'demo data':<12}{demo.visitors:,} visitors, {dates} ({demo.accepted:,} events accepted)"
        )
        state = "a restart starts empty and loads the demo data again"
    else:
        missing = "not loaded: see the error above" if demo_failed else "none loaded"
        lines.append(f"  {'demo data':<12}{missing}")
        state = "a restart starts empty"
    lines.append(f"  {'state':<12}in memory (streams, tables, lake): {state}")
    lines.append("Stop with Ctrl-C.")
    return "\n".join(lines)


@app.command()
def dev(
    port: int = typer.Option(8000, "--port", min=1, max=65535, help="Port of the local API."),
    demo: bool = typer.Option(True, "--demo/--no-demo", help="Load simulated demo traffic before ready."),
    demo_visitors: int = typer.Option(300, "--demo-visitors", min=1, help="Visitors in the demo traffic."),
    data_dir: Path = typer.Option(DEFAULT_DATA_DIR, "--data-dir", help=DATA_DIR_HELP),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Log what the local stack does."),
) -> None:
    """Run the whole pipeline on an embedded AWS emulator, with API Gateway's HTTP paths."""
    _configure_logging(verbose)
    if verbose:
        os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "INFO")
        os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "false")
    from reviva_dev.local.data_lock import DataDirectoryInUse
    from reviva_dev.local.runtime import LocalRuntime

    stop_requested = threading.Event()

    def request_stop(signum: int, frame: FrameType | None) -> None:
        if stop_requested.is_set():
            # A second Ctrl-C while shutting down: the user wants out now.
            os._exit(130)
        stop_requested.set()

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)

    from reviva_dev.local.kept_secrets import ADMIN_TOKEN_FILE, WRITE_KEY_FILE

    key_sources = {
        name: f"from {variable}" if os.environ.get(variable) else f"kept in {data_dir / file}"
        for name, variable, file in (
            ("write key", "REVIVA_WRITE_KEY", WRITE_KEY_FILE),
            ("admin token", "REVIVA_ADMIN_TOKEN", ADMIN_TOKEN_FILE),
        )
    }
    runtime = LocalRuntime(
        port=port, data_dir=data_dir, demo=demo, demo_visitors=demo_visitors, emulator_process=True
    )
    try:
        info = runtime.start()
    except DataDirectoryInUse as error:
        error_console.print(f"[red]Cannot start:[/red] {error}", highlight=False)
        raise typer.Exit(1) from error
    except OSError as error:
        error_console.print(f"[red]Cannot start on port {port}:[/red] {error}")
        raise typer.Exit(1) from error
    try:
        if runtime.demo_thread is not None:
            error_console.print(f"Loading the demo data ({demo_visitors:,} visitors)…", highlight=False)
            # Short waits keep the main thread responsive to signals.
            while runtime.demo_thread.is_alive() and not stop_requested.wait(0.2):
                pass
        if not stop_requested.is_set():
            message = ready_line(
                info,
                demo=runtime.demo_result,
                demo_failed=demo and runtime.demo_result is None,
                key_sources=key_sources,
            )
            console.print(message, markup=False, highlight=False)
        while not stop_requested.wait(0.5):
            pass
    finally:
        runtime.stop()
    error_console.print("stopped", highlight=False)


def simulation_problems(summary: Any) -> int:
    """Messages the endpoint rejected plus messages that could not be sent."""
    total = 0
    for name in ("rejected", "failed"):
        value = summary.get(name, 0) if isinstance(summary, Mapping) else getattr(summary, name, 0)
        total += value if isinstance(value, int) else len(value or ())
    return total


@app.command()
def simulate(
    endpoint: str | None = typer.Option(
        None,
        "--endpoint",
        callback=_validate_url,
        help="The ingest API's base URL [default: the running `reviva dev`'s, else http://localhost:8000].",
    ),
    write_key: str | None = typer.Option(
        None,
        "--write-key",
        envvar="REVIVA_WRITE_KEY",
        help="A write key [default: the running `reviva dev`'s].",
    ),
    data_dir: Path = typer.Option(DEFAULT_DATA_DIR, "--data-dir", help=DATA_DIR_HELP),
    visitors: int = typer.Option(100, "--visitors", min=1, help="Number of simulated visitors."),
    days: int = typer.Option(7, "--days", min=1, help="Days of history to spread the visits over."),
    seed: int = typer.Option(42, "--seed", min=0, help="Random seed (same seed, same traffic)."),
    autocapture: bool = typer.Option(
        False,
        "--autocapture",
        help="Add the browser tracker's automatic events (sessions, performance, scroll, clicks, "
        "forms, exit intent, consent) to every human page view, as the real tracker sends them.",
    ),
) -> None:
    """Send realistic Segment-format traffic to an endpoint and print a summary."""
    _configure_logging(False)
    if write_key is not None and not write_key.strip():
        raise typer.BadParameter("must not be empty", param_hint="--write-key")
    if endpoint is None or write_key is None:
        from reviva_dev.local.running_stack import NoRunningStack, find_running_stack

        try:
            running = find_running_stack(data_dir)
            endpoint, write_key = endpoint or running.api_url, write_key or running.write_key
        except NoRunningStack as error:
            if write_key is None:
                error_console.print(f"[red]Not run:[/red] {error}; or give --write-key", highlight=False)
                raise typer.Exit(1) from None
            endpoint = "http://localhost:8000"
    try:
        from reviva_dev.simulate import render_summary, run_simulation
    except ImportError as error:
        error_console.print(f"[red]The traffic simulator is not available:[/red] {error}")
        raise typer.Exit(2) from error
    try:
        summary = run_simulation(
            endpoint=endpoint,
            write_key=write_key,
            visitors=visitors,
            days=days,
            seed=seed,
            progress=True,
            autocapture=autocapture,
        )
    except Exception as error:  # e.g. 401 for a wrong write key, or the endpoint is down
        error_console.print(f"[red]Simulation failed against {endpoint}:[/red] {error}")
        raise typer.Exit(1) from error
    console.print(render_summary(summary))
    problems = simulation_problems(summary)
    if problems:
        error_console.print(f"[red]{problems} message(s) were rejected or could not be sent[/red]")
        raise typer.Exit(1)


import_app = typer.Typer(
    help="Import data for the analytics endpoints.", no_args_is_help=True, rich_markup_mode=None
)
app.add_typer(import_app, name="import")
app.add_typer(ml_app, name="ml")

ENVIRONMENT_HELP = (
    "Use the stack the environment describes (AWS credentials and the REVIVA_* and resource variables, "
    "e.g. a deployed one) instead of the running `reviva dev`."
)


@contextlib.contextmanager
def stack_for_command(data_dir: Path, use_environment: bool) -> Iterator[None]:
    """Run a command's block against the `reviva dev` on `data_dir` (or the environment's stack).

    Says in one line, and exits 1, when no `reviva dev` runs there or AWS cannot be reached.
    """
    from botocore.exceptions import BotoCoreError, ClientError

    from reviva_dev.local.running_stack import NoRunningStack, connected_to, find_running_stack

    try:
        with contextlib.ExitStack() as stack:
            if not use_environment:
                stack.enter_context(connected_to(find_running_stack(data_dir)))
            yield
    except NoRunningStack as error:
        error_console.print(f"[red]Not run:[/red] {error}", highlight=False)
        raise typer.Exit(1) from None
    except (BotoCoreError, ClientError) as error:
        where = "the environment's stack" if use_environment else f"the `reviva dev` on {data_dir}"
        error_console.print(f"[red]Failed:[/red] {where} could not be used: {error}", highlight=False)
        raise typer.Exit(1) from None


@app.command("replay-failed")
def replay_failed(
    max_batches: int = typer.Option(100, "--max-batches", min=1, help="Pointers to replay at most."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Say what would be replayed; change nothing."),
    data_dir: Path = typer.Option(DEFAULT_DATA_DIR, "--data-dir", help=DATA_DIR_HELP),
    environment: bool = typer.Option(False, "--environment", help=ENVIRONMENT_HELP),
) -> None:
    """Replay the batches enrich gave up on, from its on-failure queue, while the stream still holds them.

    Safe to run twice: enrich never applies a record twice.
    """
    from datetime import UTC, datetime, timedelta

    from reviva.composition import current_composition
    from reviva.enrich.replay import replay_failed_batches
    from reviva.topology import EVENTS_STREAM

    with stack_for_command(data_dir, environment):
        composition = current_composition()
        try:
            queue = composition.failed_batches
        except ValueError as error:
            error_console.print(f"[red]{error}[/red]")
            raise typer.Exit(2) from None
        report = replay_failed_batches(
            queue,
            composition.stream_reader,
            composition.enrich,
            now=datetime.now(UTC),
            retention=timedelta(hours=EVENTS_STREAM.retention_hours),
            max_batches=max_batches,
            dry_run=dry_run,
        )
    for batch in report.batches:
        where = (
            f"{batch.batch.shard_id} {batch.batch.start_sequence}..{batch.batch.end_sequence}"
            if batch.batch
            else "-"
        )
        console.print(f"{batch.status:>13}  {where}  {batch.detail}")
    console.print(
        f"{len(report.batches)} pointers: {report.count('replayed')} replayed, "
        f"{report.count('partly_failed')} failed again, {report.count('expired')} expired, "
        f"{report.count('invalid')} invalid, {report.count('would_replay')} to replay (dry run)"
    )
    if report.count("partly_failed") or report.count("expired") or report.count("invalid"):
        raise typer.Exit(1)


@import_app.command("spend")
def import_spend(
    file: Path = typer.Argument(
        ..., exists=True, dir_okay=False, readable=True, help="CSV: date,channel,campaign,spend."
    ),
    data_dir: Path = typer.Option(DEFAULT_DATA_DIR, "--data-dir", help=DATA_DIR_HELP),
    environment: bool = typer.Option(False, "--environment", help=ENVIRONMENT_HELP),
) -> None:
    """Import ad spend (CAC, ROAS and ROI in /v1/attribution and /v1/campaigns) into the lake bucket."""
    from reviva.analytics.spend import SpendFileError, parse_spend_csv
    from reviva.composition import current_composition

    try:
        rows = parse_spend_csv(file.read_text(encoding="utf-8"))
    except (SpendFileError, UnicodeDecodeError) as error:
        error_console.print(f"[red]{file} was not imported:[/red] {error}")
        raise typer.Exit(2) from error
    with stack_for_command(data_dir, environment):
        result = current_composition().spend_store.import_rows(rows)
    console.print(
        f"Imported {result['rows']} spend rows ({result['added']} new); {result['total_rows']} stored."
    )


@import_app.command("transactions")
def import_transactions_command(
    file: Path = typer.Argument(
        ...,
        exists=True,
        dir_okay=False,
        readable=True,
        help="CSV: customer_id,date,amount and optionally user_id or email.",
    ),
    data_dir: Path = typer.Option(DEFAULT_DATA_DIR, "--data-dir", help=DATA_DIR_HELP),
    environment: bool = typer.Option(False, "--environment", help=ENVIRONMENT_HELP),
) -> None:
    """Import the store's booking history into the lake's transactions table (re-imports add nothing)."""
    from datetime import UTC, datetime

    from reviva.composition import current_composition
    from reviva.scoring.import_transactions import import_transactions
    from reviva.scoring.transactions import TransactionFileError

    try:
        text = file.read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        error_console.print(f"[red]{file} was not imported:[/red] it is not UTF-8 text")
        raise typer.Exit(2) from error
    with stack_for_command(data_dir, environment):
        composition = current_composition()
        try:
            report = import_transactions(
                text, composition.transactions, composition.pseudonyms, datetime.now(UTC)
            )
        except TransactionFileError as error:
            error_console.print(f"[red]{file} was not imported:[/red] {error}")
            raise typer.Exit(2) from error
    for problem in report.problems:
        error_console.print(f"line {problem.line}: {problem.reason}", highlight=False)
    console.print(
        f"Imported {report.added} transactions ({report.already_stored} already stored, "
        f"{len(report.problems)} rows left out)."
    )
    if report.problems:
        raise typer.Exit(1)


if __name__ == "__main__":
    app()
