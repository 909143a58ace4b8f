"""A synthetic agency's RMS/CAD exports, deterministic from a seed.

`generate_agency` writes incidents.csv, offenses.csv, persons.csv and cad_calls.csv in the
export contract's format (docs/contracts/rms-export.md, `ingest.contract`) and returns what it
planted. Volume is calibrated so that at scale 1 about 1,346 victims a month are eligible
under the ground-truth rule in `simulate.eligibility` (the Tucson case study's figure); scale
multiplies the volume linearly.

Determinism: one `random.Random` and two Faker instances, all seeded from `seed` through
SHA-256 (never `hash()`), rows produced in a fixed order, nothing read from the clock. The same
arguments give byte-identical files.

What real exports carry and the files therefore plant (counted in `AgencySummary.defects`):
invalid phones, landline-only victims, malformed e-mails, empty officer names (the only
contract violation), re-exported reports (same report_number later in incidents.csv with a
newer updated_at and a new status or the officer's name filled in; offenses and persons are
not repeated), a victim sharing a phone with an offender written in another format, reports
flagged domestic violence, and victims without a phone who are the caller on the linked CAD
call.
"""

from __future__ import annotations

import calendar
import csv
import datetime as dt
import math
import random
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from ingest.contract import TABLES
from simulate.eligibility import eligible_victims, eligible_with_cad_phone
from simulate.offense_mix import Weights, pick_weighted
from simulate.people import build_pools, derived_seed, fictional_phone, format_phone, person_name
from simulate.reports import (
    Report,
    Row,
    World,
    build_world,
    caller_name,
    division_label,
    iso,
    make_report,
    random_moment,
)
from vnotify.config import AgencyConfig

# Reports a month at scale 1, calibrated so that about 1,346 victims a month are eligible
# (measured over nine months from 2025-03-01 and several seeds; see the module tests).
REPORTS_PER_MONTH = 2570
AVERAGE_MONTH_DAYS = 365.2425 / 12
SEASONAL_AMPLITUDE = 0.03  # a little more crime in summer
CALLS_WITHOUT_REPORT_PER_REPORT_CALL = 0.35  # alarms, traffic, noise: calls that produce no report

DEFECT_KINDS = (
    "invalid_phone",
    "landline_only_victim",
    "malformed_email",
    "missing_officer_name",
    "re_export",
    "shared_victim_offender_phone",
    "dv_flagged_report",
    "victim_phone_only_in_cad",
)
POPULATION_KINDS = (
    "juvenile_victims",
    "deceased_victims",
    "non_individual_victims",
    "business_victims",
    "spanish_speaking_victims",
    "sensitive_offense_report",
    "multi_offense_report",
    "multi_victim_report",
    "report_without_call",
    "cad_call_without_report",
)
CALL_ONLY_TYPES: Weights = (
    ("ALARM", 0.22),
    ("TRAFFIC HAZARD", 0.15),
    ("NOISE COMPLAINT", 0.15),
    ("SUSPICIOUS PERSON", 0.14),
    ("WELFARE CHECK", 0.12),
    ("DISTURBANCE", 0.1),
    ("911 HANG UP", 0.08),
    ("ASSIST OTHER AGENCY", 0.04),
)
CALL_ONLY_DISPOSITIONS: Weights = (
    ("ADVISED", 0.3),
    ("GONE ON ARRIVAL", 0.2),
    ("UNFOUNDED", 0.15),
    ("CANCELLED", 0.15),
    ("ASSISTED", 0.2),
)


@dataclass(frozen=True)
class AgencySummary:
    files: dict[str, int]  # data rows per file name
    months: int
    scale: float
    seed: int
    start: dt.date
    reports: int
    victims: int
    eligible_victims: int
    eligible_victims_per_month: list[int]
    eligible_victims_via_cad: int  # more victims a CAD caller-phone join would make eligible
    defects: dict[str, int]
    population: dict[str, int]

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "start": self.start.isoformat()}


def generate_agency(
    config: AgencyConfig,
    *,
    months: int,
    scale: float,
    seed: int,
    start: dt.date,
    out_dir: Path,
    progress: Callable[[int, int], None] | None = None,
) -> AgencySummary:
    """Write the four export files into `out_dir` and say what they contain."""
    if months < 1:
        raise ValueError("months must be at least 1")
    if not scale > 0:
        raise ValueError("scale must be positive")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    rng = random.Random(derived_seed(seed, "agency"))
    world = build_world(config, build_pools(seed), rng, scale)
    report_numbers = _Numbering(_report_prefix(config), 6, start, REPORTS_PER_MONTH * scale)
    call_numbers = _Numbering("C", 7, start, REPORTS_PER_MONTH * scale * 1.15)
    tally: Counter[str] = Counter()
    eligible_per_month: list[int] = []
    pending_reexports: list[tuple[dt.datetime, Row]] = []
    with _export_files(out_dir) as (write, rows_written):
        for index, (first_day, next_first_day) in enumerate(month_periods(start, months)):
            reports = _month_reports(rng, world, report_numbers, first_day, next_first_day, scale)
            calls = _month_calls(rng, world, call_numbers, reports, first_day, next_first_day)
            pending_reexports += [report.reexport for report in reports if report.reexport]
            due, pending_reexports = _split_due(pending_reexports, before=next_first_day)
            write("incidents", [report.incident for report in reports] + due)
            write("offenses", [row for report in reports for row in report.offenses])
            write("persons", [row for report in reports for row in report.persons])
            write("cad_calls", calls)
            eligible_per_month.append(_tally_month(reports, calls, config, tally))
            if progress:
                progress(index + 1, months)
        write("incidents", [row for _, row in pending_reexports])
        files = {f"{table}.csv": count for table, count in rows_written.items()}
    return AgencySummary(
        files=files,
        months=months,
        scale=scale,
        seed=seed,
        start=start,
        reports=tally["reports"],
        victims=tally["victims"],
        eligible_victims=sum(eligible_per_month),
        eligible_victims_per_month=eligible_per_month,
        eligible_victims_via_cad=tally["eligible_via_cad"],
        defects={kind: tally[kind] for kind in DEFECT_KINDS},
        population={kind: tally[kind] for kind in POPULATION_KINDS},
    )


def add_months(day: dt.date, months: int) -> dt.date:
    """The same day `months` later, clamped to the month's end (Jan 31 + 1 = Feb 28)."""
    years, month_index = divmod(day.month - 1 + months, 12)
    year, month = day.year + years, month_index + 1
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def month_periods(start: dt.date, months: int) -> list[tuple[dt.date, dt.date]]:
    """[first day, first day of the next period) for each simulated month, anchored on `start`."""
    return [(add_months(start, i), add_months(start, i + 1)) for i in range(months)]


def reports_in_period(first_day: dt.date, next_first_day: dt.date, scale: float) -> int:
    days = (next_first_day - first_day).days
    mid_month = first_day.month + days / AVERAGE_MONTH_DAYS / 2
    seasonal = 1 + SEASONAL_AMPLITUDE * math.cos(2 * math.pi * (mid_month - 7.5) / 12)
    return round(REPORTS_PER_MONTH * scale * days / AVERAGE_MONTH_DAYS * seasonal)


class _Numbering:
    """Yearly sequences like SV25-000123, starting where a real year would be on `start`."""

    def __init__(self, prefix: str, digits: int, start: dt.date, per_month: float):
        self.prefix, self.digits = prefix, digits
        already_this_year = (start.timetuple().tm_yday - 1) * per_month / AVERAGE_MONTH_DAYS
        self.next_by_year = {start.year: 1 + round(already_this_year)}

    def next(self, year: int) -> str:
        number = self.next_by_year.get(year, 1)
        self.next_by_year[year] = number + 1
        return f"{self.prefix}{year % 100:02d}-{number:0{self.digits}d}"


def _report_prefix(config: AgencyConfig) -> str:
    letters = "".join(ch for ch in config.agency.short_name.upper() if ch.isalnum())
    return letters[:2] or "RP"


def _month_reports(
    rng: random.Random,
    world: World,
    numbers: _Numbering,
    first_day: dt.date,
    next_first_day: dt.date,
    scale: float,
) -> list[Report]:
    days = (next_first_day - first_day).days
    count = reports_in_period(first_day, next_first_day, scale)
    moments = sorted(random_moment(rng, first_day, days) for _ in range(count))
    return [make_report(rng, world, numbers.next(moment.year), moment) for moment in moments]


def _month_calls(
    rng: random.Random,
    world: World,
    numbers: _Numbering,
    reports: list[Report],
    first_day: dt.date,
    next_first_day: dt.date,
) -> list[Row]:
    """The month's CAD calls, numbered in the order received."""
    timed = [(r.call_received_at, r.call) for r in reports if r.call is not None and r.call_received_at]
    days = (next_first_day - first_day).days
    for _ in range(round(len(timed) * CALLS_WITHOUT_REPORT_PER_REPORT_CALL)):
        received_at = random_moment(rng, first_day, days) + dt.timedelta(seconds=rng.randrange(60))
        timed.append((received_at, _call_without_report(rng, world)))
    timed.sort(key=lambda pair: pair[0])  # stable: ties keep generation order
    for received_at, call in timed:
        call["call_number"] = numbers.next(received_at.year)
        call["received_at"] = iso(received_at)
    return [call for _, call in timed]


def _call_without_report(rng: random.Random, world: World) -> Row:
    first, last = person_name(rng, world.pools.spanish if rng.random() < 0.3 else world.pools.english)
    division = pick_weighted(rng, world.division_weights)
    call_type = pick_weighted(rng, CALL_ONLY_TYPES)
    phone = format_phone(fictional_phone(rng, set()), "{a}-{e}-{n}") if rng.random() < 0.85 else ""
    return {
        "call_number": "",
        "report_number": "",
        "received_at": "",
        "call_type": call_type,
        "priority": str(rng.choice((2, 3, 3, 4, 4))),
        "division": division_label(rng, world.config, division, code_share=0.85),
        "caller_name": caller_name(rng, {"first_name": first, "last_name": last}) if phone else "",
        "caller_phone": phone,
        "disposition": pick_weighted(rng, CALL_ONLY_DISPOSITIONS),
    }


def _split_due(
    pending: list[tuple[dt.datetime, Row]], before: dt.date
) -> tuple[list[Row], list[tuple[dt.datetime, Row]]]:
    """Re-exports updated before `before`, oldest first, and those still to come."""
    ordered = sorted(pending, key=lambda pair: pair[0])  # stable: ties keep report order
    due = [row for at, row in ordered if at.date() < before]
    return due, [(at, row) for at, row in ordered if at.date() >= before]


def _tally_month(reports: list[Report], calls: list[Row], config: AgencyConfig, tally: Counter[str]) -> int:
    """Add the month's counts to `tally`; return its ground-truth eligible victims."""
    for report in reports:
        tally.update(report.tally)
    tally["cad_call_without_report"] += sum(not call["report_number"] for call in calls)
    tally["eligible_via_cad"] += sum(_eligible_via_cad(report, config) for report in reports)
    return sum(_eligible_count(report, config) for report in reports)


def _report_codes(report: Report) -> list[str]:
    return [offense["nibrs_code"] for offense in report.offenses]


def _eligible_count(report: Report, config: AgencyConfig) -> int:
    return len(eligible_victims(report.incident, _report_codes(report), report.persons, config))


def _eligible_via_cad(report: Report, config: AgencyConfig) -> bool:
    if report.call is None:
        return False
    caller = next((p for p in report.persons if p["person_seq"] == report.caller_seq), None)
    if caller is None or caller["role"] != "victim":
        return False
    return eligible_with_cad_phone(
        report.incident,
        _report_codes(report),
        report.persons,
        config,
        caller,
        report.call["caller_phone"],
    )


@contextmanager
def _export_files(
    out_dir: Path,
) -> Iterator[tuple[Callable[[str, Iterable[Row]], None], Counter[str]]]:
    """The four contract files, header written; yields write(table, rows) and rows written."""
    handles = {
        name: (out_dir / table.file_name).open("w", encoding="utf-8", newline="")
        for name, table in TABLES.items()
    }
    try:
        writers = {name: csv.writer(handle, lineterminator="\n") for name, handle in handles.items()}
        for name, writer in writers.items():
            writer.writerow(TABLES[name].column_names)
        rows_written: Counter[str] = Counter({name: 0 for name in TABLES})

        def write(table: str, rows: Iterable[Row]) -> None:
            columns = TABLES[table].column_names
            for row in rows:
                writers[table].writerow([row.get(column, "") for column in columns])
                rows_written[table] += 1

        yield write, rows_written
    finally:
        for handle in handles.values():
            handle.close()
