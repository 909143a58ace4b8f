"""The Twilio / SendGrid emulators, driven through the official SDKs as the send flow drives them.

Also pins down what each SDK raises for 429, 5xx, timeouts and refused connections: the
dispatcher's classification depends on it (see simulate/emulators/__init__.py).
"""

from __future__ import annotations

import base64
import json
import logging
import re
import socket
import threading
import time
import urllib.error
from collections.abc import Iterator
from dataclasses import dataclass, replace
from urllib.parse import parse_qsl

import httpx
import pytest
import requests
from python_http_client import exceptions as sg_errors
from sendgrid import SendGridAPIClient
from sendgrid.helpers.eventwebhook import EventWebhook
from sendgrid.helpers.mail import Content, CustomArg, Email, Mail, Personalization
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.request_validator import RequestValidator
from twilio.rest import Client

import notifications.providers  # noqa: F401  (silences the SDKs' request logs, as in production)
from simulate.emulators import EmulatorSettings, run_in_process, run_in_thread
from simulate.emulators.core import FaultInjector
from simulate.emulators.server import RunningServer
from simulate.emulators.signing import (
    sign_sendgrid_event,
    test_private_key_pem,
    test_public_key_b64,
    test_public_key_pem,
    twilio_signature,
    verify_sendgrid_event,
)
from simulate.emulators.twilio import count_segments

SETTINGS = EmulatorSettings()
SENDER = "+15005550006"
RFC2822 = re.compile(r"^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} \+0000$")


# -- helpers ---------------------------------------------------------------------------------------


def twilio_client(base_url: str, timeout: float = 5.0, token: str = SETTINGS.auth_token) -> Client:
    client = Client(SETTINGS.account_sid, token, http_client=TwilioHttpClient(timeout=timeout))
    client.api.base_url = base_url
    return client


def sendgrid_client(
    base_url: str, timeout: float = 5.0, key: str = SETTINGS.sendgrid_api_key
) -> SendGridAPIClient:
    client = SendGridAPIClient(key, host=base_url)
    client.client.timeout = timeout
    return client


def mail(*recipients: tuple[str, dict[str, str]], subject: str | None = "Your report") -> Mail:
    """A mail with one personalization per recipient, custom_args inside each (as we send them)."""
    message = Mail(from_email="victim-services@example.org", subject=subject)
    message.add_content(Content("text/plain", "A message about your report."))
    for address, args in recipients:
        personalization = Personalization()
        personalization.add_to(Email(address))
        for key, value in args.items():
            personalization.add_custom_arg(CustomArg(key, value))
        # add_personalization inserts at index 0 by default: append explicitly to keep our order.
        message.add_personalization(personalization, index=len(message.personalizations or []))
    return message


def sms(client: Client, to: str = "+15558675310", **extra):
    return client.messages.create(to=to, from_=SENDER, body="Your report number is SV25-000001.", **extra)


@dataclass
class Received:
    url: str
    headers: dict[str, str]
    body: bytes


class Receiver:
    """A tiny webhook endpoint on its own uvicorn thread, recording what arrives."""

    def __init__(self) -> None:
        self.requests: list[Received] = []
        self._lock = threading.Lock()

        async def record(request: Request) -> Response:
            received = Received(str(request.url), dict(request.headers), await request.body())
            with self._lock:
                self.requests.append(received)
            return Response(status_code=204)

        self.server = RunningServer(Starlette(routes=[Route("/{path:path}", record, methods=["POST"])]))
        self.base_url = self.server.base_url

    def at(self, path: str) -> list[Received]:
        return [r for r in list(self.requests) if r.url.startswith(self.base_url + path)]

    def wait_for(self, path: str, count: int, timeout: float = 5.0) -> list[Received]:
        deadline = time.monotonic() + timeout
        while len(self.at(path)) < count and time.monotonic() < deadline:
            time.sleep(0.01)
        return self.at(path)


@pytest.fixture(scope="module")
def shared() -> Iterator:
    with run_in_thread(SETTINGS) as emulator:
        yield emulator


@pytest.fixture
def emulator(shared):
    shared.store.reset()
    return shared


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    receiver = Receiver()
    yield receiver
    receiver.server.stop()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# -- settings, segments, signing -------------------------------------------------------------------


def test_settings_reject_impossible_rates():
    with pytest.raises(ValueError, match="between 0 and 1"):
        EmulatorSettings(rate_5xx=1.5)
    with pytest.raises(ValueError, match="must not exceed 1"):
        EmulatorSettings(rate_429=0.6, rate_5xx=0.6)


def test_settings_from_env_and_json_round_trip():
    env = {
        "VNOTIFY_EMULATOR_RATE_5XX": "0.25",
        "VNOTIFY_EMULATOR_STATUS_CALLBACKS": "false",
        "VNOTIFY_EMULATOR_SEED": "7",
        "VNOTIFY_EMULATOR_SENDGRID_EVENT_WEBHOOK_URL": "http://127.0.0.1:9/events",
    }
    settings = EmulatorSettings.from_env(env, latency_ms=3.0)
    assert (settings.rate_5xx, settings.status_callbacks, settings.seed, settings.latency_ms) == (
        0.25,
        False,
        7,
        3.0,
    )
    assert settings.sendgrid_event_webhook_url == "http://127.0.0.1:9/events"
    assert EmulatorSettings.from_json(settings.to_json()) == settings
    assert re.fullmatch(r"AC[0-9a-f]{32}", settings.account_sid)


@pytest.mark.parametrize(
    ("body", "segments"),
    [
        ("", 1),
        ("a" * 160, 1),
        ("a" * 161, 2),
        ("a" * 306, 2),
        ("a" * 307, 3),
        ("€" * 80, 1),  # extension characters take two septets: 160
        ("€" * 81, 2),
        ("a" * 152 + "€" + "a" * 152, 3),  # 306 septets, but the escape pair never straddles parts
        ("é" * 160, 1),  # é is in the GSM-7 basic set
        ("ç" * 70, 1),  # ç is not: UCS-2
        ("ç" * 71, 2),
        ("👍" * 35, 1),  # 70 UTF-16 code units
        ("👍" * 36, 2),
        ("aa" + "👍" * 66, 3),  # 134 units, but a surrogate pair never straddles parts
    ],
)
def test_segments_count_like_carriers(body, segments):
    assert count_segments(body) == segments


def test_gsm_basic_set_has_127_printable_characters():
    from simulate.emulators.twilio import GSM7_BASIC, GSM7_EXTENSION

    assert len(GSM7_BASIC) == 127  # 128 minus the escape code
    assert len(GSM7_EXTENSION) == 10


def test_sendgrid_signature_round_trip_and_tamper():
    body = b'[{"event":"delivered","notification_id":"n1"}]'
    signature = sign_sendgrid_event(test_private_key_pem(), "1700000000", body)
    assert verify_sendgrid_event(test_public_key_b64(), "1700000000", body, signature)
    assert verify_sendgrid_event(test_public_key_pem(), 1700000000, body.decode(), signature)
    assert not verify_sendgrid_event(
        test_public_key_b64(), "1700000000", body.replace(b"n1", b"n2"), signature
    )
    assert not verify_sendgrid_event(test_public_key_b64(), "1700000001", body, signature)
    assert not verify_sendgrid_event(test_public_key_b64(), "1700000000", body, "not base64!")
    assert not verify_sendgrid_event(
        test_public_key_b64(), "1700000000", body, base64.b64encode(b"x").decode()
    )
    # SendGrid's own helper accepts our signature with the key as SendGrid displays it.
    helper = EventWebhook(test_public_key_b64())
    assert helper.verify_signature(body.decode(), signature, "1700000000")


def test_public_key_b64_is_der_subject_public_key_info():
    der = base64.b64decode(test_public_key_b64())
    assert der[:1] == b"\x30" and len(der) == 91  # SEQUENCE; P-256 SPKI is 91 bytes
    pem_body = "".join(test_public_key_pem().decode().strip().splitlines()[1:-1])
    assert pem_body == test_public_key_b64()


def test_twilio_signature_is_twilio_validators():
    params = {"MessageSid": "SM" + "a" * 32, "MessageStatus": "sent"}
    url = "https://example.org/twilio/status?x=1"
    signature = twilio_signature("token", url, params)
    assert RequestValidator("token").validate(url, params, signature)
    assert not RequestValidator("other").validate(url, params, signature)


# -- Twilio through the SDK -----------------------------------------------------------------------


def test_twilio_create_list_fetch(emulator):
    client = twilio_client(emulator.base_url)
    first = sms(client, "+15558675310")
    other = sms(client, "+15558675311")
    second = sms(client, "+15558675310")
    assert re.fullmatch(r"SM[0-9a-f]{32}", first.sid)
    assert (first.status, first.direction, first.num_segments, first.num_media) == (
        "queued",
        "outbound-api",
        "1",
        "0",
    )
    assert first.account_sid == SETTINGS.account_sid and first.api_version == "2010-04-01"
    assert first.to == "+15558675310" and first.from_ == SENDER
    assert first.uri == f"/2010-04-01/Accounts/{SETTINGS.account_sid}/Messages/{first.sid}.json"

    listed = client.messages.list(to="+15558675310")
    assert [m.sid for m in listed] == [second.sid, first.sid]  # newest first, To filter applied
    fetched = client.messages(other.sid).fetch()
    assert fetched.sid == other.sid and fetched.status == "delivered"  # no callback: lifecycle done
    assert fetched.price is not None and fetched.price_unit == "USD"
    raw = emulator.store.exchanges[-1].response_json()
    for key in ("date_created", "date_updated", "date_sent"):
        assert RFC2822.match(raw[key]), raw[key]
    assert emulator.store.count_twilio_to("+15558675310") == 2
    assert [m.sid for m in emulator.store.twilio_messages] == [first.sid, other.sid, second.sid]


def test_twilio_paging_follows_next_page_uri(emulator):
    client = twilio_client(emulator.base_url)
    sids = [sms(client, "+15558670000").sid for _ in range(5)]
    page = client.messages.page(page_size=2)
    assert [m.sid for m in page] == sids[::-1][:2]
    assert "PageToken=PA" in page._payload["next_page_uri"] and page._payload["previous_page_uri"] is None
    assert {"end", "first_page_uri", "page", "page_size", "start", "uri"} <= page._payload.keys()
    everything = client.messages.list(page_size=2)
    assert [m.sid for m in everything] == sids[::-1]  # three requests, stitched by the SDK


def test_twilio_date_sent_filters(emulator):
    import datetime as dt

    client = twilio_client(emulator.base_url)
    message = sms(client)
    today = dt.datetime.now(dt.UTC)
    tomorrow = today + dt.timedelta(days=1)
    assert [m.sid for m in client.messages.list(date_sent_before=tomorrow)] == [message.sid]
    assert client.messages.list(date_sent_after=tomorrow) == []
    assert [m.sid for m in client.messages.list(date_sent=today.date())] == [message.sid]


def test_sdk_request_logs_never_carry_the_number(emulator, caplog):
    """Twilio's HTTP client logs each request's query (the victim's number) at INFO."""
    client = twilio_client(emulator.base_url)
    sms(client)
    with caplog.at_level(logging.DEBUG):
        client.messages.list(to="+15558675310")
    assert not [r for r in caplog.records if "+1555867" in r.getMessage()]


@pytest.mark.parametrize(
    ("to", "code"),
    [
        ("+15005550001", 21211),
        ("+15005550002", 21612),
        ("+15005550003", 21408),
        ("+15005550004", 21610),
        ("+15005550009", 21614),
        ("5550100", 21211),  # not E.164
    ],
)
def test_twilio_magic_numbers(emulator, to, code):
    with pytest.raises(TwilioRestException) as caught:
        sms(twilio_client(emulator.base_url), to)
    assert (caught.value.status, caught.value.code) == (400, code)
    assert emulator.store.twilio_messages == []


@pytest.mark.parametrize(
    ("sender", "code"), [("+15005550001", 21212), ("+15005550007", 21606), ("+15005550008", 21611)]
)
def test_twilio_magic_senders(emulator, sender, code):
    client = twilio_client(emulator.base_url)
    with pytest.raises(TwilioRestException) as caught:
        client.messages.create(to="+15558675310", from_=sender, body="x")
    assert caught.value.code == code


def test_twilio_missing_fields(emulator):
    client = twilio_client(emulator.base_url)
    with pytest.raises(TwilioRestException) as no_body:
        client.messages.create(to="+15558675310", from_=SENDER)
    with pytest.raises(TwilioRestException) as no_sender:
        client.messages.create(to="+15558675310", body="x")
    with pytest.raises(TwilioRestException) as too_long:
        client.messages.create(to="+15558675310", from_=SENDER, body="x" * 1601)
    with pytest.raises(TwilioRestException) as bad_callback:
        client.messages.create(
            to="+15558675310", from_=SENDER, body="x", status_callback="ftp://example.org/x"
        )
    assert [e.value.code for e in (no_body, no_sender, too_long, bad_callback)] == [
        21602,
        21603,
        21617,
        21609,
    ]
    # The SDK insists on `to`; a raw POST without it gets 21604.
    response = httpx.post(
        f"{emulator.base_url}/2010-04-01/Accounts/{SETTINGS.account_sid}/Messages.json",
        data={"From": SENDER, "Body": "x"},
        auth=(SETTINGS.account_sid, SETTINGS.auth_token),
    )
    assert response.status_code == 400
    assert response.json() == {
        "code": 21604,
        "message": "A 'To' phone number is required.",
        "more_info": "https://www.twilio.com/docs/errors/21604",
        "status": 400,
    }


def test_twilio_messaging_service_send(emulator):
    client = twilio_client(emulator.base_url)
    service = "MG" + "1" * 32
    message = client.messages.create(to="+15558675310", messaging_service_sid=service, body="x")
    assert message.messaging_service_sid == service and message.from_ is None  # assigned when sent
    assert client.messages(message.sid).fetch().from_ == SENDER


def test_twilio_opt_out_gives_21610_until_opt_in(emulator):
    client = twilio_client(emulator.base_url)
    emulator.store.opt_out("+15558675399")
    with pytest.raises(TwilioRestException) as caught:
        sms(client, "+15558675399")
    assert caught.value.code == 21610
    emulator.store.opt_in("+15558675399")
    assert sms(client, "+15558675399").status == "queued"


def test_twilio_bad_auth_is_401(emulator):
    with pytest.raises(TwilioRestException) as caught:
        sms(twilio_client(emulator.base_url, token="wrong-token"))
    assert (caught.value.status, caught.value.code) == (401, 20003)
    other_account = Client("AC" + "f" * 32, SETTINGS.auth_token)
    other_account.api.base_url = emulator.base_url
    # List pages raise the plain TwilioException("Unable to fetch page", response) on any non-200.
    with pytest.raises(TwilioException) as elsewhere:
        other_account.messages.list()
    assert not isinstance(elsewhere.value, TwilioRestException)
    assert elsewhere.value.args[1].status_code == 401
    assert emulator.store.twilio_messages == []


def test_twilio_fetch_unknown_is_404(emulator):
    with pytest.raises(TwilioRestException) as caught:
        twilio_client(emulator.base_url).messages("SM" + "0" * 32).fetch()
    assert (caught.value.status, caught.value.code) == (404, 20404)


# -- SendGrid through the SDK ---------------------------------------------------------------------


def test_sendgrid_send_is_202_with_message_id(emulator):
    response = sendgrid_client(emulator.base_url).send(
        mail(
            ("victim1@example.org", {"notification_id": "n-1"}),
            ("victim2@example.org", {"notification_id": "n-2"}),
        )
    )
    assert response.status_code == 202 and response.body == b""
    message_id = response.headers["X-Message-Id"]
    assert re.fullmatch(r"[A-Za-z0-9_-]{22}", message_id)
    (stored,) = emulator.store.sendgrid_messages
    assert stored.message_id == message_id and stored.subject == "Your report"
    assert stored.personalizations[1]["custom_args"] == {"notification_id": "n-2"}
    assert stored.from_ == {"email": "victim-services@example.org"}
    assert emulator.store.count_sendgrid_custom_arg("notification_id", "n-1") == 1
    assert emulator.store.count_sendgrid_custom_arg("notification_id", "n-3") == 0


def test_sendgrid_bad_body_is_400_with_every_error(emulator):
    body = {
        "personalizations": [{"to": [{"email": "not-an-address"}]}],
        "from": {"email": "victim-services@example.org"},
    }
    with pytest.raises(sg_errors.BadRequestsError) as caught:
        sendgrid_client(emulator.base_url).client.mail.send.post(request_body=body)
    assert caught.value.status_code == 400
    errors = caught.value.to_dict["errors"]
    assert {e["field"] for e in errors} == {"personalizations.0.to.0.email", "subject", "content"}
    assert all(e["message"] and e["help"].startswith("http://sendgrid.com/docs/") for e in errors)
    assert emulator.store.sendgrid_messages == []


def test_sendgrid_requires_personalizations_and_from(emulator):
    with pytest.raises(sg_errors.BadRequestsError) as caught:
        sendgrid_client(emulator.base_url).client.mail.send.post(
            request_body={
                "personalizations": [],
                "subject": "s",
                "content": [{"type": "text/plain", "value": "x"}],
            }
        )
    assert {e["field"] for e in caught.value.to_dict["errors"]} == {"personalizations", "from.email"}


def test_sendgrid_template_needs_no_subject_or_content(emulator):
    body = {
        "personalizations": [{"to": [{"email": "v@example.org"}], "dynamic_template_data": {"a": "b"}}],
        "from": {"email": "victim-services@example.org"},
        "template_id": "d-0123456789abcdef0123456789abcdef",
    }
    assert sendgrid_client(emulator.base_url).client.mail.send.post(request_body=body).status_code == 202


def test_sendgrid_reject_domain_is_permanent_400(emulator):
    with pytest.raises(sg_errors.BadRequestsError) as caught:
        sendgrid_client(emulator.base_url).send(mail(("someone@reject.invalid", {})))
    assert caught.value.to_dict["errors"][0]["field"] == "personalizations.0.to.0.email"


def test_sendgrid_bad_key_is_401(emulator):
    with pytest.raises(sg_errors.UnauthorizedError) as caught:
        sendgrid_client(emulator.base_url, key="SG.other-key").send(mail(("v@example.org", {})))
    assert caught.value.status_code == 401
    assert caught.value.to_dict["errors"][0]["message"]
    assert emulator.store.sendgrid_messages == []


def test_sendgrid_over_30_mb_is_413(emulator):
    body = mail(("v@example.org", {})).get()
    body["content"][0]["value"] = "x" * (30 * 1024 * 1024 + 1)
    with pytest.raises(sg_errors.PayloadTooLargeError) as caught:
        sendgrid_client(emulator.base_url, timeout=30).client.mail.send.post(request_body=body)
    assert caught.value.status_code == 413
    assert emulator.store.sendgrid_messages == []


# -- fault injection --------------------------------------------------------------------------------


def test_429_everywhere_creates_nothing_and_says_when_to_retry():
    settings = EmulatorSettings(rate_429=1.0, retry_after_seconds=7)
    with run_in_thread(settings) as emulator:
        client = twilio_client(emulator.base_url)
        for _ in range(3):
            with pytest.raises(TwilioRestException) as caught:
                sms(client)
            assert (caught.value.status, caught.value.code) == (429, 20429)
            # TwilioRestException carries no headers: read them off the HTTP client.
            assert client.http_client._test_only_last_response.headers["Retry-After"] == "7"
        with pytest.raises(sg_errors.TooManyRequestsError) as limited:
            sendgrid_client(emulator.base_url).send(mail(("v@example.org", {})))
        assert limited.value.status_code == 429
        assert limited.value.headers["Retry-After"] == "7"
        assert int(limited.value.headers["X-RateLimit-Reset"]) >= int(time.time())
        assert limited.value.to_dict == {"errors": [{"message": "too many requests"}]}
        assert client.messages.list() == []  # reads are never faulted
        assert emulator.store.twilio_messages == [] and emulator.store.sendgrid_messages == []


def test_5xx_with_ambiguous_accept_still_creates_the_message():
    settings = EmulatorSettings(rate_5xx=1.0, ambiguous_accept_share=1.0, seed=3)
    with run_in_thread(settings) as emulator:
        client = twilio_client(emulator.base_url)
        statuses = set()
        for _ in range(6):
            with pytest.raises(TwilioRestException) as caught:
                sms(client, "+15558675312")
            assert caught.value.code in (20500, 20503)
            statuses.add(caught.value.status)
        assert statuses <= {500, 502, 503} and len(statuses) > 1
        assert len(client.messages.list(to="+15558675312")) == 6  # every "failed" send exists
        sendgrid_statuses = set()
        for _ in range(6):
            with pytest.raises(sg_errors.HTTPError) as failed:  # 502 has no subclass of its own
                sendgrid_client(emulator.base_url).send(mail(("v@example.org", {"notification_id": "n-9"})))
            sendgrid_statuses.add(failed.value.status_code)
            expected = {500: sg_errors.InternalServerError, 503: sg_errors.ServiceUnavailableError}
            assert type(failed.value) is expected.get(failed.value.status_code, sg_errors.HTTPError)
        assert sendgrid_statuses <= {500, 502, 503}
        assert emulator.store.count_sendgrid_custom_arg("notification_id", "n-9") == 6


def test_5xx_without_accept_creates_nothing():
    with run_in_thread(EmulatorSettings(rate_5xx=1.0, ambiguous_accept_share=0.0)) as emulator:
        with pytest.raises(TwilioRestException):
            sms(twilio_client(emulator.base_url))
        with pytest.raises(sg_errors.HTTPError):
            sendgrid_client(emulator.base_url).send(mail(("v@example.org", {})))
        assert emulator.store.twilio_messages == [] and emulator.store.sendgrid_messages == []


@pytest.mark.parametrize("accept", [1.0, 0.0])
def test_timeouts_surface_as_sdk_read_timeouts(accept):
    settings = EmulatorSettings(rate_timeout=1.0, timeout_seconds=2.0, ambiguous_accept_share=accept)
    with run_in_thread(settings) as emulator:
        started = time.monotonic()
        with pytest.raises(requests.exceptions.ReadTimeout):
            sms(twilio_client(emulator.base_url, timeout=0.5))
        assert time.monotonic() - started < 1.6  # the client gave up; the server hangs for 2 s
        started = time.monotonic()
        with pytest.raises(TimeoutError):  # urllib: socket.timeout, not wrapped in URLError
            sendgrid_client(emulator.base_url, timeout=0.5).send(mail(("v@example.org", {})))
        assert time.monotonic() - started < 1.6
        created = len(emulator.store.twilio_messages), len(emulator.store.sendgrid_messages)
        assert created == ((1, 1) if accept else (0, 0))


def test_slow_success_after_timeout_when_the_client_waits():
    settings = EmulatorSettings(rate_timeout=1.0, timeout_seconds=0.3, ambiguous_accept_share=1.0)
    with run_in_thread(settings) as emulator:
        started = time.monotonic()
        message = sms(twilio_client(emulator.base_url, timeout=5))
        assert message.status == "queued" and time.monotonic() - started >= 0.3


def test_connection_refused_exceptions():
    base_url = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(requests.exceptions.ConnectionError):
        sms(twilio_client(base_url))
    with pytest.raises(urllib.error.URLError) as caught:
        sendgrid_client(base_url).send(mail(("v@example.org", {})))
    assert isinstance(caught.value.reason, ConnectionRefusedError)


def test_latency_applies_to_every_call():
    with run_in_thread(EmulatorSettings(latency_ms=150)) as emulator:
        client = twilio_client(emulator.base_url)
        started = time.monotonic()
        client.messages.list()
        assert time.monotonic() - started >= 0.15


def test_fault_dice_are_seeded_and_proportional():
    settings = EmulatorSettings(rate_429=0.1, rate_5xx=0.2, rate_timeout=0.05, seed=42)
    one, two, other_seed = (
        FaultInjector(settings),
        FaultInjector(settings),
        FaultInjector(replace(settings, seed=43)),
    )
    run_one = [one.decide() for _ in range(4000)]
    assert run_one == [two.decide() for _ in range(4000)]
    assert run_one != [other_seed.decide() for _ in range(4000)]
    kinds = [f.kind if f else None for f in run_one]
    assert abs(kinds.count("rate_limit") / 4000 - 0.1) < 0.02
    assert abs(kinds.count("server_error") / 4000 - 0.2) < 0.025
    assert abs(kinds.count("timeout") / 4000 - 0.05) < 0.015
    accepted = [f.accept for f in run_one if f and f.kind == "server_error"]
    assert 0.4 < sum(accepted) / len(accepted) < 0.6
    assert FaultInjector(EmulatorSettings()).decide() is None


# -- status callbacks and event webhooks ------------------------------------------------------------


def test_twilio_status_callbacks_are_signed_and_ordered(receiver):
    with run_in_thread(SETTINGS) as emulator:
        client = twilio_client(emulator.base_url)
        url = f"{receiver.base_url}/twilio/ok"
        message = sms(client, "+15558675313", status_callback=url)
        failed = sms(client, "+15005550010", status_callback=f"{receiver.base_url}/twilio/undelivered")
        assert emulator.wait_idle()
        callbacks = receiver.wait_for("/twilio/ok", 3)
        undelivered = receiver.wait_for("/twilio/undelivered", 3)
    validator = RequestValidator(SETTINGS.auth_token)
    statuses = []
    for callback in callbacks:
        params = dict(parse_qsl(callback.body.decode()))
        assert validator.validate(callback.url, params, callback.headers["x-twilio-signature"])
        assert not validator.validate(
            callback.url, {**params, "To": "+15550000000"}, callback.headers["x-twilio-signature"]
        )
        assert params["MessageSid"] == params["SmsSid"] == message.sid
        assert params["AccountSid"] == SETTINGS.account_sid and params["ApiVersion"] == "2010-04-01"
        assert params["To"] == "+15558675313" and params["From"] == SENDER and "ErrorCode" not in params
        assert params["MessageStatus"] == params["SmsStatus"]
        statuses.append(params["MessageStatus"])
    assert statuses == ["queued", "sent", "delivered"]
    last = dict(parse_qsl(undelivered[-1].body.decode()))
    assert (last["MessageStatus"], last["ErrorCode"]) == ("undelivered", "30003")
    assert failed.sid == last["MessageSid"]


def test_twilio_callbacks_can_be_switched_off(receiver):
    with run_in_thread(EmulatorSettings(status_callbacks=False)) as emulator:
        message = sms(twilio_client(emulator.base_url), status_callback=f"{receiver.base_url}/twilio/off")
        assert emulator.wait_idle()
        time.sleep(0.1)
        assert receiver.at("/twilio/off") == []
        assert emulator.store.twilio.by_sid[message.sid].status == "delivered"


def test_twilio_callback_delay_spaces_the_steps(receiver):
    with run_in_thread(EmulatorSettings(callback_delay_seconds=0.2)) as emulator:
        client = twilio_client(emulator.base_url)
        message = sms(client, status_callback=f"{receiver.base_url}/twilio/slow")
        assert client.messages(message.sid).fetch().status == "queued"
        assert emulator.wait_idle()
    arrived = receiver.wait_for("/twilio/slow", 3)
    assert [dict(parse_qsl(r.body.decode()))["MessageStatus"] for r in arrived] == [
        "queued",
        "sent",
        "delivered",
    ]


def test_undeliverable_callback_is_logged_without_pii(caplog):
    caplog.set_level(logging.WARNING, logger="simulate.emulators")
    with run_in_thread(SETTINGS) as emulator:
        message = sms(
            twilio_client(emulator.base_url),
            "+15558675314",
            status_callback=f"http://127.0.0.1:{free_port()}/x",
        )
        assert emulator.wait_idle()
        assert emulator.store.twilio.by_sid[message.sid].status == "delivered"
    logged = [r.getMessage() for r in caplog.records if r.name == "simulate.emulators"]
    assert len(logged) == 3 and all(message.sid in line for line in logged)
    assert not any("+1555" in line or "127.0.0.1" in line for line in logged)


def test_sendgrid_events_are_signed_with_custom_args_on_top(receiver):
    settings = EmulatorSettings(sendgrid_event_webhook_url=f"{receiver.base_url}/sendgrid/events")
    with run_in_thread(settings) as emulator:
        response = sendgrid_client(emulator.base_url).send(
            mail(
                ("victim1@example.org", {"notification_id": "n-1"}),
                ("gone@bounce.invalid", {"notification_id": "n-2"}),
            )
        )
        assert emulator.wait_idle()
        posts = receiver.wait_for("/sendgrid/events", 1)
    message_id = response.headers["X-Message-Id"]
    events = []
    for post in posts:
        timestamp = post.headers["x-twilio-email-event-webhook-timestamp"]
        signature = post.headers["x-twilio-email-event-webhook-signature"]
        assert verify_sendgrid_event(test_public_key_b64(), timestamp, post.body, signature)
        assert not verify_sendgrid_event(
            test_public_key_b64(), timestamp, post.body.replace(b"n-1", b"n-7"), signature
        )
        assert abs(int(timestamp) - time.time()) < 60
        events.extend(json.loads(post.body))
    assert [(e["event"], e["email"]) for e in events] == [
        ("processed", "victim1@example.org"),
        ("processed", "gone@bounce.invalid"),
        ("delivered", "victim1@example.org"),
        ("bounce", "gone@bounce.invalid"),
    ]
    for event in events:
        assert event["notification_id"] == ("n-1" if event["email"] == "victim1@example.org" else "n-2")
        assert re.fullmatch(re.escape(message_id) + r"\.filter0001\.\d+", event["sg_message_id"])
        assert isinstance(event["timestamp"], int) and event["smtp-id"].startswith(f"<{message_id}@")
    assert len({e["sg_event_id"] for e in events}) == 4
    assert len({e["sg_message_id"] for e in events}) == 2  # one per recipient, shared by its events


def test_sendgrid_events_off_without_webhook_url(emulator, receiver):
    before = len(receiver.requests)
    sendgrid_client(emulator.base_url).send(mail(("v@example.org", {"notification_id": "n-5"})))
    assert emulator.wait_idle() and emulator.store.pending_webhooks == 0
    assert len(receiver.requests) == before


# -- the store and the ways to run it ---------------------------------------------------------------


def test_exchanges_record_requests_and_can_be_off(emulator):
    sms(twilio_client(emulator.base_url))
    (exchange,) = emulator.store.exchanges
    assert (exchange.provider, exchange.method, exchange.status) == ("twilio", "POST", 201)
    assert dict(parse_qsl(exchange.body.decode()))["To"] == "+15558675310"
    assert exchange.header("Authorization").startswith("Basic ")
    assert exchange.response_json()["sid"] == emulator.store.twilio_messages[0].sid
    emulator.store.reset()
    assert len(emulator.store.exchanges) == 0 and emulator.store.twilio_messages == []
    with run_in_thread(EmulatorSettings(record_exchanges=False)) as quiet:
        sms(twilio_client(quiet.base_url))
        assert len(quiet.store.exchanges) == 0 and len(quiet.store.twilio_messages) == 1
    with run_in_thread(EmulatorSettings(exchanges_limit=2)) as bounded:
        client = twilio_client(bounded.base_url)
        for _ in range(4):
            client.messages.list()
        assert len(bounded.store.exchanges) == 2


def test_unknown_paths_get_provider_shaped_404s(emulator):
    twilio = httpx.get(f"{emulator.base_url}/2010-04-01/Accounts/{SETTINGS.account_sid}/Calls.json")
    sendgrid = httpx.post(f"{emulator.base_url}/v3/mail/batch")
    assert twilio.status_code == 404 and twilio.json()["code"] == 20404
    assert sendgrid.status_code == 404 and sendgrid.json()["errors"][0]["message"] == "not found"


def test_run_in_process_serves_the_sdks():
    with run_in_process(EmulatorSettings(seed=5)) as base_url:
        sms(twilio_client(base_url))
        sendgrid_client(base_url).send(mail(("v@example.org", {})))
        stats = httpx.get(f"{base_url}/__emulator/stats").json()
    assert (stats["twilio_messages"], stats["sendgrid_messages"]) == (1, 1)
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{base_url}/__emulator/stats")  # the child is gone


def test_cli_emulate_maps_options_onto_settings(monkeypatch):
    """`vnotify emulate` options reach EmulatorSettings (the serving itself is `serve`, which
    run_in_process exercises); built on a bare Typer app to skip importing every other command."""
    import typer
    from typer.testing import CliRunner

    import simulate.emulators.server as server
    from vnotify.commands.emulate_cmd import emulate

    seen = {}

    def fake_serve(settings, host, port, on_ready=None):
        seen.update(settings=settings, host=host, port=port)
        on_ready(f"http://{host}:{port}")

    monkeypatch.setattr(server, "serve", fake_serve)
    monkeypatch.setenv("VNOTIFY_EMULATOR_LATENCY_MS", "12")
    app = typer.Typer()
    app.command()(emulate)
    app.command("other")(lambda: None)  # two commands, so `emulate` is addressed by name as in vnotify
    options = ["--port", "9001", "--fail-rate", "0.2", "--rate-429", "0.1", "--timeout-rate", "0.05"]
    options += ["--sendgrid-webhook", "http://127.0.0.1:9002/events", "--seed", "9"]
    result = CliRunner().invoke(app, ["emulate", *options])
    assert result.exit_code == 0, result.output
    settings = seen["settings"]
    assert (seen["host"], seen["port"]) == ("127.0.0.1", 9001)
    assert (settings.rate_5xx, settings.rate_429, settings.rate_timeout, settings.seed) == (0.2, 0.1, 0.05, 9)
    assert settings.sendgrid_event_webhook_url == "http://127.0.0.1:9002/events"
    assert settings.latency_ms == 12.0  # unset options fall back to the environment
    assert "listening on http://127.0.0.1:9001" in result.output
