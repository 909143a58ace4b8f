"""Survey invitations through the outbox: queue invitations and reminders, issue their links.

Who is invited comes from dbt (`restricted.survey_invitations_due`); sending is the dispatcher's,
with the outbox's exactly-once guarantees. What is particular to surveys is here:

- **Queueing** inserts the invitation (`ops.survey_invitations`, once per victim per experiment)
  and its `survey` outbox row in one statement, so a crash leaves both or neither; the outbox row
  points at its invitation, and the schema allows one `survey` and one `survey_reminder` row per
  invitation.
- **Links**: a token is never stored, so it can only be made when the message is rendered. The
  dispatcher claims a survey row and, in the same commit, stores the new token's hash on the
  invitation (`token_hash` for the invitation message, `reminder_token_hash` for the reminder:
  the first link keeps working after the reminder) and in `ops.message_tokens`, already expired
  there: reconciliation finds a sent text by it and an email's unsubscribe link resolves through
  it (`/u/` honours expired tokens), while `/m/` opens only live ones, so it opens no message page.
  A retry of the invitation message issues a new token (the earlier attempt never reached anyone,
  or reconciliation would have found it). An invitation already opened or completed gets no
  token and no message: its row fails with `survey_already_opened`.
"""

from __future__ import annotations

from collections.abc import Sequence

import psycopg
from psycopg import sql

from notifications.message import SURVEY_KINDS, SurveyMessage
from notifications.tokens import hash_token

# The outbox payload of a survey message: what the text says besides the link. `division_code`
# lets a HELP reply to it answer with the right division's phones.
PAYLOAD_FIELDS = ("first_name", "arm", "division_code")

_INVITATIONS_DUE = """
    SELECT due.victim_key, due.report_number, due.experiment_name, due.arm, due.channel, due.address,
           due.language, due.first_name, due.division_code
    FROM restricted.survey_invitations_due AS due
    WHERE due.experiment_name = %(experiment)s
"""

# Invitations whose message went out `after_days` ago or more and that are still unopened and
# unanswered, to victims the survey may still contact on that channel (survey_recipients
# re-applies every safety exclusion and the opt-outs as they are now).
_REMINDERS_DUE = """
    SELECT i.invitation_id, i.victim_key, i.report_number, i.arm, i.channel, i.language,
           CASE i.channel WHEN 'sms' THEN r.sms_address ELSE r.email_address END AS address,
           r.first_name, r.division_code
    FROM ops.survey_invitations AS i
    JOIN ops.outbox AS invited
      ON invited.invitation_id = i.invitation_id AND invited.kind = 'survey' AND invited.state = 'sent'
    JOIN restricted.survey_recipients AS r
      ON r.victim_key = i.victim_key AND r.experiment_name = i.experiment
    WHERE i.experiment = %(experiment)s
      AND i.first_opened_at IS NULL AND i.completed_at IS NULL AND i.expires_at > now()
      AND invited.sent_at <= now() - make_interval(days => %(after_days)s)
      AND CASE i.channel WHEN 'sms' THEN r.sms_address ELSE r.email_address END IS NOT NULL
      AND NOT EXISTS (
        SELECT 1 FROM ops.outbox AS reminded
        WHERE reminded.invitation_id = i.invitation_id AND reminded.kind = 'survey_reminder'
      )
"""

_PAYLOAD = "jsonb_build_object(" + ", ".join(f"'{f}', due.{f}" for f in PAYLOAD_FIELDS) + ")"


def invitations_due(conn: psycopg.Connection, experiment: str, limit: int | None = None) -> list[dict]:
    """The invitations queueing would create now (for a dry run); contact details included."""
    return _rows(conn, _INVITATIONS_DUE + " ORDER BY due.report_number LIMIT %(limit)s", experiment, limit)


def reminders_due(
    conn: psycopg.Connection, experiment: str, after_days: int, limit: int | None = None
) -> list[dict]:
    """The reminders queueing would create now (for a dry run); contact details included."""
    query = _REMINDERS_DUE + " ORDER BY i.invitation_id LIMIT %(limit)s"
    return _rows(conn, query, experiment, limit, after_days=after_days)


def _composed(template: str, due: str) -> sql.Composed:
    """An INSERT over one of the due queries above, with the payload built from PAYLOAD_FIELDS."""
    return sql.SQL(template).format(due=sql.SQL(due), payload=sql.SQL(_PAYLOAD))


def _rows(conn: psycopg.Connection, query: str, experiment: str, limit: int | None, **params) -> list[dict]:
    cursor = conn.execute(query, {"experiment": experiment, "limit": limit, **params})
    names = [column.name for column in cursor.description]
    return [dict(zip(names, values, strict=True)) for values in cursor.fetchall()]


def enqueue_invitations(conn: psycopg.Connection, experiment: str) -> dict[str, int]:
    """Invite everyone due: each invitation and its `survey` outbox row in one statement.

    The invitation's `token_hash` is the hash of a random value nobody keeps and it expires at
    once: it opens nothing until the dispatcher issues the real link. An invitation that already
    exists (another run got there first) is left alone and queues nothing.
    """
    rows = conn.execute(
        _composed(
            """
        WITH due AS MATERIALIZED ({due}),
        invited AS (
          INSERT INTO ops.survey_invitations
            (victim_key, report_number, experiment, arm, channel, language, token_hash, expires_at)
          SELECT victim_key, report_number, experiment_name, arm, channel, language,
                 encode(sha256(convert_to(gen_random_uuid()::text || gen_random_uuid()::text, 'UTF8')), 'hex'),
                 now()
          FROM due
          ON CONFLICT ON CONSTRAINT survey_invitations_once DO NOTHING
          RETURNING invitation_id, victim_key
        ),
        queued AS (
          INSERT INTO ops.outbox
            (victim_key, report_number, kind, channel, address, language, payload, invitation_id)
          SELECT due.victim_key, due.report_number, 'survey', due.channel, due.address, due.language,
                 {payload}, invited.invitation_id
          FROM invited JOIN due USING (victim_key)
          RETURNING channel
        )
        SELECT channel, count(*) FROM queued GROUP BY channel
        """,
            _INVITATIONS_DUE,
        ),
        {"experiment": experiment},
    ).fetchall()
    return {channel: n for channel, n in rows}


def enqueue_reminders(conn: psycopg.Connection, experiment: str, after_days: int) -> dict[str, int]:
    """Queue one `survey_reminder` per invitation still unopened `after_days` after it was sent,
    on the invitation's channel; again queues nothing new."""
    rows = conn.execute(
        _composed(
            """
        WITH due AS ({due}),
        queued AS (
          INSERT INTO ops.outbox
            (victim_key, report_number, kind, channel, address, language, payload, invitation_id)
          SELECT due.victim_key, due.report_number, 'survey_reminder', due.channel, due.address,
                 due.language, {payload}, due.invitation_id
          FROM due
          ON CONFLICT DO NOTHING
          RETURNING channel
        )
        SELECT channel, count(*) FROM queued GROUP BY channel
        """,
            _REMINDERS_DUE,
        ),
        {"experiment": experiment, "after_days": after_days},
    ).fetchall()
    return {channel: n for channel, n in rows}


def message_for(columns: dict) -> SurveyMessage:
    """A survey message from a due row (dry run) as it would be queued."""
    return SurveyMessage(
        kind=columns["kind"],
        arm=columns["arm"],
        first_name=columns.get("first_name"),
        language=columns.get("language"),
        division_code=columns.get("division_code"),
    )


def issue_links(
    conn: psycopg.Connection, claimed: Sequence[tuple[int, int, str, int, str]], link_days: int
) -> set[int]:
    """Store the hashes of the tokens claimed survey messages will carry; in the claim's commit.

    `claimed` holds (outbox_id, invitation_id, kind, attempt, token). Returns the outbox ids whose
    invitation took its token; the others were opened or completed meanwhile and must not be sent.
    """
    if not claimed:
        return set()
    if any(kind not in SURVEY_KINDS for _, _, kind, _, _ in claimed):
        raise ValueError("only survey messages link to an invitation")
    hashes = [hash_token(token) for *_, token in claimed]
    issued = {
        invitation_id
        for (invitation_id,) in conn.execute(
            """
            UPDATE ops.survey_invitations AS i
            SET token_hash = CASE WHEN v.kind = 'survey' THEN v.token_hash ELSE i.token_hash END,
                reminder_token_hash = CASE WHEN v.kind = 'survey_reminder' THEN v.token_hash
                                           ELSE i.reminder_token_hash END,
                expires_at = greatest(i.expires_at, now() + make_interval(days => %s))
            FROM unnest(%s::bigint[], %s::text[], %s::text[]) AS v (invitation_id, kind, token_hash)
            WHERE i.invitation_id = v.invitation_id
              AND i.first_opened_at IS NULL AND i.completed_at IS NULL
            RETURNING i.invitation_id
            """,
            (
                link_days,
                [invitation_id for _, invitation_id, *_ in claimed],
                [kind for _, _, kind, _, _ in claimed],
                hashes,
            ),
        ).fetchall()
    }
    linked = [
        (token_hash, outbox_id, attempt)
        for (outbox_id, invitation_id, _, attempt, _), token_hash in zip(claimed, hashes, strict=True)
        if invitation_id in issued
    ]
    with conn.cursor() as cur:
        # Expired on arrival: a marker for reconciliation and unsubscribing, never a page link.
        cur.executemany(
            """
            INSERT INTO ops.message_tokens (token_hash, outbox_id, attempt, expires_at)
            VALUES (%s, %s, %s, now())
            """,
            linked,
        )
    return {outbox_id for _, outbox_id, _ in linked}
