"""Running the emulators: in a thread (tests), in a child process (benchmarks), or blocking (CLI).

    with run_in_thread(EmulatorSettings()) as emulator:
        emulator.base_url        # "http://127.0.0.1:<free port>"
        emulator.store           # the EmulatorStore (app.state.emulator)
        emulator.wait_idle()     # until every status callback / event POST has gone out

    with run_in_process(EmulatorSettings(), port=0) as base_url:
        ...                      # a separate uvicorn process; GET {base_url}/__emulator/stats

We bind the listening socket ourselves before uvicorn starts, so port 0 works and the URL is known
(and connectable: the kernel queues connections) before the server loop runs.
"""

from __future__ import annotations

import os
import queue
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import uvicorn

from simulate.emulators.app import EmulatorStore, create_app
from simulate.emulators.settings import EmulatorSettings
from web.server import RunningServer, base_url_of, bind_socket, uvicorn_config

READY_PREFIX = "VNOTIFY_EMULATOR_READY "
PROJECT_ROOT = Path(__file__).resolve().parents[2]


class RunningEmulator(RunningServer):
    """A running emulator app; `.store` is its EmulatorStore."""

    @property
    def store(self) -> EmulatorStore:
        return self.app.state.emulator

    @property
    def settings(self) -> EmulatorSettings:
        return self.app.state.settings

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """Block until no webhook task is pending (callbacks and events have been POSTed)."""
        deadline = time.monotonic() + timeout
        while self.store.pending_webhooks:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.01)
        return True

    def __enter__(self) -> RunningEmulator:
        return self


def run_in_thread(
    settings: EmulatorSettings | None = None, host: str = "127.0.0.1", port: int = 0
) -> RunningEmulator:
    """Start both emulators on a daemon thread; returns once they accept connections."""
    return RunningEmulator(create_app(settings or EmulatorSettings()), host, port)


def serve(
    settings: EmulatorSettings | None = None,
    host: str = "127.0.0.1",
    port: int = 8025,
    on_ready: Callable[[str], None] | None = None,
) -> None:
    """Serve until interrupted (Ctrl-C / SIGTERM); `on_ready(base_url)` once the port is bound."""
    sock = bind_socket(host, port)
    if on_ready is not None:
        on_ready(base_url_of(sock))
    uvicorn.Server(uvicorn_config(create_app(settings or EmulatorSettings()), quiet=False)).run(
        sockets=[sock]
    )


@contextmanager
def run_in_process(
    settings: EmulatorSettings | None = None,
    host: str = "127.0.0.1",
    port: int = 0,
    startup_timeout: float = 30.0,
) -> Iterator[str]:
    """Run the emulators in a child `python -m simulate.emulators` (its own GIL, as in production);
    yields the base URL and stops the child (SIGTERM, then SIGKILL) on exit."""
    settings = settings or EmulatorSettings()
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(PROJECT_ROOT), env.get("PYTHONPATH")]))
    command = [
        sys.executable, "-m", "simulate.emulators",
        "--host", host, "--port", str(port), "--settings-json", settings.to_json(), "--announce",
    ]  # fmt: skip
    child = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, env=env)
    try:
        yield _await_ready(child, startup_timeout)
    finally:
        child.terminate()
        try:
            child.wait(10)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait(10)


def _await_ready(child: subprocess.Popen[str], timeout: float) -> str:
    """Read the child's stdout (on a helper thread, so the timeout holds) until it announces its URL."""
    lines: queue.Queue[str | None] = queue.Queue()

    def pump() -> None:
        assert child.stdout is not None
        for line in child.stdout:
            lines.put(line)
        lines.put(None)

    threading.Thread(target=pump, name="emulator-stdout", daemon=True).start()
    deadline = time.monotonic() + timeout
    while True:
        try:
            line = lines.get(timeout=max(deadline - time.monotonic(), 0.01))
        except queue.Empty:
            raise RuntimeError("emulator process did not start in time") from None
        if line is None:
            raise RuntimeError(f"emulator process exited with {child.wait()}")
        if line.startswith(READY_PREFIX):
            return line[len(READY_PREFIX) :].strip()
