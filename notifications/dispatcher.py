"""The send loop: claim outbox rows, re-check the rules, render, call the provider, record.

Per row, in this order: the claim (state `sending`, a lease, the hash of a fresh message token)
commits before any provider call; right before the call the send window, the lease and the
opt-out list are checked again; right after it the provider's id (or the classified error) is
recorded. Workers are threads here and may also run in other processes or on other machines:
`FOR UPDATE SKIP LOCKED` keeps them off each other's rows.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import queue
import random
import socket
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

import psycopg

from monitoring.metrics import SENDS
from notifications import opt_outs, outbox, surveys
from notifications.events import adopt_early_events, insert_event
from notifications.message import (
    SURVEY_KINDS,
    Notification,
    SurveyMessage,
    notification_from_outbox,
    survey_message_from_outbox,
)
from notifications.providers import Email, SendGridEmail, SendResult, TwilioSms
from notifications.render import (
    RenderedEmail,
    render_email,
    render_sms,
    render_survey_email,
    render_survey_sms,
    unsubscribe_url,
)
from notifications.tokens import hash_token, new_token
from notifications.window import closes_at, is_open, next_opening
from vnotify.config import AgencyConfig

_log = logging.getLogger(__name__)
UTC = dt.UTC
StepHook = Callable[[str, int], None]


@dataclass(frozen=True)
class DispatchSettings:
    batch_size: int = 20
    lease_seconds: float = 120.0
    # A provider call must be able to finish inside the lease: rows with less left are released.
    provider_timeout_seconds: float = 10.0
    reconcile_delay_seconds: float = 5.0
    sendgrid_event_grace_seconds: float = 600.0
    backoff_base_seconds: float = outbox.BACKOFF_BASE_S
    max_attempts: int = outbox.MAX_ATTEMPTS


@dataclass
class DispatchSummary:
    outcomes: Counter = field(default_factory=Counter)
    # The same outcomes per kind of message (initial, reporting_party, status_update, survey...).
    outcomes_by_kind: dict[str, Counter] = field(default_factory=dict)
    claimed: int = 0
    reconciled: Counter = field(default_factory=Counter)
    window_open: bool = True
    next_opening: str | None = None
    seconds: float = 0.0

    def count(self, kind: str, outcome: str, n: int = 1) -> None:
        """One outcome (or `n`) of a row of `kind`, in the totals and in that kind's counts."""
        self.outcomes[outcome] += n
        self.outcomes_by_kind.setdefault(kind, Counter())[outcome] += n
        SENDS.labels(kind, outcome).inc(n)

    def merge(self, other: DispatchSummary) -> None:
        self.outcomes.update(other.outcomes)
        for kind, counts in other.outcomes_by_kind.items():
            self.outcomes_by_kind.setdefault(kind, Counter()).update(counts)
        self.reconciled.update(other.reconciled)
        self.claimed += other.claimed

    def as_dict(self) -> dict:
        return {
            "claimed": self.claimed,
            "outcomes": dict(self.outcomes),
            "outcomes_by_kind": {
                kind: dict(counts) for kind, counts in sorted(self.outcomes_by_kind.items())
            },
            "reconciled": dict(self.reconciled),
            "window_open": self.window_open,
            "next_opening": self.next_opening,
            "seconds": round(self.seconds, 3),
        }


class RateLimiter:
    """A token bucket shared by the worker threads of one process."""

    def __init__(self, per_second: float) -> None:
        self.interval = 1.0 / per_second
        self._next = time.monotonic()
        self._lock = threading.Lock()

    def wait(self) -> None:
        with self._lock:
            now = time.monotonic()
            slot = max(self._next, now)
            self._next = slot + self.interval
        if slot > now:
            time.sleep(slot - now)


class SentRecorder:
    """Writes accepted sends' provider ids from a thread of its own, a few milliseconds after the
    provider answered, so the next send does not wait on the database. Safe to lose: a row whose
    id never got written comes back `unknown` when its lease ends and is reconciled as sent. A
    batch that fails (the server restarted) is tried once more on a new connection; the thread
    never dies of it, so the rest of the run is still recorded at once."""

    APPLICATION_NAME = "vnotify-sent-recorder"

    def __init__(self, url: str, worker: str) -> None:
        self.worker = worker
        self._url = url
        self._conn = self._connect()
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self.lost_batches = 0
        self._thread = threading.Thread(target=self._run, name=f"record-{worker}", daemon=True)
        self._thread.start()

    def _connect(self) -> psycopg.Connection:
        conn = psycopg.connect(self._url, autocommit=True, application_name=self.APPLICATION_NAME)
        conn.execute("SET synchronous_commit = off")
        return conn

    def _record(self, batch: list[tuple[int, str]]) -> None:
        for attempt in (1, 2):
            try:
                if self._conn.closed:
                    self._conn = self._connect()
                outbox.mark_sent_many(self._conn, batch, self.worker)
                return
            except psycopg.Error as error:
                # Counts and the error's class only: the batch holds provider ids, never PII, but
                # a server message may quote a row.
                _log.warning(
                    "recording %d sent ids failed (%s, attempt %d of 2)",
                    len(batch),
                    type(error).__name__,
                    attempt,
                )
                self._conn.close()
        self.lost_batches += 1

    def add(self, outbox_id: int, provider_id: str) -> None:
        self._queue.put((outbox_id, provider_id))

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            batch = [first]
            while True:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    self._record(batch)
                    return
                batch.append(item)
            self._record(batch)

    def close(self) -> None:
        self._queue.put(None)
        self._thread.join()
        self._conn.close()


@dataclass
class Channels:
    """Factories for per-thread provider clients (the SDK clients keep per-request state)."""

    sms: Callable[[], TwilioSms] | None = None
    email: Callable[[], SendGridEmail] | None = None

    def enabled(self) -> tuple[str, ...]:
        return tuple(name for name in ("sms", "email") if getattr(self, name) is not None)


def notification_for(row: outbox.ClaimedRow) -> Notification:
    """The message's content as queued (the payload is JSON, so the report time is text)."""
    return notification_from_outbox(vars(row))


def survey_message_for(row: outbox.ClaimedRow) -> SurveyMessage:
    return survey_message_from_outbox(vars(row))


def _worker_name(index: int) -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{index}:{uuid.uuid4().hex[:6]}"


class Dispatcher:
    def __init__(
        self,
        url: str,
        config: AgencyConfig,
        channels: Channels,
        settings: DispatchSettings | None = None,
        rate_limits: dict[str, float] | None = None,
        clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(UTC),
        on_step: StepHook | None = None,
        seed: int | None = None,
        kinds: tuple[str, ...] | None = None,
    ) -> None:
        self.url = url
        self.config = config
        self.channels = channels
        # Only these kinds are claimed (None: every kind in the outbox).
        self.kinds = kinds
        self.settings = settings or DispatchSettings()
        self.clock = clock
        self.on_step = on_step or (lambda step, outbox_id: None)
        self.limiters = {name: RateLimiter(rate) for name, rate in (rate_limits or {}).items() if rate}
        self._rng = random.Random(seed)
        self._budget_lock = threading.Lock()
        self._budget: int | None = None

    # -- the window ---------------------------------------------------------------------------
    def _window(self, now: dt.datetime) -> tuple[bool, dt.datetime]:
        window = self.config.send_window
        zone = self.config.agency.zone
        return is_open(now, window.start, window.end, zone), next_opening(now, window.start, window.end, zone)

    # -- the run ------------------------------------------------------------------------------
    def run(
        self, limit: int | None = None, workers: int = 1, drain: bool = False, deadline_s: float = 600
    ) -> DispatchSummary:
        """Send what is due. `drain` keeps going until no row waits on a retry or a reconciliation
        (tests, demos, benchmarks); otherwise rows backing off are left for the next run."""
        started = time.monotonic()
        summary = DispatchSummary()
        is_open_now, opening = self._window(self.clock())
        summary.window_open = is_open_now
        summary.next_opening = opening.isoformat()
        self._budget = limit
        lock = threading.Lock()

        errors: list[BaseException] = []

        def work(index: int) -> None:
            local = DispatchSummary()
            try:
                self._work(_worker_name(index), local, drain, started + deadline_s)
            except BaseException as error:  # surfaced by run() once every thread has stopped
                errors.append(error)
            with lock:
                summary.merge(local)

        threads = [threading.Thread(target=work, args=(i,), name=f"send-{i}") for i in range(max(1, workers))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        if errors:
            raise errors[0]
        summary.seconds = time.monotonic() - started
        return summary

    def _take_budget(self, wanted: int) -> int:
        with self._budget_lock:
            if self._budget is None:
                return wanted
            granted = min(wanted, self._budget)
            self._budget -= granted
            return granted

    def _work(self, worker: str, summary: DispatchSummary, drain: bool, deadline: float) -> None:
        sms = self.channels.sms() if self.channels.sms else None
        email = self.channels.email() if self.channels.email else None
        # Autocommit: each bookkeeping statement is its own transaction, one round trip. Results
        # are recorded without waiting for the disk (a lost one comes back `unknown` and is
        # reconciled); claims switch durability back on, since they must never be lost.
        recorder = SentRecorder(self.url, worker)
        try:
            with psycopg.connect(self.url, autocommit=True) as conn:
                conn.execute("SET synchronous_commit = off")
                self._loop(conn, worker, sms, email, recorder, summary, drain, deadline)
        finally:
            recorder.close()

    def _loop(self, conn, worker, sms, email, recorder, summary, drain: bool, deadline: float) -> None:
        idle_rounds = 0
        while time.monotonic() < deadline:
            with conn.transaction():
                outbox.expire_leases(conn)
            reconciled = self._reconcile(conn, sms, email, summary)
            is_open_now, _ = self._window(self.clock())
            rows: list[tuple[outbox.ClaimedRow, str]] = []
            if is_open_now:
                wanted = self._take_budget(self.settings.batch_size)
                if wanted:
                    rows = self._claim(conn, worker, wanted, summary)
            if rows:
                idle_rounds = 0
                summary.claimed += len(rows)
                self._send_batch(conn, worker, rows, sms, email, recorder, summary)
                continue
            if reconciled:
                continue
            if not drain or not is_open_now or not self._has_waiting(conn):
                return
            idle_rounds += 1
            time.sleep(min(0.05 * idle_rounds, 0.5))

    def _has_waiting(self, conn: psycopg.Connection) -> bool:
        if self._budget is not None and self._budget <= 0:
            return False
        row = conn.execute(
            """
            SELECT count(*) FROM ops.outbox
            WHERE state IN ('pending', 'retry', 'sending', 'unknown')
              AND (%(kinds)s::text[] IS NULL OR kind = ANY(%(kinds)s::text[]))
            """,
            {"kinds": list(self.kinds) if self.kinds is not None else None},
        ).fetchone()
        return bool(row and row[0])

    def _claim(
        self, conn: psycopg.Connection, worker: str, wanted: int, summary: DispatchSummary
    ) -> list[tuple[outbox.ClaimedRow, str]]:
        """Claim rows and store the hashes of the tokens their messages will carry, in one commit.

        A survey message's token goes on its invitation (surveys.issue_links); one whose
        invitation was opened or completed meanwhile is not sent (`survey_already_opened`)."""
        link_days = self.config.agency.message_link_days
        with conn.transaction():
            conn.execute("SET LOCAL synchronous_commit = on")
            rows = outbox.claim(
                conn, worker, wanted, self.settings.lease_seconds, self.channels.enabled(), self.kinds
            )
            tokens = [(row, new_token()) for row in rows]
            outbox.record_tokens(
                conn,
                [
                    (hash_token(token), row.outbox_id, row.attempts)
                    for row, token in tokens
                    if row.kind not in SURVEY_KINDS
                ],
                link_days,
            )
            survey_rows = [
                (row.outbox_id, row.invitation_id, row.kind, row.attempts, token)
                for row, token in tokens
                if row.kind in SURVEY_KINDS
            ]
            linked = surveys.issue_links(conn, survey_rows, link_days)
            for outbox_id, _, kind, *_ in survey_rows:
                if outbox_id not in linked:
                    outbox.mark_failed(conn, outbox_id, "survey_already_opened")
                    summary.count(kind, "survey_already_opened")
            self.on_step("before_claim_commit", rows[0].outbox_id if rows else 0)
        tokens = [
            (row, token) for row, token in tokens if row.kind not in SURVEY_KINDS or row.outbox_id in linked
        ]
        for row, _ in tokens:
            self.on_step("after_claim_commit", row.outbox_id)
        if len(rows) < wanted:
            self._return_budget(wanted - len(rows))
        return tokens

    def _return_budget(self, unused: int) -> None:
        with self._budget_lock:
            if self._budget is not None:
                self._budget += unused

    def _send_batch(self, conn, worker, rows, sms, email, recorder: SentRecorder, summary) -> None:
        # The lease is measured on this machine's monotonic clock from just after the claim; the
        # provider call must be able to finish (or time out) before the lease can run out.
        send_by = time.monotonic() + self.settings.lease_seconds - self.settings.provider_timeout_seconds - 1
        window = self.config.send_window
        closes = closes_at(self.clock(), window.start, window.end, self.config.agency.zone)
        for index, (row, token) in enumerate(rows):
            now = self.clock()
            if now >= closes:
                is_open_now, opening = self._window(now)
            else:
                is_open_now, opening = True, now
            if not is_open_now:
                # The window closed mid-batch: everything not yet tried waits for the next opening.
                with conn.transaction():
                    for later, _ in rows[index:]:
                        outbox.release(conn, later.outbox_id, opening, "outside_send_window")
                for later, _ in rows[index:]:
                    summary.count(later.kind, "deferred_window")
                return
            if time.monotonic() >= send_by:
                outbox.release(conn, row.outbox_id, dt.datetime.now(UTC), "lease_too_short")
                summary.count(row.kind, "released")
                continue
            if outbox.is_opted_out(conn, row.channel, row.address):
                outbox.mark_failed(conn, row.outbox_id, "opted_out")
                summary.count(row.kind, "opted_out")
                continue
            result = self._call_provider(row, token, sms, email)
            if result.outcome == "accepted":
                self.on_step("after_provider_accept", row.outbox_id)
            self._record(conn, recorder, row, result)
            summary.count(row.kind, result.outcome)
            self.on_step("recorded", row.outbox_id)

    def _sms_body(self, row: outbox.ClaimedRow, token: str) -> str:
        if row.kind in SURVEY_KINDS:
            return render_survey_sms(survey_message_for(row), self.config, token).body
        return render_sms(notification_for(row), self.config, token).body

    def _email(self, row: outbox.ClaimedRow, token: str) -> RenderedEmail:
        if row.kind in SURVEY_KINDS:
            return render_survey_email(survey_message_for(row), self.config, token)
        return render_email(notification_for(row), self.config, token)

    def _call_provider(
        self, row, token: str, sms: TwilioSms | None, email: SendGridEmail | None
    ) -> SendResult:
        if limiter := self.limiters.get(row.channel):
            limiter.wait()
        if row.channel == "sms":
            assert sms is not None
            return sms.send(row.address, self._sms_body(row, token))
        assert email is not None
        rendered = self._email(row, token)
        return email.send(
            Email(
                to=row.address,
                subject=rendered.subject,
                html=rendered.html,
                text=rendered.text,
                custom_args={"notification_id": str(row.outbox_id), "attempt": str(row.attempts)},
                unsubscribe_url=unsubscribe_url(self.config, token),
            )
        )

    def _record(self, conn: psycopg.Connection, recorder: SentRecorder, row, result: SendResult) -> None:
        self.on_step("before_record", row.outbox_id)
        if result.outcome == "accepted":  # the hot path, off the sending thread
            recorder.add(row.outbox_id, result.provider_id)
            return
        with conn.transaction():
            if result.outcome == "permanent":
                outbox.mark_failed(conn, row.outbox_id, result.reason or "rejected", result.code)
                if result.reason == "unsubscribed":
                    opt_outs.opt_out_everywhere(conn, row.channel, row.address, f"provider_{result.code}")
            elif result.outcome == "retry":
                self._retry_or_give_up(conn, row.outbox_id, row.attempts, result)
            else:
                outbox.mark_unknown(
                    conn,
                    row.outbox_id,
                    result.reason or "ambiguous",
                    result.code,
                    self.settings.reconcile_delay_seconds,
                )

    def _retry_or_give_up(self, conn, outbox_id: int, attempts: int, result: SendResult) -> None:
        if attempts >= self.settings.max_attempts:
            outbox.mark_failed(
                conn, outbox_id, f"gave_up_after_{attempts}_attempts:{result.reason}", result.code
            )
            return
        ceiling = min(outbox.BACKOFF_CAP_S, self.settings.backoff_base_seconds * 2 ** max(0, attempts - 1))
        delay = max(self._rng.uniform(ceiling / 2, ceiling), result.retry_after or 0.0)
        outbox.mark_retry(conn, outbox_id, result.reason or "retry", result.code, delay)

    # -- reconciliation -----------------------------------------------------------------------
    def _reconcile(self, conn, sms: TwilioSms | None, email: SendGridEmail | None, summary) -> int:
        """Settle `unknown` rows by looking at what the provider has, never by resending blindly."""
        settled = 0
        with conn.transaction():
            adopt_early_events(conn)
            rows = outbox.due_unknown(conn, self.settings.batch_size)
            for row in rows:
                verdict = self._reconcile_row(conn, row, sms)
                summary.reconciled[verdict] += 1
                if verdict != "waiting":
                    settled += 1
                    # An audit trail of every ambiguous send and how it was settled.
                    insert_event(
                        conn,
                        "dispatcher",
                        f"reconciled_{verdict}",
                        row["outbox_id"],
                        None,
                        f"dispatcher:{row['outbox_id']}:{row['attempts']}:reconciled",
                        self.clock(),
                        {"attempt": row["attempts"], "channel": row["channel"]},
                    )
        return settled

    def _reconcile_row(self, conn, row: dict, sms: TwilioSms | None) -> str:
        outbox_id = row["outbox_id"]
        if row["channel"] == "sms":
            if sms is None:
                return "waiting"
            try:
                sid = sms.find_sent(row["address"], outbox.token_hashes(conn, outbox_id))
            except Exception:  # the provider could not tell us: look again later
                conn.execute(
                    "UPDATE ops.outbox SET next_attempt_at = now() + interval '30 seconds' WHERE outbox_id = %s",
                    (outbox_id,),
                )
                return "waiting"
            if sid:
                outbox.mark_sent(conn, outbox_id, sid)
                return "found_sent"
            self._not_sent(conn, row, "reconciled_not_sent")
            return "not_sent"
        provider_id = outbox.provider_event_for(conn, outbox_id)
        if provider_id:
            outbox.mark_sent(conn, outbox_id, provider_id)
            return "found_sent"
        if (row["waited_seconds"] or 0) < self.settings.sendgrid_event_grace_seconds:
            conn.execute(
                "UPDATE ops.outbox SET next_attempt_at = now() + interval '5 seconds' WHERE outbox_id = %s",
                (outbox_id,),
            )
            return "waiting"
        self._not_sent(conn, row, "reconciled_no_event")
        return "not_sent"

    def _not_sent(self, conn, row: dict, reason: str) -> None:
        """The provider has no trace of the message: it is safe to send it again."""
        self._retry_or_give_up(conn, row["outbox_id"], row["attempts"], SendResult("retry", reason=reason))
