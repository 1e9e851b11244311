"""One case (workload x variant x params) made ready to measure: exact counts first, then warm-up.

Order matters. `prepare` runs the workload's untimed set-up, then one counting round with the
statement listener attached (so the listener never weighs on timed rounds), then warm-up rounds
that carry the main statement past psycopg's prepare threshold (5) and PostgreSQL's five custom
plans, so timed rounds see the steady state the hub would see. Timing itself is bench.measure.trials',
which runs the prepared cases of one comparison side by side. `sessionbench trace` uses the same
`prepare`, so what it prints is what the benchmark counted.
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass, field

from sqlalchemy import create_engine
from sqlalchemy.engine import Engine

from bench.measure import counting, cpu, injected, placement, plans, priority
from bench.measure.context import pin_session_settings
from bench.plan.cases import Case
from models_variants import Variant

# Executions needed before a prepared statement's plan settles: 5 before psycopg prepares it,
# then 5 custom plans before PostgreSQL considers the generic one.
STEADY_STATE_EXECUTIONS = 12
WARMUP_BUDGET_S = 0.3


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

    def restore_variant(self, tables: tuple[str, ...] = ()) -> None:
        self.restore(self.variant, tables)

    def sessionmaker(self):
        return self.models.sessionmaker(self.engine)

    @property
    def schema(self) -> str:
        return self.models.metadata.schema


def workload_engine(url, case: Case, session_settings: dict | None = None) -> Engine:
    """One pooled connection, named so a DBA sees what runs (`sessionbench/<workload>/<variant>`)."""
    connect_args = {"application_name": f"sessionbench/{case.workload.name}/{case.variant.label}"[:63]}
    connect_args.update(case.workload.connect_options(case.params))
    engine = create_engine(url, pool_size=1, max_overflow=0, connect_args=connect_args)
    pin_session_settings(engine, session_settings or {})
    return engine


def case_context(state, case: Case, url) -> CaseContext:
    """Everything a case needs from its run: the variant's models (filled on first use) and an engine."""
    models = state.models_for(case.variant, reads_only=not case.workload.writes)
    return CaseContext(case.variant, models, workload_engine(url, case, state.session_settings),
                       state.setup_engine, state.facts, state.source_schema, state.restore_variant)


def make_round(case: Case, ctx: CaseContext, kwargs: dict, work: injected.Work | None = None):
    """The timed body: one ORM session, the workload, then rollback (if the workload asks) and close.

    `inspect(db)`, when given, runs after the workload and before the session ends: psycopg
    drops every prepared statement on ROLLBACK, so that is the only moment they can be seen.
    """
    run, rollback, params = case.workload.run, case.workload.rollback, case.params
    sessionmaker = ctx.sessionmaker()

    def one_round(inspect=None):
        round_started = time.perf_counter()
        # The counting round (`inspect` given) gets no injected slowdown: its counts, round trips
        # included, and the warm-up it decides on are the same as without it. An injected extra
        # statement is in every round, so the counts show it.
        inject = work is not None and bool(work.fraction) and inspect is None
        with sessionmaker() as db:
            rows = run(db, ctx, **params, **kwargs)
            if work is not None:
                work.add_statement(db)
            if inject:
                # A share of this round as timed: what it took so far, and what is still to come.
                work.apply(db, time.perf_counter() - round_started)
                ended = time.perf_counter()
            if inspect is not None:
                inspect(db)
            if rollback:
                db.rollback()
        if inject:
            work.record_tail(time.perf_counter() - ended)
        return rows

    return one_round


def count_pass(ctx: CaseContext, one_round, server_counts: bool, while_paused=None) -> dict:
    """One untimed round with every statement recorded (with its executions), the round trips and
    what the server sent on the workload's connection (bench.measure.counting says what each count is),
    plus the server's own count, WAL and the statements the driver had prepared by the end of the round.
    `while_paused(db)`, when given, runs on the round's session after the counters stopped (the
    injected work's calibration: on the workload's own server process, outside every count)."""
    prepared: list = []
    counter = counting.StatementCounter(ctx.engine)
    with ctx.engine.connect() as conn:  # the pool's one connection: the round runs on it
        wire = counting.WireCounter(conn.connection.dbapi_connection)

    def inspect(db):
        counter.__exit__()
        wire.pause()  # the suite's own query below is not the workload's
        prepared.extend(plans.prepared_statements(db.connection()))
        if while_paused is not None:
            while_paused(db)
        wire.resume()  # the round's end (ROLLBACK, DEALLOCATE ALL) is

    with ctx.setup_engine.connect() as setup:
        wal_start = plans.wal_position(setup)
        setup.commit()
        before = counting.server_totals(setup) if server_counts else None
        counter.__enter__()
        wire.start()
        try:
            rows = one_round(inspect)
        finally:
            if counter.listening:
                counter.__exit__()
            sent = wire.stop()
        counted = counting.server_totals(setup).since(before) if server_counts else None
        server = counted.calls if counted is not None else None
        facts = {"statements": counter.count, "executions": counter.executions, "rows": rows,
                 "server_statements": server, "wal_bytes": plans.wal_since(setup, wal_start),
                 **(sent.as_dict() if sent else {"round_trips": None, "wire_rows": None, "wire_bytes": None})}
    main = counter.first_select()
    facts.update(plans.prepared_summary(prepared, main.sql if main else None, main.params if main else None))
    facts["_main"] = (main.sql, main.params) if main else None
    facts["_trace"] = [s.as_dict(n) for n, s in enumerate(counter.statements, 1)]
    return facts


def warm_up(one_round, work: injected.Work | None = None) -> dict:
    """Rounds until the steady state (or the warm-up budget); the typical round time they show.

    With an injected slowdown (`work`), its extra time is left out of both: the number of warm-up
    rounds and the typical round time (which sets the rounds per trial) are the workload's own, as
    without the hook, so a slowed run times the same schedule as an unslowed one. Counted in, slowed
    runs warmed fewer rounds (page 100 baseline 7-8 instead of 8-10; a first round over a quarter of
    the budget ends the warm-up) and timed 0.64-0.8 times the rounds per trial (page 10 raise 28 ->
    18, page 100 baseline 2 -> 1). The first round of a block, after another case, takes 1.1-1.5
    times the block's median at page 10 and 100, so a trial median over fewer rounds read 0-4%
    longer: a change the slowdown made to what is timed, beside the extra time it aims at."""
    timings = []
    deadline = time.perf_counter() + WARMUP_BUDGET_S
    # A round that alone takes a quarter of the budget has already run its repeated statements
    # past the prepare threshold inside itself (psycopg forgets them at the round's rollback).
    while len(timings) < STEADY_STATE_EXECUTIONS and time.perf_counter() < deadline and not (
            len(timings) == 1 and timings[0] > WARMUP_BUDGET_S / 4):
        extra_before = work.injected_total_s if work is not None else 0.0
        started = time.perf_counter()
        one_round()
        extra = work.injected_total_s - extra_before if work is not None else 0.0
        timings.append(time.perf_counter() - started - extra)
        deadline += extra  # the budget is the workload's own time
    return {"warmup_rounds": len(timings), "typical_s": statistics.median(timings),
            "steady_state": len(timings) >= STEADY_STATE_EXECUTIONS}


@dataclass
class Prepared:
    """A case ready for timed rounds; `close()` undoes its set-up."""

    case: Case
    ctx: CaseContext
    kwargs: dict
    one_round: object
    counts: dict = field(default_factory=dict)
    warmup: dict = field(default_factory=dict)
    backend_pid: int | None = None  # the workload connection's server process, where the run can see it
    work: injected.Work | None = None  # the test-only injected work, if any

    def close(self) -> None:
        try:
            if self.case.workload.teardown:
                self.case.workload.teardown(self.ctx, **self.case.params, **self.kwargs)
        finally:
            self.ctx.engine.dispose()
            if self.work is not None:
                self.work.close_log()


def prepare(state, case: Case, url, *, warm: bool = True, case_budget: float | None = None) -> Prepared:
    """Set up, count and warm one case. The set-up is undone by `Prepared.close()`, also on error.

    A case whose counting round alone took longer than `case_budget` is not warmed up or timed
    again: that round is its one measurement (`warmup["over_budget_s"]`), and its row says so."""
    ctx = case_context(state, case, url)
    try:
        kwargs = case.workload.setup(ctx, **case.params) if case.workload.setup else {}
    except BaseException:
        ctx.engine.dispose()
        raise
    prepared = Prepared(case, ctx, kwargs, None)
    try:
        # Vacuumed and analyzed after the set-up's changes: the same state in every run. A reading
        # case after reading cases finds the tables as the last settle left them.
        state.settle(ctx.models, unless_clean=not case.workload.writes)
        if case.workload.writes:
            state.changed(ctx.models)  # its rounds (rolled back or not) leave dead tuples behind
        # The dialect's first-connect queries stay out of the counts; the pool keeps this one connection.
        with ctx.engine.connect() as conn:
            pid = conn.exec_driver_sql("select pg_backend_pid()").scalar_one()
        prepared.backend_pid = cpu.server_process(state.server, pid)
        placement.pin_backend(prepared.backend_pid)  # beside the client, for every round of the case
        priority.raise_backend(prepared.backend_pid)  # ahead of other processes in its own session group
        work = injected.Work.for_case(case.workload.name, case.variant, case.id)
        prepared.one_round = make_round(case, ctx, kwargs, work)
        started = time.perf_counter()
        prepared.counts = count_pass(ctx, prepared.one_round, counting.server_counts_usable(state.server),
                                     work.calibrate if work is not None and work.fraction else None)
        # Less the injected work's calibration: the warm-up is decided on the workload's own round.
        counted_s = time.perf_counter() - started - (work.calibration_s if work is not None else 0.0)
        if warm and case_budget and counted_s > case_budget:
            prepared.warmup = {"warmup_rounds": 0, "typical_s": counted_s, "steady_state": False,
                               "over_budget_s": counted_s}
        elif warm and counted_s > WARMUP_BUDGET_S:
            # A round this long has warmed itself: the counting round just ran every statement
            # (past the prepare threshold inside the round, as one warm-up round would).
            prepared.warmup = {"warmup_rounds": 0, "typical_s": counted_s, "steady_state": False}
        elif warm:
            # A shorter counting round is no estimate of a round: it carries the counters and the
            # first compilation of the variant's queries. One that took over 75 ms for a 4 ms case left
            # that case one round per trial, each cold (`git log -p docs/error-rates.md`); warm_up times real rounds.
            prepared.warmup = warm_up(prepared.one_round, work)
        if work is not None:
            work.timed = True  # the rounds from here on are the timed ones (the log's)
            prepared.work = work
    except BaseException:
        prepared.close()
        raise
    return prepared


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


def case_facts(prepared: Prepared, version_num: int) -> dict:
    """Plan facts of the main statement and, for deletions, orphans and leaks."""
    case, ctx, counts = prepared.case, prepared.ctx, prepared.counts
    workload = case.workload
    plan = plan_facts(ctx, counts.get("_main"), version_num, counts["plan_in_use"]) \
        if workload.main_statement == "first" else {"plan_top": None, "seq_scan": None}
    # a case over its budget is not run once more just to count orphans
    integrity = integrity_facts(ctx, case, prepared.kwargs) if workload.axis == "deletion" and workload.rollback \
        and not prepared.warmup.get("over_budget_s") else {"orphans": None, "leaks": None}
    own = workload.facts(ctx, **case.params, **prepared.kwargs) if workload.facts else {}
    return {**plan, **integrity, **own}
