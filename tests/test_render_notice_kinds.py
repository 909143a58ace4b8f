"""The two follow-up notices: `reporting_party` (to a person who reported and is not a victim) and
`status_update` (a case-status follow-up to a notified victim), rendered as email and text in
English and Spanish (no database).

Both languages x both channels x both kinds; hostile names (markup, script, emoji, very long) in
the greeting and as the detective; texts within two segments; discreet mode; what a reporting
party's message must never say; the message-page link and the STOP line.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from markupsafe import escape

from notifications import catalog
from notifications.message import (
    CASE_STATUSES,
    Notification,
    clean_text,
    message_intro,
    message_items,
    notification_from_outbox,
)
from notifications.render import render_email, render_sms
from notifications.segments import count_segments
from notifications.tokens import TOKEN_PATTERN
from vnotify.config import AgencyConfig, load_config

TOKEN = "Tk3n_-" + "b" * 37
PORTAL = "https://notify.svpd.example.org"
STOP_LINES = {"en": "Text STOP to cancel.", "es": "Escriba STOP o ALTO para cancelar."}
KINDS = ("reporting_party", "status_update")
LANGUAGES = ("en", "es")
# The offense wording a victim's first notice carries; a reporting party never reads any of it.
OFFENSE = {"en": "Burglary", "es": "Robo en vivienda"}
EXPLANATION = "Someone entered a building without permission to commit a crime."
NEXT_STEPS = "Make a list of what was taken and keep receipts."
HOSTILE = [
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(1)>',
    "Ana & <b>Bo</b>",
    "Jo😀👩‍👩‍👧‍👦",
    "María José " * 60,
    "B" * 700,
    "\u202eevil\u202c\nCALL 555-0000",
]


@pytest.fixture(scope="module")
def config() -> AgencyConfig:
    return load_config()


def discreet(config: AgencyConfig) -> AgencyConfig:
    sms = config.channels.sms.model_copy(update={"discreet": True})
    return config.model_copy(update={"channels": config.channels.model_copy(update={"sms": sms})})


def make(kind: str, language: str = "en", **changes: object) -> Notification:
    """A row of notifications_due (reporting_party) or status_updates_due (status_update)."""
    row = {
        "victim_key": "0f1e2d3c4b5a",
        "report_number": "SV25-004321",
        "person_seq": 2,
        "first_name": "Lupe",
        "language": language,
        "email": "person@example.org",
        "phone_e164": "+15205550142",
        "channels": ["sms", "email"],
        "offense_code": "220",
        "offense_name": OFFENSE[language],
        "explanation": EXPLANATION if kind == "reporting_party" else None,
        "next_steps": NEXT_STEPS if kind == "reporting_party" else None,
        "officer_name": "Officer K. Lee",
        # 18:15 UTC on June 2 is 11:15 AM in Phoenix.
        "reported_at": dt.datetime(2025, 6, 2, 18, 15, tzinfo=dt.UTC),
        "division_code": "WEST",
        "substation_phone": "+15205550101",
        "investigations_phone": "+15205550111",
        "arm": None if kind == "reporting_party" else "A",
        "kind": kind,
    }
    if kind == "status_update":
        row |= {
            "change_type": "case_status",
            "case_status": "cleared_arrest",
            "assigned_detective": None,
            "subject": "cleared_arrest",
        }
    return dataclasses.replace(Notification.from_row(row), **changes)


def detective_update(language: str = "en", detective: str | None = "Det. Sam Ortiz") -> Notification:
    subject = f"detective:{(detective or '').strip().lower()}"
    return make(
        "status_update",
        language,
        change_type="detective",
        case_status="open",
        assigned_detective=detective,
        subject=subject,
    )


def every_text(rendered) -> str:
    return rendered.body if hasattr(rendered, "body") else rendered.subject + rendered.html + rendered.text


# --- catalog -------------------------------------------------------------------------------------


def test_every_new_string_exists_in_both_languages_and_texts_are_gsm7() -> None:
    for language, strings in catalog.STRINGS.items():
        for kind in KINDS:
            for part in ("subject", "heading", "intro"):
                assert strings[f"{kind}.{part}"], (language, kind, part)
        for status in CASE_STATUSES:
            assert strings[f"status.change.{status}"] and strings[f"status.label.{status}"]
            assert count_segments(strings[f"sms.status.{status}"]).encoding == "GSM-7"
        for key in ("sms.stop_text", "sms.status.update", "sms.reporting_party.filed"):
            assert count_segments(strings[key]).encoding == "GSM-7", (language, key)


def test_the_stop_line_of_the_new_texts_is_honoured_by_reply_handling() -> None:
    for language, strings in catalog.STRINGS.items():
        assert strings["sms.stop_text"] == STOP_LINES[language]
        promised = set(re.findall(r"\b[A-Z]{3,}\b", strings["sms.stop_text"]))
        assert promised and promised <= catalog.STOP_KEYWORDS[language]


# --- both languages x both channels x both kinds ----------------------------------------------


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("kind", KINDS)
def test_email_has_its_kind_heading_items_links_and_unsubscribe(
    config: AgencyConfig, kind: str, language: str
) -> None:
    strings = catalog.strings(language)
    email = render_email(make(kind, language), config, TOKEN)
    assert email.language == language
    assert email.subject == strings[f"{kind}.subject"].format(
        report_number="SV25-004321", agency=config.agency.name
    )
    for part in (email.html, email.text):
        assert "SV25-004321" in part
        assert ("Officer K. Lee" in part) == (kind == "reporting_party")
        assert f"{PORTAL}/m/{TOKEN}?c=e" in part
        assert f"{PORTAL}/u/{TOKEN}" in part  # the unsubscribe link (the header is the provider's)
        assert "(520) 555-0101" in part and "(520) 555-0111" in part
        assert strings["email.emergency"] in part
    assert str(escape(strings[f"{kind}.heading"])) in email.html
    assert f'<html lang="{language}"' in email.html
    assert 'href="tel:+15205550111"' in email.html


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("kind", KINDS)
def test_sms_greets_links_and_stops_within_two_segments(
    config: AgencyConfig, kind: str, language: str
) -> None:
    sms = render_sms(make(kind, language), config, TOKEN)
    assert sms.body.startswith(f"SVPD: {'Hi' if language == 'en' else 'Hola,'} Lupe.")
    assert f"{PORTAL}/m/{TOKEN}?c=s" in sms.body
    assert sms.body.endswith("\n" + STOP_LINES[language])
    assert TOKEN_PATTERN.search(sms.body)["token"] == TOKEN
    assert sms.segments.segments <= 2 and sms.segments.encoding == "GSM-7"


# --- the reporting party -------------------------------------------------------------------------


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_reporting_party_reads_that_the_report_was_filed_and_whom_to_call(
    config: AgencyConfig, language: str
) -> None:
    strings = catalog.strings(language)
    notification = make("reporting_party", language)
    keys = [item.key for item in message_items(notification, config, language)]
    assert keys == ["report_number", "officer", "reported_at", "substation_phone", "investigations_phone"]
    email = render_email(notification, config, TOKEN)
    sms = render_sms(notification, config, TOKEN)
    assert str(escape(strings["reporting_party.intro"].format(agency=config.agency.name))) in email.html
    assert strings["sms.reporting_party.filed"] in sms.body
    reported = "June 2, 2025, 11:15 AM" if language == "en" else "2 de junio de 2025, 11:15"
    assert reported in email.text


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("channel", ["sms", "email"])
def test_a_reporting_party_never_reads_the_offense_its_explanation_or_victim_wording(
    config: AgencyConfig, language: str, channel: str
) -> None:
    """Even when the row carries them: the notice is for someone who is not a victim."""
    strings = catalog.strings(language)
    notification = make("reporting_party", language)
    for settings_ in (config, discreet(config)):
        rendered = render_sms if channel == "sms" else render_email
        text = every_text(rendered(notification, settings_, TOKEN))
        for secret in (OFFENSE[language], EXPLANATION, NEXT_STEPS):
            assert secret not in text
        for key in ("item.offense", "item.explanation", "item.next_steps", "initial.intro"):
            assert str(escape(strings[key].split("{")[0])) not in text, key


# --- the status update ---------------------------------------------------------------------------


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("status", CASE_STATUSES)
def test_each_case_status_is_explained_in_plain_language(
    config: AgencyConfig, language: str, status: str
) -> None:
    strings = catalog.strings(language)
    notification = make("status_update", language, case_status=status, subject=status)
    email = render_email(notification, config, TOKEN)
    assert strings[f"status.change.{status}"] in email.text
    assert str(escape(strings[f"status.change.{status}"])) in email.html
    items = {item.key: item.value for item in message_items(notification, config, language)}
    assert items["case_status"] == strings[f"status.label.{status}"]
    assert list(items)[-2:] == ["investigations_phone", "substation_phone"]
    # The subject on the lock screen never says the outcome or the offense.
    assert strings[f"status.label.{status}"] not in email.subject
    assert OFFENSE[language] not in email.subject
    sms = render_sms(notification, config, TOKEN)
    assert strings[f"sms.status.{status}"] in sms.body
    assert OFFENSE[language] not in sms.body


@pytest.mark.parametrize("language", LANGUAGES)
def test_an_assigned_detective_is_named(config: AgencyConfig, language: str) -> None:
    strings = catalog.strings(language)
    notification = detective_update(language)
    email = render_email(notification, config, TOKEN)
    assert strings["status.change.detective"].format(detective="Det. Sam Ortiz") in email.text
    items = {item.key: item.value for item in message_items(notification, config, language)}
    assert items["detective"] == "Det. Sam Ortiz"
    sms = render_sms(notification, config, TOKEN)
    assert strings["sms.status.detective"].format(detective="Det. Sam Ortiz") in sms.body
    unnamed = detective_update(language, None)
    assert strings["status.change.detective_no_name"] in render_email(unnamed, config, TOKEN).text
    assert strings["sms.status.detective_no_name"] in render_sms(unnamed, config, TOKEN).body


def test_an_unknown_status_says_only_that_something_changed(config: AgencyConfig) -> None:
    notification = make("status_update", case_status="reopened_by_rms", subject="reopened_by_rms")
    assert catalog.strings("en")["status.change.other"] in render_email(notification, config, TOKEN).text
    assert catalog.strings("en")["sms.status.update"] in render_sms(notification, config, TOKEN).body


def test_status_update_text_folds_accents_and_the_email_keeps_them(config: AgencyConfig) -> None:
    notification = dataclasses.replace(detective_update("es", "Det. Raúl Núñez"), first_name="María")
    sms = render_sms(notification, config, TOKEN)
    assert sms.segments.encoding == "GSM-7" and sms.segments.segments <= 2
    assert "Hola, Maria." in sms.body and "Raul Nuñez" in sms.body  # ñ is GSM-7, ú is not
    assert "Det. Raúl Núñez" in render_email(notification, config, TOKEN).text


# --- discreet mode -------------------------------------------------------------------------------


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_discreet_status_text_says_only_that_there_is_an_update(
    config: AgencyConfig, language: str
) -> None:
    strings = catalog.strings(language)
    quiet = discreet(config)
    bodies = {
        render_sms(n, quiet, TOKEN).body
        for n in (
            *(make("status_update", language, case_status=s, subject=s) for s in CASE_STATUSES),
            detective_update(language),
            detective_update(language, None),
        )
    }
    assert len(bodies) == 1  # neither the outcome nor the detective changes a discreet text
    (body,) = bodies
    assert strings["sms.status.update"] in body
    for status in CASE_STATUSES:
        assert strings[f"sms.status.{status}"] not in body
    assert "Ortiz" not in body and OFFENSE[language] not in body
    assert "SV25-004321" not in body


# --- hostile names -------------------------------------------------------------------------------


@pytest.mark.parametrize("name", HOSTILE)
@pytest.mark.parametrize("kind", KINDS)
def test_hostile_names_are_escaped_in_html_plain_in_text_and_texts_fit(
    config: AgencyConfig, kind: str, name: str
) -> None:
    for language in LANGUAGES:
        notifications = [make(kind, language, first_name=name)]
        if kind == "status_update":
            notifications.append(dataclasses.replace(detective_update(language, name), first_name=name))
        for notification in notifications:
            email = render_email(notification, config, TOKEN)
            assert "<script>" not in email.html and "<img" not in email.html and "<b>" not in email.html
            cleaned = clean_text(name)
            if cleaned:
                assert str(escape(cleaned)) in email.html and cleaned in email.text
            assert "\u202e" not in email.html + email.text  # no bidi override survives
            assert "\nCALL" not in email.text  # a name cannot add a line
            for settings_ in (config, discreet(config)):
                sms = render_sms(notification, settings_, TOKEN)
                assert count_segments(sms.body).segments <= 2, (language, kind, name[:20])
                assert f"/m/{TOKEN}?c=s" in sms.body and sms.body.endswith(STOP_LINES[language])
                assert "\u202e" not in sms.body and sms.body.count("\n") == 1


def test_a_long_detective_name_gives_way_to_the_greeting_order(config: AgencyConfig) -> None:
    """Shortened in order: the greeting's name, then the detective's name, never the link."""
    notification = detective_update("en", "Detective " + "Maximiliano " * 30)
    sms = render_sms(notification, config, TOKEN)
    assert catalog.strings("en")["sms.status.detective_no_name"] in sms.body
    assert "Maximiliano" not in sms.body and sms.segments.segments <= 2


def test_names_stay_out_of_repr() -> None:
    shown = repr(detective_update("en", "Det. Sam Ortiz"))
    assert "Ortiz" not in shown and "Lupe" not in shown and "person@example.org" not in shown


names = st.text(st.characters(codec="utf-8"), max_size=600)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    name=names,
    detective=st.one_of(st.none(), names),
    kind=st.sampled_from(KINDS),
    status=st.sampled_from([*CASE_STATUSES, "detective"]),
    language=st.sampled_from(LANGUAGES),
    is_discreet=st.booleans(),
)
def test_property_texts_fit_and_keep_link_and_stop(
    config: AgencyConfig,
    name: str,
    detective: str | None,
    kind: str,
    status: str,
    language: str,
    is_discreet: bool,
) -> None:
    if kind == "status_update" and status == "detective":
        notification = dataclasses.replace(detective_update(language, detective), first_name=name)
    else:
        notification = make(kind, language, first_name=name)
        if kind == "status_update":
            notification = dataclasses.replace(notification, case_status=status, assigned_detective=detective)
    sms = render_sms(notification, discreet(config) if is_discreet else config, TOKEN)
    count = count_segments(sms.body)
    assert count.segments <= 2 and count == sms.segments
    assert f"{PORTAL}/m/{TOKEN}?c=s" in sms.body
    assert sms.body.endswith("\n" + STOP_LINES[language])
    assert TOKEN_PATTERN.search(sms.body)["token"] == TOKEN


# --- as queued, for the dispatcher and the page --------------------------------------------------


def test_a_queued_status_update_renders_the_same_as_the_due_row(config: AgencyConfig) -> None:
    """The outbox payload (outbox.STATUS_PAYLOAD_FIELDS) is all the dispatcher and page get."""
    from notifications.outbox import STATUS_PAYLOAD_FIELDS

    due = detective_update("es")
    payload = {field: getattr(due, field) for field in STATUS_PAYLOAD_FIELDS}
    payload["reported_at"] = due.reported_at.isoformat()
    queued = notification_from_outbox(
        {
            "victim_key": due.victim_key,
            "report_number": due.report_number,
            "kind": "status_update",
            "channel": "sms",
            "address": due.phone_e164,
            "language": "es",
            "payload": payload,
            "subject": due.subject,
        }
    )
    assert render_sms(queued, config, TOKEN) == render_sms(due, config, TOKEN)
    assert message_intro(queued, "es", "X") == message_intro(due, "es", "X")
    assert message_items(queued, config, "en") == message_items(due, config, "en")
