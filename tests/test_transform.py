"""The warehouse on a generated agency: dbt build passes, decisions are complete, the holdout
is held out, assignments survive a full refresh, and the docs build."""

from __future__ import annotations

import datetime as dt
import hashlib
import os

import psycopg
import pytest
from conftest import BUILT_AS_OF as AS_OF

from vnotify.config import load_config
from warehouse import keys
from warehouse.transform import DBT_DIR, dbt_args, dbt_environment, dbt_target_dir, transform


def _rows(url: str, query: str, *params) -> list[tuple]:
    with psycopg.connect(url) as conn:
        return conn.execute(query, params).fetchall()


def _bucket(salt: str, report_number: str) -> float:
    return int(hashlib.md5(f"{salt}:{report_number}".encode()).hexdigest()[:8], 16) / 2**32


def test_every_victim_gets_one_decision_and_the_due_list_is_safe(built):
    (victims, decided, parties, parties_decided) = _rows(
        built,
        """SELECT (SELECT count(*) FROM intermediate.int_persons__deduplicated WHERE role = 'victim'),
                  (SELECT count(*) FROM marts.fct_eligibility_decisions WHERE notice_kind = 'initial'),
                  (SELECT count(*) FROM intermediate.int_persons__deduplicated WHERE role = 'reporting_party'),
                  (SELECT count(*) FROM marts.fct_eligibility_decisions WHERE notice_kind = 'reporting_party')""",
    )[0]
    assert victims == decided > 0
    # Reporting parties who are not also victims get a decision too; the sample agency has them off.
    assert 0 < parties_decided <= parties
    assert not _rows(
        built,
        """SELECT 1 FROM marts.fct_eligibility_decisions WHERE notice_kind = 'reporting_party'
           AND NOT 'reporting_party_notices_off' = ANY(reasons)""",
    )
    eligible = _rows(built, "SELECT count(*) FROM marts.fct_eligibility_decisions WHERE is_eligible")[0][0]
    due = _rows(built, "SELECT report_number, arm, channels, kind FROM restricted.notifications_due")
    assert 0 < len(due) <= eligible
    assert {arm for _, arm, _, _ in due} <= {"A", None}
    assert all(channels for _, _, channels, _ in due)
    assert {kind for *_, kind in due} == {"initial"}


def test_arms_match_the_python_hash_and_the_holdout_share(built):
    config = load_config()
    # The mart keeps the arm and the keyed report_key; the report number is the system's own.
    assignments = _rows(
        built,
        """SELECT e.report_number, a.arm, a.report_key FROM marts.fct_experiment_assignments AS a
           JOIN intermediate.int_victims__eligibility_evaluated AS e USING (victim_key)""",
    )
    assert len(assignments) > 10  # one live division, 5% scale, 14 days
    for report_number, arm, report_key in assignments:
        assert report_key == keys.report_key(report_number)
        expected = _bucket(config.experiment.salt, report_number)
        assert arm == ("B" if expected < config.experiment.holdout_share else "A")
    holdout = sum(arm == "B" for _, arm, _ in assignments) / len(assignments)
    assert abs(holdout - config.experiment.holdout_share) < 0.25  # small sample; benchmarks check at scale


def test_assignments_are_identical_after_a_full_refresh_and_a_rebuild(built):
    before = _rows(
        built, "SELECT victim_key, arm, assigned_at FROM marts.fct_experiment_assignments ORDER BY 1"
    )
    assert transform(url=built, as_of="2025-03-21T12:00:00+00:00", full_refresh=True, quiet=True).success
    assert (
        _rows(built, "SELECT victim_key, arm, assigned_at FROM marts.fct_experiment_assignments ORDER BY 1")
        == before
    )
    with psycopg.connect(built, autocommit=True) as conn:
        conn.execute("DROP TABLE marts.fct_experiment_assignments CASCADE")
    assert transform(url=built, as_of=AS_OF, quiet=True).success
    rebuilt = _rows(built, "SELECT victim_key, arm FROM marts.fct_experiment_assignments ORDER BY 1")
    assert rebuilt == [(key, arm) for key, arm, _ in before]


def test_a_victim_in_the_outbox_or_opted_out_is_no_longer_due(built):
    key, report = _rows(
        built,
        "SELECT victim_key, report_number FROM restricted.notifications_due ORDER BY victim_key LIMIT 1",
    )[0]
    other = _rows(
        built,
        "SELECT victim_key, phone_e164, email FROM restricted.notifications_due WHERE victim_key <> %s ORDER BY 1 LIMIT 1",
        key,
    )[0]
    with psycopg.connect(built, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO ops.outbox (victim_key, report_number, kind, channel) VALUES (%s, %s, 'initial', 'sms')",
            (key, report),
        )
        for channel, address in (("sms", other[1]), ("email", other[2])):
            if address:
                conn.execute(
                    "INSERT INTO ops.opt_outs (channel, address, source) VALUES (%s, %s, 'test')",
                    (channel, address),
                )
    assert transform(url=built, as_of=AS_OF, quiet=True).success
    due = {k for (k,) in _rows(built, "SELECT victim_key FROM restricted.notifications_due")}
    assert key not in due and other[0] not in due
    reasons = dict(
        _rows(
            built,
            "SELECT victim_key, reasons FROM marts.fct_eligibility_decisions WHERE victim_key IN (%s, %s)",
            key,
            other[0],
        )
    )
    assert reasons[key] == ["already_notified"] and reasons[other[0]] == ["opted_out"]


def test_due_rows_carry_every_field_the_message_needs(built, tmp_path):
    rows = _rows(
        built,
        """SELECT report_number, offense_name, officer_name, reported_at, explanation, next_steps,
                  substation_phone, investigations_phone, language
           FROM restricted.notifications_due""",
    )
    assert rows
    for (
        report_number,
        offense,
        officer,
        reported_at,
        explanation,
        next_steps,
        substation,
        investigations,
        language,
    ) in rows:
        assert report_number and offense and officer and reported_at and explanation and next_steps
        assert substation.startswith("+1") and investigations.startswith("+1")
        assert language in ("en", "es")
    # A newer version of one due report says its victim reads Spanish: the message is in Spanish.
    (report,) = rows[0][:1]
    _deliver_again_in_spanish(built, report, tmp_path)
    assert transform(url=built, as_of=AS_OF, quiet=True).success
    spanish = _rows(
        built, "SELECT explanation FROM restricted.notifications_due WHERE report_number = %s", report
    )
    assert spanish and all(any(ch in text for ch in "áéíóúñ¿¡") for (text,) in spanish)


def _deliver_again_in_spanish(url: str, report: str, folder) -> None:
    """The report's rows as they landed, re-exported a minute later with its people in Spanish."""
    from psycopg.rows import dict_row

    from ingest.contract import TABLES
    from tests.issue9_support import load, write_export

    tables = {}
    with psycopg.connect(url) as conn, conn.cursor(row_factory=dict_row) as cursor:
        for table in ("incidents", "offenses", "persons"):
            columns = ", ".join(TABLES[table].column_names)
            tables[table] = cursor.execute(
                f"SELECT {columns} FROM raw.{table} WHERE btrim(report_number) = %s", (report,)
            ).fetchall()
    incident = max(tables["incidents"], key=lambda row: dt.datetime.fromisoformat(row["updated_at"]))
    newer = dt.datetime.fromisoformat(incident["updated_at"]) + dt.timedelta(minutes=1)
    tables["incidents"] = [{**incident, "updated_at": newer.isoformat()}]
    tables["persons"] = [{**person, "language": "es"} for person in tables["persons"]]
    rows = {name: [{k: v or "" for k, v in row.items()} for row in table] for name, table in tables.items()}
    load(url, write_export(folder / "spanish", **rows), load_config())


def test_dbt_docs_generate_works(built):
    from dbt.cli.main import dbtRunner

    env = dbt_environment(built)
    previous = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        result = dbtRunner().invoke(
            [
                *dbt_args("docs", load_config())[:0],
                "docs",
                "generate",
                "--project-dir",
                str(DBT_DIR),
                "--profiles-dir",
                str(DBT_DIR),
                "--log-level",
                "error",
            ]
        )
    finally:
        for k, v in previous.items():
            os.environ.pop(k, None) if v is None else os.environ.__setitem__(k, v)
    assert result.success
    assert (dbt_target_dir() / "catalog.json").exists()
    assert (dbt_target_dir() / "index.html").exists()


def _comments(url: str) -> dict[tuple[str, str, str | None], str]:
    """(schema, relation, column or None) -> the comment the database holds."""
    rows = _rows(
        url,
        """
        SELECT n.nspname, c.relname, a.attname, d.description
        FROM pg_description AS d
        JOIN pg_class AS c ON c.oid = d.objoid AND d.classoid = 'pg_class'::regclass
        JOIN pg_namespace AS n ON n.oid = c.relnamespace
        LEFT JOIN pg_attribute AS a ON a.attrelid = c.oid AND a.attnum = d.objsubid AND d.objsubid > 0
        WHERE n.nspname IN ('staging', 'intermediate', 'marts', 'restricted')
        """,
    )
    return {(schema, relation, column): text for schema, relation, column, text in rows}


@pytest.mark.server
def test_every_model_and_column_description_is_on_the_database(built):
    """persist_docs after a first build and after an incremental
    one, which replaces the tables and views: what analysts read in their SQL client is the YAML."""
    from warehouse.data_dictionary import parse_manifest

    models = [n for n in parse_manifest()["nodes"].values() if n["resource_type"] == "model"]
    assert transform(url=built, as_of="2025-03-21T12:00:00+00:00", quiet=True).success  # incremental
    comments = _comments(built)
    columns_of = {(s, r) for s, r, c in comments}  # relations the database has comments on
    expected, missing = 0, []
    for model in models:
        if model["config"].get("materialized") == "ephemeral":
            continue
        where = (model["schema"], model["alias"])
        wanted = {None: model["description"]} if model["description"] else {}
        # An empty description is no comment at all (PostgreSQL drops a comment set to '').
        wanted |= {name: c["description"] for name, c in model["columns"].items() if c["description"]}
        for column, text in wanted.items():
            expected += 1
            if comments.get((*where, column)) != text:
                missing.append((*where, column))
    assert expected > 100 and columns_of, (expected, len(columns_of))
    assert not missing, f"{len(missing)} descriptions not on the database, e.g. {missing[:5]}"
