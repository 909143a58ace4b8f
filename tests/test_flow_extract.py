"""The `extract` flow: lands the drop folder, checks each batch, fails the run on bad data."""

from __future__ import annotations

import shutil

import psycopg
import pytest

from flows.extract import ExpectationsFailed, extract


def test_extract_flow_lands_and_validates_the_drop_folder(
    prefect_harness, clean_db_url, small_agency, tmp_path
):
    drop = tmp_path / "incoming"
    shutil.copytree(small_agency, drop)
    summary = extract(drop_folder=str(drop))
    assert summary["loaded"] == 4 and summary["expectations_failed"] == []
    assert summary["rows_read"] == summary["rows_staged"] + summary["rows_quarantined"]
    with psycopg.connect(clean_db_url) as conn:
        verdicts = conn.execute("SELECT expectations_passed FROM ops.ingest_batches").fetchall()
    assert verdicts == [(True,)] * 4
    assert sorted(p.name for p in (drop / "loaded").iterdir()) == sorted(
        p.name for p in small_agency.iterdir()
    )


def test_a_batch_that_breaks_its_expectations_fails_the_run(prefect_harness, clean_db_url, tmp_path):
    drop = tmp_path / "incoming"
    drop.mkdir()
    # Contract-valid rows that a suite rejects: a reported_at decades in the future.
    (drop / "incidents.csv").write_text(
        "report_number,reported_at,division,officer_name,updated_at\n"
        "F-1,2091-03-04T10:00:00,WEST,Ana Ruiz,2091-03-04T10:00:00\n"
    )
    with pytest.raises(ExpectationsFailed):
        extract(drop_folder=str(drop))
    with psycopg.connect(clean_db_url) as conn:
        assert conn.execute("SELECT expectations_passed FROM ops.ingest_batches").fetchall() == [(False,)]
