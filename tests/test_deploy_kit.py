"""The operations kit in deploy/ agrees with the code and the docs: every unit starts a command
that exists with options it accepts, the environment template names every variable the
operations guide lists, and nothing secret is filled in."""

from __future__ import annotations

import configparser
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from vnotify.paths import REPO_ROOT

DEPLOY = REPO_ROOT / "deploy"
UNITS = sorted((DEPLOY / "systemd").glob("*.service"))
TEST_ONLY = {"TWILIO_API_BASE_URL", "SENDGRID_API_HOST"}


def _unit(path: Path) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=True, interpolation=None)
    parser.optionxform = str  # systemd keys are case-sensitive
    parser.read_string(path.read_text())
    return parser


@pytest.mark.parametrize("unit", UNITS, ids=lambda p: p.name)
def test_each_unit_starts_a_command_that_accepts_its_options(unit):
    service = _unit(unit)["Service"]
    command = shlex.split(service["ExecStart"])
    assert command[0].startswith("/srv/vnotify/.venv/bin/")
    program = Path(sys.executable).parent / Path(command[0]).name
    # Every option given must be one the command knows: ask it for help with the same options.
    result = subprocess.run(
        [str(program), *command[1:], "--help"], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert service["Restart"] == "always"
    assert service["EnvironmentFile"].startswith("/etc/vnotify/")
    assert service["User"] != "root"


def _documented_variables() -> set[str]:
    guide = (REPO_ROOT / "docs" / "operations.md").read_text()
    table = guide.split("### Environment of the workers", 1)[1].split("\n### ", 1)[0]
    return {name for name in re.findall(r"^\| `([A-Z][A-Z0-9_]+)`", table, flags=re.M)} - TEST_ONLY


def _template(path: Path) -> dict[str, str]:
    return dict(
        line.split("=", 1) for line in path.read_text().splitlines() if line and not line.startswith("#")
    )


def test_the_environment_template_names_every_documented_variable_and_no_secret():
    template = _template(DEPLOY / "vnotify.env.example")
    documented = _documented_variables()
    assert documented and documented <= set(template), documented - set(template)
    for name in ("VNOTIFY_KEY_SECRET", "TWILIO_AUTH_TOKEN", "SENDGRID_API_KEY", "PREFECT_API_AUTH_STRING"):
        assert "CHANGE-ME" in template[name]
    assert template["PREFECT_FLOWS_HEARTBEAT_FREQUENCY"] == "30"


def test_the_prefect_server_runs_with_authentication_and_without_telemetry():
    server = _template(DEPLOY / "prefect-server.env.example")
    client = _template(DEPLOY / "vnotify.env.example")
    assert server["PREFECT_SERVER_API_AUTH_STRING"] == client["PREFECT_API_AUTH_STRING"]
    for env in (server, client):
        assert env["PREFECT_SERVER_ANALYTICS_ENABLED"] == "false" and env["DO_NOT_TRACK"] == "1"
    unit = _unit(DEPLOY / "systemd" / "vnotify-prefect-server.service")["Service"]
    assert "--host 127.0.0.1" in unit["ExecStart"]  # TLS and the network are nginx's
