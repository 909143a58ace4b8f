"""Causal estimators and power by simulation with fixed seeds: each recovers what was planted."""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf

from analytics import stats

# ---------------------------------------------------------------- Lee bounds


def monotone_selection(rng: np.random.Generator, n: int, rating: bool) -> tuple[np.ndarray, ...]:
    """Always-responders answer in both arms; 'extra' victims answer only if notified (monotone).

    The effect among always-responders is 0.3 (continuous) or +1 point on a 1..5 scale for a share of
    them (ratings); the extra responders rate much higher, which biases the plain comparison.
    """
    arm = rng.random(n) < 0.5
    kind = rng.choice(["always", "extra", "never"], n, p=[0.12, 0.06, 0.82])
    responded = (kind == "always") | ((kind == "extra") & arm)
    if rating:
        base = rng.choice([1, 2, 3, 4, 5], n, p=[0.1, 0.15, 0.3, 0.3, 0.15])
        lifted = np.minimum(base + (rng.random(n) < 0.4), 5)
        y = np.where(arm, lifted, base).astype(float)
        y[kind == "extra"] = rng.choice([3.0, 4.0, 5.0], int((kind == "extra").sum()), p=[0.1, 0.3, 0.6])
        truth = float(np.mean((lifted - base)[kind == "always"]))
    else:
        base = rng.normal(2.0, 1.0, n)
        y = base + 0.3 * arm
        y[kind == "extra"] = rng.normal(4.0, 1.0, int((kind == "extra").sum()))
        truth = 0.3
    y[~responded] = np.nan
    return y, arm, responded, truth


@pytest.mark.parametrize("rating", [False, True])
def test_lee_bounds_contain_the_effect_on_always_responders(rating: bool) -> None:
    y, arm, responded, truth = monotone_selection(np.random.default_rng(11), 200_000, rating)
    bounds = stats.lee_bounds(y, arm, responded)
    naive = np.nanmean(y[arm]) - np.nanmean(y[~arm])
    assert bounds.low < truth < bounds.high
    assert naive - truth > 0.2  # the extra responders bias the plain difference upwards


def test_lee_bounds_trim_the_holdout_when_it_answers_more() -> None:
    y, arm, responded, truth = monotone_selection(np.random.default_rng(12), 200_000, rating=False)
    # Swap the arms: now the holdout has the extra responders, and the effect is −0.3.
    bounds = stats.lee_bounds(y, ~arm, responded)
    assert bounds.low < -truth < bounds.high


def test_lee_bounds_collapse_to_the_plain_difference_when_response_rates_are_equal() -> None:
    rng = np.random.default_rng(13)
    arm = np.repeat([True, False], 1000)
    responded = np.concatenate([rng.permutation(1000) < 150, rng.permutation(1000) < 150])
    y = np.where(responded, rng.integers(1, 6, 2000).astype(float), np.nan)
    bounds = stats.lee_bounds(y, arm, responded)
    plain = np.nanmean(y[arm]) - np.nanmean(y[~arm])
    assert bounds.low == pytest.approx(plain, abs=1e-12)
    assert bounds.high == pytest.approx(plain, abs=1e-12)


def test_lee_bounds_trim_ties_fractionally() -> None:
    # A: 10 of 10 answer, B: 8 of 10. Trim 20% (2 answers' worth) of A's answers [1]*5 + [5]*5.
    arm = np.repeat([True, False], 10)
    responded = np.concatenate([np.ones(10, bool), np.arange(10) < 8])
    y = np.concatenate([[1.0] * 5 + [5.0] * 5, [3.0] * 10])
    bounds = stats.lee_bounds(y, arm, responded)
    assert bounds.low == pytest.approx((5 * 1 + 3 * 5) / 8 - 3)
    assert bounds.high == pytest.approx((3 * 1 + 5 * 5) / 8 - 3)


# ---------------------------------------------------------------- IPW


def covariate_selection(
    rng: np.random.Generator, n: int, response: tuple[float, float, float] = (-2.6, 1.2, 1.0)
) -> tuple[np.ndarray, ...]:
    """Notified victims answer more; a covariate both drives answering and raises the outcome.

    response: (intercept, arm, covariate) of the response log-odds; the default selects strongly.
    """
    intercept, arm_effect, slope = response
    arm = rng.random(n) < 0.5
    x = rng.normal(size=n)
    noise = rng.normal(size=(n, 2))  # covariates unrelated to anything
    responded = rng.random(n) < 1 / (1 + np.exp(-(intercept + arm_effect * arm + slope * x)))
    y = 3.0 + 0.8 * x + 0.25 * arm + rng.normal(0, 0.5, n)
    y[~responded] = np.nan
    return y, arm, responded, np.column_stack([x, noise])


def test_ipw_recovers_the_effect_where_the_plain_difference_is_biased() -> None:
    y, arm, responded, covariates = covariate_selection(np.random.default_rng(21), 200_000)
    effect = stats.ipw_difference(y, arm, responded, covariates)
    naive = np.nanmean(y[arm]) - np.nanmean(y[~arm])
    assert effect.ci.contains(0.25)
    assert abs(effect.estimate - 0.25) < 0.02
    assert abs(naive - 0.25) > 0.1  # selection on x biases the unweighted comparison
    assert not effect.ci.contains(naive)


def test_ipw_standard_error_matches_the_spread_of_estimates() -> None:
    # Milder selection than above: with weights up to ~500 any sandwich runs a little small at n = 6000.
    rng = np.random.default_rng(22)
    estimates, ses = [], []
    for _ in range(300):
        y, arm, responded, covariates = covariate_selection(rng, 6000, response=(-2.2, 0.8, 0.7))
        effect = stats.ipw_difference(y, arm, responded, covariates)
        estimates.append(effect.estimate)
        ses.append(effect.se)
    estimates, ses = np.array(estimates), np.array(ses)
    assert np.sqrt(np.mean(ses**2)) == pytest.approx(np.std(estimates, ddof=1), rel=0.1)
    assert np.mean(estimates) == pytest.approx(0.25, abs=0.01)
    assert 0.91 <= np.mean(np.abs(estimates - 0.25) <= 1.959964 * ses) <= 0.97


def test_ipw_survives_a_perfectly_separated_dummy() -> None:
    rng = np.random.default_rng(23)
    y, arm, responded, covariates = covariate_selection(rng, 50_000)
    nobody_answers = rng.random(y.size) < 0.05
    responded = responded & ~nobody_answers
    y[nobody_answers] = np.nan
    design = np.column_stack([covariates, nobody_answers.astype(float)])
    effect = stats.ipw_difference(y, arm, responded, design)
    assert np.isfinite([effect.estimate, effect.se, effect.ci.low, effect.ci.high]).all()
    assert abs(effect.estimate - 0.25) < 4 * effect.se
    coef, fitted, _ = stats.response_propensity(np.column_stack([np.ones(y.size), arm, design]), responded)
    assert np.isfinite(coef).all() and -30 < coef[-1] < -3  # large but finite
    assert fitted.min() > 0


def test_ipw_handles_a_million_victims_quickly() -> None:
    rng = np.random.default_rng(24)
    n = 1_000_000
    arm = rng.random(n) < 0.5
    covariates = rng.normal(size=(n, 10))
    responded = rng.random(n) < 1 / (1 + np.exp(-(-1.9 + 0.2 * arm + 0.5 * covariates[:, 0])))
    y = np.where(responded, (rng.random(n) < 0.4).astype(float), np.nan)
    started = time.process_time()  # CPU time, so other tests on the same cores cannot fail it
    effect = stats.ipw_difference(y, arm, responded, covariates)
    elapsed = time.process_time() - started
    assert abs(effect.estimate) < 4 * effect.se
    assert elapsed < 10  # about 1 s on the 2-core machine; a loop over rows would take minutes


# ---------------------------------------------------------------- complier effect


def noncompliance(rng: np.random.Generator, n: int) -> tuple[np.ndarray, ...]:
    """60% of Group A open the message; the holdout cannot. Opening raises the outcome by 0.5."""
    arm = rng.random(n) < 0.5
    opener_type = rng.random(n) < 0.6  # would open if sent
    opened = arm & opener_type
    y = 2.0 + 0.4 * opener_type + 0.5 * opened + rng.normal(0, 1, n)  # openers differ at baseline too
    return y, arm, opened


def test_complier_effect_from_rows_recovers_the_planted_effect() -> None:
    y, arm, opened = noncompliance(np.random.default_rng(31), 100_000)
    effect = stats.complier_effect_from_rows(y, arm, opened)
    assert effect.ci.contains(0.5)
    assert abs(effect.estimate - 0.5) < 0.04
    as_treated = y[opened].mean() - y[~opened].mean()
    assert abs(as_treated - 0.5) > 0.2  # comparing openers with everyone else is biased


def test_complier_effect_equals_itt_over_open_rate() -> None:
    y, arm, opened = noncompliance(np.random.default_rng(32), 50_000)
    itt = stats.welch_diff(y[arm], y[~arm])
    itt_se = (itt.ci.high - itt.ci.low) / 2 / 1.959963984540054
    open_rate = opened[arm].mean()
    open_rate_se = np.sqrt(open_rate * (1 - open_rate) / arm.sum())
    summary = stats.complier_effect(itt.diff, itt_se, open_rate, open_rate_se)
    assert summary.estimate == pytest.approx(itt.diff / open_rate, rel=1e-12)
    rows = stats.complier_effect_from_rows(y, arm, opened)
    assert rows.estimate == pytest.approx(summary.estimate, rel=1e-9)
    assert rows.se == pytest.approx(summary.se, rel=0.25)
    assert summary.se > itt_se / open_rate  # the open rate's own uncertainty adds to it


def test_complier_effect_interval_covers_at_the_nominal_rate() -> None:
    rng = np.random.default_rng(33)
    covered = sum(
        stats.complier_effect_from_rows(*noncompliance(rng, 3000)).ci.contains(0.5) for _ in range(300)
    )
    assert 0.91 <= covered / 300 <= 0.98


# ---------------------------------------------------------------- difference in differences


def rollout(
    rng: np.random.Generator,
    units: int,
    treated_units: int,
    effect: float,
    months: int = 24,
    start: int = 12,
    comparison_start: int | None = None,
) -> pd.DataFrame:
    """Monthly outcomes per division: unit and month effects, noise, and the planted effect."""
    month_effect = rng.normal(0, 1, months)
    rows = []
    for unit in range(units):
        level = rng.normal(10, 2)
        early = unit < treated_units
        for month in range(months):
            treated_now = (early and month >= start) or (
                not early and comparison_start is not None and month >= comparison_start
            )
            rows.append(
                {
                    "division": f"D{unit}",
                    "month": month,
                    "early": early,
                    "calls": level + month_effect[month] + effect * treated_now + rng.normal(0, 0.5),
                }
            )
    return pd.DataFrame(rows)


def test_did_recovers_the_effect_with_four_divisions() -> None:
    panel = rollout(np.random.default_rng(41), units=4, treated_units=1, effect=-3.0)
    result = stats.difference_in_differences(panel, "calls", "early", "month", "division", 12)
    assert result.estimate == pytest.approx(-3.0, abs=0.5)
    assert result.ci.contains(-3.0)
    assert result.exact and result.n_assignments == 4
    # The strongest evidence four divisions can give: the real assignment is the most extreme of 4.
    assert result.permutation_p == pytest.approx(0.25)
    assert (result.pre_months, result.post_months) == (12, 12)


def test_did_equals_the_two_way_fixed_effects_regression_on_a_balanced_panel() -> None:
    panel = rollout(np.random.default_rng(42), units=5, treated_units=2, effect=1.5)
    panel["treated_now"] = (panel["early"] & (panel["month"] >= 12)).astype(float)
    regression = smf.ols("calls ~ treated_now + C(division) + C(month)", data=panel).fit()
    result = stats.difference_in_differences(panel, "calls", "early", "month", "division", 12)
    assert result.estimate == pytest.approx(regression.params["treated_now"], rel=1e-9)


def test_did_permutation_p_is_small_for_a_big_effect_and_not_under_the_null() -> None:
    rng = np.random.default_rng(43)
    big = stats.difference_in_differences(
        rollout(rng, units=16, treated_units=8, effect=2.0), "calls", "early", "month", "division", 12
    )
    assert not big.exact and big.n_assignments == 2000
    assert big.permutation_p < 0.01
    assert big.ci.contains(2.0)
    null_p = [
        stats.difference_in_differences(
            rollout(rng, units=16, treated_units=8, effect=0.0), "calls", "early", "month", "division", 12
        ).permutation_p
        for _ in range(40)
    ]
    assert np.median(null_p) > 0.2
    assert np.mean(np.array(null_p) < 0.05) <= 0.15


def test_did_enumerates_every_assignment_when_there_are_few() -> None:
    panel = rollout(np.random.default_rng(44), units=6, treated_units=2, effect=4.0)
    result = stats.difference_in_differences(panel, "calls", "early", "month", "division", 12)
    assert result.exact and result.n_assignments == 15  # C(6, 2)
    assert result.permutation_p == pytest.approx(1 / 15)


def test_did_drops_months_after_the_comparison_units_start() -> None:
    panel = rollout(np.random.default_rng(46), units=4, treated_units=1, effect=-3.0, comparison_start=19)
    naive = stats.difference_in_differences(panel, "calls", "early", "month", "division", 12)
    staged = stats.difference_in_differences(
        panel, "calls", "early", "month", "division", 12, comparison_start=19
    )
    assert staged.estimate == pytest.approx(-3.0, abs=0.5)
    assert staged.ci.contains(-3.0)
    assert staged.post_months == 7
    assert naive.estimate > staged.estimate + 0.8  # later-treated comparisons dilute the effect


def test_did_event_study_is_flat_before_and_shows_the_effect_after() -> None:
    panel = rollout(np.random.default_rng(46), units=4, treated_units=1, effect=-3.0)
    result = stats.difference_in_differences(panel, "calls", "early", "month", "division", 12)
    months = [point.relative_month for point in result.event_study]
    assert months == list(range(-12, 12))
    before = [point for point in result.event_study if point.relative_month < 0]
    after = [point for point in result.event_study if point.relative_month >= 0]
    assert sum(point.ci.contains(0.0) for point in before) >= 10
    assert np.mean([point.estimate for point in after]) == pytest.approx(-3.0, abs=0.5)
    assert sum(point.ci.high < 0 for point in after) >= 10


def test_did_reads_calendar_months() -> None:
    panel = rollout(np.random.default_rng(47), units=4, treated_units=1, effect=-3.0)
    by_number = stats.difference_in_differences(panel, "calls", "early", "month", "division", 12)
    dated = panel.assign(month=[pd.Timestamp(2017, 1, 1) + pd.DateOffset(months=m) for m in panel["month"]])
    by_date = stats.difference_in_differences(
        dated, "calls", "early", "month", "division", pd.Timestamp(2018, 1, 1)
    )
    by_period = stats.difference_in_differences(
        dated.assign(month=dated["month"].dt.to_period("M")), "calls", "early", "month", "division", "2018-01"
    )
    by_string = stats.difference_in_differences(
        dated.assign(month=dated["month"].dt.strftime("%Y-%m-%d")),
        "calls",
        "early",
        "month",
        "division",
        "2018-01-15",
    )
    for result in (by_date, by_period, by_string):
        assert result.estimate == pytest.approx(by_number.estimate, rel=1e-12)
        assert result.permutation_p == by_number.permutation_p


# ---------------------------------------------------------------- power


@pytest.mark.parametrize(
    ("n_a", "n_b", "base_rate", "power"), [(1000, 1000, 0.4, 0.8), (600, 1400, 0.15, 0.9)]
)
def test_a_test_at_the_mde_has_the_requested_power(
    n_a: int, n_b: int, base_rate: float, power: float
) -> None:
    mde = stats.mde_proportions(n_a, n_b, base_rate, power=power)
    rng = np.random.default_rng(51)
    runs = 3000
    counts_a = rng.binomial(n_a, base_rate + mde, runs)
    counts_b = rng.binomial(n_b, base_rate, runs)
    rejected = [
        stats.two_proportion_test(int(a), n_a, int(b), n_b)[0] < 0.05
        for a, b in zip(counts_a, counts_b, strict=True)
    ]
    assert np.mean(rejected) == pytest.approx(power, abs=0.03)


def test_a_welch_test_at_the_mean_mde_has_the_requested_power() -> None:
    mde = stats.mde_means(300, 250, sd=1.2)
    rng = np.random.default_rng(52)
    rejected = [
        stats.welch_diff(rng.normal(3.5 + mde, 1.2, 300), rng.normal(3.5, 1.2, 250)).p_value < 0.05
        for _ in range(2000)
    ]
    assert np.mean(rejected) == pytest.approx(0.8, abs=0.03)


def test_mde_shrinks_with_more_victims() -> None:
    assert stats.mde_proportions(4000, 4000, 0.4) < stats.mde_proportions(1000, 1000, 0.4) / 1.9
    assert stats.mde_means(4000, 4000, 1.0) == pytest.approx(stats.mde_means(1000, 1000, 1.0) / 2)
