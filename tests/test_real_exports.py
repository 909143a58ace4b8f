"""What real exports did to the warehouse, each reproduced (issue 15), and the onboarding tools a
data engineer meets first: `vnotify ingest` per table, `mapping check`, `quarantine`, the
eligibility summary, and a database that is ready on first use."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import psycopg
import pytest
from typer.testing import CliRunner

from tests.issue9_support import (
    build,
    incident,
    load,
    offense,
    person,
    query,
    victim_key,
    write_export,
)
from vnotify.cli import app
from vnotify.config import load_config

runner = CliRunner()
CONFIG = load_config()
EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "mappings"
AS_OF = "2025-10-09T18:00:00+00:00"


def _last_json(output: str) -> dict:
    return json.loads(output.strip().splitlines()[-1])


def _due(url: str) -> list[dict]:
    return query(url, "SELECT report_number, person_seq, phone_e164 FROM restricted.notifications_due")


# --- 1. an older export arriving after a newer one -----------------------------------------


def _versions(tmp_path: Path) -> tuple[Path, Path]:
    """R100: version 2 (Oct 9, 23H and 11A) and version 1 (Oct 8, 23H only, another phone)."""
    newer = write_export(
        tmp_path / "v2",
        incidents=[incident("R100", reported_at="2025-10-08T09:00:00", updated_at="2025-10-09T08:00:00")],
        offenses=[offense("R100", "23H", 1), offense("R100", "11A", 2)],
        persons=[person("R100", 1, "Ana", "Reyes", phone="520-555-0141", phone_type="mobile")],
    )
    older = write_export(
        tmp_path / "v1",
        incidents=[incident("R100", reported_at="2025-10-08T09:00:00", updated_at="2025-10-08T10:00:00")],
        offenses=[offense("R100", "23H", 1)],
        persons=[person("R100", 1, "Ana", "Reyes", phone="520-555-0177", phone_type="mobile")],
    )
    return newer, older


def test_an_older_export_arriving_after_a_newer_one_does_not_win(clean_db_url, tmp_path):
    newer, older = _versions(tmp_path)
    load(clean_db_url, newer, CONFIG)
    load(clean_db_url, older, CONFIG)
    build(clean_db_url, CONFIG, as_of=AS_OF)
    assert {r["offense_code"] for r in query(clean_db_url, "SELECT * FROM staging.stg_rms__offenses")} == {
        "23H",
        "11A",
    }
    (victim,) = query(clean_db_url, "SELECT phone_e164 FROM staging.stg_rms__persons")
    assert victim["phone_e164"] == "+15205550141"
    (decision,) = query(
        clean_db_url,
        "SELECT is_eligible, reasons FROM marts.fct_eligibility_decisions WHERE victim_key = %s",
        victim_key("R100", 1),
    )
    assert decision["is_eligible"] is False and "sensitive_offense" in decision["reasons"]
    assert _due(clean_db_url) == []


def test_a_newer_version_with_a_quarantined_incident_holds_its_victims(clean_db_url, tmp_path):
    _newer, older = _versions(tmp_path)
    load(clean_db_url, older, CONFIG)
    # The newer version's incident has no officer name (the contract requires one).
    broken = write_export(
        tmp_path / "v2-broken",
        incidents=[
            incident(
                "R100", reported_at="2025-10-08T09:00:00", updated_at="2025-10-09T08:00:00", officer_name=""
            ),
            incident("R200", reported_at="2025-10-08T09:00:00", updated_at="2025-10-09T08:00:00"),
        ],
        offenses=[offense("R100", "23H", 1), offense("R200", "23H", 1)],
        persons=[
            person("R100", 1, "Ana", "Reyes", phone="520-555-0141", phone_type="mobile"),
            person("R200", 1, "Luis", "Soto", phone="520-555-0142", phone_type="mobile"),
        ],
    )
    load(clean_db_url, broken, CONFIG)
    build(clean_db_url, CONFIG, as_of=AS_OF)
    reasons = {
        r["report_number"]: r["reasons"]
        for r in query(
            clean_db_url, "SELECT report_number, reasons FROM intermediate.int_victims__eligibility_evaluated"
        )
    }
    assert "newer_version_quarantined" in reasons["R100"]
    assert reasons["R200"] == []  # the delivery's other report is whole
    assert [(r["report_number"], r["person_seq"]) for r in _due(clean_db_url)] == [("R200", 1)]


def test_a_cad_call_comes_from_the_newest_version_of_its_report(clean_db_url, tmp_path):
    from tests.issue9_support import call

    def version(name: str, updated_at: str, caller_phone: str) -> Path:
        return write_export(
            tmp_path / name,
            incidents=[incident("R700", reported_at="2025-10-08T09:00:00", updated_at=updated_at)],
            offenses=[offense("R700")],
            persons=[person("R700", 1, "Ana", "Reyes")],
            cad_calls=[call("C700", "R700", "REYES, ANA", caller_phone)],
        )

    load(clean_db_url, version("v2", "2025-10-09T08:00:00", "520-555-0160"), CONFIG)
    load(clean_db_url, version("v1", "2025-10-08T10:00:00", "520-555-0161"), CONFIG)
    build(clean_db_url, CONFIG, as_of=AS_OF)
    (call_row,) = query(clean_db_url, "SELECT caller_phone_e164 FROM staging.stg_rms__cad_calls")
    assert call_row["caller_phone_e164"] == "+15205550160"


# --- 2. victims without names ----------------------------------------------------------------


def test_three_nameless_victims_get_three_decisions(clean_db_url, tmp_path):
    nameless = [
        person("R300", seq, "", "", age=age, email=f"v{seq}@example.org")
        for seq, age in ((1, "25"), (2, "25"), (3, "40"))
    ]
    export = write_export(
        tmp_path / "export",
        incidents=[incident("R300", reported_at="2025-10-08T09:00:00", updated_at="2025-10-08T10:00:00")],
        offenses=[offense("R300")],
        persons=nameless,
    )
    load(clean_db_url, export, CONFIG)
    build(clean_db_url, CONFIG, as_of=AS_OF)
    decisions = query(clean_db_url, "SELECT victim_key FROM marts.fct_eligibility_decisions")
    assert sorted(d["victim_key"] for d in decisions) == sorted(victim_key("R300", seq) for seq in (1, 2, 3))


# --- 4. every batch is checked on every path --------------------------------------------------


def test_ingest_then_transform_by_hand_checks_every_batch(clean_db_url, tmp_path):
    newer, _older = _versions(tmp_path)
    result = runner.invoke(app, ["ingest", str(newer), "--json"])
    assert result.exit_code == 0, result.output
    batches = _last_json(result.output)["batches"]
    assert [b["expectations_passed"] for b in batches] == [True, True, True]
    with psycopg.connect(clean_db_url) as conn:
        verdicts = conn.execute("SELECT expectations_passed FROM ops.ingest_batches").fetchall()
    assert verdicts == [(True,)] * 3

    # A batch landed without its check (an older release, a crash) is checked by transform.
    load_unchecked = tmp_path / "unchecked"
    write_export(
        load_unchecked,
        incidents=[incident("R400", reported_at="2025-10-08T09:00:00", updated_at="2025-10-08T10:00:00")],
    )
    from ingest.run import ingest_path

    ingest_path(load_unchecked, "contract-csv", url=clean_db_url, config=CONFIG, check=False)
    result = runner.invoke(app, ["transform", "--as-of", AS_OF, "--json"])
    assert result.exit_code == 0, result.output
    with psycopg.connect(clean_db_url) as conn:
        assert conn.execute(
            "SELECT count(*) FROM ops.ingest_batches WHERE expectations_passed IS NULL"
        ).fetchone() == (0,)
    summary = _last_json(result.output)["eligibility"]
    assert summary["decided"] == 1 and summary["eligible"] == 0
    assert {r["reason"] for r in summary["reasons"]} >= {"sensitive_offense"}


def test_a_table_with_nothing_staged_fails_its_batch_and_holds_the_delivery(clean_db_url, tmp_path):
    export = write_export(
        tmp_path / "export",
        incidents=[
            incident(
                f"R5{n}", reported_at="2025-10-08T09:00:00", updated_at="2025-10-08T10:00:00", officer_name=""
            )
            for n in range(3)
        ],
        offenses=[offense(f"R5{n}") for n in range(3)],
        persons=[person(f"R5{n}", 1, "Ana", "Reyes", phone="520-555-0141") for n in range(3)],
    )
    result = runner.invoke(app, ["ingest", str(export)])
    assert result.exit_code == 4, result.output
    assert "officer_name is required" in result.output and "held" in result.output
    build(clean_db_url, CONFIG, as_of=AS_OF)
    assert query(clean_db_url, "SELECT * FROM staging.stg_rms__persons") == []
    assert query(clean_db_url, "SELECT * FROM staging.stg_rms__offenses") == []
    held = query(
        clean_db_url,
        "SELECT report_number FROM staging.stg_rms__report_versions WHERE is_newest_version_held",
    )
    assert sorted(r["report_number"] for r in held) == ["R50", "R51", "R52"]


def test_too_much_quarantined_fails_the_batch_at_the_configured_share(clean_db_url, tmp_path):
    from ingest.run import ingest_path

    rows = [
        incident(f"R6{n}", reported_at="2025-10-08T09:00:00", updated_at="2025-10-08T10:00:00")
        for n in range(4)
    ]
    rows[0]["officer_name"] = ""  # a quarter quarantined
    (batch,) = ingest_path(
        write_export(tmp_path / "a", incidents=rows), "contract-csv", url=clean_db_url, config=CONFIG
    )
    assert batch.expectations_passed is True
    strict = CONFIG.model_copy(
        update={"ingest": CONFIG.ingest.model_copy(update={"max_quarantined_share": 0.2})}
    )
    rows[1]["report_number"] = "R6-other"  # new content, same shape
    (batch,) = ingest_path(
        write_export(tmp_path / "b", incidents=rows), "contract-csv", url=clean_db_url, config=strict
    )
    assert batch.expectations_passed is False
    assert any("vnotify_quarantined_share_at_most" in line for line in batch.expectations_failed)


# --- 5. ambiguous dates through the command -----------------------------------------------------


def test_a_day_first_export_under_a_month_first_mapping_is_rejected_by_ingest(clean_db_url, tmp_path):
    sample = (EXAMPLES / "city-open-data-sample.csv").read_text()
    # Rewrite every date of the sample day-first (03/13 -> 13/03 and the like).
    import re

    swapped = re.sub(r"\b(\d{2})/(\d{2})/(\d{4})", lambda m: f"{m[2]}/{m[1]}/{m[3]}", sample)
    swapped = swapped.replace("04/03/2025", "14/03/2025", 1)  # one date that fits only day-first
    export = tmp_path / "export.csv"
    export.write_text(swapped)
    result = runner.invoke(
        app,
        [
            "ingest",
            str(export),
            "--format",
            "mapped",
            "--mapping",
            str(EXAMPLES / "city-open-data.yaml"),
            "--json",
        ],
    )
    assert result.exit_code == 3, result.output
    (batch,) = _last_json(result.output)["batches"]
    assert batch["status"] == "rejected" and "day and month swapped" in batch["reason"]
    assert "%d/%m/%Y" in batch["reason"]
    with psycopg.connect(clean_db_url) as conn:
        assert conn.execute("SELECT count(*) FROM raw.incidents").fetchone() == (0,)


# --- 7. the onboarding tools -------------------------------------------------------------------------


def test_mapping_check_shows_records_formats_and_warnings_without_loading(clean_db_url, tmp_path):
    result = runner.invoke(
        app,
        [
            "mapping",
            "check",
            str(EXAMPLES / "city-open-data-sample.csv"),
            "--mapping",
            str(EXAMPLES / "city-open-data.yaml"),
            "--rows",
            "3",
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    check = _last_json(result.output)
    assert check["would_load"] is True and check["source_rows"] == 30
    assert len(check["first_records"]) == 3 and check["first_records"][0]["table"] == "incidents"
    assert check["tables"]["incidents"] == {
        "records": 17,
        "would_quarantine": 2,
        "reasons": [
            {"reason": "division is required", "records": 1},
            {"reason": "reported_at is not an ISO 8601 date-time", "records": 1},
        ],
        "unmapped_columns": ["assigned_detective"],
    }
    assert {f["format"] for f in check["date_formats"]} == {"%m/%d/%Y %I:%M:%S %p", "%m/%d/%Y %H:%M"}
    assert check["unused_source_columns"] == ["Block Address"]
    with psycopg.connect(clean_db_url) as conn:
        assert conn.execute("SELECT count(*) FROM ops.ingest_batches").fetchone() == (0,)

    unchecked = tmp_path / "unchecked.yaml"
    unchecked.write_text(
        (EXAMPLES / "city-open-data.yaml").read_text().replace(", date_format_checked: true", "")
    )
    early = tmp_path / "early.csv"
    early.write_text(
        "".join((EXAMPLES / "city-open-data-sample.csv").read_text().splitlines(keepends=True)[:5])
    )
    result = runner.invoke(app, ["mapping", "check", str(early), "--mapping", str(unchecked), "--rows", "0"])
    assert result.exit_code == 3
    assert "would reject the file" in result.output and "date_format_checked: true" in result.output


def test_quarantine_list_and_show_name_reasons_and_hide_values(clean_db_url, tmp_path):
    export = shutil.copy(EXAMPLES / "city-open-data-sample.csv", tmp_path / "export.csv")
    result = runner.invoke(
        app, ["ingest", str(export), "--format", "mapped", "--mapping", str(EXAMPLES / "city-open-data.yaml")]
    )
    assert result.exit_code == 0, result.output
    assert "why rows were quarantined" in result.output and "division is required" in result.output

    listed = _last_json(runner.invoke(app, ["quarantine", "list", "--json"]).output)["rows"]
    assert {r["reason"] for r in listed} == {
        "division is required",
        "reported_at is not an ISO 8601 date-time",
    }
    only = _last_json(runner.invoke(app, ["quarantine", "list", "--reason", "DIVISION", "--json"]).output)[
        "rows"
    ]
    assert len(only) == 1
    shown = runner.invoke(app, ["quarantine", "show", str(only[0]["quarantine_id"])])
    assert shown.exit_code == 0 and "division is required" in shown.output
    assert "25-003109" not in shown.output and "--show-values" in shown.output
    values = runner.invoke(app, ["quarantine", "show", str(only[0]["quarantine_id"]), "--show-values"])
    assert "25-003109" in values.output
    missing = runner.invoke(app, ["quarantine", "show", "999999"])
    assert missing.exit_code == 1 and "quarantine list" in missing.output


@pytest.mark.server
def test_a_summary_says_when_no_victim_can_be_reached(clean_db_url):
    result = runner.invoke(
        app, ["ingest", str(Path(__file__).parent / "data" / "nibrs-cde-2021"), "--format", "nibrs-cde"]
    )
    assert result.exit_code == 0, result.output
    result = runner.invoke(app, ["transform", "--as-of", "2021-03-20T12:00:00+00:00"])
    assert result.exit_code == 0, result.output
    assert "14 victims decided, 0 eligible" in result.output
    assert "No victim has a phone number or e-mail address" in result.output
    dry = runner.invoke(app, ["send", "--dry-run", "--json"])
    assert dry.exit_code == 0, dry.output
    assert _last_json(dry.output)["eligibility"]["without_contact"] == 14


# --- 6. the first command after `make demo` ----------------------------------------------------


@pytest.mark.skipif(bool(os.environ.get("VNOTIFY_TEST_SKIP_EMBEDDED")), reason="no embedded server here")
def test_a_command_on_a_new_embedded_database_migrates_it_first(tmp_path, monkeypatch, small_agency):
    monkeypatch.setenv("VNOTIFY_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("DATABASE_URL", raising=False)
    try:
        result = runner.invoke(app, ["ingest", str(small_agency / "incidents.csv"), "--json"])
        assert result.exit_code == 0, result.output
        assert "migrating the embedded database" in result.output
        assert _last_json(result.output)["batches"][0]["status"] == "loaded"
    finally:
        runner.invoke(app, ["db", "stop"])


def test_a_command_on_an_unmigrated_server_says_what_to_run(fresh_database, monkeypatch, small_agency):
    monkeypatch.setenv("DATABASE_URL", fresh_database())
    result = runner.invoke(app, ["ingest", str(small_agency / "incidents.csv")])
    assert result.exit_code == 2
    assert "run `vnotify db migrate`" in result.output
    assert "Traceback" not in result.output
