"""The victim-safety gate, checked from the outside on generated agencies.

Each example generates a month of a synthetic agency, plants hazards in the export itself
(juveniles, the deceased, businesses, refused consent, a victim's phone or e-mail on a suspect,
a newer report version flagged domestic violence, an added sensitive offense), ingests it,
plants opt-outs and outbox rows straight into the ops tables, runs the warehouse, and then
re-derives every rule of docs/architecture.md ("Rules that never bend") in plain Python from
the exported CSV files and the ops tables, never from the warehouse's own staging or
intermediate models. Every row of restricted.notifications_due must survive all of them.

`test_the_checker_flags_every_rule` proves each rule of the checker can fail: it feeds the
checker a victim that passes, then variants of the same export that break one rule each.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import math
import random
import re
import secrets
import shutil
import unicodedata
from collections import defaultdict
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import phonenumbers
import psycopg
import pytest
from hypothesis import Phase, given, note, settings
from hypothesis import strategies as st
from psycopg.rows import dict_row
from sqlalchemy.engine import make_url

from ingest.run import ingest_path
from simulate.agency import generate_agency
from simulate.eligibility import is_eligible, report_facts
from vnotify.config import AgencyConfig, load_config
from vnotify.paths import REPO_ROOT
from warehouse.contacts import normalize_new_contacts
from warehouse.transform import transform

Row = Mapping[str, str]
PERPETRATORS = frozenset({"offender", "suspect", "arrestee"})
# Rule 1 by name, independent of the seed: sexual offenses, homicide, kidnapping, human
# trafficking, intimidation/stalking. The seed may add codes; it may never drop these.
RULE_ONE_CODES = frozenset(
    {"11A", "11B", "11C", "11D", "36A", "36B", "09A", "09B", "100", "64A", "64B", "13C"}
)
SEED = REPO_ROOT / "dbt" / "seeds" / "nibrs_offense_codes.csv"
AS_OF = "2025-03-20T12:00:00+00:00"
DUE_COLUMNS = "report_number, person_seq, phone_e164, email, channels, arm, reported_at, division_code"


# --------------------------------------------------------------------------------------------
# The export, read independently of the warehouse


def _truthy(value: str | None) -> bool | None:
    """A contract boolean: Y/N, true/false, 1/0 in any case; None when empty or unreadable."""
    folded = (value or "").strip().lower()
    if folded in ("y", "yes", "true", "t", "1"):
        return True
    if folded in ("n", "no", "false", "f", "0"):
        return False
    return None


def e164(raw: str | None) -> str | None:
    """A phone as E.164 when `phonenumbers` (US default region) calls it valid."""
    if not raw or not raw.strip():
        return None
    try:
        number = phonenumbers.parse(raw, "US")
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def email_key(raw: str | None) -> str | None:
    folded = (raw or "").strip().lower()
    return folded or None


def victim_key(report_number: str, person_seq: int) -> str:
    from warehouse import keys

    return keys.victim_key(report_number, person_seq)


def bucket(salt: str, report_number: str) -> float:
    return int(hashlib.md5(f"{salt}:{report_number}".encode()).hexdigest()[:8], 16) / 2**32


def _seed_codes() -> tuple[frozenset[str], frozenset[str]]:
    with SEED.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    sensitive = {r["offense_code"].strip().upper() for r in rows if r["is_sensitive"].strip() == "true"}
    notifiable = {r["offense_code"].strip().upper() for r in rows if r["is_notifiable"].strip() == "true"}
    return frozenset(sensitive), frozenset(notifiable)


SEED_SENSITIVE, SEED_NOTIFIABLE = _seed_codes()


def _read(folder: Path, name: str) -> list[dict[str, str]]:
    path = Path(folder) / name
    if not path.exists():
        return []
    with path.open(newline="", encoding="utf-8-sig") as handle:
        return list(csv.DictReader(handle))


def name_key(name: str | None) -> str:
    """A name compared as CAD call-takers type it either way: "DOE, JANE" = "Jane Doe"."""
    folded = unicodedata.normalize("NFKD", name or "")
    folded = "".join(ch for ch in folded if not unicodedata.combining(ch)).lower()
    folded = re.sub(r"[\'’`]", "", folded)
    return " ".join(sorted(re.sub(r"[^a-z0-9]+", " ", folded).split()))


def _timestamp(value: str, config: AgencyConfig) -> dt.datetime:
    moment = dt.datetime.fromisoformat(value.strip())
    return moment if moment.tzinfo else moment.replace(tzinfo=config.agency.zone)


@dataclass
class Export:
    """The newest version of each report (by updated_at), its offenses, its people and the CAD
    calls that name it."""

    incidents: dict[str, dict[str, str]]
    offenses: dict[str, list[dict[str, str]]]
    persons: dict[tuple[str, int], dict[str, str]]
    people_on: dict[str, list[dict[str, str]]]
    calls_on: dict[str, list[dict[str, str]]]

    @classmethod
    def from_rows(cls, incidents, offenses, persons, config: AgencyConfig, cad_calls=()) -> Export:
        newest: dict[str, dict[str, str]] = {}
        for row in incidents:  # ties: the later row wins, as a later export would
            number = row["report_number"].strip()
            current = newest.get(number)
            if current is None or _timestamp(row["updated_at"], config) >= _timestamp(
                current["updated_at"], config
            ):
                newest[number] = row
        by_report: dict[str, list[dict[str, str]]] = defaultdict(list)
        for row in offenses:
            by_report[row["report_number"].strip()].append(row)
        people: dict[tuple[str, int], dict[str, str]] = {}
        people_on: dict[str, list[dict[str, str]]] = defaultdict(list)
        for row in persons:
            number = row["report_number"].strip()
            people[(number, int(row["person_seq"]))] = row
            people_on[number].append(row)
        calls_on: dict[str, list[dict[str, str]]] = defaultdict(list)
        for row in cad_calls:
            if (row.get("report_number") or "").strip():
                calls_on[row["report_number"].strip()].append(row)
        return cls(newest, dict(by_report), people, dict(people_on), dict(calls_on))

    @classmethod
    def read(cls, folder: Path, config: AgencyConfig) -> Export:
        return cls.from_rows(
            _read(folder, "incidents.csv"),
            _read(folder, "offenses.csv"),
            _read(folder, "persons.csv"),
            config,
            _read(folder, "cad_calls.csv"),
        )


def _age_at(person: Row, day: dt.date) -> int | None:
    if (person.get("age") or "").strip():
        return int(person["age"])
    if (person.get("birth_date") or "").strip():
        born = dt.date.fromisoformat(person["birth_date"].strip())
        return day.year - born.year - ((day.month, day.day) < (born.month, born.day))
    return None


def _division_code(raw: str, config: AgencyConfig) -> str | None:
    keys = {d.code.upper(): d.code for d in config.divisions}
    keys |= {alias.strip().upper(): d.code for d in config.divisions for alias in d.aliases}
    return keys.get((raw or "").strip().upper())


# --------------------------------------------------------------------------------------------
# The checker: every rule a due row must satisfy, as (report_number, person_seq, rule)


def violations(
    due: Sequence[Mapping[str, Any]],
    export: Export,
    *,
    config: AgencyConfig,
    opt_outs: Mapping[str, set[str]],
    outbox_keys: set[str],
    as_of: dt.datetime,
    kind: str = "initial",
    initial_outbox: Mapping[tuple[str, str], Mapping[str, str]] | None = None,
) -> list[tuple[str, int, str]]:
    """The rules each row breaks. A row's kind (its `kind` column, else KIND) is `initial` (a
    victim's first notice), `reporting_party` or `status_update`; `outbox_keys` are the victim
    keys with an outbox row of that kind, `initial_outbox` maps (victim_key, report_number) to
    {channel: state} of the `initial` rows (status updates only)."""
    rules = config.eligibility
    experiment = config.experiment
    sensitive = SEED_SENSITIVE | RULE_ONE_CODES | set(rules.extra_excluded_offense_codes)
    found: list[tuple[str, int, str]] = []
    seen: set[tuple[str, int, str, str]] = set()
    for row in due:
        number, seq = row["report_number"], int(row["person_seq"])
        row_kind = row.get("kind") or kind
        is_rp = row_kind == "reporting_party"

        def flag(rule: str, number=number, seq=seq) -> None:
            if (number, seq, rule) not in found:
                found.append((number, seq, rule))

        person, incident = export.persons.get((number, seq)), export.incidents.get(number)
        if person is None or incident is None:
            flag("not_in_export")
            continue
        reported_at = _timestamp(incident["reported_at"], config)
        reported_day = reported_at.astimezone(config.agency.zone).date()
        channels = list(row["channels"] or [])

        # Rule 1: who is never messaged.
        role = person["role"].strip().lower()
        if is_rp and role != "reporting_party":
            flag("not_a_reporting_party")
        if not is_rp and role != "victim":
            flag("not_a_victim")
        victim_type = (person.get("victim_type") or "").strip().lower()
        if is_rp and not victim_type:  # reporting parties usually carry none
            victim_type = "individual"
        if victim_type != "individual":
            flag("not_individual")
        age = _age_at(person, reported_day)
        if age is not None and age < rules.minimum_age:
            flag("juvenile")
        if age is None and rules.unknown_age == "hold":
            flag("age_unknown")
        if _truthy(person.get("deceased")) is True:
            flag("deceased")
        codes = {o["nibrs_code"].strip().upper() for o in export.offenses.get(number, [])}
        if codes & sensitive:
            flag("sensitive_offense")
        if _truthy(incident.get("domestic_violence")) is True:
            flag("domestic_violence")
        perpetrators = [
            p for p in export.people_on.get(number, []) if p["role"].strip().lower() in PERPETRATORS
        ]
        their_phones = {e164(p.get("phone")) for p in perpetrators} - {None}
        their_emails = {email_key(p.get("email")) for p in perpetrators} - {None}
        own_phone, own_email = e164(person.get("phone")), email_key(person.get("email"))
        if (own_phone and own_phone in their_phones) or (own_email and own_email in their_emails):
            flag("contact_shared_with_offender")
        if (row["phone_e164"] and row["phone_e164"] in their_phones) or (
            row["email"] and row["email"].lower() in their_emails
        ):
            flag("contact_shared_with_offender")
        if is_rp:  # a reporting party who is also a victim on the report hears as a victim only
            victims = [p for p in export.people_on.get(number, []) if p["role"].strip().lower() == "victim"]
            names = {name_key(f"{v.get('first_name') or ''} {v.get('last_name') or ''}") for v in victims}
            phones = {e164(v.get("phone")) for v in victims} - {None}
            emails = {email_key(v.get("email")) for v in victims} - {None}
            own_name = name_key(f"{person.get('first_name') or ''} {person.get('last_name') or ''}")
            if (
                (own_name and own_name in names)
                or {own_phone, row["phone_e164"]} & phones
                or {own_email, email_key(row["email"])} & emails
            ):
                flag("reporting_party_is_a_victim")

        # Rule 2: consent, opt-outs, holdout, and a channel that is the victim's own.
        consent = _truthy(person.get("contact_consent"))
        if consent is False or (consent is None and not rules.contact_given_to_officer_counts_as_consent):
            flag("no_consent_basis")
        if not channels or set(channels) - {"sms", "email"}:
            flag("no_channel")
        own_is_landline = (person.get("phone_type") or "").strip().lower() == "landline"
        from_cad = "sms" in channels and _is_callers_phone(row["phone_e164"], person, export, config)
        if "sms" in channels and not from_cad:
            if not own_phone or row["phone_e164"] != own_phone:
                flag("sms_to_an_address_not_the_victims")
            if own_is_landline:
                flag("sms_to_a_landline")
            if {own_phone, row["phone_e164"]} & opt_outs.get("sms", set()):
                flag("opted_out")
        if "email" in channels:
            if not own_email or (row["email"] or "").lower() != own_email:
                flag("email_to_an_address_not_the_victims")
            if {own_email, (row["email"] or "").lower()} & opt_outs.get("email", set()):
                flag("opted_out")
        in_window = reported_day >= experiment.start_date and (
            experiment.end_date is None or reported_day <= experiment.end_date
        )
        if row["arm"] == "B":
            flag("holdout_arm")
        if in_window and row["arm"] != "A" and not is_rp:  # reporting parties are not randomized
            flag("unassigned_in_experiment_window")
        if in_window and bucket(experiment.salt, number) < experiment.holdout_share:
            flag("holdout_bucket")

        # Rule 3: one notification per victim per report per kind (and subject).
        if victim_key(number, seq) in outbox_keys:
            flag("already_notified")
        once = (number, seq, row_kind, row.get("subject") or "")
        if once in seen:
            flag("due_twice")
        seen.add(once)

        # A status update: the first notice went out, never again on a channel that failed, and
        # about the report's current status or detective.
        if row_kind == "status_update":
            initial = (initial_outbox or {}).get((victim_key(number, seq), number), {})
            if "sent" not in initial.values():
                flag("initial_not_sent")
            if any(initial.get(channel) == "failed" for channel in channels):
                flag("channel_whose_initial_failed")
            current_status = (incident.get("case_status") or "").strip().lower() or "open"
            detective = (incident.get("assigned_detective") or "").strip().lower()
            subject = row.get("subject") or ""
            if subject not in (current_status, f"detective:{detective}" if detective else None):
                flag("subject_not_current")

        # The configuration's own limits: a live division, a fresh report, a notifiable offense.
        division = _division_code(incident.get("division", ""), config)
        go_live = next((d.go_live for d in config.divisions if d.code == division), None)
        if division is None or go_live is None or reported_day < go_live:
            flag("division_not_live")
        if row.get("division_code") is not None and row["division_code"] != division:
            flag("wrong_division")
        if reported_at < as_of - dt.timedelta(days=rules.max_report_age_days):
            flag("stale_report")
        if not (codes & SEED_NOTIFIABLE) - sensitive:
            flag("offense_not_notifiable")

        # A second opinion: the simulator's own ground truth (rules 1 and 2, agency-wide).
        facts = report_facts(
            incident,
            [o["nibrs_code"].strip().upper() for o in export.offenses.get(number, [])],
            export.people_on.get(number, []),
            config,
        )
        judged = dict(person, victim_type=victim_type) if is_rp else person
        if not is_eligible(judged, facts, config, phone_override=row["phone_e164"] if from_cad else None):
            flag("simulator_ground_truth")
    return found


def _is_callers_phone(phone: str | None, person: Row, export: Export, config: AgencyConfig) -> bool:
    """Contact from dispatch: the person had no textable RMS phone, consent allows the CAD one,
    and a CAD call on the report came from `phone` with the person's name as the caller."""
    notices = config.notices
    own_phone = e164(person.get("phone"))
    own_is_landline = (person.get("phone_type") or "").strip().lower() == "landline"
    consent = _truthy(person.get("contact_consent"))
    if not (notices.cad_caller_phone and phone and phone != own_phone):
        return False
    if own_phone and not own_is_landline:
        return False
    if consent is False or (consent is None and not notices.caller_phone_counts_as_consent):
        return False
    name = name_key(f"{person.get('first_name') or ''} {person.get('last_name') or ''}")
    return bool(name) and any(
        e164(call.get("caller_phone")) == phone and name_key(call.get("caller_name")) == name
        for call in export.calls_on.get(person["report_number"].strip(), [])
    )


# --------------------------------------------------------------------------------------------
# Database helpers


def _all_live(config: AgencyConfig) -> AgencyConfig:
    return config.model_copy(
        update={
            "divisions": [d.model_copy(update={"go_live": dt.date(2025, 1, 1)}) for d in config.divisions]
        }
    )


@contextmanager
def _fresh_database(admin_url: str, template: str) -> Iterator[str]:
    """A migrated database of the example's own, cloned from the session template."""
    name = f"vnotify_prop_{secrets.token_hex(4)}"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    try:
        yield make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _query(url: str, sql: str, *params) -> list[dict[str, Any]]:
    with psycopg.connect(url) as conn, conn.cursor(row_factory=dict_row) as cursor:
        return cursor.execute(sql, params).fetchall()


def _ops_state(url: str) -> tuple[dict[str, set[str]], set[str]]:
    opt_outs: dict[str, set[str]] = {"sms": set(), "email": set()}
    for r in _query(url, "SELECT channel, address FROM ops.opt_outs"):
        opt_outs[r["channel"]].add(r["address"])
    outbox = {
        r["victim_key"] for r in _query(url, "SELECT victim_key FROM ops.outbox WHERE kind = 'initial'")
    }
    return opt_outs, outbox


def _plant(url: str, *, sms: list[str], email: list[str], outbox: list[str]) -> dict[str, int]:
    """Opt out the phones / emails of the victims named "report:seq", and put others in the
    outbox, as the reply handler and the dispatcher would."""
    pair = "btrim(p.report_number) || ':' || (btrim(p.person_seq)::int)::text"
    with psycopg.connect(url, autocommit=True) as conn:
        planted = {
            "sms_opt_outs": conn.execute(
                f"""INSERT INTO ops.opt_outs (channel, address, source)
                    SELECT DISTINCT 'sms', n.e164, 'test' FROM raw.persons p
                    JOIN ops.phone_numbers n ON n.raw_phone = p.phone AND n.is_valid
                    WHERE {pair} = ANY(%s) ON CONFLICT DO NOTHING""",
                (sms,),
            ).rowcount,
            "email_opt_outs": conn.execute(
                f"""INSERT INTO ops.opt_outs (channel, address, source)
                    SELECT DISTINCT 'email', e.normalized, 'test' FROM raw.persons p
                    JOIN ops.email_addresses e ON e.raw_email = p.email AND e.is_valid
                    WHERE {pair} = ANY(%s) ON CONFLICT DO NOTHING""",
                (email,),
            ).rowcount,
            "outbox": sum(
                conn.execute(
                    "INSERT INTO ops.outbox (victim_key, report_number, kind, channel)"
                    " VALUES (%s, %s, 'initial', 'sms') ON CONFLICT DO NOTHING",
                    (victim_key(number, int(seq)), number),
                ).rowcount
                for number, seq in (name.rsplit(":", 1) for name in outbox)
            ),
        }
    return planted


# --------------------------------------------------------------------------------------------
# Hazards planted in the export itself, so every example exercises the rare rules

REASON_OF_HAZARD = {
    "juvenile_by_age": "juvenile",
    "juvenile_by_birth_date": "juvenile",
    "deceased": "deceased",
    "not_individual": "not_individual",
    "consent_refused": "no_consent_basis",
    "phone_shared_with_suspect": "contact_shared_with_offender",
    "email_shared_with_offender": "contact_shared_with_offender",
    "domestic_violence_in_newer_version": "domestic_violence",
    "sensitive_offense_added": "sensitive_offense",
}


def _write(folder: Path, name: str, rows: list[dict[str, str]], fields: list[str]) -> None:
    with (folder / name).open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=fields, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


def plant_hazards(
    folder: Path, rng: random.Random, share: float, config: AgencyConfig
) -> list[tuple[str, int, str]]:
    """Give SHARE of the individual victims one hazard each; returns (report, seq, hazard)."""
    incidents, offenses, persons = (
        _read(folder, f) for f in ("incidents.csv", "offenses.csv", "persons.csv")
    )
    fields = {name: list(rows[0]) for name, rows in (("i", incidents), ("o", offenses), ("p", persons))}
    victims = [p for p in persons if p["role"] == "victim" and p["victim_type"] == "individual"]
    chosen = rng.sample(victims, math.ceil(len(victims) * share)) if share else []
    newest = Export.from_rows(incidents, [], [], config).incidents
    next_person: dict[str, int] = defaultdict(int)
    for p in persons:
        next_person[p["report_number"]] = max(next_person[p["report_number"]], int(p["person_seq"]) + 1)
    next_offense: dict[str, int] = defaultdict(lambda: 1)
    for o in offenses:
        next_offense[o["report_number"]] = max(next_offense[o["report_number"]], int(o["offense_seq"]) + 1)
    planted = []
    for victim in chosen:
        number = victim["report_number"]
        hazard = rng.choice(sorted(REASON_OF_HAZARD))
        if hazard == "phone_shared_with_suspect" and not e164(victim["phone"]):
            hazard = "deceased"
        if hazard == "email_shared_with_offender" and not email_key(victim["email"]):
            hazard = "consent_refused"
        reported = _timestamp(newest[number]["reported_at"], config).date()
        if hazard == "juvenile_by_age":
            victim.update(age=str(rng.randint(0, config.eligibility.minimum_age - 1)), birth_date="")
        elif hazard == "juvenile_by_birth_date":
            years = rng.randint(1, config.eligibility.minimum_age - 1)
            victim.update(age="", birth_date=reported.replace(year=reported.year - years, day=1).isoformat())
        elif hazard == "deceased":
            victim["deceased"] = rng.choice(["Y", "true", "1"])
        elif hazard == "not_individual":
            victim["victim_type"] = rng.choice(["business", "government", "society"])
        elif hazard == "consent_refused":
            victim["contact_consent"] = rng.choice(["N", "n", "false", "0"])
        elif hazard in ("phone_shared_with_suspect", "email_shared_with_offender"):
            digits = e164(victim["phone"])[-10:] if hazard == "phone_shared_with_suspect" else ""
            perpetrator = dict.fromkeys(fields["p"], "") | {
                "report_number": number,
                "person_seq": str(next_person[number]),
                "role": "suspect" if digits else "offender",
                "first_name": "Planted",
                "last_name": "Perpetrator",
                "phone": f"{digits[:3]}.{digits[3:6]}.{digits[6:]}" if digits else "",
                "email": "" if digits else f" {victim['email'].strip().upper()} ",
            }
            next_person[number] += 1
            persons.append(perpetrator)
        elif hazard == "domestic_violence_in_newer_version":
            version = newest[number]
            later = dt.datetime.fromisoformat(version["updated_at"]) + dt.timedelta(minutes=5)
            newest[number] = dict(version, domestic_violence="Y", updated_at=later.isoformat())
            incidents.append(newest[number])
        elif hazard == "sensitive_offense_added":
            code = rng.choice(sorted(RULE_ONE_CODES))
            offenses.append(
                dict.fromkeys(fields["o"], "")
                | {"report_number": number, "offense_seq": str(next_offense[number]), "nibrs_code": code}
            )
            next_offense[number] += 1
        planted.append((number, int(victim["person_seq"]), hazard))
    _write(folder, "incidents.csv", incidents, fields["i"])
    _write(folder, "offenses.csv", offenses, fields["o"])
    _write(folder, "persons.csv", persons, fields["p"])
    return planted


# --------------------------------------------------------------------------------------------
# The property


SHARES = st.sampled_from([0.0, 0.15, 0.3])


@pytest.mark.server
@pytest.mark.slow(minutes=2)
def test_no_unsafe_victim_is_ever_due(server_admin_url, migrated_template, tmp_path):
    config = _all_live(load_config())
    due_counts: list[int] = []

    @settings(
        max_examples=6,
        deadline=None,
        derandomize=True,
        database=None,
        phases=[Phase.explicit, Phase.generate],  # no shrinking: each example costs ~8 s
    )
    @given(
        seed=st.integers(0, 100_000),
        scale=st.sampled_from([0.05, 0.08]),
        start=st.sampled_from([dt.date(2025, 2, 17), dt.date(2025, 3, 1), dt.date(2025, 6, 1)]),
        as_of_hours=st.integers(1, 3 * 24),
        hazard_share=SHARES,
        sms_share=SHARES,
        email_share=SHARES,
        outbox_share=SHARES,
        pick=st.integers(0, 2**32 - 1),
    )
    def example(seed, scale, start, as_of_hours, hazard_share, sms_share, email_share, outbox_share, pick):
        folder = tmp_path / f"agency-{seed}-{scale}-{start}"
        shutil.rmtree(folder, ignore_errors=True)
        generate_agency(config, months=1, scale=scale, seed=seed, start=start, out_dir=folder)
        chooser = random.Random(pick)
        hazards = plant_hazards(folder, chooser, hazard_share, config)
        note(f"hazards={hazards}")
        export = Export.read(folder, config)
        last_report = max(_timestamp(i["reported_at"], config) for i in export.incidents.values())
        as_of = last_report + dt.timedelta(hours=as_of_hours)

        victims = sorted(f"{n}:{s}" for (n, s), p in export.persons.items() if p["role"] == "victim")

        def some(share: float) -> list[str]:
            return chooser.sample(victims, math.ceil(len(victims) * share)) if share else []

        with _fresh_database(server_admin_url, migrated_template) as url:
            results = ingest_path(folder, "contract-csv", url=url, config=config)
            assert all(r.status == "loaded" for r in results), results
            normalize_new_contacts(url)  # so opt-outs can name the E.164 / normalized form
            planted = _plant(url, sms=some(sms_share), email=some(email_share), outbox=some(outbox_share))
            note(f"as_of={as_of.isoformat()} planted={planted}")
            if sms_share:
                assert planted["sms_opt_outs"] > 0
            if outbox_share:
                assert planted["outbox"] > 0
            result = transform(url=url, config=config, as_of=as_of.isoformat(), quiet=True)
            assert result.success, result.failures
            due = _query(url, f"SELECT {DUE_COLUMNS} FROM restricted.notifications_due")
            opt_outs, outbox_keys = _ops_state(url)
            decided = {
                (r["report_number"], r["victim_key"]): r["reasons"]
                for r in _query(
                    url,
                    "SELECT report_number, victim_key, reasons FROM intermediate.int_victims__eligibility_evaluated",
                )
            }
        due_counts.append(len(due))
        note(f"{len(due)} due")
        found = violations(
            due, export, config=config, opt_outs=opt_outs, outbox_keys=outbox_keys, as_of=as_of
        )
        assert not found, f"unsafe victims due: {found}"
        keys = [(r["report_number"], r["person_seq"]) for r in due]
        assert len(keys) == len(set(keys)), "a victim is due twice"
        # Each planted hazard reached the warehouse and was recorded with its reason.
        for number, seq, hazard in hazards:
            reasons = decided.get((number, victim_key(number, seq)))
            assert reasons is not None and REASON_OF_HAZARD[hazard] in reasons, (number, seq, hazard, reasons)

    example()
    # Not vacuous: most examples had victims due, and so had something to check.
    assert sum(n > 0 for n in due_counts) >= max(1, math.ceil(0.6 * len(due_counts))), due_counts


# --------------------------------------------------------------------------------------------
# Every assertion of the checker can fail


def _clean_due_row(export: Export, config: AgencyConfig, as_of: dt.datetime) -> dict[str, Any]:
    """A due row for a victim the checker accepts, reachable on both channels if possible."""
    candidates = []
    for (number, seq), person in export.persons.items():
        if person["role"] != "victim":
            continue
        phone, email = e164(person.get("phone")), email_key(person.get("email"))
        sms_ok = phone and (person.get("phone_type") or "").strip().lower() != "landline"
        row = {
            "report_number": number,
            "person_seq": seq,
            "phone_e164": phone if sms_ok else None,
            "email": email,
            "channels": [c for c, ok in (("sms", sms_ok), ("email", email)) if ok],
            "arm": "A",
            "division_code": _division_code(export.incidents.get(number, {}).get("division", ""), config),
        }
        if not violations([row], export, config=config, opt_outs={}, outbox_keys=set(), as_of=as_of):
            candidates.append(row)
    assert candidates, "the small agency has no victim the checker accepts"
    return max(candidates, key=lambda r: len(r["channels"]))


def test_the_checker_flags_every_rule(small_agency):
    config = _all_live(load_config())
    base = Export.read(small_agency, config)
    as_of = dt.datetime.fromisoformat(AS_OF)
    row = _clean_due_row(base, config, as_of)
    number, seq = row["report_number"], row["person_seq"]
    assert row["channels"] == ["sms", "email"]
    person = base.persons[(number, seq)]
    incident = base.incidents[number]
    reported_day = _timestamp(incident["reported_at"], config).date()

    def rules(export=base, due=row, *, cfg=config, opt_outs=None, outbox=frozenset(), when=as_of) -> set[str]:
        found = violations(
            [due], export, config=cfg, opt_outs=opt_outs or {}, outbox_keys=set(outbox), as_of=when
        )
        return {rule for _, _, rule in found}

    def changed(**fields: str) -> Export:
        """The export with this victim's row changed."""
        persons = [dict(p, **fields) if (p is person) else p for p in _rows(base.people_on)]
        return Export.from_rows(
            list(base.incidents.values()), _rows(base.offenses), persons, config, _rows(base.calls_on)
        )

    def with_rows(*, incidents=(), offenses=(), persons=(), calls=()) -> Export:
        return Export.from_rows(
            [*base.incidents.values(), *incidents],
            [*_rows(base.offenses), *offenses],
            [*_rows(base.people_on), *persons],
            config,
            [*_rows(base.calls_on), *calls],
        )

    assert rules() == set()
    assert "not_a_victim" in rules(changed(role="witness"))
    assert "not_individual" in rules(changed(victim_type="business"))
    assert "juvenile" in rules(changed(age="16"))
    birthday = reported_day.replace(year=reported_day.year - 17)
    assert "juvenile" in rules(changed(age="", birth_date=birthday.isoformat()))
    assert "juvenile" not in rules(
        changed(age="", birth_date=birthday.replace(year=birthday.year - 1).isoformat())
    )
    assert "age_unknown" in rules(changed(age="", birth_date=""))
    lenient = config.model_copy(
        update={"eligibility": config.eligibility.model_copy(update={"unknown_age": "notify"})}
    )
    assert "age_unknown" not in rules(changed(age="", birth_date=""), cfg=lenient)
    assert "deceased" in rules(changed(deceased="Y"))
    for code in sorted(RULE_ONE_CODES):
        offense = {"report_number": number, "offense_seq": "9", "nibrs_code": code}
        assert "sensitive_offense" in rules(with_rows(offenses=[offense])), code
    later = _timestamp(incident["updated_at"], config) + dt.timedelta(hours=1)
    flagged = dict(incident, domestic_violence="Y", updated_at=later.replace(tzinfo=None).isoformat())
    assert "domestic_violence" in rules(with_rows(incidents=[flagged]))
    # Only the newest version counts: flagged, then cleared.
    cleared = dict(incident, domestic_violence="N", updated_at=(later + dt.timedelta(hours=1)).isoformat())
    assert "domestic_violence" not in rules(with_rows(incidents=[flagged, cleared]))
    digits = re.sub(r"\D", "", row["phone_e164"])[-10:]
    offender = {"report_number": number, "person_seq": "99", "role": "suspect", "victim_type": ""}
    same_phone = dict(offender, phone=f"({digits[:3]}) {digits[3:6]}-{digits[6:]}", email="")
    same_email = dict(offender, phone="", email=f"  {row['email'].upper()} ")
    assert "contact_shared_with_offender" in rules(with_rows(persons=[same_phone]))
    assert "contact_shared_with_offender" in rules(with_rows(persons=[same_email]))
    assert "contact_shared_with_offender" not in rules(with_rows(persons=[dict(same_phone, role="witness")]))
    assert "no_consent_basis" in rules(changed(contact_consent="N"))
    strict = config.model_copy(
        update={
            "eligibility": config.eligibility.model_copy(
                update={"contact_given_to_officer_counts_as_consent": False}
            )
        }
    )
    assert "no_consent_basis" in rules(changed(contact_consent=""), cfg=strict)
    assert "opted_out" in rules(opt_outs={"sms": {row["phone_e164"]}})
    assert "opted_out" in rules(opt_outs={"email": {row["email"]}})
    assert "opted_out" not in rules(due=dict(row, channels=["email"]), opt_outs={"sms": {row["phone_e164"]}})
    assert "no_channel" in rules(due=dict(row, channels=[]))
    assert "sms_to_an_address_not_the_victims" in rules(due=dict(row, phone_e164="+15205550199"))
    assert "email_to_an_address_not_the_victims" in rules(due=dict(row, email="someone@example.org"))
    assert "sms_to_a_landline" in rules(changed(phone_type="landline"))
    # Contact from dispatch: the CAD caller's phone, only for the caller, without a textable RMS
    # phone, with consent, and with the setting on.
    cad_phone = "+15205550177"
    call = {
        "report_number": number,
        "call_number": "C-TEST",
        "caller_name": f"{person.get('last_name', '')}, {person.get('first_name', '')}".upper(),
        "caller_phone": "(520) 555-0177",
    }
    no_phone = dict(person, phone="", contact_consent="Y")
    cad_row = dict(row, phone_e164=cad_phone)

    def with_caller(victim=no_phone, caller=call) -> Export:
        persons = [victim if (p is person) else p for p in _rows(base.people_on)]
        calls = [*_rows(base.calls_on), caller]
        return Export.from_rows(list(base.incidents.values()), _rows(base.offenses), persons, config, calls)

    assert rules(with_caller(), due=cad_row) == set()
    assert (
        rules(with_caller(dict(no_phone, phone_type="landline", phone=person["phone"])), due=cad_row) == set()
    )
    assert "sms_to_an_address_not_the_victims" in rules(with_caller(dict(person)), due=cad_row)
    assert "sms_to_an_address_not_the_victims" in rules(
        with_caller(caller=dict(call, caller_name="Someone Else")), due=cad_row
    )
    assert "sms_to_an_address_not_the_victims" in rules(
        with_caller(caller=dict(call, report_number="X-1")), due=cad_row
    )
    assert "no_consent_basis" in rules(with_caller(dict(no_phone, contact_consent="N")), due=cad_row)
    no_cad = config.model_copy(
        update={"notices": config.notices.model_copy(update={"cad_caller_phone": False})}
    )
    assert "sms_to_an_address_not_the_victims" in rules(with_caller(), due=cad_row, cfg=no_cad)
    cad_offender = dict(offender, phone="520-555-0177", email="")
    cad_with_offender = Export.from_rows(
        list(base.incidents.values()),
        _rows(base.offenses),
        [no_phone if (p is person) else p for p in _rows(base.people_on)] + [cad_offender],
        config,
        [*_rows(base.calls_on), call],
    )
    assert "contact_shared_with_offender" in rules(cad_with_offender, due=cad_row)
    assert "already_notified" in rules(outbox={victim_key(number, seq)})
    assert "holdout_arm" in rules(due=dict(row, arm="B"))
    assert "unassigned_in_experiment_window" in rules(due=dict(row, arm=None))
    everyone_held_out = config.model_copy(
        update={"experiment": config.experiment.model_copy(update={"holdout_share": 0.999999})}
    )
    assert "holdout_bucket" in rules(cfg=everyone_held_out)
    assert "stale_report" in rules(when=as_of + dt.timedelta(days=60))
    not_live = config.model_copy(
        update={
            "divisions": [d.model_copy(update={"go_live": dt.date(2030, 1, 1)}) for d in config.divisions]
        }
    )
    assert "division_not_live" in rules(cfg=not_live)
    assert "wrong_division" in rules(due=dict(row, division_code="NOWHERE"))
    assert "not_in_export" in rules(due=dict(row, person_seq=999))


def test_the_python_bucket_holds_some_reports_out(small_agency):
    """The checker's own bucket splits real report numbers, so `holdout_bucket` can bite."""
    config = load_config()
    numbers = sorted({r["report_number"] for r in _read(small_agency, "incidents.csv")})
    held_out = [n for n in numbers if bucket(config.experiment.salt, n) < config.experiment.holdout_share]
    assert 0 < len(held_out) < len(numbers)


def _rows(grouped: Mapping[str, list[dict[str, str]]]) -> list[dict[str, str]]:
    return [row for rows in grouped.values() for row in rows]


# --------------------------------------------------------------------------------------------
# Rule 4: every victim gets one recorded decision


def _same_person_groups(rows: Sequence[Row]) -> dict[tuple[str, int], tuple[str, int]]:
    """Who the warehouse treats as one person on one report (int_persons__deduplicated's rule,
    restated): the same role and the same non-empty name, phone or e-mail, through any chain of
    such matches. (report, person_seq) -> (report, lowest person_seq of its group)."""
    parent: dict[tuple[str, int], tuple[str, int]] = {}

    def root(key: tuple[str, int]) -> tuple[str, int]:
        while parent[key] != key:
            key = parent[key]
        return key

    first_with: dict[tuple[str, str, str], tuple[str, int]] = {}
    for row in rows:
        number, seq = row["report_number"].strip(), int(row["person_seq"])
        key = (number, seq)
        parent.setdefault(key, key)
        role = row["role"].strip().lower()
        name = name_key(f"{row.get('first_name') or ''} {row.get('last_name') or ''}")
        for kind, value in (
            ("name", name),
            ("phone", e164(row.get("phone"))),
            ("email", email_key(row.get("email"))),
        ):
            if not value:
                continue
            other = first_with.setdefault((number, role, f"{kind}:{value}"), key)
            a, b = root(key), root(other)
            if a != b:
                parent[max(a, b)] = min(a, b)
    return {key: root(key) for key in parent}


@pytest.mark.slow
def test_every_victim_gets_exactly_one_decision(clean_db_url, small_agency, tmp_path):
    assert RULE_ONE_CODES <= SEED_SENSITIVE, "the seed dropped a rule 1 offense"
    folder = tmp_path / "agency"
    shutil.copytree(small_agency, folder)
    persons = _read(folder, "persons.csv")
    original = next(
        p for p in persons if p["role"] == "victim" and (p["birth_date"] or p["age"]) and p["first_name"]
    )
    next_seq = max(int(p["person_seq"]) for p in persons if p["report_number"] == original["report_number"])
    # Entered twice by the officer (collapsed: the same name), and two victims with no name and
    # no contact, of the same age (kept: nothing says they are one person).
    twice = dict(original, person_seq=str(next_seq + 1), phone="", email="")
    nameless = [
        dict(
            original, person_seq=str(next_seq + n), first_name="", last_name="", phone="", email="", age="25"
        )
        for n in (2, 3)
    ]
    with (folder / "persons.csv").open("a", newline="", encoding="utf-8") as handle:
        csv.DictWriter(handle, fieldnames=list(persons[0]), lineterminator="\n").writerows([twice, *nameless])
    persons += [twice, *nameless]

    results = ingest_path(folder, "contract-csv", url=clean_db_url)
    assert all(r.status == "loaded" for r in results), results
    assert transform(url=clean_db_url, as_of=AS_OF, quiet=True).success

    victims = [p for p in persons if p["role"].strip().lower() == "victim"]
    expected = {victim_key(number, seq): number for number, seq in set(_same_person_groups(victims).values())}
    # The small agency's own victims are each one person, and exactly the planted copy collapses.
    assert len(expected) == len(victims) - 1

    decisions = _query(
        clean_db_url,
        "SELECT victim_key, report_number, cardinality(reasons) = 0 AS is_eligible, reasons"
        " FROM intermediate.int_victims__eligibility_evaluated"
        " WHERE notice_kind = 'initial'",
    )
    keys = [d["victim_key"] for d in decisions]
    assert len(keys) == len(set(keys)), "a victim has two decisions"
    assert dict((d["victim_key"], d["report_number"]) for d in decisions) == expected
    for person in nameless:
        assert victim_key(original["report_number"], int(person["person_seq"])) in expected
    assert victim_key(original["report_number"], int(twice["person_seq"])) not in expected
    for d in decisions:
        assert d["reasons"] is not None and d["is_eligible"] == (len(d["reasons"]) == 0)


def test_a_copy_of_the_victim_marked_deceased_or_refusing_blocks_the_message(
    clean_db_url, small_agency, tmp_path
):
    folder = tmp_path / "agency"
    shutil.copytree(small_agency, folder)
    persons = _read(folder, "persons.csv")
    next_seq: dict[str, int] = defaultdict(int)
    for p in persons:
        next_seq[p["report_number"]] = max(next_seq[p["report_number"]], int(p["person_seq"]) + 1)
    copies = []
    # A copy of every other named victim (the rest stay due, so the check is not vacuous).
    named = [
        p for p in persons if p["role"] == "victim" and (p["birth_date"] or p["age"]) and p["first_name"]
    ]
    for index, victim in enumerate(named[::2]):
        hazard = {"deceased": "Y"} if index % 2 else {"contact_consent": "N"}
        copies.append(dict(victim, person_seq=str(next_seq[victim["report_number"]]), **hazard))
        next_seq[victim["report_number"]] += 1
    with (folder / "persons.csv").open("a", newline="", encoding="utf-8") as handle:
        csv.DictWriter(handle, fieldnames=list(persons[0]), lineterminator="\n").writerows(copies)
    assert all(r.status == "loaded" for r in ingest_path(folder, "contract-csv", url=clean_db_url))
    assert transform(url=clean_db_url, as_of=AS_OF, quiet=True).success

    groups = _same_person_groups([p for p in persons + copies if p["role"] == "victim"])
    blocked = defaultdict(set)
    for copy in copies:
        blocked[groups[(copy["report_number"].strip(), int(copy["person_seq"]))]].add(
            "deceased" if _truthy(copy.get("deceased")) else "no_consent_basis"
        )
    due = _query(clean_db_url, "SELECT report_number, person_seq FROM restricted.notifications_due")
    assert due
    unsafe = [
        (r["report_number"], r["person_seq"], sorted(blocked[key]))
        for r in due
        if (key := groups[(r["report_number"], r["person_seq"])]) in blocked
    ]
    assert not unsafe, f"due although another copy of the same victim forbids it: {unsafe}"
