"""Find a report's raw rows by report number, so incremental transforms touch only what changed.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-28
"""

from __future__ import annotations

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

TABLES = ("incidents", "offenses", "persons")


def upgrade() -> None:
    for table in TABLES:
        op.execute(f"CREATE INDEX {table}_report ON raw.{table} (btrim(report_number))")


def downgrade() -> None:
    for table in TABLES:
        op.execute(f"DROP INDEX IF EXISTS raw.{table}_report")
