"""One evaluation end to end: read (marts or a CSV), compute, write results.json and the report,
and (from the marts) store the run in the analytics schema. The CLI and the flow call this."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import psycopg

from analytics import marts
from analytics.evaluation import evaluate, plan_from_config
from analytics.frame import read_csv
from vnotify.config import AgencyConfig


@dataclass(frozen=True)
class EvaluationOutput:
    results: dict
    results_path: Path
    html_path: Path | None
    pdf_path: Path | None
    run_id: int | None
    report_error: str | None = None

    def summary(self) -> dict:
        binary = {o["name"]: o for o in self.results["binary"]}
        ratings = {o["name"]: o for o in self.results["ratings"]}
        return {
            "rows": self.results["rows"],
            "source": self.results["source"],
            "results": str(self.results_path),
            "report_html": str(self.html_path) if self.html_path else None,
            "report_pdf": str(self.pdf_path) if self.pdf_path else None,
            "report_error": self.report_error,
            "run_id": self.run_id,
            "srm_alarm": self.results["srm"]["alarm"],
            "significant": sorted(name for name, o in {**binary, **ratings}.items() if o["significant"]),
            "kpis": self.results["kpis"]["totals"],
            # Messages sent per notice kind (initial, reporting_party, status_update, survey, …).
            "messages_by_kind": {
                entry["kind"]: entry["messages_sent"]
                for entry in self.results.get("figures_by_kind", {}).get("kinds", [])
            },
        }


def run_evaluation(
    out_dir: Path,
    config: AgencyConfig,
    *,
    url: str | None = None,
    from_csv: Path | None = None,
    planned_share_b: float | None = None,
    with_pdf: bool = True,
) -> EvaluationOutput:
    from analytics.report import ReportError, render_report_html, write_report

    plan = plan_from_config(config, planned_share_b)
    if from_csv is not None:
        frame, sha = read_csv(from_csv)
        results = evaluate(frame, plan, source="csv", data_sha256=sha)
    else:
        if url is None:
            raise ValueError("evaluating from the marts needs a database URL")
        data = marts.load(url, plan.experiment)
        results = evaluate(
            data.frame,
            plan,
            source="marts",
            data_sha256=data.data_sha256,
            kpis_monthly=data.kpis_monthly,
            rollout_panel=data.rollout_panel,
            period=data.period,
        )
    out_dir.mkdir(parents=True, exist_ok=True)
    results_path = out_dir / "results.json"
    results_path.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    html_path = pdf_path = None
    report_error = None
    if with_pdf:
        try:
            files = write_report(results, out_dir)
            html_path, pdf_path = files.html, files.pdf
        except ReportError as error:
            html_path, report_error = out_dir / "report.html", str(error)
    else:
        html_path = out_dir / "report.html"
        html_path.write_text(render_report_html(results), encoding="utf-8")
    run_id = None
    if from_csv is None:
        from analytics.store import store

        with psycopg.connect(url) as conn:
            run_id = store(conn, results)
    return EvaluationOutput(results, results_path, html_path, pdf_path, run_id, report_error)
