"""`vnotify serve`: the victim pages and the provider webhooks (one ASGI app)."""

from __future__ import annotations

import typer

from vnotify.output import console, err_console


def serve(
    host: str = typer.Option("127.0.0.1", help="Interface to listen on (put a TLS proxy in front)."),
    port: int = typer.Option(8000, min=0, max=65535, help="Port (0 picks a free one)."),
    workers: int = typer.Option(1, min=1, max=32, help="Server processes (each with its own pool)."),
    metrics_port: int = typer.Option(
        0, "--metrics-port", min=0, max=65535, help="Serve Prometheus metrics on this port (0: off)."
    ),
    metrics_host: str = typer.Option("127.0.0.1", "--metrics-host", help="Interface of the metrics port."),
) -> None:
    """Serve /m/{token}, /s/{token}, /u/{token} and /webhooks/* until Ctrl-C.

    Needs TWILIO_AUTH_TOKEN and SENDGRID_WEBHOOK_PUBLIC_KEY to accept webhooks (unsigned or
    wrongly signed ones get 403), and VNOTIFY_PUBLIC_BASE_URL (https) unless it listens on
    loopback only. Refuses to start with the emulators' published test credentials, or a plain
    http public address."""
    import uvicorn

    from vnotify.commands.ready import migrated_database_url
    from vnotify.unsafe_settings import serve_refusals
    from web.app import WebSettings

    url = migrated_database_url()  # start the embedded database (if used) once, before the workers fork
    settings = WebSettings.from_env(url)
    problems = serve_refusals(
        host, settings.public_base_url, settings.twilio_auth_token, settings.sendgrid_public_key
    )
    if problems:
        for problem in problems:
            err_console.print(f"[red]will not serve[/]: {problem}", soft_wrap=True)
        raise typer.Exit(2)
    if metrics_port:
        _serve_metrics(metrics_port, metrics_host, url)
    console.print(f"serving on http://{host}:{port} with {workers} worker(s)")
    uvicorn.run(
        "web.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        access_log=False,  # request lines carry tokens: keep them out of logs
        log_level="warning",
        server_header=False,
    )


def _serve_metrics(port: int, host: str, url: str) -> None:
    """Metrics on their own port, summed over the server processes (prometheus_client's
    multiprocess mode: each process writes to a folder this process reads)."""
    import os
    import tempfile

    folder = tempfile.mkdtemp(prefix="vnotify-metrics-")
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = folder  # before any process records a metric
    from monitoring.metrics import serve_metrics

    serve_metrics(port, host, url, multiprocess_dir=folder)
    console.print(f"metrics on http://{host}:{port}/metrics")
