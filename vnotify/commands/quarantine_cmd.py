"""`vnotify quarantine list|show`: the rows ingest set aside, and why. Reasons name columns,
never values; a row's values are shown only with --show-values (they may be a victim's)."""

from __future__ import annotations

import typer
from rich.table import Table

from vnotify.output import console, emit, err_console

app = typer.Typer(help="Rows ingest set aside, with their reasons.", no_args_is_help=True)
JSON = typer.Option(False, "--json", help="Print one JSON object as the last line.")


@app.command("list")
def list_rows(
    batch: int = typer.Option(None, "--batch", help="Only this batch."),
    reason: str = typer.Option(None, "--reason", help="Only reasons containing this text (any case)."),
    limit: int = typer.Option(50, "--limit", min=1, help="At most this many rows, newest first."),
    as_json: bool = JSON,
) -> None:
    """Quarantined rows, newest first: batch, file, table, row, column and reason."""
    from ingest.quarantine import list_quarantined
    from vnotify.commands.ready import migrated_database_url

    rows = list_quarantined(migrated_database_url(), batch_id=batch, reason=reason, limit=limit)

    def render() -> None:
        if not rows:
            console.print("no quarantined rows" + (" match" if batch or reason else ""))
            return
        table = Table(title="Quarantine")
        for column in ("id", "batch", "file", "table", "row", "column", "reason"):
            table.add_column(column, justify="right" if column in ("id", "batch", "row") else "left")
        for row in rows:
            table.add_row(
                str(row.quarantine_id),
                str(row.batch_id),
                row.source_name.rsplit("/", 1)[-1],
                row.table_name,
                str(row.row_number),
                row.column_name or "",
                row.reason,
            )
        console.print(table)
        console.print("One row in full: `vnotify quarantine show ID` (its values with --show-values).")

    emit({"rows": [r.as_dict() for r in rows]}, as_json, render)


@app.command()
def show(
    quarantine_id: int = typer.Argument(..., help="The id `vnotify quarantine list` shows."),
    show_values: bool = typer.Option(
        False, "--show-values", help="Also print the row's values as received (they may be a victim's)."
    ),
    as_json: bool = JSON,
) -> None:
    """One quarantined row: where it came from, why, and its columns (values with --show-values)."""
    from ingest.quarantine import quarantined_row
    from vnotify.commands.ready import migrated_database_url

    row = quarantined_row(migrated_database_url(), quarantine_id, with_values=show_values)
    if row is None:
        err_console.print(f"no quarantined row {quarantine_id}: `vnotify quarantine list` shows the ids")
        raise typer.Exit(1)

    def render() -> None:
        console.print(
            f"[bold]row {row.row_number}[/] of {row.table_name} in batch {row.batch_id} ({row.source_name})"
        )
        console.print(f"reason: {row.reason}")
        if row.column_name:
            console.print(f"first failing column: {row.column_name}")
        if row.raw_row is None:
            console.print(f"columns: {', '.join(row.columns)} (values: --show-values)", soft_wrap=True)
        else:
            for column in row.columns:
                console.print(f"  {column}: {row.raw_row.get(column)!r}", soft_wrap=True)

    emit(row.as_dict(), as_json, render)
