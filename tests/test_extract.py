"""The extract sources: a drop folder drained once, an RMS query read from its watermark."""

from __future__ import annotations

import shutil
import sqlite3

import psycopg
import pytest

from ingest.rms_extract import extract_sql
from ingest.run import drain_drop_folder
from vnotify.config import SqlExtract, load_config

INCIDENT_COLUMNS = (
    "report_number, agency_ori, reported_at, occurred_at, division, beat, officer_id, officer_name, "
    "case_status, domestic_violence, updated_at"
)


def test_drop_folder_is_drained_into_loaded_and_rejected(clean_db_url, small_agency, tmp_path):
    drop = tmp_path / "incoming"
    shutil.copytree(small_agency, drop)
    (drop / "offenses.csv").write_bytes(b"")
    results = drain_drop_folder(drop, "contract-csv", url=clean_db_url)
    assert sorted(r.status for r in results) == ["loaded", "loaded", "loaded", "rejected"]
    # The four files are one delivery: with one of them rejected none of it is used, so all four
    # go to rejected/ to be sent again together.
    assert sorted(p.name for p in (drop / "rejected").iterdir()) == [
        "cad_calls.csv",
        "incidents.csv",
        "offenses.csv",
        "persons.csv",
    ]
    assert not any((drop / "loaded").iterdir())
    assert drain_drop_folder(drop, "contract-csv", url=clean_db_url) == []  # nothing left to read

    # Corrected and dropped again, the whole delivery loads (the unchanged files too: they belong
    # to the new delivery) and passes its checks.
    for name in ("cad_calls.csv", "incidents.csv", "persons.csv"):
        shutil.move(drop / "rejected" / name, drop / name)
    shutil.copy(small_agency / "offenses.csv", drop / "offenses.csv")
    again = drain_drop_folder(drop, "contract-csv", url=clean_db_url)
    assert [r.status for r in again] == ["loaded"] * 4
    assert all(r.expectations_passed for r in again) and len({r.delivery_id for r in again}) == 1
    assert sorted(p.name for p in (drop / "loaded").iterdir()) == [
        "cad_calls.csv",
        "incidents.csv",
        "offenses.csv",
        "persons.csv",
    ]


@pytest.fixture
def rms(tmp_path, monkeypatch) -> sqlite3.Connection:
    """An agency RMS database (SQLite through SQLAlchemy) with its own column names, storing
    agency-local times without a zone (so its queries compare with `:watermark_local`)."""
    path = tmp_path / "rms.sqlite"
    conn = sqlite3.connect(path)
    conn.executescript(
        """
        CREATE TABLE reports (case_no TEXT, filed TEXT, district TEXT, officer TEXT, status TEXT, modified TEXT);
        CREATE TABLE victims (case_no TEXT, seq INTEGER, first TEXT, last TEXT, cell TEXT);
        """
    )
    monkeypatch.setenv("RMS_DATABASE_URL", f"sqlite:///{path}")
    return conn


EXTRACT = SqlExtract(
    name="test-rms",
    queries={
        "incidents": (
            "SELECT case_no AS report_number, filed AS reported_at, district AS division, officer AS officer_name,"
            " status AS case_status, modified AS updated_at FROM reports WHERE datetime(modified) > datetime(:watermark_local)"
        ),
        "persons": (
            "SELECT v.case_no AS report_number, v.seq AS person_seq, 'victim' AS role, 'individual' AS victim_type,"
            " v.first AS first_name, v.last AS last_name, v.cell AS phone FROM victims v"
            " JOIN reports r ON r.case_no = v.case_no WHERE datetime(r.modified) > datetime(:watermark_local)"
        ),
    },
)


def test_sql_extract_reads_only_what_changed_since_the_watermark(clean_db_url, rms, tmp_path):
    rms.executemany(
        "INSERT INTO reports VALUES (?, ?, ?, ?, ?, ?)",
        [
            ("A-1", "2025-03-01T10:00:00", "1", "Ana Ruiz", "open", "2025-03-01T10:05:00"),
            ("A-2", "2025-03-01T11:00:00", "2", "Bo Lee", "open", "2025-03-01T11:05:00"),
        ],
    )
    rms.execute("INSERT INTO victims VALUES ('A-1', 1, 'Cara', 'Diaz', '520-555-0101')")
    rms.commit()
    config = load_config()

    first = extract_sql(EXTRACT, config=config, url=clean_db_url)
    assert {r.tables["incidents"].staged for r in first.results if "incidents" in r.tables} == {2}

    rms.execute(
        "UPDATE reports SET status = 'cleared_arrest', modified = '2025-03-02T09:00:00' WHERE case_no = 'A-2'"
    )
    rms.commit()
    second = extract_sql(EXTRACT, config=config, url=clean_db_url)
    incidents = next(r for r in second.results if "incidents" in r.tables)
    assert incidents.tables["incidents"].read == 1  # only A-2 changed
    assert incidents.reports_superseded == 1

    third = extract_sql(EXTRACT, config=config, url=clean_db_url)
    # The overlap reads A-2 again, and drops it: it is already loaded.
    assert third.outcome == "nothing_new" and third.results == [] and third.rows_already_loaded == 1
    with psycopg.connect(clean_db_url) as conn:
        (watermark,) = conn.execute(
            "SELECT watermark FROM ops.extract_watermarks WHERE source_name = 'test-rms'"
        ).fetchone()
        status = conn.execute(
            "SELECT r.case_status FROM ops.report_versions v JOIN raw.incidents r USING (batch_id, row_number)"
            " WHERE v.report_number = 'A-2'"
        ).fetchone()
    # Naive RMS times are agency time (America/Phoenix, UTC-7).
    assert watermark.isoformat() == "2025-03-02T16:00:00+00:00"
    assert status == ("cleared_arrest",)


def test_sql_extract_needs_the_url_in_the_environment(clean_db_url, monkeypatch):
    monkeypatch.delenv("RMS_DATABASE_URL", raising=False)
    with pytest.raises(RuntimeError, match="RMS_DATABASE_URL"):
        extract_sql(EXTRACT, config=load_config(), url=clean_db_url)
