"""The command-staff evaluation report: self-contained HTML, honest sentences, charts that never crash, PDF.

The HTML tests need nothing but Python. Tests marked `browser` print the PDF (and the docs screenshot)
with a real headless Chromium and skip, saying why, when none is installed (`make browser-deps`).
"""

from __future__ import annotations

import copy
import itertools
import math
import re
import stat
import subprocess
import sys
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from pathlib import Path

import pytest
from evaluation_results import all_insufficient, from_csv, full_results, outcome, with_srm_alarm
from hypothesis import given
from hypothesis import strategies as st

from analytics import charts, report
from analytics.charts import ForestRow
from analytics.report import ReportError, effect_sentence, render_report_html, write_report

ROOT = Path(__file__).resolve().parent.parent
SCREENSHOT_SCRIPT = ROOT / "docs" / "screenshots" / "make_report_example.py"
BROWSER = report.find_browser()
skip_without_browser = pytest.mark.skipif(
    BROWSER is None, reason="no chromium found (make browser-deps installs Debian's)"
)
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}
SECTIONS = {
    "at-a-glance": "At a glance",
    "figures": "The figures by the numbers",
    "effects": "Did the notifications change what victims think?",
    "openers": "Who opened the message",
    "response": "Who answered the survey",
    "rollout": "Staged rollout (observational)",
    "subgroups": "Subgroups",
    "power": "Power",
    "appendix": "Appendix: methods",
}
CHARTS = ("kpis", "forest", "funnel", "event-study")
LEFTOVERS = re.compile(r"\b(NaN|nan|None|null|inf|Infinity|undefined)\b")


class Page(HTMLParser):
    """What a browser and a screen reader would get from the document."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.errors: list[str] = []
        self.starts: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []
        self.headings: list[tuple[int, str]] = []
        self._heading: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.starts.append((tag, dict(attrs)))
        if tag not in VOID:
            self.stack.append(tag)
        if re.fullmatch(r"h[1-6]", tag):
            self._heading = []

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.starts.append((tag, dict(attrs)))

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes {self.stack[-1:] or 'nothing'}")
            return
        self.stack.pop()
        if re.fullmatch(r"h[1-6]", tag) and self._heading is not None:
            self.headings.append((int(tag[1]), " ".join("".join(self._heading).split())))
            self._heading = None

    def handle_data(self, data: str) -> None:
        if self.stack and self.stack[-1] == "style":
            return
        self.text.append(data)
        if self._heading is not None:
            self._heading.append(data)

    @property
    def visible_text(self) -> str:
        return " ".join(" ".join(self.text).split())

    def elements(self, tag: str) -> list[dict[str, str | None]]:
        return [attrs for name, attrs in self.starts if name == tag]


def parse(html: str) -> Page:
    page = Page()
    page.feed(html)
    page.close()
    return page


@pytest.fixture(scope="module")
def html() -> str:
    return render_report_html(full_results())


@pytest.fixture(scope="module")
def page(html: str) -> Page:
    return parse(html)


# --- the document ----------------------------------------------------------------------------


def test_the_html_parses_with_every_element_closed(page: Page) -> None:
    assert page.errors == []
    assert page.stack == []
    assert page.elements("html")[0]["lang"] == "en"


def test_nothing_is_loaded_from_anywhere(html: str, page: Page) -> None:
    for tag, attrs in page.starts:
        for name in ("src", "href", "xlink:href", "action", "srcset", "poster", "data"):
            value = (attrs.get(name) or "").strip().lower()
            assert not value.startswith(("http:", "https:", "//", "ftp:")), f"<{tag} {name}={value}>"
    lowered = html.lower()
    for marker in (
        "<script",
        "<link",
        "<iframe",
        "<img",
        "<object",
        "@import",
        "url(http",
        "url(//",
        "javascript:",
    ):
        assert marker not in lowered
    assert "<style>" in html  # the CSS is inline


def test_every_section_and_chart_is_there(page: Page) -> None:
    sections = {attrs.get("id") for attrs in page.elements("section")}
    assert set(SECTIONS) <= sections
    assert [text for level, text in page.headings if level == 2] == list(SECTIONS.values())
    svgs = {attrs["id"]: attrs for attrs in page.elements("svg")}
    assert set(CHARTS) <= set(svgs)
    for chart in CHARTS:
        assert svgs[chart]["role"] == "img"
        assert len(svgs[chart]["aria-label"] or "") > 20
    assert len(page.elements("title")) >= 1 + len(CHARTS)  # the page's and one per chart


def test_headings_go_down_one_level_at_a_time(page: Page) -> None:
    levels = [level for level, _ in page.headings]
    assert levels[0] == 1 and levels.count(1) == 1
    assert all(later - earlier <= 1 for earlier, later in itertools.pairwise(levels))


def test_tables_have_captions_and_scoped_headers(html: str, page: Page) -> None:
    assert html.count("<table") == html.count("<caption>") >= 9
    headers = page.elements("th")
    assert headers and all(attrs.get("scope") in {"col", "row"} for attrs in headers)


def test_print_styles_break_sections_and_keep_charts_whole(html: str) -> None:
    assert "@page" in html
    assert re.search(r"section\.major\s*\{[^}]*break-before:\s*page", html)
    assert re.search(r"figure\s*\{[^}]*break-inside:\s*avoid", html)


def test_the_title_names_agency_experiment_and_time(page: Page) -> None:
    text = page.visible_text
    for expected in (
        "Sonora Vista Police Department",
        "victim-followup-2025",
        "2026-11-28T12:00:00+00:00",
        "Reports from 2025-03-03 to 2025-11-30",
    ):
        assert expected in text


def test_at_a_glance_has_health_response_and_the_primary_outcomes(page: Page) -> None:
    glance = page.visible_text.split("At a glance", 1)[1].split("The figures by the numbers", 1)[0]
    assert "Assignment looks healthy" in glance
    assert "1,700 of 12,000 invited notified victims (14.2%)" in glance
    for phrase in (
        "prefer text messages",
        "less likely to expect to call",
        "rated customer service",
        "trust the police",
    ):
        assert phrase in glance


def test_the_numbers_sections_show_counts_beside_rates(page: Page) -> None:
    text = page.visible_text
    assert "12,000" in text and "6,781 of 7,460 emails" in text  # KPI totals with their counts
    assert "41.2% 680 of 1,650" in text  # a binary outcome's rate and counts in the table
    assert "2.1 percentage points" in text  # power
    assert "9f2c1e7a4b6d8f0e3a5c7b9d1f2e4a6c8b0d2f4e6a8c0b2d4f6e8a0c2b4d6f8e" in text
    assert "25,000" in text and "scipy version" in text
    assert "12 survey responses arrived after the cut-off" in text


def test_the_openers_figure_sits_beside_a_visible_warning(page: Page) -> None:
    section = page.visible_text.split("Who opened the message", 1)[1].split("Who answered the survey", 1)[0]
    assert "Do not compare openers with the holdout directly" in section
    assert "not a randomized comparison" in section
    assert "+7.4 pp" in section and "+6.7 pp" in section and "+5.9 pp" in section


def test_nonresponse_and_rollout_are_explained(page: Page) -> None:
    text = page.visible_text
    assert "Lee bounds" in text and "+3.9 pp to +7.2 pp" in text
    assert "Observational, not randomized" in text
    assert "−3.1 (95% CI −5.0 to −1.2)" in text and "p = 0.25" in text


def test_every_method_has_a_paragraph_in_the_appendix(page: Page) -> None:
    appendix = page.visible_text.split("Appendix: methods", 1)[1]
    for method in (
        "Newcombe",
        "delta method",
        "GrowthBook",
        "log scale",
        "pooled share",
        "Boschloo",
        "Welch",
        "Brunner–Munzel",
        "Holm",
        "Benjamini–Hochberg",
        "complier average causal effect",
        "inverse-probability weighting",
        "Lee bounds",
        "difference-in-differences",
        "permutation test",
        "Minimum detectable effect",
    ):
        assert method.lower() in appendix.lower(), method


# --- sentences -------------------------------------------------------------------------------


def test_a_significant_increase_gives_the_relative_lift_with_its_interval_and_counts() -> None:
    sentence = effect_sentence(outcome(full_results(), "prefers_text"), 0.05)
    assert sentence == (
        "Notified victims were 16.7% (95% CI 9.1% to 24.6%) more likely to prefer text messages "
        "(41.2%, 680 of 1,650 notified victims, vs 35.3%, 551 of 1,560 in the holdout)."
    )


def test_a_significant_decrease_says_less_likely_with_the_interval_as_magnitudes() -> None:
    sentence = effect_sentence(outcome(full_results(), "likely_to_call"), 0.05)
    assert sentence.startswith(
        "Notified victims were 43.2% (95% CI 32.0% to 53.0%) less likely to expect to call"
    )
    assert "8.5%, 139 of 1,640 notified victims, vs 14.9%, 232 of 1,555 in the holdout" in sentence


def test_a_significant_rating_gives_points_interval_and_relative_difference() -> None:
    sentence = effect_sentence(outcome(full_results(), "service_rating"), 0.05)
    assert sentence.startswith(
        "Notified victims rated customer service 0.30 points higher on the 1–5 scale (95% CI 0.23 to 0.37), "
        "8.4% higher than the holdout"
    )
    assert "mean 3.87 from 1,650 notified victims vs 3.57 from 1,560 in the holdout" in sentence


def test_a_rating_that_fell_says_lower() -> None:
    rating = outcome(full_results(), "service_rating")
    rating.update(diff=-0.3, diff_ci=[-0.37, -0.23], rel_diff=-0.084)
    sentence = effect_sentence(rating, 0.05)
    assert "0.30 points lower on the 1–5 scale (95% CI 0.23 to 0.37), 8.4% lower than the holdout" in sentence


def test_a_null_result_says_no_detectable_difference_and_gives_the_mde() -> None:
    sentence = effect_sentence(outcome(full_results(), "prefers_email"), 0.05)
    assert sentence.startswith("No detectable difference in the share who prefer email")
    assert "(36.0%, 594 of 1,650 notified victims, vs 37.0%, 577 of 1,560 in the holdout)" in sentence
    assert sentence.endswith("the study could have detected a difference of 4.8 percentage points.")
    rating = effect_sentence(outcome(full_results(), "trust_rating"), 0.05)
    assert rating.startswith("No detectable difference") and "a difference of 0.10 points" in rating


def test_a_raw_p_below_alpha_that_fails_the_correction_is_not_a_finding() -> None:
    sentence = effect_sentence(outcome(full_results(), "prefers_phone"), 0.05)
    assert sentence.startswith("No detectable difference")
    assert "does not survive the correction" in sentence and "less likely" not in sentence


def test_the_corrected_p_value_decides_not_the_flag_and_alpha_is_honoured() -> None:
    flagged = outcome(full_results(), "prefers_email")
    flagged["significant"] = True  # a stale flag must not turn a null result into a claim
    assert effect_sentence(flagged, 0.05).startswith("No detectable difference")
    trust = outcome(full_results(), "trusts_police")  # p_adjusted 0.026
    assert "more likely" in effect_sentence(trust, 0.05)
    assert effect_sentence(trust, 0.01).startswith("No detectable difference")


def test_without_a_relative_lift_the_sentence_uses_percentage_points() -> None:
    text = outcome(full_results(), "prefers_text")
    text.update(rel_lift=None, rel_lift_ci=None)
    sentence = effect_sentence(text, 0.05)
    assert "5.9 percentage points (95% CI 2.5 to 9.2) more likely to prefer text messages" in sentence


def test_an_insufficient_outcome_says_so_with_its_reason() -> None:
    results = all_insufficient(full_results())
    sentence = effect_sentence(outcome(results, "prefers_text"), 0.05)
    assert sentence == (
        "Insufficient data on the share who prefer text messages: "
        "only 0 respondents in the holdout (at least 10 are needed)."
    )
    rating = effect_sentence(outcome(results, "service_rating"), 0.05)
    assert rating.startswith("Insufficient data on customer service: only 0 ratings")
    missing = outcome(full_results(), "prefers_email")
    missing["diff_pp"] = None  # no reason given, but nothing to report either
    assert effect_sentence(missing, 0.05) == (
        "Insufficient data on the share who prefer email: the estimate could not be computed."
    )


def test_an_unknown_outcome_is_still_described_in_words() -> None:
    extra = copy.deepcopy(outcome(full_results(), "prefers_text"))
    extra.update(name="feels_safe", label="Feels safe at home")
    assert "more likely to answer “Feels safe at home”" in effect_sentence(extra, 0.05)


# --- degenerate results ----------------------------------------------------------------------


def test_a_study_with_every_estimate_missing_renders_without_nan_none_or_null() -> None:
    page = parse(render_report_html(all_insufficient(full_results())))
    assert page.errors == []
    words = page.visible_text + " " + " ".join(str(v) for _, attrs in page.starts for v in attrs.values())
    assert LEFTOVERS.search(words) is None, LEFTOVERS.search(words)
    assert page.visible_text.count("Insufficient data") >= 15
    assert "The assignment check could not be run (fewer than 10 victims randomized)" in page.visible_text
    assert {attrs["id"] for attrs in page.elements("svg")} >= set(CHARTS)  # boxes, not crashes


def test_missing_sections_and_nan_values_never_reach_the_page() -> None:
    bare = parse(render_report_html({"schema": report.SCHEMA}))
    assert bare.errors == [] and LEFTOVERS.search(bare.visible_text) is None
    assert [text for level, text in bare.headings if level == 2] == list(SECTIONS.values())
    assert "Reports from" not in bare.visible_text  # no period line rather than one full of dashes
    poisoned = full_results()
    outcome(poisoned, "prefers_email").update(diff_pp=math.nan, p_value=math.inf)
    poisoned["kpis"]["monthly"][2]["email_open_rate"] = math.nan
    poisoned["srm"]["p_value"] = math.nan
    text = parse(render_report_html(poisoned)).visible_text
    assert LEFTOVERS.search(text) is None


def test_results_from_a_csv_say_why_kpis_and_rollout_are_missing() -> None:
    text = parse(render_report_html(from_csv(full_results()))).visible_text
    assert "Insufficient data: figures by the numbers come from the marts." in text
    assert "Insufficient data: the staged-rollout comparison comes from the marts." in text
    assert "Insufficient data: figures by notice kind come from the marts." in text
    assert 'id="kinds"' not in render_report_html(from_csv(full_results()))


def kinds_table(html: str) -> list[list[str]]:
    """The rows of the by-kind table as cell texts (header row first)."""
    table = html.split('<table id="kinds">', 1)[1].split("</table>", 1)[0]
    rows = re.findall(r"<tr>(.*?)</tr>", table, flags=re.S)
    return [
        [
            " ".join(parse(cell).visible_text.split())
            for cell in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, flags=re.S)
        ]
        for row in rows
    ]


def test_each_notice_kind_has_its_own_row_with_counts_beside_percentages(html: str, page: Page) -> None:
    assert ("3", "By kind of message") in {(str(level), text) for level, text in page.headings}
    header, *rows = kinds_table(html)
    assert header == [
        "Kind of message",
        "Messages sent",
        "People sent one",
        "Delivered",
        "Emails opened",
        "Unsubscribed",
    ]
    assert [row[0] for row in rows] == [
        "Victims' first notices",
        "Notices to reporting parties",
        "Case-status follow-ups",
        "Survey invitations",
        "Survey reminders",
    ]
    by_kind = {row[0]: row[1:] for row in rows}
    assert by_kind["Case-status follow-ups"] == [
        "2,150",
        "1,840",
        "97.7% 2,101 of 2,150 messages",
        "84.0% 1,109 of 1,320 emails",
        "0.11% 2 of 1,840 people",
    ]
    assert by_kind["Victims' first notices"][2] == "98.0% 11,799 of 12,040 messages"
    # Reminders went by text only: no open rate to show, and the table says why.
    assert by_kind["Survey reminders"][3] == "\u2014 no emails sent"


def test_results_from_before_notice_kinds_leave_the_kinds_table_out() -> None:
    results = full_results()
    del results["figures_by_kind"]
    html = render_report_html(results)
    assert 'id="kinds"' not in html and "By kind of message" not in html
    assert "6,781 of 7,460 emails" in parse(html).visible_text


def test_the_srm_alarm_box_appears_only_when_the_alarm_is_raised(html: str) -> None:
    assert "Assignment may be broken" not in html and 'id="srm-alarm"' not in html
    alarmed = render_report_html(with_srm_alarm(full_results()))
    assert alarmed.index('id="srm-alarm"') < alarmed.index("<h1")  # at the very top
    box = parse(alarmed).visible_text.split("Victim notification evaluation", 2)[1]
    assert "Assignment may be broken: do not rely on these results until it is explained." in box
    assert "12,500" in box and "11,000" in box and "p < 0.001" in box


def test_suppressed_subgroup_cells_say_suppressed_and_show_no_numbers() -> None:
    results = full_results()
    page = parse(render_report_html(results))
    subgroups = page.visible_text.split("Yes/no outcomes by subgroup", 1)[1].split("Power", 1)[0]
    other = subgroups.split("Language other", 1)[1]
    assert other.count("suppressed (fewer than 10)") == 3
    assert "WEST Prefers text messages 47.5% 190 of 400" in subgroups
    results["min_cell"] = 20
    assert "suppressed (fewer than 20)" in render_report_html(results)


def test_hostile_text_is_escaped_everywhere() -> None:
    results = full_results()
    results["agency"] = "<script>alert(1)</script>"
    outcome(results, "prefers_text")["label"] = '<img src=x onerror="alert(2)">'
    results["warnings"].append("</table><script>alert(3)</script>")
    results["rollout"]["early_division"] = "<b>WEST</b>"
    html = render_report_html(results)
    assert "<script" not in html.lower() and "<img" not in html.lower() and "<b>WEST" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    page = parse(html)
    assert page.errors == []
    assert "<script>alert(1)</script>" in page.visible_text  # shown as text, not run


def test_results_of_another_schema_are_refused() -> None:
    results = full_results()
    results["schema"] = "vnotify.evaluation/0"
    with pytest.raises(ReportError, match="schema"):
        render_report_html(results)
    with pytest.raises(ReportError):
        render_report_html([])  # type: ignore[arg-type]


# --- charts ----------------------------------------------------------------------------------


def svg_tree(svg: str) -> ET.Element:
    root = ET.fromstring(svg)  # well-formed XML, so it is well-formed inline SVG too
    assert root.tag == "svg" and root.get("role") == "img" and root.get("aria-label")
    assert root.find("title") is not None and root.find("desc") is not None
    return root


def svg_texts(svg: str) -> list[str]:
    return ["".join(node.itertext()) for node in svg_tree(svg).iter("text")]


@pytest.mark.parametrize(
    ("low", "high", "expected"),
    [
        (0, 0.913, [0.0, 0.2, 0.4, 0.6, 0.8, 1.0]),
        (-5.03, -1.2, [-6.0, -5.0, -4.0, -3.0, -2.0, -1.0]),
        (-8.6, 9.2, [-10.0, -5.0, 0.0, 5.0, 10.0]),
        (0, 1412, [0.0, 500.0, 1000.0, 1500.0]),
        (0.0001, 0.0004, [0.0001, 0.0002, 0.0003, 0.0004]),
    ],
)
def test_ticks_are_round_numbers(low: float, high: float, expected: list[float]) -> None:
    assert charts.nice_ticks(low, high) == pytest.approx(expected)


def test_tick_labels_use_just_enough_decimals() -> None:
    assert charts.format_tick(0.00025, 0.00005, percent=True) == "0.025%"
    assert charts.format_tick(0.9, 0.05, percent=True) == "90%"
    assert charts.format_tick(-2.5, 2.5) == "−2.5"
    assert charts.format_tick(-0.0, 1) == "0"
    assert charts.format_tick(1500, 500) == "1,500"


@given(
    st.floats(-1e6, 1e6, allow_nan=False),
    st.floats(0, 1e6, allow_nan=False),
)
def test_ticks_always_cover_the_range_evenly(low: float, width: float) -> None:
    ticks = charts.nice_ticks(low, low + width)
    steps = [b - a for a, b in itertools.pairwise(ticks)]
    slack = 1e-6 * steps[0]  # a value a millionth of a step outside the axis is drawn on it
    assert ticks[0] <= low + slack and ticks[-1] >= low + width - slack
    assert 2 <= len(ticks) <= 12
    assert all(step > 0 for step in steps)
    assert max(steps) - min(steps) <= 1e-6 * max(steps)


def test_every_chart_draws_a_labelled_box_when_there_is_nothing_to_draw() -> None:
    empty = [
        charts.forest_plot([], []),
        charts.forest_plot([ForestRow("A", None, None, None)], []),
        charts.kpi_chart([]),
        charts.kpi_chart([{"month": "2025-03", "victims_notified": None}]),
        charts.event_study_chart([], "calls", "WEST"),
        charts.event_study_chart([{"relative_month": 0, "estimate": 1.0, "ci": [0, 2]}], "calls", "WEST"),
        charts.funnel_chart(None),
        charts.funnel_chart({"a": {"randomized": 0}, "b": {}}),
    ]
    for svg in empty:
        assert "Insufficient data" in svg_texts(svg)


@pytest.mark.parametrize(
    "intervals",
    [
        [(-6.4, -8.6, -4.3), (-0.5, -1.9, -0.2)],  # all below zero
        [(0.8, -0.05, 1.71)],  # crossing zero
        [(1e-7, 0.5e-7, 2e-7), (0.0, 0.0, 0.0)],  # tiny and zero-width
        [(120.0, 100.0, 140.0)],  # far from zero
    ],
)
def test_the_forest_plot_copes_with_any_interval(intervals: list[tuple[float, float, float]]) -> None:
    rows = [
        ForestRow(f"outcome {i}", e, lo, hi, significant=i == 0) for i, (e, lo, hi) in enumerate(intervals)
    ]
    svg = charts.forest_plot(rows, [ForestRow("rating", 0.3, 0.23, 0.37)])
    texts = svg_texts(svg)
    assert any(re.fullmatch(r"0(\.0+)?", t) for t in texts)  # zero is always on the axis
    assert not any(LEFTOVERS.search(t) for t in texts)
    coordinates = re.findall(r'(?<![\w-])(?:x1|x2|cx|x|y1|y2|cy|y)="([^"]+)"', svg)
    assert all(math.isfinite(float(value)) for value in coordinates)


def test_the_forest_plot_marks_significance_by_shape_and_symbol_not_colour() -> None:
    svg = charts.forest_plot(
        [ForestRow("up", 5.9, 2.5, 9.2, significant=True), ForestRow("flat", -1.0, -4.3, 2.3)], []
    )
    root = svg_tree(svg)
    assert len(root.findall("polygon")) == 2  # the significant diamond and the legend's
    assert "+5.9 pp ✱" in svg_texts(svg) and "−1.0 pp" in svg_texts(svg)


def test_long_labels_wrap_instead_of_running_off_the_chart() -> None:
    label = "Likely to call the department for more information about the report they filed last spring"
    texts = svg_texts(charts.forest_plot([ForestRow(label, 1.0, 0.0, 2.0, primary=True)], []))
    wrapped = [t for t in texts if t.startswith(("Likely", "information", "about", "more"))]
    assert len(wrapped) == 2 and all(len(line) <= charts.FOREST_LABEL_CHARS for line in wrapped)


def test_monthly_kpis_break_the_line_at_a_missing_month_and_label_percentages() -> None:
    monthly = full_results()["kpis"]["monthly"]
    monthly[4]["email_open_rate"] = None
    svg = charts.kpi_chart(monthly)
    texts = svg_texts(svg)
    assert "Mar" in texts and "2025" in texts and any(t.endswith("%") for t in texts)
    open_rate_lines = [p for p in svg_tree(svg).iter("polyline")]
    assert len(open_rate_lines) == 5  # four panels, the open rate split in two at the gap


def test_the_event_study_marks_the_start_and_says_observational() -> None:
    rollout = full_results()["rollout"]
    svg = charts.event_study_chart(rollout["event_study"], rollout["outcome"], "WEST")
    texts = svg_texts(svg)
    assert "WEST starts notifying" in texts
    assert any("Observational" in t for t in texts)
    assert "observational" in (svg_tree(svg).get("aria-label") or "").lower()


def test_the_funnel_marks_groups_by_letter_and_pattern() -> None:
    svg = charts.funnel_chart(full_results()["funnel"])
    texts = svg_texts(svg)
    assert texts.count("A") == 4 and texts.count("B") == 4
    assert "not notified, nothing to open" in texts
    assert "1,700 (13.6% of randomized)" in texts
    assert 'fill="url(#funnel-hatch)"' in svg


# --- files and the PDF -----------------------------------------------------------------------


def fake_browser(tmp_path: Path, body: str) -> str:
    script = tmp_path / "fake-chromium"
    script.write_text(f"#!/bin/sh\n{body}\n")
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return str(script)


def test_without_a_browser_the_html_is_written_and_the_error_says_how_to_fix_it(
    tmp_path, monkeypatch
) -> None:
    monkeypatch.delenv("VNOTIFY_CHROMIUM", raising=False)
    monkeypatch.setattr(report.shutil, "which", lambda name: None)
    (tmp_path / "report.pdf").write_bytes(b"%PDF- an old one")
    with pytest.raises(ReportError, match=r"install chromium \(make browser-deps\)") as raised:
        write_report(full_results(), tmp_path)
    assert str(tmp_path / "report.html") in str(raised.value)
    assert (tmp_path / "report.html").read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert report.write_report(full_results(), tmp_path / "html-only", pdf=False).pdf is None


def test_a_browser_that_writes_no_pdf_is_an_error_and_leaves_no_stale_pdf(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("VNOTIFY_CHROMIUM", fake_browser(tmp_path, "echo broken >&2; exit 3"))
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "report.pdf").write_bytes(b"%PDF- from last month")
    with pytest.raises(ReportError, match=r"did not produce a PDF \(exit 3\): broken"):
        write_report(full_results(), tmp_path / "out")
    assert not (tmp_path / "out" / "report.pdf").exists()


def test_a_browser_that_hangs_is_stopped(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("VNOTIFY_CHROMIUM", fake_browser(tmp_path, "sleep 30"))
    monkeypatch.setattr(report, "PDF_TIMEOUT_SECONDS", 1)
    with pytest.raises(ReportError, match="did not finish within 1 seconds"):
        write_report(full_results(), tmp_path / "out")


def test_the_pdf_page_counter_ignores_the_page_tree() -> None:
    assert (
        report.pdf_page_count(b"<< /Type /Pages /Kids [] >> << /Type /Page >> << /Type/Page/Parent 1 >>") == 2
    )


@pytest.mark.browser
@skip_without_browser
def test_the_report_prints_to_a_multi_page_pdf(tmp_path: Path) -> None:
    files = write_report(full_results(), tmp_path)
    assert files.html == tmp_path / "report.html" and files.pdf == tmp_path / "report.pdf"
    pdf = files.pdf.read_bytes()
    assert pdf.startswith(b"%PDF-")
    assert report.pdf_page_count(pdf) >= 2


@pytest.mark.browser
@skip_without_browser
def test_a_report_with_nothing_to_show_still_prints(tmp_path: Path) -> None:
    files = write_report(all_insufficient(full_results()), tmp_path)
    assert files.pdf is not None and report.pdf_page_count(files.pdf.read_bytes()) >= 2


@pytest.mark.browser
@skip_without_browser
def test_the_docs_screenshot_script_renders_the_example(tmp_path: Path) -> None:
    out = tmp_path / "report-example.png"
    subprocess.run([sys.executable, str(SCREENSHOT_SCRIPT), "--out", str(out)], check=True, timeout=180)
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
PRINT_WIDTH = 725  # US Letter less the report's 12 mm side margins, in CSS pixels


@pytest.fixture(scope="module")
def browser_page():
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright not installed (the dev extra)")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=BROWSER, headless=True)
        page = browser.new_page(viewport={"width": 1200, "height": 900})
        yield page
        browser.close()


@pytest.mark.browser
@skip_without_browser
@pytest.mark.skipif(not AXE.exists(), reason="node_modules/axe-core missing (make browser-deps runs npm ci)")
@pytest.mark.parametrize("variant", ["full", "insufficient", "alarm"])
def test_axe_finds_nothing_serious_in_the_report(browser_page, tmp_path: Path, variant: str) -> None:
    """axe-core's WCAG 2.1 A/AA rules and best practices: no serious or critical violation."""
    results = {
        "full": full_results,
        "insufficient": lambda: all_insufficient(full_results()),
        "alarm": lambda: with_srm_alarm(full_results()),
    }[variant]()
    html = tmp_path / "report.html"
    html.write_text(render_report_html(results), encoding="utf-8")
    browser_page.goto(html.as_uri())
    browser_page.evaluate(AXE.read_text(encoding="utf-8"))
    found = browser_page.evaluate(
        """async () => await axe.run(document, {
             runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice']},
             resultTypes: ['violations'],
           })"""
    )
    serious = [
        (violation["id"], [node["target"] for node in violation["nodes"]][:3])
        for violation in found["violations"]
        if violation["impact"] in ("serious", "critical")
    ]
    assert serious == []
    assert found["testEngine"]["name"] == "axe-core"


@pytest.mark.browser
@skip_without_browser
def test_printed_the_report_fits_the_page_width(browser_page, tmp_path: Path) -> None:
    html = tmp_path / "report.html"
    html.write_text(render_report_html(full_results()), encoding="utf-8")
    browser_page.set_viewport_size({"width": PRINT_WIDTH, "height": 1000})
    browser_page.emulate_media(media="print")
    try:
        browser_page.goto(html.as_uri())
        assert browser_page.evaluate("document.documentElement.scrollWidth") <= PRINT_WIDTH
    finally:
        browser_page.emulate_media(media="screen")
        browser_page.set_viewport_size({"width": 1200, "height": 900})


def test_rollout_told_from_the_others_start_when_the_data_begin_after_the_early_one():
    results = full_results()
    results["rollout"]["event"] = "other divisions went live"
    page = render_report_html(results)
    assert "before these data" in page and "The other divisions starts" not in page
    assert "already notifying" in page
    results["rollout"]["event"] = "early division went live"
    assert "before these data" not in render_report_html(results)
