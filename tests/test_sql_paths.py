"""The server pass's completeness check (tests/sql_paths.py): it finds every call in the source
that sends SQL, and fails the pass when one of them never ran."""

from __future__ import annotations

from sql_paths import NOT_ON_THE_SERVER, missing_sql_call_sites, sql_call_sites


def _files(sites: set[str]) -> set[str]:
    return {site.split(":")[0] for site in sites}


def test_every_call_that_sends_sql_is_found():
    found = sql_call_sites()
    for path in (
        "notifications/outbox.py",
        "warehouse/transform.py",
        "web/surveys.py",
        "ingest/rms_extract.py",
    ):
        assert path in _files(found)
    assert "notifications/window.py" not in _files(found)  # pure: no SQL
    assert not any(site.startswith("warehouse/migrations/") for site in found)  # alembic's round trip
    # Each site is the line of such a call.
    source = (sql_call_sites.__globals__["REPO_ROOT"] / "notifications/outbox.py").read_text().splitlines()
    lines = [int(site.split(":")[1]) for site in found if site.startswith("notifications/outbox.py:")]
    assert all(any(m in source[n - 1] for m in (".execute(", ".executemany(", ".copy(")) for n in lines)


def test_a_call_site_left_out_of_the_pass_fails_it():
    expected = sql_call_sites()
    assert missing_sql_call_sites(expected, expected) == []
    one = sorted(site for site in expected if site.startswith("monitoring/alerts.py:"))[0]
    assert missing_sql_call_sites(expected, expected - {one}) == [one]
    embedded_only = {site for site in expected if site.split(":")[0] in NOT_ON_THE_SERVER}
    assert embedded_only and missing_sql_call_sites(expected, expected - embedded_only) == []
