"""The review queue of victims' replies, and what a reviewer decides.

Replies that are neither a clear STOP, START nor HELP wait for a person: urgent ones first. A
reply that might be an opt-out has put the person's messages on hold; the reviewer confirms the
opt-out (every channel) or releases the hold. Every decision is recorded on the reply with who
made it and when. The staff console and `vnotify replies` call these functions.
"""

from __future__ import annotations

from typing import Any, Literal

import psycopg
from psycopg.rows import dict_row

from notifications import opt_outs

Decision = Literal["reviewed", "confirmed_opt_out", "released", "not_urgent"]
DECISIONS: tuple[Decision, ...] = ("reviewed", "confirmed_opt_out", "released", "not_urgent")


def review_queue(
    conn: psycopg.Connection, *, limit: int = 50, include_reviewed: bool = False, with_text: bool = False
) -> list[dict[str, Any]]:
    """Replies waiting for a person, urgent first, then the oldest; the victim's words and number
    only when asked for (they are PII)."""
    columns = ", m.body, m.from_address" if with_text else ""
    with conn.cursor(row_factory=dict_row) as cursor:
        return cursor.execute(
            f"""
            SELECT m.inbound_id, m.received_at, m.kind, m.urgent, m.language, o.report_number, o.kind AS answers,
                   m.reviewed_at, m.reviewed_by, m.review_decision,
                   EXISTS (SELECT 1 FROM ops.opt_outs h WHERE h.inbound_id = m.inbound_id AND h.pending_review)
                     AS is_holding{columns}
            FROM ops.inbound_messages AS m
            LEFT JOIN ops.outbox AS o ON o.outbox_id = m.outbox_id
            WHERE %(all)s OR (m.reviewed_at IS NULL AND m.kind NOT IN ('opt_out', 'opt_in', 'help'))
            ORDER BY m.reviewed_at IS NOT NULL, m.urgent DESC, m.received_at
            LIMIT %(limit)s
            """,  # noqa: S608 (columns is one of two fixed strings)
            {"all": include_reviewed, "limit": limit},
        ).fetchall()


class UnknownReply(LookupError):
    pass


def decide(
    conn: psycopg.Connection, inbound_id: int, decision: Decision, reviewer: str, note: str | None = None
) -> dict[str, Any]:
    """Record a reviewer's decision on a reply. `confirmed_opt_out` opts the sender out on every
    channel (whatever the reply's kind: staff may read an opt-out the rules did not);
    `released` lifts the holds the reply caused. Returns what changed."""
    if decision not in DECISIONS:
        raise ValueError(f"decision must be one of {', '.join(DECISIONS)}")
    row = conn.execute(
        "SELECT from_address FROM ops.inbound_messages WHERE inbound_id = %s FOR UPDATE", (inbound_id,)
    ).fetchone()
    if row is None:
        raise UnknownReply(f"no reply {inbound_id}")
    changed: dict[str, Any] = {"inbound_id": inbound_id, "decision": decision}
    if decision == "confirmed_opt_out":
        opt_outs.confirm(conn, inbound_id, "reviewer")
        changed["opted_out"] = len(opt_outs.opt_out_everywhere(conn, "sms", row[0], "reviewer"))
    elif decision == "released":
        changed["released"] = opt_outs.release(conn, inbound_id=inbound_id)
    conn.execute(
        """
        UPDATE ops.inbound_messages
        SET reviewed_at = now(), reviewed_by = %s, review_decision = %s, review_note = %s
        WHERE inbound_id = %s
        """,
        (reviewer, decision, note, inbound_id),
    )
    return changed
