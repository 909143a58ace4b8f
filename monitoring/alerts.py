"""Tell the data engineers: each problem the checks find is kept in `ops.alerts` and e-mailed to
`operations.alert_emails` once, and again every `operations.realert_hours` while it lasts.

E-mail goes through SendGrid with the same SDK and credentials as the notices (never through
the victims' outbox: an alert must reach someone even when sending to victims is what broke)."""

from __future__ import annotations

import datetime as dt
import html
import logging
from dataclasses import dataclass, field

import psycopg

from monitoring.checks import Problem, prefect_problems, warehouse_problems
from vnotify.config import AgencyConfig

log = logging.getLogger("vnotify.alerts")


@dataclass
class AlertRun:
    found: list[Problem] = field(default_factory=list)
    sent: list[Problem] = field(default_factory=list)  # in this run's e-mail
    recipients: int = 0
    prefect_error: str | None = None  # the Prefect API could not be read (itself reported)

    def as_dict(self) -> dict:
        return {
            "found": [p.key for p in self.found],
            "sent": [p.key for p in self.sent],
            "recipients": self.recipients,
            "prefect_error": self.prefect_error,
        }


def check_and_alert(
    url: str,
    config: AgencyConfig,
    *,
    now: dt.datetime | None = None,
    with_prefect: bool = True,
    send_email=None,
) -> AlertRun:
    """Find the problems, record them, and e-mail the ones due to the contacts. `send_email`
    (to, subject, text) is the SendGrid sender by default."""
    now = now or dt.datetime.now(dt.UTC)
    run = AlertRun()
    with psycopg.connect(url) as conn:
        run.found = warehouse_problems(conn, config, now)
    if with_prefect:
        try:
            run.found += prefect_problems(now, dt.timedelta(hours=config.operations.lookback_hours))
        except Exception as error:  # the server is down or unreachable: that is news too
            run.prefect_error = type(error).__name__
            run.found.append(
                Problem(
                    "prefect_unreachable",
                    "prefect",
                    f"the Prefect API could not be read ({run.prefect_error})",
                )
            )
    with psycopg.connect(url) as conn, conn.transaction():
        due = _record(conn, run.found, now, dt.timedelta(hours=config.operations.realert_hours))
        contacts = config.operations.alert_emails
        if due and contacts:
            sender = send_email or _sendgrid_sender(config)
            subject, text = _message(config, due)
            for address in contacts:
                sender(address, subject, text)
            conn.execute(
                "UPDATE ops.alerts SET last_sent_at = %s, sent_count = sent_count + 1 WHERE alert_key = ANY(%s)",
                (now, [p.key for p in due]),
            )
            run.sent, run.recipients = due, len(contacts)
    log.info("alerts: %s problems, %s sent to %s contacts", len(run.found), len(run.sent), run.recipients)
    return run


def _record(conn: psycopg.Connection, problems: list[Problem], now: dt.datetime, realert: dt.timedelta):
    """Upsert each problem; returns those never sent or last sent longer than `realert` ago."""
    due = []
    for problem in problems:
        (last_sent,) = conn.execute(
            """
            INSERT INTO ops.alerts (alert_key, kind, summary, first_seen_at, last_seen_at)
            VALUES (%s, %s, %s, %s, %s)
            ON CONFLICT (alert_key) DO UPDATE SET summary = excluded.summary, last_seen_at = excluded.last_seen_at
            RETURNING last_sent_at
            """,
            (problem.key, problem.kind, problem.summary, now, now),
        ).fetchone()
        if last_sent is None or now - last_sent >= realert:
            due.append(problem)
    return due


def _message(config: AgencyConfig, problems: list[Problem]) -> tuple[str, str]:
    count = len(problems)
    subject = f"[vnotify {config.agency.short_name}] {count} problem{'s' * (count != 1)} need attention"
    lines = [f"vnotify at {config.agency.name} found:", ""]
    lines += [f"- {problem.summary}" for problem in problems]
    lines += ["", "What to do: docs/runbook.md. This alert repeats while a problem lasts."]
    return subject, "\n".join(lines)


def _sendgrid_sender(config: AgencyConfig):
    from notifications.providers import Email, SendGridEmail, sendgrid_settings_from_env

    channel = config.channels.email
    client = SendGridEmail(sendgrid_settings_from_env(channel.from_address, channel.from_name, None))

    def send(to: str, subject: str, text: str) -> None:
        email = Email(
            to=to,
            subject=subject,
            html="<pre>" + html.escape(text) + "</pre>",
            text=text,
            custom_args={"kind": "staff_alert"},
            unsubscribe_url=str(config.agency.portal_base_url),
        )
        result = client.send(email)
        if result.outcome != "accepted":
            raise RuntimeError(f"the alert e-mail was not accepted ({result.reason})")

    return send
