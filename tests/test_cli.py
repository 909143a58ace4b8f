"""The command line: help everywhere, JSON as the last line, the database lifecycle."""

from __future__ import annotations

import json
import os

import pytest
import typer
from typer.testing import CliRunner

from vnotify.cli import app
from vnotify.paths import SAMPLE_CONFIG
from warehouse.migrate import head_revision

runner = CliRunner()


def _command_paths(command, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    paths = [prefix]
    if hasattr(command, "commands"):  # a group (typer vendors its own click)
        for name, sub in command.commands.items():
            paths += _command_paths(sub, (*prefix, name))
    return paths


ALL_COMMANDS = _command_paths(typer.main.get_command(app))


def test_the_issue_commands_exist():
    expected = {
        ("db", "start"),
        ("db", "stop"),
        ("db", "status"),
        ("db", "url"),
        ("db", "migrate"),
        ("config", "check"),
        ("simulate", "agency"),
        ("demo",),
    }
    assert expected <= set(ALL_COMMANDS)


@pytest.mark.parametrize("path", ALL_COMMANDS, ids=lambda p: " ".join(p) or "vnotify")
def test_every_command_has_help(path):
    result = runner.invoke(app, [*path, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage:" in result.output
    assert len(result.output.strip().splitlines()) > 3


def _last_json(output: str) -> dict:
    return json.loads(output.strip().splitlines()[-1])


def test_config_check_json_on_the_sample():
    result = runner.invoke(app, ["config", "check", "--json"])
    assert result.exit_code == 0, result.output
    assert _last_json(result.output) | {"valid": True} == _last_json(result.output)
    assert _last_json(result.output)["divisions"] == ["WEST", "MID", "SOUTH", "EAST"]


def test_config_check_fails_with_the_field_and_line(tmp_path):
    bad = tmp_path / "agency.yaml"
    sample = SAMPLE_CONFIG.read_text()
    bad.write_text(sample.replace("holdout_share: 0.5", "holdout_share: 0"))
    result = runner.invoke(app, ["config", "check", str(bad), "--json"])
    assert result.exit_code == 2
    report = _last_json(result.output)
    assert report["valid"] is False
    line = sample.splitlines().index("  holdout_share: 0.5") + 1
    assert any(f"agency.yaml:{line}: experiment.holdout_share" in e for e in report["errors"])


@pytest.mark.db
def test_db_status_and_migrate_report_the_head(db_url):
    result = runner.invoke(app, ["db", "migrate", "--json"])
    assert result.exit_code == 0, result.output
    migrated = _last_json(result.output)
    assert migrated["to"] == migrated["head"] == head_revision()
    status = _last_json(runner.invoke(app, ["db", "status", "--json"]).output)
    assert status["embedded"] is False and status["revision"] == head_revision()


@pytest.mark.skipif(bool(os.environ.get("DATABASE_URL")), reason="embedded lifecycle only")
def test_embedded_lifecycle_through_the_cli(tmp_path, monkeypatch):
    monkeypatch.setenv("VNOTIFY_HOME", str(tmp_path))
    monkeypatch.delenv("DATABASE_URL", raising=False)
    started = _last_json(runner.invoke(app, ["db", "start", "--json"]).output)
    assert started["embedded"] is True and started["revision"] == head_revision()
    status = _last_json(runner.invoke(app, ["db", "status", "--json"]).output)
    assert status["running"] is True and status["pgdata"].startswith(str(tmp_path))
    assert _last_json(runner.invoke(app, ["db", "stop", "--json"]).output)["stopped"] is True
    assert _last_json(runner.invoke(app, ["db", "status", "--json"]).output)["running"] is False
    assert _last_json(runner.invoke(app, ["db", "stop", "--json"]).output)["stopped"] is False
