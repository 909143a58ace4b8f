"""The `transform` flow runs dbt through prefect-dbt, each node its own task."""

from __future__ import annotations

import psycopg
import pytest

from flows.transform import transform
from ingest.run import ingest_path


@pytest.mark.slow
def test_transform_flow_builds_the_warehouse(prefect_harness, clean_db_url, small_agency):
    ingest_path(small_agency, "contract-csv", url=clean_db_url)
    summary = transform(as_of="2025-03-20T12:00:00+00:00")
    assert summary["success"] and not summary["failures"]
    assert summary["nodes"].get("success", 0) >= 15 and summary["nodes"].get("pass", 0) >= 40
    with psycopg.connect(clean_db_url) as conn:
        due = conn.execute("SELECT count(*) FROM restricted.notifications_due").fetchone()[0]
        runs = conn.execute("SELECT count(*) FROM ops.transform_runs WHERE success").fetchone()[0]
    assert due > 0 and runs == 1
