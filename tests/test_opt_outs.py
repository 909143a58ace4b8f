"""Every opt-out honoured (issue 16, item 1): plain-language revocations opt out, a STOP by text
stops e-mail too (and an e-mail unsubscribe stops texts, unless the person chose e-mails only),
and a reply that might be a revocation holds every message to the person, asks once, and waits
for the person or a reviewer."""

from __future__ import annotations

import json

import psycopg
import pytest
from fastapi.testclient import TestClient
from sending import FAST, INSIDE_WINDOW, PAYLOAD, channels_for, outbox_rows
from test_webhooks import BASE, twilio_post

from notifications.dispatcher import Dispatcher
from notifications.reply_review import decide, review_queue
from simulate.emulators.server import run_in_thread
from simulate.emulators.settings import TEST_AUTH_TOKEN, EmulatorSettings
from simulate.emulators.signing import test_public_key_b64
from vnotify.config import load_config
from web.app import WebSettings, create_app

CONFIG = load_config()
PHONE, EMAIL = "+15207000101", "ana.reyes@example.org"


@pytest.fixture
def client(clean_db_url):
    settings = WebSettings(
        database_url=clean_db_url,
        twilio_auth_token=TEST_AUTH_TOKEN,
        sendgrid_public_key=test_public_key_b64(),
        public_base_url=BASE,
    )
    with TestClient(create_app(settings, CONFIG), base_url=BASE) as test_client:
        yield test_client


def _notified(url: str, victim_key: str = "vk-ana") -> None:
    """A victim we texted and e-mailed about report SV25-000101."""
    with psycopg.connect(url) as conn:
        for channel, address in (("sms", PHONE), ("email", EMAIL)):
            conn.execute(
                """
                INSERT INTO ops.outbox (victim_key, report_number, channel, address, language, payload, state,
                                        provider_id, sent_at)
                VALUES (%s, 'SV25-000101', %s, %s, 'en', %s, 'sent', %s, now())
                """,
                (victim_key, channel, address, json.dumps(PAYLOAD), f"{channel}-provider-id"),
            )


def _queue_update(url: str, channel: str, address: str) -> int:
    with psycopg.connect(url) as conn:
        return conn.execute(
            """
            INSERT INTO ops.outbox (victim_key, report_number, kind, subject, channel, address, language, payload)
            VALUES ('vk-ana', 'SV25-000101', 'status_update', 'cleared_arrest', %s, %s, 'en', %s)
            RETURNING outbox_id
            """,
            (
                channel,
                address,
                json.dumps({**PAYLOAD, "case_status": "cleared_arrest", "change_type": "case_status"}),
            ),
        ).fetchone()[0]


def _opt_outs(url: str) -> dict[tuple[str, str], tuple[str, bool]]:
    with psycopg.connect(url) as conn:
        return {
            (channel, address): (source, pending)
            for channel, address, source, pending in conn.execute(
                "SELECT channel, address, source, pending_review FROM ops.opt_outs"
            )
        }


def _reply(client, text: str, n: int = 1):
    return twilio_post(
        client, "/webhooks/twilio/inbound", {"MessageSid": f"SM{n:032d}", "From": PHONE, "Body": text}
    )


@pytest.mark.parametrize(
    "text",
    [
        "No envíen más mensajes",
        "please stop these",
        "no me vuelvan a mandar mensajes",
        "Favor de no enviar más mensajes",
        "I'd like to stop receiving these",
        "don't send me anything else",
        "you have the wrong number",
        "I revoke consent",
    ],
)
def test_the_plain_language_opt_outs_the_review_found_are_honoured(client, clean_db_url, text):
    response = _reply(client, text)
    assert response.status_code == 200
    assert "not monitored" not in response.text
    assert _opt_outs(clean_db_url)[("sms", PHONE)] == ("sms_reply", False)


def test_a_stop_by_text_stops_the_next_email_too(client, clean_db_url):
    _notified(clean_db_url)
    email_update = _queue_update(clean_db_url, "email", EMAIL)
    response = _reply(client, "stop contacting me")
    assert "no more texts or e-mails" in response.text
    assert _opt_outs(clean_db_url) == {
        ("sms", PHONE): ("sms_reply", False),
        ("email", EMAIL): ("sms_reply", False),
    }
    with run_in_thread(EmulatorSettings()) as emulator:
        summary = Dispatcher(
            clean_db_url, CONFIG, channels_for(emulator.base_url), FAST, clock=lambda: INSIDE_WINDOW
        ).run()
        assert emulator.store.sendgrid_messages == []
    assert summary.outcomes == {"opted_out": 1}
    row = next(r for r in outbox_rows(clean_db_url) if r["outbox_id"] == email_update)
    assert (row["state"], row["reason"]) == ("failed", "opted_out")


def test_an_email_unsubscribe_stops_texts_unless_emails_only_was_chosen(client, clean_db_url):
    from notifications.tokens import hash_token, new_token

    _notified(clean_db_url)
    token = new_token()
    with psycopg.connect(clean_db_url) as conn:
        outbox_id = conn.execute("SELECT outbox_id FROM ops.outbox WHERE channel = 'email'").fetchone()[0]
        conn.execute(
            "INSERT INTO ops.message_tokens (token_hash, outbox_id, attempt, expires_at) VALUES (%s, %s, 1, now() + interval '1 day')",
            (hash_token(token), outbox_id),
        )
    page = client.get(f"/u/{token}")
    assert "Stop emails only, keep texts" in page.text
    only_email = client.post(f"/u/{token}", data={"scope": "email"}, headers={"Origin": BASE})
    assert only_email.status_code in (200, 303) and "scope=email" in only_email.headers.get(
        "location", "scope=email"
    )
    assert _opt_outs(clean_db_url) == {("email", EMAIL): ("email_unsubscribe", False)}
    with psycopg.connect(clean_db_url) as conn:
        conn.execute("DELETE FROM ops.opt_outs")
    client.post(f"/u/{token}", data={}, headers={"Origin": BASE})
    assert set(_opt_outs(clean_db_url)) == {("email", EMAIL), ("sms", PHONE)}
    assert "will not send you more emails or texts" in client.get(f"/u/{token}").text


@pytest.mark.server
def test_a_reply_that_might_be_an_opt_out_holds_asks_and_waits_for_a_decision(client, clean_db_url):
    _notified(clean_db_url)
    text_update = _queue_update(clean_db_url, "sms", PHONE)
    response = _reply(client, "Enough already")
    assert "Reply STOP to confirm" in response.text
    assert _opt_outs(clean_db_url) == {
        ("sms", PHONE): ("possible_opt_out", True),
        ("email", EMAIL): ("possible_opt_out", True),
    }
    with run_in_thread(EmulatorSettings()) as emulator:
        held = Dispatcher(
            clean_db_url, CONFIG, channels_for(emulator.base_url), FAST, clock=lambda: INSIDE_WINDOW
        ).run()
        assert emulator.store.twilio_messages == []
    assert held.outcomes == {"opted_out": 1}
    with psycopg.connect(clean_db_url) as conn:
        (waiting,) = review_queue(conn)
        assert waiting["kind"] == "possible_opt_out" and waiting["is_holding"] and "body" not in waiting
        decide(conn, waiting["inbound_id"], "released", "reviewer.jones", "asked who we are; not an opt-out")
    assert _opt_outs(clean_db_url) == {}
    with psycopg.connect(clean_db_url) as conn:
        assert review_queue(conn) == []
        decision = conn.execute("SELECT review_decision, reviewed_by FROM ops.inbound_messages").fetchone()
    assert decision == ("released", "reviewer.jones")
    assert (
        next(r for r in outbox_rows(clean_db_url) if r["outbox_id"] == text_update)["reason"] == "opted_out"
    )


def test_a_stop_after_the_question_confirms_the_hold_on_every_channel(client, clean_db_url):
    _notified(clean_db_url)
    _reply(client, "I never signed up for this", n=1)
    _reply(client, "STOP", n=2)
    assert _opt_outs(clean_db_url) == {
        ("sms", PHONE): ("sms_reply", False),
        ("email", EMAIL): ("sms_reply", False),
    }


@pytest.mark.server
def test_start_after_a_hold_lets_messages_go_on(client, clean_db_url):
    _notified(clean_db_url)
    _reply(client, "Enough already", n=1)
    _reply(client, "START", n=2)
    assert _opt_outs(clean_db_url) == {}


def test_a_reviewer_can_record_an_opt_out_the_rules_did_not_read(client, clean_db_url):
    _notified(clean_db_url)
    _reply(client, "how do I get a copy of the report", n=1)
    assert _opt_outs(clean_db_url) == {}
    with psycopg.connect(clean_db_url) as conn:
        (waiting,) = review_queue(conn)
        decide(
            conn,
            waiting["inbound_id"],
            "confirmed_opt_out",
            "reviewer.jones",
            "asked by phone not to be texted",
        )
    assert _opt_outs(clean_db_url) == {
        ("sms", PHONE): ("reviewer", False),
        ("email", EMAIL): ("reviewer", False),
    }


@pytest.mark.server
def test_the_review_queue_from_the_command_line(client, clean_db_url, monkeypatch):
    """`vnotify replies list` shows the held reply without its words unless asked; `decide`
    records the reviewer's opt-out."""
    import json

    from typer.testing import CliRunner

    from vnotify.cli import app

    _notified(clean_db_url)
    _reply(client, "Enough already", n=1)
    monkeypatch.setenv("DATABASE_URL", clean_db_url)
    listed = CliRunner().invoke(app, ["replies", "list", "--json"])
    assert listed.exit_code == 0, listed.output
    (waiting,) = json.loads(listed.output.strip().splitlines()[-1])["replies"]
    assert "enough already" not in listed.output.casefold() and waiting["kind"] == "possible_opt_out"
    decided = CliRunner().invoke(
        app,
        ["replies", "decide", str(waiting["inbound_id"]), "--opt-out", "--by", "reviewer.jones", "--json"],
    )
    assert decided.exit_code == 0, decided.output
    assert {channel for channel, _ in _opt_outs(clean_db_url)} == {"sms", "email"}
