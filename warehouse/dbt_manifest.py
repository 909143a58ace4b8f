"""The dbt project parsed once per process and reused by every later build in it.

dbt re-parses the whole project (about half of a small build's time) whenever its command-line
vars or its connection change, and every run passes a new `as_of` and `since_settled_seq`, so
its own partial parsing never applies. A parse depends on neither: those two vars only change
the SQL that each build renders from the nodes (dbt renders it again at every run, from the vars
of that run), and the database name only appears in the nodes' `database` and `relation_name`.
So one parse, keyed by everything else it does depend on (the agency's vars, the connection's
host, port and user, dbt's version and the project's files), serves every build of the process:
the demo's twenty, a test session's hundreds, a long-running `vnotify run` loop. A manifest is
handed to dbt (`dbtRunner(manifest=...)`, dbt's documented way to reuse one) with its nodes
pointed at the database of the build.

The unit tests check the project's SQL on fixed rows, whatever the warehouse holds: once they
have all passed for a parse, later builds of the process leave them out (warehouse.transform).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# Set per run, never shape what a parse finds (see the module docstring).
PER_RUN_VARS = ("as_of", "since_settled_seq")
# What dbt writes beside the project; nothing in them is parsed.
NOT_PROJECT_FILES = ("target", "logs", "dbt_packages")

_parsed: dict[tuple, Any] = {}
_unit_tests_passed: set[tuple] = set()
# dbt keeps its adapter and flags in globals: one invocation at a time in a process.
invocation_lock = threading.RLock()


@dataclass(frozen=True)
class Parsed:
    key: tuple
    manifest: Any  # dbt's Manifest


def project_fingerprint(project_dir: Path) -> tuple:
    """Every file of the project by path, size and modification time: an edit means a new parse."""
    files = []
    for path in sorted(project_dir.rglob("*")):
        relative = path.relative_to(project_dir)
        if relative.parts[0] in NOT_PROJECT_FILES or not path.is_file():
            continue
        stat = path.stat()
        files.append((relative.as_posix(), stat.st_size, stat.st_mtime_ns))
    return tuple(files)


def parse_key(parse_vars: dict[str, Any], environment: dict[str, str], project_dir: Path) -> tuple:
    """What a parse depends on: the vars but the per-run ones, the connection but its database,
    dbt's version and the project's files."""
    from dbt.version import __version__

    constant_vars = {name: value for name, value in parse_vars.items() if name not in PER_RUN_VARS}
    connection = tuple(
        environment.get(name, "") for name in ("VNOTIFY_DB_HOST", "VNOTIFY_DB_PORT", "VNOTIFY_DB_USER")
    )
    return (
        json.dumps(constant_vars, sort_keys=True),
        connection,
        __version__,
        project_fingerprint(project_dir),
    )


def parsed_for(key: tuple, database: str, parse: Callable[[], Any]) -> Parsed | None:
    """The parse for `key` (made by `parse` the first time), pointed at `database`; None when
    `parse` gives None or the project has an ephemeral model (each build then parses). The caller holds `invocation_lock` until its build ends: builds share the
    one manifest."""
    manifest = _parsed.get(key)
    if manifest is None:
        manifest = parse()
        if manifest is None:  # the project does not parse: nothing to keep
            return None
        if any(node.config.materialized == "ephemeral" for node in manifest.nodes.values()):
            # dbt marks a node's ephemeral CTEs injected once and would not redo it for the next
            # build's SQL: such a project is parsed by each build, as dbt does by itself.
            return None
        # One agency and project at a time: an edited project replaces its parse.
        _parsed.clear()
        _unit_tests_passed.clear()
        _parsed[key] = manifest
    point_at_database(manifest, database)
    return Parsed(key, manifest)


def unit_tests_passed(key: tuple) -> bool:
    """Whether a build of this process ran the project's unit tests for `key` and all passed."""
    return key in _unit_tests_passed


def record_unit_tests_passed(key: tuple) -> None:
    _unit_tests_passed.add(key)


def point_at_database(manifest: Any, database: str) -> None:
    """Every node and source of `manifest` in `database` (the rest of their names unchanged)."""
    for collection in (manifest.nodes, manifest.sources):
        for node in collection.values():
            previous = node.database
            if previous == database:
                continue
            node.database = database
            relation_name = getattr(node, "relation_name", None)
            if relation_name:
                prefix = f'"{previous}".'
                if not relation_name.startswith(prefix):
                    raise ValueError(f"unexpected relation name for {node.unique_id}: no database prefix")
                node.relation_name = f'"{database}".' + relation_name.removeprefix(prefix)
