"""Case-status follow-ups: re-exports of a report make one status update due per change, only
for Group A victims whose first notice was sent and who still pass the safety gate; real
Postgres, real dbt, exports ingested batch by batch."""

from __future__ import annotations

import psycopg
import pytest
from issue9_support import (
    build,
    config_with,
    execute,
    incident,
    load,
    offense,
    outbox_row,
    own_database,
    person,
    query,
    report_numbers,
    victim_key,
    write_export,
)

pytestmark = pytest.mark.db

CONFIG = config_with(status_updates=True)
(CLEARED, DV, FAILED, FLIP, UNSENT) = report_numbers(CONFIG, "ST", "A", 5)
(HOLDOUT,) = report_numbers(CONFIG, "STB", "B")
NUMBERS = (CLEARED, DV, FAILED, FLIP, UNSENT, HOLDOUT)
FIRST_STATUS = {FLIP: "suspended"}


def _version(number: str, n: int, **fields: str) -> dict[str, str]:
    """Export number `n` of a report: each one an hour newer."""
    return incident(number, updated_at=f"2025-03-18T{11 + n:02d}:00:00", **fields)


def _re_export(url: str, folder, n: int, changes: dict[str, dict[str, str]]) -> None:
    load(
        url,
        write_export(folder / f"export-{n}", incidents=[_version(k, n, **v) for k, v in changes.items()]),
        CONFIG,
    )


def _due(url: str) -> list[dict]:
    return query(url, "SELECT * FROM restricted.status_updates_due ORDER BY report_number, subject")


@pytest.fixture
def notified(server_admin_url, migrated_template, tmp_path):
    """Every report exported once (open; FLIP suspended) and each victim's first notice sent,
    except UNSENT (still pending), the holdout's planted as sent, and FAILED's text failed."""
    folder = write_export(
        tmp_path / "export-0",
        incidents=[_version(n, 0, case_status=FIRST_STATUS.get(n, "open")) for n in NUMBERS],
        offenses=[offense(n) for n in NUMBERS],
        persons=[
            person(n, 1, "Vic", f"Tim{i}", phone=f"520-700-30{i:02d}", email=f"v{i}@example.org")
            for i, n in enumerate(NUMBERS)
        ],
    )
    with own_database(server_admin_url, migrated_template) as url:
        load(url, folder, CONFIG)
        build(url, CONFIG, as_of="2025-03-18T20:00:00+00:00")
        due_first = {
            (r["report_number"], r["kind"]) for r in query(url, "SELECT * FROM restricted.notifications_due")
        }
        assert {(n, "initial") for n in NUMBERS if n != HOLDOUT} == due_first
        for number in (CLEARED, DV, FLIP, HOLDOUT):
            outbox_row(url, number, 1, channel="sms")
            outbox_row(url, number, 1, channel="email")
        outbox_row(url, FAILED, 1, channel="sms", state="failed")
        outbox_row(url, FAILED, 1, channel="email")
        outbox_row(url, UNSENT, 1, channel="email", state="pending")
        yield url, tmp_path


def test_a_cleared_case_makes_one_update_due_for_the_notified_group_a_victim(notified):
    url, folder = notified
    _re_export(
        url,
        folder,
        1,
        {
            CLEARED: {"case_status": "cleared_arrest"},
            HOLDOUT: {"case_status": "cleared_arrest"},
            UNSENT: {"case_status": "cleared_arrest"},
            DV: {"case_status": "cleared_arrest", "domestic_violence": "Y"},
            FAILED: {"case_status": "suspended"},
        },
    )
    build(url, CONFIG)
    due = _due(url)
    assert [(r["report_number"], r["subject"]) for r in due] == sorted(
        [(CLEARED, "cleared_arrest"), (FAILED, "suspended")]
    )
    cleared = next(r for r in due if r["report_number"] == CLEARED)
    assert cleared["victim_key"] == victim_key(CLEARED, 1)
    assert (cleared["kind"], cleared["change_type"], cleared["case_status"], cleared["arm"]) == (
        "status_update",
        "case_status",
        "cleared_arrest",
        "A",
    )
    assert cleared["channels"] == ["sms", "email"] and cleared["phone_e164"] and cleared["email"]
    assert cleared["officer_name"] and cleared["substation_phone"] and cleared["offense_name"]
    # The text that failed the first time is left out; the e-mail that arrived is used.
    failed = next(r for r in due if r["report_number"] == FAILED)
    assert failed["channels"] == ["email"] and failed["phone_e164"] is None
    # The victim of a report now flagged domestic violence hears nothing, ever.
    reasons = query(
        url, "SELECT reasons FROM marts.fct_eligibility_decisions WHERE victim_key = %s", victim_key(DV, 1)
    )[0]["reasons"]
    assert "domestic_violence" in reasons
    changes = {
        r["report_number"] for r in query(url, "SELECT * FROM intermediate.int_reports__status_changes")
    }
    assert {CLEARED, DV, HOLDOUT, UNSENT, FAILED} <= changes  # the change exists; the gate holds it back


def test_a_flip_flop_and_a_burst_of_re_exports_give_one_subject(notified):
    url, folder = notified
    _re_export(url, folder, 1, {FLIP: {"case_status": "open"}})
    build(url, CONFIG)
    assert not _due(url)  # open is not a status anyone hears about
    _re_export(url, folder, 2, {FLIP: {"case_status": "suspended"}})
    build(url, CONFIG)
    due = _due(url)
    assert [(r["report_number"], r["subject"], r["channels"]) for r in due] == [
        (FLIP, "suspended", ["sms", "email"])
    ]
    # The send path queues it (what enqueue_status_updates does), then the report flips again.
    for channel in ("sms", "email"):
        outbox_row(url, FLIP, 1, kind="status_update", channel=channel, subject="suspended")
    _re_export(url, folder, 3, {FLIP: {"case_status": "open"}})
    _re_export(url, folder, 4, {FLIP: {"case_status": "suspended"}})
    build(url, CONFIG)
    assert not _due(url)
    subjects = query(
        url, "SELECT subject FROM intermediate.int_reports__status_changes WHERE report_number = %s", FLIP
    )
    assert [r["subject"] for r in subjects] == ["suspended"]
    # The outbox itself refuses a second message about the same change.
    with pytest.raises(psycopg.errors.UniqueViolation):
        outbox_row(url, FLIP, 1, kind="status_update", channel="sms", subject="suspended")


def test_a_detective_assigned_is_its_own_subject(notified):
    url, folder = notified
    _re_export(url, folder, 1, {CLEARED: {"assigned_detective": "Det. Ana Lee"}})
    build(url, CONFIG)
    _re_export(url, folder, 2, {CLEARED: {"assigned_detective": "  DET. ANA LEE "}})
    build(url, CONFIG)
    due = _due(url)
    assert [(r["report_number"], r["subject"], r["change_type"]) for r in due] == [
        (CLEARED, "detective:det. ana lee", "detective")
    ]
    assert due[0]["assigned_detective"] == "DET. ANA LEE"


def test_with_status_updates_off_nothing_is_due(notified):
    url, folder = notified
    _re_export(url, folder, 1, {CLEARED: {"case_status": "cleared_arrest"}})
    build(url, config_with(status_updates=False))
    assert query(url, "SELECT count(*) AS n FROM intermediate.int_reports__status_changes")[0]["n"] > 0
    assert not _due(url)


def test_an_opted_out_victim_gets_no_update_on_that_channel(notified):
    url, folder = notified
    execute(url, "INSERT INTO ops.opt_outs (channel, address, source) VALUES ('sms', '+15207003000', 'test')")
    _re_export(url, folder, 1, {CLEARED: {"case_status": "closed"}})
    build(url, CONFIG)
    (row,) = _due(url)
    assert (row["report_number"], row["subject"], row["channels"]) == (CLEARED, "closed", ["email"])
