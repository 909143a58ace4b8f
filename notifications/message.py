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
    """One row of `notifications_due`: everything a message to one victim is built from.

    Contact details and the name are left out of `repr`, so logging a notification by accident
    does not write a victim's name, email or phone to the logs.
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
    # Status updates only: what changed (ops.outbox.subject), the case's status and detective.
    case_status: str | None = None
    assigned_detective: str | None = None
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


def message_items(notification: Notification, config: AgencyConfig, language: str) -> list[MessageItem]:
    """The eight items every message shows, in order, with localized labels and values."""
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
    explanation = clean_text(notification.explanation) or strings["value.explanation_missing"]
    next_steps = clean_text(notification.next_steps) or strings["value.next_steps_missing"]
    reported = display_datetime(notification.reported_at, config.agency.zone, language)
    substation = notification.substation_phone
    investigations = notification.investigations_phone
    return [
        MessageItem("report_number", strings["item.report_number"], notification.report_number),
        MessageItem("offense", strings["item.offense"], offense),
        MessageItem("officer", strings["item.officer"], officer),
        MessageItem("reported_at", strings["item.reported_at"], reported),
        MessageItem("explanation", strings["item.explanation"], explanation),
        MessageItem("next_steps", strings["item.next_steps"], next_steps),
        MessageItem(
            "substation_phone",
            strings["item.substation_phone"],
            display_phone(substation),
            f"tel:{substation}",
        ),
        MessageItem(
            "investigations_phone",
            strings["item.investigations_phone"],
            display_phone(investigations),
            f"tel:{investigations}",
        ),
    ]
