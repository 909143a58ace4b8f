"""The reply model (notifications.reply_model) and how the classifier weighs it against the rules.

The combination is tested with models made to say one thing (a bias and no weights), so each rule
of precedence is pinned whatever the trained weights happen to be.
"""

from __future__ import annotations

import csv
import json

import pytest

from notifications import reply_model
from notifications.replies import (
    DOUBT_BELOW,
    HOLD_FROM,
    MODEL_RULE,
    RELEASE_BELOW,
    RULE_NAMES,
    ReplyKind,
    classify_reply,
    reply_clauses,
)

HELD_BACK = reply_model.TUNING_CORPUS.with_name("heldback.csv")
SURE_IT_IS = reply_model.Model({}, 50.0)
SURE_IT_IS_NOT = reply_model.Model({}, -50.0)


def kind_with(model: reply_model.Model, text: str) -> ReplyKind:
    with reply_model.reading_with(model):
        return classify_reply(text).kind


def test_the_committed_weights_are_what_the_tuning_part_trains():
    stored = json.loads(reply_model.WEIGHTS.read_text(encoding="utf-8"))
    assert stored["trained_on"] == "tuning.csv"
    assert stored["corpus_sha256"] == reply_model.corpus_digest(reply_model.TUNING_CORPUS), (
        "tuning.csv changed: run `python -m notifications.reply_model` and commit reply_model.json"
    )
    retrained = reply_model.trained_from_corpus()
    with HELD_BACK.open(encoding="utf-8", newline="") as file:
        texts = [row["text"] for row in csv.DictReader(file)][:200]
    committed = reply_model.model()
    for text in texts:
        clauses = reply_clauses(text)
        assert retrained.probability(clauses) == pytest.approx(committed.probability(clauses), abs=0.01), text


def test_a_missing_model_feature_or_an_empty_reply_is_the_bias_alone():
    assert reply_model.Model({}, 0.0).probability(reply_clauses("")) == 0.5
    assert reply_model.Model({"w:stop": 3.0}, 0.0).probability(reply_clauses("🙂")) == 0.5
    assert reply_model.Model({"w:stop": 3.0}, 0.0).probability(reply_clauses("stop")) > 0.5


def test_the_thresholds_are_ordered_and_the_model_rule_is_a_known_name():
    assert 0 < DOUBT_BELOW < RELEASE_BELOW < HOLD_FROM < 1
    assert MODEL_RULE in RULE_NAMES


@pytest.mark.parametrize("text", ["STOP", "alto", "Unsubscribe please", "Who is this? STOP", "stoppp"])
def test_keyword_commands_are_never_second_guessed(text):
    assert kind_with(SURE_IT_IS_NOT, text) is ReplyKind.OPT_OUT


@pytest.mark.parametrize("text", ["please stop texting me", "No me manden más mensajes"])
def test_a_plain_language_opt_out_the_model_doubts_is_held_not_dropped(text):
    assert kind_with(SURE_IT_IS, text) is ReplyKind.OPT_OUT
    assert kind_with(SURE_IT_IS_NOT, text) is ReplyKind.POSSIBLE_OPT_OUT


@pytest.mark.parametrize("text", ["What time does the records office open?", "Mi carro era gris"])
def test_a_reply_the_rules_let_through_is_held_when_it_reads_as_a_revocation(text):
    assert kind_with(SURE_IT_IS_NOT, text) is ReplyKind.OTHER
    with reply_model.reading_with(SURE_IT_IS):
        verdict = classify_reply(text)
    assert verdict.kind is ReplyKind.POSSIBLE_OPT_OUT
    assert verdict.matched == MODEL_RULE


def test_a_weak_cue_is_released_only_when_the_model_is_confident():
    text = "Tengo la batería baja, les llamo mañana"
    assert kind_with(SURE_IT_IS, text) is ReplyKind.POSSIBLE_OPT_OUT
    assert kind_with(reply_model.Model({}, 0.0), text) is ReplyKind.POSSIBLE_OPT_OUT
    assert kind_with(SURE_IT_IS_NOT, text) is ReplyKind.OTHER


@pytest.mark.parametrize(
    "text", ["Please keep texting me, I want every update", "Sí quiero seguir recibiendo los mensajes"]
)
def test_a_reply_that_asks_for_more_is_never_held_by_the_model(text):
    assert kind_with(SURE_IT_IS, text) is ReplyKind.OTHER


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("Stop calling me at work, just text", ReplyKind.OTHER),
        ("No me llamen, prefiero mensajes de texto", ReplyKind.OTHER),
        # E-mail is a channel we use: refusing it still opts out (every channel, the safe reading).
        ("Never email me, I never check it. Texts only.", ReplyKind.OPT_OUT),
        ("No me manden correos, solo mensajes", ReplyKind.OPT_OUT),
    ],
)
def test_texts_preferred_to_calls_keep_the_texts_but_a_refused_email_still_opts_out(text, kind):
    assert classify_reply(text).kind is kind


@pytest.mark.parametrize(
    "text",
    [
        "kindly cease all further notices to this line",
        "ya no quiero que me lleguen sus avisos",
        "I have moved on and would like to be left out of this from now on",
    ],
)
def test_the_trained_model_holds_revocations_no_rule_names(text):
    # None is in the corpus. With a model that never says revocation each goes through (a weak cue
    # alone is released); the trained model holds each and asks.
    assert kind_with(SURE_IT_IS_NOT, text) is ReplyKind.OTHER
    assert classify_reply(text).kind is ReplyKind.POSSIBLE_OPT_OUT


@pytest.mark.parametrize("text", ["Please help", "I am not safe here", "Ayúdenme por favor"])
def test_the_model_alone_never_holds_an_urgent_reply(text):
    with reply_model.reading_with(SURE_IT_IS):
        verdict = classify_reply(text)
    assert verdict.urgent
    assert verdict.kind is ReplyKind.OTHER
