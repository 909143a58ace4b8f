"""A real Prefect server, worker and deployments for the tests that run them
(tests/test_prefect_server.py, tests/test_prefect_worker_crash.py): each test starts its own
server on a free port, so the two modules can run at the same time on different workers."""

from __future__ import annotations

import datetime as dt
import os
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

from simulate.emulators.settings import TEST_ACCOUNT_SID, TEST_AUTH_TOKEN, TEST_SENDGRID_API_KEY
from vnotify.paths import REPO_ROOT, SAMPLE_CONFIG

PREFECT = str(Path(sys.executable).parent / "prefect")
TERMINAL = {"COMPLETED", "FAILED", "CRASHED", "CANCELLED"}
# A process worker for the `vnotify` pool that never installs packages (the venv has them).
WORKER_COMMAND = [PREFECT, "--no-prompt", "worker", "start", "--pool", "vnotify", "--type", "process",
                  "--install-policy", "never"]  # fmt: skip


def server_command(port: int) -> list[str]:
    return [PREFECT, "server", "start", "--host", "127.0.0.1", "--port", str(port)]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def running(args: list[str], env: dict[str, str], log: Path) -> Iterator[subprocess.Popen]:
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


def prefect(env: dict[str, str], *args: str, timeout: float = 180) -> str:
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


def wait_healthy(api: str, server: subprocess.Popen, log: Path, timeout: float = 180, auth=None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert server.poll() is None, f"the server exited:\n{log.read_text()[-3000:]}"
        try:
            if httpx.get(f"{api}/health", timeout=2, auth=auth).status_code == 200:
                return
        except httpx.HTTPError:
            pass  # not listening yet: ask again after the pause below
        time.sleep(0.5)
    raise AssertionError(f"no /api/health within {timeout} s:\n{log.read_text()[-3000:]}")


def call_api(api: str, method: str, path: str, auth=None, **kwargs) -> httpx.Response:
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


def run_deployment(
    api: str, deployment_id: str, parameters: dict, worker_log: Path, timeout: float, auth=None
) -> dict:
    """Create a run of the deployment and wait for it to end; returns the flow run."""
    response = call_api(
        api, "POST", f"/deployments/{deployment_id}/create_flow_run", auth, json={"parameters": parameters}
    )
    run_id = response.json()["id"]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run = call_api(api, "GET", f"/flow_runs/{run_id}", auth).json()
        if run["state"]["type"] in TERMINAL:
            return run
        time.sleep(1)
    raise AssertionError(
        f"flow run still {run['state']['type']} after {timeout} s:\n{worker_log.read_text()[-4000:]}"
    )


def agency_config(tmp_path: Path, drop: Path) -> Path:
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


def prefect_env(tmp_path: Path, api: str, **extra: str) -> dict[str, str]:
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


def worker_env(prefect_env: dict[str, str], url: str, config: Path) -> dict[str, str]:
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


def outbox_states(url: str) -> Counter:
    with psycopg.connect(url) as conn:
        return Counter(state for (state,) in conn.execute("SELECT state FROM ops.outbox"))


def events(api: str, name: str, resource_id: str, auth=None) -> list[dict]:
    since = (dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)).isoformat()
    body = {
        "filter": {"event": {"name": [name]}, "resource": {"id": [resource_id]}, "occurred": {"since": since}}
    }
    return call_api(api, "POST", "/events/filter", auth, json=body).json()["events"]


def wait_for(what: str, check, timeout: float, log: Path):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(1)
    raise AssertionError(f"{what} not within {timeout} s:\n{log.read_text()[-4000:]}")
