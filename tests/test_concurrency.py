"""The load engine (`--clients`) on a real server: counts, orders and waits as facts, never timings."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter

import pytest
from sqlalchemy import text

from bench.load import cases as concurrency_cases
from bench import results
from bench.load.concurrency import NOOP, LoadWorkers, Role, WorkerPlan
from bench.load.cases import LoadCase, load_cases, measure_load
from bench.load.waits import latency_columns, quantile_sample, wait_columns
from bench.errors import UserError
from models_variants import Variant
from tests.runs import ROOT

# ------------------------------------------------------------------ pure parts, literal numbers


def test_latency_columns_count_every_request_and_order_the_percentiles():
    columns = latency_columns([0.001 * n for n in range(1, 101)], [0.0] * 50 + [0.01] * 50, 2.0)
    assert columns["ops"] == 100 and columns["ops_per_s"] == 50.0
    assert columns["p50_s"] == pytest.approx(0.0505) and columns["p99_s"] == pytest.approx(0.09901)
    assert columns["p50_s"] <= columns["p95_s"] <= columns["p99_s"]
    assert columns["pool_wait_s"] == pytest.approx(0.005)
    assert columns["pool_wait_share"] == pytest.approx(0.5 / 5.05)
    assert latency_columns([], [], 1.0)["ops"] == 0


def test_wait_columns_group_lock_waits_by_type():
    events = Counter({"CPU": 6, "Lock:transactionid": 3, "Lock:tuple": 1, "Client:ClientRead": 10})
    columns = wait_columns(events, samples=5)
    assert columns["busy_backends"] == 4.0
    assert columns["lock_wait_share"] == 0.2 and columns["client_wait_share"] == 0.5 and columns["cpu_share"] == 0.3
    assert columns["lock_waits"] == "transactionid 3, tuple 1"
    assert columns["top_wait"] == "Client:ClientRead"
    assert wait_columns(Counter(), 0)["lock_waits"] == "none"


def test_quantile_sample_keeps_both_ends_and_at_most_the_points_asked():
    sample = quantile_sample(list(range(1001)), points=11)
    assert sample == [0, 100, 200, 300, 400, 500, 600, 700, 800, 900, 1000]
    assert quantile_sample([3, 1, 2]) == [1, 2, 3]


def test_no_load_case_without_clients_and_only_narrows_mixes_and_variants():
    assert load_cases([], {}) == []
    cases = load_cases([1, 4], {"workload": {"dashboard"}})
    assert {case.mix.name for case in cases} == {"dashboard_under_load"}
    assert [(c.variant.loading, c.clients) for c in cases] == [
        ("lazy", 1), ("lazy", 4), ("selectin", 1), ("selectin", 4), ("raise", 1), ("raise", 4)]
    joined = load_cases([8], {"workload": {"dashboard"}, "loading": {"joined"}})
    assert [(c.variant.loading, c.columns()["param"]) for c in joined] == [("joined", "page_size=100,clients=8")]
    assert {c.mix.name for c in load_cases([2], {"workload": {"mark_sync"}})} == {"sync_under_load"}
    sync = load_cases([4], {"workload": {"active_sync"}})[0]
    assert sync.columns()["roles"] == "mark_sync x3, active_sync x1"


def test_load_rows_are_left_out_of_comparisons_and_gates():
    assert results.under_load({"extra_info": {"clients": 4}})
    assert results.under_load({"clients": 1}) and not results.under_load({"clients": None})
    assert not results.under_load({"extra_info": {"workload": "dashboard"}})


# ------------------------------------------------------------------ on a real server

@pytest.fixture(scope="module")
def workers():
    with LoadWorkers(2) as started:
        yield started


def _noop_plans(database_url, clients: int, workers: int, pool_size: int, **params) -> list[WorkerPlan]:
    name = f"sessionbench/test-load/{os.getpid()}"
    return [WorkerPlan(database_url, name, {}, None, None, {}, "", tuple(range(k, clients, workers)),
                       tuple(Role(NOOP, params) for _ in range(k, clients, workers)), pool_size)
            for k in range(workers)]


@pytest.mark.db
def test_every_request_of_the_window_is_counted_once(workers, database_url):
    done = workers.run(_noop_plans(database_url, 4, 2, 2), 0.2, 0.5)
    records = [record for result in done for record in result.records]
    assert sorted(record.client for record in records) == [0, 1, 2, 3]
    assert all(len(record.latencies) == len(record.pool_waits) > 0 for record in records)
    assert all(record.errors == 0 and record.waited == 0 for record in records)  # pool 2 for 2 threads each
    assert all(wait <= latency for record in records for wait, latency in zip(record.pool_waits, record.latencies))
    assert all(result.cpu_s > 0 for result in done)


@pytest.mark.db
def test_clients_beyond_the_pool_wait_for_a_connection(workers, database_url):
    held = workers.run(_noop_plans(database_url, 4, 1, 1, hold_s=0.02), 0.1, 0.4)[0].records
    free = workers.run(_noop_plans(database_url, 4, 1, 4, hold_s=0.02), 0.1, 0.4)[0].records
    assert sum(record.waited for record in held) > 0
    assert sum(sum(record.pool_waits) for record in held) > 0
    assert sum(record.waited for record in free) == 0


@pytest.mark.db
def test_a_worker_failure_is_one_line_and_the_workers_start_again(workers, database_url):
    plan = WorkerPlan(database_url, "sessionbench/test-load", {}, Variant(), "no_such_schema", {}, "",
                      (0,), (Role("no_such_workload"),), 1)
    old = workers.pids
    with pytest.raises(UserError, match="load worker 0 failed: KeyError"):
        workers.run([plan], 0.1, 0.1)
    assert workers.pids == []  # stopped: a worker may have been mid-plan
    assert all(not _alive(pid) for pid in old)
    assert len(workers.run(_noop_plans(database_url, 2, 2, 1), 0.1, 0.2)) == 2
    assert len(workers.pids) == 2


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as stat:  # a zombie is not a running worker
        return stat.read().split()[2] != "Z"


@pytest.mark.db
def test_workers_are_stopped_when_the_parent_is_interrupted(database_url):
    with pytest.raises(KeyboardInterrupt):
        with LoadWorkers(2) as started:
            pids = started.pids
            raise KeyboardInterrupt
    assert all(not _alive(pid) for pid in pids)


@pytest.fixture(scope="module")
def state(small_state):
    return small_state


@pytest.mark.db
def test_a_dashboard_load_case_counts_what_it_records(state, server, workers):
    case = LoadCase(concurrency_cases.MIXES[0], Variant(loading="selectin"), 3)
    columns, sample = measure_load(state, case, server.url, workers, pool_size=1, seconds=0.6)
    assert columns["ops"] > 0 and columns["errors"] == 0
    assert columns["ops_per_s"] == pytest.approx(columns["ops"] / (columns["ops"] / columns["ops_per_s"]))
    assert columns["roles_detail"]["dashboard"]["ops"] == columns["ops"]
    assert len(sample) == min(columns["ops"], 500)
    assert columns["p50_s"] <= columns["p95_s"] <= columns["p99_s"] <= max(sample)
    assert (columns["load_workers"], columns["clients_per_worker"], columns["pool_size"]) == (2, 2, 1)
    assert columns["wait_samples"] > 0 and columns["wait_sample_error"] is None
    assert sum(columns["wait_events"].values()) == round(columns["busy_backends"] * columns["wait_samples"])


@pytest.mark.db
def test_lock_waits_are_sampled_by_type_for_the_runs_own_backends(workers, database_url, engine):
    from bench.load.waits import WaitSampler

    plans = _noop_plans(database_url, 3, 1, 3, hold_s=0.05, advisory_lock=4242)
    sampler = WaitSampler(engine, plans[0].application_name, interval=0.01)
    try:
        workers.run(plans, 0.1, 0.5, on_start=sampler.start)
    finally:
        sampler.stop()
    columns = wait_columns(sampler.events, sampler.samples)
    assert columns["lock_waits"].startswith("advisory ")  # two of three clients always wait for the third
    assert set(sampler.events) <= {"CPU", "Lock:advisory", "Timeout:PgSleep", "Client:ClientRead"}


@pytest.mark.db
def test_node_writes_in_the_sync_load_are_undone(state, server, workers):
    case = LoadCase(concurrency_cases.MIXES[1], Variant(sync_flag="jsonb_gin"), 4)
    columns, _ = measure_load(state, case, server.url, workers, pool_size=2, seconds=0.4)
    assert columns["roles"] == "mark_sync x3, active_sync x1" and columns["errors"] == 0
    assert set(columns["roles_detail"]) == {"mark_sync", "active_sync"}
    models = state.models_for(case.variant)
    with state.setup_engine.connect() as conn:
        assert conn.execute(text(f"select count(*) from {models.qualified('sessions')} "
                                 "where node_sync_status::text like '%load-node-%'")).scalar_one() == 0


# ------------------------------------------------------------------ through the command line

LOAD_RUN = ["run", "--backend", "embedded", "--sessions", "200", "--max-time", "0.05", "--min-rounds", "2",
            "--only", "workload=dashboard", "--only", "param=page_size=100", "--only", "loading=lazy,raise",
            "--clients", "1,4", "--load-seconds", "0.5", "--quiet"]


@pytest.mark.db
@pytest.mark.slow
def test_a_run_with_clients_writes_load_rows_beside_the_ordinary_ones(tmp_path):
    done = subprocess.run([sys.executable, "-m", "bench.cli", *LOAD_RUN, "--out", str(tmp_path)], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    path = next(tmp_path.glob("*.json"))
    doc = results.read(path)
    load = [row for row in results.rows(doc) if results.under_load(row)]
    assert sorted((row["variant"], row["clients"]) for row in load) == [
        ("baseline", 1), ("baseline", 4), ("loading=raise", 1), ("loading=raise", 4)]
    for row in load:
        assert row["ops"] > 0 and row["ops_per_s"] > 0 and row["errors"] == 0
        assert row["p50_s"] <= row["p95_s"] <= row["p99_s"]
        assert row["pool_wait_s"] is not None and row["ceiling_ops_per_s"] > 0 and row["lock_waits"]
    assert len({results.key_of(b) for b in doc["benchmarks"]}) == len(doc["benchmarks"])
    assert [c["clients"] for c in doc["sessionbench"]["concurrency"]["ceilings"]] == [1, 4]
    assert doc["sessionbench"]["node_writes"] == []  # the sync mix is not in this run
    assert "under concurrent load (--clients):" in done.stdout and "load generator" in done.stdout
    compared = subprocess.run([sys.executable, "-m", "bench.cli", "compare", str(path), str(path), "--format", "json"],
                              cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert compared.returncode == 0, compared.stderr
    assert "under_load" not in compared.stdout  # load rows are not latency benchmarks


@pytest.mark.parametrize("argv, says", [
    (["--clients", "0"], "--clients: 0 is outside 1..256"),
    (["--clients", "four"], "--clients: 'four' is not a whole number"),
    (["--clients", "4", "--pool-size", "0"], "--pool-size: 0 is outside 1..100"),
    (["--clients", "4", "--only", "workload=session_detail"], "--clients: no load mix runs a workload --only keeps"),
])
def test_bad_load_options_are_one_line_before_anything_starts(argv, says, tmp_path):
    done = subprocess.run([sys.executable, "-m", "bench.cli", "run", "--backend", "embedded", *argv,
                           "--out", str(tmp_path)], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert says in done.stderr and "Traceback" not in done.stderr
    assert not list(tmp_path.glob("*.json"))


def test_the_results_columns_name_the_load_metrics():
    for column in ("clients", "ops_per_s", "p50_s", "p95_s", "p99_s", "pool_wait_s", "lock_waits", "headroom"):
        assert column in results.COLUMNS
    assert json.dumps(results.DETAIL).count("wait_events") == 1


# ------------------------------------------------------------------ what the report says, from literal rows

def _load_row(variant, clients, ops_per_s, p99_s, pool_wait_share=0.0, **extra):
    return {"workload": "dashboard_under_load", "variant": variant, "clients": clients, "rtt_ms": 0.0,
            "ops_per_s": ops_per_s, "p99_s": p99_s, "pool_wait_share": pool_wait_share, "client_wait_share": 0.9,
            "lock_wait_share": 0.0, "lock_waits": "none", "headroom": 20.0, "ceiling_ops_per_s": ops_per_s * 20,
            "load_cpu_share": 0.3, **extra}


def test_the_finding_names_the_best_and_worst_variant_at_the_most_clients():
    import pandas as pd

    from bench.report.concurrency import finding, generator_check

    df = pd.DataFrame([_load_row("baseline", 1, 10.0, 0.2), _load_row("baseline", 8, 5.0, 4.0, 0.5),
                       _load_row("loading=raise", 1, 100.0, 0.05), _load_row("loading=raise", 8, 150.0, 0.5)])
    assert finding(df, "dashboard_under_load") == (
        "dashboard_under_load: at 8 clients, raise serves 150 requests/s (p99 500.0 ms), 30.0x lazy (baseline) "
        "(5/s, p99 4000.0 ms, 50% of its request time waiting for a pooled connection); lazy (baseline) goes from "
        "10/s at 1 client to 5/s at 8; its server backends spent 90% of their sampled time waiting for the client "
        "(ORM work and round trips), not on the server.")
    assert finding(df, "sync_under_load") == "sync_under_load: not measured: run with --clients 1,4,8"
    assert generator_check(df).startswith("load generator not the bottleneck: `select 1` on the same workers, "
                                          "threads and pools reached at least 20.0x")


def test_the_node_write_findings_count_losses_and_say_which_variants_cannot_drift():
    import pandas as pd

    from bench.report.concurrency import node_write_findings

    rows = [{"variant": v, "path": p, "writes": 8, "sessions": 2, "lost_updates": lost, "failed_writes": 0,
             "drift": drift, "can_drift": v.endswith("bool_column")}
            for v, p, lost, drift in (("baseline", "orm_locked", 0, None), ("baseline", "in_place", 8, None),
                                      ("sync_flag=bool_column", "orm_locked", 0, 0),
                                      ("sync_flag=bool_column", "in_place", 8, 0),
                                      ("sync_flag=bool_column", "atomic_sql", 0, 2))]
    assert node_write_findings(pd.DataFrame(rows)) == (
        "in_place loses 8/8 on json (baseline), 8/8 on bool_column; the flag disagrees with the JSON value after "
        "atomic_sql on bool_column (2 of 2 sessions); no write lost by orm_locked on every variant; atomic_sql on "
        "every variant; cannot drift (one representation of the state): json (baseline).")


def test_the_load_chart_draws_a_line_per_variant_or_says_what_to_run():
    import pandas as pd

    from bench.report import plotting

    df = pd.DataFrame([_load_row("baseline", 1, 10.0, 0.2), _load_row("baseline", 8, 5.0, 4.0, 0.5),
                       _load_row("loading=raise", 1, 100.0, 0.05), _load_row("loading=raise", 8, 150.0, 0.5)])
    fig = plotting.CHARTS["load_dashboard"](df)
    throughput, tail = fig.axes
    assert [line.get_label() for line in tail.get_lines()] == ["lazy (baseline)", "raise"]
    assert list(throughput.get_lines()[1].get_ydata()) == [100.0, 150.0]
    assert throughput.get_xlabel() == "concurrent clients" and "requests/s" in throughput.get_ylabel()
    assert "ms" in tail.get_ylabel()
    assert throughput.get_title(loc="left").startswith("dashboard_under_load: at 8 clients, raise serves")
    empty = plotting.CHARTS["load_sync"](df)
    assert "run with --clients 1,4,8" in plotting.describe(empty)
