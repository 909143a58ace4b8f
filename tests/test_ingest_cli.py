"""`vnotify ingest` as a data engineer runs it: a summary per table, JSON last, exit codes."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from vnotify.cli import app

runner = CliRunner()
EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "mappings"


def _last_json(output: str) -> dict:
    return json.loads(output.strip().splitlines()[-1])


@pytest.mark.server
def test_ingest_prints_per_table_counts_and_batch_ids(clean_db_url, small_agency):
    result = runner.invoke(app, ["ingest", str(small_agency), "--json"])
    assert result.exit_code == 0, result.output
    summary = _last_json(result.output)
    assert summary["rows_read"] == summary["rows_staged"] + summary["rows_quarantined"]
    tables = {t for b in summary["batches"] for t in b["tables"]}
    assert tables == {"incidents", "offenses", "persons", "cad_calls"}
    assert all(isinstance(b["batch_id"], int) for b in summary["batches"])
    human = runner.invoke(app, ["ingest", str(small_agency)])
    assert human.exit_code == 0 and "no_op" in human.output and "already loaded as batch" in human.output


def test_a_rejected_file_exits_3_and_names_the_problem(clean_db_url, tmp_path):
    (tmp_path / "incidents.csv").write_text("report_number;reported_at\nR-1;2025-03-04T10:00:00\n")
    result = runner.invoke(app, ["ingest", str(tmp_path / "incidents.csv"), "--json"])
    assert result.exit_code == 3
    (batch,) = _last_json(result.output)["batches"]
    assert batch["status"] == "rejected" and "wrong delimiter" in batch["reason"]


def test_mapped_city_export_lands_through_the_cli(clean_db_url, tmp_path):
    export = shutil.copy(EXAMPLES / "city-open-data-sample.csv", tmp_path / "export.csv")
    result = runner.invoke(
        app,
        [
            "ingest",
            str(export),
            "--format",
            "mapped",
            "--mapping",
            str(EXAMPLES / "city-open-data.yaml"),
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    (batch,) = _last_json(result.output)["batches"]
    assert batch["status"] == "loaded"
    assert set(batch["tables"]) == {"incidents", "offenses", "persons"}
    assert batch["rows_read"] == batch["rows_staged"] + batch["rows_quarantined"]


def test_a_broken_mapping_file_names_the_field_and_exits_2(clean_db_url, tmp_path):
    mapping = tmp_path / "mapping.yaml"
    mapping.write_text((EXAMPLES / "city-open-data.yaml").read_text().replace("tables:", "tablez:", 1))
    export = shutil.copy(EXAMPLES / "city-open-data-sample.csv", tmp_path / "export.csv")
    result = runner.invoke(
        app, ["ingest", str(export), "--format", "mapped", "--mapping", str(mapping), "--json"]
    )
    assert result.exit_code == 2
    errors = _last_json(result.output)["errors"]
    assert any("mapping.yaml:" in e and "tablez" in e for e in errors)


def test_an_unknown_folder_is_rejected_before_anything_loads(clean_db_url, tmp_path):
    result = runner.invoke(app, ["ingest", str(tmp_path / "missing"), "--json"])
    assert result.exit_code == 3
    assert "no such file or folder" in _last_json(result.output)["reason"]
