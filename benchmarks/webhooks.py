"""Webhook load: signed Twilio inbound and status callbacks and SendGrid events at rising rates.

    .venv/bin/python -m benchmarks.webhooks --seconds 30 --workers 2

`vnotify serve` runs in its own processes on loopback against a fresh database; an open-loop
load generator (aiohttp) sends pre-signed requests on a fixed schedule, stepping the rate up
every few seconds, 5% of them repeats of an earlier request (providers retry webhooks).
Each step reports throughput, p50 and p99. The last line is JSON: sustained_req_per_s (the
highest step served in full with p99 ≤ 50 ms and no errors), p50_ms and p99_ms at that step,
events_sent (distinct events) and events_stored_once (rows stored; must equal events_sent).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import secrets
import statistics
import subprocess
import sys
import time
from urllib.parse import urlencode

import aiohttp
import httpx
import psycopg
from sqlalchemy.engine import make_url

from simulate.emulators.settings import TEST_AUTH_TOKEN
from simulate.emulators.signing import (
    sign_sendgrid_event,
    test_private_key_pem,
    test_public_key_b64,
    twilio_signature,
)
from warehouse import migrate
from warehouse.database import database_url
from web.server import bind_socket

RATES = (100, 200, 300, 400, 500, 600, 800)
REPLIES = ("Thank you", "STOP", "who is this?", "Gracias", "HELP", "ok 👍", "he came back last night")


def _port() -> int:
    sock = bind_socket("127.0.0.1", 0)
    port = sock.getsockname()[1]
    sock.close()
    return port


def build_requests(base: str, count: int, rng: random.Random) -> tuple[list[tuple[str, bytes, dict]], int]:
    """Pre-signed requests (signing is the providers' cost, not ours); returns them and the
    number of distinct events among them."""
    key = test_private_key_pem()
    requests: list[tuple[str, bytes, dict]] = []
    for i in range(count):
        if requests and rng.random() < 0.05:
            requests.append(rng.choice(requests))  # a provider retrying a webhook
            continue
        kind = i % 3
        if kind == 0:
            url = f"{base}/webhooks/twilio/inbound"
            params = {
                "MessageSid": f"SM{secrets.token_hex(16)}",
                "From": f"+1520{rng.randrange(7000000, 7999999)}",
                "To": "+15205550100",
                "Body": rng.choice(REPLIES),
            }
        elif kind == 1:
            url = f"{base}/webhooks/twilio/status"
            params = {"MessageSid": f"SM{secrets.token_hex(16)}", "MessageStatus": "delivered"}
        else:
            url = f"{base}/webhooks/sendgrid/events"
            stamp = str(int(time.time()))
            body = json.dumps(
                [{"email": "victim@example.org", "timestamp": int(stamp), "event": "delivered",
                  "sg_event_id": secrets.token_urlsafe(16), "sg_message_id": f"{secrets.token_hex(11)}.filter0001"}]
            ).encode()  # fmt: skip
            headers = {
                "Content-Type": "application/json",
                "X-Twilio-Email-Event-Webhook-Timestamp": stamp,
                "X-Twilio-Email-Event-Webhook-Signature": sign_sendgrid_event(key, stamp, body),
            }
            requests.append((url, body, headers))
            continue
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Twilio-Signature": twilio_signature(TEST_AUTH_TOKEN, url, params),
        }
        requests.append((url, urlencode(params).encode(), headers))
    distinct = len({(url, body) for url, body, _ in requests})
    return requests, distinct


async def run_step(session, requests, rate: float) -> tuple[list[float], int]:
    """Open loop: request i leaves at start + i/rate whether or not earlier ones have answered."""
    latencies: list[float] = []
    errors = 0

    async def one(url: str, body: bytes, headers: dict) -> None:
        nonlocal errors
        started = time.perf_counter()
        try:
            async with session.post(url, data=body, headers=headers) as response:
                await response.read()
                if response.status >= 400:
                    errors += 1
        except aiohttp.ClientError:
            errors += 1
        latencies.append(time.perf_counter() - started)

    start = time.perf_counter()
    tasks = []
    for i, request in enumerate(requests):
        delay = start + i / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(*request)))
    await asyncio.gather(*tasks)
    return latencies, errors


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] * 1000


async def load(base: str, seconds: float, rng: random.Random) -> dict:
    step_seconds = seconds / len(RATES)
    plans = [build_requests(base, int(rate * step_seconds), rng) for rate in RATES]
    connector = aiohttp.TCPConnector(limit=256)
    results = []
    warmup, warmup_distinct = build_requests(base, 300, rng)
    async with aiohttp.ClientSession(connector=connector) as session:
        await run_step(session, warmup, 100)  # connections, imports, prepared statements; not reported
        for rate, (requests, _) in zip(RATES, plans, strict=True):
            started = time.perf_counter()
            latencies, errors = await run_step(session, requests, rate)
            elapsed = time.perf_counter() - started
            step = {
                "rate": rate,
                "achieved": round(len(requests) / elapsed, 1),
                "p50_ms": round(statistics.median(latencies) * 1000, 2),
                "p99_ms": round(percentile(latencies, 0.99), 2),
                "errors": errors,
            }
            print(f"  {rate:>4} req/s offered: {step['achieved']:>6} served, p50 {step['p50_ms']} ms, "
                  f"p99 {step['p99_ms']} ms, errors {errors}", flush=True)  # fmt: skip
            results.append(step)
    return {"steps": results, "events_sent": warmup_distinct + sum(distinct for _, distinct in plans)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    admin = make_url(database_url()).set(database="postgres").render_as_string(hide_password=False)
    name = f"bench_webhooks_{secrets.token_hex(3)}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = make_url(admin).set(database=name).render_as_string(hide_password=False)
    port = _port()
    base = f"http://127.0.0.1:{port}"
    # The emulators' published test credentials: allowed here only because this is a benchmark.
    env = dict(os.environ, DATABASE_URL=url, TWILIO_AUTH_TOKEN=TEST_AUTH_TOKEN,
               SENDGRID_WEBHOOK_PUBLIC_KEY=test_public_key_b64(), VNOTIFY_PUBLIC_BASE_URL=base,
               VNOTIFY_ALLOW_TEST_CREDENTIALS="1")  # fmt: skip
    server = None
    try:
        migrate.upgrade(url)
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "vnotify.cli",
                "serve",
                "--port",
                str(port),
                "--workers",
                str(args.workers),
            ],
            env=env,
            stdout=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(f"{base}/m/not-a-token", timeout=1)
                break
            except httpx.HTTPError:
                if time.monotonic() > deadline:
                    raise RuntimeError("vnotify serve did not start") from None
                time.sleep(0.2)
        outcome = asyncio.run(load(base, args.seconds, random.Random(7)))
        time.sleep(0.5)
        with psycopg.connect(url) as conn:
            stored = conn.execute(
                "SELECT (SELECT count(*) FROM ops.inbound_messages) + "
                "(SELECT count(*) FROM ops.events WHERE source IN ('twilio', 'sendgrid'))"
            ).fetchone()[0]
    finally:
        if server:
            server.terminate()
            server.wait(10)
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    good = [
        s
        for s in outcome["steps"]
        if s["errors"] == 0 and s["p99_ms"] <= 50 and s["achieved"] >= 0.95 * s["rate"]
    ]
    best = max(good, key=lambda s: s["rate"]) if good else {"achieved": 0, "p50_ms": None, "p99_ms": None}
    result = {
        "sustained_req_per_s": best["achieved"],
        "p50_ms": best["p50_ms"],
        "p99_ms": best["p99_ms"],
        "events_sent": outcome["events_sent"],
        "events_stored_once": stored,
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
