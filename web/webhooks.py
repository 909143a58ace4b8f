"""Provider webhooks: authenticated first, stored once, effects in the same transaction."""

from __future__ import annotations

import datetime as dt
import json
import logging
from functools import lru_cache
from urllib.parse import parse_qsl
from xml.sax.saxutils import escape as xml_escape

from fastapi import APIRouter, Request, Response
from starlette.concurrency import run_in_threadpool

from notifications.events import record_sendgrid_events, record_twilio_status
from notifications.inbound import handle_reply
from web.signatures import load_sendgrid_public_key, sendgrid_signature_valid, twilio_signature_valid

router = APIRouter()
log = logging.getLogger("vnotify.web.webhooks")


def _signed_url(request: Request) -> str:
    """The URL the provider signed: our public address when configured, else what we received."""
    base = request.app.state.settings.public_base_url
    if not base:
        return str(request.url)
    query = f"?{request.url.query}" if request.url.query else ""
    return f"{base}{request.url.path}{query}"


async def _signed_twilio_params(request: Request) -> dict[str, str] | None:
    """The form parameters of a Twilio webhook, or None when its signature does not check out."""
    body = await request.body()
    params = dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
    token = request.app.state.settings.twilio_auth_token
    signature = request.headers.get("X-Twilio-Signature")
    return params if twilio_signature_valid(token, _signed_url(request), params, signature) else None


@lru_cache(maxsize=4)
def _sendgrid_key(text: str):
    return load_sendgrid_public_key(text)


@router.post("/webhooks/twilio/status")
async def twilio_status(request: Request) -> Response:
    params = await _signed_twilio_params(request)
    if params is None:
        log.warning("twilio status callback refused: bad signature")
        return Response(status_code=403)
    sid = params.get("MessageSid") or params.get("SmsSid")
    status = params.get("MessageStatus") or params.get("SmsStatus")
    if not sid or not status:
        return Response(status_code=400)

    def store() -> None:
        with request.app.state.pool.connection() as conn, conn.transaction():
            record_twilio_status(conn, sid, status, params.get("ErrorCode"), dt.datetime.now(dt.UTC))

    await run_in_threadpool(store)
    return Response(status_code=204)


@router.post("/webhooks/sendgrid/events")
async def sendgrid_events(request: Request) -> Response:
    body = await request.body()
    settings = request.app.state.settings
    if not settings.sendgrid_public_key or not sendgrid_signature_valid(
        _sendgrid_key(settings.sendgrid_public_key),
        request.headers.get("X-Twilio-Email-Event-Webhook-Timestamp"),
        body,
        request.headers.get("X-Twilio-Email-Event-Webhook-Signature"),
    ):
        log.warning("sendgrid event webhook refused: bad or stale signature")
        return Response(status_code=403)
    try:
        events = json.loads(body)
    except ValueError:
        return Response(status_code=400)
    if not isinstance(events, list) or not all(isinstance(event, dict) for event in events):
        return Response(status_code=400)

    def store() -> dict[str, int]:
        with request.app.state.pool.connection() as conn, conn.transaction():
            return record_sendgrid_events(conn, events)

    counts = await run_in_threadpool(store)
    log.info("sendgrid events: %(stored)d stored, %(duplicates)d duplicates", counts)
    return Response(status_code=204)


def _twiml(answer: str | None) -> Response:
    """Twilio sends our answer for us when the webhook's reply carries a <Message>."""
    inner = f"<Message>{xml_escape(answer)}</Message>" if answer else ""
    return Response(
        f'<?xml version="1.0" encoding="UTF-8"?><Response>{inner}</Response>', media_type="text/xml"
    )


@router.post("/webhooks/twilio/inbound")
async def twilio_inbound(request: Request) -> Response:
    params = await _signed_twilio_params(request)
    if params is None:
        log.warning("twilio inbound webhook refused: bad signature")
        return Response(status_code=403)
    sid, sender = params.get("MessageSid") or params.get("SmsSid"), params.get("From")
    if not sid or not sender:
        return Response(status_code=400)
    config = request.app.state.config

    def store():
        with request.app.state.pool.connection() as conn, conn.transaction():
            return handle_reply(conn, config, sid, sender, params.get("Body", ""), dt.datetime.now(dt.UTC))

    outcome = await run_in_threadpool(store)
    log.info("inbound reply %s: %s%s", sid, outcome.kind, " (urgent)" if outcome.urgent else "")
    return _twiml(outcome.answer)
