"""The data dictionary, `docs/data-dictionary.md`, generated from the dbt project's own docs.

`dbt parse` reads the models, the YAML beside them (descriptions, data types, data tests, unit
tests) and the lineage into its manifest; this module renders that manifest as Markdown for
analysts. Parsing needs no database: the profile renders from placeholder `VNOTIFY_DB_*` values
and nothing connects. The manifest goes to a temporary folder, so the project's `dbt/target`
(and any run using it) is left alone.

    .venv/bin/python -m warehouse.data_dictionary [--out docs/data-dictionary.md] [--check]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from vnotify.paths import REPO_ROOT

DBT_DIR = REPO_ROOT / "dbt"
DEFAULT_OUT = REPO_ROOT / "docs" / "data-dictionary.md"
COMMAND = ".venv/bin/python -m warehouse.data_dictionary"

# Schemas in the order the dictionary shows them, and who may read them.
ANALYST_SCHEMAS = ("marts",)
RESTRICTED_SCHEMA = "restricted"
PIPELINE_SCHEMAS = ("staging", "intermediate")
RESTRICTED_NOTE = "contact details — send path only"

# Placeholders the profile renders from: `dbt parse` never opens a connection.
PARSE_ENVIRONMENT = {
    "VNOTIFY_DB_HOST": "localhost",
    "VNOTIFY_DB_PORT": "5432",
    "VNOTIFY_DB_USER": "data_dictionary",
    "VNOTIFY_DB_PASSWORD": "",
    "VNOTIFY_DB_NAME": "vnotify",
    "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    "DO_NOT_TRACK": "1",
}


class DictionaryError(RuntimeError):
    """dbt could not parse the project, so no dictionary can be generated."""


@contextmanager
def _environment(values: dict[str, str]) -> Iterator[None]:
    previous = {key: os.environ.get(key) for key in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in previous.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def parse_manifest(project_dir: Path = DBT_DIR) -> dict[str, Any]:
    """Run `dbt parse` on the project (no database) and return its manifest.json as a dict."""
    from dbt.cli.main import dbtRunner

    with tempfile.TemporaryDirectory(prefix="vnotify-dbt-parse-") as scratch, _environment(PARSE_ENVIRONMENT):
        target = Path(scratch) / "target"
        outcome = dbtRunner().invoke(
            [
                "parse",
                "--project-dir",
                str(project_dir),
                "--profiles-dir",
                str(project_dir),
                "--target-path",
                str(target),
                "--log-path",
                str(Path(scratch) / "logs"),
                "--no-partial-parse",
                "--write-json",  # the manifest read below
                "--quiet",
            ]
        )
        manifest_file = target / "manifest.json"
        if not outcome.success or not manifest_file.exists():
            reason = f": {outcome.exception}" if outcome.exception else ""
            raise DictionaryError(f"dbt parse failed{reason}")
        return json.loads(manifest_file.read_text(encoding="utf-8"))


# ---------------------------------------------------------------------------------------- rendering


def _cell(text: str | None) -> str:
    """One Markdown table cell: a single line, pipes escaped."""
    return " ".join((text or "").split()).replace("|", "\\|")


def _prose(text: str | None) -> str:
    return " ".join((text or "").split())


def _anchor(schema: str, name: str) -> str:
    """GitHub's heading anchor for `### \\`schema.name\\``: dots dropped, the rest kept."""
    return f"{schema}{name}".lower()


def _models(manifest: dict[str, Any], schema: str) -> list[dict[str, Any]]:
    nodes = manifest["nodes"].values()
    return sorted(
        (n for n in nodes if n["resource_type"] == "model" and n["schema"] == schema),
        key=lambda n: n["name"],
    )


def _relation(manifest: dict[str, Any], unique_id: str) -> str:
    """How a parent or child is named to a reader: `schema.name`, with what kind it is."""
    if unique_id in manifest.get("sources", {}):
        source = manifest["sources"][unique_id]
        return f"`{source['schema']}.{source['identifier'] or source['name']}` (source)"
    if unique_id in manifest.get("exposures", {}):
        return f"`{manifest['exposures'][unique_id]['name']}` (exposure)"
    node = manifest["nodes"][unique_id]
    if node["resource_type"] == "seed":
        return f"`{node['schema']}.{node['name']}` (seed `dbt/{node['original_file_path']}`)"
    if node["schema"] in ANALYST_SCHEMAS:
        return f"[`{node['schema']}.{node['name']}`](#{_anchor(node['schema'], node['name'])})"
    return f"`{node['schema']}.{node['name']}`"


def _parents(manifest: dict[str, Any], node: dict[str, Any]) -> list[str]:
    return sorted(set(node["depends_on"].get("nodes", [])))


def _upstream_sources(manifest: dict[str, Any], node: dict[str, Any]) -> list[str]:
    """Every source and seed the model is ultimately built from."""
    found: set[str] = set()
    seen: set[str] = set()
    stack = list(node["depends_on"].get("nodes", []))
    while stack:
        unique_id = stack.pop()
        if unique_id in seen:
            continue
        seen.add(unique_id)
        if unique_id in manifest.get("sources", {}):
            found.add(unique_id)
            continue
        parent = manifest["nodes"].get(unique_id)
        if parent is None:
            continue
        if parent["resource_type"] == "seed":
            found.add(unique_id)
        stack.extend(parent["depends_on"].get("nodes", []))
    return sorted(found)


def _readers(manifest: dict[str, Any], node: dict[str, Any]) -> list[str]:
    """Models and exposures built on this model (not its tests)."""
    children = manifest.get("child_map", {}).get(node["unique_id"], [])
    return sorted(c for c in children if c.startswith(("model.", "exposure.")))


def _described(
    manifest: dict[str, Any], unique_id: str, column: str, seen: frozenset[str] = frozenset()
) -> tuple[str, str] | None:
    """(description, where it is written) for a column: the model's own, else the one its parents
    agree on for a column of the same name (as dbt-osmosis inherits them), else None."""
    node = manifest["nodes"].get(unique_id)
    if node is None or unique_id in seen:
        return None
    own = _prose(node.get("columns", {}).get(column, {}).get("description"))
    if own:
        return own, unique_id
    found = {
        hit
        for parent in node["depends_on"].get("nodes", [])
        if column in manifest["nodes"].get(parent, {}).get("columns", {})
        and (hit := _described(manifest, parent, column, seen | {unique_id}))
    }
    return found.pop() if len({text for text, _ in found}) == 1 and len(found) == 1 else None


def _tests(manifest: dict[str, Any], node: dict[str, Any]) -> tuple[dict[str, list[str]], list[str]]:
    """(column -> its data tests, the model's own data tests), each described in words."""
    by_column: dict[str, list[str]] = {}
    model_level: list[str] = []
    for test in manifest["nodes"].values():
        if test["resource_type"] != "test" or test.get("attached_node") != node["unique_id"]:
            continue
        metadata = test.get("test_metadata")
        if metadata:
            text = _describe_test(manifest, metadata["name"], metadata.get("kwargs", {}))
        else:  # a singular test in dbt/tests/
            text = f"singular test `{test['name']}`"
        severity = str(test.get("config", {}).get("severity", "error")).lower()
        if severity != "error":
            text += f" ({severity})"
        column = test.get("column_name")
        if column:
            by_column.setdefault(column, []).append(text)
        else:
            model_level.append(text)
    order = {"unique": 0, "not null": 1}
    for texts in by_column.values():
        texts.sort(key=lambda t: (order.get(t, 2), t))
    return by_column, sorted(model_level)


def _describe_test(manifest: dict[str, Any], name: str, kwargs: dict[str, Any]) -> str:
    if name == "unique":
        return "unique"
    if name == "not_null":
        return "not null"
    if name == "accepted_values":
        values = ", ".join(f"`{v}`" for v in kwargs.get("values", []))
        return f"accepted values: {values}"
    if name == "relationships":
        target = str(kwargs.get("to", ""))
        model = target.split("'")[1] if "'" in target else target
        return f"every value is in `{model}.{kwargs.get('field', '')}`"
    if name == "unique_combination":
        columns = ", ".join(f"`{c}`" for c in kwargs.get("columns", []))
        return f"unique combination of {columns}"
    arguments = ", ".join(f"{k}={v}" for k, v in sorted(kwargs.items()) if k not in ("model", "column_name"))
    return f"{name}({arguments})" if arguments else name


def _unit_tests(manifest: dict[str, Any], node: dict[str, Any]) -> list[str]:
    return sorted(
        test["name"] for test in manifest.get("unit_tests", {}).values() if test.get("model") == node["name"]
    )


def _materialization(node: dict[str, Any]) -> str:
    config = node.get("config", {})
    kind = config.get("materialized", "")
    if kind == "incremental":
        key = config.get("unique_key")
        keys = ", ".join(f"`{k}`" for k in ([key] if isinstance(key, str) else key or []))
        strategy = config.get("incremental_strategy") or "merge"
        return f"incremental ({strategy} on {keys})" if keys else f"incremental ({strategy})"
    return kind


def _model_section(manifest: dict[str, Any], node: dict[str, Any]) -> list[str]:
    lines = [f"### `{node['schema']}.{node['name']}`", ""]
    lines += [_prose(node.get("description")) or "*(no description in the YAML yet)*", ""]
    facts = []
    key = node.get("primary_key") or []
    if key:
        facts.append(f"**One row per:** {', '.join(f'`{k}`' for k in key)}")
    built = _materialization(node)
    if node.get("contract", {}).get("enforced"):
        built += "; contract enforced (a build that changes a column's name or type fails)"
    facts.append(f"**Materialized:** {built}")
    parents = _parents(manifest, node)
    if parents:
        facts.append("**Built from:** " + ", ".join(_relation(manifest, p) for p in parents))
    upstream = _upstream_sources(manifest, node)
    if upstream:
        facts.append("**Upstream sources:** " + ", ".join(_relation(manifest, u) for u in upstream))
    readers = _readers(manifest, node)
    if readers:
        facts.append("**Read by:** " + ", ".join(_relation(manifest, r) for r in readers))
    column_tests, model_tests = _tests(manifest, node)
    if model_tests:
        facts.append("**Data tests on the model:** " + "; ".join(model_tests))
    units = _unit_tests(manifest, node)
    if units:
        facts.append("**Unit tests:** " + ", ".join(f"`{u}`" for u in units))
    facts.append(f"**Defined in:** `dbt/{node['original_file_path']}`")
    lines += [f"- {fact}" for fact in facts]
    lines += ["", "| column | type | description | data tests |", "|---|---|---|---|"]
    for column in node.get("columns", {}).values():
        tests = ", ".join(column_tests.get(column["name"], []))
        described = _described(manifest, node["unique_id"], column["name"])
        description = ""
        if described:
            description, where = described
            if where != node["unique_id"]:
                description += f" *(from `{manifest['nodes'][where]['name']}`)*"
        lines.append(
            f"| `{column['name']}` | {_cell(column.get('data_type'))} | {_cell(description)} | {_cell(tests)} |"
        )
    lines.append("")
    return lines


def render(manifest: dict[str, Any]) -> str:
    """The whole dictionary as Markdown; the same manifest always gives the same text."""
    marts = [m for schema in ANALYST_SCHEMAS for m in _models(manifest, schema)]
    restricted = _models(manifest, RESTRICTED_SCHEMA)
    mart_columns = [(m["unique_id"], c) for m in marts for c in m.get("columns", {})]
    undocumented = sum(1 for unique_id, c in mart_columns if not _described(manifest, unique_id, c))

    lines = [
        "# Data dictionary",
        "",
        "<!-- Generated: do not edit. Change the YAML beside the models, then regenerate. -->",
        "",
        "Generated from the dbt project's own documentation — the descriptions, data types and "
        "tests in the YAML beside the models (`dbt/models/**/_*.yml`), as `dbt parse` reads them "
        f"into its manifest — by `{COMMAND}`. `tests/test_data_dictionary.py` fails when this file "
        "and the dbt project disagree, so after changing a model's YAML run the command and commit "
        "both.",
        "",
        "**Who reads what.** Analysts (the `vnotify_analyst` role) read `marts` and `analytics` and "
        "nothing else. Marts carry hashed victim keys (`victim_key` is the SHA-256 of the report "
        "number and the person's sequence on it), never names, phones or emails. `restricted` "
        "holds contact details for the send path; `staging` and `intermediate` are the pipeline's "
        "own. See [warehouse.md](warehouse.md) for how the models are built and "
        "[evaluation.md](evaluation.md) for the evaluation.",
        "",
        f"{len(marts)} marts, {len(mart_columns)} columns"
        + (
            f"; {undocumented} have no description in the dbt YAML yet (blank below)."
            if undocumented
            else "."
        ),
        "",
        "## Contents",
        "",
    ]
    lines += [f"- [`{m['schema']}.{m['name']}`](#{_anchor(m['schema'], m['name'])})" for m in marts]
    lines += [
        "- [`analytics`: evaluation results](#analytics-evaluation-results)",
        "- [`restricted`: contact details](#restricted-contact-details)",
        "- [Pipeline schemas](#pipeline-schemas)",
        "",
        "## `marts`: for analysts",
        "",
        "Tables rebuilt by `vnotify transform` (the `transform` flow). Months are months of the "
        "report in the agency's time zone; times are `timestamptz`.",
        "",
    ]
    for node in marts:
        lines += _model_section(manifest, node)

    lines += [
        "## `analytics`: evaluation results",
        "",
        "Not built by dbt: the `evaluate` flow (`vnotify evaluate`) writes one run at a time into "
        "tables owned by the migrations (`warehouse/migrations/versions/0009_analytics_results.py`): "
        "`analytics.evaluation_runs` (one row per run, the whole `results.json` as `jsonb`), "
        "`analytics.outcome_effects` (one row per outcome per run), `analytics.subgroup_effects` and "
        "`analytics.monthly_kpis`. Their fields are those of `results.json`, described in "
        "[evaluation.md](evaluation.md#resultsjson).",
        "",
        "## `restricted`: contact details",
        "",
        "Views read only by the send path; analysts cannot read them and their columns are not listed here.",
        "",
        "| model | |",
        "|---|---|",
    ]
    lines += [f"| `{RESTRICTED_SCHEMA}.{m['name']}` | {RESTRICTED_NOTE} |" for m in restricted]
    lines += [
        "",
        "## Pipeline schemas",
        "",
        "Built by dbt for the models above; not readable by analysts. `staging.stg_rms__persons` "
        "and the raw sources carry PII.",
        "",
        "| model | materialized | description | built from |",
        "|---|---|---|---|",
    ]
    for schema in PIPELINE_SCHEMAS:
        for node in _models(manifest, schema):
            parents = ", ".join(_relation(manifest, p) for p in _parents(manifest, node))
            lines.append(
                f"| `{schema}.{node['name']}` | {_cell(_materialization(node))} | "
                f"{_cell(node.get('description'))} | {_cell(parents)} |"
            )
    seeds = sorted(
        (n for n in manifest["nodes"].values() if n["resource_type"] == "seed"), key=lambda n: n["name"]
    )
    sources = sorted(manifest.get("sources", {}).values(), key=lambda s: (s["schema"], s["name"]))
    lines += ["", "| seed or source | description |", "|---|---|"]
    lines += [
        f"| `{n['schema']}.{n['name']}` (seed `dbt/{n['original_file_path']}`) | {_cell(n.get('description'))} |"
        for n in seeds
    ]
    lines += [
        f"| `{s['schema']}.{s['identifier'] or s['name']}` (source) | {_cell(s.get('description'))} |"
        for s in sources
    ]
    return "\n".join(lines).rstrip() + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m warehouse.data_dictionary",
        description="Write docs/data-dictionary.md from the dbt project's docs (dbt parse; no database).",
    )
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="where to write (default: %(default)s)")
    parser.add_argument(
        "--check", action="store_true", help="write nothing; exit 1 when --out differs from the dbt project"
    )
    args = parser.parse_args(argv)
    try:
        text = render(parse_manifest())
    except DictionaryError as error:
        print(f"data dictionary: {error}", file=sys.stderr)
        return 2
    if args.check:
        current = args.out.read_text(encoding="utf-8") if args.out.exists() else None
        if current != text:
            print(f"{args.out} is out of date: run {COMMAND}", file=sys.stderr)
            return 1
        print(f"{args.out} is up to date")
        return 0
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text, encoding="utf-8")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
