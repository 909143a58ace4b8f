"""Which of the project's SQL call sites ran in this test session, and which never did.

The `DATABASE_URL` pass of `make test` runs only the tests marked `server`: each statement once,
not the whole suite twice. This plugin makes that choice checkable. A SQL call site is a call in
the project's source that sends SQL: psycopg's `execute`, `executemany` or `copy`, or a dbt
`runner.invoke` (dbt's adapter speaks psycopg2, so a dbt invocation counts as its caller's SQL).
`sql_call_sites()` finds them all in the source; at run time every statement sent through psycopg
or dbt is attributed to the innermost call site of this repository on the call stack. At the end
of a session run with `--sql-paths`, every call site must have run, or the session fails and names
the sites left out. `tests/test_sql_paths.py` holds the checker to that (it fails when a site is
left out).

`--sql-paths-per-test=FILE` writes, for every test, the call sites it ran and its duration: the
data for choosing which tests to mark `server` (docs/contributing.md).
"""

from __future__ import annotations

import ast
import json
import os
import sys
import tempfile
import time
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
# The method names that send SQL: psycopg's, and dbt's runner.
SQL_METHODS = frozenset({"execute", "executemany", "copy", "invoke"})
# Migrations are run by alembic (their round trip is a test of its own, marked `server`).
NOT_ATTRIBUTED = ("warehouse/migrations/",)

# Call sites that match SQL_METHODS but that the server pass need not run, with the reason.
NOT_ON_THE_SERVER = {
    "warehouse/database.py": "creates the embedded server's databases; the embedded pass runs it",
}

_FOLDER_ENV = "VNOTIFY_SQL_PATHS_DIR"
_ran: set[str] = set()
_ran_by_test: set[str] = set()


def sql_call_sites(root: Path = REPO_ROOT) -> set[str]:
    """Every call in the packages' source that sends SQL, as `path:line` (the call's first line,
    which is where Python reports a running call)."""
    found = set()
    for package in PACKAGES:
        for path in (root / package).rglob("*.py"):
            relative = path.relative_to(root).as_posix()
            if relative.startswith(NOT_ATTRIBUTED):
                continue
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if (
                    isinstance(node, ast.Call)
                    and isinstance(node.func, ast.Attribute)
                    and node.func.attr in SQL_METHODS
                ):
                    found.add(f"{relative}:{node.lineno}")
    return found


def missing_sql_call_sites(expected: set[str], ran: set[str]) -> list[str]:
    left_out = {site for site in expected - ran if site.split(":")[0] not in NOT_ON_THE_SERVER}
    return sorted(left_out, key=lambda site: (site.split(":")[0], int(site.split(":")[1])))


def _innermost_call_site() -> str | None:
    """The repository's innermost frame on the call stack (tests excluded), as `path:line`."""
    frame = sys._getframe(2)
    root = str(REPO_ROOT) + os.sep
    while frame is not None:
        path = frame.f_code.co_filename
        if path.startswith(root) and "/.venv/" not in path and "/tests/" not in path:
            return f"{path.removeprefix(root)}:{frame.f_lineno}"
        frame = frame.f_back
    return None


def _recording(method):
    def wrapper(self, *args, **kwargs):
        site = _innermost_call_site()
        if site is not None:
            _ran.add(site)
            _ran_by_test.add(site)
        return method(self, *args, **kwargs)

    wrapper.__wrapped__ = method
    return wrapper


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--sql-paths",
        action="store_true",
        help="Fail the session unless every SQL call site in the source ran (the server pass).",
    )
    parser.addoption(
        "--sql-paths-per-test",
        metavar="FILE",
        help="Write each test's SQL call sites and duration to FILE (JSON lines).",
    )


def _recording_wanted(config: pytest.Config) -> bool:
    return bool(config.getoption("--sql-paths") or config.getoption("--sql-paths-per-test"))


def pytest_configure(config: pytest.Config) -> None:
    if not _recording_wanted(config):
        return
    if not hasattr(config, "workerinput"):  # the controller (or a run without -n): where workers report
        os.environ[_FOLDER_ENV] = tempfile.mkdtemp(prefix="vnotify-sql-paths-")
    import psycopg

    # A server-side cursor (SQLAlchemy's stream_results) has an execute of its own.
    for cls in (psycopg.Cursor, psycopg.ServerCursor, psycopg.Connection):
        for name in ("execute", "executemany", "copy"):
            if hasattr(cls, name):
                setattr(cls, name, _recording(getattr(cls, name)))
    from dbt.cli.main import dbtRunner

    dbtRunner.invoke = _recording(dbtRunner.invoke)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem):
    if not item.config.getoption("--sql-paths-per-test"):
        yield
        return
    _ran_by_test.clear()
    started = time.perf_counter()
    yield
    line = {
        "test": item.nodeid,
        "seconds": round(time.perf_counter() - started, 2),
        "sites": sorted(_ran_by_test),
    }
    with (Path(os.environ[_FOLDER_ENV]) / f"tests-{os.getpid()}.jsonl").open("a") as out:
        out.write(json.dumps(line) + "\n")


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if not _recording_wanted(session.config):
        return
    folder = Path(os.environ[_FOLDER_ENV])
    if hasattr(session.config, "workerinput"):  # an xdist worker: hand its call sites to the controller
        (folder / f"{os.getpid()}.json").write_text(json.dumps(sorted(_ran)))
        return
    per_test = session.config.getoption("--sql-paths-per-test")
    if per_test:
        with Path(per_test).open("w") as out:
            for part in sorted(folder.glob("tests-*.jsonl")):
                out.write(part.read_text())
    if not session.config.getoption("--sql-paths"):
        return
    for report in folder.glob("*.json"):
        _ran.update(json.loads(report.read_text()))
    if exitstatus != 0:
        return
    if session.config.option.keyword or session.config.args not in ([], ["tests"]):
        return  # a part of the suite: only the whole pass must cover every path
    missing = missing_sql_call_sites(sql_call_sites(), _ran)
    if missing:
        session.config.get_terminal_writer().line(
            "SQL call sites not run in this pass (mark a test that runs each `server`): "
            + ", ".join(missing),
            red=True,
        )
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
