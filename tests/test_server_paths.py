"""The SQL paths no other `server` test runs: the server probe `make test` uses, the demo's own
database and its follow-up calls, the eligibility summary commands print, and `vnotify
quarantine`. Small and fast, so the server pass need not run the whole demo."""

from __future__ import annotations

import datetime as dt
import itertools
import random
import secrets

import psycopg
import pytest
from sqlalchemy.engine import make_url


@pytest.mark.server
def test_the_probe_tells_a_server_that_answers_from_one_that_does_not(db_url):
    from warehouse.probe import answers

    assert answers(db_url)
    assert not answers("postgresql://127.0.0.1:9/nothing", timeout_s=1)


@pytest.mark.server
def test_the_demo_gets_a_fresh_database_of_its_own(server_admin_url):
    from vnotify.commands.demo_cmd import fresh_database

    name = f"vnotify_demo_{secrets.token_hex(4)}"
    url = fresh_database(server_admin_url, name)
    try:
        with psycopg.connect(url) as conn:
            conn.execute("CREATE TABLE leftover (x int)")
        url = fresh_database(server_admin_url, name)  # again: dropped and made anew
        with psycopg.connect(url) as conn:
            assert conn.execute("SELECT to_regclass('public.leftover')").fetchone() == (None,)
        assert make_url(url).database == name
    finally:
        with psycopg.connect(server_admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.mark.server
def test_the_demo_follow_up_calls_and_the_eligibility_summary_read_a_built_warehouse(built):
    from simulate.demo import followup_calls
    from warehouse.eligibility_summary import eligibility_summary

    calls = followup_calls(
        built, dt.date(2025, 3, 1), dt.date(2025, 4, 1), random.Random(1), itertools.count(1)
    )
    assert calls and all(call["report_number"].startswith("SV25-") for call in calls)
    assert not any("phone" in key or "name" in key for call in calls for key in call if call[key])
    summary = eligibility_summary(built)
    assert summary.decided > 0


@pytest.mark.server
def test_the_quarantine_commands_read_the_rows_set_aside(built, monkeypatch):
    import json

    from typer.testing import CliRunner

    from vnotify.cli import app

    monkeypatch.setenv("DATABASE_URL", built)
    listed = CliRunner().invoke(app, ["quarantine", "list", "--json"])
    assert listed.exit_code == 0, listed.output
    rows = json.loads(listed.output.strip().splitlines()[-1])["rows"]
    assert rows and all(row["reason"] for row in rows)
    shown = CliRunner().invoke(app, ["quarantine", "show", str(rows[0]["quarantine_id"]), "--json"])
    assert shown.exit_code == 0, shown.output
