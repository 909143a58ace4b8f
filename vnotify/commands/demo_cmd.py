"""`vnotify demo`: what `make demo` runs.

Today it runs the stages that exist: start the embedded database and migrate, simulate the
sample agency's RMS/CAD exports, ingest them, check each batch with Great Expectations, and
build the warehouse as of the end of the simulated period. Send, surveys and evaluate join as
they land.
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

    from warehouse.transform import transform

    as_of = (summary_end(summary)).isoformat()
    with console.status("building the warehouse (dbt)", spinner="dots"):
        built = transform(url=url, as_of=as_of, quiet=True)
    figures = warehouse_figures(url) if built.success else {}
    if not as_json:
        state = "[green]passed[/]" if built.success else f"[red]failed[/] {', '.join(built.failures)}"
        console.print(f"dbt build {state} in {built.seconds:.0f} s (as of {as_of})")
        for key, value in figures.items():
            console.print(f"  {key.replace('_', ' ')}: {value:,}")
    emit(
        {
            "out": str(out),
            "revision": revision,
            "simulated": summary.as_dict(),
            "batches": [b.as_dict() for b in batches],
            "expectations_passed": checks,
            "transform": built.as_dict(),
            "warehouse": figures,
        },
        as_json,
        lambda: None,
    )
    if not built.success:
        raise typer.Exit(1)


def summary_end(summary) -> dt.datetime:
    """The moment the simulated period ends: decisions are made as of then."""
    from simulate.agency import add_months

    end = add_months(dt.date.fromisoformat(str(summary.start)), summary.months)
    return dt.datetime.combine(end, dt.time(0, 0), tzinfo=dt.UTC)


def warehouse_figures(url: str) -> dict[str, int]:
    import psycopg

    with psycopg.connect(url) as conn:
        row = conn.execute(
            """SELECT (SELECT count(*) FROM marts.fct_eligibility_decisions),
                      (SELECT count(*) FROM marts.fct_eligibility_decisions WHERE is_eligible),
                      (SELECT count(*) FROM marts.fct_experiment_assignments WHERE arm = 'A'),
                      (SELECT count(*) FROM marts.fct_experiment_assignments WHERE arm = 'B'),
                      (SELECT count(*) FROM restricted.notifications_due)"""
        ).fetchone()
    keys = (
        "victims_decided",
        "eligible_now",
        "assigned_notified_a",
        "assigned_holdout_b",
        "notifications_due",
    )
    return dict(zip(keys, row, strict=True))
