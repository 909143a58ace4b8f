"""Nothing fails silently: held batches, a held RMS extract, a stale export and a backlog of
unknown sends each reach the data engineers by e-mail (SendGrid's SDK against its emulator),
once, and again only after operations.realert_hours; no alert carries a victim's details."""

from __future__ import annotations

import datetime as dt

import psycopg
import pytest
from sending import queue

from monitoring.alerts import check_and_alert
from simulate.emulators.server import run_in_thread
from simulate.emulators.settings import TEST_SENDGRID_API_KEY
from vnotify.config import load_config

NOW = dt.datetime(2025, 3, 20, 18, 0, tzinfo=dt.UTC)
CONTACTS = ["data-eng@example.gov", "oncall@example.gov"]


def _config(**operations):
    config = load_config()
    return config.model_copy(
        update={
            "operations": config.operations.model_copy(update={"alert_emails": CONTACTS, **operations}),
        }
    )


def _plant(url: str) -> None:
    """A batch that failed its expectations an hour ago, the newest good load two days ago, an
    RMS extract whose newest run was held, and twelve sends stuck in `unknown`."""
    with psycopg.connect(url) as conn:
        conn.execute(
            """
            INSERT INTO ops.ingest_batches (source_format, source_name, content_sha256, status,
                                            expectations_passed, started_at)
            VALUES ('contract-csv', '/drop/persons.csv', repeat('a', 64), 'loaded', false, %(hour_ago)s),
                   ('contract-csv', '/drop/incidents.csv', repeat('b', 64), 'loaded', true, %(two_days_ago)s)
            """,
            {"hour_ago": NOW - dt.timedelta(hours=1), "two_days_ago": NOW - dt.timedelta(days=2)},
        )
        conn.execute(
            "INSERT INTO ops.extract_runs (source_name, read_since, outcome, reason, started_at)"
            " VALUES ('rms', %s, 'held', 'batches [1] failed their expectations', %s)",
            (NOW - dt.timedelta(hours=3), NOW - dt.timedelta(minutes=5)),
        )
    ids = queue(url, 12, "sms")
    with psycopg.connect(url) as conn:
        conn.execute(
            "UPDATE ops.outbox SET state = 'unknown', updated_at = %s WHERE outbox_id = ANY(%s)",
            (NOW - dt.timedelta(hours=1), ids),
        )


@pytest.mark.server
def test_each_problem_is_alerted_once_then_again_after_realert_hours(clean_db_url):
    _plant(clean_db_url)
    sent: list[tuple[str, str, str]] = []
    config = _config(realert_hours=6)

    def alert(*args):
        return check_and_alert(
            clean_db_url, config, now=args[0], with_prefect=False, send_email=lambda *m: sent.append(m)
        )

    first = alert(NOW)
    assert sorted(p.kind for p in first.found) == [
        "extract_held",
        "held_batch",
        "stale_export",
        "unknown_backlog",
    ]
    assert [to for to, _, _ in sent] == CONTACTS and first.recipients == 2
    subject, text = sent[0][1], sent[0][2]
    assert "4 problems" in subject
    assert "failed its expectations" in text and "12 sends" in text and "is held" in text
    assert "+1520" not in text and "@example.com" not in text  # the planted victims' contacts

    sent.clear()
    assert alert(NOW + dt.timedelta(minutes=5)).sent == [] and sent == []  # known, not yet due
    later = alert(NOW + dt.timedelta(hours=6, minutes=5))
    assert len(later.sent) == 4 and len(sent) == 2


def test_a_problem_that_is_gone_is_not_alerted_and_a_new_one_is(clean_db_url):
    _plant(clean_db_url)
    sent = []
    config = _config(unknown_backlog_alert=20)
    run = check_and_alert(
        clean_db_url, config, now=NOW, with_prefect=False, send_email=lambda *m: sent.append(m)
    )
    assert "unknown_backlog" not in {p.kind for p in run.found}  # 12 is under the threshold of 20


@pytest.mark.slow
def test_the_alert_goes_out_through_sendgrid(clean_db_url, monkeypatch):
    _plant(clean_db_url)
    with run_in_thread() as emulator:
        monkeypatch.setenv("SENDGRID_API_KEY", TEST_SENDGRID_API_KEY)
        monkeypatch.setenv("SENDGRID_API_HOST", emulator.base_url)
        run = check_and_alert(clean_db_url, _config(), now=NOW, with_prefect=False)
        messages = emulator.store.sendgrid_messages
    assert len(run.sent) == 4
    assert sorted(m.personalizations[0]["to"][0]["email"] for m in messages) == sorted(CONTACTS)
    assert all("need attention" in m.subject for m in messages)
    with psycopg.connect(clean_db_url) as conn:
        assert conn.execute("SELECT count(*), min(sent_count) FROM ops.alerts").fetchone() == (4, 1)


def test_an_unreachable_prefect_server_is_itself_a_problem(clean_db_url):
    from prefect.settings import PREFECT_API_URL, PREFECT_CLIENT_MAX_RETRIES, temporary_settings

    # Nothing listens on port 9.
    with temporary_settings(
        updates={PREFECT_API_URL: "http://127.0.0.1:9/api", PREFECT_CLIENT_MAX_RETRIES: 0}
    ):
        run = check_and_alert(clean_db_url, _config(), now=NOW, send_email=lambda *m: None)
    assert run.prefect_error is not None and "prefect" in {p.kind for p in run.found}
