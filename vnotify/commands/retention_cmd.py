"""`vnotify retention`: remove the contact details of reports past `agency.retention_days`."""

from __future__ import annotations

import typer

from vnotify.output import console, emit


def retention(
    dry_run: bool = typer.Option(False, "--dry-run", help="Count what would be removed; change nothing."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object as the last line."),
) -> None:
    """Names, birth dates, ages, phones, emails, replies and survey comments of every report whose
    last contact (or, if nobody was contacted, the report itself) is older than the agency's
    retention_days, in every table, in one transaction. Hashed victim keys, the marts, the outbox
    rows (without addresses) and opt-outs are kept. Prints rows changed per table."""
    from vnotify.commands.ready import migrated_database_url
    from vnotify.config import load_config
    from warehouse.retention import apply_retention

    result = apply_retention(migrated_database_url(), load_config(), dry_run=dry_run)

    def render() -> None:
        verb = "would change" if result.dry_run else "changed"
        console.print(
            f"[bold]retention[/] {result.retention_days} days (cut-off {result.cutoff:%Y-%m-%d %H:%M} UTC): "
            f"{result.reports_past_retention} reports past it"
        )
        for table, count in result.rows.items():
            if count:
                console.print(f"  {table}: {verb} {count} rows")
        if not result.rows_changed:
            console.print("  nothing left to remove")
        if result.dry_run:
            console.print("[yellow]dry run[/]: nothing was changed")

    emit(result.as_dict(), as_json, render)
