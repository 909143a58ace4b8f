"""Foundation: schemas, the analyst role, ingest batches and quarantine.

Revision ID: 0001
Revises:
Create Date: 2026-11-27
"""

from __future__ import annotations

from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

ANALYST = "vnotify_analyst"
READABLE = ("marts", "analytics")
PRIVATE = ("raw", "ops", "staging", "intermediate", "restricted")


def upgrade() -> None:
    for schema in (*PRIVATE, *READABLE):
        op.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")

    # A group role: analysts log in as themselves and are granted it (GRANT vnotify_analyst TO alice).
    op.execute(
        f"""
        DO $$ BEGIN
          IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{ANALYST}') THEN
            CREATE ROLE {ANALYST} NOLOGIN;
          END IF;
        -- Roles belong to the server: another database migrating at the same moment made it.
        EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
        END $$
        """
    )
    for schema in PRIVATE:
        op.execute(f"REVOKE ALL ON SCHEMA {schema} FROM PUBLIC")
    for schema in READABLE:
        op.execute(f"GRANT USAGE ON SCHEMA {schema} TO {ANALYST}")
        op.execute(f"GRANT SELECT ON ALL TABLES IN SCHEMA {schema} TO {ANALYST}")
        # Tables dbt and the evaluate flow create later (as this role) are readable too.
        op.execute(f"ALTER DEFAULT PRIVILEGES IN SCHEMA {schema} GRANT SELECT ON TABLES TO {ANALYST}")

    op.execute(
        """
        CREATE TABLE ops.ingest_batches (
          batch_id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
          source_format     text        NOT NULL,
          source_name       text        NOT NULL,
          content_sha256    text        NOT NULL CHECK (content_sha256 ~ '^[0-9a-f]{64}$'),
          status            text        NOT NULL DEFAULT 'loading'
                                        CHECK (status IN ('loading', 'loaded', 'rejected')),
          rejection_reason  text,
          rows_read         bigint      NOT NULL DEFAULT 0 CHECK (rows_read >= 0),
          rows_staged       bigint      NOT NULL DEFAULT 0 CHECK (rows_staged >= 0),
          rows_quarantined  bigint      NOT NULL DEFAULT 0 CHECK (rows_quarantined >= 0),
          table_counts      jsonb       NOT NULL DEFAULT '{}'::jsonb,
          started_at        timestamptz NOT NULL DEFAULT now(),
          finished_at       timestamptz,
          -- Nothing is lost: every row read is either staged or quarantined.
          CONSTRAINT ingest_batches_rows_accounted
            CHECK (status <> 'loaded' OR rows_read = rows_staged + rows_quarantined),
          CONSTRAINT ingest_batches_rejected_has_reason
            CHECK (status <> 'rejected' OR rejection_reason IS NOT NULL)
        )
        """
    )
    # Idempotency: a file's content loads at most once.
    op.execute(
        "CREATE UNIQUE INDEX ingest_batches_loaded_content "
        "ON ops.ingest_batches (content_sha256) WHERE status = 'loaded'"
    )
    op.execute(
        """
        CREATE TABLE ops.quarantine (
          quarantine_id   bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
          batch_id        bigint      NOT NULL REFERENCES ops.ingest_batches ON DELETE CASCADE,
          table_name      text        NOT NULL,
          row_number      bigint      NOT NULL CHECK (row_number >= 1),
          column_name     text,
          reason          text        NOT NULL,
          raw_row         jsonb       NOT NULL,
          quarantined_at  timestamptz NOT NULL DEFAULT now()
        )
        """
    )
    op.execute("CREATE INDEX quarantine_batch ON ops.quarantine (batch_id, table_name)")
    op.execute("COMMENT ON TABLE ops.ingest_batches IS 'One row per ingested file or query result.'")
    op.execute(
        "COMMENT ON TABLE ops.quarantine IS "
        "'Input rows that failed a check, with the reason; raw_row may hold PII.'"
    )


def downgrade() -> None:
    op.execute("DROP TABLE IF EXISTS ops.quarantine")
    op.execute("DROP TABLE IF EXISTS ops.ingest_batches")
    for schema in READABLE:
        op.execute(f"ALTER DEFAULT PRIVILEGES IN SCHEMA {schema} REVOKE SELECT ON TABLES FROM {ANALYST}")
        op.execute(f"REVOKE ALL ON ALL TABLES IN SCHEMA {schema} FROM {ANALYST}")
        op.execute(f"REVOKE USAGE ON SCHEMA {schema} FROM {ANALYST}")
    # Schemas go only when empty; `ops` keeps Alembic's version table.
    for schema in (*READABLE, *PRIVATE):
        if schema != "ops":
            op.execute(f"DROP SCHEMA IF EXISTS {schema}")
    # The role is cluster-wide: another database may still grant it something.
    op.execute(
        f"""
        DO $$ BEGIN
          DROP ROLE IF EXISTS {ANALYST};
        EXCEPTION WHEN dependent_objects_still_exist THEN
          RAISE NOTICE '{ANALYST} kept: other databases still grant it privileges';
        END $$
        """
    )
