"""Evaluation results into the analytics schema (what analysts query), one run per evaluation."""

from __future__ import annotations

import psycopg
from psycopg.types.json import Jsonb


def _effect_rows(run_id: int, results: dict) -> list[tuple]:
    rows = []
    for outcome in results["binary"]:
        a, b = outcome["a"], outcome["b"]
        low, high = outcome["diff_ci"] or (None, None)
        rel_low, rel_high = outcome["rel_lift_ci"] or (None, None)
        rows.append(
            (
                run_id,
                outcome["name"],
                outcome["label"],
                "proportion",
                outcome["primary"],
                a["n"],
                b["n"],
                a["rate"],
                b["rate"],
                outcome["diff_pp"],
                low,
                high,
                outcome["rel_lift"],
                rel_low,
                rel_high,
                outcome["p_value"],
                outcome["p_adjusted"],
                outcome["correction"],
                outcome["test"],
                outcome["significant"],
                outcome["insufficient"],
            )
        )
    for outcome in results["ratings"]:
        a, b = outcome["a"], outcome["b"]
        low, high = outcome["diff_ci"] or (None, None)
        rows.append(
            (
                run_id,
                outcome["name"],
                outcome["label"],
                "rating",
                outcome["primary"],
                a["n"],
                b["n"],
                a["mean"],
                b["mean"],
                outcome["diff"],
                low,
                high,
                outcome["rel_diff"],
                None,
                None,
                outcome["p_value"],
                outcome["p_adjusted"],
                outcome["correction"],
                "welch",
                outcome["significant"],
                outcome["insufficient"],
            )
        )
    return rows


def _subgroup_rows(run_id: int, results: dict) -> list[tuple]:
    rows = []
    for cell in results["subgroups"]:
        a, b = cell["a"] or {}, cell["b"] or {}
        low, high = cell["diff_ci"] or (None, None)
        rows.append(
            (
                run_id,
                cell["dimension"],
                cell["value"],
                cell["outcome"],
                a.get("n"),
                a.get("count"),
                b.get("n"),
                b.get("count"),
                cell["diff_pp"],
                low,
                high,
                cell["suppressed"],
            )
        )
    return rows


def store(conn: psycopg.Connection, results: dict) -> int:
    """Write one evaluation run and its tables in one transaction; returns the run id."""
    srm = results["srm"]
    with conn.transaction():
        run_id = conn.execute(
            """
            INSERT INTO analytics.evaluation_runs
              (generated_at, experiment, source, data_sha256, rows, n_a, n_b, srm_p_value, srm_alarm, results)
            VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s) RETURNING run_id
            """,
            (
                results["generated_at"],
                results["experiment"],
                results["source"],
                results["data_sha256"],
                results["rows"],
                srm["n_a"],
                srm["n_b"],
                srm["p_value"],
                srm["alarm"],
                Jsonb(results),
            ),
        ).fetchone()[0]
        with conn.cursor() as cursor:
            cursor.executemany(
                "INSERT INTO analytics.outcome_effects VALUES "
                "(%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                _effect_rows(run_id, results),
            )
            cursor.executemany(
                "INSERT INTO analytics.subgroup_effects VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                _subgroup_rows(run_id, results),
            )
            cursor.executemany(
                """
                INSERT INTO analytics.monthly_kpis
                  (run_id, month, victims, victims_notified, email_open_rate, email_share, unsubscribe_rate,
                   delivery_rate)
                VALUES (%s, to_date(%s, 'YYYY-MM'), %s, %s, %s, %s, %s, %s)
                """,
                [
                    (
                        run_id,
                        row["month"],
                        row["victims"],
                        row["victims_notified"],
                        row["email_open_rate"],
                        row["email_share"],
                        row["unsubscribe_rate"],
                        row["delivery_rate"],
                    )
                    for row in results["kpis"]["monthly"]
                ],
            )
    return run_id
