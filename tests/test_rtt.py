"""Network distance: what an N+1 costs when every round trip takes 2 ms (the relay adds it)."""

from __future__ import annotations

import pytest

from bench.results import load, read
from tests.test_cli import sessionbench


@pytest.mark.db
@pytest.mark.slow
def test_lazy_dashboard_pays_one_round_trip_per_session_and_selectin_does_not(tmp_path):
    done = sessionbench("run", "--backend", "embedded", "--sessions", "200", "--max-time", "0.2", "--min-rounds", "10",
                        "--rtt-ms", "0,2", "--only", "workload=dashboard",
                        "--only", "param=page_size=100", "--only", "loading=lazy,selectin", "--out", str(tmp_path))
    assert done.returncode == 0, done.stderr
    [path] = list(tmp_path.glob("*.json"))
    # The fastest round is the one least disturbed by the rest of a busy machine: compare those.
    table = load(path).set_index(["variant", "rtt_ms"])["min_s"]
    lazy_extra = table[("baseline", 2.0)] - table[("baseline", 0.0)]
    selectin_extra = table[("loading=selectin", 2.0)] - table[("loading=selectin", 0.0)]
    # 1 + 100 statements, each a round trip: at least 100 x 2 ms more.
    assert lazy_extra >= 100 * 0.002, lazy_extra
    # 3 statements plus BEGIN/ROLLBACK: a handful of round trips, far from 100.
    assert selectin_extra <= 10 * 0.002, selectin_extra
    relays = read(path)["sessionbench"]["relays"]
    assert sorted(r["rtt_ms"] for r in relays) == [0.0, 2.0]
    assert all(r["relayed"] for r in relays)  # 0 ms goes through the relay too, so both compare
    two = next(r for r in relays if r["rtt_ms"] == 2.0)
    assert two["added_ms"] >= 2.0
    assert "rtt ms" in done.stdout  # the summary shows the RTT column when several are measured
