"""The outbox as the send flow runs it: leases, attempts, provider ids, tokens, provider events.

A worker claims rows (`FOR UPDATE SKIP LOCKED`), commits `sending` with a lease and the hash of
the message token it is about to send, calls the provider, then stores the provider id. The
token in the message body is our marker: an ambiguous send is reconciled by finding it in the
provider's copy of the message, never by sending again blindly.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-28
"""

from __future__ import annotations

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        ALTER TABLE ops.outbox
          ADD COLUMN address          text,        -- E.164 phone or normalized email, as queued; PII
          ADD COLUMN language         text,
          ADD COLUMN payload          jsonb,       -- what the message says (names, officer); PII
          ADD COLUMN attempts         integer     NOT NULL DEFAULT 0,
          ADD COLUMN next_attempt_at  timestamptz NOT NULL DEFAULT now(),
          ADD COLUMN claimed_by       text,
          ADD COLUMN claimed_at       timestamptz,
          ADD COLUMN lease_until      timestamptz,
          ADD COLUMN provider_id      text,        -- Twilio message SID or SendGrid X-Message-Id
          ADD COLUMN sent_at          timestamptz,
          ADD COLUMN error_code       text,        -- the provider's code or HTTP status
          ADD COLUMN reason           text,        -- why the row is failed, retried or unknown
          ADD COLUMN delivery_status  text,        -- the provider's latest status from its webhooks
          ADD COLUMN delivery_updated_at timestamptz,
          ADD CONSTRAINT outbox_sent_has_provider_id CHECK (state <> 'sent' OR provider_id IS NOT NULL),
          ADD CONSTRAINT outbox_failed_has_reason CHECK (state <> 'failed' OR reason IS NOT NULL),
          ADD CONSTRAINT outbox_sending_has_lease CHECK (state <> 'sending' OR lease_until IS NOT NULL)
        """
    )
    op.execute(
        """
        CREATE INDEX outbox_claimable ON ops.outbox (next_attempt_at, outbox_id)
          WHERE state IN ('pending', 'retry')
        """
    )
    op.execute(
        "CREATE INDEX outbox_in_flight ON ops.outbox (lease_until) WHERE state IN ('sending', 'unknown')"
    )
    op.execute("CREATE INDEX outbox_provider_id ON ops.outbox (provider_id) WHERE provider_id IS NOT NULL")
    op.execute(
        """
        CREATE TABLE ops.message_tokens (
          token_hash     text        PRIMARY KEY CHECK (token_hash ~ '^[0-9a-f]{64}$'),
          outbox_id      bigint      NOT NULL REFERENCES ops.outbox (outbox_id) ON DELETE CASCADE,
          attempt        integer     NOT NULL,
          created_at     timestamptz NOT NULL DEFAULT now(),
          expires_at     timestamptz NOT NULL
        )
        """
    )
    op.execute("CREATE INDEX message_tokens_outbox ON ops.message_tokens (outbox_id)")
    op.execute(
        """
        CREATE TABLE ops.events (
          event_id       bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
          source         text        NOT NULL,  -- twilio, sendgrid, page, dispatcher
          event          text        NOT NULL,  -- delivered, bounce, opened, ...
          outbox_id      bigint      REFERENCES ops.outbox (outbox_id) ON DELETE SET NULL,
          provider_id    text,
          dedupe_key     text        NOT NULL UNIQUE,
          occurred_at    timestamptz NOT NULL,
          received_at    timestamptz NOT NULL DEFAULT now(),
          detail         jsonb       NOT NULL DEFAULT '{}'  -- never addresses or names
        )
        """
    )
    op.execute("CREATE INDEX events_outbox ON ops.events (outbox_id, event)")
    op.execute(
        "COMMENT ON TABLE ops.message_tokens IS 'Hashes of message-link tokens; the token itself is never stored.'"
    )
    op.execute("COMMENT ON TABLE ops.events IS 'Provider and page events, each once (dedupe_key).'")


def downgrade() -> None:
    op.execute("DROP TABLE IF EXISTS ops.events")
    op.execute("DROP TABLE IF EXISTS ops.message_tokens")
    op.execute("DROP INDEX IF EXISTS ops.outbox_claimable")
    op.execute("DROP INDEX IF EXISTS ops.outbox_in_flight")
    op.execute("DROP INDEX IF EXISTS ops.outbox_provider_id")
    op.execute(
        """
        ALTER TABLE ops.outbox
          DROP CONSTRAINT outbox_sent_has_provider_id,
          DROP CONSTRAINT outbox_failed_has_reason,
          DROP CONSTRAINT outbox_sending_has_lease,
          DROP COLUMN address, DROP COLUMN language, DROP COLUMN payload, DROP COLUMN attempts,
          DROP COLUMN next_attempt_at, DROP COLUMN claimed_by, DROP COLUMN claimed_at,
          DROP COLUMN lease_until, DROP COLUMN provider_id, DROP COLUMN sent_at,
          DROP COLUMN error_code, DROP COLUMN reason, DROP COLUMN delivery_status,
          DROP COLUMN delivery_updated_at
        """
    )
