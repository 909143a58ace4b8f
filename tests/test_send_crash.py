"""Crash test: send workers killed with SIGKILL at every dangerous point, over many runs.

Points: before the claim commits, after it, after the provider accepted, before the id is
recorded. Afterwards a healthy worker finishes the job. Zero duplicate provider messages, zero
lost notifications: every row ends `sent`, and the ones left `unknown` were reconciled.
"""

from __future__ import annotations

import random
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path

import psycopg
import pytest
from sending import INSIDE_WINDOW, channels_for, outbox_rows, queue
from test_dispatch import provider_copies

from notifications.dispatcher import Dispatcher, DispatchSettings
from simulate.emulators.server import run_in_thread
from simulate.emulators.settings import EmulatorSettings
from simulate.emulators.signing import test_public_key_b64
from vnotify.config import load_config
from web.app import WebSettings, create_app
from web.server import RunningServer

STEPS = ("before_claim_commit", "after_claim_commit", "after_provider_accept", "before_record")
WORKER = Path(__file__).parent / "crash_worker.py"


@pytest.mark.slow
def test_sigkill_at_any_point_never_duplicates_or_loses_a_message(clean_db_url):
    ids = queue(clean_db_url, 40, "sms") + queue(clean_db_url, 20, "email", start=100)
    rng = random.Random(2025)
    kills: Counter = Counter()
    web = create_app(WebSettings(database_url=clean_db_url, sendgrid_public_key=test_public_key_b64()))
    with RunningServer(web) as server:
        web_url = server.base_url
        emulator_settings = EmulatorSettings(
            latency_ms=3,
            status_callbacks=False,
            sendgrid_event_webhook_url=f"{web_url}/webhooks/sendgrid/events",
        )
        with run_in_thread(emulator_settings) as emulator:
            for _ in range(40):
                if all(kills[step] >= 3 for step in STEPS):
                    break
                step = min(STEPS, key=lambda name: kills[name])
                nth = rng.randint(1, 3)
                worker = subprocess.run(
                    [sys.executable, str(WORKER), clean_db_url, emulator.base_url, step, str(nth)],
                    capture_output=True,
                    text=True,
                    timeout=120,
                )
                if worker.returncode == -signal.SIGKILL:
                    kills[step] += 1
                else:
                    assert worker.returncode == 0, worker.stderr[-2000:]
            assert all(kills[step] >= 3 for step in STEPS), kills
            healthy = DispatchSettings(
                batch_size=10,
                lease_seconds=3,
                provider_timeout_seconds=1,
                reconcile_delay_seconds=0.1,
                sendgrid_event_grace_seconds=6,
                backoff_base_seconds=0.05,
            )
            summary = Dispatcher(
                clean_db_url,
                load_config(),
                channels_for(emulator.base_url, timeout=1),
                healthy,
                clock=lambda: INSIDE_WINDOW,
            ).run(drain=True, deadline_s=90)
            emulator.wait_idle()
            copies = provider_copies(clean_db_url, emulator.store)
    rows = outbox_rows(clean_db_url)
    assert Counter(row["state"] for row in rows) == {"sent": 60}, Counter(
        (r["state"], r["reason"]) for r in rows
    )
    assert copies == Counter(dict.fromkeys(ids, 1)), "a notification was sent twice or never"
    # Rows whose worker died mid-send came back through reconciliation: found at the provider
    # (killed after it accepted) or not (killed before the call), each settled once.
    with psycopg.connect(clean_db_url) as conn:
        settled = dict(
            conn.execute(
                "SELECT event, count(*) FROM ops.events WHERE source = 'dispatcher' GROUP BY event"
            ).fetchall()
        )
    assert settled.get("reconciled_found_sent", 0) >= kills["after_provider_accept"]
    assert settled.get("reconciled_not_sent", 0) > 0
    assert summary.claimed + sum(summary.reconciled.values()) > 0
