"""Normalize contact details before dbt runs: each distinct raw phone and email, once.

Phones: `phonenumbers` parses them (US default region), keeps valid numbers in E.164, and
types them: `landline` when the library or the export says so, `mobile` when the library
knows, else `unknown` (North American numbers cannot be told apart offline). Only `mobile`
and `unknown` numbers may get texts. Emails: `email-validator`, syntax only (no DNS).
"""

from __future__ import annotations

from dataclasses import dataclass

import phonenumbers
import psycopg
from email_validator import EmailNotValidError, validate_email

MOBILE = {phonenumbers.PhoneNumberType.MOBILE}
LANDLINE = {phonenumbers.PhoneNumberType.FIXED_LINE}


@dataclass(frozen=True)
class Phone:
    e164: str | None
    is_valid: bool
    line_type: str  # mobile | landline | unknown | invalid


@dataclass(frozen=True)
class Email:
    normalized: str | None
    is_valid: bool


def normalize_phone(raw: str, region: str = "US") -> Phone:
    try:
        number = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException:
        return Phone(None, False, "invalid")
    if not phonenumbers.is_valid_number(number):
        return Phone(None, False, "invalid")
    kind = phonenumbers.number_type(number)
    line_type = "mobile" if kind in MOBILE else "landline" if kind in LANDLINE else "unknown"
    return Phone(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164), True, line_type)


def normalize_email(raw: str) -> Email:
    try:
        result = validate_email(raw.strip(), check_deliverability=False)
    except EmailNotValidError:
        return Email(None, False)
    return Email(result.normalized.lower(), True)


def normalize_new_contacts(url: str, region: str = "US", since_batch_id: int | None = None) -> dict[str, int]:
    """Add every raw phone and email not yet normalized, looking only at batches after
    `since_batch_id` when given (earlier ones were normalized by earlier runs); returns how
    many of each were added."""
    since = since_batch_id or 0
    with psycopg.connect(url) as conn:
        phones = [
            r[0]
            for r in conn.execute(
                """
                SELECT DISTINCT value FROM (
                  SELECT phone AS value FROM raw.persons WHERE phone IS NOT NULL AND batch_id > %(since)s
                  UNION SELECT caller_phone FROM raw.cad_calls WHERE caller_phone IS NOT NULL AND batch_id > %(since)s
                ) v WHERE NOT EXISTS (SELECT 1 FROM ops.phone_numbers n WHERE n.raw_phone = v.value)
                """,
                {"since": since},
            )
        ]
        emails = [
            r[0]
            for r in conn.execute(
                """
                SELECT DISTINCT email FROM raw.persons p WHERE email IS NOT NULL AND batch_id > %(since)s
                  AND NOT EXISTS (SELECT 1 FROM ops.email_addresses n WHERE n.raw_email = p.email)
                """,
                {"since": since},
            )
        ]
        with conn.cursor() as cursor:
            with cursor.copy(
                "COPY ops.phone_numbers (raw_phone, e164, is_valid, line_type) FROM STDIN"
            ) as copy:
                for raw in phones:
                    phone = normalize_phone(raw, region)
                    copy.write_row((raw, phone.e164, phone.is_valid, phone.line_type))
            with cursor.copy("COPY ops.email_addresses (raw_email, normalized, is_valid) FROM STDIN") as copy:
                for raw in emails:
                    email = normalize_email(raw)
                    copy.write_row((raw, email.normalized, email.is_valid))
    return {"phones": len(phones), "emails": len(emails)}
