"""A second reader of replies: how likely a reply is a revocation, learned from the tuning corpus.

The rules (notifications.reply_rules) say exactly why they fire, but each new writer brings
phrasings no rule expected ("pls remvoe me from this", "Bájenme de esta lista"). This reader is a
logistic regression over the reply's words, pairs of neighbouring words and groups of 3-5 letters
(so typos and new verb forms still share most of their features), trained on
tests/data/replies-corpus/tuning.csv only, never on the held-back part.

The classifier uses it in the safe direction first: a reply the rules let through that reads as a
revocation is held and its sender asked to confirm. It also releases a reply that only a weak cue
held ("tengo la batería baja") when the reader is confident it is not a revocation; rule
opt-outs and keywords are never overruled.

The weights live in reply_model.json beside this file, written by
`python -m notifications.reply_model` from the corpus; tests/test_reply_model.py checks that the
file is what the committed corpus trains. Classifying needs no numpy or scipy; training does.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import math
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Final

WEIGHTS: Final = Path(__file__).with_name("reply_model.json")
TUNING_CORPUS: Final = (
    Path(__file__).resolve().parent.parent / "tests" / "data" / "replies-corpus" / "tuning.csv"
)
# Features seen in fewer tuning replies than this are dropped: they would only memorise one reply.
MIN_REPLIES: Final = 2
L2: Final = 0.03
_LETTER_GROUPS: Final = (3, 4, 5)
# Longer groups across word boundaries catch short phrases however they are spaced or split
# ("no more", "nomore", "de baja").
_PHRASE_GROUPS: Final = (6, 8)

Clauses = Sequence[Sequence[str]]


def features(clauses: Clauses) -> set[str]:
    """Words, neighbouring word pairs within a clause, 3-5 letter groups of each word padded with
    spaces (so " stop" and "pme " mark where a word starts and ends), and 6 and 8 character
    groups of the whole clause."""
    found: set[str] = set()
    for clause in clauses:
        joined = f" {' '.join(clause)} "
        for size in _PHRASE_GROUPS:
            found.update("x:" + joined[i : i + size] for i in range(len(joined) - size + 1))
        for at, word in enumerate(clause):
            found.add("w:" + word)
            if at + 1 < len(clause):
                found.add(f"b:{word} {clause[at + 1]}")
            padded = f" {word} "
            for size in _LETTER_GROUPS:
                found.update("c:" + padded[i : i + size] for i in range(len(padded) - size + 1))
    return found


@dataclass(frozen=True, slots=True)
class Model:
    weights: dict[str, float]
    bias: float

    def probability(self, clauses: Clauses) -> float:
        """The chance the reply is a revocation; features are scaled to unit length, as in training."""
        known = [self.weights[feature] for feature in features(clauses) if feature in self.weights]
        score = self.bias + (sum(known) / math.sqrt(len(known)) if known else 0.0)
        return 1.0 / (1.0 + math.exp(-max(-60.0, min(60.0, score))))


@cache
def model() -> Model:
    stored = json.loads(WEIGHTS.read_text(encoding="utf-8"))
    return Model(stored["weights"], stored["bias"])


_instead: ContextVar[Model | None] = ContextVar("reply_model_instead", default=None)


@contextmanager
def reading_with(other: Model) -> Iterator[None]:
    """Classify with another model for a while (the benchmark's leave-one-set-out runs)."""
    token = _instead.set(other)
    try:
        yield
    finally:
        _instead.reset(token)


def revocation_probability(clauses: Clauses) -> float:
    return (_instead.get() or model()).probability(clauses)


# --- Training (numpy and scipy, imported only here) -------------------------------------------


def train(
    examples: Sequence[tuple[Clauses, bool]], *, l2: float = L2, min_replies: int = MIN_REPLIES
) -> Model:
    """L2-regularised logistic regression, classes weighted to count equally, fitted by L-BFGS."""
    import numpy as np
    import scipy.optimize
    import scipy.sparse

    per_reply = [features(clauses) for clauses, _ in examples]
    seen = Counter(feature for found in per_reply for feature in found)
    vocabulary = sorted(feature for feature, count in seen.items() if count >= min_replies)
    column = {feature: at for at, feature in enumerate(vocabulary)}
    rows, columns, values = [], [], []
    for row, found in enumerate(per_reply):
        known = sorted(column[feature] for feature in found if feature in column)
        rows += [row] * len(known)
        columns += known
        values += [1.0 / math.sqrt(max(1, len(known)))] * len(known)
    matrix = scipy.sparse.csr_matrix((values, (rows, columns)), shape=(len(per_reply), len(vocabulary)))
    labels = np.array([revocation for _, revocation in examples], dtype=float)
    positives = labels.sum()
    weight = np.where(
        labels == 1, len(labels) / (2 * positives), len(labels) / (2 * (len(labels) - positives))
    )

    def loss(parameters: np.ndarray) -> tuple[float, np.ndarray]:
        coefficients, bias = parameters[:-1], parameters[-1]
        score = matrix @ coefficients + bias
        losses = labels * np.logaddexp(0, -score) + (1 - labels) * np.logaddexp(0, score)
        error = weight * (1 / (1 + np.exp(-score)) - labels)
        value = float(weight @ losses + l2 / 2 * coefficients @ coefficients)
        return value, np.append(matrix.T @ error + l2 * coefficients, error.sum())

    fitted = scipy.optimize.minimize(
        loss, np.zeros(len(vocabulary) + 1), jac=True, method="L-BFGS-B", options={"maxiter": 5000}
    )
    if not fitted.success:
        raise RuntimeError(f"the reply model did not converge: {fitted.message}")
    coefficients = fitted.x[:-1]
    return Model(
        {feature: round(float(coefficients[at]), 5) for feature, at in column.items()},
        round(float(fitted.x[-1]), 5),
    )


def trained_on_rows(rows: Iterable[Mapping[str, str]]) -> Model:
    """Train on corpus rows (`text`, `label`), read into clauses as the classifier reads them."""
    from notifications.replies import reply_clauses

    return train([(reply_clauses(row["text"]), row["label"] == "revocation") for row in rows])


def corpus_digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def trained_from_corpus(path: Path = TUNING_CORPUS) -> Model:
    with path.open(encoding="utf-8", newline="") as file:
        return trained_on_rows(csv.DictReader(file))


def write(trained: Model, path: Path, corpus: Path) -> None:
    stored = {
        "about": "notifications/reply_model.py: logistic regression over features(); regenerate with "
        "`python -m notifications.reply_model`",
        "trained_on": corpus.name,
        "corpus_sha256": corpus_digest(corpus),
        "l2": L2,
        "min_replies": MIN_REPLIES,
        "bias": trained.bias,
        "weights": dict(sorted(trained.weights.items())),
    }
    path.write_text(json.dumps(stored, ensure_ascii=False, indent=0) + "\n", encoding="utf-8")


def main(argv: Iterable[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Retrain the reply model from the tuning corpus.")
    parser.add_argument("--out", type=Path, default=WEIGHTS)
    args = parser.parse_args(list(argv) if argv is not None else None)
    trained = trained_from_corpus()
    write(trained, args.out, TUNING_CORPUS)
    print(f"{len(trained.weights)} weights from {TUNING_CORPUS.name} written to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
