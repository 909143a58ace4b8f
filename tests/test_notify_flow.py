"""The `notify` flow's one decision of its own: a batch that fails its expectations fails the run,
but only after transform and send have gone ahead without it."""

from __future__ import annotations

import psycopg
import pytest

from simulate.emulators.server import run_in_thread
from simulate.emulators.settings import TEST_ACCOUNT_SID, TEST_AUTH_TOKEN, TEST_SENDGRID_API_KEY
from tests.conftest import BUILT_AS_OF
from vnotify.paths import SAMPLE_CONFIG

pytestmark = pytest.mark.slow


def test_a_bad_batch_fails_the_run_after_everyone_else_was_notified(
    built, prefect_harness, tmp_path, monkeypatch
):
    from flows.extract import ExpectationsFailed
    from flows.notify import notify

    with psycopg.connect(built) as conn:
        report, people = conn.execute(
            "SELECT report_number, count(*) FROM staging.stg_rms__persons GROUP BY 1 ORDER BY 1 LIMIT 1"
        ).fetchone()
    drop = tmp_path / "incoming"
    drop.mkdir()
    # A new version of a report's people that the contract accepts and a suite rejects: consent
    # given decades in the future.
    (drop / "persons.csv").write_text(
        "report_number,person_seq,role,victim_type,first_name,last_name,age,contact_consent,consent_at\n"
        f"{report},1,victim,individual,Pat,Example,40,Y,2091-03-04T10:00:00\n"
    )
    config = tmp_path / "agency.yaml"
    config.write_text(
        SAMPLE_CONFIG.read_text()
        .replace('start: "08:00"', 'start: "00:00"')
        .replace('end: "20:00"', 'end: "24:00"')
        .replace("drop_folder: ../.vnotify/incoming", f"drop_folder: {drop}")
    )
    monkeypatch.setenv("VNOTIFY_CONFIG", str(config))
    with run_in_thread() as emulator:
        for name, value in {
            "TWILIO_ACCOUNT_SID": TEST_ACCOUNT_SID,
            "TWILIO_AUTH_TOKEN": TEST_AUTH_TOKEN,
            "SENDGRID_API_KEY": TEST_SENDGRID_API_KEY,
            "TWILIO_API_BASE_URL": emulator.base_url,
            "SENDGRID_API_HOST": emulator.base_url,
            "VNOTIFY_PUBLIC_BASE_URL": "http://127.0.0.1:9",
        }.items():
            monkeypatch.setenv(name, value)
        with pytest.raises(ExpectationsFailed):
            notify(as_of=BUILT_AS_OF)
        sent = len(emulator.store.twilio_messages) + len(emulator.store.sendgrid_messages)
    with psycopg.connect(built) as conn:
        states = dict(conn.execute("SELECT state, count(*) FROM ops.outbox GROUP BY state").fetchall())
        failed_batch = conn.execute(
            "SELECT count(*) FROM ops.ingest_batches WHERE expectations_passed = false"
        ).fetchone()[0]
        staged = conn.execute(
            """SELECT count(*), count(*) FILTER (WHERE last_name = 'Example')
               FROM staging.stg_rms__persons WHERE report_number = %s""",
            (report,),
        ).fetchone()
    assert sent >= 4 and states == {"sent": sent}
    # The transform that ran after the failed batch left its people out: the report keeps its own.
    assert failed_batch == 1 and staged == (people, 0)
