"""Pieces both provider emulators share: the exchange record, fault injection, webhook workers.

Kept cheap on purpose: the send benchmark pushes 10,000 messages through one process, so nothing
here parses more than it must (exchanges keep raw bytes and decode on demand).
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import threading
import time
from collections import deque
from collections.abc import Awaitable, Callable, Coroutine, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

import aiohttp
from starlette.requests import Request
from starlette.responses import Response

from simulate.emulators.settings import EmulatorSettings

log = logging.getLogger("simulate.emulators")

RATE_LIMIT = "rate_limit"
SERVER_ERROR = "server_error"
TIMEOUT = "timeout"


@dataclass(slots=True)
class Exchange:
    """One request and the response the emulator gave, as raw as the contract tests need them."""

    provider: str
    method: str
    path: str
    query: str
    raw_headers: list[tuple[bytes, bytes]]
    body: bytes
    status: int
    raw_response_headers: list[tuple[bytes, bytes]]
    response_body: bytes
    at: float
    body_truncated: bool = False

    @property
    def headers(self) -> list[tuple[str, str]]:
        return [(k.decode("latin-1"), v.decode("latin-1")) for k, v in self.raw_headers]

    @property
    def response_headers(self) -> list[tuple[str, str]]:
        return [(k.decode("latin-1"), v.decode("latin-1")) for k, v in self.raw_response_headers]

    @property
    def query_params(self) -> list[tuple[str, str]]:
        return parse_qsl(self.query, keep_blank_values=True)

    def header(self, name: str) -> str | None:
        return _find_header(self.raw_headers, name)

    def response_header(self, name: str) -> str | None:
        return _find_header(self.raw_response_headers, name)

    def response_json(self) -> Any:
        return json.loads(self.response_body) if self.response_body else None


def _find_header(raw: list[tuple[bytes, bytes]], name: str) -> str | None:
    wanted = name.lower().encode("latin-1")
    for key, value in raw:
        if key.lower() == wanted:
            return value.decode("latin-1")
    return None


class ExchangeLog:
    """A bounded, thread-safe record of exchanges (oldest dropped first)."""

    def __init__(self, limit: int) -> None:
        self._items: deque[Exchange] = deque(maxlen=limit)
        self._lock = threading.Lock()

    def add(self, exchange: Exchange) -> None:
        with self._lock:
            self._items.append(exchange)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()

    def snapshot(self) -> list[Exchange]:
        with self._lock:
            return list(self._items)

    def __iter__(self) -> Iterator[Exchange]:
        return iter(self.snapshot())

    def __len__(self) -> int:
        return len(self._items)

    def __getitem__(self, index: int) -> Exchange:
        return self.snapshot()[index]


@dataclass(frozen=True, slots=True)
class Fault:
    """What to do to one send call. `accept` means the message is created before the failure."""

    kind: str
    status: int
    accept: bool


class FaultInjector:
    """Seeded so a run with the same settings and the same call order sees the same faults."""

    def __init__(self, settings: EmulatorSettings) -> None:
        self._settings = settings
        self._rng = random.Random(settings.seed)
        self._lock = threading.Lock()

    def decide(self) -> Fault | None:
        settings = self._settings
        if not settings.injects_faults:
            return None
        with self._lock:
            roll = self._rng.random()
            if roll < settings.rate_429:
                return Fault(RATE_LIMIT, 429, accept=False)
            roll -= settings.rate_429
            if roll < settings.rate_5xx:
                status = self._rng.choice((500, 502, 503))
                return Fault(SERVER_ERROR, status, self._rng.random() < settings.ambiguous_accept_share)
            roll -= settings.rate_5xx
            if roll < settings.rate_timeout:
                return Fault(TIMEOUT, 504, self._rng.random() < settings.ambiguous_accept_share)
        return None


class Background:
    """Webhook deliveries as asyncio tasks on the server's own loop.

    The API handler only schedules a task, so callbacks never slow a response. Delivery failures
    are logged by message id and otherwise ignored, as the providers do after their retries.

    The POSTs go through aiohttp rather than httpx: measured on this code, an httpx.AsyncClient
    POST costs ~2.7 ms of CPU against ~0.3 ms for aiohttp, and a 10,000-message benchmark sends
    ~20,000 webhooks from the same process that must keep answering the API. aiohttp is already
    installed as a hard requirement of the twilio SDK (twilio's async HTTP client).
    """

    def __init__(self, settings: EmulatorSettings, concurrency: int = 16) -> None:
        self._settings = settings
        self._concurrency = concurrency
        self._tasks: set[asyncio.Task[None]] = set()
        self._session: aiohttp.ClientSession | None = None
        self._semaphore: asyncio.Semaphore | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self.delivered = 0
        self.failed = 0

    @property
    def pending(self) -> int:
        return len(self._tasks)

    def spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _ensure_session(self) -> tuple[aiohttp.ClientSession, asyncio.Semaphore]:
        loop = asyncio.get_running_loop()
        if self._session is None or self._semaphore is None or self._loop is not loop:
            self._loop = loop
            # Our own gate, so the timeout below counts the exchange only, not the queue before it.
            self._semaphore = asyncio.Semaphore(self._concurrency)
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self._concurrency),
                timeout=aiohttp.ClientTimeout(total=self._settings.callback_timeout_seconds),
                trust_env=False,
            )
        return self._session, self._semaphore

    async def post(self, url: str, content: bytes, headers: dict[str, str], what: str) -> int | None:
        """POST one webhook; `what` names it in logs (ids only, never addresses or numbers)."""
        session, semaphore = self._ensure_session()
        try:
            async with semaphore, session.post(url, data=content, headers=headers) as response:
                await response.read()
                status = response.status
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            self.failed += 1
            log.warning("webhook %s not delivered: %s", what, type(exc).__name__)
            return None
        if status >= 400:
            self.failed += 1
            log.warning("webhook %s answered HTTP %s", what, status)
        else:
            self.delivered += 1
        return status

    async def aclose(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._session is not None:
            await self._session.close()
            self._session = None


Handler = Callable[[Request, bytes | None], Awaitable[Response]]


async def read_body(request: Request, limit: int | None) -> bytes | None:
    """The whole body, or None when it is over `limit` (then drained, not kept, so the client
    still gets our answer instead of a reset connection)."""
    if limit is None:
        return await request.body()
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        async for _ in request.stream():
            pass
        return None
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            chunks.clear()
            continue
        chunks.append(chunk)
    return None if size > limit else b"".join(chunks)


def recorded(
    provider: str,
    handler: Handler,
    settings: EmulatorSettings,
    exchanges: ExchangeLog,
    max_body: int | None = None,
) -> Callable[[Request], Awaitable[Response]]:
    """Wrap a provider handler with the per-call latency and the exchange record."""
    latency = settings.latency_ms / 1000.0
    record = settings.record_exchanges and settings.exchanges_limit > 0

    async def endpoint(request: Request) -> Response:
        if latency:
            await asyncio.sleep(latency)
        body = await read_body(request, max_body)
        response = await handler(request, body)
        if record:
            scope = request.scope
            exchanges.add(
                Exchange(
                    provider=provider,
                    method=scope["method"],
                    path=scope["path"],
                    query=scope["query_string"].decode("latin-1"),
                    raw_headers=list(scope["headers"]),
                    body=body or b"",
                    status=response.status_code,
                    raw_response_headers=list(response.raw_headers),
                    response_body=bytes(response.body),
                    at=time.time(),
                    body_truncated=body is None,
                )
            )
        return response

    return endpoint


async def hang(request: Request, seconds: float) -> bool:
    """An injected timeout: wait `seconds` before answering, or less if the client hangs up first
    (it would never read the answer, and a lingering task only slows shutdown). True when it did."""

    async def client_gone() -> None:
        while (await request.receive())["type"] != "http.disconnect":
            pass

    try:
        await asyncio.wait_for(client_gone(), seconds)
    except TimeoutError:
        return False
    return True


def json_response(payload: Any, status: int, headers: dict[str, str] | None = None) -> Response:
    """Compact JSON like the providers send (Starlette's JSONResponse adds nothing we need)."""
    body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return Response(body, status_code=status, headers=headers, media_type="application/json")
