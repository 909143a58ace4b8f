"""`vnotify demo`: what `make demo` runs.

For now it starts the embedded database, applies migrations and generates the sample
agency's RMS/CAD exports; later stages (ingest → transform → send → evaluate) join here.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import typer

from vnotify.commands.simulate_cmd import generate_with_progress, render_summary
from vnotify.output import console, emit
from vnotify.paths import project_home
from warehouse import database, migrate


def demo(
    months: int = typer.Option(9, min=1, max=36, help="Months to simulate."),
    scale: float = typer.Option(1.0, min=0.001, max=10.0, help="1.0 ≈ 1,346 eligible victims a month."),
    seed: int = typer.Option(2025, help="Same seed, same run."),
    out: Path = typer.Option(None, help="Where the exports go; default .vnotify/demo/exports."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object as the last line."),
) -> None:
    """Run the demo pipeline on the embedded database."""
    out = out or project_home() / "demo" / "exports"
    out.mkdir(parents=True, exist_ok=True)
    with console.status("starting the database", spinner="dots"):
        url = database.database_url()
        revision = migrate.upgrade(url)
    if not as_json:
        where = "embedded PostgreSQL" if database.uses_embedded() else "DATABASE_URL"
        console.print(f"[green]database ready[/] ({where}, migrations at {revision})")
    summary = generate_with_progress(months, scale, seed, dt.date(2025, 3, 1), out, quiet=as_json)
    emit(
        {"out": str(out), "revision": revision, **summary.as_dict()},
        as_json,
        lambda: render_summary(summary, out),
    )
