"""The send window in the agency's time zone, across daylight-saving changes (properties and cases)."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st

from notifications.window import is_open, next_opening

UTC = dt.UTC
START, END = dt.time(8, 0), dt.time(20, 0)
DENVER = ZoneInfo("America/Denver")
PHOENIX = ZoneInfo("America/Phoenix")

instants = st.datetimes(
    min_value=dt.datetime(2024, 1, 1), max_value=dt.datetime(2027, 12, 31), timezones=st.just(UTC)
)


@given(
    now=instants,
    zone=st.sampled_from([DENVER, PHOENIX, ZoneInfo("Europe/Madrid"), ZoneInfo("Pacific/Auckland")]),
)
def test_next_opening_is_inside_the_window_and_never_in_the_past(now, zone):
    opening = next_opening(now, START, END, zone)
    assert opening >= now
    assert is_open(opening, START, END, zone)
    local = opening.astimezone(zone)
    if opening != now:
        # A wait always ends exactly when the local clock reads the opening time.
        assert (local.hour, local.minute) == (8, 0)
        assert opening - now <= dt.timedelta(hours=13)  # 20:00 → 08:00 plus at most an hour of DST


@given(now=instants)
def test_open_means_local_clock_between_start_and_end(now):
    local = now.astimezone(DENVER)
    assert is_open(now, START, END, DENVER) == (START <= local.time() < END)


def test_dst_days_in_denver_keep_local_hours():
    # 2025-03-09 spring forward: 08:00 MDT = 14:00 UTC (the day before it was 15:00 UTC).
    assert next_opening(dt.datetime(2025, 3, 9, 5, 0, tzinfo=UTC), START, END, DENVER) == dt.datetime(
        2025, 3, 9, 14, 0, tzinfo=UTC
    )
    assert next_opening(dt.datetime(2025, 3, 8, 5, 0, tzinfo=UTC), START, END, DENVER) == dt.datetime(
        2025, 3, 8, 15, 0, tzinfo=UTC
    )
    # 2025-11-02 fall back: 19:59 MST is open, 20:00 MST closed.
    assert is_open(dt.datetime(2025, 11, 3, 2, 59, tzinfo=UTC), START, END, DENVER)
    assert not is_open(dt.datetime(2025, 11, 3, 3, 0, tzinfo=UTC), START, END, DENVER)


def test_a_window_opening_inside_a_spring_forward_gap_opens_just_after_it():
    zone = ZoneInfo("America/New_York")
    opening = next_opening(dt.datetime(2025, 3, 9, 5, 0, tzinfo=UTC), dt.time(2, 30), dt.time(20, 0), zone)
    assert opening.astimezone(zone).replace(tzinfo=None) == dt.datetime(2025, 3, 9, 3, 0)


@given(now=instants, zone=st.sampled_from([DENVER, PHOENIX, ZoneInfo("Asia/Kolkata")]))
def test_a_window_to_24_00_is_open_every_minute_of_the_day(now, zone):
    """`end: "24:00"` (the tests' all-day window) leaves no minute before midnight shut."""
    from notifications.window import closes_at
    from vnotify.config import SendWindow

    window = SendWindow.model_validate({"start": "00:00", "end": "24:00"})
    assert is_open(now, window.start, window.end, zone)
    local = now.astimezone(zone)
    assert closes_at(now, window.start, window.end, zone).astimezone(zone).time() == dt.time(0, 0)
    assert closes_at(now, window.start, window.end, zone) > now
    assert is_open(local.replace(hour=23, minute=59, second=30), window.start, window.end, zone)
