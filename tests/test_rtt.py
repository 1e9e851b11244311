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
    table = load(path).set_index(["variant", "rtt_ms"])["min_s"]
    # The relay holds every message at least rtt/2 each way, so no load can make a round faster than
    # its round trips times the RTT: 1 + 100 statements, each a round trip, take at least 100 x 2 ms.
    assert table[("baseline", 2.0)] >= 100 * 0.002, table
    # selectin's handful of round trips stays far below that, whatever the load adds to both.
    assert table[("loading=selectin", 2.0)] < table[("baseline", 2.0)] / 4, table
    relays = read(path)["sessionbench"]["relays"]
    assert sorted(r["rtt_ms"] for r in relays) == [0.0, 2.0]
    assert all(r["relayed"] for r in relays)  # 0 ms goes through the relay too, so both compare
    two = next(r for r in relays if r["rtt_ms"] == 2.0)
    # measured against a direct sample taken at another moment: a little jitter either way
    assert two["added_ms"] >= 1.8
    assert "rtt=2ms" in done.stdout  # the summary names each group's RTT when several are measured
