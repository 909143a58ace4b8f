"""The sender and the provider webhooks lock outbox rows in one order (by outbox_id), so they
never deadlock: the sender records a batch as sent while SendGrid is already reporting events on
the same rows, in whatever order its batch lists them (seen in `make test`: the demo's send
stage died with DeadlockDetected)."""

from __future__ import annotations

import datetime as dt
import threading
import time

import psycopg
import pytest
from sending import queue

from notifications.events import record_sendgrid_events
from notifications.outbox import mark_sent_many


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


def _wait_until_blocked(url: str, application: str | None = None) -> None:
    """Until the session named `application` (any session of the database, without a name)
    waits for a row lock (a bound, not a timing)."""
    with psycopg.connect(url, autocommit=True) as conn:
        for _ in range(600):
            if conn.execute(
                "SELECT 1 FROM pg_stat_activity WHERE datname = current_database()"
                " AND coalesce(application_name = %s, true) AND wait_event_type = 'Lock'",
                (application,),
            ).fetchone():
                return
            time.sleep(0.05)
    raise AssertionError(f"{application or 'no session'} never waited for a lock")


def _taken_while_waiting(url: str, held: int, work, probe: str, probed: int) -> bool:
    """Hold outbox row `held`, run `work` in a connection of its own until it waits for that
    row, then try `probe` (a FOR UPDATE NOWAIT of row `probed`): True when `work` had already
    taken what the probe asks for."""
    failures: list[BaseException] = []

    def run() -> None:
        try:
            with psycopg.connect(url, application_name="lock-order-under-test") as conn:
                work(conn)
        except BaseException as error:  # reported by the test, not lost in the thread
            failures.append(error)

    with psycopg.connect(url) as holder:
        holder.execute("SELECT 1 FROM ops.outbox WHERE outbox_id = %s FOR UPDATE", (held,))
        thread = threading.Thread(target=run)
        thread.start()
        try:
            _wait_until_blocked(url, "lock-order-under-test")
            with psycopg.connect(url) as prober:
                try:
                    prober.execute(probe, (probed,))
                    taken = False
                except psycopg.errors.LockNotAvailable:
                    taken = True
        finally:
            holder.rollback()
            thread.join(timeout=60)
    assert not failures, failures
    return taken


def _locks_out_of_order(url: str, lower: int, higher: int, work) -> bool:
    """Hold the lower row while `work` runs: True when it had taken the higher one first."""
    probe = "SELECT 1 FROM ops.outbox WHERE outbox_id = %s FOR UPDATE NOWAIT"
    return _taken_while_waiting(url, lower, work, probe, higher)


def _events(ids: list[int]) -> list[dict]:
    return [
        {"event": "delivered", "sg_event_id": f"d{outbox_id}", "sg_message_id": f"msg{outbox_id}.filter",
         "notification_id": str(outbox_id), "timestamp": 1_750_000_000, "email": f"v{outbox_id}@example.org"}
        for outbox_id in ids
    ]  # fmt: skip


def _in_one_transaction(conn: psycopg.Connection, events: list[dict]) -> None:
    with conn.transaction():  # as the webhook runs it (web.database.in_transaction)
        record_sendgrid_events(conn, events)


@pytest.mark.server
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


def test_expiring_leases_never_waits_for_a_row_someone_holds(clean_db_url):
    """A worker's expire_leases (every round, every worker) skips a row another transaction
    holds, and takes it next round."""
    from notifications.outbox import expire_leases

    free, held = queue(clean_db_url, 2, "sms")
    with psycopg.connect(clean_db_url) as conn:
        conn.execute(
            "UPDATE ops.outbox SET state = 'sending', claimed_by = 'w1', lease_until = now() - interval '1 minute'"
            " WHERE outbox_id = ANY(%s)",
            ([free, held],),
        )
    with psycopg.connect(clean_db_url) as holder:
        holder.execute("SELECT 1 FROM ops.outbox WHERE outbox_id = %s FOR UPDATE", (held,))
        with psycopg.connect(clean_db_url) as conn:
            conn.execute("SET lock_timeout = '5s'")  # the old statement waited for the holder
            assert expire_leases(conn) == 1
            conn.commit()
        holder.rollback()
    with psycopg.connect(clean_db_url) as conn:
        assert expire_leases(conn) == 1
        states = dict(conn.execute("SELECT outbox_id, state FROM ops.outbox").fetchall())
    assert states == {free: "unknown", held: "unknown"}


def test_the_early_event_sweep_locks_the_outbox_row_before_its_event(clean_db_url):
    """The sweep for Twilio callbacks that came before their message's id was recorded takes
    the outbox row first, then the event, as a sender recording the row does."""
    from notifications.events import adopt_early_events

    [outbox_id] = queue(clean_db_url, 1, "sms")
    with psycopg.connect(clean_db_url) as conn:
        conn.execute(
            "UPDATE ops.outbox SET state = 'sent', provider_id = 'SM-early' WHERE outbox_id = %s",
            (outbox_id,),
        )
        (event_id,) = conn.execute(
            "INSERT INTO ops.events (source, event, provider_id, dedupe_key, occurred_at, detail)"
            " VALUES ('twilio', 'delivered', 'SM-early', 'twilio:SM-early:delivered', now(), '{}')"
            " RETURNING event_id"
        ).fetchone()

    def sweep(conn: psycopg.Connection) -> None:
        with conn.transaction():
            assert adopt_early_events(conn) == 1

    # The row held as a sender recording it would; the sweep must not have taken the event yet.
    probe = "SELECT 1 FROM ops.events WHERE event_id = %s FOR UPDATE NOWAIT"
    assert not _taken_while_waiting(clean_db_url, outbox_id, sweep, probe, event_id)


def test_the_sender_keeps_its_rows_locked_until_their_early_events_are_adopted(clean_db_url):
    """The sender's recorder writes ids on an autocommit connection. Recording a batch is one
    transaction all the same: while it waits to adopt an early callback's event, its row stays
    locked and its id unseen, so a sweep on another worker cannot take the row and then the
    event in the other order (seen in `make test`: the demo died with DeadlockDetected while
    updating a tuple of ops.events)."""
    from notifications.dispatcher import SentRecorder
    from notifications.events import record_twilio_status

    [outbox_id] = queue(clean_db_url, 1, "sms")
    _sending(clean_db_url, [outbox_id], "w1")
    with psycopg.connect(clean_db_url) as conn:  # Twilio called back before the send call returned
        assert record_twilio_status(conn, "SM-early", "delivered", None, dt.datetime.now(dt.UTC))

    with psycopg.connect(clean_db_url) as holder:
        holder.execute("SELECT 1 FROM ops.events WHERE provider_id = 'SM-early' FOR UPDATE")
        recorder = SentRecorder(clean_db_url, "w1")
        try:
            recorder.add(outbox_id, "SM-early")
            _wait_until_blocked(clean_db_url)  # the recorder's connection has no name
            with psycopg.connect(clean_db_url) as prober:
                with pytest.raises(psycopg.errors.LockNotAvailable):
                    prober.execute(
                        "SELECT 1 FROM ops.outbox WHERE outbox_id = %s FOR UPDATE NOWAIT", (outbox_id,)
                    )
                prober.rollback()
                (provider_id,) = prober.execute(
                    "SELECT provider_id FROM ops.outbox WHERE outbox_id = %s", (outbox_id,)
                ).fetchone()
            assert provider_id is None  # nothing of the batch is committed while it waits
        finally:
            holder.rollback()
            recorder.close()
    with psycopg.connect(clean_db_url) as conn:
        row = conn.execute(
            "SELECT state, provider_id, delivery_status FROM ops.outbox WHERE outbox_id = %s", (outbox_id,)
        ).fetchone()
        (adopted,) = conn.execute(
            "SELECT outbox_id FROM ops.events WHERE provider_id = 'SM-early'"
        ).fetchone()
    assert row == ("sent", "SM-early", "delivered") and adopted == outbox_id


def _provider_id(url: str, outbox_id: int) -> str | None:
    with psycopg.connect(url) as conn:
        return conn.execute(
            "SELECT provider_id FROM ops.outbox WHERE outbox_id = %s", (outbox_id,)
        ).fetchone()[0]


def test_the_recorder_survives_a_lost_connection_and_records_the_batch_on_a_new_one(clean_db_url, caplog):
    """A server restart used to kill the recorder's thread silently: every later send of the run
    waited for its lease to end and a reconciliation. The batch is tried again on a new
    connection, and the recorder keeps recording after it."""
    from notifications.dispatcher import SentRecorder

    first, second = queue(clean_db_url, 2, "sms")
    _sending(clean_db_url, [first, second], "w1")
    recorder = SentRecorder(clean_db_url, "w1")
    try:
        with psycopg.connect(clean_db_url, autocommit=True) as admin:
            (ended,) = admin.execute(
                "SELECT pg_terminate_backend(%s)", (recorder._conn.info.backend_pid,)
            ).fetchone()
        assert ended
        recorder.add(first, "SM-first")
        deadline = time.monotonic() + 60
        while _provider_id(clean_db_url, first) is None and time.monotonic() < deadline:
            time.sleep(0.05)
        recorder.add(second, "SM-second")
    finally:
        recorder.close()
    assert (_provider_id(clean_db_url, first), _provider_id(clean_db_url, second)) == (
        "SM-first",
        "SM-second",
    )
    assert recorder.lost_batches == 0
    assert "recording 1 sent ids failed (AdminShutdown, attempt 1 of 2)" in caplog.text
    assert "SM-first" not in caplog.text
