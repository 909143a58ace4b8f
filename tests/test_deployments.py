"""prefect.yaml: every deployment's entrypoint imports as a Prefect flow, and schedules run in the
agency's time zone."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest
import yaml
from prefect import Flow

from vnotify.config import load_config
from vnotify.paths import REPO_ROOT

DEPLOYMENTS = yaml.safe_load((REPO_ROOT / "prefect.yaml").read_text())["deployments"]


@pytest.mark.parametrize("deployment", DEPLOYMENTS, ids=[d["name"] for d in DEPLOYMENTS])
def test_entrypoint_imports_as_a_flow(deployment):
    path, name = deployment["entrypoint"].split(":")
    assert (REPO_ROOT / path).exists()
    module = importlib.import_module(Path(path).with_suffix("").as_posix().replace("/", "."))
    assert isinstance(getattr(module, name), Flow)


@pytest.mark.parametrize("deployment", DEPLOYMENTS, ids=[d["name"] for d in DEPLOYMENTS])
def test_schedules_are_in_the_agency_time_zone(deployment):
    zone = load_config().agency.time_zone
    assert all(schedule["timezone"] == zone for schedule in deployment.get("schedules", []))


def test_evaluate_runs_weekly_and_surveys_daily():
    (evaluate,) = [d for d in DEPLOYMENTS if d["name"] == "evaluate"]
    assert [s["cron"] for s in evaluate["schedules"]] == ["0 6 * * 1"]
    (surveys,) = [d for d in DEPLOYMENTS if d["name"] == "surveys"]
    assert [s["cron"] for s in surveys["schedules"]] == ["0 10 * * *"]
