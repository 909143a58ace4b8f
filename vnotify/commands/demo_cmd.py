"""`vnotify demo`: what `make demo` runs.

Today it runs the stages that exist: start the embedded database and migrate, simulate the
sample agency's RMS/CAD exports, ingest them, and check each batch with Great Expectations.
Transform, send, surveys and evaluate join as they land.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import typer

from vnotify.commands.ingest_cmd import render_results
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
    from expectations.run import validate_batch
    from ingest.run import ingest_path

    out = out or project_home() / "demo" / "exports"
    out.mkdir(parents=True, exist_ok=True)
    with console.status("starting the database", spinner="dots"):
        url = database.database_url()
        revision = migrate.upgrade(url)
    if not as_json:
        where = "embedded PostgreSQL" if database.uses_embedded() else "DATABASE_URL"
        console.print(f"[green]database ready[/] ({where}, migrations at {revision})")

    summary = generate_with_progress(months, scale, seed, dt.date(2025, 3, 1), out, quiet=as_json)
    if not as_json:
        render_summary(summary, out)

    with console.status("ingesting the exports", spinner="dots"):
        batches = ingest_path(out, "contract-csv", url=url)
    if not as_json:
        render_results(batches)
    loaded = [b for b in batches if b.status == "loaded"]
    with console.status("checking the batches with Great Expectations", spinner="dots"):
        checks = {b.batch_id: validate_batch(b.batch_id, url).success for b in loaded}
    if not as_json and loaded:
        passed = sum(checks.values())
        console.print(f"expectations: {passed} of {len(checks)} new batches passed")

    emit(
        {
            "out": str(out),
            "revision": revision,
            "simulated": summary.as_dict(),
            "batches": [b.as_dict() for b in batches],
            "expectations_passed": checks,
        },
        as_json,
        lambda: None,
    )
