"""Message tokens: the unguessable, expiring key in every link we send.

A token is the only thing that opens a victim's message page, so it carries 256 random bits
and only its SHA-256 hash is stored: a copy of the database does not open anybody's page.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets

TOKEN_BYTES = 32
TOKEN_LENGTH = 43  # len(secrets.token_urlsafe(32)): 32 bytes in unpadded base64url

# The message-page (/m/) or survey (/s/) link in a body as the provider stores it; the
# dispatcher matches its copy of a sent message back to our outbox row through this.
TOKEN_PATTERN = re.compile(r"/[ms]/(?P<token>[A-Za-z0-9_-]{43})(?![A-Za-z0-9_-])")
URL_SAFE = re.compile(r"[A-Za-z0-9_-]+")


def new_token() -> str:
    """A fresh URL-safe token with 256 random bits (well above the 128 a guess must beat)."""
    return secrets.token_urlsafe(TOKEN_BYTES)


def hash_token(token: str) -> str:
    """The SHA-256 hex digest we store in place of the token (tokens are random, so no salt)."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def link_expiry(sent_at: dt.datetime, days: int) -> dt.datetime:
    """When links in a message sent at `sent_at` stop working (`agency.message_link_days`).

    An aware time is required: a naive one would silently shift expiry by the UTC offset.
    """
    if sent_at.tzinfo is None or sent_at.utcoffset() is None:
        raise ValueError("sent_at must be timezone-aware")
    if days < 1:
        raise ValueError("links must stay valid for at least one day")
    return sent_at + dt.timedelta(days=days)
