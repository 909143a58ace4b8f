"""Names, phones and e-mail addresses for synthetic people, plus the defects real exports carry.

Names come from seeded Faker instances (en_US and es_MX) drawn once into pools, so a run
costs a few thousand Faker calls rather than one per person, and stays deterministic.
Every phone number is in the 555-0100…555-0199 range reserved for fiction and every e-mail is
under example.com/.net/.org, so a misdirected demo can never reach a real person.
"""

from __future__ import annotations

import hashlib
import random
import unicodedata
from dataclasses import dataclass

from faker import Faker

from simulate.offense_mix import Weights, pick_weighted

NAME_POOL_SIZE = 500
COMPANY_POOL_SIZE = 300

AREA_CODES: Weights = (("520", 0.6), ("602", 0.15), ("480", 0.15), ("623", 0.05), ("928", 0.05))
# How people and RMS clerks write the same number; weights roughly as seen in exports.
PHONE_STYLES: Weights = (
    ("({a}) {e}-{n}", 30),
    ("{a}-{e}-{n}", 25),
    ("{a}{e}{n}", 18),
    ("{a}.{e}.{n}", 8),
    ("+1 {a} {e} {n}", 7),
    ("{a} {e} {n}", 7),
    ("1-{a}-{e}-{n}", 5),
)
EMAIL_DOMAINS = ("example.com", "example.net", "example.org", "mail.example.com")

FINANCIAL_SUFFIXES = ("Bank", "Credit Union", "Federal Credit Union", "Savings Bank")
GOVERNMENT_VICTIMS = (
    "City Parks and Recreation",
    "County Library District",
    "Unified School District",
    "State Department of Transportation",
    "City Water Department",
)
RELIGIOUS_VICTIMS = (
    "St. Mary Parish",
    "Iglesia Bautista Central",
    "Desert Valley Church",
    "Temple Beth Shalom",
)
OTHER_VICTIMS = ("Homeowners Association", "Apartment Community", "Youth Soccer League")


@dataclass(frozen=True)
class NamePool:
    female: tuple[str, ...]
    male: tuple[str, ...]
    last: tuple[str, ...]


@dataclass(frozen=True)
class Pools:
    english: NamePool
    spanish: NamePool
    companies: tuple[str, ...]


def derived_seed(seed: int, label: str) -> int:
    """A stable sub-seed (never Python's randomised `hash`)."""
    digest = hashlib.sha256(f"{seed}:{label}".encode()).digest()
    return int.from_bytes(digest[:8], "big")


def _name_pool(fake: Faker) -> NamePool:
    # Faker draws by real name frequency, so repeats in the pool keep common names common.
    return NamePool(
        female=tuple(fake.first_name_female() for _ in range(NAME_POOL_SIZE)),
        male=tuple(fake.first_name_male() for _ in range(NAME_POOL_SIZE)),
        last=tuple(fake.last_name() for _ in range(NAME_POOL_SIZE)),
    )


def build_pools(seed: int) -> Pools:
    english = Faker("en_US")
    english.seed_instance(derived_seed(seed, "faker-en_US"))
    spanish = Faker("es_MX")
    spanish.seed_instance(derived_seed(seed, "faker-es_MX"))
    return Pools(
        english=_name_pool(english),
        spanish=_name_pool(spanish),
        companies=tuple(english.company() for _ in range(COMPANY_POOL_SIZE)),
    )


def person_name(rng: random.Random, pool: NamePool, two_surnames: float = 0.0) -> tuple[str, str]:
    """First and last name; `two_surnames` is the share written with both family names."""
    first = rng.choice(pool.female if rng.random() < 0.5 else pool.male)
    last = rng.choice(pool.last)
    if rng.random() < two_surnames:
        last = f"{last} {rng.choice(pool.last)}"
    return first, last


def organisation_name(rng: random.Random, pools: Pools, victim_type: str) -> str:
    match victim_type:
        case "business":
            company = rng.choice(pools.companies)
            return f"{company} #{rng.randint(100, 9999)}" if rng.random() < 0.35 else company
        case "financial_institution":
            return f"{rng.choice(pools.english.last)} {rng.choice(FINANCIAL_SUFFIXES)}"
        case "government":
            return rng.choice(GOVERNMENT_VICTIMS)
        case "religious_organization":
            return rng.choice(RELIGIOUS_VICTIMS)
        case "society":
            return "SOCIETY/PUBLIC"
        case "other":
            return rng.choice(OTHER_VICTIMS)
        case _:
            return ""


def fictional_phone(rng: random.Random, taken: set[str]) -> str:
    """Ten digits, NANP-shaped, in the 555-01xx fiction range, not in `taken` (which it extends)."""
    while True:
        digits = f"{pick_weighted(rng, AREA_CODES)}55501{rng.randint(0, 99):02d}"
        if digits not in taken:
            taken.add(digits)
            return digits


def phone_style(rng: random.Random, avoid: str | None = None) -> str:
    styles = [(style, weight) for style, weight in PHONE_STYLES if style != avoid]
    return pick_weighted(rng, tuple(styles))


def format_phone(digits: str, style: str) -> str:
    return style.format(a=digits[:3], e=digits[3:6], n=digits[6:])


def invalid_phone(rng: random.Random, digits: str) -> str:
    """A phone as badly entered in an RMS: too short, with letters, or all zeros."""
    area, exchange, line = digits[:3], digits[3:6], digits[6:]
    match rng.choice(("too_short", "letters", "zeros")):
        case "too_short":
            # The area code left off, or the last digit lost.
            return f"{exchange}-{line}" if rng.random() < 0.5 else f"({area}) {exchange}-{line[:3]}"
        case "letters":
            # The letter O typed for a zero, or a note where the number should be.
            return f"{area}-{exchange}-O{line[1:]}" if rng.random() < 0.7 else "CALL WORK"
        case _:
            return "000-000-0000"


def ascii_slug(text: str) -> str:
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "".join(ch for ch in plain.lower() if ch.isalnum())


def email_for(rng: random.Random, first: str, last: str) -> str:
    first_slug, last_slug = ascii_slug(first) or "user", ascii_slug(last.split(" ")[0]) or "mail"
    local = rng.choice(
        (
            f"{first_slug}.{last_slug}",
            f"{first_slug}{last_slug}{rng.randint(1, 99)}",
            f"{first_slug[0]}{last_slug}",
            f"{last_slug}.{first_slug}",
        )
    )
    address = f"{local}@{rng.choice(EMAIL_DOMAINS)}"
    # Some clerks capitalise; addresses compare case-insensitively.
    return address.title() if rng.random() < 0.05 else address


def malformed_email(rng: random.Random, first: str, last: str) -> str:
    first_slug, last_slug = ascii_slug(first) or "jane", ascii_slug(last.split(" ")[0]) or "doe"
    return rng.choice(
        (
            f"{first_slug}.{last_slug}@",  # domain never typed
            f"{first_slug}-{last_slug}.example.com",  # no @
            f"{first_slug[0]}@{last_slug[0]}",  # a@b: no domain dot
        )
    )
