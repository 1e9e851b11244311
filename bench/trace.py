"""`sessionbench trace`: run one workload once and print every statement it sent — the N+1 made visible."""

from __future__ import annotations

import json

from bench import backends, measure
from bench.benchmarks.conftest import new_run_id
from bench.context import RunState
from bench.data import SCALES, DataSpec
from bench.errors import UserError
from bench.rtt import open_endpoint
from bench.runner import parse_rtts
from bench.workloads import load_all
from models_variants import Variant


def _params(workload, items: list[str]) -> dict:
    given = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or key not in workload.params:
            raise UserError(f"--param {item!r}: {workload.name} takes "
                            f"{', '.join(workload.params) or 'no parameters'}", "e.g. --param page_size=100")
        choices = {str(v): v for v in workload.params[key]}
        given[key] = choices.get(value, _number(value))
    return {key: given.get(key, values[len(values) // 2]) for key, values in workload.params.items()}


def _number(text: str):
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def trace(args) -> int:
    workloads = load_all()
    if args.workload not in workloads:
        raise UserError(f"unknown workload {args.workload!r}", f"use one of: {', '.join(workloads)}")
    workload = workloads[args.workload]
    try:
        variant = Variant.parse(args.variant)
    except ValueError as exc:
        raise UserError(f"--variant: {exc}", "e.g. --variant loading=selectin") from None
    if reason := workload.supports(variant):
        raise UserError(f"{workload.name} does not run on {variant.label}: {reason}", "pick another --variant")
    case = measure.Case(workload, variant, _params(workload, args.param))
    if args.sessions is None and args.scale not in SCALES:
        raise UserError(f"unknown scale {args.scale!r}", f"use one of: {', '.join(SCALES)}")
    spec = DataSpec(sessions=args.sessions, seed=args.seed) if args.sessions else \
        DataSpec.from_scale(args.scale, seed=args.seed)
    images = backends.resolve_image(args.image)
    backend, _why = backends.choose(args.backend, images=images, database_url=args.database_url)
    run_id = new_run_id()
    with backends.open_server(backend, image=images[0], database_url=args.database_url, run_id=run_id) as server:
        state = RunState(server, run_id, spec)
        try:
            state.load_source()
            rtt = parse_rtts(args.rtt_ms)[0]
            with open_endpoint(server.url, rtt, relayed=rtt > 0) as (url, _calibration):
                ctx = measure.case_context(state, case, url)
                kwargs = case.workload.setup(ctx, **case.params) if case.workload.setup else {}
                try:
                    ctx.engine.connect().close()
                    facts = measure.count_pass(ctx, measure.make_round(case, ctx, kwargs), server.pg_stat_statements)
                finally:
                    if case.workload.teardown:
                        case.workload.teardown(ctx, **case.params, **kwargs)
                    ctx.engine.dispose()
        finally:
            if server.backend == "url":
                state.drop_run_schemas()
            state.close()
    statements = facts["_trace"]
    if args.json:
        print(json.dumps(statements, indent=1, default=str))
        return 0
    for item in statements:
        sql = " ".join(item["sql"].split())
        print(f"{item['n']:>4}  {item['ms']:>8.3f} ms  {item['rows']:>6} rows  {sql[:160]}")
    server_count = facts["server_statements"]
    print(f"{workload.name} [{case.param or '-'}] on {variant.label} ({server.backend}, PostgreSQL {server.version}, "
          f"{spec.sessions} sessions): {facts['statements']} statements sent"
          + (f", {server_count} counted by the server" if server_count is not None else "")
          + f", {facts['rows']} rows handled")
    return 0
