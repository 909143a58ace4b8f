"""The server pass's completeness check (tests/sql_paths.py): it finds the modules that run SQL
and fails when one of them ran none."""

from __future__ import annotations

from sql_paths import missing_sql_paths, sql_modules


def test_every_module_that_runs_sql_is_found():
    found = sql_modules()
    for module in ("notifications.outbox", "warehouse.transform", "web.pages", "ingest.rms_extract"):
        assert module in found
    assert "notifications.window" not in found  # pure: no SQL
    assert not any(module.startswith("warehouse.migrations") for module in found)  # alembic's round trip


def test_a_module_left_out_of_the_pass_fails_it():
    expected = sql_modules()
    assert missing_sql_paths(expected, expected) == []
    assert missing_sql_paths(expected, expected - {"monitoring.alerts"}) == ["monitoring.alerts"]
