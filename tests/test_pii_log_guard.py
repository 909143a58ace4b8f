"""The session's log scanner (tests/pii_log_guard.py) really finds contact details."""

from __future__ import annotations

import logging

from pii_log_guard import _Collector


def _scan(message: str, *args) -> list[str]:
    collector = _Collector()
    collector.emit(logging.LogRecord("vnotify.test", logging.INFO, __file__, 1, message, args, None))
    return collector.leaks


def test_phone_numbers_and_emails_in_a_record_are_leaks():
    assert _scan("sent to %s", "+15207001234")
    assert _scan("sent to (520) 700-1234")
    assert _scan("bounce for %s", "maria.lopez@example.org")


def test_agency_numbers_ids_and_counts_are_not_leaks():
    assert not _scan("HELP reply lists %s and %s", "+15205550101", "(520) 555-0111")
    assert not _scan("sendgrid events: %d stored, %d duplicates", 1200, 3)
    assert not _scan("inbound reply SM0123456789abcdef0123456789abcdef: opt_out")
    assert not _scan("from victim-services@svpd.example.org")


def test_random_ids_in_urls_are_not_phone_numbers():
    # A UUID whose last group starts with ten digits once failed a run (Prefect's CSRF client id).
    assert not _scan(
        "HTTP Request: GET http://127.0.0.1:60973/api/csrf-token?client=b32e7db4-8c82-49d8-b0da-3052666397c8"
    )
    assert not _scan("HTTP Request: GET http://127.0.0.1:1/x?client=961216c6-577b-4eca-b7a9-13612578734b")
    assert _scan("to=+15207001234&body=hi")
