"""The victim-facing pages: the message page, the survey and one-click email unsubscribe.

Each page is opened only by the token in its link (only SHA-256 hashes are stored). A token that
opens nothing, whether unknown, malformed or expired, gets the same plain page with no data and
the agency's phone, after the same database lookup and a template render, so a miss looks and
takes about the same as a hit. No JavaScript at all; the one stylesheet is served from here.
Every response carries `no-store`, `no-referrer`, `noindex` and a CSP without scripts.

A page's writes (an event and its effect) commit in one transaction. Tokens, names, phones and
emails are never logged (nothing here logs at all; uvicorn's access log is off).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse, PlainTextResponse, RedirectResponse
from jinja2 import Environment, FileSystemLoader, StrictUndefined
from psycopg.rows import dict_row
from starlette.concurrency import run_in_threadpool

from notifications import catalog, opt_outs, outbox
from notifications.events import insert_event
from notifications.message import (
    NOTICE_KINDS,
    clean_text,
    display_phone,
    message_intro,
    message_items,
    message_language,
    notification_from_outbox,
)
from notifications.tokens import hash_token
from vnotify.config import AgencyConfig
from web import surveys

router = APIRouter()

HERE = Path(__file__).resolve().parent
TEMPLATES = HERE / "templates"
STYLESHEET = HERE / "static" / "pages.css"
STYLESHEET_URL = "/static/pages.css"

CSP = (
    "default-src 'self'; script-src 'none'; style-src 'self'; img-src 'self'; font-src 'self'; "
    "connect-src 'none'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
SECURITY_HEADERS: Mapping[str, str] = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Robots-Tag": "noindex, nofollow",
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=()",
}
# `c` on a message link: which channel brought the visitor (s = SMS, e = email).
VISIT_CHANNELS = {"s": "sms", "e": "email"}

_MESSAGE_ROW = """
    SELECT o.outbox_id, o.victim_key, o.report_number, o.kind, o.channel, o.address, o.language,
           o.payload, o.subject
    FROM ops.message_tokens AS t
    JOIN ops.outbox AS o USING (outbox_id)
    WHERE t.token_hash = %(hash)s AND (t.expires_at > now() OR NOT %(live_only)s)
"""


@cache
def environment() -> Environment:
    return Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=False,
    )


@cache
def _stylesheet() -> bytes:
    return STYLESHEET.read_bytes()


# -- languages --------------------------------------------------------------------------------


def page_languages(config: AgencyConfig) -> list[str]:
    """The agency's languages we have words for, in the agency's order."""
    languages = []
    for language in config.agency.languages:
        try:
            catalog.catalog_language(language)
        except catalog.UnsupportedLanguage:
            continue
        languages.append(language)
    return languages or ["en"]


def page_language(config: AgencyConfig, requested: str | None, victim_language: str | None) -> str:
    """`?lang=` when the agency offers it, else the victim's language, else the agency default."""
    languages = page_languages(config)
    if requested:
        folded = {language.lower(): language for language in languages}
        if requested.strip().lower() in folded:
            return folded[requested.strip().lower()]
    return message_language(victim_language, languages)


def language_links(config: AgencyConfig, current: str, params: Mapping[str, str]) -> list[dict[str, Any]]:
    """The language switch: one link per language, to this page with `lang=` (and `params`)."""
    return [
        {
            "code": language,
            "name": catalog.strings(language)["page.language_name"],
            "href": "?" + urlencode({**params, "lang": language}),
            "current": language == current,
        }
        for language in page_languages(config)
    ]


def public_phone(config: AgencyConfig) -> str:
    """The number a page without a report shows: the agency's public number when the
    configuration has one, else the first division's substation."""
    return getattr(config.agency, "public_phone", None) or config.divisions[0].substation_phone


# -- responses --------------------------------------------------------------------------------


def _html(body: str, status_code: int = 200) -> HTMLResponse:
    return HTMLResponse(body, status_code=status_code, headers=dict(SECURITY_HEADERS))


def _render(
    request: Request, template: str, language: str, links: list[dict[str, Any]], **context: Any
) -> str:
    config: AgencyConfig = request.app.state.config
    phone = public_phone(config)
    return (
        environment()
        .get_template(template)
        .render(
            t=catalog.strings(language),
            language=language,
            agency=config.agency.name,
            stylesheet=STYLESHEET_URL,
            language_links=links,
            public_phone=display_phone(phone),
            public_phone_href=f"tel:{phone}",
            **context,
        )
    )


def _invalid(request: Request, requested_language: str | None, params: Mapping[str, str]) -> HTMLResponse:
    """The plain page for a link that opens nothing: no data, the agency's phone, 404."""
    config: AgencyConfig = request.app.state.config
    language = page_language(config, requested_language, None)
    body = _render(request, "invalid.html", language, language_links(config, language, params))
    return _html(body, status_code=404)


def _redirect(url: str) -> RedirectResponse:
    response = RedirectResponse(url, status_code=303)
    response.headers.update(SECURITY_HEADERS)
    return response


def _forbidden() -> PlainTextResponse:
    return PlainTextResponse(
        "This form can only be sent from its own page.", status_code=403, headers=dict(SECURITY_HEADERS)
    )


def _origin(url: str) -> str | None:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower() if parts.scheme and parts.netloc else None


def is_cross_site(request: Request) -> bool:
    """A form post made by another site: refused (the token in the URL is the capability; this
    is the second lock, and no JavaScript means no CSRF token is needed).

    `Sec-Fetch-Site` decides when the browser sends it (all current ones do). Otherwise a real
    `Origin` must be ours. Our pages send `Referrer-Policy: no-referrer`, under which browsers
    send `Origin: null` even for our own forms, so "null" alone is not taken as foreign. A client
    that sends neither (a mail provider's one-click POST) is judged by the token alone.
    """
    site = request.headers.get("sec-fetch-site")
    if site is not None:
        return site.strip().lower() not in ("same-origin", "none")
    origin = (request.headers.get("origin") or "null").strip().rstrip("/").lower()
    if origin == "null":
        return False
    allowed = {_origin(str(request.app.state.config.agency.portal_base_url))}
    if request.app.state.settings.public_base_url:
        allowed.add(_origin(request.app.state.settings.public_base_url))
    host = request.headers.get("host")
    if host:
        allowed |= {f"http://{host}".lower(), f"https://{host}".lower()}
    return origin not in allowed


MAX_BODY_BYTES = 64 * 1024  # the survey's longest answer is 4,000 characters


class BadForm(ValueError):
    """A body too large or with too many fields to be one of our forms."""


async def _body(request: Request) -> bytes:
    """The request body, refused past MAX_BODY_BYTES (read as it arrives, not trusted from headers)."""
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise BadForm("body too large")
        chunks.append(chunk)
    return b"".join(chunks)


def _form(body: bytes) -> dict[str, list[str]]:
    """An `application/x-www-form-urlencoded` body (the only kind our forms send)."""
    try:
        return parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True, max_num_fields=64)
    except ValueError as error:
        raise BadForm("too many fields") from error


def _bad_request() -> PlainTextResponse:
    return PlainTextResponse("This form could not be read.", status_code=400, headers=dict(SECURITY_HEADERS))


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


# -- the stylesheet ---------------------------------------------------------------------------


@router.get(STYLESHEET_URL, include_in_schema=False)
def stylesheet() -> Response:
    headers = {**SECURITY_HEADERS, "Cache-Control": "public, max-age=3600"}
    return Response(_stylesheet(), media_type="text/css; charset=utf-8", headers=headers)


# -- the message page -------------------------------------------------------------------------


def _message_row(conn, token: str, live_only: bool = True) -> dict[str, Any] | None:
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(_MESSAGE_ROW, {"hash": hash_token(token), "live_only": live_only}).fetchone()


@router.get("/m/{token}", include_in_schema=False)
def message_page(request: Request, token: str, c: str | None = None, lang: str | None = None) -> Response:
    """The whole message in the victim's language; the first visit per channel is an `opened`
    event. The same lookup and a render happen whether or not the token opens anything."""
    config: AgencyConfig = request.app.state.config
    with request.app.state.pool.connection() as conn, conn.transaction():
        row = _message_row(conn, token)
        if row is not None:
            visit = c if c in VISIT_CHANNELS else ("s" if row["channel"] == "sms" else "e")
            language = page_language(config, lang, row["language"])
            insert_event(
                conn,
                "page",
                "opened",
                row["outbox_id"],
                None,
                f"page:opened:{row['outbox_id']}:{visit}",
                _now(),
                {"channel": VISIT_CHANNELS[visit], "language": language},
            )
    params = {"c": c} if c in VISIT_CHANNELS else {}
    if row is None:
        return _invalid(request, lang, params)
    notification = notification_from_outbox(row)
    # The notice's own heading, opening and items: a victim's first notice, a reporting party's
    # notice (no offense, nothing about a victim) or a status update (what changed, shown apart).
    intro = message_intro(notification, language, config.agency.name)
    body = _render(
        request,
        "message.html",
        language,
        language_links(config, language, {"c": visit}),
        kind=notification.kind if notification.kind in NOTICE_KINDS else "initial",
        heading=intro.heading,
        paragraphs=intro.paragraphs,
        change=intro.change,
        name=clean_text(notification.first_name),
        items=message_items(notification, config, language),
    )
    return _html(body)


# -- unsubscribe ------------------------------------------------------------------------------


def _email_row(conn, token: str) -> dict[str, Any] | None:
    """The email a token came in. Unsubscribing works even after the link has expired: it
    shows nothing and only ever stops mail, which must always be possible."""
    row = _message_row(conn, token, live_only=False)
    return row if row is not None and row["channel"] == "email" else None


def _opted_out(conn, address: str) -> bool:
    return outbox.is_opted_out(conn, "email", address)


@router.get("/u/{token}", include_in_schema=False)
def unsubscribe_page(
    request: Request, token: str, lang: str | None = None, scope: str | None = None
) -> Response:
    """A one-button confirmation (link scanners follow GETs: a GET never unsubscribes), with the
    choice to stop e-mails only, or the confirmation that this address is unsubscribed (and, unless
    e-mails only were chosen, every other way we reach the person)."""
    config: AgencyConfig = request.app.state.config
    with request.app.state.pool.connection() as conn:
        row = _email_row(conn, token)
        # After retention the address is gone: nothing is left to send to, so it is done.
        done = row is not None and (row["address"] is None or _opted_out(conn, row["address"]))
    if row is None:
        return _invalid(request, lang, {})
    language = page_language(config, lang, row["language"])
    body = _render(
        request,
        "unsubscribe.html",
        language,
        language_links(config, language, {}),
        done=done,
        emails_only=scope == "email",
        action="?" + urlencode({"lang": language}),
    )
    return _html(body)


def _is_one_click(body: bytes, content_type: str) -> bool:
    """RFC 8058: `List-Unsubscribe=One-Click`, form-urlencoded or multipart."""
    if "multipart/form-data" in content_type:
        return b'name="List-Unsubscribe"' in body and b"One-Click" in body
    return _form(body).get("List-Unsubscribe") == ["One-Click"]


@router.post("/u/{token}", include_in_schema=False)
async def unsubscribe(request: Request, token: str, lang: str | None = None) -> Response:
    """Record the opt-out and an `unsubscribed` event together; again changes nothing."""
    try:
        body = await _body(request)
        one_click = _is_one_click(body, request.headers.get("content-type", ""))
        emails_only = not one_click and _form(body).get("scope") == ["email"]
    except BadForm:
        return _bad_request()
    if not one_click and is_cross_site(request):
        return _forbidden()

    def store() -> dict[str, Any] | None:
        with request.app.state.pool.connection() as conn, conn.transaction():
            row = _email_row(conn, token)
            if row is None:
                return None
            if row["address"] is not None:  # None: removed by retention, nothing left to stop
                # Every channel, unless the person chose e-mails only on the page.
                opt_outs.opt_out_everywhere(
                    conn, "email", row["address"], "email_unsubscribe", this_channel_only=emails_only
                )
            insert_event(
                conn,
                "page",
                "unsubscribed",
                row["outbox_id"],
                None,
                f"page:unsubscribed:{row['outbox_id']}",
                _now(),
                {"channel": "email", "one_click": one_click},
            )
            return row

    row = await run_in_threadpool(store)
    if row is None:
        return _invalid(request, lang, {})
    if one_click:
        return PlainTextResponse("Unsubscribed.", headers=dict(SECURITY_HEADERS))
    language = page_language(request.app.state.config, lang, row["language"])
    scope = {"scope": "email"} if emails_only else {}
    return _redirect(request.url.path + "?" + urlencode({"lang": language, **scope}))


# -- the survey -------------------------------------------------------------------------------


def _survey_values(answers: Mapping[str, Any]) -> dict[str, Any]:
    """Saved answers as the form's values (to tick what was ticked)."""
    likely = answers.get("likely_to_call")
    return {
        "preferred": {way for way in surveys.PREFERRED if answers.get(f"preferred_{way}")},
        "likely_to_call": None if likely is None else ("yes" if likely else "no"),
        "service_rating": str(answers["service_rating"]) if answers.get("service_rating") else None,
        "trust_rating": str(answers["trust_rating"]) if answers.get("trust_rating") else None,
        "free_text": answers.get("free_text") or "",
    }


@router.get("/s/{token}", include_in_schema=False)
def survey_page(request: Request, token: str, lang: str | None = None, saved: str | None = None) -> Response:
    """The survey form with whatever was saved before; the first visit is `first_opened_at`."""
    config: AgencyConfig = request.app.state.config
    with request.app.state.pool.connection() as conn, conn.transaction():
        invitation = surveys.find_invitation(conn, token)
        if invitation is not None and invitation.first_opened_at is None:
            surveys.mark_opened(conn, invitation.invitation_id)
    if invitation is None:
        return _invalid(request, lang, {})
    language = page_language(config, lang, invitation.language)
    body = _render(
        request,
        "survey.html",
        language,
        language_links(config, language, {}),
        values=_survey_values(invitation.answers),
        saved=saved == "1",
        action="?" + urlencode({"lang": language}),
        preferred=surveys.PREFERRED,
        ratings=surveys.RATINGS,
    )
    return _html(body)


@router.post("/s/{token}", include_in_schema=False)
async def survey_save(request: Request, token: str, lang: str | None = None) -> Response:
    """Save the answers given; "Submit" completes the survey. Then back to the form or thanks."""
    if is_cross_site(request):
        return _forbidden()
    try:
        form: dict[str, Sequence[str]] = _form(await _body(request))
    except BadForm:
        return _bad_request()
    complete = (form.get("action") or [""])[-1] == "submit"

    def store() -> surveys.Invitation | None:
        with request.app.state.pool.connection() as conn, conn.transaction():
            invitation = surveys.find_invitation(conn, token, lock=True)
            if invitation is not None:
                answers = surveys.answers_from_form(form, invitation.answers)
                surveys.save_answers(conn, invitation, answers, complete)
            return invitation

    invitation = await run_in_threadpool(store)
    if invitation is None:
        return _invalid(request, lang, {})
    language = page_language(request.app.state.config, lang, invitation.language)
    if complete:
        return _redirect(request.url.path + "/thanks?" + urlencode({"lang": language}))
    return _redirect(request.url.path + "?" + urlencode({"lang": language, "saved": "1"}))


@router.get("/s/{token}/thanks", include_in_schema=False)
def survey_thanks(request: Request, token: str, lang: str | None = None) -> Response:
    config: AgencyConfig = request.app.state.config
    with request.app.state.pool.connection() as conn:
        invitation = surveys.find_invitation(conn, token)
    if invitation is None:
        return _invalid(request, lang, {})
    language = page_language(config, lang, invitation.language)
    body = _render(
        request,
        "survey_thanks.html",
        language,
        language_links(config, language, {}),
        survey_href=request.url.path.removesuffix("/thanks") + "?" + urlencode({"lang": language}),
    )
    return _html(body)
