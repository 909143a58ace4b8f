"""`vnotify evaluate` from the marts: survey answers saved the way the survey page saves them reach
fct_evaluation_victims (without the victim's own words), the evaluation counts them, and the run
lands in the analytics schema, readable by the analyst role. And the CSV path through the CLI."""

from __future__ import annotations

import json

import psycopg
import pytest
from conftest import BUILT_AS_OF
from typer.testing import CliRunner

from analytics.run import run_evaluation
from simulate.randomized_victims import make_frame
from vnotify.cli import app
from vnotify.config import load_config
from warehouse.transform import transform
from web.surveys import create_invitation, find_invitation, save_answers

# What a victim might type in the free-text box: it must never leave ops.
FREE_TEXT = "Call me at 520-555-8871, this is Maria Quintero"


def _answer_surveys(url: str, experiment: str) -> dict[str, int]:
    """Invite every randomized victim; about half of each arm answer, the rest leave it."""
    completed = {"A": 0, "B": 0}
    with psycopg.connect(url) as conn:
        assigned = conn.execute(
            # The marts carry no report numbers: the system's own tables say which report is whose.
            "SELECT a.victim_key, e.report_number, a.arm FROM marts.fct_experiment_assignments AS a"
            " JOIN intermediate.int_victims__eligibility_evaluated AS e USING (victim_key) ORDER BY a.victim_key"
        ).fetchall()
        for index, (victim_key, report_number, arm) in enumerate(assigned):
            token = create_invitation(conn, victim_key, report_number, experiment, arm, "sms", "en", 30)
            if index % 2:
                continue
            invitation = find_invitation(conn, token)
            answers = {
                "preferred_text": arm == "A" or index % 3 == 0,
                "preferred_email": index % 4 == 0,
                "likely_to_call": arm == "B",
                "service_rating": 5 if arm == "A" else 3,
                "trust_rating": 4,
                "free_text": FREE_TEXT if index % 5 == 0 else None,
            }
            save_answers(conn, invitation, answers, complete=True)
            completed[arm] += 1
        conn.commit()
    return completed


@pytest.mark.server
@pytest.mark.db
def test_evaluate_from_the_marts_counts_every_answer_and_stores_the_run(built, tmp_path):
    config = load_config()
    completed = _answer_surveys(built, config.experiment.name)
    assert completed["A"] and completed["B"]
    assert transform(url=built, as_of=BUILT_AS_OF, quiet=True).success

    output = run_evaluation(tmp_path, config, url=built, with_pdf=False)
    results = output.results
    assert results["source"] == "marts"
    assert results["funnel"]["a"]["responded"] == completed["A"]
    assert results["funnel"]["b"]["responded"] == completed["B"]
    with psycopg.connect(built) as conn:
        randomized = conn.execute("SELECT count(*) FROM marts.fct_experiment_assignments").fetchone()[0]
    assert results["rows"] == randomized == results["srm"]["n_a"] + results["srm"]["n_b"]
    assert json.loads(output.results_path.read_text())["data_sha256"] == results["data_sha256"]
    assert output.html_path.read_text().startswith("<!DOCTYPE html>")

    with psycopg.connect(built) as conn:
        conn.execute("SET ROLE vnotify_analyst")
        effects = dict(
            conn.execute(
                "SELECT outcome, n_a FROM analytics.outcome_effects WHERE run_id = %s", (output.run_id,)
            ).fetchall()
        )
        stored = conn.execute(
            "SELECT results::text FROM analytics.evaluation_runs WHERE run_id = %s", (output.run_id,)
        ).fetchone()[0]
        marts_text = conn.execute(
            "SELECT string_agg(t::text, ' ') FROM marts.fct_survey_responses AS t"
        ).fetchone()[0]
        wrote = conn.execute(
            "SELECT count(*) FROM marts.fct_evaluation_victims WHERE wrote_free_text"
        ).fetchone()[0]
    assert effects["prefers_text"] == completed["A"]
    assert "Quintero" not in stored and "8871" not in stored
    assert "Quintero" not in marts_text and "8871" not in marts_text
    assert wrote > 0


def test_cli_evaluates_a_csv_and_rejects_a_bad_one(tmp_path):
    good = tmp_path / "victims.csv"
    make_frame(3_000, seed=2).to_csv(good, index=False)
    runner = CliRunner()
    result = runner.invoke(
        app, ["evaluate", "--from-csv", str(good), "--out", str(tmp_path / "out"), "--no-pdf", "--json"]
    )
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output.strip().splitlines()[-1])
    assert summary["rows"] == 3_000 and summary["run_id"] is None
    assert (tmp_path / "out" / "results.json").exists() and (tmp_path / "out" / "report.html").exists()

    bad = tmp_path / "bad.csv"
    make_frame(50, seed=2).drop(columns=["arm"]).to_csv(bad, index=False)
    result = runner.invoke(app, ["evaluate", "--from-csv", str(bad), "--out", str(tmp_path / "bad")])
    assert result.exit_code == 2
    assert "missing column(s): arm" in result.output
    assert not (tmp_path / "bad" / "results.json").exists()


# (kind, channel, subject, delivery status, events) of the messages each of three Group A victims got.
MESSAGES_OF_EACH_KIND = [
    ("initial", "email", "", "delivered", ("open",)),
    ("initial", "sms", "", "delivered", ()),
    ("status_update", "email", "cleared_arrest", "delivered", ("unsubscribe",)),
    ("status_update", "sms", "cleared_arrest", "undelivered", ()),
    ("survey", "sms", "", "delivered", ()),
    ("survey_reminder", "email", "", "delivered", ()),
]


def _send_messages_of_each_kind(url: str) -> tuple[int, str | None]:
    """Outbox rows of every kind, as the dispatcher leaves them once sent, for three Group A victims
    (and one reporting party when the agency has any). Returns (victims, reporting party key)."""
    with psycopg.connect(url) as conn:
        victims = conn.execute(
            "SELECT a.victim_key, e.report_number FROM marts.fct_experiment_assignments AS a"
            " JOIN intermediate.int_victims__eligibility_evaluated AS e USING (victim_key) WHERE a.arm = 'A'"
            " ORDER BY a.victim_key LIMIT 3"
        ).fetchall()
        party = conn.execute(
            "SELECT victim_key, report_number FROM intermediate.int_victims__eligibility_evaluated "
            "WHERE notice_kind = 'reporting_party' ORDER BY victim_key LIMIT 1"
        ).fetchone()
        # Survey messages name their invitation.
        invitations = {}
        for key, number in victims:
            token = create_invitation(conn, key, number, load_config().experiment.name, "A", "sms", "en", 30)
            invitations[key] = find_invitation(conn, token).invitation_id
        rows = [(key, number, *message) for key, number in victims for message in MESSAGES_OF_EACH_KIND]
        if party:
            rows.append((*party, "reporting_party", "sms", "", "delivered", ()))
        for index, (key, number, kind, channel, subject, status, events) in enumerate(rows):
            outbox_id = conn.execute(
                "INSERT INTO ops.outbox (victim_key, report_number, kind, channel, subject, state, address, "
                "provider_id, sent_at, delivery_status, invitation_id) VALUES (%s, %s, %s, %s, %s, 'sent', "
                "'x@example.org', %s, now(), %s, %s) RETURNING outbox_id",
                (
                    key,
                    number,
                    kind,
                    channel,
                    subject,
                    f"test-{index}",
                    status,
                    invitations.get(key) if kind.startswith("survey") else None,
                ),
            ).fetchone()[0]
            for event in events:
                conn.execute(
                    "INSERT INTO ops.events (source, event, outbox_id, dedupe_key, occurred_at) "
                    "VALUES ('sendgrid', %s, %s, %s, now())",
                    (event, outbox_id, f"test-{index}-{event}"),
                )
        conn.commit()
    assert len(victims) == 3
    return len(victims), party[0] if party else None


@pytest.mark.db
def test_the_figures_count_each_notice_kind_apart(built, tmp_path):
    victims, party = _send_messages_of_each_kind(built)
    assert party  # the small agency has reporting parties who are not victims
    assert transform(url=built, as_of=BUILT_AS_OF, quiet=True).success
    with psycopg.connect(built) as conn:
        conn.execute("SET ROLE vnotify_analyst")
        sent = dict(
            conn.execute(
                "SELECT notice_kind, sum(messages_sent) FROM marts.agg_monthly_kpis GROUP BY notice_kind"
            ).fetchall()
        )
        initial_victims = conn.execute(
            "SELECT sum(victims) FROM marts.agg_monthly_kpis WHERE notice_kind = 'initial'"
        ).fetchone()[0]
        decided_victims = conn.execute(
            "SELECT count(*) FROM marts.fct_eligibility_decisions WHERE notice_kind = 'initial'"
        ).fetchone()[0]
    expected = {
        "initial": 2 * victims,
        "status_update": 2 * victims,
        "survey": victims,
        "survey_reminder": victims,
    }
    if party:
        expected["reporting_party"] = 1
    assert {kind: count for kind, count in sent.items() if count} == expected
    assert initial_victims == decided_victims  # reporting parties are not counted as victims

    results = run_evaluation(tmp_path, load_config(), url=built, with_pdf=False).results
    kpis = results["kpis"]["totals"]
    assert kpis["messages_sent"] == 2 * victims and kpis["victims_notified"] == victims  # initial only
    assert kpis["emails_opened"] == victims == kpis["emails_sent"]
    kinds = {entry["kind"]: entry for entry in results["figures_by_kind"]["kinds"]}
    assert list(kinds)[:1] == ["initial"] and set(kinds) == set(expected)
    follow_ups = kinds["status_update"]
    assert (follow_ups["messages_sent"], follow_ups["messages_delivered"]) == (2 * victims, victims)
    assert follow_ups["delivery_rate"] == pytest.approx(0.5)
    assert (follow_ups["victims_unsubscribed"], follow_ups["victims_notified"]) == (victims, victims)
    assert follow_ups["emails_opened"] == 0 and kinds["initial"]["victims_unsubscribed"] == 0
    assert kinds["survey"]["emails_sent"] == 0 and kinds["survey"]["email_open_rate"] is None
    assert {row["kind"] for row in results["figures_by_kind"]["monthly"]} == set(expected)

    html = (tmp_path / "report.html").read_text()
    table = html.split('<table id="kinds">', 1)[1].split("</table>", 1)[0]
    for label in (
        "Victims&#39; first notices",
        "Case-status follow-ups",
        "Survey invitations",
        "Survey reminders",
    ):
        assert label in table
    assert f"{victims} of {2 * victims} messages" in table  # follow-ups: half delivered, with the counts
