"""After the database is restored from a backup, nothing the backup shows as unsent is sent
blind: a text goes only if Twilio has sent that number nothing since the backup, e-mails wait
for a person, sends in flight are reconciled."""

from __future__ import annotations

import datetime as dt

import psycopg
import pytest
from sending import FAST, INSIDE_WINDOW, channels_for, outbox_rows, phone, queue
from typer.testing import CliRunner

from notifications.dispatcher import Dispatcher
from simulate.emulators.server import run_in_thread
from simulate.emulators.settings import TEST_ACCOUNT_SID, TEST_AUTH_TOKEN
from vnotify.cli import app
from vnotify.config import load_config


@pytest.mark.server
def test_after_a_restore_a_text_already_sent_since_the_backup_is_held(clean_db_url, monkeypatch):
    texts = queue(clean_db_url, 3, "sms")  # phones 0, 1, 2: waiting in the backup
    emails = queue(clean_db_url, 1, "email", start=10)
    with psycopg.connect(clean_db_url) as conn:  # one was mid-send when the backup was taken
        conn.execute(
            "UPDATE ops.outbox SET state = 'sending', lease_until = now() + interval '1 minute',"
            " claimed_by = 'w' WHERE outbox_id = %s",
            (texts[2],),
        )
    with run_in_thread() as emulator:
        backup_time = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)
        # Since the backup, before the crash, phone 0's text went out (its record is lost).
        channels_for(emulator.base_url).sms().send(phone(0), "Sonora Vista PD: report SV25-000000 ...")
        for name, value in {
            "DATABASE_URL": clean_db_url,
            "TWILIO_ACCOUNT_SID": TEST_ACCOUNT_SID,
            "TWILIO_AUTH_TOKEN": TEST_AUTH_TOKEN,
            "TWILIO_API_BASE_URL": emulator.base_url,
        }.items():
            monkeypatch.setenv(name, value)
        result = CliRunner().invoke(
            app, ["db", "after-restore", "--backup-time", backup_time.isoformat(), "--json"]
        )
        assert result.exit_code == 0, result.output
        assert '"held": 2' in result.output and '"to_reconcile": 1' in result.output
        states = {row["outbox_id"]: (row["state"], row["reason"]) for row in outbox_rows(clean_db_url)}
        assert states[texts[0]] == ("failed", "held_after_restore")
        assert states[emails[0]] == ("failed", "held_after_restore")
        assert states[texts[1]][0] == "pending" and states[texts[2]][0] == "unknown"

        Dispatcher(
            clean_db_url, load_config(), channels_for(emulator.base_url), FAST, clock=lambda: INSIDE_WINDOW
        ).run(drain=True, deadline_s=60)
        store = emulator.store
        # Phone 0 was not texted twice; phone 1 got its text; phone 2's was never sent, so once now.
        assert [store.count_twilio_to(phone(i)) for i in range(3)] == [1, 1, 1]
        assert len(store.sendgrid_messages) == 0
