"""`vnotify mapping check FILE --mapping M`: what a mapping makes of an export, loading nothing."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from vnotify.output import console, emit, err_console

app = typer.Typer(help="Write and check mapping files for an agency's own CSV.", no_args_is_help=True)


@app.command()
def check(
    file: Path = typer.Argument(..., help="The export (CSV) to read."),
    mapping: Path = typer.Option(..., "--mapping", help="The mapping file (docs/mapping.md)."),
    rows: int = typer.Option(5, "--rows", min=0, help="Show the first N records as the contract sees them."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object as the last line."),
) -> None:
    """Map FILE without loading it: the first records, records per table and what the contract
    would quarantine (reasons, never values), the share of values each date format reads, date
    warnings that would reject the file, unmapped contract columns and unused source columns.

    Exit status 0 when the file would load, 2 for a mapping that is not valid, 3 when the file
    would be rejected."""
    from ingest.adapters.mapping import MappingError, load_mapping
    from ingest.mapping_check import check_mapping
    from ingest.records import FileRejected
    from vnotify.config import load_config

    try:
        result = check_mapping(file, load_mapping(mapping), load_config(), rows=rows)
    except MappingError as error:
        if as_json:
            emit({"status": "invalid_mapping", "errors": str(error).splitlines()}, True)
        else:
            err_console.print(f"[red]invalid mapping[/]\n{error}", soft_wrap=True)
        raise typer.Exit(2) from None
    except FileRejected as rejection:
        if as_json:
            emit({"status": "rejected", "reason": str(rejection)}, True)
        else:
            err_console.print(f"[red]rejected[/] {rejection}", soft_wrap=True)
        raise typer.Exit(3) from None

    emit(
        {"status": "ok" if result.would_load else "rejected", **result.as_dict()},
        as_json,
        lambda: render(result),
    )
    if not result.would_load:
        raise typer.Exit(3)


def render(result) -> None:
    console.print(f"[bold]{result.source_rows:,} source rows[/]")
    for record in result.first_records:
        console.print(f"[bold]{record['table']}[/] from row {record['row']}:")
        for column, value in record["values"].items():
            console.print(f"  {column}: {'' if value is None else value}", soft_wrap=True)
    counts = Table(title="Records per table")
    for column in ("table", "records", "would be quarantined", "unmapped contract columns"):
        counts.add_column(
            column, justify="right" if column in ("records", "would be quarantined") else "left"
        )
    for name, table in result.tables.items():
        counts.add_row(
            name, f"{table.records:,}", f"{table.would_quarantine:,}", ", ".join(table.unmapped_columns)
        )
    console.print(counts)
    for name, table in result.tables.items():
        for reason, count in table.reasons.most_common(5):
            console.print(f"  {name}: {count:,} records: {reason}")
    if result.date_formats:
        dates = Table(title="Date formats")
        for column in ("column", "format", "values read"):
            dates.add_column(column)
        for item in result.date_formats:
            dates.add_row(item["column"], item["format"], f"{item['share']:.1%} of {item['values']:,}")
        console.print(dates)
    if result.unused_source_columns:
        console.print(
            f"source columns no output uses: {', '.join(result.unused_source_columns)}", soft_wrap=True
        )
    for problem in result.date_problems:
        console.print(f"[red]would reject the file[/]: {problem}", soft_wrap=True)
    if result.would_load:
        console.print("[green]this file would load[/] with this mapping")
