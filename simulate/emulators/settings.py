"""Knobs for the local Twilio / SendGrid emulators.

One frozen object so a test, the CLI and a benchmark subprocess all describe an emulator the same
way (it round-trips through JSON for `run_in_process`). The credentials are fixed test values: the
emulator is never a place for real secrets.
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

ENV_PREFIX = "VNOTIFY_EMULATOR_"

TEST_ACCOUNT_SID = "AC" + "0123456789abcdef" * 2
TEST_AUTH_TOKEN = "emulator-test-auth-token-0000000"
TEST_SENDGRID_API_KEY = "SG.test-key"


@dataclass(frozen=True)
class EmulatorSettings:
    """How an emulator behaves. Rates are fractions (0..1) of send calls (POSTs only)."""

    account_sid: str = TEST_ACCOUNT_SID
    auth_token: str = TEST_AUTH_TOKEN
    sendgrid_api_key: str = TEST_SENDGRID_API_KEY
    rate_429: float = 0.0
    rate_5xx: float = 0.0
    rate_timeout: float = 0.0
    # For a 5xx or a timeout: the share of those calls where the message WAS created first.
    ambiguous_accept_share: float = 0.5
    latency_ms: float = 0.0
    timeout_seconds: float = 5.0
    retry_after_seconds: int = 1
    seed: int = 0
    status_callbacks: bool = True
    sendgrid_event_webhook_url: str | None = None
    # Pause between a message's lifecycle steps (queued → sent → delivered; processed → delivered).
    callback_delay_seconds: float = 0.0
    callback_timeout_seconds: float = 5.0
    record_exchanges: bool = True
    exchanges_limit: int = 20_000

    def __post_init__(self) -> None:
        for name in ("rate_429", "rate_5xx", "rate_timeout", "ambiguous_accept_share"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must be between 0 and 1, got {value}")
        if self.rate_429 + self.rate_5xx + self.rate_timeout > 1.0 + 1e-9:
            raise ValueError("rate_429 + rate_5xx + rate_timeout must not exceed 1")
        if self.latency_ms < 0 or self.timeout_seconds < 0 or self.callback_delay_seconds < 0:
            raise ValueError("latency_ms, timeout_seconds and callback_delay_seconds must be >= 0")
        if self.exchanges_limit < 0:
            raise ValueError("exchanges_limit must be >= 0")

    @property
    def injects_faults(self) -> bool:
        return (self.rate_429 + self.rate_5xx + self.rate_timeout) > 0

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.as_dict(), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> EmulatorSettings:
        return cls(**json.loads(text))

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> EmulatorSettings:
        """Defaults, then `VNOTIFY_EMULATOR_<FIELD>` variables, then keyword overrides."""
        environ = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for field in dataclasses.fields(cls):
            raw = environ.get(ENV_PREFIX + field.name.upper())
            if raw is not None:
                values[field.name] = _parse(field.name, raw)
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)


_BOOLS = {
    "1": True,
    "true": True,
    "yes": True,
    "on": True,
    "0": False,
    "false": False,
    "no": False,
    "off": False,
}


def _parse(name: str, raw: str) -> Any:
    """Turn an environment string into the field's type (the defaults tell the type)."""
    default = {f.name: f.default for f in dataclasses.fields(EmulatorSettings)}[name]
    if isinstance(default, bool):
        try:
            return _BOOLS[raw.strip().lower()]
        except KeyError:
            raise ValueError(f"{ENV_PREFIX}{name.upper()} must be a boolean, got {raw!r}") from None
    if isinstance(default, int):
        return int(raw)
    if isinstance(default, float):
        return float(raw)
    if default is None:  # optional strings: empty means unset
        return raw or None
    return raw
