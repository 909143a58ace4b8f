"""The deployments on a real Prefect server: `prefect server start`, the process work pool,
`prefect deploy --all` from the repository, a `prefect worker start --pool vnotify`, and the
`notify` deployment run by that worker against this test's database and the provider emulators.
(A killed worker: tests/test_prefect_worker_crash.py.)

The small agency's exports are dropped where the agency configuration's extract looks; the run
lands and validates them, transforms them and sends what is due through the official SDKs. A
second run finds nothing new and sends nothing. The server's scheduler is off, so no scheduled run
of any deployment interferes; the schedules themselves are checked as the server stored them."""

from __future__ import annotations

import shutil

import prefect_servers as harness
import psycopg
import pytest
import yaml

from simulate.emulators.server import run_in_thread
from tests.conftest import BUILT_AS_OF
from vnotify.paths import REPO_ROOT

pytestmark = pytest.mark.slow(minutes=3)


def test_the_notify_deployment_runs_on_a_real_server_and_worker(clean_db_url, small_agency, tmp_path):
    drop = tmp_path / "incoming"
    shutil.copytree(small_agency, drop)
    config = harness.agency_config(tmp_path, drop)
    port = harness.free_port()
    api = f"http://127.0.0.1:{port}/api"
    prefect_env = harness.prefect_env(tmp_path, api)
    worker_env = harness.worker_env(prefect_env, clean_db_url, config)
    server_log, worker_log = tmp_path / "server.log", tmp_path / "worker.log"
    with (
        harness.running(harness.server_command(port), prefect_env, server_log) as server,
        run_in_thread() as emulator,
    ):
        worker_env |= {"TWILIO_API_BASE_URL": emulator.base_url, "SENDGRID_API_HOST": emulator.base_url}
        harness.wait_healthy(api, server, server_log)
        harness.prefect(prefect_env, "work-pool", "create", "vnotify", "--type", "process")
        # The worker starts while the deployments are made: it waits for runs either way.
        with harness.running(harness.WORKER_COMMAND, worker_env, worker_log):
            harness.prefect(prefect_env, "deploy", "--all", timeout=300)
            deployments = harness.call_api(api, "POST", "/deployments/filter", json={}).json()
            stored = {
                d["name"]: [(s["schedule"]["cron"], s["schedule"]["timezone"]) for s in d["schedules"]]
                for d in deployments
            }
            planned = yaml.safe_load((REPO_ROOT / "prefect.yaml").read_text())["deployments"]
            assert stored == {
                d["name"]: [(s["cron"], s["timezone"]) for s in d["schedules"]] for d in planned
            }
            assert {d["work_pool_name"] for d in deployments} == {"vnotify"}
            (notify,) = [d for d in deployments if d["name"] == "notify"]
            # The repository folder is read from the worker's environment when a run starts.
            assert notify["pull_steps"] == [
                {"prefect.deployments.steps.set_working_directory": {"directory": "{{ $VNOTIFY_REPO }}"}}
            ]

            run = harness.run_deployment(api, notify["id"], {"as_of": BUILT_AS_OF}, worker_log, timeout=300)
            assert run["state"]["type"] == "COMPLETED", worker_log.read_text()[-4000:]
            store = emulator.store
            texts, emails = len(store.twilio_messages), len(store.sendgrid_messages)
            assert texts >= 3 and emails >= 1
            assert harness.outbox_states(clean_db_url) == {"sent": texts + emails}
            with psycopg.connect(clean_db_url) as conn:
                batches = conn.execute(
                    "SELECT status, expectations_passed FROM ops.ingest_batches"
                ).fetchall()
            assert batches == [("loaded", True)] * 4  # landed by extract and checked by GX in the worker
            assert sorted(p.name for p in (drop / "loaded").iterdir()) == sorted(
                p.name for p in small_agency.iterdir()
            )

            # Five minutes later: nothing new, nothing sent.
            again = harness.run_deployment(api, notify["id"], {"as_of": BUILT_AS_OF}, worker_log, timeout=300)
            assert again["state"]["type"] == "COMPLETED", worker_log.read_text()[-4000:]
            assert (len(store.twilio_messages), len(store.sendgrid_messages)) == (texts, emails)
            assert harness.outbox_states(clean_db_url) == {"sent": texts + emails}
            # Only the runs the test asked for: no schedule started one meanwhile.
            runs = harness.call_api(
                api, "POST", "/flow_runs/filter", json={"deployments": {"id": {"any_": [notify["id"]]}}}
            ).json()
            assert sorted(r["id"] for r in runs) == sorted([run["id"], again["id"]])
