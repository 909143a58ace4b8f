"""The reply classifier on a table of realistic replies in both languages, and its properties.

The table (tests/data/sms-replies.csv, described in sms-replies.md) pins every judgment call; the
properties cover what a table cannot: a lone STOP-family keyword opts out whatever its case and
punctuation, a plain-language opt-out inside polite text still does, any text at all gets a
verdict, and `matched` only ever names our rules, never the message (which is PII).
"""

from __future__ import annotations

import csv
import logging
import string
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from notifications.catalog import STOP_KEYWORDS
from notifications.replies import OPT_OUT_KEYWORDS, RULE_NAMES, ReplyClass, ReplyKind, classify_reply

TABLE = Path(__file__).parent / "data" / "sms-replies.csv"


def _rows() -> list[tuple[int, dict[str, str]]]:
    """Each row with its line in the CSV, so a failing id points straight at it."""
    with TABLE.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        return [(reader.line_num, row) for row in reader]


ROWS = _rows()

# Whitespace and punctuation a keyword may arrive wrapped in (ASCII, Spanish, typographic, emoji).
WRAPPING = string.whitespace + string.punctuation + "\u00a0\u2003\u3000¡¿«»“”‘’„…–—·•。！？🛑🙏😡👍"

# The plain-language opt-outs the brief names, in both languages.
OPT_OUT_PHRASES = [
    "stop texting me",
    "stop messaging me",
    "please remove me",
    "remove me from this list",
    "take me off",
    "take me off your list",
    "no more messages",
    "no more texts",
    "don't text me",
    "do not contact me",
    "leave me alone",
    "unsubscribe me",
    "no me envíen más",
    "no me manden más mensajes",
    "ya no me escriban",
    "quiero darme de baja",
    "bórrenme de la lista",
    "no quiero recibir más mensajes",
    "dejen de enviarme mensajes",
]
OPENINGS = [
    "",
    "hi",
    "Hi there",
    "hello",
    "ok",
    "sorry",
    "Thanks for the info",
    "hola",
    "Buenas tardes",
    "perdón",
]
CLOSINGS = [
    "",
    "thanks",
    "thank you",
    "thx",
    "have a nice day",
    "god bless",
    "gracias",
    "muchas gracias",
    "🙏",
]
JOINERS = [" ", ", ", ". ", "! ", "\n", " - "]


def _with_case(text: str, upper: list[bool]) -> str:
    """`text` with the letters `upper` marks in capitals, the rest in lower case."""
    marks = (upper + [False] * len(text))[: len(text)]
    return "".join(c.upper() if up else c.lower() for c, up in zip(text, marks, strict=True))


def test_the_table_is_large_and_covers_both_languages_and_every_kind() -> None:
    assert len(ROWS) >= 120
    assert sum(row["language"] == "es" for _, row in ROWS) >= 45
    assert {row["kind"] for _, row in ROWS} == {kind.value for kind in ReplyKind}
    assert {row["urgent"] for _, row in ROWS} == {"true", "false"}
    assert {row["language"] for _, row in ROWS} <= {"en", "es", ""}


@pytest.mark.parametrize(("line", "row"), ROWS, ids=[f"row{line}" for line, _ in ROWS])
def test_every_phrasing_in_the_table(line: int, row: dict[str, str]) -> None:
    verdict = classify_reply(row["text"])
    expected = (ReplyKind(row["kind"]), row["urgent"] == "true", row["language"] or None)
    assert (verdict.kind, verdict.urgent, verdict.language) == expected, verdict.matched


def test_every_keyword_our_messages_promise_opts_out() -> None:
    for keywords in STOP_KEYWORDS.values():
        for keyword in keywords:
            assert classify_reply(keyword).kind is ReplyKind.OPT_OUT, keyword


@given(
    keyword=st.sampled_from(sorted(OPT_OUT_KEYWORDS | {"opt-out"})),
    upper=st.lists(st.booleans(), max_size=20),
    before=st.text(alphabet=WRAPPING, max_size=8),
    after=st.text(alphabet=WRAPPING, max_size=8),
)
def test_a_lone_stop_keyword_opts_out_in_any_case_and_wrapping(
    keyword: str, upper: list[bool], before: str, after: str
) -> None:
    verdict = classify_reply(before + _with_case(keyword, upper) + after)
    assert verdict.kind is ReplyKind.OPT_OUT
    assert verdict.matched is not None and verdict.matched.startswith("keyword:")


@given(
    phrase=st.sampled_from(OPT_OUT_PHRASES),
    opening=st.sampled_from(OPENINGS),
    closing=st.sampled_from(CLOSINGS),
    joiners=st.tuples(st.sampled_from(JOINERS), st.sampled_from(JOINERS)),
    please=st.sampled_from(["", "please ", "pls ", "por favor "]),
    case=st.sampled_from([str, str.upper, str.lower, str.capitalize]),
)
def test_a_plain_language_opt_out_inside_polite_text_opts_out(
    phrase: str, opening: str, closing: str, joiners: tuple[str, str], please: str, case: Callable[[str], str]
) -> None:
    text = case(
        f"{opening}{joiners[0] if opening else ''}{please}{phrase}{joiners[1] if closing else ''}{closing}"
    )
    assert classify_reply(text).kind is ReplyKind.OPT_OUT, text


@given(st.text())
def test_any_text_gets_a_verdict_naming_only_rules(text: str) -> None:
    verdict = classify_reply(text)
    assert isinstance(verdict, ReplyClass)
    assert isinstance(verdict.kind, ReplyKind) and isinstance(verdict.urgent, bool)
    assert verdict.language in {"en", "es", None}
    if verdict.matched is not None:
        assert set(verdict.matched.split("+")) <= RULE_NAMES
        if len(text) > 30:
            assert verdict.matched != text


@given(
    filler=st.text(min_size=40, max_size=200),
    phrase=st.sampled_from(["stop texting me", "he came back", "no me envíen más", "tengo miedo", "STOP"]),
)
def test_matched_never_carries_the_message(filler: str, phrase: str) -> None:
    text = f"{filler} {phrase} {filler}"
    verdict = classify_reply(text)
    assert verdict.matched is None or (verdict.matched != text and len(verdict.matched) < len(text))
    assert verdict.matched is None or set(verdict.matched.split("+")) <= RULE_NAMES


def test_matched_names_the_rule_not_the_sender() -> None:
    verdict = classify_reply("Please stop texting me, this is Maria Lopez at 520 700 1234. He came back")
    assert verdict.kind is ReplyKind.OPT_OUT and verdict.urgent
    assert verdict.matched == "optout:stop_contact+urgent:came_back"


def test_classifying_logs_nothing(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG):
        for _, row in ROWS:
            classify_reply(row["text"])
    assert caplog.records == []


def test_classifying_takes_well_under_a_millisecond() -> None:
    texts = [row["text"] for _, row in ROWS]
    for text in texts:  # warm up (regex caches, unicodedata)
        classify_reply(text)
    rounds = 20
    # This process's CPU time, not the wall clock: other tests on the same cores cannot fail it.
    started = time.process_time()
    for _ in range(rounds):
        for text in texts:
            classify_reply(text)
    per_call_ms = (time.process_time() - started) / (rounds * len(texts)) * 1000
    print(f"classify_reply: {per_call_ms * 1000:.1f} µs per call over {len(texts)} replies")
    assert per_call_ms < 1


@pytest.mark.parametrize("unit", ["he is ", "please ", "stop ", "i have ", "me esta ", "no me ", "😀", "!?"])
def test_a_1600_character_reply_takes_milliseconds_not_seconds(unit: str) -> None:
    """The longest concatenated SMS, built to make the regexes backtrack: cost stays linear."""
    text = (unit * 1600)[:1600]
    started = time.process_time()  # CPU time: a loaded machine cannot fail it, backtracking can
    classify_reply(text)
    assert time.process_time() - started < 0.1


@pytest.mark.parametrize(
    "text",
    [
        "thanks for the updates, I'm good now",
        "thank you for reaching out but I'm fine",
        "thanks for your service, done here",
        "gracias por la información, con eso basta",
        "Thanks for everything",
    ],
)
def test_thanks_with_anything_after_it_is_left_to_the_reader(text: str) -> None:
    """Thanks and nothing else is kept by a rule ("Thanks for following up with me"); thanks
    followed by anything may be a polite refusal, so that rule must not veto the reply model."""
    from notifications.replies import _prepare
    from notifications.reply_rules import KEEP_RULES

    assert KEEP_RULES.first(_prepare("Thanks for following up with me").flat) == ("keep:thanks_only", None)
    assert KEEP_RULES.first(_prepare(text).flat) is None
