"""Flow `notify`: what every five minutes does. Land new exports and check them (extract), rebuild
what they change (transform), then queue and send what is due (send).

Safe to run as often as it is scheduled: a file lands once, transform rebuilds only what changed,
and the outbox sends each notification once, so a run with nothing new sends nothing. A batch that
fails its expectations fails the run, but only after transform and send have gone ahead (staging
leaves that batch's people, offenses and calls out): one bad file does not hold back everyone
else's notifications."""

from __future__ import annotations

from prefect import flow, get_run_logger

from flows.extract import ExpectationsFailed, extract
from flows.send import send
from flows.transform import transform


@flow(name="notify", timeout_seconds=1800)
def notify(as_of: str | None = None, limit: int | None = None, workers: int = 2) -> dict:
    """`as_of` (ISO time) decides eligibility as of then instead of now: backfills and tests."""
    failed: ExpectationsFailed | None = None
    try:
        extracted = extract()
    except ExpectationsFailed as error:
        failed, extracted = error, None
    transformed = transform(as_of=as_of)
    sent = send(limit=limit, workers=workers)
    get_run_logger().info(
        "notify: queued %s, outcomes %s",
        sent["queued"] or "nothing new",
        sent["dispatch"].get("outcomes") or {},
    )
    if failed is not None:
        raise failed
    return {"extract": extracted, "transform": transformed, "send": sent}
