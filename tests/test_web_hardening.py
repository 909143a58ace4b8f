"""Hostile or unlucky input is contained: bodies capped before they are read, one bad SendGrid
event never costs the good ones, control characters never a 500, a database restart never loses
a webhook answered 2xx, and unsafe settings stop `vnotify serve` and the send path before they
start (issue 16, items 2, 4, 5, 6 and 10)."""

from __future__ import annotations

import json
import os
import secrets
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import psycopg
import pytest
from fastapi.testclient import TestClient
from test_webhooks import BASE, inbound, scalar, sendgrid_post, twilio_post
from typer.testing import CliRunner

from simulate.emulators.settings import TEST_AUTH_TOKEN, TEST_SENDGRID_API_KEY
from simulate.emulators.signing import test_public_key_b64, twilio_signature
from vnotify import unsafe_settings
from vnotify.cli import app
from vnotify.config import ConfigError, load_config, parse_config
from vnotify.paths import SAMPLE_CONFIG
from web.app import WebSettings, create_app
from web.server import RunningServer

runner = CliRunner()


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


# --- 4. bodies capped while they stream ---------------------------------------------------------


def test_a_webhook_body_over_64_kb_is_refused_before_it_is_read(client, clean_db_url):
    params = {"MessageSid": "SM" + "1" * 32, "From": "+15207000001", "Body": "x" * 70_000}
    assert twilio_post(client, "/webhooks/twilio/inbound", params).status_code == 413

    def chunks():  # no Content-Length: counted as it arrives
        for _ in range(20):
            yield b"a" * 8192

    response = client.post("/webhooks/sendgrid/events", content=chunks())
    assert response.status_code == 413
    assert scalar(clean_db_url, "SELECT count(*) FROM ops.inbound_messages") == 0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmHWM")


def test_a_500_mb_unsigned_post_is_refused_in_seconds_and_in_little_memory(clean_db_url, tmp_path):
    port = _free_port()
    env = dict(
        os.environ,
        DATABASE_URL=clean_db_url,
        TWILIO_AUTH_TOKEN=secrets.token_hex(16),
        VNOTIFY_HOME=str(tmp_path),
    )
    env.pop("SENDGRID_WEBHOOK_PUBLIC_KEY", None)
    server = subprocess.Popen(
        [sys.executable, "-m", "vnotify.cli", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(f"{base}/m/not-a-token", timeout=1)
                break
            except httpx.HTTPError:
                assert time.monotonic() < deadline, "vnotify serve did not start"
                time.sleep(0.2)
        before = _peak_rss_mb(server.pid)

        def body():
            chunk = b"x" * (1 << 20)
            for _ in range(500):
                yield chunk

        started = time.monotonic()
        try:
            status = httpx.post(f"{base}/webhooks/sendgrid/events", content=body(), timeout=60).status_code
        except httpx.HTTPError:  # the server answered 413 and closed while we were still sending
            status = 413
        seconds = time.monotonic() - started
        assert status == 413
        assert httpx.get(f"{base}/m/not-a-token", timeout=5).status_code in (200, 404)
        peak = _peak_rss_mb(server.pid)
    finally:
        server.terminate()
        server.wait(10)
    assert seconds < 5, seconds
    assert peak < 200 and peak - before < 20, (before, peak)


# --- 6. each SendGrid event on its own; control characters ---------------------------------------


def test_one_bad_sendgrid_event_costs_nothing_of_the_others(client, clean_db_url):
    now = int(time.time())
    good = {"email": "victim@example.org", "event": "unsubscribe", "timestamp": now, "sg_event_id": "u1"}
    bad = [
        {"email": "x@example.org", "event": "open", "timestamp": "yesterday", "sg_event_id": "b1"},
        {"email": "x\x00@example.org", "event": "open", "timestamp": now, "sg_event_id": "b2"},
        "not an object",
        {"event": None, "timestamp": now},
    ]
    response = sendgrid_post(client, [bad[0], good, *bad[1:]])
    assert response.status_code == 204
    assert scalar(clean_db_url, "SELECT count(*) FROM ops.opt_outs WHERE address = 'victim@example.org'") == 1
    assert scalar(clean_db_url, "SELECT count(*) FROM ops.events WHERE event = 'rejected'") == 4
    reasons = scalar(
        clean_db_url, "SELECT string_agg(detail ->> 'reason', '|') FROM ops.events WHERE event = 'rejected'"
    )
    assert "timestamp is not a unix time" in reasons and "example.org" not in reasons
    assert sendgrid_post(client, [bad[0], good]).status_code == 204  # retried: stored once, rejected once
    assert scalar(clean_db_url, "SELECT count(*) FROM ops.events") == 5


def test_a_nul_in_a_text_reply_is_stored_not_a_500(client, clean_db_url):
    response = inbound(client, "is this about my\x00 bike", sid="SM" + "7" * 32)
    assert response.status_code == 200
    assert scalar(clean_db_url, "SELECT body FROM ops.inbound_messages") == "is this about my\ufffd bike"


# --- 2. a database restart loses no webhook -----------------------------------------------------------


PORTAL = str(load_config().agency.portal_base_url).rstrip("/")


def test_without_a_public_address_the_host_header_is_not_what_is_checked(clean_db_url):
    """Measured: with VNOTIFY_PUBLIC_BASE_URL unset, a request signed for another host of the same
    Twilio account (its Host header set to match) was accepted. Now the URL checked is the
    agency's public address (portal_base_url), whatever the Host header says."""
    settings = WebSettings(database_url=clean_db_url, twilio_auth_token=TEST_AUTH_TOKEN)
    params = {"MessageSid": "SM" + "7" * 32, "From": "+15207000001", "Body": "hello"}
    with TestClient(create_app(settings, load_config()), base_url="https://other-app.example") as other:
        forged = twilio_signature(
            TEST_AUTH_TOKEN, "https://other-app.example/webhooks/twilio/inbound", params
        )
        assert (
            other.post(
                "/webhooks/twilio/inbound", data=params, headers={"X-Twilio-Signature": forged}
            ).status_code
            == 403
        )
        ours = twilio_signature(TEST_AUTH_TOKEN, f"{PORTAL}/webhooks/twilio/inbound", params)
        assert (
            other.post(
                "/webhooks/twilio/inbound", data=params, headers={"X-Twilio-Signature": ours}
            ).status_code
            == 200
        )
    assert scalar(clean_db_url, "SELECT count(*) FROM ops.inbound_messages") == 1


def test_a_database_restart_under_webhook_load_loses_nothing(tmp_path):
    """Replies keep coming while PostgreSQL stops for three seconds and starts again. A request
    waits for a connection for at most a second, tries once more, then answers 503 (never 500);
    the sender tries again, as Twilio's fallback URL and SendGrid's retries do."""
    from warehouse import migrate
    from warehouse.database import start_embedded, stop_embedded

    pgdata = tmp_path / "pgdata"
    url = start_embedded(pgdata)
    try:
        migrate.upgrade(url)
        token = secrets.token_hex(16)
        settings = WebSettings(database_url=url, twilio_auth_token=token, pool_size=4, pool_timeout=1.0)
        answers: list[tuple[str, int, float, float]] = []
        down: list[float] = []
        with RunningServer(create_app(settings, load_config())) as server:
            restarted = threading.Event()

            def restart() -> None:
                time.sleep(1.0)
                down.append(time.monotonic())
                stop_embedded(pgdata)
                time.sleep(3.0)
                start_embedded(pgdata)
                down.append(time.monotonic())
                restarted.set()

            threading.Thread(target=restart, daemon=True).start()
            with httpx.Client(base_url=server.base_url, timeout=30) as http:
                n = 0
                while not restarted.is_set() or n < 80:
                    n += 1
                    sid = f"SM{n:032d}"
                    params = {"MessageSid": sid, "From": "+15207000001", "Body": f"reply {n}"}
                    signature = twilio_signature(token, f"{PORTAL}/webhooks/twilio/inbound", params)
                    give_up = time.monotonic() + 120  # a cap for a broken server, not a timing check
                    while time.monotonic() < give_up:
                        sent_at = time.monotonic()
                        status = http.post(
                            "/webhooks/twilio/inbound",
                            data=params,
                            headers={"X-Twilio-Signature": signature},
                        ).status_code
                        answers.append((sid, status, sent_at, time.monotonic()))
                        if status != 503:
                            break
                        time.sleep(0.2)
                    time.sleep(0.01)
        with psycopg.connect(url) as conn:
            stored = {sid for (sid,) in conn.execute("SELECT provider_sid FROM ops.inbound_messages")}
    finally:
        stop_embedded(pgdata)
    statuses = {status for _, status, _, _ in answers}
    assert statuses <= {200, 503}, statuses  # never a 500
    # Requests in flight while the database was stopped (however slow the machine).
    during = [status for _, status, sent, answered in answers if sent <= down[1] and answered >= down[0]]
    assert 503 in during, "no request met the stopped database"
    answered = {sid for sid, status, _, _ in answers if status == 200}
    assert answered <= stored  # nothing answered 2xx without being stored
    assert {sid for sid, _, _, _ in answers} == stored  # and nothing lost


# --- 5 and 10. unsafe settings are refused before anything starts --------------------------------------


def _serve(monkeypatch, *args: str, **env: str):
    for name in ("VNOTIFY_PUBLIC_BASE_URL", "TWILIO_AUTH_TOKEN", "SENDGRID_WEBHOOK_PUBLIC_KEY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv(unsafe_settings.ALLOW_TEST_CREDENTIALS, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return runner.invoke(app, ["serve", *args])


def test_serve_refuses_a_public_interface_without_the_public_address(db_url, monkeypatch):
    result = _serve(monkeypatch, "--host", "0.0.0.0", TWILIO_AUTH_TOKEN=secrets.token_hex(16))
    assert result.exit_code == 2 and "VNOTIFY_PUBLIC_BASE_URL is not set" in result.output
    result = _serve(
        monkeypatch,
        "--host",
        "0.0.0.0",
        TWILIO_AUTH_TOKEN=secrets.token_hex(16),
        VNOTIFY_PUBLIC_BASE_URL="http://notify.svpd.example.org",
    )
    assert result.exit_code == 2 and "https://" in result.output


def test_serve_refuses_the_published_test_credentials(db_url, monkeypatch):
    result = _serve(monkeypatch, TWILIO_AUTH_TOKEN=TEST_AUTH_TOKEN)
    assert result.exit_code == 2 and "TWILIO_AUTH_TOKEN is the published test value" in result.output
    result = _serve(
        monkeypatch,
        TWILIO_AUTH_TOKEN=secrets.token_hex(16),
        SENDGRID_WEBHOOK_PUBLIC_KEY=test_public_key_b64(),
    )
    assert result.exit_code == 2 and "SENDGRID_WEBHOOK_PUBLIC_KEY" in result.output


def test_every_published_test_secret_is_known():
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    for secret in (TEST_AUTH_TOKEN, TEST_SENDGRID_API_KEY, test_public_key_b64()):
        assert unsafe_settings.is_known_test_secret(secret)
    assert TEST_AUTH_TOKEN in readme  # the README's token is the emulator's
    assert not unsafe_settings.is_known_test_secret(secrets.token_hex(16))


def test_the_send_path_refuses_plain_http_and_test_credentials_off_this_machine(monkeypatch):
    from notifications.service import UnsafeSettings, channels_from_env

    config = load_config()
    monkeypatch.delenv(unsafe_settings.ALLOW_TEST_CREDENTIALS, raising=False)
    monkeypatch.setenv("TWILIO_ACCOUNT_SID", "AC" + "0" * 32)
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", secrets.token_hex(16))
    monkeypatch.setenv("SENDGRID_API_KEY", "SG." + secrets.token_hex(16))
    monkeypatch.setenv("TWILIO_API_BASE_URL", "http://api.twilio.example")
    monkeypatch.setenv("SENDGRID_API_HOST", "https://api.sendgrid.com")
    with pytest.raises(UnsafeSettings, match="TWILIO_API_BASE_URL must be an https"):
        channels_from_env(config)
    monkeypatch.setenv("TWILIO_API_BASE_URL", "https://api.twilio.com")
    monkeypatch.setenv("SENDGRID_API_KEY", TEST_SENDGRID_API_KEY)
    with pytest.raises(UnsafeSettings, match="SENDGRID_API_KEY is the published test value"):
        channels_from_env(config)
    # The README's emulator set-up: test credentials to an emulator on this machine.
    monkeypatch.setenv("TWILIO_API_BASE_URL", "http://127.0.0.1:8025")
    monkeypatch.setenv("SENDGRID_API_HOST", "http://127.0.0.1:8025")
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", TEST_AUTH_TOKEN)
    assert channels_from_env(config).sms is not None


def test_the_portal_must_be_https_except_on_this_machine():
    text = SAMPLE_CONFIG.read_text()
    with pytest.raises(ConfigError, match="portal_base_url must be an https"):
        parse_config(text.replace("https://notify.svpd.example.org", "http://notify.svpd.example.org"))
    local = parse_config(text.replace("https://notify.svpd.example.org", "http://127.0.0.1:8000"))
    assert str(local.agency.portal_base_url).startswith("http://127.0.0.1")
    assert json.loads(json.dumps(str(local.agency.portal_base_url)))
