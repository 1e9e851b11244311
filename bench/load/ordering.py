"""Claim C6 as counts of mis-ordered events: clock skew between writers, server time zones, daylight saving.

The review says datetime.utcnow keeps event ordering consistent across availability zones and mesh
nodes. Ordering is judged against the true order, the order in which writes commit (what a reader
sees appear), by two counts over the events in commit order:

- `misordered_pairs`: pairs whose timestamps do not put them in commit order (equal counts too: a
  tie orders nothing), out of `pairs` = n(n-1)/2;
- `late_events`: events a reader tailing by timestamp (`WHERE ts > last seen`) never sees, because
  an event committed before them carries a later or equal timestamp.

`clock_skew` runs a fixed, seeded schedule of overlapping transactions from several writers against
the server, one step at a time in simulated-time order, and records per event the client's clock
(simulated as the true time plus that writer's skew, as `utcnow()` on a skewed host reads), the
server's `now()` (the transaction's start), `clock_timestamp()` (the insert's moment) and a sequence.
Only the client clock depends on the skew; the server methods read one clock and are measured once.
`zones` writes one instant per minute from writers whose sessions use different TimeZones, and
across Europe/Berlin's fall-back on 2026-10-25, into the variant's column, as each kind of Python
value (or server default) would be written.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import text

# Writers' clock skews to measure, in ms: NTP-synced hosts (1-10 ms) and badly synced ones (100 ms-2 s).
SKEWS_MS = (0, 1, 10, 100, 1000, 2000)
# Writer h's clock reads true time + SKEW_PATTERN[h] x skew: one exact, one fast, one slow, one half fast.
SKEW_PATTERN = (0.0, 1.0, -1.0, 0.5)
EVENTS = 40
# Assumptions, not measurements: a new event starts every EVENT_GAP_MS across the mesh; its handler works
# WORK_MS after the transaction's first statement before inserting, then COMMIT_MS until the commit.
EVENT_GAP_MS = 10.0
WORK_MS = (0.0, 20.0)
COMMIT_MS = (0.0, 5.0)
SEED = 42
START = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
# Server-side sources: one clock (the server's) whatever the writers' skews.
SERVER_SOURCES = {"server now()": "server_now", "server clock_timestamp()": "server_clock", "sequence": "seq"}
CLIENT_SOURCE = "client utcnow()+skew"
# Time zones: one writer per zone (its host's zone, also its database session's TimeZone).
ZONES = ("UTC", "Asia/Tokyo", "Europe/Berlin", "America/New_York")
ZONE_EVENTS = 12
# Daylight saving: Europe/Berlin falls back from 03:00 CEST to 02:00 CET at 01:00 UTC on this day.
DST_ZONE, DST_START, DST_EVENTS = "Europe/Berlin", datetime(2026, 10, 25, 0, 0, tzinfo=UTC), 12
# What the application writes for "now", per source: the review's utcnow, an aware value (the same as
# a server default now()) and a host's local wall clock (datetime.now()).
VALUE_SOURCES = ("naive UTC: datetime.utcnow()", "aware: datetime.now(timezone.utc) or server now()",
                 "naive local: datetime.now()")


@dataclass(frozen=True)
class Event:
    number: int
    writer: int
    begin_ms: float
    insert_ms: float
    commit_ms: float


def schedule(events: int = EVENTS, writers: int = len(SKEW_PATTERN), gap_ms: float = EVENT_GAP_MS,
             seed: int = SEED) -> list[Event]:
    """Events started every `gap_ms` by the writers in turn, with seeded work and commit delays."""
    rng = random.Random(seed)
    out = []
    for number in range(events):
        begin = number * gap_ms
        insert = begin + rng.uniform(*WORK_MS)
        out.append(Event(number, number % writers, begin, insert, insert + rng.uniform(*COMMIT_MS)))
    return out


def steps(events: list[Event]) -> list[tuple[float, str, Event]]:
    """Every begin, insert and commit in simulated-time order (a tie: the earlier event first)."""
    order = {"begin": 0, "insert": 1, "commit": 2}
    found = [(e.begin_ms, "begin", e) for e in events] + [(e.insert_ms, "insert", e) for e in events] + \
        [(e.commit_ms, "commit", e) for e in events]
    return sorted(found, key=lambda s: (s[0], s[2].number, order[s[1]]))


def misordered_pairs(values: list) -> int:
    """Pairs i < j (commit order) whose values do not increase: values[i] >= values[j]."""
    return sum(1 for i in range(len(values)) for j in range(i + 1, len(values)) if values[i] >= values[j])


def late_events(values: list) -> int:
    """Events whose value is not above every value committed before them: a reader tailing by value skips them."""
    late, highest = 0, None
    for value in values:
        if highest is not None and value <= highest:
            late += 1
        else:
            highest = value
    return late


def counts(values: list) -> dict:
    n = len(values)
    return {"events": n, "pairs": n * (n - 1) // 2, "misordered_pairs": misordered_pairs(values),
            "late_events": late_events(values)}


def client_clock(event: Event, skew_ms: float) -> datetime:
    """What `utcnow()` reads on the event's writer when it inserts: true time plus that host's skew."""
    return START + timedelta(milliseconds=event.insert_ms + SKEW_PATTERN[event.writer] * skew_ms)


def _scratch(conn, schema: str, column_type: str) -> str:
    conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    conn.execute(text(f'CREATE SEQUENCE "{schema}".event_seq'))
    conn.execute(text(
        f'CREATE TABLE "{schema}".events (event int PRIMARY KEY, writer int, client_at {column_type}, '
        f'server_now {column_type}, server_clock {column_type}, '
        f"""seq bigint DEFAULT nextval('"{schema}".event_seq'))"""))
    return f'"{schema}".events'


def clock_skew(engine, schema: str, column_type: str, events: list[Event] | None = None) -> list[dict]:
    """Mis-orderings per source: the client clock at each of SKEWS_MS, and the server's now(),
    clock_timestamp() and a sequence (measured once: one clock). Uses and drops scratch `schema`."""
    events = events or schedule()
    with engine.connect() as setup:
        table = _scratch(setup, schema, column_type)
        setup.commit()
    try:
        free, busy, committed = [engine.connect() for _ in range(_most_open(events))], {}, []
        try:
            for _, kind, event in steps(events):
                if kind == "begin":
                    busy[event.number] = conn = free.pop()
                    conn.execute(text("SELECT 1"))  # the handler's first read starts the transaction: now()
                elif kind == "insert":
                    busy[event.number].execute(text(
                        f"INSERT INTO {table} (event, writer, server_now, server_clock) "
                        f"VALUES (:event, :writer, now(), clock_timestamp())"),
                        {"event": event.number, "writer": event.writer})
                else:
                    conn = busy.pop(event.number)
                    conn.commit()
                    committed.append(event)
                    free.append(conn)
        finally:
            for conn in free + list(busy.values()):
                conn.close()
        with engine.connect() as conn:
            stored = {row.event: row for row in conn.execute(text(f"SELECT * FROM {table}"))}
    finally:
        with engine.begin() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    rows = []
    for skew in SKEWS_MS:
        values = [client_clock(e, skew) for e in committed]  # every writer's clock is UTC: the type orders alike
        rows.append({"check": "clock skew", "source": CLIENT_SOURCE, "skew_ms": skew, **counts(values)})
    for source, column in SERVER_SOURCES.items():
        rows.append({"check": "clock skew", "source": source, "skew_ms": None,
                     **counts([getattr(stored[e.number], column) for e in committed])})
    return rows


def _most_open(events: list[Event]) -> int:
    open_now = most = 0
    for _, kind, _ in steps(events):
        open_now += {"begin": 1, "insert": 0, "commit": -1}[kind]
        most = max(most, open_now)
    return most


def _value(source: str, instant: datetime, zone: str):
    if source.startswith("naive UTC"):
        return instant.astimezone(UTC).replace(tzinfo=None)
    if source.startswith("aware"):
        return instant
    return instant.astimezone(ZoneInfo(zone)).replace(tzinfo=None)


def _write_and_count(engine, table: str, writes: list[tuple[str, datetime]], source: str) -> dict:
    """Write one value per (zone, instant) from a session in that zone, in true order; count mis-orderings."""
    with engine.connect() as conn:
        conn.execute(text(f"TRUNCATE {table}"))
        for number, (zone, instant) in enumerate(writes):
            conn.execute(text("SELECT set_config('TimeZone', :zone, true)"), {"zone": zone})
            conn.execute(text(f"INSERT INTO {table} (event, writer, client_at) VALUES (:n, 0, :value)"),
                         {"n": number, "value": _value(source, instant, zone)})
        conn.execute(text("SELECT set_config('TimeZone', 'UTC', true)"))
        stored = dict(conn.execute(text(f"SELECT event, client_at FROM {table}")).all())
        conn.rollback()
    return counts([stored[n] for n in range(len(writes))])


def zones(engine, schema: str, column_type: str) -> list[dict]:
    """Mis-orderings per VALUE_SOURCES when writers in ZONES interleave (one instant a minute), and when
    one Europe/Berlin writer writes every 10 minutes across the 2026-10-25 fall-back."""
    across = [(ZONES[n % len(ZONES)], START + timedelta(minutes=n)) for n in range(ZONE_EVENTS)]
    fall_back = [(DST_ZONE, DST_START + timedelta(minutes=10 * n)) for n in range(DST_EVENTS)]
    with engine.connect() as setup:
        table = _scratch(setup, schema, column_type)
        setup.commit()
    rows = []
    try:
        for check, writes in (("time zones", across), ("daylight saving", fall_back)):
            for source in VALUE_SOURCES:
                rows.append({"check": check, "source": source, "skew_ms": None,
                             **_write_and_count(engine, table, writes, source)})
    finally:
        with engine.begin() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    return rows


def ordering_facts(engine, schema: str, column_type: str) -> list[dict]:
    """Every C6 fact for one timestamps column type: clock skew, then time zones and daylight saving."""
    return clock_skew(engine, schema, column_type) + zones(engine, schema, column_type)
