"""Shared pieces for the send-flow tests: queue outbox rows, point the SDKs at an emulator."""

from __future__ import annotations

import datetime as dt
import json

import psycopg

from notifications.dispatcher import Channels, DispatchSettings
from notifications.providers import SendGridEmail, SendGridSettings, TwilioSettings, TwilioSms
from simulate.emulators.settings import TEST_ACCOUNT_SID, TEST_AUTH_TOKEN, TEST_SENDGRID_API_KEY

UTC = dt.UTC
# 10:00 in Phoenix, inside the sample agency's 08:00–20:00 window.
INSIDE_WINDOW = dt.datetime(2025, 6, 2, 17, 0, tzinfo=UTC)
# 03:00 in Phoenix.
OUTSIDE_WINDOW = dt.datetime(2025, 6, 2, 10, 0, tzinfo=UTC)

FAST = DispatchSettings(
    batch_size=10,
    # Wide enough that a loaded CI machine (four workers on two cores) never times out an
    # emulator call: a timeout would make the outcome `ambiguous` and the test's count wrong.
    lease_seconds=60,
    provider_timeout_seconds=10,
    reconcile_delay_seconds=0.2,
    sendgrid_event_grace_seconds=20,
    backoff_base_seconds=0.05,
)

PAYLOAD = {
    "person_seq": 1,
    "first_name": "Ana",
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


def phone(i: int) -> str:
    return f"+1520{7000000 + i:07d}"


def email(i: int) -> str:
    return f"victim{i}@example.org"


def queue(
    url: str, n: int, channel: str = "sms", start: int = 0, address=None, language: str = "en"
) -> list[int]:
    """Put `n` notifications straight into the outbox (what enqueue_due does from the dbt model)."""
    rows = []
    for i in range(start, start + n):
        to = address(i) if address else (phone(i) if channel == "sms" else email(i))
        rows.append((f"vk{i:06d}", f"SV25-{i:06d}", channel, to, language, json.dumps(PAYLOAD)))
    with psycopg.connect(url) as conn, conn.cursor() as cur:
        ids = []
        for row in rows:
            cur.execute(
                """
                INSERT INTO ops.outbox (victim_key, report_number, channel, address, language, payload)
                VALUES (%s, %s, %s, %s, %s, %s) RETURNING outbox_id
                """,
                row,
            )
            ids.append(cur.fetchone()[0])
    return ids


def channels_for(base_url: str, timeout: float = 10.0, status_callback: str | None = None) -> Channels:
    twilio = TwilioSettings(
        account_sid=TEST_ACCOUNT_SID,
        auth_token=TEST_AUTH_TOKEN,
        base_url=base_url,
        messaging_service_sid="MG00000000000000000000000000000001",
        status_callback=status_callback,
        timeout=timeout,
    )
    sendgrid = SendGridSettings(
        api_key=TEST_SENDGRID_API_KEY,
        host=base_url,
        from_address="victim-services@svpd.example.org",
        from_name="Sonora Vista Police Department",
        timeout=timeout,
    )
    return Channels(sms=lambda: TwilioSms(twilio), email=lambda: SendGridEmail(sendgrid))


def outbox_rows(url: str) -> list[dict]:
    with psycopg.connect(url) as conn, conn.cursor(row_factory=psycopg.rows.dict_row) as cur:
        return cur.execute("SELECT * FROM ops.outbox ORDER BY outbox_id").fetchall()


def token_owner(url: str) -> dict[str, int]:
    """token hash → outbox id, for every token ever issued."""
    with psycopg.connect(url) as conn:
        return dict(conn.execute("SELECT token_hash, outbox_id FROM ops.message_tokens").fetchall())
