"""Keyed analyst keys: `ops.victim_key` and `ops.report_key` are HMAC-SHA256 under a secret the
database never holds (warehouse.keys), replacing the unsalted sha256 of "report_number:person_seq"
that anyone who can guess report numbers could reverse.

The functions read the HMAC's padded keys from the session settings `vnotify.key_inner` and
`vnotify.key_outer`, which only vnotify's own sessions carry, and refuse without them.

Existing keys move over here: every `victim_key` stored in ops (the outbox, survey invitations)
and in the experiment assignments is rewritten from the old hash to the keyed one, matched through
the report numbers and person numbers in raw.persons; a key that matches nobody stops the
migration (a victim whose outbox rows lost their key would be due again). The new keys are
computed in Python, so the secret never reaches the database. The assignments keep every arm and
trade `report_number` and `bucket` (an unkeyed fingerprint of the report number) for
`report_key`; the incremental tables dbt derives with the old keys are dropped and rebuilt by the
next `vnotify transform`. Downgrade drops the functions only: keys cannot be turned back.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-04
"""

from __future__ import annotations

import hashlib

from alembic import op

from warehouse import keys

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

MISSING = (
    "vnotify.key_inner and vnotify.key_outer are not set in this session: keyed keys are computed "
    "only by vnotify processes (warehouse.keys, VNOTIFY_KEY_SECRET)"
)
STORED_KEYS = ("ops.outbox", "ops.survey_invitations")
ASSIGNMENTS = "marts.fct_experiment_assignments"
# Incremental tables dbt builds holding old keys or report numbers beside them: rebuilt in full.
DERIVED = (
    "intermediate.int_victims__eligibility_evaluated",
    "marts.fct_eligibility_decisions",
    "marts.dim_reports",
)


def upgrade() -> None:
    op.execute(
        f"""
        CREATE FUNCTION ops.key_pad(setting text) RETURNS bytea
        LANGUAGE plpgsql STABLE PARALLEL SAFE AS $$
        DECLARE
          value text := current_setting(setting, true);
        BEGIN
          IF value IS NULL OR value = '' THEN
            RAISE EXCEPTION '{MISSING}';
          END IF;
          RETURN decode(value, 'hex');
        END $$;

        -- HMAC-SHA256 (RFC 2104) from the padded keys: sha256(outer || sha256(inner || message)).
        CREATE FUNCTION ops.keyed_digest(message text) RETURNS text
        LANGUAGE sql STABLE PARALLEL SAFE AS $$
          SELECT encode(sha256(ops.key_pad('vnotify.key_outer')
                 || sha256(ops.key_pad('vnotify.key_inner') || convert_to(message, 'UTF8'))), 'hex')
        $$;

        CREATE FUNCTION ops.victim_key(report_number text, person_seq integer) RETURNS text
        LANGUAGE sql STABLE PARALLEL SAFE AS $$
          SELECT ops.keyed_digest('victim:' || report_number || ':' || person_seq::text)
        $$;

        CREATE FUNCTION ops.report_key(report_number text) RETURNS text
        LANGUAGE sql STABLE PARALLEL SAFE AS $$
          SELECT ops.keyed_digest('report:' || report_number)
        $$;

        REVOKE EXECUTE ON FUNCTION ops.key_pad(text), ops.keyed_digest(text),
          ops.victim_key(text, integer), ops.report_key(text) FROM PUBLIC;
        """
    )
    _move_existing_keys()


def _move_existing_keys() -> None:
    connection = op.get_bind().connection.driver_connection
    with connection.cursor() as cursor:
        has_assignments = _exists(cursor, ASSIGNMENTS)
        sources = [*STORED_KEYS, *([ASSIGNMENTS] if has_assignments else [])]
        report_numbers = {
            row[0]
            for table in sources
            for row in cursor.execute(f"SELECT DISTINCT report_number FROM {table}").fetchall()
        }
        for table in DERIVED:
            cursor.execute(f"DROP TABLE IF EXISTS {table} CASCADE")
        if not report_numbers:
            if has_assignments:
                _reshape_assignments(cursor)
            return
        secret = keys.key_secret()
        pairs = cursor.execute(
            """
            SELECT DISTINCT btrim(report_number), btrim(person_seq)::int FROM raw.persons
            WHERE btrim(person_seq) ~ '^[0-9]{1,9}$' AND btrim(report_number) = ANY(%s)
            """,
            (sorted(report_numbers),),
        ).fetchall()
        cursor.execute(
            "CREATE TEMP TABLE key_moves (old_key text PRIMARY KEY, new_key text NOT NULL) ON COMMIT DROP"
        )
        with cursor.copy("COPY key_moves (old_key, new_key) FROM STDIN") as copy:
            for report_number, person_seq in pairs:
                old = hashlib.sha256(f"{report_number}:{person_seq}".encode()).hexdigest()
                copy.write_row((old, keys.victim_key(report_number, person_seq, secret)))
        for table in sources:
            unmatched = cursor.execute(
                f"SELECT count(*) FROM {table} WHERE victim_key NOT IN (SELECT old_key FROM key_moves)"
            ).fetchone()[0]
            if unmatched:
                raise RuntimeError(
                    f"{table}: {unmatched} victim keys match no report and person in raw.persons; "
                    "nothing was changed. Restore raw.persons, or ask the maintainers before going on"
                )
            cursor.execute(
                f"UPDATE {table} AS t SET victim_key = m.new_key FROM key_moves AS m WHERE t.victim_key = m.old_key"
            )
        if has_assignments:
            cursor.execute(
                "CREATE TEMP TABLE report_keys (report_number text PRIMARY KEY, report_key text) ON COMMIT DROP"
            )
            with cursor.copy("COPY report_keys FROM STDIN") as copy:
                for report_number in report_numbers:
                    copy.write_row((report_number, keys.report_key(report_number, secret)))
            _reshape_assignments(cursor)


def _reshape_assignments(cursor) -> None:
    """report_number and bucket out, report_key in; every row and arm kept."""
    cursor.execute(f"ALTER TABLE {ASSIGNMENTS} ADD COLUMN report_key text")
    if _exists(cursor, "pg_temp.report_keys"):
        cursor.execute(
            f"UPDATE {ASSIGNMENTS} AS a SET report_key = k.report_key FROM pg_temp.report_keys AS k "
            "WHERE a.report_number = k.report_number"
        )
    # CASCADE: the restricted views read every column; the next transform builds them again.
    cursor.execute(f"ALTER TABLE {ASSIGNMENTS} DROP COLUMN report_number CASCADE, DROP COLUMN bucket CASCADE")


def _exists(cursor, relation: str) -> bool:
    return cursor.execute("SELECT to_regclass(%s) IS NOT NULL", (relation,)).fetchone()[0]


def downgrade() -> None:
    op.execute(
        """
        DROP FUNCTION ops.report_key(text);
        DROP FUNCTION ops.victim_key(text, integer);
        DROP FUNCTION ops.keyed_digest(text);
        DROP FUNCTION ops.key_pad(text);
        """
    )
