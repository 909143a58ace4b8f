"""One parse of the dbt project per process (warehouse.dbt_manifest): builds of other databases
and other `as_of`s reuse it and land in their own database, an edit of the project or another
agency configuration means a new parse, and the unit tests run until they have passed once."""

from __future__ import annotations

import shutil
from pathlib import Path

import psycopg
from sqlalchemy.engine import make_url

from vnotify.config import load_config
from warehouse import dbt_manifest
from warehouse.transform import DBT_DIR, dbt_environment, dbt_vars, transform


def _count(url: str, query: str) -> int:
    with psycopg.connect(url) as conn:
        return conn.execute(query).fetchone()[0]


def test_builds_of_two_databases_share_one_parse_and_each_lands_in_its_own(built, clean_db_url, small_agency):
    from ingest.run import ingest_path

    config = load_config()
    assert transform(url=built, config=config, as_of="2025-03-21T12:00:00+00:00", quiet=True).success
    key = dbt_manifest.parse_key(dbt_vars(config), dbt_environment(built), DBT_DIR)
    first = dbt_manifest._parsed[key]

    ingest_path(small_agency, "contract-csv", url=clean_db_url)
    result = transform(url=clean_db_url, config=config, as_of="2025-03-22T12:00:00+00:00", quiet=True)
    assert result.success, result.failures
    assert dbt_manifest._parsed[key] is first  # not parsed again
    # The second build's marts are in its own database, decided as of its own as_of.
    decided = (
        "SELECT count(*) FROM marts.fct_eligibility_decisions WHERE decided_at = '2025-03-22T12:00:00+00:00'"
    )
    assert _count(clean_db_url, decided) > 0
    assert _count(built, decided) == 0
    assert {node.database for node in first.nodes.values()} == {make_url(clean_db_url).database}


def test_the_unit_tests_run_until_they_have_passed_in_the_process(built):
    # Another salt is another agency configuration: a parse of its own, its unit tests not yet run.
    config = load_config()
    experiment = config.experiment.model_copy(update={"salt": config.experiment.salt + "-another"})
    config = config.model_copy(update={"experiment": experiment})
    first = transform(url=built, config=config, as_of="2025-03-21T12:00:00+00:00", quiet=True)
    second = transform(url=built, config=config, as_of="2025-03-22T12:00:00+00:00", quiet=True)
    assert first.success and second.success
    # An incremental build runs no data tests: what passes is the unit tests.
    unit_tests = sum(
        line.startswith("- name:")
        for path in (DBT_DIR / "models").rglob("*unit_tests.yml")
        for line in path.read_text().splitlines()
    )
    assert first.nodes.get("pass") == unit_tests > 0
    assert "pass" not in second.nodes
    assert second.nodes["success"] == first.nodes["success"]


def test_an_edit_of_the_project_is_a_new_key(tmp_path):
    project = tmp_path / "dbt"
    shutil.copytree(DBT_DIR, project, ignore=shutil.ignore_patterns(*dbt_manifest.NOT_PROJECT_FILES))
    environment = {"VNOTIFY_DB_HOST": "/tmp", "VNOTIFY_DB_PORT": "5432", "VNOTIFY_DB_USER": "vnotify"}
    parse_vars = dbt_vars(load_config())
    before = dbt_manifest.parse_key(parse_vars, environment, project)
    # Per-run vars, the database and dbt's own output leave the key alone.
    same = {**parse_vars, "as_of": "2025-03-22T12:00:00+00:00", "since_settled_seq": 7}
    (project / "target").mkdir()
    (project / "target" / "manifest.json").write_text("{}")
    assert dbt_manifest.parse_key(same, {**environment, "VNOTIFY_DB_NAME": "another"}, project) == before
    model = next(Path(project / "models").rglob("fct_eligibility_decisions.sql"))
    model.write_text(model.read_text() + "\n-- edited\n")
    assert dbt_manifest.parse_key(parse_vars, environment, project) != before
    assert dbt_manifest.parse_key({**parse_vars, "holdout_share": 0.3}, environment, project) != before


def test_a_project_with_an_ephemeral_model_is_parsed_by_each_build():
    from types import SimpleNamespace

    def parse(materialized):
        node = SimpleNamespace(config=SimpleNamespace(materialized=materialized), database="a")
        return lambda: SimpleNamespace(nodes={"model.vnotify.m": node}, sources={})

    assert dbt_manifest.parsed_for(("ephemeral",), "b", parse("ephemeral")) is None
    assert ("ephemeral",) not in dbt_manifest._parsed
    kept = dbt_manifest.parsed_for(("table",), "b", parse("table"))
    assert kept is not None and kept.manifest.nodes["model.vnotify.m"].database == "b"
