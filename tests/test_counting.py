"""Counting round facts against a real server: statements, executions, round trips, wire rows and bytes.

Each test states one fact bench.measure.counting defines; none compares timings except the relay test,
which checks a lower bound (an added round-trip time costs at least round_trips x RTT).
"""

from __future__ import annotations

import time

import pytest

from bench.measure import counting
from bench import measure
from bench.plan.cases import Case, all_cases
from bench.net.relay import LatencyRelay
from bench.net.urls import relay_url, socket_target_from_url
from tests.test_trials import state  # noqa: F401 (fixture: 200 sessions on the session's server)

TRACE = b"""F\t10\tQuery\t "BEGIN"
B\t10\tCommandComplete\t "BEGIN"
B\t5\tReadyForQuery\t T
F\t41\tParse\t "" "select * from t where id < $1" 1 NNNN
F\t4\tSync
B\t47\tRowDescription\t 2 "id" NNNN 1 NNNN 4 -1 0 "v" NNNN 2 NNNN 65535 -1 0
B\t17\tDataRow\t 2 1 '1' 2 'x1'
B\t17\tDataRow\t 2 1 '2' 2 'x\\x09tab'
B\t13\tCommandComplete\t "SELECT 2"
B\t5\tReadyForQuery\t T
"""


def test_a_trace_counts_round_trips_rows_and_bytes_the_server_sent():
    wire = counting.parse_trace(TRACE)
    assert wire.round_trips == 2  # two ReadyForQuery: BEGIN, then one statement
    assert wire.wire_rows == 2
    assert wire.wire_bytes == (10 + 5 + 47 + 17 + 17 + 13 + 5) + 7  # lengths plus one type byte each


def case_of(workload: str, param: str, variant: str) -> Case:
    return next(c for c in all_cases() if c.workload.name == workload and c.param == param
                and c.variant.label == variant)


def counts(state, url, workload: str, param: str, variant: str) -> dict:
    prepared = measure.prepare(state, case_of(workload, param, variant), url, warm=False)
    prepared.close()
    return prepared.counts


pytestmark = pytest.mark.db


def test_lazy_pays_a_round_trip_per_statement_selectin_a_fixed_few(state, server):
    lazy = counts(state, server.url, "dashboard", "page_size=10", "baseline")
    selectin = counts(state, server.url, "dashboard", "page_size=10", "loading=selectin")
    assert (lazy["statements"], selectin["statements"]) == (11, 3)
    # BEGIN + the statements + ROLLBACK; lazy's 6th skills load is prepared by psycopg (one more
    # round trip for its Parse), so its round ends with DEALLOCATE ALL as well
    assert selectin["round_trips"] == 1 + 3 + 1
    assert lazy["round_trips"] == 1 + 11 + 1 + 1 + 1


def test_selectin_on_both_sends_every_message_and_skills_sel_sends_what_the_page_uses(state, server):
    page = {variant: counts(state, server.url, "dashboard", "page_size=10", variant)
            for variant in ("baseline", "loading=selectin", "loading=skills_sel", "loading=raise")}
    used = page["baseline"]["rows"]
    assert all(c["rows"] == used for c in page.values())  # every strategy hands the page the same rows
    assert page["loading=skills_sel"]["wire_rows"] == page["loading=raise"]["wire_rows"] == used
    assert page["baseline"]["wire_rows"] == used
    assert page["loading=selectin"]["wire_rows"] > page["loading=skills_sel"]["wire_rows"]
    assert page["loading=selectin"]["wire_bytes"] > page["loading=skills_sel"]["wire_bytes"]


def test_an_orm_cascade_delete_is_few_statements_and_more_executions(state, server):
    facts = counts(state, server.url, "delete_session", "", "baseline")
    trace = facts["_trace"]
    assert sum(entry["executions"] for entry in trace) == facts["executions"] == facts["server_statements"]
    assert facts["statements"] == len(trace) < facts["executions"]
    many = [entry for entry in trace if entry["executions"] > 1]
    assert many and all(entry["sql"].lstrip().upper().startswith("DELETE") for entry in many)
    # an executemany in pipeline mode is one round trip whatever its parameter sets
    assert facts["round_trips"] < facts["executions"]


def _fastest_round(one_round, rounds: int = 5) -> float:
    """The fastest of a few rounds: the one least stretched by other load on the machine."""
    one_round()  # first-round effects out
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        one_round()
        times.append(time.perf_counter() - started)
    return min(times)


def _bytes_to_client(relay) -> int:
    """The relay's count once it stops moving: it counts a chunk just after writing it, so the client can
    be done with a round a moment before the count is (bounded: a second at most)."""
    last = relay.stats()["bytes_to_client"]
    for _ in range(50):
        time.sleep(0.02)
        now = relay.stats()["bytes_to_client"]
        if now == last:
            return now
        last = now
    return last


def test_an_added_rtt_costs_at_least_round_trips_times_rtt_and_the_relay_sees_the_wire_bytes(state, server):
    rtt_ms = 4.0
    case = case_of("dashboard", "page_size=10", "baseline")
    direct = measure.prepare(state, case, server.url, warm=False)
    try:
        direct_s = _fastest_round(direct.one_round)
    finally:
        direct.close()
    with LatencyRelay(socket_target_from_url(server.url), rtt_ms=rtt_ms) as relay:
        relayed = measure.prepare(state, case, relay_url(server.url, relay), warm=False)
        try:
            relayed_s = _fastest_round(relayed.one_round)
            before = _bytes_to_client(relay)
            relayed.one_round()
            sent = _bytes_to_client(relay) - before
        finally:
            relayed.close()
    trips = relayed.counts["round_trips"]
    assert trips == direct.counts["round_trips"] == 15  # the relay changes the time, not the exchanges
    assert sent == relayed.counts["wire_bytes"]  # every byte the server sent in a round, as the trace counted
    assert (relayed_s - direct_s) * 1000 >= 0.9 * trips * rtt_ms
