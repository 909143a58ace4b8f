"""`vnotify run`'s pass (the notify deployment's work): a report dropped in the folder is landed,
checked, decided and its message accepted by the provider in one pass; a pass with nothing new
sends nothing and runs no dbt."""

from __future__ import annotations

import datetime as dt
import shutil

import psycopg
import pytest
from conftest import BUILT_AS_OF

from simulate.demo import demo_environment
from vnotify.config import load_config
from vnotify.pipeline import run_cycle


@pytest.mark.db
def test_one_pass_lands_decides_and_sends(clean_db_url, small_agency, tmp_path, monkeypatch):
    from simulate.emulators import EmulatorSettings, run_in_thread

    drop = tmp_path / "incoming"
    drop.mkdir()
    for name in ("incidents", "offenses", "persons", "cad_calls"):
        shutil.copy(small_agency / f"{name}.csv", drop / f"2025-{name}.csv")
    base = load_config()
    config = base.model_copy(
        update={
            "extract": base.extract.model_copy(update={"drop_folder": drop}),
            # Open all day: the pass sends now, whatever the hour the suite runs.
            "send_window": base.send_window.model_copy(
                update={"start": dt.time(0, 0), "end": dt.time(23, 59)}
            ),
        }
    )
    settings = EmulatorSettings(status_callbacks=False)
    with run_in_thread(settings) as emulator:
        for key, value in demo_environment(emulator.base_url, "http://127.0.0.1:9", settings).items():
            monkeypatch.setenv(key, value)
        first = run_cycle(clean_db_url, config, as_of=BUILT_AS_OF)
        assert first.batches_loaded == 4 and first.transformed and first.sent > 0
        assert len(emulator.store.twilio_messages) + len(emulator.store.sendgrid_messages) == first.sent
        again = run_cycle(clean_db_url, config, as_of=BUILT_AS_OF)
        assert again.batches_loaded == 0 and not again.transformed and again.sent == 0
    assert sorted(p.name for p in (drop / "loaded").iterdir()) == sorted(
        f"2025-{n}.csv" for n in ("incidents", "offenses", "persons", "cad_calls")
    )
    with psycopg.connect(clean_db_url) as conn:
        decided = conn.execute("SELECT count(*) FROM marts.fct_eligibility_decisions").fetchone()[0]
    assert decided > 0
