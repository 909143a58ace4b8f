"""Serving an ASGI app with uvicorn: on a daemon thread (tests, the demo) or blocking (`vnotify serve`).

We bind the listening socket ourselves before uvicorn starts, so port 0 works and the URL is known
(and connectable: the kernel queues connections) before the server loop runs.
"""

from __future__ import annotations

import socket
import threading
import time
from typing import Any

import uvicorn


def bind_socket(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # proto must say TCP: asyncio only sets TCP_NODELAY on accepted sockets whose proto is
    # IPPROTO_TCP, and without it every keep-alive request waits ~40 ms on delayed ACKs.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def base_url_of(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def uvicorn_config(app: Any, *, quiet: bool) -> uvicorn.Config:
    return uvicorn.Config(
        app,
        log_level="warning" if quiet else "info",
        log_config=None if quiet else uvicorn.config.LOGGING_CONFIG,
        access_log=False,  # request lines carry phone numbers (list filters): keep them out of logs
        lifespan="on",
        timeout_graceful_shutdown=2,
        server_header=False,
    )


class RunningServer:
    """An ASGI app served by uvicorn on a daemon thread; a context manager that stops it."""

    def __init__(self, app: Any, host: str = "127.0.0.1", port: int = 0, startup_timeout: float = 10.0):
        self.app = app
        self._socket = bind_socket(host, port)
        self.base_url = base_url_of(self._socket)
        self.port: int = self._socket.getsockname()[1]
        self._server = uvicorn.Server(uvicorn_config(app, quiet=True))
        self._thread = threading.Thread(
            target=self._server.run,
            kwargs={"sockets": [self._socket]},
            name=f"uvicorn:{self.port}",
            daemon=True,
        )
        self._thread.start()
        deadline = time.monotonic() + startup_timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self._socket.close()
                raise RuntimeError(f"server on {self.base_url} did not start")
            time.sleep(0.005)

    def stop(self, timeout: float = 10.0) -> None:
        self._server.should_exit = True
        self._thread.join(timeout)
        if self._thread.is_alive():
            self._server.force_exit = True
            self._thread.join(timeout)

    def __enter__(self) -> RunningServer:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
