"""Contract tests: every exchange the emulators had with the official SDKs matches the providers'
published OpenAPI documents (copies in tests/data/provider-specs/, checked by sha256 below).

A workload runs through the SDKs — sends, lists, fetches, magic-number errors, bad auth, bad
bodies, 429s and 5xx — then each recorded request and response is validated with openapi-core.
What the specs do not describe is checked against the provider's documented error shape instead:
Twilio publishes no error schema at all (its errors, 429s and 5xx are `{code, message, more_info,
status}` JSON), and SendGrid's spec lists no 429/502/503 response (those bodies are checked against
the spec's own `ErrorResponse` schema).
"""

from __future__ import annotations

import copy
import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import pytest
from jsonschema import Draft202012Validator
from openapi_core import Config, OpenAPI
from openapi_core.datatypes import RequestParameters
from openapi_core.validation.request.exceptions import RequestBodyValidationError, SecurityValidationError
from openapi_core.validation.response.exceptions import InvalidData
from openapi_schema_validator import OAS31Validator
from python_http_client import exceptions as sg_errors
from sendgrid import SendGridAPIClient
from sendgrid.helpers.mail import Content, CustomArg, Email, Mail, Personalization
from twilio.base.exceptions import TwilioException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client
from werkzeug.datastructures import Headers, ImmutableMultiDict

import notifications.providers  # noqa: F401  (silences the SDKs' request logs, as in production)
from simulate.emulators import EmulatorSettings, run_in_thread
from simulate.emulators.core import Exchange

SPECS = Path(__file__).parent / "data" / "provider-specs"
TWILIO_SPEC = SPECS / "twilio_api_v2010.json"
SENDGRID_SPEC = SPECS / "tsg_mail_v3.json"
SHA256 = {
    TWILIO_SPEC: "99cae87a6bb1725f71363364cbd30282a13140374b2d5f9bdd5bdfa5d4c8a6d7",
    SENDGRID_SPEC: "4ba24d0feb8a6b347f60528161d1cf0e7591987d2b3a64a6533685dc2b39d19f",
}
TWILIO_HOST = "https://api.twilio.com"  # the specs' server URLs: exchanges are replayed against them
SENDGRID_HOST = "https://api.sendgrid.com"
SENDER = "+15005550006"

# Twilio's error JSON (not in its spec): what the dispatcher parses.
TWILIO_ERROR_SCHEMA = {
    "type": "object",
    "required": ["code", "message", "more_info", "status"],
    "additionalProperties": False,
    "properties": {
        "code": {"type": "integer"},
        "message": {"type": "string", "minLength": 1},
        "more_info": {"type": "string", "pattern": r"^https://www\.twilio\.com/docs/errors/\d+$"},
        "status": {"type": "integer", "minimum": 400, "maximum": 599},
    },
}


# -- openapi-core adapters for recorded exchanges --------------------------------------------------


@dataclass
class RecordedRequest:
    """openapi-core's Request protocol over an Exchange."""

    host_url: str
    path: str
    method: str
    body: bytes | None
    content_type: str
    parameters: RequestParameters = field(default_factory=RequestParameters)


@dataclass
class RecordedResponse:
    """openapi-core's Response protocol over an Exchange."""

    status_code: int
    data: bytes | None
    content_type: str
    headers: Headers


def as_request(exchange: Exchange, host_url: str) -> RecordedRequest:
    headers = Headers(exchange.headers)
    return RecordedRequest(
        host_url=host_url,
        path=exchange.path,
        method=exchange.method.lower(),
        body=exchange.body or None,
        content_type=headers.get("content-type", "application/octet-stream"),
        parameters=RequestParameters(query=ImmutableMultiDict(exchange.query_params), header=headers),
    )


def as_response(exchange: Exchange) -> RecordedResponse:
    headers = Headers(exchange.response_headers)
    return RecordedResponse(
        status_code=exchange.status,
        data=exchange.response_body,
        content_type=headers.get("content-type", ""),
        headers=headers,
    )


def documented_statuses(spec: dict[str, Any], exchange: Exchange, template: str) -> set[int]:
    operation = spec["paths"][template][exchange.method.lower()]
    return {int(code) for code in operation["responses"]}


def twilio_template(path: str) -> str:
    return (
        "/2010-04-01/Accounts/{AccountSid}/Messages.json"
        if path.endswith("/Messages.json")
        else "/2010-04-01/Accounts/{AccountSid}/Messages/{Sid}.json"
    )


# -- specs, loaded once per module -----------------------------------------------------------------


@pytest.fixture(scope="module")
def twilio_document() -> dict[str, Any]:
    # json.load, not OpenAPI.from_file_path: the YAML parser chokes on the surrogate-pair escapes.
    with TWILIO_SPEC.open(encoding="utf-8") as handle:
        return json.load(handle)


@pytest.fixture(scope="module")
def twilio_spec(twilio_document) -> OpenAPI:
    # Skipping the validation of the 1.9 MB document itself (~3 s): it is the publisher's, unmodified.
    return OpenAPI.from_dict(twilio_document, config=Config(spec_validator_cls=None))


@pytest.fixture(scope="module")
def sendgrid_document() -> dict[str, Any]:
    with SENDGRID_SPEC.open(encoding="utf-8") as handle:
        document = json.load(handle)
    # The one relaxation: the spec types ErrorResponse.errors[].help as an object, but SendGrid
    # sends a documentation URL string there (and so does the emulator). Everything else is as published.
    relaxed = copy.deepcopy(document)
    help_schema = relaxed["components"]["schemas"]["ErrorResponse"]["properties"]["errors"]["items"][
        "properties"
    ]
    help_schema["help"] = {"type": ["string", "object"]}
    return relaxed


@pytest.fixture(scope="module")
def sendgrid_spec(sendgrid_document) -> OpenAPI:
    return OpenAPI.from_dict(sendgrid_document)


# -- the workload ----------------------------------------------------------------------------------


def _twilio(base_url: str, settings: EmulatorSettings, token: str | None = None) -> Client:
    client = Client(
        settings.account_sid, token or settings.auth_token, http_client=TwilioHttpClient(timeout=5)
    )
    client.api.base_url = base_url
    return client


def _sendgrid(base_url: str, key: str) -> SendGridAPIClient:
    client = SendGridAPIClient(key, host=base_url)
    client.client.timeout = 5
    return client


def _mail(*recipients: str, subject: str | None = "Your report", with_content: bool = True) -> Mail:
    message = Mail(from_email="victim-services@example.org", subject=subject)
    if with_content:
        message.add_content(Content("text/plain", "About your report."))
        message.add_content(Content("text/html", "<p>About your report.</p>"))
    for number, address in enumerate(recipients):
        personalization = Personalization()
        personalization.add_to(Email(address))
        personalization.add_custom_arg(CustomArg("notification_id", f"n-{number}"))
        message.add_personalization(personalization, index=number)
    return message


def _expect_failure(call) -> None:
    """Errors are the point of these calls; which exception is tested in test_emulators.py."""
    try:
        call()
    except (TwilioException, sg_errors.HTTPError):
        return
    raise AssertionError("expected the provider to refuse")


def _normal_workload(base_url: str, settings: EmulatorSettings) -> None:
    import datetime as dt

    client = _twilio(base_url, settings)
    sent = [
        client.messages.create(to=f"+1555867{i:04d}", from_=SENDER, body="Your report number is SV25-000001.")
        for i in range(3)
    ]
    client.messages.create(to="+15558670000", messaging_service_sid="MG" + "1" * 32, body="Ünïcode 👍 body")
    client.messages.create(to="+15005550010", from_=SENDER, body="x" * 400)  # ends undelivered
    client.messages.list(to="+15558670000")
    client.messages.list(page_size=2)  # three pages, following next_page_uri
    client.messages.list(date_sent_after=dt.datetime.now(dt.UTC) - dt.timedelta(days=1), from_=SENDER)
    client.messages(sent[0].sid).fetch()
    _expect_failure(lambda: client.messages("SM" + "0" * 32).fetch())  # 404
    for to in ("+15005550001", "+15005550002", "+15005550003", "+15005550004", "+15005550009"):
        _expect_failure(lambda to=to: client.messages.create(to=to, from_=SENDER, body="x"))
    _expect_failure(lambda: client.messages.create(to="+15558670001", from_=SENDER))  # 21602
    _expect_failure(lambda: client.messages.create(to="+15558670001", body="x"))  # 21603
    _expect_failure(
        lambda: _twilio(base_url, settings, "wrong").messages.create(
            to="+15558670001", from_=SENDER, body="x"
        )
    )

    sendgrid = _sendgrid(base_url, settings.sendgrid_api_key)
    sendgrid.send(_mail("victim1@example.org", "victim2@example.org"))
    sendgrid.client.mail.send.post(
        request_body={
            "personalizations": [
                {"to": [{"email": "v@example.org"}], "dynamic_template_data": {"name": "Ana"}}
            ],
            "from": {"email": "victim-services@example.org", "name": "Victim Services"},
            "template_id": "d-0123456789abcdef0123456789abcdef",
            "categories": ["victim-notification"],
        }
    )
    _expect_failure(lambda: sendgrid.send(_mail("v@example.org", subject=None, with_content=False)))  # 400
    _expect_failure(lambda: sendgrid.send(_mail("someone@reject.invalid")))  # 400
    _expect_failure(lambda: _sendgrid(base_url, "SG.wrong").send(_mail("v@example.org")))  # 401


def _faulty_workload(base_url: str, settings: EmulatorSettings, calls: int) -> None:
    client = _twilio(base_url, settings)
    sendgrid = _sendgrid(base_url, settings.sendgrid_api_key)
    for i in range(calls):
        _expect_failure(lambda i=i: client.messages.create(to=f"+1555867{i:04d}", from_=SENDER, body="x"))
        _expect_failure(lambda: sendgrid.send(_mail("v@example.org")))
    client.messages.list()  # reads are never faulted: a 200 in the middle of it


@pytest.fixture(scope="module")
def exchanges() -> Iterator[list[Exchange]]:
    """Every exchange of the workload, from a clean emulator, a rate-limited one and a failing one."""
    recorded: list[Exchange] = []
    plans = [
        (EmulatorSettings(), _normal_workload),
        (EmulatorSettings(rate_429=1.0), lambda url, s: _faulty_workload(url, s, 2)),
        (EmulatorSettings(rate_5xx=1.0, seed=11), lambda url, s: _faulty_workload(url, s, 6)),
    ]
    for settings, workload in plans:
        with run_in_thread(settings) as emulator:
            workload(emulator.base_url, settings)
            recorded.extend(emulator.store.exchanges)
    yield recorded


# -- the tests -------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", [TWILIO_SPEC, SENDGRID_SPEC], ids=lambda p: p.name)
def test_spec_copies_are_the_published_ones(path):
    assert hashlib.sha256(path.read_bytes()).hexdigest() == SHA256[path]


def test_workload_covers_successes_errors_and_faults(exchanges):
    seen = {(e.provider, e.method, e.status) for e in exchanges}
    for wanted in [
        ("twilio", "POST", 201),
        ("twilio", "GET", 200),
        ("twilio", "POST", 400),
        ("twilio", "POST", 401),
        ("twilio", "GET", 404),
        ("twilio", "POST", 429),
        ("sendgrid", "POST", 202),
        ("sendgrid", "POST", 400),
        ("sendgrid", "POST", 401),
        ("sendgrid", "POST", 429),
    ]:
        assert wanted in seen, wanted
    five_hundreds = {status for provider, _, status in seen if status >= 500}
    assert len(five_hundreds) >= 2 and five_hundreds <= {500, 502, 503}
    assert not [e for e in exchanges if e.provider == "unknown"]
    twilio_codes = {
        e.response_json()["code"] for e in exchanges if e.provider == "twilio" and e.status >= 400
    }
    assert {21211, 21612, 21408, 21610, 21614, 21602, 21603, 20003, 20404, 20429} <= twilio_codes


def test_every_twilio_exchange_matches_the_spec(exchanges, twilio_spec, twilio_document):
    error_shape = Draft202012Validator(TWILIO_ERROR_SCHEMA)
    checked = 0
    for exchange in (e for e in exchanges if e.provider == "twilio"):
        request = as_request(exchange, TWILIO_HOST)
        twilio_spec.validate_request(request)
        documented = documented_statuses(twilio_document, exchange, twilio_template(exchange.path))
        if exchange.status in documented:
            twilio_spec.validate_response(request, as_response(exchange))
        else:
            # Not in the spec (Twilio publishes no error schema): Twilio's documented error JSON.
            body = exchange.response_json()
            error_shape.validate(body)
            assert body["status"] == exchange.status
            assert body["more_info"].endswith(f"/{body['code']}")
            assert exchange.response_header("content-type").startswith("application/json")
            if exchange.status == 429:
                assert int(exchange.response_header("retry-after")) >= 0
        checked += 1
    assert checked >= 30


def test_every_sendgrid_exchange_matches_the_spec(exchanges, sendgrid_spec, sendgrid_document):
    error_response = OAS31Validator(
        {**sendgrid_document["components"]["schemas"]["ErrorResponse"], "required": ["errors"]}
    )
    checked = 0
    for exchange in (e for e in exchanges if e.provider == "sendgrid"):
        request = as_request(exchange, SENDGRID_HOST)
        sendgrid_spec.validate_request(request)
        if exchange.status in documented_statuses(sendgrid_document, exchange, "/v3/mail/send"):
            sendgrid_spec.validate_response(request, as_response(exchange))
        else:
            # 429, 502 and 503 are not listed for /v3/mail/send: SendGrid's ErrorResponse shape.
            error_response.validate(exchange.response_json())
            assert exchange.status in (429, 502, 503)
        if exchange.status == 202:
            assert exchange.response_body == b"" and len(exchange.response_header("x-message-id")) == 22
        checked += 1
    assert checked >= 13  # 5 clean sends, 2 rate-limited, 6 failing


def test_the_validators_have_teeth(exchanges, twilio_spec, sendgrid_spec):
    """Broken shapes fail, so the passes above mean something."""
    created = next(e for e in exchanges if e.provider == "twilio" and e.status == 201)
    request = as_request(created, TWILIO_HOST)
    for key, bad in [("num_segments", 1), ("status", "teleported"), ("sid", "XX123"), ("error_code", "none")]:
        broken = as_response(created)
        broken.data = json.dumps({**created.response_json(), key: bad}).encode()
        with pytest.raises(InvalidData):
            twilio_spec.validate_response(request, broken)
    unsigned = as_request(created, TWILIO_HOST)
    unsigned.parameters = RequestParameters(header=Headers({"content-type": unsigned.content_type}))
    with pytest.raises(SecurityValidationError):
        twilio_spec.validate_request(unsigned)

    sent = next(e for e in exchanges if e.provider == "sendgrid" and e.status == 202)
    body = json.loads(sent.body)
    no_sender = as_request(sent, SENDGRID_HOST)
    no_sender.body = json.dumps({k: v for k, v in body.items() if k != "from"}).encode()
    with pytest.raises(RequestBodyValidationError):
        sendgrid_spec.validate_request(no_sender)
    top_level_args = as_request(sent, SENDGRID_HOST)
    top_level_args.body = json.dumps({**body, "custom_args": {"notification_id": "n-0"}}).encode()
    with pytest.raises(RequestBodyValidationError):  # the spec's string-typed top-level custom_args
        sendgrid_spec.validate_request(top_level_args)
    refused = next(e for e in exchanges if e.provider == "sendgrid" and e.status == 400)
    nameless = as_response(refused)
    nameless.data = json.dumps({"errors": [{"message": 1}]}).encode()
    with pytest.raises(InvalidData):
        sendgrid_spec.validate_response(as_request(refused, SENDGRID_HOST), nameless)


def test_custom_args_travel_inside_personalizations(exchanges):
    sent = next(e for e in exchanges if e.provider == "sendgrid" and e.status == 202)
    body = json.loads(sent.body)
    assert "custom_args" not in body
    assert [p["custom_args"] for p in body["personalizations"]] == [
        {"notification_id": "n-0"},
        {"notification_id": "n-1"},
    ]
    form = [
        dict(parse_qsl(e.body.decode())) for e in exchanges if e.provider == "twilio" and e.method == "POST"
    ]
    assert any("MessagingServiceSid" in f and "From" not in f for f in form)
