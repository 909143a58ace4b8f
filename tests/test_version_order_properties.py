"""The newest version of a report wins, whatever order its exports arrive in.

Each example generates a few reports, each exported in one to four versions (newer
`updated_at` each time). A version is a delivery of contract CSV files written together: the
incident with its offenses and people, or the incident alone (a re-export that keeps the people
and offenses of the version before). A version may add a sensitive offense, flag domestic
violence, add an offender with the victim's phone, change the victim's phone or drop the victim;
a report's last version may be a NIBRS delete; some deliveries arrive twice.

The same deliveries are loaded in several arrival orders, each into its own copy of the reports
(report numbers prefixed per order, every copy in one warehouse so one build decides them all),
and every order must give the same staging, the same decisions and the same
`restricted.notifications_due` as arrival in `updated_at` order. Independently of the warehouse,
the due list must be exactly the victims the newest version allows: a version that adds a
sensitive offense, a domestic-violence flag, an offender sharing the phone or drops the victim
blocks in every order.

Great Expectations is not what varies here (tests/test_expectations.py holds it): batches land
unchecked and are marked checked in one statement, which keeps an example to a few seconds.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
import pytest
from hypothesis import HealthCheck, Phase, given, note, settings
from hypothesis import strategies as st
from psycopg.rows import dict_row

from ingest.contract import TABLES
from ingest.records import Record, StaticSource
from ingest.run import ingest_path, load_deliveries
from tests.issue9_support import own_database
from vnotify.config import load_config
from warehouse import keys
from warehouse.transform import transform

AS_OF = "2025-03-20T12:00:00+00:00"
REPORTED_AT = "2025-03-18T10:00:00"
HAZARDS = ("sensitive", "dv", "shared", "phone", "removed")
# Everyone is in the notified arm, so the due list shows every decision the versions allow.
CONFIG = load_config().model_copy(
    update={"experiment": load_config().experiment.model_copy(update={"holdout_share": 1e-9})}
)


@dataclass(frozen=True)
class Version:
    number: int  # 1, 2, … in updated_at order
    hazard: str | None
    with_children: bool  # offenses and people delivered with the incident
    delete: bool = False

    @property
    def updated_at(self) -> str:
        return f"2025-03-18T{10 + self.number:02d}:00:00"


@dataclass(frozen=True)
class Delivery:
    report: str
    version: Version
    copy: int = 0  # 1 for a second delivery of the same version


@dataclass
class Agency:
    reports: dict[str, list[Version]] = field(default_factory=dict)
    deliveries: list[Delivery] = field(default_factory=list)


@st.composite
def agencies(draw) -> Agency:
    agency = Agency()
    for index in range(draw(st.integers(1, 3))):
        report = f"R{index}"
        versions = []
        for number in range(1, draw(st.integers(1, 4)) + 1):
            with_children = number == 1 or draw(st.booleans())
            hazards = HAZARDS if with_children else ("dv",)
            hazard = draw(st.one_of(st.none(), st.sampled_from(hazards)))
            versions.append(Version(number, hazard, with_children))
        if len(versions) > 1 and draw(st.integers(0, 4)) == 0:
            versions[-1] = Version(versions[-1].number, None, False, delete=True)
        agency.reports[report] = versions
        for version in versions:
            agency.deliveries.append(Delivery(report, version))
            if draw(st.integers(0, 5)) == 0:
                agency.deliveries.append(Delivery(report, version, copy=1))
    return agency


# --------------------------------------------------------------------------------------------
# What each version says, as contract rows


PHONES = {"victim": "520-555-0141", "changed": "520-555-0142", "offender": "520-555-0199"}


def _rows(number: str, version: Version) -> dict[str, list[dict[str, str]]]:
    incident = {
        "report_number": number,
        "reported_at": REPORTED_AT,
        "division": "WEST",
        "officer_name": "Officer R. Diaz",
        "case_status": "open" if version.number % 2 else "suspended",
        "domestic_violence": "Y" if version.hazard == "dv" else "N",
        "updated_at": version.updated_at,
    }
    rows: dict[str, list[dict[str, str]]] = {"incidents": [incident]}
    if not version.with_children:
        return rows
    rows["offenses"] = [{"report_number": number, "offense_seq": "1", "nibrs_code": "23H"}]
    if version.hazard == "sensitive":
        rows["offenses"].append({"report_number": number, "offense_seq": "2", "nibrs_code": "11A"})
    victim = {
        "report_number": number,
        "person_seq": "1",
        "role": "victim",
        "victim_type": "individual",
        "first_name": "Ana",
        "last_name": "Reyes",
        "age": "40",
        "phone": PHONES["changed" if version.hazard == "phone" else "victim"],
        "phone_type": "mobile",
        "contact_consent": "Y",
    }
    # Two victims without a name, of the same age: never merged.
    nameless = [
        {
            "report_number": number,
            "person_seq": str(seq),
            "role": "victim",
            "victim_type": "individual",
            "age": "30",
            "email": f"victim{seq}@example.org",
            "contact_consent": "Y",
        }
        for seq in (2, 3)
    ]
    offender = {
        "report_number": number,
        "person_seq": "9",
        "role": "offender",
        "phone": PHONES["victim" if version.hazard == "shared" else "offender"],
    }
    rows["persons"] = ([] if version.hazard == "removed" else [victim]) + nameless + [offender]
    return rows


def _write_delivery(folder: Path, number: str, version: Version) -> None:
    folder.mkdir(parents=True)
    for table, rows in _rows(number, version).items():
        columns = TABLES[table].column_names
        with (folder / f"{table}.csv").open("w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=columns, lineterminator="\n")
            writer.writeheader()
            writer.writerows(rows)


def _load(url: str, folder: Path, delivery: Delivery, prefix: str) -> None:
    number = f"{prefix}{delivery.report}"
    if delivery.version.delete:
        record = Record(
            "incidents",
            1,
            {"report_number": number, "updated_at": delivery.version.updated_at},
            action="delete",
        )
        source = StaticSource("nibrs-xml", f"delete {number} {delivery.copy}", [record])
        results = load_deliveries([[source]], config=CONFIG, url=url, check=False)
    else:
        _write_delivery(folder, number, delivery.version)
        results = ingest_path(folder, "contract-csv", url=url, config=CONFIG, check=False)
    assert all(r.status in ("loaded", "no_op") for r in results), results


# --------------------------------------------------------------------------------------------
# The oracle: who the newest version allows, read from the generated versions alone


def expected_victims(agency: Agency) -> set[tuple[str, int]]:
    """Every victim of the people the newest version that delivered people lists."""
    victims = set()
    for report, versions in agency.reports.items():
        children = [v for v in versions if v.with_children][-1]
        victims |= {(report, seq) for seq in (1, 2, 3) if seq != 1 or children.hazard != "removed"}
    return victims


def expected_due(agency: Agency) -> set[tuple[str, int]]:
    due = set()
    for report, versions in agency.reports.items():
        newest = versions[-1]
        if newest.delete:
            continue
        with_children = [v for v in versions if v.with_children and not v.delete]
        children = with_children[-1]
        incident = [v for v in versions if not v.delete][-1]
        if incident.hazard == "dv" or children.hazard == "sensitive":
            continue
        if children.hazard not in ("removed", "shared"):
            due.add((report, 1))
        due |= {(report, 2), (report, 3)}
    return due


# --------------------------------------------------------------------------------------------
# The warehouse, per copy, with the copy's prefix taken off


def _query(url: str, sql: str) -> list[dict[str, Any]]:
    with psycopg.connect(url) as conn, conn.cursor(row_factory=dict_row) as cursor:
        return cursor.execute(sql).fetchall()


def _victim_keys(agency: Agency, prefix: str) -> dict[str, tuple[str, int]]:
    return {
        keys.victim_key(f"{prefix}{report}", seq): (report, seq)
        for report in agency.reports
        for seq in (1, 2, 3)
    }


def _copy_view(url: str, agency: Agency, prefix: str) -> dict[str, Any]:
    """Everything the warehouse decided for one copy, keyed without the copy's prefix."""

    def strip(rows: list[dict[str, Any]], *drop: str) -> list[tuple]:
        kept = []
        for row in rows:
            if not row["report_number"].startswith(prefix):
                continue
            row = {k: v for k, v in row.items() if k not in drop}
            row["report_number"] = row["report_number"].removeprefix(prefix)
            kept.append(tuple(sorted((k, str(v)) for k, v in row.items())))
        return sorted(kept)

    keys = _victim_keys(agency, prefix)
    decisions = sorted(
        (keys[row["victim_key"]], tuple(row["reasons"]), row["is_eligible"])
        for row in _query(url, "SELECT victim_key, reasons, is_eligible FROM marts.fct_eligibility_decisions")
        if row["victim_key"] in keys
    )
    return {
        "versions": strip(
            _query(url, "SELECT * FROM staging.stg_rms__report_versions"),
            "incident_batch_id",
            "incident_row_number",
            "offenses_delivery_id",
            "persons_delivery_id",
            "first_seen_at",
        ),
        "incidents": strip(
            _query(url, "SELECT * FROM staging.stg_rms__incidents"), "batch_id", "first_seen_at"
        ),
        "offenses": strip(_query(url, "SELECT * FROM staging.stg_rms__offenses")),
        "persons": strip(_query(url, "SELECT * FROM staging.stg_rms__persons")),
        "decisions": decisions,
        "due": strip(
            _query(
                url,
                "SELECT report_number, person_seq, phone_e164, email, channels, kind FROM restricted.notifications_due",
            )
        ),
    }


def _in_order(deliveries: list[Delivery]) -> list[Delivery]:
    return sorted(deliveries, key=lambda d: (d.version.updated_at, d.copy))


@pytest.mark.slow(minutes=3)
@settings(
    max_examples=10,
    deadline=None,
    derandomize=True,
    # Each example is a warehouse build: report the failing example as generated (`note` shows
    # its versions and orders) rather than spend minutes shrinking it.
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(agency=agencies(), data=st.data())
def test_every_arrival_order_gives_what_updated_at_order_gives(
    server_admin_url, migrated_template, tmp_path_factory, agency: Agency, data
):
    orders = [_in_order(agency.deliveries), list(reversed(_in_order(agency.deliveries)))]
    orders += [data.draw(st.permutations(agency.deliveries), label=f"order {n}") for n in (2, 3)]
    note(f"versions: {agency.reports}")
    folder = tmp_path_factory.mktemp("deliveries")
    with own_database(server_admin_url, migrated_template) as url:
        for index, order in enumerate(orders):
            for position, delivery in enumerate(order):
                _load(url, folder / f"o{index}" / f"d{position}", delivery, f"O{index}-")
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("UPDATE ops.ingest_batches SET expectations_passed = true WHERE status = 'loaded'")
        built = transform(url=url, config=CONFIG, as_of=AS_OF, quiet=True)
        assert built.success, built.failures
        views = [_copy_view(url, agency, f"O{index}-") for index in range(len(orders))]
    canonical = views[0]
    due = {(row_report(row), int(dict(row)["person_seq"])) for row in canonical["due"]}
    assert due == expected_due(agency)
    assert [key for key, _, _ in canonical["decisions"]] == sorted(expected_victims(agency))
    for index, view in enumerate(views[1:], start=1):
        for part, rows in view.items():
            assert rows == canonical[part], (f"order {index}", part)


def row_report(row: tuple) -> str:
    return dict(row)["report_number"]


def test_the_oracle_can_fail():
    """Each hazard in the newest version removes exactly the victims it should."""
    clean = Agency({"R0": [Version(1, None, True)]})
    assert expected_due(clean) == {("R0", 1), ("R0", 2), ("R0", 3)}
    for hazard, left in (
        ("sensitive", set()),
        ("dv", set()),
        ("shared", {("R0", 2), ("R0", 3)}),
        ("removed", {("R0", 2), ("R0", 3)}),
        ("phone", {("R0", 1), ("R0", 2), ("R0", 3)}),
    ):
        agency = Agency({"R0": [Version(1, None, True), Version(2, hazard, True)]})
        assert expected_due(agency) == left, hazard
    # A re-export of the incident alone keeps the people of the version before it.
    kept = Agency({"R0": [Version(1, "removed", True), Version(2, None, False)]})
    assert expected_due(kept) == {("R0", 2), ("R0", 3)}
    deleted = Agency({"R0": [Version(1, None, True), Version(2, None, False, delete=True)]})
    assert expected_due(deleted) == set()
    assert expected_victims(deleted) == {("R0", 1), ("R0", 2), ("R0", 3)}
