"""Regenerate docs/screenshots/report-example.png: the example evaluation report in headless Chromium.

The example is the realistic results builder the report tests use (tests/evaluation_results.py).
Run from the repository root:  .venv/bin/python docs/screenshots/make_report_example.py [--out PATH]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from evaluation_results import full_results  # noqa: E402

from analytics.report import (  # noqa: E402
    ReportError,
    browser_command,
    find_browser,
    render_report_html,
    run_browser,
)

DEFAULT_OUT = Path(__file__).resolve().parent / "report-example.png"


def screenshot(out: Path, width: int = 1200, height: int = 2000) -> Path:
    """Render the example report and save the top `height` pixels of it as a PNG."""
    browser = find_browser()
    if browser is None:
        raise ReportError("no Chromium found: install chromium (make browser-deps) or set VNOTIFY_CHROMIUM")
    out = out.resolve()
    with tempfile.TemporaryDirectory(prefix="vnotify-report-shot-") as tmp:
        html = Path(tmp) / "report.html"
        html.write_text(render_report_html(full_results()), encoding="utf-8")
        options = (f"--screenshot={out}", f"--window-size={width},{height}", "--hide-scrollbars")
        done = run_browser(browser_command(browser, Path(tmp) / "profile", html, *options), 120)
    if done.returncode != 0 or not out.exists():
        raise ReportError(f"Chromium did not write {out} (exit {done.returncode})")
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    print(screenshot(parser.parse_args(argv).out))


if __name__ == "__main__":
    main()
