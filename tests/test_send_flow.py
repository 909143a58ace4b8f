"""`vnotify send` and the `send` flow on a warehouse built from a generated agency: what dbt found
due goes out once per channel through the SDKs to the emulators, and only that."""

from __future__ import annotations

import json
from collections import Counter

import psycopg
import pytest
from typer.testing import CliRunner

from notifications.tokens import TOKEN_PATTERN, hash_token
from simulate.emulators.server import run_in_thread
from simulate.emulators.settings import TEST_ACCOUNT_SID, TEST_AUTH_TOKEN, TEST_SENDGRID_API_KEY
from vnotify.cli import app
from vnotify.paths import SAMPLE_CONFIG

runner = CliRunner()


@pytest.fixture
def all_day_config(tmp_path, monkeypatch):
    """The sample agency with a window open all day, so the test does not depend on the hour."""
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
def emulator(monkeypatch):
    with run_in_thread() as running:
        monkeypatch.setenv("TWILIO_ACCOUNT_SID", TEST_ACCOUNT_SID)
        monkeypatch.setenv("TWILIO_AUTH_TOKEN", TEST_AUTH_TOKEN)
        monkeypatch.setenv("SENDGRID_API_KEY", TEST_SENDGRID_API_KEY)
        monkeypatch.setenv("TWILIO_API_BASE_URL", running.base_url)
        monkeypatch.setenv("SENDGRID_API_HOST", running.base_url)
        monkeypatch.setenv("VNOTIFY_PUBLIC_BASE_URL", "http://127.0.0.1:9")  # callbacks go nowhere
        yield running


def _last_json(output: str) -> dict:
    return json.loads(output.strip().splitlines()[-1])


def _due(url: str) -> Counter:
    with psycopg.connect(url) as conn:
        return Counter(
            channel
            for (channel,) in conn.execute(
                "SELECT unnest(channels) FROM restricted.notifications_due"
            ).fetchall()
        )


def test_dry_run_renders_everything_due_and_changes_nothing(built, all_day_config):
    result = runner.invoke(app, ["send", "--dry-run", "--json"])
    assert result.exit_code == 0, result.output
    report = _last_json(result.output)
    assert report["dry_run"] is True
    assert report["would_send"] == dict(_due(built)) and sum(report["would_send"].values()) >= 5
    assert 1 <= report["max_sms_segments"] <= 2
    assert report["outbox"] == {}


def test_send_delivers_what_is_due_once_and_a_rerun_sends_nothing(built, all_day_config, emulator):
    due = _due(built)
    result = runner.invoke(app, ["send", "--workers", "2", "--json"])
    assert result.exit_code == 0, result.output
    report = _last_json(result.output)
    assert report["queued"] == {"initial": dict(due)}
    assert report["outbox"] == {"sent": sum(due.values())}
    store = emulator.store
    assert len(store.twilio_messages) == due["sms"] and len(store.sendgrid_messages) == due["email"]
    with psycopg.connect(built) as conn:
        phones = {
            p for (p,) in conn.execute("SELECT phone_e164 FROM restricted.notifications_due").fetchall()
        }
        holdout = {
            p
            for (p,) in conn.execute(
                """SELECT e.phone_e164 FROM intermediate.int_victims__eligibility_evaluated e
                   JOIN marts.fct_experiment_assignments a USING (victim_key) WHERE a.arm = 'B'"""
            ).fetchall()
        }
        issued = {h for (h,) in conn.execute("SELECT token_hash FROM ops.message_tokens").fetchall()}
    texted = Counter(message.to for message in store.twilio_messages)
    assert set(texted) <= phones and not set(texted) & (holdout - phones)
    assert all(
        hash_token(TOKEN_PATTERN.search(message.body).group("token")) in issued
        for message in store.twilio_messages
    )
    again = _last_json(runner.invoke(app, ["send", "--json"]).output)
    assert again["queued"] == {} and again["dispatch"]["claimed"] == 0
    assert len(store.twilio_messages) == due["sms"]


def test_send_without_credentials_says_which_is_missing(built, all_day_config, monkeypatch):
    for name in ("TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "SENDGRID_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    result = runner.invoke(app, ["send"])
    assert result.exit_code == 2
    assert "TWILIO_ACCOUNT_SID is not set" in result.output


def test_the_send_flow_runs_under_prefect(built, all_day_config, emulator, prefect_harness):
    from flows.send import send

    result = send(limit=4, workers=1)
    assert result["dispatch"]["claimed"] == 4
    assert result["dispatch"]["outcomes"] == {"accepted": 4}
    assert len(emulator.store.twilio_messages) + len(emulator.store.sendgrid_messages) == 4
