"""Opt-outs that cover a person, and holds while a reply is unclear.

An opt-out by text, e-mail unsubscribe, page or staff covers every phone and e-mail of the person
(notifications.opt_outs). A reply that might be a revocation holds every message to that person
(`pending_review`) until they confirm with STOP or a reviewer decides: an opt-out row awaiting a
decision, so every existing check (eligibility, the dispatcher's re-check, surveys) honours it.
`ops.inbound_messages.review_decision` records what the reviewer decided.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-04
"""

from __future__ import annotations

from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        ALTER TABLE ops.opt_outs
          ADD COLUMN pending_review boolean NOT NULL DEFAULT false,
          ADD COLUMN inbound_id bigint REFERENCES ops.inbound_messages (inbound_id) ON DELETE SET NULL
        """
    )
    op.execute("CREATE INDEX opt_outs_inbound ON ops.opt_outs (inbound_id) WHERE inbound_id IS NOT NULL")
    op.execute(
        """
        ALTER TABLE ops.inbound_messages
          ADD COLUMN review_decision text
            CHECK (review_decision IN ('reviewed', 'confirmed_opt_out', 'released', 'not_urgent')),
          ADD COLUMN review_note text
        """
    )
    op.execute(
        "COMMENT ON COLUMN ops.opt_outs.pending_review IS "
        "'A hold: the reply might be a revocation; nothing is sent until the person or a reviewer decides.'"
    )


def downgrade() -> None:
    op.execute("DELETE FROM ops.opt_outs WHERE pending_review")
    op.execute(
        "ALTER TABLE ops.inbound_messages DROP COLUMN IF EXISTS review_note, DROP COLUMN IF EXISTS review_decision"
    )
    op.execute("DROP INDEX IF EXISTS ops.opt_outs_inbound")
    op.execute(
        "ALTER TABLE ops.opt_outs DROP COLUMN IF EXISTS inbound_id, DROP COLUMN IF EXISTS pending_review"
    )
