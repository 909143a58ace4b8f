"""The one ASGI app for what comes from outside: provider webhooks and the victim pages.

Run by `vnotify serve`; tests run it in-process. The agency configuration (`VNOTIFY_CONFIG`, else
the sample) is loaded once here and kept on `app.state.config`. Settings come from the environment:
`TWILIO_AUTH_TOKEN` (Twilio signatures), `SENDGRID_WEBHOOK_PUBLIC_KEY` (SendGrid's ECDSA key, as
its settings page shows it), `VNOTIFY_PUBLIC_BASE_URL` (the URL providers call us at, which
Twilio signs; defaults to the URL of the request as received).
"""

from __future__ import annotations

import os
from contextlib import asynccontextmanager
from dataclasses import dataclass

import psycopg
from fastapi import FastAPI
from psycopg_pool import PoolTimeout

from monitoring.metrics import RouteMetrics
from vnotify.config import AgencyConfig, load_config
from warehouse.database import database_url
from web.database import DatabaseUnavailable, new_pool, unavailable
from web.limits import BodyLimit


@dataclass(frozen=True)
class WebSettings:
    database_url: str
    twilio_auth_token: str = ""
    sendgrid_public_key: str = ""
    public_base_url: str = ""
    pool_size: int = 8
    # How long a request waits for a connection (a database restarting) before answering 503.
    pool_timeout: float = 10.0

    @classmethod
    def from_env(cls, url: str | None = None) -> WebSettings:
        return cls(
            database_url=url or database_url(),
            twilio_auth_token=os.environ.get("TWILIO_AUTH_TOKEN", ""),
            sendgrid_public_key=os.environ.get("SENDGRID_WEBHOOK_PUBLIC_KEY", ""),
            public_base_url=os.environ.get("VNOTIFY_PUBLIC_BASE_URL", "").rstrip("/"),
        )


def create_app(settings: WebSettings | None = None, config: AgencyConfig | None = None) -> FastAPI:
    from web import pages, webhooks

    settings = settings or WebSettings.from_env()
    config = config or load_config()
    pool = new_pool(settings.database_url, settings.pool_size, settings.pool_timeout)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        pool.open(wait=True)
        try:
            yield
        finally:
            pool.close()

    app = FastAPI(title="vnotify", docs_url=None, redoc_url=None, openapi_url=None, lifespan=lifespan)
    app.state.settings = settings
    app.state.pool = pool
    app.state.config = config
    app.include_router(webhooks.router)
    app.include_router(pages.router)
    for error in (DatabaseUnavailable, psycopg.OperationalError, PoolTimeout):
        app.add_exception_handler(error, unavailable)
    app.add_middleware(BodyLimit)
    app.add_middleware(RouteMetrics)  # outermost: counts what the body limit refuses too
    return app
