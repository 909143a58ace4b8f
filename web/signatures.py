"""Provider webhook authentication: Twilio's HMAC signature and SendGrid's ECDSA signature."""

from __future__ import annotations

import base64
import time

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from twilio.request_validator import RequestValidator

# A signed SendGrid webhook older (or newer) than this is refused: a captured request cannot be replayed later.
SENDGRID_FRESHNESS_S = 300


def twilio_signature_valid(auth_token: str, url: str, params: dict[str, str], signature: str | None) -> bool:
    if not signature or not auth_token:
        return False
    return RequestValidator(auth_token).validate(url, params, signature)


def load_sendgrid_public_key(key: str) -> ec.EllipticCurvePublicKey:
    """The key as SendGrid's settings page shows it (base64 DER), or as PEM."""
    text = key.strip()
    if text.startswith("-----BEGIN"):
        loaded = serialization.load_pem_public_key(text.encode())
    else:
        loaded = serialization.load_der_public_key(base64.b64decode(text))
    if not isinstance(loaded, ec.EllipticCurvePublicKey):
        raise ValueError("the SendGrid webhook key is not an elliptic-curve public key")
    return loaded


def sendgrid_signature_valid(
    public_key: ec.EllipticCurvePublicKey,
    timestamp: str | None,
    body: bytes,
    signature: str | None,
    now: float | None = None,
) -> bool:
    """ECDSA P-256/SHA-256 over timestamp + raw body, and a timestamp inside the freshness window."""
    if not timestamp or not signature:
        return False
    try:
        age = abs((now if now is not None else time.time()) - int(timestamp))
        if age > SENDGRID_FRESHNESS_S:
            return False
        public_key.verify(base64.b64decode(signature), timestamp.encode() + body, ec.ECDSA(hashes.SHA256()))
    except (InvalidSignature, ValueError, TypeError):
        return False
    return True
