"""Ground-truth eligibility of the synthetic victims, used to calibrate the simulator.

A victim (persons.csv row with role `victim`) is eligible when all of these hold:

1. victim_type is `individual`;
2. age at least `config.eligibility.minimum_age`: the `age` column when filled, otherwise
   whole years from `birth_date` to the report's `reported_at` date; a victim with neither
   counts only when `config.eligibility.unknown_age` is `notify` (the default `hold` holds them);
3. not deceased;
4. no offense on the report is sensitive: `SENSITIVE_OFFENSE_CODES` (sex offenses 11A–11D,
   36A, 36B; homicide 09A, 09B; kidnapping 100; human trafficking 64A, 64B; intimidation or
   stalking 13C) plus `config.eligibility.extra_excluded_offense_codes`;
5. the report is not flagged domestic violence (latest export of the report);
6. none of the victim's valid phones or e-mails equals a valid phone or e-mail of an offender,
   suspect or arrestee on the same report, phones compared as NANP digits
   (`+1 (520) 555-0147` equals `5205550147`), e-mails trimmed and lower-cased (placeholders
   such as `000-000-0000` are nobody's contact, so they never match);
7. a usable channel in persons.csv: a valid 10-digit NANP phone whose phone_type is not
   `landline`, or a syntactically valid e-mail;
8. contact_consent is not N; an empty value counts as consent only when
   `config.eligibility.contact_given_to_officer_counts_as_consent`.

Division go-live dates are ignored: the figure is agency-wide. A CAD caller phone is not a
channel here; `eligible_with_cad_phone` says who a later CAD join would add.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from ingest.contract import parse_bool
from simulate.offense_mix import SENSITIVE_OFFENSE_CODES
from vnotify.config import AgencyConfig

Row = Mapping[str, str]
PERPETRATOR_ROLES = frozenset({"offender", "suspect", "arrestee"})
NANP_NUMBER = re.compile(r"^[2-9][0-9]{2}[2-9][0-9]{6}$")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def phone_digits(value: str) -> str:
    """Digits only, without the NANP country code 1."""
    digits = re.sub(r"[^0-9]", "", value)
    return digits[1:] if len(digits) == 11 and digits.startswith("1") else digits


def is_valid_phone(value: str) -> bool:
    return bool(NANP_NUMBER.match(phone_digits(value)))


def normalised_email(value: str) -> str:
    return value.strip().lower()


def is_valid_email(value: str) -> bool:
    return bool(EMAIL.match(value.strip()))


def age_on(person: Row, day: dt.date) -> int | None:
    if person.get("age", "").strip():
        return int(person["age"])
    if person.get("birth_date", "").strip():
        born = dt.date.fromisoformat(person["birth_date"].strip())
        return day.year - born.year - ((day.month, day.day) < (born.month, born.day))
    return None


def excluded_codes(config: AgencyConfig) -> frozenset[str]:
    return SENSITIVE_OFFENSE_CODES | frozenset(config.eligibility.extra_excluded_offense_codes)


def perpetrator_contacts(persons: Iterable[Row]) -> set[str]:
    """Normalised phones and e-mails of everyone on the report's offender side."""
    contacts: set[str] = set()
    for person in persons:
        if person["role"] in PERPETRATOR_ROLES:
            contacts |= contact_keys(person.get("phone", ""), person.get("email", ""))
    return contacts


def contact_keys(phone: str, email: str) -> set[str]:
    """The comparable forms of a person's valid phone and e-mail."""
    keys = set()
    if is_valid_phone(phone):
        keys.add(phone_digits(phone))
    if is_valid_email(email):
        keys.add(normalised_email(email))
    return keys


def has_usable_channel(phone: str, phone_type: str, email: str) -> bool:
    mobile_capable = is_valid_phone(phone) and phone_type.strip().lower() != "landline"
    return mobile_capable or is_valid_email(email)


@dataclass(frozen=True)
class ReportFacts:
    """What the rule needs to know about the report a victim is on."""

    day: dt.date
    sensitive: bool
    domestic_violence: bool
    offender_contacts: frozenset[str]


def report_facts(
    incident: Row, offense_codes: Sequence[str], persons: Sequence[Row], config: AgencyConfig
) -> ReportFacts:
    return ReportFacts(
        day=dt.datetime.fromisoformat(incident["reported_at"]).date(),
        sensitive=bool(set(offense_codes) & excluded_codes(config)),
        domestic_violence=bool(parse_bool(incident.get("domestic_violence", ""))),
        offender_contacts=frozenset(perpetrator_contacts(persons)),
    )


def is_eligible(
    victim: Row, report: ReportFacts, config: AgencyConfig, phone_override: str | None = None
) -> bool:
    """Rules 1–8 for one victim; `phone_override` replaces the persons.csv phone (CAD join)."""
    rules = config.eligibility
    phone, phone_type = victim.get("phone", ""), victim.get("phone_type", "")
    if phone_override is not None and phone_digits(phone_override) != phone_digits(phone):
        # A different number from CAD: its type is unknown.
        phone, phone_type = phone_override, "unknown"
    email = victim.get("email", "")
    age = age_on(victim, report.day)
    consent = parse_bool(victim.get("contact_consent", ""))
    return (
        victim.get("victim_type", "").strip().lower() == "individual"
        and (age >= rules.minimum_age if age is not None else rules.unknown_age == "notify")
        and not parse_bool(victim.get("deceased", ""))
        and not report.sensitive
        and not report.domestic_violence
        and not (contact_keys(phone, email) & report.offender_contacts)
        and has_usable_channel(phone, phone_type, email)
        and (consent is True or (consent is None and rules.contact_given_to_officer_counts_as_consent))
    )


def eligible_victims(
    incident: Row, offense_codes: Sequence[str], persons: Sequence[Row], config: AgencyConfig
) -> list[Row]:
    """The report's victims that are eligible under the ground-truth rule."""
    report = report_facts(incident, offense_codes, persons, config)
    return [p for p in persons if p["role"] == "victim" and is_eligible(p, report, config)]


def eligible_with_cad_phone(
    incident: Row,
    offense_codes: Sequence[str],
    persons: Sequence[Row],
    config: AgencyConfig,
    caller: Row,
    cad_phone: str,
) -> bool:
    """True when victim `caller` is ineligible on persons.csv but eligible with the CAD phone."""
    if not cad_phone:
        return False
    report = report_facts(incident, offense_codes, persons, config)
    return not is_eligible(caller, report, config) and is_eligible(
        caller, report, config, phone_override=cad_phone
    )
