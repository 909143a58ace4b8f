"""SendGrid v3 Mail Send emulator, with the signed event webhook.

Follows the published contract (twilio/sendgrid-oai `tsg_mail_v3.json`, copy in
tests/data/provider-specs/) so the official `sendgrid` SDK works against it unchanged:

- `POST /v3/mail/send` with `Authorization: Bearer <key>` (any other key → 401). The body is checked
  the way SendGrid checks the basics — personalizations present (1..1000) each with a non-empty `to`,
  valid addresses, `from.email`, a subject (unless template_id or every personalization has one),
  content blocks (unless template_id), custom_args values as strings — and every problem is
  reported at once: 400 `{"errors": [{"message", "field", "help"}]}`. Over 30 MB → 413.
  Success: 202, empty body, header `X-Message-Id` (22 random characters).
- Magic recipient domains: `reject.invalid` → 400 at send time; `bounce.invalid` → `bounce` event
  instead of `delivered`; `drop.invalid` → `dropped` event.

Event webhook (when `sendgrid_event_webhook_url` is set): per recipient (to, cc and bcc of each
personalization) a `processed` event, then `callback_delay_seconds` later `delivered` (or the
magic outcome). Events are POSTed as JSON arrays, batched like SendGrid batches them, one POST in
flight at a time so `processed` never arrives after `delivered`. Each event: `email, timestamp,
event, sg_event_id, sg_message_id ("<X-Message-Id>.filter0001.<n>"), smtp-id`, `category` when the
mail has categories, and the personalization's custom_args (over the message-level ones) merged at
the top level of the event, as SendGrid does. Each POST carries the signed-webhook headers
(see signing.py).

Note on the spec: `tsg_mail_v3.json` types `ErrorResponse.errors[].help` as an object, but SendGrid
sends a documentation URL string; the emulator sends the string, as the real service does.
"""

from __future__ import annotations

import asyncio
import hmac
import itertools
import json
import re
import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from simulate.emulators.core import (
    RATE_LIMIT,
    TIMEOUT,
    Background,
    ExchangeLog,
    Fault,
    FaultInjector,
    hang,
    json_response,
    recorded,
)
from simulate.emulators.settings import EmulatorSettings
from simulate.emulators.signing import (
    SENDGRID_SIGNATURE_HEADER,
    SENDGRID_TIMESTAMP_HEADER,
    sign_sendgrid_event,
    test_private_key_pem,
)

MAIL_SEND_PATH = "/v3/mail/send"
MAX_BODY_BYTES = 30 * 1024 * 1024
MAX_PERSONALIZATIONS = 1000
MAX_EVENTS_PER_POST = 1000
HELP = "http://sendgrid.com/docs/API_Reference/Web_API_v3/Mail/errors.html#"
REJECT_DOMAIN = "reject.invalid"
BOUNCE_DOMAIN = "bounce.invalid"
DROP_DOMAIN = "drop.invalid"
RECIPIENT_KINDS = ("to", "cc", "bcc")

_EMAIL = re.compile(r"^[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+$")


@dataclass(slots=True)
class SendGridMessage:
    """One accepted send, as the emulator received it."""

    message_id: str
    personalizations: list[dict[str, Any]]
    custom_args: dict[str, Any]
    subject: str | None
    from_: dict[str, Any]
    content: list[dict[str, Any]]
    headers: dict[str, Any]
    request_headers: dict[str, str]
    template_id: str | None
    categories: list[str]
    accepted_at: float = field(default_factory=time.time)

    def custom_args_for(self, index: int) -> dict[str, Any]:
        """What SendGrid attaches to that personalization's events: message-level args, overridden
        by the personalization's own."""
        return {**self.custom_args, **(self.personalizations[index].get("custom_args") or {})}

    def recipients(self, index: int) -> list[str]:
        personalization = self.personalizations[index]
        return [r["email"] for kind in RECIPIENT_KINDS for r in personalization.get(kind) or []]


class SendGridState:
    """Accepted sends in order."""

    def __init__(self) -> None:
        self.messages: list[SendGridMessage] = []
        self.by_id: dict[str, SendGridMessage] = {}
        self._lock = threading.Lock()

    def add(self, message: SendGridMessage) -> None:
        with self._lock:
            self.messages.append(message)
            self.by_id[message.message_id] = message

    def reset(self) -> None:
        with self._lock:
            self.messages = []
            self.by_id = {}

    def count_custom_arg(self, key: str, value: Any) -> int:
        """Personalizations (one per envelope) whose effective custom_args carry key=value."""
        wanted = str(value)
        return sum(
            1
            for message in list(self.messages)
            for index in range(len(message.personalizations))
            if key in (args := message.custom_args_for(index)) and str(args[key]) == wanted
        )


def _error(message: str, field_name: str | None = None, anchor: str | None = None) -> dict[str, Any]:
    """One entry of SendGrid's `errors` array; `field`/`help` only when they apply (the 3.1 spec has
    no nullable strings, so absent rather than null)."""
    entry: dict[str, Any] = {"message": message}
    if field_name is not None:
        entry["field"] = field_name
    if anchor is not None:
        entry["help"] = HELP + anchor
    return entry


def errors_response(
    errors: list[dict[str, Any]], status: int, headers: dict[str, str] | None = None
) -> Response:
    return json_response({"errors": errors}, status, headers)


def _valid_email(value: Any) -> bool:
    return isinstance(value, str) and _EMAIL.match(value) is not None


def _domain(email: str) -> str:
    return email.rpartition("@")[2].lower()


def validate_mail(mail: Any) -> list[dict[str, Any]]:
    """SendGrid's basic checks on a mail/send body; all problems, not just the first."""
    if not isinstance(mail, dict):
        return [_error("Bad Request")]
    errors: list[dict[str, Any]] = []
    personalizations = mail.get("personalizations")
    if not isinstance(personalizations, list) or not personalizations:
        errors.append(
            _error(
                "The personalizations field is required and must have at least one personalization.",
                "personalizations",
                "message.personalizations",
            )
        )
        personalizations = []
    elif len(personalizations) > MAX_PERSONALIZATIONS:
        errors.append(
            _error(
                "The personalizations field may not contain more than 1000 personalizations.",
                "personalizations",
                "message.personalizations",
            )
        )
    for index, personalization in enumerate(personalizations):
        errors.extend(_validate_personalization(index, personalization))
    errors.extend(_validate_from(mail.get("from")))
    if not mail.get("template_id"):
        errors.extend(_validate_subject_and_content(mail, personalizations))
    custom_args = mail.get("custom_args")
    if custom_args is not None and not isinstance(custom_args, dict | str):
        errors.append(
            _error("Invalid type. Expected: object, given: " + type(custom_args).__name__, "custom_args")
        )
    return errors


def _validate_personalization(index: int, personalization: Any) -> list[dict[str, Any]]:
    where = f"personalizations.{index}"
    if not isinstance(personalization, dict):
        return [_error("Invalid type. Expected: object.", where, "message.personalizations")]
    errors = []
    to = personalization.get("to")
    if not isinstance(to, list) or not to:
        errors.append(
            _error(
                "The to array is required for all personalization objects, and must have at least one "
                "email object with a valid email address.",
                f"{where}.to",
                "message.personalizations.to",
            )
        )
    for kind in RECIPIENT_KINDS:
        recipients = personalization.get(kind) or []
        if not isinstance(recipients, list):
            errors.append(
                _error("Invalid type. Expected: array.", f"{where}.{kind}", "message.personalizations")
            )
            continue
        for position, recipient in enumerate(recipients):
            email = recipient.get("email") if isinstance(recipient, dict) else None
            here = f"{where}.{kind}.{position}.email"
            if not _valid_email(email):
                errors.append(_error("Does not contain a valid address.", here, "message.personalizations"))
            elif _domain(email) == REJECT_DOMAIN:
                errors.append(
                    _error("The recipient address is on the reject list.", here, "message.personalizations")
                )
    custom_args = personalization.get("custom_args")
    if custom_args is not None:
        if not isinstance(custom_args, dict):
            errors.append(
                _error("Invalid type. Expected: object.", f"{where}.custom_args", "message.custom_args")
            )
        elif any(not isinstance(value, str) for value in custom_args.values()):
            errors.append(
                _error("Custom args values must be strings.", f"{where}.custom_args", "message.custom_args")
            )
    return errors


def _validate_from(sender: Any) -> list[dict[str, Any]]:
    if not isinstance(sender, dict) or not sender.get("email"):
        return [
            _error(
                "The from object must be provided for every email send. It is an object that requires the "
                'email parameter, but may also contain a name parameter.  e.g. {"email" : '
                '"example@example.com"}  or {"email" : "example@example.com", "name" : "Example Recipient"}.',
                "from.email",
                "message.from",
            )
        ]
    if not _valid_email(sender["email"]):
        return [_error("The from email does not contain a valid address.", "from.email", "message.from")]
    return []


def _validate_subject_and_content(mail: dict[str, Any], personalizations: list[Any]) -> list[dict[str, Any]]:
    errors = []
    every_personalization_has_subject = bool(personalizations) and all(
        isinstance(p, dict) and isinstance(p.get("subject"), str) and p["subject"] for p in personalizations
    )
    subject = mail.get("subject")
    if not (isinstance(subject, str) and subject) and not every_personalization_has_subject:
        errors.append(
            _error(
                "The subject is required. You can get around this requirement if you use a template with a "
                "subject defined or if every personalization has a subject defined.",
                "subject",
                "message.subject",
            )
        )
    content = mail.get("content")
    if not isinstance(content, list) or not content:
        errors.append(
            _error(
                "Unless a valid template_id is provided, the content parameter is required. There must be at "
                "least one defined content block. We typically suggest both text/plain and text/html blocks "
                "are included, but only one block is required.",
                "content",
                "message.content",
            )
        )
        return errors
    for index, block in enumerate(content):
        block = block if isinstance(block, dict) else {}
        for key in ("type", "value"):
            if not (isinstance(block.get(key), str) and block[key]):
                errors.append(
                    _error(
                        f"The content {key} must be a string at least one character in length.",
                        f"content.{index}.{key}",
                        "message.content",
                    )
                )
    return errors


def _message_custom_args(value: Any) -> dict[str, Any]:
    """Message-level custom_args: an object (what sendgrid-python sends) or a JSON object as a string
    (how the spec types it)."""
    if isinstance(value, dict):
        return value
    if isinstance(value, str):
        try:
            parsed = json.loads(value)
        except ValueError:
            return {}
        return parsed if isinstance(parsed, dict) else {}
    return {}


class SendGridEmulator:
    """The HTTP handler and the event webhook; one per app."""

    def __init__(
        self, settings: EmulatorSettings, state: SendGridState, faults: FaultInjector, background: Background
    ) -> None:
        self.settings = settings
        self.state = state
        self.faults = faults
        self.background = background
        self._expected_auth = f"Bearer {settings.sendgrid_api_key}".encode()
        self._private_key = test_private_key_pem()
        self._sequence = itertools.count(1)
        self._outbox: list[dict[str, Any]] = []
        self._flushing = False

    def routes(self, exchanges: ExchangeLog) -> list[Route]:
        endpoint = recorded("sendgrid", self.send, self.settings, exchanges, max_body=MAX_BODY_BYTES)
        return [Route(MAIL_SEND_PATH, endpoint, methods=["POST"])]

    async def send(self, request: Request, body: bytes | None) -> Response:
        header = request.headers.get("authorization", "").encode("latin-1", "replace")
        if not hmac.compare_digest(header, self._expected_auth):
            return errors_response(
                [_error("The provided authorization grant is invalid, expired, or revoked")], 401
            )
        if body is None:
            return errors_response([_error("content too large")], 413)
        fault = self.faults.decide()
        if fault is not None and fault.kind == RATE_LIMIT:
            return self._rate_limited()
        if fault is not None and not fault.accept:
            if fault.kind == TIMEOUT:
                await hang(request, self.settings.timeout_seconds)
            return _fault_response(fault)
        response = self._accept(request, body)
        if fault is None:
            return response
        if fault.kind == TIMEOUT:  # accepted, then answered too late for most clients
            await hang(request, self.settings.timeout_seconds)
            return response
        return _fault_response(fault)  # accepted, yet the client hears 5xx: the ambiguous case

    def _rate_limited(self) -> Response:
        wait = self.settings.retry_after_seconds
        headers = {
            "Retry-After": str(wait),
            "X-RateLimit-Limit": "600",
            "X-RateLimit-Remaining": "0",
            "X-RateLimit-Reset": str(int(time.time()) + wait),
        }
        return errors_response([_error("too many requests")], 429, headers)

    def _accept(self, request: Request, body: bytes) -> Response:
        try:
            mail = json.loads(body)
        except ValueError:
            return errors_response([_error("Bad Request")], 400)
        errors = validate_mail(mail)
        if errors:
            return errors_response(errors, 400)
        message = SendGridMessage(
            message_id=secrets.token_urlsafe(16),
            personalizations=mail["personalizations"],
            custom_args=_message_custom_args(mail.get("custom_args")),
            subject=mail.get("subject"),
            from_=mail["from"],
            content=mail.get("content") or [],
            headers=mail.get("headers") or {},
            request_headers={k: v for k, v in request.headers.items() if k != "authorization"},
            template_id=mail.get("template_id"),
            categories=list(mail.get("categories") or []),
        )
        self.state.add(message)
        if self.settings.sendgrid_event_webhook_url:
            self._schedule_events(message)
        return Response(b"", status_code=202, headers={"X-Message-Id": message.message_id})

    # -- event webhook --------------------------------------------------------------------------

    def _schedule_events(self, message: SendGridMessage) -> None:
        processed, outcomes = self._events(message)
        self._enqueue(processed)
        delay = self.settings.callback_delay_seconds
        if delay:
            self.background.spawn(self._enqueue_later(delay, outcomes))
        else:
            self._enqueue(outcomes)

    def _events(self, message: SendGridMessage) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        now = int(time.time())
        smtp_id = f"<{message.message_id}@emulator.sendgrid.invalid>"
        processed, outcomes = [], []
        for index in range(len(message.personalizations)):
            args = message.custom_args_for(index)
            for email in message.recipients(index):
                base = {
                    **args,
                    "email": email,
                    "timestamp": now,
                    "smtp-id": smtp_id,
                    "sg_message_id": f"{message.message_id}.filter0001.{next(self._sequence)}",
                }
                if message.categories:
                    base["category"] = message.categories
                processed.append({**base, "event": "processed", "sg_event_id": _event_id()})
                outcomes.append({**base, **_outcome(email), "sg_event_id": _event_id()})
        return processed, outcomes

    async def _enqueue_later(self, delay: float, events: list[dict[str, Any]]) -> None:
        await asyncio.sleep(delay)
        for event in events:
            event["timestamp"] = int(time.time())
        self._enqueue(events)

    def _enqueue(self, events: list[dict[str, Any]]) -> None:
        self._outbox.extend(events)
        if not self._flushing:
            self._flushing = True
            self.background.spawn(self._flush())

    async def _flush(self) -> None:
        """The single sender: drains the outbox in batches, one POST at a time, so order holds."""
        try:
            await asyncio.sleep(0)  # let this tick's sends join the batch
            while self._outbox:
                batch = self._outbox[:MAX_EVENTS_PER_POST]
                del self._outbox[:MAX_EVENTS_PER_POST]
                await self._post(batch)
        finally:
            self._flushing = False

    async def _post(self, events: list[dict[str, Any]]) -> None:
        url = self.settings.sendgrid_event_webhook_url
        if not url:
            return
        body = json.dumps(events, separators=(",", ":")).encode()
        timestamp = str(int(time.time()))
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "SendGrid Event API",
            SENDGRID_TIMESTAMP_HEADER: timestamp,
            SENDGRID_SIGNATURE_HEADER: sign_sendgrid_event(self._private_key, timestamp, body),
        }
        first = events[0]["sg_message_id"].partition(".")[0]
        await self.background.post(url, body, headers, f"event batch of {len(events)} (first {first})")


def _event_id() -> str:
    return secrets.token_urlsafe(16)


def _outcome(email: str) -> dict[str, Any]:
    domain = _domain(email)
    if domain == BOUNCE_DOMAIN:
        return {
            "event": "bounce",
            "type": "bounce",
            "status": "5.1.1",
            "reason": "550 5.1.1 The email account that you tried to reach does not exist.",
            "bounce_classification": "Invalid Address",
        }
    if domain == DROP_DOMAIN:
        return {"event": "dropped", "reason": "Bounced Address", "status": "5.0.0"}
    return {"event": "delivered", "response": "250 2.0.0 OK", "tls": 1}


def _fault_response(fault: Fault) -> Response:
    message = {
        500: "internal server error",
        502: "bad gateway",
        503: "service unavailable",
        504: "gateway timeout",
    }[fault.status]
    return errors_response([_error(message)], fault.status)
