"""The evaluation at statewide scale: 1,000,000 randomized victims, 136,000 survey responses.

    .venv/bin/python -m benchmarks.evaluate --victims 1000000

Builds the frame (simulate.randomized_victims, the case study's planted effects, 13.6% response
among everyone), writes it as the CSV an analyst would hand over, then times what
`vnotify evaluate --from-csv` does: read and check the file, compute every section of
results.json, and render the HTML report (the PDF is Chromium's work and is timed separately).
The last line is JSON with `rows` and `seconds` (target: under 30 s on 2 cores).
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from analytics.evaluation import EvaluationPlan, evaluate
from analytics.frame import read_csv
from simulate.randomized_victims import make_frame


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--victims", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    plan = EvaluationPlan(agency="Benchmark PD", experiment="benchmark", planned_share_b=0.5)
    with tempfile.TemporaryDirectory() as folder:
        # 13.6% of all randomized victims respond: 0.97 invited x 0.1402 answering.
        frame = make_frame(args.victims, seed=args.seed, invited_rate=0.97, response_rate=0.136 / 0.97)
        path = Path(folder) / "victims.csv"
        frame.to_csv(path, index=False)
        size_mb = path.stat().st_size / 1e6

        started = time.perf_counter()
        prepared, sha = read_csv(path)
        read_s = time.perf_counter() - started
        results = evaluate(prepared, plan, source="csv", data_sha256=sha)
        evaluate_s = time.perf_counter() - started - read_s
        from analytics.report import render_report_html

        html = render_report_html(results)
        (Path(folder) / "report.html").write_text(html, encoding="utf-8")
        seconds = time.perf_counter() - started
        render_s = seconds - read_s - evaluate_s

    responses = results["funnel"]["a"]["responded"] + results["funnel"]["b"]["responded"]
    print(f"{args.victims:,} randomized victims, {responses:,} responses, CSV {size_mb:.0f} MB")
    print(
        f"read and check {read_s:.2f} s; evaluate {evaluate_s:.2f} s; report {render_s:.2f} s; total {seconds:.2f} s"
    )
    figures = {
        "rows": len(prepared),
        "responses": responses,
        "seconds": round(seconds, 2),
        "read_s": round(read_s, 2),
        "evaluate_s": round(evaluate_s, 2),
        "report_s": round(render_s, 2),
        "under_30_s": seconds < 30,
    }
    print(json.dumps(figures))
    return figures


if __name__ == "__main__":
    main()
