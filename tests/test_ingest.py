"""Ingest of contract exports: exactly once, nothing lost, bad rows quarantined, bad files rejected."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import psycopg
import pytest

from ingest.adapters.contract_csv import ContractCsvSource
from ingest.adapters.contract_jsonl import ContractJsonlSource
from ingest.loader import load_source
from ingest.run import ingest_path

ZONE = "America/Phoenix"
INCIDENT_HEADER = (
    "report_number,agency_ori,reported_at,occurred_at,division,beat,officer_id,officer_name,"
    "case_status,domestic_violence,updated_at\n"
)


def _rows(url: str, query: str, *params) -> list[tuple]:
    with psycopg.connect(url) as conn:
        return conn.execute(query, params).fetchall()


def _write(path: Path, text: str | bytes) -> Path:
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    return path


def _incident(number: str, updated: str, status: str = "open", officer: str = "Ana Ruiz") -> str:
    return f"{number},AZ0109900,2025-03-04T14:22:00,,WEST,101,77,{officer},{status},N,{updated}\n"


def _raw_count(url: str, table: str, batch_id: int) -> int:
    return _rows(url, f"SELECT count(*) FROM raw.{table} WHERE batch_id = %s", batch_id)[0][0]


def test_generated_agency_lands_with_every_row_accounted_for(clean_db_url, small_agency):
    results = ingest_path(small_agency, "contract-csv", url=clean_db_url)
    assert [r.status for r in results] == ["loaded"] * 4
    for result in results:
        for table, counts in result.tables.items():
            assert counts.read == counts.staged + counts.quarantined
            assert _raw_count(clean_db_url, table, result.batch_id) == counts.staged
            with (small_agency / f"{table}.csv").open(newline="") as handle:
                assert counts.read == sum(1 for _ in csv.reader(handle)) - 1
    by_table = {t: c for r in results for t, c in r.tables.items()}
    # The generator's only contract violation is a missing officer name.
    reasons = _rows(clean_db_url, "SELECT DISTINCT table_name, reason FROM ops.quarantine")
    assert reasons in ([], [("incidents", "officer_name is required")])
    assert by_table["persons"].quarantined == 0
    batches = _rows(
        clean_db_url, "SELECT status, rows_read, rows_staged + rows_quarantined FROM ops.ingest_batches"
    )
    assert all(status == "loaded" and read == total for status, read, total in batches)


def test_reingesting_the_same_files_is_a_no_op(clean_db_url, small_agency):
    first = ingest_path(small_agency, "contract-csv", url=clean_db_url)
    before = _rows(clean_db_url, "SELECT count(*) FROM raw.persons")[0][0]
    second = ingest_path(small_agency, "contract-csv", url=clean_db_url)
    assert [r.status for r in second] == ["no_op"] * 4
    assert [r.batch_id for r in second] == [r.batch_id for r in first]
    assert _rows(clean_db_url, "SELECT count(*) FROM raw.persons")[0][0] == before
    assert _rows(clean_db_url, "SELECT count(*) FROM ops.ingest_batches")[0][0] == 4


def test_a_newer_re_export_supersedes_and_an_older_one_does_not(clean_db_url, tmp_path):
    first = load_source(
        ContractCsvSource(
            _write(
                _mkdir(tmp_path / "a") / "incidents.csv",
                INCIDENT_HEADER + _incident("R-1", "2025-03-04T15:00:00"),
            )
        ),
        clean_db_url,
        ZONE,
    )
    newer = load_source(
        ContractCsvSource(
            _write(
                _mkdir(tmp_path / "b") / "incidents.csv",
                INCIDENT_HEADER + _incident("R-1", "2025-03-06T09:00:00", status="cleared_arrest"),
            )
        ),
        clean_db_url,
        ZONE,
    )
    older = load_source(
        ContractCsvSource(
            _write(
                _mkdir(tmp_path / "c") / "incidents.csv",
                INCIDENT_HEADER + _incident("R-1", "2025-03-05T09:00:00", status="suspended"),
            )
        ),
        clean_db_url,
        ZONE,
    )
    assert (first.reports_new, newer.reports_superseded, older.reports_superseded) == (1, 1, 0)
    current = _rows(
        clean_db_url,
        """SELECT r.case_status, v.versions FROM ops.report_versions v
           JOIN raw.incidents r USING (batch_id, row_number) WHERE v.report_number = 'R-1'""",
    )
    assert current == [("cleared_arrest", 2)]
    # History is kept: all three versions stay in raw.
    assert _rows(clean_db_url, "SELECT count(*) FROM raw.incidents WHERE report_number = 'R-1'")[0][0] == 3


def test_a_re_export_in_the_same_file_keeps_the_newest(clean_db_url, tmp_path):
    text = (
        INCIDENT_HEADER
        + _incident("R-2", "2025-03-07T10:00:00", status="closed")
        + _incident("R-2", "2025-03-04T15:00:00")
    )
    result = load_source(ContractCsvSource(_write(tmp_path / "incidents.csv", text)), clean_db_url, ZONE)
    assert result.tables["incidents"].staged == 2
    assert _rows(
        clean_db_url,
        "SELECT r.case_status FROM ops.report_versions v JOIN raw.incidents r USING (batch_id, row_number)",
    ) == [("closed",)]


def _mkdir(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"", "empty file"),
        (INCIDENT_HEADER.replace(",", ";").encode() + b"R-1;x\n", "wrong delimiter"),
        (
            INCIDENT_HEADER.replace("officer_name,", "").encode(),
            "missing required column(s) for incidents: officer_name",
        ),
        (
            INCIDENT_HEADER.encode()
            + _incident("R-1", "2025-03-04T15:00:00").encode()
            + b"R-2,\xff\xfe,bad\n",
            "not UTF-8",
        ),
        (INCIDENT_HEADER.replace("beat", "division").encode(), "named twice"),
    ],
    ids=["empty", "semicolons", "missing-column", "latin1-bytes", "duplicate-column"],
)
def test_a_bad_file_is_rejected_whole_and_loads_nothing(clean_db_url, tmp_path, content, expected):
    result = load_source(ContractCsvSource(_write(tmp_path / "incidents.csv", content)), clean_db_url, ZONE)
    assert result.status == "rejected"
    assert expected in result.reason and "incidents.csv" in result.reason
    assert _rows(clean_db_url, "SELECT count(*) FROM raw.incidents")[0][0] == 0
    assert _rows(clean_db_url, "SELECT count(*) FROM ops.quarantine")[0][0] == 0
    assert _rows(clean_db_url, "SELECT status, rejection_reason FROM ops.ingest_batches") == [
        ("rejected", result.reason)
    ]


@pytest.mark.server
def test_bad_rows_are_quarantined_with_column_and_reason_but_no_values(clean_db_url, tmp_path):
    text = (
        INCIDENT_HEADER
        + _incident("R-1", "2025-03-04T15:00:00")
        + "R-2,AZ0109900,yesterday,,WEST,1,2,Zebulon Quartz,open,N,2025-03-04T15:00:00\n"
        + "R-3,AZ0109900,2025-02-30T10:00:00,,WEST,1,2,Zebulon Quartz,mystery,N,2025-03-04T15:00:00\n"
        + "R-4,too,few,fields\n"
        + _incident("R-1", "2025-03-04T15:00:00")
    )
    result = load_source(ContractCsvSource(_write(tmp_path / "incidents.csv", text)), clean_db_url, ZONE)
    counts = result.tables["incidents"]
    assert (counts.read, counts.staged, counts.quarantined) == (5, 1, 4)
    quarantined = _rows(
        clean_db_url,
        "SELECT row_number, column_name, reason, raw_row FROM ops.quarantine ORDER BY row_number",
    )
    assert [(row, column) for row, column, _, _ in quarantined] == [
        (2, "reported_at"),
        (3, "reported_at"),
        (4, None),
        (5, "report_number"),
    ]
    reasons = [reason for _, _, reason, _ in quarantined]
    assert reasons[1] == "reported_at is not an ISO 8601 date-time; case_status is not one of: " + (
        "open, suspended, cleared_arrest, cleared_exceptional, unfounded, closed"
    )
    assert reasons[2] == "row has 4 fields; the header has 11"
    assert reasons[3].startswith("duplicate of row 1")
    assert not any("Zebulon" in reason for reason in reasons)
    assert quarantined[0][3]["officer_name"] == "Zebulon Quartz"  # the raw row is kept for review


def test_unknown_columns_are_kept_in_extra(clean_db_url, tmp_path):
    text = (
        INCIDENT_HEADER.rstrip("\n")
        + ",shift\n"
        + _incident("R-9", "2025-03-04T15:00:00").rstrip("\n")
        + ",B\n"
    )
    result = load_source(ContractCsvSource(_write(tmp_path / "incidents.csv", text)), clean_db_url, ZONE)
    assert result.tables["incidents"].staged == 1
    assert _rows(clean_db_url, "SELECT extra FROM raw.incidents") == [({"shift": "B"},)]


def test_a_byte_order_mark_and_crlf_line_ends_are_accepted(clean_db_url, tmp_path):
    text = ("\ufeff" + INCIDENT_HEADER + _incident("R-5", "2025-03-04T15:00:00")).replace("\n", "\r\n")
    result = load_source(ContractCsvSource(_write(tmp_path / "incidents.csv", text)), clean_db_url, ZONE)
    assert result.tables["incidents"].staged == 1
    assert _rows(clean_db_url, "SELECT report_number, updated_at FROM raw.incidents") == [
        ("R-5", "2025-03-04T15:00:00")
    ]


def test_nibrs_delete_needs_only_the_report_number(clean_db_url):
    from ingest.records import Record, StaticSource

    source = StaticSource(
        "nibrs-xml",
        "deletes",
        [
            Record(
                "incidents", 1, {"report_number": "R-7", "updated_at": "2025-04-01T00:00:00"}, action="delete"
            )
        ],
    )
    result = load_source(source, clean_db_url, ZONE)
    assert result.tables["incidents"].staged == 1
    assert _rows(clean_db_url, "SELECT deleted FROM ops.report_versions WHERE report_number = 'R-7'") == [
        (True,)
    ]


def test_json_lines_nest_offenses_and_persons(clean_db_url, tmp_path):
    incident = {
        "report_number": "J-1",
        "reported_at": "2025-03-04T14:22:00",
        "division": "2",
        "officer_name": "Ana Ruiz",
        "updated_at": "2025-03-04T15:00:00",
        "domestic_violence": False,
        "offenses": [{"offense_seq": 1, "nibrs_code": "23F"}, {"offense_seq": 2, "nibrs_code": "290"}],
        "persons": [{"person_seq": 1, "role": "victim", "victim_type": "individual", "offense_seqs": [1, 2]}],
        "shift": "night",
    }
    lines = [
        json.dumps(incident),
        "{not json",
        json.dumps({"call_number": "C-1", "received_at": "2025-03-04T14:00:00"}),
    ]
    path = _write(tmp_path / "export.jsonl", "\n".join(lines) + "\n")
    result = load_source(ContractJsonlSource(path), clean_db_url, ZONE)
    assert {t: (c.read, c.staged, c.quarantined) for t, c in result.tables.items()} == {
        "incidents": (2, 1, 1),
        "offenses": (2, 2, 0),
        "persons": (1, 1, 0),
        "cad_calls": (1, 1, 0),
    }
    assert _rows(clean_db_url, "SELECT domestic_violence, extra FROM raw.incidents") == [
        ("N", {"shift": "night"})
    ]
    assert _rows(clean_db_url, "SELECT offense_seqs FROM raw.persons") == [("1 2",)]


def test_a_rejected_file_in_a_folder_does_not_stop_the_others(clean_db_url, small_agency, tmp_path):
    folder = tmp_path / "drop"
    shutil.copytree(small_agency, folder)
    _write(folder / "offenses.csv", b"")
    results = {Path(r.source).name: r.status for r in ingest_path(folder, "contract-csv", url=clean_db_url)}
    assert results == {
        "incidents.csv": "loaded",
        "offenses.csv": "rejected",
        "persons.csv": "loaded",
        "cad_calls.csv": "loaded",
    }


def test_one_unbalanced_quote_rejects_the_file_instead_of_hiding_the_rest(clean_db_url, tmp_path):
    header = "report_number,reported_at,division,officer_name,updated_at\n"
    rows = [f"R-{n},2025-03-04T10:00:00,WEST,Officer {n},2025-03-04T11:00:00\n" for n in range(1000)]
    rows[2] = 'R-2,2025-03-04T10:00:00,WEST,"Smith, J.,2025-03-04T11:00:00\n'  # the quote never closes
    path = _write(tmp_path / "incidents.csv", header + "".join(rows))
    result = load_source(ContractCsvSource(path), clean_db_url, ZONE)
    assert result.status == "rejected"
    assert "line 4" in result.reason and "check the quotes" in result.reason
    assert "Smith" not in result.reason
    assert _rows(clean_db_url, "SELECT count(*) FROM raw.incidents") == [(0,)]
    # Nothing of it counts as loaded: the corrected file (and the same one, once fixed) is read.
    rows[2] = 'R-2,2025-03-04T10:00:00,WEST,"Smith, J.",2025-03-04T11:00:00\n'
    fixed = load_source(
        ContractCsvSource(_write(tmp_path / "incidents.csv", header + "".join(rows))), clean_db_url, ZONE
    )
    assert fixed.status == "loaded" and fixed.tables["incidents"].staged == 1000


def test_a_real_multi_line_value_still_loads(clean_db_url, tmp_path):
    text = (
        "report_number,person_seq,role,victim_type,first_name,last_name\n"
        'R-1,1,victim,individual,Ana,"Ruiz\nde la Cruz"\n'
        "R-1,2,witness,,Bo,Lee\n"
    )
    result = load_source(ContractCsvSource(_write(tmp_path / "persons.csv", text)), clean_db_url, ZONE)
    assert result.status == "loaded" and result.tables["persons"].staged == 2
