"""Run the dbt project against the configured database: the plain functions behind
`vnotify transform` and the `transform` flow.

dbt's profile reads only environment variables; this module derives them from the one place
that picks the database (warehouse.database), and passes the agency configuration as dbt vars.
"""

from __future__ import annotations

import getpass
import json
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
from sqlalchemy.engine import make_url

from vnotify.config import AgencyConfig, load_config
from vnotify.paths import REPO_ROOT
from warehouse import dbt_manifest, keys
from warehouse.contacts import normalize_new_contacts
from warehouse.database import database_url

DBT_DIR = REPO_ROOT / "dbt"


def dbt_environment(url: str) -> dict[str, str]:
    """VNOTIFY_DB_* for dbt's profile; a Unix-socket URL gives its folder as the host. PGOPTIONS
    gives dbt's sessions the keyed-key settings (warehouse.keys): never in SQL text or target/."""
    parsed = make_url(url)
    socket = parsed.query.get("host")
    host = parsed.host or (socket[0] if isinstance(socket, tuple) else socket) or "localhost"
    return {
        "VNOTIFY_DB_HOST": host,
        "VNOTIFY_DB_PORT": str(parsed.port or 5432),
        # Without a user in the URL, libpq connects as the OS user: dbt must be the same role.
        "VNOTIFY_DB_USER": parsed.username or getpass.getuser(),
        "VNOTIFY_DB_PASSWORD": parsed.password or "",
        "VNOTIFY_DB_NAME": parsed.database or "postgres",
        "DBT_PROFILES_DIR": str(DBT_DIR),
        "DBT_PROJECT_DIR": str(DBT_DIR),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        "DO_NOT_TRACK": "1",
        "PGOPTIONS": keys.with_session_options(os.environ.get("PGOPTIONS")),
    }


def dbt_vars(
    config: AgencyConfig, as_of: str | None = None, since_settled_seq: int | None = None
) -> dict[str, Any]:
    """The agency configuration as the dbt project's vars (see dbt/dbt_project.yml)."""
    channels = config.channels
    aliases = {alias.strip().upper(): d.code for d in config.divisions for alias in d.aliases}
    return {
        "agency_time_zone": config.agency.time_zone,
        "default_language": config.agency.default_language,
        "languages": list(config.agency.languages),
        "minimum_age": config.eligibility.minimum_age,
        "max_report_age_days": config.eligibility.max_report_age_days,
        "extra_excluded_offense_codes": list(config.eligibility.extra_excluded_offense_codes),
        "contact_given_to_officer_counts_as_consent": config.eligibility.contact_given_to_officer_counts_as_consent,
        "unknown_age": config.eligibility.unknown_age,
        "cad_caller_phone": config.notices.cad_caller_phone,
        "caller_phone_counts_as_consent": config.notices.caller_phone_counts_as_consent,
        "reporting_party_notices": config.notices.reporting_parties,
        "status_updates": config.notices.status_updates,
        "status_update_statuses": list(config.notices.status_update_statuses),
        "email_enabled": bool(channels.email and channels.email.enabled),
        "sms_enabled": bool(channels.sms and channels.sms.enabled),
        "experiment_name": config.experiment.name,
        "experiment_salt": config.experiment.salt,
        "holdout_share": config.experiment.holdout_share,
        "experiment_start_date": config.experiment.start_date.isoformat(),
        "experiment_end_date": config.experiment.end_date.isoformat() if config.experiment.end_date else None,
        "survey_delay_days": config.survey.delay_days,
        "survey_max_report_age_days": config.survey.max_report_age_days,
        "as_of": as_of,
        "since_settled_seq": since_settled_seq,
        "divisions": [
            {
                "code": d.code,
                "name": d.name,
                "substation_phone": d.substation_phone,
                "investigations_phone": d.investigations_phone,
                "go_live": d.go_live.isoformat() if d.go_live else None,
            }
            for d in config.divisions
        ],
        "division_aliases": aliases,
    }


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


@dataclass
class TransformResult:
    success: bool
    seconds: float
    contacts_normalized: dict[str, int]
    nodes: dict[str, int] = field(default_factory=dict)  # status -> count
    failures: list[str] = field(default_factory=list)  # node names, never data
    since_batch_id: int | None = None
    upto_batch_id: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "success": self.success,
            "seconds": self.seconds,
            "contacts_normalized": self.contacts_normalized,
            "nodes": self.nodes,
            "failures": self.failures,
            "since_batch_id": self.since_batch_id,
            "upto_batch_id": self.upto_batch_id,
        }


def dbt_args(
    command: str,
    config: AgencyConfig,
    *,
    full_refresh: bool = False,
    as_of: str | None = None,
    select: str | None = None,
    since_settled_seq: int | None = None,
) -> list[str]:
    args = [command, "--vars", json.dumps(dbt_vars(config, as_of, since_settled_seq))]
    if full_refresh:
        args.append("--full-refresh")
    if select:
        args += ["--select", select]
    return args


def transform(
    *,
    quiet: bool = False,
    full_refresh: bool = False,
    url: str | None = None,
    config: AgencyConfig | None = None,
    as_of: str | None = None,
    all_tests: bool = False,
    runner=None,
) -> TransformResult:
    """Normalize new contacts, then `dbt build`. `runner` is a dbtRunner-like object (the flow
    passes prefect-dbt's PrefectDbtRunner).

    Seeds and models always run. The unit tests (the eligibility rules) run at every build
    until they have passed in this process for this parse of the project: they test the
    project's SQL on fixed rows, never the warehouse's data, so a scheduled run (a process of its
    own) always runs them, while the demo's or a test session's later builds skip them. Data
    tests scan whole tables, so they run on full and first builds, or when `all_tests` is set
    (the nightly job); a 5-minute incremental run skips them."""
    started = time.perf_counter()
    url = url or database_url()
    config = config or load_config()
    run = _start_run(url, full_refresh)
    since, upto = run.since_batch_id, run.upto_batch_id
    contacts = normalize_new_contacts(url, since_batch_id=since)
    environment = dbt_environment(url)
    with _environment(environment), dbt_manifest.invocation_lock:
        parsed = None
        # prefect-dbt's runner reads target/manifest.json, which the build's own parse writes.
        artifacts = ["--write-json"] if runner is not None else []
        if runner is None:
            from dbt.cli.main import dbtRunner

            parsed = _reused_parse(config, environment, quiet)
            runner = dbtRunner(manifest=parsed.manifest) if parsed else dbtRunner()
        unit_tests_known_to_pass = parsed is not None and dbt_manifest.unit_tests_passed(parsed.key)
        excluded = [
            # Data tests scan whole tables: full and first builds, or when asked.
            *([] if since is None or all_tests else ["test_type:data"]),
            *(["test_type:unit"] if unit_tests_known_to_pass else []),
        ]
        outcome = runner.invoke(
            [
                *dbt_args(
                    "build",
                    config,
                    full_refresh=full_refresh,
                    as_of=as_of,
                    since_settled_seq=run.since_settled_seq,
                ),
                *(["--exclude", *excluded] if excluded else []),
                *artifacts,
                "--project-dir",
                str(DBT_DIR),
                "--profiles-dir",
                str(DBT_DIR),
                *(["--log-level", "error"] if quiet else []),
            ]
        )
        if parsed is not None and outcome.success and not unit_tests_known_to_pass:
            dbt_manifest.record_unit_tests_passed(parsed.key)
    nodes: dict[str, int] = {}
    failures: list[str] = []
    for item in getattr(outcome.result, "results", None) or []:
        status = str(getattr(item.status, "value", item.status))
        nodes[status] = nodes.get(status, 0) + 1
        if status in ("error", "fail"):
            failures.append(item.node.name)
    success = bool(outcome.success)
    if outcome.exception is not None and not failures:
        failures.append(type(outcome.exception).__name__)
    seconds = round(time.perf_counter() - started, 2)
    _finish_run(url, run.run_id, success, seconds)
    return TransformResult(
        success, seconds, contacts, nodes, failures, since_batch_id=since, upto_batch_id=upto
    )


def _reused_parse(
    config: AgencyConfig, environment: dict[str, str], quiet: bool
) -> dbt_manifest.Parsed | None:
    """This process's parse of the project (warehouse.dbt_manifest), pointed at the build's
    database; None when the project does not parse (the build then parses and reports why)."""
    from dbt.cli.main import dbtRunner

    def parse():
        outcome = dbtRunner().invoke(
            [
                *dbt_args("parse", config),
                "--project-dir",
                str(DBT_DIR),
                "--profiles-dir",
                str(DBT_DIR),
                *(["--log-level", "error"] if quiet else []),
            ]
        )
        return outcome.result if outcome.success else None

    key = dbt_manifest.parse_key(dbt_vars(config), environment, DBT_DIR)
    return dbt_manifest.parsed_for(key, environment["VNOTIFY_DB_NAME"], parse)


@dataclass(frozen=True)
class _Run:
    run_id: int
    since_batch_id: int | None  # batches after this one are new (contacts); None rebuilds everything
    upto_batch_id: int | None
    since_settled_seq: int | None  # deliveries settled after this are rebuilt (dbt)
    upto_settled_seq: int | None


def _start_run(url: str, full_refresh: bool) -> _Run:
    with psycopg.connect(url) as conn:
        previous = conn.execute(
            "SELECT upto_batch_id, upto_settled_seq FROM ops.transform_runs WHERE success"
            " ORDER BY run_id DESC LIMIT 1"
        ).fetchone()
        upto, upto_settled = conn.execute(
            "SELECT max(batch_id) FILTER (WHERE status = 'loaded'), max(settled_seq) FROM ops.ingest_batches"
        ).fetchone()
        since = None if full_refresh or previous is None else previous[0]
        # A run before deliveries existed recorded no settled_seq: everything counts as changed.
        since_settled = None if full_refresh or previous is None else previous[1] or 0
        run_id = conn.execute(
            """
            INSERT INTO ops.transform_runs
              (full_refresh, since_batch_id, upto_batch_id, since_settled_seq, upto_settled_seq)
            VALUES (%s, %s, %s, %s, %s) RETURNING run_id
            """,
            (full_refresh, since, upto, since_settled, upto_settled),
        ).fetchone()[0]
    return _Run(run_id, since, upto, since_settled, upto_settled)


def _finish_run(url: str, run_id: int, success: bool, seconds: float) -> None:
    with psycopg.connect(url) as conn:
        conn.execute(
            "UPDATE ops.transform_runs SET finished_at = now(), success = %s, seconds = %s WHERE run_id = %s",
            (success, seconds, run_id),
        )


def dbt_target_dir() -> Path:
    """Where dbt writes its manifest: DBT_TARGET_PATH when set (dbt reads it too), else dbt/target."""
    configured = os.environ.get("DBT_TARGET_PATH")
    return Path(configured) if configured else DBT_DIR / "target"
