"""One ASGI app serving both emulators: Twilio under `/2010-04-01/...`, SendGrid under `/v3/...`.

`create_app(settings)` returns a Starlette app; its state lives on `app.state.emulator`
(an `EmulatorStore`) so tests and benchmarks can look at what was sent without going through HTTP:

    store.twilio_messages            created Twilio messages, in creation order (TwilioMessage)
    store.sendgrid_messages          accepted SendGrid sends, in order (SendGridMessage: message_id,
                                     personalizations, custom_args, subject, from_, content, headers,
                                     request_headers, template_id, categories)
    store.exchanges                  bounded record of every request/response (core.Exchange)
    store.count_twilio_to(number)    messages created for that number
    store.count_sendgrid_custom_arg(key, value)
                                     personalizations whose effective custom_args have key=value
    store.opt_out(number) / opt_in   numbers answered with 21610
    store.pending_webhooks           webhook tasks still running (0 = all callbacks/events sent)
    store.reset()                    forget everything (messages, exchanges, opt-outs)

Besides the provider paths, `GET /__emulator/stats` (counts as JSON) and `POST /__emulator/reset`
serve benchmarks that run the emulator in another process.

Plain Starlette, no per-request validation or dependency injection: the send benchmark needs the
emulator to be much faster than the code under test.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from simulate.emulators import sendgrid as sendgrid_emulator
from simulate.emulators import twilio as twilio_emulator
from simulate.emulators.core import Background, ExchangeLog, FaultInjector, json_response, recorded
from simulate.emulators.sendgrid import SendGridEmulator, SendGridMessage, SendGridState
from simulate.emulators.settings import EmulatorSettings
from simulate.emulators.twilio import TwilioEmulator, TwilioMessage, TwilioState


class EmulatorStore:
    """What the emulator has seen, shared by both providers of one app."""

    def __init__(self, settings: EmulatorSettings) -> None:
        self.settings = settings
        self.twilio = TwilioState()
        self.sendgrid = SendGridState()
        self.exchanges = ExchangeLog(settings.exchanges_limit)
        self.faults = FaultInjector(settings)
        self.background = Background(settings)

    @property
    def twilio_messages(self) -> list[TwilioMessage]:
        return self.twilio.messages

    @property
    def sendgrid_messages(self) -> list[SendGridMessage]:
        return self.sendgrid.messages

    @property
    def pending_webhooks(self) -> int:
        return self.background.pending

    def count_twilio_to(self, number: str) -> int:
        return self.twilio.count_to(number)

    def count_sendgrid_custom_arg(self, key: str, value: object) -> int:
        return self.sendgrid.count_custom_arg(key, value)

    def opt_out(self, number: str) -> None:
        self.twilio.opt_out(number)

    def opt_in(self, number: str) -> None:
        self.twilio.opt_in(number)

    def reset(self) -> None:
        self.twilio.reset()
        self.sendgrid.reset()
        self.exchanges.clear()


def _not_found(store: EmulatorStore):
    """Anything else: a 404 in the provider's own error format, recorded like the rest."""

    async def handler(request: Request, body: bytes | None) -> Response:
        path = request.url.path
        if path.startswith("/v3/"):
            return sendgrid_emulator.errors_response([{"message": "not found"}], 404)
        return twilio_emulator.error_response(20404, f"The requested resource {path} was not found", 404)

    return recorded("unknown", handler, store.settings, store.exchanges)


def _admin_routes(store: EmulatorStore) -> list[Route]:
    """Not a provider API: counts for benchmarks that run the emulator in another process. Not
    recorded as exchanges."""

    async def stats(request: Request) -> Response:
        return json_response(
            {
                "twilio_messages": len(store.twilio_messages),
                "sendgrid_messages": len(store.sendgrid_messages),
                "exchanges": len(store.exchanges),
                "pending_webhooks": store.pending_webhooks,
                "webhooks_delivered": store.background.delivered,
                "webhooks_failed": store.background.failed,
            },
            200,
        )

    async def reset(request: Request) -> Response:
        store.reset()
        return Response(status_code=204)

    return [
        Route("/__emulator/stats", stats, methods=["GET"]),
        Route("/__emulator/reset", reset, methods=["POST"]),
    ]


def create_app(settings: EmulatorSettings | None = None) -> Starlette:
    """Both emulators on one app; `app.state.emulator` is the `EmulatorStore`."""
    settings = settings or EmulatorSettings()
    store = EmulatorStore(settings)
    twilio = TwilioEmulator(settings, store.twilio, store.faults, store.background)
    sendgrid = SendGridEmulator(settings, store.sendgrid, store.faults, store.background)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        await store.background.aclose()

    methods = ["GET", "POST", "PUT", "PATCH", "DELETE"]
    routes = [
        *twilio.routes(store.exchanges),
        *sendgrid.routes(store.exchanges),
        *_admin_routes(store),
        Route("/{path:path}", _not_found(store), methods=methods),
    ]
    app = Starlette(routes=routes, lifespan=lifespan)
    app.state.emulator = store
    app.state.settings = settings
    return app
