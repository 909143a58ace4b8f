import datetime as dt
import test_safety_properties as t


def test_dbg(clean_db_url, tmp_path):
    config = t._all_live(t.load_config())
    folder = tmp_path / "a"
    t.generate_agency(config, months=1, scale=0.05, seed=0, start=dt.date(2025, 3, 1), out_dir=folder)
    t.ingest_path(folder, "contract-csv", url=clean_db_url, config=config)
    r = t.transform(url=clean_db_url, config=config, as_of="2025-04-01T12:00:00+00:00", quiet=True)
    assert r.success
    rows = t._query(
        clean_db_url,
        "SELECT reason_list, count(*) n FROM marts.fct_eligibility_decisions GROUP BY 1 ORDER BY 2 DESC",
    )
    for x in rows:
        print(x)
    print(t._query(clean_db_url, "SELECT arm, count(*) FROM marts.fct_experiment_assignments GROUP BY 1"))
    print(t._query(clean_db_url, "SELECT count(*) FROM restricted.notifications_due"))
