"""The two follow-up notices end to end: a warehouse built by the real dbt transform from contract
exports, queued by `outbox.enqueue_due` / `outbox.enqueue_status_updates` (and `service.send`),
sent by the dispatcher through the official SDKs to the Twilio and SendGrid emulators.

Queueing is idempotent and keeps the kinds apart; each reporting-party notice and each status
update reaches the provider exactly once; an opt-out recorded between queueing and sending stops
it, and the send window holds every kind.
"""

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
    opt_out,
    own_database,
    person,
    query,
    report_numbers,
    victim_key,
    write_export,
)
from sending import FAST, INSIDE_WINDOW, OUTSIDE_WINDOW, channels_for

from notifications import catalog, outbox, service
from notifications.dispatcher import Dispatcher
from notifications.tokens import TOKEN_PATTERN, hash_token
from simulate.emulators.server import run_in_thread
from simulate.emulators.settings import EmulatorSettings

pytestmark = pytest.mark.db

CONFIG = config_with(reporting_parties=True, status_updates=True)
(CLEARED, DETECTIVE) = report_numbers(CONFIG, "NK", "A", 2)
NUMBERS = (CLEARED, DETECTIVE)
LANGUAGE = {CLEARED: "en", DETECTIVE: "es"}
VICTIM_PHONE = {CLEARED: "+15207004101", DETECTIVE: "+15207004102"}
VICTIM_EMAIL = {CLEARED: "victim-nk1@example.org", DETECTIVE: "victim-nk2@example.org"}
RP_PHONE = {CLEARED: "+15207004201", DETECTIVE: "+15207004202"}
RP_EMAIL = {CLEARED: "rp-nk1@example.org", DETECTIVE: "rp-nk2@example.org"}
BUILT_AT = "2025-03-18T20:00:00+00:00"


def _version(number: str, n: int, **fields: str) -> dict[str, str]:
    return incident(number, updated_at=f"2025-03-18T{11 + n:02d}:00:00", **fields)


def _persons() -> list[dict[str, str]]:
    rows = []
    for number in NUMBERS:
        local = lambda e164: f"{e164[2:5]}-{e164[5:8]}-{e164[8:]}"  # noqa: E731
        rows.append(
            person(
                number,
                1,
                "Vera",
                "Victim",
                phone=local(VICTIM_PHONE[number]),
                email=VICTIM_EMAIL[number],
                language=LANGUAGE[number],
            )
        )
        rows.append(
            person(
                number,
                2,
                "Rita",
                "Reporter",
                role="reporting_party",
                phone=local(RP_PHONE[number]),
                email=RP_EMAIL[number],
                language=LANGUAGE[number],
            )
        )
    return rows


def _outbox(url: str) -> list[dict]:
    return query(
        url,
        "SELECT outbox_id, victim_key, report_number, kind, channel, address, subject, state, reason, payload "
        "FROM ops.outbox ORDER BY outbox_id",
    )


def _copies(url: str, store) -> Counter:
    """Provider messages per outbox row: by the token in a text, by custom_args in an email."""
    owners = {r["token_hash"]: r["outbox_id"] for r in query(url, "SELECT * FROM ops.message_tokens")}
    copies: Counter = Counter()
    for message in store.twilio_messages:
        for match in TOKEN_PATTERN.finditer(message.body):
            copies[owners.get(hash_token(match.group("token")), "stranger")] += 1
    for message in store.sendgrid_messages:
        for index in range(len(message.personalizations)):
            copies[int(message.custom_args_for(index)["notification_id"])] += 1
    return copies


def _dispatcher(url: str, base_url: str, clock=lambda: INSIDE_WINDOW) -> Dispatcher:
    return Dispatcher(url, CONFIG, channels_for(base_url), FAST, clock=clock, seed=3)


@pytest.fixture
def warehouse(server_admin_url, migrated_template, tmp_path):
    folder = write_export(
        tmp_path / "export-0",
        incidents=[_version(n, 0) for n in NUMBERS],
        offenses=[offense(n) for n in NUMBERS],
        persons=_persons(),
    )
    with own_database(server_admin_url, migrated_template) as url:
        load(url, folder, CONFIG)
        build(url, CONFIG, as_of=BUILT_AT)
        yield url, tmp_path


def _re_export(url: str, folder, changes: dict[str, dict[str, str]]) -> None:
    export = write_export(folder / "export-1", incidents=[_version(n, 1, **v) for n, v in changes.items()])
    load(url, export, CONFIG)
    build(url, CONFIG)


def test_notices_and_status_updates_are_queued_once_each_and_reach_the_provider_once(warehouse):
    url, folder = warehouse
    kinds = {
        (r["report_number"], r["kind"]) for r in query(url, "SELECT * FROM restricted.notifications_due")
    }
    assert kinds == {(n, k) for n in NUMBERS for k in ("initial", "reporting_party")}

    # Queueing: one row per channel and kind; a second run queues nothing.
    with_channels = {"sms": 2, "email": 2}
    with psycopg.connect(url) as conn:
        assert outbox.enqueue_due(conn) == {"initial": with_channels, "reporting_party": with_channels}
        assert outbox.enqueue_due(conn) == {}
        assert outbox.enqueue_status_updates(conn) == {}
    rows = _outbox(url)
    assert Counter((r["kind"], r["subject"]) for r in rows) == {
        ("initial", ""): 4,
        ("reporting_party", ""): 4,
    }
    rp_rows = [r for r in rows if r["kind"] == "reporting_party"]
    assert {r["victim_key"] for r in rp_rows} == {victim_key(n, 2) for n in NUMBERS}
    assert {r["address"] for r in rp_rows} == set(RP_PHONE.values()) | set(RP_EMAIL.values())

    # A reporting party unsubscribes after queueing and before sending: that email never goes.
    opt_out(url, "email", RP_EMAIL[DETECTIVE])
    with run_in_thread(EmulatorSettings()) as emulator:
        summary = _dispatcher(url, emulator.base_url).run(workers=2)
        assert summary.outcomes == {"accepted": 7, "opted_out": 1}
        store = emulator.store
        rows = {r["outbox_id"]: r for r in _outbox(url)}
        sent = [i for i, r in rows.items() if r["state"] == "sent"]
        assert _copies(url, store) == Counter(dict.fromkeys(sent, 1))
        (stopped,) = [r for r in rows.values() if r["state"] == "failed"]
        assert (stopped["kind"], stopped["address"], stopped["reason"]) == (
            "reporting_party",
            RP_EMAIL[DETECTIVE],
            "opted_out",
        )
        assert not any(RP_EMAIL[DETECTIVE] in m.recipients(0) for m in store.sendgrid_messages)
        # What the reporting party read: the report was filed; never the offense.
        rp_text = next(m.body for m in store.twilio_messages if m.to == RP_PHONE[CLEARED])
        assert catalog.STRINGS["en"]["sms.reporting_party.filed"] in rp_text
        assert catalog.STRINGS["en"]["sms.stop_text"] in rp_text and "Theft" not in rp_text
        rp_mail = next(m for m in store.sendgrid_messages if RP_EMAIL[CLEARED] in m.recipients(0))
        assert rp_mail.headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        assert rp_mail.headers["List-Unsubscribe"].startswith("<https://")
        assert "Theft" not in str(rp_mail.content)
        assert store.count_twilio_to(VICTIM_PHONE[CLEARED]) == 1

        # The reports change: CLEARED is cleared by an arrest, DETECTIVE gets a detective.
        _re_export(
            url,
            folder,
            {CLEARED: {"case_status": "cleared_arrest"}, DETECTIVE: {"assigned_detective": "Det. Ana Núñez"}},
        )
        due = query(url, "SELECT * FROM restricted.status_updates_due ORDER BY report_number")
        assert [(r["report_number"], r["subject"]) for r in due] == sorted(
            [(CLEARED, "cleared_arrest"), (DETECTIVE, "detective:det. ana núñez")]
        )
        # A dry run renders them and changes nothing.
        preview = service.dry_run(url, CONFIG)
        assert preview.would_send_by_kind == {"status_update": with_channels}
        assert 1 <= preview.max_sms_segments <= 2
        assert len(_outbox(url)) == 8

        # The victim of CLEARED stops texts after the update is queued; the window is closed at first.
        with psycopg.connect(url) as conn:
            assert outbox.enqueue_status_updates(conn) == {"status_update": with_channels}
            assert outbox.enqueue_status_updates(conn) == {}
            assert outbox.enqueue_due(conn) == {}
        opt_out(url, "sms", VICTIM_PHONE[CLEARED])
        closed = _dispatcher(url, emulator.base_url, clock=lambda: OUTSIDE_WINDOW).run()
        assert closed.outcomes == {} and not closed.window_open
        assert len(store.twilio_messages) == 4 and len(store.sendgrid_messages) == 3

        report = service.send(
            url, CONFIG, channels=channels_for(emulator.base_url), settings=FAST, clock=lambda: INSIDE_WINDOW
        )
        assert report.queued == {}
        assert report.dispatch["outcomes"] == {"accepted": 3, "opted_out": 1}
        rows = {r["outbox_id"]: r for r in _outbox(url)}
        updates = [r for r in rows.values() if r["kind"] == "status_update"]
        assert Counter((r["subject"], r["state"]) for r in updates) == {
            ("cleared_arrest", "sent"): 1,
            ("cleared_arrest", "failed"): 1,
            ("detective:det. ana núñez", "sent"): 2,
        }
        assert {r["reason"] for r in updates if r["state"] == "failed"} == {"opted_out"}
        assert updates[0]["payload"]["change_type"] in ("case_status", "detective")
        sent = [i for i, r in rows.items() if r["state"] == "sent"]
        assert _copies(url, store) == Counter(dict.fromkeys(sent, 1))
        assert store.count_twilio_to(VICTIM_PHONE[CLEARED]) == 1  # the first notice only
        update_text = [m.body for m in store.twilio_messages if m.to == VICTIM_PHONE[DETECTIVE]][-1]
        assert "el detective a cargo es Det. Ana Nuñez" in update_text
        assert update_text.endswith("Escriba STOP o ALTO para cancelar.")
        arrest_mail = next(
            m
            for m in store.sendgrid_messages
            if VICTIM_EMAIL[CLEARED] in m.recipients(0) and "update" in (m.subject or str(m.personalizations))
        )
        assert "An arrest has been made in this case." in str(arrest_mail.content)
        assert arrest_mail.headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"

        # Everything again: nothing is queued or sent a second time.
        again = service.send(
            url, CONFIG, channels=channels_for(emulator.base_url), settings=FAST, clock=lambda: INSIDE_WINDOW
        )
        assert again.queued == {} and again.dispatch["claimed"] == 0
        assert len(store.twilio_messages) == 5 and len(store.sendgrid_messages) == 5
