"""The outbox dispatcher against the provider emulators, through the official SDKs.

Exactly one provider message per notification; permanent errors never retried; 429s honour
Retry-After; a STOP between queueing and sending stops the send; nothing goes out outside the
send window; concurrent workers never share a row; with 20% of calls failing every row ends right.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter

import psycopg
import pytest
from sending import (
    FAST,
    INSIDE_WINDOW,
    OUTSIDE_WINDOW,
    channels_for,
    outbox_rows,
    phone,
    queue,
    token_owner,
)

from notifications.dispatcher import Dispatcher, DispatchSettings
from notifications.tokens import TOKEN_PATTERN, hash_token
from simulate.emulators.server import run_in_thread
from simulate.emulators.settings import EmulatorSettings
from simulate.emulators.signing import test_public_key_b64
from vnotify.config import load_config
from web.app import WebSettings, create_app
from web.server import RunningServer

UTC = dt.UTC


@pytest.fixture(scope="module")
def config():
    return load_config()


def provider_copies(url: str, store) -> Counter:
    """How many provider messages exist per outbox row (by the token or the custom_args marker)."""
    owners = token_owner(url)
    copies: Counter = Counter()
    for message in store.twilio_messages:
        for match in TOKEN_PATTERN.finditer(message.body):
            copies[owners.get(hash_token(match.group("token")), "stranger")] += 1
    for message in store.sendgrid_messages:
        for index in range(len(message.personalizations)):
            copies[int(message.custom_args_for(index)["notification_id"])] += 1
    return copies


def dispatcher(url, config, base_url, settings: DispatchSettings = FAST, clock=lambda: INSIDE_WINDOW, **kw):
    return Dispatcher(url, config, channels_for(base_url), settings, clock=clock, seed=1, **kw)


def test_every_row_is_sent_once_with_the_provider_id_recorded(clean_db_url, config):
    sms_ids = queue(clean_db_url, 30, "sms")
    email_ids = queue(clean_db_url, 30, "email", start=100)
    with run_in_thread(EmulatorSettings()) as emulator:
        summary = dispatcher(clean_db_url, config, emulator.base_url).run(workers=2)
        assert summary.outcomes == {"accepted": 60}
        rows = {row["outbox_id"]: row for row in outbox_rows(clean_db_url)}
        assert {row["state"] for row in rows.values()} == {"sent"}
        sids = {message.sid for message in emulator.store.twilio_messages}
        assert {rows[i]["provider_id"] for i in sms_ids} == sids
        assert {rows[i]["provider_id"] for i in email_ids} == {
            message.message_id for message in emulator.store.sendgrid_messages
        }
        assert provider_copies(clean_db_url, emulator.store) == Counter(dict.fromkeys(sms_ids + email_ids, 1))
        # A second run finds nothing to do.
        again = dispatcher(clean_db_url, config, emulator.base_url).run()
        assert again.claimed == 0 and len(emulator.store.twilio_messages) == 30


def test_tokens_are_stored_only_as_hashes_with_an_expiry(clean_db_url, config):
    queue(clean_db_url, 3, "sms")
    with run_in_thread(EmulatorSettings()) as emulator:
        dispatcher(clean_db_url, config, emulator.base_url).run()
        tokens = [TOKEN_PATTERN.search(m.body).group("token") for m in emulator.store.twilio_messages]
    with psycopg.connect(clean_db_url) as conn:
        stored = conn.execute(
            "SELECT token_hash, expires_at - created_at FROM ops.message_tokens ORDER BY outbox_id"
        ).fetchall()
        dump = conn.execute("SELECT string_agg(t::text, ' ') FROM ops.message_tokens t").fetchone()[0]
    assert sorted(h for h, _ in stored) == sorted(hash_token(t) for t in tokens)
    assert all(lifetime == dt.timedelta(days=config.agency.message_link_days) for _, lifetime in stored)
    assert not any(token in dump for token in tokens)


def test_a_stop_recorded_after_queueing_stops_the_send(clean_db_url, config):
    ids = queue(clean_db_url, 5, "sms")
    with psycopg.connect(clean_db_url) as conn:
        conn.execute(
            "INSERT INTO ops.opt_outs (channel, address, source) VALUES ('sms', %s, 'sms_stop')", (phone(2),)
        )
    with run_in_thread(EmulatorSettings()) as emulator:
        summary = dispatcher(clean_db_url, config, emulator.base_url).run()
        assert emulator.store.count_twilio_to(phone(2)) == 0
        assert len(emulator.store.twilio_messages) == 4
    assert summary.outcomes["opted_out"] == 1
    stopped = next(row for row in outbox_rows(clean_db_url) if row["outbox_id"] == ids[2])
    assert (stopped["state"], stopped["reason"]) == ("failed", "opted_out")


def test_nothing_goes_out_outside_the_send_window(clean_db_url, config):
    queue(clean_db_url, 5, "sms")
    with run_in_thread(EmulatorSettings()) as emulator:
        summary = dispatcher(clean_db_url, config, emulator.base_url, clock=lambda: OUTSIDE_WINDOW).run()
        assert emulator.store.twilio_messages == []
    assert summary.claimed == 0 and not summary.window_open
    # 03:00 in Phoenix: the next opening is 08:00 the same day (15:00 UTC).
    assert summary.next_opening == "2025-06-02T15:00:00+00:00"
    assert {row["state"] for row in outbox_rows(clean_db_url)} == {"pending"}


@pytest.mark.server
def test_the_window_closing_mid_batch_defers_the_rest_to_the_next_opening(clean_db_url, config):
    queue(clean_db_url, 6, "sms")
    closing = dt.datetime(2025, 6, 3, 2, 59, 59, tzinfo=UTC)  # 19:59:59 in Phoenix
    ticks = iter([closing] * 4 + [closing + dt.timedelta(seconds=2)] * 100)
    with run_in_thread(EmulatorSettings()) as emulator:
        summary = dispatcher(clean_db_url, config, emulator.base_url, clock=lambda: next(ticks)).run()
        sent = len(emulator.store.twilio_messages)
    rows = outbox_rows(clean_db_url)
    waiting = [row for row in rows if row["state"] == "pending"]
    assert sent == summary.outcomes["accepted"] and sent + len(waiting) == 6 and waiting
    assert summary.outcomes["deferred_window"] == len(waiting)
    assert {row["next_attempt_at"] for row in waiting} == {dt.datetime(2025, 6, 3, 15, 0, tzinfo=UTC)}
    assert all(row["attempts"] == 0 for row in waiting)


def test_four_workers_never_send_the_same_row(clean_db_url, config):
    ids = queue(clean_db_url, 200, "sms") + queue(clean_db_url, 100, "email", start=1000)
    with run_in_thread(EmulatorSettings(latency_ms=2)) as emulator:
        summary = dispatcher(clean_db_url, config, emulator.base_url).run(workers=4)
        copies = provider_copies(clean_db_url, emulator.store)
    assert summary.claimed == 300
    assert copies == Counter(dict.fromkeys(ids, 1))


def test_permanent_errors_are_classified_recorded_and_never_retried(clean_db_url, config):
    magic = {"+15005550001": "invalid_number", "+15005550004": "unsubscribed", "+15005550009": "not_mobile"}
    numbers = list(magic)
    queue(clean_db_url, 3, "sms", address=lambda i: numbers[i])
    queue(clean_db_url, 1, "email", start=10, address=lambda i: "someone@reject.invalid")
    with run_in_thread(EmulatorSettings()) as emulator:
        dispatcher(clean_db_url, config, emulator.base_url).run(drain=True, deadline_s=60)
        posts = Counter(
            x.path.rsplit("/", 1)[-1] for x in emulator.store.exchanges.snapshot() if x.method == "POST"
        )
    rows = outbox_rows(clean_db_url)
    assert {row["address"]: (row["state"], row["reason"], row["attempts"]) for row in rows} == {
        **{number: ("failed", reason, 1) for number, reason in magic.items()},
        "someone@reject.invalid": ("failed", "bad_request", 1),
    }
    assert posts == {"Messages.json": 3, "send": 1}
    with psycopg.connect(clean_db_url) as conn:
        opt_outs = conn.execute("SELECT channel, address, source FROM ops.opt_outs").fetchall()
    assert opt_outs == [("sms", "+15005550004", "provider_21610")]


def test_a_429_waits_at_least_retry_after(clean_db_url, config):
    queue(clean_db_url, 3, "sms")
    with run_in_thread(EmulatorSettings(rate_429=1.0, retry_after_seconds=40)) as emulator:
        before = dt.datetime.now(UTC)
        summary = dispatcher(clean_db_url, config, emulator.base_url).run()
        assert emulator.store.twilio_messages == []
    assert summary.outcomes == {"retry": 3}
    for row in outbox_rows(clean_db_url):
        assert (row["state"], row["reason"], row["error_code"], row["attempts"]) == (
            "retry",
            "rate_limited",
            "20429",
            1,
        )
        assert row["next_attempt_at"] >= before + dt.timedelta(seconds=40)


def test_connection_refused_is_retried_later_not_failed(clean_db_url, config):
    queue(clean_db_url, 2, "sms")
    queue(clean_db_url, 2, "email", start=10)
    patient = DispatchSettings(batch_size=10, backoff_base_seconds=30)
    summary = dispatcher(clean_db_url, config, "http://127.0.0.1:9", settings=patient).run()
    assert summary.outcomes == {"retry": 4}
    assert {(row["state"], row["reason"]) for row in outbox_rows(clean_db_url)} == {
        ("retry", "connection_refused")
    }


@pytest.mark.server
def test_a_reconciliation_that_cannot_reach_the_provider_concludes_nothing(clean_db_url, config):
    """An ambiguous text (created, then the call timed out) is reconciled by asking Twilio what it
    holds. When Twilio cannot be asked, the row stays `unknown`, is looked at again later, and
    nothing is sent again meanwhile."""
    (outbox_id,) = queue(clean_db_url, 1, "sms")
    created_then_hung = EmulatorSettings(rate_timeout=1.0, timeout_seconds=2.0, ambiguous_accept_share=1.0)
    settings = DispatchSettings(batch_size=10, provider_timeout_seconds=0.5, reconcile_delay_seconds=0.2)
    with run_in_thread(created_then_hung) as emulator:
        channels = channels_for(emulator.base_url, timeout=0.5)
        sent = Dispatcher(clean_db_url, config, channels, settings, clock=lambda: INSIDE_WINDOW, seed=1).run()
        emulator.wait_idle()
        assert sent.outcomes == {"ambiguous": 1} and len(emulator.store.twilio_messages) == 1
    (row,) = outbox_rows(clean_db_url)
    assert row["state"] == "unknown"
    with psycopg.connect(clean_db_url) as conn:  # the reconciliation falls due on the database's clock
        while not conn.execute("SELECT next_attempt_at <= clock_timestamp() FROM ops.outbox").fetchone()[0]:
            conn.execute("SELECT pg_sleep(0.05)")

    unreachable = dispatcher(clean_db_url, config, "http://127.0.0.1:9", settings=settings).run()
    assert unreachable.reconciled == {"waiting": 1} and unreachable.claimed == 0
    with psycopg.connect(clean_db_url) as conn:
        state, wait = conn.execute(
            "SELECT state, extract(epoch FROM next_attempt_at - now()) FROM ops.outbox WHERE outbox_id = %s",
            (outbox_id,),
        ).fetchone()
    assert state == "unknown" and 20 < wait <= 30
    # No verdict was recorded: the audit trail has the ambiguous send and no reconciliation.
    with psycopg.connect(clean_db_url) as conn:
        kinds = [
            k for (k,) in conn.execute("SELECT event FROM ops.events WHERE outbox_id = %s", (outbox_id,))
        ]
    assert not any(k.startswith("reconciled_") for k in kinds)


@pytest.mark.server
@pytest.mark.slow
def test_with_a_fifth_of_calls_failing_every_notification_still_ends_correctly(clean_db_url, config):
    """429s, 5xx (some after creating the message) and timeouts: every row ends sent exactly once."""
    ids = queue(clean_db_url, 60, "sms") + queue(clean_db_url, 60, "email", start=500)
    web = create_app(WebSettings(database_url=clean_db_url, sendgrid_public_key=test_public_key_b64()))
    with RunningServer(web) as server:
        web_url = server.base_url
        faults = EmulatorSettings(
            rate_429=0.06,
            rate_5xx=0.1,
            rate_timeout=0.04,
            timeout_seconds=1.5,
            retry_after_seconds=0,
            seed=20,
            sendgrid_event_webhook_url=f"{web_url}/webhooks/sendgrid/events",
            status_callbacks=False,
        )
        with run_in_thread(faults) as emulator:
            settings = DispatchSettings(
                batch_size=10,
                lease_seconds=30,
                provider_timeout_seconds=0.5,
                reconcile_delay_seconds=0.2,
                sendgrid_event_grace_seconds=8,
                backoff_base_seconds=0.05,
                max_attempts=30,
            )
            channels = channels_for(emulator.base_url, timeout=0.5)
            summary = Dispatcher(
                clean_db_url, config, channels, settings, clock=lambda: INSIDE_WINDOW, seed=3
            ).run(workers=2, drain=True, deadline_s=120)
            emulator.wait_idle()
            copies = provider_copies(clean_db_url, emulator.store)
    rows = outbox_rows(clean_db_url)
    assert Counter(row["state"] for row in rows) == {"sent": 120}, Counter(
        (r["state"], r["reason"]) for r in rows
    )
    assert copies == Counter(dict.fromkeys(ids, 1))
    # The faults did happen, and the ambiguous ones were reconciled rather than resent.
    assert summary.outcomes["retry"] > 0 and summary.outcomes["ambiguous"] > 0
    assert summary.reconciled["found_sent"] > 0 and summary.reconciled["not_sent"] > 0


DENVER_INSTANTS = {
    # Local times in America/Denver, each given as the UTC instant it is.
    "the minute before midnight": dt.datetime(2025, 6, 2, 5, 59, 30, tzinfo=dt.UTC),  # 23:59:30 MDT
    "midnight": dt.datetime(2025, 6, 2, 6, 0, tzinfo=dt.UTC),  # 00:00 MDT
    "just before the spring-forward gap": dt.datetime(2025, 3, 9, 8, 59, tzinfo=dt.UTC),  # 01:59 MST
    "just after it": dt.datetime(2025, 3, 9, 9, 0, tzinfo=dt.UTC),  # 03:00 MDT
    "the first 01:30 of the fall-back day": dt.datetime(2025, 11, 2, 7, 30, tzinfo=dt.UTC),  # 01:30 MDT
    "the second 01:30": dt.datetime(2025, 11, 2, 8, 30, tzinfo=dt.UTC),  # 01:30 MST
}


@pytest.mark.parametrize("moment", list(DENVER_INSTANTS))
def test_an_all_day_window_sends_at_every_hour_of_the_day_and_across_dst(clean_db_url, config, moment):
    """With `end: "24:00"` nothing is shut at 23:59 or across a DST change; the day's 08:00–20:00
    window is, so the clock really is the one given."""
    from vnotify.config import SendWindow

    at = DENVER_INSTANTS[moment]
    denver = config.model_copy(
        update={"agency": config.agency.model_copy(update={"time_zone": "America/Denver"})}
    )
    all_day = denver.model_copy(
        update={"send_window": SendWindow.model_validate({"start": "00:00", "end": "24:00"})}
    )
    queue(clean_db_url, 2, "sms")
    with run_in_thread(EmulatorSettings()) as emulator:
        shut = dispatcher(clean_db_url, denver, emulator.base_url, clock=lambda: at).run()
        assert shut.outcomes.get("accepted", 0) == 0 and not shut.window_open
        sent = dispatcher(clean_db_url, all_day, emulator.base_url, clock=lambda: at).run()
        assert sent.outcomes == {"accepted": 2} and len(emulator.store.twilio_messages) == 2
