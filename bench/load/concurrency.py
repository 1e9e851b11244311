"""A closed-loop load taken the way an app server takes it: worker processes, each with its own
pooled engine, each running several client threads that send one request after another.

A client's request checks a connection out of its worker's pool (`pool_size` connections, no
overflow: a busy pool makes the request wait, as in production), runs one workload round on it
through an ORM session, and gives the connection back. The clock starts before the checkout, so
a request's latency includes its wait for a connection, which is also recorded apart
(`pool_waits`). Requests that start in the warm-up are not recorded; the measuring window then
runs for a fixed time. Workers are spawned once (a clean interpreter, no inherited connections
or threads) and reused for every load case; the parent sends each a plan and collects per-client
records. A worker ignores Ctrl-C (the parent stops it) and exits when its pipe closes, so a
killed parent leaves no worker behind.
"""

from __future__ import annotations

import multiprocessing
import signal
import threading
import time
from dataclasses import dataclass, field

from bench.faults import first_line, known_fault
from bench.errors import Fault, UserError

# A request waiting this long for a pooled connection fails (SQLAlchemy's TimeoutError) and is counted.
POOL_TIMEOUT_S = 30.0
# How long a worker may take to start, import and open its pool.
READY_TIMEOUT_S = 60.0
NOOP = "noop"  # a request that only sends `select 1`: the harness's own ceiling


@dataclass(frozen=True)
class Role:
    """What one client does in a loop: a registered workload with its parameters and set-up
    arguments, or NOOP."""

    workload: str
    params: dict = field(default_factory=dict)
    kwargs: dict = field(default_factory=dict)


@dataclass(frozen=True)
class WorkerPlan:
    """Everything one worker process needs for one load case (sent through a pipe, so plain data)."""

    url: str
    application_name: str
    connect_options: dict
    variant: object  # models_variants.Variant, or None for NOOP-only plans
    schema: str | None
    facts: dict
    source_schema: str
    clients: tuple[int, ...]   # client numbers, one thread each
    roles: tuple[Role, ...]    # the role of each of those clients
    pool_size: int


@dataclass
class ClientRecord:
    """One client's requests inside the measuring window."""

    client: int
    role: str
    latencies: list[float] = field(default_factory=list)
    pool_waits: list[float] = field(default_factory=list)
    waited: int = 0          # requests that found every pooled connection in use
    errors: int = 0
    first_error: str | None = None


@dataclass
class WorkerResult:
    records: list[ClientRecord]
    cpu_s: float     # CPU time of the worker process (every thread) during the measuring window
    window_s: float  # wall time from the window's start until the worker's last request ended


@dataclass
class WorkerFailure:
    message: str
    hint: str | None = None  # set when the cause is a known fault (bench.faults)
    fault: bool = False


def _operation(role: Role, ctx):
    """The body of one request on a checked-out connection."""
    if role.workload == NOOP:
        # The harness's own requests: `select 1`; for its tests, also one that holds its connection
        # (hold_s) and waits for a transaction-level advisory lock (advisory_lock), both harness-set numbers.
        hold, lock = float(role.params.get("hold_s", 0)), int(role.params.get("advisory_lock", 0))
        sql = "select 1" if not (hold or lock) else \
            f"select {f'pg_advisory_xact_lock({lock}), ' if lock else ''}pg_sleep({hold})"
        return lambda conn: conn.exec_driver_sql(sql).all()
    from bench.workloads import load_all

    workload = load_all()[role.workload]
    sessionmaker = ctx.models.sessionmaker

    def request(conn) -> None:
        with sessionmaker(conn)() as db:
            workload.run(db, ctx, **role.params, **role.kwargs)
            if workload.rollback:
                db.rollback()
    return request


def _client(engine, client: int, role: Role, operation, times, record: ClientRecord) -> None:
    """Requests one after another until the window closes; only those starting inside it count."""
    _, measure_from, measure_until = times
    pool = engine.pool
    while True:
        started = time.monotonic()
        if started >= measure_until:
            return
        busy = pool.checkedout() >= pool.size()
        try:
            with engine.connect() as conn:
                checked_out = time.monotonic()
                operation(conn)
        except Exception as exc:  # counted, and the client goes on, as an app server's thread would
            if started >= measure_from:
                record.errors += 1
                record.first_error = record.first_error or f"{type(exc).__name__}: {first_line(exc)[:200]}"
            time.sleep(0.001)
            continue
        if started >= measure_from:
            record.latencies.append(time.monotonic() - started)
            record.pool_waits.append(checked_out - started)
            record.waited += busy
        # The response goes out (an app server's thread lets go of the GIL for that I/O): a client
        # waiting for the connection just returned gets to take it. Without this the returning thread
        # takes it straight back (the pool hands nothing over) and clients beyond the pool starve.
        time.sleep(0)


def _engine(plan: WorkerPlan):
    from sqlalchemy import create_engine

    connect_args = {"application_name": plan.application_name, **plan.connect_options}
    return create_engine(plan.url, pool_size=plan.pool_size, max_overflow=0, pool_timeout=POOL_TIMEOUT_S,
                         connect_args=connect_args)


def _context(plan: WorkerPlan, engine, models_cache: dict):
    if plan.variant is None:
        return None
    from bench.measure import CaseContext
    from models_variants import build_models

    key = (plan.variant, plan.schema)
    if key not in models_cache:
        models_cache[key] = build_models(plan.variant, schema=plan.schema)
    return CaseContext(plan.variant, models_cache[key], engine, None, plan.facts, plan.source_schema, None)


def _run(plan: WorkerPlan, pipe, models_cache: dict) -> WorkerResult:
    engine = _engine(plan)
    try:
        ctx = _context(plan, engine, models_cache)
        operations = [_operation(role, ctx) for role in plan.roles]
        # The pool's connections are open before the clock starts: no request pays for a connect.
        opened = [engine.connect() for _ in range(min(plan.pool_size, len(plan.clients)))]
        for conn in opened:
            conn.exec_driver_sql("select 1")
            conn.close()
        pipe.send("ready")
        times = pipe.recv()
        records = [ClientRecord(client, role.workload) for client, role in zip(plan.clients, plan.roles)]
        threads = [threading.Thread(target=_client, args=(engine, client, role, operation, times, record),
                                    name=f"client-{client}", daemon=True)
                   for client, role, operation, record in zip(plan.clients, plan.roles, operations, records)]
        time.sleep(max(0.0, times[0] - time.monotonic()))
        for thread in threads:
            thread.start()
        time.sleep(max(0.0, times[1] - time.monotonic()))
        cpu_start = time.process_time()
        for thread in threads:
            thread.join()
        return WorkerResult(records, time.process_time() - cpu_start, time.monotonic() - times[1])
    finally:
        engine.dispose()


def worker_main(pipe) -> None:
    """A worker process: run plans until the pipe says stop (None) or closes."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent stops its workers; Ctrl-C prints nothing here
    models_cache: dict = {}
    while True:
        try:
            plan = pipe.recv()
        except (EOFError, OSError):
            return
        if plan is None:
            return
        try:
            result = _run(plan, pipe, models_cache)
        except Exception as exc:
            known = known_fault(exc, "a load case")  # the cause, told here: the exception cannot cross the pipe
            result = WorkerFailure(known.message, known.hint, fault=True) if known else \
                WorkerFailure(f"{type(exc).__name__}: {first_line(exc)[:300]}")
        try:
            pipe.send(result)
        except (BrokenPipeError, OSError):
            return


class LoadWorkers:
    """`count` spawned worker processes, reused for every load case; always stopped on exit."""

    def __init__(self, count: int):
        self.count = count
        self._processes: list = []
        self._pipes: list = []

    def __enter__(self) -> LoadWorkers:
        context = multiprocessing.get_context("spawn")
        try:
            for number in range(self.count):
                parent, child = context.Pipe()
                process = context.Process(target=worker_main, args=(child,), daemon=True,
                                          name=f"sessionbench-load-worker-{number}")
                process.start()
                child.close()
                self._processes.append(process)
                self._pipes.append(parent)
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @property
    def pids(self) -> list[int]:
        return [process.pid for process in self._processes]

    def _receive(self, number: int, timeout: float):
        pipe, process = self._pipes[number], self._processes[number]
        deadline = time.monotonic() + timeout
        while not pipe.poll(0.2):
            if not process.is_alive():
                raise UserError(f"load worker {number} stopped (exit code {process.exitcode})",
                                "re-run; if it repeats, run with fewer --clients or --load-workers")
            if time.monotonic() > deadline:
                raise UserError(f"load worker {number} did not answer within {timeout:.0f} s",
                                "the machine may be overloaded: use fewer --clients or --load-workers")
        try:
            message = pipe.recv()
        except (EOFError, OSError):
            process.join(timeout=3)
            raise UserError(f"load worker {number} stopped (exit code {process.exitcode})",
                            "re-run; if it repeats, run with fewer --clients or --load-workers") from None
        if isinstance(message, WorkerFailure):
            raise (Fault if message.fault else UserError)(f"load worker {number} failed: {message.message}",
                                                          message.hint or "see the run's log")
        return message

    def run(self, plans: list[WorkerPlan], warmup_s: float, measure_s: float, on_start=None) -> list[WorkerResult]:
        """Run one plan per worker (at most `count`) at the same time: warm-up, then the measuring window.
        `on_start(times)` is called with (start, measure_from, measure_until) in time.monotonic()."""
        if len(plans) > self.count:
            raise ValueError(f"{len(plans)} plans for {self.count} workers")
        if not self._processes:  # stopped after an earlier failure: a new set
            self.__enter__()
        try:
            return self._run(plans, warmup_s, measure_s, on_start)
        except BaseException:
            self.close()  # a worker may be mid-plan: none is reused after a failure
            raise

    def _run(self, plans, warmup_s, measure_s, on_start) -> list[WorkerResult]:
        for pipe, plan in zip(self._pipes, plans):
            pipe.send(plan)
        for number in range(len(plans)):
            if self._receive(number, READY_TIMEOUT_S) != "ready":
                raise UserError(f"load worker {number} answered out of turn", "re-run")
        start = time.monotonic() + 0.05
        times = (start, start + warmup_s, start + warmup_s + measure_s)
        for pipe in self._pipes[:len(plans)]:
            pipe.send(times)
        if on_start is not None:
            on_start(times)
        # A request still running when the window closes may wait up to the pool timeout.
        limit = warmup_s + measure_s + POOL_TIMEOUT_S + 60
        return [self._receive(number, limit) for number in range(len(plans))]

    def close(self) -> None:
        for pipe in self._pipes:
            try:
                pipe.send(None)
            except (BrokenPipeError, OSError):
                pass
        for process in self._processes:
            process.join(timeout=3)
            if process.is_alive():
                process.terminate()
                process.join(timeout=3)
            if process.is_alive():
                process.kill()
                process.join(timeout=3)
        for pipe in self._pipes:
            pipe.close()
        self._processes, self._pipes = [], []
