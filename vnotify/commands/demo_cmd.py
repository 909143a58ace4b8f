"""`vnotify demo`: what `make demo` runs — the sample agency through every real stage.

A fresh demo database on the embedded server (or on DATABASE_URL's server), the provider
emulators and the web app on loopback, then `simulate.demo.run`: for each two-week period,
export → ingest → Great Expectations → dbt → send → victims acting through the real pages and
webhooks → surveys; then the evaluation and its report. Same seed, same run.
"""

from __future__ import annotations

import time
from pathlib import Path

import typer

from vnotify.output import console, emit, err_console
from vnotify.paths import project_home

DEMO_DATABASE = "vnotify_demo"


def fresh_database(url: str, name: str = DEMO_DATABASE) -> str:
    """Drop and re-create the demo database on the server `url` points at; return its URL."""
    import psycopg
    from sqlalchemy.engine import make_url

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return make_url(url).set(database=name).render_as_string(hide_password=False)


def demo_config(config):
    """The sample agency, with provider rate limits raised (the emulators are local) and every
    kind of notice on: reporting-party notices (off by default), case-status follow-ups and
    contacts from dispatch, so the demo's report shows each kind."""
    channels = config.channels.model_copy(
        update={
            "sms": config.channels.sms.model_copy(update={"messages_per_second": 500}),
            "email": config.channels.email.model_copy(update={"messages_per_second": 500}),
        }
    )
    notices = config.notices.model_copy(
        update={"reporting_parties": True, "status_updates": True, "cad_caller_phone": True}
    )
    return config.model_copy(update={"channels": channels, "notices": notices})


def demo(
    months: int = typer.Option(9, min=1, max=36, help="Months to simulate."),
    scale: float = typer.Option(1.0, min=0.01, max=10.0, help="1.0 ≈ 1,346 eligible victims a month."),
    seed: int = typer.Option(2025, help="Same seed, same run."),
    out: Path = typer.Option(None, help="Where exports and the report go; default .vnotify/demo."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object as the last line."),
) -> None:
    """Run the demo pipeline on the embedded database and write the evaluation report."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from analytics.run import run_evaluation
    from simulate import demo as engine
    from simulate.emulators import EmulatorSettings, run_in_thread
    from simulate.victim_behaviour import Victims
    from vnotify.config import load_config
    from warehouse import database, migrate
    from web.app import WebSettings, create_app
    from web.server import RunningServer, base_url_of, bind_socket

    started = time.perf_counter()
    out = (out or project_home() / "demo").resolve()
    config = demo_config(load_config())
    plan = engine.DemoPlan(months=months, scale=scale, seed=seed)
    with console.status("starting the database", spinner="dots"):
        url = fresh_database(database.database_url())
        revision = migrate.upgrade(url)
    if not as_json:
        where = "embedded PostgreSQL" if database.uses_embedded() else "DATABASE_URL's server"
        console.print(
            f"[green]database ready[/] (a fresh {DEMO_DATABASE} on the {where}, migrations at {revision})"
        )

    web_socket = bind_socket("127.0.0.1", 0)
    web_url = base_url_of(web_socket)
    web_socket.close()
    settings = EmulatorSettings(seed=seed, sendgrid_event_webhook_url=f"{web_url}/webhooks/sendgrid/events")
    emulator = run_in_thread(settings)
    env = engine.demo_environment(emulator.base_url, web_url, settings)
    previous = engine.apply_environment(env)
    port = int(web_url.rsplit(":", 1)[1])
    web = RunningServer(
        create_app(
            WebSettings(url, env["TWILIO_AUTH_TOKEN"], env["SENDGRID_WEBHOOK_PUBLIC_KEY"], web_url), config
        ),
        port=port,
    )
    victims = Victims(web_url, settings.auth_token, seed)
    sender = config.channels.sms.from_number or "+15205550100"
    try:
        with Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            TextColumn("{task.completed}/{task.total} periods"),
            TimeElapsedColumn(),
            console=console,
            disable=as_json,
            transient=False,
        ) as progress:
            task = progress.add_task("simulating", total=len(plan.periods()))

            def on_progress(done: int, total: int, what: str) -> None:
                progress.update(task, completed=done, description=what)

            tally = engine.run(
                plan,
                url,
                config,
                out,
                emulator.store,
                victims,
                sender,
                lambda: emulator.wait_idle(60),
                on_progress,
            )
            progress.update(task, description="evaluating")
            evaluation = run_evaluation(out / "report", config, url=url)
    finally:
        victims.close()
        web.stop()
        emulator.stop()
        engine.restore_environment(previous)
    seconds = time.perf_counter() - started
    summary = {
        "seconds": round(seconds, 1),
        "periods": tally.periods,
        "batches": dict(tally.batches),
        "sent": dict(tally.sent),
        "victims": dict(tally.behaviour),
        "followup_calls": tally.followup_calls,
        "evaluation": evaluation.summary(),
        "report_html": str(evaluation.html_path),
        "report_pdf": str(evaluation.pdf_path) if evaluation.pdf_path else None,
    }

    def render() -> None:
        totals = evaluation.results["kpis"]["totals"] or {}
        console.print()
        console.print("[bold]The figures by the numbers[/]")
        console.print(f"  victims notified per month: {totals.get('victims_notified_per_month', 0):,.0f}")
        for key, label in (
            ("email_open_rate", "email open rate"),
            ("email_share", "share notified by email"),
            ("unsubscribe_rate", "unsubscribe rate"),
            ("delivery_rate", "delivery rate"),
        ):
            value = totals.get(key)
            console.print(f"  {label}: {value:.2%}" if value is not None else f"  {label}: n/a")
        kinds = evaluation.results.get("figures_by_kind", {}).get("kinds", [])
        if kinds:
            console.print("  by kind of message (sent; delivered; emails opened):")
        for entry in kinds:
            delivered, opened = entry["delivery_rate"], entry["email_open_rate"]
            console.print(
                f"    {entry['label']}: {entry['messages_sent']:,}; "
                + (f"{delivered:.1%}" if delivered is not None else "n/a")
                + "; "
                + (f"{opened:.1%} of {entry['emails_sent']:,}" if opened is not None else "no emails")
            )
        funnel = evaluation.results["funnel"]
        console.print(
            f"  survey: {funnel['a']['responded'] + funnel['b']['responded']:,} responses from "
            f"{funnel['a']['invited'] + funnel['b']['invited']:,} invited"
        )
        significant = evaluation.summary()["significant"]
        console.print(f"  significant after correction: {', '.join(significant) or 'none'}")
        console.print(f"[bold]report[/]: {evaluation.html_path}")
        if evaluation.pdf_path:
            console.print(f"[bold]pdf[/]:    {evaluation.pdf_path}")
        elif evaluation.report_error:
            err_console.print(f"[yellow]no PDF[/]: {evaluation.report_error}")
        console.print(f"done in {seconds / 60:.1f} min")

    emit(summary, as_json, render)
