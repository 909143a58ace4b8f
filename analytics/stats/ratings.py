"""Ratings (1..5) compared between Group A and Group B; missing answers are dropped by the caller."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

from analytics.stats.common import InsufficientData, Interval, check_alpha, one_dimensional, t_interval


@dataclass(frozen=True)
class MeanDiff:
    """mean(A) − mean(B) with the Welch interval, p-value and Welch–Satterthwaite df."""

    diff: float
    ci: Interval
    p_value: float
    df: float


@dataclass(frozen=True)
class Superiority:
    """P(A > B) + 0.5 P(A = B) for a random pair of victims, one from each group (0.5: no difference)."""

    estimate: float
    ci: Interval
    p_value: float


def _two_samples(a: object, b: object) -> tuple[np.ndarray, np.ndarray]:
    a, b = one_dimensional(a, "a"), one_dimensional(b, "b")
    for values, group in ((a, "Group A (notified)"), (b, "Group B (holdout)")):
        if values.size < 2:
            raise InsufficientData(f"fewer than two answers in {group}")
    return a, b


def welch_diff(a: object, b: object, alpha: float = 0.05) -> MeanDiff:
    """Welch's unequal-variance t test of mean(a) − mean(b); = scipy ttest_ind(equal_var=False).

    One group with identical answers is fine (the other carries the variance); identical answers in
    both groups leave no variance at all: InsufficientData.
    """
    check_alpha(alpha)
    a, b = _two_samples(a, b)
    term_a, term_b = a.var(ddof=1) / a.size, b.var(ddof=1) / b.size
    if term_a + term_b <= 0:
        raise InsufficientData("every answer is the same in both groups, so there is no variance")
    diff = float(a.mean() - b.mean())
    se = float(np.sqrt(term_a + term_b))
    df = float((term_a + term_b) ** 2 / (term_a**2 / (a.size - 1) + term_b**2 / (b.size - 1)))
    p_value = float(2 * stats.t.sf(abs(diff / se), df))
    return MeanDiff(diff, t_interval(diff, se, df, alpha), p_value, df)


def brunner_munzel(a: object, b: object, alpha: float = 0.05) -> Superiority:
    """Brunner–Munzel estimate, interval and test of P(A > B) + 0.5 P(A = B).

    p_value = scipy.stats.brunnermunzel(a, b) two-sided (t distribution). scipy's statistic is
    positive when b tends higher; `estimate` is oriented so that above 0.5 means Group A rates higher.
    The interval is estimate ± t(df) · SE, as statsmodels' rank_compare_2indep(a, b).conf_int(), clipped
    to [0, 1] because it bounds a probability.
    Both groups' placement variances zero (every answer the same, or the groups do not overlap at all)
    leaves the test undefined: InsufficientData.
    """
    check_alpha(alpha)
    a, b = _two_samples(a, b)
    n_a, n_b = a.size, b.size
    pooled_ranks = stats.rankdata(np.concatenate([a, b]))
    # Placement of each answer: how many answers of the other group it beats (ties count half).
    placement_a = pooled_ranks[:n_a] - stats.rankdata(a)
    placement_b = pooled_ranks[n_a:] - stats.rankdata(b)
    estimate = float(placement_a.mean() / n_b)
    spread_a = placement_a.var(ddof=1)
    spread_b = placement_b.var(ddof=1)
    weighted_a, weighted_b = n_a * spread_a, n_b * spread_b
    if weighted_a + weighted_b <= 0:
        if np.all(a == a[0]) and np.all(b == a[0]):
            raise InsufficientData("every answer is the same in both groups")
        raise InsufficientData("the groups' answers do not overlap at all, so there is no variance")
    se = float(np.sqrt(weighted_a + weighted_b) / (n_a * n_b))
    df = float((weighted_a + weighted_b) ** 2 / (weighted_a**2 / (n_a - 1) + weighted_b**2 / (n_b - 1)))
    p_value = float(2 * stats.t.sf(abs(estimate - 0.5) / se, df))
    ci = t_interval(estimate, se, df, alpha)
    return Superiority(estimate, Interval(max(ci.low, 0.0), min(ci.high, 1.0)), min(p_value, 1.0))


def top_box(values: object, threshold: float = 4) -> tuple[int, int]:
    """(how many answers are at least `threshold`, how many answers): e.g. 4 or 5 on a 1..5 scale."""
    array = one_dimensional(values, "values")
    return int(np.count_nonzero(array >= threshold)), int(array.size)
