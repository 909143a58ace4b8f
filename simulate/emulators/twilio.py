"""Twilio Programmable Messaging emulator (REST API 2010-04-01, Message resource).

Follows the published OpenAPI contract (twilio/twilio-oai `twilio_api_v2010.json`, a copy lives in
tests/data/provider-specs/) so the official `twilio` SDK works against it unchanged:

- `POST /2010-04-01/Accounts/{AccountSid}/Messages.json` — create (form-encoded To, From or
  MessagingServiceSid, Body, StatusCallback, ...); 201 with the Message resource, status `queued`.
- `GET  /2010-04-01/Accounts/{AccountSid}/Messages.json` — list, newest first; filters To, From,
  DateSent, DateSent< (on or before), DateSent> (on or after); PageSize (default 50, max 1000),
  Page, PageToken; Twilio's list envelope. A message not yet sent is filtered by its creation date.
- `GET  /2010-04-01/Accounts/{AccountSid}/Messages/{Sid}.json` — fetch.

HTTP Basic auth with the account sid / auth token, else 401 (code 20003). Errors are Twilio's JSON
`{"code", "message", "more_info", "status"}`.

Magic numbers (Twilio's test-credential values, plus two of ours for asynchronous failures):

| To | result |
| --- | --- |
| +15005550001 | 400, 21211 invalid 'To' (so does any To that is not plausible E.164) |
| +15005550002 | 400, 21612 not reachable |
| +15005550003 | 400, 21408 no permission for the region |
| +15005550004 | 400, 21610 unsubscribed recipient (so does any number passed to `opt_out`) |
| +15005550009 | 400, 21614 not a mobile number |
| +15005550010 | created; ends `undelivered`, ErrorCode 30003 (emulator-only) |
| +15005550011 | created; ends `failed`, ErrorCode 30034 (emulator-only) |

From +15005550001 → 21212, +15005550007 → 21606, +15005550008 → 21611. Missing To → 21604,
missing From and MessagingServiceSid → 21603, missing Body (no MediaUrl/ContentSid) → 21602, Body
over 1,600 characters → 21617, a StatusCallback that is not an http(s) URL → 21609.

Lifecycle: queued → sent → delivered (or the failure above), `callback_delay_seconds` apart. With
a StatusCallback and `status_callbacks` on, each step is POSTed (form-encoded MessageSid, SmsSid,
MessageStatus, SmsStatus, AccountSid, From, To, ApiVersion, ErrorCode when failed) and signed with
`X-Twilio-Signature`, from a background task so the API response never waits for it.
"""

from __future__ import annotations

import asyncio
import hmac
import re
import threading
import uuid
from base64 import b64decode, b64encode
from dataclasses import dataclass
from datetime import UTC, date, datetime
from email.utils import format_datetime, parsedate_to_datetime
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

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
from simulate.emulators.signing import TWILIO_SIGNATURE_HEADER, twilio_signature

API_VERSION = "2010-04-01"
MESSAGES_PATH = "/2010-04-01/Accounts/{account_sid}/Messages.json"
MESSAGE_PATH = "/2010-04-01/Accounts/{account_sid}/Messages/{sid}.json"
DEFAULT_SENDER = "+15005550006"  # Twilio's "valid From" test number, used for Messaging Service sends
PRICE_PER_SEGMENT = 0.0079
MAX_BODY_CHARS = 1600

MAGIC_TO: dict[str, tuple[int, str]] = {
    "+15005550001": (21211, "The 'To' number {to} is not a valid phone number."),
    "+15005550002": (
        21612,
        "The 'To' phone number: {to}, is not currently reachable using the 'From' phone number via SMS.",
    ),
    "+15005550003": (
        21408,
        "Permission to send an SMS has not been enabled for the region indicated by the 'To' number: {to}.",
    ),
    "+15005550004": (21610, "Attempt to send to unsubscribed recipient"),
    "+15005550009": (21614, "'To' number {to} is not a valid mobile number"),
}
MAGIC_FROM: dict[str, tuple[int, str]] = {
    "+15005550001": (
        21212,
        "The 'From' number {sender} is not a valid phone number, shortcode, or alphanumeric sender ID.",
    ),
    "+15005550007": (
        21606,
        "The From phone number {sender} is not a valid, SMS-capable inbound phone number or short code for your account.",
    ),
    "+15005550008": (21611, "This 'From' number has exceeded the maximum number of queued messages"),
}
DELIVERY_FAILURES: dict[str, tuple[str, int, str]] = {
    "+15005550010": ("undelivered", 30003, "Unreachable destination handset"),
    "+15005550011": ("failed", 30034, "Message from an Unregistered Number"),
}

_E164 = re.compile(r"^(?:whatsapp:)?\+[1-9]\d{6,14}$")
_SHORT_CODE = re.compile(r"^\d{3,8}$")
_ALPHANUMERIC_SENDER = re.compile(r"^(?=.*[A-Za-z])[A-Za-z0-9 ]{1,11}$")

# GSM 03.38: the basic set (one septet each) and the extension table (escape + one septet).
GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = frozenset("\f^{}\\[~]|€")


def count_segments(body: str) -> int:
    """SMS segments as carriers bill them: GSM-7 (160 septets, 153 per part when concatenated;
    extension characters take two septets and never straddle parts) or else UCS-2 (70 code units,
    67 per part; a surrogate pair never straddles parts)."""
    if not body:
        return 1
    if all(ch in GSM7_BASIC or ch in GSM7_EXTENSION for ch in body):
        units = [2 if ch in GSM7_EXTENSION else 1 for ch in body]
        single, part = 160, 153
    else:
        units = [2 if ord(ch) > 0xFFFF else 1 for ch in body]
        single, part = 70, 67
    if sum(units) <= single:
        return 1
    segments, used = 1, 0
    for width in units:
        if used + width > part:
            segments, used = segments + 1, 0
        used += width
    return segments


def rfc2822(moment: datetime | None) -> str | None:
    """Twilio's date format: `Thu, 24 Aug 2023 05:01:45 +0000`."""
    return None if moment is None else format_datetime(moment)


def error_body(code: int, message: str, status: int) -> dict[str, Any]:
    return {
        "code": code,
        "message": message,
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }


def error_response(code: int, message: str, status: int, headers: dict[str, str] | None = None) -> Response:
    return json_response(error_body(code, message, status), status, headers)


@dataclass(slots=True)
class TwilioMessage:
    """A created message; `to_json` renders the `api.v2010.account.message` schema."""

    sid: str
    account_sid: str
    to: str
    from_: str | None
    messaging_service_sid: str | None
    body: str
    status: str
    num_segments: int
    num_media: int
    date_created: datetime
    date_updated: datetime
    date_sent: datetime | None
    price: str | None
    price_unit: str
    error_code: int | None
    error_message: str | None
    status_callback: str | None
    outcome: tuple[str, int | None, str | None]

    @property
    def uri(self) -> str:
        return f"/2010-04-01/Accounts/{self.account_sid}/Messages/{self.sid}.json"

    def to_json(self) -> dict[str, Any]:
        return {
            "account_sid": self.account_sid,
            "api_version": API_VERSION,
            "body": self.body,
            "date_created": rfc2822(self.date_created),
            "date_sent": rfc2822(self.date_sent),
            "date_updated": rfc2822(self.date_updated),
            "direction": "outbound-api",
            "error_code": self.error_code,
            "error_message": self.error_message,
            "from": self.from_,
            "messaging_service_sid": self.messaging_service_sid,
            "num_media": str(self.num_media),
            "num_segments": str(self.num_segments),
            "price": self.price,
            "price_unit": self.price_unit,
            "sid": self.sid,
            "status": self.status,
            "subresource_uris": {"media": self.uri.removesuffix(".json") + "/Media.json"},
            "to": self.to,
            "uri": self.uri,
        }

    def advance(self, status: str, error_code: int | None = None, error_message: str | None = None) -> None:
        """Move to `status`; sending fixes date_sent, price and (for Messaging Service sends) From."""
        now = datetime.now(UTC)
        self.status = status
        self.date_updated = now
        if status in ("sent", "delivered", "undelivered") and self.date_sent is None:
            self.date_sent = now
            self.price = f"-{PRICE_PER_SEGMENT * self.num_segments:.5f}"
            if self.from_ is None:
                self.from_ = DEFAULT_SENDER
        if error_code is not None:
            self.error_code, self.error_message = error_code, error_message


class TwilioState:
    """Created messages in creation order, and the numbers that have opted out."""

    def __init__(self) -> None:
        self.messages: list[TwilioMessage] = []
        self.by_sid: dict[str, TwilioMessage] = {}
        self.opted_out: set[str] = set()
        self._lock = threading.Lock()

    def add(self, message: TwilioMessage) -> None:
        with self._lock:
            self.messages.append(message)
            self.by_sid[message.sid] = message

    def reset(self) -> None:
        with self._lock:
            self.messages = []
            self.by_sid = {}
            self.opted_out = set()

    def opt_out(self, number: str) -> None:
        self.opted_out.add(number)

    def opt_in(self, number: str) -> None:
        self.opted_out.discard(number)

    def count_to(self, number: str) -> int:
        return sum(1 for message in list(self.messages) if message.to == number)


class TwilioEmulator:
    """The HTTP handlers; one per app, sharing the app's fault dice and background tasks."""

    def __init__(
        self, settings: EmulatorSettings, state: TwilioState, faults: FaultInjector, background: Background
    ) -> None:
        self.settings = settings
        self.state = state
        self.faults = faults
        self.background = background
        self._expected_auth = ("Basic " + _basic(settings.account_sid, settings.auth_token)).encode()

    def routes(self, exchanges: ExchangeLog) -> list[Route]:
        def wrap(handler: Any) -> Any:
            return recorded("twilio", handler, self.settings, exchanges)

        return [
            Route(MESSAGES_PATH, wrap(self.create_message), methods=["POST"]),
            Route(MESSAGES_PATH, wrap(self.list_messages), methods=["GET"]),
            Route(MESSAGE_PATH, wrap(self.fetch_message), methods=["GET"]),
        ]

    # -- auth -----------------------------------------------------------------------------------

    def _check_auth(self, request: Request) -> Response | None:
        """None when the Basic credentials are ours and the path names our account."""
        header = request.headers.get("authorization", "")
        authorized = hmac.compare_digest(
            header.encode("latin-1", "replace"), self._expected_auth
        ) or _credentials_match(header, self.settings.account_sid, self.settings.auth_token)
        if not authorized or request.path_params["account_sid"] != self.settings.account_sid:
            return error_response(
                20003, "Authenticate", 401, {"WWW-Authenticate": 'Basic realm="Twilio API"'}
            )
        return None

    # -- create ---------------------------------------------------------------------------------

    async def create_message(self, request: Request, body: bytes | None) -> Response:
        denied = self._check_auth(request)
        if denied is not None:
            return denied
        fault = self.faults.decide()
        if fault is not None and fault.kind == RATE_LIMIT:
            return error_response(
                20429, "Too Many Requests", 429, {"Retry-After": str(self.settings.retry_after_seconds)}
            )
        if fault is not None and not fault.accept:
            if fault.kind == TIMEOUT:
                await hang(request, self.settings.timeout_seconds)
            return _fault_response(fault)
        response = self._create(_parse_form(body or b""))
        if fault is None:
            return response
        if fault.kind == TIMEOUT:  # created, then the answer comes too late for most clients
            await hang(request, self.settings.timeout_seconds)
            return response
        return _fault_response(fault)  # created, but the client is told it failed: the ambiguous case

    def _create(self, params: dict[str, Any]) -> Response:
        rejected = self._validate(params)
        if rejected is not None:
            return rejected
        message = self._new_message(params)
        self.state.add(message)
        response = json_response(message.to_json(), 201)
        self._start_lifecycle(message)
        return response

    def _validate(self, params: dict[str, Any]) -> Response | None:
        """Twilio's checks, first failure wins; 400 with the code Twilio uses."""
        to = params.get("To") or ""
        sender = params.get("From") or ""
        body = params.get("Body") or ""
        callback = params.get("StatusCallback") or ""
        if not to:
            return error_response(21604, "A 'To' phone number is required.", 400)
        if not _E164.match(to):
            return error_response(21211, f"The 'To' number {to} is not a valid phone number.", 400)
        if not sender and not params.get("MessagingServiceSid"):
            return error_response(
                21603, "A 'From' or 'MessagingServiceSid' parameter is required to send a message.", 400
            )
        if sender and not (
            _E164.match(sender) or _SHORT_CODE.match(sender) or _ALPHANUMERIC_SENDER.match(sender)
        ):
            return error_response(
                21212,
                f"The 'From' number {sender} is not a valid phone number, shortcode, or alphanumeric sender ID.",
                400,
            )
        if not body and not params["MediaUrl"] and not params.get("ContentSid"):
            return error_response(21602, "Message body is required.", 400)
        if len(body) > MAX_BODY_CHARS:
            return error_response(
                21617, "The concatenated message body exceeds the 1600 character limit.", 400
            )
        if callback and not _is_http_url(callback):
            return error_response(21609, f"The StatusCallback URL {callback} is not a valid URL.", 400)
        if sender in MAGIC_FROM:
            code, text = MAGIC_FROM[sender]
            return error_response(code, text.format(sender=sender), 400)
        if to in MAGIC_TO:
            code, text = MAGIC_TO[to]
            return error_response(code, text.format(to=to), 400)
        if to in self.state.opted_out:
            return error_response(21610, "Attempt to send to unsubscribed recipient", 400)
        return None

    def _new_message(self, params: dict[str, Any]) -> TwilioMessage:
        now = datetime.now(UTC)
        to = params["To"]
        body = params.get("Body") or ""
        failure = DELIVERY_FAILURES.get(to)
        return TwilioMessage(
            sid="SM" + uuid.uuid4().hex,
            account_sid=self.settings.account_sid,
            to=to,
            from_=params.get("From") or None,
            messaging_service_sid=params.get("MessagingServiceSid") or None,
            body=body,
            status="queued",
            num_segments=count_segments(body),
            num_media=len(params["MediaUrl"]),
            date_created=now,
            date_updated=now,
            date_sent=None,
            price=None,
            price_unit="USD",
            error_code=None,
            error_message=None,
            status_callback=params.get("StatusCallback") or None,
            outcome=failure if failure is not None else ("delivered", None, None),
        )

    # -- lifecycle and status callbacks ---------------------------------------------------------

    def _start_lifecycle(self, message: TwilioMessage) -> None:
        """Schedule queued → sent → outcome. Without callbacks or delays it completes at once."""
        notify = self.settings.status_callbacks and message.status_callback is not None
        if not notify and not self.settings.callback_delay_seconds:
            for status, code, text in _steps(message)[1:]:
                message.advance(status, code, text)
            return
        self.background.spawn(self._run_lifecycle(message, notify))

    async def _run_lifecycle(self, message: TwilioMessage, notify: bool) -> None:
        delay = self.settings.callback_delay_seconds
        for index, (status, code, text) in enumerate(_steps(message)):
            if index:
                if delay:
                    await asyncio.sleep(delay)
                message.advance(status, code, text)
            if notify and message.status_callback is not None:
                await self._post_callback(message, message.status_callback)

    async def _post_callback(self, message: TwilioMessage, url: str) -> None:
        params = {
            "AccountSid": message.account_sid,
            "ApiVersion": API_VERSION,
            "From": message.from_ or "",
            "MessageSid": message.sid,
            "MessageStatus": message.status,
            "SmsSid": message.sid,
            "SmsStatus": message.status,
            "To": message.to,
        }
        if message.messaging_service_sid:
            params["MessagingServiceSid"] = message.messaging_service_sid
        if message.error_code is not None and message.status in ("failed", "undelivered"):
            params["ErrorCode"] = str(message.error_code)
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            "User-Agent": "TwilioProxy/1.1",
            "I-Twilio-Idempotency-Token": str(uuid.uuid4()),
            TWILIO_SIGNATURE_HEADER: twilio_signature(self.settings.auth_token, url, params),
        }
        await self.background.post(
            url, urlencode(params).encode(), headers, f"status callback {message.sid} {message.status}"
        )

    # -- list and fetch -------------------------------------------------------------------------

    async def list_messages(self, request: Request, body: bytes | None) -> Response:
        denied = self._check_auth(request)
        if denied is not None:
            return denied
        query = request.query_params
        try:
            matches = _filter(list(self.state.messages), query)
        except ValueError as exc:
            return error_response(20001, str(exc), 400)
        page_size = min(max(_int(query.get("PageSize"), 50), 1), 1000)
        page = max(_int(query.get("Page"), 0), 0)
        start = _page_start(matches, query.get("PageToken"), page, page_size)
        items = matches[start : start + page_size]
        base = request.url.path
        filters = [(k, query[k]) for k in ("To", "From", "DateSent", "DateSent<", "DateSent>") if k in query]

        def page_uri(number: int, token: str | None = None) -> str:
            params = [*filters, ("PageSize", str(page_size)), ("Page", str(number))]
            if token:
                params.append(("PageToken", token))
            return f"{base}?{urlencode(params)}"

        has_next = start + page_size < len(matches)
        payload = {
            "end": start + len(items) - 1 if items else start,
            "first_page_uri": page_uri(0),
            "messages": [message.to_json() for message in items],
            "next_page_uri": page_uri(page + 1, "PA" + items[-1].sid) if has_next and items else None,
            "page": page,
            "page_size": page_size,
            "previous_page_uri": page_uri(page - 1, "PB" + items[0].sid) if page > 0 and items else None,
            "start": start,
            "uri": page_uri(page, query.get("PageToken")),
        }
        return json_response(payload, 200)

    async def fetch_message(self, request: Request, body: bytes | None) -> Response:
        denied = self._check_auth(request)
        if denied is not None:
            return denied
        message = self.state.by_sid.get(request.path_params["sid"])
        if message is None:
            return error_response(20404, f"The requested resource {request.url.path} was not found", 404)
        return json_response(message.to_json(), 200)


def _steps(message: TwilioMessage) -> list[tuple[str, int | None, str | None]]:
    status, code, text = message.outcome
    if status == "failed":  # refused before it left Twilio: never "sent"
        return [("queued", None, None), (status, code, text)]
    return [("queued", None, None), ("sent", None, None), (status, code, text)]


def _fault_response(fault: Fault) -> Response:
    code, text = {
        500: (20500, "Internal Server Error"),
        502: (20500, "Bad Gateway"),
        503: (20503, "Service Unavailable"),
        504: (20500, "Gateway Timeout"),
    }[fault.status]
    return error_response(code, text, fault.status)


def _parse_form(body: bytes) -> dict[str, Any]:
    """Form fields, last value wins, except the repeatable MediaUrl (always a list)."""
    params: dict[str, Any] = {"MediaUrl": []}
    for key, value in parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True):
        if key == "MediaUrl":
            params["MediaUrl"].append(value)
        else:
            params[key] = value
    return params


def _basic(user: str, password: str) -> str:
    return b64encode(f"{user}:{password}".encode()).decode("ascii")


def _credentials_match(header: str, account_sid: str, auth_token: str) -> bool:
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic":
        return False
    try:
        user, _, password = b64decode(encoded.strip(), validate=True).decode("utf-8").partition(":")
    except ValueError:
        return False
    return hmac.compare_digest(user, account_sid) and hmac.compare_digest(password, auth_token)


def _is_http_url(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme in ("http", "https") and bool(parts.hostname) and "_" not in (parts.hostname or "")


def _int(value: str | None, default: int) -> int:
    try:
        return int(value) if value is not None else default
    except ValueError:
        return default


def _parse_when(value: str) -> tuple[datetime, bool]:
    """A DateSent filter value: `YYYY-MM-DD` (a whole day), ISO 8601 or RFC 2822 date-time."""
    text = value.strip()
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            return datetime(day.year, day.month, day.day, tzinfo=UTC), True
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        try:
            moment = parsedate_to_datetime(text)
        except (TypeError, ValueError):
            raise ValueError(f"Invalid DateSent value: {value}") from None
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)), False


def _filter(messages: list[TwilioMessage], query: Any) -> list[TwilioMessage]:
    """Newest first, then Twilio's filters (all inclusive)."""
    to, sender = query.get("To"), query.get("From")
    bounds = [
        (key, _parse_when(query[key])) for key in ("DateSent", "DateSent<", "DateSent>") if key in query
    ]
    out = []
    for message in reversed(messages):
        if to is not None and message.to != to:
            continue
        if sender is not None and message.from_ != sender:
            continue
        sent = message.date_sent or message.date_created
        if all(_within(sent, key, moment, whole_day) for key, (moment, whole_day) in bounds):
            out.append(message)
    return out


def _within(sent: datetime, key: str, moment: datetime, whole_day: bool) -> bool:
    left, right = (sent.date(), moment.date()) if whole_day or key == "DateSent" else (sent, moment)
    if key == "DateSent":
        return left == right
    return left <= right if key == "DateSent<" else left >= right


def _page_start(matches: list[TwilioMessage], token: str | None, page: int, page_size: int) -> int:
    """PageToken PA<sid> continues after that message, PB<sid> ends before it; else Page*PageSize.
    Tokens keep paging stable while new messages arrive at the head of the list."""
    if token and len(token) > 2:
        position = next((i for i, m in enumerate(matches) if m.sid == token[2:]), None)
        if position is not None:
            return position + 1 if token.startswith("PA") else max(position - page_size, 0)
    return page * page_size
