"""The web app's connections: checked before use, a write retried once, and 503 (never 500) when
the database cannot take it, so a provider retries or calls its fallback URL instead of losing
the webhook (Twilio never retries an inbound message on its own)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TypeVar

import psycopg
from fastapi import Request
from fastapi.responses import PlainTextResponse
from psycopg_pool import ConnectionPool, PoolTimeout

T = TypeVar("T")
RETRY_AFTER_SECONDS = 5
log = logging.getLogger("vnotify.web.database")


class DatabaseUnavailable(Exception):
    """The database could not store this request; the client is told to try again."""


def new_pool(url: str, size: int, timeout: float) -> ConnectionPool:
    """Every connection opened up front (a webhook burst must not wait on connection set-up),
    each checked before it is handed out, so one dropped by a database restart is replaced, not
    used; a request waits at most `timeout` seconds for one."""
    return ConnectionPool(
        url,
        min_size=size,
        max_size=size,
        open=False,
        check=ConnectionPool.check_connection,
        timeout=timeout,
    )


def in_transaction(pool: ConnectionPool, work: Callable[[psycopg.Connection], T]) -> T:
    """Run WORK in one transaction, once more on a fresh connection when the connection failed
    (the work must be idempotent: ours dedupe on the provider's ids). DatabaseUnavailable when
    the second try fails too."""
    for attempt in (1, 2):
        try:
            with pool.connection() as conn, conn.transaction():
                return work(conn)
        except (psycopg.OperationalError, PoolTimeout) as error:
            log.warning("database unavailable (attempt %d): %s", attempt, type(error).__name__)
    raise DatabaseUnavailable


def unavailable(_request: Request, _error: Exception) -> PlainTextResponse:
    return PlainTextResponse(
        "The service is briefly unavailable; try again.",
        status_code=503,
        headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
    )
