"""Survey invitations through the outbox: each survey message names its invitation.

An invitation and its outbox row are queued in one statement; the outbox row points at the
invitation (`invitation_id`), so a survey message cannot exist without its invitation, and each
invitation has at most one invitation message and one reminder. The link's token is issued when
the message is claimed for sending (only its hash is stored): the invitation's `token_hash` for
the invitation message, `reminder_token_hash` for the reminder, so the first link keeps working
after the reminder goes out. Until the invitation message is claimed, `token_hash` holds the hash
of a token nobody has and `expires_at` is `created_at`: the invitation opens nothing.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01
"""

from __future__ import annotations

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        ALTER TABLE ops.survey_invitations
          ADD COLUMN reminder_token_hash text UNIQUE CHECK (reminder_token_hash ~ '^[0-9a-f]{64}$')
        """
    )
    op.execute(
        """
        ALTER TABLE ops.outbox
          ADD COLUMN invitation_id bigint REFERENCES ops.survey_invitations (invitation_id),
          ADD CONSTRAINT outbox_survey_has_invitation
            CHECK (kind NOT IN ('survey', 'survey_reminder') OR invitation_id IS NOT NULL)
        """
    )
    # One invitation message and one reminder per invitation, whatever the channel.
    op.execute(
        """
        CREATE UNIQUE INDEX outbox_once_per_invitation ON ops.outbox (invitation_id, kind)
          WHERE invitation_id IS NOT NULL
        """
    )
    op.execute(
        "COMMENT ON COLUMN ops.outbox.invitation_id IS "
        "'The survey invitation a survey or survey_reminder message carries the link to.'"
    )
    op.execute(
        "COMMENT ON COLUMN ops.survey_invitations.reminder_token_hash IS "
        "'SHA-256 of the token in the reminder''s link (the invitation''s own link keeps working).'"
    )


def downgrade() -> None:
    op.execute("DROP INDEX IF EXISTS ops.outbox_once_per_invitation")
    op.execute(
        """
        ALTER TABLE ops.outbox
          DROP CONSTRAINT IF EXISTS outbox_survey_has_invitation,
          DROP COLUMN IF EXISTS invitation_id
        """
    )
    op.execute("ALTER TABLE ops.survey_invitations DROP COLUMN IF EXISTS reminder_token_hash")
