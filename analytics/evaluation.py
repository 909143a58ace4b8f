"""The evaluation: randomized victims in, the results (`results.json`, schema vnotify.evaluation/1) out.

Pure functions over a prepared frame (analytics.frame) and the statistics core (analytics.stats).
Every estimate that cannot be made is reported as missing with a plain-English reason, never as
NaN; every percentage carries its counts; effects are A (notified) minus B (holdout).
"""

from __future__ import annotations

import datetime as dt
import math
import platform
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from importlib import metadata
from typing import Any

import numpy as np
import pandas as pd

from analytics import stats
from analytics.stats import InsufficientData
from vnotify.config import BINARY_OUTCOMES, RATING_OUTCOMES, AgencyConfig

SCHEMA = "vnotify.evaluation/1"
LABELS = {
    "responded": "Completed the survey",
    "prefers_text": "Prefers text messages",
    "prefers_email": "Prefers email",
    "prefers_letter": "Prefers a mailed letter",
    "prefers_phone": "Prefers a phone call",
    "likely_to_call": "Likely to call the department for more information",
    "trusts_police": "Trusts the police (agrees or strongly agrees)",
    "service_rating": "Customer-service rating (1–5)",
    "trust_rating": "Trust in police (1–5 agreement)",
}
PREFERENCES = {
    "text": "prefers_text",
    "email": "prefers_email",
    "letter": "prefers_letter",
    "phone": "prefers_phone",
}
OPENERS_WARNING = (
    "Comparing only the victims who opened the message with the whole holdout is not a randomized "
    "comparison: people who open messages differ from those who do not. It is shown for reference "
    "only; the intention-to-treat and complier (CACE) figures are the ones to rely on."
)
# The notice kinds of marts.agg_monthly_kpis, in the order the report lists them. `initial` is the
# victim's first notice: the evaluation's victim figures come from it alone.
NOTICE_KINDS = {
    "initial": "Victims' first notices",
    "reporting_party": "Notices to reporting parties",
    "status_update": "Case-status follow-ups",
    "survey": "Survey invitations",
    "survey_reminder": "Survey reminders",
}
INITIAL = "initial"
ROLLOUT_OUTCOME = "followup_calls_per_100_reports"
ROLLOUT_LABEL = "follow-up calls about a report per 100 reports"


@dataclass(frozen=True)
class EvaluationPlan:
    agency: str
    experiment: str
    planned_share_b: float
    alpha: float = 0.05
    primary_outcomes: tuple[str, ...] = ("prefers_text", "likely_to_call", "service_rating", "trusts_police")
    srm_alarm_p: float = 0.001
    min_cell: int = 10
    power: float = 0.8


def plan_from_config(config: AgencyConfig, planned_share_b: float | None = None) -> EvaluationPlan:
    evaluation = config.evaluation
    return EvaluationPlan(
        agency=config.agency.name,
        experiment=config.experiment.name,
        planned_share_b=planned_share_b if planned_share_b is not None else config.experiment.holdout_share,
        alpha=evaluation.alpha,
        primary_outcomes=tuple(evaluation.primary_outcomes),
        srm_alarm_p=evaluation.srm_alarm_p,
        min_cell=evaluation.min_cell,
        power=evaluation.power,
    )


@dataclass
class _Context:
    plan: EvaluationPlan
    frame: pd.DataFrame
    is_a: np.ndarray
    responded: np.ndarray
    invited: np.ndarray
    warnings: list[str] = field(default_factory=list)

    def outcome(self, name: str) -> np.ndarray:
        """The outcome per victim (NaN where not asked or not answered)."""
        if name == "trusts_police":
            trust = self.frame["trust_rating"].to_numpy()
            return np.where(np.isnan(trust), np.nan, (trust >= 4).astype(float))
        return self.frame[name].to_numpy()

    def population(self, name: str) -> np.ndarray:
        """Who an outcome is measured on: the invited for the response rate, respondents otherwise."""
        return self.invited if name == "responded" else self.responded


# -- small helpers ---------------------------------------------------------------------------------


def _num(value: Any, digits: int = 12) -> float | None:
    """A finite float kept to `digits` significant digits (tiny p-values keep theirs), else None."""
    if value is None:
        return None
    value = float(value)
    return float(f"{value:.{digits}g}") if math.isfinite(value) else None


def _interval(interval: stats.Interval | None, scale: float = 1.0) -> list[float | None] | None:
    if interval is None:
        return None
    return [_num(interval.low * scale), _num(interval.high * scale)]


def _attempt(compute: Callable[[], Any]) -> tuple[Any, str | None]:
    """Run one estimate; an InsufficientData becomes its reason."""
    try:
        return compute(), None
    except InsufficientData as error:
        return None, str(error)


def _arm_counts(values: np.ndarray, is_a: np.ndarray) -> tuple[dict, dict]:
    present = ~np.isnan(values)
    sides = []
    for mask in (is_a & present, ~is_a & present):
        n = int(mask.sum())
        count = int(values[mask].sum())
        sides.append({"n": n, "count": count, "rate": _num(count / n) if n else None})
    return sides[0], sides[1]


# -- assignment, funnel, response ------------------------------------------------------------------


def _srm(ctx: _Context) -> dict:
    n_a, n_b = int(ctx.is_a.sum()), int((~ctx.is_a).sum())
    result, reason = _attempt(lambda: stats.sample_ratio_mismatch(n_a, n_b, ctx.plan.planned_share_b))
    if result is None:
        return {
            "n_a": n_a,
            "n_b": n_b,
            "planned_share_b": ctx.plan.planned_share_b,
            "observed_share_b": None,
            "statistic": None,
            "p_value": None,
            "alarm": False,
            "insufficient": reason,
        }
    alarm = result.p_value < ctx.plan.srm_alarm_p
    if alarm:
        ctx.warnings.append(
            f"Sample-ratio mismatch: {n_a:,} notified vs {n_b:,} held out against a planned "
            f"{ctx.plan.planned_share_b:.0%} holdout (p = {result.p_value:.2g}). The assignment may be broken."
        )
    return {
        "n_a": n_a,
        "n_b": n_b,
        "planned_share_b": ctx.plan.planned_share_b,
        "observed_share_b": _num(result.observed_share_b),
        "statistic": _num(result.statistic),
        "p_value": _num(result.p_value),
        "alarm": bool(alarm),
        "insufficient": None,
    }


def _funnel(ctx: _Context) -> dict:
    opened = np.nan_to_num(ctx.frame["opened"].to_numpy()) == 1
    out = {}
    for arm, mask in (("a", ctx.is_a), ("b", ~ctx.is_a)):
        out[arm] = {
            "randomized": int(mask.sum()),
            "opened": int((mask & opened).sum()),
            "invited": int((mask & ctx.invited).sum()),
            "responded": int((mask & ctx.responded).sum()),
        }
    return out


def _response(ctx: _Context) -> dict:
    seconds = ctx.frame["seconds_on_survey"].to_numpy()
    wrote = np.nan_to_num(ctx.frame["wrote_free_text"].to_numpy()) == 1
    mean_seconds, share, count = {}, {}, {}
    for arm, mask in (("a", ctx.is_a), ("b", ~ctx.is_a)):
        answered = mask & ctx.responded
        timed = seconds[answered & ~np.isnan(seconds)]
        mean_seconds[arm] = round(float(timed.mean()), 1) if timed.size else None
        count[arm] = int((answered & wrote).sum())
        share[arm] = _num(count[arm] / answered.sum()) if answered.any() else None
    return {"mean_seconds": mean_seconds, "free_text_share": share, "free_text_count": count}


# -- effects ---------------------------------------------------------------------------------------


def binary_effect(name: str, values: np.ndarray, is_a: np.ndarray, plan: EvaluationPlan) -> dict:
    """One 0/1 outcome (NaN = not in its population): rates, difference, lift, test, power."""
    a, b = _arm_counts(values, is_a)
    result: dict[str, Any] = {
        "name": name,
        "label": LABELS[name],
        "population": "invited" if name == "responded" else "respondents",
        "primary": name in plan.primary_outcomes,
        "a": a,
        "b": b,
        "diff_pp": None,
        "diff_ci": None,
        "rel_lift": None,
        "rel_lift_ci": None,
        "rr_ci": None,
        "p_value": None,
        "p_adjusted": None,
        "correction": None,
        "test": None,
        "significant": False,
        "mde_pp": None,
        "insufficient": None,
    }
    smaller = min(a["n"], b["n"])
    if smaller < plan.min_cell:
        arm = "notified group" if a["n"] <= b["n"] else "holdout"
        result["insufficient"] = (
            f"only {smaller:,} {'invited victims' if name == 'responded' else 'respondents'} in the {arm} "
            f"(at least {plan.min_cell} are needed)"
        )
        return result
    counts = (a["count"], a["n"], b["count"], b["n"])
    result["diff_pp"] = _num(100 * (a["rate"] - b["rate"]))
    ci, reason = _attempt(lambda: stats.newcombe_diff_ci(*counts, alpha=plan.alpha))
    result["diff_ci"] = _interval(ci, 100)
    tested, reason = _attempt(lambda: stats.two_proportion_test(*counts))
    if tested is None:
        result["insufficient"] = reason
        return result
    result["p_value"], result["test"] = _num(tested[0]), tested[1]
    lift, _ = _attempt(lambda: stats.relative_lift_delta(*counts, alpha=plan.alpha))
    if lift is not None:
        result["rel_lift"], result["rel_lift_ci"] = _num(lift[0]), _interval(lift[1])
    rr, _ = _attempt(lambda: stats.log_rr_ci(*counts, alpha=plan.alpha))
    result["rr_ci"] = _interval(rr)
    mde, _ = _attempt(lambda: stats.mde_proportions(a["n"], b["n"], b["rate"], plan.alpha, plan.power))
    result["mde_pp"] = _num(100 * mde) if mde is not None else None
    return result


def _rating_side(values: np.ndarray) -> dict:
    top, n = stats.top_box(values) if values.size else (0, 0)
    return {
        "n": int(values.size),
        "mean": _num(values.mean()) if values.size else None,
        "sd": _num(values.std(ddof=1)) if values.size > 1 else None,
        "top_box_count": int(top),
        "top_box_rate": _num(top / n) if n else None,
    }


def rating_effect(name: str, values: np.ndarray, is_a: np.ndarray, plan: EvaluationPlan) -> dict:
    """One 1–5 rating among respondents: means, Welch difference, probability of superiority."""
    present = ~np.isnan(values)
    a_values, b_values = values[is_a & present], values[~is_a & present]
    a, b = _rating_side(a_values), _rating_side(b_values)
    result: dict[str, Any] = {
        "name": name,
        "label": LABELS[name],
        "primary": name in plan.primary_outcomes,
        "a": a,
        "b": b,
        "diff": None,
        "diff_ci": None,
        "rel_diff": None,
        "p_value": None,
        "p_adjusted": None,
        "correction": None,
        "prob_superiority": None,
        "prob_superiority_ci": None,
        "bm_p_value": None,
        "significant": False,
        "mde": None,
        "insufficient": None,
    }
    smaller = min(a["n"], b["n"])
    if smaller < plan.min_cell:
        arm = "notified group" if a["n"] <= b["n"] else "holdout"
        result["insufficient"] = (
            f"only {smaller:,} ratings in the {arm} (at least {plan.min_cell} are needed)"
        )
        return result
    welch, reason = _attempt(lambda: stats.welch_diff(a_values, b_values, alpha=plan.alpha))
    if welch is None:
        result["insufficient"] = reason
        return result
    result.update(
        diff=_num(welch.diff),
        diff_ci=_interval(welch.ci),
        rel_diff=_num(welch.diff / b["mean"]),  # ratings are 1–5: the mean is never 0
        p_value=_num(welch.p_value),
    )
    superiority, _ = _attempt(lambda: stats.brunner_munzel(a_values, b_values, alpha=plan.alpha))
    if superiority is not None:
        result.update(
            prob_superiority=_num(superiority.estimate),
            prob_superiority_ci=_interval(superiority.ci),
            bm_p_value=_num(superiority.p_value),
        )
    pooled_sd = np.sqrt(
        ((a_values.size - 1) * a_values.var(ddof=1) + (b_values.size - 1) * b_values.var(ddof=1))
        / (a_values.size + b_values.size - 2)
    )
    mde, _ = _attempt(lambda: stats.mde_means(a["n"], b["n"], float(pooled_sd), plan.alpha, plan.power))
    result["mde"] = _num(mde)
    return result


def adjust_for_many_outcomes(outcomes: Sequence[dict], plan: EvaluationPlan) -> None:
    """Holm over the primary outcomes, Benjamini–Hochberg over the rest; marks `significant`."""
    for primary, method, correct in ((True, "holm", stats.holm), (False, "bh", stats.benjamini_hochberg)):
        tested = [o for o in outcomes if o["primary"] == primary and o["p_value"] is not None]
        if not tested:
            continue
        for outcome, adjusted in zip(tested, correct([o["p_value"] for o in tested]), strict=True):
            outcome["p_adjusted"] = _num(adjusted)
            outcome["correction"] = method
            outcome["significant"] = bool(adjusted < plan.alpha)


def _channel_preferences(ctx: _Context) -> dict:
    table = {}
    for channel, column in PREFERENCES.items():
        values = ctx.frame[column].to_numpy()
        chosen = ctx.responded & (np.nan_to_num(values) == 1)
        table[channel] = {"a": int((chosen & ctx.is_a).sum()), "b": int((chosen & ~ctx.is_a).sum())}
    test, reason = _attempt(
        lambda: stats.preference_chi_square({k: (v["a"], v["b"]) for k, v in table.items()})
    )
    return {
        "statistic": _num(test.statistic) if test else None,
        "dof": int(test.dof) if test else None,
        "p_value": _num(test.p_value) if test else None,
        "insufficient": reason,
        "table": table,
    }


# -- openers, nonresponse, subgroups, power ----------------------------------------------------------


def _openers(ctx: _Context, binary: Sequence[dict]) -> list[dict]:
    opened = np.nan_to_num(ctx.frame["opened"].to_numpy())
    rows = []
    for outcome in binary:
        if outcome["name"] == "responded":
            continue
        name = outcome["name"]
        y = ctx.outcome(name)
        present = ctx.responded & ~np.isnan(y)
        in_a = present & ctx.is_a
        open_rate = float(opened[in_a].mean()) if in_a.any() else None
        row = {
            "name": name,
            "label": LABELS[name],
            "open_rate": _num(open_rate),
            "itt_pp": outcome["diff_pp"],
            "itt_ci": outcome["diff_ci"],
            "cace_pp": None,
            "cace_ci": None,
            "naive_openers_pp": None,
            "insufficient": outcome["insufficient"],
        }
        if outcome["insufficient"] is None:
            effect, reason = _attempt(
                lambda y=y, present=present: stats.complier_effect_from_rows(
                    y[present], ctx.is_a[present], opened[present], alpha=ctx.plan.alpha
                )
            )
            if effect is None:
                row["insufficient"] = reason
            else:
                row["cace_pp"], row["cace_ci"] = _num(100 * effect.estimate), _interval(effect.ci, 100)
            openers = in_a & (opened == 1)
            holdout = present & ~ctx.is_a
            if openers.any() and holdout.any():
                row["naive_openers_pp"] = _num(100 * (y[openers].mean() - y[holdout].mean()))
        rows.append(row)
    return rows


def _covariates(frame: pd.DataFrame) -> np.ndarray:
    """Pre-treatment covariates for the response model: division and offense group, as dummies."""
    dummies = pd.get_dummies(frame[["division", "offense_group"]], drop_first=True, dtype=float)
    return dummies.to_numpy(dtype=float)


def _nonresponse(ctx: _Context, binary: Sequence[dict]) -> list[dict]:
    invited = ctx.invited
    covariates = _covariates(ctx.frame.loc[invited])
    is_a, responded = ctx.is_a[invited], ctx.responded[invited]
    rates = {
        "a": _num(responded[is_a].mean()) if is_a.any() else None,
        "b": _num(responded[~is_a].mean()) if (~is_a).any() else None,
    }
    rows = []
    for outcome in binary:
        name = outcome["name"]
        if name == "responded" or not outcome["primary"]:
            continue
        row = {
            "name": name,
            "label": LABELS[name],
            "ipw_diff_pp": None,
            "ipw_ci": None,
            "lee_bounds_pp": None,
            "response_rate": rates,
            "insufficient": outcome["insufficient"],
        }
        if outcome["insufficient"] is None:
            y = ctx.outcome(name)[invited]
            # A respondent who skipped this question counts as not responding to it.
            answered = responded & ~np.isnan(y)
            effect, reason = _attempt(
                lambda y=y, answered=answered: stats.ipw_difference(
                    y, is_a, answered, covariates, alpha=ctx.plan.alpha
                )
            )
            bounds, bounds_reason = _attempt(
                lambda y=y, answered=answered: stats.lee_bounds(y, is_a, answered)
            )
            if effect is not None:
                row["ipw_diff_pp"], row["ipw_ci"] = _num(100 * effect.estimate), _interval(effect.ci, 100)
            if bounds is not None:
                row["lee_bounds_pp"] = _interval(bounds, 100)
            row["insufficient"] = reason if effect is None else (bounds_reason if bounds is None else None)
        rows.append(row)
    return rows


def _subgroups(ctx: _Context) -> list[dict]:
    """Primary binary outcomes by division and by offense group; small cells suppressed."""
    rows = []
    names = [n for n in ctx.plan.primary_outcomes if n in BINARY_OUTCOMES and n != "responded"]
    for dimension in ("division", "offense_group"):
        groups = ctx.frame[dimension].to_numpy()
        for value in sorted(pd.unique(groups)):
            in_group = groups == value
            for name in names:
                y = np.where(in_group & ctx.responded, ctx.outcome(name), np.nan)
                a, b = _arm_counts(y, ctx.is_a)
                cells = (a["count"], a["n"] - a["count"], b["count"], b["n"] - b["count"])
                row = {
                    "dimension": dimension,
                    "value": str(value),
                    "outcome": name,
                    "a": a,
                    "b": b,
                    "diff_pp": None,
                    "diff_ci": None,
                    "suppressed": False,
                }
                if min(cells) < ctx.plan.min_cell:
                    row.update(a=None, b=None, suppressed=True)
                else:
                    row["diff_pp"] = _num(100 * (a["rate"] - b["rate"]))
                    ci, _ = _attempt(
                        lambda a=a, b=b: stats.newcombe_diff_ci(
                            a["count"], a["n"], b["count"], b["n"], ctx.plan.alpha
                        )
                    )
                    row["diff_ci"] = _interval(ci, 100)
                rows.append(row)
    return rows


def _power(binary: Sequence[dict], ratings: Sequence[dict]) -> list[dict]:
    rows = []
    for outcome in binary:
        if outcome["primary"]:
            rows.append(
                {
                    "name": outcome["name"],
                    "label": outcome["label"],
                    "mde_pp": outcome["mde_pp"],
                    "base_rate": outcome["b"]["rate"],
                    "n_a": outcome["a"]["n"],
                    "n_b": outcome["b"]["n"],
                }
            )
    for outcome in ratings:
        if outcome["primary"]:
            sd = outcome["a"]["sd"] if outcome["b"]["sd"] is None else outcome["b"]["sd"]
            rows.append(
                {
                    "name": outcome["name"],
                    "label": outcome["label"],
                    "mde": outcome["mde"],
                    "sd": sd,
                    "n_a": outcome["a"]["n"],
                    "n_b": outcome["b"]["n"],
                }
            )
    return rows


# -- marts-only sections -------------------------------------------------------------------------------


def initial_notices(monthly: pd.DataFrame) -> pd.DataFrame:
    """The rows of victims' first notices (all rows of a frame from before notice kinds)."""
    if "notice_kind" not in monthly.columns:
        return monthly
    return monthly[monthly["notice_kind"] == INITIAL]


def kpis_from_monthly(monthly: pd.DataFrame | None) -> dict:
    """The figures by the numbers from `marts.agg_monthly_kpis`: victims' first notices (the
    `initial` rows, one per month of report)."""
    if monthly is None:
        return {"monthly": [], "totals": None, "insufficient": "figures by the numbers come from the marts"}
    monthly = initial_notices(monthly).sort_values("reported_month")
    # Victims whose report never arrived have no month: they are counted in the decisions, not here.
    monthly = monthly[monthly["reported_month"].notna() & (monthly["victims"] > 0)]
    rows = [
        {
            "month": pd.Timestamp(row.reported_month).strftime("%Y-%m"),
            "victims": int(row.victims),
            "victims_notified": int(row.victims_notified),
            "email_open_rate": _num(row.email_open_rate),
            "email_share": _num(row.share_notified_by_email),
            "unsubscribe_rate": _num(row.unsubscribe_rate),
            "delivery_rate": _num(row.delivery_rate),
        }
        for row in monthly.itertuples()
    ]

    def ratio(top: str, bottom: str) -> float | None:
        denominator = float(monthly[bottom].sum())
        return _num(float(monthly[top].sum()) / denominator) if denominator else None

    notified = int(monthly["victims_notified"].sum())
    by_email = float(
        (monthly["share_notified_by_email"].fillna(0).astype(float) * monthly["victims_notified"]).sum()
    )
    totals = {
        "victims": int(monthly["victims"].sum()),
        "victims_notified": notified,
        "victims_notified_per_month": round(
            notified / max(1, int((monthly["victims_notified"] > 0).sum())), 1
        ),
        "email_open_rate": ratio("emails_opened", "emails_sent"),
        "email_share": _num(by_email / notified) if notified else None,
        "unsubscribe_rate": ratio("victims_unsubscribed", "victims_notified"),
        "delivery_rate": ratio("messages_delivered", "messages_sent"),
        "emails_sent": int(monthly["emails_sent"].sum()),
        "emails_opened": int(monthly["emails_opened"].sum()),
        "messages_sent": int(monthly["messages_sent"].sum()),
        "messages_delivered": int(monthly["messages_delivered"].sum()),
        "victims_unsubscribed": int(monthly["victims_unsubscribed"].sum()),
    }
    return {"monthly": rows, "totals": totals, "insufficient": None if rows else "no reports yet"}


def _kind_figures(rows: pd.DataFrame) -> dict:
    """Messages, delivery, email opens and unsubscribes of one kind (or one kind-month): ratios
    of sums, each beside its counts."""

    def total(column: str) -> int:
        return int(pd.to_numeric(rows[column]).fillna(0).sum())

    def ratio(top: int, bottom: int) -> float | None:
        return _num(top / bottom) if bottom else None

    figures = {
        name: total(name)
        for name in (
            "messages_sent",
            "messages_delivered",
            "emails_sent",
            "emails_opened",
            "victims_notified",
            "victims_unsubscribed",
        )
    }
    return {
        **figures,
        "delivery_rate": ratio(figures["messages_delivered"], figures["messages_sent"]),
        "email_open_rate": ratio(figures["emails_opened"], figures["emails_sent"]),
        "unsubscribe_rate": ratio(figures["victims_unsubscribed"], figures["victims_notified"]),
    }


def figures_by_kind(monthly: pd.DataFrame | None) -> dict:
    """The figures by the numbers per notice kind from `marts.agg_monthly_kpis`: totals over the
    period and each month, for every kind that sent a message. `victims_notified` counts the
    people sent a message of the kind (victims, or reporting parties for `reporting_party`)."""
    base: dict[str, Any] = {"kinds": [], "monthly": []}
    if monthly is None:
        return {**base, "insufficient": "figures by notice kind come from the marts"}
    if "notice_kind" not in monthly.columns:
        return {
            **base,
            "insufficient": "these monthly figures do not say which kind of notice each message was",
        }
    monthly = monthly[monthly["notice_kind"].notna()]
    sent = monthly[pd.to_numeric(monthly["messages_sent"]).fillna(0) > 0]
    order = [*NOTICE_KINDS, *sorted(set(sent["notice_kind"]) - set(NOTICE_KINDS))]
    kinds = []
    for kind in order:
        rows = sent[sent["notice_kind"] == kind]
        if rows.empty:
            continue
        kinds.append({"kind": kind, "label": NOTICE_KINDS.get(kind, kind), **_kind_figures(rows)})
    by_month = []
    dated = sent[sent["reported_month"].notna()]
    for (month, kind), rows in sorted(
        dated.groupby([pd.to_datetime(dated["reported_month"]), "notice_kind"]),
        key=lambda item: (item[0][0], order.index(item[0][1])),
    ):
        by_month.append({"month": pd.Timestamp(month).strftime("%Y-%m"), "kind": kind, **_kind_figures(rows)})
    return {"kinds": kinds, "monthly": by_month, "insufficient": None if kinds else "no messages sent yet"}


def rollout_from_panel(panel: pd.DataFrame | None, plan: EvaluationPlan) -> dict:
    """The staged rollout as a difference-in-differences: the division that went live first
    against the others, on follow-up calls per 100 reports. Observational, and labelled so.

    With months before the early division went live, its start is the event and the others (not
    yet live) the comparison, up to their own start. When the data begin after it went live, the
    others' start is the event and the early division (live throughout) the comparison."""
    base = {
        "label": "observational",
        "outcome": ROLLOUT_LABEL,
        "estimate": None,
        "ci": None,
        "permutation_p": None,
        "event_study": [],
    }
    if panel is None or panel.empty:
        return {**base, "insufficient": "the staged-rollout comparison comes from the marts"}
    starts = panel.groupby("division_code")["go_live_date"].first().dropna()
    if len(starts) < 2 or starts.nunique() < 2:
        return {**base, "insufficient": "needs at least two divisions that went live at different times"}
    early = starts.idxmin()
    early_start = pd.Timestamp(starts.min()).to_period("M")
    others_start = pd.Timestamp(starts.drop(early).min()).to_period("M")
    months = pd.to_datetime(panel["reported_month"]).dt.to_period("M")
    frame = panel.assign(
        month=months.dt.to_timestamp(),
        is_early=panel["division_code"] == early,
        is_late=panel["division_code"] != early,
        **{ROLLOUT_OUTCOME: panel[ROLLOUT_OUTCOME].astype(float)},
    )
    early_event = bool((months < early_start).any())
    base.update(
        early_division=str(early),
        treatment_start=str(early_start),
        others_start=str(others_start),
        event="early division went live" if early_event else "other divisions went live",
    )
    if early_event:
        treated, start, comparison_start = "is_early", early_start.to_timestamp(), others_start.to_timestamp()
    else:
        treated, start, comparison_start = "is_late", others_start.to_timestamp(), None
    did, reason = _attempt(
        lambda: stats.difference_in_differences(
            frame,
            ROLLOUT_OUTCOME,
            treated,
            "month",
            "division_code",
            start,
            comparison_start=comparison_start,
            alpha=plan.alpha,
        )
    )
    if did is None:
        return {**base, "insufficient": reason}
    return {
        **base,
        "estimate": _num(did.estimate),
        "ci": _interval(did.ci),
        "permutation_p": _num(did.permutation_p),
        "event_study": [
            {"relative_month": int(p.relative_month), "estimate": _num(p.estimate), "ci": _interval(p.ci)}
            for p in did.event_study
        ],
        "insufficient": None,
    }


# -- the whole evaluation ----------------------------------------------------------------------------


def versions() -> dict[str, str]:
    def version(package: str) -> str:
        try:
            return metadata.version(package)
        except metadata.PackageNotFoundError:
            return "unknown"

    return {
        "vnotify": version("vnotify"),
        "python": platform.python_version(),
        **{name: version(name) for name in ("numpy", "pandas", "scipy")},
    }


def evaluate(
    frame: pd.DataFrame,
    plan: EvaluationPlan,
    *,
    source: str,
    data_sha256: str,
    kpis_monthly: pd.DataFrame | None = None,
    rollout_panel: pd.DataFrame | None = None,
    period: dict | None = None,
    generated_at: dt.datetime | None = None,
) -> dict:
    """Every section of results.json from a prepared frame (analytics.frame.prepare)."""
    ctx = _Context(
        plan=plan,
        frame=frame,
        is_a=(frame["arm"] == "A").to_numpy(dtype=bool),
        responded=np.nan_to_num(frame["responded"].to_numpy()) == 1,
        invited=np.nan_to_num(frame["invited"].to_numpy()) == 1,
    )
    binary = []
    for name in BINARY_OUTCOMES:
        values = np.where(ctx.population(name), ctx.outcome(name), np.nan)
        binary.append(binary_effect(name, values, ctx.is_a, plan))
    ratings = []
    for name in RATING_OUTCOMES:
        values = np.where(ctx.responded, ctx.outcome(name), np.nan)
        ratings.append(rating_effect(name, values, ctx.is_a, plan))
    adjust_for_many_outcomes([*binary, *ratings], plan)
    response = next(o for o in binary if o["name"] == "responded")
    if response["p_value"] is not None and response["p_value"] < plan.alpha:
        ctx.warnings.append(
            "The two groups answered the survey at different rates; the nonresponse-adjusted estimates "
            "(weighting and Lee bounds) show how much that could matter."
        )
    results = {
        "schema": SCHEMA,
        "generated_at": (generated_at or dt.datetime.now(dt.UTC)).isoformat(timespec="seconds"),
        "agency": plan.agency,
        "experiment": plan.experiment,
        "period": period or {},
        "source": source,
        "data_sha256": data_sha256,
        "rows": len(frame),
        "versions": versions(),
        "alpha": plan.alpha,
        "power_level": plan.power,
        "primary_outcomes": list(plan.primary_outcomes),
        "min_cell": plan.min_cell,
        "srm": _srm(ctx),
        "funnel": _funnel(ctx),
        "response": _response(ctx),
        "binary": binary,
        "channel_preferences": _channel_preferences(ctx),
        "ratings": ratings,
        "openers": _openers(ctx, binary),
        "openers_warning": OPENERS_WARNING,
        "nonresponse": _nonresponse(ctx, binary),
        "rollout": rollout_from_panel(rollout_panel, plan),
        "power": _power(binary, ratings),
        "kpis": kpis_from_monthly(kpis_monthly),
        "figures_by_kind": figures_by_kind(kpis_monthly),
        "subgroups": _subgroups(ctx),
        "warnings": ctx.warnings,
    }
    assert_finite(results)
    return results


def assert_finite(value: Any, path: str = "results") -> None:
    """No NaN or infinity anywhere: a missing estimate is None with a reason."""
    if isinstance(value, float) and not math.isfinite(value):
        raise AssertionError(f"{path} is {value}")
    if isinstance(value, dict):
        for key, item in value.items():
            assert_finite(item, f"{path}.{key}")
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            assert_finite(item, f"{path}[{index}]")
