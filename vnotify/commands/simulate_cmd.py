"""`vnotify simulate …`: a synthetic agency for demos, tests and benchmarks."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from vnotify.config import load_config
from vnotify.output import console, emit

app = typer.Typer(help="Simulate an agency and its victims.", no_args_is_help=True)


def generate_with_progress(months: int, scale: float, seed: int, start: dt.date, out: Path, quiet: bool):
    from simulate.agency import generate_agency

    config = load_config()
    with Progress(
        TextColumn("[bold]simulating exports"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("months"),
        TimeElapsedColumn(),
        console=console,
        disable=quiet,
        transient=True,
    ) as progress:
        task = progress.add_task("months", total=months)
        return generate_agency(
            config,
            months=months,
            scale=scale,
            seed=seed,
            start=start,
            out_dir=out,
            progress=lambda done, total: progress.update(task, completed=done, total=total),
        )


def render_summary(summary, out: Path) -> None:
    table = Table(title="Synthetic agency exports")
    table.add_column("file")
    table.add_column("rows", justify="right")
    for name, rows in summary.files.items():
        table.add_row(name, f"{rows:,}")
    console.print(table)
    console.print(f"written to {out}", soft_wrap=True)
    per_month = summary.eligible_victims_per_month
    console.print(
        f"{summary.victims:,} victims; {summary.eligible_victims:,} eligible "
        f"(≈{summary.eligible_victims / max(len(per_month), 1):,.0f} a month, agency-wide)"
    )
    console.print("planted defects: " + ", ".join(f"{k} {v:,}" for k, v in summary.defects.items()))


@app.command()
def agency(
    months: int = typer.Option(9, min=1, max=120, help="Months to simulate."),
    scale: float = typer.Option(1.0, min=0.001, max=100.0, help="1.0 ≈ 1,346 eligible victims a month."),
    seed: int = typer.Option(2025, help="Same seed, byte-identical files."),
    start: dt.datetime = typer.Option("2025-03-01", formats=["%Y-%m-%d"], help="First day simulated."),
    out: Path = typer.Option(Path("exports"), help="Folder for the four CSV files."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object as the last line."),
) -> None:
    """Write incidents, offenses, persons and CAD calls in the export contract's format."""
    out.mkdir(parents=True, exist_ok=True)
    summary = generate_with_progress(months, scale, seed, start.date(), out, quiet=as_json)
    emit({"out": str(out), **summary.as_dict()}, as_json, lambda: render_summary(summary, out))
