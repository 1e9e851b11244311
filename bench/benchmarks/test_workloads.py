"""Every case as one pytest-benchmark test: counts and plans in `extra_info`, timings in `stats`.

The first case of a comparison group measures the whole group side by side (bench.measure.trials); each
case's test then hands its own rounds to pytest-benchmark and records its metrics.
"""

from __future__ import annotations

import pytest

from bench.analysis import stats
from bench.measure import trials
from bench.plan.cases import RTT_PASS, in_rtt_pass_only
from bench.results import record


def _group_result(request, case, run_state, url, rtt_ms):
    shared = request.config._sessionbench
    key = (run_state.server.image, run_state.tag, rtt_ms, case.group)
    if key not in shared["groups"]:
        chosen = shared["settings"]
        members = [c for c in shared["cases"] if c.group == case.group]
        max_time, trial_count = chosen.max_time, chosen.trials
        if in_rtt_pass_only(rtt_ms, chosen.rtt_ms):  # the short relay pass: its cases, its budget
            members = [c for c in members if RTT_PASS.holds(c)]
            max_time, trial_count = RTT_PASS.max_time, RTT_PASS.trials
        shared["groups"][key] = trials.measure_group(
            run_state, members, url, max_time=max_time, min_rounds=chosen.min_rounds,
            trials=trial_count, seed=chosen.seed, case_budget=chosen.case_budget)
    return shared["groups"][key].pop(case)


def record_rounds(benchmark, durations: list[float]) -> None:
    """Hand rounds measured side by side to pytest-benchmark as this test's own rounds.

    pedantic() marks the fixture used and creates its statistics; its single no-op round is
    then replaced by the measured ones, from which pytest-benchmark computes everything it reports.
    """
    benchmark.pedantic(lambda: None, rounds=1, iterations=1)
    benchmark.stats.stats.data[:] = durations


def test_workload(benchmark, case, run_state, endpoint, request):
    url, rtt_ms = endpoint
    result = _group_result(request, case, run_state, url, rtt_ms)
    if result.error is not None:
        raise result.error
    benchmark.group = case.workload.name
    record_rounds(benchmark, result.durations)
    counts = {k: v for k, v in result.counts.items() if not k.startswith("_")}
    server = run_state.server
    sizes = run_state.sizes[case.variant.label]
    timing = stats.summarize(result.durations)
    record(benchmark, {
        **case.columns(), "label": case.workload.label, "image": server.image, "rtt_ms": rtt_ms,
        "backend": server.backend, "server_version": server.version, **run_state.spec.columns,
        **counts, **result.columns(), **result.facts,
        "p95_s": timing["p95"], "p99_s": timing["p99"],
        "table_bytes": sizes["table_bytes"], "index_bytes": sizes["index_bytes"],
        "first_statements": result.counts["_trace"][:3],
    })


def test_delete_paths(deletion_variant, run_state, request):
    """Claim C3 as a fact table: every delete path an app uses, the error it raised, the orphans it left."""
    from models_variants.delete_paths import PATHS, SCHEMAS, Target, label, run_paths

    same = deletion_variant.values()["deletion"].paths_as
    if same and any(c.variant.label == f"deletion={same}" for c in request.config._sessionbench["cases"]):
        pytest.skip(f"{deletion_variant.label} takes every delete path as {same} does: recorded once")
    models = run_state.models_for(deletion_variant)
    target = Target(run_state.facts["delete_session"], run_state.facts["purge_user"])
    with run_state.setup_engine.connect() as conn:
        for schema in SCHEMAS:  # as declared, and without the foreign keys (a hand-made or older schema)
            for name, outcome in zip(PATHS, run_paths(models, conn, target, schema)):
                request.config._sessionbench["delete_paths"].append({
                    "image": run_state.server.image, "variant": deletion_variant.label,
                    "deletion": deletion_variant.deletion, "schema": schema, "path": name, "label": label(name),
                    "error": outcome.error, "sessions_left": outcome.sessions_left,
                    "orphans": outcome.orphan_rows, "orphans_detail": outcome.orphans, "warnings": outcome.warnings})
        conn.rollback()


def test_deletion_facts(deletion_variant, run_state, request):
    """Claim C4 beyond latency: unique keys after a delete, leaked rows per read path, bloat after cycles."""
    from bench.measure.deletion_facts import deletion_facts

    models = run_state.models_for(deletion_variant)
    found = deletion_facts(models, run_state.setup_engine, run_state.source_schema,
                           run_state.facts["delete_session"], run_state.facts["purge_user"])
    request.config._sessionbench.setdefault("deletion_facts", []).extend(
        {"image": run_state.server.image, "sessions": run_state.spec.sessions, "variant": deletion_variant.label,
         "deletion": deletion_variant.deletion, **fact} for fact in found)


def test_ordering_facts(timestamps_variant, run_state, request):
    """Claim C6 as counts of mis-ordered events: writers' clock skew, server time zones, daylight saving."""
    from bench.load.ordering import ordering_facts

    models = run_state.models_for(timestamps_variant)
    column = models.Session.__table__.c.created_at.type.compile(dialect=run_state.setup_engine.dialect)
    found = ordering_facts(run_state.setup_engine, f"{models.schema}_order"[:63], column)
    request.config._sessionbench.setdefault("ordering_facts", []).extend(
        {"image": run_state.server.image, "variant": timestamps_variant.label,
         "timestamps": timestamps_variant.timestamps, "column": column, **fact} for fact in found)
