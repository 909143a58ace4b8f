"""Turn a notification into an email (HTML and text parts) or an SMS body.

Templates are named `{kind}.{channel}.{format}.j2`: `initial` (a victim's first notice),
`reporting_party` (to a reporting party who is not a victim), `status_update` (a case-status
follow-up), and `survey` and `survey_reminder`. HTML templates are autoescaped, text templates are
not, and an undefined variable is an error rather than an empty string.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Literal

from jinja2 import Environment, FileSystemLoader, StrictUndefined, Template, select_autoescape

from notifications import catalog
from notifications.message import (
    Notification,
    SurveyMessage,
    clean_text,
    message_intro,
    message_items,
    message_language,
)
from notifications.segments import SegmentCount, count_segments, gsm7_fold, is_gsm7
from notifications.tokens import URL_SAFE
from vnotify.config import AgencyConfig

TEMPLATES = Path(__file__).resolve().parent / "templates"
SMS_MAX_SEGMENTS = 2
# A greeting name cut at a space keeps at least MIN_NAME_CHARS characters; one cut inside a word
# (a name with no spaces too long to fit) keeps at least MIN_HARD_CUT, else the name is dropped.
MIN_NAME_CHARS = 2
MIN_HARD_CUT = 10
# Not left dangling at the end of a cut name: spaces, joiners, variation selectors.
_CUT_STRIP = " \u200c\u200d\ufe0e\ufe0f"
_KIND = re.compile(r"^[a-z][a-z0-9_]*$")
# Stands in for the name while the SMS is rendered, so the name can be cut without re-rendering.
_NAME_SLOT = "\x00name\x00"
# Text templates may leave runs of blank lines around optional blocks; one blank line is enough.
_BLANK_LINES = re.compile(r"\n{3,}")


class SmsTooLong(ValueError):
    """Even without name and offense the SMS exceeds two segments: the portal URL or the agency
    short name is too long for this configuration."""


@dataclass(frozen=True, slots=True)
class RenderedEmail:
    subject: str
    html: str
    text: str
    language: str


@dataclass(frozen=True, slots=True)
class RenderedSms:
    body: str
    language: str
    segments: SegmentCount


@cache
def environment() -> Environment:
    """The one Jinja environment (compiled templates are cached in it: rendering is hot)."""
    return Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(enabled_extensions=("html", "html.j2"), default_for_string=False),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
        auto_reload=False,
    )


@cache
def _template(kind: str, channel: str, fmt: str) -> Template:
    if not _KIND.match(kind):
        raise ValueError(f"not a message kind: {kind!r}")
    return environment().get_template(f"{kind}.{channel}.{fmt}.j2")


def _portal(config: AgencyConfig) -> str:
    return str(config.agency.portal_base_url).rstrip("/")


def _checked(token: str) -> str:
    if not URL_SAFE.fullmatch(token):
        raise ValueError("a token must be URL-safe base64 (use tokens.new_token())")
    return token


def message_url(config: AgencyConfig, token: str, channel: Literal["e", "s"]) -> str:
    """The victim message page; `c` says which channel the visit came from (e=email, s=SMS)."""
    return f"{_portal(config)}/m/{_checked(token)}?c={channel}"


def unsubscribe_url(config: AgencyConfig, token: str) -> str:
    """One-click unsubscribe page for email (also usable in a List-Unsubscribe header)."""
    return f"{_portal(config)}/u/{_checked(token)}"


def render_email(notification: Notification, config: AgencyConfig, token: str) -> RenderedEmail:
    """Subject, HTML and text parts of an email, in the victim's language when offered.

    The template is the notice's kind (`initial`, `reporting_party`, `status_update`); the
    subject names the report, never the offense or a status update's outcome."""
    language = message_language(notification.language, config.agency.languages)
    strings = catalog.strings(language)
    agency = config.agency.name
    subject = strings[f"{notification.kind}.subject"].format(
        report_number=notification.report_number, agency=agency
    )
    intro = message_intro(notification, language, agency)
    context = {
        "t": strings,
        "language": language,
        "subject": subject,
        "agency": agency,
        "heading": intro.heading,
        "paragraphs": intro.paragraphs,
        "change": intro.change,
        "name": clean_text(notification.first_name),
        "items": message_items(notification, config, language),
        "message_url": message_url(config, token, "e"),
        "unsubscribe_url": unsubscribe_url(config, token),
        "link_days": config.agency.message_link_days,
    }
    html = _template(notification.kind, "email", "html").render(context)
    text = _BLANK_LINES.sub("\n\n", _template(notification.kind, "email", "txt").render(context))
    return RenderedEmail(subject=subject, html=html, text=text.strip() + "\n", language=language)


def _fits(text: str) -> SegmentCount | None:
    count = count_segments(text)
    return count if count.segments <= SMS_MAX_SEGMENTS else None


def _longest_fitting(
    name: str, before: str, after: str, lengths: Sequence[int], first_wide: int
) -> str | None:
    """The longest `name[:k]` for k in `lengths` (ascending) whose message fits.

    Within one encoding the segment count only grows with k, so each encoding's part of the
    range is binary-searched apart: the UCS-2 part (k > first_wide) first, as it is longer.
    """
    split = bisect_right(lengths, first_wide)
    for low, high in ((split, len(lengths) - 1), (0, split - 1)):
        best = None
        while low <= high:
            middle = (low + high) // 2
            prefix = name[: lengths[middle]].rstrip(_CUT_STRIP)
            if _fits(before + prefix + after):
                best, low = prefix, middle + 1
            else:
                high = middle - 1
        if best:
            return best
    return None


def _truncated_name(name: str, before: str, after: str) -> str | None:
    """The greeting name cut as little as needed to fit, or None if it must go entirely.

    Cuts at a word boundary ("Maria Guadalupe" -> "Maria"); a single word is cut only if at
    least MIN_HARD_CUT characters stay, so "María" is never sent as "Mar" (a different name).
    """
    first_wide = next((i for i, char in enumerate(name) if not is_gsm7(char)), len(name))
    if not is_gsm7(before + after):
        first_wide = -1
    at_spaces = [i for i, char in enumerate(name) if char == " " and i >= MIN_NAME_CHARS]
    return _longest_fitting(name, before, after, at_spaces, first_wide) or _longest_fitting(
        name, before, after, range(MIN_HARD_CUT, len(name)), first_wide
    )


def _fitted_sms(
    template: Template, attempts: Sequence[tuple[dict, bool]], name: str, language: str, kind: str
) -> RenderedSms:
    """The first of `attempts` (a context, and whether to greet by name) that fits two segments.

    An attempt with the name tries the whole name, then the name cut as little as needed; it is
    skipped when there is no name. The link and the STOP line are in every attempt.
    """
    for context, with_name in attempts:
        if not with_name:
            body = template.render(context, name="")
            if count := _fits(body):
                return RenderedSms(body, language, count)
            continue
        if not name:
            continue
        before, _, after = template.render(context, name=_NAME_SLOT).partition(_NAME_SLOT)
        if count := _fits(before + name + after):
            return RenderedSms(before + name + after, language, count)
        short = _truncated_name(name, before, after)
        if short and (count := _fits(before + short + after)):
            return RenderedSms(before + short + after, language, count)
    raise SmsTooLong(
        f"the {kind} SMS exceeds {SMS_MAX_SEGMENTS} segments however it is shortened: "
        "shorten agency.portal_base_url or agency.short_name"
    )


def render_sms(notification: Notification, config: AgencyConfig, token: str) -> RenderedSms:
    """A text message of at most two segments, in the victim's language when offered.

    `initial`: if the full message is longer, it is shortened in a fixed order: cut the first
    name, then greet without a name, then leave out the offense label. `reporting_party` and
    `status_update` have their own (below). The link and the STOP line always stay.
    """
    language = message_language(notification.language, config.agency.languages)
    template = _template(notification.kind, "sms", "txt")
    discreet = config.channels.sms is not None and config.channels.sms.discreet
    context = {
        "t": catalog.strings(language),
        "agency": config.agency.short_name,
        "link": message_url(config, token, "s"),
    }
    name = gsm7_fold(clean_text(notification.first_name))
    if notification.kind == "status_update":
        attempts = _status_sms_attempts(notification, context, language, discreet)
    elif notification.kind == "reporting_party":
        # Says only that the report was filed: no offense, discreet or not.
        attempts = [(context, True), (context, False)]
    else:
        # Texts only: the email and the message page keep every accent.
        offense = "" if discreet else gsm7_fold(clean_text(notification.offense_name).rstrip("."))
        context["offense"] = offense
        attempts = [(context, True), (context, False)]
        if offense:
            attempts.append(({**context, "offense": ""}, False))
    return _fitted_sms(template, attempts, name, language, notification.kind)


def _status_sms_attempts(
    notification: Notification, context: dict, language: str, discreet: bool
) -> list[tuple[dict, bool]]:
    """A status update's text: what changed in a few words (the detective's name when assigned),
    shortened in order: cut the greeting's name, greet without it, leave the detective's name
    out, then say only that there is an update. Discreet mode says only that from the start:
    nothing about the offense or the outcome."""
    strings = catalog.strings(language)
    generic = {**context, "change": strings["sms.status.update"]}
    if discreet:
        return [(generic, True), (generic, False)]
    if notification.change_type == "detective":
        detective = gsm7_fold(clean_text(notification.assigned_detective))
        full = strings["sms.status.detective"].format(detective=detective) if detective else None
        short = strings["sms.status.detective_no_name"]
    else:
        full = strings.get(f"sms.status.{notification.case_status}") or strings["sms.status.update"]
        short = None
    attempts: list[tuple[dict, bool]] = []
    for change in (full, short):
        if change:
            attempts += [({**context, "change": change}, True), ({**context, "change": change}, False)]
    return [*attempts, (generic, True), (generic, False)]


# -- surveys ------------------------------------------------------------------------------------


def survey_url(config: AgencyConfig, token: str) -> str:
    """The survey page of one invitation."""
    return f"{_portal(config)}/s/{_checked(token)}"


def survey_paragraphs(message: SurveyMessage, strings: Mapping[str, str], agency: str) -> list[str]:
    """What a survey email says between greeting and link, by kind and arm.

    Only Group A's invitation mentions the first notice: for Group B (the holdout) the invitation
    is the first message from us. The reminder mentions only the invitation, which both received.
    """
    if message.kind == "survey_reminder":
        return [strings["survey_reminder.intro"].format(agency=agency)]
    ask = strings["survey_invite.ask"].format(agency=agency)
    return [strings["survey_invite.notified"], ask] if message.arm == "A" else [ask]


def render_survey_email(message: SurveyMessage, config: AgencyConfig, token: str) -> RenderedEmail:
    """The survey invitation or reminder email (HTML and text), in the victim's language."""
    language = message_language(message.language, config.agency.languages)
    strings = catalog.strings(language)
    agency = config.agency.name
    prefix = "survey_reminder" if message.kind == "survey_reminder" else "survey_invite"
    subject = strings[f"{prefix}.subject"].format(agency=agency)
    context = {
        "t": strings,
        "language": language,
        "subject": subject,
        "heading": strings[f"{prefix}.heading"],
        "agency": agency,
        "name": clean_text(message.first_name),
        "paragraphs": survey_paragraphs(message, strings, agency),
        "survey_url": survey_url(config, token),
        "unsubscribe_url": unsubscribe_url(config, token),
        "link_days": config.agency.message_link_days,
    }
    html = _template(message.kind, "email", "html").render(context)
    text = _BLANK_LINES.sub("\n\n", _template(message.kind, "email", "txt").render(context))
    return RenderedEmail(subject=subject, html=html, text=text.strip() + "\n", language=language)


def render_survey_sms(message: SurveyMessage, config: AgencyConfig, token: str) -> RenderedSms:
    """The survey invitation or reminder text, at most two segments, in the victim's language.

    Shortened in a fixed order: cut the greeting's name; then name the department by its short
    name instead of its full name (folded to GSM-7); then greet without a name. The link and the
    STOP line always stay.
    """
    language = message_language(message.language, config.agency.languages)
    context = {
        "t": catalog.strings(language),
        "agency": config.agency.short_name,
        "department": gsm7_fold(clean_text(config.agency.name)),
        "notified": message.arm == "A",
        "link": survey_url(config, token),
    }
    short = {**context, "department": config.agency.short_name}
    attempts = [(context, True), (short, True), (context, False), (short, False)]
    name = gsm7_fold(clean_text(message.first_name))
    return _fitted_sms(_template(message.kind, "sms", "txt"), attempts, name, language, message.kind)
