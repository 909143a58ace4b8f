"""Extract runs on record, alerts sent to the data engineers, early delivery callbacks found quickly.

`ops.extract_runs` keeps one row per SQL extract run: the window it read, what it loaded, and
whether the watermark advanced or was held (a rejected file or a batch that failed its
expectations), so `vnotify extract status` and the alerts can tell a held run from a quiet one.
`ops.alerts` keeps each problem the monitoring found (a failed run, a held batch, a stale
export, a growing backlog) once, with when it was last sent, so an alert goes out once and again
only after `operations.realert_hours`. Neither holds victim data. The partial index finds Twilio callbacks that came before their message's id was recorded.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-05
"""

from __future__ import annotations

from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE ops.extract_runs (
          run_id       bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
          source_name  text        NOT NULL,
          started_at   timestamptz NOT NULL DEFAULT now(),
          read_since   timestamptz NOT NULL,
          watermark    timestamptz,
          rows_read    jsonb       NOT NULL DEFAULT '{}',
          rows_already_loaded integer NOT NULL DEFAULT 0,
          batch_ids    bigint[]    NOT NULL DEFAULT '{}',
          outcome      text        NOT NULL CHECK (outcome IN ('advanced', 'nothing_new', 'held')),
          reason       text
        )
        """
    )
    op.execute("CREATE INDEX extract_runs_source ON ops.extract_runs (source_name, run_id DESC)")
    op.execute(
        """
        CREATE TABLE ops.alerts (
          alert_key     text        PRIMARY KEY,
          kind          text        NOT NULL,
          summary       text        NOT NULL,
          first_seen_at timestamptz NOT NULL DEFAULT now(),
          last_seen_at  timestamptz NOT NULL DEFAULT now(),
          last_sent_at  timestamptz,
          sent_count    integer     NOT NULL DEFAULT 0
        )
        """
    )
    op.execute("CREATE INDEX events_awaiting_outbox ON ops.events (provider_id) WHERE outbox_id IS NULL")


def downgrade() -> None:
    op.execute("DROP INDEX IF EXISTS ops.events_awaiting_outbox")
    op.execute("DROP TABLE IF EXISTS ops.alerts")
    op.execute("DROP TABLE IF EXISTS ops.extract_runs")
