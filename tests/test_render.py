"""Message rendering: email and SMS in English and Spanish, segment counting, tokens (no database)."""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import re
import string

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from markupsafe import escape

from notifications import catalog
from notifications.message import Notification, clean_text, message_items, message_language
from notifications.render import (
    MIN_HARD_CUT,
    SmsTooLong,
    environment,
    message_url,
    render_email,
    render_sms,
    unsubscribe_url,
)
from notifications.segments import count_segments, gsm7_fold
from notifications.tokens import TOKEN_PATTERN, hash_token, link_expiry, new_token
from vnotify.config import AgencyConfig, load_config
from vnotify.paths import REPO_ROOT

TOKEN = "Tk3n_-" + "a" * 37  # 43 URL-safe characters, like secrets.token_urlsafe(32)
SEED = REPO_ROOT / "dbt" / "seeds" / "offense_explanations.csv"
STOP_LINES = {"en": "Reply STOP to cancel.", "es": "Responda STOP o ALTO para cancelar."}


def _seed() -> dict[tuple[str, str], dict[str, str]]:
    with SEED.open(encoding="utf-8", newline="") as handle:
        return {(row["offense_code"], row["language"]): row for row in csv.DictReader(handle)}


SEED_ROWS = _seed()
SEED_LABELS = sorted({row["offense_label"] for row in SEED_ROWS.values()})


@pytest.fixture(scope="module")
def config() -> AgencyConfig:
    return load_config()


def with_agency(config: AgencyConfig, **changes: object) -> AgencyConfig:
    return config.model_copy(update={"agency": config.agency.model_copy(update=changes)})


def discreet(config: AgencyConfig) -> AgencyConfig:
    sms = config.channels.sms.model_copy(update={"discreet": True})
    return config.model_copy(update={"channels": config.channels.model_copy(update={"sms": sms})})


def make(language: str = "en", code: str = "13A", **changes: object) -> Notification:
    """A notification as `notifications_due` would give it, with the seed's wording."""
    seed = SEED_ROWS[(code, language.split("-")[0])]
    row = {
        "victim_key": "0f1e2d3c4b5a",
        "report_number": "SV25-001234",
        "person_seq": 1,
        "first_name": "Maria",
        "language": language,
        "email": "victim@example.org",
        "phone_e164": "+15205550199",
        "channels": ["sms", "email"],
        "offense_code": code,
        "offense_name": seed["offense_label"],
        "explanation": seed["explanation"],
        "next_steps": seed["next_steps"],
        "officer_name": "Officer J. Ramirez",
        # 02:30 UTC on March 6 is 7:30 PM on March 5 in Phoenix (UTC-7, no DST).
        "reported_at": dt.datetime(2025, 3, 6, 2, 30, tzinfo=dt.UTC),
        "division_code": "WEST",
        "substation_phone": "+15205550101",
        "investigations_phone": "+15205550111",
        "arm": "A",
    }
    return dataclasses.replace(Notification.from_row(row), **changes)


# --- catalog -------------------------------------------------------------------------------


def test_every_language_has_exactly_the_same_strings() -> None:
    assert set(catalog.STRINGS) == {"en", "es"}
    assert set(catalog.STRINGS["en"]) == set(catalog.STRINGS["es"])
    assert set(catalog.MONTHS) == set(catalog.STRINGS) == set(catalog.STOP_KEYWORDS)


def test_translations_use_the_same_placeholders() -> None:
    """A translation that drops {report_number} or adds {nmae} would fail at send time."""

    def fields(text: str) -> set[str]:
        return {name for _, name, _, _ in string.Formatter().parse(text) if name}

    for key, english in catalog.STRINGS["en"].items():
        if key == "value.datetime":  # each language picks its own parts (12 h vs 24 h clock)
            continue
        assert fields(catalog.STRINGS["es"][key]) == fields(english), key


def test_spanish_addresses_the_reader_as_usted() -> None:
    informal = re.compile(r"\b(tú|tu|tus|te|puedes|tienes|llama|responde|recibes)\b", re.IGNORECASE)
    for key, text in catalog.STRINGS["es"].items():
        assert not informal.search(text), (key, text)


def test_sms_wording_is_gsm7_so_only_data_can_force_ucs2() -> None:
    for language, strings in catalog.STRINGS.items():
        for key, text in strings.items():
            if key.startswith("sms."):
                assert count_segments(text).encoding == "GSM-7", (language, key)


def test_the_stop_line_keywords_are_honoured_by_reply_handling() -> None:
    for language, strings in catalog.STRINGS.items():
        promised = set(re.findall(r"\b[A-Z]{3,}\b", strings["sms.stop"]))
        assert promised, language
        assert promised <= catalog.STOP_KEYWORDS[language]


def test_unknown_catalog_language_is_an_error_not_english() -> None:
    assert catalog.catalog_language("es-MX") == "es"
    with pytest.raises(catalog.UnsupportedLanguage):
        catalog.strings("vi")


# --- message language and items ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("requested", "agency", "expected"),
    [
        ("es", ["en", "es"], "es"),
        ("es-MX", ["en", "es"], "es"),
        ("ES_mx", ["en", "es"], "es"),
        ("EN", ["en", "es"], "en"),
        ("vi", ["en", "es"], "en"),
        (None, ["en", "es"], "en"),
        ("", ["es", "en"], "es"),
        ("fr", ["es", "en"], "es"),
        ("es", ["en", "es-MX"], "es-MX"),
        ("es-US", ["en", "es-MX"], "es-MX"),
        ("en-GB", ["en-US", "es"], "en-US"),
    ],
)
def test_message_language(requested: str | None, agency: list[str], expected: str) -> None:
    assert message_language(requested, agency) == expected


def test_items_are_the_eight_in_order_with_localized_labels(config: AgencyConfig) -> None:
    keys = [
        "report_number",
        "offense",
        "officer",
        "reported_at",
        "explanation",
        "next_steps",
        "substation_phone",
        "investigations_phone",
    ]
    english = message_items(make("en"), config, "en")
    spanish = message_items(make("es"), config, "es")
    assert [item.key for item in english] == keys == [item.key for item in spanish]
    assert [item.label for item in english][:2] == ["Report number", "Type of crime"]
    assert [item.label for item in spanish][:2] == ["Número de reporte", "Tipo de delito"]
    assert english[1].value == "Serious assault" and spanish[1].value == "Agresión grave"


def test_phones_are_readable_and_keep_e164_for_tel_links(config: AgencyConfig) -> None:
    items = {item.key: item for item in message_items(make(), config, "en")}
    assert items["substation_phone"].value == "(520) 555-0101"
    assert items["substation_phone"].href == "tel:+15205550101"
    assert items["investigations_phone"].value == "(520) 555-0111"
    assert items["investigations_phone"].href == "tel:+15205550111"
    outside = make(substation_phone="+442079460000")
    value = {i.key: i for i in message_items(outside, config, "en")}["substation_phone"].value
    assert value.startswith("+44 ") and "(" not in value


@pytest.mark.parametrize(
    ("zone", "moment", "english", "spanish"),
    [
        # UTC is already the next day; the agency's date is the 5th.
        ("America/Phoenix", dt.datetime(2025, 3, 6, 2, 30, tzinfo=dt.UTC), "March 5, 2025, 7:30 PM",
         "5 de marzo de 2025, 19:30"),
        # Denver observes DST: UTC-6 in July, UTC-7 in January.
        ("America/Denver", dt.datetime(2025, 7, 1, 18, 5, tzinfo=dt.UTC), "July 1, 2025, 12:05 PM",
         "1 de julio de 2025, 12:05"),
        ("America/Denver", dt.datetime(2025, 1, 15, 18, 5, tzinfo=dt.UTC), "January 15, 2025, 11:05 AM",
         "15 de enero de 2025, 11:05"),
        ("America/Denver", dt.datetime(2025, 11, 2, 6, 0, tzinfo=dt.UTC), "November 2, 2025, 12:00 AM",
         "2 de noviembre de 2025, 0:00"),
    ],
)  # fmt: skip
def test_report_time_is_local_and_localized(
    config: AgencyConfig, zone: str, moment: dt.datetime, english: str, spanish: str
) -> None:
    local = with_agency(config, time_zone=zone)
    notification = make("en", reported_at=moment)
    assert message_items(notification, local, "en")[3].value == english
    assert message_items(notification, local, "es")[3].value == spanish
    assert english in render_email(notification, local, TOKEN).text
    assert spanish in render_email(make("es", reported_at=moment), local, TOKEN).html


def test_missing_officer_name_shows_a_localized_placeholder(config: AgencyConfig) -> None:
    for language, placeholder in (("en", "Not recorded"), ("es", "No registrado")):
        for officer in (None, "", "   "):
            email = render_email(make(language, officer_name=officer), config, TOKEN)
            officer_item = message_items(make(language, officer_name=officer), config, language)[2]
            assert officer_item.value == placeholder
            for part in (email.html, email.text):
                assert placeholder in part
                assert "None" not in part


def test_missing_explanation_falls_back_to_a_localized_sentence(config: AgencyConfig) -> None:
    items = message_items(make("es", explanation=None, next_steps=None), config, "es")
    assert items[4].value == catalog.STRINGS["es"]["value.explanation_missing"]
    assert items[5].value == catalog.STRINGS["es"]["value.next_steps_missing"]


def test_notification_repr_leaves_out_contact_details() -> None:
    shown = repr(make(first_name="Zelda"))
    assert "Zelda" not in shown and "victim@example.org" not in shown and "5550199" not in shown
    assert "SV25-001234" in shown


def test_from_row_takes_a_database_mapping() -> None:
    notification = make()
    row = {f.name: getattr(notification, f.name) for f in dataclasses.fields(Notification)}
    row["channels"] = ["email"]
    del row["kind"], row["arm"]
    rebuilt = Notification.from_row(row)
    assert rebuilt.channels == ("email",)
    assert rebuilt.kind == "initial" and rebuilt.arm is None


# --- email ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("language", ["en", "es"])
def test_email_carries_all_eight_items_and_both_links(config: AgencyConfig, language: str) -> None:
    notification = make(language)
    email = render_email(notification, config, TOKEN)
    assert email.language == language
    items = message_items(notification, config, language)
    assert len(items) == 8
    for item in items:
        assert item.label in email.text and item.value in email.text
        assert str(escape(item.label)) in email.html and str(escape(item.value)) in email.html
        if item.href:
            assert f'href="{item.href}"' in email.html
    link = f"https://notify.svpd.example.org/m/{TOKEN}?c=e"
    unsubscribe = f"https://notify.svpd.example.org/u/{TOKEN}"
    for part in (email.html, email.text):
        assert link in part and unsubscribe in part
        assert "Officer J. Ramirez" in part and "SV25-001234" in part
    assert "\n\n\n" not in email.text and email.text.endswith(unsubscribe + "\n")
    assert f'<html lang="{language}"' in email.html
    assert "<h1" in email.html and '<th scope="row"' in email.html


def test_email_subject_names_the_report_but_never_the_offense(config: AgencyConfig) -> None:
    english = render_email(make("en"), config, TOKEN)
    spanish = render_email(make("es"), config, TOKEN)
    assert english.subject == "Your report SV25-001234 with Sonora Vista Police Department"
    assert spanish.subject == "Su reporte SV25-001234 ante Sonora Vista Police Department"
    assert "assault" not in english.subject.lower() and "agresión" not in spanish.subject.lower()


def test_email_html_is_self_contained(config: AgencyConfig) -> None:
    html = render_email(make(), config, TOKEN).html
    assert "<script" not in html.lower() and "<img" not in html.lower() and "<link" not in html.lower()
    assert "@import" not in html and "url(" not in html
    assert set(re.findall(r'href="([a-z]+):', html)) <= {"https", "tel"}


def test_spanish_email_is_spanish(config: AgencyConfig) -> None:
    email = render_email(make("es-MX", first_name="María"), config, TOKEN)
    assert email.language == "es"
    assert "Hola, María:" in email.text and "Si está en peligro, llame al 911." in email.text
    assert "Ver este mensaje en línea" in email.html and "Dejar de recibir estos correos" in email.html


HOSTILE = ["<script>alert(1)</script>", '"><img src=x onerror=alert(1)>']


@pytest.mark.parametrize("name", HOSTILE)
def test_hostile_names_are_escaped_in_html_and_plain_in_text(config: AgencyConfig, name: str) -> None:
    email = render_email(make(first_name=name), config, TOKEN)
    assert name not in email.html
    assert "<script>" not in email.html and "<img" not in email.html
    assert str(escape(name)) in email.html
    assert name in email.text  # text/plain is not HTML: escaping it would garble the name
    sms = render_sms(make(first_name=name), config, TOKEN)
    assert sms.segments.segments <= 2 and "&lt;" not in sms.body


def test_a_name_cannot_add_lines_to_the_text_part(config: AgencyConfig) -> None:
    email = render_email(make(first_name="Ana\n\nCall +1 555 0100 now\u202e"), config, TOKEN)
    assert "Hello Ana Call +1 555 0100 now," in email.text
    assert "\u202e" not in email.text and "\u202e" not in email.html


def test_templates_are_strict_and_escape_only_html() -> None:
    env = environment()
    assert env.undefined.__name__ == "StrictUndefined"
    assert env.get_template("initial.email.html.j2").render  # compiled once, cached
    assert env.autoescape("initial.email.html.j2") is True
    assert env.autoescape("initial.email.txt.j2") is False
    assert env.autoescape("initial.sms.txt.j2") is False


def test_unknown_or_unsafe_kind_is_refused(config: AgencyConfig) -> None:
    with pytest.raises(ValueError, match="kind"):
        render_sms(make(kind="../initial"), config, TOKEN)
    with pytest.raises(ValueError, match="token"):
        render_email(make(), config, "not a token/..")


# --- SMS -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(("language", "label"), [("en", "Serious assault"), ("es", "Robo")])
def test_sms_has_name_offense_link_and_stop(config: AgencyConfig, language: str, label: str) -> None:
    code = "13A" if language == "en" else "23H"
    sms = render_sms(make(language, code, first_name="Lupe"), config, TOKEN)
    assert sms.language == language
    assert "Lupe" in sms.body and label in sms.body and "SVPD" in sms.body
    assert f"https://notify.svpd.example.org/m/{TOKEN}?c=s" in sms.body
    assert sms.body.endswith(STOP_LINES[language])
    assert sms.segments == count_segments(sms.body) and sms.segments.segments <= 2
    assert TOKEN_PATTERN.search(sms.body)["token"] == TOKEN


def test_discreet_mode_leaves_the_offense_out(config: AgencyConfig) -> None:
    for language, code in (("en", "13B"), ("es", "23H")):
        notification = make(language, code, first_name="Lupe")
        sms = render_sms(notification, discreet(config), TOKEN)
        assert notification.offense_name not in sms.body
        assert "Lupe" in sms.body and "?c=s" in sms.body and STOP_LINES[language] in sms.body
        assert notification.offense_name in render_sms(notification, config, TOKEN).body


def test_spanish_accents_are_ucs2_so_texts_fold_them_and_keep_name_and_offense(config: AgencyConfig) -> None:
    """á í ó ú are not GSM-7: "María" would make the message UCS-2, where two segments hold only
    134 units, too few beside an 81-character link. Texts fold those accents (as Twilio's Smart
    Encoding does) so the name and the offense stay; é ñ ü ¿ ¡ are GSM-7 and are kept as written."""
    assert count_segments("Hola, María").encoding == "UCS-2"
    assert count_segments("Hola, José. ¿Señor Núñez? ¡Gracias!").encoding == "UCS-2"  # ú
    assert count_segments("Hola, José. ¿Señor Nuñez? ¡Gracias!").encoding == "GSM-7"  # é ñ ¿ ¡
    assert gsm7_fold("María Núñez José 😀") == "Maria Nuñez José 😀"
    sms = render_sms(make("es", "23H", first_name="María"), config, TOKEN)
    unfolded = sms.body.replace("Hola, Maria.", "Hola, María.")
    assert unfolded != sms.body and count_segments(unfolded).encoding == "UCS-2"
    assert count_segments(unfolded).segments > 2
    assert sms.segments == count_segments(sms.body)
    assert sms.segments.encoding == "GSM-7" and sms.segments.segments <= 2
    assert "Hola, Maria." in sms.body and "Su reporte: Robo." in sms.body and STOP_LINES["es"] in sms.body


def test_accented_offense_label_is_folded_in_texts_but_not_in_email(config: AgencyConfig) -> None:
    notification = make("es", "13B", first_name="Lupe")  # "Agresión": ó
    sms = render_sms(notification, config, TOKEN)
    assert "Lupe" in sms.body and "Agresion" in sms.body and "Agresión" not in sms.body
    assert sms.segments.encoding == "GSM-7" and sms.segments.segments <= 2
    assert "Agresión" in render_email(notification, config, TOKEN).html


def test_ucs2_message_is_kept_when_it_fits(config: AgencyConfig) -> None:
    """The emoji stays when the UCS-2 message fits in 134 units (a short portal and no offense)."""
    short = discreet(with_agency(config, portal_base_url="https://v.co", short_name="V"))
    sms = render_sms(make("en", first_name="Jo😀"), short, "t" * 22)
    assert "Jo😀" in sms.body
    assert sms.segments.encoding == "UCS-2" and sms.segments.segments == 2


@pytest.mark.parametrize(
    "name",
    ["A" * 500, "😀" * 250, "María José " * 50, "Ω" + "x" * 499, "👩‍👩‍👧‍👦 Ana", "🙂", "{[~]}" * 100, "   "],
)
def test_sms_always_fits_two_segments(config: AgencyConfig, name: str) -> None:
    for language in ("en", "es"):
        for code in ("13A", "26B", "26G", "270"):
            sms = render_sms(make(language, code, first_name=name), config, TOKEN)
            assert count_segments(sms.body).segments <= 2, (language, code)
            assert f"/m/{TOKEN}?c=s" in sms.body and STOP_LINES[language] in sms.body


def test_long_name_is_cut_not_dropped(config: AgencyConfig) -> None:
    sms = render_sms(make("en", first_name="B" * 500), config, TOKEN)
    greeting = re.match(r"SVPD: Hi (B+)\. ", sms.body)
    assert greeting and MIN_HARD_CUT <= len(greeting[1]) < 500
    assert "Your report: Serious assault." in sms.body  # the offense outlives a long name


def test_long_name_is_cut_at_a_word_boundary(config: AgencyConfig) -> None:
    name = " ".join(["Maria", "Guadalupe", "Fernanda"] * 30)
    sms = render_sms(make("en", first_name=name), config, TOKEN)
    kept = re.match(r"SVPD: Hi (.+?)\. Your report", sms.body)[1]
    assert kept and name.startswith(kept) and name[len(kept)] == " "
    assert len(kept) < len(name)


def test_short_wide_name_is_dropped_not_mangled(config: AgencyConfig) -> None:
    """A name that cannot be folded to GSM-7 and does not fit whole goes entirely, never cut."""
    sms = render_sms(make("en", first_name="Rá😀l"), config, TOKEN)
    assert "Ra" not in sms.body.split(".")[0]  # never "Hi Ra." or "Hi Ra😀."
    assert sms.body.startswith("SVPD: Hello. Your report: Serious assault.")
    assert render_sms(make("en", first_name="Raúl"), config, TOKEN).body.startswith("SVPD: Hi Raul.")


def test_text_templates_do_not_html_escape(config: AgencyConfig) -> None:
    sms = render_sms(make("en", first_name="Tom & Jerry"), config, TOKEN)
    assert "Tom & Jerry" in sms.body and "&amp;" not in sms.body


def test_impossible_configuration_is_reported_not_truncated(config: AgencyConfig) -> None:
    huge = with_agency(config, portal_base_url="https://" + ".".join(["a" * 60] * 4) + ".example.org")
    with pytest.raises(SmsTooLong, match="portal_base_url"):
        render_sms(make(), huge, TOKEN)


def test_links(config: AgencyConfig) -> None:
    assert message_url(config, TOKEN, "e") == f"https://notify.svpd.example.org/m/{TOKEN}?c=e"
    assert unsubscribe_url(config, TOKEN) == f"https://notify.svpd.example.org/u/{TOKEN}"


names = st.text(st.characters(codec="utf-8"), max_size=600)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    name=names,
    label=st.sampled_from(SEED_LABELS),
    language=st.sampled_from(["en", "es"]),
    is_discreet=st.booleans(),
)
def test_property_sms_fits_and_keeps_link_and_stop(
    config: AgencyConfig, name: str, label: str, language: str, is_discreet: bool
) -> None:
    settings_ = discreet(config) if is_discreet else config
    sms = render_sms(make(language, first_name=name, offense_name=label), settings_, TOKEN)
    count = count_segments(sms.body)
    assert count.segments <= 2 and count == sms.segments
    assert f"https://notify.svpd.example.org/m/{TOKEN}?c=s" in sms.body
    assert sms.body.endswith("\n" + STOP_LINES[language])
    assert TOKEN_PATTERN.search(sms.body)["token"] == TOKEN
    if is_discreet:  # the offense cannot change a discreet message
        assert sms == render_sms(make(language, first_name=name, offense_name=None), settings_, TOKEN)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(before=names, after=names, language=st.sampled_from(["en", "es"]))
def test_property_html_never_contains_a_raw_name_with_markup(
    config: AgencyConfig, before: str, after: str, language: str
) -> None:
    name = before + "<" + after
    baseline = render_email(make(language, first_name="Nadie"), config, TOKEN).html
    assume(name not in baseline)  # e.g. "<t" is in "<title>" whoever the victim is
    html = render_email(make(language, first_name=name), config, TOKEN).html
    assert name not in html
    cleaned = clean_text(name)
    assert str(escape(cleaned)) in html


# --- segments ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "encoding", "units", "segments"),
    [
        ("", "GSM-7", 0, 1),
        ("a" * 160, "GSM-7", 160, 1),
        ("a" * 161, "GSM-7", 161, 2),
        ("a" * 306, "GSM-7", 306, 2),
        ("a" * 307, "GSM-7", 307, 3),
        ("€" * 80, "GSM-7", 160, 1),  # extension characters cost two septets
        ("a" * 159 + "^", "GSM-7", 161, 2),
        ("{}[]~|\\^€\f", "GSM-7", 20, 1),
        ("é ñ ü ¿ ¡ Ñ Ü à è ù ì ò Ç É Ø Å Æ ß Δ", "GSM-7", 37, 1),
        # 152 plain + one extension character: the escape pair is never split across parts.
        ("a" * 152 + "€" + "a" * 10, "GSM-7", 164, 2),
        ("a" * 305 + "€", "GSM-7", 307, 3),
        ("á" * 70, "UCS-2", 70, 1),
        ("á" * 71, "UCS-2", 71, 2),
        ("ó" * 134, "UCS-2", 134, 2),
        ("ú" * 135, "UCS-2", 135, 3),
        ("Buenos días", "UCS-2", 11, 1),
        ("😀" * 35, "UCS-2", 70, 1),  # surrogate pairs: two code units each
        ("😀" * 36, "UCS-2", 72, 2),
        ("a" + "😀" * 35, "UCS-2", 71, 2),
        ("😀" * 67, "UCS-2", 134, 3),
        ("a" * 159 + "😀", "UCS-2", 161, 3),
    ],
)
def test_segment_golden_cases(text: str, encoding: str, units: int, segments: int) -> None:
    count = count_segments(text)
    assert (count.encoding, count.units, count.segments) == (encoding, units, segments)


# --- tokens --------------------------------------------------------------------------------------


def test_tokens_are_long_url_safe_and_unique() -> None:
    drawn = [new_token() for _ in range(10_000)]
    assert len(set(drawn)) == 10_000
    for token in drawn[:100]:
        assert len(token) >= 22 and re.fullmatch(r"[A-Za-z0-9_-]+", token)
        assert len(token) == 43  # 256 bits
        assert TOKEN_PATTERN.search(f"https://x.example/m/{token}?c=s")["token"] == token


def test_only_a_hash_is_stored() -> None:
    token = new_token()
    digest = hash_token(token)
    assert re.fullmatch(r"[0-9a-f]{64}", digest) and digest != token and token not in digest
    assert digest == hash_token(token) and digest != hash_token(new_token())


def test_token_pattern_ignores_longer_runs() -> None:
    assert TOKEN_PATTERN.search(f"/m/{TOKEN}x?c=s") is None
    assert TOKEN_PATTERN.search(f"/u/{TOKEN}") is None


def test_link_expiry() -> None:
    sent = dt.datetime(2025, 3, 1, 15, 0, tzinfo=dt.UTC)
    assert link_expiry(sent, 60) == dt.datetime(2025, 4, 30, 15, 0, tzinfo=dt.UTC)
    with pytest.raises(ValueError, match="aware"):
        link_expiry(dt.datetime(2025, 3, 1, 15, 0), 60)
