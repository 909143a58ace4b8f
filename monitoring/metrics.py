"""Prometheus metrics: requests and latencies of the web app, webhook rejections, send outcomes,
and, read from the database at each scrape, the outbox by state and the age of the newest export.

Served on a port of their own (`vnotify serve --metrics-port`, `vnotify send --metrics-port`),
bound to loopback unless told otherwise, never on the public app: a route is labelled by its
template (`/m/{token}`), never by the path a request used, which would carry a victim's token.
With several server processes, prometheus_client's multiprocess mode
(`PROMETHEUS_MULTIPROC_DIR`, set by `vnotify serve`) adds up what each recorded."""

from __future__ import annotations

import time
from collections.abc import Iterator

import psycopg
from prometheus_client import CollectorRegistry, Counter, Histogram, start_http_server
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

REQUESTS = Counter("vnotify_http_requests_total", "HTTP requests answered", ["route", "method", "status"])
LATENCY = Histogram("vnotify_http_request_seconds", "Time to answer an HTTP request", ["route"])
WEBHOOK_REJECTIONS = Counter(
    "vnotify_webhook_rejections_total", "Provider webhooks refused", ["provider", "reason"]
)
SENDS = Counter(
    "vnotify_sends_total", "Outbox rows the dispatcher settled, by kind and outcome", ["kind", "outcome"]
)


class RouteMetrics:
    """ASGI middleware: count and time each request under its route's template."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = {"code": 500}

        async def record_status(message) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, record_status)
        finally:
            route = scope.get("route")
            template = getattr(route, "path", None) or "unmatched"
            REQUESTS.labels(template, scope.get("method", "?"), str(status["code"])).inc()
            LATENCY.labels(template).observe(time.perf_counter() - started)


class WarehouseCollector(Collector):
    """Gauges read from the database when Prometheus scrapes."""

    def __init__(self, url: str) -> None:
        self.url = url

    def collect(self) -> Iterator[GaugeMetricFamily]:
        outbox = GaugeMetricFamily(
            "vnotify_outbox_rows", "Outbox rows by state and channel", labels=["state", "channel"]
        )
        age = GaugeMetricFamily(
            "vnotify_newest_export_age_seconds",
            "Seconds since the newest batch that loaded and passed its checks",
        )
        alerts = GaugeMetricFamily(
            "vnotify_alerts_open", "Problems seen by the last watch run that are still open"
        )
        up = GaugeMetricFamily("vnotify_database_up", "1 when the database answered this scrape")
        try:
            with psycopg.connect(self.url, connect_timeout=5) as conn:
                for state, channel, count in conn.execute(
                    "SELECT state, channel, count(*) FROM ops.outbox GROUP BY state, channel"
                ):
                    outbox.add_metric([state, channel], count)
                (seconds,) = conn.execute(
                    "SELECT extract(epoch FROM now() - max(started_at)) FROM ops.ingest_batches"
                    " WHERE status = 'loaded' AND expectations_passed"
                ).fetchone()
                if seconds is not None:
                    age.add_metric([], float(seconds))
                (open_alerts,) = conn.execute(
                    "SELECT count(*) FROM ops.alerts"
                    " WHERE last_seen_at >= (SELECT max(last_seen_at) FROM ops.alerts) - interval '1 minute'"
                ).fetchone()
                alerts.add_metric([], open_alerts)
            up.add_metric([], 1)
        except psycopg.Error:
            up.add_metric([], 0)
        yield from (outbox, age, alerts, up)


def serve_metrics(port: int, host: str, url: str | None, multiprocess_dir: str | None = None) -> None:
    """Start the metrics endpoint in a background thread of this process."""
    registry = CollectorRegistry()
    if multiprocess_dir:
        from prometheus_client import multiprocess

        multiprocess.MultiProcessCollector(registry, path=multiprocess_dir)
    else:
        from prometheus_client import REGISTRY

        registry = REGISTRY
    if url:
        registry.register(WarehouseCollector(url))
    start_http_server(port, addr=host, registry=registry)
