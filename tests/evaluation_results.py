"""Evaluation results (schema vnotify.evaluation/1) for the report tests: one realistic, complete example
shaped like the Tucson case study, and helpers that make copies of it degenerate in one way each."""

from __future__ import annotations

import copy
from typing import Any

ALPHA = 0.05


def arm(count: int, n: int) -> dict[str, Any]:
    return {"n": n, "count": count, "rate": round(count / n, 6)}


def binary(
    name: str,
    label: str,
    a: tuple[int, int],
    b: tuple[int, int],
    *,
    diff_ci: list[float],
    rel_lift_ci: list[float],
    p_value: float,
    p_adjusted: float,
    primary: bool = False,
    mde_pp: float = 2.1,
    test: str = "z",
) -> dict[str, Any]:
    """One yes/no outcome; the difference and lift are computed from the counts, the rest given."""
    arm_a, arm_b = arm(*a), arm(*b)
    return {
        "name": name,
        "label": label,
        "population": "invited" if name == "responded" else "respondents",
        "primary": primary,
        "a": arm_a,
        "b": arm_b,
        "diff_pp": round(100 * (arm_a["rate"] - arm_b["rate"]), 4),
        "diff_ci": diff_ci,
        "rel_lift": round(arm_a["rate"] / arm_b["rate"] - 1, 4),
        "rel_lift_ci": rel_lift_ci,
        "rr_ci": [round(rel_lift_ci[0] + 0.002, 4), round(rel_lift_ci[1] + 0.003, 4)],
        "p_value": p_value,
        "p_adjusted": p_adjusted,
        "correction": "holm" if primary else "bh",
        "test": test,
        "significant": p_adjusted < ALPHA,
        "mde_pp": mde_pp,
        "insufficient": None,
    }


MONTHS = ["2025-03", "2025-04", "2025-05", "2025-06", "2025-07", "2025-08", "2025-09", "2025-10", "2025-11"]
NOTIFIED = [1346, 1298, 1412, 1377, 1305, 1351, 1290, 1388, 1233]
OPEN_RATES = [0.909, 0.912, 0.905, 0.915, 0.901, 0.908, 0.913, 0.904, 0.911]
UNSUBSCRIBES = [0.0003, 0.0002, 0.0004, 0.0003, 0.0001, 0.0003, 0.0002, 0.0003, 0.0004]
DELIVERY = [0.981, 0.979, 0.984, 0.978, 0.982, 0.98, 0.983, 0.977, 0.981]


def kind_figures(
    kind: str, label: str, sent: int, delivered: int, emails: int, opened: int, people: int, unsubscribed: int
) -> dict[str, Any]:
    """One notice kind's figures as evaluation.figures_by_kind gives them."""
    return {
        "kind": kind,
        "label": label,
        "messages_sent": sent,
        "messages_delivered": delivered,
        "emails_sent": emails,
        "emails_opened": opened,
        "victims_notified": people,
        "victims_unsubscribed": unsubscribed,
        "delivery_rate": delivered / sent if sent else None,
        "email_open_rate": opened / emails if emails else None,
        "unsubscribe_rate": unsubscribed / people if people else None,
    }


def full_results() -> dict[str, Any]:
    """A complete, realistic evaluation: four significant primary outcomes, some null results."""
    binaries = [
        binary(
            "responded",
            "Completed the survey",
            (1700, 12000),
            (1600, 11990),
            diff_ci=[-0.05, 1.71],
            rel_lift_ci=[-0.003, 0.13],
            p_value=0.06,
            p_adjusted=0.12,
            mde_pp=1.2,
        ),
        binary(
            "prefers_text",
            "Prefers text messages",
            (680, 1650),
            (551, 1560),
            diff_ci=[2.5, 9.2],
            rel_lift_ci=[0.091, 0.246],
            p_value=0.0006,
            p_adjusted=0.0018,
            primary=True,
        ),
        binary(
            "prefers_email",
            "Prefers email",
            (594, 1650),
            (577, 1560),
            diff_ci=[-4.3, 2.3],
            rel_lift_ci=[-0.11, 0.06],
            p_value=0.56,
            p_adjusted=0.7,
            mde_pp=4.8,
        ),
        binary(
            "prefers_letter",
            "Prefers a mailed letter",
            (66, 1650),
            (70, 1560),
            diff_ci=[-1.9, 0.9],
            rel_lift_ci=[-0.31, 0.2],
            p_value=0.49,
            p_adjusted=0.7,
            mde_pp=2.0,
        ),
        binary(
            "prefers_phone",
            "Prefers a phone call",
            (248, 1650),
            (281, 1560),
            diff_ci=[-5.6, -0.4],
            rel_lift_ci=[-0.3, -0.02],
            p_value=0.022,
            p_adjusted=0.051,
            mde_pp=3.8,
        ),
        binary(
            "likely_to_call",
            "Likely to call the department for more information",
            (139, 1640),
            (232, 1555),
            diff_ci=[-8.6, -4.3],
            rel_lift_ci=[-0.53, -0.32],
            p_value=1e-8,
            p_adjusted=3e-8,
            primary=True,
            mde_pp=3.4,
        ),
        binary(
            "trusts_police",
            "Trusts the police (agrees or strongly agrees)",
            (1180, 1630),
            (1067, 1560),
            diff_ci=[0.85, 7.1],
            rel_lift_ci=[0.012, 0.105],
            p_value=0.013,
            p_adjusted=0.026,
            primary=True,
            mde_pp=4.6,
        ),
    ]
    ratings = [
        {
            "name": "service_rating",
            "label": "Customer-service rating (1–5)",
            "primary": True,
            "a": {"n": 1650, "mean": 3.87, "sd": 1.05, "top_box_count": 620, "top_box_rate": 0.3758},
            "b": {"n": 1560, "mean": 3.57, "sd": 1.12, "top_box_count": 470, "top_box_rate": 0.3013},
            "diff": 0.3,
            "diff_ci": [0.23, 0.37],
            "rel_diff": 0.084,
            "p_value": 1e-9,
            "p_adjusted": 4e-9,
            "correction": "holm",
            "prob_superiority": 0.58,
            "prob_superiority_ci": [0.56, 0.6],
            "bm_p_value": 1e-8,
            "significant": True,
            "mde": 0.09,
            "insufficient": None,
        },
        {
            "name": "trust_rating",
            "label": "Trust in police (1–5 agreement)",
            "primary": False,
            "a": {"n": 1630, "mean": 3.92, "sd": 1.01, "top_box_count": 540, "top_box_rate": 0.3313},
            "b": {"n": 1560, "mean": 3.85, "sd": 1.04, "top_box_count": 500, "top_box_rate": 0.3205},
            "diff": 0.07,
            "diff_ci": [-0.01, 0.15],
            "rel_diff": 0.018,
            "p_value": 0.09,
            "p_adjusted": 0.11,
            "correction": "bh",
            "prob_superiority": 0.52,
            "prob_superiority_ci": [0.5, 0.54],
            "bm_p_value": 0.1,
            "significant": False,
            "mde": 0.1,
            "insufficient": None,
        },
    ]
    return {
        "schema": "vnotify.evaluation/1",
        "generated_at": "2026-11-28T12:00:00+00:00",
        "agency": "Sonora Vista Police Department",
        "experiment": "victim-followup-2025",
        "period": {"first_report": "2025-03-03", "last_report": "2025-11-30"},
        "source": "marts",
        "data_sha256": "9f2c1e7a4b6d8f0e3a5c7b9d1f2e4a6c8b0d2f4e6a8c0b2d4f6e8a0c2b4d6f8e",
        "rows": 25000,
        "versions": {
            "vnotify": "0.1.0",
            "python": "3.11.7",
            "numpy": "2.1.3",
            "pandas": "2.2.3",
            "scipy": "1.14.1",
        },
        "alpha": ALPHA,
        "primary_outcomes": ["prefers_text", "likely_to_call", "service_rating", "trusts_police"],
        "min_cell": 10,
        "srm": {
            "n_a": 12500,
            "n_b": 12480,
            "planned_share_b": 0.5,
            "observed_share_b": 0.4996,
            "statistic": 0.01,
            "p_value": 0.9,
            "alarm": False,
            "insufficient": None,
        },
        "funnel": {
            "a": {"randomized": 12500, "opened": 11000, "invited": 12000, "responded": 1700},
            "b": {"randomized": 12480, "opened": 0, "invited": 11990, "responded": 1600},
        },
        "response": {
            "mean_seconds": {"a": 73.1, "b": 70.2},
            "free_text_share": {"a": 0.21, "b": 0.19},
            "free_text_count": {"a": 357, "b": 304},
        },
        "binary": binaries,
        "channel_preferences": {
            "statistic": 12.3,
            "dof": 3,
            "p_value": 0.006,
            "insufficient": None,
            "table": {
                "text": {"a": 680, "b": 551},
                "email": {"a": 594, "b": 577},
                "letter": {"a": 66, "b": 70},
                "phone": {"a": 248, "b": 281},
            },
        },
        "ratings": ratings,
        "openers": [
            {
                "name": "prefers_text",
                "label": "Prefers text messages",
                "open_rate": 0.88,
                "itt_pp": 5.9,
                "itt_ci": [2.5, 9.2],
                "cace_pp": 6.7,
                "cace_ci": [2.8, 10.5],
                "naive_openers_pp": 7.4,
                "insufficient": None,
            },
            {
                "name": "likely_to_call",
                "label": "Likely to call the department for more information",
                "open_rate": 0.88,
                "itt_pp": -6.4,
                "itt_ci": [-8.6, -4.3],
                "cace_pp": -7.3,
                "cace_ci": [-9.8, -4.9],
                "naive_openers_pp": -8.1,
                "insufficient": None,
            },
        ],
        "openers_warning": (
            "Comparing only the victims who opened the message with the whole holdout is not a randomized "
            "comparison: people who open messages differ from those who do not. It is shown for reference "
            "only; the intention-to-treat and complier (CACE) figures are the ones to rely on."
        ),
        "nonresponse": [
            {
                "name": "prefers_text",
                "label": "Prefers text messages",
                "ipw_diff_pp": 5.6,
                "ipw_ci": [2.1, 9.0],
                "lee_bounds_pp": [3.9, 7.2],
                "response_rate": {"a": 0.1417, "b": 0.1334},
                "insufficient": None,
            },
            {
                "name": "likely_to_call",
                "label": "Likely to call the department for more information",
                "ipw_diff_pp": -6.1,
                "ipw_ci": [-8.4, -3.9],
                "lee_bounds_pp": [-7.5, -5.0],
                "response_rate": {"a": 0.1417, "b": 0.1334},
                "insufficient": None,
            },
        ],
        "rollout": {
            "label": "observational",
            "early_division": "WEST",
            "treatment_start": "2025-03",
            "others_start": "2025-10",
            "outcome": "calls for more information per 100 victims",
            "estimate": -3.1,
            "ci": [-5.0, -1.2],
            "permutation_p": 0.25,
            "event_study": [
                {"relative_month": m, "estimate": e, "ci": [round(e - 1.2, 2), round(e + 1.2, 2)]}
                for m, e in [(-3, 0.2), (-2, -0.4), (-1, 0.1), (0, -2.2), (1, -3.0), (2, -3.4), (3, -2.9)]
            ],
            "insufficient": None,
        },
        "power": [
            {
                "name": "prefers_text",
                "label": "Prefers text messages",
                "mde_pp": 2.1,
                "base_rate": 0.3532,
                "n_a": 1650,
                "n_b": 1560,
            },
            {
                "name": "likely_to_call",
                "label": "Likely to call the department for more information",
                "mde_pp": 3.4,
                "base_rate": 0.1492,
                "n_a": 1640,
                "n_b": 1555,
            },
            {
                "name": "service_rating",
                "label": "Customer-service rating (1–5)",
                "mde": 0.09,
                "sd": 1.09,
                "n_a": 1650,
                "n_b": 1560,
            },
            {
                "name": "trusts_police",
                "label": "Trusts the police (agrees or strongly agrees)",
                "mde_pp": 4.6,
                "base_rate": 0.684,
                "n_a": 1630,
                "n_b": 1560,
            },
        ],
        "kpis": {
            "monthly": [
                {
                    "month": month,
                    "victims_notified": notified,
                    "email_open_rate": opened,
                    "email_share": 0.62,
                    "unsubscribe_rate": unsubscribed,
                    "delivery_rate": delivered,
                }
                for month, notified, opened, unsubscribed, delivered in zip(
                    MONTHS, NOTIFIED, OPEN_RATES, UNSUBSCRIBES, DELIVERY, strict=True
                )
            ],
            "totals": {
                "victims_notified": sum(NOTIFIED),
                "email_open_rate": 0.909,
                "email_share": 0.62,
                "unsubscribe_rate": 0.0003,
                "delivery_rate": 0.98,
                "victims": 14020,
                "emails_sent": 7460,
                "emails_opened": 6781,
                "messages_sent": 12040,
                "messages_delivered": 11799,
                "victims_unsubscribed": 4,
            },
            "insufficient": None,
        },
        "figures_by_kind": {
            "kinds": [
                kind_figures("initial", "Victims' first notices", 12040, 11799, 7460, 6781, 11800, 4),
                kind_figures("reporting_party", "Notices to reporting parties", 310, 301, 120, 97, 290, 0),
                kind_figures("status_update", "Case-status follow-ups", 2150, 2101, 1320, 1109, 1840, 2),
                kind_figures("survey", "Survey invitations", 9880, 9650, 3950, 2410, 9020, 7),
                kind_figures("survey_reminder", "Survey reminders", 4410, 4302, 0, 0, 4400, 1),
            ],
            "monthly": [],
            "insufficient": None,
        },
        "subgroups": [
            *(
                {
                    "dimension": "division",
                    "value": division,
                    "outcome": "prefers_text",
                    "a": arm(ca, na),
                    "b": arm(cb, nb),
                    "diff_pp": round(100 * (ca / na - cb / nb), 2),
                    "diff_ci": [
                        round(100 * (ca / na - cb / nb) - 6.5, 2),
                        round(100 * (ca / na - cb / nb) + 6.5, 2),
                    ],
                    "suppressed": False,
                }
                for division, ca, na, cb, nb in [
                    ("WEST", 190, 400, 150, 380),
                    ("EAST", 170, 420, 140, 400),
                    ("SOUTH", 160, 410, 131, 390),
                    ("MIDTOWN", 160, 420, 130, 390),
                ]
            ),
            {
                "dimension": "language",
                "value": "es",
                "outcome": "prefers_text",
                "a": arm(120, 260),
                "b": arm(95, 250),
                "diff_pp": 8.15,
                "diff_ci": [-0.4, 16.6],
                "suppressed": False,
            },
            {
                "dimension": "language",
                "value": "other",
                "outcome": "prefers_text",
                "a": {"n": None, "count": None, "rate": None},
                "b": {"n": None, "count": None, "rate": None},
                "diff_pp": None,
                "diff_ci": None,
                "suppressed": True,
            },
        ],
        "warnings": [
            "12 survey responses arrived after the cut-off and were left out.",
            "Division SOUTH had no follow-up calls recorded for 2025-06; that month is left out.",
        ],
    }


def outcome(results: dict[str, Any], name: str) -> dict[str, Any]:
    """The binary or rating outcome with this name (the same object, so tests can change it)."""
    return next(o for o in (*results["binary"], *results["ratings"]) if o["name"] == name)


def with_srm_alarm(results: dict[str, Any]) -> dict[str, Any]:
    """Assignment gone wrong: far fewer holdout victims than planned."""
    results = copy.deepcopy(results)
    results["srm"].update(
        n_a=12500, n_b=11000, observed_share_b=0.468, statistic=95.7, p_value=1.4e-22, alarm=True
    )
    results["warnings"].append("Sample-ratio mismatch: the assignment may be broken.")
    return results


def from_csv(results: dict[str, Any]) -> dict[str, Any]:
    """Results computed from a CSV export rather than the marts: no KPIs and no rollout."""
    results = copy.deepcopy(results)
    results["source"] = "csv"
    results["kpis"] = {
        "monthly": [],
        "totals": None,
        "insufficient": "figures by the numbers come from the marts",
    }
    results["rollout"] = {
        "insufficient": "the staged-rollout comparison comes from the marts",
        "label": "observational",
    }
    results["figures_by_kind"] = {
        "kinds": [],
        "monthly": [],
        "insufficient": "figures by notice kind come from the marts",
    }
    return results


def _null_binary(entry: dict[str, Any]) -> None:
    for key in (
        "diff_pp",
        "diff_ci",
        "rel_lift",
        "rel_lift_ci",
        "rr_ci",
        "p_value",
        "p_adjusted",
        "correction",
        "test",
        "mde_pp",
    ):
        entry[key] = None
    entry["a"] = {"n": 3, "count": 1, "rate": None}
    entry["b"] = {"n": 0, "count": 0, "rate": None}
    entry["significant"] = False
    entry["insufficient"] = "only 0 respondents in the holdout (at least 10 are needed)"


def _null_rating(entry: dict[str, Any]) -> None:
    for key in (
        "diff",
        "diff_ci",
        "rel_diff",
        "p_value",
        "p_adjusted",
        "correction",
        "prob_superiority",
        "prob_superiority_ci",
        "bm_p_value",
        "mde",
    ):
        entry[key] = None
    entry["a"] = {"n": 2, "mean": None, "sd": None, "top_box_count": 0, "top_box_rate": None}
    entry["b"] = {"n": 0, "mean": None, "sd": None, "top_box_count": 0, "top_box_rate": None}
    entry["significant"] = False
    entry["insufficient"] = "only 0 ratings in the holdout (at least 10 are needed)"


def all_insufficient(results: dict[str, Any]) -> dict[str, Any]:
    """Every estimate missing with a reason, as for a study that has barely started."""
    results = from_csv(results)
    results["rows"] = 5
    results["srm"] = {
        "n_a": 3,
        "n_b": 2,
        "planned_share_b": 0.5,
        "observed_share_b": None,
        "statistic": None,
        "p_value": None,
        "alarm": False,
        "insufficient": "fewer than 10 victims randomized",
    }
    results["funnel"] = {
        "a": {"randomized": 0, "opened": 0, "invited": 0, "responded": 0},
        "b": {"randomized": 0, "opened": 0, "invited": 0, "responded": 0},
    }
    results["response"] = {
        "mean_seconds": {"a": None, "b": None},
        "free_text_share": {"a": None, "b": None},
        "free_text_count": {"a": 0, "b": 0},
    }
    for entry in results["binary"]:
        _null_binary(entry)
    for entry in results["ratings"]:
        _null_rating(entry)
    results["channel_preferences"] = {
        "statistic": None,
        "dof": None,
        "p_value": None,
        "table": {},
        "insufficient": "no respondent named a preferred channel",
    }
    for entry in results["openers"]:
        entry.update(
            open_rate=None,
            itt_pp=None,
            itt_ci=None,
            cace_pp=None,
            cace_ci=None,
            naive_openers_pp=None,
            insufficient="no notified victim opened a message",
        )
    for entry in results["nonresponse"]:
        entry.update(
            ipw_diff_pp=None,
            ipw_ci=None,
            lee_bounds_pp=None,
            response_rate={"a": None, "b": None},
            insufficient="too few respondents to model who answered",
        )
    for entry in results["power"]:
        for key in ("mde_pp", "mde", "base_rate", "sd"):
            if key in entry:
                entry[key] = None
        entry.update(n_a=0, n_b=0)
    for cell in results["subgroups"]:
        cell.update(
            a={"n": None, "count": None, "rate": None},
            b={"n": None, "count": None, "rate": None},
            diff_pp=None,
            diff_ci=None,
            suppressed=True,
        )
    results["warnings"] = []
    return results
