"""What an analyst can see carries no PII (docs/architecture.md, rule 6), and what carries PII
an analyst cannot see.

After ingesting and transforming a generated agency, the test connects as `vnotify_analyst`,
lists every column it can see in `marts` and `analytics`, reads every row of every relation
there, and scans each cell for the names in the export (people, officers, CAD callers), phone
numbers and e-mail addresses.
"""

from __future__ import annotations

import csv
import datetime as dt
import decimal
import hashlib
import re
from collections import Counter
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from ingest.run import ingest_path
from warehouse import keys
from warehouse.transform import transform

ANALYST = "vnotify_analyst"
AS_OF = "2025-03-20T12:00:00+00:00"
MARTS = {
    "agg_division_monthly_outcomes",
    "agg_monthly_kpis",
    "dim_offense_codes",
    "dim_reports",
    "fct_eligibility_decisions",
    "fct_evaluation_victims",
    "fct_experiment_assignments",
    "fct_notifications",
}
FORBIDDEN = ["restricted.notifications_due", "staging.stg_rms__persons", "raw.persons", "ops.phone_numbers"]
PII_COLUMN = re.compile(
    r"((first|last|middle|full|officer|caller)_)?name|birth_date|dob|(raw_|caller_)?phone(_e164|_number)?"
    r"|e164|(raw_)?email(_address)?|(street_)?address",
    re.IGNORECASE,
)

E164 = re.compile(r"\+\d{8,15}\b")
NANP = re.compile(r"(?<!\w)(?:\+?1[\s.-]?)?\(?\d{3}\)?[\s.-]?\d{3}[\s.-]?\d{4}(?!\w)")
LONG_DIGITS = re.compile(r"(?<!\w)\d{10,}(?!\w)")
PUNCTUATION = re.compile(r"[\s().+\-/]")
EMAIL = re.compile(r"@\S*\.")

Cell = tuple[str, str, Any]  # relation, column, value


# --------------------------------------------------------------------------------------------
# The scanner


def _read(folder: Path, name: str) -> list[dict[str, str]]:
    with (folder / name).open(newline="", encoding="utf-8-sig") as handle:
        return list(csv.DictReader(handle))


def export_names(folder: Path) -> set[str]:
    """Every name in the export of three letters or more: whole values; the words of people's
    and officers' names; the "LAST, FIRST" parts of CAD callers' names. (Business names such
    as "Allen and Sons" count whole, not word by word.)"""
    whole: list[str] = []
    parts: list[str] = []
    for person in _read(folder, "persons.csv"):
        values = [person["first_name"], person["last_name"]]
        whole += values
        if (person.get("victim_type") or "individual").strip().lower() == "individual":
            parts += [word for value in values for word in value.split()]
    for incident in _read(folder, "incidents.csv"):
        whole.append(incident["officer_name"])
        parts += incident["officer_name"].split()
    if (folder / "cad_calls.csv").exists():
        for call in _read(folder, "cad_calls.csv"):
            whole.append(call["caller_name"])
            parts += call["caller_name"].split(",")
    names = {" ".join((value or "").split()) for value in whole + parts}
    return {name for name in names if len(name) >= 3}


def name_pattern(names: Iterable[str]) -> re.Pattern[str]:
    alternatives = "|".join(re.escape(n) for n in sorted(names, key=len, reverse=True))
    return re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)", re.IGNORECASE)


def _texts(value: Any) -> Iterator[Any]:
    if isinstance(value, list | tuple):
        for item in value:
            yield from _texts(item)
    elif value is not None:
        yield value


def pii_findings(cells: Iterable[Cell], names: re.Pattern[str]) -> list[tuple[str, str, str, str]]:
    """(relation, column, kind, value) for each cell that looks like a name, phone or e-mail."""
    found = []
    for relation, column, value in cells:
        for item in _texts(value):
            text = str(item)
            kinds = []
            if names.search(text):
                kinds.append("name")
            # Dates, timestamps and fractions print digit runs that are no phone number.
            phone_like = isinstance(item, str | int) and not isinstance(item, bool)
            if phone_like and (
                E164.search(text)
                or NANP.search(text)
                or LONG_DIGITS.search(text)
                or (len(PUNCTUATION.sub("", text)) >= 10 and PUNCTUATION.sub("", text).isdigit())
            ):
                kinds.append("phone")
            if EMAIL.search(text):
                kinds.append("email")
            found += [(relation, column, kind, text) for kind in kinds]
    return found


def test_the_scanner_catches_planted_pii():
    names = name_pattern({"Alyssa", "Shaw", "Jody Bowen", "Munguía"})
    planted: list[Cell] = [
        ("marts.x", "note", "spoke with alyssa"),
        ("marts.x", "note", "SHAW"),
        ("marts.x", "officer", "Officer Jody Bowen (badge 24297)"),
        ("marts.x", "tags", ["ok", "Minerva Munguía"]),
        ("marts.x", "phone", "(520) 555-0147"),
        ("marts.x", "phone", "520.555.0147"),
        ("marts.x", "phone", "+15205550147"),
        ("marts.x", "phone", "call +1 520 555 0147 today"),
        ("marts.x", "phone", 5205550147),
        ("marts.x", "email", "someone@example.org"),
        ("marts.x", "email", ["x", "Someone.Else@Mail.Example.com"]),
    ]
    clean: list[Cell] = [
        ("marts.x", "victim_key", hashlib.sha256(b"SV25-000146:1").hexdigest()),
        ("marts.x", "report_number", "SV25-000146"),
        ("marts.x", "offense_name", "Theft From Motor Vehicle"),
        ("marts.x", "reasons", ["juvenile", "contact_shared_with_offender"]),
        ("marts.x", "experiment_name", "victim-followup-2025"),
        ("marts.x", "officer_id", "24297"),
        ("marts.x", "bucket", decimal.Decimal("0.12345678901234567")),
        ("marts.x", "decided_at", dt.datetime(2025, 3, 20, 12, tzinfo=dt.UTC)),
        ("marts.x", "reported_date", dt.date(2025, 3, 3)),
        ("marts.x", "note", "Shawna and Alyssandra are not in the name list"),
        ("marts.x", "outbox_id", 1234567),
    ]
    for cell in planted:
        assert pii_findings([cell], names), cell
    assert {kind for *_, kind, _ in pii_findings(planted, names)} == {"name", "phone", "email"}
    assert pii_findings(clean, names) == []


# --------------------------------------------------------------------------------------------
# The warehouse, as an analyst sees it


@pytest.fixture
def built(clean_db_url, small_agency) -> str:
    results = ingest_path(small_agency, "contract-csv", url=clean_db_url)
    assert all(r.status == "loaded" for r in results), results
    # A few notifications already in the outbox, so fct_notifications has rows to scan.
    victims = [p for p in _read(small_agency, "persons.csv") if p["role"] == "victim"][:5]
    with psycopg.connect(clean_db_url, autocommit=True) as conn:
        for victim in victims:
            number, seq = victim["report_number"], int(victim["person_seq"])
            conn.execute(
                "INSERT INTO ops.outbox (victim_key, report_number, kind, channel, state, address, provider_id)"
                " VALUES (%s, %s, 'initial', 'email', 'sent', 'someone@example.org', 'sg-test-id')",
                (keys.victim_key(number, seq), number),
            )
    result = transform(url=clean_db_url, as_of=AS_OF, quiet=True)
    assert result.success, result.failures
    return clean_db_url


def _analyst(url: str) -> psycopg.Connection:
    conn = psycopg.connect(url)
    conn.execute(f"SET ROLE {ANALYST}")
    return conn


def _columns(conn: psycopg.Connection) -> dict[str, list[str]]:
    columns: dict[str, list[str]] = {}
    for schema, table, column in conn.execute(
        """SELECT table_schema, table_name, column_name FROM information_schema.columns
           WHERE table_schema IN ('marts', 'analytics') ORDER BY table_schema, table_name, ordinal_position"""
    ):
        columns.setdefault(f"{schema}.{table}", []).append(column)
    return columns


def test_nothing_an_analyst_can_read_carries_pii(built, small_agency):
    names = export_names(small_agency)
    assert len(names) > 100
    pattern = name_pattern(names)

    with psycopg.connect(built) as owner:
        everything = _columns(owner)
    with _analyst(built) as conn:
        visible = _columns(conn)
        assert visible == everything, "the analyst cannot see some mart columns, so the scan would miss them"
        assert {r.split(".", 1)[1] for r in visible if r.startswith("marts.")} >= MARTS
        for relation, columns in visible.items():
            assert not [c for c in columns if PII_COLUMN.fullmatch(c)], relation

        cells: list[Cell] = []
        rows_per_relation = {}
        for relation, columns in visible.items():
            schema, table = relation.split(".")
            rows = conn.execute(f'SELECT * FROM "{schema}"."{table}"').fetchall()
            rows_per_relation[relation] = len(rows)
            cells += [
                (relation, column, value) for row in rows for column, value in zip(columns, row, strict=True)
            ]

    assert all(rows_per_relation[f"marts.{m}"] > 0 for m in MARTS), rows_per_relation
    assert len(cells) > 1000
    findings = pii_findings(cells, pattern)
    # Where, never what: the values themselves stay out of the test log.
    if findings:
        pytest.fail(
            f"PII readable by analysts: {sorted(Counter((r, c, k) for r, c, k, _ in findings).items())}"
        )

    # Not vacuous: the same scan flags a real name, phone and e-mail from the export in a mart row.
    person = next(
        p
        for p in _read(small_agency, "persons.csv")
        if len(p["last_name"]) >= 3 and p["phone"] and p["email"]
    )
    relation, column, _ = cells[0]
    planted = [
        (relation, column, f"{person['last_name']} called"),
        (relation, column, person["phone"]),
        (relation, column, person["email"]),
    ]
    assert {kind for *_, kind, _ in pii_findings(cells[:50] + planted, pattern)} == {"name", "phone", "email"}

    # And what does carry PII exists, has rows, and is refused.
    for relation in FORBIDDEN:
        with psycopg.connect(built) as owner:
            assert owner.execute(f"SELECT count(*) FROM {relation}").fetchone()[0] > 0, relation
        with _analyst(built) as conn, pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute(f"SELECT * FROM {relation} LIMIT 1")
