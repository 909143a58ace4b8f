"""The RMS extract never loses or double-loads a run: a bad value is one quarantined row, a held
run keeps its watermark and is read again, the watermark is a real instant whatever the RMS's
zone, rows committed late are read by the overlap and loaded once, and audit copies stay off
(or owner-only, and removed by retention)."""

from __future__ import annotations

import datetime as dt
import stat

import psycopg
import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from ingest.rms_extract import extract_sql, read_watermark
from vnotify.cli import app
from vnotify.config import SqlExtract, load_config
from vnotify.paths import SAMPLE_CONFIG
from warehouse.database import sqlalchemy_url
from warehouse.retention import AUDIT_COPIES, apply_retention

T0 = dt.datetime(2025, 3, 1, 17, 0, tzinfo=dt.UTC)  # 10:00 in Phoenix, the sample agency's zone

INCIDENTS = (
    "SELECT case_no AS report_number, filed AS reported_at, district AS division, officer AS officer_name,"
    " status AS case_status, modified AS updated_at FROM reports WHERE modified > :watermark"
)
PERSONS = (
    "SELECT v.case_no AS report_number, v.seq AS person_seq, 'victim' AS role, kind AS victim_type,"
    " v.first AS first_name, v.cell AS phone, v.consent AS consent_at FROM victims v"
    " JOIN reports r ON r.case_no = v.case_no WHERE r.modified > :watermark"
)


def _extract(**overrides) -> SqlExtract:
    return SqlExtract(name="rms", queries={"incidents": INCIDENTS, "persons": PERSONS}, **overrides)


@pytest.fixture
def rms(fresh_database, monkeypatch):
    """A PostgreSQL RMS with timestamptz columns; `session_zone(zone)` sets the zone its
    sessions run in (the URL the extract reads)."""
    url = fresh_database()
    with psycopg.connect(url) as conn:
        conn.execute(
            """
            CREATE TABLE reports (case_no text, filed timestamptz, district text, officer text, status text,
                                  modified timestamptz);
            CREATE TABLE victims (case_no text, seq int, kind text, first text, cell text, consent timestamptz);
            """
        )

    class Rms:
        url = None  # the RMS database itself (set below), for tests that add tables

        def session_zone(self, zone: str) -> None:
            engine_url = sa.engine.make_url(sqlalchemy_url(url)).update_query_dict(
                {"options": f"-c TimeZone={zone}"}
            )
            monkeypatch.setenv("RMS_DATABASE_URL", engine_url.render_as_string(hide_password=False))

        def report(
            self, case: str, modified: dt.datetime, victims: int = 1, consent: dt.datetime | None = None
        ):
            with psycopg.connect(url) as conn:
                conn.execute("DELETE FROM reports WHERE case_no = %s", (case,))
                conn.execute("DELETE FROM victims WHERE case_no = %s", (case,))
                conn.execute(
                    "INSERT INTO reports VALUES (%s, %s, '1', 'Ana Ruiz', 'open', %s)",
                    (case, modified, modified),
                )
                for seq in range(1, victims + 1):
                    conn.execute(
                        "INSERT INTO victims VALUES (%s, %s, 'individual', 'Cara', '520-555-0101', %s)",
                        (case, seq, consent),
                    )

    rms = Rms()
    rms.url = url
    rms.session_zone("UTC")
    return rms


def _staged_reports(url: str, batch_ids: list[int]) -> list[str]:
    with psycopg.connect(url) as conn:
        return [
            number
            for (number,) in conn.execute(
                "SELECT report_number FROM raw.incidents WHERE batch_id = ANY(%s) ORDER BY report_number",
                (batch_ids,),
            )
        ]


def _batches(run) -> list[int]:
    return [r.batch_id for r in run.results if r.batch_id]


@pytest.mark.parametrize("zone", ["UTC", "America/Los_Angeles", "Asia/Tokyo"])
def test_the_watermark_is_an_instant_and_late_commits_are_read_once(clean_db_url, rms, zone):
    rms.session_zone(zone)
    config = load_config()
    rms.report("A-1", T0)
    rms.report("A-2", T0 + dt.timedelta(hours=1))
    first = extract_sql(_extract(), config=config, url=clean_db_url)
    assert first.outcome == "advanced" and first.watermark == T0 + dt.timedelta(hours=1)
    assert _staged_reports(clean_db_url, _batches(first)) == ["A-1", "A-2"]

    # A-3 is committed late: its updated_at is before the newest one already read.
    rms.report("A-3", T0 + dt.timedelta(minutes=55))
    rms.report("A-4", T0 + dt.timedelta(hours=2))
    second = extract_sql(_extract(), config=config, url=clean_db_url)
    # Read from the watermark less 10 minutes, whatever zone the RMS session is in: A-2 again
    # (dropped, already loaded), the late A-3 and the new A-4; never hours of old changes.
    assert second.read_since == T0 + dt.timedelta(minutes=50)
    assert second.rows_read["incidents"] == 3 and second.rows_already_loaded == 2  # A-2 and its victim
    assert _staged_reports(clean_db_url, _batches(second)) == ["A-3", "A-4"]
    assert read_watermark(clean_db_url, "rms") == T0 + dt.timedelta(hours=2)

    third = extract_sql(_extract(), config=config, url=clean_db_url)
    assert third.outcome == "nothing_new" and third.results == [] and third.rows_already_loaded == 2


def test_without_overlap_a_late_commit_is_missed(clean_db_url, rms):
    """Why the overlap exists: the strict comparison with the newest updated_at skips a row the
    RMS committed after it was read."""
    config = load_config()
    rms.report("A-1", T0 + dt.timedelta(hours=1))
    extract_sql(_extract(overlap_minutes=0), config=config, url=clean_db_url)
    rms.report("A-late", T0 + dt.timedelta(minutes=58))
    late = extract_sql(_extract(overlap_minutes=0), config=config, url=clean_db_url)
    assert late.rows_read["incidents"] == 0
    with_overlap = extract_sql(_extract(), config=config, url=clean_db_url)
    assert _staged_reports(clean_db_url, _batches(with_overlap)) == ["A-late"]


def test_one_impossible_date_is_one_quarantined_row_not_a_lost_run(clean_db_url, rms):
    config = load_config()
    now = dt.datetime.now(dt.UTC)
    rms.report("B-1", T0, victims=3)
    rms.report("B-2", T0, victims=2, consent=now + dt.timedelta(days=30))  # the simulator makes these
    run = extract_sql(_extract(), config=config, url=clean_db_url)
    assert run.outcome == "advanced"
    persons = next(r for r in run.results if "persons" in r.tables)
    assert persons.expectations_passed is True
    assert (persons.tables["persons"].staged, persons.tables["persons"].quarantined) == (3, 2)
    with psycopg.connect(clean_db_url) as conn:
        reasons = {r for (r,) in conn.execute("SELECT reason FROM ops.quarantine")}
    assert reasons == {"consent_at is before 1990 or more than a day in the future"}


@pytest.mark.server
def test_a_held_run_keeps_its_watermark_and_the_fix_is_picked_up(clean_db_url, rms, tmp_path, monkeypatch):
    config = load_config()
    rms.report("C-1", T0)
    assert extract_sql(_extract(), config=config, url=clean_db_url).outcome == "advanced"
    # Every victim of the next report is unusable: the persons batch fails its expectations.
    rms.report("C-2", T0 + dt.timedelta(hours=3), victims=2, consent=dt.datetime(2199, 1, 1, tzinfo=dt.UTC))
    held = extract_sql(_extract(), config=config, url=clean_db_url)
    assert held.outcome == "held" and "failed their expectations" in held.reason
    assert read_watermark(clean_db_url, "rms") == T0  # not passed the held run

    # The command line says so, and exits non-zero (a scheduled run ends Failed the same way).
    agency = tmp_path / "agency.yaml"
    sql = f'extract:\n  sql:\n    queries:\n      incidents: "{INCIDENTS}"\n      persons: "{PERSONS}"\n'
    agency.write_text(SAMPLE_CONFIG.read_text().replace("extract:\n", sql, 1))
    monkeypatch.setenv("VNOTIFY_CONFIG", str(agency))
    monkeypatch.setenv("DATABASE_URL", clean_db_url)
    again = CliRunner().invoke(app, ["extract", "run"])
    assert again.exit_code == 1 and "held" in again.output
    status = CliRunner().invoke(app, ["extract", "status", "--json"])
    assert status.exit_code == 0 and '"held": true' in status.output

    # Fixed in the RMS (a new version): the next run reads it, loads it and moves on.
    rms.report("C-2", T0 + dt.timedelta(hours=4), victims=2)
    fixed = CliRunner().invoke(app, ["extract", "run", "--json"])
    assert fixed.exit_code == 0 and '"outcome": "advanced"' in fixed.output
    assert read_watermark(clean_db_url, "rms") == T0 + dt.timedelta(hours=4)
    # A replay from before everything loads nothing twice, and never moves the watermark back.
    replay = CliRunner().invoke(app, ["extract", "replay", "--since", "2025-01-01T00:00", "--json"])
    assert replay.exit_code == 0 and '"outcome": "nothing_new"' in replay.output
    assert read_watermark(clean_db_url, "rms") == T0 + dt.timedelta(hours=4)


@pytest.mark.server
def test_no_copy_of_victims_details_is_left_on_disk_by_default(clean_db_url, rms, monkeypatch, tmp_path):
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # where the run's private files go
    rms.report("D-1", T0)
    run = extract_sql(_extract(), config=load_config(), url=clean_db_url)
    assert run.outcome == "advanced" and run.audit_copy is None
    assert not [path for path in tmp_path.iterdir() if path.name.startswith("vnotify-extract-")]


def test_audit_copies_are_owner_only_only_when_something_changed_and_retention_removes_them(
    clean_db_url, rms, tmp_path
):
    folder = tmp_path / "rms-audit"
    extract = _extract(audit_copies=True, audit_folder=folder)
    config = load_config()
    config = config.model_copy(update={"extract": config.extract.model_copy(update={"sql": extract})})
    rms.report("E-1", T0)
    run = extract_sql(extract, config=config, url=clean_db_url)
    assert run.audit_copy is not None and run.audit_copy.parent == folder / "rms"
    for path in [folder, folder / "rms", run.audit_copy]:
        assert stat.S_IMODE(path.stat().st_mode) == 0o700
    for file in run.audit_copy.iterdir():
        assert stat.S_IMODE(file.stat().st_mode) == 0o600
    assert "Cara" in (run.audit_copy / "persons.csv").read_text()
    # Nothing changed: no new copy.
    assert extract_sql(extract, config=config, url=clean_db_url).audit_copy is None
    assert len(list((folder / "rms").iterdir())) == 1

    written = dt.datetime.strptime(run.audit_copy.name, "%Y%m%dT%H%M%S%fZ").replace(tzinfo=dt.UTC)
    days = config.agency.retention_days
    before = apply_retention(
        clean_db_url, config, now=written + dt.timedelta(days=days) - dt.timedelta(hours=1)
    )
    assert before.rows[AUDIT_COPIES] == 0 and run.audit_copy.exists()
    after = apply_retention(clean_db_url, config, now=written + dt.timedelta(days=days, hours=1))
    assert after.rows[AUDIT_COPIES] == 1 and not run.audit_copy.exists()


def test_audit_copies_must_be_kept_outside_the_checkout():
    from pydantic import ValidationError

    from vnotify.paths import REPO_ROOT

    with pytest.raises(ValidationError, match="outside the checkout"):
        _extract(audit_copies=True, audit_folder=REPO_ROOT / ".vnotify" / "audit")
    with pytest.raises(ValidationError, match="audit_folder"):
        _extract(audit_copies=True)


@pytest.mark.server
def test_config_check_connect_runs_each_query_once_read_only(rms, tmp_path, monkeypatch):
    import json

    rms.report("F-1", T0, victims=2)
    rms.report("F-2", T0)
    deleting = (
        "WITH gone AS (DELETE FROM reports RETURNING case_no) SELECT case_no AS report_number FROM gone"
    )
    sql = (
        "extract:\n  sql:\n    queries:\n"
        f'      incidents: "{INCIDENTS}"\n'
        f'      persons: "{PERSONS.replace("kind AS victim_type", "kind AS victim_kind")}"\n'
        f'      offenses: "{deleting}"\n'
    )
    agency = tmp_path / "agency.yaml"
    agency.write_text(SAMPLE_CONFIG.read_text().replace("extract:\n", sql, 1))
    monkeypatch.setenv("VNOTIFY_CONFIG", str(agency))
    monkeypatch.delenv("DATABASE_URL", raising=False)
    result = CliRunner().invoke(app, ["config", "check", "--connect", "--json"])
    assert result.exit_code == 1, result.output
    probes = {p["table"]: p for p in json.loads(result.output.strip().splitlines()[-1])["rms_queries"]}
    assert probes["incidents"]["rows"] == 2 and probes["incidents"]["missing"] == []
    assert "updated_at" in probes["incidents"]["columns"]
    assert probes["persons"]["rows"] == 3 and probes["persons"]["unknown"] == ["victim_kind"]
    assert probes["offenses"]["error"] is not None  # the read-only transaction refused the DELETE
    again = CliRunner().invoke(app, ["config", "check", "--connect", "--json"])
    assert json.loads(again.output.strip().splitlines()[-1])["rms_queries"][0]["rows"] == 2  # nothing deleted


CALLS = (
    "SELECT call_id AS call_number, case_no AS report_number, received AS received_at,"
    " 'theft' AS call_type, district AS division FROM calls WHERE received > :watermark"
)


@pytest.mark.server
def test_a_cad_call_read_again_by_the_overlap_is_loaded_once(clean_db_url, rms):
    config = load_config()
    rms.report("D-1", T0)
    rms.report("D-2", T0 + dt.timedelta(hours=1))
    with psycopg.connect(rms.url) as conn:
        conn.execute("CREATE TABLE calls (call_id text, case_no text, received timestamptz, district text)")
        conn.execute("INSERT INTO calls VALUES ('C-9', 'D-2', %s, '1')", (T0 + dt.timedelta(hours=1),))
    queries = {"incidents": INCIDENTS, "persons": PERSONS, "cad_calls": CALLS}
    first = extract_sql(SqlExtract(name="rms", queries=queries), config=config, url=clean_db_url)
    assert first.outcome == "advanced" and first.rows_read["cad_calls"] == 1

    # The overlap reads D-2, its victim and its call again: all three are dropped as loaded.
    rms.report("D-3", T0 + dt.timedelta(hours=2))
    second = extract_sql(SqlExtract(name="rms", queries=queries), config=config, url=clean_db_url)
    assert second.rows_read["cad_calls"] == 1 and second.rows_already_loaded == 3
    with psycopg.connect(clean_db_url) as conn:
        (copies,) = conn.execute("SELECT count(*) FROM raw.cad_calls WHERE call_number = 'C-9'").fetchone()
    assert copies == 1
