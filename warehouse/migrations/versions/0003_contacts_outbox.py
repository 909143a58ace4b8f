"""Normalized contacts, opt-outs and the outbox that eligibility reads.

Phones and emails are normalized in Python (phonenumbers, email-validator) once per distinct
raw value, before dbt runs; dbt joins these lookups. The outbox and opt-out tables start with
what the eligibility rules need; the send flow and the webhooks extend them.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28
"""

from __future__ import annotations

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE ops.phone_numbers (
          raw_phone      text        PRIMARY KEY,
          e164           text        CHECK (e164 ~ '^\\+[1-9][0-9]{7,14}$'),
          is_valid       boolean     NOT NULL,
          line_type      text        NOT NULL CHECK (line_type IN ('mobile', 'landline', 'unknown', 'invalid')),
          normalized_at  timestamptz NOT NULL DEFAULT now()
        )
        """
    )
    op.execute(
        """
        CREATE TABLE ops.email_addresses (
          raw_email      text        PRIMARY KEY,
          normalized     text,
          is_valid       boolean     NOT NULL,
          normalized_at  timestamptz NOT NULL DEFAULT now()
        )
        """
    )
    op.execute(
        """
        CREATE TABLE ops.opt_outs (
          channel        text        NOT NULL CHECK (channel IN ('sms', 'email')),
          address        text        NOT NULL,  -- E.164 phone or normalized email
          opted_out_at   timestamptz NOT NULL DEFAULT now(),
          source         text        NOT NULL,  -- e.g. sms_stop, email_unsubscribe, provider_21610, staff
          PRIMARY KEY (channel, address)
        )
        """
    )
    op.execute(
        """
        CREATE TABLE ops.outbox (
          outbox_id      bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
          victim_key     text        NOT NULL,
          report_number  text        NOT NULL,
          kind           text        NOT NULL DEFAULT 'initial',
          channel        text        NOT NULL CHECK (channel IN ('sms', 'email')),
          state          text        NOT NULL DEFAULT 'pending'
                         CHECK (state IN ('pending', 'sending', 'sent', 'failed', 'retry', 'unknown')),
          created_at     timestamptz NOT NULL DEFAULT now(),
          updated_at     timestamptz NOT NULL DEFAULT now(),
          -- One notification per victim per report per kind per channel.
          CONSTRAINT outbox_once UNIQUE (victim_key, report_number, kind, channel)
        )
        """
    )
    op.execute(
        "COMMENT ON TABLE ops.phone_numbers IS 'Each distinct raw phone once, normalized to E.164; PII.'"
    )
    op.execute("COMMENT ON TABLE ops.email_addresses IS 'Each distinct raw email once, syntax-checked; PII.'")


def downgrade() -> None:
    for table in ("outbox", "opt_outs", "email_addresses", "phone_numbers"):
        op.execute(f"DROP TABLE IF EXISTS ops.{table}")
