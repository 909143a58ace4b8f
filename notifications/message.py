"""What a message says, independent of how it is sent: the notification and its eight items.

The email templates and the victim message web page show the same items with the same labels
and values, so both build them here rather than each formatting dates and phones its own way.
"""

from __future__ import annotations

import csv
import datetime as dt
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import cache
from pathlib import Path
from typing import Any

from notifications import catalog
from vnotify.config import AgencyConfig

# Bidirectional overrides and isolates can make a name display as something else entirely.
_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
_JOINERS = frozenset("\u200c\u200d")
_WHITESPACE = re.compile(r"\s+")
_NANP = re.compile(r"^\+1([2-9]\d{2})([2-9]\d{2})(\d{4})$")


@dataclass(frozen=True, slots=True)
class Notification:
    """One row of `notifications_due` (an `initial` notice to a victim or a `reporting_party`
    notice) or of `status_updates_due` (a `status_update`): everything one message is built from.

    A status update also carries what changed: `change_type` (`case_status` or `detective`), the
    new `case_status`, the `assigned_detective` and the outbox `subject`.

    Contact details and names are left out of `repr`, so logging a notification by accident
    does not write a victim's name, email or phone (or a detective's name) to the logs.
    """

    victim_key: str
    report_number: str
    person_seq: int
    first_name: str | None = field(repr=False)
    language: str | None
    email: str | None = field(repr=False)
    phone_e164: str | None = field(repr=False)
    channels: tuple[str, ...]
    offense_code: str
    offense_name: str | None
    explanation: str | None
    next_steps: str | None
    officer_name: str | None
    reported_at: dt.datetime
    division_code: str
    substation_phone: str
    investigations_phone: str
    arm: str | None = None
    kind: str = "initial"
    # Status updates only: what changed (ops.outbox.subject), the case's status and detective
    # (a name: out of repr like the victim's).
    case_status: str | None = None
    assigned_detective: str | None = field(default=None, repr=False)
    change_type: str | None = None  # case_status | detective
    subject: str = ""

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> Notification:
        """Build from a database row mapping (e.g. SQLAlchemy `Row._mapping` or a dict)."""
        return cls(
            victim_key=str(row["victim_key"]),
            report_number=row["report_number"],
            person_seq=int(row["person_seq"]),
            first_name=row["first_name"],
            language=row["language"],
            email=row["email"],
            phone_e164=row["phone_e164"],
            channels=tuple(row["channels"] or ()),
            offense_code=row["offense_code"],
            offense_name=row["offense_name"],
            explanation=row.get("explanation"),
            next_steps=row.get("next_steps"),
            officer_name=row["officer_name"],
            reported_at=row["reported_at"],
            division_code=row["division_code"],
            substation_phone=row["substation_phone"],
            investigations_phone=row["investigations_phone"],
            arm=row.get("arm"),
            kind=row.get("kind") or "initial",
            case_status=row.get("case_status"),
            assigned_detective=row.get("assigned_detective"),
            change_type=row.get("change_type"),
            subject=row.get("subject") or "",
        )


def notification_from_outbox(columns: Mapping[str, Any]) -> Notification:
    """The message's content as queued in `ops.outbox`, from its columns (victim_key,
    report_number, kind, channel, address, language, payload and, when selected, subject).

    The dispatcher renders from this and the message page shows it, so both say the same thing.
    The payload is JSON, so the report time arrives as ISO text when read back.
    """
    payload = dict(columns["payload"] or {})
    if isinstance(payload.get("reported_at"), str):
        payload["reported_at"] = dt.datetime.fromisoformat(payload["reported_at"])
    channel = columns["channel"]
    return Notification.from_row(
        {
            **payload,
            "victim_key": columns["victim_key"],
            "report_number": columns["report_number"],
            "language": columns["language"],
            "kind": columns["kind"],
            "subject": columns.get("subject") or "",
            "email": columns["address"] if channel == "email" else None,
            "phone_e164": columns["address"] if channel == "sms" else None,
            "channels": [channel],
            "arm": "A",
        }
    )


SURVEY_KINDS = ("survey", "survey_reminder")
# The notices rendered from a Notification: the victim's first notice, the notice to a reporting
# party who is not a victim, and a case-status follow-up to a notified victim.
NOTICE_KINDS = ("initial", "reporting_party", "status_update")
# The case statuses a status update can announce (agency setting notices.status_update_statuses).
CASE_STATUSES = ("cleared_arrest", "cleared_exceptional", "suspended", "closed")


@dataclass(frozen=True, slots=True)
class SurveyMessage:
    """A survey invitation or its reminder: who it greets, in which language, for which arm.

    Group B (the holdout) never heard from us before the invitation, so the arm decides whether
    the invitation may mention the first notice. The name stays out of `repr` (see Notification).
    """

    kind: str
    arm: str
    first_name: str | None = field(repr=False)
    language: str | None
    division_code: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in SURVEY_KINDS:
            raise ValueError(f"not a survey message kind: {self.kind!r}")
        if self.arm not in ("A", "B"):
            raise ValueError(f"not an experiment arm: {self.arm!r}")


def survey_message_from_outbox(columns: Mapping[str, Any]) -> SurveyMessage:
    """The survey message as queued in `ops.outbox` (kind, language and the payload)."""
    payload = columns["payload"] or {}
    return SurveyMessage(
        kind=columns["kind"],
        arm=payload["arm"],
        first_name=payload.get("first_name"),
        language=columns["language"],
        division_code=payload.get("division_code"),
    )


OFFENSE_TEXTS_CSV = Path(__file__).resolve().parents[1] / "dbt" / "seeds" / "offense_explanations.csv"


@cache
def _offense_texts() -> dict[tuple[str, str], tuple[str, str, str]]:
    with OFFENSE_TEXTS_CSV.open(encoding="utf-8", newline="") as handle:
        return {
            (row["offense_code"], row["language"]): (
                row["offense_label"],
                row["explanation"],
                row["next_steps"],
            )
            for row in csv.DictReader(handle)
        }


def offense_texts(code: str | None, language: str) -> tuple[str, str, str] | None:
    """(label, explanation, next steps) of an offense in a language, from the dbt seed."""
    return _offense_texts().get((code or "", language.split("-")[0].lower()))


@dataclass(frozen=True, slots=True)
class MessageItem:
    """One labelled line of a message; `href` is a link target (a `tel:` URI for phones)."""

    key: str
    label: str
    value: str
    href: str | None = None


def message_language(requested: str | None, agency_languages: Sequence[str]) -> str:
    """The language to write in: the victim's when the agency offers it, else the agency default.

    Matches case-insensitively, then on the primary subtag either way, so a victim recorded as
    "es-MX" gets the agency's "es" messages (and "es" gets an agency's "es-MX").
    """
    default = agency_languages[0]
    if not requested or not requested.strip():
        return default
    wanted = requested.strip().replace("_", "-").lower()
    folded = {language.lower(): language for language in agency_languages}
    if wanted in folded:
        return folded[wanted]
    primary = wanted.split("-", 1)[0]
    if primary in folded:
        return folded[primary]
    for language in agency_languages:
        if language.split("-", 1)[0].lower() == primary:
            return language
    return default


def clean_text(value: str | None) -> str:
    """Text fit to show: control and bidi-override characters removed, whitespace collapsed.

    Stops a name from adding lines to a plain-text email or an SMS (a fake "call this number"
    paragraph) or reversing the text around it. Zero-width joiners stay: emoji and some scripts
    need them.
    """
    if not value:
        return ""
    if not value.isprintable() or not _BIDI_CONTROLS.isdisjoint(value):
        value = "".join(
            char
            for char in value
            if (char.isprintable() or char.isspace() or char in _JOINERS) and char not in _BIDI_CONTROLS
        )
    return _WHITESPACE.sub(" ", value).strip()


def display_phone(e164: str) -> str:
    """A phone number as people write it: "(520) 555-0101" in North America, else international."""
    match = _NANP.match(e164)
    if match:
        return f"({match[1]}) {match[2]}-{match[3]}"
    import phonenumbers  # only for numbers outside North America: slow to import

    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return e164
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


def display_datetime(moment: dt.datetime, zone: dt.tzinfo, language: str) -> str:
    """A moment in the agency's time zone, written the way the language writes dates.

    A naive time is taken as UTC (the warehouse stores timestamptz, which arrives aware).
    """
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    local = moment.astimezone(zone)
    code = catalog.catalog_language(language)
    return catalog.STRINGS[code]["value.datetime"].format(
        month=catalog.MONTHS[code][local.month - 1],
        day=local.day,
        year=local.year,
        hour12=local.hour % 12 or 12,
        hour24=local.hour,
        minute=f"{local.minute:02d}",
        ampm="AM" if local.hour < 12 else "PM",
    )


def status_change_text(notification: Notification, language: str) -> str:
    """What changed, in plain language, for a status update: the new case status explained, or
    the detective now assigned (by name when the report names one)."""
    strings = catalog.strings(language)
    if notification.change_type == "detective":
        detective = clean_text(notification.assigned_detective)
        if detective:
            return strings["status.change.detective"].format(detective=detective)
        return strings["status.change.detective_no_name"]
    return strings.get(f"status.change.{notification.case_status}") or strings["status.change.other"]


def case_status_label(case_status: str | None, language: str) -> str | None:
    """A case status's short label ("Cleared by arrest"), or None for one we have no words for."""
    return catalog.strings(language).get(f"status.label.{case_status}")


@dataclass(frozen=True, slots=True)
class MessageIntro:
    """What a notice says above its items: heading, paragraphs, and for a status update the
    sentence saying what changed (shown apart, so it stands out)."""

    heading: str
    paragraphs: tuple[str, ...]
    change: str | None = None


def message_intro(notification: Notification, language: str, agency: str) -> MessageIntro:
    """Heading and opening paragraphs of a notice, by kind; shared by the email and the page."""
    strings = catalog.strings(language)
    kind = notification.kind if notification.kind in NOTICE_KINDS else "initial"
    paragraphs = (strings[f"{kind}.intro"].format(agency=agency),)
    change = status_change_text(notification, language) if kind == "status_update" else None
    if kind == "status_update":
        paragraphs += (strings["status_update.call"],)
    return MessageIntro(strings[f"{kind}.heading"], paragraphs, change)


def _phone_item(key: str, label: str, e164: str) -> MessageItem:
    return MessageItem(key, label, display_phone(e164), f"tel:{e164}")


def message_items(notification: Notification, config: AgencyConfig, language: str) -> list[MessageItem]:
    """The items a message shows, in order, with localized labels and values.

    - `initial` (a victim's first notice): the eight items, report number to investigations phone.
    - `reporting_party`: only what a person who reported (and is not a victim) needs: report
      number, reporting officer, date and time, and whom to call. No offense, explanation or next
      steps, and nothing about any victim.
    - `status_update`: report number, type of crime, date and time, the case status now (and the
      assigned detective when the report names one), then whom to call, investigations first.
    """
    strings = catalog.strings(language)
    not_recorded = strings["value.not_recorded"]
    if message_language(notification.language, [language]) != language:
        # The victim switched language: the offense wording comes from the seed in that language.
        texts = offense_texts(notification.offense_code, language)
        if texts:
            notification = replace(
                notification, offense_name=texts[0], explanation=texts[1], next_steps=texts[2]
            )
    offense = clean_text(notification.offense_name) or not_recorded
    officer = clean_text(notification.officer_name) or not_recorded
    reported = display_datetime(notification.reported_at, config.agency.zone, language)
    report_number = MessageItem("report_number", strings["item.report_number"], notification.report_number)
    substation = _phone_item(
        "substation_phone", strings["item.substation_phone"], notification.substation_phone
    )
    investigations = _phone_item(
        "investigations_phone", strings["item.investigations_phone"], notification.investigations_phone
    )
    if notification.kind == "reporting_party":
        return [
            report_number,
            MessageItem("officer", strings["item.officer"], officer),
            MessageItem("reported_at", strings["item.reported_at"], reported),
            substation,
            investigations,
        ]
    if notification.kind == "status_update":
        items = [
            report_number,
            MessageItem("offense", strings["item.offense"], offense),
            MessageItem("reported_at", strings["item.reported_at"], reported),
        ]
        if status := case_status_label(notification.case_status, language):
            items.append(MessageItem("case_status", strings["item.case_status"], status))
        if detective := clean_text(notification.assigned_detective):
            items.append(MessageItem("detective", strings["item.detective"], detective))
        return [*items, investigations, substation]
    explanation = clean_text(notification.explanation) or strings["value.explanation_missing"]
    next_steps = clean_text(notification.next_steps) or strings["value.next_steps_missing"]
    return [
        report_number,
        MessageItem("offense", strings["item.offense"], offense),
        MessageItem("officer", strings["item.officer"], officer),
        MessageItem("reported_at", strings["item.reported_at"], reported),
        MessageItem("explanation", strings["item.explanation"], explanation),
        MessageItem("next_steps", strings["item.next_steps"], next_steps),
        substation,
        investigations,
    ]
