"""The FBI's formats land with counts that match the source."""

from __future__ import annotations

from pathlib import Path

import psycopg

from ingest.run import ingest_path

DATA = Path(__file__).parent / "data"


def _one(url: str, query: str, *params):
    with psycopg.connect(url) as conn:
        return conn.execute(query, params).fetchone()


def test_minnesota_2018_extract_matches_the_fbi_counts(clean_db_url):
    (result,) = ingest_path(DATA / "nibrs-mn-2018", "nibrs-cde", url=clean_db_url)
    assert result.status == "loaded"
    assert result.tables["incidents"].staged == 18_779
    assert result.tables["offenses"].staged == 21_361
    assert result.rows_quarantined == 0
    victims, individuals = _one(
        clean_db_url,
        "SELECT count(*), count(*) FILTER (WHERE victim_type = 'individual') FROM raw.persons WHERE role = 'victim'",
    )
    assert (victims, individuals) == (21_377, 14_063)
    assert _one(clean_db_url, "SELECT count(*) FROM raw.persons WHERE role = 'offender'")[0] == 21_333
    # No contacts in NIBRS: these victims will simply have no channel.
    assert (
        _one(clean_db_url, "SELECT count(*) FROM raw.persons WHERE phone IS NOT NULL OR email IS NOT NULL")[0]
        == 0
    )
    assert _one(clean_db_url, "SELECT count(*) FROM ops.report_versions")[0] == 18_779
    again = ingest_path(DATA / "nibrs-mn-2018", "nibrs-cde", url=clean_db_url)
    assert [r.status for r in again] == ["no_op"]


def test_fbi_xml_samples_land_including_deletes_and_group_b(clean_db_url):
    results = {
        Path(r.source).name: r
        for r in ingest_path(DATA / "nibrs-iepd-2019-xml", "nibrs-xml", url=clean_db_url)
    }
    assert {name: r.status for name, r in results.items()} == {
        "nibrs_AllFields_Sample.xml": "loaded",
        "nibrs_GroupAIncident_Sample.xml": "loaded",
        "nibrs_GroupAReplace_Sample.xml": "loaded",
        "nibrs_GroupBArrestDelete_Sample.xml": "loaded",
        "nibrs_GroupBArrest_Sample.xml": "loaded",
        "nibrs_IncidentDelete_Sample.xml": "loaded",
        "nibrs_ZeroReport_Sample.xml": "loaded",
    }
    assert results["nibrs_ZeroReport_Sample.xml"].rows_read == 0
    # The replace carries the same message time as the original: history kept, no supersede.
    assert results["nibrs_GroupAReplace_Sample.xml"].reports_superseded == 0
    assert (
        _one(clean_db_url, "SELECT count(*) FROM raw.incidents WHERE report_number = '000054236732'")[0] == 2
    )
    assert _one(
        clean_db_url, "SELECT deleted FROM ops.report_versions WHERE report_number = '020160005029'"
    ) == (True,)
    # A Group B deletion cannot be expressed in the contract: quarantined for a person to review.
    assert (
        _one(
            clean_db_url,
            "SELECT count(*) FROM ops.quarantine WHERE reason LIKE '%%Group B arrest deletion%%'",
        )[0]
        == 1
    )
