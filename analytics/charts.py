"""Inline SVG charts for the evaluation report, drawn from plain numbers (no plotting library).

Each chart is a function from data to one `<svg>` string that is well-formed XML, accessible
(`role="img"`, `aria-label`, `<title>`, `<desc>`) and readable in black and white: the two groups
differ by shape, fill pattern and a printed "A"/"B", never by colour alone. When there is too
little to draw, a chart is a labelled "Insufficient data" box instead of an error.
Every piece of text is escaped here, because the report inserts these strings as markup.
"""

from __future__ import annotations

import math
import textwrap
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from html import escape

COLOR_A = "#0b4f8a"  # notified group: dark blue, 8:1 on white
COLOR_B = "#a34700"  # holdout group: dark orange, 5:1 on white
INK = "#1a1a1a"
MUTED = "#4d4d4d"
GRID = "#d0d0d0"
FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, Arial, sans-serif"
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
MINUS = "\u2212"


# --- numbers --------------------------------------------------------------------------------


def is_number(value: object) -> bool:
    """A real, finite number (not a bool, not None, not NaN or infinity)."""
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def nice_step(span: float, max_ticks: int = 6) -> float:
    """A round step (1, 2, 2.5 or 5 times a power of ten) giving at most about `max_ticks` ticks."""
    raw = span / max(max_ticks - 1, 1)
    magnitude = 10 ** math.floor(math.log10(raw))
    for multiple in (1, 2, 2.5, 5, 10):
        if raw <= multiple * magnitude * (1 + 1e-9):
            return multiple * magnitude
    return 10 * magnitude


def step_decimals(step: float) -> int:
    """How many decimals print every multiple of `step` exactly (0.25 → 2, 5 → 0)."""
    first = max(0, -math.floor(math.log10(abs(step))))
    for decimals in range(first, first + 4):
        if abs(round(step, decimals) - step) <= abs(step) * 1e-9:
            return decimals
    return first + 4


def nice_ticks(low: float, high: float, max_ticks: int = 6) -> list[float]:
    """Round tick values covering [low, high]; a zero-width range is widened around its value."""
    if not (is_number(low) and is_number(high)):
        raise ValueError("tick range must be finite numbers")
    low, high = min(low, high), max(low, high)
    if high - low <= max(abs(low), abs(high)) * 1e-9 or high - low < 1e-12:
        # A single value (or a tiny interval): widen so the axis still reads sensibly.
        pad = abs(low) * 0.1 if abs(low) >= 1e-12 else 1.0  # around zero, a unit either side
        low, high = low - pad, high + pad
    step = nice_step(high - low, max_ticks)
    decimals = step_decimals(step) + 1
    first = math.floor(low / step + 1e-9)
    last = math.ceil(high / step - 1e-9)
    return [round(i * step, decimals) + 0.0 for i in range(first, last + 1)]  # + 0.0 turns −0.0 into 0.0


def format_tick(value: float, step: float, percent: bool = False) -> str:
    """A tick label with just enough decimals for the step; proportions shown as percentages."""
    decimals = step_decimals(step)
    if percent:
        value, decimals = value * 100, max(decimals - 2, 0)
    text = f"{abs(value):,.{decimals}f}"
    sign = MINUS if value < 0 and float(text.replace(",", "")) != 0 else ""
    return f"{sign}{text}{'%' if percent else ''}"


def format_signed(value: float, decimals: int) -> str:
    """+1.2 / −1.2 / 0.0, with a real minus sign."""
    text = f"{abs(value):,.{decimals}f}"
    if float(text.replace(",", "")) == 0:
        return text
    return f"{MINUS if value < 0 else '+'}{text}"


@dataclass(frozen=True)
class LinearScale:
    """Maps a data interval onto a pixel interval."""

    domain_low: float
    domain_high: float
    range_low: float
    range_high: float

    def __call__(self, value: float) -> float:
        span = self.domain_high - self.domain_low
        fraction = (value - self.domain_low) / span if span else 0.5
        return self.range_low + fraction * (self.range_high - self.range_low)


def padded_ticks(values: Iterable[float], include_zero: bool = False, max_ticks: int = 6) -> list[float]:
    """Nice ticks spanning the finite values (and zero when asked)."""
    finite = [v for v in values if is_number(v)]
    if include_zero:
        finite.append(0.0)
    if not finite:
        return [-1.0, 0.0, 1.0]
    return nice_ticks(min(finite), max(finite), max_ticks)


# --- SVG pieces -------------------------------------------------------------------------------


def _n(value: float) -> str:
    return f"{value:.1f}"


def svg_text(
    x: float,
    y: float,
    content: str,
    anchor: str = "start",
    size: float = 12,
    weight: str = "normal",
    fill: str = INK,
    italic: bool = False,
) -> str:
    style = ' font-style="italic"' if italic else ""
    return (
        f'<text x="{_n(x)}" y="{_n(y)}" text-anchor="{anchor}" font-size="{size:g}" '
        f'font-weight="{weight}" fill="{fill}"{style}>{escape(content)}</text>'
    )


def svg_line(
    x1: float, y1: float, x2: float, y2: float, stroke: str = INK, width: float = 1, dash: str = ""
) -> str:
    dashes = f' stroke-dasharray="{dash}"' if dash else ""
    return (
        f'<line x1="{_n(x1)}" y1="{_n(y1)}" x2="{_n(x2)}" y2="{_n(y2)}" stroke="{stroke}" '
        f'stroke-width="{width:g}"{dashes}/>'
    )


def svg_marker(shape: str, x: float, y: float, size: float, color: str, filled: bool) -> str:
    """A circle, square or diamond; open (white fill) or filled."""
    fill = color if filled else "#ffffff"
    paint = f'fill="{fill}" stroke="{color}" stroke-width="1.6"'
    half = size / 2
    if shape == "square":
        return f'<rect x="{_n(x - half)}" y="{_n(y - half)}" width="{_n(size)}" height="{_n(size)}" {paint}/>'
    if shape == "diamond":
        r = half * 1.3
        points = f"{_n(x)},{_n(y - r)} {_n(x + r)},{_n(y)} {_n(x)},{_n(y + r)} {_n(x - r)},{_n(y)}"
        return f'<polygon points="{points}" {paint}/>'
    return f'<circle cx="{_n(x)}" cy="{_n(y)}" r="{_n(half)}" {paint}/>'


def svg_document(chart_id: str, title: str, description: str, width: float, height: float, body: str) -> str:
    """The outer `<svg>`: scales to its container, named for screen readers."""
    label = escape(f"{title}. {description}")
    return (
        f'<svg id="{escape(chart_id)}" class="chart" viewBox="0 0 {width:g} {height:g}" width="100%" '
        f'style="max-width:{width:g}px" role="img" aria-label="{label}" '
        f'font-family="{escape(FONT)}" font-size="12">'
        f"<title>{escape(title)}</title><desc>{escape(description)}</desc>{body}</svg>"
    )


def insufficient_chart(
    chart_id: str, title: str, reason: str, width: float = 720, height: float = 110
) -> str:
    """A labelled box standing in for a chart that has too little data to draw (`title` is its short name)."""
    body = (
        f'<rect x="1" y="1" width="{width - 2:g}" height="{height - 2:g}" fill="#f4f4f4" '
        f'stroke="{MUTED}" stroke-dasharray="6 4"/>'
        + svg_text(width / 2, height / 2 - 14, title, "middle", 12, fill=MUTED)
        + svg_text(width / 2, height / 2 + 6, "Insufficient data", "middle", 15, "bold")
        + svg_text(
            width / 2, height / 2 + 26, textwrap.shorten(reason, 110, placeholder="\u2026"), "middle", 12
        )
    )
    return svg_document(chart_id, f"{title}: insufficient data", reason, width, height, body)


def horizontal_axis(
    scale: LinearScale, ticks: Sequence[float], y: float, top: float, label: str, decimals_step: float
) -> str:
    """Ticks, labels and light gridlines for an x axis at height `y`, gridlines up to `top`."""
    parts = [svg_line(scale.range_low, y, scale.range_high, y, MUTED)]
    for tick in ticks:
        x = scale(tick)
        parts.append(svg_line(x, top, x, y, GRID, 0.8))
        parts.append(svg_line(x, y, x, y + 4, MUTED))
        parts.append(svg_text(x, y + 16, format_tick(tick, decimals_step), "middle", 11, fill=MUTED))
    parts.append(svg_text((scale.range_low + scale.range_high) / 2, y + 32, label, "middle", 11, fill=MUTED))
    return "".join(parts)


def vertical_axis(
    scale: LinearScale, ticks: Sequence[float], x: float, right: float, step: float, percent: bool
) -> str:
    """Tick labels and light gridlines for a y axis at `x`, gridlines across to `right`."""
    parts = []
    for tick in ticks:
        y = scale(tick)
        parts.append(svg_line(x, y, right, y, GRID, 0.8))
        parts.append(svg_text(x - 6, y + 4, format_tick(tick, step, percent), "end", 11, fill=MUTED))
    return "".join(parts)


# --- forest plot ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ForestRow:
    """One outcome in the forest plot: an estimate with its 95% interval, or a reason it has none."""

    label: str
    estimate: float | None
    low: float | None
    high: float | None
    significant: bool = False
    primary: bool = False

    @property
    def drawable(self) -> bool:
        return is_number(self.estimate)


FOREST_WIDTH = 880
FOREST_LABEL_RIGHT = 372
FOREST_LABEL_CHARS = 44  # a line that fits left of the plot at 12px bold; longer labels wrap onto two lines
FOREST_PLOT = (390, 740)
ROW_HEIGHT = 30


def forest_panel(
    rows: Sequence[ForestRow], title: str, axis_label: str, unit: str, decimals: int, top: float
):
    """One panel (rows, zero line, axis) starting at `top`; returns (svg, height)."""
    bounds = [v for row in rows if row.drawable for v in (row.estimate, row.low, row.high)]
    ticks = padded_ticks(bounds, include_zero=True)
    scale = LinearScale(ticks[0], ticks[-1], *FOREST_PLOT)
    step = ticks[1] - ticks[0] if len(ticks) > 1 else 1.0
    parts = [svg_text(8, top + 14, title, size=13, weight="bold")]
    rows_top = top + 26
    axis_y = rows_top + len(rows) * ROW_HEIGHT + 4
    parts.append(horizontal_axis(scale, ticks, axis_y, rows_top - 4, axis_label, step))
    parts.append(svg_line(scale(0), rows_top - 6, scale(0), axis_y, INK, 1.2, "4 3"))
    for index, row in enumerate(rows):
        y = rows_top + index * ROW_HEIGHT + ROW_HEIGHT / 2
        lines = wrap_label(f"{row.label} (primary)" if row.primary else row.label, FOREST_LABEL_CHARS)
        first_y = y + 4 - 7 * (len(lines) - 1)
        for number, line in enumerate(lines):
            weight = "bold" if row.primary else "normal"
            parts.append(svg_text(FOREST_LABEL_RIGHT, first_y + 14 * number, line, "end", 12, weight))
        if not row.drawable:
            parts.append(
                svg_text(FOREST_PLOT[0] + 8, y + 4, "insufficient data", size=11, fill=MUTED, italic=True)
            )
            continue
        if is_number(row.low) and is_number(row.high):
            parts.append(svg_line(scale(row.low), y, scale(row.high), y, INK, 2))
            parts.append(svg_line(scale(row.low), y - 5, scale(row.low), y + 5, INK, 1.5))
            parts.append(svg_line(scale(row.high), y - 5, scale(row.high), y + 5, INK, 1.5))
        shape = "diamond" if row.significant else "circle"
        parts.append(svg_marker(shape, scale(row.estimate), y, 9, INK, row.significant))
        value = format_signed(row.estimate, decimals) + unit + (" \u2731" if row.significant else "")
        parts.append(
            svg_text(
                FOREST_PLOT[1] + 12, y + 4, value, size=12, weight="bold" if row.significant else "normal"
            )
        )
    return "".join(parts), axis_y + 40 - top


def wrap_label(text: str, width: int) -> list[str]:
    """At most two lines of at most `width` characters, broken between words; the rest is elided."""
    lines = textwrap.wrap(text, width) or [""]
    if len(lines) > 2:
        lines = [lines[0], textwrap.shorten(" ".join(lines[1:]), width, placeholder="\u2026")]
    return lines


def forest_legend(y: float) -> str:
    return "".join(
        [
            svg_marker("diamond", 16, y, 9, INK, True),
            svg_text(28, y + 4, "\u2731 significant after correcting for multiple outcomes", size=11),
            svg_marker("circle", 356, y, 9, INK, False),
            svg_text(368, y + 4, "not significant", size=11),
            svg_line(480, y, 510, y, INK, 2),
            svg_text(516, y + 4, "95% confidence interval", size=11),
        ]
    )


def forest_plot(
    binary_rows: Sequence[ForestRow], rating_rows: Sequence[ForestRow], chart_id: str = "forest"
) -> str:
    """Notified minus holdout: yes/no outcomes in percentage points, then ratings in scale points."""
    title = "Difference between notified victims (A) and the holdout (B), with 95% confidence intervals"
    if not any(row.drawable for row in (*binary_rows, *rating_rows)):
        return insufficient_chart(chart_id, "Differences between the groups", "no outcome could be estimated")
    parts = [forest_legend(14)]
    top = 30.0
    panels = (
        (binary_rows, "Yes/no answers", "Difference in percentage points (A \u2212 B)", " pp", 1),
        (
            rating_rows,
            "Ratings on the 1\u20135 scale",
            "Difference in mean rating points (A \u2212 B)",
            "",
            2,
        ),
    )
    for rows, panel_title, axis_label, unit, decimals in panels:
        if not rows:
            continue
        svg, height = forest_panel(rows, panel_title, axis_label, unit, decimals, top)
        parts.append(svg)
        top += height + 8
    drawn = [row for row in (*binary_rows, *rating_rows) if row.drawable]
    description = "; ".join(
        f"{row.label}: {format_signed(row.estimate, 2)}"
        + (
            f" (95% CI {format_signed(row.low, 2)} to {format_signed(row.high, 2)})"
            if is_number(row.low) and is_number(row.high)
            else ""
        )
        + (", significant" if row.significant else "")
        for row in drawn
    )
    return svg_document(chart_id, title, description, FOREST_WIDTH, top, "".join(parts))


# --- monthly KPIs -----------------------------------------------------------------------------


@dataclass(frozen=True)
class KpiSeries:
    key: str
    title: str
    percent: bool
    include_zero: bool


KPI_SERIES = (
    KpiSeries("victims_notified", "Victims notified per month", False, True),
    KpiSeries("email_open_rate", "Email open rate", True, False),
    KpiSeries("delivery_rate", "Delivery rate", True, False),
    KpiSeries("unsubscribe_rate", "Unsubscribe rate", True, True),
)
KPI_PANEL = (360, 210)


def month_label(month: str) -> tuple[str, str]:
    """'2025-03' → ('Mar', '2025'); anything unparseable is shown as given."""
    try:
        parsed = date.fromisoformat(f"{month}-01")
    except (TypeError, ValueError):
        return (str(month), "")
    return (MONTHS[parsed.month - 1], str(parsed.year))


def kpi_panel(
    series: KpiSeries, months: Sequence[str], values: Sequence[float | None], left: float, top: float
):
    """One small line chart of one monthly figure."""
    width, height = KPI_PANEL
    plot_left, plot_right = left + 58, left + width - 14
    plot_top, plot_bottom = top + 30, top + height - 42
    parts = [svg_text(left + 8, top + 16, series.title, size=13, weight="bold")]
    finite = [v for v in values if is_number(v)]
    if not finite:
        parts.append(
            svg_text(
                left + width / 2, top + height / 2, "insufficient data", "middle", 12, fill=MUTED, italic=True
            )
        )
        return "".join(parts)
    ticks = padded_ticks(finite, include_zero=series.include_zero, max_ticks=5)
    y_scale = LinearScale(ticks[0], ticks[-1], plot_bottom, plot_top)
    count = len(months)
    x_scale = LinearScale(0, max(count - 1, 1), plot_left + 10, plot_right - 10)
    step = ticks[1] - ticks[0] if len(ticks) > 1 else 1.0
    parts.append(vertical_axis(y_scale, ticks, plot_left, plot_right, step, series.percent))
    parts.append(svg_line(plot_left, plot_bottom, plot_right, plot_bottom, MUTED))
    every = max(1, math.ceil(count / 9))
    previous_year = ""
    for index, month in enumerate(months):
        name, year = month_label(month)
        x = x_scale(index) if count > 1 else (plot_left + plot_right) / 2
        if index % every == 0:
            parts.append(svg_text(x, plot_bottom + 14, name, "middle", 10, fill=MUTED))
            if year != previous_year:
                parts.append(svg_text(x, plot_bottom + 27, year, "middle", 10, fill=MUTED))
                previous_year = year
    # Lines break where a month has no value rather than joining across the gap.
    segment: list[str] = []
    segments: list[list[str]] = []
    for index, value in enumerate(values):
        if is_number(value):
            x = x_scale(index) if count > 1 else (plot_left + plot_right) / 2
            segment.append(f"{_n(x)},{_n(y_scale(value))}")
        elif segment:
            segments.append(segment)
            segment = []
    if segment:
        segments.append(segment)
    for points in segments:
        if len(points) > 1:
            parts.append(
                f'<polyline points="{" ".join(points)}" fill="none" stroke="{COLOR_A}" stroke-width="2"/>'
            )
        for point in points:
            x, y = (float(v) for v in point.split(","))
            parts.append(svg_marker("circle", x, y, 6, COLOR_A, True))
    return "".join(parts)


def kpi_chart(monthly: Sequence[Mapping[str, object]], chart_id: str = "kpis") -> str:
    """Four small line charts: victims notified, email open rate, delivery rate, unsubscribe rate."""
    title = "Monthly figures: victims notified, email open rate, delivery rate and unsubscribe rate"
    months = [str(row.get("month", "")) for row in monthly]
    if not monthly:
        return insufficient_chart(chart_id, "Monthly figures", "no monthly figures were available")
    if not any(is_number(row.get(series.key)) for row in monthly for series in KPI_SERIES):
        return insufficient_chart(chart_id, "Monthly figures", "no monthly figure could be computed")
    width, height = KPI_PANEL
    parts = []
    for index, series in enumerate(KPI_SERIES):
        left, top = (index % 2) * width, (index // 2) * height
        values = [row.get(series.key) if is_number(row.get(series.key)) else None for row in monthly]
        parts.append(kpi_panel(series, months, values, left, top))
    first, last = months[0], months[-1]
    description = f"{len(months)} months from {first} to {last}; the same figures are in the table below."
    return svg_document(chart_id, title, description, 2 * width, 2 * height, "".join(parts))


# --- staged-rollout event study ---------------------------------------------------------------


def event_study_chart(
    points: Sequence[Mapping[str, object]],
    outcome: str,
    early_division: str,
    chart_id: str = "event-study",
    start_label: str | None = None,
) -> str:
    """Estimate and 95% interval per month relative to the early division's start; observational."""
    title = "Staged rollout, observational (not randomized): difference by month relative to the start"
    usable = [p for p in points if is_number(p.get("relative_month")) and is_number(p.get("estimate"))]
    if len(usable) < 2:
        return insufficient_chart(
            chart_id, "Staged rollout, observational", "fewer than two months could be estimated"
        )
    width, height = 720, 320
    plot_left, plot_right, plot_top, plot_bottom = 70, width - 20, 44, height - 60
    months = [float(p["relative_month"]) for p in usable]
    bounds = [float(p["estimate"]) for p in usable]
    for p in usable:
        interval = p.get("ci")
        if isinstance(interval, list | tuple) and len(interval) == 2:
            bounds.extend(v for v in interval if is_number(v))
    y_ticks = padded_ticks(bounds, include_zero=True)
    y_step = y_ticks[1] - y_ticks[0] if len(y_ticks) > 1 else 1.0
    y_scale = LinearScale(y_ticks[0], y_ticks[-1], plot_bottom, plot_top)
    low_month, high_month = min(min(months), -1), max(max(months), 0)
    x_scale = LinearScale(low_month - 0.6, high_month + 0.6, plot_left, plot_right)
    parts = [
        svg_text(
            8,
            16,
            "Observational: divisions were not randomized, so this is weaker evidence",
            size=13,
            weight="bold",
        ),
        vertical_axis(y_scale, y_ticks, plot_left, plot_right, y_step, False),
        svg_line(plot_left, y_scale(0), plot_right, y_scale(0), INK, 1.2, "4 3"),
        svg_line(plot_left, plot_bottom, plot_right, plot_bottom, MUTED),
    ]
    month_step = max(1, math.ceil((high_month - low_month + 1) / 16))
    for month in range(math.floor(low_month), math.ceil(high_month) + 1):
        if month % month_step == 0:
            parts.append(
                svg_text(
                    x_scale(month),
                    plot_bottom + 16,
                    format_signed(month, 0) if month else "0",
                    "middle",
                    11,
                    fill=MUTED,
                )
            )
    parts.append(
        svg_text(
            (plot_left + plot_right) / 2,
            plot_bottom + 34,
            "Months relative to the start (0 = first month live)",
            "middle",
            11,
            fill=MUTED,
        )
    )
    start_x = x_scale(-0.5)
    parts.append(svg_line(start_x, plot_top - 8, start_x, plot_bottom, INK, 1.5, "2 2"))
    parts.append(
        svg_text(
            start_x + 4,
            plot_top - 10,
            start_label or f"{early_division} starts notifying".strip(),
            size=11,
            weight="bold",
        )
    )
    for p in usable:
        x, estimate = x_scale(float(p["relative_month"])), float(p["estimate"])
        interval = p.get("ci")
        if isinstance(interval, list | tuple) and len(interval) == 2 and all(is_number(v) for v in interval):
            parts.append(svg_line(x, y_scale(interval[0]), x, y_scale(interval[1]), INK, 1.8))
        after = float(p["relative_month"]) >= 0
        parts.append(svg_marker("square" if after else "circle", x, y_scale(estimate), 8, INK, after))
    parts.append(
        svg_text(
            8,
            height - 8,
            f"Outcome: {outcome}. Open circles: before the start; filled squares: after.",
            size=11,
            fill=MUTED,
        )
    )
    description = "; ".join(
        f"month {format_signed(float(p['relative_month']), 0)}: {format_signed(float(p['estimate']), 2)}"
        for p in usable
    )
    return svg_document(chart_id, title, f"{outcome}. {description}", width, height, "".join(parts))


# --- response funnel --------------------------------------------------------------------------


FUNNEL_STAGES = (
    ("randomized", "Randomized"),
    ("opened", "Opened the notification"),
    ("invited", "Invited to the survey"),
    ("responded", "Answered the survey"),
)


def _count(arm: Mapping[str, object], key: str) -> int | None:
    value = arm.get(key)
    return int(value) if is_number(value) and value >= 0 else None


def funnel_bar(
    arm: str, count: int | None, base: int | None, scale: LinearScale, y: float, hatch_id: str
) -> str:
    """One arm's bar for one stage, labelled with its letter, count and share of those randomized."""
    parts = [
        svg_text(scale.range_low - 8, y + 12, arm, "end", 12, "bold", COLOR_A if arm == "A" else COLOR_B)
    ]
    if count is None:
        parts.append(svg_text(scale.range_low + 4, y + 12, "not available", size=11, fill=MUTED, italic=True))
        return "".join(parts)
    width = max(scale(count) - scale.range_low, 0)
    if arm == "A":
        parts.append(
            f'<rect x="{_n(scale.range_low)}" y="{_n(y)}" width="{_n(width)}" height="16" fill="{COLOR_A}"/>'
        )
    else:
        parts.append(
            f'<rect x="{_n(scale.range_low)}" y="{_n(y)}" width="{_n(width)}" height="16" '
            f'fill="url(#{hatch_id})" stroke="{COLOR_B}" stroke-width="1.2"/>'
        )
    share = f" ({count / base:.1%} of randomized)" if base else ""
    parts.append(svg_text(scale.range_low + width + 6, y + 12, f"{count:,}{share}", size=11))
    return "".join(parts)


def funnel_chart(funnel: Mapping[str, Mapping[str, object]] | None, chart_id: str = "funnel") -> str:
    """Randomized → opened (A only) → invited → answered, one bar per group at each stage."""
    title = "Response funnel for notified victims (A) and the holdout (B)"
    funnel = funnel or {}
    arms = {arm: funnel.get(arm) or {} for arm in ("a", "b")}
    bases = {arm: _count(arms[arm], "randomized") for arm in arms}
    if not any(bases.values()):
        return insufficient_chart(chart_id, "Response funnel", "no victims were randomized")
    width = 720
    hatch_id = f"{chart_id}-hatch"
    largest = max(
        (c for arm in arms.values() for key, _ in FUNNEL_STAGES if (c := _count(arm, key)) is not None),
        default=1,
    )
    scale = LinearScale(0, max(largest, 1), 200, 520)
    parts = [
        f'<defs><pattern id="{hatch_id}" width="6" height="6" patternUnits="userSpaceOnUse" '
        f'patternTransform="rotate(45)"><rect width="6" height="6" fill="#ffffff"/>'
        f'<line x1="0" y1="0" x2="0" y2="6" stroke="{COLOR_B}" stroke-width="3"/></pattern></defs>',
        svg_marker("square", 14, 14, 10, COLOR_A, True),
        svg_text(26, 18, "A: notified (solid)", size=11),
        f'<rect x="170" y="9" width="10" height="10" fill="url(#{hatch_id})" stroke="{COLOR_B}"/>',
        svg_text(186, 18, "B: holdout, not notified (hatched)", size=11),
    ]
    y = 36.0
    summary = []
    for key, stage in FUNNEL_STAGES:
        parts.append(svg_text(8, y + 22, stage, size=12, weight="bold"))
        for arm_key, arm in (("a", "A"), ("b", "B")):
            if key == "opened" and arm == "B":
                parts.append(svg_text(192, y + 12 + 20, "B", "end", 12, "bold", COLOR_B))
                parts.append(
                    svg_text(204, y + 32, "not notified, nothing to open", size=11, fill=MUTED, italic=True)
                )
                continue
            count = _count(arms[arm_key], key)
            parts.append(
                funnel_bar(arm, count, bases[arm_key], scale, y + (0 if arm == "A" else 20), hatch_id)
            )
            summary.append(
                f"{arm} {stage.lower()}: {count:,}"
                if count is not None
                else f"{arm} {stage.lower()}: not available"
            )
        y += 52
    return svg_document(chart_id, title, "; ".join(summary), width, y + 4, "".join(parts))
