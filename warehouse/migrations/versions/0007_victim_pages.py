"""What victims do on our pages and in replies: survey invitations and answers, inbound texts.

A survey invitation is reached, like a message page, only through a token whose SHA-256 is
stored here; each victim is invited once per experiment (Group A and the Group B holdout alike).
Answers are saved as they are given, so a survey left half-way still counts what it holds.
Inbound texts (replies to our messages) are stored once per provider message for staff review.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-29
"""

from __future__ import annotations

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE ops.survey_invitations (
          invitation_id    bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
          victim_key       text        NOT NULL,
          report_number    text        NOT NULL,
          experiment       text        NOT NULL,
          arm              text        NOT NULL CHECK (arm IN ('A', 'B')),
          channel          text        NOT NULL CHECK (channel IN ('sms', 'email')),
          language         text,
          token_hash       text        NOT NULL UNIQUE CHECK (token_hash ~ '^[0-9a-f]{64}$'),
          created_at       timestamptz NOT NULL DEFAULT now(),
          expires_at       timestamptz NOT NULL,
          first_opened_at  timestamptz,
          completed_at     timestamptz,
          CONSTRAINT survey_invitations_once UNIQUE (victim_key, experiment),
          CONSTRAINT survey_invitations_opened_before_completed
            CHECK (completed_at IS NULL OR first_opened_at IS NOT NULL)
        )
        """
    )
    op.execute(
        """
        CREATE TABLE ops.survey_responses (
          invitation_id     bigint      PRIMARY KEY
                            REFERENCES ops.survey_invitations (invitation_id) ON DELETE CASCADE,
          preferred_text    boolean,
          preferred_email   boolean,
          preferred_letter  boolean,
          preferred_phone   boolean,
          likely_to_call    boolean,     -- NULL: not answered
          service_rating    smallint    CHECK (service_rating BETWEEN 1 AND 5),
          trust_rating      smallint    CHECK (trust_rating BETWEEN 1 AND 5),  -- 1 strongly disagree
          free_text         text,        -- the victim's own words: may hold PII
          started_at        timestamptz NOT NULL DEFAULT now(),
          updated_at        timestamptz NOT NULL DEFAULT now(),
          completed         boolean     NOT NULL DEFAULT false,
          seconds_on_survey double precision CHECK (seconds_on_survey >= 0),
          CONSTRAINT survey_responses_completed_has_duration
            CHECK (NOT completed OR seconds_on_survey IS NOT NULL)
        )
        """
    )
    op.execute(
        """
        CREATE TABLE ops.inbound_messages (
          inbound_id     bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
          provider_sid   text        NOT NULL UNIQUE,
          from_address   text        NOT NULL,   -- E.164 phone; PII
          body           text,                   -- PII
          kind           text,                   -- e.g. stop, start, help, question
          urgent         boolean     NOT NULL DEFAULT false,
          language       text,
          outbox_id      bigint      REFERENCES ops.outbox (outbox_id) ON DELETE SET NULL,
          received_at    timestamptz NOT NULL DEFAULT now(),
          reviewed_at    timestamptz,
          reviewed_by    text
        )
        """
    )
    op.execute("CREATE INDEX inbound_messages_outbox ON ops.inbound_messages (outbox_id)")
    # A reply is matched to our latest text to that number.
    op.execute("CREATE INDEX outbox_sms_address ON ops.outbox (address, sent_at DESC) WHERE channel = 'sms'")
    op.execute(
        "CREATE INDEX inbound_messages_to_review ON ops.inbound_messages (received_at) WHERE reviewed_at IS NULL"
    )
    op.execute(
        "COMMENT ON TABLE ops.survey_invitations IS "
        "'One survey link per victim per experiment; only the token hash is stored.'"
    )
    op.execute(
        "COMMENT ON TABLE ops.survey_responses IS "
        "'One response per invitation, saved as answered; free_text may hold PII.'"
    )
    op.execute(
        "COMMENT ON TABLE ops.inbound_messages IS 'Texts victims send us, once per provider message; PII.'"
    )


def downgrade() -> None:
    op.execute("DROP INDEX IF EXISTS ops.outbox_sms_address")
    op.execute("DROP TABLE IF EXISTS ops.inbound_messages")
    op.execute("DROP TABLE IF EXISTS ops.survey_responses")
    op.execute("DROP TABLE IF EXISTS ops.survey_invitations")
