"""`sessionbench trace`: run one workload once and print every statement it sent — the N+1 made visible."""

from __future__ import annotations

import json
import re

from bench import backends, measure
from bench.plan import settings
from bench.plan.cases import Case
from bench.measure.context import RunState, new_run_id, schema_prefix
from bench.data.spec import data_specs
from bench.errors import UserError
from bench.net.rtt import open_endpoint
from bench.workloads import load_all
from models_variants import Variant


def _params(workload, items: list[str]) -> dict:
    given = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or key not in workload.params:
            raise UserError(f"--param {item!r}: {workload.name} takes "
                            f"{', '.join(workload.params) or 'no parameters'}", "e.g. --param page_size=100")
        given[key] = _value(key, value.strip(), workload.params[key])
    return {key: given.get(key, values[len(values) // 2]) for key, values in workload.params.items()}


def _value(key: str, text: str, declared: list):
    """A parameter value of the declared kind: a listed word, a whole number 1..100,000, or a fraction 0..<1."""
    listed = ", ".join(str(v) for v in declared)
    kind = float if any(isinstance(v, float) for v in declared) else type(declared[0])
    try:
        if kind is int:
            value = int(text)
            if 1 <= value <= 100_000:
                return value
        elif kind is float:
            value = float(text)
            if 0 <= value < 1:
                return value
        elif text in {str(v) for v in declared}:
            return text
    except ValueError:
        pass
    raise UserError(f"--param {key}={text}: not a valid {key}", f"e.g. one of {listed}")


def trace(args) -> int:
    workloads = load_all()
    if args.workload not in workloads:
        raise UserError(f"unknown workload {args.workload!r}", f"use one of: {', '.join(workloads)}")
    workload = workloads[args.workload]
    try:
        variant = Variant.parse(args.variant)
    except ValueError as exc:
        raise UserError(f"--variant: {exc}", "e.g. --variant loading=selectin") from None
    if reason := workload.skip_reason(variant):
        raise UserError(f"{workload.name} does not run on {variant.label}: {reason}", "pick another --variant")
    case = Case(workload, variant, _params(workload, args.param))
    chosen = settings.resolve(vars(args))
    spec = data_specs(chosen)[0]  # the smallest data set of a sweep
    images = backends.resolve_image(chosen.image)
    backend, _why = backends.choose(chosen.backend, images=images, database_url=chosen.database_url)
    run_id = new_run_id()
    with backends.open_server(backend, image=images[0], database_url=chosen.database_url, run_id=run_id) as server:
        state = RunState(server, run_id, spec)
        try:
            state.load_source()
            rtt = chosen.rtt_ms[0]
            with open_endpoint(server.url, rtt, relayed=rtt > 0) as (url, _calibration):
                # The benchmark's own preparation: the same set-up and counting round it records.
                prepared = measure.prepare(state, case, url, warm=False)
                prepared.close()
                facts = prepared.counts
        finally:
            if not server.started_here:  # a server the run did not start keeps nothing of the run
                state.drop_run_schemas()
            state.close()
    statements = [{**item, "sql": readable(item["sql"], run_id)} for item in facts["_trace"]]
    if args.json:
        print(json.dumps(statements, indent=1, default=str))
        return 0
    for item in statements:
        print(f"{item['n']:>4}  {item['ms']:>8.3f} ms  {item['rows']:>6} rows  x{item['executions']:<4} {item['sql']}")
    print(f"{workload.name} [{case.param or '-'}] on {variant.label} ({server.backend}, PostgreSQL {server.version}, "
          f"{spec.sessions} sessions):")
    print("\n".join(footer(facts)))
    return 0


def readable(sql: str, run_id: str) -> str:
    """A statement on one line, whole, without the run's schema names (`sb_<run>_..._baseline.sessions` -> `sessions`).

    Each variant's tables live in a schema of their own; the names say nothing about the statement.
    """
    qualifier = re.compile(rf'"?{re.escape(schema_prefix(run_id))}_[A-Za-z0-9_]*"?\.')
    return qualifier.sub("", " ".join(sql.split()))


def footer(facts: dict) -> list[str]:
    """What the round cost, each count named for what it is (bench.measure.counting defines them)."""
    server_count = facts["server_statements"]
    lines = [f"  {facts['statements']} statements sent by the client (one per execute or executemany call; xN: its "
             f"executions), {facts['executions']} executions (one per parameter set)"
             + (f", {server_count} counted by the server" if server_count is not None else "")]
    if facts.get("round_trips") is not None:
        lines.append(f"  {facts['round_trips']} round trips (each statement, psycopg's Parse when it prepares one, "
                     f"BEGIN, ROLLBACK/COMMIT, DEALLOCATE ALL): what an added network RTT multiplies")
        lines.append(f"  {facts['wire_rows']:,} rows sent by the server over all statements ({facts['wire_bytes']:,} "
                     f"bytes on the wire); {facts['rows']:,} rows used by the workload")
    else:
        lines.append(f"  {facts['rows']:,} rows used by the workload (round trips and wire rows not traced here)")
    return lines
