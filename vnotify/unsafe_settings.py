"""Settings that are fine on a laptop and dangerous on a server, refused before anything starts.

- The credentials and keys the emulators, the tests and the docs publish (anyone can sign a
  webhook with them: a forged START would delete an opt-out) are refused by `vnotify serve`, and
  by the send path unless the provider host is on this machine (an emulator).
- Without the public base URL the webhooks would check signatures against the Host header, which
  anyone can set: `vnotify serve` needs it unless it listens on loopback only.
- Provider hosts, the public base URL and the victim portal must be https, except on loopback.

Known test secrets are kept as SHA-256 fingerprints: the product never carries the secrets
themselves (tests/test_unsafe_settings.py holds the list to the emulators' and the docs').
`VNOTIFY_ALLOW_TEST_CREDENTIALS=1` lets a benchmark or a test serve with them on loopback.
"""

from __future__ import annotations

import hashlib
import ipaddress
import os
from urllib.parse import urlsplit

# sha256 of: the emulator's (and README's) Twilio auth token, the emulator's SendGrid API key, and
# the committed SendGrid webhook test public key as its settings page shows it (base64 DER).
KNOWN_TEST_SECRETS = frozenset(
    {
        "41c57beb684e09648cd36cee16078f3fba4f5bc9004976c3c09063082d659236",
        "7faca904c38746bc0c9a14cab7b935682265c78bbaa08d797d03e2b280bd69bf",
        "1a457ca56d5f7ee48657f436f62debae5373a472746fac81beb1f9f509d44cb5",
    }
)
ALLOW_TEST_CREDENTIALS = "VNOTIFY_ALLOW_TEST_CREDENTIALS"


def fingerprint(secret: str) -> str:
    return hashlib.sha256(secret.strip().encode()).hexdigest()


def is_known_test_secret(secret: str | None) -> bool:
    return bool(secret) and fingerprint(secret) in KNOWN_TEST_SECRETS


def test_credentials_allowed() -> bool:
    return os.environ.get(ALLOW_TEST_CREDENTIALS) == "1"


def is_loopback_host(host: str | None) -> bool:
    if not host:
        return False
    host = host.strip("[]").lower()
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def is_loopback_url(url: str) -> bool:
    return is_loopback_host(urlsplit(url).hostname)


def https_problem(name: str, url: str | None) -> str | None:
    """Why URL must not be used: plain http (or no scheme) to a host that is not this machine."""
    if not url:
        return None
    parts = urlsplit(url)
    if parts.scheme == "https" or (parts.scheme == "http" and is_loopback_host(parts.hostname)):
        return None
    return f"{name} must be an https:// address (plain http only on this machine): credentials and messages would travel in clear"


def serve_refusals(
    host: str, public_base_url: str, twilio_auth_token: str, sendgrid_public_key: str
) -> list[str]:
    """Why `vnotify serve` must not start with these settings (empty when it may)."""
    problems = []
    if not public_base_url and not is_loopback_host(host):
        problems.append(
            "VNOTIFY_PUBLIC_BASE_URL is not set: set it to the https address Twilio and SendGrid call "
            "(without it signatures would be checked against the Host header, which anyone can set)"
        )
    if problem := https_problem("VNOTIFY_PUBLIC_BASE_URL", public_base_url):
        problems.append(problem)
    problems += test_credential_refusals(
        {"TWILIO_AUTH_TOKEN": twilio_auth_token, "SENDGRID_WEBHOOK_PUBLIC_KEY": sendgrid_public_key}
    )
    return problems


def test_credential_refusals(secrets: dict[str, str | None]) -> list[str]:
    if test_credentials_allowed():
        return []
    return [
        f"{name} is the published test value of the emulators and docs: anyone could sign with it; "
        "set the provider's real one"
        for name, value in secrets.items()
        if is_known_test_secret(value)
    ]


def provider_refusals(hosts: dict[str, str | None], secrets: dict[str, str | None]) -> list[str]:
    """Why the send path must not call these hosts with these credentials: plain http, or a test
    credential sent anywhere but to an emulator on this machine."""
    problems = [p for name, url in hosts.items() if (p := https_problem(name, url))]
    if not all(url and is_loopback_url(url) for url in hosts.values()):
        problems += test_credential_refusals(secrets)
    return problems
