"""The two follow-up kinds through the real send path: a reporting party's notice and a victim's
status update are queued from the warehouse, go out through the SDKs to the emulators exactly
once (a second send sends nothing), a reporting party never gets an `initial` row, and an opt-out
or a closed send window between queueing and sending stops a status update. Real Postgres, real
dbt, hand-written exports (tests/issue9_support.py)."""

from __future__ import annotations

from collections import Counter

import psycopg
import pytest
from issue9_support import (
    build,
    config_with,
    incident,
    load,
    offense,
    own_database,
    person,
    query,
    report_numbers,
    victim_key,
    write_export,
)
from sending import FAST, INSIDE_WINDOW, OUTSIDE_WINDOW, channels_for

from notifications import outbox
from notifications.dispatcher import Dispatcher
from notifications.service import dry_run, send
from simulate.emulators.server import run_in_thread

pytestmark = pytest.mark.db

CONFIG = config_with(reporting_parties=True, status_updates=True)
(REPORT, OPTED) = report_numbers(CONFIG, "NK", "A", 2)
VICTIM_PHONE = {REPORT: "+15207004001", OPTED: "+15207004002"}
VICTIM_EMAIL = {REPORT: "victim-nk@example.org", OPTED: "victim-opted@example.org"}
RP_PHONE = "+15207004099"
RP_EMAIL = "reporter-nk@example.org"
VICTIM_NAME = "Valentina"
OFFENSE_LABEL_WORDS = ("Theft", "theft", "Robo", "robo")


def _version(number: str, n: int, **fields: str) -> dict[str, str]:
    return incident(number, updated_at=f"2025-03-18T{11 + n:02d}:00:00", **fields)


def _send(url: str, emulator, clock=INSIDE_WINDOW):
    return send(
        url, CONFIG, channels=channels_for(emulator.base_url), settings=FAST, drain=True, clock=lambda: clock
    )


def _kinds(url: str) -> list[tuple]:
    return [
        (r["report_number"], r["victim_key"], r["kind"], r["channel"], r["subject"], r["state"])
        for r in query(url, "SELECT * FROM ops.outbox ORDER BY report_number, kind, channel, subject")
    ]


@pytest.fixture
def warehouse(server_admin_url, migrated_template, tmp_path):
    """Two Group A reports, each with a victim (text and email); REPORT also has a reporting party
    who is not a victim. Built as of the evening the reports were made."""
    numbers = (REPORT, OPTED)
    persons = [
        person(n, 1, VICTIM_NAME, f"Tim{i}", phone=VICTIM_PHONE[n], email=VICTIM_EMAIL[n])
        for i, n in enumerate(numbers)
    ]
    persons.append(
        person(REPORT, 2, "Rita", "Reporter", role="reporting_party", phone=RP_PHONE, email=RP_EMAIL)
    )
    folder = write_export(
        tmp_path / "export-0",
        incidents=[_version(n, 0) for n in numbers],
        offenses=[offense(n) for n in numbers],
        persons=persons,
    )
    with own_database(server_admin_url, migrated_template) as url:
        load(url, folder, CONFIG)
        build(url, CONFIG, as_of="2025-03-18T20:00:00+00:00")
        yield url, tmp_path


def _clear(url: str, folder, numbers, n: int = 1, status: str = "cleared_arrest") -> None:
    load(
        url,
        write_export(folder / f"export-{n}", incidents=[_version(k, n, case_status=status) for k in numbers]),
        CONFIG,
    )
    build(url, CONFIG)


def test_a_reporting_party_notice_and_a_status_update_each_reach_the_emulator_once(warehouse):
    url, folder = warehouse
    due = {
        (r["report_number"], r["person_seq"]): r["kind"]
        for r in query(url, "SELECT * FROM restricted.notifications_due")
    }
    assert due[(REPORT, 2)] == "reporting_party" and due[(REPORT, 1)] == "initial"
    preview = dry_run(url, CONFIG)
    assert preview.would_send_by_kind["reporting_party"] == {"sms": 1, "email": 1}
    with run_in_thread() as emulator:
        store = emulator.store
        report = _send(url, emulator)
        assert report.queued["reporting_party"] == {"sms": 1, "email": 1}
        assert report.dispatch["outcomes_by_kind"]["reporting_party"] == {"accepted": 2}
        assert report.dispatch["outcomes_by_kind"]["initial"] == {"accepted": 4}
        rp = victim_key(REPORT, 2)
        rows = _kinds(url)
        # The reporting party has exactly its own kind, never a victim's first notice.
        assert {(r[2], r[3]) for r in rows if r[1] == rp} == {
            ("reporting_party", "sms"),
            ("reporting_party", "email"),
        }
        assert not [r for r in rows if r[1] == rp and r[2] == "initial"]
        texts_to_rp = [m for m in store.twilio_messages if m.to == RP_PHONE]
        emails_to_rp = [m for m in store.sendgrid_messages if RP_EMAIL in str(m)]
        assert len(texts_to_rp) == 1 and len(emails_to_rp) == 1
        assert emails_to_rp[0].headers["List-Unsubscribe"].startswith("<http")
        assert "/m/" in texts_to_rp[0].body and "?c=s" in texts_to_rp[0].body
        # Nothing about the victim reaches the reporting party.
        for message in (*texts_to_rp, *emails_to_rp):
            assert VICTIM_NAME not in str(message)
        assert not any(word in texts_to_rp[0].body for word in OFFENSE_LABEL_WORDS)

        # The case is cleared: one status update per channel to each notified victim.
        _clear(url, folder, (REPORT,))
        sent_before = (len(store.twilio_messages), len(store.sendgrid_messages))
        report = _send(url, emulator)
        assert report.queued == {"status_update": {"sms": 1, "email": 1}}
        assert report.dispatch["outcomes_by_kind"] == {"status_update": {"accepted": 2}}
        updates = [r for r in _kinds(url) if r[2] == "status_update"]
        assert updates == [
            (REPORT, victim_key(REPORT, 1), "status_update", "email", "cleared_arrest", "sent"),
            (REPORT, victim_key(REPORT, 1), "status_update", "sms", "cleared_arrest", "sent"),
        ]
        new_texts = store.twilio_messages[sent_before[0] :]
        assert [m.to for m in new_texts] == [VICTIM_PHONE[REPORT]]
        assert len(store.sendgrid_messages) == sent_before[1] + 1
        # The reporting party hears nothing about the case's outcome.
        assert not [m for m in new_texts if m.to == RP_PHONE]

        # A second send (and a rebuild) sends nothing more.
        build(url, CONFIG)
        again = _send(url, emulator)
        assert again.queued == {} and again.dispatch["claimed"] == 0
        assert (len(store.twilio_messages), len(store.sendgrid_messages)) == (
            sent_before[0] + 1,
            sent_before[1] + 1,
        )
        # Queueing again by hand is refused by the outbox's unique constraint (ON CONFLICT).
        with psycopg.connect(url) as conn:
            assert outbox.enqueue_status_updates(conn) == {}
    assert Counter(r[2] for r in _kinds(url)) == {"initial": 4, "reporting_party": 2, "status_update": 2}


def test_an_opt_out_or_a_closed_window_between_queueing_and_sending_stops_a_status_update(warehouse):
    url, folder = warehouse
    with run_in_thread() as emulator:
        store = emulator.store
        _send(url, emulator)
        _clear(url, folder, (OPTED,), status="suspended")
        with psycopg.connect(url) as conn:
            assert outbox.enqueue_status_updates(conn) == {"status_update": {"sms": 1, "email": 1}}
        texts_before = len(store.twilio_messages)
        emails_before = len(store.sendgrid_messages)
        channels = channels_for(emulator.base_url)
        # Outside the send window nothing goes out; the rows wait untouched.
        closed = Dispatcher(url, CONFIG, channels, FAST, clock=lambda: OUTSIDE_WINDOW).run(drain=True)
        assert closed.claimed == 0 and not closed.window_open
        assert {r[5] for r in _kinds(url) if r[2] == "status_update"} == {"pending"}
        # The victim texts STOP after the update was queued: the text is not sent, the email is.
        with psycopg.connect(url) as conn:
            outbox.record_opt_out(conn, "sms", VICTIM_PHONE[OPTED], "test")
        summary = Dispatcher(url, CONFIG, channels, FAST, clock=lambda: INSIDE_WINDOW).run(drain=True)
        assert summary.outcomes_by_kind["status_update"] == {"opted_out": 1, "accepted": 1}
        states = {(r[3], r[5]) for r in _kinds(url) if r[2] == "status_update"}
        assert states == {("sms", "failed"), ("email", "sent")}
        reason = query(url, "SELECT reason FROM ops.outbox WHERE kind = 'status_update' AND channel = 'sms'")
        assert reason == [{"reason": "opted_out"}]
        assert len(store.twilio_messages) == texts_before
        assert len(store.sendgrid_messages) == emails_before + 1
