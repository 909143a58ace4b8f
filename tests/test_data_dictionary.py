"""docs/data-dictionary.md is generated from the dbt project and can never go stale."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from vnotify.paths import REPO_ROOT
from warehouse.data_dictionary import COMMAND, DEFAULT_OUT, RESTRICTED_NOTE, main, render

pytestmark = pytest.mark.slow  # `dbt parse` takes a few seconds

MODELS = REPO_ROOT / "dbt" / "models"


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The dictionary as the command writes it now (one `dbt parse`, no database)."""
    out = tmp_path_factory.mktemp("dictionary") / "data-dictionary.md"
    assert main(["--out", str(out)]) == 0
    return out.read_text(encoding="utf-8")


def _yaml_models(folder: str) -> list[dict]:
    models = []
    for path in sorted((MODELS / folder).rglob("*.yml")):
        models += (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("models", [])
    return models


def _section(text: str, heading: str) -> str:
    """The text under a `### ` heading, up to the next heading of level 2 or 3."""
    start = text.index(f"### {heading}\n")
    rest = text[start + len(heading) + 5 :]
    end = re.search(r"^#{2,3} ", rest, flags=re.MULTILINE)
    return rest[: end.start()] if end else rest


def test_committed_dictionary_is_what_the_dbt_project_generates(generated):
    committed = DEFAULT_OUT.read_text(encoding="utf-8")
    assert committed == generated, f"docs/data-dictionary.md is out of date: run {COMMAND} and commit it"


def test_every_mart_column_in_the_yaml_is_in_its_models_table(generated):
    marts = _yaml_models("marts")
    assert len(marts) >= 5
    for model in marts:
        section = _section(generated, f"`marts.{model['name']}`")
        rows = {
            match.group(1): match.group(2).strip()
            for match in re.finditer(r"^\| `([^`]+)` \| ([^|]*) \|", section, flags=re.MULTILINE)
        }
        for column in model.get("columns", []):
            assert column["name"] in rows, f"{model['name']}.{column['name']} missing"
            if column.get("data_type"):
                assert rows[column["name"]] == column["data_type"], f"{model['name']}.{column['name']}"
        description = " ".join((model.get("description") or "").split())
        if description:
            assert description in section


def test_restricted_models_are_listed_by_name_only(generated):
    restricted = _yaml_models("restricted")
    assert restricted
    part = generated[generated.index("## `restricted`") : generated.index("## Pipeline schemas")]
    for model in restricted:
        assert f"| `restricted.{model['name']}` | {RESTRICTED_NOTE} |" in part
        assert f"### `restricted.{model['name']}`" not in generated  # no section with columns
    assert "| column |" not in part


def test_data_tests_appear_beside_their_columns(generated):
    assignments = _section(generated, "`marts.fct_experiment_assignments`")
    assert re.search(
        r"^\| `arm` \| text \|[^|]*\| not null, accepted values: `A`, `B` \|$", assignments, re.M
    )
    assert re.search(r"^\| `victim_key` \| text \|[^|]*\| unique, not null \|$", assignments, re.M)
    assert "**Built from:** `intermediate.int_victims__eligibility_evaluated`" in assignments
    assert "`arm_is_salted_report_hash_shared_per_report`" in assignments  # its unit tests


# A hand-written manifest, to pin down the rendering without dbt.
def _manifest() -> dict:
    def model(name, schema, description="", columns=(), parents=(), key=()):
        return {
            "unique_id": f"model.vnotify.{name}",
            "resource_type": "model",
            "name": name,
            "schema": schema,
            "description": description,
            "original_file_path": f"models/{schema}/{name}.sql",
            "config": {"materialized": "table"},
            "contract": {"enforced": schema == "marts"},
            "primary_key": list(key),
            "depends_on": {"nodes": [f"model.vnotify.{p}" for p in parents]},
            "columns": {c[0]: {"name": c[0], "data_type": c[1], "description": c[2]} for c in columns},
        }

    def test(name, attached, column, kind, **kwargs):
        return {
            "unique_id": f"test.vnotify.{name}",
            "resource_type": "test",
            "name": name,
            "attached_node": f"model.vnotify.{attached}",
            "column_name": column,
            "config": {"severity": "ERROR"},
            "test_metadata": {"name": kind, "kwargs": {"column_name": column, **kwargs}},
            "depends_on": {"nodes": [f"model.vnotify.{attached}"]},
        }

    nodes = [
        model("stg_people", "staging", "People. PII.", [("victim_key", "text", "Hash | of the person.")]),
        model(
            "fct_people",
            "marts",
            "One row\n per person.",
            [("victim_key", "text", ""), ("arm", "text", "A or B.")],
            parents=["stg_people"],
            key=["victim_key"],
        ),
        model(
            "people_due",
            "restricted",
            "Due.",
            [("caller_phone_e164", "text", "The victim's cell.")],
            ["fct_people"],
        ),
        test("unique_fct_people_victim_key", "fct_people", "victim_key", "unique"),
        test("accepted_values_fct_people_arm", "fct_people", "arm", "accepted_values", values=["A", "B"]),
    ]
    return {
        "nodes": {n["unique_id"]: n for n in nodes},
        "sources": {},
        "exposures": {},
        "unit_tests": {},
        "child_map": {"model.vnotify.fct_people": ["model.vnotify.people_due"]},
    }


def test_render_escapes_cells_inherits_descriptions_and_keeps_restricted_columns_out():
    text = render(_manifest())
    section = _section(text, "`marts.fct_people`")
    assert "One row per person." in section
    assert "**One row per:** `victim_key`" in section
    assert "| `victim_key` | text | Hash \\| of the person. *(from `stg_people`)* | unique |" in section
    assert "| `arm` | text | A or B. | accepted values: `A`, `B` |" in section
    assert "**Read by:** `restricted.people_due`" in section
    assert f"| `restricted.people_due` | {RESTRICTED_NOTE} |" in text
    assert (
        "caller_phone_e164" not in text and "cell" not in text
    )  # a restricted model's columns never reach the dictionary
    assert "1 marts, 2 columns." in text  # every column described (one inherited)
    assert render(_manifest()) == text


def test_check_mode_reports_a_stale_file_and_writes_nothing(tmp_path: Path, monkeypatch):
    import warehouse.data_dictionary as dictionary

    monkeypatch.setattr(dictionary, "parse_manifest", _manifest)
    out = tmp_path / "data-dictionary.md"
    assert main(["--out", str(out), "--check"]) == 1 and not out.exists()
    assert main(["--out", str(out)]) == 0
    assert main(["--out", str(out), "--check"]) == 0
    out.write_text(out.read_text(encoding="utf-8").replace("## `restricted`", "## edited"), encoding="utf-8")
    assert main(["--out", str(out), "--check"]) == 1
    assert "## edited" in out.read_text(encoding="utf-8")
