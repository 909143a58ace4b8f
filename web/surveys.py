"""Survey invitations and answers: the data side of `/s/{token}`.

An invitation is reached only through its token (256 random bits; the SHA-256 is stored, as for
message links). Answers are saved as they come: a save with some answers keeps those and leaves
the rest as they were, and "Submit" marks the one response per invitation complete, timing it
from the first time the link was opened. Every function runs in the caller's transaction.
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import sql
from psycopg.rows import dict_row

from notifications.tokens import hash_token, new_token

PREFERRED = ("text", "email", "letter", "phone")
RATINGS = ("1", "2", "3", "4", "5")
FREE_TEXT_MAX = 4000
# The answer columns of ops.survey_responses a save may set (and nothing else).
ANSWER_COLUMNS = (
    *(f"preferred_{way}" for way in PREFERRED),
    "likely_to_call",
    "service_rating",
    "trust_rating",
    "free_text",
)


def create_invitation(
    conn: psycopg.Connection,
    victim_key: str,
    report_number: str,
    experiment: str,
    arm: str,
    channel: str,
    language: str | None,
    days: int,
) -> str | None:
    """Invite one victim to the experiment's survey; returns the token for the link.

    Each victim is invited once per experiment: when they already were, nothing changes and
    None is returned (the earlier link keeps working; its token cannot be recovered).
    """
    if days < 1:
        raise ValueError("a survey link must stay valid for at least one day")
    token = new_token()
    row = conn.execute(
        """
        INSERT INTO ops.survey_invitations
          (victim_key, report_number, experiment, arm, channel, language, token_hash, expires_at)
        VALUES (%s, %s, %s, %s, %s, %s, %s, now() + make_interval(days => %s))
        ON CONFLICT ON CONSTRAINT survey_invitations_once DO NOTHING
        RETURNING invitation_id
        """,
        (victim_key, report_number, experiment, arm, channel, language, hash_token(token), days),
    ).fetchone()
    return token if row else None


@dataclass(frozen=True)
class Invitation:
    invitation_id: int
    language: str | None
    first_opened_at: dt.datetime | None
    completed_at: dt.datetime | None
    answers: dict[str, Any]  # the saved answers (columns of ANSWER_COLUMNS), empty before any save


def find_invitation(conn: psycopg.Connection, token: str, lock: bool = False) -> Invitation | None:
    """The live (unexpired) invitation a token opens, with its saved answers, or None.

    The invitation's own link or its reminder's (notifications/surveys.py issues both)."""
    query = """
        SELECT i.invitation_id, i.language, i.first_opened_at, i.completed_at,
               r.invitation_id IS NOT NULL AS answered, r.preferred_text, r.preferred_email,
               r.preferred_letter, r.preferred_phone, r.likely_to_call, r.service_rating,
               r.trust_rating, r.free_text
        FROM ops.survey_invitations AS i
        LEFT JOIN ops.survey_responses AS r USING (invitation_id)
        WHERE (i.token_hash = %(hash)s OR i.reminder_token_hash = %(hash)s) AND i.expires_at > now()
    """
    if lock:
        query += " FOR UPDATE OF i"
    with conn.cursor(row_factory=dict_row) as cur:
        row = cur.execute(query, {"hash": hash_token(token)}).fetchone()
    if row is None:
        return None
    answers = {column: row[column] for column in ANSWER_COLUMNS} if row["answered"] else {}
    return Invitation(
        row["invitation_id"], row["language"], row["first_opened_at"], row["completed_at"], answers
    )


def mark_opened(conn: psycopg.Connection, invitation_id: int) -> None:
    """Set `first_opened_at` the first time only (the survey's time is measured from it)."""
    conn.execute(
        """
        UPDATE ops.survey_invitations SET first_opened_at = now()
        WHERE invitation_id = %s AND first_opened_at IS NULL
        """,
        (invitation_id,),
    )


def _one(form: Mapping[str, Sequence[str]], name: str) -> str | None:
    values = form.get(name)
    return values[-1] if values else None


def clean_free_text(text: str) -> str | None:
    """The victim's words as typed, minus control characters (PostgreSQL refuses NUL), capped."""
    kept = "".join(char for char in text if char in "\n\t" or unicodedata.category(char) not in ("Cc", "Cs"))
    kept = kept.replace("\r\n", "\n").strip()[:FREE_TEXT_MAX]
    return kept or None


def answers_from_form(form: Mapping[str, Sequence[str]], saved: Mapping[str, Any]) -> dict[str, Any]:
    """The answers a posted form gives, as column values; questions it leaves out are left out.

    Values other than the form's own choices count as not given. Checkboxes post nothing when
    none is ticked, so the form also posts `preferred_shown`: with it and none ticked, earlier
    ticks are cleared (an unanswered question stays unanswered).
    """
    answers: dict[str, Any] = {}
    ticked = {value for value in form.get("preferred", ()) if value in PREFERRED}
    had_preferred = any(saved.get(f"preferred_{way}") is not None for way in PREFERRED)
    if ticked or (_one(form, "preferred_shown") and had_preferred):
        answers.update({f"preferred_{way}": way in ticked for way in PREFERRED})
    likely = _one(form, "likely_to_call")
    if likely in ("yes", "no"):
        answers["likely_to_call"] = likely == "yes"
    for name in ("service_rating", "trust_rating"):
        value = _one(form, name)
        if value in RATINGS:
            answers[name] = int(value)
    free_text = _one(form, "free_text")
    if free_text is not None:
        answers["free_text"] = clean_free_text(free_text)
    return answers


def save_answers(
    conn: psycopg.Connection, invitation: Invitation, answers: Mapping[str, Any], complete: bool
) -> None:
    """Store the answers given (one response per invitation); `complete` finishes the survey.

    Completion is timed from the first opening to the first completion; submitting again
    changes the answers, not the time.
    """
    unknown = set(answers) - set(ANSWER_COLUMNS)
    if unknown:
        raise ValueError(f"not survey answers: {sorted(unknown)}")
    if invitation.first_opened_at is None:
        mark_opened(conn, invitation.invitation_id)
    columns = [sql.Identifier(column) for column in answers]
    updates = [sql.SQL("{0} = EXCLUDED.{0}").format(column) for column in columns]
    updates.append(sql.SQL("updated_at = now()"))
    conn.execute(
        sql.SQL(
            """
            INSERT INTO ops.survey_responses (invitation_id{columns}) VALUES (%s{values})
            ON CONFLICT (invitation_id) DO UPDATE SET {updates}
            """
        ).format(
            columns=sql.SQL("").join(sql.SQL(", ") + column for column in columns),
            values=sql.SQL("").join(sql.SQL(", %s") for _ in columns),
            updates=sql.SQL(", ").join(updates),
        ),
        (invitation.invitation_id, *answers.values()),
    )
    if complete:
        conn.execute(
            """
            WITH finished AS (
              UPDATE ops.survey_invitations SET completed_at = coalesce(completed_at, now())
              WHERE invitation_id = %s
              RETURNING invitation_id, first_opened_at, completed_at
            )
            UPDATE ops.survey_responses AS r
            SET completed = true,
                seconds_on_survey = coalesce(
                  r.seconds_on_survey,
                  greatest(0, extract(epoch FROM f.completed_at - f.first_opened_at))::double precision
                )
            FROM finished AS f
            WHERE r.invitation_id = f.invitation_id
            """,
            (invitation.invitation_id,),
        )
