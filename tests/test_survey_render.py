"""Survey invitation and reminder messages: both arms, both languages, both channels (no database).

Group B (the holdout) never heard from us before: their invitation must not mention an earlier
message. Texts stay within two segments whatever the name, Spanish included.
"""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from notifications import catalog
from notifications.message import SurveyMessage, survey_message_from_outbox
from notifications.render import (
    render_survey_email,
    render_survey_sms,
    survey_paragraphs,
    survey_url,
    unsubscribe_url,
)
from notifications.segments import count_segments
from notifications.tokens import TOKEN_PATTERN
from vnotify.config import AgencyConfig, load_config

TOKEN = "Sv3y_-" + "b" * 37
KINDS = ("survey", "survey_reminder")
LANGUAGES = ("en", "es")
ONE_MINUTE = re.compile(r"\b1[ -]minut")
STOP = {"en": "Text STOP to cancel.", "es": "Escriba STOP o ALTO para cancelar."}
# Wording that refers to an earlier message, in both languages: none may reach Group B's
# invitation (the reminder may mention the invitation itself, which both arms received).
EARLIER_MESSAGE = re.compile(
    r"as we told|following up|follow-up|our (earlier |last |previous )?message|we (recently )?(sent|wrote)"
    r"|earlier|again|le (enviamos|escribimos|dijimos)|seguimiento|nuestro mensaje|como le",
    re.IGNORECASE,
)


@pytest.fixture(scope="module")
def config() -> AgencyConfig:
    return load_config()


def message(kind: str = "survey", arm: str = "B", language: str = "en", name: str | None = "Ana"):
    return SurveyMessage(kind=kind, arm=arm, first_name=name, language=language, division_code="WEST")


def everything_rendered(config: AgencyConfig, msg: SurveyMessage) -> str:
    email = render_survey_email(msg, config, TOKEN)
    return "\n".join((render_survey_sms(msg, config, TOKEN).body, email.subject, email.html, email.text))


# --- the holdout's first contact ---------------------------------------------------------------


@pytest.mark.parametrize("language", LANGUAGES)
def test_group_b_never_reads_group_a_wording(config: AgencyConfig, language: str) -> None:
    strings = catalog.strings(language)
    a_only = [strings[key] for key in catalog.ARM_A_ONLY_KEYS]
    group_a = everything_rendered(config, message("survey", "A", language))
    assert all(sentence in group_a for sentence in a_only)  # the check below can fail
    for kind in KINDS:
        group_b = everything_rendered(config, message(kind, "B", language))
        assert not [sentence for sentence in a_only if sentence in group_b], (kind, language)


@pytest.mark.parametrize("language", LANGUAGES)
def test_group_b_invitation_never_refers_to_an_earlier_message(config: AgencyConfig, language: str) -> None:
    group_b = everything_rendered(config, message("survey", "B", language))
    assert not EARLIER_MESSAGE.search(group_b), EARLIER_MESSAGE.search(group_b)
    # The pattern is not blind: it finds Group A's mention of the first notice.
    assert EARLIER_MESSAGE.search(everything_rendered(config, message("survey", "A", language)))


def test_survey_paragraphs_by_kind_and_arm() -> None:
    strings = catalog.strings("en")
    ask = strings["survey_invite.ask"].format(agency="SVPD")
    assert survey_paragraphs(message("survey", "B"), strings, "SVPD") == [ask]
    assert survey_paragraphs(message("survey", "A"), strings, "SVPD") == [
        strings["survey_invite.notified"],
        ask,
    ]
    reminder = [strings["survey_reminder.intro"].format(agency="SVPD")]
    assert survey_paragraphs(message("survey_reminder", "A"), strings, "SVPD") == reminder
    assert survey_paragraphs(message("survey_reminder", "B"), strings, "SVPD") == reminder


# --- what every survey message says ------------------------------------------------------------


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("arm", ["A", "B"])
@pytest.mark.parametrize("kind", KINDS)
def test_sms_greets_by_name_names_the_department_and_ends_with_link_and_stop(
    config: AgencyConfig, language: str, arm: str, kind: str
) -> None:
    sms = render_survey_sms(message(kind, arm, language, "Ana"), config, TOKEN)
    greeting = catalog.strings(language)["sms.greeting"].format(agency=config.agency.short_name, name="Ana")
    assert sms.body.startswith(greeting)
    assert sms.body.endswith(f"{survey_url(config, TOKEN)}\n{STOP[language]}")
    assert ONE_MINUTE.search(sms.body)
    assert sms.segments.segments <= 2 and sms.language == language
    if kind == "survey" and arm == "B":  # the first contact names the department in full
        assert config.agency.name in sms.body


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("kind", KINDS)
def test_email_has_the_survey_link_unsubscribe_and_no_offense(
    config: AgencyConfig, language: str, kind: str
) -> None:
    email = render_survey_email(message(kind, "B", language, "Ana"), config, TOKEN)
    strings = catalog.strings(language)
    assert config.agency.name in email.subject and ONE_MINUTE.search(email.subject)
    for part in (email.html, email.text):
        assert survey_url(config, TOKEN) in part
        assert unsubscribe_url(config, TOKEN) in part
        assert strings["email.greeting"].format(name="Ana") in part
        assert strings["email.emergency"] in part
    assert f'lang="{language}"' in email.html


def test_survey_wording_is_gsm7_so_only_a_name_can_force_ucs2() -> None:
    for language, strings in catalog.STRINGS.items():
        for key, text in strings.items():
            if key.startswith("survey_sms."):
                assert count_segments(text).encoding == "GSM-7", (language, key)


def test_hostile_names_are_escaped_in_html(config: AgencyConfig) -> None:
    email = render_survey_email(message(name="<script>alert(1)</script>"), config, TOKEN)
    assert "<script>" not in email.html and "&lt;script&gt;" in email.html
    assert "<script>alert(1)</script>" in email.text


def test_the_survey_link_is_found_by_reconciliation(config: AgencyConfig) -> None:
    sms = render_survey_sms(message(), config, TOKEN)
    assert TOKEN_PATTERN.search(sms.body)["token"] == TOKEN


def test_a_message_is_built_from_its_outbox_row() -> None:
    row = {
        "kind": "survey_reminder",
        "language": "es",
        "payload": {"first_name": "Lucía", "arm": "B", "division_code": "MID"},
    }
    msg = survey_message_from_outbox(row)
    assert (msg.kind, msg.arm, msg.first_name, msg.language, msg.division_code) == (
        "survey_reminder",
        "B",
        "Lucía",
        "es",
        "MID",
    )
    assert "Lucía" not in repr(msg)
    with pytest.raises(ValueError, match="arm"):
        SurveyMessage(kind="survey", arm="C", first_name=None, language="en")
    with pytest.raises(ValueError, match="kind"):
        SurveyMessage(kind="initial", arm="A", first_name=None, language="en")


# --- two segments, whatever the name -----------------------------------------------------------


@pytest.mark.parametrize("arm", ["A", "B"])
def test_spanish_accented_names_stay_within_two_segments(config: AgencyConfig, arm: str) -> None:
    for name in ("María José", "Ángel Núñez", "Sofía", "José Luis Pérez Gutiérrez"):
        sms = render_survey_sms(message("survey", arm, "es", name), config, TOKEN)
        assert sms.segments.segments <= 2 and sms.segments.encoding == "GSM-7", name
        assert sms.body.endswith(STOP["es"])
    kept = render_survey_sms(message("survey", "B", "es", "Sofía"), config, TOKEN)
    assert kept.body.startswith(f"{config.agency.short_name}: Hola, Sofia.")  # folded, not dropped


@settings(max_examples=300, deadline=None)
@given(
    name=st.text(st.characters(codec="utf-8"), max_size=300),
    kind=st.sampled_from(KINDS),
    arm=st.sampled_from(["A", "B"]),
    language=st.sampled_from(LANGUAGES),
)
def test_property_texts_fit_two_segments_and_keep_link_and_stop(
    name: str, kind: str, arm: str, language: str
) -> None:
    config = load_config()
    sms = render_survey_sms(message(kind, arm, language, name), config, TOKEN)
    assert count_segments(sms.body).segments <= 2
    assert sms.body.endswith(f"{survey_url(config, TOKEN)}\n{STOP[language]}")
    if arm == "B":
        assert not any(catalog.strings(language)[key] in sms.body for key in catalog.ARM_A_ONLY_KEYS)
