"""The offenses a mid-sized US city's reports carry, with realistic shares.

Shares are percent of reports by primary offense, shaped like a city RMS: larceny about a third
(mostly shoplifting, theft from vehicles and all-other larceny), then simple assault, vandalism,
burglary, fraud and identity theft, vehicle theft. The sensitive offenses a notification must
never reach (sex offenses, homicide, kidnapping, human trafficking, intimidation/stalking) keep
their real, small shares. Agency codes are Arizona Revised Statutes-style section numbers, as
an Arizona RMS would carry next to the NIBRS code.
"""

from __future__ import annotations

import bisect
import csv
import functools
import itertools
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any


# Offenses whose victims are never messaged (docs/architecture.md, rule 1).
def _sensitive_codes() -> frozenset[str]:
    """The offense codes never messaged: read from the dbt seed, the one list the warehouse uses."""
    seed = Path(__file__).resolve().parents[1] / "dbt" / "seeds" / "nibrs_offense_codes.csv"
    with seed.open(newline="", encoding="utf-8") as handle:
        return frozenset(
            row["offense_code"] for row in csv.DictReader(handle) if row["is_sensitive"] == "true"
        )


SENSITIVE_OFFENSE_CODES = _sensitive_codes()
ASSAULT_CODES = frozenset({"13A", "13B", "13C"})
HOMICIDE_CODES = frozenset({"09A", "09B"})

Weights = tuple[tuple[str, float], ...]
INDIVIDUAL: Weights = (("individual", 1.0),)


@dataclass(frozen=True)
class OffenseType:
    code: str
    description: str
    statute: str
    share: float
    victim_types: Weights = INDIVIDUAL
    offender_known: float = 0.3  # chance the report names an offender or suspect
    juvenile_victim: float = 0.015
    dv_share: float = 0.0
    call_share: float = 0.9  # the rest are walk-in or online reports with no CAD call
    call_type: str = "THEFT"
    priority: int = 3
    lag_hours: tuple[float, float] = (0.2, 48.0)  # occurrence to call/report
    attempt_share: float = 0.0


MIXED_OWNER: Weights = (
    ("individual", 0.62),
    ("business", 0.28),
    ("government", 0.06),
    ("other", 0.04),
)
PROPERTY_CRIME: dict[str, Any] = {"lag_hours": (1.0, 72.0)}
VIOLENT: dict[str, Any] = {"offender_known": 0.85, "lag_hours": (0.05, 6.0), "priority": 2}
FRAUD: dict[str, Any] = {
    "offender_known": 0.12,
    "call_share": 0.35,
    "call_type": "FRAUD",
    "lag_hours": (24.0, 2000.0),
}
SEX_OFFENSE: dict[str, Any] = {
    "offender_known": 0.85,
    "call_type": "SEXUAL ASSAULT",
    "priority": 2,
    "lag_hours": (1.0, 900.0),
}

OFFENSE_TYPES: tuple[OffenseType, ...] = (
    # Larceny/theft (23A–23H)
    OffenseType("23A", "THEFT-POCKET PICKING", "13-1802", 0.3, call_type="THEFT", lag_hours=(0.5, 12.0)),
    OffenseType("23B", "THEFT-PURSE SNATCHING", "13-1802", 0.2, call_type="THEFT", lag_hours=(0.1, 3.0)),
    OffenseType(
        "23C",
        "SHOPLIFTING",
        "13-1805",
        8.0,
        victim_types=(("business", 0.97), ("other", 0.03)),
        offender_known=0.85,
        call_type="SHOPLIFTER IN CUSTODY",
        lag_hours=(0.1, 2.0),
    ),
    OffenseType("23D", "THEFT FROM BUILDING", "13-1802", 4.5, victim_types=MIXED_OWNER, **PROPERTY_CRIME),
    OffenseType(
        "23E",
        "THEFT FROM COIN-OPERATED MACHINE",
        "13-1802",
        0.2,
        victim_types=(("business", 1.0),),
        **PROPERTY_CRIME,
    ),
    OffenseType(
        "23F",
        "THEFT FROM VEHICLE",
        "13-1802",
        8.0,
        victim_types=(("individual", 0.94), ("business", 0.05), ("government", 0.01)),
        offender_known=0.05,
        call_share=0.65,
        call_type="THEFT FROM VEHICLE",
        lag_hours=(2.0, 30.0),
    ),
    OffenseType("23G", "THEFT OF VEHICLE PARTS", "13-1802", 1.8, offender_known=0.05, **PROPERTY_CRIME),
    OffenseType(
        "23H",
        "THEFT-ALL OTHER",
        "13-1802",
        12.0,
        victim_types=(("individual", 0.72), ("business", 0.23), ("government", 0.05)),
        offender_known=0.2,
        call_share=0.75,
        **PROPERTY_CRIME,
    ),
    # Burglary, vehicle theft, robbery, damage, arson
    OffenseType(
        "220",
        "BURGLARY",
        "13-1507",
        7.0,
        victim_types=(
            ("individual", 0.7),
            ("business", 0.24),
            ("religious_organization", 0.02),
            ("government", 0.04),
        ),
        offender_known=0.15,
        call_type="BURGLARY",
        attempt_share=0.06,
        **PROPERTY_CRIME,
    ),
    OffenseType(
        "240",
        "THEFT OF MEANS OF TRANSPORTATION",
        "13-1814",
        5.5,
        victim_types=(("individual", 0.86), ("business", 0.14)),
        offender_known=0.1,
        call_type="STOLEN VEHICLE",
        attempt_share=0.05,
        lag_hours=(2.0, 24.0),
    ),
    OffenseType(
        "120",
        "ROBBERY",
        "13-1902",
        1.5,
        victim_types=(("individual", 0.8), ("business", 0.16), ("financial_institution", 0.04)),
        offender_known=0.6,
        call_type="ROBBERY",
        priority=1,
        attempt_share=0.05,
        lag_hours=(0.05, 1.0),
    ),
    OffenseType(
        "290",
        "CRIMINAL DAMAGE",
        "13-1602",
        9.0,
        victim_types=(
            ("individual", 0.6),
            ("business", 0.25),
            ("government", 0.1),
            ("religious_organization", 0.02),
            ("other", 0.03),
        ),
        offender_known=0.3,
        dv_share=0.03,
        call_type="CRIMINAL DAMAGE",
        **PROPERTY_CRIME,
    ),
    OffenseType(
        "200",
        "ARSON",
        "13-1703",
        0.3,
        victim_types=(("individual", 0.6), ("business", 0.3), ("government", 0.1)),
        call_type="FIRE INVESTIGATION",
        priority=2,
    ),
    # Assault
    OffenseType(
        "13B",
        "ASSAULT",
        "13-1203",
        10.0,
        victim_types=(("individual", 0.96), ("law_enforcement", 0.04)),
        juvenile_victim=0.07,
        dv_share=0.10,
        call_type="ASSAULT",
        **VIOLENT,
    ),
    OffenseType(
        "13A",
        "AGGRAVATED ASSAULT",
        "13-1204",
        4.5,
        victim_types=(("individual", 0.95), ("law_enforcement", 0.05)),
        juvenile_victim=0.05,
        dv_share=0.10,
        call_type="AGGRAVATED ASSAULT",
        attempt_share=0.03,
        **{**VIOLENT, "priority": 1},
    ),
    # Fraud (26A–26H), counterfeiting, embezzlement, extortion
    OffenseType(
        "26A",
        "FRAUDULENT SCHEMES",
        "13-2310",
        3.5,
        victim_types=(("individual", 0.75), ("business", 0.15), ("financial_institution", 0.1)),
        **FRAUD,
    ),
    OffenseType(
        "26B",
        "CREDIT CARD FRAUD",
        "13-2105",
        2.0,
        victim_types=(("individual", 0.55), ("financial_institution", 0.45)),
        **FRAUD,
    ),
    OffenseType("26C", "CRIMINAL IMPERSONATION", "13-2006", 1.0, **FRAUD),
    OffenseType("26D", "WELFARE FRAUD", "13-2310", 0.05, victim_types=(("government", 1.0),), **FRAUD),
    OffenseType(
        "26E",
        "WIRE FRAUD",
        "13-2310",
        1.0,
        victim_types=(("individual", 0.8), ("business", 0.2)),
        **FRAUD,
    ),
    OffenseType("26F", "IDENTITY THEFT", "13-2008", 4.0, **FRAUD),
    OffenseType(
        "26G",
        "COMPUTER TAMPERING",
        "13-2316",
        0.3,
        victim_types=(("business", 0.6), ("individual", 0.4)),
        **FRAUD,
    ),
    OffenseType(
        "26H",
        "MONEY LAUNDERING",
        "13-2317",
        0.1,
        victim_types=(("society", 0.7), ("financial_institution", 0.3)),
        **FRAUD,
    ),
    OffenseType(
        "250",
        "FORGERY",
        "13-2002",
        0.6,
        victim_types=(("business", 0.6), ("financial_institution", 0.4)),
        **FRAUD,
    ),
    OffenseType("270", "EMBEZZLEMENT", "13-1802", 0.4, victim_types=(("business", 1.0),), **FRAUD),
    OffenseType("210", "EXTORTION", "13-1804", 0.2, **FRAUD),
    # Crimes against society: the victim is society, there is always someone arrested or cited
    OffenseType(
        "35A",
        "DRUG VIOLATION",
        "13-3407",
        4.0,
        victim_types=(("society", 1.0),),
        offender_known=1.0,
        call_type="SUSPICIOUS ACTIVITY",
        lag_hours=(0.05, 1.0),
    ),
    OffenseType(
        "520",
        "WEAPONS MISCONDUCT",
        "13-3102",
        1.0,
        victim_types=(("society", 1.0),),
        offender_known=1.0,
        call_type="SHOTS FIRED",
        priority=2,
        lag_hours=(0.05, 1.0),
    ),
    # Sensitive offenses: never messaged
    OffenseType(
        "13C",
        "THREATENING OR INTIMIDATING",
        "13-1202",
        3.0,
        dv_share=0.10,
        call_type="THREATS",
        **VIOLENT,
    ),
    OffenseType("11A", "SEXUAL ASSAULT", "13-1406", 0.45, juvenile_victim=0.35, dv_share=0.1, **SEX_OFFENSE),
    OffenseType("11B", "SEXUAL ASSAULT-SODOMY", "13-1406", 0.05, juvenile_victim=0.4, **SEX_OFFENSE),
    OffenseType("11C", "SEXUAL ASSAULT WITH AN OBJECT", "13-1406", 0.05, juvenile_victim=0.4, **SEX_OFFENSE),
    OffenseType("11D", "SEXUAL ABUSE", "13-1404", 0.5, juvenile_victim=0.6, **SEX_OFFENSE),
    OffenseType("36A", "INCEST", "13-3608", 0.02, juvenile_victim=0.5, **SEX_OFFENSE),
    OffenseType("36B", "SEXUAL CONDUCT WITH A MINOR", "13-1405", 0.1, juvenile_victim=1.0, **SEX_OFFENSE),
    OffenseType(
        "09A",
        "HOMICIDE",
        "13-1105",
        0.1,
        offender_known=0.7,
        dv_share=0.1,
        call_type="SHOOTING",
        priority=1,
        lag_hours=(0.05, 4.0),
    ),
    OffenseType(
        "09B",
        "NEGLIGENT HOMICIDE",
        "13-1102",
        0.02,
        offender_known=0.9,
        call_type="INJURY COLLISION",
        priority=1,
        lag_hours=(0.05, 1.0),
    ),
    OffenseType(
        "100",
        "KIDNAPPING",
        "13-1304",
        0.25,
        juvenile_victim=0.2,
        dv_share=0.15,
        call_type="KIDNAPPING",
        **{**VIOLENT, "priority": 1},
    ),
    OffenseType("64A", "SEX TRAFFICKING", "13-1307", 0.03, juvenile_victim=0.3, **SEX_OFFENSE),
    OffenseType(
        "64B",
        "TRAFFICKING-INVOLUNTARY SERVITUDE",
        "13-1308",
        0.02,
        juvenile_victim=0.3,
        **SEX_OFFENSE,
    ),
)

BY_CODE: dict[str, OffenseType] = {offense.code: offense for offense in OFFENSE_TYPES}
_CODES = [offense.code for offense in OFFENSE_TYPES]
_CUMULATIVE_SHARES = list(itertools.accumulate(offense.share for offense in OFFENSE_TYPES))

# Offenses that travel together in one report, with the chance each is added to the primary.
COMPANIONS: dict[str, Weights] = {
    "220": (("23H", 0.3), ("290", 0.12), ("23D", 0.05)),
    "23F": (("290", 0.15), ("26B", 0.05)),
    "23C": (("35A", 0.04), ("13B", 0.02)),
    "120": (("13A", 0.2), ("13B", 0.1), ("240", 0.03)),
    "13A": (("13C", 0.1), ("290", 0.08), ("520", 0.08)),
    "13B": (("13C", 0.08), ("290", 0.08), ("23H", 0.03)),
    "290": (("13C", 0.04), ("23H", 0.04)),
    "26F": (("26A", 0.2), ("26B", 0.2)),
    "26A": (("26E", 0.1), ("26F", 0.1)),
    "26B": (("26F", 0.25),),
    "240": (("23F", 0.05), ("290", 0.04)),
    "35A": (("520", 0.08),),
    "11A": (("13A", 0.1), ("100", 0.08)),
    "09A": (("520", 0.2), ("13A", 0.1)),
    "100": (("13A", 0.2), ("11A", 0.05)),
}
MAX_OFFENSES = 3


def pick_offenses(rng: random.Random) -> list[OffenseType]:
    """A report's offenses: the primary first, then up to two companions."""
    primary = BY_CODE[rng.choices(_CODES, cum_weights=_CUMULATIVE_SHARES)[0]]
    offenses = [primary]
    for code, chance in COMPANIONS.get(primary.code, ()):
        if len(offenses) < MAX_OFFENSES and rng.random() < chance:
            offenses.append(BY_CODE[code])
    return offenses


def pick_weighted(rng: random.Random, weights: Weights) -> str:
    values, cumulative = _cumulative(weights)
    return values[bisect.bisect(cumulative, rng.random() * cumulative[-1])]


@functools.cache
def _cumulative(weights: Weights) -> tuple[tuple[str, ...], tuple[float, ...]]:
    # Cached per weights table: most picks reuse a handful of module-level tables.
    values = tuple(value for value, _ in weights)
    return values, tuple(itertools.accumulate(weight for _, weight in weights))
