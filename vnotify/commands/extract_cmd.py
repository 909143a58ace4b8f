"""`vnotify extract run|status|replay`: the RMS query extract (`extract.sql` in the configuration),
its watermark and its recent runs, and reading again from an earlier time."""

from __future__ import annotations

import datetime as dt

import typer
from rich.table import Table

from vnotify.output import console, emit, err_console

app = typer.Typer(
    help="The RMS query extract: run it, see its runs, read again from a time.", no_args_is_help=True
)
JSON = typer.Option(False, "--json", help="Print one JSON object as the last line.")


def _sql_extract():
    from vnotify.config import load_config

    config = load_config()
    if config.extract.sql is None:
        err_console.print("error: the configuration has no extract.sql (docs/ingest.md, 'The extract flow')")
        raise typer.Exit(2)
    return config, config.extract.sql


def _run_and_report(since: dt.datetime | None, as_json: bool) -> None:
    from ingest.rms_extract import extract_sql
    from vnotify.commands.ready import migrated_database_url

    config, extract = _sql_extract()
    run = extract_sql(extract, config=config, url=migrated_database_url(), since=since)
    result = {
        "source": run.source_name,
        "read_since": run.read_since.isoformat(),
        "outcome": run.outcome,
        "watermark": run.watermark.isoformat() if run.watermark else None,
        "rows_read": run.rows_read,
        "rows_already_loaded": run.rows_already_loaded,
        "batches": [r.batch_id for r in run.results if r.batch_id],
        "reason": run.reason,
    }

    def render() -> None:
        console.print(
            f"{run.source_name}: read {sum(run.rows_read.values())} rows changed since "
            f"{run.read_since.isoformat()} ({run.rows_already_loaded} already loaded)"
        )
        if run.outcome == "held":
            console.print(f"[red]held[/]: {run.reason}. The watermark stays at {result['watermark']}:")
            console.print("fix the export (or the configuration) and run again; `vnotify quarantine list`")
        else:
            console.print(f"{run.outcome}; watermark {result['watermark']}")

    emit(result, as_json, render)
    if run.outcome == "held":
        raise typer.Exit(1)


@app.command("run")
def run_once(as_json: bool = JSON) -> None:
    """Read what changed since the watermark (less the overlap), load it, advance the watermark."""
    _run_and_report(None, as_json)


@app.command()
def replay(
    since: str = typer.Option(
        ..., "--since", help="Read from this time (ISO 8601; without an offset, agency time)."
    ),
    as_json: bool = JSON,
) -> None:
    """Read everything changed since a time again, now. Rows already loaded are skipped; the
    watermark never moves back."""
    config, _ = _sql_extract()
    try:
        when = dt.datetime.fromisoformat(since)
    except ValueError:
        err_console.print(f"error: --since {since!r} is not an ISO 8601 time, e.g. 2025-10-08T00:00")
        raise typer.Exit(2) from None
    _run_and_report(when if when.tzinfo else when.replace(tzinfo=config.agency.zone), as_json)


@app.command()
def status(
    limit: int = typer.Option(10, "--limit", min=1, help="Runs per source, newest first."),
    as_json: bool = JSON,
) -> None:
    """The watermark of each RMS source and its newest runs: what each read, and whether it
    advanced, found nothing new or was held (and why)."""
    from ingest.rms_extract import extract_status
    from vnotify.commands.ready import migrated_database_url

    config, extract = _sql_extract()
    stale_hours = config.extract.stale_after_hours
    runs = extract_status(migrated_database_url(), limit=limit)
    newest_advance = next((r["started_at"] for r in runs if r["outcome"] == "advanced"), None)
    now = dt.datetime.now(dt.UTC)
    stale = newest_advance is None or now - newest_advance > dt.timedelta(hours=stale_hours)
    held = bool(runs) and runs[0]["outcome"] == "held"

    def render() -> None:
        if not runs:
            console.print(f"{extract.name}: no run yet (`vnotify extract run`, or the notify deployment)")
            return
        console.print(f"{extract.name}: watermark {runs[0]['current_watermark']}")
        if held:
            console.print(f"[red]held[/]: the newest run was held ({runs[0]['reason']})")
        if stale:
            console.print(f"[yellow]stale[/]: nothing new loaded for more than {stale_hours:g} hours")
        table = Table(title="Newest runs")
        for column in ("run", "started", "read since", "rows read", "already loaded", "batches", "outcome"):
            table.add_column(column)
        for run in runs:
            table.add_row(
                str(run["run_id"]),
                run["started_at"].isoformat(timespec="seconds"),
                run["read_since"].isoformat(timespec="seconds"),
                str(sum(run["rows_read"].values())),
                str(run["rows_already_loaded"]),
                " ".join(map(str, run["batch_ids"])),
                run["outcome"] + (f": {run['reason']}" if run["reason"] else ""),
            )
        console.print(table)

    emit({"source": extract.name, "held": held, "stale": stale, "runs": runs}, as_json, render)
