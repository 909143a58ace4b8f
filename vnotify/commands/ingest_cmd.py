"""`vnotify ingest PATH --format …`: land RMS/CAD exports in raw, exactly once."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from ingest.adapters.mapping import MappingError
from ingest.records import FileRejected
from ingest.sources import FORMATS
from vnotify.output import console, emit, err_console


def ingest(
    path: Path = typer.Argument(..., help="A file, or a folder of files, to ingest."),
    format: str = typer.Option("contract-csv", "--format", "-f", help=f"One of: {', '.join(FORMATS)}."),
    mapping: Path = typer.Option(None, "--mapping", help="Mapping file (with --format mapped)."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object as the last line."),
) -> None:
    """Load exports into raw: bad rows quarantined with reasons, bad files rejected whole.

    Exit status 0 when every source loaded (or was already loaded), 3 when any was rejected.
    """
    from ingest.run import ingest_path

    try:
        with Progress(
            TextColumn("[bold]ingesting"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.description}"),
            TimeElapsedColumn(),
            console=console,
            disable=as_json,
            transient=True,
        ) as progress:
            task = progress.add_task("", total=None)

            def advance(done: int, total: int, name: str) -> None:
                progress.update(task, completed=done, total=total, description=Path(name).name)

            results = ingest_path(path, format, mapping=mapping, on_progress=advance)
    except FileRejected as rejection:
        if as_json:
            emit({"status": "rejected", "reason": str(rejection), "batches": []}, True)
        else:
            err_console.print(f"[red]rejected[/] {rejection}", soft_wrap=True)
        raise typer.Exit(3) from None
    except MappingError as error:  # the mapping file itself is wrong: nothing was read
        if as_json:
            emit({"status": "invalid_mapping", "errors": str(error).splitlines(), "batches": []}, True)
        else:
            err_console.print(f"[red]invalid mapping[/]\n{error}", soft_wrap=True)
        raise typer.Exit(2) from None

    summary = {
        "batches": [r.as_dict() for r in results],
        "rows_read": sum(r.rows_read for r in results),
        "rows_staged": sum(r.rows_staged for r in results),
        "rows_quarantined": sum(r.rows_quarantined for r in results),
        "rejected": sum(r.status == "rejected" for r in results),
    }
    emit(summary, as_json, lambda: render_results(results))
    if summary["rejected"]:
        raise typer.Exit(3)


def render_results(results) -> None:
    table = Table(title="Ingest")
    for column in ("batch", "source", "status", "table", "read", "staged", "quarantined"):
        table.add_column(column, justify="right" if column in ("read", "staged", "quarantined") else "left")
    for result in results:
        name = Path(result.source).name
        batch = str(result.batch_id or "")
        if result.status != "loaded" or not result.tables:
            table.add_row(
                batch, name, result.status, "(no rows)" if result.status == "loaded" else "", "", "", ""
            )
            continue
        for table_name, counts in result.tables.items():
            table.add_row(
                batch,
                name,
                result.status,
                table_name,
                f"{counts.read:,}",
                f"{counts.staged:,}",
                f"{counts.quarantined:,}",
            )
    console.print(table)
    for result in results:
        if result.reason:
            console.print(f"[bold]{Path(result.source).name}[/]: {result.reason}", soft_wrap=True)
