"""Measure one case (workload x variant x params): exact counts first, then calibrated timing.

Order matters. The counting pass runs once, untimed, with the statement listener attached, so
the listener never weighs on the timed rounds. Warm-up rounds then carry the main statement
past psycopg's prepare threshold (5) and PostgreSQL's five custom plans, so the timed rounds
see the steady state the hub would see. Round count is calibrated from the warm-up timings.
"""

from __future__ import annotations

import math
import os
import statistics
import time
from dataclasses import dataclass, field

from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine

from bench import counting, plans
from bench.workloads import Workload, param_label
from models_variants import Variant

# Executions needed before a prepared statement's plan settles: 5 before psycopg prepares it,
# then 5 custom plans before PostgreSQL considers the generic one.
STEADY_STATE_EXECUTIONS = 12
WARMUP_BUDGET_S = 1.0


@dataclass(frozen=True)
class Case:
    workload: Workload
    variant: Variant
    params: dict = field(default_factory=dict)

    @property
    def param(self) -> str:
        return param_label(self.params)

    @property
    def id(self) -> str:
        return f"{self.workload.name}[{self.param or '-'}]-{self.variant.label}"

    def columns(self) -> dict:
        return {"workload": self.workload.name, "param": self.param, "variant": self.variant.label,
                **self.variant.as_dict()}


@dataclass
class CaseContext:
    """What a workload function may use: its models, its engine, the shared facts."""

    variant: Variant
    models: object
    engine: Engine
    setup_engine: Engine
    facts: dict
    source_schema: str
    restore: object

    def restore_variant(self) -> None:
        self.restore(self.variant)

    def sessionmaker(self):
        return self.models.sessionmaker(self.engine)


def workload_engine(url, case: Case, extra_options: str = "") -> Engine:
    """One pooled connection, named so a DBA sees what runs (`sessionbench/<workload>/<variant>`)."""
    connect_args = {"application_name": f"sessionbench/{case.workload.name}/{case.variant.label}"[:63]}
    connect_args.update(case.workload.connect_options(case.params))
    return create_engine(url, pool_size=1, max_overflow=0, connect_args=connect_args)


def injected_regressions(workload: str) -> tuple[float, bool]:
    """Test-only hooks that prove the CI gates catch what they should.

    SESSIONBENCH_TEST_SLOWDOWN="dashboard=0.25" makes each dashboard round 25% slower;
    SESSIONBENCH_TEST_EXTRA_STATEMENT="dashboard" adds one statement to each dashboard round.
    """
    slowdown = 0.0
    for item in os.environ.get("SESSIONBENCH_TEST_SLOWDOWN", "").split(","):
        name, _, fraction = item.partition("=")
        if name.strip() == workload and fraction:
            slowdown = float(fraction)
    extra = workload in {n.strip() for n in os.environ.get("SESSIONBENCH_TEST_EXTRA_STATEMENT", "").split(",")}
    return slowdown, extra


def case_context(state, case: Case, url) -> CaseContext:
    """Everything a case needs from its run: the variant's models (filled on first use) and an engine."""
    return CaseContext(case.variant, state.models_for(case.variant), workload_engine(url, case),
                       state.setup_engine, state.facts, state.source_schema, state.restore_variant)


def make_round(case: Case, ctx: CaseContext, kwargs: dict):
    """The timed body: one ORM session, the workload, then rollback (if the workload asks) and close.

    `inspect(db)`, when given, runs after the workload and before the session ends: psycopg
    drops every prepared statement on ROLLBACK, so that is the only moment they can be seen.
    """
    run, rollback, params = case.workload.run, case.workload.rollback, case.params
    sessionmaker = ctx.sessionmaker()
    slowdown, extra_statement = injected_regressions(case.workload.name)

    def one_round(inspect=None):
        with sessionmaker() as db:
            started = time.perf_counter()
            rows = run(db, ctx, **params, **kwargs)
            if slowdown:
                time.sleep(slowdown * (time.perf_counter() - started))
            if extra_statement:
                db.execute(text("select 1"))
            if inspect is not None:
                inspect(db)
            if rollback:
                db.rollback()
        return rows

    return one_round


def count_pass(ctx: CaseContext, one_round, server_counts: bool) -> dict:
    """One untimed round with every statement recorded, plus the server's own count, WAL and
    the statements the driver had prepared by the end of the round."""
    prepared: list = []
    counter = counting.StatementCounter(ctx.engine)

    def inspect(db):
        counter.__exit__()
        prepared.extend(plans.prepared_statements(db.connection()))

    with ctx.setup_engine.connect() as setup:
        wal_start = plans.wal_position(setup)
        setup.commit()
        if server_counts:
            counting.reset_server_count(setup)
        counter.__enter__()
        try:
            rows = one_round(inspect)
        finally:
            if counter.listening:
                counter.__exit__()
        server = counting.server_count(setup) if server_counts else None
        facts = {"statements": counter.count, "rows": rows, "server_statements": server,
                 "wal_bytes": plans.wal_since(setup, wal_start)}
    main = counter.first_select()
    facts.update(plans.prepared_summary(prepared, main.sql if main else None, main.params if main else None))
    facts["_main"] = (main.sql, main.params) if main else None
    facts["_trace"] = [s.as_dict(n) for n, s in enumerate(counter.statements, 1)]
    return facts


def warm_and_calibrate(one_round, max_time: float, min_rounds: int) -> dict:
    timings = []
    deadline = time.perf_counter() + WARMUP_BUDGET_S
    # A round that alone takes a quarter of the budget has already run its repeated statements
    # past the prepare threshold inside itself (psycopg forgets them at the round's rollback).
    while len(timings) < STEADY_STATE_EXECUTIONS and time.perf_counter() < deadline and not (
            len(timings) == 1 and timings[0] > WARMUP_BUDGET_S / 4):
        started = time.perf_counter()
        one_round()
        timings.append(time.perf_counter() - started)
    typical = statistics.median(timings)
    rounds = max(min_rounds, min(10_000, math.ceil(max_time / typical))) if typical > 0 else min_rounds
    return {"warmup_rounds": len(timings), "rounds_planned": rounds,
            "steady_state": len(timings) >= STEADY_STATE_EXECUTIONS}


def plan_facts(ctx: CaseContext, main, version_num: int, in_use: str = "custom") -> dict:
    if main is None:
        return {"plan_top": None, "seq_scan": None}
    sql, params = main
    with ctx.setup_engine.connect() as conn:
        custom = plans.explain_custom(conn, sql, params)
        generic = plans.explain_generic(conn, sql, params, version_num)
    facts = dict(custom)
    if generic is not None:
        facts["generic_plan_top"] = generic["plan_top"]
        facts["generic_seq_scan"] = generic["seq_scan"]
        facts["plan_changes"] = (generic["plan_top"], generic["seq_scan"], generic["indexes_used"]) != (
            custom["plan_top"], custom["seq_scan"], custom["indexes_used"])
    if in_use == "generic" and generic is not None:
        # The steady state runs the generic plan: report its shape as the one in use.
        facts["seq_scan"] = generic["seq_scan"]
    return facts


def integrity_facts(ctx: CaseContext, case: Case, kwargs: dict) -> dict:
    """Orphans and leaks right after the workload's change, inside its rolled-back transaction."""
    from models_variants import integrity

    with ctx.sessionmaker()() as db:
        case.workload.run(db, ctx, **case.params, **kwargs)
        db.flush()
        orphans = integrity.orphans(db.connection(), ctx.models.metadata.schema)
        leaks = integrity.leaks(db, ctx.models)
        db.rollback()
    return {"orphans": sum(orphans.values()), "leaks": sum(leaks.values()),
            "orphans_detail": orphans, "leaks_detail": leaks}
