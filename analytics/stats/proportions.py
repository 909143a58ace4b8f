"""Binary outcomes compared between Group A (notified) and Group B (holdout); differences are A − B."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from scipy import stats

from analytics.stats.common import (
    InsufficientData,
    Interval,
    check_alpha,
    check_counts,
    normal_interval,
    normal_quantile,
    t_interval,
)

# Below this many tables (n_a + 1)(n_b + 1) Boschloo's test takes under a second; above it, its
# full enumeration grows quadratically (1,300 per arm: 40 s; 70,000 per arm: 36 GiB), so Fisher's.
BOSCHLOO_MAX_TABLES = 100_000
MIN_EXPECTED_CELL = 5


@dataclass(frozen=True)
class RelativeLift:
    """(p_a − p_b) / p_b with its delta-method interval, Welch t test and degrees of freedom."""

    estimate: float
    ci: Interval
    p_value: float
    se: float
    df: float


@dataclass(frozen=True)
class ChiSquare:
    statistic: float
    dof: int
    p_value: float


def _check_pair(count_a: int, n_a: int, count_b: int, n_b: int) -> None:
    check_counts(count_a, n_a, "Group A (notified)")
    check_counts(count_b, n_b, "Group B (holdout)")


def wilson_interval(count: int, n: int, alpha: float = 0.05) -> Interval:
    """Wilson's score interval for one proportion, clipped to [0, 1] (as statsmodels does)."""
    check_counts(count, n, "the group")
    z = normal_quantile(alpha)
    p = count / n
    denominator = 1 + z * z / n
    center = (p + z * z / (2 * n)) / denominator
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denominator
    return Interval(float(max(center - half, 0.0)), float(min(center + half, 1.0)))


def newcombe_diff_ci(count_a: int, n_a: int, count_b: int, n_b: int, alpha: float = 0.05) -> Interval:
    """Newcombe's hybrid score interval for p_a − p_b (proportions, not points).

    Built from the two Wilson intervals, so it stays inside [−1, 1] and is defined for rates of 0 or 1.
    Equals statsmodels' confint_proportions_2indep(..., method="newcomb", compare="diff").
    """
    _check_pair(count_a, n_a, count_b, n_b)
    p_a, p_b = count_a / n_a, count_b / n_b
    wilson_a, wilson_b = wilson_interval(count_a, n_a, alpha), wilson_interval(count_b, n_b, alpha)
    diff = p_a - p_b
    below = np.hypot(p_a - wilson_a.low, wilson_b.high - p_b)
    above = np.hypot(p_b - wilson_b.low, wilson_a.high - p_a)
    return Interval(float(diff - below), float(diff + above))


def relative_lift(count_a: int, n_a: int, count_b: int, n_b: int, alpha: float = 0.05) -> RelativeLift:
    """Relative lift (p_a − p_b) / p_b exactly as GrowthBook gbstats 0.8.0 computes it.

    gbstats' frequentist TwoSidedTTest, relative, on two ProportionStatistics (control = Group B):
    variance p(1 − p) per arm (no n − 1), delta-method variance of the ratio
    var_a / (p_b² n_a) + var_b p_a² / (p_b⁴ n_b), and the t distribution with Welch–Satterthwaite df
    (whose per-arm terms do use n − 1). Where gbstats returns a blank default we raise InsufficientData:
    p_b = 0 (the lift is undefined), or a variance of zero (an arm where every answer is the same).
    """
    check_alpha(alpha)
    _check_pair(count_a, n_a, count_b, n_b)
    if n_a < 2 or n_b < 2:
        raise InsufficientData("each group needs at least two victims for a relative lift")
    p_a, p_b = count_a / n_a, count_b / n_b
    if p_b == 0:
        raise InsufficientData("no victim in Group B (holdout) said yes, so a relative lift is undefined")
    var_a, var_b = p_a * (1 - p_a), p_b * (1 - p_b)
    if var_a <= 0 or var_b <= 0:
        raise InsufficientData("every answer is the same within a group, so the lift has no variance")
    estimate = (p_a - p_b) / p_b
    variance = var_a / (p_b**2 * n_a) + var_b * p_a**2 / (p_b**4 * n_b)
    se = float(np.sqrt(variance))
    df = (var_a / n_a + var_b / n_b) ** 2 / (
        var_a**2 / (n_a**2 * (n_a - 1)) + var_b**2 / (n_b**2 * (n_b - 1))
    )
    p_value = float(2 * stats.t.sf(abs(estimate / se), df))
    return RelativeLift(float(estimate), t_interval(estimate, se, df, alpha), p_value, se, float(df))


def relative_lift_delta(
    count_a: int, n_a: int, count_b: int, n_b: int, alpha: float = 0.05
) -> tuple[float, Interval]:
    """(lift, interval) of `relative_lift`: (p_a − p_b) / p_b as gbstats 0.8.0 computes it."""
    lift = relative_lift(count_a, n_a, count_b, n_b, alpha)
    return lift.estimate, lift.ci


def log_rr_ci(count_a: int, n_a: int, count_b: int, n_b: int, alpha: float = 0.05) -> Interval:
    """Interval for the relative lift RR − 1 from the log risk ratio (Katz), RR = p_a / p_b.

    Equals statsmodels' confint_proportions_2indep(..., compare="ratio", method="log") minus 1.
    A zero count makes the log undefined and both arms at 100% leave no variance: InsufficientData.
    """
    check_alpha(alpha)
    _check_pair(count_a, n_a, count_b, n_b)
    if count_a == 0 or count_b == 0:
        raise InsufficientData("a group has no 'yes' answers, so the log risk ratio is undefined")
    variance = 1 / count_a - 1 / n_a + 1 / count_b - 1 / n_b
    if variance <= 0:
        raise InsufficientData("every answer is the same, so the risk ratio has no variance")
    log_rr = np.log(count_a / n_a) - np.log(count_b / n_b)
    on_log_scale = normal_interval(log_rr, float(np.sqrt(variance)), alpha)
    return Interval(float(np.expm1(on_log_scale.low)), float(np.expm1(on_log_scale.high)))


def _table(count_a: int, n_a: int, count_b: int, n_b: int) -> np.ndarray:
    """The 2x2 table with one column per arm (scipy's exact tests take columns as the binomial samples)."""
    return np.array([[count_a, count_b], [n_a - count_a, n_b - count_b]])


def pooled_z_p(count_a: int, n_a: int, count_b: int, n_b: int) -> float:
    """Two-sided p-value of the pooled two-proportion z test (= statsmodels proportions_ztest)."""
    _check_pair(count_a, n_a, count_b, n_b)
    pooled = (count_a + count_b) / (n_a + n_b)
    variance = pooled * (1 - pooled) * (1 / n_a + 1 / n_b)
    if variance <= 0:
        raise InsufficientData("every answer is the same in both groups")
    z = (count_a / n_a - count_b / n_b) / np.sqrt(variance)
    return float(2 * stats.norm.sf(abs(z)))


def two_proportion_test(count_a: int, n_a: int, count_b: int, n_b: int) -> tuple[float, str]:
    """(two-sided p-value, test name) for p_a = p_b.

    "z": the pooled two-proportion z test, when every expected cell of the 2x2 table is at least 5.
    Otherwise an exact test: "boschloo" (scipy's boschloo_exact, uniformly more powerful than Fisher's)
    while the table is small enough to enumerate in about a second, else "fisher" (large arms with a
    rare outcome; Boschloo would take minutes and gigabytes there).
    When every answer is the same in both groups the exact tests' p-value is exactly 1 (the observed
    table is the only one with these margins); that value is returned, not an error.
    """
    _check_pair(count_a, n_a, count_b, n_b)
    table = _table(count_a, n_a, count_b, n_b)
    expected = table.sum(axis=1, keepdims=True) * table.sum(axis=0, keepdims=True) / table.sum()
    if expected.min() >= MIN_EXPECTED_CELL:
        return pooled_z_p(count_a, n_a, count_b, n_b), "z"
    if (n_a + 1) * (n_b + 1) > BOSCHLOO_MAX_TABLES:
        return fisher_p(count_a, n_a, count_b, n_b), "fisher"
    total = count_a + count_b
    if total in (0, n_a + n_b):
        return 1.0, "boschloo"
    p_value = float(stats.boschloo_exact(table, alternative="two-sided").pvalue)
    return min(max(p_value, 0.0), 1.0), "boschloo"


def fisher_p(count_a: int, n_a: int, count_b: int, n_b: int) -> float:
    """Two-sided p-value of Fisher's exact test (scipy.stats.fisher_exact); 1.0 when all answers agree."""
    _check_pair(count_a, n_a, count_b, n_b)
    return float(stats.fisher_exact(_table(count_a, n_a, count_b, n_b), alternative="two-sided").pvalue)


def preference_chi_square(table: Mapping[str, tuple[int, int]]) -> ChiSquare:
    """Chi-square test of independence of arm and preferred channel (no Yates correction).

    table: channel -> (count_a, count_b) of victims preferring it. A channel nobody chose adds nothing
    to the test and would make an expected count zero, so it is left out (and dof counts only the
    channels chosen). Fewer than two chosen channels, or an arm with no answers: InsufficientData.
    """
    rows = {channel: counts for channel, counts in table.items() if sum(counts) > 0}
    for channel, (count_a, count_b) in table.items():
        if count_a < 0 or count_b < 0:
            raise ValueError(f"negative count for channel {channel!r}")
    if len(rows) < 2:
        raise InsufficientData("fewer than two channels were chosen, so there is nothing to compare")
    observed = np.array(list(rows.values()), dtype=float)
    for column, group in enumerate(("Group A (notified)", "Group B (holdout)")):
        if observed[:, column].sum() == 0:
            raise InsufficientData(f"no victims in {group} stated a channel preference")
    result = stats.chi2_contingency(observed, correction=False)
    return ChiSquare(float(result.statistic), int(result.dof), float(result.pvalue))
