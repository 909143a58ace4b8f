"""Evaluation results in the analytics schema, readable by analysts: one row per evaluation run
(with the whole results.json), its effects per outcome, subgroup cells and monthly figures.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-28
"""

from __future__ import annotations

from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE analytics.evaluation_runs (
          run_id         bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
          generated_at   timestamptz NOT NULL,
          experiment     text        NOT NULL,
          source         text        NOT NULL CHECK (source IN ('marts', 'csv')),
          data_sha256    text        NOT NULL CHECK (data_sha256 ~ '^[0-9a-f]{64}$'),
          rows           bigint      NOT NULL CHECK (rows >= 0),
          n_a            bigint      NOT NULL,
          n_b            bigint      NOT NULL,
          srm_p_value    double precision,
          srm_alarm      boolean     NOT NULL,
          results        jsonb       NOT NULL
        )
        """
    )
    op.execute(
        """
        CREATE TABLE analytics.outcome_effects (
          run_id          bigint  NOT NULL REFERENCES analytics.evaluation_runs ON DELETE CASCADE,
          outcome         text    NOT NULL,
          label           text    NOT NULL,
          measure         text    NOT NULL CHECK (measure IN ('proportion', 'rating')),
          is_primary      boolean NOT NULL,
          n_a             bigint,
          n_b             bigint,
          value_a         double precision,   -- rate (proportion) or mean (rating)
          value_b         double precision,
          difference      double precision,   -- percentage points or rating points, A - B
          difference_low  double precision,
          difference_high double precision,
          relative        double precision,   -- (A - B) / B
          relative_low    double precision,
          relative_high   double precision,
          p_value         double precision,
          p_adjusted      double precision,
          correction      text,
          test            text,
          significant     boolean NOT NULL,
          insufficient    text,
          PRIMARY KEY (run_id, outcome)
        )
        """
    )
    op.execute(
        """
        CREATE TABLE analytics.subgroup_effects (
          run_id          bigint  NOT NULL REFERENCES analytics.evaluation_runs ON DELETE CASCADE,
          dimension       text    NOT NULL,
          value           text    NOT NULL,
          outcome         text    NOT NULL,
          n_a             bigint,
          count_a         bigint,
          n_b             bigint,
          count_b         bigint,
          difference_pp   double precision,
          difference_low  double precision,
          difference_high double precision,
          suppressed      boolean NOT NULL,
          PRIMARY KEY (run_id, dimension, value, outcome)
        )
        """
    )
    op.execute(
        """
        CREATE TABLE analytics.monthly_kpis (
          run_id            bigint  NOT NULL REFERENCES analytics.evaluation_runs ON DELETE CASCADE,
          month             date    NOT NULL,
          victims           bigint,
          victims_notified  bigint,
          email_open_rate   double precision,
          email_share       double precision,
          unsubscribe_rate  double precision,
          delivery_rate     double precision,
          PRIMARY KEY (run_id, month)
        )
        """
    )
    for table in ("evaluation_runs", "outcome_effects", "subgroup_effects", "monthly_kpis"):
        op.execute(f"GRANT SELECT ON analytics.{table} TO vnotify_analyst")
    op.execute(
        "COMMENT ON TABLE analytics.evaluation_runs IS "
        "'One row per evaluation; results holds the whole results.json (no PII by construction).'"
    )


def downgrade() -> None:
    for table in ("monthly_kpis", "subgroup_effects", "outcome_effects", "evaluation_runs"):
        op.execute(f"DROP TABLE IF EXISTS analytics.{table}")
