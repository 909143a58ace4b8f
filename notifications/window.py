"""The agency's send window: when a message may go out, in the agency's own time zone.

Computed on local wall-clock times and converted back to UTC, so a window of 08:00–20:00 stays
08:00–20:00 local on both sides of a daylight-saving change.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

UTC = dt.UTC


# `send_window.end: "24:00"`: the window runs to midnight, the end of its day.
END_OF_DAY = dt.time.max


def _local(day: dt.date, at: dt.time, zone: ZoneInfo) -> dt.datetime:
    """The instant a local wall-clock time occurs (for a time skipped by DST, the instant just after)."""
    if at == END_OF_DAY:
        return _local(day + dt.timedelta(days=1), dt.time(0, 0), zone)
    naive = dt.datetime.combine(day, at)
    aware = naive.replace(tzinfo=zone)
    # A wall time inside a spring-forward gap does not round-trip; step to the first valid minute.
    while aware.astimezone(UTC).astimezone(zone).replace(tzinfo=None) != naive:
        naive += dt.timedelta(minutes=1)
        aware = naive.replace(tzinfo=zone)
    return aware


def is_open(now: dt.datetime, start: dt.time, end: dt.time, zone: ZoneInfo) -> bool:
    """True when `now` (any aware datetime) falls inside [start, end) local time."""
    local = now.astimezone(zone)
    return _local(local.date(), start, zone) <= local < _local(local.date(), end, zone)


def next_opening(now: dt.datetime, start: dt.time, end: dt.time, zone: ZoneInfo) -> dt.datetime:
    """`now` itself when the window is open, else the UTC instant it next opens."""
    if is_open(now, start, end, zone):
        return now.astimezone(UTC)
    local = now.astimezone(zone)
    today_opening = _local(local.date(), start, zone)
    if local < today_opening:
        return today_opening.astimezone(UTC)
    return _local(local.date() + dt.timedelta(days=1), start, zone).astimezone(UTC)


def closes_at(now: dt.datetime, start: dt.time, end: dt.time, zone: ZoneInfo) -> dt.datetime:
    """When today's window closes (UTC); meaningful while it is open."""
    local = now.astimezone(zone)
    return _local(local.date(), end, zone).astimezone(UTC)
