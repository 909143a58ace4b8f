"""From a report's export to the provider's acceptance of its message, with the pipeline running.

    .venv/bin/python -m benchmarks.latency --seconds 180 --drop-every 5 --cycle-every 10

A fresh database, the provider emulators on loopback, and `vnotify run --every` (the `notify`
deployment's work: land the drop folder, check, dbt, send) running continuously in its own
process. Every few seconds a few new reports (from the simulated sample agency, re-stamped to
the moment of the drop) are written into the drop folder, as an RMS export job would. Latency
is the time from writing a report's export file to the moment the provider accepted its first
message (`ops.outbox.sent_at`). The send window is opened all day for the run (the benchmark
must not depend on the hour). Last line JSON: `p50_s`, `p95_s` (target p95 <= 120 s).
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psycopg
import yaml

from simulate.agency import generate_agency
from simulate.demo import demo_environment
from simulate.emulators import EmulatorSettings, run_in_thread
from vnotify.commands.demo_cmd import fresh_database
from vnotify.config import load_config
from vnotify.paths import SAMPLE_CONFIG
from warehouse import database, migrate

TIME_COLUMNS = {"incidents": ("reported_at", "occurred_at", "updated_at"), "persons": ("consent_at",)}


def _read(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        return list(reader.fieldnames or []), list(reader)


def benchmark_config(folder: Path, drop: Path) -> Path:
    """The sample agency, send window open all day, provider limits raised, the drop folder here."""
    data = yaml.safe_load(SAMPLE_CONFIG.read_text())
    data["send_window"] = {"start": "00:00", "end": "23:59"}
    data["channels"]["sms"]["messages_per_second"] = 500
    data["channels"]["email"]["messages_per_second"] = 500
    data["extract"] = {"drop_folder": str(drop), "format": "contract-csv"}
    path = folder / "agency.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


class Source:
    """Reports from a simulated month, handed out a few at a time, stamped with the drop time."""

    def __init__(self, history: Path) -> None:
        self.header, self.reports = {}, {}
        for name in ("incidents", "offenses", "persons"):
            self.header[name], rows = _read(history / f"{name}.csv")
            self.reports[name] = rows
        seen, self.order = set(), []
        for row in self.reports["incidents"]:
            if row["report_number"] not in seen:
                seen.add(row["report_number"])
                self.order.append(row["report_number"])
        self.by_report = {name: _group(rows) for name, rows in self.reports.items() if name != "incidents"}
        self.first_rows = {row["report_number"]: row for row in reversed(self.reports["incidents"])}
        self.next = 0

    def drop(self, folder: Path, count: int, zone) -> tuple[list[str], float]:
        numbers = self.order[self.next : self.next + count]
        self.next += count
        now_local = dt.datetime.now(zone).replace(tzinfo=None, microsecond=0).isoformat()
        tables = {
            "incidents": [
                {
                    **self.first_rows[n],
                    "reported_at": now_local,
                    "occurred_at": now_local,
                    "updated_at": now_local,
                }
                for n in numbers
            ],
            "offenses": [row for n in numbers for row in self.by_report["offenses"].get(n, [])],
            "persons": [
                {**row, "consent_at": now_local if row.get("consent_at") else ""}
                for n in numbers
                for row in self.by_report["persons"].get(n, [])
            ],
        }
        stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S%f")
        for name, rows in tables.items():
            temporary = folder / f".{stamp}-{name}.csv"
            with temporary.open("w", newline="", encoding="utf-8") as handle:
                writer = csv.DictWriter(handle, fieldnames=self.header[name])
                writer.writeheader()
                writer.writerows(rows)
            temporary.rename(folder / f"{stamp}-{name}.csv")  # the drop is atomic
        return numbers, time.time()


def _group(rows: list[dict[str, str]]) -> dict[str, list[dict[str, str]]]:
    out: dict[str, list[dict[str, str]]] = {}
    for row in rows:
        out.setdefault(row["report_number"], []).append(row)
    return out


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else float("nan")


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=180)
    parser.add_argument("--drop-every", type=float, default=5)
    parser.add_argument("--reports-per-drop", type=int, default=4)
    parser.add_argument("--cycle-every", type=float, default=10)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        drop = folder / "incoming"
        drop.mkdir()
        config_path = benchmark_config(folder, drop)
        config = load_config(config_path)
        generate_agency(
            config, months=1, scale=0.5, seed=args.seed, start=dt.date(2025, 6, 1), out_dir=folder / "history"
        )
        source = Source(folder / "history")
        url = fresh_database(database.database_url(), "vnotify_latency")
        migrate.upgrade(url)
        settings = EmulatorSettings(status_callbacks=False)
        emulator = run_in_thread(settings)
        env = {
            **os.environ,
            **demo_environment(emulator.base_url, "http://127.0.0.1:9", settings),
            "DATABASE_URL": url,
            "VNOTIFY_CONFIG": str(config_path),
        }
        pipeline = subprocess.Popen(
            [sys.executable, "-m", "vnotify.cli", "run", "--every", str(args.cycle_every), "--json"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            start_new_session=True,
        )
        dropped: dict[str, float] = {}
        try:
            deadline = time.time() + args.seconds
            while time.time() < deadline:
                numbers, at = source.drop(drop, args.reports_per_drop, config.agency.zone)
                dropped.update(dict.fromkeys(numbers, at))
                time.sleep(args.drop_every)
            # Let the last drops through (at most two more cycles and a dbt run).
            time.sleep(2 * args.cycle_every + 30)
        finally:
            os.killpg(pipeline.pid, signal.SIGTERM)
            cycles = [
                json.loads(line)
                for line in (pipeline.communicate(timeout=30)[0] or "").splitlines()
                if line.startswith("{")
            ]
            emulator.stop()
        with psycopg.connect(url) as conn:
            accepted = dict(
                conn.execute(
                    "SELECT report_number, extract(epoch FROM min(sent_at)) FROM ops.outbox "
                    "WHERE kind = 'initial' AND sent_at IS NOT NULL GROUP BY report_number"
                ).fetchall()
            )
    latencies = [float(accepted[n]) - at for n, at in dropped.items() if n in accepted]
    cycle_seconds = [c["seconds"] for c in cycles if c.get("transformed")]
    print(
        f"{len(dropped)} reports dropped over {args.seconds:.0f} s; {len(latencies)} had a message accepted"
    )
    print(
        f"pipeline passes: {len(cycles)}, with dbt: {len(cycle_seconds)}, median such pass "
        f"{percentile(cycle_seconds, 0.5):.1f} s"
    )
    figures = {
        "reports_dropped": len(dropped),
        "reports_notified": len(latencies),
        "p50_s": round(percentile(latencies, 0.5), 1),
        "p95_s": round(percentile(latencies, 0.95), 1),
        "max_s": round(max(latencies), 1) if latencies else None,
        "cycle_every_s": args.cycle_every,
        "drop_every_s": args.drop_every,
    }
    print(json.dumps(figures))
    return figures


if __name__ == "__main__":
    main()
