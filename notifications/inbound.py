"""What a victim's text reply does: opt out (every channel), hold and ask when it might be an
opt-out, opt back in, get help, or wait for staff review.

`handle_reply` runs inside the webhook's transaction: the stored message, the opt-out (or
opt-in) and the answer we send back commit together. A provider retrying the same webhook
(same MessageSid) changes nothing and gets no second answer.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import psycopg

from notifications import catalog, opt_outs
from notifications.message import display_phone, message_language
from notifications.replies import ReplyKind, classify_reply
from vnotify.config import AgencyConfig


@dataclass(frozen=True)
class ReplyOutcome:
    kind: str
    urgent: bool
    duplicate: bool
    answer: str | None  # the text we send back, or None


def _last_message_to(conn: psycopg.Connection, address: str) -> tuple | None:
    """Our latest text to this number: which notification a reply belongs to, and its language."""
    return conn.execute(
        """
        SELECT outbox_id, language, payload ->> 'division_code'
        FROM ops.outbox WHERE channel = 'sms' AND address = %s AND state = 'sent'
        ORDER BY sent_at DESC NULLS LAST LIMIT 1
        """,
        (address,),
    ).fetchone()


def _phones(config: AgencyConfig, division_code: str | None) -> tuple[str, str]:
    division = next((d for d in config.divisions if d.code == division_code), config.divisions[0])
    return display_phone(division.investigations_phone), display_phone(division.substation_phone)


def handle_reply(
    conn: psycopg.Connection,
    config: AgencyConfig,
    provider_sid: str,
    from_address: str,
    body: str,
    received_at: dt.datetime,
) -> ReplyOutcome:
    verdict = classify_reply(body)
    last = _last_message_to(conn, from_address)
    outbox_id, language, division_code = last if last else (None, None, None)
    language = message_language(verdict.language or language, config.agency.languages)
    stored = conn.execute(
        """
        INSERT INTO ops.inbound_messages
          (provider_sid, from_address, body, kind, urgent, language, outbox_id, received_at)
        VALUES (%s, %s, %s, %s, %s, %s, %s, %s)
        ON CONFLICT (provider_sid) DO NOTHING
        RETURNING inbound_id
        """,
        (
            provider_sid,
            from_address,
            body,
            verdict.kind.value,
            verdict.urgent,
            language,
            outbox_id,
            received_at,
        ),
    ).fetchone()
    if stored is None:
        return ReplyOutcome(verdict.kind.value, verdict.urgent, True, None)
    (inbound_id,) = stored
    strings = catalog.strings(language)
    investigations, substation = _phones(config, division_code)
    agency = config.agency.short_name
    if verdict.kind is ReplyKind.OPT_OUT:
        # Every channel: a STOP by text also stops e-mail (and confirms any hold).
        opt_outs.opt_out_everywhere(conn, "sms", from_address, "sms_reply")
        answer = strings["reply_opted_out"].format(agency=agency)
    elif verdict.kind is ReplyKind.POSSIBLE_OPT_OUT:
        # Might be a revocation: hold everything, ask once, and leave it to the person or staff.
        opt_outs.hold(conn, "sms", from_address, inbound_id)
        answer = strings["reply_confirm_stop"].format(agency=agency)
    elif verdict.kind is ReplyKind.OPT_IN:
        opt_outs.opt_back_in(conn, "sms", from_address)
        answer = strings["reply_opted_in"].format(agency=agency)
    elif verdict.kind is ReplyKind.HELP:
        answer = strings["reply_help"].format(
            agency=agency, investigations=investigations, substation=substation
        )
    else:
        answer = strings["reply_unmonitored"].format(agency=agency, investigations=investigations)
    return ReplyOutcome(verdict.kind.value, verdict.urgent, False, answer)
