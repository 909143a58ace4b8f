"""The deployments on a real Prefect server: `prefect server start`, the process work pool,
`prefect deploy --all` from the repository, a `prefect worker start --pool vnotify`, and the
`notify` deployment run by that worker against this test's database and the provider emulators.
A second test kills the worker mid-run: the zombie automation marks the run Crashed, a run asked
for meanwhile waits for the slot instead of being cancelled and then completes, and the `watch`
deployment e-mails the data engineers about the crash.

The small agency's exports are dropped where the agency configuration's extract looks; the run
lands and validates them, transforms them and sends what is due through the official SDKs. A
second run finds nothing new and sends nothing. The server's scheduler is off, so no scheduled run
of any deployment interferes; the schedules themselves are checked as the server stored them."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import psycopg
import pytest
import yaml

from simulate.emulators.server import run_in_thread
from simulate.emulators.settings import TEST_ACCOUNT_SID, TEST_AUTH_TOKEN, TEST_SENDGRID_API_KEY
from tests.conftest import BUILT_AS_OF
from vnotify.paths import REPO_ROOT, SAMPLE_CONFIG

pytestmark = pytest.mark.slow

PREFECT = str(Path(sys.executable).parent / "prefect")
TERMINAL = {"COMPLETED", "FAILED", "CRASHED", "CANCELLED"}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def _running(args: list[str], env: dict[str, str], log: Path) -> Iterator[subprocess.Popen]:
    """A long-running command in its own process group, stopped with the whole group."""
    with log.open("wb") as out:
        process = subprocess.Popen(
            args, env=env, cwd=REPO_ROOT, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
        try:
            yield process
        finally:
            for sig, wait in ((signal.SIGTERM, 15), (signal.SIGKILL, 5)):
                try:
                    os.killpg(process.pid, sig)
                except ProcessLookupError:
                    break
                try:
                    process.wait(wait)
                    break
                except subprocess.TimeoutExpired:
                    continue


def _prefect(env: dict[str, str], *args: str, timeout: float = 90) -> str:
    result = subprocess.run(
        [PREFECT, "--no-prompt", *args],
        env=env,
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert result.returncode == 0, (
        f"prefect {' '.join(args)}:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    )
    return result.stdout


def _wait_healthy(api: str, server: subprocess.Popen, log: Path, timeout: float = 90, auth=None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert server.poll() is None, f"the server exited:\n{log.read_text()[-3000:]}"
        try:
            if httpx.get(f"{api}/health", timeout=2, auth=auth).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise AssertionError(f"no /api/health within {timeout} s:\n{log.read_text()[-3000:]}")


def _api(api: str, method: str, path: str, auth=None, **kwargs) -> httpx.Response:
    """One API call, retried as Prefect's own client retries it: the server answers 503 (or 429)
    while its SQLite database is busy, which a loaded 2-core machine makes likely."""
    with httpx.Client(base_url=api, timeout=10, auth=auth) as client:
        for attempt in range(8):
            response = client.request(method, path, **kwargs)
            if response.status_code not in (429, 503):
                break
            time.sleep(min(2**attempt, 15))
    response.raise_for_status()
    return response


def _run_deployment(
    api: str, deployment_id: str, parameters: dict, worker_log: Path, timeout: float, auth=None
) -> dict:
    """Create a run of the deployment and wait for it to end; returns the flow run."""
    response = _api(
        api, "POST", f"/deployments/{deployment_id}/create_flow_run", auth, json={"parameters": parameters}
    )
    run_id = response.json()["id"]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run = _api(api, "GET", f"/flow_runs/{run_id}", auth).json()
        if run["state"]["type"] in TERMINAL:
            return run
        time.sleep(1)
    raise AssertionError(
        f"flow run still {run['state']['type']} after {timeout} s:\n{worker_log.read_text()[-4000:]}"
    )


def _agency_config(tmp_path: Path, drop: Path) -> Path:
    """The sample agency with its send window open all day and the drop folder in tmp_path."""
    text = (
        SAMPLE_CONFIG.read_text()
        .replace('start: "08:00"', 'start: "00:00"')
        .replace('end: "20:00"', 'end: "24:00"')
        .replace("drop_folder: ../.vnotify/incoming", f"drop_folder: {drop}")
    )
    assert f"drop_folder: {drop}" in text and 'end: "24:00"' in text
    path = tmp_path / "agency.yaml"
    path.write_text(text)
    return path


def _prefect_env(tmp_path: Path, api: str, **extra: str) -> dict[str, str]:
    """The server's and the CLI's environment: a SQLite database in tmp_path, no UI, no
    telemetry, and no scheduler (runs are created by the test only)."""
    return {
        **os.environ,
        "PREFECT_HOME": str(tmp_path / "prefect-home"),
        "PREFECT_API_URL": api,
        "PREFECT_API_DATABASE_CONNECTION_URL": f"sqlite+aiosqlite:///{tmp_path / 'prefect.db'}",
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_UI_ENABLED": "false",
        "PREFECT_CLI_PROMPT": "false",
        "PREFECT_SERVER_SERVICES_SCHEDULER_ENABLED": "false",
        "DO_NOT_TRACK": "1",
        **extra,
    }


def _worker_env(prefect_env: dict[str, str], url: str, config: Path) -> dict[str, str]:
    """A worker's environment: the test's database and agency, the emulators' credentials."""
    return {
        **prefect_env,
        "DATABASE_URL": url,
        "VNOTIFY_CONFIG": str(config),
        "VNOTIFY_REPO": str(REPO_ROOT),
        "TWILIO_ACCOUNT_SID": TEST_ACCOUNT_SID,
        "TWILIO_AUTH_TOKEN": TEST_AUTH_TOKEN,
        "SENDGRID_API_KEY": TEST_SENDGRID_API_KEY,
        "VNOTIFY_PUBLIC_BASE_URL": "http://127.0.0.1:9",  # status callbacks go nowhere
        "PREFECT_WORKER_QUERY_SECONDS": "1",
    }


def _outbox_states(url: str) -> Counter:
    with psycopg.connect(url) as conn:
        return Counter(state for (state,) in conn.execute("SELECT state FROM ops.outbox"))


def test_the_notify_deployment_runs_on_a_real_server_and_worker(clean_db_url, small_agency, tmp_path):
    drop = tmp_path / "incoming"
    shutil.copytree(small_agency, drop)
    config = _agency_config(tmp_path, drop)
    port = _free_port()
    api = f"http://127.0.0.1:{port}/api"
    prefect_env = _prefect_env(tmp_path, api)
    worker_env = _worker_env(prefect_env, clean_db_url, config)
    server_log, worker_log = tmp_path / "server.log", tmp_path / "worker.log"
    server_args = [PREFECT, "server", "start", "--host", "127.0.0.1", "--port", str(port)]
    worker_args = [PREFECT, "--no-prompt", "worker", "start", "--pool", "vnotify", "--type", "process"]
    with _running(server_args, prefect_env, server_log) as server, run_in_thread() as emulator:
        worker_env |= {"TWILIO_API_BASE_URL": emulator.base_url, "SENDGRID_API_HOST": emulator.base_url}
        _wait_healthy(api, server, server_log)
        _prefect(prefect_env, "work-pool", "create", "vnotify", "--type", "process")
        # The worker starts while the deployments are made: it waits for runs either way.
        with _running([*worker_args, "--install-policy", "never"], worker_env, worker_log):
            _prefect(prefect_env, "deploy", "--all", timeout=150)
            deployments = _api(api, "POST", "/deployments/filter", json={}).json()
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

            run = _run_deployment(api, notify["id"], {"as_of": BUILT_AS_OF}, worker_log, timeout=300)
            assert run["state"]["type"] == "COMPLETED", worker_log.read_text()[-4000:]
            store = emulator.store
            texts, emails = len(store.twilio_messages), len(store.sendgrid_messages)
            assert texts >= 3 and emails >= 1
            assert _outbox_states(clean_db_url) == {"sent": texts + emails}
            with psycopg.connect(clean_db_url) as conn:
                batches = conn.execute(
                    "SELECT status, expectations_passed FROM ops.ingest_batches"
                ).fetchall()
            assert batches == [("loaded", True)] * 4  # landed by extract and checked by GX in the worker
            assert sorted(p.name for p in (drop / "loaded").iterdir()) == sorted(
                p.name for p in small_agency.iterdir()
            )

            # Five minutes later: nothing new, nothing sent.
            again = _run_deployment(api, notify["id"], {"as_of": BUILT_AS_OF}, worker_log, timeout=90)
            assert again["state"]["type"] == "COMPLETED", worker_log.read_text()[-4000:]
            assert (len(store.twilio_messages), len(store.sendgrid_messages)) == (texts, emails)
            assert _outbox_states(clean_db_url) == {"sent": texts + emails}
            # Only the runs the test asked for: no schedule started one meanwhile.
            runs = _api(
                api, "POST", "/flow_runs/filter", json={"deployments": {"id": {"any_": [notify["id"]]}}}
            ).json()
            assert sorted(r["id"] for r in runs) == sorted([run["id"], again["id"]])


def _events(api: str, name: str, resource_id: str, auth=None) -> list[dict]:
    since = (dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)).isoformat()
    body = {
        "filter": {"event": {"name": [name]}, "resource": {"id": [resource_id]}, "occurred": {"since": since}}
    }
    return _api(api, "POST", "/events/filter", auth, json=body).json()["events"]


def _wait_for(what: str, check, timeout: float, log: Path):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(1)
    raise AssertionError(f"{what} not within {timeout} s:\n{log.read_text()[-4000:]}")


def test_a_killed_worker_does_not_wedge_the_schedule_and_someone_hears_of_it(
    clean_db_url, small_agency, tmp_path
):
    import psutil

    drop = tmp_path / "incoming"
    shutil.copytree(small_agency, drop)
    config = _agency_config(tmp_path, drop)
    assert "alert_emails: [data-engineering@example.gov]" in config.read_text()  # the sample's contact
    port = _free_port()
    api = f"http://127.0.0.1:{port}/api"
    prefect_env = _prefect_env(
        tmp_path,
        api,
        PREFECT_FLOWS_HEARTBEAT_FREQUENCY="30",
        # The server as deploy/prefect-server.env.example sets it: basic auth on every call.
        PREFECT_SERVER_API_AUTH_STRING="vnotify:test-only-secret",
        PREFECT_API_AUTH_STRING="vnotify:test-only-secret",
    )
    auth = ("vnotify", "test-only-secret")
    worker_env = _worker_env(prefect_env, clean_db_url, config)
    server_log = tmp_path / "server.log"
    first_log, second_log = tmp_path / "worker-1.log", tmp_path / "worker-2.log"
    server_args = [PREFECT, "server", "start", "--host", "127.0.0.1", "--port", str(port)]
    worker_args = [PREFECT, "--no-prompt", "worker", "start", "--pool", "vnotify", "--type", "process"]
    worker_args += ["--install-policy", "never"]
    with _running(server_args, prefect_env, server_log) as server, run_in_thread() as emulator:
        worker_env |= {"TWILIO_API_BASE_URL": emulator.base_url, "SENDGRID_API_HOST": emulator.base_url}
        _wait_healthy(api, server, server_log, auth=auth)
        assert httpx.post(f"{api}/deployments/filter", json={}, timeout=10).status_code == 401
        _prefect(prefect_env, "work-pool", "create", "vnotify", "--type", "process")
        _prefect(prefect_env, "deploy", "--all", timeout=150)
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
        deployments = {d["name"]: d for d in _api(api, "POST", "/deployments/filter", auth, json={}).json()}
        notify = deployments["notify"]
        assert notify["concurrency_options"]["collision_strategy"] == "ENQUEUE"

        def state_of(run_id: str) -> dict:
            return _api(api, "GET", f"/flow_runs/{run_id}", auth).json()

        def new_notify_run() -> str:
            body = {"parameters": {"as_of": BUILT_AS_OF}}
            return _api(api, "POST", f"/deployments/{notify['id']}/create_flow_run", auth, json=body).json()[
                "id"
            ]

        crashed_id = new_notify_run()
        with _running(worker_args, worker_env, first_log) as first_worker:
            _wait_for(
                "a heartbeat of the first run",
                lambda: _events(api, "prefect.flow-run.heartbeat", f"prefect.flow-run.{crashed_id}", auth),
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
        with _running(worker_args, worker_env, second_log):
            crashed = _wait_for(
                "the dead run marked Crashed",
                lambda: (run := state_of(crashed_id))["state"]["type"] == "CRASHED" and run,
                240,
                second_log,
            )
            assert "heartbeat" in crashed["state"]["message"]
            waited = _wait_for(
                "the waiting run to finish",
                lambda: (run := state_of(waiting_id))["state"]["type"] in TERMINAL and run,
                240,
                second_log,
            )
            assert waited["state"]["type"] == "COMPLETED", second_log.read_text()[-4000:]
            history = _api(api, "GET", "/flow_run_states/", auth, params={"flow_run_id": waiting_id}).json()
            states = [state["type"] for state in history]
            assert "CANCELLED" not in states

            watch = _run_deployment(api, deployments["watch"]["id"], {}, second_log, timeout=150, auth=auth)
        assert watch["state"]["type"] == "COMPLETED", second_log.read_text()[-4000:]
        alerts = [
            m
            for m in emulator.store.sendgrid_messages
            if m.personalizations[0].get("custom_args", {}).get("kind") == "staff_alert"
        ]
        assert [m.personalizations[0]["to"][0]["email"] for m in alerts] == ["data-engineering@example.gov"]
        text = next(c["value"] for c in alerts[0].content if c["type"] == "text/plain")
        assert f"({crashed_id}) ended Crashed" in text
