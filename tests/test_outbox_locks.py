"""The sender and the provider webhooks lock outbox rows in one order (by outbox_id), so they
never deadlock: the sender records a batch as sent while SendGrid is already reporting events on
the same rows, in whatever order its batch lists them (seen in `make test`: the demo's send
stage died with DeadlockDetected)."""

from __future__ import annotations

import threading
import time

import psycopg
import pytest
from sending import queue

from notifications.events import record_sendgrid_events
from notifications.outbox import mark_sent_many

# Run again against DATABASE_URL by `make test` (tests/sql_paths.py).
pytestmark = pytest.mark.server


def _sending(url: str, ids: list[int], worker: str) -> None:
    """The rows as a worker leaves them before the provider answers, written highest id first
    so they lie in the table in descending order and a scan meets the higher ids first."""
    with psycopg.connect(url) as conn:
        for outbox_id in sorted(ids, reverse=True):
            conn.execute(
                "UPDATE ops.outbox SET state = 'sending', claimed_by = %s,"
                " lease_until = now() + interval '1 hour' WHERE outbox_id = %s",
                (worker, outbox_id),
            )


def _wait_until_blocked(url: str, application: str) -> None:
    """Until the session named `application` waits for a row lock (a bound, not a timing)."""
    with psycopg.connect(url, autocommit=True) as conn:
        for _ in range(600):
            if conn.execute(
                "SELECT 1 FROM pg_stat_activity WHERE application_name = %s AND wait_event_type = 'Lock'",
                (application,),
            ).fetchone():
                return
            time.sleep(0.05)
    raise AssertionError(f"{application} never waited for a lock")


def _locks_out_of_order(url: str, lower: int, higher: int, work) -> bool:
    """Hold the lower row, run `work` in a transaction of its own until it waits for that row,
    then ask for the higher row: True when `work` had already taken it (out of order)."""
    failures: list[BaseException] = []

    def run() -> None:
        try:
            with psycopg.connect(url, application_name="lock-order-under-test") as conn:
                work(conn)
        except BaseException as error:  # reported by the test, not lost in the thread
            failures.append(error)

    with psycopg.connect(url) as holder:
        holder.execute("SELECT 1 FROM ops.outbox WHERE outbox_id = %s FOR UPDATE", (lower,))
        thread = threading.Thread(target=run)
        thread.start()
        try:
            _wait_until_blocked(url, "lock-order-under-test")
            with psycopg.connect(url) as probe:
                try:
                    probe.execute(
                        "SELECT 1 FROM ops.outbox WHERE outbox_id = %s FOR UPDATE NOWAIT", (higher,)
                    )
                    taken = False
                except psycopg.errors.LockNotAvailable:
                    taken = True
        finally:
            holder.rollback()
            thread.join(timeout=60)
    assert not failures, failures
    return taken


def _events(ids: list[int]) -> list[dict]:
    return [
        {"event": "delivered", "sg_event_id": f"d{outbox_id}", "sg_message_id": f"msg{outbox_id}.filter",
         "notification_id": str(outbox_id), "timestamp": 1_750_000_000, "email": f"v{outbox_id}@example.org"}
        for outbox_id in ids
    ]  # fmt: skip


def _in_one_transaction(conn: psycopg.Connection, events: list[dict]) -> None:
    with conn.transaction():  # as the webhook runs it (web.database.in_transaction)
        record_sendgrid_events(conn, events)


def test_a_sendgrid_batch_locks_its_rows_in_id_order(clean_db_url):
    lower, higher = queue(clean_db_url, 2, "email")
    _sending(clean_db_url, [lower, higher], "w1")
    # SendGrid lists the higher row first.
    assert not _locks_out_of_order(
        clean_db_url, lower, higher, lambda conn: _in_one_transaction(conn, _events([higher, lower]))
    )


def test_the_sender_records_a_batch_in_id_order(clean_db_url):
    lower, higher = queue(clean_db_url, 2, "email")
    _sending(clean_db_url, [lower, higher], "w1")
    sent = [(higher, "msg-higher"), (lower, "msg-lower")]
    assert not _locks_out_of_order(clean_db_url, lower, higher, lambda conn: mark_sent_many(conn, sent, "w1"))
