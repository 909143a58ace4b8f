"""`vnotify evaluate`: the A/B evaluation and the command-staff report."""

from __future__ import annotations

from pathlib import Path

import typer

from vnotify.output import console, emit, err_console


def evaluate(
    out: Path = typer.Option(None, "--out", help="Folder for results.json, report.html, report.pdf."),
    from_csv: Path = typer.Option(
        None,
        "--from-csv",
        exists=False,
        help="Evaluate this CSV (one row per randomized victim) instead of the marts.",
    ),
    planned_share_b: float = typer.Option(
        None,
        "--planned-share-b",
        min=0.01,
        max=0.99,
        help="The planned holdout share (default: the config's).",
    ),
    no_pdf: bool = typer.Option(False, "--no-pdf", help="Write the HTML report only (no Chromium needed)."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object as the last line."),
) -> None:
    """Effects with confidence intervals, corrected for many outcomes, from the marts (and stored
    in the analytics schema) or from a CSV with the columns in docs/evaluation.md."""
    from rich.status import Status

    from analytics.frame import EvaluationInputError
    from analytics.run import run_evaluation
    from vnotify.commands.ready import migrated_database_url
    from vnotify.config import load_config
    from vnotify.paths import project_home

    config = load_config()
    out_dir = out or project_home() / "evaluation"
    try:
        with Status("evaluating", console=console, spinner="dots") if not as_json else _Quiet():
            output = run_evaluation(
                out_dir,
                config,
                url=None if from_csv else migrated_database_url(),
                from_csv=from_csv,
                planned_share_b=planned_share_b,
                with_pdf=not no_pdf,
            )
    except EvaluationInputError as error:
        err_console.print(f"[red]cannot evaluate[/] {error}")
        raise typer.Exit(2) from None
    summary = output.summary()

    def render() -> None:
        results = output.results
        srm = results["srm"]
        console.print(
            f"[bold]{results['rows']:,}[/] randomized victims: {srm['n_a']:,} notified, {srm['n_b']:,} held out"
        )
        if srm["alarm"]:
            console.print(
                f"[red bold]sample-ratio mismatch[/] (p = {srm['p_value']:.2g}): check the assignment"
            )
        for outcome in [*results["binary"], *results["ratings"]]:
            if outcome["insufficient"]:
                verdict = f"[yellow]insufficient data[/]: {outcome['insufficient']}"
            else:
                verdict = "[green]significant[/]" if outcome["significant"] else "no detectable difference"
            console.print(f"  {outcome['label']}: {verdict}")
        console.print(f"results: {output.results_path}")
        console.print(f"report:  {output.html_path}")
        if output.pdf_path:
            console.print(f"pdf:     {output.pdf_path}")
        if output.report_error:
            err_console.print(f"[yellow]no PDF[/]: {output.report_error}")

    emit(summary, as_json, render)


class _Quiet:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc) -> None:
        return None
