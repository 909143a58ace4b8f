"""Small hand-written contract exports for the CAD, reporting-party and status-update tests:
write them, ingest them and run the warehouse on a database of the test's own."""

from __future__ import annotations

import csv
import hashlib
import secrets
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg
from psycopg.rows import dict_row
from sqlalchemy.engine import make_url

from ingest.contract import TABLES
from ingest.run import ingest_path
from vnotify.config import AgencyConfig, load_config
from warehouse import keys
from warehouse.transform import transform

Row = dict[str, str]
REPORTED_AT = "2025-03-18T10:00:00"  # agency time; Westside is live, inside the experiment
AS_OF = "2025-03-19T18:00:00+00:00"


def config_with(**notices: Any) -> AgencyConfig:
    """The sample agency with some `notices:` settings changed."""
    config = load_config()
    return config.model_copy(update={"notices": config.notices.model_copy(update=notices)})


def victim_key(report_number: str, person_seq: int) -> str:
    return keys.victim_key(report_number, person_seq)


def bucket(config: AgencyConfig, report_number: str) -> float:
    digest = hashlib.md5(f"{config.experiment.salt}:{report_number}".encode()).hexdigest()
    return int(digest[:8], 16) / 2**32


def report_numbers(config: AgencyConfig, prefix: str, arm: str, count: int = 1) -> list[str]:
    """Report numbers whose experiment arm (a pure function of the number) is `arm`."""
    found = []
    for i in range(10_000):
        number = f"{prefix}-{i:04d}"
        is_b = bucket(config, number) < config.experiment.holdout_share
        if is_b == (arm == "B"):
            found.append(number)
            if len(found) == count:
                return found
    raise AssertionError("no report number in that arm")


def incident(number: str, **fields: str) -> Row:
    return {
        "report_number": number,
        "reported_at": REPORTED_AT,
        "division": "WEST",
        "officer_name": "Officer R. Diaz",
        "case_status": "open",
        "domestic_violence": "",
        "updated_at": "2025-03-18T11:00:00",
        **fields,
    }


def offense(number: str, code: str = "23H", seq: int = 1) -> Row:
    return {"report_number": number, "offense_seq": str(seq), "nibrs_code": code}


def person(number: str, seq: int, first: str, last: str, role: str = "victim", **fields: str) -> Row:
    return {
        "report_number": number,
        "person_seq": str(seq),
        "role": role,
        "victim_type": "individual" if role == "victim" else "",
        "first_name": first,
        "last_name": last,
        "age": "40",
        "language": "en",
        "contact_consent": "Y",
        **fields,
    }


def call(call_number: str, number: str, caller_name: str, caller_phone: str, **fields: str) -> Row:
    return {
        "call_number": call_number,
        "report_number": number,
        "received_at": "2025-03-18T09:30:00",
        "call_type": "THEFT",
        "caller_name": caller_name,
        "caller_phone": caller_phone,
        **fields,
    }


def write_export(folder: Path, **tables: Iterable[Mapping[str, str]]) -> Path:
    """Contract CSV files (only the tables given), every contract column in the header."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, rows in tables.items():
        columns = TABLES[name].column_names
        with (folder / f"{name}.csv").open("w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=columns, lineterminator="\n")
            writer.writeheader()
            for row in rows:
                assert set(row) <= set(columns), set(row) - set(columns)
                writer.writerow(row)
    return folder


def load(url: str, folder: Path, config: AgencyConfig) -> None:
    results = ingest_path(folder, "contract-csv", url=url, config=config)
    assert results and all(r.status == "loaded" for r in results), results


def build(url: str, config: AgencyConfig, as_of: str = AS_OF, full_refresh: bool = False) -> None:
    result = transform(url=url, config=config, as_of=as_of, quiet=True, full_refresh=full_refresh)
    assert result.success, result.failures


def query(url: str, sql: str, *params: Any) -> list[dict[str, Any]]:
    with psycopg.connect(url) as conn, conn.cursor(row_factory=dict_row) as cursor:
        return cursor.execute(sql, params).fetchall()


def execute(url: str, sql: str, *params: Any) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(sql, params)


def opt_out(url: str, channel: str, address: str) -> None:
    execute(
        url, "INSERT INTO ops.opt_outs (channel, address, source) VALUES (%s, %s, 'test')", channel, address
    )


def outbox_row(
    url: str,
    report_number: str,
    person_seq: int,
    *,
    kind: str = "initial",
    channel: str = "sms",
    state: str = "sent",
    subject: str = "",
) -> None:
    """An outbox row as the send flow leaves it (sent rows have a provider id, failed a reason)."""
    execute(
        url,
        """
        INSERT INTO ops.outbox (victim_key, report_number, kind, channel, state, subject, provider_id, reason)
        VALUES (%s, %s, %s, %s, %s, %s, %s, %s)
        """,
        victim_key(report_number, person_seq),
        report_number,
        kind,
        channel,
        state,
        subject,
        f"SM{secrets.token_hex(16)}" if state == "sent" else None,
        "invalid_number" if state == "failed" else None,
    )


@contextmanager
def own_database(admin_url: str, template: str) -> Iterator[str]:
    """A migrated database cloned from the session template, dropped afterwards."""
    name = f"vnotify_issue9_{secrets.token_hex(4)}"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    try:
        yield make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
