"""Transform runs: what each dbt build covered, so the next one rebuilds only what changed.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28
"""

from __future__ import annotations

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE ops.transform_runs (
          run_id          bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
          started_at      timestamptz NOT NULL DEFAULT now(),
          finished_at     timestamptz,
          full_refresh    boolean     NOT NULL,
          since_batch_id  bigint,     -- batches after this one were new to the run (null: all)
          upto_batch_id   bigint,     -- the newest batch the run saw
          success         boolean,
          seconds         numeric
        )
        """
    )


def downgrade() -> None:
    op.execute("DROP TABLE IF EXISTS ops.transform_runs")
