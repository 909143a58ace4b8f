"""The Great Expectations checkpoints on ingest batches (expectations/).

Every test loads batches of its own (distinct seeds or report numbers, so content hashes never
collide with other tests on the shared `db_url` database) and breaks them, when it does, by
writing to the batch's landed rows or its record directly, behind the loader's back.
"""

from __future__ import annotations

import datetime as dt
import filecmp
import json
import shutil
import socket
import time
from pathlib import Path

import psycopg
import pytest
import yaml

from expectations import DATA_DOCS_INDEX, PROJECT_DIR
from expectations.run import ValidationOutcome, _context, validate_batch
from ingest.adapters.contract_csv import ContractCsvSource
from ingest.loader import load_source
from ingest.records import CONTRACT_TABLES, Record, Source, StaticSource

TIME_ZONE = "America/Phoenix"
PLANTED = "Zebulon"  # a value that must never reach a summary, a stored result or Data Docs


def _agency(out_dir: Path, seed: int) -> Path:
    from simulate.agency import generate_agency
    from vnotify.config import load_config

    generate_agency(
        load_config(), months=1, scale=0.05, seed=seed, start=dt.date(2025, 3, 1), out_dir=out_dir
    )
    return out_dir


def _load(url: str, source: Source) -> int:
    result = load_source(source, url, TIME_ZONE)
    assert result.status == "loaded", result.reason
    assert result.batch_id is not None
    return result.batch_id


def _load_table(url: str, out_dir: Path, seed: int, table: str) -> int:
    return _load(url, ContractCsvSource(_agency(out_dir, seed) / f"{table}.csv"))


def _recorded(url: str, batch_id: int) -> tuple[bool | None, dict | None]:
    with psycopg.connect(url) as conn:
        row = conn.execute(
            "SELECT expectations_passed, expectations_summary FROM ops.ingest_batches WHERE batch_id = %s",
            (batch_id,),
        ).fetchone()
    assert row is not None
    return row[0], row[1]


def _execute(url: str, statement: str, params: dict) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(statement, params)


def _count_one_more_staged(url: str, batch_id: int, table: str) -> None:
    """Keep the batch record reconciled after planting a row, so only the planted problem fails."""
    _execute(
        url,
        """
        UPDATE ops.ingest_batches
        SET table_counts = jsonb_set(table_counts, ARRAY[%(table)s, 'staged'],
                                     to_jsonb((table_counts #>> ARRAY[%(table)s, 'staged'])::int + 1))
        WHERE batch_id = %(batch_id)s
        """,
        {"table": table, "batch_id": batch_id},
    )


def _failures(outcome: ValidationOutcome, table: str) -> set[tuple[str, str | None]]:
    return {(f.expectation, f.column) for f in outcome.tables[table].failed}


def test_clean_generated_batches_pass_and_are_recorded(db_url: str, tmp_path: Path) -> None:
    files = _agency(tmp_path, seed=101)
    seconds: list[float] = []
    for table in CONTRACT_TABLES:
        batch_id = _load(db_url, ContractCsvSource(files / f"{table}.csv"))
        started = time.perf_counter()
        outcome = validate_batch(batch_id, db_url)
        seconds.append(time.perf_counter() - started)

        assert outcome.success, outcome
        assert set(outcome.tables) == {table}  # a CSV batch loads one table; only it is validated
        assert outcome.tables[table].evaluated >= 7
        assert outcome.tables[table].failed == ()
        passed, summary = _recorded(db_url, batch_id)
        assert passed is True
        assert summary["tables"][table] == {
            "success": True,
            "evaluated": outcome.tables[table].evaluated,
            "failed": [],
        }
    # The first call opens GX (an import of several seconds); after that a batch is quick.
    assert max(seconds[1:]) < 10, seconds


def test_batch_of_several_tables_validates_each_table_it_loaded(db_url: str) -> None:
    incident = {
        "report_number": "GX-MULTI-1",
        "reported_at": "2025-03-02T10:00:00",
        "division": "MID",
        "officer_name": "Jane Morris",
        "case_status": "Open",  # the contract accepts any case
        "updated_at": "2025-03-02T11:00:00",
    }
    victim = {
        "report_number": "GX-MULTI-1",
        "person_seq": "1",
        "role": " VICTIM ",
        "victim_type": "individual",
    }
    source = StaticSource(
        "contract-jsonl",
        "gx-multi-table",
        [Record("incidents", 1, incident), Record("persons", 1, victim)],
    )
    outcome = validate_batch(_load(db_url, source))  # url from DATABASE_URL, as flows call it

    assert outcome.success, outcome
    assert set(outcome.tables) == {"incidents", "persons"}


def test_nibrs_batch_without_officer_names_or_deleted_details_passes(db_url: str) -> None:
    live = {
        "report_number": "GX-NIBRS-1",
        "reported_at": "2025-03-03T00:00:00",
        "division": "SOUTH",
        "updated_at": "2025-03-04T00:00:00",
    }
    deleted = {"report_number": "GX-NIBRS-2", "updated_at": "2025-03-04T00:00:00"}
    source = StaticSource(
        "nibrs-xml",
        "gx-nibrs",
        [Record("incidents", 1, live), Record("incidents", 2, deleted, action="delete")],
        unavailable_columns=frozenset({"officer_name"}),
    )
    outcome = validate_batch(_load(db_url, source), db_url, build_docs=False)

    assert outcome.success, outcome
    assert outcome.data_docs_path is None


def test_broken_incident_rows_fail_with_each_expectation_named(db_url: str, tmp_path: Path) -> None:
    batch_id = _load_table(db_url, tmp_path, seed=102, table="incidents")
    with psycopg.connect(db_url, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT row_number FROM raw.incidents WHERE batch_id = %s ORDER BY row_number LIMIT 3",
            (batch_id,),
        ).fetchall()
        (no_officer,), (future,), (impossible_date,) = rows
        # A contract CSV carries officer names: a missing one is a failure, unlike NIBRS.
        conn.execute(
            "UPDATE raw.incidents SET officer_name = ' ' WHERE batch_id = %s AND row_number = %s",
            (batch_id, no_officer),
        )
        conn.execute(
            "UPDATE raw.incidents SET reported_at = '2999-01-01T00:00:00' WHERE batch_id = %s AND row_number = %s",
            (batch_id, future),
        )
        conn.execute(
            "UPDATE raw.incidents SET occurred_at = '2025-02-30T10:00:00' WHERE batch_id = %s AND row_number = %s",
            (batch_id, impossible_date),
        )
    outcome = validate_batch(batch_id, db_url, build_docs=False)

    assert not outcome.success
    assert _failures(outcome, "incidents") == {
        ("expect_column_values_to_not_be_null", "officer_name"),
        ("expect_column_values_to_be_between", "reported_at_parsed"),
        ("expect_column_values_to_not_be_null", "occurred_at_parsed"),
    }
    assert all(f.unexpected_count == 1 for f in outcome.tables["incidents"].failed)
    assert _recorded(db_url, batch_id)[0] is False


def test_planted_role_fails_and_no_value_is_kept_anywhere(db_url: str, tmp_path: Path) -> None:
    batch_id = _load_table(db_url, tmp_path, seed=103, table="persons")
    _execute(
        db_url,
        """
        INSERT INTO raw.persons (batch_id, row_number, report_number, person_seq, role, first_name, last_name)
        SELECT batch_id, 999999, report_number, '99', %(planted)s, %(planted)s, %(planted)s
        FROM raw.persons WHERE batch_id = %(batch_id)s ORDER BY row_number LIMIT 1
        """,
        {"batch_id": batch_id, "planted": PLANTED},
    )
    _count_one_more_staged(db_url, batch_id, "persons")
    started = time.time()
    outcome = validate_batch(batch_id, db_url)

    assert not outcome.success
    assert _failures(outcome, "persons") == {("expect_column_values_to_be_in_set", "role")}
    passed, summary = _recorded(db_url, batch_id)
    assert passed is False
    assert summary["tables"]["persons"]["failed"][0]["expectation"] == "expect_column_values_to_be_in_set"
    assert PLANTED.lower() not in json.dumps(summary).lower()
    assert PLANTED.lower() not in repr(outcome).lower()
    # What this run stored (results, Data Docs pages) keeps counts only, too.
    assert outcome.data_docs_path == DATA_DOCS_INDEX and DATA_DOCS_INDEX.is_file()
    written = [
        path
        for path in (PROJECT_DIR / "uncommitted").rglob("*")
        if path.suffix in (".json", ".html") and path.stat().st_mtime >= started - 1
    ]
    assert {path.suffix for path in written if "raw_persons" in path.parts} == {".json", ".html"}
    assert not [
        p for p in written if PLANTED.lower() in p.read_text(encoding="utf-8", errors="replace").lower()
    ]


def test_duplicated_key_fails(db_url: str, tmp_path: Path) -> None:
    batch_id = _load_table(db_url, tmp_path, seed=104, table="persons")
    _execute(
        db_url,
        """
        INSERT INTO raw.persons
        SELECT * FROM raw.persons WHERE batch_id = %(batch_id)s ORDER BY row_number LIMIT 1
        """,
        {"batch_id": batch_id},
    )
    _count_one_more_staged(db_url, batch_id, "persons")
    outcome = validate_batch(batch_id, db_url, build_docs=False)

    assert _failures(outcome, "persons") == {
        ("expect_compound_columns_to_be_unique", "report_number+person_seq")
    }
    assert outcome.tables["persons"].failed[0].unexpected_count == 2  # both rows of the key
    assert _recorded(db_url, batch_id)[0] is False


def test_row_count_must_reconcile_with_the_batch_record(db_url: str, tmp_path: Path) -> None:
    batch_id = _load_table(db_url, tmp_path, seed=105, table="cad_calls")
    with psycopg.connect(db_url) as conn:
        (landed,) = conn.execute(
            "SELECT count(*) FROM raw.cad_calls WHERE batch_id = %s", (batch_id,)
        ).fetchone()
    _count_one_more_staged(db_url, batch_id, "cad_calls")
    outcome = validate_batch(batch_id, db_url, build_docs=False)

    assert not outcome.success
    (failure,) = outcome.tables["cad_calls"].failed
    assert (failure.expectation, failure.column, failure.observed_count) == (
        "expect_table_row_count_to_equal",
        None,
        landed,
    )
    passed, summary = _recorded(db_url, batch_id)
    assert passed is False
    assert summary["success"] is False


@pytest.mark.server
def test_unknown_and_rejected_batches_are_refused(db_url: str, tmp_path: Path) -> None:
    with pytest.raises(LookupError):
        validate_batch(10**12, db_url)
    header_only = tmp_path / "incidents.csv"
    header_only.write_text("report_number,agency_ori\nGX-R-1,AZ0109900\n", encoding="utf-8")
    rejected = load_source(ContractCsvSource(header_only), db_url, TIME_ZONE)
    assert rejected.status == "rejected" and rejected.batch_id is not None
    with pytest.raises(ValueError, match="rejected"):
        validate_batch(rejected.batch_id, db_url)


def test_validation_makes_no_network_connection(db_url: str, tmp_path: Path, monkeypatch) -> None:
    batch_id = _load_table(db_url, tmp_path, seed=106, table="offenses")
    reached: list[object] = []

    def refuse(sock: socket.socket, address: object) -> None:
        if sock.family != socket.AF_UNIX:
            reached.append(address)
            raise OSError("network access during validation")
        return original_connect(sock, address)

    def refuse_lookup(*args: object, **kwargs: object) -> list:
        reached.append(args[0])
        raise OSError("name lookup during validation")

    original_connect = socket.socket.connect
    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse_lookup)
    _context.cache_clear()  # open the GX context afresh, under the guard
    outcome = validate_batch(batch_id, db_url)

    assert outcome.success, outcome
    assert reached == []


def test_committed_project_is_what_the_builder_writes(db_url: str, tmp_path: Path) -> None:
    from expectations.build import build
    from warehouse.database import sqlalchemy_url

    rebuilt = tmp_path / "gx"
    shutil.copytree(PROJECT_DIR, rebuilt, ignore=shutil.ignore_patterns("uncommitted", "__pycache__"))
    build(sqlalchemy_url(db_url), rebuilt)

    for folder in ("expectations", "validation_definitions", "checkpoints"):
        comparison = filecmp.dircmp(PROJECT_DIR / folder, rebuilt / folder)
        assert not (comparison.diff_files or comparison.left_only or comparison.right_only), (
            f"{folder}/ is stale: run `python -m expectations.build` and commit the result"
        )
    committed = yaml.safe_load((PROJECT_DIR / "great_expectations.yml").read_text(encoding="utf-8"))
    fresh = yaml.safe_load((rebuilt / "great_expectations.yml").read_text(encoding="utf-8"))
    assert committed == fresh
    # The database is named only through a variable supplied at run time.
    datasource = committed["fluent_datasources"]["vnotify_warehouse"]
    assert datasource["connection_string"] == "${VNOTIFY_GX_CONNECTION_STRING}"
    assert committed["analytics_enabled"] is False
