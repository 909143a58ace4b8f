"""The transactional outbox: every state change of a notification is one short SQL statement here.

States: pending → sending → sent | failed | retry | unknown; retry → sending; unknown → sent |
retry | failed (by reconciliation only). A row is `sending` only under a lease; a lease that
runs out means the worker died somewhere around the provider call, so the row becomes `unknown`
and is reconciled, never simply sent again.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable
from dataclasses import dataclass

import psycopg
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

# Backoff for retryable errors: exponential from BASE, capped, with full jitter.
BACKOFF_BASE_S = 2.0
BACKOFF_CAP_S = 900.0
MAX_ATTEMPTS = 8

PAYLOAD_FIELDS = (
    "person_seq",
    "first_name",
    "offense_code",
    "offense_name",
    "explanation",
    "next_steps",
    "officer_name",
    "reported_at",
    "division_code",
    "substation_phone",
    "investigations_phone",
)


@dataclass(frozen=True)
class ClaimedRow:
    outbox_id: int
    victim_key: str
    report_number: str
    kind: str
    channel: str
    address: str
    language: str
    payload: dict
    attempts: int
    lease_until: dt.datetime
    invitation_id: int | None = None  # survey kinds: the invitation the message links to
    subject: str = ""  # status updates: what changed (a case status or detective:<name>)


# A status update's payload: the usual fields it has (no offense explanation or next steps) and
# what changed.
STATUS_PAYLOAD_FIELDS = (
    *(field for field in PAYLOAD_FIELDS if field not in ("explanation", "next_steps")),
    "case_status",
    "assigned_detective",
    "change_type",
)


def _enqueue(conn: psycopg.Connection, source: str, fields: tuple[str, ...], subject: str) -> dict[str, int]:
    payload = ", ".join(f"'{field}', due.{field}" for field in fields)
    rows = conn.execute(
        f"""
        WITH inserted AS (
          INSERT INTO ops.outbox (victim_key, report_number, kind, channel, address, language, payload, subject)
          SELECT due.victim_key, due.report_number, due.kind, channel,
                 CASE channel WHEN 'sms' THEN due.phone_e164 ELSE due.email END,
                 due.language, jsonb_build_object({payload}), {subject}
          FROM {source} AS due
          CROSS JOIN LATERAL unnest(due.channels) AS channel
          ON CONFLICT ON CONSTRAINT outbox_once DO NOTHING
          RETURNING kind, channel
        )
        SELECT kind, channel, count(*) FROM inserted GROUP BY kind, channel
        """
    ).fetchall()
    queued: dict[str, dict[str, int]] = {}
    for kind, channel, n in rows:
        queued.setdefault(kind, {})[channel] = n
    return queued


def enqueue_due(conn: psycopg.Connection) -> dict[str, dict[str, int]]:
    """Queue every due notification once per channel, of the kind the warehouse decided (a
    reporting party's row is `reporting_party`, never `initial`); rows already queued are left
    alone. Returns the rows queued now per kind and channel."""
    return _enqueue(conn, "restricted.notifications_due", PAYLOAD_FIELDS, "''")


def enqueue_status_updates(conn: psycopg.Connection) -> dict[str, dict[str, int]]:
    """Queue every due case-status follow-up once per channel and subject (what changed); a
    (victim, report, subject) already queued is left alone. Returns {'status_update': {channel: n}}
    or {} when nothing was queued."""
    return _enqueue(conn, "restricted.status_updates_due", STATUS_PAYLOAD_FIELDS, "due.subject")


def expire_leases(conn: psycopg.Connection) -> int:
    """Rows whose worker stopped mid-send become `unknown`: reconcile them, do not resend."""
    # In outbox_id order and past rows someone holds (a webhook or a sender recording them): a
    # held row is looked at again next round, and this statement never waits in a lock cycle.
    return conn.execute(
        """
        WITH expired AS (
          SELECT outbox_id FROM ops.outbox
          WHERE state = 'sending' AND lease_until < now()
          ORDER BY outbox_id
          FOR UPDATE SKIP LOCKED
        )
        UPDATE ops.outbox AS o
        SET state = 'unknown', reason = 'lease_expired', next_attempt_at = now(), updated_at = now()
        FROM expired WHERE o.outbox_id = expired.outbox_id
        """
    ).rowcount


def claim(
    conn: psycopg.Connection,
    worker: str,
    limit: int,
    lease_seconds: float,
    channels: tuple[str, ...],
    kinds: tuple[str, ...] | None = None,
) -> list[ClaimedRow]:
    """Take up to `limit` due rows (of `kinds`, else any kind) for this worker; the caller commits
    before calling a provider."""
    rows = conn.execute(
        """
        WITH picked AS (
          SELECT outbox_id FROM ops.outbox
          WHERE state IN ('pending', 'retry') AND next_attempt_at <= now() AND channel = ANY(%(channels)s)
            AND (%(kinds)s::text[] IS NULL OR kind = ANY(%(kinds)s::text[]))
          ORDER BY next_attempt_at, outbox_id
          LIMIT %(limit)s
          FOR UPDATE SKIP LOCKED
        )
        UPDATE ops.outbox AS o
        SET state = 'sending', claimed_by = %(worker)s, claimed_at = now(),
            lease_until = now() + make_interval(secs => %(lease)s),
            attempts = o.attempts + 1, updated_at = now()
        FROM picked
        WHERE o.outbox_id = picked.outbox_id
        RETURNING o.outbox_id, o.victim_key, o.report_number, o.kind, o.channel, o.address, o.language,
                  o.payload, o.attempts, o.lease_until, o.invitation_id, o.subject
        """,
        {
            "channels": list(channels),
            "kinds": list(kinds) if kinds is not None else None,
            "limit": limit,
            "worker": worker,
            "lease": lease_seconds,
        },
    ).fetchall()
    return [ClaimedRow(*row) for row in rows]


def record_tokens(conn: psycopg.Connection, tokens: list[tuple[str, int, int]], link_days: int) -> None:
    """Store (token_hash, outbox_id, attempt) before the message carrying the token goes out."""
    with conn.cursor() as cur:
        cur.executemany(
            """
            INSERT INTO ops.message_tokens (token_hash, outbox_id, attempt, expires_at)
            VALUES (%s, %s, %s, now() + make_interval(days => %s))
            """,
            [(token_hash, outbox_id, attempt, link_days) for token_hash, outbox_id, attempt in tokens],
        )


def is_opted_out(conn: psycopg.Connection, channel: str, address: str) -> bool:
    return (
        conn.execute(
            "SELECT 1 FROM ops.opt_outs WHERE channel = %s AND address = %s", (channel, address)
        ).fetchone()
        is not None
    )


def record_opt_out(conn: psycopg.Connection, channel: str, address: str, source: str) -> None:
    conn.execute(
        """
        INSERT INTO ops.opt_outs (channel, address, source) VALUES (%s, %s, %s)
        ON CONFLICT (channel, address) DO NOTHING
        """,
        (channel, address, source),
    )


def mark_sent(conn: psycopg.Connection, outbox_id: int, provider_id: str, worker: str | None = None) -> bool:
    """Record the provider's id, and apply any delivery callback that came before it. False
    when the row was no longer ours (lease lost)."""
    marked = (
        conn.execute(
            """
            UPDATE ops.outbox
            SET state = 'sent', provider_id = %s, sent_at = now(), lease_until = NULL, reason = NULL,
                error_code = NULL, updated_at = now()
            WHERE outbox_id = %s AND state IN ('sending', 'unknown')
              AND (%s::text IS NULL OR claimed_by = %s)
            """,
            (provider_id, outbox_id, worker, worker),
        ).rowcount
        == 1
    )
    if marked:
        _adopt_early_events(conn, [outbox_id])
    return marked


def lock_rows(conn: psycopg.Connection, outbox_ids: list[int]) -> None:
    """Lock these rows in outbox_id order, the one order every writer of several rows in one
    transaction takes them in: the sender recording a batch and a webhook's batch of events on
    the same rows then wait for each other instead of deadlocking."""
    conn.execute(
        "SELECT outbox_id FROM ops.outbox WHERE outbox_id = ANY(%s) ORDER BY outbox_id FOR UPDATE",
        (sorted(set(outbox_ids)),),
    )


def mark_sent_many(conn: psycopg.Connection, sent: list[tuple[int, str]], worker: str) -> int:
    """`mark_sent` for several rows of one worker in one statement, in one transaction (a
    savepoint inside the caller's): the rows stay locked until their early events are adopted.
    On an autocommit connection (the sender's recorder) each statement would otherwise commit
    alone, and a sweep adopting the same events, free to take the rows, deadlocked with it."""
    with conn.transaction():
        lock_rows(conn, [outbox_id for outbox_id, _ in sent])
        marked = conn.execute(
            """
            UPDATE ops.outbox AS o
            SET state = 'sent', provider_id = v.provider_id, sent_at = now(), lease_until = NULL,
                reason = NULL, error_code = NULL, updated_at = now()
            FROM unnest(%s::bigint[], %s::text[]) AS v (outbox_id, provider_id)
            WHERE o.outbox_id = v.outbox_id AND o.state IN ('sending', 'unknown') AND o.claimed_by = %s
            """,
            ([outbox_id for outbox_id, _ in sent], [provider_id for _, provider_id in sent], worker),
        ).rowcount
        _adopt_early_events(conn, [outbox_id for outbox_id, _ in sent])
        return marked


def _adopt_early_events(conn: psycopg.Connection, outbox_ids: list[int]) -> None:
    # notifications.events builds on this module; imported here to keep that direction.
    from notifications.events import adopt_early_events

    adopt_early_events(conn, outbox_ids)


def mark_failed(conn: psycopg.Connection, outbox_id: int, reason: str, code: str | None = None) -> None:
    conn.execute(
        """
        UPDATE ops.outbox
        SET state = 'failed', reason = %s, error_code = %s, lease_until = NULL, updated_at = now()
        WHERE outbox_id = %s AND state IN ('sending', 'unknown', 'pending', 'retry')
        """,
        (reason, code, outbox_id),
    )


def backoff_seconds(attempts: int, retry_after: float | None, rng: random.Random) -> float:
    """Exponential backoff with full jitter, never sooner than the provider's Retry-After."""
    ceiling = min(BACKOFF_CAP_S, BACKOFF_BASE_S * 2 ** max(0, attempts - 1))
    delay = rng.uniform(ceiling / 2, ceiling)
    return max(delay, retry_after or 0.0)


def mark_retry(
    conn: psycopg.Connection,
    outbox_id: int,
    reason: str,
    code: str | None,
    delay_seconds: float,
) -> None:
    conn.execute(
        """
        UPDATE ops.outbox
        SET state = 'retry', reason = %s, error_code = %s, lease_until = NULL,
            next_attempt_at = now() + make_interval(secs => %s), updated_at = now()
        WHERE outbox_id = %s AND state IN ('sending', 'unknown')
        """,
        (reason, code, delay_seconds, outbox_id),
    )


def mark_unknown(
    conn: psycopg.Connection, outbox_id: int, reason: str, code: str | None, reconcile_in: float
) -> None:
    conn.execute(
        """
        UPDATE ops.outbox
        SET state = 'unknown', reason = %s, error_code = %s, lease_until = NULL,
            next_attempt_at = now() + make_interval(secs => %s), updated_at = now()
        WHERE outbox_id = %s AND state = 'sending'
        """,
        (reason, code, reconcile_in, outbox_id),
    )


def release(conn: psycopg.Connection, outbox_id: int, not_before: dt.datetime, reason: str) -> None:
    """Give a claimed row back untouched (send window closed): it waits, it has not been tried."""
    conn.execute(
        """
        UPDATE ops.outbox
        SET state = CASE WHEN attempts > 1 THEN 'retry' ELSE 'pending' END, attempts = attempts - 1,
            reason = %s, lease_until = NULL, next_attempt_at = %s, updated_at = now()
        WHERE outbox_id = %s AND state = 'sending'
        """,
        (reason, not_before, outbox_id),
    )


def due_unknown(conn: psycopg.Connection, limit: int) -> list[dict]:
    """Unknown rows ready for reconciliation, locked for this transaction."""
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(
            """
            SELECT outbox_id, channel, address, attempts,
                   extract(epoch FROM now() - claimed_at)::float AS waited_seconds
            FROM ops.outbox
            WHERE state = 'unknown' AND next_attempt_at <= now()
            ORDER BY next_attempt_at
            LIMIT %s
            FOR UPDATE SKIP LOCKED
            """,
            (limit,),
        ).fetchall()


def token_hashes(conn: psycopg.Connection, outbox_id: int) -> list[str]:
    return [
        row[0]
        for row in conn.execute(
            "SELECT token_hash FROM ops.message_tokens WHERE outbox_id = %s", (outbox_id,)
        ).fetchall()
    ]


def provider_event_for(conn: psycopg.Connection, outbox_id: int, attempt: int | None = None) -> str | None:
    """The provider id carried by an acceptance event (SendGrid processed/delivered/...) for a row."""
    row = conn.execute(
        """
        SELECT provider_id FROM ops.events
        WHERE outbox_id = %s AND source = 'sendgrid' AND provider_id IS NOT NULL
          AND event IN ('processed', 'delivered', 'open', 'click', 'deferred', 'bounce', 'dropped')
          AND (%s::int IS NULL OR (detail ->> 'attempt')::int = %s)
        ORDER BY occurred_at
        LIMIT 1
        """,
        (outbox_id, attempt, attempt),
    ).fetchone()
    return row[0] if row else None


def counts(conn: psycopg.Connection, kinds: tuple[str, ...] | None = None) -> dict[str, int]:
    """Rows per state, of `kinds` only when given."""
    return dict(
        conn.execute(
            """
            SELECT state, count(*) FROM ops.outbox
            WHERE %(kinds)s::text[] IS NULL OR kind = ANY(%(kinds)s::text[])
            GROUP BY state
            """,
            {"kinds": list(kinds) if kinds is not None else None},
        ).fetchall()
    )


def as_payload(mapping: dict) -> Jsonb:
    return Jsonb(mapping)


# Why a message is held after a restore: a person decides whether it goes (docs/operations.md).
HELD_AFTER_RESTORE = "held_after_restore"


def settle_after_restore(
    conn: psycopg.Connection,
    texted_since: Callable[[str], bool],
    resend_emails: bool = False,
) -> dict[str, int]:
    """After the database is restored from a backup, a message the backup shows as not yet sent
    may have gone out since (and its link token with it). Nothing is sent blind:

    - a text waiting to go is held (failed, `held_after_restore`) when Twilio's log shows any
      message to that number since the backup (`texted_since`); otherwise it goes as planned;
    - SendGrid keeps no log we can search, so every e-mail waiting to go is held, unless
      `resend_emails`;
    - a send that was in flight at the backup becomes `unknown` and is reconciled as usual."""
    rows = conn.execute(
        "SELECT outbox_id, channel, address, state FROM ops.outbox"
        " WHERE state IN ('pending', 'retry', 'sending') ORDER BY outbox_id"
    ).fetchall()
    held, kept = [], 0
    for outbox_id, channel, address, _state in rows:
        if (channel == "email" and not resend_emails) or (channel == "sms" and texted_since(address)):
            held.append(outbox_id)
        else:
            kept += 1
    conn.execute(
        "UPDATE ops.outbox SET state = 'failed', reason = %s, lease_until = NULL, updated_at = now()"
        " WHERE outbox_id = ANY(%s)",
        (HELD_AFTER_RESTORE, held),
    )
    in_flight = conn.execute(
        "UPDATE ops.outbox SET state = 'unknown', lease_until = NULL, next_attempt_at = now(), updated_at = now()"
        " WHERE state = 'sending'"
    ).rowcount
    return {"held": len(held), "will_send": kept - in_flight, "to_reconcile": in_flight}
