"""Keyed analyst keys: a victim's and a report's keys are HMAC-SHA256 under a secret the database
never holds, so nobody who can read the marts can turn a key back into a report number.

The secret comes from `VNOTIFY_KEY_SECRET` in the environment of every vnotify process that
builds or migrates the warehouse. On a laptop with the embedded database and no variable set, a
random secret is made once in `<VNOTIFY_HOME>/key-secret` (mode 0600), beside the database files
and outside the database; with `DATABASE_URL` the variable is required. Changing the secret
changes every key: keep it with the database's backups, apart from them.

PostgreSQL computes the keys (`ops.victim_key`, `ops.report_key`, migration 0013) from the HMAC's
two padded keys, which our sessions carry as the settings `vnotify.key_inner` and
`vnotify.key_outer` (libpq options, so they are in no SQL text, table or log line). An analyst's
session has neither, and the functions refuse to run without them.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from pathlib import Path

from vnotify.paths import project_home

KEY_SECRET_ENV = "VNOTIFY_KEY_SECRET"
MIN_SECRET_LENGTH = 32
_BLOCK = 64  # SHA-256's block size: the HMAC pads the key to it


class KeySecretMissing(RuntimeError):
    """No usable secret: the message says what to set."""


def secret_file() -> Path:
    return project_home() / "key-secret"


def key_secret() -> bytes:
    """The secret from the environment, else (embedded database only) the one kept in VNOTIFY_HOME."""
    value = os.environ.get(KEY_SECRET_ENV, "").strip()
    if value:
        if len(value) < MIN_SECRET_LENGTH:
            raise KeySecretMissing(
                f"{KEY_SECRET_ENV} is {len(value)} characters; use at least {MIN_SECRET_LENGTH} "
                "random ones (for example the output of `openssl rand -hex 32`)"
            )
        return value.encode()
    if os.environ.get("DATABASE_URL"):
        raise KeySecretMissing(
            f"{KEY_SECRET_ENV} is not set: victim and report keys are keyed with it. Set it to at "
            "least 32 random characters (`openssl rand -hex 32`) in the environment of every vnotify "
            "process, and keep a copy apart from the database's backups (docs/runbook.md, 'Key secret')"
        )
    return _embedded_secret()


def _embedded_secret() -> bytes:
    path = secret_file()
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as handle:
            handle.write(secrets.token_hex(32) + "\n")
    return path.read_text().strip().encode()


def _pads(secret: bytes) -> tuple[bytes, bytes]:
    """HMAC's inner and outer padded keys (RFC 2104): what PostgreSQL needs to finish the HMAC."""
    key = hashlib.sha256(secret).digest() if len(secret) > _BLOCK else secret
    key = key.ljust(_BLOCK, b"\0")
    return bytes(b ^ 0x36 for b in key), bytes(b ^ 0x5C for b in key)


def session_options(secret: bytes | None = None) -> str:
    """libpq `options` that give a session the padded keys (`-c vnotify.key_inner=… -c …`)."""
    inner, outer = _pads(secret if secret is not None else key_secret())
    return f"-c vnotify.key_inner={inner.hex()} -c vnotify.key_outer={outer.hex()}"


def with_session_options(existing: str | None, secret: bytes | None = None) -> str:
    """`existing` libpq options (PGOPTIONS) with the padded keys added."""
    return " ".join(part for part in ((existing or "").strip(), session_options(secret)) if part)


def victim_key(report_number: str, person_seq: int, secret: bytes | None = None) -> str:
    """What `ops.victim_key` computes, in Python (for tools and tests)."""
    return _digest(f"victim:{report_number}:{person_seq}", secret)


def report_key(report_number: str, secret: bytes | None = None) -> str:
    """What `ops.report_key` computes, in Python."""
    return _digest(f"report:{report_number}", secret)


def _digest(message: str, secret: bytes | None) -> str:
    key = secret if secret is not None else key_secret()
    return hmac.new(key, message.encode(), hashlib.sha256).hexdigest()
