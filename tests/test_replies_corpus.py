"""The reply corpus (tests/data/replies-corpus/README.md) and what the classifier does with it.

The tuning part is a regression guard: every revocation there is recognised and almost every other
reply kept. The held-back part (two writers' sets never read while writing the rules or training
the reply model) is only measured (benchmarks/replies); its floors below sit just under what the
classifier reached on it (0.980 recall, 0.960 kept), not issue 16's recall target of 0.99, which
it does not meet on text it has not seen.
"""

from __future__ import annotations

import json

import pytest

from benchmarks import replies

HELD_BACK_RECALL_FLOOR = 0.97
HELD_BACK_KEPT_FLOOR = 0.95
HELD_BACK_SETS = {"16", "17"}


@pytest.fixture(scope="module")
def parts() -> dict[str, list[dict[str, str]]]:
    return {part: replies.read_part(part) for part in replies.PARTS}


def test_the_corpus_is_large_labelled_sourced_and_split_cleanly(parts):
    everything = [row for rows in parts.values() for row in rows]
    assert len(everything) >= 7000
    assert {row["set"] for row in parts["heldback"]} == HELD_BACK_SETS
    assert not HELD_BACK_SETS & {row["set"] for row in parts["tuning"]}
    assert {row["label"] for row in everything} == {"revocation", "not_revocation"}
    assert {row["language"] for row in everything} == {"en", "es"}
    assert all(row["source"].strip() for row in everything)
    for rows in parts.values():
        for language in ("en", "es"):
            labels = [row["label"] for row in rows if row["language"] == language]
            assert 0.35 < labels.count("revocation") / len(labels) < 0.65, language
    tuning = {row["text"].strip().casefold() for row in parts["tuning"]}
    assert not [row["text"] for row in parts["heldback"] if row["text"].strip().casefold() in tuning]


def test_every_revocation_the_rules_were_grown_on_is_recognised(parts):
    scored = replies.score(parts["tuning"])
    _, kept, revocations, others = replies.rates(scored)
    missed = [row.text for row in scored if row.revocation and not row.correct]
    # One miss is allowed for: "if i reply STOP will it stop? if so, STOP" reads as a question about
    # STOP to the rules; everything in the first five sets, which the rules were grown on, is met.
    assert len(missed) <= 1, missed
    assert not [
        row.text for row in scored if row.revocation and not row.correct and row.writer in {"1-4", "5"}
    ]
    assert kept >= 0.98, [row.text for row in scored if not row.revocation and not row.correct]
    assert revocations > 3000 and others > 3500


def test_the_held_back_part_stays_where_it_was_measured(parts):
    recall, kept, revocations, others = replies.rates(replies.score(parts["heldback"]))
    assert revocations >= 240 and others >= 300
    assert recall >= HELD_BACK_RECALL_FLOOR
    assert kept >= HELD_BACK_KEPT_FLOOR


def test_the_benchmark_prints_both_parts_and_a_json_line(capsys):
    assert replies.main([]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    figures = json.loads(lines[-1])
    assert set(figures) >= {"heldback_recall", "heldback_kept", "tuning_recall", "tuning_kept", "rows"}
    assert figures["rows"] >= 7000
    assert figures["tuning_recall"] >= 0.999
    assert any(line.startswith("heldback:") for line in lines)
