"""Every log record emitted during the test session is scanned for phone numbers and email
addresses; the session fails if a victim's contact detail reached a log.

Loaded by conftest.py. Records are captured from the root logger at INFO and above (plus what
any library emits on its own), across every test, so a leak anywhere in the code paths the
suite runs (ingest, dbt, sending, webhooks, pages) is caught.
"""

from __future__ import annotations

import logging
import re

import pytest

# Bounded by non-word characters on both sides, so random ids (UUIDs in URLs) are not numbers.
PHONE = re.compile(r"(?<![\w/])\+?1?[ .-]?\(?[2-9]\d{2}\)?[ .-]?\d{3}[ .-]?\d{4}(?!\w)")
EMAIL = re.compile(r"[\w.+-]+@[\w-]+(\.[\w-]+)+")
# The agency's own published numbers and sender address are not personal data.
PUBLIC = re.compile(r"555-?01[01]\d|55501[01]\d|victim-services@svpd\.example\.org")


class _Collector(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.INFO)
        self.leaks: list[str] = []
        self.records = 0

    def emit(self, record: logging.LogRecord) -> None:
        self.records += 1
        try:
            text = record.getMessage()
        except Exception:  # a malformed record is not a leak
            return
        for pattern in (PHONE, EMAIL):
            for match in pattern.finditer(text):
                if not PUBLIC.search(match.group(0)):
                    self.leaks.append(f"{record.name}: {pattern.pattern[:12]}… in {text[:60]!r}")


_collector = _Collector()


def _attach() -> None:
    """(Re)attach the collector: Prefect and dbt reconfigure logging and drop root handlers."""
    root = logging.getLogger()
    if _collector not in root.handlers:
        root.addHandler(_collector)
    if root.level > logging.INFO or root.level == logging.NOTSET:
        root.setLevel(logging.INFO)


def pytest_configure(config: pytest.Config) -> None:
    _attach()


def pytest_runtest_setup(item: pytest.Item) -> None:
    _attach()


def pytest_runtest_call(item: pytest.Item) -> None:
    _attach()


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    logging.getLogger().removeHandler(_collector)
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if _collector.leaks:
        if reporter:
            reporter.write_line(f"PII in logs: {len(_collector.leaks)} record(s)", red=True)
            for leak in _collector.leaks[:20]:
                reporter.write_line(f"  {leak}")
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
    elif reporter:
        reporter.write_line(f"log scan: {_collector.records} records, no phone numbers or emails")
