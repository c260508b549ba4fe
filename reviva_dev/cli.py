"""The `reviva` command: `reviva dev` runs the pipeline locally, `reviva simulate` sends traffic."""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
import urllib.parse
from collections.abc import Mapping
from pathlib import Path
from types import FrameType
from typing import Any

import typer
from rich.console import Console
from rich.logging import RichHandler

from reviva_dev.ml_cli import ml_app

app = typer.Typer(
    help="RevivaTech Analytics: customer analytics on AWS, runnable locally.",
    no_args_is_help=True,
    add_completion=False,
)
console = Console(soft_wrap=True)
error_console = Console(stderr=True, soft_wrap=True)


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


def _validate_url(value: str) -> str:
    parsed = urllib.parse.urlparse(value)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise typer.BadParameter(f"{value!r} is not an http(s) URL, e.g. http://localhost:8000")
    return value.rstrip("/")


def dev_command(port: int, data_dir: str | Path) -> list[str]:
    """The command line of a `reviva dev` without demo traffic, for a child process (tests, bench)."""
    return [
        sys.executable,
        "-m",
        "reviva_dev.cli",
        "dev",
        "--no-demo",
        "--port",
        str(port),
        "--data-dir",
        str(data_dir),
    ]


def ready_line(info: Any) -> str:
    """The single line `reviva dev` prints once the pipeline is ready."""
    parts = [f"RevivaTech Analytics ready: API {info.api_url} (ingest /v1/batch, health /health)"]
    for prefix, url in info.static_urls.items():
        parts.append(f"{prefix.strip('/')} {url}")
    machines = getattr(info, "state_machines", None)
    if machines:
        parts.append(f"state machines {', '.join(sorted(machines))}")
    parts.append(f"write key {info.write_key}")
    parts.append(f"admin token {info.admin_token}")
    return " · ".join(parts)


@app.command()
def dev(
    port: int = typer.Option(8000, "--port", min=1, max=65535, help="Port of the local API."),
    demo: bool = typer.Option(True, "--demo/--no-demo", help="Send simulated demo traffic once ready."),
    demo_visitors: int = typer.Option(200, "--demo-visitors", min=1, help="Visitors in the demo traffic."),
    data_dir: Path = typer.Option(Path(".reviva"), "--data-dir", help="Local state (keys, lake catalog)."),
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

    runtime = LocalRuntime(port=port, data_dir=data_dir, demo=demo, demo_visitors=demo_visitors)
    try:
        info = runtime.start()
    except DataDirectoryInUse as error:
        error_console.print(f"[red]Cannot start:[/red] {error}", highlight=False)
        raise typer.Exit(1) from error
    except OSError as error:
        error_console.print(f"[red]Cannot start on port {port}:[/red] {error}")
        raise typer.Exit(1) from error
    console.print(ready_line(info), markup=False, highlight=False)
    try:
        # Short waits keep the main thread responsive to signals.
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
    endpoint: str = typer.Option(
        "http://localhost:8000", "--endpoint", callback=_validate_url, help="The ingest API's base URL."
    ),
    write_key: str = typer.Option(..., "--write-key", envvar="REVIVA_WRITE_KEY", help="A write key."),
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
    if not write_key.strip():
        raise typer.BadParameter("must not be empty", param_hint="--write-key")
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


import_app = typer.Typer(help="Import data for the analytics endpoints.", no_args_is_help=True)
app.add_typer(import_app, name="import")
app.add_typer(ml_app, name="ml")


@app.command("replay-failed")
def replay_failed(
    max_batches: int = typer.Option(100, "--max-batches", min=1, help="Pointers to replay at most."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Say what would be replayed; change nothing."),
) -> None:
    """Replay the batches enrich gave up on, from its on-failure queue, while the stream still holds them.

    Reads the stack from the environment (DEAD_LETTER_QUEUE_URL, EVENTS_STREAM, the tables, the
    lake; AWS_ENDPOINT_URL for an emulator). Safe to run twice: enrich never applies a record twice.
    """
    from datetime import UTC, datetime, timedelta

    from reviva.composition import current_composition
    from reviva.enrich.replay import replay_failed_batches
    from reviva.topology import EVENTS_STREAM

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
) -> None:
    """Import ad spend (CAC, ROAS and ROI in /v1/attribution and /v1/campaigns) into the lake bucket."""
    from reviva.analytics.spend import SpendFileError, parse_spend_csv
    from reviva.composition import current_composition

    try:
        rows = parse_spend_csv(file.read_text(encoding="utf-8"))
    except (SpendFileError, UnicodeDecodeError) as error:
        error_console.print(f"[red]{file} was not imported:[/red] {error}")
        raise typer.Exit(2) from error
    result = current_composition().spend_store.import_rows(rows)
    console.print(
        f"Imported {result['rows']} spend rows ({result['added']} new); {result['total_rows']} stored."
    )


if __name__ == "__main__":
    app()
