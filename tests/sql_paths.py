"""Which of the project's modules ran SQL in this test session, and which never did.

The `DATABASE_URL` pass of `make test` runs only the tests marked `server`: one test per SQL
path, not the whole suite twice. This plugin makes that choice checkable. Every statement sent
through psycopg (directly or under SQLAlchemy and dbt) is attributed to the innermost module of
this repository on the call stack; at the end of a session run with `--sql-paths`, every module
that `sql_modules()` finds must have run SQL, or the session fails and names the modules left
out. `tests/test_sql_paths.py` holds the checker itself to that (it fails when a module is left
out)."""

from __future__ import annotations

import json
import os
import re
import sys
import tempfile
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
PACKAGES = (
    "analytics",
    "expectations",
    "flows",
    "ingest",
    "monitoring",
    "notifications",
    "simulate",
    "vnotify",
    "warehouse",
    "web",
)
# Source that sends SQL: psycopg's execute/copy, a connection opened here, or a dbt invocation.
RUNS_SQL = re.compile(r"\.execute\(|\.executemany\(|\.copy\(|psycopg\.connect\(|dbtRunner\(|runner\.invoke\(")
# Migrations are run by alembic (their round trip is a test of its own, marked `server`).
NOT_ATTRIBUTED = ("warehouse/migrations/",)

_FOLDER_ENV = "VNOTIFY_SQL_PATHS_DIR"
_ran: set[str] = set()


def sql_modules(root: Path = REPO_ROOT) -> set[str]:
    """Every module of the packages whose source sends SQL."""
    found = set()
    for package in PACKAGES:
        for path in (root / package).rglob("*.py"):
            relative = path.relative_to(root).as_posix()
            if relative.startswith(NOT_ATTRIBUTED) or not RUNS_SQL.search(path.read_text(encoding="utf-8")):
                continue
            found.add(relative.removesuffix(".py").replace("/", "."))
    return found


# SQL that only the embedded server runs; the embedded pass runs it.
EMBEDDED_ONLY = {"warehouse.database": "creates the embedded server's databases"}


def missing_sql_paths(expected: set[str], ran: set[str]) -> list[str]:
    return sorted(expected - ran - set(EMBEDDED_ONLY))


def _modules_on_stack() -> set[str]:
    """The repository's modules on the call stack (tests excluded): each ran this statement,
    itself or through a helper (analytics.run's statements are written in analytics.store)."""
    found = set()
    frame = sys._getframe(2)
    while frame is not None:
        path = frame.f_code.co_filename
        if path.startswith(str(REPO_ROOT)) and "/.venv/" not in path and "/tests/" not in path:
            found.add(Path(path).relative_to(REPO_ROOT).with_suffix("").as_posix().replace("/", "."))
        frame = frame.f_back
    return found


def _recording(method):
    def wrapper(self, *args, **kwargs):
        _ran.update(_modules_on_stack())
        return method(self, *args, **kwargs)

    wrapper.__wrapped__ = method
    return wrapper


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--sql-paths",
        action="store_true",
        help="Fail the session unless every module that runs SQL ran some (the server pass).",
    )


def pytest_configure(config: pytest.Config) -> None:
    if not config.getoption("--sql-paths"):
        return
    if not hasattr(config, "workerinput"):  # the controller (or a run without -n): where workers report
        os.environ[_FOLDER_ENV] = tempfile.mkdtemp(prefix="vnotify-sql-paths-")
    import psycopg

    for cls in (psycopg.Cursor, psycopg.Connection):
        for name in ("execute", "executemany", "copy"):
            if hasattr(cls, name):
                setattr(cls, name, _recording(getattr(cls, name)))
    # dbt's adapter speaks psycopg2 (a C cursor): a dbt invocation counts as its caller's SQL.
    from dbt.cli.main import dbtRunner

    dbtRunner.invoke = _recording(dbtRunner.invoke)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if not session.config.getoption("--sql-paths"):
        return
    folder = Path(os.environ[_FOLDER_ENV])
    if hasattr(session.config, "workerinput"):  # an xdist worker: hand its modules to the controller
        (folder / f"{os.getpid()}.json").write_text(json.dumps(sorted(_ran)))
        return
    for report in folder.glob("*.json"):
        _ran.update(json.loads(report.read_text()))
    if exitstatus != 0:
        return
    if session.config.option.keyword or session.config.args not in ([], ["tests"]):
        return  # a part of the suite: only the whole pass must cover every path
    missing = missing_sql_paths(sql_modules(), _ran)
    if missing:
        session.config.get_terminal_writer().line(
            "SQL paths not run in this pass (mark a test of each `server`): " + ", ".join(missing), red=True
        )
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
