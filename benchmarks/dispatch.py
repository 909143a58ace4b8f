"""Dispatch throughput: notifications through the outbox and the SDKs, against bare SDK calls.

    .venv/bin/python -m benchmarks.dispatch --messages 10000

The emulators run in their own process (their own GIL, as a provider is on its own machines).
Three timed phases over the same mix (half SMS, half email, English and Spanish):
  bare      a loop of the same SDK calls with the same pre-rendered bodies, no bookkeeping;
  outbox    one worker: claim, token, opt-out and window checks, render, send, record;
  workers4  the same with four worker threads.
The last line is JSON: messages, outbox_msgs_per_s, bare_sdk_msgs_per_s, ratio (outbox / bare),
workers4_msgs_per_s, duplicates (provider messages beyond one per outbox row; must be 0).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import secrets
import time

import httpx
import psycopg
from psycopg.types.json import Jsonb
from sqlalchemy.engine import make_url

from notifications.dispatcher import Channels, Dispatcher, DispatchSettings, notification_for
from notifications.outbox import ClaimedRow
from notifications.providers import Email, SendGridEmail, SendGridSettings, TwilioSettings, TwilioSms
from notifications.render import render_email, render_sms, unsubscribe_url
from notifications.tokens import new_token
from simulate.emulators.server import run_in_process
from simulate.emulators.settings import (
    TEST_ACCOUNT_SID,
    TEST_AUTH_TOKEN,
    TEST_SENDGRID_API_KEY,
    EmulatorSettings,
)
from vnotify.config import load_config
from warehouse import migrate
from warehouse.database import database_url

INSIDE_WINDOW = dt.datetime(2025, 6, 2, 17, 0, tzinfo=dt.UTC)
PAYLOAD = {
    "person_seq": 1,
    "first_name": "Lupe",
    "offense_code": "23H",
    "offense_name": "Theft",
    "explanation": "Someone took property that belonged to you.",
    "next_steps": "Keep receipts and serial numbers.",
    "officer_name": "Officer R. Diaz",
    "reported_at": "2025-05-30T16:45:00+00:00",
    "division_code": "WEST",
    "substation_phone": "+15205550101",
    "investigations_phone": "+15205550111",
}


def channels(base_url: str) -> Channels:
    twilio = TwilioSettings(
        TEST_ACCOUNT_SID, TEST_AUTH_TOKEN, base_url, messaging_service_sid="MG" + "0" * 31 + "1", timeout=10
    )
    sendgrid = SendGridSettings(
        TEST_SENDGRID_API_KEY, base_url, from_address="victim-services@svpd.example.org", timeout=10
    )
    return Channels(sms=lambda: TwilioSms(twilio), email=lambda: SendGridEmail(sendgrid))


def rows_for(count: int, offset: int) -> list[tuple]:
    rows = []
    for i in range(offset, offset + count):
        channel = "sms" if i % 2 == 0 else "email"
        address = f"+1520{7000000 + i:07d}" if channel == "sms" else f"victim{i}@example.org"
        language = "es" if i % 3 == 0 else "en"
        rows.append((f"vk{i:07d}", f"SV25-{i:07d}", channel, address, language, Jsonb(PAYLOAD)))
    return rows


def queue(url: str, rows: list[tuple]) -> None:
    with psycopg.connect(url) as conn, conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO ops.outbox (victim_key, report_number, channel, address, language, payload) "
            "VALUES (%s, %s, %s, %s, %s, %s)",
            rows,
        )


def emulator_count(base_url: str) -> int:
    stats = httpx.get(f"{base_url}/__emulator/stats").json()
    return stats["twilio_messages"] + stats["sendgrid_messages"]


def bare_loop(base_url: str, rows: list[tuple], config) -> float:
    """The same messages through the same SDK calls, rendered the same way, with no bookkeeping:
    no claim, no token hash, no opt-out or window check, nothing recorded."""
    sms, email = channels(base_url).sms(), channels(base_url).email()
    claimed = [
        ClaimedRow(index, victim_key, report_number, "initial", channel, address, language, payload.obj, 1,
                   INSIDE_WINDOW)
        for index, (victim_key, report_number, channel, address, language, payload) in enumerate(rows)
    ]  # fmt: skip
    started = time.perf_counter()
    for row in claimed:
        notification, token = notification_for(row), new_token()
        if row.channel == "sms":
            result = sms.send(row.address, render_sms(notification, config, token).body)
        else:
            rendered = render_email(notification, config, token)
            result = email.send(
                Email(row.address, rendered.subject, rendered.html, rendered.text,
                      {"notification_id": str(row.outbox_id), "attempt": "1"}, unsubscribe_url(config, token))
            )  # fmt: skip
        assert result.outcome == "accepted", result
    return time.perf_counter() - started


def outbox_run(url: str, base_url: str, config, workers: int) -> float:
    dispatcher = Dispatcher(
        url, config, channels(base_url), DispatchSettings(batch_size=50), clock=lambda: INSIDE_WINDOW
    )
    started = time.perf_counter()
    summary = dispatcher.run(workers=workers)
    seconds = time.perf_counter() - started
    assert summary.outcomes == {"accepted": summary.claimed}, summary.as_dict()
    return seconds


def sent_rows(url: str) -> int:
    with psycopg.connect(url) as conn:
        return conn.execute("SELECT count(*) FROM ops.outbox WHERE state = 'sent'").fetchone()[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--messages", type=int, default=10_000)
    args = parser.parse_args()
    n = args.messages
    config = load_config()
    admin = make_url(database_url()).set(database="postgres").render_as_string(hide_password=False)
    name = f"bench_dispatch_{secrets.token_hex(3)}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = make_url(admin).set(database=name).render_as_string(hide_password=False)
    try:
        migrate.upgrade(url)
        settings = EmulatorSettings(record_exchanges=False, status_callbacks=False)
        with run_in_process(settings) as base_url:
            bare_s = bare_loop(base_url, rows_for(n, 0), config)
            print(f"bare SDK loop: {n:,} messages in {bare_s:.1f} s ({n / bare_s:,.0f} msg/s)", flush=True)
            httpx.post(f"{base_url}/__emulator/reset")

            queue(url, rows_for(n, 0))
            outbox_s = outbox_run(url, base_url, config, workers=1)
            print(f"outbox, 1 worker: {n / outbox_s:,.0f} msg/s ({outbox_s:.1f} s)", flush=True)
            queue(url, rows_for(n, n))
            workers4_s = outbox_run(url, base_url, config, workers=4)
            print(f"outbox, 4 workers: {n / workers4_s:,.0f} msg/s ({workers4_s:.1f} s)", flush=True)
            duplicates = emulator_count(base_url) - sent_rows(url)
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    result = {
        "messages": n,
        "bare_sdk_msgs_per_s": round(n / bare_s, 1),
        "outbox_msgs_per_s": round(n / outbox_s, 1),
        "ratio": round(bare_s / outbox_s, 3),
        "workers4_msgs_per_s": round(n / workers4_s, 1),
        "duplicates": duplicates,
    }
    print(f"ratio outbox/bare: {result['ratio']:.2f}; duplicates: {duplicates}")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
