"""Opt-out recognition on the labelled reply corpus (tests/data/replies-corpus).

    .venv/bin/python -m benchmarks.replies [--show] [--by-set]

A revocation is recognised when the classifier opts the sender out or holds their messages and
asks them to confirm (`possible_opt_out`); a non-revocation is kept when it does neither. Prints
both rates for the tuning part (the rules were grown on it) and the held-back part (never read
while writing them), by language, with how many revocations were honoured at once rather than
held. `--show` lists the misses (the corpus is written for the project: no real person's words).
`--by-set` also leaves each writer's set of the tuning part out in turn, retrains the reply model
(notifications.reply_model) without it and classifies it: how the thresholds in
notifications.replies were chosen, and what to expect of text from a new writer.
The last line is JSON: heldback_recall, heldback_kept, tuning_recall, tuning_kept, rows.
"""

from __future__ import annotations

import argparse
import csv
import json
from collections.abc import Sequence
from dataclasses import dataclass

from notifications import reply_model
from notifications.replies import ReplyKind, classify_reply

CORPUS = reply_model.TUNING_CORPUS.parent
PARTS = ("tuning", "heldback")
RECALL_TARGET = 0.99
KEPT_TARGET = 0.95
_STOPS_MESSAGES = frozenset({ReplyKind.OPT_OUT, ReplyKind.POSSIBLE_OPT_OUT})


@dataclass(frozen=True)
class Scored:
    """One corpus row with the classifier's verdict."""

    text: str
    revocation: bool
    language: str
    writer: str
    kind: ReplyKind

    @property
    def correct(self) -> bool:
        return (self.kind in _STOPS_MESSAGES) == self.revocation


def read_part(part: str) -> list[dict[str, str]]:
    with (CORPUS / f"{part}.csv").open(encoding="utf-8", newline="") as file:
        return list(csv.DictReader(file))


def score(rows: Sequence[dict[str, str]]) -> list[Scored]:
    return [
        Scored(
            row["text"],
            row["label"] == "revocation",
            row["language"],
            row["set"],
            classify_reply(row["text"]).kind,
        )
        for row in rows
    ]


def _writers(scored: Sequence[Scored]) -> list[str]:
    """The writers' sets in order ("1-4" is the first four, written before sets were recorded)."""
    return sorted({row.writer for row in scored}, key=lambda writer: int(writer.split("-")[0]))


def rates(scored: Sequence[Scored]) -> tuple[float, float, int, int]:
    """(recall of revocations, share of non-revocations kept, revocations, non-revocations)."""
    revocations = [row for row in scored if row.revocation]
    others = [row for row in scored if not row.revocation]
    recall = sum(row.correct for row in revocations) / len(revocations) if revocations else 1.0
    kept = sum(row.correct for row in others) / len(others) if others else 1.0
    return recall, kept, len(revocations), len(others)


def report(part: str, scored: Sequence[Scored], show: bool) -> tuple[float, float]:
    recall, kept, revocations, others = rates(scored)
    honoured = sum(row.revocation and row.kind is ReplyKind.OPT_OUT for row in scored)
    print(
        f"{part}: {len(scored)} rows; revocations recognised {recall:.3f} of {revocations} "
        f"({honoured} honoured at once, the rest held and asked); others kept {kept:.3f} of {others}"
    )
    for name, group in [
        *((language, [row for row in scored if row.language == language]) for language in ("en", "es")),
        *((f"set {writer}", [row for row in scored if row.writer == writer]) for writer in _writers(scored)),
    ]:
        group_recall, group_kept, _, _ = rates(group)
        print(f"  {name}: recall {group_recall:.3f}, kept {group_kept:.3f} ({len(group)} rows)")
    if show:
        for row in scored:
            if not row.correct:
                label = "missed revocation" if row.revocation else "stopped a non-revocation"
                print(f"    {label} ({row.kind.value}): {row.text!r}")
    return recall, kept


def by_set(rows: Sequence[dict[str, str]]) -> tuple[float, float]:
    """Leave one writer's set out, retrain the model on the rest, score the set; mean rates.

    The rules stay as they are, so sets they were grown on read better than a new writer would."""
    sets = sorted({row["set"] for row in rows} - {"1-4"}, key=int)
    figures: list[tuple[float, float]] = []
    print(
        "leave one set out (model retrained without it; the rules were grown on sets 1-4 and on parts of later sets):"
    )
    for left_out in sets:
        kept_in = [row for row in rows if row["set"] != left_out]
        trained = reply_model.trained_on_rows(kept_in)
        with reply_model.reading_with(trained):
            recall, kept, revocations, others = rates(score([row for row in rows if row["set"] == left_out]))
        figures.append((recall, kept))
        print(f"  set {left_out}: recall {recall:.3f} of {revocations}, kept {kept:.3f} of {others}")
    mean_recall = sum(recall for recall, _ in figures) / len(figures)
    mean_kept = sum(kept for _, kept in figures) / len(figures)
    print(f"  mean over {len(figures)} sets: recall {mean_recall:.3f}, kept {mean_kept:.3f}")
    return mean_recall, mean_kept


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--show", action="store_true", help="list the replies classified wrongly")
    parser.add_argument(
        "--by-set",
        action="store_true",
        help="leave each tuning set out in turn and retrain the model without it",
    )
    args = parser.parse_args(argv)
    figures: dict[str, float | int | bool] = {}
    rows = 0
    for part in PARTS:
        part_rows = read_part(part)
        rows += len(part_rows)
        recall, kept = report(part, score(part_rows), args.show)
        figures[f"{part}_recall"] = round(recall, 4)
        figures[f"{part}_kept"] = round(kept, 4)
    figures["rows"] = rows
    if args.by_set:
        figures["by_set_recall"], figures["by_set_kept"] = (
            round(value, 4) for value in by_set(read_part("tuning"))
        )
    figures["meets_targets"] = (
        figures["heldback_recall"] >= RECALL_TARGET and figures["heldback_kept"] >= KEPT_TARGET
    )
    print(f"targets on the held-back part: recall >= {RECALL_TARGET}, kept >= {KEPT_TARGET}")
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
