"""FBI NIBRS XML (IEPD 2019.1) submissions as contract records.

One source is one `nibrs:Submission` file. Each `nibrs:Report` in it becomes records:

- Group A incident report, action I, A or R: an incidents record, one offenses record per
  `j:Offense` and one persons record per victim, offender (`j:Subject`) and arrestee. A
  replace (R) is just a newer export of the report: the loader's supersede logic compares
  `updated_at`, which is the message's `cjis:MessageDateTime`.
- Group A incident report, action D: one incidents record with `action="delete"` carrying
  only `report_number` and `updated_at`.
- Group B arrest report (an arrest with no incident): one persons record per arrestee, role
  `arrestee`, `report_number` = the arrest transaction number, with the arrest, the ORI and
  the message time in `extra`. No incidents record is invented, so an arrest can never
  supersede or delete an incident that happens to share its number. A Group B *delete* has no
  contract equivalent (it removes arrestees, not a report), so its records carry `problem`
  and are quarantined for a person to act on.
- Zero report: no records.
- Anything else (unknown report category or action): records with `problem` set; never dropped.

`row_number` is the 1-based position of the `nibrs:Report` in the document. The file is
streamed with `iterparse`; a file that is not UTF-8, not well-formed or not a
`nibrs:Submission` raises `FileRejected` (possibly after earlier reports were yielded: the
loader then discards the whole source).

NIBRS has no officer names, divisions, beats, domestic-violence flag or contact details:
`officer_name` is declared unavailable, `division` is the reporting ORI, the rest stay empty.
"""

from __future__ import annotations

import codecs
import datetime as dt
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import BinaryIO
from xml.parsers.expat import ErrorString

from ingest.records import FileRejected, Record

NS = {
    "nibrs": "http://fbi.gov/cjis/nibrs/2019",
    "cjis": "http://fbi.gov/cjis/2.0",
    "j": "http://release.niem.gov/niem/domains/jxdm/5.2/",
    "nc": "http://release.niem.gov/niem/niem-core/3.0/",
    "s": "http://release.niem.gov/niem/structures/3.0/",
}
SUBMISSION = f"{{{NS['nibrs']}}}Submission"
REPORT = f"{{{NS['nibrs']}}}Report"
MESSAGE_METADATA = f"{{{NS['cjis']}}}MessageMetadata"
S_ID = f"{{{NS['s']}}}id"
S_REF = f"{{{NS['s']}}}ref"

GROUP_A = "GROUP A INCIDENT REPORT"
GROUP_B = "GROUP B ARREST REPORT"
ZERO_REPORT = "ZERO REPORT"
ADD_ACTIONS = frozenset({"I", "A", "R"})  # I incident report, A add, R replace
DELETE_ACTION = "D"

VICTIM_TYPES = {
    "I": "individual",
    "B": "business",
    "F": "financial_institution",
    "G": "government",
    "R": "religious_organization",
    "S": "society",
    "L": "law_enforcement",
    "O": "other",
    "U": "unknown",
}
# NIBRS age words for victims under one year old: 0 in whole years. Reporting them as 0 rather
# than unknown matters, because an unknown age does not stop a notification and a baby's must.
UNDER_ONE_YEAR = frozenset({"NEONATAL", "NEWBORN", "BABY"})
# Encodings whose bytes are always UTF-8 (the contract's only encoding).
UTF8_NAMES = frozenset({"utf-8", "utf8", "us-ascii", "ascii"})
XML_DECLARED_ENCODING = re.compile(rb"""^(?:\xef\xbb\xbf)?<\?xml[^>]*?\bencoding\s*=\s*["']([^"']*)["']""")

PROBLEM_UNKNOWN_CATEGORY = "nibrs:NIBRSReportCategoryCode is missing or not a NIBRS report category"
PROBLEM_UNKNOWN_ACTION = "nibrs:ReportActionCategoryCode is missing or not I, A, R or D"
PROBLEM_GROUP_B_DELETE = (
    "a NIBRS Group B arrest deletion removes arrestees, which the contract cannot express; review it by hand"
)
PROBLEM_NO_ARRESTEE = "a NIBRS Group B arrest report without a j:Arrestee"
PROBLEM_DANGLING_LINK = "the victim is linked to an offense or offender that is not in the report"


class NibrsXmlSource:
    """One FBI NIBRS XML submission file (IEPD 2019.1)."""

    format = "nibrs-xml"
    unavailable_columns: frozenset[str] = frozenset({"officer_name"})

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    @property
    def name(self) -> str:
        return str(self.path)

    def content_files(self) -> list[Path]:
        return [self.path]

    def records(self) -> Iterator[Record]:
        for row_number, report, message in _reports(self.path):
            yield from report_records(report, row_number, message)


# --- streaming the document ------------------------------------------------------------------


@dataclass(frozen=True)
class Message:
    """What the submission's `cjis:MessageMetadata` says about every report in it."""

    updated_at: str | None


class _NotUtf8(Exception):
    """Raised by _Utf8Reader inside the parser; turned into FileRejected by _walk."""


class _Utf8Reader:
    """Passes bytes through to the XML parser, checking on the way that they are UTF-8.

    Expat would otherwise report a stray Latin-1 byte as "not well-formed", which points the
    agency at the wrong problem.
    """

    def __init__(self, raw: BinaryIO) -> None:
        self._raw = raw
        self._decoder = codecs.getincrementaldecoder("utf-8")("strict")
        self._head = _blank_misplaced_declaration(raw.read(HEAD_BYTES))

    def read(self, size: int = -1) -> bytes:
        if self._head:
            chunk, self._head = (
                (self._head, b"")
                if size < 0 or size >= len(self._head)
                else (
                    self._head[:size],
                    self._head[size:],
                )
            )
        else:
            chunk = self._raw.read(size)
        try:
            self._decoder.decode(chunk, final=not chunk)
        except UnicodeDecodeError:
            raise _NotUtf8 from None
        return chunk


HEAD_BYTES = 64 * 1024
MISPLACED_DECLARATION = re.compile(rb"^(?:\s|<!--.*?-->)+(<\?xml\s[^>]*\?>)", re.DOTALL)


def _blank_misplaced_declaration(head: bytes) -> bytes:
    """Some exporters put a licence comment before `<?xml …?>` (the FBI's own replace sample
    does), which XML forbids. The declaration says nothing the parser needs once the bytes
    are known to be UTF-8, so blank it out; spaces of the same length keep line numbers."""
    match = MISPLACED_DECLARATION.match(head)
    if not match:
        return head
    start, end = match.span(1)
    return head[:start] + b" " * (end - start) + head[end:]


def _reports(path: Path) -> Iterator[tuple[int, ET.Element, Message]]:
    """Each `nibrs:Report` (position, element, message facts), streamed; rejects bad files."""
    file = str(path)
    try:
        with path.open("rb") as raw:
            _check_declared_encoding(file, raw.read(1024))
            raw.seek(0)
            yield from _walk(file, ET.iterparse(_Utf8Reader(raw), events=("start", "end")))
    except OSError as error:
        raise FileRejected(f"{file}: the file cannot be read ({error.strerror})") from None


def _check_declared_encoding(file: str, head: bytes) -> None:
    match = XML_DECLARED_ENCODING.match(head)
    if match and match.group(1).decode("ascii", "replace").strip().lower() not in UTF8_NAMES:
        raise FileRejected(f"{file}: the XML declaration names an encoding other than UTF-8")


def _walk(file: str, events: Iterator[tuple[str, ET.Element]]) -> Iterator[tuple[int, ET.Element, Message]]:
    root: ET.Element | None = None
    message = Message(updated_at=None)
    depth = 0
    position = 0
    try:
        for event, element in events:
            if event == "start":
                depth += 1
                if root is None:
                    if element.tag != SUBMISSION:
                        raise FileRejected(
                            f"{file}: the root element is not nibrs:Submission "
                            f"in namespace {NS['nibrs']} (NIBRS XML IEPD 2019)"
                        )
                    root = element
                continue
            depth -= 1
            if depth != 1 or root is None:  # only the submission's own children matter
                continue
            if element.tag == MESSAGE_METADATA:
                message = Message(updated_at=_datetime_text(_text(element, "cjis:MessageDateTime")))
            elif element.tag == REPORT:
                position += 1
                yield position, element, message
            # Reports are handled one at a time; dropping them keeps memory flat on big files.
            root.clear()
    except ET.ParseError as error:
        line, column = error.position
        reason = ErrorString(error.code)  # the generic expat reason: never a value from the file
        raise FileRejected(
            f"{file}: not well-formed XML at line {line}, column {column} ({reason})"
        ) from None
    except _NotUtf8:
        raise FileRejected(f"{file}: the file is not UTF-8 encoded") from None


# --- one report -> records -----------------------------------------------------------------------


def report_records(report: ET.Element, row_number: int, message: Message) -> list[Record]:
    """Every contract record one `nibrs:Report` yields (none for a zero report)."""
    category = _text(report, "nibrs:ReportHeader/nibrs:NIBRSReportCategoryCode")
    action = (_text(report, "nibrs:ReportHeader/nibrs:ReportActionCategoryCode") or "").upper()
    category = (category or "").upper()
    if category == ZERO_REPORT:
        return []
    if category == GROUP_A:
        records = _group_a_records(report, row_number, message, action)
    elif category == GROUP_B:
        records = _group_b_records(report, row_number, message, action)
    else:
        incident = {"report_number": _incident_number(report), "updated_at": message.updated_at}
        return [Record("incidents", row_number, incident, problem=PROBLEM_UNKNOWN_CATEGORY)]
    if action in ADD_ACTIONS or action == DELETE_ACTION:
        return records
    return [_with_problem(record, PROBLEM_UNKNOWN_ACTION) for record in records]


def _group_a_records(report: ET.Element, row: int, message: Message, action: str) -> list[Record]:
    report_number = _incident_number(report)
    if action == DELETE_ACTION:
        values = {"report_number": report_number, "updated_at": message.updated_at}
        return [Record("incidents", row, values, action="delete")]
    offenses = report.findall("j:Offense", NS)
    offense_seqs = {
        offense.get(S_ID): seq for seq, offense in enumerate(offenses, start=1) if offense.get(S_ID)
    }
    return [
        _incident_record(report, row, message, report_number, action),
        *(_offense_record(offense, row, report_number, seq) for seq, offense in enumerate(offenses, start=1)),
        *_group_a_persons(report, row, report_number, offense_seqs),
    ]


def _incident_number(report: ET.Element) -> str | None:
    return _text(report, "nc:Incident/nc:ActivityIdentification/nc:IdentificationID")


def _incident_record(
    report: ET.Element, row: int, message: Message, report_number: str | None, action: str
) -> Record:
    ori = _reporting_ori(report)
    clearance_code = _text(report, "nc:Incident/j:IncidentAugmentation/j:IncidentExceptionalClearanceCode")
    reported_at, occurred_at, time_notes = incident_times(report.find("nc:Incident", NS))
    values = {
        "report_number": report_number,
        "agency_ori": ori,
        "reported_at": reported_at,
        "occurred_at": occurred_at,
        "division": ori,  # NIBRS has no divisions; the agency config maps the ORI
        "case_status": case_status(clearance_code, has_arrestee=report.find("j:Arrestee", NS) is not None),
        "updated_at": message.updated_at,
    }
    extra = _present(
        nibrs_action=action,
        exceptional_clearance_code=clearance_code,
        exceptional_clearance_date=_text(
            report, "nc:Incident/j:IncidentAugmentation/j:IncidentExceptionalClearanceDate/nc:Date"
        ),
        **time_notes,
    )
    return Record("incidents", row, values, extra=extra)


def _offense_record(offense: ET.Element, row: int, report_number: str | None, seq: int) -> Record:
    values = {
        "report_number": report_number,
        "offense_seq": str(seq),
        "nibrs_code": _first_text(offense, ("nibrs:OffenseUCRCode", "j:OffenseUCRCode")),
        "attempted": yes_no(_text(offense, "j:OffenseAttemptedIndicator")),
    }
    return Record("offenses", row, values)


@dataclass(frozen=True)
class _Party:
    """A victim, subject or arrestee role element and what person_seq it asks for."""

    element: ET.Element
    role: str
    claimed_seq: str | None  # victims and Group B arrestees keep their NIBRS sequence number


def _group_a_persons(
    report: ET.Element, row: int, report_number: str | None, offense_seqs: dict[str | None, int]
) -> list[Record]:
    parties = [
        *(
            _Party(victim, "victim", _text(victim, "j:VictimSequenceNumberText"))
            for victim in report.findall("j:Victim", NS)
        ),
        *(_Party(subject, "offender", None) for subject in report.findall("j:Subject", NS)),
        *(_Party(arrestee, "arrestee", None) for arrestee in report.findall("j:Arrestee", NS)),
    ]
    seqs = assign_person_seqs([party.claimed_seq for party in parties])
    person_seq_by_id = {
        party.element.get(S_ID): seq
        for party, seq in zip(parties, seqs, strict=True)
        if party.element.get(S_ID)
    }
    people = _by_id(report, "nc:Person")
    arrests = _arrests_by_arrestee(report)
    records = []
    for party, seq in zip(parties, seqs, strict=True):
        person = people.get(_role_of_person(party.element))
        age, age_notes = person_age(person)
        values = {"report_number": report_number, "person_seq": str(seq), "role": party.role, "age": age}
        extra = dict(age_notes)
        problem = None
        if party.role == "victim":
            values["victim_type"] = victim_type(_text(party.element, "j:VictimCategoryCode"))
            links, relationships, dangling = _victim_links(
                report, party.element, offense_seqs, person_seq_by_id
            )
            values["offense_seqs"] = " ".join(str(seq) for seq in links) or None
            extra.update(relationships)
            problem = PROBLEM_DANGLING_LINK if dangling else None
        elif party.role == "offender":
            extra.update(_present(nibrs_offender_seq=_text(party.element, "j:SubjectSequenceNumberText")))
        else:
            extra.update(_present(nibrs_arrestee_seq=_text(party.element, "j:ArrestSequenceID")))
            extra.update(arrest_details(arrests.get(party.element.get(S_ID))))
        records.append(Record("persons", row, values, extra=extra or None, problem=problem))
    return records


def _victim_links(
    report: ET.Element,
    victim: ET.Element,
    offense_seqs: dict[str | None, int],
    person_seq_by_id: dict[str | None, int],
) -> tuple[list[int], dict[str, str], bool]:
    """The victim's offense_seqs, its relationship to each offender, and whether a link dangles."""
    victim_id = victim.get(S_ID)
    dangling = False
    links: list[int] = []
    for association in report.findall("j:OffenseVictimAssociation", NS):
        if _ref(association, "j:Victim") != victim_id:
            continue
        seq = offense_seqs.get(_ref(association, "j:Offense"))
        if seq is None:
            dangling = True
        elif seq not in links:
            links.append(seq)
    relationships: dict[str, str] = {}
    for association in report.findall("j:SubjectVictimAssociation", NS):
        if _ref(association, "j:Victim") != victim_id:
            continue
        offender_seq = person_seq_by_id.get(_ref(association, "j:Subject"))
        code = _first_text(
            association, ("nibrs:VictimToSubjectRelationshipCode", "j:VictimToSubjectRelationshipCode")
        )
        if offender_seq is None:
            dangling = True
        elif code:
            key = f"relationship_to_offender_{offender_seq}"
            relationships[key] = f"{relationships[key]}; {code}" if key in relationships else code
    return sorted(links), relationships, dangling


def _group_b_records(report: ET.Element, row: int, message: Message, action: str) -> list[Record]:
    arrestees = report.findall("j:Arrestee", NS)
    arrests = _arrests_by_arrestee(report)
    ori = _reporting_ori(report)
    shared = _present(
        nibrs_report_category=GROUP_B,
        nibrs_action=action,
        agency_ori=ori,
        nibrs_message_datetime=message.updated_at,
    )
    problem = PROBLEM_GROUP_B_DELETE if action == DELETE_ACTION else None
    if not arrestees:
        arrest = report.find("j:Arrest", NS)
        values = {"report_number": _arrest_number(arrest), "person_seq": None, "role": "arrestee"}
        return [Record("persons", row, values, extra=shared, problem=problem or PROBLEM_NO_ARRESTEE)]
    seqs = assign_person_seqs([_text(arrestee, "j:ArrestSequenceID") for arrestee in arrestees])
    people = _by_id(report, "nc:Person")
    records = []
    for arrestee, seq in zip(arrestees, seqs, strict=True):
        arrest = arrests.get(arrestee.get(S_ID))
        age, age_notes = person_age(people.get(_role_of_person(arrestee)))
        values = {
            "report_number": _arrest_number(arrest),
            "person_seq": str(seq),
            "role": "arrestee",
            "age": age,
        }
        extra = {
            **shared,
            **_present(nibrs_arrestee_seq=_text(arrestee, "j:ArrestSequenceID")),
            **arrest_details(arrest),
            **age_notes,
        }
        records.append(Record("persons", row, values, extra=extra, problem=problem))
    return records


def _arrests_by_arrestee(report: ET.Element) -> dict[str | None, ET.Element]:
    """Arrestee s:id -> its j:Arrest, through j:ArrestSubjectAssociation.

    An arrestee without an association takes the report's only arrest, when there is just one.
    """
    arrests = _by_id(report, "j:Arrest")
    linked: dict[str | None, ET.Element] = {}
    for association in report.findall("j:ArrestSubjectAssociation", NS):
        arrest = arrests.get(_ref(association, "nc:Activity"))
        if arrest is not None:
            linked[_ref(association, "j:Subject")] = arrest
    only = report.findall("j:Arrest", NS)
    if len(only) == 1:
        for arrestee in report.findall("j:Arrestee", NS):
            linked.setdefault(arrestee.get(S_ID), only[0])
    return linked


def _arrest_number(arrest: ET.Element | None) -> str | None:
    return None if arrest is None else _text(arrest, "nc:ActivityIdentification/nc:IdentificationID")


def arrest_details(arrest: ET.Element | None) -> dict[str, str]:
    """What an arrest adds to its arrestee's record, in `extra` (the contract has no arrests)."""
    if arrest is None:
        return {}
    charges = [
        code
        for code in (_clean(c.text) for c in arrest.iterfind("j:ArrestCharge/nibrs:ChargeUCRCode", NS))
        if code
    ]
    return _present(
        arrest_transaction_number=_arrest_number(arrest),
        arrest_date=_first_text(arrest, ("nc:ActivityDate/nc:Date", "nc:ActivityDate/nc:DateTime")),
        arrest_charge_codes=" ".join(charges) or None,
        arrest_category=_text(arrest, "j:ArrestCategoryCode"),
    )


# --- small pure mappings ------------------------------------------------------------------------


def incident_times(incident: ET.Element | None) -> tuple[str | None, str | None, dict[str, str]]:
    """(reported_at, occurred_at, notes for extra) from the incident's `nc:ActivityDate`.

    `nc:DateTime` carries the date and hour; `nc:Date` alone means the hour is unknown, and
    the record gets midnight plus `incident_hour_unknown` (a bare date would fail the
    contract and quarantine the whole report). When `cjis:IncidentReportDateIndicator` is
    true the date is the report date, so the occurrence time is unknown.
    """
    if incident is None:
        return None, None, {}
    notes: dict[str, str] = {}
    when = _datetime_text(_text(incident, "nc:ActivityDate/nc:DateTime"))
    if when is None:
        day = _text(incident, "nc:ActivityDate/nc:Date")
        when = midnight(day) if day else None
        notes = {"incident_hour_unknown": "Y"} if day else {}
    is_report_date = _text(incident, "cjis:IncidentAugmentation/cjis:IncidentReportDateIndicator")
    if (is_report_date or "").lower() == "true":
        return when, None, {**notes, "incident_date_is_report_date": "Y"}
    return when, when, notes


def midnight(day: str) -> str:
    """`YYYY-MM-DD` as that day's `T00:00:00`; anything else unchanged, for the contract to judge."""
    try:
        return dt.date.fromisoformat(day).isoformat() + "T00:00:00"
    except ValueError:
        return day


def _datetime_text(value: str | None) -> str | None:
    """An xs:dateTime as `YYYY-MM-DDTHH:MM:SS` (offset kept); unparseable text unchanged."""
    if value is None:
        return None
    try:
        dt.date.fromisoformat(value)
        return value  # a bare date: no time of day to normalise, and none is invented here
    except ValueError:
        pass
    try:
        return dt.datetime.fromisoformat(value).isoformat(timespec="seconds")
    except ValueError:
        return value


def case_status(clearance_code: str | None, *, has_arrestee: bool) -> str:
    """NIBRS clearance as a contract case_status.

    Exceptional clearance codes A-E win; N means "not cleared exceptionally", which NIBRS
    also uses for incidents cleared by arrest, so an arrestee segment makes it cleared_arrest.
    """
    code = (clearance_code or "").upper()
    if code and code != "N":
        return "cleared_exceptional"
    return "cleared_arrest" if has_arrestee else "open"


def victim_type(code: str | None) -> str | None:
    """NIBRS victim type code as a contract victim_type; an unknown code passes through as received."""
    if code is None:
        return None
    return VICTIM_TYPES.get(code.upper(), code)


def person_age(person: ET.Element | None) -> tuple[str | None, dict[str, str]]:
    """(age in whole years, notes for extra) from `nc:PersonAgeMeasure`.

    An age range gives its lower bound: the conservative reading for the rule that
    juveniles are never contacted. Words: NEONATAL/NEWBORN/BABY are 0, UNKNOWN is unknown.
    """
    if person is None:
        return None, {}
    exact = _text(person, "nc:PersonAgeMeasure/nc:MeasureIntegerValue")
    if exact is not None:
        return exact, {}
    low = _text(person, "nc:PersonAgeMeasure/nc:MeasureIntegerRange/nc:RangeMinimumIntegerValue")
    high = _text(person, "nc:PersonAgeMeasure/nc:MeasureIntegerRange/nc:RangeMaximumIntegerValue")
    if low is not None or high is not None:
        return low, _present(age_range_min=low, age_range_max=high)
    word = _text(person, "nc:PersonAgeMeasure/nc:MeasureValueText")
    if word is None:
        return None, {}
    return ("0" if word.upper() in UNDER_ONE_YEAR else None), {"age_text": word}


def assign_person_seqs(claimed: Iterable[str | None]) -> list[int]:
    """person_seq for each party, in order: a valid, unused claimed number is kept; every other
    party is numbered after the highest kept one, in order. Unique within the report."""
    claims = list(claimed)
    kept: list[int | None] = []
    used: set[int] = set()
    for claim in claims:
        number = int(claim) if claim is not None and claim.isdigit() and int(claim) >= 1 else None
        if number is None or number in used:
            kept.append(None)
            continue
        used.add(number)
        kept.append(number)
    next_seq = max(used, default=0) + 1
    seqs = []
    for number in kept:
        if number is None:
            number, next_seq = next_seq, next_seq + 1
        seqs.append(number)
    return seqs


def yes_no(indicator: str | None) -> str | None:
    """xs:boolean as the contract's Y/N; anything else unchanged, for the contract to judge."""
    if indicator is None:
        return None
    return {"true": "Y", "1": "Y", "false": "N", "0": "N"}.get(indicator.lower(), indicator)


# --- element helpers -----------------------------------------------------------------------------


def _clean(value: str | None) -> str | None:
    text = (value or "").strip()
    return text or None


def _text(element: ET.Element, path: str) -> str | None:
    """Trimmed text of the first match of `path` (prefixes from NS); None when absent or empty."""
    found = element.find(path, NS)
    return None if found is None else _clean(found.text)


def _first_text(element: ET.Element, paths: Iterable[str]) -> str | None:
    """The first non-empty text among `paths` (for elements the IEPD versions put in different namespaces)."""
    return next((text for text in (_text(element, path) for path in paths) if text is not None), None)


def _ref(element: ET.Element, child: str) -> str | None:
    found = element.find(child, NS)
    return None if found is None else found.get(S_REF)


def _role_of_person(role: ET.Element) -> str | None:
    return _ref(role, "nc:RoleOfPerson")


def _by_id(report: ET.Element, path: str) -> dict[str | None, ET.Element]:
    return {element.get(S_ID): element for element in report.findall(path, NS) if element.get(S_ID)}


def _reporting_ori(report: ET.Element) -> str | None:
    return _text(
        report,
        "nibrs:ReportHeader/nibrs:ReportingAgency/j:OrganizationAugmentation/"
        "j:OrganizationORIIdentification/nc:IdentificationID",
    )


def _present(**values: str | None) -> dict[str, str]:
    """The given extra fields that have a value."""
    return {key: value for key, value in values.items() if value is not None}


def _with_problem(record: Record, problem: str) -> Record:
    return replace(record, problem=record.problem or problem)
