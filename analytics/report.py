"""The command-staff evaluation report: one self-contained HTML file (inline CSS and SVG) and its PDF.

`render_report_html` turns an evaluation results dict (schema "vnotify.evaluation/1", written by
`analytics/evaluation.py`) into HTML; `write_report` writes report.html and prints report.pdf with
headless Chromium. Everything the reader sees is built here as plain strings (so the template only
lays them out and Jinja2 escapes them): sentences only say what the corrected result supports,
every percentage carries its counts, and a missing number reads "—" or "insufficient data",
never NaN or None.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup

from analytics import charts
from analytics.charts import ForestRow, is_number

SCHEMA = "vnotify.evaluation/1"
TEMPLATES = Path(__file__).resolve().parent / "templates"
MINUS = "\u2212"
MISSING = "\u2014"  # an em dash where a number could not be computed
PDF_TIMEOUT_SECONDS = 120
BROWSERS = ("chromium", "chromium-browser", "google-chrome")


class ReportError(RuntimeError):
    """The report could not be produced (wrong input, or no browser to print the PDF)."""


@dataclass(frozen=True)
class ReportFiles:
    html: Path
    pdf: Path | None


# --- formatting: every function takes anything and never prints NaN/None -----------------------


def fmt_int(value: object) -> str:
    """12000 → '12,000'."""
    return f"{round(value):,}" if is_number(value) else MISSING


def fmt_num(value: object, decimals: int = 2) -> str:
    if not is_number(value):
        return MISSING
    text = f"{abs(value):,.{decimals}f}"
    return f"{MINUS}{text}" if value < 0 and float(text.replace(",", "")) != 0 else text


def fmt_signed(value: object, decimals: int = 1) -> str:
    """+0.8 / −0.8 / 0.0."""
    return charts.format_signed(value, decimals) if is_number(value) else MISSING


def fmt_pct(proportion: object, decimals: int = 1) -> str:
    """0.4121 → '41.2%'."""
    return f"{fmt_num(proportion * 100, decimals)}%" if is_number(proportion) else MISSING


def fmt_p(p: object) -> str:
    """p-values: '< 0.001' for tiny ones, three decimals below 0.1, two above."""
    if not is_number(p):
        return MISSING
    if p < 0.001:
        return "<\u00a00.001"  # no break inside
    return f"{p:.3f}" if p < 0.1 else f"{p:.2f}"


def p_clause(p: object) -> str:
    """'p = 0.060', 'p < 0.001' (never 'p = < 0.001')."""
    text = fmt_p(p)
    return f"p {text}" if text.startswith("<") else f"p = {text}"


def fmt_pp(value: object, decimals: int = 1) -> str:
    """A difference in percentage points: '+0.8 pp', or a dash when missing."""
    return f"{fmt_signed(value, decimals)} pp" if is_number(value) else MISSING


def interval(ci: object) -> tuple[float, float] | None:
    """A [low, high] pair of finite numbers, or None."""
    if isinstance(ci, list | tuple) and len(ci) == 2 and all(is_number(v) for v in ci):
        return (float(min(ci)), float(max(ci)))
    return None


def fmt_ci(ci: object, decimals: int = 1, suffix: str = "", signed: bool = True) -> str:
    """[−0.05, 1.71] → '−0.1 to +1.7' (with an optional unit after each end)."""
    pair = interval(ci)
    if pair is None:
        return MISSING
    show = fmt_signed if signed else fmt_num
    return f"{show(pair[0], decimals)}{suffix} to {show(pair[1], decimals)}{suffix}"


def fmt_pct_ci(ci: object, decimals: int = 1) -> str:
    """A proportion interval as percentages: [0.091, 0.246] → '+9.1% to +24.6%'."""
    pair = interval(ci)
    return fmt_ci([pair[0] * 100, pair[1] * 100], decimals, "%") if pair else MISSING


def fmt_duration(seconds: object) -> str:
    """73.1 → '1 min 13 s'."""
    if not is_number(seconds) or seconds < 0:
        return MISSING
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes} min {rest} s" if minutes else f"{rest} s"


def rate_parts(arm: object) -> tuple[str, str]:
    """{'n': 12000, 'count': 1700, 'rate': 0.1417} → ('14.2%', '1,700 of 12,000')."""
    arm = arm if isinstance(arm, Mapping) else {}
    counts = f"{fmt_int(arm.get('count'))} of {fmt_int(arm.get('n'))}" if is_number(arm.get("n")) else ""
    return fmt_pct(arm.get("rate")), counts


def rate_with_counts(arm: object) -> str:
    """{'n': 12000, 'count': 1700, 'rate': 0.1417} → '14.2% (1,700 of 12,000)'."""
    rate, counts = rate_parts(arm)
    return f"{rate} ({counts})" if counts else rate


def reason_text(reason: object) -> str:
    """A plain-English reason without its final full stop (the sentence adds one)."""
    text = str(reason).strip() if reason else "the estimate could not be computed"
    return text.rstrip(".") or "the estimate could not be computed"


# --- outcome wording --------------------------------------------------------------------------

# What "more likely to …" reads as for each yes/no outcome the evaluation knows.
BINARY_VERBS = {
    "responded": "complete the survey",
    "prefers_text": "prefer text messages",
    "prefers_email": "prefer email",
    "prefers_letter": "prefer a mailed letter",
    "prefers_phone": "prefer a phone call",
    "likely_to_call": "expect to call the department for more information",
    "trusts_police": "say they trust the police department",
}
# What "Notified victims rated …" reads as for each rating.
RATING_SUBJECTS = {
    "service_rating": "customer service",
    "trust_rating": "their trust in the police department",
}
CORRECTIONS = {"holm": "Holm", "bh": "BH", "none": "none"}
TESTS = {
    "z": "pooled z-test",
    "boschloo": "Boschloo exact test",
    "fisher": "Fisher exact test",
    "welch": "Welch t-test",
}


def binary_verb(outcome: Mapping[str, Any]) -> str:
    label = str(outcome.get("label") or outcome.get("name") or "this outcome")
    return BINARY_VERBS.get(str(outcome.get("name")), f"answer \u201c{label}\u201d")


def rating_subject(outcome: Mapping[str, Any]) -> str:
    label = str(outcome.get("label") or outcome.get("name") or "this rating")
    return RATING_SUBJECTS.get(str(outcome.get("name")), f"\u201c{label}\u201d")


def is_rating(outcome: Mapping[str, Any]) -> bool:
    return "diff_pp" not in outcome and ("diff" in outcome or "mean" in (outcome.get("a") or {}))


def is_significant(outcome: Mapping[str, Any], alpha: float) -> bool:
    """Significant after correction: p_adjusted < alpha (the flag only when no adjusted p was given)."""
    p_adjusted = outcome.get("p_adjusted")
    if is_number(p_adjusted):
        return p_adjusted < alpha
    return outcome.get("significant") is True and not outcome.get("insufficient")


def missing_reason(outcome: Mapping[str, Any]) -> str | None:
    """Why an outcome cannot be described, or None when the numbers a sentence needs are there."""
    if outcome.get("insufficient"):
        return reason_text(outcome["insufficient"])
    a, b = outcome.get("a") or {}, outcome.get("b") or {}
    needed = ("mean", "n") if is_rating(outcome) else ("rate", "n")
    estimate = outcome.get("diff") if is_rating(outcome) else outcome.get("diff_pp")
    if not (is_number(estimate) and all(is_number(arm.get(k)) for arm in (a, b) for k in needed)):
        return "the estimate could not be computed"
    return None


def binary_counts(outcome: Mapping[str, Any]) -> str:
    a, b = outcome["a"], outcome["b"]
    return (
        f"{fmt_pct(a['rate'])}, {fmt_int(a.get('count'))} of {fmt_int(a['n'])} notified victims, "
        f"vs {fmt_pct(b['rate'])}, {fmt_int(b.get('count'))} of {fmt_int(b['n'])} in the holdout"
    )


def rating_counts(outcome: Mapping[str, Any]) -> str:
    a, b = outcome["a"], outcome["b"]
    return (
        f"mean {fmt_num(a['mean'])} from {fmt_int(a['n'])} notified victims "
        f"vs {fmt_num(b['mean'])} from {fmt_int(b['n'])} in the holdout"
    )


def magnitude_interval(ci: object, negative: bool, scale: float = 1.0) -> tuple[float, float] | None:
    """An interval in the direction of the effect: for 'less likely', [−0.53, −0.32] reads 32 to 53."""
    pair = interval(ci)
    if pair is None:
        return None
    low, high = pair[0] * scale, pair[1] * scale
    return (-high, -low) if negative else (low, high)


def significant_binary_sentence(outcome: Mapping[str, Any]) -> str:
    negative = outcome["diff_pp"] < 0
    direction = "less" if negative else "more"
    lift, lift_ci = outcome.get("rel_lift"), magnitude_interval(outcome.get("rel_lift_ci"), negative, 100)
    if is_number(lift):
        size = f"{fmt_num(abs(lift) * 100, 1)}%"
        if lift_ci:
            size += f" (95% CI {fmt_num(lift_ci[0], 1)}% to {fmt_num(lift_ci[1], 1)}%)"
    else:
        # No relative lift (for instance the holdout's rate is zero): say it in percentage points.
        size = f"{fmt_num(abs(outcome['diff_pp']), 1)} percentage points"
        pp_ci = magnitude_interval(outcome.get("diff_ci"), negative)
        if pp_ci:
            size += f" (95% CI {fmt_num(pp_ci[0], 1)} to {fmt_num(pp_ci[1], 1)})"
    claim = f"Notified victims were {size} {direction} likely to {binary_verb(outcome)}"
    return f"{claim} ({binary_counts(outcome)})."


def significant_rating_sentence(outcome: Mapping[str, Any]) -> str:
    negative = outcome["diff"] < 0
    direction = "lower" if negative else "higher"
    size = f"{fmt_num(abs(outcome['diff']), 2)} points {direction}"
    text = f"Notified victims rated {rating_subject(outcome)} {size} on the 1\u20135 scale"
    diff_ci = magnitude_interval(outcome.get("diff_ci"), negative)
    if diff_ci:
        text += f" (95% CI {fmt_num(diff_ci[0], 2)} to {fmt_num(diff_ci[1], 2)})"
    if is_number(outcome.get("rel_diff")):
        text += f", {fmt_num(abs(outcome['rel_diff']) * 100, 1)}% {direction} than the holdout"
    return f"{text} ({rating_counts(outcome)})."


def no_difference_sentence(outcome: Mapping[str, Any], alpha: float) -> str:
    if is_rating(outcome):
        subject = f"ratings of {rating_subject(outcome)}"
        text = f"No detectable difference in {subject} ({rating_counts(outcome)})"
        mde = outcome.get("mde")
        detectable = f"a difference of {fmt_num(abs(mde), 2)} points" if is_number(mde) else None
    else:
        text = f"No detectable difference in the share who {binary_verb(outcome)} ({binary_counts(outcome)})"
        mde = outcome.get("mde_pp")
        detectable = f"a difference of {fmt_num(abs(mde), 1)} percentage points" if is_number(mde) else None
    if detectable:
        text += f"; the study could have detected {detectable}"
    raw_p = outcome.get("p_value")
    if is_number(raw_p) and raw_p < alpha:
        correction = "does not survive the correction for testing several outcomes"
        text += f" (the raw p-value, {fmt_p(raw_p)}, {correction})"
    return text + "."


def effect_sentence(outcome: dict, alpha: float) -> str:
    """The plain-language sentence for one binary or rating outcome.

    It claims a difference only when the corrected p-value is below `alpha`; otherwise it says there was no
    detectable difference and how large a difference the study could have detected.
    """
    reason = missing_reason(outcome)
    if reason is not None:
        name = rating_subject(outcome) if is_rating(outcome) else f"the share who {binary_verb(outcome)}"
        return f"Insufficient data on {name}: {reason}."
    if not is_significant(outcome, alpha):
        return no_difference_sentence(outcome, alpha)
    return (
        significant_rating_sentence(outcome) if is_rating(outcome) else significant_binary_sentence(outcome)
    )


# --- sections (plain dicts of strings for the template) --------------------------------------


def as_list(value: object) -> list[dict[str, Any]]:
    return [item for item in value if isinstance(item, Mapping)] if isinstance(value, list) else []


def as_dict(value: object) -> dict[str, Any]:
    return dict(value) if isinstance(value, Mapping) else {}


def srm_view(srm: Mapping[str, Any]) -> dict[str, Any]:
    """Sample-ratio check: counts, shares and the plain verdict."""
    n_a, n_b, planned = srm.get("n_a"), srm.get("n_b"), srm.get("planned_share_b")
    counts = f"Group A (notified) has {fmt_int(n_a)} victims and Group B (holdout) {fmt_int(n_b)}"
    shares = (
        f"{fmt_pct(srm.get('observed_share_b'), 2)} in the holdout against a planned "
        f"{fmt_pct(planned, 0 if is_number(planned) and float(planned * 100).is_integer() else 2)}"
    )
    p_value = srm.get("p_value")
    if srm.get("alarm") is True:
        verdict = (
            f"{counts}: {shares}. A split this uneven would happen by chance with probability "
            f"{p_clause(p_value)} (chi-square {fmt_num(srm.get('statistic'), 2)})."
        )
    elif is_number(p_value):
        verdict = f"Assignment looks healthy: {counts}, {shares} (sample-ratio check {p_clause(p_value)})."
    else:
        verdict = f"The assignment check could not be run ({reason_text(srm.get('insufficient'))}): {counts}."
    return {"alarm": srm.get("alarm") is True, "verdict": verdict}


def response_sentence(funnel: Mapping[str, Any]) -> str:
    a, b = as_dict(funnel.get("a")), as_dict(funnel.get("b"))

    def part(arm: Mapping[str, Any], who: str) -> str:
        invited, responded = arm.get("invited"), arm.get("responded")
        share = (
            f" ({fmt_pct(responded / invited)})"
            if is_number(invited) and invited and is_number(responded)
            else ""
        )
        return f"{fmt_int(responded)} of {fmt_int(invited)} invited {who}{share}"

    if not any(is_number(arm.get("invited")) and arm.get("invited") for arm in (a, b)):
        return "No survey invitations were recorded, so there are no survey results yet."
    return f"{part(a, 'notified victims')} and {part(b, 'holdout victims')} answered the survey."


def outcome_index(results: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        str(o.get("name")): o for o in (*as_list(results.get("binary")), *as_list(results.get("ratings")))
    }


def outcome_label(results: Mapping[str, Any], name: object) -> str:
    outcome = outcome_index(results).get(str(name))
    return str(outcome.get("label") or name) if outcome else str(name)


def glance_sentences(results: Mapping[str, Any], alpha: float) -> list[str]:
    """Assignment health, response, then one sentence per primary outcome."""
    srm = srm_view(as_dict(results.get("srm")))
    alarm = "Assignment may be broken (see the red box above). " if srm["alarm"] else ""
    sentences = [alarm + srm["verdict"]]
    sentences.append(response_sentence(as_dict(results.get("funnel"))))
    index = outcome_index(results)
    for name in results.get("primary_outcomes") or []:
        if str(name) in index:
            sentences.append(effect_sentence(index[str(name)], alpha))
        else:
            sentences.append(f"Insufficient data on \u201c{name}\u201d: the evaluation did not report it.")
    return sentences


def binary_row(outcome: Mapping[str, Any], alpha: float) -> dict[str, Any]:
    reason = missing_reason(outcome)
    return {
        "label": str(outcome.get("label") or outcome.get("name")),
        "insufficient": f"Insufficient data: {reason}." if reason else "",
        "primary": "primary" if outcome.get("primary") else "",
        "population": "survey respondents"
        if outcome.get("population") == "respondents"
        else "victims invited",
        "a": rate_parts(outcome.get("a")),
        "b": rate_parts(outcome.get("b")),
        "diff": fmt_pp(outcome.get("diff_pp")),
        "diff_ci": fmt_ci(outcome.get("diff_ci"), 1),
        "lift": fmt_pct(outcome.get("rel_lift")) if is_number(outcome.get("rel_lift")) else MISSING,
        "lift_ci": fmt_pct_ci(outcome.get("rel_lift_ci")),
        "rr_ci": fmt_pct_ci(outcome.get("rr_ci")),
        "p": fmt_p(outcome.get("p_value")),
        **adjusted_cell(outcome, alpha),
        "test": TESTS.get(str(outcome.get("test")), str(outcome.get("test") or MISSING)),
    }


def adjusted_cell(outcome: Mapping[str, Any], alpha: float) -> dict[str, Any]:
    """The corrected p-value, the correction's name under it, and whether it is significant (✱)."""
    if missing_reason(outcome) is not None:
        return {"p_adjusted": MISSING, "correction": "insufficient data", "significant": False}
    name = str(outcome.get("correction") or "")
    return {
        "p_adjusted": fmt_p(outcome.get("p_adjusted")),
        "correction": CORRECTIONS.get(name, name),
        "significant": is_significant(outcome, alpha),
    }


def rating_row(outcome: Mapping[str, Any], alpha: float) -> dict[str, Any]:
    a, b = as_dict(outcome.get("a")), as_dict(outcome.get("b"))

    def summary(arm: Mapping[str, Any]) -> tuple[str, str]:
        return fmt_num(arm.get("mean")), f"SD {fmt_num(arm.get('sd'))}, n = {fmt_int(arm.get('n'))}"

    def top_box(arm: Mapping[str, Any]) -> tuple[str, str]:
        return fmt_pct(
            arm.get("top_box_rate")
        ), f"{fmt_int(arm.get('top_box_count'))} of {fmt_int(arm.get('n'))}"

    reason = missing_reason(outcome)
    return {
        "label": str(outcome.get("label") or outcome.get("name")),
        "insufficient": f"Insufficient data: {reason}." if reason else "",
        "primary": "primary" if outcome.get("primary") else "",
        "a": summary(a),
        "b": summary(b),
        "diff": fmt_signed(outcome.get("diff"), 2),
        "diff_ci": fmt_ci(outcome.get("diff_ci"), 2),
        "rel_diff": fmt_pct(outcome.get("rel_diff")) if is_number(outcome.get("rel_diff")) else MISSING,
        "superiority": fmt_pct(outcome.get("prob_superiority")),
        "superiority_ci": fmt_pct_ci(outcome.get("prob_superiority_ci")).replace("+", ""),
        "top_a": top_box(a),
        "top_b": top_box(b),
        "p": fmt_p(outcome.get("p_value")),
        **adjusted_cell(outcome, alpha),
        "bm_p": fmt_p(outcome.get("bm_p_value")),
    }


def forest_rows(outcomes: Sequence[Mapping[str, Any]], alpha: float, rating: bool) -> list[ForestRow]:
    rows = []
    for outcome in outcomes:
        estimate = outcome.get("diff" if rating else "diff_pp")
        pair = interval(outcome.get("diff_ci"))
        usable = missing_reason(outcome) is None and is_number(estimate)
        rows.append(
            ForestRow(
                label=str(outcome.get("label") or outcome.get("name")),
                estimate=float(estimate) if usable else None,
                low=pair[0] if usable and pair else None,
                high=pair[1] if usable and pair else None,
                significant=usable and is_significant(outcome, alpha),
                primary=bool(outcome.get("primary")),
            )
        )
    return rows


def channel_view(channel: Mapping[str, Any], alpha: float) -> dict[str, Any]:
    """Counts per preferred channel and group, and the chi-square verdict in words."""
    table = as_dict(channel.get("table"))
    totals = {
        arm: sum(v for c in table.values() if is_number(v := as_dict(c).get(arm))) for arm in ("a", "b")
    }
    rows = []
    for name, counts in table.items():
        counts = as_dict(counts)
        rows.append(
            {
                "channel": str(name).capitalize(),
                **{
                    arm: f"{fmt_int(counts.get(arm))} ({fmt_pct(counts[arm] / totals[arm])})"
                    if is_number(counts.get(arm)) and totals[arm]
                    else fmt_int(counts.get(arm))
                    for arm in ("a", "b")
                },
            }
        )
    p_value = channel.get("p_value")
    if channel.get("insufficient") or not is_number(p_value):
        sentence = f"Insufficient data: {reason_text(channel.get('insufficient'))}."
    else:
        freedom = f"{fmt_int(channel.get('dof'))} degrees of freedom"
        stats = f"chi-square {fmt_num(channel.get('statistic'), 1)}, {freedom}, {p_clause(p_value)}"
        sentence = (
            f"The mix of preferred channels differed between the groups ({stats})."
            if p_value < alpha
            else f"No detectable difference in the mix of preferred channels ({stats})."
        )
    return {
        "rows": rows,
        "sentence": sentence,
        "total_a": fmt_int(totals["a"]),
        "total_b": fmt_int(totals["b"]),
    }


def openers_rows(results: Mapping[str, Any]) -> list[dict[str, str]]:
    rows = []
    for entry in as_list(results.get("openers")):
        reason = entry.get("insufficient")
        rows.append(
            {
                "label": str(entry.get("label") or entry.get("name")),
                "open_rate": fmt_pct(entry.get("open_rate")),
                "itt": fmt_pp(entry.get("itt_pp")),
                "itt_ci": fmt_ci(entry.get("itt_ci")),
                "cace": fmt_pp(entry.get("cace_pp")),
                "cace_ci": fmt_ci(entry.get("cace_ci")),
                "naive": fmt_pp(entry.get("naive_openers_pp")),
                "insufficient": f"Insufficient data: {reason_text(reason)}." if reason else "",
            }
        )
    return rows


def nonresponse_rows(results: Mapping[str, Any]) -> list[dict[str, str]]:
    rows = []
    for entry in as_list(results.get("nonresponse")):
        reason = entry.get("insufficient")
        rates = as_dict(entry.get("response_rate"))
        rows.append(
            {
                "label": str(entry.get("label") or entry.get("name")),
                "response": f"A {fmt_pct(rates.get('a'))}, B {fmt_pct(rates.get('b'))}",
                "ipw": fmt_pp(entry.get("ipw_diff_pp")),
                "ipw_ci": fmt_ci(entry.get("ipw_ci")),
                "lee": fmt_ci(entry.get("lee_bounds_pp"), 1, " pp"),
                "insufficient": f"Insufficient data: {reason_text(reason)}." if reason else "",
            }
        )
    return rows


def response_rows(results: Mapping[str, Any]) -> list[dict[str, str]]:
    funnel, response = as_dict(results.get("funnel")), as_dict(results.get("response"))
    rows = []
    for arm, name in (("a", "A: notified"), ("b", "B: holdout")):
        counts = as_dict(funnel.get(arm))
        invited, responded = counts.get("invited"), counts.get("responded")
        rate = responded / invited if is_number(invited) and invited and is_number(responded) else None
        free_share = as_dict(response.get("free_text_share")).get(arm)
        rows.append(
            {
                "arm": name,
                "randomized": fmt_int(counts.get("randomized")),
                "opened": fmt_int(counts.get("opened")) if arm == "a" else "not notified",
                "invited": fmt_int(invited),
                "responded": f"{fmt_int(responded)} ({fmt_pct(rate)})"
                if rate is not None
                else fmt_int(responded),
                "seconds": fmt_duration(as_dict(response.get("mean_seconds")).get(arm)),
                "free_text": fmt_int(as_dict(response.get("free_text_count")).get(arm))
                + (f" ({fmt_pct(free_share)})" if is_number(free_share) else ""),
            }
        )
    return rows


def rollout_view(rollout: Mapping[str, Any]) -> dict[str, Any]:
    reason = rollout.get("insufficient")
    outcome = str(rollout.get("outcome") or "the outcome")
    early = str(rollout.get("early_division") or "the early division")
    # When the data begin after the early division went live, the others' start is the event.
    late = rollout.get("event") == "other divisions went live"
    view = {
        "late": late,
        "insufficient": f"Insufficient data: {reason_text(reason)}." if reason else "",
        "early": early,
        "treatment_start": str(rollout.get("treatment_start") or MISSING),
        "others_start": str(rollout.get("others_start") or MISSING),
        "outcome": outcome,
        "estimate": fmt_signed(rollout.get("estimate"), 1),
        "ci": fmt_ci(rollout.get("ci"), 1),
        "permutation_p": p_clause(rollout.get("permutation_p")),
    }
    chart = (
        charts.insufficient_chart("event-study", "Staged rollout, observational", reason_text(reason))
        if reason
        else charts.event_study_chart(
            as_list(rollout.get("event_study")),
            outcome,
            early,
            start_label="The other divisions start notifying" if late else None,
        )
    )
    view["chart"] = Markup(chart)
    return view


def subgroup_rows(results: Mapping[str, Any], min_cell: object) -> list[dict[str, Any]]:
    suppressed = f"suppressed (fewer than {fmt_int(min_cell) if is_number(min_cell) else 10})"
    rows = []
    for cell in as_list(results.get("subgroups")):
        hidden = cell.get("suppressed") is True
        rows.append(
            {
                "dimension": str(cell.get("dimension") or MISSING).replace("_", " ").capitalize(),
                "value": str(cell.get("value") if cell.get("value") is not None else MISSING),
                "outcome": outcome_label(results, cell.get("outcome")),
                "a": (suppressed, "") if hidden else rate_parts(cell.get("a")),
                "b": (suppressed, "") if hidden else rate_parts(cell.get("b")),
                "diff": suppressed if hidden else fmt_pp(cell.get("diff_pp")),
                "diff_ci": "" if hidden else fmt_ci(cell.get("diff_ci")),
                "suppressed": hidden,
            }
        )
    return rows


def power_rows(results: Mapping[str, Any]) -> list[dict[str, str]]:
    rows = []
    for entry in as_list(results.get("power")):
        rating = "mde" in entry or "sd" in entry
        rows.append(
            {
                "label": str(entry.get("label") or entry.get("name")),
                "baseline": (f"SD {fmt_num(entry.get('sd'))}" if is_number(entry.get("sd")) else MISSING)
                if rating
                else (
                    f"{fmt_pct(entry.get('base_rate'))} in the holdout"
                    if is_number(entry.get("base_rate"))
                    else MISSING
                ),
                "n_a": fmt_int(entry.get("n_a")),
                "n_b": fmt_int(entry.get("n_b")),
                "mde": f"{fmt_num(entry.get('mde'), 2)} points"
                if rating and is_number(entry.get("mde"))
                else f"{fmt_num(entry.get('mde_pp'), 1)} percentage points"
                if is_number(entry.get("mde_pp"))
                else "could not be computed",
            }
        )
    return rows


def of_counts(totals: Mapping[str, Any], part: str, whole: str, noun: str) -> str:
    """'10,900 of 12,000 emails' when the evaluation gave both counts, else nothing."""
    if is_number(totals.get(part)) and is_number(totals.get(whole)):
        return f"{fmt_int(totals[part])} of {fmt_int(totals[whole])} {noun}"
    return ""


def kpi_view(kpis: Mapping[str, Any]) -> dict[str, Any]:
    totals = as_dict(kpis.get("totals"))
    monthly = as_list(kpis.get("monthly"))
    reason = kpis.get("insufficient")
    cards = (
        [
            (
                "Victims notified",
                fmt_int(totals.get("victims_notified")),
                of_counts(totals, "victims_notified", "victims", "victims reported"),
            ),
            (
                "Email open rate",
                fmt_pct(totals.get("email_open_rate")),
                of_counts(totals, "emails_opened", "emails_sent", "emails"),
            ),
            ("Notified by email", fmt_pct(totals.get("email_share")), ""),
            (
                "Delivery rate",
                fmt_pct(totals.get("delivery_rate")),
                of_counts(totals, "messages_delivered", "messages_sent", "messages"),
            ),
            (
                "Unsubscribe rate",
                fmt_pct(totals.get("unsubscribe_rate"), 2),
                of_counts(totals, "victims_unsubscribed", "victims_notified", "notified"),
            ),
        ]
        if totals
        else []
    )
    months = [
        {
            "month": str(row.get("month") or MISSING),
            "notified": fmt_int(row.get("victims_notified")),
            "open": fmt_pct(row.get("email_open_rate")),
            "delivery": fmt_pct(row.get("delivery_rate")),
            "unsubscribe": fmt_pct(row.get("unsubscribe_rate"), 2),
        }
        for row in monthly
    ]
    return {
        "cards": cards,
        "months": months,
        "insufficient": f"Insufficient data: {reason_text(reason)}." if reason else "",
        "chart": Markup(charts.kpi_chart(monthly)),
    }


def share_of(
    entry: Mapping[str, Any], rate: str, part: str, whole: str, noun: str, decimals: int = 1
) -> tuple[str, str]:
    """('98.0%', '1,176 of 1,200 messages'); ('—', 'no emails sent') when there were none."""
    if is_number(entry.get(whole)) and entry[whole] == 0:
        return MISSING, f"no {noun} sent" if noun != "people" else "nobody sent one"
    return fmt_pct(entry.get(rate), decimals), of_counts(entry, part, whole, noun)


# Labels for the notice kinds, when results.json does not carry its own.
KIND_LABELS = {
    "initial": "Victims' first notices",
    "reporting_party": "Notices to reporting parties",
    "status_update": "Case-status follow-ups",
    "survey": "Survey invitations",
    "survey_reminder": "Survey reminders",
}


def kinds_view(figures: object) -> dict[str, Any] | None:
    """The figures per notice kind, each percentage beside its counts; None when results.json
    predates notice kinds (the subsection is left out rather than shown empty)."""
    if not isinstance(figures, Mapping):
        return None
    rows = []
    for entry in as_list(figures.get("kinds")):
        kind = str(entry.get("kind") or MISSING)
        rows.append(
            {
                "kind": str(entry.get("label") or KIND_LABELS.get(kind, kind)),
                "sent": fmt_int(entry.get("messages_sent")),
                "people": fmt_int(entry.get("victims_notified")),
                "delivered": share_of(
                    entry, "delivery_rate", "messages_delivered", "messages_sent", "messages"
                ),
                "opened": share_of(entry, "email_open_rate", "emails_opened", "emails_sent", "emails"),
                "unsubscribed": share_of(
                    entry, "unsubscribe_rate", "victims_unsubscribed", "victims_notified", "people", 2
                ),
            }
        )
    reason = figures.get("insufficient")
    return {
        "rows": rows,
        "insufficient": f"Insufficient data: {reason_text(reason)}." if reason and not rows else "",
    }


def report_context(results: Mapping[str, Any]) -> dict[str, Any]:
    """Everything the template shows, already formatted."""
    if not isinstance(results, Mapping):
        raise ReportError("the evaluation results must be a JSON object")
    if results.get("schema") != SCHEMA:
        raise ReportError(
            f"expected evaluation results with schema {SCHEMA!r}, got {results.get('schema')!r}"
        )
    alpha = results.get("alpha") if is_number(results.get("alpha")) else 0.05
    binary, ratings = as_list(results.get("binary")), as_list(results.get("ratings"))
    period = as_dict(results.get("period"))
    srm = srm_view(as_dict(results.get("srm")))
    primary = [outcome_label(results, name) for name in results.get("primary_outcomes") or []]
    return {
        "agency": str(results.get("agency") or "Agency not named"),
        "experiment": str(results.get("experiment") or "unnamed experiment"),
        "generated_at": str(results.get("generated_at") or MISSING),
        "period": (
            f"Reports from {period['first_report']} to {period['last_report']}"
            if period.get("first_report") and period.get("last_report")
            else ""
        ),
        "alpha": fmt_num(alpha, 2),
        "confidence": f"{fmt_num((1 - alpha) * 100, 0)}%",
        "power_level": (
            f"{fmt_num(results['power_level'] * 100, 0)}%" if is_number(results.get("power_level")) else "80%"
        ),
        "primary_labels": ", ".join(primary) if primary else "none named",
        "srm": srm,
        "srm_raw": as_dict(results.get("srm")),
        "glance": glance_sentences(results, alpha),
        "warning_count": len(results.get("warnings") or []),
        "kpis": kpi_view(as_dict(results.get("kpis"))),
        "kinds": kinds_view(results.get("figures_by_kind")),
        "forest": Markup(
            charts.forest_plot(forest_rows(binary, alpha, False), forest_rows(ratings, alpha, True))
        ),
        "binary_sentences": [effect_sentence(o, alpha) for o in binary],
        "binary_rows": [binary_row(o, alpha) for o in binary],
        "rating_sentences": [effect_sentence(o, alpha) for o in ratings],
        "rating_rows": [rating_row(o, alpha) for o in ratings],
        "channel": channel_view(as_dict(results.get("channel_preferences")), alpha),
        "openers": openers_rows(results),
        "openers_warning": str(results.get("openers_warning") or ""),
        "funnel_chart": Markup(charts.funnel_chart(as_dict(results.get("funnel")))),
        "response_rows": response_rows(results),
        "nonresponse": nonresponse_rows(results),
        "rollout": rollout_view(as_dict(results.get("rollout"))),
        "subgroups": subgroup_rows(results, results.get("min_cell")),
        "min_cell": fmt_int(results.get("min_cell")) if is_number(results.get("min_cell")) else "10",
        "power": power_rows(results),
        "data_sha256": str(results.get("data_sha256") or MISSING),
        "rows": fmt_int(results.get("rows")),
        "source": str(results.get("source") or MISSING),
        "versions": [(str(k), str(v)) for k, v in as_dict(results.get("versions")).items() if v is not None],
        "warnings": [str(w) for w in results.get("warnings") or [] if w is not None],
    }


def template_environment() -> Environment:
    return Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=True,  # every string from the results is escaped, whatever the template's name
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render_report_html(results: dict) -> str:
    """One self-contained HTML document: inline CSS and SVG, no scripts, no external resources."""
    return template_environment().get_template("report.html.j2").render(**report_context(results))


# --- PDF --------------------------------------------------------------------------------------


def find_browser() -> str | None:
    """VNOTIFY_CHROMIUM when set, else the first Chromium-family browser on PATH."""
    configured = os.environ.get("VNOTIFY_CHROMIUM")
    if configured:
        return configured
    return next((path for name in BROWSERS if (path := shutil.which(name))), None)


def run_browser(command: Sequence[str], timeout: float) -> subprocess.CompletedProcess[bytes]:
    """Run Chromium in its own process group so a hung browser and its helpers are all stopped."""
    process = subprocess.Popen(
        list(command),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        stdout, stderr = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired as exc:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.communicate()
        raise ReportError(f"Chromium did not finish within {timeout:g} seconds") from exc
    return subprocess.CompletedProcess(list(command), process.returncode, stdout, stderr)


def browser_command(browser: str, profile: Path, html_path: Path, *output: str) -> list[str]:
    return [
        browser,
        "--headless",
        "--disable-gpu",
        "--no-sandbox",
        "--no-pdf-header-footer",
        f"--user-data-dir={profile}",
        *output,
        html_path.resolve().as_uri(),
    ]


def html_to_pdf(html_path: Path, pdf_path: Path) -> None:
    """Print an HTML file to PDF with headless Chromium; the PDF appears only when it is complete."""
    html_path, pdf_path = Path(html_path), Path(pdf_path)
    browser = find_browser()
    if browser is None:
        raise ReportError(
            f"No Chromium found to print {pdf_path.name}; install chromium (make browser-deps) or set "
            f"VNOTIFY_CHROMIUM. The HTML report was written to {html_path}."
        )
    pdf_path.parent.mkdir(parents=True, exist_ok=True)
    pdf_path.unlink(missing_ok=True)  # never leave an older PDF beside a newer HTML
    with tempfile.TemporaryDirectory(prefix="vnotify-chromium-") as profile:
        partial = Path(profile) / "report.pdf"
        try:
            done = run_browser(
                browser_command(browser, Path(profile), html_path, f"--print-to-pdf={partial}"),
                PDF_TIMEOUT_SECONDS,
            )
        except OSError as exc:
            raise ReportError(f"could not start {browser}: {exc}; the HTML report is at {html_path}") from exc
        if done.returncode != 0 or not partial.exists() or partial.read_bytes()[:5] != b"%PDF-":
            tail = done.stderr.decode(errors="replace").strip().splitlines()[-3:]
            raise ReportError(
                f"Chromium did not produce a PDF (exit {done.returncode}): {' | '.join(tail)}; "
                f"the HTML report is at {html_path}"
            )
        shutil.move(partial, pdf_path)


def pdf_page_count(pdf: bytes) -> int:
    """Page objects in an uncompressed-dictionary PDF such as Chromium's."""
    return len(re.findall(rb"/Type\s*/Page(?![a-zA-Z])", pdf))


def write_report(results: dict, out_dir: Path, pdf: bool = True) -> ReportFiles:
    """Write report.html, then print report.pdf.

    Without a browser (or when printing fails) the HTML is still written and ReportError says where it is.
    """
    html = render_report_html(results)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    html_path = out_dir / "report.html"
    html_path.write_text(html, encoding="utf-8")
    if not pdf:
        return ReportFiles(html=html_path, pdf=None)
    pdf_path = out_dir / "report.pdf"
    html_to_pdf(html_path, pdf_path)
    return ReportFiles(html=html_path, pdf=pdf_path)
