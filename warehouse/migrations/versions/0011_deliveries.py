"""Deliveries and settled batches: the newest version of a report wins whatever the arrival order.

A delivery is what one export run hands over: the batches of the contract CSV files written
together (`2025-10-09_incidents.csv`, `2025-10-09_persons.csv`, …), or the one batch of a
source that carries every table (JSON Lines, NIBRS, a mapped file). A report's offenses and
people belong to the version of the incident row delivered with them, so the warehouse can put
a late, older export behind a newer one. A delivery is used only when every batch in it loaded
and passed its expectations.

`settled_seq` moves every time a batch's status or expectations verdict changes; the transform
rebuilds the reports of deliveries that changed since its last run (a batch checked after a
build is picked up by the next one).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-04
"""

from __future__ import annotations

from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("CREATE SEQUENCE ops.ingest_delivery_id AS bigint")
    op.execute("CREATE SEQUENCE ops.ingest_settled_seq AS bigint")
    op.execute(
        """
        ALTER TABLE ops.ingest_batches
          ADD COLUMN delivery_id bigint,
          ADD COLUMN settled_seq bigint
        """
    )
    # Batches landed before deliveries existed are a delivery each, settled in id order.
    op.execute("UPDATE ops.ingest_batches SET delivery_id = batch_id, settled_seq = batch_id")
    op.execute(
        """
        SELECT setval('ops.ingest_delivery_id', greatest(coalesce(max(batch_id), 0), 1), max(batch_id) IS NOT NULL)
        FROM ops.ingest_batches
        """
    )
    op.execute(
        """
        SELECT setval('ops.ingest_settled_seq', greatest(coalesce(max(batch_id), 0), 1), max(batch_id) IS NOT NULL)
        FROM ops.ingest_batches
        """
    )
    op.execute(
        """
        ALTER TABLE ops.ingest_batches
          ALTER COLUMN delivery_id SET DEFAULT nextval('ops.ingest_delivery_id'),
          ALTER COLUMN delivery_id SET NOT NULL
        """
    )
    op.execute("CREATE INDEX ingest_batches_delivery ON ops.ingest_batches (delivery_id)")
    op.execute("CREATE INDEX ingest_batches_settled ON ops.ingest_batches (settled_seq)")
    op.execute(
        """
        CREATE FUNCTION ops.settle_ingest_batch() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          IF TG_OP = 'INSERT'
             OR NEW.status IS DISTINCT FROM OLD.status
             OR NEW.expectations_passed IS DISTINCT FROM OLD.expectations_passed
             OR NEW.delivery_id IS DISTINCT FROM OLD.delivery_id THEN
            NEW.settled_seq := nextval('ops.ingest_settled_seq');
          END IF;
          RETURN NEW;
        END $$
        """
    )
    op.execute(
        """
        CREATE TRIGGER ingest_batches_settle BEFORE INSERT OR UPDATE ON ops.ingest_batches
        FOR EACH ROW EXECUTE FUNCTION ops.settle_ingest_batch()
        """
    )
    op.execute(
        "COMMENT ON COLUMN ops.ingest_batches.delivery_id IS "
        "'The export run this batch came in; its batches are used together or not at all.'"
    )
    op.execute(
        "COMMENT ON COLUMN ops.ingest_batches.settled_seq IS "
        "'Moves whenever the status, the expectations verdict or the delivery changes (what transform rebuilds).'"
    )
    # A contract date-time, or null when it is not one (quarantined rows are read with it).
    op.execute(
        """
        CREATE FUNCTION ops.try_agency_timestamptz(value text, zone text) RETURNS timestamptz
        LANGUAGE sql STABLE AS $$
          SELECT CASE WHEN ops.is_timestamp(btrim(value)) THEN ops.agency_timestamptz(value, zone) END
        $$
        """
    )
    op.execute(
        "ALTER TABLE ops.transform_runs ADD COLUMN since_settled_seq bigint, ADD COLUMN upto_settled_seq bigint"
    )


def downgrade() -> None:
    op.execute(
        "ALTER TABLE ops.transform_runs DROP COLUMN IF EXISTS since_settled_seq, "
        "DROP COLUMN IF EXISTS upto_settled_seq"
    )
    op.execute("DROP FUNCTION IF EXISTS ops.try_agency_timestamptz(text, text)")
    op.execute("DROP TRIGGER IF EXISTS ingest_batches_settle ON ops.ingest_batches")
    op.execute("DROP FUNCTION IF EXISTS ops.settle_ingest_batch()")
    op.execute(
        "ALTER TABLE ops.ingest_batches DROP COLUMN IF EXISTS delivery_id CASCADE, "
        "DROP COLUMN IF EXISTS settled_seq CASCADE"
    )
    op.execute("DROP SEQUENCE IF EXISTS ops.ingest_delivery_id")
    op.execute("DROP SEQUENCE IF EXISTS ops.ingest_settled_seq")
