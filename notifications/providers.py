"""SMS through Twilio and email through SendGrid, with the official SDKs only.

Each send returns a `SendResult` whose `outcome` tells the dispatcher what it may do next:

- `accepted`  the provider took the message (its id is in `provider_id`);
- `retry`     the request certainly did not create a message (HTTP 429, connection refused):
              try again later, after `retry_after` seconds when the provider said so;
- `permanent` the provider refused for good (invalid number, unsubscribed, bad request):
              never retried;
- `ambiguous` the request reached the provider but we do not know whether it created a message
              (read timeout, 5xx, connection dropped after sending): reconcile, never resend blindly.

Neither SDK retries a POST by itself: Twilio's `TwilioHttpClient` mounts no retrying adapter for
plain HTTP and only `max_retries` (unset here) adds one for HTTPS; SendGrid's python_http_client
is urllib with no retries. Both SDKs' own loggers would write phone numbers (the To filter of a
list call) at INFO, so they get a logger that only passes warnings.
"""

from __future__ import annotations

import logging
import os
import urllib.error
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

import requests
from python_http_client import exceptions as sendgrid_errors
from sendgrid import SendGridAPIClient
from twilio.base.exceptions import TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client as TwilioClient
from twilio.rest.api import Api as _TwilioApi  # noqa: F401  (imported lazily by the SDK: ~1 s on a first send)

from notifications.tokens import TOKEN_PATTERN, hash_token

Outcome = Literal["accepted", "retry", "permanent", "ambiguous"]

# The SDKs log every request's parameters (phone numbers, addresses) at INFO: keep them at WARNING
# in every process that loads this module, whatever level the root logger is given.
SDK_REQUEST_LOGGERS = ("twilio.http_client", "twilio.async_http_client", "python_http_client")
for _name in SDK_REQUEST_LOGGERS:
    logging.getLogger(_name).setLevel(logging.WARNING)
_quiet = logging.getLogger("vnotify.providers.sdk")
_quiet.setLevel(logging.WARNING)

# Twilio error codes that will never succeed for this message, with our reason for each.
TWILIO_PERMANENT = {
    21211: "invalid_number",
    21408: "region_not_permitted",
    21610: "unsubscribed",
    21612: "unroutable",
    21614: "not_mobile",
    21602: "bad_request",
    21603: "bad_request",
    21604: "bad_request",
    21606: "bad_request",
    21609: "bad_request",
    21212: "bad_request",
    21617: "bad_request",
}
# Twilio errors about our side's momentary state: try again later.
TWILIO_RETRYABLE = {21611: "sender_queue_full"}
SENDGRID_PERMANENT = {400: "bad_request", 403: "forbidden", 413: "payload_too_large"}


@dataclass(frozen=True)
class SendResult:
    outcome: Outcome
    provider_id: str | None = None
    code: str | None = None
    reason: str | None = None
    retry_after: float | None = None


def _retry_after(headers) -> float | None:
    """Seconds from a `Retry-After` header (delta-seconds form), or None."""
    if not headers:
        return None
    value = headers.get("Retry-After") or headers.get("retry-after")
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None


def _was_never_sent(error: requests.exceptions.ConnectionError) -> bool:
    """A refused or unreachable connection carries no request; a dropped one may have."""
    text = repr(error)
    return isinstance(error, requests.exceptions.ConnectTimeout) or any(
        marker in text for marker in ("NewConnectionError", "ConnectionRefused", "NameResolution")
    )


class _HeaderKeepingHttpClient(TwilioHttpClient):
    """Twilio's HTTP client, remembering the last response's headers (for `Retry-After`)."""

    def __init__(self, timeout: float) -> None:
        super().__init__(timeout=timeout, logger=_quiet)
        self.last_headers: dict = {}

    def request(self, *args, **kwargs):
        self.last_headers = {}
        response = super().request(*args, **kwargs)
        self.last_headers = dict(response.headers or {})
        return response


@dataclass(frozen=True)
class TwilioSettings:
    account_sid: str
    auth_token: str
    base_url: str | None = None
    messaging_service_sid: str | None = None
    from_number: str | None = None
    status_callback: str | None = None
    timeout: float = 10.0


class TwilioSms:
    """One per worker thread: the SDK client keeps per-request state."""

    def __init__(self, settings: TwilioSettings) -> None:
        self.settings = settings
        self._http = _HeaderKeepingHttpClient(timeout=settings.timeout)
        self.client = TwilioClient(settings.account_sid, settings.auth_token, http_client=self._http)
        if settings.base_url:
            self.client.api.base_url = settings.base_url.rstrip("/")

    def send(self, to: str, body: str) -> SendResult:
        params: dict = {"to": to, "body": body}
        if self.settings.messaging_service_sid:
            params["messaging_service_sid"] = self.settings.messaging_service_sid
        else:
            params["from_"] = self.settings.from_number
        if self.settings.status_callback:
            params["status_callback"] = self.settings.status_callback
        try:
            message = self.client.messages.create(**params)
        except TwilioRestException as error:
            return self._classify(error)
        except requests.exceptions.ConnectionError as error:
            if _was_never_sent(error):
                return SendResult("retry", code="connection", reason="connection_refused")
            return SendResult("ambiguous", code="connection", reason="connection_dropped")
        except requests.exceptions.Timeout:
            return SendResult("ambiguous", code="timeout", reason="timeout")
        return SendResult("accepted", provider_id=message.sid)

    def _classify(self, error: TwilioRestException) -> SendResult:
        code = str(error.code or error.status)
        if error.status == 429:
            return SendResult(
                "retry", code=code, reason="rate_limited", retry_after=_retry_after(self._http.last_headers)
            )
        if error.status >= 500:
            return SendResult("ambiguous", code=code, reason=f"provider_{error.status}")
        if error.code in TWILIO_RETRYABLE:
            return SendResult("retry", code=code, reason=TWILIO_RETRYABLE[error.code])
        if error.code in TWILIO_PERMANENT:
            return SendResult("permanent", code=code, reason=TWILIO_PERMANENT[error.code])
        if error.status in (401, 403):
            # Our credentials, not the message: keep the row and let an operator fix the setup.
            return SendResult("retry", code=code, reason="provider_auth_failed", retry_after=300)
        return SendResult("permanent", code=code, reason="rejected")

    def find_sent(self, to: str, token_hashes: Iterable[str]) -> str | None:
        """The SID of a message to `to` whose body carries one of our tokens, if the provider has one.

        Raises on provider errors: a reconciliation that cannot look must not conclude anything."""
        wanted = set(token_hashes)
        for message in self.client.messages.list(to=to, limit=200):
            for match in TOKEN_PATTERN.finditer(message.body or ""):
                if hash_token(match.group("token")) in wanted:
                    return message.sid
        return None

    def texted_since(self, to: str, since) -> bool:
        """Whether Twilio holds any message to `to` created at or after `since` (after a restore:
        a text the backup does not know of). Raises on provider errors."""
        return any(
            message.date_created is not None and message.date_created >= since
            for message in self.client.messages.list(to=to, limit=200)
        )


@dataclass(frozen=True)
class SendGridSettings:
    api_key: str
    host: str = "https://api.sendgrid.com"
    from_address: str = ""
    from_name: str | None = None
    unsubscribe_group_id: int | None = None
    timeout: float = 10.0


@dataclass(frozen=True)
class Email:
    to: str
    subject: str
    html: str
    text: str
    custom_args: dict[str, str]
    unsubscribe_url: str


class SendGridEmail:
    def __init__(self, settings: SendGridSettings) -> None:
        self.settings = settings
        self.client = SendGridAPIClient(api_key=settings.api_key, host=settings.host.rstrip("/"))
        self.client.client.timeout = settings.timeout

    def request_body(self, email: Email) -> dict:
        sender: dict = {"email": self.settings.from_address}
        if self.settings.from_name:
            sender["name"] = self.settings.from_name
        body: dict = {
            # custom_args ride on the personalization: they come back on every event for it.
            "personalizations": [{"to": [{"email": email.to}], "custom_args": email.custom_args}],
            "from": sender,
            "subject": email.subject,
            "content": [
                {"type": "text/plain", "value": email.text},
                {"type": "text/html", "value": email.html},
            ],
            "headers": {
                "List-Unsubscribe": f"<{email.unsubscribe_url}>",
                "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
            },
            "tracking_settings": {"open_tracking": {"enable": True}, "click_tracking": {"enable": False}},
        }
        if self.settings.unsubscribe_group_id:
            body["asm"] = {"group_id": self.settings.unsubscribe_group_id}
        return body

    def send(self, email: Email) -> SendResult:
        try:
            response = self.client.client.mail.send.post(request_body=self.request_body(email))
        except sendgrid_errors.HTTPError as error:
            return self._classify(error)
        except urllib.error.URLError:
            # urllib wraps failures while connecting and sending; the request never completed.
            return SendResult("retry", code="connection", reason="connection_refused")
        except TimeoutError:
            return SendResult("ambiguous", code="timeout", reason="timeout")
        except (ConnectionError, OSError):
            return SendResult("ambiguous", code="connection", reason="connection_dropped")
        message_id = response.headers.get("X-Message-Id") if response.headers else None
        if response.status_code != 202 or not message_id:
            return SendResult("ambiguous", code=str(response.status_code), reason="unexpected_response")
        return SendResult("accepted", provider_id=message_id)

    @staticmethod
    def _classify(error: sendgrid_errors.HTTPError) -> SendResult:
        status = int(error.status_code)
        if status == 429:
            return SendResult(
                "retry", code="429", reason="rate_limited", retry_after=_retry_after(error.headers)
            )
        if status >= 500:
            return SendResult("ambiguous", code=str(status), reason=f"provider_{status}")
        if status == 401:
            return SendResult("retry", code="401", reason="provider_auth_failed", retry_after=300)
        return SendResult("permanent", code=str(status), reason=SENDGRID_PERMANENT.get(status, "rejected"))


def twilio_settings_from_env(
    messaging_service_sid: str | None, from_number: str | None, status_callback: str | None
) -> TwilioSettings:
    return TwilioSettings(
        account_sid=_required("TWILIO_ACCOUNT_SID"),
        auth_token=_required("TWILIO_AUTH_TOKEN"),
        base_url=os.environ.get("TWILIO_API_BASE_URL") or None,
        messaging_service_sid=messaging_service_sid,
        from_number=from_number,
        status_callback=status_callback,
        timeout=float(os.environ.get("VNOTIFY_PROVIDER_TIMEOUT", "10")),
    )


def sendgrid_settings_from_env(
    from_address: str, from_name: str | None, unsubscribe_group_id: int | None
) -> SendGridSettings:
    return SendGridSettings(
        api_key=_required("SENDGRID_API_KEY"),
        host=os.environ.get("SENDGRID_API_HOST") or "https://api.sendgrid.com",
        from_address=from_address,
        from_name=from_name,
        unsubscribe_group_id=unsubscribe_group_id,
        timeout=float(os.environ.get("VNOTIFY_PROVIDER_TIMEOUT", "10")),
    )


class MissingCredentials(RuntimeError):
    pass


def _required(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        raise MissingCredentials(f"{name} is not set: the send flow needs the provider's credentials")
    return value
