"""Prometheus metrics: requests by route template (never a victim's token), webhook rejections,
send outcomes, and the outbox and the newest export read from the database, served by
`vnotify serve --metrics-port` on a port of its own, summed over the server's processes."""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import sys
import time

import httpx
import psycopg
import pytest
from fastapi.testclient import TestClient
from prometheus_client import REGISTRY, CollectorRegistry, generate_latest
from sending import queue

from monitoring.metrics import WarehouseCollector
from vnotify.config import load_config
from web.app import WebSettings, create_app


def _sample(text: str, name: str, **labels) -> float:
    from prometheus_client.parser import text_string_to_metric_families

    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                return sample.value
    return 0.0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_requests_are_counted_by_route_template_and_rejections_by_reason(clean_db_url):
    token = secrets.token_urlsafe(24)
    before = generate_latest(REGISTRY).decode()
    settings = WebSettings(
        database_url=clean_db_url, twilio_auth_token=secrets.token_hex(16), public_base_url="http://t"
    )
    with TestClient(create_app(settings, load_config()), base_url="http://t") as client:
        assert client.get(f"/m/{token}").status_code == 404
        assert client.post("/webhooks/twilio/status", data={"MessageSid": "SM1"}).status_code == 403
    after = generate_latest(REGISTRY).decode()
    assert token not in after
    route = {"route": "/m/{token}", "method": "GET", "status": "404"}
    assert (
        _sample(after, "vnotify_http_requests_total", **route)
        == _sample(before, "vnotify_http_requests_total", **route) + 1
    )
    rejected = {"provider": "twilio", "reason": "bad_signature"}
    assert (
        _sample(after, "vnotify_webhook_rejections_total", **rejected)
        == _sample(before, "vnotify_webhook_rejections_total", **rejected) + 1
    )


@pytest.mark.server
def test_the_outbox_and_the_newest_export_are_read_from_the_database(clean_db_url):
    queue(clean_db_url, 3, "sms")
    queue(clean_db_url, 2, "email", start=10)
    with psycopg.connect(clean_db_url) as conn:
        conn.execute(
            "INSERT INTO ops.ingest_batches (source_format, source_name, content_sha256, status,"
            " expectations_passed, started_at) VALUES ('contract-csv', 'x', repeat('c', 64), 'loaded', true,"
            " now() - interval '2 hours')"
        )
    registry = CollectorRegistry()
    registry.register(WarehouseCollector(clean_db_url))
    text = generate_latest(registry).decode()
    assert _sample(text, "vnotify_outbox_rows", state="pending", channel="sms") == 3
    assert _sample(text, "vnotify_outbox_rows", state="pending", channel="email") == 2
    assert 7000 < _sample(text, "vnotify_newest_export_age_seconds") < 7300 + 600
    assert _sample(text, "vnotify_database_up") == 1

    down = CollectorRegistry()
    down.register(WarehouseCollector("postgresql://127.0.0.1:9/none"))
    assert _sample(generate_latest(down).decode(), "vnotify_database_up") == 0


def test_vnotify_serve_serves_metrics_on_their_own_port_summed_over_its_processes(clean_db_url, tmp_path):
    port, metrics = _free_port(), _free_port()
    env = dict(
        os.environ,
        DATABASE_URL=clean_db_url,
        TWILIO_AUTH_TOKEN=secrets.token_hex(16),
        VNOTIFY_HOME=str(tmp_path),
    )
    env.pop("SENDGRID_WEBHOOK_PUBLIC_KEY", None)
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    args = ["serve", "--port", str(port), "--workers", "2", "--metrics-port", str(metrics)]
    server = subprocess.Popen(
        [sys.executable, "-m", "vnotify.cli", *args], env=env, stdout=subprocess.DEVNULL
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                httpx.get(f"{base}/m/not-a-token", timeout=1)
                break
            except httpx.HTTPError:
                assert time.monotonic() < deadline, "vnotify serve did not start"
                time.sleep(0.2)
        for _ in range(9):
            httpx.get(f"{base}/m/not-a-token", timeout=5)
        # The public port has no metrics; the metrics port has them.
        assert httpx.get(f"{base}/metrics", timeout=5).status_code == 404
        text = httpx.get(f"http://127.0.0.1:{metrics}/metrics", timeout=5).text
        assert _sample(text, "vnotify_http_requests_total", route="/m/{token}", status="404") == 10
        assert _sample(text, "vnotify_database_up") == 1
        assert "not-a-token" not in text
    finally:
        server.terminate()
        server.wait(30)
