"""Claim C6 as counts of mis-ordered events (bench.load.ordering): the counting rules with literal numbers,
then the seeded schedule run on a real PostgreSQL, where the counts are exact and repeat."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import text

from bench.load import ordering

NAIVE, AWARE = "timestamp without time zone", "timestamp with time zone"


def test_misordered_pairs_and_late_events_count_against_commit_order():
    assert ordering.counts([1, 2, 3, 4]) == {"events": 4, "pairs": 6, "misordered_pairs": 0, "late_events": 0}
    # 3 committed before 2: one pair out of order; a reader that saw 3 skips 2
    assert ordering.counts([1, 3, 2, 4]) == {"events": 4, "pairs": 6, "misordered_pairs": 1, "late_events": 1}
    # a tie orders nothing: it counts, and the tailing reader (ts > last seen) skips the second
    assert ordering.counts([1, 2, 2]) == {"events": 3, "pairs": 3, "misordered_pairs": 1, "late_events": 1}
    assert ordering.counts([4, 3, 2, 1]) == {"events": 4, "pairs": 6, "misordered_pairs": 6, "late_events": 3}


def test_the_schedule_is_seeded_and_overlaps():
    events = ordering.schedule()
    assert events == ordering.schedule() and len(events) == 40
    assert [e.writer for e in events[:5]] == [0, 1, 2, 3, 0]
    assert all(e.begin_ms <= e.insert_ms <= e.commit_ms for e in events)
    assert ordering._most_open(events) > 1  # transactions overlap, so commit order is not begin order
    commits = [e.number for _, kind, e in ordering.steps(events) if kind == "commit"]
    assert commits != sorted(commits)


def test_the_client_clock_is_true_time_plus_the_writers_skew():
    event = ordering.Event(0, 2, 0.0, 5.0, 6.0)  # writer 2 runs slow: SKEW_PATTERN[2] = -1
    assert ordering.client_clock(event, 100) == datetime(2026, 3, 1, 11, 59, 59, 905000, tzinfo=UTC)


# Exact counts for the default seeded schedule (40 events, 4 writers, one every 10 ms), pairs of 780.
CLIENT = {0: (1, 1), 1: (2, 2), 10: (20, 14), 100: (133, 29), 1000: (304, 29), 2000: (304, 29)}
SERVER = {"server now()": (4, 4), "server clock_timestamp()": (1, 1), "sequence": (1, 1)}


@pytest.mark.db
@pytest.mark.parametrize("column", [NAIVE, AWARE])
def test_clock_skew_misorders_events_deterministically(engine, column):
    found = ordering.clock_skew(engine, "t_ordering_skew", column)
    client = {f["skew_ms"]: (f["misordered_pairs"], f["late_events"]) for f in found
              if f["source"] == ordering.CLIENT_SOURCE}
    server = {f["source"]: (f["misordered_pairs"], f["late_events"]) for f in found if f["skew_ms"] is None}
    assert client == CLIENT
    # One server clock: now() is each transaction's start, so overlapping transactions mis-order more than
    # clock_timestamp() or a sequence (both taken at the insert), which only miss where commits overtake.
    assert server == SERVER
    assert {(f["events"], f["pairs"]) for f in found} == {(40, 780)}
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM pg_namespace WHERE nspname = 't_ordering_skew'")).scalar() == 0


@pytest.mark.db
def test_server_now_is_the_same_for_every_insert_of_one_transaction(engine):
    with engine.connect() as conn:
        first = conn.execute(text("SELECT now(), clock_timestamp()")).one()
        conn.execute(text("SELECT pg_sleep(0.01)"))
        second = conn.execute(text("SELECT now(), clock_timestamp()")).one()
        conn.rollback()
    assert first[0] == second[0] and second[1] > first[1]


# (column, check) -> mis-ordered pairs of 66 per value source: naive UTC (utcnow), aware (or server now()),
# naive local wall clock. Writers in UTC, Tokyo, Berlin, New York, one instant a minute; Berlin's fall-back.
ZONES = {
    (NAIVE, "time zones"): (0, 30, 30),
    (NAIVE, "daylight saving"): (0, 21, 21),   # local wall clock 02:00-02:50 repeats: 21 pairs out of order
    (AWARE, "time zones"): (24, 0, 0),         # a naive UTC value read as each session's local time
    (AWARE, "daylight saving"): (0, 0, 21),    # an ambiguous local time resolves to one offset
}


@pytest.mark.db
@pytest.mark.parametrize("column", [NAIVE, AWARE])
def test_time_zones_and_daylight_saving(engine, column):
    found = ordering.zones(engine, "t_ordering_zones", column)
    for check in ("time zones", "daylight saving"):
        counts = tuple(f["misordered_pairs"] for f in found if f["check"] == check)
        assert counts == ZONES[(column, check)], check
    assert {(f["events"], f["pairs"]) for f in found} == {(12, 66)}
