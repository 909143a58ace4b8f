"""Retention on a warehouse with a contact history: reports past `agency.retention_days` lose every
contact detail in every table, the others keep theirs, the marts rebuild with the same victims and
arms, opt-outs keep being honoured, and a dry run changes nothing."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

import psycopg
import pytest
from psycopg import sql
from typer.testing import CliRunner

from ingest.run import ingest_path
from notifications import outbox
from notifications.inbound import handle_reply
from notifications.service import send
from simulate.emulators.server import run_in_thread
from tests.conftest import BUILT_AS_OF
from tests.sending import FAST, INSIDE_WINDOW, channels_for
from vnotify.cli import app
from vnotify.config import load_config
from warehouse.retention import apply_retention
from warehouse.transform import transform

UTC = dt.UTC
# Reports dated before 2025-03-13 12:00 UTC (and contacted only then) are past 365 days' retention.
NOW = dt.datetime(2026, 3, 13, 12, 0, tzinfo=UTC)
CUTOFF = NOW - dt.timedelta(days=365)
PERSON_DETAILS = ("first_name", "last_name", "birth_date", "age", "phone", "email")
SCANNED_SCHEMAS = ("raw", "ops", "staging", "intermediate", "restricted", "marts", "analytics")


@pytest.fixture
def history(built):
    """The small agency with the contact history a year of running leaves: the notices due as of
    BUILT_AS_OF sent through the SDKs (each dated an hour after its report), a STOP reply and an
    opt-out, a survey answer in the victim's own words, and a quarantined row."""
    config = load_config()
    with run_in_thread() as emulator:
        result = send(
            built,
            config,
            workers=2,
            channels=channels_for(emulator.base_url),
            settings=FAST,
            clock=lambda: INSIDE_WINDOW,
        )
    assert result.outbox.get("sent", 0) >= 6, result.outbox
    with psycopg.connect(built) as conn:
        conn.execute(
            """
            UPDATE ops.outbox AS o SET created_at = i.reported_at + interval '1 hour',
                   sent_at = i.reported_at + interval '1 hour', updated_at = i.reported_at + interval '1 hour'
            FROM staging.stg_rms__incidents AS i WHERE i.report_number = o.report_number
            """
        )
        texted = conn.execute(
            """
            SELECT o.report_number, o.address, o.sent_at FROM ops.outbox AS o
            WHERE o.channel = 'sms' AND o.state = 'sent' ORDER BY o.sent_at
            """
        ).fetchall()
        # Old enough that the replies and the survey answer below also come before the cut-off.
        old = [row for row in texted if row[2] < CUTOFF - dt.timedelta(days=1)]
        recent = [row for row in texted if row[2] >= CUTOFF]
        assert len(old) >= 2 and recent, "the agency's month should straddle the cut-off"
        # A STOP from one old victim; a question from another, in their own words.
        handle_reply(conn, config, "SM" + "1" * 32, old[0][1], "STOP", old[0][2] + dt.timedelta(hours=2))
        handle_reply(
            conn,
            config,
            "SM" + "2" * 32,
            old[1][1],
            "Is this about my bike? Call me.",
            old[1][2] + dt.timedelta(hours=3),
        )
        handle_reply(
            conn, config, "SM" + "3" * 32, recent[0][1], "thanks", recent[0][2] + dt.timedelta(hours=1)
        )
        for report_number, sent_at in ((old[1][0], old[1][2]), (recent[0][0], recent[0][2])):
            _survey_answer(conn, report_number, sent_at + dt.timedelta(hours=12))
        _quarantined_person(conn, old[1][0])
    return {"url": built, "old": [r[0] for r in old], "recent": [r[0] for r in recent], "stop": old[0][1]}


def _survey_answer(conn: psycopg.Connection, report_number: str, at: dt.datetime) -> None:
    """An invitation and an answer with free text, as the survey page stores them."""
    invitation_id = conn.execute(
        """
        INSERT INTO ops.survey_invitations
          (victim_key, report_number, experiment, arm, channel, language, token_hash, created_at,
           expires_at, first_opened_at, completed_at)
        SELECT victim_key, report_number, 'victim-followup-2025', 'A', 'sms', 'en',
               encode(sha256(convert_to(report_number, 'UTF8')), 'hex'), %(at)s,
               %(at)s + interval '400 days', %(at)s, %(at)s
        FROM ops.outbox WHERE report_number = %(report)s AND kind = 'initial' LIMIT 1
        RETURNING invitation_id
        """,
        {"report": report_number, "at": at},
    ).fetchone()[0]
    conn.execute(
        """
        INSERT INTO ops.survey_responses
          (invitation_id, service_rating, free_text, started_at, updated_at, completed, seconds_on_survey)
        VALUES (%s, 4, 'The officer was kind. My number is 520 555 7788.', %s, %s, true, 70)
        """,
        (invitation_id, at, at),
    )


def _quarantined_person(conn: psycopg.Connection, report_number: str) -> None:
    batch_id = conn.execute("SELECT min(batch_id) FROM ops.ingest_batches").fetchone()[0]
    row = {
        "report_number": report_number,
        "person_seq": "9",
        "role": "witness",
        "first_name": "Quentin",
        "last_name": "Quarantino",
        "phone": "520-555-0199x",
        "extra": {"address": "12 Elm St"},
    }
    conn.execute(
        """
        INSERT INTO ops.quarantine (batch_id, table_name, row_number, column_name, reason, raw_row, quarantined_at)
        VALUES (%s, 'persons', 999, 'phone', 'not_a_phone', %s, %s)
        """,
        (batch_id, json.dumps(row), CUTOFF - dt.timedelta(days=30)),
    )


def _details_of(url: str, reports: list[str], calls_without_report: bool = False) -> dict[str, set[str]]:
    """Contact details of the people on these reports (and of callers whose call names no
    report), as given and as normalized, keyed by the phone's ten digits or the lower-cased
    email (one number is written many ways)."""
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            """
            SELECT p.phone, n.e164, p.email, e.normalized
            FROM raw.persons AS p
            LEFT JOIN ops.phone_numbers AS n ON n.raw_phone = p.phone
            LEFT JOIN ops.email_addresses AS e ON e.raw_email = p.email
            WHERE btrim(p.report_number) = ANY(%(reports)s)
            UNION ALL
            SELECT c.caller_phone, n.e164, NULL, NULL
            FROM raw.cad_calls AS c
            LEFT JOIN ops.phone_numbers AS n ON n.raw_phone = c.caller_phone
            WHERE btrim(c.report_number) = ANY(%(reports)s) OR (%(unlinked)s AND c.report_number IS NULL)
            """,
            {"reports": reports, "unlinked": calls_without_report},
        ).fetchall()
    details: dict[str, set[str]] = {}
    for phone, e164, email, normalized in rows:
        if phone:
            details.setdefault(re.sub(r"\D", "", phone)[-10:], set()).update(v for v in (phone, e164) if v)
        if email:
            details.setdefault(email.strip().lower(), set()).update(v for v in (email, normalized) if v)
    return details


def _agency_phones(config) -> set[str]:
    """The department's own published numbers (the data may hold them too): not personal data."""
    return {phone for d in config.divisions for phone in (d.substation_phone, d.investigations_phone)}


def _key(address: str) -> str:
    return address.strip().lower() if "@" in address else re.sub(r"\D", "", address)[-10:]


def _reports(url: str) -> set[str]:
    with psycopg.connect(url) as conn:
        return {r for (r,) in conn.execute("SELECT DISTINCT btrim(report_number) FROM raw.persons")}


def _expired_reports(url: str) -> list[str]:
    """Reports dated before the cut-off with no contact after it (how the test set the history up)."""
    with psycopg.connect(url) as conn:
        return [
            r
            for (r,) in conn.execute(
                """
                SELECT i.report_number FROM staging.stg_rms__incidents AS i
                WHERE i.reported_at < %(cutoff)s
                  AND NOT EXISTS (SELECT 1 FROM ops.outbox AS o
                                  WHERE o.report_number = i.report_number AND o.sent_at >= %(cutoff)s)
                """,
                {"cutoff": CUTOFF},
            )
        ]


def _scan(url: str, values: set[str], skip: set[str]) -> dict[str, int]:
    """Every row of every table and view in the project's schemas, as text, searched for the values;
    returns relation -> rows that contain one."""
    pattern = re.compile("|".join(re.escape(v) for v in sorted(values, key=len, reverse=True)))
    found: dict[str, int] = {}
    with psycopg.connect(url) as conn:
        relations = conn.execute(
            """
            SELECT table_schema, table_name FROM information_schema.tables
            WHERE table_schema = ANY(%s) ORDER BY 1, 2
            """,
            (list(SCANNED_SCHEMAS),),
        ).fetchall()
        for schema, table in relations:
            if f"{schema}.{table}" in skip:
                continue
            query = sql.SQL("SELECT t::text FROM {} AS t").format(sql.Identifier(schema, table))
            hits = sum(1 for (text,) in conn.execute(query) if pattern.search(text))
            if hits:
                found[f"{schema}.{table}"] = hits
    return found


def _snapshot(url: str) -> dict[str, list[str]]:
    """Every row of the tables retention may change, as text, in a stable order."""
    tables = [
        "raw.persons",
        "raw.cad_calls",
        "raw.incidents",
        "raw.offenses",
        "ops.quarantine",
        "ops.outbox",
        "ops.message_tokens",
        "ops.survey_invitations",
        "ops.survey_responses",
        "ops.inbound_messages",
        "ops.phone_numbers",
        "ops.email_addresses",
        "ops.opt_outs",
        "staging.stg_rms__persons",
        "intermediate.int_persons__deduplicated",
        "intermediate.int_victims__eligibility_evaluated",
    ]
    with psycopg.connect(url) as conn:
        return {
            table: sorted(
                text
                for (text,) in conn.execute(
                    sql.SQL("SELECT t::text FROM {} AS t").format(sql.Identifier(*table.split(".")))
                )
            )
            for table in tables
        }


def _rows_of(snapshot: dict[str, list[str]], reports: list[str]) -> dict[str, list[str]]:
    marks = tuple(f"{r}," for r in reports) + tuple(f'"{r}"' for r in reports)
    return {t: [row for row in rows if any(m in row for m in marks)] for t, rows in snapshot.items()}


def _count(conn: psycopg.Connection, query: str, *params) -> int:
    return conn.execute(query, params).fetchone()[0]


# What the rows of expired reports must no longer hold, table by table.
LEFT_BEHIND = {
    "raw.persons": f"""
        SELECT count(*) FROM raw.persons WHERE btrim(report_number) = ANY(%s)
        AND ({" OR ".join(f"{c} IS NOT NULL" for c in PERSON_DETAILS)} OR extra IS NOT NULL)""",
    "raw.cad_calls": """
        SELECT count(*) FROM raw.cad_calls WHERE btrim(report_number) = ANY(%s)
        AND (caller_name IS NOT NULL OR caller_phone IS NOT NULL OR extra IS NOT NULL)""",
    "staging.stg_rms__persons": """
        SELECT count(*) FROM staging.stg_rms__persons WHERE report_number = ANY(%s)
        AND (first_name IS NOT NULL OR last_name IS NOT NULL OR birth_date IS NOT NULL
             OR phone_e164 IS NOT NULL OR email IS NOT NULL)""",
    "intermediate.int_persons__deduplicated": """
        SELECT count(*) FROM intermediate.int_persons__deduplicated WHERE report_number = ANY(%s)
        AND (first_name IS NOT NULL OR last_name IS NOT NULL OR birth_date IS NOT NULL
             OR phone_e164 IS NOT NULL OR email IS NOT NULL)""",
    "intermediate.int_victims__eligibility_evaluated": """
        SELECT count(*) FROM intermediate.int_victims__eligibility_evaluated WHERE report_number = ANY(%s)
        AND (phone_e164 IS NOT NULL OR email IS NOT NULL)""",
    "ops.outbox": """
        SELECT count(*) FROM ops.outbox WHERE report_number = ANY(%s)
        AND (address IS NOT NULL OR payload ?| array['first_name', 'officer_name', 'reported_at'])""",
    "ops.message_tokens (live)": """
        SELECT count(*) FROM ops.message_tokens AS t JOIN ops.outbox AS o USING (outbox_id)
        WHERE o.report_number = ANY(%s) AND t.expires_at > now()""",
    "ops.inbound_messages": """
        SELECT count(*) FROM ops.inbound_messages AS m JOIN ops.outbox AS o USING (outbox_id)
        WHERE o.report_number = ANY(%s) AND (m.from_address <> '[removed]' OR m.body IS NOT NULL)""",
    "ops.survey_responses": """
        SELECT count(*) FROM ops.survey_responses AS r JOIN ops.survey_invitations AS i USING (invitation_id)
        WHERE i.report_number = ANY(%s) AND r.free_text <> '[removed]'""",
}


def test_reports_past_retention_lose_every_contact_detail_and_the_others_keep_theirs(history):
    url, config = history["url"], load_config()
    expired = _expired_reports(url)
    kept = sorted(_reports(url) - set(expired))
    assert set(history["old"]) <= set(expired) and set(history["recent"]) <= set(kept)
    gone = _details_of(url, expired)
    staying = _details_of(url, kept, calls_without_report=True)  # those calls go by their own time
    with psycopg.connect(url) as conn:
        opted_out = {_key(a) for (a,) in conn.execute("SELECT address FROM ops.opt_outs")}
        assert all(_count(conn, query, expired) > 0 for query in LEFT_BEHIND.values())
    agency = {_key(phone) for phone in _agency_phones(config)}
    only_expired = {v for key in gone.keys() - staying.keys() - opted_out - agency for v in gone[key]}
    assert len(only_expired) >= 10
    before = _snapshot(url)

    result = apply_retention(url, config, now=NOW)

    assert result.reports_past_retention == len(expired)
    assert result.rows["ops.inbound_messages"] == 2 and result.rows["ops.survey_responses"] == 1
    assert result.rows["ops.quarantine"] >= 1 and result.rows["ops.phone_numbers"] > 0
    # No table or view, raw to marts, still holds a phone or email only an expired report had
    # (opt-outs are kept on purpose).
    assert _scan(url, only_expired, skip={"ops.opt_outs"}) == {}
    with psycopg.connect(url) as conn:
        assert {table: _count(conn, query, expired) for table, query in LEFT_BEHIND.items()} == dict.fromkeys(
            LEFT_BEHIND, 0
        )
        payloads = [
            p
            for (p,) in conn.execute(
                "SELECT payload FROM ops.outbox WHERE report_number = ANY(%s)", (expired,)
            )
        ]
        assert payloads and all(
            set(p) <= {"person_seq", "offense_code", "division_code", "arm"} for p in payloads
        )
        (quarantined,) = conn.execute("SELECT raw_row FROM ops.quarantine WHERE row_number = 999").fetchone()
        assert quarantined == {"report_number": history["old"][1], "person_seq": "9", "role": "witness"}
        # Calls naming no report go by when they were received.
        assert (
            _count(
                conn,
                """SELECT count(*) FROM raw.cad_calls WHERE report_number IS NULL
               AND received_at::timestamp AT TIME ZONE 'America/Phoenix' < %s AND caller_phone IS NOT NULL""",
                CUTOFF,
            )
            == 0
        )
        # The STOP is still on file, in the form the dispatcher checks.
        assert outbox.is_opted_out(conn, "sms", history["stop"])

    # Reports within retention: every row that mentions them is exactly as it was.
    after = _snapshot(url)
    assert _rows_of(after, kept) == _rows_of(before, kept)
    assert after["ops.opt_outs"] == before["ops.opt_outs"]
    assert _scan(url, {v for values in staying.values() for v in values}, skip=set())

    # A second run finds nothing left to remove.
    again = apply_retention(url, config, now=NOW)
    assert again.reports_past_retention == len(expired) and again.rows_changed == 0


def _victims(url: str) -> tuple[set[str], set[tuple[str, str]]]:
    with psycopg.connect(url) as conn:
        keys = {k for (k,) in conn.execute("SELECT victim_key FROM marts.fct_eligibility_decisions")}
        arms = set(conn.execute("SELECT victim_key, arm FROM marts.fct_experiment_assignments").fetchall())
    return keys, arms


@pytest.mark.slow
def test_the_marts_rebuilt_after_retention_have_the_same_victims_and_arms(history):
    url = history["url"]
    keys, arms = _victims(url)
    assert len(keys) > 50 and arms
    apply_retention(url, load_config(), now=NOW)
    assert transform(url=url, as_of=BUILT_AS_OF, quiet=True).success
    assert _victims(url) == (keys, arms)
    rebuilt = transform(url=url, as_of=BUILT_AS_OF, full_refresh=True, quiet=True)
    assert rebuilt.success, rebuilt.failures
    assert _victims(url) == (keys, arms)


def _new_report(folder: Path, phone: str) -> Path:
    """One new theft report whose victim gives the phone number of someone who said STOP."""
    folder.mkdir()
    (folder / "incidents.csv").write_text(
        "report_number,reported_at,division,officer_name,updated_at\n"
        "SV25-900001,2025-03-19T10:00:00,WEST,Officer R. Diaz,2025-03-19T11:00:00\n"
    )
    (folder / "offenses.csv").write_text("report_number,offense_seq,nibrs_code\nSV25-900001,1,23H\n")
    (folder / "persons.csv").write_text(
        "report_number,person_seq,role,victim_type,first_name,last_name,age,phone,phone_type,contact_consent\n"
        f"SV25-900001,1,victim,individual,Pat,Example,40,{phone},mobile,Y\n"
    )
    return folder


def test_an_opt_out_is_still_honoured_after_retention(history, tmp_path):
    url = history["url"]
    apply_retention(url, load_config(), now=NOW)
    # The number that said STOP comes back on a new report, after its old details are gone.
    ingest_path(_new_report(tmp_path / "new", history["stop"]), "contract-csv", url=url)
    assert transform(url=url, as_of=BUILT_AS_OF, quiet=True).success
    with psycopg.connect(url) as conn:
        (reasons,) = conn.execute(
            "SELECT reasons FROM intermediate.int_victims__eligibility_evaluated WHERE report_number = 'SV25-900001'"
        ).fetchone()
        due = conn.execute(
            "SELECT count(*) FROM restricted.notifications_due WHERE report_number = 'SV25-900001'"
        ).fetchone()[0]
    assert reasons == ["opted_out"] and due == 0


@pytest.mark.server
def test_a_dry_run_counts_what_would_go_and_changes_nothing(history):
    url = history["url"]
    before = _snapshot(url)
    preview = apply_retention(url, load_config(), now=NOW, dry_run=True)
    assert preview.dry_run and preview.rows["raw.persons"] > 0
    assert _snapshot(url) == before
    done = apply_retention(url, load_config(), now=NOW)
    assert done.rows == preview.rows and done.reports_past_retention == preview.reports_past_retention


def test_the_command_and_the_flow(history, prefect_harness):
    """Today, every report of March 2025 is past the sample agency's 365 days (a report whose
    incident row never landed is dated by when its people arrived: today, so it stays)."""
    url = history["url"]
    before = _snapshot(url)
    with psycopg.connect(url) as conn:
        contacts = {
            v
            for (v,) in conn.execute(
                """SELECT e164 FROM ops.phone_numbers WHERE e164 IS NOT NULL
                   UNION SELECT normalized FROM ops.email_addresses WHERE normalized IS NOT NULL
                   EXCEPT SELECT address FROM ops.opt_outs"""
            )
        } - _agency_phones(load_config())
        undated = [
            r
            for (r,) in conn.execute(
                "SELECT DISTINCT btrim(report_number) FROM raw.persons EXCEPT SELECT report_number FROM ops.report_versions"
            )
        ]
    kept = {v for values in _details_of(url, undated).values() for v in values}
    contacts -= kept
    result = CliRunner().invoke(app, ["retention", "--dry-run", "--json"])
    assert result.exit_code == 0, result.output
    preview = json.loads(result.output.strip().splitlines()[-1])
    with psycopg.connect(url) as conn:
        dated = {r for (r,) in conn.execute("SELECT report_number FROM ops.report_versions")}
    assert preview["dry_run"] is True and preview["reports_past_retention"] >= len(_reports(url) & dated)
    assert preview["rows"]["raw.persons"] > 0 and _snapshot(url) == before

    from flows.retention import retention

    summary = retention()
    assert summary["rows"] == preview["rows"] and summary["dry_run"] is False
    assert _scan(url, contacts, skip={"ops.opt_outs"}) == {}


def test_a_message_still_on_its_way_keeps_its_report(history):
    """A retry or an unknown outcome may still go out (or be reconciled): its address stays."""
    url, report = history["url"], history["old"][0]
    with psycopg.connect(url) as conn:
        conn.execute(
            "UPDATE ops.outbox SET state = 'retry', provider_id = NULL WHERE report_number = %s AND channel = 'sms'",
            (report,),
        )
    result = apply_retention(url, load_config(), now=NOW)
    assert result.reports_past_retention == len(_expired_reports(url)) - 1
    with psycopg.connect(url) as conn:
        addresses = conn.execute(
            "SELECT address FROM ops.outbox WHERE report_number = %s", (report,)
        ).fetchall()
        people = _count(
            conn,
            "SELECT count(*) FROM raw.persons WHERE btrim(report_number) = %s AND phone IS NOT NULL",
            report,
        )
    assert addresses and all(a is not None for (a,) in addresses) and people >= 1
