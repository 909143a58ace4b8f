"""The nightly `docs` flow: dbt's documentation site with the database catalog, and the Great
Expectations Data Docs, side by side in one folder, and neither holds a victim's details."""

from __future__ import annotations

import json

import psycopg
import pytest

from vnotify.config import load_config
from warehouse.transform import DBT_DIR

pytestmark = pytest.mark.slow


@pytest.mark.server
def test_the_docs_flow_writes_both_sites_without_contact_details(built, prefect_harness, tmp_path):
    from expectations.run import validate_batch
    from flows.docs import docs

    with psycopg.connect(built) as conn:
        batch_id = conn.execute(
            "SELECT batch_id FROM ops.ingest_batches WHERE table_counts ? 'persons'"
        ).fetchone()[0]
        contacts = {
            value
            for (value,) in conn.execute(
                "SELECT e164 FROM ops.phone_numbers WHERE e164 IS NOT NULL "
                "UNION SELECT raw_email FROM ops.email_addresses"
            )
        }
    # Not victims' details: the department's own numbers (dbt vars) and the fictional numbers the
    # dbt unit tests are written with (the generator draws from the same 555-01xx range).
    config = load_config()
    contacts -= {p for d in config.divisions for p in (d.substation_phone, d.investigations_phone)}
    project_text = "".join(path.read_text() for path in (DBT_DIR / "models").rglob("*.yml"))
    contacts = {value for value in contacts if value not in project_text}
    assert len(contacts) > 20
    validate_batch(batch_id, url=built, build_docs=False)

    written = docs(out_dir=str(tmp_path / "docs"))

    dbt_index = tmp_path / "docs" / "dbt" / "static_index.html"
    gx_index = tmp_path / "docs" / "gx" / "index.html"
    assert written == {"dbt": str(dbt_index), "gx": str(gx_index)}
    catalog = json.loads((dbt_index.parent / "catalog.json").read_text())
    decisions = catalog["nodes"]["model.vnotify.fct_eligibility_decisions"]
    assert decisions["metadata"]["schema"] == "marts" and "victim_key" in decisions["columns"]
    assert "fct_experiment_assignments" in dbt_index.read_text()
    assert "raw_persons" in gx_index.read_text()  # this batch's checkpoint run is listed
    for path in (tmp_path / "docs").rglob("*"):
        if path.is_file() and path.suffix in {".html", ".json"}:
            text = path.read_text(errors="ignore")
            assert not [v for v in contacts if v in text], path
