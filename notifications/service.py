"""The send steps as one call each: queue what is due, then dispatch it. Flows and the CLI wrap
these: `send` for the notices dbt found due, `send_surveys` for survey invitations and reminders."""

from __future__ import annotations

import datetime as dt
import os
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

import psycopg

from notifications import outbox, surveys
from notifications.dispatcher import Channels, Dispatcher, DispatchSettings
from notifications.message import SURVEY_KINDS, Notification
from notifications.providers import (
    MissingCredentials,
    SendGridEmail,
    TwilioSms,
    sendgrid_settings_from_env,
    twilio_settings_from_env,
)
from notifications.render import render_email, render_sms, render_survey_email, render_survey_sms
from notifications.tokens import new_token
from notifications.window import is_open, next_opening
from vnotify.config import AgencyConfig


@dataclass
class SendReport:
    # Rows queued now, per kind and channel: {"initial": {"sms": 3, "email": 2}, "status_update": ...}.
    queued: dict[str, dict[str, int]] = field(default_factory=dict)
    dispatch: dict = field(default_factory=dict)
    outbox: dict[str, int] = field(default_factory=dict)
    dry_run: bool = False
    would_send: dict[str, int] = field(default_factory=dict)  # per channel, every kind together
    would_send_by_kind: dict[str, dict[str, int]] = field(default_factory=dict)
    max_sms_segments: int = 0

    def as_dict(self) -> dict:
        return {
            "dry_run": self.dry_run,
            "queued": self.queued,
            "would_send": self.would_send,
            "would_send_by_kind": self.would_send_by_kind,
            "max_sms_segments": self.max_sms_segments,
            "dispatch": self.dispatch,
            "outbox": self.outbox,
        }


def status_callback_url(config: AgencyConfig) -> str:
    base = os.environ.get("VNOTIFY_PUBLIC_BASE_URL") or str(config.agency.portal_base_url)
    return f"{base.rstrip('/')}/webhooks/twilio/status"


def channels_from_env(config: AgencyConfig) -> Channels:
    """Provider clients for the channels the agency enabled, credentials from the environment.
    Raises UnsafeSettings for plain-http provider hosts, or the published test credentials sent
    anywhere but to an emulator on this machine."""
    sms_config, email_config = config.channels.sms, config.channels.email
    _refuse_unsafe_providers(
        sms_config is not None and sms_config.enabled, email_config is not None and email_config.enabled
    )
    channels = Channels()
    if sms_config and sms_config.enabled:
        twilio = twilio_settings_from_env(
            sms_config.messaging_service_sid, sms_config.from_number, status_callback_url(config)
        )
        channels.sms = lambda: TwilioSms(twilio)
    if email_config and email_config.enabled:
        sendgrid = sendgrid_settings_from_env(
            email_config.from_address, email_config.from_name, email_config.unsubscribe_group_id
        )
        channels.email = lambda: SendGridEmail(sendgrid)
    return channels


class UnsafeSettings(MissingCredentials):
    """Provider settings that must not be used (vnotify.unsafe_settings)."""


def _refuse_unsafe_providers(sms: bool, email: bool) -> None:
    from vnotify.unsafe_settings import provider_refusals

    hosts, secrets = {}, {}
    if sms:
        hosts["TWILIO_API_BASE_URL"] = os.environ.get("TWILIO_API_BASE_URL") or "https://api.twilio.com"
        secrets["TWILIO_AUTH_TOKEN"] = os.environ.get("TWILIO_AUTH_TOKEN")
    if email:
        hosts["SENDGRID_API_HOST"] = os.environ.get("SENDGRID_API_HOST") or "https://api.sendgrid.com"
        secrets["SENDGRID_API_KEY"] = os.environ.get("SENDGRID_API_KEY")
    problems = provider_refusals(hosts, secrets)
    if problems:
        raise UnsafeSettings("; ".join(problems))


def rate_limits(config: AgencyConfig) -> dict[str, float]:
    limits = {}
    if config.channels.sms:
        limits["sms"] = config.channels.sms.messages_per_second
    if config.channels.email:
        limits["email"] = config.channels.email.messages_per_second
    return limits


def queue_due(url: str) -> dict[str, dict[str, int]]:
    """Queue the notices dbt found due (victims' first notices and reporting parties' notices),
    then the due status updates: the rows queued now per kind and channel."""
    with psycopg.connect(url) as conn:
        queued = outbox.enqueue_due(conn)
    with psycopg.connect(url) as conn:
        queued.update(outbox.enqueue_status_updates(conn))
    return queued


def send(
    url: str,
    config: AgencyConfig,
    limit: int | None = None,
    workers: int = 1,
    channels: Channels | None = None,
    settings: DispatchSettings | None = None,
    drain: bool = False,
    on_step=None,
    clock: Callable[[], dt.datetime] | None = None,
) -> SendReport:
    report = SendReport(queued=queue_due(url))
    dispatcher = Dispatcher(
        url,
        config,
        channels or channels_from_env(config),
        settings,
        rate_limits=rate_limits(config),
        on_step=on_step,
        clock=clock or (lambda: dt.datetime.now(dt.UTC)),
    )
    report.dispatch = dispatcher.run(limit=limit, workers=workers, drain=drain).as_dict()
    with psycopg.connect(url) as conn:
        report.outbox = outbox.counts(conn)
    return report


# What a send would queue: the notices (their kind is a column) and the status updates; a row is
# left out when the outbox already holds it (same victim, report, kind, channel and subject).
_WOULD_QUEUE = """
    SELECT due.*, channel FROM {source} AS due
    CROSS JOIN LATERAL unnest(due.channels) AS channel
    WHERE NOT EXISTS (SELECT 1 FROM ops.outbox o WHERE o.victim_key = due.victim_key
                      AND o.report_number = due.report_number AND o.kind = due.kind
                      AND o.channel = channel AND o.subject = {subject})
    ORDER BY due.report_number
    LIMIT %s
"""


def dry_run(url: str, config: AgencyConfig, limit: int | None = None) -> SendReport:
    """What a send would do now, changing nothing: it renders every message it would send, of
    every kind (first notices, reporting parties' notices, status updates)."""
    report = SendReport(dry_run=True)
    would: Counter = Counter()
    by_kind: dict[str, Counter] = {}
    with psycopg.connect(url) as conn:
        for source, subject in (
            ("restricted.notifications_due", "''"),
            ("restricted.status_updates_due", "due.subject"),
        ):
            left = None if limit is None else limit - sum(would.values())
            if left is not None and left <= 0:
                break
            rows = conn.execute(_WOULD_QUEUE.format(source=source, subject=subject), (left,))
            names = [column.name for column in rows.description]
            for values in rows.fetchall():
                row = dict(zip(names, values, strict=True))
                notification = Notification.from_row(row)
                if row["channel"] == "sms":
                    rendered = render_sms(notification, config, new_token())
                    report.max_sms_segments = max(report.max_sms_segments, rendered.segments.segments)
                else:
                    render_email(notification, config, new_token())
                would[row["channel"]] += 1
                by_kind.setdefault(notification.kind, Counter())[row["channel"]] += 1
        report.outbox = outbox.counts(conn)
    report.would_send = dict(would)
    report.would_send_by_kind = {kind: dict(counts) for kind, counts in sorted(by_kind.items())}
    report.dispatch = _window_now(config)
    return report


# -- surveys ------------------------------------------------------------------------------------


@dataclass
class SurveyReport:
    invited: dict[str, int] = field(default_factory=dict)  # invitations queued now, per channel
    reminded: dict[str, int] = field(default_factory=dict)  # reminders queued now, per channel
    dispatch: dict = field(default_factory=dict)
    outbox: dict[str, int] = field(default_factory=dict)  # survey messages per state
    dry_run: bool = False
    would_invite: dict[str, int] = field(default_factory=dict)
    would_remind: dict[str, int] = field(default_factory=dict)
    max_sms_segments: int = 0

    def as_dict(self) -> dict:
        return {
            "dry_run": self.dry_run,
            "invited": self.invited,
            "reminded": self.reminded,
            "would_invite": self.would_invite,
            "would_remind": self.would_remind,
            "max_sms_segments": self.max_sms_segments,
            "dispatch": self.dispatch,
            "outbox": self.outbox,
        }


def queue_surveys(url: str, config: AgencyConfig) -> tuple[dict[str, int], dict[str, int]]:
    """Queue the invitations dbt found due, then the reminders that are due: (invited, reminded).

    Each is its own transaction; queueing may run at any hour (the dispatcher keeps the window)."""
    experiment = config.experiment.name
    with psycopg.connect(url) as conn:
        invited = surveys.enqueue_invitations(conn, experiment)
    reminded: dict[str, int] = {}
    if config.survey.reminder_after_days is not None:
        with psycopg.connect(url) as conn:
            reminded = surveys.enqueue_reminders(conn, experiment, config.survey.reminder_after_days)
    return invited, reminded


def send_surveys(
    url: str,
    config: AgencyConfig,
    limit: int | None = None,
    workers: int = 1,
    channels: Channels | None = None,
    settings: DispatchSettings | None = None,
    drain: bool = False,
    on_step=None,
    clock: Callable[[], dt.datetime] | None = None,
) -> SurveyReport:
    """Queue survey invitations and reminders, then send survey messages (and only those) through
    the outbox dispatcher: opt-outs and the send window are checked again before each one."""
    invited, reminded = queue_surveys(url, config)
    report = SurveyReport(invited=invited, reminded=reminded)
    dispatcher = Dispatcher(
        url,
        config,
        channels or channels_from_env(config),
        settings,
        rate_limits=rate_limits(config),
        on_step=on_step,
        clock=clock or (lambda: dt.datetime.now(dt.UTC)),
        kinds=SURVEY_KINDS,
    )
    report.dispatch = dispatcher.run(limit=limit, workers=workers, drain=drain).as_dict()
    with psycopg.connect(url) as conn:
        report.outbox = outbox.counts(conn, SURVEY_KINDS)
    return report


def dry_run_surveys(url: str, config: AgencyConfig, limit: int | None = None) -> SurveyReport:
    """What a survey run would queue and send now, changing nothing: it renders every message."""
    report = SurveyReport(dry_run=True)
    experiment = config.experiment.name
    with psycopg.connect(url) as conn:
        due = [{**row, "kind": "survey"} for row in surveys.invitations_due(conn, experiment, limit)]
        if config.survey.reminder_after_days is not None:
            due += [
                {**row, "kind": "survey_reminder"}
                for row in surveys.reminders_due(conn, experiment, config.survey.reminder_after_days, limit)
            ]
        report.outbox = outbox.counts(conn, SURVEY_KINDS)
    would: dict[str, Counter] = {"survey": Counter(), "survey_reminder": Counter()}
    for row in due[:limit] if limit else due:
        message = surveys.message_for(row)
        if row["channel"] == "sms":
            rendered = render_survey_sms(message, config, new_token())
            report.max_sms_segments = max(report.max_sms_segments, rendered.segments.segments)
        else:
            render_survey_email(message, config, new_token())
        would[row["kind"]][row["channel"]] += 1
    report.would_invite, report.would_remind = dict(would["survey"]), dict(would["survey_reminder"])
    report.dispatch = _window_now(config)
    return report


def _window_now(config: AgencyConfig) -> dict:
    now = dt.datetime.now(dt.UTC)
    window = config.send_window
    return {
        "window_open": is_open(now, window.start, window.end, config.agency.zone),
        "next_opening": next_opening(now, window.start, window.end, config.agency.zone).isoformat(),
    }
