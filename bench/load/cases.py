"""The load cases `--clients` adds: which workloads run together, over which variants, and one
case measured into a results row.

A mix names the hub's real workloads (bench/workloads) that run at once and gives client i the
role `roles[i % len(roles)]`: the dashboard alone, mesh nodes flipping their sync flag while the
cleanup task lists active sync, sessions deleted while others list live sessions. Each workload's
own set-up picks its targets, as for the one-client benchmarks; a mix whose writes stay (node
flags) puts the variant's data back afterwards.
"""

from __future__ import annotations

import math
import os
from collections import Counter
from dataclasses import dataclass, field

from bench.plan.cases import Case
from bench.load.concurrency import NOOP, LoadWorkers, Role, WorkerPlan
from bench.load.waits import WaitSampler, latency_columns, quantile_sample, wait_columns
from bench.measure import case_context
from bench.workloads import load_all, param_label
from models_variants import AXES, Variant


@dataclass(frozen=True)
class MixRole:
    workload: str
    params: dict = field(default_factory=dict)
    own_node: bool = False  # each client writes its own mesh node of the session (node_id = load-node-<client>)

    def __hash__(self) -> int:
        return hash((self.workload, param_label(self.params), self.own_node))


@dataclass(frozen=True)
class Mix:
    name: str   # the results' `workload` column: never a one-client workload's name
    label: str
    axis: str
    roles: tuple[MixRole, ...]
    values: tuple[str, ...] = ()  # axis values measured unless --only names the axis; () = every value
    restore: bool = False  # its writes stay: the variant's data is loaded again afterwards

    @property
    def param(self) -> str:
        return ",".join(dict.fromkeys(param_label(role.params) for role in self.roles if role.params))

    @property
    def workloads(self) -> list[str]:
        return list(dict.fromkeys(role.workload for role in self.roles))


_LIVE = {"deleted_fraction": 0}
MIXES = (
    Mix("dashboard_under_load", "Dashboard under load: every client loads the newest 100 sessions with their skills",
        "loading", (MixRole("dashboard", {"page_size": 100}),), ("lazy", "selectin", "raise")),
    Mix("sync_under_load", "Sync under load: nodes flip their flag in one session while the cleanup task lists "
        "active sync", "sync_flag",
        (MixRole("mark_sync", own_node=True), MixRole("active_sync"), MixRole("mark_sync", own_node=True),
         MixRole("mark_sync", own_node=True)), restore=True),
    Mix("delete_under_load", "Delete under load: one client in four deletes a session (rolled back) while the "
        "others list live sessions", "deletion",
        (MixRole("delete_session"), MixRole("list_live", _LIVE), MixRole("list_live", _LIVE),
         MixRole("list_live", _LIVE))),
)
NOOP_MIX = Mix("noop", "select 1: the load harness's own ceiling", "loading", (MixRole(NOOP),))


@dataclass(frozen=True)
class LoadCase:
    mix: Mix
    variant: Variant
    clients: int

    @property
    def id(self) -> str:
        return f"{self.mix.name}[clients={self.clients}]-{self.variant.label}"

    def roles(self) -> list[MixRole]:
        return [self.mix.roles[client % len(self.mix.roles)] for client in range(self.clients)]

    def columns(self) -> dict:
        counts = Counter(role.workload for role in self.roles())
        # The client count is part of `param`, so a row's key (bench.results.key_of) is its own.
        param = ",".join(filter(None, [self.mix.param, f"clients={self.clients}"]))
        return {"workload": self.mix.name, "param": param, "variant": self.variant.label,
                **self.variant.as_dict(), "clients": self.clients, "label": self.mix.label,
                "roles": ", ".join(f"{name} x{count}" for name, count in counts.items())}


def load_cases(clients: list[int], only: dict[str, set[str]]) -> list[LoadCase]:
    """Every mix x variant x client count this run asks for: none without --clients. `--only workload=`
    keeps the mixes that run one of the named workloads; other filters apply as to any case."""
    cases = []
    for mix in MIXES if clients else ():
        if "workload" in only and not ({mix.name, *mix.workloads} & only["workload"]):
            continue
        if "param" in only and mix.param not in only["param"]:
            continue
        values = [v for v in AXES[mix.axis].values if mix.axis in only or not mix.values or v in mix.values]
        for value in values:
            variant = Variant(**{mix.axis: value})
            row = {"variant": variant.label, **variant.as_dict()}
            if all(str(row[column]) in allowed for column, allowed in only.items() if column in row):
                cases.extend(LoadCase(mix, variant, count) for count in clients)
    return cases


def _url_text(url) -> str:
    return url.render_as_string(hide_password=False) if hasattr(url, "render_as_string") else str(url)


def _prepare_roles(state, case: LoadCase, url) -> tuple[list[Role], dict, list]:
    """Each workload's set-up run once (untimed); the roles of every client; what undoes the set-ups."""
    workloads, set_up, undo, options = load_all(), {}, [], {}
    for role in dict.fromkeys(case.mix.roles):
        workload = workloads[role.workload]
        ctx = case_context(state, Case(workload, case.variant, role.params), url)
        ctx.engine.dispose()  # the workers bring their own engines
        kwargs = workload.setup(ctx, **role.params) if workload.setup else {}
        set_up[role] = kwargs
        options.update(workload.connect_options(role.params))
        if workload.teardown:
            undo.append(lambda w=workload, c=ctx, p=role.params, k=kwargs: w.teardown(c, **p, **k))
    roles = []
    for client, role in enumerate(case.roles()):
        kwargs = dict(set_up[role])
        if role.own_node:
            kwargs["node_id"] = f"load-node-{client}"
        roles.append(Role(role.workload, dict(role.params), kwargs))
    return roles, options, undo


def _plans(state, case: LoadCase, url, roles: list[Role], options: dict, workers: int, pool_size: int):
    models = state.models_for(case.variant) if case.mix is not NOOP_MIX else None
    name = f"sessionbench/{case.mix.name}/{case.variant.label}"[:63]
    used = min(workers, case.clients)
    plans = [WorkerPlan(_url_text(url), name, options, case.variant if models else None,
                        models.metadata.schema if models else None, state.facts, state.source_schema,
                        tuple(range(k, case.clients, used)), tuple(roles[k::used]), pool_size)
             for k in range(used)]
    return plans, name


def available_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def measure_load(state, case: LoadCase, url, workers: LoadWorkers, *, pool_size: int, seconds: float):
    """Run one load case: (its results columns, a sample of its request latencies for pytest-benchmark)."""
    if case.mix is NOOP_MIX:
        roles, options, undo = [Role(NOOP)] * case.clients, {}, []
    else:
        state.settle(state.models_for(case.variant))
        roles, options, undo = _prepare_roles(state, case, url)
    try:
        plans, name = _plans(state, case, url, roles, options, workers.count, pool_size)
        sampler = WaitSampler(state.setup_engine, name)
        try:
            results = workers.run(plans, seconds / 3, seconds, on_start=sampler.start)
        finally:
            sampler.stop()
    finally:
        for step in undo:
            step()
        if case.mix is not NOOP_MIX:
            state.changed(state.models_for(case.variant))  # the clients may have written to it
        if case.mix.restore:
            state.restore_variant(case.variant)
    records = [record for result in results for record in result.records]
    latencies = [value for record in records for value in record.latencies]
    window = max(result.window_s for result in results)
    cpu = sum(result.cpu_s for result in results)
    by_role: dict = {}
    for record in records:
        by_role.setdefault(record.role, []).extend(record.latencies)
    columns = {
        **case.columns(), "pool_size": pool_size, "load_workers": len(plans),
        "clients_per_worker": math.ceil(case.clients / len(plans)), "load_seconds": seconds,
        **latency_columns(latencies, [v for r in records for v in r.pool_waits], window),
        "pool_waited": sum(record.waited for record in records),
        "errors": sum(record.errors for record in records),
        "first_error": next((record.first_error for record in records if record.first_error), None),
        "load_cpu_s": cpu, "load_cpu_share": cpu / (window * available_cores()) if window > 0 else None,
        **wait_columns(sampler.events, sampler.samples), "wait_sample_error": sampler.error,
        "roles_detail": {role: {k: v for k, v in latency_columns(values, values, window).items()
                                if not k.startswith("pool")} for role, values in by_role.items()},
    }
    return columns, quantile_sample(latencies)


# Connections the run itself holds beside the load's pools: its set-up engine, the wait sampler, a relay.
RUN_OWN_CONNECTIONS = 5
_LIMIT = """select current_setting('max_connections')::int,
                   current_setting('superuser_reserved_connections')::int,
                   coalesce(current_setting('reserved_connections', true), '0')::int,
                   (select count(*) from pg_stat_activity where backend_type = 'client backend')::int"""


def connections_needed(clients: int, pool_size: int, load_workers: int) -> int:
    """Connections the largest load case holds at once: each worker's pool, as far as its clients fill it."""
    used = min(load_workers, clients)
    return used * min(pool_size, math.ceil(clients / used)) + RUN_OWN_CONNECTIONS


def check_connection_limit(url, clients: list[int], pool_size: int, load_workers: int) -> None:
    """Refuse, as soon as the server is up and before any load case, a client count the server's
    connection limit (max_connections less its reserved slots and the connections already open) cannot take."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.pool import NullPool

    from bench.errors import UserError

    if not clients:
        return
    engine = create_engine(url, poolclass=NullPool, connect_args={"application_name": "sessionbench/setup"})
    try:
        with engine.connect() as conn:
            limit, superuser, reserved, open_now = conn.execute(text(_LIMIT)).one()
    finally:
        engine.dispose()
    free = limit - superuser - reserved - (open_now - 1)  # the connection asking is the run's own
    needed = connections_needed(max(clients), pool_size, load_workers)
    if needed > free:
        raise UserError(f"--clients {max(clients)} with --pool-size {pool_size} and --load-workers {load_workers} "
                        f"needs {needed} connections, but the server takes {free} more (max_connections {limit}, "
                        f"{superuser + reserved} reserved, {open_now - 1} open)",
                        "lower --pool-size or --load-workers (clients share each worker's pool), "
                        "or raise the server's max_connections")
