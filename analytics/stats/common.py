"""Types and checks shared by every statistic: the error for data too thin to estimate, intervals."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats


class InsufficientData(ValueError):
    """The data cannot support this estimate; `reason` says why in plain English.

    Raised instead of returning NaN, so a report can print the reason next to the blank cell.
    """

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Interval:
    """A two-sided interval [low, high]."""

    low: float
    high: float

    def contains(self, value: float) -> bool:
        return self.low <= value <= self.high

    @property
    def width(self) -> float:
        return self.high - self.low


def check_alpha(alpha: float) -> float:
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must lie strictly between 0 and 1, got {alpha}")
    return float(alpha)


def check_counts(count: int, n: int, group: str) -> None:
    """Invalid counts are a caller's bug (ValueError); an empty group is missing data (InsufficientData)."""
    if n < 0 or count < 0 or count > n:
        raise ValueError(f"{group}: need 0 <= count <= n, got count={count}, n={n}")
    if n == 0:
        raise InsufficientData(f"no victims in {group}")


def normal_quantile(alpha: float) -> float:
    """The two-sided critical value z_(1 - alpha/2)."""
    return float(stats.norm.isf(check_alpha(alpha) / 2))


def normal_interval(estimate: float, se: float, alpha: float) -> Interval:
    half = normal_quantile(alpha) * se
    return Interval(float(estimate - half), float(estimate + half))


def t_interval(estimate: float, se: float, df: float, alpha: float) -> Interval:
    half = float(stats.t.isf(check_alpha(alpha) / 2, df)) * se
    return Interval(float(estimate - half), float(estimate + half))


def one_dimensional(values: object, name: str) -> np.ndarray:
    """A float 1-D copy of an array-like; NaN is refused because callers drop missing answers first."""
    array = np.asarray(values, dtype=float)
    if array.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, got shape {array.shape}")
    if np.isnan(array).any():
        raise ValueError(f"{name} contains NaN: drop missing answers before calling")
    return array
