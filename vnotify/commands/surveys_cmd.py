"""`vnotify surveys send`: invite both arms to the survey, remind once, through the outbox."""

from __future__ import annotations

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from vnotify.output import console, emit, err_console

app = typer.Typer(
    help="Survey invitations and reminders (both arms of the experiment).", no_args_is_help=True
)


@app.command("send")
def send(
    dry_run: bool = typer.Option(False, "--dry-run", help="Render what would go out; change nothing."),
    limit: int = typer.Option(None, "--limit", min=1, help="Send at most this many survey messages."),
    workers: int = typer.Option(2, "--workers", min=1, max=64, help="Worker threads in this process."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object as the last line."),
) -> None:
    """Queue the invitations dbt found due (restricted.survey_invitations_due) and one reminder per
    invitation still unopened after survey.reminder_after_days, then send them. Idempotent: each
    victim is invited once per experiment and reminded at most once.

    Same credentials and guarantees as `vnotify send`; only survey messages are sent here."""
    from notifications.providers import MissingCredentials
    from notifications.service import dry_run_surveys, send_surveys
    from vnotify.commands.ready import migrated_database_url
    from vnotify.config import load_config

    config = load_config()
    url = migrated_database_url()
    if dry_run:
        report = dry_run_surveys(url, config, limit=limit)
    else:
        try:
            with Progress(
                TextColumn("[bold]sending surveys"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                console=console,
                disable=as_json,
                transient=True,
            ) as progress:
                task = progress.add_task("", total=limit)

                def on_step(step: str, outbox_id: int) -> None:
                    if step == "recorded":
                        progress.advance(task)

                report = send_surveys(url, config, limit=limit, workers=workers, on_step=on_step)
        except MissingCredentials as error:
            err_console.print(f"[red]cannot send[/] {error}")
            raise typer.Exit(2) from None

    def render() -> None:
        if report.dry_run:
            console.print(f"[bold]dry run[/]: would invite {report.would_invite or 'nobody'}")
            console.print(f"would remind {report.would_remind or 'nobody'}")
            console.print(f"longest SMS: {report.max_sms_segments} segment(s)")
        else:
            console.print(f"invited: {report.invited or 'nobody new'}")
            console.print(f"reminded: {report.reminded or 'nobody new'}")
            console.print(f"this run: {report.dispatch.get('outcomes') or 'nothing sent'}")
            if report.dispatch.get("reconciled"):
                console.print(f"reconciled: {report.dispatch['reconciled']}")
        if not report.dispatch.get("window_open", True):
            console.print(
                f"[yellow]outside the send window[/]: next opening {report.dispatch['next_opening']}"
            )
        console.print(f"survey outbox: {report.outbox}")

    emit(report.as_dict(), as_json, render)
