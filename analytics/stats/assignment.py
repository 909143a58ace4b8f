"""Checks on the randomization itself: did the arms come out in the planned ratio?"""

from __future__ import annotations

from dataclasses import dataclass

from scipy import stats

from analytics.stats.common import InsufficientData


@dataclass(frozen=True)
class Srm:
    """Sample ratio mismatch: a tiny p_value means the assignment or the data pipeline is broken."""

    n_a: int
    n_b: int
    planned_share_b: float
    observed_share_b: float
    statistic: float
    p_value: float


def sample_ratio_mismatch(n_a: int, n_b: int, planned_share_b: float) -> Srm:
    """Chi-square goodness of fit of [n_a, n_b] to the planned split (scipy.stats.chisquare)."""
    if not 0 < planned_share_b < 1:
        raise ValueError(f"planned_share_b must lie strictly between 0 and 1, got {planned_share_b}")
    if n_a < 0 or n_b < 0:
        raise ValueError(f"group sizes cannot be negative, got {n_a} and {n_b}")
    total = n_a + n_b
    if total == 0:
        raise InsufficientData("no victims were randomized")
    expected = [total * (1 - planned_share_b), total * planned_share_b]
    result = stats.chisquare([n_a, n_b], f_exp=expected)
    return Srm(
        n_a=int(n_a),
        n_b=int(n_b),
        planned_share_b=float(planned_share_b),
        observed_share_b=n_b / total,
        statistic=float(result.statistic),
        p_value=float(result.pvalue),
    )
