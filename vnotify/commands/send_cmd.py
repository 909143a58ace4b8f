"""`vnotify send`: queue due notifications in the outbox and dispatch them to SendGrid and Twilio."""

from __future__ import annotations

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from vnotify.output import console, emit, err_console


def send(
    dry_run: bool = typer.Option(False, "--dry-run", help="Render what would go out; change nothing."),
    limit: int = typer.Option(None, "--limit", min=1, help="Send at most this many messages."),
    workers: int = typer.Option(2, "--workers", min=1, max=64, help="Worker threads in this process."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object as the last line."),
    metrics_port: int = typer.Option(
        0,
        "--metrics-port",
        min=0,
        max=65535,
        help="Serve Prometheus metrics on 127.0.0.1 while sending (0: off).",
    ),
) -> None:
    """Queue what dbt found due (idempotent), then send it: opt-outs and the send window are
    checked again right before each message, and every outcome is recorded in ops.outbox.

    Credentials: TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN, SENDGRID_API_KEY (and TWILIO_API_BASE_URL,
    SENDGRID_API_HOST to point at `vnotify emulate`). More workers may run in other processes or
    on other machines at the same time."""
    from notifications.providers import MissingCredentials
    from notifications.service import dry_run as preview
    from notifications.service import send as run_send
    from vnotify.commands.ready import migrated_database_url
    from vnotify.config import load_config

    config = load_config()
    url = migrated_database_url()
    if metrics_port:
        from monitoring.metrics import serve_metrics

        serve_metrics(metrics_port, "127.0.0.1", url)
    summary = None
    if dry_run:
        from warehouse.eligibility_summary import eligibility_summary

        report = preview(url, config, limit=limit)
        summary = eligibility_summary(url)
    else:
        try:
            with Progress(
                TextColumn("[bold]sending"),
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

                report = run_send(url, config, limit=limit, workers=workers, on_step=on_step)
        except MissingCredentials as error:
            err_console.print(f"[red]cannot send[/] {error}")
            raise typer.Exit(2) from None

    def render() -> None:
        if report.dry_run:
            console.print(f"[bold]dry run[/]: would queue and send {report.would_send or 'nothing'}")
            console.print(f"longest SMS: {report.max_sms_segments} segment(s)")
        else:
            console.print(f"queued: {report.queued or 'nothing new'}")
            console.print(f"this run: {report.dispatch.get('outcomes') or 'nothing sent'}")
            if report.dispatch.get("reconciled"):
                console.print(f"reconciled: {report.dispatch['reconciled']}")
        if not report.dispatch.get("window_open", True):
            console.print(
                f"[yellow]outside the send window[/]: next opening {report.dispatch['next_opening']}"
            )
        console.print(f"outbox: {report.outbox}")
        for line in summary.lines() if summary else ():
            console.print(line, soft_wrap=True)

    result = report.as_dict()
    if summary is not None:
        result["eligibility"] = summary.as_dict()
    emit(result, as_json, render)
