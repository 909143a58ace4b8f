"""A calls-for-service export with one row per responding unit, mapped to the contract's cad_calls.

The shipped example (examples/mappings/city-calls-for-service.yaml and its sample) repeats each
call on a row per unit; the mapping's `key` keeps one call per call number. Pure tests on the
records, then the sample through the loader into a real database: one staged call per call
number, calls without a report kept, the broken rows quarantined with their reasons.
"""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path

import psycopg
import pytest

from ingest.adapters.mapping import MappedCsvSource, load_mapping
from ingest.contract import validate_row
from ingest.records import Record
from ingest.run import ingest_path
from vnotify.config import load_config
from vnotify.paths import REPO_ROOT, SAMPLE_CONFIG

EXAMPLES = REPO_ROOT / "examples" / "mappings"
MAPPING = EXAMPLES / "city-calls-for-service.yaml"
SAMPLE = EXAMPLES / "city-calls-for-service-sample.csv"
CONFIG = load_config(SAMPLE_CONFIG)
GOOD_CALLS = {"P25030300112", "P25030300187", "P25030400045", "P25030400102", "P25030400158"}
WITHOUT_REPORT = {"P25030400045", "P25030400158"}
# Sample rows broken on purpose, and the reason each is quarantined with.
BROKEN = {11: "received_at is not an ISO 8601 date-time", 12: "call_number is required"}


def _records(path: Path = SAMPLE) -> list[Record]:
    return list(MappedCsvSource(path, load_mapping(MAPPING), config=CONFIG).records())


def _sample_rows() -> list[dict[str, str]]:
    with SAMPLE.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def test_the_sample_repeats_calls_once_per_responding_unit():
    rows = _sample_rows()
    units = Counter(row["Incident Number"] for row in rows if row["Incident Number"])
    assert len(rows) == 12
    assert units["P25030300187"] == 3 and units["P25030300112"] == 2 and units["P25030400045"] == 2
    # The units of one call are not all adjacent: the mapping must not rely on grouping.
    numbers = [row["Incident Number"] for row in rows]
    assert numbers.index("P25030400045") < len(numbers) - 1 - numbers[::-1].index("P25030300187")


def test_one_record_per_call_number_at_its_first_row():
    records = _records()
    assert {r.table for r in records} == {"cad_calls"}
    numbers = [r.values["call_number"] for r in records]
    # Every call once; a row without a call number stays a record of its own (to be quarantined).
    assert Counter(numbers) == Counter([*GOOD_CALLS, "P25030400213", None])
    first = next(r for r in records if r.values["call_number"] == "P25030300187")
    assert first.row_number == 3
    assert first.values == {
        "call_number": "P25030300187",
        "received_at": "2025-03-03T10:21:55",
        "call_type": "BURGLARY RESIDENTIAL",
        "priority": "2",
        "division": "MID",
        "caller_name": "SAMUEL GRANT",
        "caller_phone": "(520) 555-0131",
        "report_number": "25-003102",
        "disposition": "report taken",
    }
    # Per-unit columns are not in the contract and are not carried along.
    assert all(r.extra is None for r in records)


def test_calls_without_a_report_are_kept_and_only_the_broken_rows_fail_the_contract():
    records = {r.row_number: r for r in _records()}
    problems = {n: [p.reason for p in validate_row("cad_calls", r.values)] for n, r in records.items()}
    assert {n: reasons for n, reasons in problems.items() if reasons} == {n: [r] for n, r in BROKEN.items()}
    without_report = {r.values["call_number"] for r in records.values() if not r.values["report_number"]}
    assert without_report == {*WITHOUT_REPORT, None}


def test_shuffled_unit_rows_give_the_same_calls(tmp_path: Path):
    rows = _sample_rows()
    reordered = rows[::-1]
    path = tmp_path / "reversed.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(reordered)

    def calls(records: list[Record]) -> set[tuple]:
        return {tuple(sorted((k, v or "") for k, v in r.values.items())) for r in records}

    assert calls(_records(path)) == calls(_records())


@pytest.mark.db
def test_ingesting_the_sample_stages_one_call_per_call_number(clean_db_url, tmp_path: Path):
    (batch,) = ingest_path(SAMPLE, "mapped", mapping=MAPPING, config=CONFIG, url=clean_db_url)
    assert batch.status == "loaded", batch.reason
    assert batch.rows_read == 7 and batch.rows_staged == 5 and batch.rows_quarantined == 2
    with psycopg.connect(clean_db_url) as conn:
        staged = conn.execute(
            "SELECT call_number, report_number FROM raw.cad_calls WHERE batch_id = %s", (batch.batch_id,)
        ).fetchall()
        quarantined = conn.execute(
            "SELECT table_name, row_number, column_name, reason FROM ops.quarantine WHERE batch_id = %s "
            "ORDER BY row_number",
            (batch.batch_id,),
        ).fetchall()
    numbers = [number for number, _report in staged]
    assert sorted(numbers) == sorted(GOOD_CALLS)  # one per call number, however many units
    assert {number for number, report in staged if not report} == WITHOUT_REPORT
    assert quarantined == [
        ("cad_calls", 11, "received_at", BROKEN[11]),
        ("cad_calls", 12, "call_number", BROKEN[12]),
    ]
    # Reasons name the column, never the value.
    assert not any("03/04/2025" in reason or "HALE" in reason for *_rest, reason in quarantined)
