"""The embedded PostgreSQL survives the death of whatever started it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psycopg
import pytest

from warehouse.database import embedded_status, start_embedded, stop_embedded

pytestmark = pytest.mark.skipif(
    bool(os.environ.get("DATABASE_URL")), reason="embedded-server tests run in the embedded pass"
)

STARTER = """
import sys, time
from warehouse.database import start_embedded
from pathlib import Path
url = start_embedded(Path(sys.argv[1]))
import psycopg
with psycopg.connect(url, autocommit=True) as conn:
    conn.execute("CREATE TABLE IF NOT EXISTS survives (note text)")
    conn.execute("INSERT INTO survives VALUES ('written before the crash')")
print("ready", flush=True)
time.sleep(600)
"""


@pytest.fixture
def pgdata(tmp_path: Path):
    path = tmp_path / "pgdata"
    yield path
    stop_embedded(path)


def _start_in_child(pgdata: Path) -> subprocess.Popen:
    child = subprocess.Popen(
        [sys.executable, "-c", STARTER, str(pgdata)],
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parents[1],
    )
    assert child.stdout.readline().strip() == "ready"
    return child


def _notes(url: str) -> list[str]:
    with psycopg.connect(url) as conn:
        return [note for (note,) in conn.execute("SELECT note FROM survives").fetchall()]


def test_server_is_reused_after_the_starting_process_is_killed(pgdata):
    child = _start_in_child(pgdata)
    postmaster = embedded_status(pgdata).pid
    child.send_signal(signal.SIGKILL)
    child.wait(10)

    url = start_embedded(pgdata)
    assert embedded_status(pgdata).pid == postmaster  # the same server, not a second one
    assert _notes(url) == ["written before the crash"]


def test_server_restarts_after_the_postmaster_itself_is_killed(pgdata):
    child = _start_in_child(pgdata)
    child.send_signal(signal.SIGKILL)
    child.wait(10)
    postmaster = embedded_status(pgdata).pid
    os.kill(postmaster, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while embedded_status(pgdata).running and time.monotonic() < deadline:
        time.sleep(0.1)

    url = start_embedded(pgdata)
    status = embedded_status(pgdata)
    assert status.running and status.pid != postmaster
    assert _notes(url) == ["written before the crash"]  # crash recovery replayed the WAL


def test_stop_then_start_keeps_data(pgdata):
    url = start_embedded(pgdata)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE TABLE survives (note text)")
        conn.execute("INSERT INTO survives VALUES ('kept')")
    assert stop_embedded(pgdata) is True
    assert not embedded_status(pgdata).running
    assert stop_embedded(pgdata) is False
    assert _notes(start_embedded(pgdata)) == ["kept"]
