"""Notice kinds: reporting-party notices and case-status follow-ups, each once per subject.

A victim hears about a report once per kind, and a status follow-up once per thing that
changed: `ops.outbox.subject` names it (the new case status such as `cleared_arrest`, or
`detective:<name>` when a detective was assigned; `''` for every other kind), and `outbox_once`
becomes unique over (victim_key, report_number, kind, channel, subject). The constraint keeps
its name, so `ON CONFLICT ON CONSTRAINT outbox_once` keeps working.

`raw.incidents.assigned_detective` holds the new optional contract column of incidents: the
detective the case is assigned to (a display name, as the RMS writes it).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02
"""

from __future__ import annotations

from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

KINDS = ("initial", "reporting_party", "status_update", "survey", "survey_reminder")


def upgrade() -> None:
    kinds = ", ".join(f"'{kind}'" for kind in KINDS)
    op.execute(
        f"""
        ALTER TABLE ops.outbox
          ADD COLUMN subject text NOT NULL DEFAULT '',
          DROP CONSTRAINT outbox_once,
          ADD CONSTRAINT outbox_once UNIQUE (victim_key, report_number, kind, channel, subject),
          ADD CONSTRAINT outbox_kind CHECK (kind IN ({kinds}))
        """
    )
    op.execute(
        "COMMENT ON COLUMN ops.outbox.subject IS "
        "'What a status_update is about: the new case status or detective:<name>; empty for other kinds.'"
    )
    op.execute("ALTER TABLE raw.incidents ADD COLUMN assigned_detective text")
    op.execute(
        "COMMENT ON COLUMN raw.incidents.assigned_detective IS "
        "'Contract column (optional): the detective the case is assigned to, as received.'"
    )


def downgrade() -> None:
    op.execute("ALTER TABLE raw.incidents DROP COLUMN IF EXISTS assigned_detective")
    # The earlier schema knows only initial and survey messages: the new kinds' rows go (their
    # tokens with them; events keep their rows without the link).
    op.execute("DELETE FROM ops.outbox WHERE kind IN ('reporting_party', 'status_update') OR subject <> ''")
    op.execute(
        """
        ALTER TABLE ops.outbox
          DROP CONSTRAINT IF EXISTS outbox_kind,
          DROP CONSTRAINT outbox_once,
          DROP COLUMN subject CASCADE,  -- and dbt's views over it; the next build recreates them
          ADD CONSTRAINT outbox_once UNIQUE (victim_key, report_number, kind, channel)
        """
    )
