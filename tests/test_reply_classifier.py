"""The reply classifier on a table of real-world phrasings in both languages, and its properties:
a lone keyword always opts out whatever its case and punctuation, a plain-language opt-out inside
polite text still does, and nothing makes it raise."""

from __future__ import annotations

import csv
import time
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from notifications.replies import KEYWORDS, ReplyClass, ReplyKind, classify_reply

TABLE = Path(__file__).parent / "data" / "sms-replies.csv"
ROWS = list(csv.DictReader(TABLE.open(encoding="utf-8", newline="")))
STOP_FAMILY = sorted(
    word for word, (kind, _) in KEYWORDS.items() if kind is ReplyKind.OPT_OUT and " " not in word
)
PHRASES = [
    "stop texting me", "please remove me", "no more messages", "do not contact me", "take me off your list",
    "no me envíen más", "dejen de enviarme mensajes", "quiero darme de baja", "bórrenme de la lista",
]  # fmt: skip


def test_the_table_is_large_and_covers_both_languages_and_every_kind():
    assert len(ROWS) >= 120
    assert sum(row["language"] == "es" for row in ROWS) >= 45
    assert {row["kind"] for row in ROWS} == {kind.value for kind in ReplyKind}
    assert sum(row["urgent"] == "1" for row in ROWS) >= 30


@pytest.mark.parametrize("row", ROWS, ids=[f"row{i + 2}" for i in range(len(ROWS))])
def test_every_phrasing_in_the_table(row):
    verdict = classify_reply(row["text"])
    assert (verdict.kind.value, verdict.urgent, verdict.language) == (
        row["kind"],
        row["urgent"] == "1",
        row["language"] or None,
    )


@given(
    word=st.sampled_from(STOP_FAMILY),
    case=st.sampled_from([str.upper, str.lower, str.title, lambda w: w]),
    before=st.text(alphabet=" \t\n.!¡?¿\"'*-~", max_size=4),
    after=st.text(alphabet=" \t\n.!¡?¿\"'*-~🛑🙏", max_size=4),
)
def test_a_lone_stop_keyword_always_opts_out(word, case, before, after):
    assert classify_reply(f"{before}{case(word)}{after}").kind is ReplyKind.OPT_OUT


@given(
    phrase=st.sampled_from(PHRASES),
    opening=st.sampled_from(["", "Hi, ", "Hello. ", "Hola, ", "Sorry but ", "Buenas tardes. "]),
    closing=st.sampled_from(["", " thanks", ". Thank you!", " gracias", " 🙏", ", por favor."]),
    shout=st.booleans(),
)
def test_a_plain_language_opt_out_inside_polite_text_opts_out(phrase, opening, closing, shout):
    text = f"{opening}{phrase}{closing}"
    assert classify_reply(text.upper() if shout else text).kind is ReplyKind.OPT_OUT


@given(st.text(max_size=400))
def test_any_text_gets_a_verdict_that_does_not_quote_it(text):
    verdict = classify_reply(text)
    assert isinstance(verdict, ReplyClass) and isinstance(verdict.kind, ReplyKind)
    assert verdict.matched is None or len(verdict.matched) <= 40


def test_matched_names_a_rule_never_the_message():
    long_reply = "Please stop texting me, my name is Maria Lopez and my number is 520 700 1234"
    verdict = classify_reply(long_reply)
    assert verdict.kind is ReplyKind.OPT_OUT and verdict.matched == "phrase:stop_contact"
    assert "Maria" not in verdict.matched


def test_classifying_is_fast():
    started = time.perf_counter()
    for _ in range(20):
        for row in ROWS:
            classify_reply(row["text"])
    per_call_ms = (time.perf_counter() - started) / (20 * len(ROWS)) * 1000
    print(f"classify_reply: {per_call_ms:.3f} ms per call")
    assert per_call_ms < 5  # generous: a webhook has a 50 ms p99 budget
