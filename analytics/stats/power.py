"""Minimum detectable effects: the smallest true difference the evaluation would likely have found."""

from __future__ import annotations

import numpy as np
from scipy import optimize, stats

from analytics.stats.common import InsufficientData, check_alpha


def _z_values(alpha: float, power: float) -> tuple[float, float]:
    check_alpha(alpha)
    if not 0 < power < 1:
        raise ValueError(f"power must lie strictly between 0 and 1, got {power}")
    return float(stats.norm.isf(alpha / 2)), float(stats.norm.ppf(power))


def _check_sizes(n_a: int, n_b: int) -> None:
    if n_a < 1 or n_b < 1:
        raise InsufficientData("a group has no victims, so no effect could be detected")


def mde_proportions(n_a: int, n_b: int, base_rate: float, alpha: float = 0.05, power: float = 0.8) -> float:
    """Smallest increase d over `base_rate` (proportion units) that the pooled z test detects with `power`.

    Two-sided normal approximation solved exactly for d:
        z_(1−α/2) · sqrt(p̄(1 − p̄)(1/n_a + 1/n_b)) + z_power · sqrt(p_a(1 − p_a)/n_a + b(1 − b)/n_b) = d
    with b = base_rate (Group B), p_a = b + d and p̄ the pooled rate under that alternative: the null
    spread is the pooled z test's, the alternative spread each arm's own.
    A base rate of 0 or 1, or no detectable increase below a rate of 1: InsufficientData.
    """
    z_alpha, z_power = _z_values(alpha, power)
    _check_sizes(n_a, n_b)
    if not 0 < base_rate < 1:
        raise InsufficientData("the base rate is 0 or 1, so there is no variance to size a test with")
    share_a = n_a / (n_a + n_b)

    def shortfall(d: float) -> float:
        p_a = base_rate + d
        pooled = share_a * p_a + (1 - share_a) * base_rate
        null_spread = np.sqrt(pooled * (1 - pooled) * (1 / n_a + 1 / n_b))
        alternative_spread = np.sqrt(p_a * (1 - p_a) / n_a + base_rate * (1 - base_rate) / n_b)
        return float(z_alpha * null_spread + z_power * alternative_spread - d)

    largest = 1 - base_rate
    if shortfall(largest) > 0:
        raise InsufficientData("too few victims: even a rise to a rate of 100% would likely go undetected")
    return float(optimize.brentq(shortfall, 0.0, largest, xtol=1e-12))


def mde_means(n_a: int, n_b: int, sd: float, alpha: float = 0.05, power: float = 0.8) -> float:
    """Smallest difference in means detected with `power`: (z_(1−α/2) + z_power) · sd · sqrt(1/n_a + 1/n_b).

    Normal approximation with a common standard deviation; sd <= 0 (every answer the same):
    InsufficientData.
    """
    z_alpha, z_power = _z_values(alpha, power)
    _check_sizes(n_a, n_b)
    if not np.isfinite(sd) or sd <= 0:
        raise InsufficientData("every answer is the same, so there is no spread to size a test with")
    return float((z_alpha + z_power) * sd * np.sqrt(1 / n_a + 1 / n_b))
