"""`vnotify ops check|prefect-setup`: the pipeline's health for the data engineers."""

from __future__ import annotations

import typer

from vnotify.output import console, emit

app = typer.Typer(
    help="Pipeline health: alerts to the data engineers, the Prefect server's setup.", no_args_is_help=True
)


@app.command()
def check(
    prefect: bool = typer.Option(
        True, "--prefect/--no-prefect", help="Also read the Prefect API's flow runs."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object as the last line."),
) -> None:
    """What the `watch` deployment does every five minutes: find failed, crashed, cancelled or
    late runs, held batches, a stale export and a backlog of unknown sends, and e-mail each new
    one to operations.alert_emails. Exits 1 while any problem lasts."""
    from monitoring.alerts import check_and_alert
    from vnotify.commands.ready import migrated_database_url
    from vnotify.config import load_config

    run = check_and_alert(migrated_database_url(), load_config(), with_prefect=prefect)

    def render() -> None:
        if not run.found:
            console.print("no problems")
        for problem in run.found:
            console.print(f"- {problem.summary}")
        if run.sent:
            console.print(f"alerted {len(run.sent)} to {run.recipients} contacts")

    emit(run.as_dict(), as_json, render)
    if run.found:
        raise typer.Exit(1)


@app.command("prefect-setup")
def prefect_setup() -> None:
    """Once per Prefect server, after `prefect deploy --all`: the automation that marks a flow run
    whose process died Crashed, so it frees its concurrency slot and `watch` alerts on it."""
    from monitoring.prefect_setup import ensure_zombie_automation

    console.print(f"zombie automation: {ensure_zombie_automation()}")
