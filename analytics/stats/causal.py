"""Effects beyond the plain A − B comparison: compliers, non-response, and the early-division rollout.

All differences are A − B. Intervals are two-sided, normal unless a docstring says otherwise.
"""

from __future__ import annotations

import itertools
import math
import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats
from scipy.special import expit

from analytics.stats.common import InsufficientData, Interval, check_alpha, normal_interval, t_interval


@dataclass(frozen=True)
class Effect:
    estimate: float
    se: float
    ci: Interval


@dataclass(frozen=True)
class EventStudyPoint:
    """The treated-minus-comparison gap in one month, relative to its pre-period average."""

    relative_month: int
    estimate: float
    ci: Interval


@dataclass(frozen=True)
class DiD:
    """Difference in differences of the early unit(s) against the comparison units.

    permutation_p comes from `n_assignments` placebo assignments of which units are treated (every
    possible one when `exact`); the smallest p-value it can reach is 1 / n_assignments.
    """

    estimate: float
    ci: Interval
    permutation_p: float
    event_study: list[EventStudyPoint] = field(default_factory=list)
    n_assignments: int = 0
    exact: bool = True
    pre_months: int = 0
    post_months: int = 0


# ---------------------------------------------------------------- complier (CACE) effects


def complier_effect(
    itt: float, itt_se: float, open_rate: float, open_rate_se: float, alpha: float = 0.05
) -> Effect:
    """Effect on victims who open the message (CACE) = ITT / open rate.

    One-sided noncompliance: the holdout cannot open, so the open rate in Group A is the complier share.
    Delta-method SE treating ITT and open rate as independent:
        se² = (itt_se / r)² + (itt · r_se / r²)².
    An open rate of 0 (nobody opened, so there are no compliers): InsufficientData.
    """
    check_alpha(alpha)
    if itt_se < 0 or open_rate_se < 0:
        raise ValueError("standard errors cannot be negative")
    if not 0 <= open_rate <= 1:
        raise ValueError(f"open_rate must lie in [0, 1], got {open_rate}")
    if open_rate == 0:
        raise InsufficientData("nobody in Group A opened the message, so there are no compliers")
    estimate = itt / open_rate
    se = float(np.hypot(itt_se / open_rate, itt * open_rate_se / open_rate**2))
    return Effect(float(estimate), se, normal_interval(estimate, se, alpha))


def _rows(*arrays: object) -> list[np.ndarray]:
    converted = [np.asarray(array) for array in arrays]
    lengths = {array.shape for array in converted}
    if len(lengths) != 1 or converted[0].ndim != 1:
        raise ValueError(f"expected 1-D arrays of one length, got shapes {sorted(lengths)}")
    return converted


def complier_effect_from_rows(y: object, arm_is_a: object, opened: object, alpha: float = 0.05) -> Effect:
    """Wald (instrumental-variable) estimate of the complier effect from per-victim rows.

    (ȳ_A − ȳ_B) / (opened_A − opened_B), arm as the instrument. Delta-method SE including the
    covariance of outcome and opening within each arm:
        se² = [V(ITT_y) − 2β C(ITT_y, ITT_d) + β² V(ITT_d)] / ITT_d²
    with V and C the usual sums of per-arm (co)variances over n. The caller drops non-respondents.
    """
    check_alpha(alpha)
    y, arm, opened = _rows(y, arm_is_a, opened)
    y, arm, opened = y.astype(float), arm.astype(bool), opened.astype(float)
    if np.isnan(y).any():
        raise ValueError("y contains NaN: drop non-respondents before calling")
    moments = []
    for mask, group in ((arm, "Group A (notified)"), (~arm, "Group B (holdout)")):
        n = int(mask.sum())
        if n < 2:
            raise InsufficientData(f"fewer than two answers in {group}")
        covariance = np.cov(y[mask], opened[mask], ddof=1)
        moments.append((y[mask].mean(), opened[mask].mean(), covariance / n))
    (y_a, d_a, cov_a), (y_b, d_b, cov_b) = moments
    itt_y, itt_d = y_a - y_b, d_a - d_b
    if abs(itt_d) < 1e-12:
        raise InsufficientData("opening is no more common in Group A than in Group B: no compliers")
    beta = itt_y / itt_d
    cov = cov_a + cov_b
    variance = (cov[0, 0] - 2 * beta * cov[0, 1] + beta**2 * cov[1, 1]) / itt_d**2
    if variance <= 0:
        raise InsufficientData("every answer is the same, so the complier effect has no variance")
    se = float(np.sqrt(variance))
    return Effect(float(beta), se, normal_interval(beta, se, alpha))


# ---------------------------------------------------------------- non-response


def _penalized_loglik(eta: np.ndarray, responded: np.ndarray, coef: np.ndarray, ridge: float) -> float:
    return float(responded @ eta - np.logaddexp(0.0, eta).sum() - 0.5 * ridge * coef @ coef)


def _weighted_gram(design: np.ndarray, weights: np.ndarray, chunk: int = 65_536) -> np.ndarray:
    """design' · diag(weights) · design, in chunks that stay in cache (3x faster than one big product)."""
    gram = np.zeros((design.shape[1], design.shape[1]))
    for start in range(0, design.shape[0], chunk):
        rows = design[start : start + chunk]
        gram += (rows * weights[start : start + chunk, None]).T @ rows
    return gram


def response_propensity(
    design: np.ndarray, responded: np.ndarray, ridge: float = 1.0, max_iterations: int = 100
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Ridge-penalized logistic regression by Newton's method: (coefficients, fitted P(respond), information).

    The penalty (ridge/2)·|coef|² — on every coefficient, the intercept too, so that even a sample where
    everyone responded stays finite — keeps perfectly separated dummies from diverging; with ridge 1 it
    is a N(0, 1) prior on the log-odds, negligible next to thousands of rows. Step halving keeps each
    step uphill. `information` is the negative Hessian of the penalized log-likelihood at the optimum.
    """
    responded = responded.astype(float)
    penalty = ridge * np.eye(design.shape[1])
    coef = np.zeros(design.shape[1])
    share = float(np.clip(responded.mean(), 1e-6, 1 - 1e-6))
    coef[0] = np.log(share / (1 - share))
    eta = design @ coef
    objective = _penalized_loglik(eta, responded, coef, ridge)
    for _ in range(max_iterations):
        fitted = expit(eta)
        gradient = design.T @ (responded - fitted) - ridge * coef
        step = np.linalg.solve(_weighted_gram(design, fitted * (1 - fitted)) + penalty, gradient)
        for _ in range(40):
            candidate = coef + step
            candidate_eta = design @ candidate
            candidate_objective = _penalized_loglik(candidate_eta, responded, candidate, ridge)
            if candidate_objective >= objective - 1e-9 * abs(objective):
                break
            step = step / 2
        coef, eta, objective = candidate, candidate_eta, candidate_objective
        # Newton converges quadratically: after a step this small the error is ~1e-12.
        if np.max(np.abs(step)) < 1e-6:
            break
    fitted = expit(eta)
    return coef, fitted, _weighted_gram(design, fitted * (1 - fitted)) + penalty


def ipw_difference(
    y: object,
    arm_is_a: object,
    responded: object,
    covariates: np.ndarray,
    alpha: float = 0.05,
    ridge: float = 1.0,
) -> Effect:
    """Difference A − B of survey outcomes reweighted for who responded (inverse probability weighting).

    y is given for every randomized victim; values of non-respondents are ignored (may be NaN).
    1. Response propensity π from a logistic regression of `responded` on [1, arm, covariates]
       (Newton's method in numpy, small ridge; see `response_propensity`).
    2. Hajek means per arm: Σ R y / π ÷ Σ R / π over that arm's victims.
    3. SE: sandwich (M-estimation) variance of the stacked estimating equations — the logistic score
       and the two Hajek means — so it accounts for the propensities being estimated; normal interval.
    No bootstrap: a million rows take about a second this way.
    """
    check_alpha(alpha)
    y, arm, responded_ = _rows(y, arm_is_a, responded)
    arm, responded_ = arm.astype(bool), responded_.astype(bool)
    covariates = np.asarray(covariates, dtype=float)
    if covariates.ndim == 1:
        covariates = covariates[:, None]
    if covariates.shape[0] != y.shape[0]:
        raise ValueError(f"covariates have {covariates.shape[0]} rows, y has {y.shape[0]}")
    if not np.isfinite(covariates).all():
        raise ValueError("covariates must be finite (impute or drop missing values first)")
    outcome = np.where(responded_, y.astype(float), 0.0)
    if np.isnan(outcome).any():
        raise ValueError("y is NaN for some respondents")
    for mask, group in ((arm, "Group A (notified)"), (~arm, "Group B (holdout)")):
        if not responded_[mask].any():
            raise InsufficientData(f"nobody in {group} responded")
    answers = outcome[responded_]
    if np.all(answers == answers[0]):
        raise InsufficientData("every answer is the same, so the weighted difference has no variance")

    design = np.empty((y.shape[0], covariates.shape[1] + 2))
    design[:, 0], design[:, 1], design[:, 2:] = 1.0, arm, covariates
    _, fitted, information = response_propensity(design, responded_, ridge)
    weight = responded_ / fitted
    means, scores, slopes, totals = [], [], [], []
    for mask in (arm, ~arm):
        arm_weight = weight * mask
        total = arm_weight.sum()
        mean = float(arm_weight @ outcome / total)
        residual = arm_weight * (outcome - mean)  # this mean's estimating function, row by row
        means.append(mean)
        scores.append(residual)
        # d(residual)/d(coef) = −residual · (1 − π) · x, since d(1/π)/d(coef) = −(1 − π)/π · x
        slopes.append(-(residual * (1 - fitted)) @ design)
        totals.append(total)

    k = design.shape[1]
    bread = np.zeros((k + 2, k + 2))
    bread[:k, :k] = -information
    for j in range(2):
        bread[k + j, :k] = slopes[j]
        bread[k + j, k + j] = -totals[j]
    contrast = np.zeros(k + 2)
    contrast[k], contrast[k + 1] = 1.0, -1.0
    loading = np.linalg.solve(bread.T, contrast)
    influence = (
        (design @ loading[:k]) * (responded_ - fitted) + loading[k] * scores[0] + loading[k + 1] * scores[1]
    )
    variance = float(influence @ influence)
    if variance <= 0:
        raise InsufficientData("every answer is the same, so the weighted difference has no variance")
    se = float(np.sqrt(variance))
    estimate = means[0] - means[1]
    return Effect(float(estimate), se, normal_interval(estimate, se, alpha))


def _mean_of_lowest(sorted_values: np.ndarray, kept: float) -> float:
    """Mean of the lowest `kept` units of mass (fractional: the boundary value counts in part)."""
    whole = math.floor(kept)
    total = sorted_values[:whole].sum()
    if whole < sorted_values.size:
        total += (kept - whole) * sorted_values[whole]
    return float(total / kept)


def lee_bounds(y: object, arm_is_a: object, responded: object) -> Interval:
    """Lee (2009) bounds on the A − B difference in means among always-responders.

    Assumes monotone selection (being notified only ever makes a victim more, or only ever less,
    likely to answer). The arm with the higher response rate has its respondents' outcomes trimmed by
    the share (q_high − q_low) / q_high, from the top for one bound and from the bottom for the other.
    Ties (ratings, yes/no) are trimmed fractionally, so the trimmed mass is exact. Equal response rates:
    both bounds equal the plain difference of respondents' means. These are bounds of the identified
    set, not a confidence interval. No respondents in an arm: InsufficientData.
    """
    y, arm, responded_ = _rows(y, arm_is_a, responded)
    arm, responded_ = arm.astype(bool), responded_.astype(bool)
    answers, rates = [], []
    for mask, group in ((arm, "Group A (notified)"), (~arm, "Group B (holdout)")):
        if not mask.any():
            raise InsufficientData(f"no victims in {group}")
        values = np.sort(y[mask & responded_].astype(float))
        if values.size == 0:
            raise InsufficientData(f"nobody in {group} responded")
        if np.isnan(values).any():
            raise ValueError("y is NaN for some respondents")
        answers.append(values)
        rates.append(responded_[mask].mean())
    (values_a, values_b), (rate_a, rate_b) = answers, rates
    if rate_a >= rate_b:
        kept = values_a.size * rate_b / rate_a
        mean_b = float(values_b.mean())
        low = _mean_of_lowest(values_a, kept) - mean_b
        high = -_mean_of_lowest(-values_a[::-1], kept) - mean_b
    else:
        kept = values_b.size * rate_a / rate_b
        mean_a = float(values_a.mean())
        low = mean_a + _mean_of_lowest(-values_b[::-1], kept)
        high = mean_a - _mean_of_lowest(values_b, kept)
    return Interval(float(low), float(high))


# ---------------------------------------------------------------- staged rollout


def _month_numbers(values: pd.Series) -> np.ndarray:
    """Months as integers (year·12 + month − 1); plain numbers are taken as month numbers already."""
    if isinstance(values.dtype, pd.PeriodDtype):
        values = values.dt.to_timestamp()
    if pd.api.types.is_numeric_dtype(values):
        return values.to_numpy().astype(np.int64)
    stamps = pd.to_datetime(values)
    return (stamps.dt.year * 12 + stamps.dt.month - 1).to_numpy().astype(np.int64)


def _month_number(value: object, numeric: bool) -> int:
    if numeric:
        return int(value)  # type: ignore[call-overload]
    return int(_month_numbers(pd.Series([value]))[0])


def _gaps(masks: np.ndarray, outcomes: np.ndarray) -> np.ndarray:
    """Monthly mean of the assigned-treated units minus that of the rest, for each assignment (rows)."""
    present = ~np.isnan(outcomes)
    filled = np.where(present, outcomes, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        treated = (masks @ filled) / (masks @ present)
        rest = ((1 - masks) @ filled) / ((1 - masks) @ present)
    return treated - rest


def _did_statistics(gaps: np.ndarray, post: np.ndarray) -> np.ndarray:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # an assignment with no data in a period: NaN
        return np.nanmean(gaps[:, post], axis=1) - np.nanmean(gaps[:, ~post], axis=1)


def _assignments(
    n_units: int, treated: np.ndarray, n_permutations: int, seed: int
) -> tuple[np.ndarray, bool]:
    """Placebo assignments with as many treated units as really were: all of them if few, else a sample."""
    k = int(treated.sum())
    if math.comb(n_units, k) <= n_permutations:
        masks = np.zeros((math.comb(n_units, k), n_units))
        for row, chosen in enumerate(itertools.combinations(range(n_units), k)):
            masks[row, list(chosen)] = 1.0
        return masks, True
    rng = np.random.default_rng(seed)
    order = np.argsort(rng.random((n_permutations, n_units)), axis=1)[:, :k]
    masks = np.zeros((n_permutations, n_units))
    np.put_along_axis(masks, order, 1.0, axis=1)
    return masks, False


def difference_in_differences(
    panel: pd.DataFrame,
    outcome: str,
    treated_col: str,
    time_col: str,
    unit_col: str,
    treatment_start: object,
    n_permutations: int = 2000,
    seed: int = 0,
    comparison_start: object | None = None,
    alpha: float = 0.05,
) -> DiD:
    """Difference in differences for a staged rollout: early unit(s) against the units that start later.

    panel: one row per unit (division) per month; `treated_col` marks the early unit(s) on every row of
    theirs; months are datetimes, periods, date strings or plain month numbers. The comparison units
    become treated later: pass their start as `comparison_start` and every month from then on is
    dropped (or cut the panel before calling), so the comparison is only ever against untreated units.

    Statistic: with gap_t = mean of the treated units' outcomes in month t − mean of the comparison
    units', estimate = mean gap after `treatment_start` − mean gap before (for a balanced panel this is
    the two-way fixed-effects estimate).
    permutation_p: two-sided, |placebo| >= |observed| over placebo reassignments of which units are
    treated (same number of treated units): exact enumeration when there are at most `n_permutations`
    of them (4 divisions, 1 early: 4 assignments, so p is never below 0.25), otherwise a seeded random
    sample with p = (1 + hits) / (1 + n_permutations).
    ci: Welch t interval comparing the post-period monthly gaps with the pre-period ones. It treats
    month-to-month noise in the gap as independent (serial correlation would make it too narrow);
    with a handful of units a unit-clustered SE is not usable and the permutation test cannot reach
    95% confidence, so the monthly gaps are the only source of a variance.
    event_study: each month's gap minus the pre-period mean gap, with a ±t·sd_pre·sqrt(1 + 1/T_pre)
    band (the spread of single pre-period months), so pre-period points show how noisy the gap is.
    """
    check_alpha(alpha)
    missing = {outcome, treated_col, time_col, unit_col} - set(panel.columns)
    if missing:
        raise ValueError(f"panel has no column(s) {sorted(missing)}")
    frame = panel[[unit_col, time_col, treated_col, outcome]].dropna(subset=[outcome, time_col])
    if frame.empty:
        raise InsufficientData("the panel has no outcomes")
    numeric = pd.api.types.is_numeric_dtype(frame[time_col])
    months = _month_numbers(frame[time_col])
    start = _month_number(treatment_start, numeric)
    frame = frame.assign(_month=months)
    if comparison_start is not None:
        frame = frame[frame["_month"] < _month_number(comparison_start, numeric)]

    treated_by_unit = frame.groupby(unit_col)[treated_col].agg(["min", "max"])
    if (treated_by_unit["min"] != treated_by_unit["max"]).any():
        raise ValueError(f"{treated_col} must be the same on every row of a unit")
    table = frame.pivot_table(index=unit_col, columns="_month", values=outcome, aggfunc="mean")
    treated = treated_by_unit.loc[table.index, "max"].to_numpy().astype(bool)
    if not treated.any():
        raise InsufficientData("no treated (early) unit in the panel")
    if treated.all():
        raise InsufficientData("no comparison unit in the panel")
    month_numbers = table.columns.to_numpy()
    post = month_numbers >= start
    outcomes = table.to_numpy(dtype=float)

    observed_gap = _gaps(treated[None, :].astype(float), outcomes)[0]
    valid = ~np.isnan(observed_gap)
    gap_pre, gap_post = observed_gap[valid & ~post], observed_gap[valid & post]
    if gap_pre.size < 2 or gap_post.size < 2:
        raise InsufficientData(
            f"need at least two months before and after the start with both kinds of unit; "
            f"have {gap_pre.size} before and {gap_post.size} after"
        )
    estimate = float(gap_post.mean() - gap_pre.mean())
    term_pre, term_post = gap_pre.var(ddof=1) / gap_pre.size, gap_post.var(ddof=1) / gap_post.size
    if term_pre + term_post <= 0:
        raise InsufficientData("the gap between treated and comparison units never varies")
    df = (term_pre + term_post) ** 2 / (term_pre**2 / (gap_pre.size - 1) + term_post**2 / (gap_post.size - 1))
    ci = t_interval(estimate, float(np.sqrt(term_pre + term_post)), df, alpha)

    masks, exact = _assignments(len(treated), treated, n_permutations, seed)
    placebo = _did_statistics(_gaps(masks, outcomes), post)
    placebo = placebo[~np.isnan(placebo)]
    hits = int(np.count_nonzero(np.abs(placebo) >= abs(estimate) - 1e-12 * max(1.0, abs(estimate))))
    permutation_p = hits / placebo.size if exact else (1 + hits) / (1 + placebo.size)

    pre_mean, pre_sd = gap_pre.mean(), gap_pre.std(ddof=1)
    half = float(stats.t.isf(alpha / 2, gap_pre.size - 1)) * pre_sd * np.sqrt(1 + 1 / gap_pre.size)
    event_study = [
        EventStudyPoint(
            int(month - start),
            float(gap - pre_mean),
            Interval(float(gap - pre_mean - half), float(gap - pre_mean + half)),
        )
        for month, gap in zip(month_numbers[valid], observed_gap[valid], strict=True)
    ]
    return DiD(
        estimate=estimate,
        ci=ci,
        permutation_p=float(min(permutation_p, 1.0)),
        event_study=event_study,
        n_assignments=int(placebo.size),
        exact=exact,
        pre_months=int(gap_pre.size),
        post_months=int(gap_post.size),
    )
