"""Load cases (`--clients`) as pytest-benchmark tests, and C2's concurrent node writes as a fact table.

Nothing here runs without `--clients`: the default run stays as it was. Each load case's row holds
throughput, latency percentiles over every request, pool waits and the server's sampled wait
events; its rounds are a sample of its request latencies. Beside each row, the same workers,
threads and pools running `select 1` at the same client count (`ceiling_ops_per_s`): when that is
far above the case's throughput, the load generator is not what limits it.
"""

from __future__ import annotations

import pytest

from bench.load import cases as concurrency_cases
from bench.benchmarks.test_workloads import record_rounds
from bench.load.concurrency import LoadWorkers
from bench.results import record
from models_variants import Variant

GENERATOR_METHOD = ("each case's throughput is compared with `select 1` run by the same worker processes, "
                    "client threads and pools at the same client count (ceiling_ops_per_s, headroom = ceiling / "
                    "ops_per_s); load_cpu_share is the workers' CPU time over the window x the cores available")
# Node writers when every load case uses fewer clients: enough to interleave.
MIN_NODE_WRITERS = 4


def _shared(config) -> dict:
    shared = config._sessionbench
    if "concurrency" not in shared:
        chosen = shared["settings"]
        shared["concurrency"] = {"method": GENERATOR_METHOD, "cores": concurrency_cases.available_cores(),
                                 "pool_size": chosen.pool_size, "load_workers": chosen.load_workers,
                                 "load_seconds": chosen.load_seconds, "ceilings": []}
        shared.setdefault("node_writes", [])
    return shared


def _load_cases(config) -> list:
    shared = config._sessionbench
    if "load_cases" not in shared:
        shared["load_cases"] = concurrency_cases.load_cases(shared["settings"].clients, shared["only"])
    return shared["load_cases"]


def pytest_generate_tests(metafunc):
    cases = _load_cases(metafunc.config)
    if "load_case" in metafunc.fixturenames:
        metafunc.parametrize("load_case", cases, ids=[case.id for case in cases])
    if "node_variant" in metafunc.fixturenames:
        # With the sync mix in the run: every sync_flag variant it uses.
        variants = list(dict.fromkeys(case.variant for case in cases if case.mix.axis == "sync_flag"))
        metafunc.parametrize("node_variant", variants, ids=[variant.label for variant in variants])


@pytest.fixture(scope="session")
def load_workers(request):
    with LoadWorkers(request.config._sessionbench["settings"].load_workers) as workers:
        yield workers


def _ceiling(shared, run_state, url, rtt_ms, workers, clients: int) -> float | None:
    chosen = shared["settings"]
    key = (run_state.server.image, rtt_ms, clients)
    known = {(c["image"], c["rtt_ms"], c["clients"]): c["ops_per_s"] for c in shared["concurrency"]["ceilings"]}
    if key not in known:
        noop = concurrency_cases.LoadCase(concurrency_cases.NOOP_MIX, Variant(), clients)
        columns, _ = concurrency_cases.measure_load(run_state, noop, url, workers, pool_size=chosen.pool_size,
                                                    seconds=min(1.0, chosen.load_seconds))
        known[key] = columns["ops_per_s"]
        shared["concurrency"]["ceilings"].append({"image": run_state.server.image, "rtt_ms": rtt_ms,
                                                  "clients": clients, "ops_per_s": columns["ops_per_s"],
                                                  "load_cpu_share": columns["load_cpu_share"]})
    return known[key]


def test_load(benchmark, load_case, run_state, endpoint, load_workers, request):
    shared = _shared(request.config)
    chosen = shared["settings"]
    url, rtt_ms = endpoint
    ceiling = _ceiling(shared, run_state, url, rtt_ms, load_workers, load_case.clients)
    columns, sample = concurrency_cases.measure_load(run_state, load_case, url, load_workers,
                                                     pool_size=chosen.pool_size, seconds=chosen.load_seconds)
    if not sample:
        raise AssertionError(f"no request completed in the window: {columns['first_error'] or 'no error seen'}")
    benchmark.group = load_case.mix.name
    record_rounds(benchmark, sample)
    server = run_state.server
    record(benchmark, {
        **columns, "image": server.image, "rtt_ms": rtt_ms, "backend": server.backend,
        "server_version": server.version,
        **getattr(run_state.spec, "columns", {"sessions": run_state.spec.sessions}),  # the data set: part of the key
        "ceiling_ops_per_s": ceiling, "headroom": ceiling / columns["ops_per_s"] if columns["ops_per_s"] else None,
    })


def test_node_writes(node_variant, run_state, request):
    """C2's write side: lost updates, drift, lock waits and deadlocks per sync_flag variant and write path."""
    from bench.load.node_writes import hot_sessions, node_write_facts

    shared = _shared(request.config)
    nodes = max(MIN_NODE_WRITERS, *shared["settings"].clients)
    with run_state.setup_engine.connect() as conn:
        sessions = hot_sessions(conn, run_state.source_schema)
    url = run_state.server.url
    for row in node_write_facts(run_state, node_variant, url, nodes, sessions):
        shared["node_writes"].append({"image": run_state.server.image, **row})
