"""One synthetic report: its incident row, offenses, persons and CAD call, in contract form.

Every value is already the string the export carries, so the ground truth is computed on
exactly what is written. Planted defects and notable people are tallied as they are made.
"""

from __future__ import annotations

import datetime as dt
import random
from collections import Counter
from dataclasses import dataclass, field

from simulate.eligibility import age_on, is_valid_email, is_valid_phone, phone_digits
from simulate.offense_mix import (
    ASSAULT_CODES,
    HOMICIDE_CODES,
    SENSITIVE_OFFENSE_CODES,
    OffenseType,
    Weights,
    pick_offenses,
    pick_weighted,
)
from simulate.people import (
    NamePool,
    Pools,
    email_for,
    fictional_phone,
    format_phone,
    invalid_phone,
    malformed_email,
    organisation_name,
    person_name,
    phone_style,
)
from vnotify.config import AgencyConfig

Row = dict[str, str]

SPANISH_ORIGIN_SHARE = 0.30  # of individuals; most of them prefer Spanish
INVALID_PHONE_SHARE = 0.025
MALFORMED_EMAIL_SHARE = 0.03
MISSING_OFFICER_NAME_SHARE = 0.006
REEXPORT_SHARE = 0.06
SHARED_PHONE_SHARE = 0.08  # of reports where a victim and an offender both could have phones
VICTIM_CALLER_WITHOUT_PHONE_SHARE = 0.03  # callers whose number the officer did not re-enter

# (phone share, e-mail share) by role
CONTACT_SHARES: dict[str, tuple[float, float]] = {
    "victim": (0.86, 0.42),
    "offender": (0.2, 0.04),
    "suspect": (0.2, 0.04),
    "arrestee": (0.55, 0.05),
    "witness": (0.7, 0.2),
    "reporting_party": (0.92, 0.3),
}
PHONE_TYPES: Weights = (("mobile", 0.55), ("", 0.22), ("unknown", 0.13), ("landline", 0.10))
ORGANISATION_PHONE_TYPES: Weights = (("landline", 0.55), ("unknown", 0.2), ("", 0.25))
CONSENT: Weights = (("", 0.59), ("Y", 0.35), ("N", 0.06))
# People with neither age nor birth date. The FBI's 2021 NIBRS extract has about 2% of victims
# of unknown age; eligibility holds them by default (eligibility.unknown_age).
UNKNOWN_AGE_SHARE = 0.03
ARREST_SHARE = {"35A": 0.85, "520": 0.8, "23C": 0.55, "13A": 0.3, "13B": 0.3, "13C": 0.15}
OTHER_STATUSES: Weights = (
    ("open", 0.82),
    ("suspended", 0.10),
    ("cleared_exceptional", 0.03),
    ("unfounded", 0.02),
    ("closed", 0.03),
)
# How a supplement moves a case on (a closed case is sometimes reopened).
NEXT_STATUSES = {
    "open": ("suspended", "cleared_arrest", "cleared_exceptional", "closed", "unfounded"),
    "suspended": ("open", "cleared_arrest", "closed"),
    "cleared_arrest": ("closed",),
    "cleared_exceptional": ("closed",),
    "unfounded": ("closed",),
    "closed": ("open",),
}
VICTIM_COUNTS: Weights = (("1", 0.89), ("2", 0.08), ("3", 0.025), ("4", 0.005))
# Hour-of-day weights for when reports are written: quiet before dawn, busiest afternoons.
_HOURLY = "3 2 2 1.5 1 1 1.5 2.5 4 5 5.5 6 6 6 6.5 6.5 6.5 6 5.5 5 4.5 4 3.5 3"
REPORT_HOURS: Weights = tuple((str(hour), float(weight)) for hour, weight in enumerate(_HOURLY.split()))


@dataclass(frozen=True)
class Officer:
    officer_id: str
    name: str


@dataclass(frozen=True)
class World:
    """What stays fixed for a whole run: the agency, its people pools and its officers."""

    config: AgencyConfig
    pools: Pools
    officers: dict[str, tuple[Officer, ...]]  # by division code
    division_weights: Weights


@dataclass
class Report:
    incident: Row
    offenses: list[Row]
    persons: list[Row]
    call: Row | None  # call_number is filled in once the month's calls are numbered
    call_received_at: dt.datetime | None
    caller_seq: str | None  # person_seq of the victim or reporting party who called
    reexport: tuple[dt.datetime, Row] | None  # (updated_at, the incident row exported again)
    tally: Counter[str] = field(default_factory=Counter)


def iso(moment: dt.datetime) -> str:
    return moment.isoformat(timespec="seconds")


def build_world(config: AgencyConfig, pools: Pools, rng: random.Random, scale: float) -> World:
    officers = {}
    used_ids: set[str] = set()
    per_division = max(6, round(60 * scale))
    for division in config.divisions:
        crew = []
        for _ in range(per_division):
            officer_id = str(rng.randint(1000, 99999))
            while officer_id in used_ids:
                officer_id = str(rng.randint(1000, 99999))
            used_ids.add(officer_id)
            pool = pools.spanish if rng.random() < 0.25 else pools.english
            first, last = person_name(rng, pool)
            crew.append(Officer(officer_id, f"{first} {last}"))
        officers[division.code] = tuple(crew)
    weights = tuple((division.code, round(rng.uniform(0.8, 1.2), 3)) for division in config.divisions)
    return World(config, pools, officers, weights)


def random_moment(rng: random.Random, first_day: dt.date, days: int) -> dt.datetime:
    day = first_day + dt.timedelta(days=rng.randrange(days))
    hour = int(pick_weighted(rng, REPORT_HOURS))
    return dt.datetime.combine(day, dt.time(hour, rng.randrange(60)))


def division_label(rng: random.Random, config: AgencyConfig, code: str, code_share: float) -> str:
    """A division as an RMS writes it: mostly the code, sometimes one of its aliases."""
    aliases = next(d.aliases for d in config.divisions if d.code == code)
    return code if not aliases or rng.random() < code_share else rng.choice(aliases)


def make_report(rng: random.Random, world: World, report_number: str, reported_at: dt.datetime) -> Report:
    tally: Counter[str] = Counter()
    offense_types = pick_offenses(rng)
    primary = offense_types[0]
    division = pick_weighted(rng, world.division_weights)
    officer = rng.choice(world.officers[division])
    has_call = rng.random() < primary.call_share
    received_at = reported_at - dt.timedelta(seconds=rng.randint(15 * 60, 240 * 60)) if has_call else None
    occurred_at = (received_at or reported_at) - dt.timedelta(hours=rng.uniform(*primary.lag_hours))
    domestic_violence = rng.random() < primary.dv_share
    status = _case_status(rng, primary)
    # A victim who called 911 but whose number the officer never typed into the report.
    caller_without_phone = has_call and rng.random() < VICTIM_CALLER_WITHOUT_PHONE_SHARE

    maker = _PeopleMaker(rng, world, reported_at, tally)
    victims = _victims(rng, maker, offense_types, first_without_contact=caller_without_phone)
    persons = _persons(rng, maker, report_number, victims, primary, status, domestic_violence)
    incident = _incident_row(rng, world, report_number, reported_at, occurred_at, division, officer, status)
    # Unflagged reports leave the field empty or write N, as different RMS screens do.
    incident["domestic_violence"] = "Y" if domestic_violence else rng.choice(("", "", "N"))
    reexport = _reexport(rng, incident, officer)
    if reexport is not None:
        _assign_detective(world, division, reexport[1])
    offenses = [
        _offense_row(rng, report_number, seq, offense) for seq, offense in enumerate(offense_types, 1)
    ]
    call, caller_seq = None, None
    if received_at is not None:
        caller = victims[0] if caller_without_phone else _pick_caller(rng, persons)
        call = _report_call(
            rng,
            maker,
            caller,
            primary,
            division,
            report_number,
            status,
            always_reachable=caller_without_phone,
        )
        caller_seq = caller["person_seq"]
    report = Report(incident, offenses, persons, call, received_at, caller_seq, reexport, tally)
    _tally_report(report, reported_at.date())
    return report


def _case_status(rng: random.Random, primary: OffenseType) -> str:
    if rng.random() < ARREST_SHARE.get(primary.code, 0.05):
        return "cleared_arrest"
    return pick_weighted(rng, OTHER_STATUSES)


def _incident_row(
    rng: random.Random,
    world: World,
    report_number: str,
    reported_at: dt.datetime,
    occurred_at: dt.datetime,
    division: str,
    officer: Officer,
    status: str,
) -> Row:
    division_number = [d.code for d in world.config.divisions].index(division) + 1
    officer_missing = rng.random() < MISSING_OFFICER_NAME_SHARE
    return {
        "report_number": report_number,
        "agency_ori": world.config.agency.ori or "",
        "reported_at": iso(reported_at),
        "occurred_at": "" if rng.random() < 0.03 else iso(occurred_at.replace(second=0, microsecond=0)),
        "division": division_label(rng, world.config, division, code_share=0.65),
        "beat": f"{division_number}{rng.randint(1, 12):02d}",
        "officer_id": officer.officer_id,
        "officer_name": "" if officer_missing else officer.name,
        "case_status": status,
        "domestic_violence": "",  # set by make_report
        "updated_at": iso(reported_at + dt.timedelta(minutes=rng.randint(5, 72 * 60))),
    }


def _reexport(rng: random.Random, incident: Row, officer: Officer) -> tuple[dt.datetime, Row] | None:
    """A supplemented report exported again: newer updated_at, new status or the officer's name."""
    missing_name = not incident["officer_name"]
    if rng.random() >= (0.6 if missing_name else REEXPORT_SHARE):
        return None
    updated_at = dt.datetime.fromisoformat(incident["updated_at"]) + dt.timedelta(
        minutes=rng.randint(24 * 60, 45 * 24 * 60)
    )
    again = {**incident, "updated_at": iso(updated_at)}
    if missing_name:
        again["officer_name"] = officer.name
    if not missing_name or rng.random() < 0.5:
        again["case_status"] = rng.choice(NEXT_STATUSES[incident["case_status"]])
    return updated_at, again


DETECTIVE_SHARE = 0.35  # of supplemented reports: the case now names the detective assigned to it


def _assign_detective(world: World, division: str, again: Row) -> None:
    """Sometimes a supplement names the detective the case went to. Its own random stream (by
    report number), so the rest of the synthetic agency is the same with or without it."""
    rng = random.Random(f"detective:{again['report_number']}")
    if again["case_status"] in ("open", "suspended") and rng.random() < DETECTIVE_SHARE:
        again["assigned_detective"] = f"Det. {rng.choice(world.officers[division]).name}"


def _offense_row(rng: random.Random, report_number: str, seq: int, offense: OffenseType) -> Row:
    attempted = rng.random() < offense.attempt_share
    return {
        "report_number": report_number,
        "offense_seq": str(seq),
        "nibrs_code": offense.code,
        "agency_code": offense.statute,
        "description": offense.description,
        "attempted": "Y" if attempted else rng.choice(("", "", "N")),
    }


class _PeopleMaker:
    """Builds one report's persons, keeping phones, e-mails and names distinct within it."""

    def __init__(self, rng: random.Random, world: World, reported_at: dt.datetime, tally: Counter[str]):
        self.rng, self.world, self.reported_at, self.tally = rng, world, reported_at, tally
        self.phones: set[str] = set()
        self.emails: set[str] = set()
        self.names: set[tuple[str, str]] = set()

    def name(self, pool: NamePool, two_surnames: float, last: str | None = None) -> tuple[str, str]:
        while True:
            first, drawn_last = person_name(self.rng, pool, two_surnames)
            candidate = (first, last or drawn_last)
            if candidate not in self.names:
                self.names.add(candidate)
                return candidate

    def individual(
        self,
        role: str,
        age: int,
        last_name: str | None = None,
        spanish: bool | None = None,
        without_contact: bool = False,
    ) -> Row:
        rng = self.rng
        if spanish is None:
            spanish = rng.random() < SPANISH_ORIGIN_SHARE
        pool = self.world.pools.spanish if spanish else self.world.pools.english
        first, last = self.name(pool, 0.35 if spanish else 0.0, last_name)
        phone_share, email_share = (0.0, 0.0) if without_contact else CONTACT_SHARES[role]
        person = {"role": role, "first_name": first, "last_name": last, **self.age_fields(age)}
        person["language"] = _language(rng, spanish)
        if rng.random() < phone_share:
            person["phone"], person["phone_type"] = self.phone(PHONE_TYPES)
        if rng.random() < email_share:
            person["email"] = self.email(first, last)
        return person

    def organisation(self, victim_type: str) -> Row:
        name = organisation_name(self.rng, self.world.pools, victim_type)
        person = {"role": "victim", "victim_type": victim_type, "last_name": name}
        if victim_type != "society" and self.rng.random() < 0.6:
            person["phone"], person["phone_type"] = self.phone(ORGANISATION_PHONE_TYPES)
        return person

    def age_fields(self, age: int) -> Row:
        """A birth date, an age, or (UNKNOWN_AGE_SHARE of people, as in NIBRS) neither."""
        form = self.rng.random()
        if form < 0.55:
            days = int(age * 365.2425) + self.rng.randint(0, 364)
            return {"birth_date": (self.reported_at.date() - dt.timedelta(days=days)).isoformat()}
        return {"age": str(age)} if form < 1 - UNKNOWN_AGE_SHARE else {}

    def phone(self, types: Weights) -> tuple[str, str]:
        digits = fictional_phone(self.rng, self.phones)
        if self.rng.random() < INVALID_PHONE_SHARE:
            self.tally["invalid_phone"] += 1
            return invalid_phone(self.rng, digits), pick_weighted(self.rng, types)
        return format_phone(digits, phone_style(self.rng)), pick_weighted(self.rng, types)

    def email(self, first: str, last: str) -> str:
        if self.rng.random() < MALFORMED_EMAIL_SHARE:
            self.tally["malformed_email"] += 1
            return malformed_email(self.rng, first, last)
        address = email_for(self.rng, first, last)
        while address.lower() in self.emails:
            address = email_for(self.rng, first, last)
        self.emails.add(address.lower())
        return address

    def fresh_phone_digits(self) -> str:
        return fictional_phone(self.rng, self.phones)


def _language(rng: random.Random, spanish: bool) -> str:
    if spanish:
        return pick_weighted(rng, (("es", 0.75), ("en", 0.1), ("", 0.15)))
    return pick_weighted(rng, (("en", 0.55), ("", 0.45)))


def _adult_age(rng: random.Random) -> int:
    return int(rng.triangular(18, 90, 31))


def _victim_age(rng: random.Random, offense: OffenseType) -> int:
    if rng.random() < offense.juvenile_victim:
        return rng.randint(12, 17) if offense.code == "36B" else rng.randint(2, 17)
    return _adult_age(rng)


def _persons(
    rng: random.Random,
    maker: _PeopleMaker,
    report_number: str,
    victims: list[Row],
    primary: OffenseType,
    status: str,
    domestic_violence: bool,
) -> list[Row]:
    perpetrators = _perpetrators(rng, maker, primary, status, domestic_violence, victims)
    witnesses = [maker.individual("witness", _adult_age(rng)) for _ in range(_witness_count(rng))]
    reporting_party = _reporting_party(rng, maker, victims)
    if not domestic_violence:
        # Outside DV reports, so the shared-contact rule is exercised on its own.
        _plant_shared_phone(rng, victims, perpetrators, maker.tally)
    persons = victims + reporting_party + witnesses + perpetrators
    for seq, person in enumerate(persons, 1):
        person["report_number"] = report_number
        person["person_seq"] = str(seq)
    return persons


def _victims(
    rng: random.Random,
    maker: _PeopleMaker,
    offense_types: list[OffenseType],
    first_without_contact: bool,
) -> list[Row]:
    primary = offense_types[0]
    first_type = pick_weighted(rng, primary.victim_types)
    if first_without_contact:
        first_type = "individual"
    if first_type in ("individual", "law_enforcement"):
        count = int(pick_weighted(rng, VICTIM_COUNTS))
        types = [first_type] + ["individual"] * (count - 1)
    else:
        # A robbed store's clerk, a burgled church's caretaker: sometimes a person as well.
        types = [first_type] + (["individual"] if rng.random() < 0.03 else [])
    victims = []
    for index, victim_type in enumerate(types):
        if victim_type in ("individual", "law_enforcement"):
            without_contact = first_without_contact and index == 0
            victim = maker.individual("victim", _victim_age(rng, primary), without_contact=without_contact)
            victim["victim_type"] = victim_type
            victim["deceased"] = _deceased(rng, primary, index)
            _consent(rng, victim, maker.reported_at)
        else:
            victim = maker.organisation(victim_type)
        victim["offense_seqs"] = _offense_seqs(rng, len(offense_types))
        victims.append(victim)
    return victims


def _deceased(rng: random.Random, primary: OffenseType, index: int) -> str:
    if primary.code in HOMICIDE_CODES and index == 0:
        return "Y"
    # An identity stolen from someone who has died; a victim who died later.
    chance = 0.03 if primary.code == "26F" else 0.002
    return "Y" if rng.random() < chance else rng.choice(("", "", "", "N"))


def _consent(rng: random.Random, victim: Row, reported_at: dt.datetime) -> None:
    consent = pick_weighted(rng, CONSENT)
    victim["contact_consent"] = consent
    if consent == "Y":
        source = pick_weighted(rng, (("officer_verbal", 0.7), ("online_report", 0.2), ("victim_portal", 0.1)))
        delay = dt.timedelta(
            minutes=rng.randint(0, 30) if source != "victim_portal" else rng.randint(60, 4320)
        )
        victim["consent_source"] = source
        victim["consent_at"] = iso(reported_at + delay)


def _offense_seqs(rng: random.Random, offense_count: int) -> str:
    if rng.random() < (0.65 if offense_count == 1 else 0.4):
        return ""  # linked to every offense
    if offense_count == 1 or rng.random() < 0.6:
        return " ".join(str(seq) for seq in range(1, offense_count + 1))
    return "1"


def _perpetrators(
    rng: random.Random,
    maker: _PeopleMaker,
    primary: OffenseType,
    status: str,
    domestic_violence: bool,
    victims: list[Row],
) -> list[Row]:
    if rng.random() >= primary.offender_known and status != "cleared_arrest":
        return []
    count = int(pick_weighted(rng, (("1", 0.8), ("2", 0.16), ("3", 0.04))))
    people = []
    for index in range(count):
        role = (
            "arrestee" if status == "cleared_arrest" and index == 0 else rng.choice(("offender", "suspect"))
        )
        # Family members share a surname; people who know the victim often have a phone on file.
        family_name = (
            victims[0].get("last_name") if domestic_violence and victims and rng.random() < 0.6 else None
        )
        person = maker.individual(role, int(rng.triangular(13, 70, 25)), last_name=family_name)
        if role != "arrestee" and rng.random() < 0.25:
            person["first_name"] = person["last_name"] = ""  # described, not identified
        if (
            not person.get("phone")
            and (primary.code in ASSAULT_CODES or domestic_violence)
            and rng.random() < 0.3
        ):
            person["phone"], person["phone_type"] = maker.phone(PHONE_TYPES)
        people.append(person)
    return people


def _witness_count(rng: random.Random) -> int:
    return int(pick_weighted(rng, (("0", 0.85), ("1", 0.12), ("2", 0.03))))


def _reporting_party(rng: random.Random, maker: _PeopleMaker, victims: list[Row]) -> list[Row]:
    first = victims[0]
    juvenile = any(_is_minor(victim, maker.reported_at.date()) for victim in victims)
    if first.get("victim_type") not in ("individual", "law_enforcement"):
        chance, family_name = 0.85, None  # an employee reports for the business
    elif juvenile:
        chance, family_name = 0.75, first.get("last_name")  # a parent
    else:
        chance, family_name = 0.08, None
    if rng.random() >= chance:
        return []
    spanish = first.get("language") == "es" if family_name else None
    return [maker.individual("reporting_party", _adult_age(rng), last_name=family_name, spanish=spanish)]


def _is_minor(person: Row, day: dt.date) -> bool:
    age = age_on(person, day)
    return age is not None and age < 18


def _plant_shared_phone(
    rng: random.Random, victims: list[Row], perpetrators: list[Row], tally: Counter[str]
) -> None:
    """A victim and an offender on one report with the same number, written differently."""
    candidates = [
        v for v in victims if v.get("victim_type") == "individual" and is_valid_phone(v.get("phone", ""))
    ]
    # Never overwrite an offender's invalid phone: it is already counted as a defect.
    offenders = [p for p in perpetrators if not p.get("phone") or is_valid_phone(p["phone"])]
    if not candidates or not offenders or rng.random() >= SHARED_PHONE_SHARE:
        return
    victim, offender = candidates[0], offenders[0]
    digits = phone_digits(victim["phone"])
    victim_style = phone_style(rng)
    victim["phone"] = format_phone(digits, victim_style)
    offender["phone"] = format_phone(digits, phone_style(rng, avoid=victim_style))
    offender["phone_type"] = rng.choice(("mobile", "", "unknown"))
    tally["shared_victim_offender_phone"] += 1


CALL_DISPOSITIONS: Weights = (
    ("REPORT TAKEN", 0.85),
    ("REPORT TAKEN-FOLLOW UP", 0.1),
    ("REFERRED", 0.05),
)


def _pick_caller(rng: random.Random, persons: list[Row]) -> Row:
    """Who phoned it in: the reporting party when there is one, otherwise the first victim."""
    reporting = [p for p in persons if p["role"] == "reporting_party"]
    if reporting and rng.random() < 0.7:
        return reporting[0]
    return next(p for p in persons if p["role"] == "victim")


def caller_name(rng: random.Random, person: Row) -> str:
    """CAD call-takers type "LAST, FIRST" about as often as "First Last"."""
    first, last = person.get("first_name", ""), person.get("last_name", "")
    if not first:
        return last
    return f"{last}, {first}".upper() if rng.random() < 0.5 else f"{first} {last}"


def _report_call(
    rng: random.Random,
    maker: _PeopleMaker,
    caller: Row,
    primary: OffenseType,
    division: str,
    report_number: str,
    status: str,
    always_reachable: bool,
) -> Row:
    """The call that produced the report; its call_number is assigned later."""
    phone = caller.get("phone", "")
    if is_valid_phone(phone):
        digits = phone_digits(phone)
    elif phone or always_reachable or rng.random() < 0.9:
        digits = maker.fresh_phone_digits()  # the callback number CAD captured
    else:
        digits = ""
    config = maker.world.config
    priority = min(4, max(1, primary.priority + rng.choice((0, 0, 0, 1, -1))))
    return {
        "call_number": "",
        "report_number": report_number,
        "received_at": "",
        "call_type": primary.call_type,
        "priority": str(priority),
        "division": division_label(rng, config, division, code_share=0.85),
        "caller_name": caller_name(rng, caller),
        "caller_phone": format_phone(digits, rng.choice(("{a}-{e}-{n}", "{a}{e}{n}"))) if digits else "",
        "disposition": "ARREST" if status == "cleared_arrest" else pick_weighted(rng, CALL_DISPOSITIONS),
    }


def _tally_report(report: Report, report_day: dt.date) -> None:
    """Count what the report carries, for the summary (tests check these against the files)."""
    tally = report.tally
    codes = {offense["nibrs_code"] for offense in report.offenses}
    victims = [p for p in report.persons if p["role"] == "victim"]
    individuals = [v for v in victims if v["victim_type"] == "individual"]
    tally["reports"] += 1
    tally["missing_officer_name"] += int(not report.incident["officer_name"])
    tally["dv_flagged_report"] += int(report.incident["domestic_violence"] == "Y")
    tally["re_export"] += int(report.reexport is not None)
    tally["sensitive_offense_report"] += int(bool(codes & SENSITIVE_OFFENSE_CODES))
    tally["multi_offense_report"] += int(len(report.offenses) > 1)
    tally["multi_victim_report"] += int(len(victims) > 1)
    tally["report_without_call"] += int(report.call is None)
    tally["victims"] += len(victims)
    tally["non_individual_victims"] += len(victims) - len(individuals)
    tally["business_victims"] += sum(v["victim_type"] == "business" for v in victims)
    tally["juvenile_victims"] += sum(_is_minor(v, report_day) for v in individuals)
    tally["deceased_victims"] += sum(v.get("deceased") == "Y" for v in victims)
    tally["spanish_speaking_victims"] += sum(v.get("language") == "es" for v in victims)
    tally["landline_only_victim"] += sum(_landline_only(v) for v in individuals)
    if report.call is not None and report.call["caller_phone"]:
        caller = next(p for p in report.persons if p["person_seq"] == report.caller_seq)
        tally["victim_phone_only_in_cad"] += int(caller["role"] == "victim" and not caller.get("phone"))


def _landline_only(victim: Row) -> bool:
    phone_type = victim.get("phone_type", "")
    return (
        phone_type == "landline"
        and is_valid_phone(victim.get("phone", ""))
        and not is_valid_email(victim.get("email", ""))
    )
