"""Raw layer: landed export rows, report versions, and SQL validity checks used at ingest.

Raw tables hold rows exactly as received (every value text) plus the batch and the row's
position in its source. The loader COPYs straight into them; `batch_id` and `row_number`
default from the batch transaction so the COPY stream carries only the file's own columns.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27
"""

from __future__ import annotations

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

# Contract version 1 columns, in contract order (docs/contracts/rms-export.md).
RAW_TABLES = {
    "incidents": (
        "report_number agency_ori reported_at occurred_at division beat officer_id officer_name "
        "case_status domestic_violence updated_at"
    ),
    "offenses": "report_number offense_seq nibrs_code agency_code description attempted",
    "persons": (
        "report_number person_seq role victim_type first_name last_name birth_date age deceased "
        "phone phone_type email language contact_consent consent_source consent_at offense_seqs"
    ),
    "cad_calls": (
        "call_number report_number received_at call_type priority division caller_name "
        "caller_phone disposition"
    ),
}


def upgrade() -> None:
    for table, columns in RAW_TABLES.items():
        # Restarted at 1 by the loader for each batch (under its advisory lock).
        op.execute(f"CREATE SEQUENCE raw.{table}_row_number AS bigint CACHE 1000")
        column_sql = ",\n".join(f"  {name} text" for name in columns.split())
        action = "  record_action text CHECK (record_action IN ('delete')),\n" if table == "incidents" else ""
        op.execute(
            f"""
            CREATE TABLE raw.{table} (
              batch_id   bigint NOT NULL DEFAULT current_setting('vnotify.batch_id')::bigint,
              row_number bigint NOT NULL DEFAULT nextval('raw.{table}_row_number'),
            {column_sql},
            {action}  extra jsonb
            )
            """
        )
        op.execute(f"ALTER SEQUENCE raw.{table}_row_number OWNED BY raw.{table}.row_number")
        # Batches arrive in id order, so a BRIN index finds a batch's rows at almost no write cost.
        op.execute(f"CREATE INDEX {table}_batch ON raw.{table} USING brin (batch_id)")
        op.execute(
            f"COMMENT ON TABLE raw.{table} IS "
            f"'Contract {table} rows exactly as received; append-only; may hold PII.'"
        )

    # The current version of each report: a re-export supersedes only when its updated_at is newer.
    op.execute(
        """
        CREATE TABLE ops.report_versions (
          report_number   text        PRIMARY KEY,
          batch_id        bigint      NOT NULL,
          row_number      bigint      NOT NULL,
          updated_at      timestamptz NOT NULL,
          deleted         boolean     NOT NULL DEFAULT false,
          versions        integer     NOT NULL DEFAULT 1,
          first_seen_at   timestamptz NOT NULL DEFAULT now(),
          changed_at      timestamptz NOT NULL DEFAULT now()
        )
        """
    )
    op.execute("CREATE INDEX report_versions_batch ON ops.report_versions (batch_id)")

    # Columns the source's format cannot carry (not required of it), and the Great
    # Expectations checkpoint's verdict on the batch; downstream flows skip batches that failed.
    op.execute(
        """
        ALTER TABLE ops.ingest_batches
          ADD COLUMN unavailable_columns text[] NOT NULL DEFAULT '{}',
          ADD COLUMN expectations_passed boolean,
          ADD COLUMN expectations_summary jsonb
        """
    )
    # Where each SQL extract left off: the newest updated_at it has read.
    op.execute(
        """
        CREATE TABLE ops.extract_watermarks (
          source_name  text        PRIMARY KEY,
          watermark    timestamptz NOT NULL,
          batch_ids    bigint[]    NOT NULL DEFAULT '{}',
          updated_at   timestamptz NOT NULL DEFAULT now()
        )
        """
    )

    # Validity tests that never raise. pg_input_is_valid exists from PostgreSQL 16; older
    # servers (production may run 14 or 15) catch the cast error instead.
    op.execute(
        """
        DO $$ BEGIN
          IF current_setting('server_version_num')::int >= 160000 THEN
            CREATE FUNCTION ops.is_timestamp(value text) RETURNS boolean LANGUAGE sql STABLE
              AS 'SELECT pg_input_is_valid(value, ''timestamptz'')';
            CREATE FUNCTION ops.is_date(value text) RETURNS boolean LANGUAGE sql STABLE
              AS 'SELECT pg_input_is_valid(value, ''date'')';
          ELSE
            CREATE FUNCTION ops.is_timestamp(value text) RETURNS boolean LANGUAGE plpgsql STABLE
              AS 'BEGIN PERFORM value::timestamptz; RETURN true;
                  EXCEPTION WHEN others THEN RETURN false; END';
            CREATE FUNCTION ops.is_date(value text) RETURNS boolean LANGUAGE plpgsql STABLE
              AS 'BEGIN PERFORM value::date; RETURN true;
                  EXCEPTION WHEN others THEN RETURN false; END';
          END IF;
        END $$
        """
    )
    # Contract date-times without an offset are in the agency's time zone.
    op.execute(
        r"""
        CREATE FUNCTION ops.agency_timestamptz(value text, zone text) RETURNS timestamptz
        LANGUAGE sql STABLE AS $$
          SELECT CASE
            WHEN btrim(value) ~ '[T ]\d{2}:\d{2}.*([Zz]|[+-]\d{2}(:?\d{2})?)$' THEN btrim(value)::timestamptz
            ELSE btrim(value)::timestamp AT TIME ZONE zone
          END
        $$
        """
    )


def downgrade() -> None:
    op.execute("DROP FUNCTION IF EXISTS ops.agency_timestamptz(text, text)")
    op.execute("DROP FUNCTION IF EXISTS ops.is_date(text)")
    op.execute("DROP FUNCTION IF EXISTS ops.is_timestamp(text)")
    op.execute("DROP TABLE IF EXISTS ops.extract_watermarks")
    op.execute(
        "ALTER TABLE ops.ingest_batches DROP COLUMN IF EXISTS expectations_passed, "
        "DROP COLUMN IF EXISTS expectations_summary, DROP COLUMN IF EXISTS unavailable_columns"
    )
    op.execute("DROP TABLE IF EXISTS ops.report_versions")
    for table in RAW_TABLES:
        op.execute(f"DROP TABLE IF EXISTS raw.{table}")
    # Their rows are gone: a batch record that says "loaded" would make a re-ingest a no-op.
    op.execute("DELETE FROM ops.ingest_batches")
