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
    """Load exports into raw: bad rows quarantined with reasons, bad files rejected whole; then
    check each new batch with its expectations (the warehouse uses only batches that pass).

    Exit status 0 when every source loaded (or was already loaded) and passed its checks, 3 when
    any was rejected, 4 when any failed its checks (held: nothing of its delivery is used).
    """
    from ingest.run import ingest_path
    from vnotify.commands.ready import migrated_database_url

    url = migrated_database_url()
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

            results = ingest_path(path, format, mapping=mapping, on_progress=advance, url=url)
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
        "held": sum(r.expectations_passed is False for r in results),
    }
    emit(summary, as_json, lambda: render_results(results))
    if summary["rejected"]:
        raise typer.Exit(3)
    if summary["held"]:
        raise typer.Exit(4)


def render_results(results) -> None:
    table = Table(title="Ingest")
    numbers = ("source rows", "records", "staged", "quarantined")
    for column in ("batch", "source", "status", "table", *numbers, "checks"):
        table.add_column(column, justify="right" if column in numbers else "left")
    for result in results:
        name = Path(result.source).name
        batch = str(result.batch_id or "")
        checks = _verdict(result)
        if result.status != "loaded" or not result.tables:
            table.add_row(
                batch,
                name,
                result.status,
                "(no rows)" if result.status == "loaded" else "",
                "",
                "",
                "",
                "",
                checks,
            )
            continue
        for index, (table_name, counts) in enumerate(result.tables.items()):
            table.add_row(
                batch if index == 0 else "",
                name if index == 0 else "",
                result.status if index == 0 else "",
                table_name,
                f"{result.source_rows:,}" if index == 0 and result.source_rows is not None else "",
                f"{counts.read:,}",
                f"{counts.staged:,}",
                f"{counts.quarantined:,}",
                checks if index == 0 else "",
            )
    console.print(table)
    for result in results:
        name = Path(result.source).name
        if result.reason:
            console.print(f"[bold]{name}[/]: {result.reason}", soft_wrap=True)
        for table_name, reasons in result.top_reasons.items():
            console.print(f"[bold]{name}[/] {table_name}: why rows were quarantined (rows, column, reason)")
            for reason in reasons:
                console.print(f"  {reason['rows']:>8,}  {reason['column'] or '(row)'}  {reason['reason']}")
        if result.expectations_passed is False:
            console.print(
                f"[red]held[/] {name}: failed its checks, so nothing of its delivery is used:", soft_wrap=True
            )
            for line in result.expectations_failed:
                console.print(f"  {line}", soft_wrap=True)
    if any(r.top_reasons for r in results):
        console.print(
            "Each quarantined row: `vnotify quarantine list --batch N`, `vnotify quarantine show ID`."
        )


def _verdict(result) -> str:
    if result.expectations_passed is None:
        return "" if result.status == "rejected" else "not checked"
    return "passed" if result.expectations_passed else "[red]failed[/]"
