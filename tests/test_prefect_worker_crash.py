"""A worker killed mid-run on a real Prefect server (tests/prefect_servers.py): the zombie
automation marks the run Crashed, a run asked for meanwhile waits for the slot instead of being
cancelled and then completes, and the `watch` deployment e-mails the data engineers about the
crash. A module of its own so that it and tests/test_prefect_server.py, minutes each, can run
on different workers."""

from __future__ import annotations

import shutil
import subprocess
import sys

import httpx
import prefect_servers as harness
import pytest

from simulate.emulators.server import run_in_thread
from tests.conftest import BUILT_AS_OF
from vnotify.paths import REPO_ROOT

pytestmark = pytest.mark.slow(minutes=4)


def test_a_killed_worker_does_not_wedge_the_schedule_and_someone_hears_of_it(
    clean_db_url, small_agency, tmp_path
):
    import psutil

    drop = tmp_path / "incoming"
    shutil.copytree(small_agency, drop)
    config = harness.agency_config(tmp_path, drop)
    assert "alert_emails: [data-engineering@example.gov]" in config.read_text()  # the sample's contact
    port = harness.free_port()
    api = f"http://127.0.0.1:{port}/api"
    prefect_env = harness.prefect_env(
        tmp_path,
        api,
        PREFECT_FLOWS_HEARTBEAT_FREQUENCY="30",
        # The server as deploy/prefect-server.env.example sets it: basic auth on every call.
        PREFECT_SERVER_API_AUTH_STRING="vnotify:test-only-secret",
        PREFECT_API_AUTH_STRING="vnotify:test-only-secret",
    )
    auth = ("vnotify", "test-only-secret")
    worker_env = harness.worker_env(prefect_env, clean_db_url, config)
    server_log = tmp_path / "server.log"
    first_log, second_log = tmp_path / "worker-1.log", tmp_path / "worker-2.log"
    with (
        harness.running(harness.server_command(port), prefect_env, server_log) as server,
        run_in_thread() as emulator,
    ):
        worker_env |= {"TWILIO_API_BASE_URL": emulator.base_url, "SENDGRID_API_HOST": emulator.base_url}
        harness.wait_healthy(api, server, server_log, auth=auth)
        assert httpx.post(f"{api}/deployments/filter", json={}, timeout=10).status_code == 401
        harness.prefect(prefect_env, "work-pool", "create", "vnotify", "--type", "process")
        harness.prefect(prefect_env, "deploy", "--all", timeout=300)
        # What `vnotify ops prefect-setup` creates, with a shorter silence for the test.
        setup = subprocess.run(
            [
                sys.executable,
                "-c",
                "import datetime as d; from monitoring.prefect_setup import ensure_zombie_automation as e;"
                " print(e(d.timedelta(seconds=45)))",
            ],
            env=prefect_env,
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert setup.returncode == 0, setup.stderr[-2000:]
        deployments = {
            d["name"]: d for d in harness.call_api(api, "POST", "/deployments/filter", auth, json={}).json()
        }
        notify = deployments["notify"]
        assert notify["concurrency_options"]["collision_strategy"] == "ENQUEUE"

        def state_of(run_id: str) -> dict:
            return harness.call_api(api, "GET", f"/flow_runs/{run_id}", auth).json()

        def new_notify_run() -> str:
            body = {"parameters": {"as_of": BUILT_AS_OF}}
            return harness.call_api(
                api, "POST", f"/deployments/{notify['id']}/create_flow_run", auth, json=body
            ).json()["id"]

        crashed_id = new_notify_run()
        with harness.running(harness.WORKER_COMMAND, worker_env, first_log) as first_worker:
            harness.wait_for(
                "a heartbeat of the first run",
                lambda: harness.events(
                    api, "prefect.flow-run.heartbeat", f"prefect.flow-run.{crashed_id}", auth
                ),
                150,
                first_log,
            )
            # kill -9 of the worker and the run it started, mid-run.
            worker = psutil.Process(first_worker.pid)
            for process in [worker, *worker.children(recursive=True)]:
                process.kill()
        assert state_of(crashed_id)["state"]["type"] == "RUNNING"

        # Asked for while the dead run holds the slot: it waits, it is not cancelled.
        waiting_id = new_notify_run()
        with harness.running(harness.WORKER_COMMAND, worker_env, second_log):
            crashed = harness.wait_for(
                "the dead run marked Crashed",
                lambda: (run := state_of(crashed_id))["state"]["type"] == "CRASHED" and run,
                240,
                second_log,
            )
            assert "heartbeat" in crashed["state"]["message"]
            waited = harness.wait_for(
                "the waiting run to finish",
                lambda: (run := state_of(waiting_id))["state"]["type"] in harness.TERMINAL and run,
                240,
                second_log,
            )
            assert waited["state"]["type"] == "COMPLETED", second_log.read_text()[-4000:]
            history = harness.call_api(
                api, "GET", "/flow_run_states/", auth, params={"flow_run_id": waiting_id}
            ).json()
            states = [state["type"] for state in history]
            assert "CANCELLED" not in states

            watch = harness.run_deployment(
                api, deployments["watch"]["id"], {}, second_log, timeout=300, auth=auth
            )
        assert watch["state"]["type"] == "COMPLETED", second_log.read_text()[-4000:]
        alerts = [
            m
            for m in emulator.store.sendgrid_messages
            if m.personalizations[0].get("custom_args", {}).get("kind") == "staff_alert"
        ]
        assert [m.personalizations[0]["to"][0]["email"] for m in alerts] == ["data-engineering@example.gov"]
        text = next(c["value"] for c in alerts[0].content if c["type"] == "text/plain")
        assert f"({crashed_id}) ended Crashed" in text
