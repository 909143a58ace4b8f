"""Provider webhooks: nothing unsigned, forged or stale is accepted; each event is stored once;
statuses only move forward; a victim's reply is classified, stored and answered once."""

from __future__ import annotations

import json
import time
from urllib.parse import urlencode

import psycopg
import pytest
from fastapi.testclient import TestClient
from sending import outbox_rows, phone, queue

from simulate.emulators.settings import TEST_AUTH_TOKEN
from simulate.emulators.signing import (
    sign_sendgrid_event,
    test_private_key_pem,
    test_public_key_b64,
    twilio_signature,
)
from vnotify.config import load_config
from web.app import WebSettings, create_app

BASE = "http://testserver"


@pytest.fixture
def client(clean_db_url):
    settings = WebSettings(
        database_url=clean_db_url,
        twilio_auth_token=TEST_AUTH_TOKEN,
        sendgrid_public_key=test_public_key_b64(),
        public_base_url=BASE,
    )
    with TestClient(create_app(settings, load_config()), base_url=BASE) as test_client:
        yield test_client


def twilio_post(client, path: str, params: dict, token: str = TEST_AUTH_TOKEN, sign: bool = True):
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    if sign:
        headers["X-Twilio-Signature"] = twilio_signature(token, f"{BASE}{path}", params)
    return client.post(path, content=urlencode(params), headers=headers)


def sendgrid_post(client, events: list[dict], stamp: int | None = None, tamper: bool = False):
    stamp = stamp if stamp is not None else int(time.time())
    body = json.dumps(events).encode()
    signature = sign_sendgrid_event(test_private_key_pem(), str(stamp), body)
    if tamper:
        body = body.replace(b"delivered", b"bounce")
    return client.post(
        "/webhooks/sendgrid/events",
        content=body,
        headers={
            "Content-Type": "application/json",
            "X-Twilio-Email-Event-Webhook-Timestamp": str(stamp),
            "X-Twilio-Email-Event-Webhook-Signature": signature,
        },
    )


def inbound(client, body: str, sid: str = "SM" + "1" * 32, sender: str | None = None):
    return twilio_post(
        client, "/webhooks/twilio/inbound", {"MessageSid": sid, "From": sender or phone(1), "Body": body}
    )


def scalar(url: str, query: str, *params):
    with psycopg.connect(url) as conn:
        return conn.execute(query, params).fetchone()[0]


# -- authentication -----------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/webhooks/twilio/inbound", "/webhooks/twilio/status"])
def test_unsigned_and_wrongly_signed_twilio_webhooks_are_refused(client, clean_db_url, path):
    params = {"MessageSid": "SM" + "2" * 32, "MessageStatus": "delivered", "From": phone(1), "Body": "STOP"}
    assert twilio_post(client, path, params, sign=False).status_code == 403
    assert twilio_post(client, path, params, token="not-the-token").status_code == 403
    forged = {**params, "Body": "START"}
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Twilio-Signature": twilio_signature(TEST_AUTH_TOKEN, f"{BASE}{path}", params),
    }
    assert client.post(path, content=urlencode(forged), headers=headers).status_code == 403
    assert scalar(clean_db_url, "SELECT count(*) FROM ops.inbound_messages") == 0
    assert scalar(clean_db_url, "SELECT count(*) FROM ops.events") == 0
    assert scalar(clean_db_url, "SELECT count(*) FROM ops.opt_outs") == 0


def test_unsigned_tampered_and_stale_sendgrid_events_are_refused(client, clean_db_url):
    events = [{"email": "a@example.org", "event": "delivered", "timestamp": 1, "sg_event_id": "e1"}]
    assert sendgrid_post(client, events, tamper=True).status_code == 403
    assert sendgrid_post(client, events, stamp=int(time.time()) - 3600).status_code == 403
    assert client.post("/webhooks/sendgrid/events", json=events).status_code == 403
    assert scalar(clean_db_url, "SELECT count(*) FROM ops.events") == 0
    assert sendgrid_post(client, events).status_code == 204
    assert scalar(clean_db_url, "SELECT count(*) FROM ops.events") == 1


# -- events ---------------------------------------------------------------------------------------


def test_twilio_statuses_are_stored_once_and_never_move_backwards(client, clean_db_url):
    [outbox_id] = queue(clean_db_url, 1, "sms")
    with psycopg.connect(clean_db_url) as conn:
        conn.execute(
            "UPDATE ops.outbox SET state = 'sent', provider_id = 'SMabc' WHERE outbox_id = %s", (outbox_id,)
        )
    for status in ("sent", "delivered", "delivered", "sent"):
        response = twilio_post(
            client, "/webhooks/twilio/status", {"MessageSid": "SMabc", "MessageStatus": status}
        )
        assert response.status_code == 204
    assert outbox_rows(clean_db_url)[0]["delivery_status"] == "delivered"
    assert scalar(clean_db_url, "SELECT count(*) FROM ops.events WHERE provider_id = 'SMabc'") == 2


@pytest.mark.server
def test_a_status_callback_that_comes_before_the_provider_id_is_recorded_is_applied(client, clean_db_url):
    """Twilio may call back before the send call returns: the callback is stored with no outbox
    row, and applied when the dispatcher records the id (or by its sweep, when the two commit
    at the same moment)."""
    from notifications import outbox
    from notifications.events import adopt_early_events

    first, second = queue(clean_db_url, 2, "sms")
    for sid, status in (("SMearly1", "sent"), ("SMearly1", "delivered"), ("SMearly2", "undelivered")):
        response = twilio_post(
            client, "/webhooks/twilio/status", {"MessageSid": sid, "MessageStatus": status}
        )
        assert response.status_code == 204
    assert scalar(clean_db_url, "SELECT count(*) FROM ops.events WHERE outbox_id IS NULL") == 3
    with psycopg.connect(clean_db_url) as conn:
        conn.execute("UPDATE ops.outbox SET state = 'unknown' WHERE outbox_id IN (%s, %s)", (first, second))
        assert outbox.mark_sent(conn, first, "SMearly1")
        # The second id is recorded as a racing callback commits: only the sweep sees it.
        conn.execute(
            "UPDATE ops.outbox SET state = 'sent', provider_id = 'SMearly2' WHERE outbox_id = %s", (second,)
        )
        assert adopt_early_events(conn) == 1
    statuses = {row["outbox_id"]: row["delivery_status"] for row in outbox_rows(clean_db_url)}
    assert statuses == {first: "delivered", second: "undelivered"}
    assert scalar(clean_db_url, "SELECT count(*) FROM ops.events WHERE outbox_id IS NULL") == 0


def test_sendgrid_events_settle_unknown_sends_and_suppress_bounces(client, clean_db_url):
    [outbox_id] = queue(clean_db_url, 1, "email")
    with psycopg.connect(clean_db_url) as conn:
        conn.execute("UPDATE ops.outbox SET state = 'unknown' WHERE outbox_id = %s", (outbox_id,))
    address = outbox_rows(clean_db_url)[0]["address"]
    event = {"email": address, "timestamp": int(time.time()), "sg_message_id": "msg123.filter0001",
             "notification_id": str(outbox_id), "attempt": "1"}  # fmt: skip
    batch = [
        {**event, "event": "processed", "sg_event_id": "p1"},
        {**event, "event": "bounce", "sg_event_id": "b1", "reason": f"550 unknown user {address}"},
    ]
    assert sendgrid_post(client, batch).status_code == 204
    assert sendgrid_post(client, batch).status_code == 204  # SendGrid retrying: stored once
    row = outbox_rows(clean_db_url)[0]
    assert (row["state"], row["provider_id"], row["delivery_status"]) == ("sent", "msg123", "bounce")
    assert scalar(clean_db_url, "SELECT count(*) FROM ops.events WHERE source = 'sendgrid'") == 2
    assert (
        scalar(clean_db_url, "SELECT source FROM ops.opt_outs WHERE address = %s", address)
        == "sendgrid_bounce"
    )
    details = scalar(clean_db_url, "SELECT string_agg(detail::text, ' ') FROM ops.events")
    assert address not in details


# -- replies --------------------------------------------------------------------------------------


def test_stop_records_the_opt_out_and_answers_once(client, clean_db_url):
    first = inbound(client, "Stop texting me please")
    assert first.status_code == 200 and first.headers["content-type"].startswith("text/xml")
    assert "<Message>" in first.text and "no more texts" in first.text
    assert scalar(clean_db_url, "SELECT source FROM ops.opt_outs WHERE address = %s", phone(1)) == "sms_reply"
    repeat = inbound(client, "Stop texting me please")
    assert "<Message>" not in repeat.text
    assert scalar(clean_db_url, "SELECT count(*) FROM ops.inbound_messages") == 1


def test_spanish_opt_out_is_answered_in_spanish_and_start_opts_back_in(client, clean_db_url):
    assert "Ya no recibira" in inbound(client, "ALTO", sid="SM" + "3" * 32).text
    assert scalar(clean_db_url, "SELECT count(*) FROM ops.opt_outs") == 1
    assert "again" in inbound(client, "START", sid="SM" + "4" * 32).text
    assert scalar(clean_db_url, "SELECT count(*) FROM ops.opt_outs") == 0


def test_help_lists_the_phones_and_other_replies_wait_for_staff(client, clean_db_url):
    assert "(520) 555-0111" in inbound(client, "HELP", sid="SM" + "5" * 32).text
    other = inbound(client, "he came back last night", sid="SM" + "6" * 32)
    assert "not monitored" in other.text and "911" in other.text
    kind, urgent, reviewed = (
        psycopg.connect(clean_db_url)
        .execute(
            "SELECT kind, urgent, reviewed_at FROM ops.inbound_messages WHERE provider_sid = %s",
            ("SM" + "6" * 32,),
        )
        .fetchone()
    )
    assert (kind, urgent, reviewed) == ("other", True, None)
    assert scalar(clean_db_url, "SELECT count(*) FROM ops.opt_outs") == 0
