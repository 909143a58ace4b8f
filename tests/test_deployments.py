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


EXPECTED_SCHEDULES = {
    "notify": ["*/5 * * * *"],  # every five minutes
    "surveys": ["0 10 * * *"],  # daily, inside the send window
    "evaluate": ["0 6 * * 1"],  # weekly, Monday morning
    "retention": ["30 2 * * *"],  # nightly
    "docs": ["0 3 * * *"],  # nightly
    "watch": ["*/5 * * * *"],  # every five minutes: alerts
}


def test_each_flow_has_its_deployment_on_its_schedule():
    assert {d["name"]: [s["cron"] for s in d["schedules"]] for d in DEPLOYMENTS} == EXPECTED_SCHEDULES


def test_every_deployment_runs_on_the_process_pool_from_the_repo():
    config = yaml.safe_load((REPO_ROOT / "prefect.yaml").read_text())
    assert {d["work_pool"]["name"] for d in DEPLOYMENTS} == {"vnotify"}
    (step,) = config["pull"]
    assert step["prefect.deployments.steps.set_working_directory"]["directory"] == "{{ $VNOTIFY_REPO }}"


def test_notify_runs_one_at_a_time():
    """A run that finds another going (a manual run during a scheduled one) waits for the slot
    instead of being cancelled; the real server's test kills a worker to show the slot is freed."""
    (notify,) = [d for d in DEPLOYMENTS if d["name"] == "notify"]
    assert notify["concurrency_limit"] == {"limit": 1, "collision_strategy": "ENQUEUE"}


@pytest.mark.parametrize("deployment", DEPLOYMENTS, ids=[d["name"] for d in DEPLOYMENTS])
def test_every_flow_has_a_timeout(deployment):
    """A run that outlasts its timeout ends Failed and frees its slot: nothing wedges the schedule."""
    path, name = deployment["entrypoint"].split(":")
    module = importlib.import_module(Path(path).with_suffix("").as_posix().replace("/", "."))
    assert 0 < getattr(module, name).timeout_seconds <= 3600
