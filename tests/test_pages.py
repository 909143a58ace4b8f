"""The victim pages over HTTP against a real PostgreSQL: message page, survey, unsubscribe.

Each test gets its own migrated database (`clean_db_url`) and talks HTTP with httpx to the whole
app (lifespan and connection pool included) served by uvicorn on a thread.
"""

from __future__ import annotations

import datetime as dt
import html
import json
import statistics
import time
from collections.abc import Iterator

import httpx
import psycopg
import pytest
from markupsafe import escape
from sending import PAYLOAD

from notifications import catalog
from notifications.message import message_items, notification_from_outbox
from notifications.tokens import hash_token, new_token
from vnotify.config import load_config
from web import surveys
from web.app import WebSettings, create_app
from web.pages import public_phone
from web.server import RunningServer

CONFIG = load_config()
EXPERIMENT = "victim-followup-2025"
HOSTILE_NAME = "<script>alert(1)</script>"
HOSTILE_OFFICER = '"><img src=x onerror=alert(1)>'


# --- helpers -------------------------------------------------------------------------------


def add_outbox(
    url: str,
    channel: str = "sms",
    language: str = "en",
    address: str | None = None,
    i: int = 1,
    kind: str = "initial",
    subject: str = "",
    **payload: object,
) -> dict:
    """One sent notification as the dispatcher leaves it (state `sent`, a provider id)."""
    to = address or (f"+1520700{i:04d}" if channel == "sms" else f"victim{i}@example.org")
    columns = {
        "victim_key": f"vk{i:06d}",
        "report_number": f"SV25-{i:06d}",
        "kind": kind,
        "channel": channel,
        "address": to,
        "language": language,
        "payload": {**PAYLOAD, **payload},
        "subject": subject,
    }
    with psycopg.connect(url) as conn:
        (outbox_id,) = conn.execute(
            """
            INSERT INTO ops.outbox (victim_key, report_number, kind, channel, address, language, payload,
                                    subject, state, provider_id, attempts, sent_at)
            VALUES (%s, %s, %s, %s, %s, %s, %s, %s, 'sent', %s, 1, now()) RETURNING outbox_id
            """,
            (
                *[columns[key] for key in ("victim_key", "report_number", "kind", "channel", "address")],
                language,
                json.dumps(columns["payload"]),
                subject,
                f"SM{i:032d}",
            ),
        ).fetchone()
    return {**columns, "outbox_id": outbox_id}


def issue_token(url: str, outbox_id: int, days: int = 60, expired: bool = False) -> str:
    token = new_token()
    expires = "now() - interval '1 minute'" if expired else f"now() + interval '{days} days'"
    with psycopg.connect(url) as conn:
        conn.execute(
            f"INSERT INTO ops.message_tokens (token_hash, outbox_id, attempt, expires_at) "
            f"VALUES (%s, %s, 1, {expires})",
            (hash_token(token), outbox_id),
        )
    return token


def invite(url: str, i: int = 1, language: str = "en", arm: str = "A", days: int = 30) -> str:
    with psycopg.connect(url) as conn:
        token = surveys.create_invitation(
            conn, f"vk{i:06d}", f"SV25-{i:06d}", EXPERIMENT, arm, "sms", language, days
        )
    assert token is not None
    return token


def rows(url: str, query: str, *params: object) -> list[tuple]:
    with psycopg.connect(url) as conn:
        return conn.execute(query, params).fetchall()


def expected_items(row: dict, language: str):
    return message_items(notification_from_outbox(row), CONFIG, language)


def assert_security_headers(response) -> None:
    headers = response.headers
    assert headers["cache-control"] == "no-store"
    assert headers["referrer-policy"] == "no-referrer"
    assert "noindex" in headers["x-robots-tag"]
    assert headers["x-content-type-options"] == "nosniff"
    csp = headers["content-security-policy"]
    assert "default-src 'self'" in csp
    assert "script-src 'none'" in csp
    assert "unsafe-inline" not in csp
    assert "frame-ancestors 'none'" in csp


PRIVATE_BITS = (
    "SV25-000001",
    "Ana",
    "Theft",
    "Officer R. Diaz",
    "Someone took property",
    "victim1@",
    "7000001",
)


@pytest.fixture
def client(clean_db_url: str) -> Iterator[httpx.Client]:
    app = create_app(WebSettings(database_url=clean_db_url, pool_size=4), CONFIG)
    with RunningServer(app) as server, httpx.Client(base_url=server.base_url, timeout=10) as client:
        yield client


# --- the message page ----------------------------------------------------------------------


def test_message_page_shows_all_eight_items_in_english(clean_db_url, client):
    row = add_outbox(clean_db_url, "email", "en")
    response = client.get(f"/m/{issue_token(clean_db_url, row['outbox_id'])}?c=e")
    assert response.status_code == 200
    page = response.text
    assert '<html lang="en"' in page
    items = expected_items(row, "en")
    assert [item.key for item in items] == [
        "report_number",
        "offense",
        "officer",
        "reported_at",
        "explanation",
        "next_steps",
        "substation_phone",
        "investigations_phone",
    ]
    for item in items:
        assert f"<dt>{html.escape(item.label)}</dt>" in page
        assert html.escape(item.value) in page
    # Values as a victim reads them, in the agency's time zone (Phoenix, UTC-7).
    for text in ("SV25-000001", "Theft", "Officer R. Diaz", "May 30, 2025, 9:45 AM", "Hello Ana,"):
        assert text in page
    assert '<a class="tel" href="tel:+15205550101">(520) 555-0101</a>' in page
    assert '<a class="tel" href="tel:+15205550111">(520) 555-0111</a>' in page


def test_message_page_is_in_spanish_for_a_spanish_speaker(clean_db_url, client):
    row = add_outbox(clean_db_url, "sms", "es")
    page = client.get(f"/m/{issue_token(clean_db_url, row['outbox_id'])}?c=s").text
    assert '<html lang="es"' in page
    for item in expected_items(row, "es"):
        assert f"<dt>{html.escape(item.label)}</dt>" in page
        assert html.escape(item.value) in page
    assert "Número de reporte" in page
    assert "30 de mayo de 2025, 9:45" in page
    assert "Hola, Ana:" in page
    assert "Type of crime" not in page


def test_the_language_switch_links_both_languages_and_keeps_the_channel(clean_db_url, client):
    row = add_outbox(clean_db_url, "sms", "en")
    token = issue_token(clean_db_url, row["outbox_id"])
    english = client.get(f"/m/{token}?c=s").text
    assert 'href="?c=s&amp;lang=es" lang="es" hreflang="es">Español</a>' in english
    assert '<span class="current" lang="en" aria-current="page">English</span>' in english
    spanish = client.get(f"/m/{token}?c=s&lang=es").text
    assert '<html lang="es"' in spanish
    assert "Tipo de delito" in spanish
    assert 'href="?c=s&amp;lang=en" lang="en" hreflang="en">English</a>' in spanish
    # A language the agency does not offer falls back to the victim's.
    assert '<html lang="en"' in client.get(f"/m/{token}?c=s&lang=fr").text


def test_opened_is_recorded_once_per_channel(clean_db_url, client):
    row = add_outbox(clean_db_url, "email", "en")
    token = issue_token(clean_db_url, row["outbox_id"])
    for query in ("?c=e", "?c=e", "?c=e&lang=es", "?c=s", "?c=s"):
        assert client.get(f"/m/{token}{query}").status_code == 200
    events = rows(
        clean_db_url,
        "SELECT source, event, outbox_id, dedupe_key, detail ->> 'channel' FROM ops.events ORDER BY dedupe_key",
    )
    oid = row["outbox_id"]
    assert events == [
        ("page", "opened", oid, f"page:opened:{oid}:e", "email"),
        ("page", "opened", oid, f"page:opened:{oid}:s", "sms"),
    ]
    # Without `c` the visit counts for the channel the message went out on.
    client.get(f"/m/{token}")
    assert len(rows(clean_db_url, "SELECT 1 FROM ops.events")) == 2


@pytest.mark.parametrize("case", ["expired", "unknown", "malformed", "truncated"])
def test_a_link_that_opens_nothing_is_a_plain_404_without_the_victims_data(clean_db_url, client, case):
    row = add_outbox(clean_db_url, "sms", "en")
    good = issue_token(clean_db_url, row["outbox_id"])
    token = {
        "expired": issue_token(clean_db_url, row["outbox_id"], expired=True),
        "unknown": new_token(),
        "malformed": "not a token <b>" + "x" * 200,
        "truncated": good[:-1],
    }[case]
    response = client.get(f"/m/{token}", params={"c": "s"})
    assert response.status_code == 404
    page = response.text
    assert catalog.STRINGS["en"]["invalid.title"] in page
    for private in PRIVATE_BITS:
        assert private not in page
    assert "<b>" not in page
    phone = public_phone(CONFIG)
    assert f'href="tel:{phone}"' in page
    assert_security_headers(response)
    assert rows(clean_db_url, "SELECT 1 FROM ops.events") == []
    spanish = client.get(f"/m/{token}", params={"lang": "es"})
    assert spanish.status_code == 404
    assert catalog.STRINGS["es"]["invalid.title"] in spanish.text


def test_a_miss_takes_about_as_long_as_a_hit(clean_db_url, client):
    row = add_outbox(clean_db_url, "sms", "en")
    good = issue_token(clean_db_url, row["outbox_id"])
    client.get(f"/m/{good}?c=s")  # the first visit writes its event; later visits find it there

    def seconds(token: str) -> float:
        started = time.perf_counter()
        client.get(f"/m/{token}?c=s")
        return time.perf_counter() - started

    for _ in range(5):  # warm up both paths
        seconds(good)
        seconds(new_token())
    # Hits and misses alternate, so a busy machine slows both alike rather than one of them.
    pairs = [(seconds(good), seconds(new_token())) for _ in range(40)]
    hit = statistics.median(h for h, _ in pairs)
    miss = statistics.median(m for _, m in pairs)
    # Loose: the same lookup and a render on both paths keep them within a small factor.
    assert miss < hit * 3 + 0.005, (hit, miss)
    assert hit < miss * 3 + 0.005, (hit, miss)


def test_hostile_names_are_shown_as_text(clean_db_url, client):
    row = add_outbox(
        clean_db_url,
        "email",
        "en",
        first_name=HOSTILE_NAME,
        officer_name=HOSTILE_OFFICER,
        offense_name=HOSTILE_NAME,
    )
    page = client.get(f"/m/{issue_token(clean_db_url, row['outbox_id'])}?c=e").text
    assert "<script" not in page
    assert "<img" not in page
    assert "onerror=alert(1)>" not in page
    assert "Hello &lt;script&gt;alert(1)&lt;/script&gt;," in page
    assert "&#34;&gt;&lt;img src=x onerror=alert(1)&gt;" in page


# --- the follow-up notices on the message page --------------------------------------------------


def status_update_payload(**changes: object) -> dict:
    """What outbox.enqueue_status_updates stores: no explanation or next steps, and what changed."""
    payload = {k: v for k, v in PAYLOAD.items() if k not in ("explanation", "next_steps")}
    return {
        **payload,
        "case_status": "cleared_arrest",
        "assigned_detective": None,
        "change_type": "case_status",
        **changes,
    }


def add_status_update(url: str, language: str = "en", i: int = 1, **changes: object) -> dict:
    payload = status_update_payload(**changes)
    subject = payload["case_status"] if payload["change_type"] == "case_status" else "detective:x"
    row = add_outbox(url, "sms", language, i=i, kind="status_update", subject=subject)
    with psycopg.connect(url) as conn:  # the payload exactly as queued (add_outbox merges PAYLOAD)
        conn.execute(
            "UPDATE ops.outbox SET payload = %s WHERE outbox_id = %s", (json.dumps(payload), row["outbox_id"])
        )
    return {**row, "payload": payload}


@pytest.mark.parametrize("language", ["en", "es"])
def test_a_reporting_partys_page_says_the_report_was_filed_and_nothing_about_the_offense(
    clean_db_url, client, language
):
    strings = catalog.STRINGS[language]
    row = add_outbox(clean_db_url, "sms", language, kind="reporting_party")
    token = issue_token(clean_db_url, row["outbox_id"])
    page = client.get(f"/m/{token}?c=s").text
    assert f'<html lang="{language}"' in page
    assert f"<h1>{html.escape(strings['reporting_party.heading'])}</h1>" in page
    assert html.escape(strings["reporting_party.intro"].format(agency=CONFIG.agency.name)) in page
    items = expected_items(row, language)
    assert [item.key for item in items] == [
        "report_number",
        "officer",
        "reported_at",
        "substation_phone",
        "investigations_phone",
    ]
    for item in items:
        assert f"<dt>{html.escape(item.label)}</dt>" in page and html.escape(item.value) in page
    for victim_wording in ("Theft", "Someone took property", "Keep receipts", strings["item.offense"]):
        assert html.escape(victim_wording) not in page
    # The language switch gives the same notice in the other language.
    other = "es" if language == "en" else "en"
    switched = client.get(f"/m/{token}?c=s&lang={other}").text
    assert html.escape(catalog.STRINGS[other]["reporting_party.heading"]) in switched
    assert f'href="?c=s&amp;lang={language}"' in switched


@pytest.mark.parametrize("language", ["en", "es"])
@pytest.mark.parametrize("status", ["cleared_arrest", "cleared_exceptional", "suspended", "closed"])
def test_a_status_update_page_says_what_changed_in_both_languages(clean_db_url, client, language, status):
    row = add_status_update(clean_db_url, language, case_status=status, assigned_detective="Det. Sam Ortiz")
    token = issue_token(clean_db_url, row["outbox_id"])
    for shown in (language, "es" if language == "en" else "en"):
        strings = catalog.STRINGS[shown]
        page = client.get(f"/m/{token}?c=s&lang={shown}").text
        assert f'<html lang="{shown}"' in page
        assert f"<h1>{html.escape(strings['status_update.heading'])}</h1>" in page
        assert f'<p class="change">{escape(strings[f"status.change.{status}"])}</p>' in page
        assert f"<dd>{html.escape(strings[f'status.label.{status}'])}</dd>" in page
        assert "<dd>Det. Sam Ortiz</dd>" in page
        assert '<a class="tel" href="tel:+15205550111">(520) 555-0111</a>' in page
        assert html.escape(strings["item.explanation"]) not in page


def test_a_detective_update_page_names_the_detective_escaped(clean_db_url, client):
    row = add_status_update(
        clean_db_url, "en", change_type="detective", case_status="open", assigned_detective=HOSTILE_OFFICER
    )
    page = client.get(f"/m/{issue_token(clean_db_url, row['outbox_id'])}?c=e").text
    assert "<img" not in page and "onerror=alert(1)>" not in page
    escaped = escape(HOSTILE_OFFICER)
    assert f'<p class="change">A detective was assigned to your case: {escaped}.</p>' in page
    assert f"<dd>{escaped}</dd>" in page


def test_an_expired_status_update_link_opens_nothing(clean_db_url, client):
    """An expired follow-up token opens nothing, like any other."""
    row = add_status_update(clean_db_url, "en", assigned_detective="Det. Sam Ortiz")
    response = client.get(f"/m/{issue_token(clean_db_url, row['outbox_id'], expired=True)}?c=s")
    assert response.status_code == 404
    assert "Ortiz" not in response.text and "SV25-000001" not in response.text


@pytest.mark.server
def test_every_page_sends_the_security_headers(clean_db_url, client):
    row = add_outbox(clean_db_url, "email", "en")
    token = issue_token(clean_db_url, row["outbox_id"])
    survey = invite(clean_db_url)
    for path in (
        f"/m/{token}?c=e",
        f"/u/{token}",
        f"/s/{survey}",
        f"/s/{survey}/thanks",
        f"/s/{new_token()}",
    ):
        response = client.get(path)
        assert response.headers["content-type"].startswith("text/html"), path
        assert_security_headers(response)
    css = client.get("/static/pages.css")
    assert css.status_code == 200
    assert css.headers["content-type"].startswith("text/css")
    assert "focus-visible" in css.text
    assert css.headers["x-content-type-options"] == "nosniff"


def test_pages_load_nothing_from_elsewhere_and_have_no_scripts(clean_db_url, client):
    row = add_outbox(clean_db_url, "sms", "en")
    pages = [
        client.get(f"/m/{issue_token(clean_db_url, row['outbox_id'])}?c=s").text,
        client.get(f"/s/{invite(clean_db_url)}").text,
        client.get(f"/m/{new_token()}").text,
    ]
    for page in pages:
        assert "<script" not in page
        assert "http://" not in page
        assert "https://" not in page  # no CDN, font, analytics or any other host
        assert '<link rel="stylesheet" href="/static/pages.css">' in page
        assert "<main" in page
        assert "<h1>" in page


# --- the survey ----------------------------------------------------------------------------


def response_row(url: str) -> dict:
    with psycopg.connect(url, row_factory=psycopg.rows.dict_row) as conn:
        return conn.execute(
            """
            SELECT r.*, i.first_opened_at, i.completed_at
            FROM ops.survey_responses AS r JOIN ops.survey_invitations AS i USING (invitation_id)
            """
        ).fetchone()


def test_survey_form_in_both_languages(clean_db_url, client):
    english = client.get(f"/s/{invite(clean_db_url, 1, 'en')}")
    assert english.status_code == 200
    assert '<html lang="en"' in english.text
    for key in ("survey.preferred_letter", "survey.likely_legend", "survey.trust_5", "survey.submit"):
        assert html.escape(catalog.STRINGS["en"][key]) in english.text
    spanish_token = invite(clean_db_url, 2, "es")
    spanish = client.get(f"/s/{spanish_token}")
    assert '<html lang="es"' in spanish.text
    assert html.escape(catalog.STRINGS["es"]["survey.trust_1"]) in spanish.text
    assert '<html lang="en"' in client.get(f"/s/{spanish_token}?lang=en").text
    # Every choice has a label and every group a legend.
    assert english.text.count('<label class="choice">') == 4 + 2 + 5 + 5
    assert english.text.count("<legend>") == 4
    assert '<label for="free_text">' in english.text


def test_first_opened_is_set_once(clean_db_url, client):
    token = invite(clean_db_url)
    assert rows(clean_db_url, "SELECT first_opened_at FROM ops.survey_invitations") == [(None,)]
    client.get(f"/s/{token}")
    [(first,)] = rows(clean_db_url, "SELECT first_opened_at FROM ops.survey_invitations")
    assert first is not None
    client.get(f"/s/{token}?lang=es")
    assert rows(clean_db_url, "SELECT first_opened_at FROM ops.survey_invitations") == [(first,)]


def test_survey_saves_partial_answers_then_completes(clean_db_url, client):
    token = invite(clean_db_url)
    client.get(f"/s/{token}")
    saved = client.post(f"/s/{token}?lang=en", data={"service_rating": "4", "action": "save"})
    assert saved.status_code == 303
    assert saved.headers["location"] == f"/s/{token}?lang=en&saved=1"
    first = response_row(clean_db_url)
    assert first["service_rating"] == 4
    assert first["trust_rating"] is None
    assert first["likely_to_call"] is None
    assert first["preferred_text"] is None
    assert first["completed"] is False
    assert first["completed_at"] is None
    # A second partial save keeps the first one's answer.
    client.post(f"/s/{token}", data={"trust_rating": "5", "likely_to_call": "no", "action": "save"})
    second = response_row(clean_db_url)
    assert (second["service_rating"], second["trust_rating"], second["likely_to_call"]) == (4, 5, False)
    # The saved answers come back ticked, with a notice.
    form = client.get(f"/s/{token}?lang=en&saved=1").text
    assert 'name="service_rating" value="4" checked' in form
    assert 'name="trust_rating" value="5" checked' in form
    assert 'name="likely_to_call" value="no" checked' in form
    assert catalog.STRINGS["en"]["survey.saved"] in form

    time.sleep(0.05)
    done = client.post(
        f"/s/{token}?lang=en",
        data={
            "preferred_shown": "1",
            "preferred": ["text", "phone"],
            "likely_to_call": "no",
            "service_rating": "4",
            "trust_rating": "5",
            "free_text": "Thank you.\x00",
            "action": "submit",
        },
    )
    assert done.status_code == 303
    assert done.headers["location"] == f"/s/{token}/thanks?lang=en"
    row = response_row(clean_db_url)
    assert row["completed"] is True
    assert (
        row["preferred_text"],
        row["preferred_email"],
        row["preferred_letter"],
        row["preferred_phone"],
    ) == (
        True,
        False,
        False,
        True,
    )
    assert row["free_text"] == "Thank you."
    assert row["completed_at"] is not None
    expected = (row["completed_at"] - row["first_opened_at"]).total_seconds()
    assert row["seconds_on_survey"] == pytest.approx(expected, abs=0.01)
    assert row["seconds_on_survey"] >= 0.05
    thanks = client.get(done.headers["location"])
    assert catalog.STRINGS["en"]["survey.thanks_title"] in thanks.text


def test_resubmitting_updates_the_one_response(clean_db_url, client):
    token = invite(clean_db_url)
    client.get(f"/s/{token}")
    client.post(f"/s/{token}", data={"service_rating": "2", "preferred": "email", "action": "submit"})
    before = response_row(clean_db_url)
    client.post(
        f"/s/{token}",
        data={"service_rating": "5", "preferred_shown": "1", "free_text": "", "action": "submit"},
    )
    after = response_row(clean_db_url)
    assert len(rows(clean_db_url, "SELECT 1 FROM ops.survey_responses")) == 1
    assert after["service_rating"] == 5
    assert after["preferred_email"] is False  # untick everything: cleared, not kept
    assert after["free_text"] is None
    assert after["completed_at"] == before["completed_at"]  # the survey's time is the first completion
    assert after["seconds_on_survey"] == before["seconds_on_survey"]
    assert after["updated_at"] > before["updated_at"]


def test_answers_outside_the_forms_choices_are_not_stored(clean_db_url, client):
    token = invite(clean_db_url)
    response = client.post(
        f"/s/{token}",
        data={"service_rating": "9", "trust_rating": "0", "likely_to_call": "maybe", "preferred": "fax"},
    )
    assert response.status_code == 303
    row = response_row(clean_db_url)
    assert (row["service_rating"], row["trust_rating"], row["likely_to_call"], row["preferred_text"]) == (
        None,
        None,
        None,
        None,
    )


def test_an_oversized_or_overstuffed_survey_post_is_refused(clean_db_url, client):
    token = invite(clean_db_url)
    too_big = client.post(f"/s/{token}", data={"free_text": "x" * 70_000, "action": "submit"})
    assert too_big.status_code == 413  # web.limits.BodyLimit, before the page reads anything
    too_many = client.post(f"/s/{token}", content="&".join(f"f{i}=1" for i in range(100)).encode())
    assert too_many.status_code == 400
    assert rows(clean_db_url, "SELECT 1 FROM ops.survey_responses") == []
    # A long answer within the limit is kept, cut to the survey's maximum.
    client.post(f"/s/{token}", data={"free_text": "y" * 5000, "action": "save"})
    assert response_row(clean_db_url)["free_text"] == "y" * surveys.FREE_TEXT_MAX


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": "https://evil.example"},
        {"Sec-Fetch-Site": "cross-site"},
        {"Sec-Fetch-Site": "same-site", "Origin": "https://other.svpd.example.org"},
        {"Sec-Fetch-Site": "cross-site", "Origin": "null"},
    ],
)
def test_a_survey_post_from_another_site_is_refused(clean_db_url, client, headers):
    token = invite(clean_db_url)
    response = client.post(f"/s/{token}", data={"service_rating": "1", "action": "submit"}, headers=headers)
    assert response.status_code == 403
    assert rows(clean_db_url, "SELECT 1 FROM ops.survey_responses") == []
    # What browsers send from our own form: same-origin, and (under no-referrer) Origin null;
    # or, from an older browser, our public origin.
    for ours in (
        {"Origin": "null", "Sec-Fetch-Site": "same-origin"},
        {"Origin": "https://notify.svpd.example.org"},
    ):
        same_site = client.post(f"/s/{token}", data={"service_rating": "1", "action": "save"}, headers=ours)
        assert same_site.status_code == 303
    assert response_row(clean_db_url)["service_rating"] == 1


def test_an_expired_or_unknown_survey_link_opens_nothing(clean_db_url, client):
    token = invite(clean_db_url)
    with psycopg.connect(clean_db_url) as conn:
        conn.execute("UPDATE ops.survey_invitations SET expires_at = now() - interval '1 second'")
    for candidate in (token, new_token()):
        assert client.get(f"/s/{candidate}").status_code == 404
        response = client.post(f"/s/{candidate}", data={"service_rating": "3", "action": "submit"})
        assert response.status_code == 404
        assert catalog.STRINGS["en"]["invalid.title"] in response.text
        assert client.get(f"/s/{candidate}/thanks").status_code == 404
    assert rows(clean_db_url, "SELECT 1 FROM ops.survey_responses") == []
    assert rows(clean_db_url, "SELECT first_opened_at FROM ops.survey_invitations") == [(None,)]


def test_a_victim_is_invited_once_per_experiment(clean_db_url):
    with psycopg.connect(clean_db_url) as conn:
        first = surveys.create_invitation(conn, "vk1", "SV25-1", EXPERIMENT, "B", "email", "es", 30)
        again = surveys.create_invitation(conn, "vk1", "SV25-1", EXPERIMENT, "A", "sms", "en", 30)
        other = surveys.create_invitation(conn, "vk1", "SV25-1", "another-experiment", "A", "sms", "en", 30)
        stored = conn.execute(
            "SELECT experiment, arm, channel, token_hash FROM ops.survey_invitations ORDER BY invitation_id"
        ).fetchall()
        with pytest.raises(psycopg.errors.CheckViolation):
            surveys.create_invitation(conn, "vk2", "SV25-2", EXPERIMENT, "C", "sms", "en", 30)
    assert first and other and again is None
    assert stored == [
        (EXPERIMENT, "B", "email", hash_token(first)),
        ("another-experiment", "A", "sms", hash_token(other)),
    ]


# --- unsubscribe ---------------------------------------------------------------------------


def opt_outs(url: str) -> list[tuple]:
    return rows(url, "SELECT channel, address, source FROM ops.opt_outs")


def unsubscribed_events(url: str) -> list[tuple]:
    return rows(url, "SELECT outbox_id, dedupe_key FROM ops.events WHERE event = 'unsubscribed'")


def test_unsubscribe_confirms_then_records_the_opt_out_once(clean_db_url, client):
    row = add_outbox(clean_db_url, "email", "es")
    token = issue_token(clean_db_url, row["outbox_id"])
    page = client.get(f"/u/{token}")
    assert page.status_code == 200
    assert '<html lang="es"' in page.text
    assert catalog.STRINGS["es"]["unsubscribe.button"] in page.text
    assert "victim1@example.org" not in page.text
    assert opt_outs(clean_db_url) == []  # a GET (or a link scanner) never unsubscribes
    for _ in range(2):
        response = client.post(f"/u/{token}?lang=es", headers={"Origin": "https://notify.svpd.example.org"})
        assert response.status_code == 303
    assert opt_outs(clean_db_url) == [("email", "victim1@example.org", "email_unsubscribe")]
    oid = row["outbox_id"]
    assert unsubscribed_events(clean_db_url) == [(oid, f"page:unsubscribed:{oid}")]
    done = client.get(response.headers["location"])
    assert catalog.STRINGS["es"]["unsubscribe.done_title"] in done.text
    assert "<form" not in done.text


def test_one_click_unsubscribe_rfc8058(clean_db_url, client):
    row = add_outbox(clean_db_url, "email", "en")
    token = issue_token(clean_db_url, row["outbox_id"])
    # A mailbox provider posts from its servers: no Origin of ours, no cookies, no page.
    for _ in range(2):
        response = client.post(
            f"/u/{token}",
            content=b"List-Unsubscribe=One-Click",
            headers={"Content-Type": "application/x-www-form-urlencoded", "Origin": "https://mail.example"},
        )
        assert response.status_code == 200
    assert opt_outs(clean_db_url) == [("email", "victim1@example.org", "email_unsubscribe")]
    assert len(unsubscribed_events(clean_db_url)) == 1
    [(detail,)] = rows(clean_db_url, "SELECT detail FROM ops.events")
    assert detail == {"channel": "email", "one_click": True}


def test_one_click_unsubscribe_as_multipart_and_after_the_link_expired(clean_db_url, client):
    row = add_outbox(clean_db_url, "email", "en")
    token = issue_token(clean_db_url, row["outbox_id"], expired=True)
    response = client.post(f"/u/{token}", files={"List-Unsubscribe": (None, "One-Click")})
    assert response.status_code == 200
    assert opt_outs(clean_db_url) == [("email", "victim1@example.org", "email_unsubscribe")]


def test_unsubscribe_after_retention_removed_the_address(clean_db_url, client):
    row = add_outbox(clean_db_url, "email", "en")
    token = issue_token(clean_db_url, row["outbox_id"], expired=True)
    with psycopg.connect(clean_db_url) as conn:
        conn.execute("UPDATE ops.outbox SET address = NULL WHERE outbox_id = %s", (row["outbox_id"],))
    assert "victim1@example.org" not in client.get(f"/u/{token}").text
    response = client.post(f"/u/{token}", data={"List-Unsubscribe": "One-Click"})
    assert response.status_code == 200
    assert opt_outs(clean_db_url) == []
    assert len(unsubscribed_events(clean_db_url)) == 1


def test_unsubscribe_refuses_cross_site_forms_and_texts(clean_db_url, client):
    email_row = add_outbox(clean_db_url, "email", "en")
    sms_row = add_outbox(clean_db_url, "sms", "en", i=2)
    email_token = issue_token(clean_db_url, email_row["outbox_id"])
    sms_token = issue_token(clean_db_url, sms_row["outbox_id"])
    forged = client.post(f"/u/{email_token}", headers={"Sec-Fetch-Site": "cross-site"})
    assert forged.status_code == 403
    assert client.get(f"/u/{sms_token}").status_code == 404
    assert client.post(f"/u/{sms_token}").status_code == 404
    assert client.post(f"/u/{new_token()}", content=b"List-Unsubscribe=One-Click").status_code == 404
    assert opt_outs(clean_db_url) == []
    assert unsubscribed_events(clean_db_url) == []


# --- guessing ------------------------------------------------------------------------------


def test_a_thousand_guessed_tokens_open_nothing(clean_db_url, client):
    for i in range(5):
        row = add_outbox(clean_db_url, "email", "en", i=i)
        issue_token(clean_db_url, row["outbox_id"])
        invite(clean_db_url, i)
    statuses = set()
    for i in range(1000):
        guess = new_token()
        path = ("/m/{}?c=s", "/s/{}", "/u/{}")[i % 3].format(guess)
        statuses.add(client.get(path).status_code)
    for _ in range(20):
        statuses.add(client.post(f"/u/{new_token()}", content=b"List-Unsubscribe=One-Click").status_code)
        statuses.add(client.post(f"/s/{new_token()}", data={"action": "submit"}).status_code)
    assert statuses == {404}
    assert rows(clean_db_url, "SELECT 1 FROM ops.events") == []
    assert opt_outs(clean_db_url) == []
    assert rows(clean_db_url, "SELECT 1 FROM ops.survey_invitations WHERE first_opened_at IS NOT NULL") == []


def test_links_expire_when_the_agency_says(clean_db_url):
    with psycopg.connect(clean_db_url) as conn:
        token = surveys.create_invitation(conn, "vk1", "SV25-1", EXPERIMENT, "A", "sms", "en", 14)
        [(days,)] = conn.execute(
            "SELECT expires_at - created_at FROM ops.survey_invitations WHERE token_hash = %s",
            (hash_token(token),),
        ).fetchall()
    assert days == dt.timedelta(days=14)
