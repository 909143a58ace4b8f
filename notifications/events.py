"""What provider events do to the outbox: delivery status, acceptance, suppression.

Each function runs inside the caller's transaction, so a webhook's event rows and their effects
commit together. Events are stored once (`dedupe_key`); a status never moves backwards.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json

import psycopg
from psycopg.types.json import Jsonb

from notifications import opt_outs, outbox

UTC = dt.UTC

# Later stages outrank earlier ones; a late-arriving `sent` never overwrites `delivered`.
TWILIO_STATUS_RANK = {
    "accepted": 0,
    "scheduled": 0,
    "queued": 1,
    "sending": 2,
    "sent": 3,
    "delivered": 4,
    "undelivered": 4,
    "failed": 4,
    "read": 5,
    "canceled": 4,
}
SENDGRID_STATUS_RANK = {"processed": 1, "deferred": 2, "delivered": 3, "bounce": 3, "dropped": 3}
# Events that prove SendGrid accepted the message.
SENDGRID_ACCEPTED = {"processed", "deferred", "delivered", "bounce", "dropped", "open", "click"}
# Events after which the address must never be emailed again.
SENDGRID_SUPPRESS = {"bounce", "dropped", "spamreport", "unsubscribe", "group_unsubscribe"}
# Of those, the person's own request to stop hearing from us.
SENDGRID_ASKED_TO_STOP = {"spamreport", "unsubscribe", "group_unsubscribe"}


def insert_event(
    conn: psycopg.Connection,
    source: str,
    event: str,
    outbox_id: int | None,
    provider_id: str | None,
    dedupe_key: str,
    occurred_at: dt.datetime,
    detail: dict,
) -> bool:
    """Store an event; False when it was seen before (a provider retrying its webhook)."""
    return (
        conn.execute(
            """
            INSERT INTO ops.events (source, event, outbox_id, provider_id, dedupe_key, occurred_at, detail)
            VALUES (%s, %s, %s, %s, %s, %s, %s)
            ON CONFLICT (dedupe_key) DO NOTHING
            """,
            (source, event, outbox_id, provider_id, dedupe_key, occurred_at, Jsonb(detail)),
        ).rowcount
        == 1
    )


def _advance_delivery(conn, outbox_id: int, status: str, rank: dict[str, int], at: dt.datetime) -> None:
    current = conn.execute(
        "SELECT delivery_status FROM ops.outbox WHERE outbox_id = %s FOR UPDATE", (outbox_id,)
    ).fetchone()
    if current is None:
        return
    if current[0] is None or rank.get(status, -1) > rank.get(current[0], -1):
        conn.execute(
            "UPDATE ops.outbox SET delivery_status = %s, delivery_updated_at = %s WHERE outbox_id = %s",
            (status, at, outbox_id),
        )


def record_twilio_status(
    conn: psycopg.Connection, sid: str, status: str, error_code: str | None, received_at: dt.datetime
) -> bool:
    """A Twilio status callback. Returns False for a duplicate."""
    row = conn.execute("SELECT outbox_id FROM ops.outbox WHERE provider_id = %s", (sid,)).fetchone()
    outbox_id = row[0] if row else None
    detail = {"error_code": error_code} if error_code else {}
    if not insert_event(
        conn, "twilio", status, outbox_id, sid, f"twilio:{sid}:{status}", received_at, detail
    ):
        return False
    if outbox_id is not None:
        _advance_delivery(conn, outbox_id, status, TWILIO_STATUS_RANK, received_at)
    return True


def adopt_early_events(conn: psycopg.Connection, outbox_ids: list[int] | None = None) -> int:
    """Tie Twilio status callbacks that arrived before their message's id was recorded (Twilio
    may call back before the send call returns) to their outbox row, and apply them in the order
    they came. With `outbox_ids`, only those rows' events (just marked sent); without, every
    such event whose id is now known: the dispatcher's sweep, for a callback committed while
    the id was being recorded. Returns how many were adopted."""
    if outbox_ids is None:  # the sweep (callers naming rows already hold them)
        outbox_ids = [
            outbox_id
            for (outbox_id,) in conn.execute(
                """
                SELECT DISTINCT o.outbox_id FROM ops.events AS e
                JOIN ops.outbox AS o ON o.provider_id = e.provider_id
                WHERE e.outbox_id IS NULL AND e.source = 'twilio'
                """
            )
        ]
        # The outbox rows before their events, as the sender holds them (mark_sent_many): the
        # other order lets the sweep and a sender recording the same rows wait for each other.
        outbox.lock_rows(conn, outbox_ids)
    if not outbox_ids:
        return 0
    rows = conn.execute(
        """
        UPDATE ops.events AS e SET outbox_id = o.outbox_id
        FROM ops.outbox AS o
        WHERE e.outbox_id IS NULL AND e.source = 'twilio' AND e.provider_id = o.provider_id
          AND o.outbox_id = ANY(%(ids)s::bigint[])
        RETURNING e.outbox_id, e.event, e.occurred_at, e.event_id
        """,
        {"ids": outbox_ids},
    ).fetchall()
    for outbox_id, status, at, _ in sorted(rows, key=lambda row: (row[2], row[3])):
        _advance_delivery(conn, outbox_id, status, TWILIO_STATUS_RANK, at)
    return len(rows)


def _notification_id(event: dict) -> int | None:
    value = event.get("notification_id")
    try:
        return int(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def record_sendgrid_events(conn: psycopg.Connection, events: list) -> dict[str, int]:
    """A batch of SendGrid event-webhook events, each judged on its own: a malformed one is
    recorded as `rejected` with its reason (never its content: it may quote an address) and the
    others are stored; returns how many were new, repeats and rejected."""
    counts = {"stored": 0, "duplicates": 0, "rejected": 0}
    named = [_notification_id(event) for event in events if isinstance(event, dict)]
    outbox.lock_rows(conn, [outbox_id for outbox_id in named if outbox_id is not None])
    for index, event in enumerate(events):
        reason = sendgrid_event_problem(event)
        if reason is None:
            try:
                with conn.transaction():  # a savepoint: one event's failure keeps the others
                    counts["stored" if _record_sendgrid_event(conn, event) else "duplicates"] += 1
                continue
            except (psycopg.errors.DataError, psycopg.errors.IntegrityError) as error:
                reason = f"not storable ({type(error).__name__})"
        fingerprint = hashlib.sha256(json.dumps(event, sort_keys=True, default=str).encode()).hexdigest()
        insert_event(
            conn,
            "sendgrid",
            "rejected",
            None,
            None,
            f"sendgrid:rejected:{fingerprint}",
            dt.datetime.now(UTC),
            {"reason": reason, "index": index},
        )
        counts["rejected"] += 1
    return counts


# The fields an event may carry, and what each must be when present.
_TEXT_FIELDS = ("event", "sg_event_id", "sg_message_id", "email", "type")
_MAX_TIMESTAMP = 4_102_444_800  # 2100-01-01


def sendgrid_event_problem(event: object) -> str | None:
    """Why this event cannot be stored, or None. Names fields, never values."""
    if not isinstance(event, dict):
        return "not a JSON object"
    name = event.get("event")
    if not isinstance(name, str) or not name or len(name) > 64 or not name.isprintable():
        return "event is not an event name"
    for field in _TEXT_FIELDS:
        value = event.get(field)
        if value is not None and (not isinstance(value, str) or "\x00" in value or len(value) > 1000):
            return f"{field} is not text"
    timestamp = event.get("timestamp")
    if isinstance(timestamp, bool) or not isinstance(timestamp, int | str):
        return "timestamp is not a unix time"
    if isinstance(timestamp, str) and not timestamp.isdigit():
        return "timestamp is not a unix time"
    if not 0 <= int(timestamp) <= _MAX_TIMESTAMP:
        return "timestamp is not a unix time"
    return None


def _record_sendgrid_event(conn: psycopg.Connection, event: dict) -> bool:
    """One checked event; False when it was seen before."""
    name = event["event"]
    occurred = dt.datetime.fromtimestamp(int(event["timestamp"]), UTC)
    provider_id = str(event.get("sg_message_id") or "").split(".")[0] or None
    dedupe = (
        f"sendgrid:{event['sg_event_id']}"
        if event.get("sg_event_id")
        else f"sendgrid:{provider_id}:{name}:{event.get('timestamp')}"
    )
    outbox_id = _notification_id(event)
    exists = (
        outbox_id is not None
        and conn.execute(
            "SELECT 1 FROM ops.outbox WHERE outbox_id = %s AND channel = 'email'", (outbox_id,)
        ).fetchone()
    )
    outbox_id = outbox_id if exists else None
    # The address and the bounce text (which quotes it) stay out of the event row.
    detail = {"attempt": event.get("attempt"), "type": event.get("type")}
    if not insert_event(conn, "sendgrid", name, outbox_id, provider_id, dedupe, occurred, detail):
        return False
    if outbox_id is not None and name in SENDGRID_ACCEPTED and provider_id:
        outbox.mark_sent(conn, outbox_id, provider_id)
    if outbox_id is not None and name in SENDGRID_STATUS_RANK:
        _advance_delivery(conn, outbox_id, name, SENDGRID_STATUS_RANK, occurred)
    if name in SENDGRID_SUPPRESS and event.get("email"):
        # An unsubscribe or a spam report is the person asking to stop: every channel. A bounce
        # or a drop only says this address cannot take mail.
        opt_outs.opt_out_everywhere(
            conn,
            "email",
            str(event["email"]).strip().lower(),
            f"sendgrid_{name}",
            this_channel_only=name not in SENDGRID_ASKED_TO_STOP,
        )
    return True
