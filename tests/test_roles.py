"""vnotify_analyst reads marts and analytics and nothing else."""

from __future__ import annotations

import psycopg
import pytest

from warehouse.database import SCHEMAS

ANALYST = "vnotify_analyst"
READABLE = {"marts", "analytics"}


@pytest.fixture(scope="module")
def probe_tables(db_url):
    """One table per schema, created by the application role as dbt and the flows would."""
    with psycopg.connect(db_url, autocommit=True) as conn:
        for schema in SCHEMAS:
            conn.execute(f"CREATE TABLE IF NOT EXISTS {schema}.role_probe (x int)")
            conn.execute(f"INSERT INTO {schema}.role_probe VALUES (1)")
    yield
    with psycopg.connect(db_url, autocommit=True) as conn:
        for schema in SCHEMAS:
            conn.execute(f"DROP TABLE IF EXISTS {schema}.role_probe")


def _select_as_analyst(db_url: str, relation: str) -> list[tuple]:
    with psycopg.connect(db_url) as conn:
        conn.execute(f"SET ROLE {ANALYST}")
        return conn.execute(f"SELECT * FROM {relation}").fetchall()


@pytest.mark.server
@pytest.mark.parametrize("schema", sorted(READABLE))
def test_analyst_reads_marts_and_analytics(db_url, probe_tables, schema):
    assert _select_as_analyst(db_url, f"{schema}.role_probe") == [(1,)]


@pytest.mark.server
@pytest.mark.parametrize("schema", sorted(set(SCHEMAS) - READABLE))
def test_analyst_is_refused_everywhere_else(db_url, probe_tables, schema):
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        _select_as_analyst(db_url, f"{schema}.role_probe")


@pytest.mark.server
@pytest.mark.parametrize("relation", ["ops.ingest_batches", "ops.quarantine"])
def test_analyst_cannot_read_operational_tables(db_url, relation):
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        _select_as_analyst(db_url, relation)


@pytest.mark.server
@pytest.mark.parametrize("schema", sorted(SCHEMAS))
def test_analyst_cannot_write_anywhere(db_url, probe_tables, schema):
    with psycopg.connect(db_url) as conn, pytest.raises(psycopg.errors.InsufficientPrivilege):
        conn.execute(f"SET ROLE {ANALYST}")
        conn.execute(f"INSERT INTO {schema}.role_probe VALUES (2)")
