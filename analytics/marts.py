"""What the evaluation reads from the marts: the randomized victims, the monthly figures and the
division-month outcomes of the staged rollout. No names, phones or emails are in any of them."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
import psycopg

from analytics.frame import COLUMNS, frame_sha256, prepare


@dataclass(frozen=True)
class MartsData:
    frame: pd.DataFrame
    data_sha256: str
    kpis_monthly: pd.DataFrame  # one row per month of report and notice kind
    rollout_panel: pd.DataFrame
    period: dict


def _read(conn: psycopg.Connection, query: str, params: tuple = ()) -> pd.DataFrame:
    cursor = conn.execute(query, params)
    names = [column.name for column in cursor.description]
    return pd.DataFrame(cursor.fetchall(), columns=names)


def load(url: str, experiment: str) -> MartsData:
    with psycopg.connect(url) as conn:
        raw = _read(
            conn,
            f"SELECT {', '.join(COLUMNS)}, reported_month FROM marts.fct_evaluation_victims "  # noqa: S608
            "WHERE experiment_name = %s ORDER BY victim_key",
            (experiment,),
        )
        kpis = _read(conn, "SELECT * FROM marts.agg_monthly_kpis ORDER BY reported_month")
        panel = _read(
            conn, "SELECT * FROM marts.agg_division_monthly_outcomes ORDER BY division_code, reported_month"
        )
    period = {}
    if not raw.empty:
        months = pd.to_datetime(raw["reported_month"])
        period = {
            "first_report": months.min().strftime("%Y-%m"),
            "last_report": months.max().strftime("%Y-%m"),
        }
    frame = prepare(raw[list(COLUMNS)]) if not raw.empty else prepare(pd.DataFrame(columns=list(COLUMNS)))
    for column in kpis.columns:
        if column not in ("reported_month", "notice_kind"):
            kpis[column] = pd.to_numeric(kpis[column])
    if not panel.empty:
        panel["followup_calls_per_100_reports"] = pd.to_numeric(panel["followup_calls_per_100_reports"])
    return MartsData(frame, frame_sha256(frame), kpis, panel, period)
