"""`vnotify emulate`: local Twilio + SendGrid emulators for the send flow, demos and benchmarks.

Unset options fall back to the `VNOTIFY_EMULATOR_*` environment variables, then to the defaults of
`simulate.emulators.settings.EmulatorSettings`.
"""

from __future__ import annotations

import typer

from vnotify.output import console


def emulate(
    host: str = typer.Option("127.0.0.1", help="Interface to listen on."),
    port: int = typer.Option(8025, min=0, max=65535, help="Port (0 picks a free one)."),
    fail_rate: float = typer.Option(None, min=0.0, max=1.0, help="Share of sends answered 500/502/503."),
    rate_429: float = typer.Option(None, "--rate-429", min=0.0, max=1.0, help="Share of sends answered 429."),
    timeout_rate: float = typer.Option(None, min=0.0, max=1.0, help="Share of sends that hang, then answer."),
    ambiguous_share: float = typer.Option(
        None, min=0.0, max=1.0, help="Of the 5xx/timeouts, the share where the message was created anyway."
    ),
    latency_ms: float = typer.Option(None, min=0.0, help="Added to every call."),
    sendgrid_webhook: str = typer.Option(None, help="URL that receives signed SendGrid events."),
    callback_delay: float = typer.Option(None, min=0.0, help="Seconds between lifecycle steps."),
    seed: int = typer.Option(None, help="Same seed and call order, same faults."),
) -> None:
    """Serve Twilio (/2010-04-01/...) and SendGrid (/v3/mail/send) emulators until Ctrl-C."""
    from simulate.emulators.server import serve
    from simulate.emulators.settings import EmulatorSettings

    settings = EmulatorSettings.from_env(
        rate_5xx=fail_rate,
        rate_429=rate_429,
        rate_timeout=timeout_rate,
        ambiguous_accept_share=ambiguous_share,
        latency_ms=latency_ms,
        sendgrid_event_webhook_url=sendgrid_webhook,
        callback_delay_seconds=callback_delay,
        seed=seed,
    )

    def ready(base_url: str) -> None:
        console.print(f"[green]emulators listening[/] on {base_url}", soft_wrap=True)
        console.print(
            f"  twilio: Client('{settings.account_sid}', '{settings.auth_token}'); "
            f"client.api.base_url = '{base_url}'",
            soft_wrap=True,
        )
        console.print(
            f"  sendgrid: SendGridAPIClient('{settings.sendgrid_api_key}', host='{base_url}')", soft_wrap=True
        )

    serve(settings, host, port, on_ready=ready)
