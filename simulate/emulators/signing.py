"""Webhook signatures exactly as the providers compute them.

The emulators sign their webhooks with these functions, and our own webhook receiver verifies with
`verify_sendgrid_event` / twilio's `RequestValidator`, so a receiver that passes against the emulator
passes against the real providers.

- Twilio status callbacks: header `X-Twilio-Signature` = base64(HMAC-SHA1(auth_token, url + the
  sorted form params concatenated as key+value)); `twilio_signature` delegates to twilio's own
  `RequestValidator.compute_signature` so the two can never drift.
- SendGrid signed event webhook: headers `X-Twilio-Email-Event-Webhook-Timestamp` (unix seconds as a
  string) and `X-Twilio-Email-Event-Webhook-Signature` = base64(DER ECDSA P-256/SHA-256 signature
  over the bytes `timestamp + raw_body`). SendGrid shows the verification key in its settings as
  base64 DER SubjectPublicKeyInfo (a PEM body without the armour); `test_public_key_b64()` returns
  the emulator's key in that form.

The key pair in `keys/` is a TEST key committed on purpose (see keys/README.md); never use it for
anything real.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from functools import cache
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from twilio.request_validator import RequestValidator

KEYS_DIR = Path(__file__).with_name("keys")
TEST_PRIVATE_KEY_PATH = KEYS_DIR / "sendgrid-webhook-test-private.pem"
TEST_PUBLIC_KEY_PATH = KEYS_DIR / "sendgrid-webhook-test-public.pem"

SENDGRID_SIGNATURE_HEADER = "X-Twilio-Email-Event-Webhook-Signature"
SENDGRID_TIMESTAMP_HEADER = "X-Twilio-Email-Event-Webhook-Timestamp"
TWILIO_SIGNATURE_HEADER = "X-Twilio-Signature"

_ECDSA_SHA256 = ec.ECDSA(hashes.SHA256())


def _as_bytes(value: str | bytes) -> bytes:
    return value.encode("utf-8") if isinstance(value, str) else value


@cache
def _load_private_key(private_key_pem: bytes) -> ec.EllipticCurvePrivateKey:
    """Parsing a PEM costs more than signing; the emulator signs thousands of batches with one key."""
    key = serialization.load_pem_private_key(private_key_pem, password=None)
    if not isinstance(key, ec.EllipticCurvePrivateKey) or not isinstance(key.curve, ec.SECP256R1):
        raise ValueError("SendGrid event webhooks are signed with an ECDSA P-256 key")
    return key


def load_public_key(public_key: str | bytes) -> ec.EllipticCurvePublicKey:
    """Accept a PEM, or the bare base64 DER SubjectPublicKeyInfo that SendGrid's settings page shows."""
    raw = _as_bytes(public_key).strip()
    if raw.startswith(b"-----BEGIN"):
        key = serialization.load_pem_public_key(raw)
    else:
        key = serialization.load_der_public_key(base64.b64decode(b"".join(raw.split())))
    if not isinstance(key, ec.EllipticCurvePublicKey):
        raise ValueError("SendGrid event webhook keys are ECDSA (P-256) public keys")
    return key


def sign_sendgrid_event(private_key_pem: str | bytes, timestamp: str | int, body: str | bytes) -> str:
    """Base64 DER ECDSA/SHA-256 signature over `timestamp + body`, as SendGrid signs event POSTs."""
    key = _load_private_key(_as_bytes(private_key_pem))
    signature = key.sign(_as_bytes(str(timestamp)) + _as_bytes(body), _ECDSA_SHA256)
    return base64.b64encode(signature).decode("ascii")


def verify_sendgrid_event(
    public_key_b64_or_pem: str | bytes | ec.EllipticCurvePublicKey,
    timestamp: str | int,
    body: str | bytes,
    signature: str | bytes,
) -> bool:
    """True when `signature` (the header value) signs `timestamp + body` under the public key.

    Pass the raw request body bytes exactly as received: re-serialised JSON will not verify. Any
    malformed input (bad base64, a non-DER signature) is a failed verification, never an exception,
    so a receiver can simply answer 403 on False.
    """
    key = (
        public_key_b64_or_pem
        if isinstance(public_key_b64_or_pem, ec.EllipticCurvePublicKey)
        else load_public_key(public_key_b64_or_pem)
    )
    try:
        decoded = base64.b64decode(_as_bytes(signature), validate=True)
        key.verify(decoded, _as_bytes(str(timestamp)) + _as_bytes(body), _ECDSA_SHA256)
    except (InvalidSignature, binascii.Error, ValueError):
        return False
    return True


def test_private_key_pem() -> bytes:
    """The committed TEST signing key the emulator uses for SendGrid event webhooks."""
    return TEST_PRIVATE_KEY_PATH.read_bytes()


def test_public_key_pem() -> bytes:
    return TEST_PUBLIC_KEY_PATH.read_bytes()


def test_public_key_b64() -> str:
    """The test verification key as SendGrid displays it: base64 DER SubjectPublicKeyInfo."""
    key = load_public_key(test_public_key_pem())
    der = key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return base64.b64encode(der).decode("ascii")


# pytest would otherwise collect the test_* helpers above when a test module imports them by name.
for _helper in (test_private_key_pem, test_public_key_pem, test_public_key_b64):
    _helper.__test__ = False  # type: ignore[attr-defined]


def twilio_signature(auth_token: str, url: str, params: Mapping[str, str]) -> str:
    """The `X-Twilio-Signature` header value for a form POST of `params` to `url`."""
    return RequestValidator(auth_token).compute_signature(url, params)
