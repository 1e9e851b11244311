"""Every case as one pytest-benchmark test: counts and plans in `extra_info`, timings in `stats`."""

from __future__ import annotations

from bench import measure, stats


def test_workload(benchmark, case, run_state, endpoint):
    url, rtt_ms = endpoint
    ctx = measure.case_context(run_state, case, url)
    engine = ctx.engine
    workload = case.workload
    kwargs = workload.setup(ctx, **case.params) if workload.setup else {}
    try:
        engine.connect().close()  # first connect runs the dialect's own queries: keep them out of counts
        one_round = measure.make_round(case, ctx, kwargs)
        server = run_state.server
        counts = measure.count_pass(ctx, one_round, server.pg_stat_statements)
        calibration = measure.warm_and_calibrate(one_round, benchmark._max_time, benchmark._min_rounds)
        benchmark.group = workload.name
        benchmark.pedantic(one_round, rounds=calibration["rounds_planned"], iterations=1)
        plan = measure.plan_facts(ctx, counts.pop("_main"), server.version_num, counts["plan_in_use"]) \
            if workload.main_statement == "first" else {"plan_top": None, "seq_scan": None}
        integrity = measure.integrity_facts(ctx, case, kwargs) if workload.axis == "deletion" and \
            workload.rollback else {"orphans": None, "leaks": None}
    finally:
        if workload.teardown:
            workload.teardown(ctx, **case.params, **kwargs)
        engine.dispose()
    counts.pop("_main", None)
    trace = counts.pop("_trace")
    sizes = run_state.sizes[case.variant.label]
    timing = stats.summarize(benchmark.stats.stats.data)
    benchmark.extra_info.update({
        **case.columns(), "label": workload.label, "image": server.image, "rtt_ms": rtt_ms,
        "backend": server.backend, "server_version": server.version, "sessions": run_state.spec.sessions,
        **counts, **calibration, **plan, **integrity,
        "p95_s": timing["p95"], "p99_s": timing["p99"],
        "table_bytes": sizes["table_bytes"], "index_bytes": sizes["index_bytes"],
        "first_statements": trace[:3],
    })


def test_delete_paths(deletion_variant, run_state, request):
    """Claim C3 as a fact table: every delete path an app uses, the error it raised, the orphans it left."""
    from models_variants.delete_paths import PATHS, Target, label, run_path

    models = run_state.models_for(deletion_variant)
    target = Target(run_state.facts["delete_session"], run_state.facts["purge_user"])
    with run_state.setup_engine.connect() as conn:
        for name in PATHS:
            outcome = run_path(models, conn, name, target)
            request.config._sessionbench["delete_paths"].append({
                "image": run_state.server.image, "variant": deletion_variant.label,
                "deletion": deletion_variant.deletion, "path": name, "label": label(name),
                "error": outcome.error, "sessions_left": outcome.sessions_left,
                "orphans": outcome.orphan_rows, "orphans_detail": outcome.orphans, "warnings": outcome.warnings})
        conn.rollback()
