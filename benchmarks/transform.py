"""Incremental transform at scale: 2,000,000 historical reports, then an increment of ~500.

    .venv/bin/python -m benchmarks.transform --reports 2000000

History is one simulated month of the sample agency, ingested for real, then replicated in
SQL with new report numbers and dates shifted back (fast, and the same mix of victims,
offenses and defects). A full-refresh transform builds everything; then ~500 new reports are
ingested for real and an incremental transform runs. The last line is JSON.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import secrets
import tempfile
import time
from pathlib import Path

import psycopg
from sqlalchemy.engine import make_url

from ingest.run import ingest_path
from simulate.agency import generate_agency
from vnotify.config import load_config
from warehouse import migrate
from warehouse.database import database_url
from warehouse.transform import transform

TABLE_COLUMNS = {
    "incidents": "report_number, agency_ori, reported_at, occurred_at, division, beat, officer_id, officer_name, "
    "case_status, domestic_violence, updated_at, record_action, extra",
    "offenses": "report_number, offense_seq, nibrs_code, agency_code, description, attempted, extra",
    "persons": "report_number, person_seq, role, victim_type, first_name, last_name, birth_date, age, deceased, phone, "
    "phone_type, email, language, contact_consent, consent_source, consent_at, offense_seqs, extra",
}
SHIFTED = {"reported_at", "occurred_at", "updated_at"}


def replicate_history(url: str, copies: int) -> int:
    """Copy the template batch COPIES times into one history batch, each copy 30 days earlier."""
    with psycopg.connect(url) as conn:
        batch_id = conn.execute(
            """INSERT INTO ops.ingest_batches (source_format, source_name, content_sha256, status, expectations_passed)
               VALUES ('benchmark', 'replicated history', %s, 'loading', true) RETURNING batch_id""",
            (secrets.token_hex(32),),
        ).fetchone()[0]
        for table, columns in TABLE_COLUMNS.items():
            select = ", ".join(
                f"'H' || k || '-' || {c}"
                if c == "report_number"
                else f"to_char(({c})::timestamp - make_interval(days => 30 * k), 'YYYY-MM-DD\"T\"HH24:MI:SS')"
                if c in SHIFTED
                else c
                for c in (c.strip() for c in columns.split(","))
            )
            conn.execute(
                f"""INSERT INTO raw.{table} (batch_id, row_number, {columns})
                    SELECT %(batch)s, row_number() over (), {select}
                    FROM raw.{table} t CROSS JOIN generate_series(1, %(copies)s) AS k
                    WHERE t.batch_id IN (SELECT batch_id FROM ops.ingest_batches WHERE source_format = 'contract-csv')""",
                {"batch": batch_id, "copies": copies},
            )
        conn.execute(
            """INSERT INTO ops.report_versions (report_number, batch_id, row_number, updated_at)
               SELECT DISTINCT ON (btrim(report_number)) btrim(report_number), batch_id, row_number,
                      ops.agency_timestamptz(updated_at, 'America/Phoenix')
               FROM raw.incidents WHERE batch_id = %s
               ORDER BY btrim(report_number), ops.agency_timestamptz(updated_at, 'America/Phoenix') DESC""",
            (batch_id,),
        )
        counts = {
            t: conn.execute(f"SELECT count(*) FROM raw.{t} WHERE batch_id = %s", (batch_id,)).fetchone()[0]
            for t in TABLE_COLUMNS
        }
        conn.execute(
            "UPDATE ops.ingest_batches SET status = 'loaded', rows_read = %s, rows_staged = %s, table_counts = %s"
            " WHERE batch_id = %s",
            (
                sum(counts.values()),
                sum(counts.values()),
                json.dumps({t: {"read": n, "staged": n, "quarantined": 0} for t, n in counts.items()}),
                batch_id,
            ),
        )
        return conn.execute("SELECT count(*) FROM ops.report_versions").fetchone()[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--reports", type=int, default=2_000_000)
    parser.add_argument("--increment-scale", type=float, default=0.2, help="≈500 reports a month at 0.2")
    args = parser.parse_args()

    config = load_config()
    admin = make_url(database_url()).set(database="postgres").render_as_string(hide_password=False)
    name = f"bench_transform_{secrets.token_hex(3)}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = make_url(admin).set(database=name).render_as_string(hide_password=False)
    migrate.upgrade(url)
    work = Path(tempfile.mkdtemp(prefix="vnotify-bench-transform-"))
    try:
        template = work / "template"
        generate_agency(config, months=1, scale=1.0, seed=11, start=dt.date(2025, 9, 1), out_dir=template)
        ingest_path(template, "contract-csv", url=url, config=config)
        with psycopg.connect(url) as conn:
            per_copy = conn.execute("SELECT count(*) FROM ops.report_versions").fetchone()[0]
        started = time.perf_counter()
        reports = replicate_history(url, math.ceil(args.reports / per_copy))
        print(
            f"history: {reports:,} reports in raw ({time.perf_counter() - started:.0f} s to replicate)",
            flush=True,
        )
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("VACUUM ANALYZE")

        as_of = "2025-10-15T12:00:00+00:00"
        full = transform(url=url, config=config, as_of=as_of, full_refresh=True, quiet=True)
        print(f"full refresh: {full.seconds:.1f} s ({'ok' if full.success else full.failures})", flush=True)
        # Let the rebuilt tables settle (statistics, visibility map) so autovacuum does not run
        # inside the incremental measurement.
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("VACUUM ANALYZE")

        increment = work / "increment"
        generate_agency(
            config,
            months=1,
            scale=args.increment_scale,
            seed=12,
            start=dt.date(2025, 10, 1),
            out_dir=increment,
        )
        batches = ingest_path(increment, "contract-csv", url=url, config=config)
        new_reports = sum(b.reports_new for b in batches)
        incremental = transform(url=url, config=config, as_of=as_of, quiet=True)
        print(
            f"increment of {new_reports} reports: {incremental.seconds:.1f} s "
            f"({'ok' if incremental.success else incremental.failures})",
            flush=True,
        )

        with psycopg.connect(url) as conn:
            n, b = conn.execute(
                "SELECT count(*), count(*) FILTER (WHERE arm = 'B') FROM marts.fct_experiment_assignments"
            ).fetchone()
        share = b / n if n else float("nan")
        standard_error = (
            math.sqrt(config.experiment.holdout_share * (1 - config.experiment.holdout_share) / n)
            if n
            else None
        )
        print(
            json.dumps(
                {
                    "historical_reports": reports,
                    "increment_reports": new_reports,
                    "incremental_s": incremental.seconds,
                    "full_refresh_s": full.seconds,
                    "ratio": round(incremental.seconds / full.seconds, 4),
                    "assigned_victims": n,
                    "holdout_share_configured": config.experiment.holdout_share,
                    "holdout_share_observed": round(share, 4),
                    "holdout_share_within_3se": bool(
                        standard_error and abs(share - config.experiment.holdout_share) <= 3 * standard_error
                    ),
                }
            )
        )
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


if __name__ == "__main__":
    main()
