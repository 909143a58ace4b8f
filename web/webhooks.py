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

from monitoring.metrics import WEBHOOK_REJECTIONS
from notifications.events import record_sendgrid_events, record_twilio_status
from notifications.inbound import handle_reply
from web.database import in_transaction
from web.signatures import load_sendgrid_public_key, sendgrid_signature_valid, twilio_signature_valid

router = APIRouter()
log = logging.getLogger("vnotify.web.webhooks")


def _signed_url(request: Request) -> str:
    """The URL the provider signed, on our public address (VNOTIFY_PUBLIC_BASE_URL, else the
    agency's portal_base_url): never the Host header, which any client sets, so a request signed
    for another host of the same provider account does not check out here."""
    base = request.app.state.settings.public_base_url or str(request.app.state.config.agency.portal_base_url)
    query = f"?{request.url.query}" if request.url.query else ""
    return f"{base.rstrip('/')}{request.url.path}{query}"


def without_nul(text: str) -> str:
    """PostgreSQL text cannot hold U+0000: shown as U+FFFD, like the loader does."""
    return text.replace("\x00", "\ufffd")


async def _signed_twilio_params(request: Request) -> dict[str, str] | None:
    """The form parameters of a Twilio webhook, or None when its signature does not check out
    (the body is at most web.limits.MAX_BODY_BYTES: BodyLimit stopped anything larger)."""
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
        return _rejected("twilio", "bad_signature", 403)
    sid = params.get("MessageSid") or params.get("SmsSid")
    status = params.get("MessageStatus") or params.get("SmsStatus")
    if not sid or not status:
        return _rejected("twilio", "missing_fields", 400)

    def store(conn) -> None:
        record_twilio_status(
            conn, without_nul(sid), without_nul(status), params.get("ErrorCode"), dt.datetime.now(dt.UTC)
        )

    await run_in_threadpool(in_transaction, request.app.state.pool, store)
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
        return _rejected("sendgrid", "bad_signature", 403)
    # Signed, so it is SendGrid's: a body that is not a JSON list is refused whole (SendGrid would
    # retry it as it is for a day); each event of a list is then judged on its own.
    try:
        events = json.loads(body)
    except ValueError:
        return _rejected("sendgrid", "not_json", 400)
    if not isinstance(events, list):
        return _rejected("sendgrid", "not_a_list", 400)

    counts = await run_in_threadpool(
        in_transaction, request.app.state.pool, lambda conn: record_sendgrid_events(conn, events)
    )
    log.info("sendgrid events: %(stored)d stored, %(duplicates)d duplicates, %(rejected)d rejected", counts)
    return Response(status_code=204)


def _rejected(provider: str, reason: str, status: int) -> Response:
    WEBHOOK_REJECTIONS.labels(provider, reason).inc()
    return Response(status_code=status)


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
        return _rejected("twilio", "bad_signature", 403)
    sid, sender = params.get("MessageSid") or params.get("SmsSid"), params.get("From")
    if not sid or not sender:
        return _rejected("twilio", "missing_fields", 400)
    config = request.app.state.config

    def store(conn):
        return handle_reply(
            conn,
            config,
            without_nul(sid),
            without_nul(sender),
            without_nul(params.get("Body", "")),
            dt.datetime.now(dt.UTC),
        )

    outcome = await run_in_threadpool(in_transaction, request.app.state.pool, store)
    log.info("inbound reply %s: %s%s", sid, outcome.kind, " (urgent)" if outcome.urgent else "")
    return _twiml(outcome.answer)
