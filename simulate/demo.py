"""The demo: the sample agency, period by period, through every real stage.

For each two-week period: the RMS/CAD export of what changed (export) → `ingest` → Great
Expectations → `dbt build` as of the period's end (transform) → `send` to the provider emulators
→ victims acting on what they received through the real web app (opens, message pages, replies,
STOPs, survey answers with planted effects) and calling the department again about their report
(CAD follow-up calls, fewer when notified, in the next exports) → `surveys`. Then the evaluation
and its report. Two weeks because a first notice goes out only for reports under 14 days old, so
every report is decided inside the window. The simulated clock is the period's end at noon,
agency time, inside the send window.
"""

from __future__ import annotations

import csv
import datetime as dt
import os
import random
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import psycopg

from simulate.agency import add_months, generate_agency
from simulate.victim_behaviour import LINK, Received, Victims
from vnotify.config import AgencyConfig

PERIOD_DAYS = 14
EXPORT_FILES = ("incidents", "offenses", "persons", "cad_calls")
FOLLOWUP_CALL_BASE = 0.12  # victims who call again about their report, when not notified
FOLLOWUP_CALL_NOTIFIED = 1 - 0.43  # case study: notified victims 43% less likely to call


@dataclass(frozen=True)
class DemoPlan:
    months: int = 9
    scale: float = 1.0
    seed: int = 2025
    # The early division is live from the first month; the rest go live in month 7.
    start: dt.date = dt.date(2025, 4, 1)

    @property
    def end(self) -> dt.date:
        return add_months(self.start, self.months)

    def periods(self) -> list[tuple[dt.date, dt.date]]:
        out, first = [], self.start
        while first < self.end:
            last = min(first + dt.timedelta(days=PERIOD_DAYS), self.end)
            out.append((first, last))
            first = last
        return out


@dataclass
class DemoTally:
    periods: int = 0
    batches: Counter = field(default_factory=Counter)
    sent: Counter = field(default_factory=Counter)
    behaviour: Counter = field(default_factory=Counter)
    followup_calls: int = 0


def _rows(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        return list(reader.fieldnames or []), list(reader)


def _moment(value: str) -> dt.datetime:
    return dt.datetime.fromisoformat(value).replace(tzinfo=None)


class Exports:
    """The whole simulated history, handed out one period at a time as the RMS would export it:
    incident rows by `updated_at` (re-exports come later), a report's offenses and people with its
    first row, CAD calls by `received_at` (including follow-up calls added as victims make them)."""

    def __init__(self, folder: Path) -> None:
        self.header: dict[str, list[str]] = {}
        table: dict[str, list[dict[str, str]]] = {}
        for name in EXPORT_FILES:
            self.header[name], table[name] = _rows(folder / f"{name}.csv")
        self.incidents = sorted(table["incidents"], key=lambda row: row["updated_at"])
        self.children: dict[str, dict[str, list[dict[str, str]]]] = defaultdict(lambda: defaultdict(list))
        for name in ("offenses", "persons"):
            for row in table[name]:
                self.children[name][row["report_number"]].append(row)
        self.calls = table["cad_calls"]
        self.exported: set[str] = set()

    def add_calls(self, rows: list[dict[str, str]]) -> None:
        self.calls.extend(rows)

    def write_period(self, first: dt.date, last: dt.date, folder: Path) -> int:
        start, end = dt.datetime.combine(first, dt.time()), dt.datetime.combine(last, dt.time())
        incidents = [row for row in self.incidents if start <= _moment(row["updated_at"]) < end]
        new = [row["report_number"] for row in incidents if row["report_number"] not in self.exported]
        self.exported.update(new)
        rows = {
            "incidents": incidents,
            "offenses": [child for number in new for child in self.children["offenses"][number]],
            "persons": [child for number in new for child in self.children["persons"][number]],
            "cad_calls": [row for row in self.calls if start <= _moment(row["received_at"]) < end],
        }
        folder.mkdir(parents=True, exist_ok=True)
        for name, table in rows.items():
            if not table:
                continue  # an export with nothing in it is not written
            with (folder / f"{name}.csv").open("w", newline="", encoding="utf-8") as handle:
                writer = csv.DictWriter(handle, fieldnames=self.header[name])
                writer.writeheader()
                writer.writerows(table)
        return len(incidents)


def noon(day: dt.date, config: AgencyConfig) -> dt.datetime:
    """Noon, agency time, on `day` (inside any sensible send window)."""
    return dt.datetime.combine(day, dt.time(12, 0), tzinfo=config.agency.zone).astimezone(dt.UTC)


def midnight(day: dt.date, config: AgencyConfig) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(0, 0), tzinfo=config.agency.zone).astimezone(dt.UTC)


def delivered_since(store, seen: dict[str, int]) -> list[Received]:
    """Messages the emulator accepted since the last call (the victims' phones and inboxes)."""
    messages: list[Received] = []
    twilio = store.twilio_messages
    for message in twilio[seen.get("sms", 0) :]:
        messages.append(Received("sms", message.to, message.body, message.sid))
    seen["sms"] = len(twilio)
    sendgrid = store.sendgrid_messages
    for message in sendgrid[seen.get("email", 0) :]:
        body = " ".join(str(part.get("value", "")) for part in message.content)
        for index, personalization in enumerate(message.personalizations):
            args = message.custom_args_for(index)
            for recipient in personalization.get("to", []):
                messages.append(
                    Received(
                        "email",
                        recipient["email"],
                        body,
                        message.message_id,
                        str(args["notification_id"]) if "notification_id" in args else None,
                    )
                )
    seen["email"] = len(sendgrid)
    # Workers send in parallel, so arrival order varies; victims act in a fixed order (same seed,
    # same answers from the same victims).
    return sorted(
        messages, key=lambda message: (message.channel, message.address, LINK.sub("", message.body))
    )


def invitation_arms(url: str) -> dict[str, str]:
    """Token hash → arm of every survey invitation (the simulation's ground truth)."""
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT token_hash, arm FROM ops.survey_invitations "
            "UNION ALL SELECT reminder_token_hash, arm FROM ops.survey_invitations WHERE reminder_token_hash IS NOT NULL"
        ).fetchall()
    return dict(rows)


def followup_calls(
    url: str, first: dt.date, last: dt.date, rng: random.Random, numbering: Iterator[int]
) -> list[dict]:
    """CAD calls from victims (of reports made in the period) asking about their report: fewer
    from those who were notified. Contact details are left out; the call is what counts."""
    with psycopg.connect(url) as conn:
        victims = conn.execute(
            """
            SELECT d.report_number, d.division_code, r.reported_at,
                   EXISTS (SELECT 1 FROM ops.outbox o
                           WHERE o.victim_key = d.victim_key AND o.kind = 'initial' AND o.state = 'sent') AS notified
            FROM intermediate.int_victims__eligibility_evaluated AS d
            JOIN staging.stg_rms__incidents AS r USING (report_number)
            WHERE d.notice_kind = 'initial' AND d.reported_date >= %s AND d.reported_date < %s
              AND NOT d.reason_not_individual
            ORDER BY d.victim_key
            """,
            (first, last),
        ).fetchall()
    calls = []
    for report_number, division, reported_at, notified in victims:
        chance = FOLLOWUP_CALL_BASE * (FOLLOWUP_CALL_NOTIFIED if notified else 1.0)
        if rng.random() >= chance:
            continue
        when = reported_at.astimezone(None).replace(tzinfo=None) + dt.timedelta(days=rng.uniform(2, 20))
        calls.append(
            {
                "call_number": f"F{next(numbering):08d}",
                "report_number": report_number,
                "received_at": when.replace(microsecond=0).isoformat(),
                "call_type": "FOLLOW UP INFO",
                "priority": "4",
                "division": division or "",
                "caller_name": "",
                "caller_phone": "",
                "disposition": "INFO GIVEN",
            }
        )
    return calls


@dataclass
class Stages:
    """The real stages the demo runs each period; each is the production function."""

    url: str
    config: AgencyConfig
    exports_dir: Path
    on_step: Callable[[str], None] = lambda step: None

    def ingest(self, folder: Path) -> Counter:
        from ingest.run import ingest_path

        counts: Counter = Counter()
        if not any(folder.glob("*.csv")):
            return counts
        for batch in ingest_path(folder, "contract-csv", url=self.url, config=self.config):
            counts[batch.status] += 1
            if batch.status == "loaded":
                counts["expectations_passed"] += bool(batch.expectations_passed)
        return counts

    def transform(self, as_of: dt.datetime) -> None:
        from warehouse.transform import transform

        result = transform(url=self.url, config=self.config, as_of=as_of.isoformat(), quiet=True)
        if not result.success:
            raise RuntimeError(f"dbt build failed as of {as_of:%Y-%m-%d}: {', '.join(result.failures)}")

    def send(self, clock: dt.datetime) -> Counter:
        from notifications.service import send, send_surveys

        outcomes: Counter = Counter()
        report = send(self.url, self.config, workers=4, drain=True, clock=lambda: clock)
        for kind, counts in report.dispatch.get("outcomes_by_kind", {}).items():
            outcomes.update({f"{kind} {k}": v for k, v in counts.items()})
        surveys = send_surveys(self.url, self.config, workers=4, drain=True, clock=lambda: clock)
        outcomes.update({f"survey {k}": v for k, v in surveys.dispatch.get("outcomes", {}).items()})
        return outcomes


def run(
    plan: DemoPlan,
    url: str,
    config: AgencyConfig,
    out: Path,
    store,
    victims: Victims,
    sender: str,
    wait_for_webhooks: Callable[[], None],
    progress: Callable[[int, int, str], None] = lambda done, total, what: None,
) -> DemoTally:
    """Every period through every stage; returns what happened."""
    history = out / "history"
    generate_agency(
        config, months=plan.months, scale=plan.scale, seed=plan.seed, start=plan.start, out_dir=history
    )
    exports = Exports(history)
    stages = Stages(url, config, out)
    rng = random.Random(plan.seed)
    numbering = iter(range(1, 10**8))
    seen: dict[str, int] = {}
    tally = DemoTally()
    periods = plan.periods()
    for index, (first, last) in enumerate(periods):
        progress(index, len(periods), f"{first:%b %d} – {last:%b %d}: export, ingest")
        folder = out / "exports" / f"{first:%Y-%m-%d}"
        exports.write_period(first, last, folder)
        tally.batches.update(stages.ingest(folder))
        progress(index, len(periods), f"{first:%b %d} – {last:%b %d}: transform (dbt)")
        stages.transform(midnight(last, config))
        progress(index, len(periods), f"{first:%b %d} – {last:%b %d}: send")
        tally.sent.update(stages.send(noon(last, config)))
        wait_for_webhooks()
        progress(index, len(periods), f"{first:%b %d} – {last:%b %d}: victims")
        arms = invitation_arms(url)
        for message in delivered_since(store, seen):
            victims.act_on(message, arms, sender)
        calls = followup_calls(url, first, last, rng, numbering)
        exports.add_calls(calls)
        tally.followup_calls += len(calls)
        tally.periods += 1
    progress(len(periods), len(periods), "final transform")
    stages.transform(midnight(plan.end, config))
    tally.behaviour = victims.tally
    return tally


def demo_environment(emulator_url: str, web_url: str, settings) -> dict[str, str]:
    """The environment the production code reads, pointed at the emulators and the local web app."""
    from simulate.emulators.signing import test_public_key_b64

    return {
        "TWILIO_ACCOUNT_SID": settings.account_sid,
        "TWILIO_AUTH_TOKEN": settings.auth_token,
        "TWILIO_API_BASE_URL": emulator_url,
        "SENDGRID_API_KEY": settings.sendgrid_api_key,
        "SENDGRID_API_HOST": emulator_url,
        "SENDGRID_WEBHOOK_PUBLIC_KEY": test_public_key_b64(),
        "VNOTIFY_PUBLIC_BASE_URL": web_url,
    }


def apply_environment(values: dict[str, str]) -> dict[str, str | None]:
    previous = {key: os.environ.get(key) for key in values}
    os.environ.update(values)
    return previous


def restore_environment(previous: dict[str, str | None]) -> None:
    for key, value in previous.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value
