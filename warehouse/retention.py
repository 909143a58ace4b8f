"""Retention: forget victims' contact details once `agency.retention_days` have passed.

The unit is the report. A report is past retention when its last contact with anyone on it
(a message queued or sent, a reply, a survey invitation, opened or answered) or, if nobody was
ever contacted, the report itself (its `reported_at`; when that is unknown, when its people
arrived) is older than the cut-off, and no message for it is still on its way. Its people's
names, birth dates, ages, phones and emails go together: an offender's phone stays exactly as
long as the victims it is checked against.

What stays: every row and every key. `victim_key` is a hash of the report number and the
person's sequence number, so the marts, the experiment assignments and the evaluation keep
working, and a rebuild finds the same victims. The outbox rows stay (the exactly-once record;
without them the victims would be due again) without their addresses and what the message said.
Opt-outs (`ops.opt_outs`) are never touched: a STOP is honoured for good.

`raw` is append-only for ingest; retention is its one documented exception. Everything runs in
one transaction; a dry run runs the same statements and rolls them back, so its counts are exact.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import psycopg
from psycopg import sql

from ingest.audit_copies import expired_audit_copies, remove_audit_copies
from ingest.contract import CAD_CALLS, INCIDENTS, OFFENSES, PERSONS
from vnotify.config import AgencyConfig, load_config
from warehouse.database import database_url

# Age goes with the names: a rebuild matches duplicate entries of a person on name and age, so
# with the names gone, two people of one age on one report would be merged into one.
PERSON_DETAILS = ("first_name", "last_name", "birth_date", "age", "phone", "email")
CALLER_DETAILS = ("caller_name", "caller_phone")

# What dbt builds from the raw details (staging and intermediate tables keyed by report_number).
DERIVED_DETAILS = (
    *PERSON_DETAILS,
    *CALLER_DETAILS,
    "phone_e164",
    "rms_phone_e164",
    "cad_phone_e164",
    "caller_phone_raw",
    "caller_phone_e164",
)
DERIVED_SCHEMAS = ("staging", "intermediate", "restricted")

# A quarantined row keeps its contract columns that say nothing about who a person is; every
# other key (names, contacts, columns the source added) goes.
_IDENTIFYING = {*PERSON_DETAILS, *CALLER_DETAILS}
QUARANTINE_KEPT_KEYS = tuple(
    sorted(
        {
            name
            for table in (INCIDENTS, OFFENSES, PERSONS, CAD_CALLS)
            for name in table.column_names
            if name not in _IDENTIFYING
        }
        | {"record_action"}
    )
)
# What an outbox payload keeps: which person, offense and division it was about, and the arm.
PAYLOAD_KEPT_KEYS = ("person_seq", "offense_code", "division_code", "arm")

# Counted in RetentionResult.rows beside the tables: folders of extract audit copies removed.
AUDIT_COPIES = "extract audit copies"

# Put where a victim's words or number were, when the column cannot be empty.
REMOVED = "[removed]"

# Messages in these states may still go out (or be reconciled): their report is not expired.
UNFINISHED_STATES = ("pending", "retry", "sending", "unknown")


@dataclass(frozen=True)
class RetentionResult:
    cutoff: dt.datetime
    retention_days: int
    dry_run: bool
    reports_past_retention: int
    rows: dict[str, int] = field(default_factory=dict)  # "schema.table" -> rows changed

    @property
    def rows_changed(self) -> int:
        return sum(self.rows.values())

    def as_dict(self) -> dict[str, Any]:
        return {
            "cutoff": self.cutoff.isoformat(),
            "retention_days": self.retention_days,
            "dry_run": self.dry_run,
            "reports_past_retention": self.reports_past_retention,
            "rows_changed": self.rows_changed,
            "rows": dict(self.rows),
        }


def retention_cutoff(now: dt.datetime, retention_days: int) -> dt.datetime:
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    return now - dt.timedelta(days=retention_days)


def apply_retention(
    url: str | None = None,
    config: AgencyConfig | None = None,
    *,
    now: dt.datetime | None = None,
    dry_run: bool = False,
) -> RetentionResult:
    """Remove the contact details of every report past retention, in one transaction; with
    `dry_run`, count what would change and roll back. Returns rows changed per table."""
    config = config or load_config()
    now = now or dt.datetime.now(dt.UTC)
    days = config.agency.retention_days
    cutoff = retention_cutoff(now, days)
    params = {
        "cutoff": cutoff,
        "zone": config.agency.time_zone,
        "removed": REMOVED,
        "quarantine_keys": list(QUARANTINE_KEPT_KEYS),
        "payload_keys": list(PAYLOAD_KEPT_KEYS),
    }
    rows: dict[str, int] = {}
    with psycopg.connect(url or database_url()) as conn, conn.transaction():
        expired = _mark_reports(conn, params)
        # Derived tables and unreferenced contacts last: they follow from the scrubs before them.
        scrubs = [*_SCRUBS, *_derived_scrubs(conn), *_staged_call_scrubs(conn), *_UNREFERENCED_CONTACTS]
        for table, statement in scrubs:
            rows[table] = rows.get(table, 0) + conn.execute(statement, params).rowcount
        if dry_run:
            raise psycopg.Rollback()  # the temporary table goes with it
    # Files an RMS extract kept (off by default) go with the rows they copied.
    copies = expired_audit_copies(config.extract.sql, cutoff)
    rows[AUDIT_COPIES] = len(copies) if dry_run else remove_audit_copies(copies)
    return RetentionResult(cutoff, days, dry_run, expired, rows)


def _mark_reports(conn: psycopg.Connection, params: dict[str, Any]) -> int:
    """Fill pg_temp.retention_reports: every known report, whether it is past retention."""
    conn.execute(
        """
        CREATE TEMP TABLE retention_reports (
          report_number     text PRIMARY KEY,
          last_activity_at  timestamptz,
          expired           boolean NOT NULL
        ) ON COMMIT DROP
        """
    )
    conn.execute(_REPORTS, {**params, "unfinished": list(UNFINISHED_STATES)})
    conn.execute("ANALYZE pg_temp.retention_reports")
    return conn.execute("SELECT count(*) FROM pg_temp.retention_reports WHERE expired").fetchone()[0]


_REPORTS = """
INSERT INTO pg_temp.retention_reports (report_number, last_activity_at, expired)
WITH
person_reports AS (
    SELECT btrim(p.report_number) AS report_number, max(b.started_at) AS received_at
    FROM raw.persons AS p
    JOIN ops.ingest_batches AS b ON b.batch_id = p.batch_id
    GROUP BY 1
),
current_reports AS (
    SELECT v.report_number, v.first_seen_at,
           CASE WHEN ops.is_timestamp(i.reported_at)
                THEN ops.agency_timestamptz(i.reported_at, %(zone)s) END AS reported_at
    FROM ops.report_versions AS v
    LEFT JOIN raw.incidents AS i ON i.batch_id = v.batch_id AND i.row_number = v.row_number
),
contacts AS (
    SELECT report_number, greatest(created_at, sent_at) AS at, state = ANY(%(unfinished)s) AS unfinished
    FROM ops.outbox
    UNION ALL
    SELECT o.report_number, m.received_at, false
    FROM ops.inbound_messages AS m JOIN ops.outbox AS o ON o.outbox_id = m.outbox_id
    UNION ALL
    SELECT report_number, greatest(created_at, first_opened_at, completed_at), false
    FROM ops.survey_invitations
    UNION ALL
    SELECT i.report_number, r.updated_at, false
    FROM ops.survey_responses AS r JOIN ops.survey_invitations AS i ON i.invitation_id = r.invitation_id
),
last_contacts AS (
    SELECT report_number, max(at) AS at, bool_or(unfinished) AS unfinished
    FROM contacts GROUP BY report_number
),
reports AS (
    SELECT report_number FROM person_reports
    UNION SELECT report_number FROM current_reports
    UNION SELECT report_number FROM last_contacts
)
SELECT report_number, last_activity_at,
       coalesce(NOT unfinished AND last_activity_at < %(cutoff)s, false) AS expired
FROM (
    SELECT r.report_number,
           greatest(coalesce(c.reported_at, c.first_seen_at, p.received_at), l.at) AS last_activity_at,
           coalesce(l.unfinished, false) AS unfinished
    FROM reports AS r
    LEFT JOIN person_reports AS p ON p.report_number = r.report_number
    LEFT JOIN current_reports AS c ON c.report_number = r.report_number
    LEFT JOIN last_contacts AS l ON l.report_number = r.report_number
) AS activity
"""

# The statements below are literal SQL: expired reports are those marked in
# pg_temp.retention_reports; a row that names no report we know (or none) goes by its own time.

# The contact details in PERSON_DETAILS, and `extra` (columns a source sent beyond the contract).
_PERSONS = """
UPDATE raw.persons AS p
SET first_name = NULL, last_name = NULL, birth_date = NULL, age = NULL, phone = NULL, email = NULL,
    extra = NULL
FROM pg_temp.retention_reports AS r
WHERE r.expired AND r.report_number = btrim(p.report_number)
  AND (p.first_name IS NOT NULL OR p.last_name IS NOT NULL OR p.birth_date IS NOT NULL
       OR p.age IS NOT NULL OR p.phone IS NOT NULL OR p.email IS NOT NULL OR p.extra IS NOT NULL)
"""

_CAD_CALLS = """
UPDATE raw.cad_calls AS c SET caller_name = NULL, caller_phone = NULL, extra = NULL
FROM ops.ingest_batches AS b
WHERE b.batch_id = c.batch_id
  AND (c.caller_name IS NOT NULL OR c.caller_phone IS NOT NULL OR c.extra IS NOT NULL)
  AND CASE
    WHEN EXISTS (SELECT 1 FROM pg_temp.retention_reports AS r WHERE r.report_number = btrim(c.report_number))
      THEN btrim(c.report_number) IN (SELECT report_number FROM pg_temp.retention_reports WHERE expired)
    ELSE coalesce(CASE WHEN ops.is_timestamp(c.received_at)
                       THEN ops.agency_timestamptz(c.received_at, %(zone)s) END,
                  b.started_at) < %(cutoff)s
  END
"""

# Columns a source sent beyond the contract may say anything (addresses, notes).
_INCIDENT_EXTRAS = """
UPDATE raw.incidents AS i SET extra = NULL
FROM pg_temp.retention_reports AS r
WHERE r.expired AND r.report_number = btrim(i.report_number) AND i.extra IS NOT NULL
"""

_OFFENSE_EXTRAS = """
UPDATE raw.offenses AS o SET extra = NULL
FROM pg_temp.retention_reports AS r
WHERE r.expired AND r.report_number = btrim(o.report_number) AND o.extra IS NOT NULL
"""

_QUARANTINE = """
WITH trimmed AS (
  SELECT q.quarantine_id,
         (SELECT coalesce(jsonb_object_agg(key, value), '{}'::jsonb)
          FROM jsonb_each(q.raw_row) WHERE key = ANY(%(quarantine_keys)s)) AS kept
  FROM ops.quarantine AS q
  LEFT JOIN pg_temp.retention_reports AS r ON r.report_number = btrim(q.raw_row ->> 'report_number')
  WHERE coalesce(r.expired, q.quarantined_at < %(cutoff)s)
)
UPDATE ops.quarantine AS q SET raw_row = trimmed.kept
FROM trimmed
WHERE trimmed.quarantine_id = q.quarantine_id AND q.raw_row <> trimmed.kept
"""

_OUTBOX = """
WITH trimmed AS (
  SELECT o.outbox_id,
         (SELECT jsonb_object_agg(key, value)
          FROM jsonb_each(o.payload) WHERE key = ANY(%(payload_keys)s)) AS kept
  FROM ops.outbox AS o
  JOIN pg_temp.retention_reports AS r ON r.report_number = o.report_number
  WHERE r.expired
)
UPDATE ops.outbox AS o SET address = NULL, payload = trimmed.kept
FROM trimmed
WHERE trimmed.outbox_id = o.outbox_id
  AND (o.address IS NOT NULL OR o.payload IS DISTINCT FROM trimmed.kept)
"""

# Links to pages that would show what is gone stop working (unsubscribing is never refused).
_MESSAGE_TOKENS = """
UPDATE ops.message_tokens AS t SET expires_at = now()
FROM ops.outbox AS o, pg_temp.retention_reports AS r
WHERE o.outbox_id = t.outbox_id AND r.report_number = o.report_number AND r.expired
  AND t.expires_at > now()
"""

_SURVEY_INVITATIONS = """
UPDATE ops.survey_invitations AS i SET expires_at = now()
FROM pg_temp.retention_reports AS r
WHERE r.report_number = i.report_number AND r.expired AND i.expires_at > now()
"""

# The marts count whether something was written, so written words become the placeholder.
_SURVEY_RESPONSES = """
UPDATE ops.survey_responses AS s
SET free_text = CASE WHEN length(btrim(s.free_text)) > 0 THEN %(removed)s END
FROM ops.survey_invitations AS i, pg_temp.retention_reports AS r
WHERE i.invitation_id = s.invitation_id AND r.report_number = i.report_number AND r.expired
  AND s.free_text IS NOT NULL AND s.free_text <> %(removed)s
"""

# from_address cannot be empty; replies matched to no message of ours go by when they arrived.
_INBOUND = """
UPDATE ops.inbound_messages AS m SET from_address = %(removed)s, body = NULL
WHERE (m.from_address <> %(removed)s OR m.body IS NOT NULL)
  AND (
    m.outbox_id IN (
      SELECT o.outbox_id FROM ops.outbox AS o
      JOIN pg_temp.retention_reports AS r ON r.report_number = o.report_number
      WHERE r.expired
    )
    OR (m.outbox_id IS NULL AND m.received_at < %(cutoff)s)
  )
"""

_SCRUBS: list[tuple[str, str]] = [
    ("raw.persons", _PERSONS),
    ("raw.cad_calls", _CAD_CALLS),
    ("raw.incidents", _INCIDENT_EXTRAS),
    ("raw.offenses", _OFFENSE_EXTRAS),
    ("ops.quarantine", _QUARANTINE),
    ("ops.outbox", _OUTBOX),
    ("ops.message_tokens", _MESSAGE_TOKENS),
    ("ops.survey_invitations", _SURVEY_INVITATIONS),
    ("ops.survey_responses", _SURVEY_RESPONSES),
    ("ops.inbound_messages", _INBOUND),
]

# Normalized contacts nothing in raw refers to any more (after the scrubs above, same transaction).
_UNREFERENCED_CONTACTS: list[tuple[str, str]] = [
    (
        "ops.phone_numbers",
        """
        DELETE FROM ops.phone_numbers AS n
        WHERE NOT EXISTS (SELECT 1 FROM raw.persons AS p WHERE p.phone = n.raw_phone)
          AND NOT EXISTS (SELECT 1 FROM raw.cad_calls AS c WHERE c.caller_phone = n.raw_phone)
        """,
    ),
    (
        "ops.email_addresses",
        """
        DELETE FROM ops.email_addresses AS n
        WHERE NOT EXISTS (SELECT 1 FROM raw.persons AS p WHERE p.email = n.raw_email)
        """,
    ),
]


def _staged_call_scrubs(conn: psycopg.Connection) -> list[tuple[str, str]]:
    """Staged CAD calls that name no report go by their own time, as their raw rows did: a staged
    call whose raw rows lost the caller's details loses them too (the caller's phone is also
    staged normalized)."""
    if conn.execute("SELECT to_regclass('staging.stg_rms__cad_calls')").fetchone()[0] is None:
        return []
    statement = """
        UPDATE staging.stg_rms__cad_calls AS s
        SET caller_name = NULL, caller_phone_raw = NULL, caller_phone_e164 = NULL
        WHERE (s.caller_name IS NOT NULL OR s.caller_phone_raw IS NOT NULL OR s.caller_phone_e164 IS NOT NULL)
          AND NOT EXISTS (
            SELECT 1 FROM raw.cad_calls AS c
            WHERE btrim(c.call_number) = s.call_number
              AND (c.caller_name IS NOT NULL OR c.caller_phone IS NOT NULL)
          )
    """
    return [("staging.stg_rms__cad_calls", statement)]


def _derived_scrubs(conn: psycopg.Connection) -> list[tuple[str, sql.Composed]]:
    """The tables dbt built from raw that hold copies of the details (found by column name, so
    a model added later is covered): their rows for expired reports lose those columns."""
    found = conn.execute(
        """
        SELECT c.table_schema, c.table_name, array_agg(c.column_name::text ORDER BY c.ordinal_position)
        FROM information_schema.columns AS c
        JOIN information_schema.tables AS t
          ON t.table_schema = c.table_schema AND t.table_name = c.table_name
        WHERE t.table_type = 'BASE TABLE'
          AND c.table_schema = ANY(%(schemas)s)
          AND c.column_name = ANY(%(columns)s)
          AND EXISTS (
            SELECT 1 FROM information_schema.columns AS k
            WHERE k.table_schema = c.table_schema AND k.table_name = c.table_name
              AND k.column_name = 'report_number'
          )
        GROUP BY c.table_schema, c.table_name
        ORDER BY c.table_schema, c.table_name
        """,
        {"schemas": list(DERIVED_SCHEMAS), "columns": list(DERIVED_DETAILS)},
    ).fetchall()
    scrubs = []
    for schema, table, columns in found:
        names = [sql.Identifier(column) for column in columns]
        statement = sql.SQL(
            "UPDATE {table} AS d SET {nulls} FROM pg_temp.retention_reports AS r"
            " WHERE r.expired AND r.report_number = d.report_number AND ({any_set})"
        ).format(
            table=sql.Identifier(schema, table),
            nulls=sql.SQL(", ").join(sql.SQL("{} = NULL").format(name) for name in names),
            any_set=sql.SQL(" OR ").join(sql.SQL("d.{} IS NOT NULL").format(name) for name in names),
        )
        scrubs.append((f"{schema}.{table}", statement))
    return scrubs
