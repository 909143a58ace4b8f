"""The victim pages in a real headless Chromium on a phone-sized screen, checked with axe-core.

Needs Debian's `chromium` and `node_modules/axe-core` (`make browser-deps`); never a browser
downloaded by Playwright. The app runs on a uvicorn thread against the test's own database.
Screenshots go to the test's tmp_path and, for the docs, to docs/screenshots/ (regenerated here).
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from sending import PAYLOAD

from notifications import catalog
from notifications.tokens import hash_token, new_token
from vnotify.config import load_config
from web import surveys
from web.app import WebSettings, create_app
from web.server import RunningServer

ROOT = Path(__file__).resolve().parent.parent
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
CHROMIUM = shutil.which("chromium")
SCREENSHOTS = ROOT / "docs" / "screenshots"
PHONE = {"width": 390, "height": 844}
CONFIG = load_config()
EN = catalog.STRINGS["en"]
ES = catalog.STRINGS["es"]

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(CHROMIUM is None, reason="no chromium on PATH (make browser-deps installs Debian's)"),
    pytest.mark.skipif(
        not AXE.exists(), reason="node_modules/axe-core missing (make browser-deps runs npm ci)"
    ),
]
sync_api = pytest.importorskip("playwright.sync_api", reason="playwright not installed (the dev extra)")


# --- fixtures ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def browser() -> Iterator:
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
        yield browser
        browser.close()


@pytest.fixture
def server(clean_db_url: str) -> Iterator[RunningServer]:
    with RunningServer(create_app(WebSettings(database_url=clean_db_url, pool_size=4), CONFIG)) as server:
        yield server


@pytest.fixture
def phone(browser) -> Iterator:
    """A phone-sized, touch, English-language browser tab."""
    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True, locale="en-US")
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()


def add_outbox(
    url: str,
    channel: str,
    language: str,
    i: int = 1,
    kind: str = "initial",
    subject: str = "",
    **payload: object,
) -> int:
    address = f"+1520700{i:04d}" if channel == "sms" else f"victim{i}@example.org"
    with psycopg.connect(url) as conn:
        (outbox_id,) = conn.execute(
            """
            INSERT INTO ops.outbox (victim_key, report_number, kind, subject, channel, address, language,
                                    payload, state, provider_id, attempts, sent_at)
            VALUES (%s, %s, %s, %s, %s, %s, %s, %s, 'sent', %s, 1, now()) RETURNING outbox_id
            """,
            (
                f"vk{i:06d}",
                f"SV25-{i:06d}",
                kind,
                subject,
                channel,
                address,
                language,
                json.dumps({**PAYLOAD, **payload}),
                f"SM{i:032d}",
            ),
        ).fetchone()
    return outbox_id


def message_token(url: str, outbox_id: int) -> str:
    token = new_token()
    with psycopg.connect(url) as conn:
        conn.execute(
            "INSERT INTO ops.message_tokens (token_hash, outbox_id, attempt, expires_at) "
            "VALUES (%s, %s, 1, now() + interval '60 days')",
            (hash_token(token), outbox_id),
        )
    return token


def survey_token(url: str, i: int, language: str) -> str:
    with psycopg.connect(url) as conn:
        token = surveys.create_invitation(
            conn, f"vk{i:06d}", f"SV25-{i:06d}", "victim-followup-2025", "A", "sms", language, 30
        )
    assert token
    return token


# --- checks --------------------------------------------------------------------------------


def assert_accessible(page) -> None:
    """axe-core's WCAG 2.1 A/AA rules (and best practices): nothing serious or critical."""
    page.evaluate(AXE.read_text(encoding="utf-8"))  # DevTools evaluation: not blocked by the CSP
    results = page.evaluate(
        """async () => await axe.run(document, {
             runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice']},
             resultTypes: ['violations'],
           })"""
    )
    serious = [
        (violation["id"], violation["impact"], [node["target"] for node in violation["nodes"]])
        for violation in results["violations"]
        if violation["impact"] in ("serious", "critical")
    ]
    assert serious == [], serious
    assert results["testEngine"]["name"] == "axe-core"


def assert_fits_a_phone(page) -> None:
    """No sideways scrolling, the stylesheet applied, and links and buttons big enough to tap."""
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    assert page.evaluate("getComputedStyle(document.querySelector('main')).backgroundColor") == (
        "rgb(255, 255, 255)"
    )
    small = page.evaluate(
        """() => [...document.querySelectorAll('main a, nav a, button, label.choice')]
                 .map(el => [el.textContent.trim(), el.getBoundingClientRect().height])
                 .filter(([, height]) => height < 44)"""
    )
    assert small == []


def screenshot(page, tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    page.screenshot(path=str(path), full_page=True)
    assert path.stat().st_size > 10_000
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(path, SCREENSHOTS / name)


# --- tests ---------------------------------------------------------------------------------


def test_message_page_on_a_phone_in_both_languages(clean_db_url, server, phone, tmp_path):
    token = message_token(clean_db_url, add_outbox(clean_db_url, "sms", "en"))
    response = phone.goto(f"{server.base_url}/m/{token}?c=s")
    assert response.status == 200
    assert phone.get_attribute("html", "lang") == "en"
    assert phone.locator("h1").inner_text() == EN["initial.heading"]
    assert phone.locator("dl.items dt").all_inner_texts() == [
        EN[f"item.{key}"]
        for key in (
            "report_number",
            "offense",
            "officer",
            "reported_at",
            "explanation",
            "next_steps",
            "substation_phone",
            "investigations_phone",
        )
    ]
    assert phone.locator("a[href^='tel:']").evaluate_all("links => links.map(a => a.getAttribute('href'))")[
        :2
    ] == ["tel:+15205550101", "tel:+15205550111"]
    assert_fits_a_phone(phone)
    assert_accessible(phone)
    screenshot(phone, tmp_path, "message-page-en.png")

    phone.get_by_role("link", name="Español").click()
    phone.wait_for_url("**lang=es")
    assert phone.get_attribute("html", "lang") == "es"
    assert phone.locator("h1").inner_text() == ES["initial.heading"]
    assert ES["item.investigations_phone"] in phone.locator("dl.items").inner_text()
    assert phone.locator("[aria-current='page']").inner_text() == "Español"
    assert_fits_a_phone(phone)
    assert_accessible(phone)
    screenshot(phone, tmp_path, "message-page-es.png")
    with psycopg.connect(clean_db_url) as conn:
        opened = conn.execute("SELECT dedupe_key FROM ops.events WHERE event = 'opened'").fetchall()
    assert len(opened) == 1


@pytest.mark.parametrize("kind", ["reporting_party", "status_update"])
def test_the_follow_up_notices_on_a_phone_in_both_languages(clean_db_url, server, phone, tmp_path, kind):
    changes = {}
    if kind == "status_update":
        changes = {
            "case_status": "suspended",
            "change_type": "case_status",
            "assigned_detective": "Det. Sam Ortiz",
        }
    outbox_id = add_outbox(
        clean_db_url, "sms", "en", kind=kind, subject=changes.get("case_status", ""), **changes
    )
    token = message_token(clean_db_url, outbox_id)
    assert phone.goto(f"{server.base_url}/m/{token}?c=s").status == 200
    assert phone.locator("h1").inner_text() == EN[f"{kind}.heading"]
    labels = phone.locator("dl.items dt").all_inner_texts()
    if kind == "reporting_party":
        assert EN["item.offense"] not in labels and EN["item.explanation"] not in labels
    else:
        assert phone.locator("p.change").inner_text() == EN["status.change.suspended"]
        assert EN["item.case_status"] in labels and EN["item.detective"] in labels
    assert_fits_a_phone(phone)
    assert_accessible(phone)
    phone.screenshot(path=str(tmp_path / f"{kind}-en.png"), full_page=True)

    phone.get_by_role("link", name="Español").click()
    phone.wait_for_url("**lang=es")
    assert phone.get_attribute("html", "lang") == "es"
    assert phone.locator("h1").inner_text() == ES[f"{kind}.heading"]
    if kind == "status_update":
        assert phone.locator("p.change").inner_text() == ES["status.change.suspended"]
    assert_fits_a_phone(phone)
    assert_accessible(phone)


def test_a_hostile_name_renders_as_text(clean_db_url, browser, server, tmp_path):
    hostile = "<script>alert(1)</script>"
    outbox_id = add_outbox(
        clean_db_url, "email", "en", first_name=hostile, officer_name='"><img src=x onerror=alert(1)>'
    )
    # With the CSP switched off, only the escaping stands between the name and the page.
    context = browser.new_context(viewport=PHONE, bypass_csp=True)
    page = context.new_page()
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    try:
        page.goto(f"{server.base_url}/m/{message_token(clean_db_url, outbox_id)}?c=e")
        page.wait_for_load_state("load")
        page.wait_for_timeout(300)
        assert page.evaluate("document.querySelectorAll('script').length") == 0
        assert page.evaluate("document.querySelectorAll('img').length") == 0
        assert dialogs == []
        assert page.locator(".greeting").inner_text() == f"Hello {hostile},"
        assert '"><img src=x onerror=alert(1)>' in page.locator(".item-officer dd").inner_text()
    finally:
        context.close()


def test_survey_on_a_phone_save_then_submit(clean_db_url, server, phone, tmp_path):
    token = survey_token(clean_db_url, 1, "en")
    url = f"{server.base_url}/s/{token}"
    assert phone.goto(url).status == 200
    assert phone.get_attribute("html", "lang") == "en"
    assert_fits_a_phone(phone)
    assert_accessible(phone)
    screenshot(phone, tmp_path, "survey-en.png")

    # The keyboard reaches the first answer, and focus shows.
    phone.keyboard.press("Tab")
    for _ in range(6):
        if phone.evaluate("document.activeElement.name") == "preferred":
            break
        phone.keyboard.press("Tab")
    assert phone.evaluate("document.activeElement.value") == "text"
    assert phone.evaluate("getComputedStyle(document.activeElement).outlineStyle") == "solid"

    phone.get_by_label(EN["survey.preferred_text"]).check()
    phone.get_by_label(EN["survey.preferred_email"]).check()
    phone.get_by_label(EN["survey.service_4"]).check()
    phone.get_by_role("button", name=EN["survey.save"]).click()
    phone.wait_for_url("**saved=1")
    assert phone.get_by_role("status").inner_text() == EN["survey.saved"]
    assert phone.get_by_label(EN["survey.preferred_text"]).is_checked()
    assert phone.get_by_label(EN["survey.service_4"]).is_checked()

    phone.get_by_label(EN["survey.preferred_email"]).uncheck()
    phone.get_by_label(EN["survey.no"], exact=True).check()
    phone.get_by_label(EN["survey.trust_4"], exact=True).check()
    phone.get_by_label(EN["survey.free_text_label"]).fill("The officer was kind.")
    phone.get_by_role("button", name=EN["survey.submit"]).click()
    phone.wait_for_url("**/thanks?lang=en")
    assert phone.locator("h1").inner_text() == EN["survey.thanks_title"]
    assert_accessible(phone)

    with psycopg.connect(clean_db_url) as conn:
        answers = conn.execute(
            """
            SELECT preferred_text, preferred_email, preferred_letter, preferred_phone, likely_to_call,
                   service_rating, trust_rating, free_text, completed, seconds_on_survey > 0
            FROM ops.survey_responses
            """
        ).fetchall()
    assert answers == [(True, False, False, False, False, 4, 4, "The officer was kind.", True, True)]


def test_survey_in_spanish(clean_db_url, server, phone, tmp_path):
    token = survey_token(clean_db_url, 2, "es")
    phone.goto(f"{server.base_url}/s/{token}")
    assert phone.get_attribute("html", "lang") == "es"
    assert phone.locator("h1").inner_text() == ES["survey.title"]
    assert_fits_a_phone(phone)
    assert_accessible(phone)
    screenshot(phone, tmp_path, "survey-es.png")
    phone.get_by_label(ES["survey.trust_5"]).check()
    phone.get_by_role("button", name=ES["survey.submit"]).click()
    phone.wait_for_url("**/thanks?lang=es")
    assert phone.locator("h1").inner_text() == ES["survey.thanks_title"]
    phone.get_by_role("link", name="English").click()
    assert phone.locator("h1").inner_text() == EN["survey.thanks_title"]


def test_invalid_link_and_unsubscribe_pages_are_accessible(clean_db_url, server, phone, tmp_path):
    response = phone.goto(f"{server.base_url}/m/{new_token()}?c=s")
    assert response.status == 404
    assert phone.locator("h1").inner_text() == EN["invalid.title"]
    assert phone.locator("main a[href^='tel:']").count() == 1
    assert_fits_a_phone(phone)
    assert_accessible(phone)

    token = message_token(clean_db_url, add_outbox(clean_db_url, "email", "en"))
    phone.goto(f"{server.base_url}/u/{token}")
    assert_accessible(phone)
    phone.get_by_role("button", name=EN["unsubscribe.button"]).click()
    phone.wait_for_load_state("load")
    assert phone.locator("h1").inner_text() == EN["unsubscribe.done_title"]
    assert_accessible(phone)
    with psycopg.connect(clean_db_url) as conn:
        assert conn.execute("SELECT channel, source FROM ops.opt_outs").fetchall() == [
            ("email", "email_unsubscribe")
        ]
