"""Survey invitations end to end on a built warehouse: dbt finds who is due, the surveys flow
queues each invitation with its outbox row and sends it through the SDKs to the emulators, the
link in the text opens the survey page, and one reminder goes to invitations left unopened.

The warehouse is built once per module the way an agency's runs would leave it: a first
transform (which randomizes the eligible victims), the first notices sent to Group A, then a
transform three weeks later, when the earliest randomized reports are due for the survey. Each
test gets its own copy of that database.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import secrets
import threading
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import psycopg
import pytest
from psycopg.rows import dict_row
from sending import FAST, INSIDE_WINDOW, OUTSIDE_WINDOW, channels_for
from sqlalchemy.engine import make_url
from typer.testing import CliRunner

from ingest.run import ingest_path
from notifications import catalog, outbox, surveys
from notifications.dispatcher import Dispatcher
from notifications.service import send_surveys
from notifications.tokens import TOKEN_PATTERN, hash_token
from simulate.demo import invitation_arms
from simulate.emulators.server import run_in_thread
from simulate.emulators.settings import (
    TEST_ACCOUNT_SID,
    TEST_AUTH_TOKEN,
    TEST_SENDGRID_API_KEY,
    EmulatorSettings,
)
from simulate.emulators.signing import test_public_key_b64
from vnotify.cli import app
from vnotify.config import AgencyConfig, load_config
from vnotify.paths import SAMPLE_CONFIG
from warehouse import migrate
from warehouse.transform import transform
from web.app import WebSettings, create_app
from web.server import RunningServer

FIRST_BUILD = "2025-03-20T12:00:00+00:00"
# Three weeks on: reports up to 2025-03-21 are 14 days old (survey.delay_days in the sample).
SURVEY_BUILD = "2025-04-04T12:00:00+00:00"
runner = CliRunner()


def all_live(config: AgencyConfig) -> AgencyConfig:
    """Every division live from the start of the sample month: more victims randomized."""
    divisions = [d.model_copy(update={"go_live": dt.date(2025, 3, 1)}) for d in config.divisions]
    return config.model_copy(update={"divisions": divisions})


CONFIG = all_live(load_config())


def query(url: str, sql: str, *params) -> list[dict]:
    with psycopg.connect(url) as conn, conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(sql, params).fetchall()


@pytest.fixture(scope="module")
def survey_template(fresh_database, small_agency) -> dict:
    url = fresh_database()
    migrate.upgrade(url)
    ingest_path(small_agency, "contract-csv", url=url, config=CONFIG)
    assert transform(url=url, config=CONFIG, as_of=FIRST_BUILD, quiet=True).success
    # Randomization takes eligible victims only (fct_experiment_assignments reads is_eligible).
    (assigned_ineligible,) = query(
        url,
        """SELECT count(*) AS n FROM marts.fct_experiment_assignments
           JOIN marts.fct_eligibility_decisions AS d USING (victim_key) WHERE NOT d.is_eligible""",
    )
    with psycopg.connect(url) as conn:
        outbox.enqueue_due(conn)
    with run_in_thread() as emulator:
        Dispatcher(url, CONFIG, channels_for(emulator.base_url), FAST, clock=lambda: INSIDE_WINDOW).run(
            drain=True
        )
    assert transform(url=url, config=CONFIG, as_of=SURVEY_BUILD, quiet=True).success
    return {"database": make_url(url).database, "assigned_ineligible": assigned_ineligible["n"]}


@pytest.fixture
def warehouse(server_admin_url, survey_template, monkeypatch) -> Iterator[str]:
    """A copy of the module's warehouse for one test."""
    name = f"vnotify_test_{secrets.token_hex(4)}"
    with psycopg.connect(server_admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{survey_template["database"]}"')
    url = make_url(server_admin_url).set(database=name).render_as_string(hide_password=False)
    monkeypatch.setenv("DATABASE_URL", url)
    yield url
    with psycopg.connect(server_admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def emulator():
    with run_in_thread() as running:
        yield running


@pytest.fixture
def web(warehouse) -> Iterator[httpx.Client]:
    application = create_app(WebSettings(database_url=warehouse, pool_size=2), CONFIG)
    with RunningServer(application) as server, httpx.Client(base_url=server.base_url, timeout=10) as client:
        yield client


def run(url: str, emulator, config: AgencyConfig = CONFIG, clock=lambda: INSIDE_WINDOW):
    return send_surveys(
        url, config, channels=channels_for(emulator.base_url), settings=FAST, drain=True, clock=clock
    )


def due(url: str) -> list[dict]:
    return query(url, "SELECT * FROM restricted.survey_invitations_due ORDER BY victim_key")


def survey_rows(url: str, kind: str = "survey") -> list[dict]:
    return query(
        url,
        """SELECT o.*, i.arm AS invitation_arm, i.token_hash, i.reminder_token_hash, i.first_opened_at
           FROM ops.outbox AS o JOIN ops.survey_invitations AS i USING (invitation_id)
           WHERE o.kind = %s ORDER BY o.outbox_id""",
        kind,
    )


def texts_to(emulator, address: str) -> list[str]:
    return [m.body for m in emulator.store.twilio_messages if m.to == address]


def texts_of(emulator, row: dict) -> list[str]:
    """The texts carrying a link to this row's invitation (one phone may be on two reports)."""
    hashes = {row["token_hash"], row["reminder_token_hash"]}
    return [
        body
        for body in texts_to(emulator, row["address"])
        if hash_token(TOKEN_PATTERN.search(body)["token"]) in hashes
    ]


def link_token(body: str) -> str:
    match = TOKEN_PATTERN.search(body)
    assert match and "/s/" in body, body
    return match["token"]


def age_sent_surveys(url: str, days: int) -> None:
    """As if the survey messages went out `days` ago."""
    with psycopg.connect(url) as conn:
        conn.execute(
            "UPDATE ops.outbox SET sent_at = sent_at - make_interval(days => %s) WHERE kind = 'survey'",
            (days,),
        )


# --- who is invited --------------------------------------------------------------------------


def test_randomization_took_only_eligible_victims(survey_template):
    assert survey_template["assigned_ineligible"] == 0


def test_both_arms_are_invited_once_and_a_second_run_invites_nobody(warehouse, emulator):
    expected = due(warehouse)
    assert {row["arm"] for row in expected} == {"A", "B"}
    notified = {
        r["victim_key"] for r in query(warehouse, "SELECT victim_key FROM ops.outbox WHERE kind = 'initial'")
    }
    # Group A got the first notice (already_notified) and is still invited.
    assert notified & {row["victim_key"] for row in expected if row["arm"] == "A"}
    assert not notified & {row["victim_key"] for row in expected if row["arm"] == "B"}

    report = run(warehouse, emulator)
    assert report.invited == dict(Counter(row["channel"] for row in expected))
    assert report.outbox == {"sent": len(expected)}
    rows = survey_rows(warehouse)
    assert sorted(r["victim_key"] for r in rows) == [row["victim_key"] for row in expected]
    invitations = query(warehouse, "SELECT victim_key, arm, channel, experiment FROM ops.survey_invitations")
    assert len(invitations) == len(expected)
    assert {(i["victim_key"], i["arm"], i["channel"]) for i in invitations} == {
        (row["victim_key"], row["arm"], row["channel"]) for row in expected
    }
    assert {i["experiment"] for i in invitations} == {CONFIG.experiment.name}
    store = emulator.store
    sms = [row for row in expected if row["channel"] == "sms"]
    assert sorted(m.to for m in store.twilio_messages) == sorted(row["address"] for row in sms)
    assert len(store.sendgrid_messages) == len(expected) - len(sms)

    again = run(warehouse, emulator)
    assert again.invited == {} and again.reminded == {} and again.dispatch["claimed"] == 0
    assert len(store.twilio_messages) + len(store.sendgrid_messages) == len(expected)
    assert due(warehouse) == []


def test_the_link_in_the_text_opens_the_survey_of_its_invitation(warehouse, emulator, web):
    run(warehouse, emulator)
    rows = [r for r in survey_rows(warehouse) if r["channel"] == "sms"]
    assert rows
    for row in rows:
        (body,) = texts_of(emulator, row)
        token = link_token(body)
        assert body.startswith(f"{CONFIG.agency.short_name}:")
        assert hash_token(token) == row["token_hash"]
        assert token not in json.dumps(query(warehouse, "SELECT * FROM ops.survey_invitations"), default=str)
    row = rows[0]
    token = link_token(texts_of(emulator, row)[0])
    page = web.get(f"/s/{token}")
    assert page.status_code == 200
    strings = catalog.strings(row["language"])
    assert strings["survey.title"] in page.text
    (opened,) = query(
        warehouse,
        "SELECT first_opened_at FROM ops.survey_invitations WHERE invitation_id = %s",
        row["invitation_id"],
    )
    assert opened["first_opened_at"] is not None
    # The survey's token opens no message page.
    assert web.get(f"/m/{token}").status_code == 404


def test_a_survey_email_has_its_link_and_a_working_one_click_unsubscribe(warehouse, emulator, web):
    run(warehouse, emulator)
    rows = [r for r in survey_rows(warehouse) if r["channel"] == "email"]
    assert rows
    row = rows[0]
    (message,) = [
        m
        for m in emulator.store.sendgrid_messages
        if m.custom_args_for(0)["notification_id"] == str(row["outbox_id"])
    ]
    text = next(part["value"] for part in message.content if part["type"] == "text/plain")
    token = link_token(text)
    assert hash_token(token) == row["token_hash"]
    unsubscribe = message.headers["List-Unsubscribe"]
    assert unsubscribe == f"<{str(CONFIG.agency.portal_base_url).rstrip('/')}/u/{token}>"
    assert web.get(f"/s/{token}").status_code == 200
    one_click = web.post(f"/u/{token}", data={"List-Unsubscribe": "One-Click"})
    assert one_click.status_code == 200
    assert query(
        warehouse, "SELECT 1 FROM ops.opt_outs WHERE channel = 'email' AND address = %s", row["address"]
    )


def test_two_runs_queueing_at_once_invite_each_victim_once(warehouse):
    expected = due(warehouse)
    start = threading.Barrier(2)

    def queue_invitations() -> dict[str, int]:
        with psycopg.connect(warehouse) as conn:
            start.wait()
            return surveys.enqueue_invitations(conn, CONFIG.experiment.name)

    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(lambda _: queue_invitations(), range(2)))
    assert sum(sum(r.values()) for r in results) == len(expected)
    assert len(survey_rows(warehouse)) == len(expected)
    (count,) = query(warehouse, "SELECT count(*) AS n FROM ops.survey_invitations")
    assert count["n"] == len(expected)


def test_the_schema_refuses_a_survey_message_without_its_invitation_or_a_second_one(warehouse):
    columns = "victim_key, report_number, kind, channel, address, language, payload"
    with psycopg.connect(warehouse) as conn, pytest.raises(psycopg.errors.CheckViolation):
        conn.execute(
            f"INSERT INTO ops.outbox ({columns}) VALUES ('vk', 'SV25-1', 'survey', 'sms', '+15207000001', "
            """'en', '{"arm": "B"}')"""
        )
    with psycopg.connect(warehouse) as conn:
        surveys.enqueue_invitations(conn, CONFIG.experiment.name)
    row = survey_rows(warehouse)[0]
    other = "email" if row["channel"] == "sms" else "sms"
    with psycopg.connect(warehouse) as conn, pytest.raises(psycopg.errors.UniqueViolation):
        conn.execute(
            f"""INSERT INTO ops.outbox ({columns}, invitation_id)
                SELECT victim_key, report_number, kind, %s, address, language, payload, invitation_id
                FROM ops.outbox WHERE outbox_id = %s""",
            (other, row["outbox_id"]),
        )


# --- the rules at send time --------------------------------------------------------------------


@pytest.mark.server
def test_an_opt_out_between_queueing_and_sending_stops_the_survey(warehouse, emulator):
    with psycopg.connect(warehouse) as conn:
        queued = surveys.enqueue_invitations(conn, CONFIG.experiment.name)
    assert queued.get("sms")
    rows = survey_rows(warehouse)
    shared = Counter(r["address"] for r in rows)
    stopped = next(r for r in rows if r["channel"] == "sms" and shared[r["address"]] == 1)
    with psycopg.connect(warehouse) as conn:
        outbox.record_opt_out(conn, "sms", stopped["address"], "sms_reply")
    report = run(warehouse, emulator)
    assert report.invited == {}  # already queued
    assert report.dispatch["outcomes"]["opted_out"] == 1
    assert texts_to(emulator, stopped["address"]) == []
    after = next(r for r in survey_rows(warehouse) if r["outbox_id"] == stopped["outbox_id"])
    assert (after["state"], after["reason"]) == ("failed", "opted_out")
    assert len(emulator.store.twilio_messages) == queued["sms"] - 1


def test_nothing_goes_out_outside_the_send_window(warehouse, emulator):
    report = run(warehouse, emulator, clock=lambda: OUTSIDE_WINDOW)
    assert sum(report.invited.values()) == len(survey_rows(warehouse)) > 0  # queued at any hour
    assert report.dispatch["window_open"] is False and report.dispatch["claimed"] == 0
    assert emulator.store.twilio_messages == [] and emulator.store.sendgrid_messages == []
    assert report.outbox == {"pending": len(survey_rows(warehouse))}
    # At the next opening they go.
    later = run(warehouse, emulator)
    assert later.outbox == {"sent": len(survey_rows(warehouse))}


def test_with_a_fifth_of_calls_failing_each_invitation_goes_once_with_a_working_link(warehouse):
    """429s, 5xx and timeouts (some after the provider created the message): every invitation
    ends sent exactly once, and the one copy the victim has carries the invitation's live link."""
    web_app = create_app(WebSettings(database_url=warehouse, sendgrid_public_key=test_public_key_b64()))
    with RunningServer(web_app) as server:
        faults = EmulatorSettings(
            rate_429=0.06,
            rate_5xx=0.1,
            rate_timeout=0.04,
            timeout_seconds=1.5,
            retry_after_seconds=0,
            seed=21,
            sendgrid_event_webhook_url=f"{server.base_url}/webhooks/sendgrid/events",
            status_callbacks=False,
        )
        with run_in_thread(faults) as faulty:
            settings = dataclasses.replace(
                FAST, provider_timeout_seconds=0.5, sendgrid_event_grace_seconds=8, max_attempts=30
            )
            report = send_surveys(
                warehouse,
                CONFIG,
                channels=channels_for(faulty.base_url, timeout=0.5),
                settings=settings,
                drain=True,
                clock=lambda: INSIDE_WINDOW,
            )
            faulty.wait_idle()
            store = faulty.store
    rows = survey_rows(warehouse)
    assert report.outbox == {"sent": len(rows)}, Counter((r["state"], r["reason"]) for r in rows)
    outcomes = report.dispatch["outcomes"]
    assert outcomes.get("retry", 0) > 0 and outcomes.get("ambiguous", 0) > 0  # the faults did happen
    for row in rows:
        if row["channel"] == "sms":
            bodies = [m.body for m in store.twilio_messages if m.to == row["address"]]
            copies = [b for b in bodies if hash_token(link_token(b)) == row["token_hash"]]
            stale = [b for b in bodies if hash_token(link_token(b)) in attempt_hashes(warehouse, row)]
            assert len(copies) == 1 and stale == copies, row["outbox_id"]
        else:
            (copy,) = [
                m
                for m in store.sendgrid_messages
                if m.custom_args_for(0)["notification_id"] == str(row["outbox_id"])
            ]
            text = next(part["value"] for part in copy.content if part["type"] == "text/plain")
            assert hash_token(link_token(text)) == row["token_hash"]


def attempt_hashes(url: str, row: dict) -> set[str]:
    """The hashes of every token any attempt of this outbox row carried."""
    return {
        r["token_hash"]
        for r in query(
            url, "SELECT token_hash FROM ops.message_tokens WHERE outbox_id = %s", row["outbox_id"]
        )
    }


# --- the reminder ------------------------------------------------------------------------------


@pytest.mark.server
def test_the_reminder_goes_once_and_only_to_unopened_invitations(warehouse, emulator, web):
    run(warehouse, emulator)
    invited = [r for r in survey_rows(warehouse) if r["channel"] == "sms"]
    assert len(invited) >= 3
    opened, answered, *unopened = invited
    first_tokens = {r["outbox_id"]: link_token(texts_of(emulator, r)[0]) for r in invited}
    assert web.get(f"/s/{first_tokens[opened['outbox_id']]}").status_code == 200
    submitted = web.post(
        f"/s/{first_tokens[answered['outbox_id']]}", data={"service_rating": "4", "action": "submit"}
    )
    assert submitted.status_code in (200, 303)
    emails_unopened = [r for r in survey_rows(warehouse) if r["channel"] == "email"]

    too_early = run(warehouse, emulator)  # sent today: not yet
    assert too_early.reminded == {}
    age_sent_surveys(warehouse, CONFIG.survey.reminder_after_days)
    report = run(warehouse, emulator)
    assert report.reminded == {
        channel: n for channel, n in (("sms", len(unopened)), ("email", len(emails_unopened))) if n
    }
    assert report.dispatch["outcomes"] == {"accepted": len(unopened) + len(emails_unopened)}
    reminders = survey_rows(warehouse, "survey_reminder")
    assert {r["invitation_id"] for r in reminders} == {r["invitation_id"] for r in unopened + emails_unopened}
    for row in (opened, answered):
        assert len(texts_of(emulator, row)) == 1
        assert row["invitation_id"] not in {r["invitation_id"] for r in reminders}
    strings_reminder = {catalog.strings(lang)["survey_sms.reminder"] for lang in ("en", "es")}
    for row in unopened:
        reminded_row = next(r for r in reminders if r["invitation_id"] == row["invitation_id"])
        first, reminder = texts_of(emulator, reminded_row)
        assert any(s in reminder for s in strings_reminder)
        assert hash_token(link_token(reminder)) == reminded_row["reminder_token_hash"]
        assert reminded_row["channel"] == row["channel"] and reminded_row["address"] == row["address"]
        # Both links open the same invitation.
        assert hash_token(link_token(first)) == reminded_row["token_hash"] == row["token_hash"]
    some = next(r for r in reminders if r["channel"] == "sms")
    assert web.get(f"/s/{link_token(texts_of(emulator, some)[1])}").status_code == 200
    first_of_some = next(r for r in invited if r["invitation_id"] == some["invitation_id"])
    assert web.get(f"/s/{first_tokens[first_of_some['outbox_id']]}").status_code == 200
    (row,) = query(
        warehouse,
        "SELECT first_opened_at FROM ops.survey_invitations WHERE invitation_id = %s",
        some["invitation_id"],
    )
    assert row["first_opened_at"] is not None
    # The demo's ground truth (which arm a link belongs to) knows both links of each invitation.
    arms = invitation_arms(warehouse)
    for invitation in survey_rows(warehouse):
        assert arms[invitation["token_hash"]] == invitation["invitation_arm"]
    for reminded_row in reminders:
        assert arms[reminded_row["reminder_token_hash"]] == reminded_row["invitation_arm"]

    age_sent_surveys(warehouse, 30)
    last = run(warehouse, emulator)
    assert last.reminded == {} and last.dispatch["claimed"] == 0


def test_an_invitation_opened_after_its_reminder_was_queued_gets_no_reminder(warehouse, emulator, web):
    run(warehouse, emulator)
    (row, *_) = [r for r in survey_rows(warehouse) if r["channel"] == "sms"]
    token = link_token(texts_of(emulator, row)[0])
    age_sent_surveys(warehouse, CONFIG.survey.reminder_after_days)
    with psycopg.connect(warehouse) as conn:
        queued = surveys.enqueue_reminders(conn, CONFIG.experiment.name, CONFIG.survey.reminder_after_days)
    assert sum(queued.values()) == len(survey_rows(warehouse))
    assert web.get(f"/s/{token}").status_code == 200  # opened before the reminder went out
    report = run(warehouse, emulator)
    assert report.dispatch["outcomes"]["survey_already_opened"] == 1
    assert len(texts_of(emulator, row)) == 1
    (skipped,) = [
        r for r in survey_rows(warehouse, "survey_reminder") if r["invitation_id"] == row["invitation_id"]
    ]
    assert (skipped["state"], skipped["reason"]) == ("failed", "survey_already_opened")
    assert skipped["reminder_token_hash"] is None
    assert web.get(f"/s/{token}").status_code == 200  # the link the victim has still works


def test_no_reminder_when_the_agency_sets_none(warehouse, emulator):
    config = CONFIG.model_copy(
        update={"survey": CONFIG.survey.model_copy(update={"reminder_after_days": None})}
    )
    run(warehouse, emulator, config)
    age_sent_surveys(warehouse, 30)
    report = run(warehouse, emulator, config)
    assert report.reminded == {} and survey_rows(warehouse, "survey_reminder") == []


# --- the command and the flow ------------------------------------------------------------------


@pytest.fixture
def all_day_config(tmp_path, monkeypatch):
    text = (
        SAMPLE_CONFIG.read_text()
        .replace('start: "08:00"', 'start: "00:00"')
        .replace('end: "20:00"', 'end: "24:00"')
    )
    path = tmp_path / "agency.yaml"
    path.write_text(text)
    monkeypatch.setenv("VNOTIFY_CONFIG", str(path))
    return path


@pytest.fixture
def provider_env(emulator, monkeypatch):
    monkeypatch.setenv("TWILIO_ACCOUNT_SID", TEST_ACCOUNT_SID)
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", TEST_AUTH_TOKEN)
    monkeypatch.setenv("SENDGRID_API_KEY", TEST_SENDGRID_API_KEY)
    monkeypatch.setenv("TWILIO_API_BASE_URL", emulator.base_url)
    monkeypatch.setenv("SENDGRID_API_HOST", emulator.base_url)
    monkeypatch.setenv("VNOTIFY_PUBLIC_BASE_URL", "http://127.0.0.1:9")  # callbacks go nowhere
    return emulator


def _last_json(output: str) -> dict:
    return json.loads(output.strip().splitlines()[-1])


@pytest.mark.server
def test_the_command_dry_run_then_send(warehouse, all_day_config, provider_env):
    expected = Counter(row["channel"] for row in due(warehouse))
    dry = runner.invoke(app, ["surveys", "send", "--dry-run", "--json"])
    assert dry.exit_code == 0, dry.output
    preview = _last_json(dry.output)
    assert preview["dry_run"] is True and preview["would_invite"] == dict(expected)
    assert 1 <= preview["max_sms_segments"] <= 2
    assert preview["outbox"] == {} and query(warehouse, "SELECT * FROM ops.survey_invitations") == []

    sent = runner.invoke(app, ["surveys", "send", "--limit", "2", "--json"])
    assert sent.exit_code == 0, sent.output
    report = _last_json(sent.output)
    assert report["invited"] == dict(expected)
    assert report["dispatch"]["outcomes"] == {"accepted": 2}
    assert report["outbox"] == {"sent": 2, "pending": sum(expected.values()) - 2}


def test_the_surveys_flow_runs_under_prefect(warehouse, all_day_config, provider_env, prefect_harness):
    from flows.surveys import surveys

    result = surveys(limit=3, workers=1)
    assert sum(result["invited"].values()) == len(survey_rows(warehouse))
    assert result["dispatch"]["outcomes"] == {"accepted": 3}
    assert len(provider_env.store.twilio_messages) + len(provider_env.store.sendgrid_messages) == 3
