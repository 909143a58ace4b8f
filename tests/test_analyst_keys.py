"""Keyed analyst keys (warehouse.keys, migration 0013): nothing an analyst reads leads back to a
report number, the keys need a secret the database never holds, and existing keys move over
without anyone becoming due again or changing arm.

Measured on the old main: `victim_key` was sha256("report_number:person_seq"), reversed by
hashing every report number an agency's numbering allows, and the marts put report numbers
beside DV, juvenile and deceased flags and survey answers.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys

import psycopg
import pytest

from warehouse import keys, migrate
from warehouse.transform import transform

ANALYST = "vnotify_analyst"
AS_OF = "2025-03-20T12:00:00+00:00"


def _analyst(url: str) -> psycopg.Connection:
    conn = psycopg.connect(url)
    conn.execute(f"SET ROLE {ANALYST}")
    return conn


def _visible_cells(url: str) -> tuple[dict[str, list[str]], list[tuple[str, str, object]]]:
    """Every column and cell an analyst can read in marts and analytics."""
    with _analyst(url) as conn:
        columns: dict[str, list[str]] = {}
        for schema, table, column in conn.execute(
            """SELECT table_schema, table_name, column_name FROM information_schema.columns
               WHERE table_schema IN ('marts', 'analytics') ORDER BY 1, 2, ordinal_position"""
        ):
            columns.setdefault(f"{schema}.{table}", []).append(column)
        cells = []
        for relation, names in columns.items():
            for row in conn.execute(f"SELECT * FROM {relation}"):
                cells += [(relation, name, value) for name, value in zip(names, row, strict=True)]
    return columns, cells


def _report_numbers(url: str) -> list[str]:
    with psycopg.connect(url) as conn:
        return [r[0] for r in conn.execute("SELECT DISTINCT btrim(report_number) FROM raw.incidents")]


def test_no_key_an_analyst_reads_gives_back_a_report_number(built):
    numbers = _report_numbers(built)
    assert len(numbers) > 100
    # The old attack: hash every report number with every person number it could have.
    unkeyed = {
        hashlib.sha256(f"{number}:{seq}".encode()).hexdigest(): number
        for number in numbers
        for seq in range(1, 10)
    }
    unkeyed |= {hashlib.sha256(number.encode()).hexdigest(): number for number in numbers}
    columns, cells = _visible_cells(built)
    keyed = [value for relation, name, value in cells if name in ("victim_key", "report_key")]
    assert len(keyed) > 500
    assert not [value for value in keyed if value in unkeyed], "an analyst key is an unkeyed hash"
    # The report number itself appears nowhere an analyst looks, under any column name.
    as_text = set(numbers)
    found = sorted({(relation, name) for relation, name, value in cells if str(value) in as_text})
    assert found == [], found
    assert not [r for r, names in columns.items() if {"report_number", "bucket"} & set(names)]


def test_sql_and_python_compute_the_same_keys_and_only_with_the_secret(built):
    with psycopg.connect(built, options=keys.session_options()) as conn:
        victim, report = conn.execute(
            "SELECT ops.victim_key('SV25-000146', 2), ops.report_key('SV25-000146')"
        ).fetchone()
    assert victim == keys.victim_key("SV25-000146", 2)
    assert report == keys.report_key("SV25-000146")
    assert victim != report
    assert keys.victim_key("SV25-000146", 2, secret=b"another-secret-of-at-least-32-characters") != victim

    with (
        psycopg.connect(built) as conn,
        pytest.raises(psycopg.errors.RaiseException, match=r"vnotify\.key_inner"),
    ):
        conn.execute("SELECT ops.victim_key('SV25-000146', 2)")
    with _analyst(built) as conn, pytest.raises(psycopg.errors.InsufficientPrivilege):
        conn.execute("SELECT ops.report_key('SV25-000146')")


def test_a_deployment_without_the_secret_is_told_what_to_set(clean_db_url):
    environment = {key: value for key, value in os.environ.items() if key != keys.KEY_SECRET_ENV}
    finished = subprocess.run(
        [sys.executable, "-m", "vnotify.cli", "transform"],
        env={**environment, "DATABASE_URL": clean_db_url},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert finished.returncode == 2, finished.stderr
    assert "VNOTIFY_KEY_SECRET is not set" in finished.stderr
    assert "openssl rand -hex 32" in finished.stderr
    assert "Traceback" not in finished.stderr


def test_short_secrets_are_refused(monkeypatch):
    monkeypatch.setenv(keys.KEY_SECRET_ENV, "hunter2")
    with pytest.raises(keys.KeySecretMissing, match="at least 32"):
        keys.key_secret()


def test_the_embedded_database_keeps_its_own_secret_outside_it(monkeypatch, tmp_path):
    monkeypatch.setenv("VNOTIFY_HOME", str(tmp_path))
    monkeypatch.delenv(keys.KEY_SECRET_ENV)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    first = keys.key_secret()
    assert len(first) == 64
    assert keys.secret_file().stat().st_mode & 0o777 == 0o600
    assert keys.key_secret() == first


# --------------------------------------------------------------------------------------------
# Moving an existing deployment's keys


def _old_key(report_number: str, person_seq: int) -> str:
    return hashlib.sha256(f"{report_number}:{person_seq}".encode()).hexdigest()


def _rewind_to_unkeyed(url: str) -> dict[str, tuple[str, int]]:
    """Put `url` back as the old main left it: revision 0012, sha256 keys in ops and in the
    assignments, which carry report_number and bucket. Returns old key → (report, person)."""
    migrate.downgrade(url, "0012")
    with psycopg.connect(url, autocommit=True) as conn:
        pairs = conn.execute(
            "SELECT DISTINCT btrim(report_number), btrim(person_seq)::int FROM raw.persons"
        ).fetchall()
        new_to_old = {keys.victim_key(r, s): _old_key(r, s) for r, s in pairs}
        report_of = {keys.report_key(r): r for r, _ in pairs}
        for table in ("ops.outbox", "ops.survey_invitations"):
            for (key,) in conn.execute(f"SELECT DISTINCT victim_key FROM {table}").fetchall():
                conn.execute(
                    f"UPDATE {table} SET victim_key = %s WHERE victim_key = %s", (new_to_old[key], key)
                )
        conn.execute(
            "ALTER TABLE marts.fct_experiment_assignments ADD COLUMN report_number text, ADD COLUMN bucket numeric"
        )
        for key, report_key in conn.execute(
            "SELECT victim_key, report_key FROM marts.fct_experiment_assignments"
        ).fetchall():
            conn.execute(
                "UPDATE marts.fct_experiment_assignments SET victim_key = %s, report_number = %s, bucket = 0.5"
                " WHERE victim_key = %s",
                (new_to_old[key], report_of[report_key], key),
            )
        conn.execute("ALTER TABLE marts.fct_experiment_assignments DROP COLUMN report_key CASCADE")
    return {_old_key(r, s): (r, s) for r, s in pairs}


def _send_to_some(url: str, count: int) -> list[tuple[str, str, int]]:
    """Queue the first notice of `count` due victims as sent: (victim_key, report, person)."""
    with psycopg.connect(url, autocommit=True) as conn:
        due = conn.execute(
            "SELECT victim_key, report_number, person_seq FROM restricted.notifications_due"
            " WHERE kind = 'initial' ORDER BY victim_key LIMIT %s",
            (count,),
        ).fetchall()
        for victim_key, report_number, _ in due:
            conn.execute(
                "INSERT INTO ops.outbox (victim_key, report_number, kind, channel, state, address, provider_id)"
                " VALUES (%s, %s, 'initial', 'email', 'sent', 'someone@example.org', 'sg-test-id')",
                (victim_key, report_number),
            )
    return due


def test_the_migration_moves_existing_keys_and_keeps_every_arm(built):
    sent = _send_to_some(built, 5)
    assert len(sent) == 5
    with psycopg.connect(built) as conn:
        arms_before = dict(
            conn.execute("SELECT victim_key, arm FROM marts.fct_experiment_assignments").fetchall()
        )
    assert len(arms_before) > 10

    old_keys = _rewind_to_unkeyed(built)
    with psycopg.connect(built) as conn:
        assert set(r[0] for r in conn.execute("SELECT victim_key FROM ops.outbox")) <= set(old_keys)

    migrate.upgrade(built)

    with psycopg.connect(built) as conn:
        outbox = {r[0] for r in conn.execute("SELECT victim_key FROM ops.outbox")}
        assert outbox == {keys.victim_key(report, seq) for _, report, seq in sent}
        arms_after = dict(
            conn.execute("SELECT victim_key, arm FROM marts.fct_experiment_assignments").fetchall()
        )
        assert arms_after == arms_before
        columns = {
            r[0]
            for r in conn.execute(
                "SELECT column_name FROM information_schema.columns"
                " WHERE table_schema = 'marts' AND table_name = 'fct_experiment_assignments'"
            )
        }
        assert "report_key" in columns and not {"report_number", "bucket"} & columns
        assert conn.execute("SELECT to_regclass('marts.dim_reports')").fetchone()[0] is None

    result = transform(url=built, as_of=AS_OF, quiet=True)
    assert result.success, result.failures
    with psycopg.connect(built) as conn:
        due_again = conn.execute(
            "SELECT count(*) FROM restricted.notifications_due WHERE kind = 'initial' AND victim_key = ANY(%s)",
            (sorted(outbox),),
        ).fetchone()[0]
        assert due_again == 0
        assert (
            dict(conn.execute("SELECT victim_key, arm FROM marts.fct_experiment_assignments").fetchall())
            == arms_before
        )


def test_a_key_that_matches_nobody_stops_the_migration(built):
    _rewind_to_unkeyed(built)
    with psycopg.connect(built, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO ops.outbox (victim_key, report_number, kind, channel, state, provider_id)"
            " VALUES (%s, 'NOT-IN-RAW', 'initial', 'email', 'sent', 'sg-test-id')",
            (_old_key("NOT-IN-RAW", 1),),
        )
    with pytest.raises(Exception, match=r"ops\.outbox: 1 victim keys match no report"):
        migrate.upgrade(built)
    assert migrate.current_revision(built) == "0012"
    with psycopg.connect(built) as conn:
        assert (
            conn.execute(
                "SELECT count(*) FROM ops.outbox WHERE victim_key = %s", (_old_key("NOT-IN-RAW", 1),)
            ).fetchone()[0]
            == 1
        )
        assert conn.execute("SELECT to_regclass('marts.dim_reports')").fetchone()[0] is not None
