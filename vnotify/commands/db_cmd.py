"""`vnotify db …`: the embedded PostgreSQL and migrations."""

from __future__ import annotations

import typer
from sqlalchemy.engine import make_url

from vnotify.output import console, emit
from warehouse import database, migrate

app = typer.Typer(help="Start, stop and migrate the database.", no_args_is_help=True)
JSON = typer.Option(False, "--json", help="Print one JSON object as the last line.")


def _masked(url: str) -> str:
    parsed = make_url(url)
    if not parsed.password:  # the embedded server has none; don't print a misleading ***
        parsed = parsed.set(password=None)
    return parsed.render_as_string(hide_password=True)


@app.command()
def start(as_json: bool = JSON) -> None:
    """Start the embedded PostgreSQL (or check DATABASE_URL answers) and apply migrations."""
    url = database.database_url()
    revision = migrate.upgrade(url)
    emit({"url": _masked(url), "embedded": database.uses_embedded(), "revision": revision}, as_json)


@app.command()
def stop(as_json: bool = JSON) -> None:
    """Stop the embedded PostgreSQL; with DATABASE_URL set there is nothing to stop."""
    if not database.uses_embedded():
        emit({"stopped": False, "reason": "DATABASE_URL is set; the server is not ours"}, as_json)
        return
    stopped = database.stop_embedded()
    emit({"stopped": stopped, "was_running": stopped}, as_json)


@app.command()
def status(as_json: bool = JSON) -> None:
    """Show which database is in use and whether it is running and migrated."""
    if database.uses_embedded():
        embedded = database.embedded_status()
        result = {"embedded": True, **embedded.__dict__}
        url = embedded.url
    else:
        url = database.database_url()
        result = {"embedded": False, "url": url}
    if url:
        result["url"] = _masked(url)
        result["revision"] = migrate.current_revision(url)
        result["head"] = migrate.head_revision()
    emit(result, as_json)


@app.command()
def url() -> None:
    """Print the database URL (for psql, dbt or a notebook), starting the embedded server if needed."""
    console.print(database.database_url(), soft_wrap=True)


@app.command("migrate")
def migrate_cmd(
    revision: str = typer.Argument("head", help="Target revision."),
    down: bool = typer.Option(False, "--down", help="Downgrade to REVISION instead."),
    as_json: bool = JSON,
) -> None:
    """Apply Alembic migrations (they own every table in the ops schema)."""
    url = database.database_url()
    before = migrate.current_revision(url)
    after = migrate.downgrade(url, revision) if down else migrate.upgrade(url, revision)
    emit({"from": before, "to": after, "head": migrate.head_revision()}, as_json)


@app.command("after-restore")
def after_restore(
    backup_time: str = typer.Option(
        ..., "--backup-time", help="When the restored backup was taken (ISO 8601 with offset)."
    ),
    resend_emails: bool = typer.Option(
        False, "--resend-emails", help="Let e-mails waiting in the backup go instead of holding them."
    ),
    as_json: bool = JSON,
) -> None:
    """Run once after restoring the database from a backup, before any worker starts: a text
    waiting to go is held when Twilio has sent that number anything since the backup, e-mails
    waiting to go are held (SendGrid keeps no log to ask), sends in flight are reconciled.
    Held rows are failed with reason held_after_restore (docs/operations.md, Backup and restore)."""
    import datetime as dt

    from notifications.outbox import settle_after_restore
    from notifications.providers import TwilioSms, twilio_settings_from_env
    from vnotify.commands.ready import migrated_database_url

    since = dt.datetime.fromisoformat(backup_time)
    if since.tzinfo is None:
        raise typer.BadParameter(
            "give the offset, e.g. 2025-10-08T02:00:00+00:00", param_hint="--backup-time"
        )
    twilio = TwilioSms(twilio_settings_from_env(None, None, None))
    with database.connect(migrated_database_url()) as conn:
        counts = settle_after_restore(
            conn, lambda to: twilio.texted_since(to, since), resend_emails=resend_emails
        )
    emit(counts, as_json)
