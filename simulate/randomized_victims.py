"""Randomized victims with survey answers, shaped like the case study, with planted effects.

One row per victim in the columns `vnotify evaluate --from-csv` reads. Used by the evaluation's
tests and its speed benchmark, where the truth must be known. The planted effects are the case
study's (Tucson, 2017–2018): notified victims 16.6% more likely to prefer text, 43% less likely to
call for more information, service rated 8.4% higher, 5.9% more likely to trust police.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

DIVISIONS = ("WEST", "MID", "SOUTH", "EAST")
OFFENSE_GROUPS = (
    "Larceny/Theft Offenses",
    "Burglary/Breaking & Entering",
    "Assault Offenses",
    "Destruction/Damage/Vandalism of Property",
    "Motor Vehicle Theft",
    "Fraud Offenses",
)


@dataclass(frozen=True)
class Planted:
    """Holdout (B) levels and the notified group's (A) relative change on each."""

    prefers_text_b: float = 0.35
    prefers_text_lift: float = 0.166
    likely_to_call_b: float = 0.30
    likely_to_call_lift: float = -0.43
    service_mean_b: float = 3.7
    service_lift: float = 0.084
    trust_top_b: float = 0.62
    trust_lift: float = 0.059
    prefers_email_b: float = 0.40
    prefers_letter_b: float = 0.10
    prefers_phone_b: float = 0.30


NO_EFFECT = Planted(prefers_text_lift=0.0, likely_to_call_lift=0.0, service_lift=0.0, trust_lift=0.0)


def ratings_with_mean(rng: np.random.Generator, size: int, mean: float) -> np.ndarray:
    """1–5 ratings whose expected value is `mean` (a shifted, clipped discrete distribution)."""
    base = np.array([0.06, 0.09, 0.20, 0.35, 0.30])  # mean 3.74
    values = np.arange(1, 6)
    # Tilt the distribution exponentially until its mean matches.
    low, high = -5.0, 5.0
    for _ in range(60):
        tilt = (low + high) / 2
        weights = base * np.exp(tilt * values)
        weights /= weights.sum()
        if (weights * values).sum() < mean:
            low = tilt
        else:
            high = tilt
    return rng.choice(values, size=size, p=weights).astype(float)


def _trust_with_top_share(rng: np.random.Generator, size: int, top: float) -> np.ndarray:
    low_part = rng.choice([1.0, 2.0, 3.0], size=size, p=[0.2, 0.3, 0.5])
    high_part = rng.choice([4.0, 5.0], size=size, p=[0.55, 0.45])
    return np.where(rng.random(size) < top, high_part, low_part)


def make_frame(
    victims: int,
    seed: int = 0,
    planted: Planted = Planted(),
    holdout_share: float = 0.5,
    response_rate: float = 0.136,
    open_rate: float = 0.9,
    invited_rate: float = 0.97,
) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    is_a = rng.random(victims) >= holdout_share
    invited = rng.random(victims) < invited_rate
    responded = invited & (rng.random(victims) < response_rate)
    opened = is_a & (rng.random(victims) < open_rate)
    n = int(responded.sum())
    a = is_a[responded]

    def binary(base: float, lift: float) -> np.ndarray:
        p = np.where(a, base * (1 + lift), base)
        return (rng.random(n) < p).astype(float)

    answers = {
        "prefers_text": binary(planted.prefers_text_b, planted.prefers_text_lift),
        "prefers_email": binary(planted.prefers_email_b, 0.0),
        "prefers_letter": binary(planted.prefers_letter_b, 0.0),
        "prefers_phone": binary(planted.prefers_phone_b, 0.0),
        "likely_to_call": binary(planted.likely_to_call_b, planted.likely_to_call_lift),
    }
    service = np.empty(n)
    service[a] = ratings_with_mean(rng, int(a.sum()), planted.service_mean_b * (1 + planted.service_lift))
    service[~a] = ratings_with_mean(rng, int((~a).sum()), planted.service_mean_b)
    trust = np.empty(n)
    trust[a] = _trust_with_top_share(rng, int(a.sum()), planted.trust_top_b * (1 + planted.trust_lift))
    trust[~a] = _trust_with_top_share(rng, int((~a).sum()), planted.trust_top_b)
    # Some respondents skip a question.
    for values in (answers["likely_to_call"], service, trust):
        values[rng.random(n) < 0.03] = np.nan

    frame = pd.DataFrame(
        {
            "victim_key": [f"v{index:09d}" for index in range(victims)],
            "arm": np.where(is_a, "A", "B"),
            "division": rng.choice(DIVISIONS, size=victims, p=[0.3, 0.25, 0.25, 0.2]),
            "offense_group": rng.choice(OFFENSE_GROUPS, size=victims, p=[0.35, 0.2, 0.15, 0.15, 0.1, 0.05]),
            "opened": opened.astype(float),
            "invited": invited.astype(float),
            "responded": responded.astype(float),
        }
    )
    seconds = np.full(victims, np.nan)
    seconds[responded] = rng.gamma(4.0, 73.0 / 4.0, size=n)
    frame["seconds_on_survey"] = seconds
    for column, values in answers.items():
        full = np.full(victims, np.nan)
        full[responded] = values
        frame[column] = full
    for column, values in (("service_rating", service), ("trust_rating", trust)):
        full = np.full(victims, np.nan)
        full[responded] = values
        frame[column] = full
    wrote = np.full(victims, np.nan)
    wrote[responded] = (rng.random(n) < 0.2).astype(float)
    frame["wrote_free_text"] = wrote
    return frame


def true_effects(planted: Planted = Planted()) -> dict[str, float]:
    """The planted A − B differences: proportions for binary outcomes, points for ratings."""
    return {
        "prefers_text": planted.prefers_text_b * planted.prefers_text_lift,
        "likely_to_call": planted.likely_to_call_b * planted.likely_to_call_lift,
        "trusts_police": planted.trust_top_b * planted.trust_lift,
        "service_rating": planted.service_mean_b * planted.service_lift,
    }
