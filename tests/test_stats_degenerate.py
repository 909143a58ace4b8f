"""Degenerate data never crashes analytics.stats and never comes back as NaN.

Each case either raises InsufficientData with a plain-English reason, or returns the value its
docstring documents. Invalid input (a count above n, NaN ratings) is a caller's bug: plain ValueError.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analytics import stats
from analytics.stats import InsufficientData

PROPORTION_FUNCTIONS = [
    stats.newcombe_diff_ci,
    stats.relative_lift_delta,
    stats.relative_lift,
    stats.log_rr_ci,
    stats.two_proportion_test,
    stats.pooled_z_p,
    stats.fisher_p,
]


def all_finite(value: object) -> bool:
    """Every number inside a result (dataclasses, tuples, lists) is finite."""
    if isinstance(value, str):
        return True
    if isinstance(value, int | float | np.floating | np.integer):
        return math.isfinite(float(value))
    if isinstance(value, tuple | list):
        return all(all_finite(item) for item in value)
    if hasattr(value, "__dataclass_fields__"):
        return all(all_finite(getattr(value, name)) for name in value.__dataclass_fields__)
    raise AssertionError(f"unexpected result type {type(value)}")


def test_insufficient_data_is_a_value_error_with_its_reason() -> None:
    error = InsufficientData("no victims in the holdout")
    assert isinstance(error, ValueError)
    assert error.reason == "no victims in the holdout"
    assert str(error) == "no victims in the holdout"


@pytest.mark.parametrize("function", PROPORTION_FUNCTIONS)
def test_an_empty_arm_is_insufficient(function) -> None:
    with pytest.raises(InsufficientData, match="no victims in Group B"):
        function(3, 10, 0, 0)
    with pytest.raises(InsufficientData, match="no victims in Group A"):
        function(0, 0, 3, 10)


@pytest.mark.parametrize("function", PROPORTION_FUNCTIONS)
def test_impossible_counts_are_a_plain_value_error(function) -> None:
    for counts in [(11, 10, 3, 10), (-1, 10, 3, 10), (3, 10, 3, -10)]:
        with pytest.raises(ValueError) as raised:
            function(*counts)
        assert not isinstance(raised.value, InsufficientData)


def test_relative_lift_is_undefined_when_the_holdout_rate_is_zero() -> None:
    with pytest.raises(InsufficientData, match=r"Group B .* relative lift is undefined"):
        stats.relative_lift_delta(5, 100, 0, 100)


@pytest.mark.parametrize("counts", [(0, 100, 5, 100), (100, 100, 50, 100), (50, 100, 100, 100)])
def test_relative_lift_needs_variance_in_both_arms(counts: tuple[int, int, int, int]) -> None:
    with pytest.raises(InsufficientData, match="every answer is the same"):
        stats.relative_lift_delta(*counts)


def test_relative_lift_needs_two_victims_per_arm() -> None:
    with pytest.raises(InsufficientData, match="at least two"):
        stats.relative_lift_delta(1, 1, 1, 2)


def test_log_risk_ratio_needs_a_yes_in_each_arm_and_some_variance() -> None:
    with pytest.raises(InsufficientData, match="log risk ratio is undefined"):
        stats.log_rr_ci(0, 100, 5, 100)
    with pytest.raises(InsufficientData, match="log risk ratio is undefined"):
        stats.log_rr_ci(5, 100, 0, 100)
    with pytest.raises(InsufficientData, match="every answer is the same"):
        stats.log_rr_ci(100, 100, 80, 80)


def test_newcombe_is_defined_when_nobody_or_everybody_says_yes() -> None:
    nobody = stats.newcombe_diff_ci(0, 10, 0, 12)
    everybody = stats.newcombe_diff_ci(10, 10, 12, 12)
    for interval in (nobody, everybody):
        assert all_finite(interval)
        assert interval.low < 0 < interval.high
    assert stats.newcombe_diff_ci(1, 1, 0, 1).high <= 1


@pytest.mark.parametrize(
    "counts", [(0, 10, 0, 12), (10, 10, 12, 12), (0, 5000, 0, 5000), (5000, 5000, 4000, 4000)]
)
def test_identical_answers_give_an_exact_p_value_of_one(counts: tuple[int, int, int, int]) -> None:
    p_value, name = stats.two_proportion_test(*counts)
    assert p_value == 1.0
    assert name in {"boschloo", "fisher"}
    assert stats.fisher_p(*counts) == 1.0


def test_the_pooled_z_alone_refuses_identical_answers() -> None:
    with pytest.raises(InsufficientData, match="every answer is the same"):
        stats.pooled_z_p(0, 100, 0, 100)


@settings(max_examples=300, deadline=None)
@given(
    n_a=st.integers(0, 60),
    n_b=st.integers(0, 60),
    share_a=st.floats(0, 1),
    share_b=st.floats(0, 1),
    alpha=st.sampled_from([0.01, 0.05, 0.2]),
)
def test_proportions_are_finite_or_insufficient(
    n_a: int, n_b: int, share_a: float, share_b: float, alpha: float
) -> None:
    counts = (round(share_a * n_a), n_a, round(share_b * n_b), n_b)
    for function in PROPORTION_FUNCTIONS:
        kwargs = {"alpha": alpha} if function in (stats.newcombe_diff_ci, stats.log_rr_ci) else {}
        try:
            result = function(*counts, **kwargs)
        except InsufficientData as error:
            assert error.reason
            continue
        assert all_finite(result), (function.__name__, counts, result)


def test_chi_square_leaves_out_a_channel_nobody_chose() -> None:
    with_empty = stats.preference_chi_square({"text": (30, 20), "email": (10, 25), "mail": (0, 0)})
    without = stats.preference_chi_square({"text": (30, 20), "email": (10, 25)})
    assert with_empty == without
    assert with_empty.dof == 1


@pytest.mark.parametrize(
    ("table", "reason"),
    [
        ({}, "fewer than two channels"),
        ({"text": (30, 20)}, "fewer than two channels"),
        ({"text": (30, 20), "email": (0, 0)}, "fewer than two channels"),
        ({"text": (30, 0), "email": (10, 0)}, "no victims in Group B"),
        ({"text": (0, 4), "email": (0, 9)}, "no victims in Group A"),
    ],
)
def test_chi_square_without_two_channels_and_two_arms_is_insufficient(
    table: dict[str, tuple[int, int]], reason: str
) -> None:
    with pytest.raises(InsufficientData, match=reason):
        stats.preference_chi_square(table)


def test_chi_square_refuses_negative_counts() -> None:
    with pytest.raises(ValueError, match="negative"):
        stats.preference_chi_square({"text": (-1, 3), "email": (2, 2)})


@pytest.mark.parametrize("function", [stats.welch_diff, stats.brunner_munzel])
@pytest.mark.parametrize(
    ("a", "b", "reason"),
    [
        ([], [3, 4, 5], "fewer than two answers in Group A"),
        ([4], [3, 4, 5], "fewer than two answers in Group A"),
        ([3, 4, 5], [5], "fewer than two answers in Group B"),
        ([4, 4, 4], [4, 4], "every answer is the same"),
    ],
)
def test_ratings_without_variance_or_answers_are_insufficient(function, a, b, reason: str) -> None:
    with pytest.raises(InsufficientData, match=reason):
        function(np.array(a, dtype=float), np.array(b, dtype=float))


def test_brunner_munzel_refuses_groups_that_do_not_overlap() -> None:
    with pytest.raises(InsufficientData, match="do not overlap"):
        stats.brunner_munzel(np.array([5, 5, 4]), np.array([1, 2, 2, 1]))


def test_welch_with_one_constant_group_is_still_defined() -> None:
    result = stats.welch_diff(np.array([5, 5, 5, 5]), np.array([1, 2, 3, 4, 5]))
    assert all_finite(result)
    assert result.diff == pytest.approx(2.0)


@pytest.mark.parametrize("function", [stats.welch_diff, stats.brunner_munzel, stats.top_box])
def test_missing_ratings_must_be_dropped_first(function) -> None:
    with pytest.raises(ValueError, match="NaN"):
        if function is stats.top_box:
            function(np.array([1.0, np.nan]))
        else:
            function(np.array([1.0, np.nan, 3.0]), np.array([1.0, 2.0]))


@settings(max_examples=200, deadline=None)
@given(
    a=st.lists(st.integers(1, 5), max_size=12),
    b=st.lists(st.integers(1, 5), max_size=12),
)
def test_ratings_are_finite_or_insufficient(a: list[int], b: list[int]) -> None:
    for function in (stats.welch_diff, stats.brunner_munzel):
        try:
            result = function(np.array(a, dtype=float), np.array(b, dtype=float))
        except InsufficientData as error:
            assert error.reason
            continue
        assert all_finite(result), (function.__name__, a, b, result)
        assert 0 <= result.p_value <= 1


@pytest.mark.parametrize("p_values", [[0.1, float("nan")], [1.2], [-0.01, 0.5]])
def test_corrections_refuse_impossible_p_values(p_values: list[float]) -> None:
    for correction in (stats.holm, stats.benjamini_hochberg):
        with pytest.raises(ValueError, match=r"\[0, 1\]"):
            correction(p_values)


def test_sample_ratio_mismatch_without_victims_is_insufficient() -> None:
    with pytest.raises(InsufficientData, match="no victims were randomized"):
        stats.sample_ratio_mismatch(0, 0, 0.5)
    for share in (0, 1, 1.5):
        with pytest.raises(ValueError):
            stats.sample_ratio_mismatch(10, 10, share)


def test_power_without_victims_or_variance_is_insufficient() -> None:
    with pytest.raises(InsufficientData, match="no victims"):
        stats.mde_proportions(0, 100, 0.4)
    with pytest.raises(InsufficientData, match="base rate is 0 or 1"):
        stats.mde_proportions(100, 100, 0.0)
    with pytest.raises(InsufficientData, match="base rate is 0 or 1"):
        stats.mde_proportions(100, 100, 1.0)
    with pytest.raises(InsufficientData, match="too few victims"):
        stats.mde_proportions(2, 2, 0.5)
    with pytest.raises(InsufficientData, match="every answer is the same"):
        stats.mde_means(100, 100, 0.0)
    with pytest.raises(InsufficientData, match="no victims"):
        stats.mde_means(100, 0, 1.0)


def test_complier_effect_without_openers_is_insufficient() -> None:
    with pytest.raises(InsufficientData, match="nobody in Group A opened"):
        stats.complier_effect(0.05, 0.01, 0.0, 0.0)
    rng = np.random.default_rng(1)
    y = rng.random(200)
    arm = np.arange(200) % 2 == 0
    with pytest.raises(InsufficientData, match="no compliers"):
        stats.complier_effect_from_rows(y, arm, np.zeros(200, dtype=bool))
    with pytest.raises(InsufficientData, match="fewer than two answers in Group B"):
        stats.complier_effect_from_rows(y[:3], np.array([True, True, False]), np.array([True, False, False]))
    with pytest.raises(InsufficientData, match="every answer is the same"):
        stats.complier_effect_from_rows(np.ones(200), arm, arm)


def test_ipw_and_lee_need_respondents_in_both_arms() -> None:
    n = 400
    arm = np.arange(n) % 2 == 0
    y = np.ones(n)
    covariates = np.random.default_rng(2).normal(size=(n, 2))
    responded = arm.copy()  # only Group A answered
    with pytest.raises(InsufficientData, match="nobody in Group B"):
        stats.ipw_difference(y, arm, responded, covariates)
    with pytest.raises(InsufficientData, match="nobody in Group B"):
        stats.lee_bounds(y, arm, responded)
    with pytest.raises(InsufficientData, match="no victims in Group B"):
        stats.lee_bounds(y, np.ones(n, dtype=bool), responded)


def test_ipw_with_identical_answers_is_insufficient() -> None:
    n = 1000
    rng = np.random.default_rng(3)
    arm = rng.random(n) < 0.5
    responded = rng.random(n) < 0.3
    y = np.where(responded, 4.0, np.nan)
    with pytest.raises(InsufficientData, match="every answer is the same"):
        stats.ipw_difference(y, arm, responded, rng.normal(size=(n, 3)))


def test_ipw_ignores_missing_outcomes_of_non_respondents_only() -> None:
    n = 1000
    rng = np.random.default_rng(4)
    arm = rng.random(n) < 0.5
    responded = rng.random(n) < 0.3
    y = np.where(responded, rng.random(n), np.nan)
    assert all_finite(stats.ipw_difference(y, arm, responded, rng.normal(size=(n, 2))))
    y[np.flatnonzero(responded)[0]] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        stats.ipw_difference(y, arm, responded, rng.normal(size=(n, 2)))


def panel(units: int, months: int, treated_units: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(5)
    rows = [
        {"division": unit, "month": month, "early": unit < treated_units, "calls": rng.normal() + unit}
        for unit in range(units)
        for month in range(months)
    ]
    return pd.DataFrame(rows)


@pytest.mark.parametrize(
    ("frame", "start", "reason"),
    [
        (panel(4, 12, treated_units=0), 6, "no treated"),
        (panel(4, 12, treated_units=4), 6, "no comparison unit"),
        (panel(4, 12), 1, "at least two months before"),
        (panel(4, 12), 11, "at least two months before and after"),
        (panel(4, 12).iloc[0:0], 6, "no outcomes"),
    ],
)
def test_difference_in_differences_without_both_groups_and_periods_is_insufficient(
    frame: pd.DataFrame, start: int, reason: str
) -> None:
    with pytest.raises(InsufficientData, match=reason):
        stats.difference_in_differences(frame, "calls", "early", "month", "division", start)


def test_difference_in_differences_with_a_constant_gap_is_insufficient() -> None:
    frame = panel(4, 12).assign(calls=lambda d: d["division"] * 1.0)
    with pytest.raises(InsufficientData, match="never varies"):
        stats.difference_in_differences(frame, "calls", "early", "month", "division", 6)


def test_difference_in_differences_refuses_a_unit_that_switches_groups() -> None:
    frame = panel(4, 12)
    frame.loc[frame.index[5], "early"] = False
    with pytest.raises(ValueError, match="same on every row"):
        stats.difference_in_differences(frame, "calls", "early", "month", "division", 6)
    with pytest.raises(ValueError, match="no column"):
        stats.difference_in_differences(frame, "nope", "early", "month", "division", 6)
