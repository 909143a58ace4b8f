"""`vnotify run`: the notification pipeline, once or continuously (without a Prefect server)."""

from __future__ import annotations

import time

import typer

from vnotify.output import console, emit


def run(
    every: float = typer.Option(None, "--every", min=1, help="Repeat every SECONDS until interrupted."),
    workers: int = typer.Option(2, "--workers", min=1, max=64, help="Send workers in this process."),
    as_json: bool = typer.Option(False, "--json", help="One JSON line per pass."),
) -> None:
    """Land new exports from the drop folder, check them, rebuild the warehouse, send what is due.
    With --every, again and again: the `notify` deployment's work, for a machine without Prefect."""
    from vnotify.commands.ready import migrated_database_url
    from vnotify.config import load_config
    from vnotify.pipeline import run_cycle

    config = load_config()
    url = migrated_database_url()
    while True:
        started = time.monotonic()
        result = run_cycle(url, config, workers=workers)
        emit(
            result.as_dict(),
            as_json,
            lambda result=result: console.print(
                f"{result.batches_loaded} batches landed, {result.sent} messages sent in {result.seconds:.1f} s"
            ),
        )
        if every is None:
            return
        time.sleep(max(0.0, every - (time.monotonic() - started)))
