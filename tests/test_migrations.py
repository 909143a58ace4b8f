"""Alembic owns the ops schema: empty → head, head → head, and back down and up again."""

from __future__ import annotations

import psycopg
import pytest

from warehouse import migrate
from warehouse.database import SCHEMAS


def _schemas(url: str) -> set[str]:
    with psycopg.connect(url) as conn:
        rows = conn.execute("SELECT nspname FROM pg_namespace").fetchall()
    return {name for (name,) in rows}


def _ops_tables(url: str) -> dict[str, list[tuple]]:
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            """
            SELECT table_name, column_name, data_type, is_nullable
            FROM information_schema.columns WHERE table_schema = 'ops'
            ORDER BY table_name, ordinal_position
            """
        ).fetchall()
    tables: dict[str, list[tuple]] = {}
    for table, *column in rows:
        tables.setdefault(table, []).append(tuple(column))
    return tables


@pytest.fixture
def empty_db(fresh_database) -> str:
    return fresh_database()


@pytest.mark.server
@pytest.mark.db
def test_empty_to_head_creates_schemas_and_ops_tables(empty_db):
    assert migrate.current_revision(empty_db) is None
    assert migrate.upgrade(empty_db) == migrate.head_revision()
    assert set(SCHEMAS) <= _schemas(empty_db)
    assert {"ingest_batches", "quarantine", "alembic_version"} <= set(_ops_tables(empty_db))


@pytest.mark.server
@pytest.mark.db
def test_head_to_head_is_a_no_op(empty_db):
    migrate.upgrade(empty_db)
    before = _ops_tables(empty_db)
    assert migrate.upgrade(empty_db) == migrate.head_revision()
    assert _ops_tables(empty_db) == before


@pytest.mark.server
@pytest.mark.db
def test_downgrade_to_base_and_up_again(empty_db):
    migrate.upgrade(empty_db)
    assert migrate.downgrade(empty_db, "base") is None
    assert set(_ops_tables(empty_db)) == {"alembic_version"}
    assert not ({"raw", "marts", "restricted"} & _schemas(empty_db))
    assert migrate.upgrade(empty_db) == migrate.head_revision()
    assert {"ingest_batches", "quarantine"} <= set(_ops_tables(empty_db))


@pytest.mark.server
@pytest.mark.db
def test_a_loaded_batch_must_account_for_every_row(db_url):
    with psycopg.connect(db_url) as conn, pytest.raises(psycopg.errors.CheckViolation):
        conn.execute(
            """
            INSERT INTO ops.ingest_batches
              (source_format, source_name, content_sha256, status, rows_read, rows_staged,
               rows_quarantined)
            VALUES ('contract-csv', 'persons.csv', repeat('a', 64), 'loaded', 10, 8, 1)
            """
        )


@pytest.mark.server
@pytest.mark.db
def test_the_same_content_loads_only_once(db_url):
    insert = """
        INSERT INTO ops.ingest_batches (source_format, source_name, content_sha256, status)
        VALUES ('contract-csv', 'incidents.csv', repeat('b', 64), 'loaded')
    """
    with psycopg.connect(db_url) as conn:
        conn.execute(insert)
        with pytest.raises(psycopg.errors.UniqueViolation):
            conn.execute(insert)
