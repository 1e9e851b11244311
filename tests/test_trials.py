"""The measurement core against a real server: interleaved trials, settled tables, exact counts.

Facts only (orders, counts, catalog state, which statistics moved), never timings.
"""

from __future__ import annotations

import statistics
import time

import pytest
from sqlalchemy import create_engine, text

from bench.measure import counting, cpu, trials, yardstick
from bench import measure
from bench.plan.cases import Case, all_cases
from bench.workloads import load_all
from models_variants import Variant

pytestmark = pytest.mark.db


@pytest.fixture(scope="module")
def state(small_state):
    return small_state  # 200 sessions, seed 3, dropped after the module (tests/conftest.py)


def group(workload: str, param: str) -> list[Case]:
    return [c for c in all_cases() if c.workload.name == workload and c.param == param]


def test_rounds_per_trial_spreads_the_budget_over_the_trials():
    assert trials.rounds_per_trial(0.001, max_time=0.4, min_rounds=6, trials=6) == 67  # 400 rounds / 6
    assert trials.rounds_per_trial(0.5, max_time=0.4, min_rounds=6, trials=6) == 1  # at least one per trial
    assert trials.rounds_per_trial(0.1, max_time=0.4, min_rounds=12, trials=6) == 2  # min_rounds wins


def test_orders_put_every_case_at_every_position_equally_often():
    import random
    from collections import Counter

    for cases, count in ((list("abcde"), 10), (list("ab"), 6), (list("abc"), 6)):
        orders = trials.balanced_orders(cases, count, random.Random("7/dashboard/page_size=10"))
        assert len(orders) == count and all(sorted(order) == cases for order in orders)
        positions = Counter((case, order.index(case)) for order in orders for case in cases)
        assert set(positions.values()) == {count // len(cases)}  # balanced
    again = trials.balanced_orders(list("abcde"), 6, random.Random("7/x/"))
    assert again == trials.balanced_orders(list("abcde"), 6, random.Random("7/x/"))  # seeded: the same every run


def test_a_group_runs_every_variant_in_every_trial_in_a_new_random_order(state, server):
    cases = group("dashboard", "page_size=10")
    results = trials.measure_group(state, cases, server.url, max_time=0.05, min_rounds=6, trials=6, seed=7)
    assert len(cases) == 6
    orders = list(zip(*(results[c].positions for c in cases)))
    assert len(orders) == 6
    assert all(sorted(order) == [0, 1, 2, 3, 4, 5] for order in orders)  # each trial runs each case once
    assert len(set(orders)) > 1  # the order changes between trials
    for case in cases:
        result = results[case]
        assert result.error is None
        assert len(result.trial_medians) == 6
        assert len(result.durations) == 6 * result.rounds_per_trial
        assert len(result.server_per_round) == 6 and all(s is not None and s >= 0 for s in result.server_per_round)
        # the embedded backend is a process of this machine: its CPU time is read, and it is never zero
        assert all(u.server_cpu_s > 0 and u.client_cpu_s > 0 and u.wait_s >= 0 for u in result.usage)
        assert len(result.unloaded()) == 6
    # each block was preceded by the yardstick; each trial's pace is the median of its six blocks' yardsticks
    paces = [statistics.median(results[c].yardsticks[t] for c in cases) for t in range(6)]
    for case in cases:
        columns = results[case].columns()
        assert len(columns["trial_yardstick_s"]) == 6 and all(y > 0 for y in columns["trial_yardstick_s"])
        assert columns["trial_paced_s"] == pytest.approx(
            [m * yardstick.NOMINAL_S / p for m, p in zip(results[case].trial_medians, paces)], rel=1e-12)
    baseline = next(results[c] for c in cases if c.variant.label == "baseline")
    assert baseline.ratio == pytest.approx((1.0, 1.0, 1.0))
    for case in cases:
        ratio, low, high = results[case].ratio
        assert low <= ratio <= high
    # the same seed gives the same orders: a run can be repeated exactly
    again = trials.measure_group(state, cases, server.url, max_time=0.02, min_rounds=6, trials=6, seed=7)
    assert [again[c].positions for c in cases] == [results[c].positions for c in cases]


def test_counts_are_exact_on_client_and_server(state, server):
    (case,) = [c for c in group("dashboard", "page_size=10") if c.variant.label == "baseline"]
    prepared = measure.prepare(state, case, server.url, warm=False)
    prepared.close()
    assert prepared.counts["statements"] == 11  # 1 page query + 10 lazy loads of skills
    assert prepared.counts["server_statements"] == 11


def test_one_failing_variant_does_not_hide_the_others(state, server, monkeypatch):
    cases = group("active_sync", "")
    broken = next(c for c in cases if c.variant.sync_flag == "jsonb_gin")
    original = measure.prepare

    def prepare(run, case, url, **options):
        if case == broken:
            raise RuntimeError("this variant failed to set up")
        return original(run, case, url, **options)

    monkeypatch.setattr(measure, "prepare", prepare)
    results = trials.measure_group(state, cases, server.url, max_time=0.02, min_rounds=6, trials=3, seed=1)
    assert str(results[broken].error) == "this variant failed to set up"
    assert all(results[c].error is None and len(results[c].trial_medians) == 3 for c in cases if c != broken)


def test_settled_tables_are_vacuumed_with_autovacuum_off_for_the_run_only(state):
    models = state.models_for(Variant.parse("loading=selectin"))
    with state.setup_engine.connect() as conn:
        conn.execute(text("create table if not exists public.foreign_table (id int)"))
        conn.commit()
        rows = conn.execute(text("""
            select c.relname, c.reloptions, s.last_vacuum is not null
            from pg_class c join pg_namespace n on n.oid = c.relnamespace
            join pg_stat_user_tables s on s.relid = c.oid
            where n.nspname = :schema and c.relkind = 'r'"""), {"schema": models.schema}).all()
        foreign = conn.execute(text("select reloptions from pg_class where relname = 'foreign_table'")).scalar_one()
        server_wide = conn.execute(text("show autovacuum")).scalar_one()
    assert {name for name, _, _ in rows} == set(models.tables())
    assert all("autovacuum_enabled=false" in (options or []) for _, options, _ in rows)
    assert all(vacuumed for _, _, vacuumed in rows)
    assert foreign is None  # another table of the database is left as it was
    assert server_wide == "on"  # and so is the server's setting


def _vacuums(conn, table: str) -> int:
    conn.execute(text("select pg_stat_clear_snapshot()"))  # VACUUM counts itself in shared memory at once
    count = conn.execute(text("select vacuum_count from pg_stat_user_tables where relid = cast(:t as regclass)"),
                         {"t": table}).scalar_one()
    conn.commit()
    return count


def test_a_reading_case_after_readers_skips_the_settle_and_a_writing_case_never_does(state, server):
    """Settling is skipped only where no one that may write had the tables since the last settle."""
    variant = Variant.parse("sync_flag=jsonb_expr")
    reader, = (c for c in group("active_sync", "") if c.variant == variant)
    writer, = (c for c in group("mark_sync", "") if c.variant == variant)
    assert (reader.workload.writes, writer.workload.writes) == (False, True)
    table = state.models_for(variant).qualified("sessions")
    with state.setup_engine.connect() as conn:
        counts = []
        for case in (reader, reader, writer, writer, reader, reader):
            measure.prepare(state, case, server.url, warm=False).close()
            counts.append(_vacuums(conn, table))
    steps = [after - before for before, after in zip(counts, counts[1:])]
    # reader after reader: skipped; each writer settles; the first reader after a writer settles; then skipped
    assert steps == [0, 1, 1, 1, 0]


def test_server_counts_never_reset_other_statistics(state, server):
    # Another database of the same server, with a statement of its own (its own table, so
    # pg_stat_statements cannot fold it into an entry of any other statement).
    admin_engine = create_engine(server.url, isolation_level="AUTOCOMMIT")
    with admin_engine.connect() as admin:
        if not admin.execute(text("select 1 from pg_database where datname = 'sb_test_other'")).first():
            admin.execute(text("create database sb_test_other"))
    admin_engine.dispose()
    other = create_engine(server.url.set(database="sb_test_other"))
    with other.begin() as conn:
        conn.execute(text("create table if not exists other_database_marker (id int)"))
        conn.execute(text("select count(*) from other_database_marker"))
    with state.setup_engine.connect() as conn:
        def calls():
            return conn.execute(text("select coalesce(sum(calls), 0) from pg_stat_statements "
                                     "where query like '%from other_database_marker%'")).scalar_one()
        before = calls()
        (case,) = [c for c in group("list_live", "deleted_fraction=0") if c.variant.label == "baseline"]
        measure.prepare(state, case, server.url, warm=False).close()
        assert calls() == before >= 1
    other.dispose()


def test_a_checkpoint_inside_a_trial_is_seen(state):
    with state.setup_engine.connect() as conn:
        before = trials._watch(conn, [state.source_schema], state.server.version_num)
        conn.execute(text("checkpoint"))
        conn.commit()
        # The checkpointer reports its count just after it wakes the requester: on a busy machine a
        # moment later. Bounded wait for the fact, not a timing assertion.
        deadline = time.monotonic() + 10
        after = trials._watch(conn, [state.source_schema], state.server.version_num)
        while after.checkpoints == before.checkpoints and time.monotonic() < deadline:
            time.sleep(0.05)
            after = trials._watch(conn, [state.source_schema], state.server.version_num)
    assert after.checkpoints == before.checkpoints + 1


def test_injected_slowdown_is_real_server_and_client_work_with_the_same_counts(state, server, monkeypatch):
    monkeypatch.setenv("SESSIONBENCH_TEST_SLOWDOWN", "list_live=0.5")
    (case,) = [c for c in group("list_live", "deleted_fraction=0") if c.variant.label == "baseline"]
    with state.setup_engine.connect() as conn:
        def burns():
            return conn.execute(text("select coalesce(sum(calls), 0) from pg_stat_statements "
                                     "where query like '%generate_series%'")).scalar_one()
        before = burns()
        prepared = measure.prepare(state, case, server.url, warm=False)
        prepared.one_round()
        prepared.close()
        assert burns() >= before + 2  # calibration and the round's own server work
    assert prepared.counts["statements"] == 1  # the workload's statements are unchanged


def test_server_cpu_is_read_only_from_a_process_of_this_machine(server):
    engine = create_engine(server.url)
    with engine.connect() as conn:
        pid = conn.exec_driver_sql("select pg_backend_pid()").scalar_one()
        assert cpu.server_process(server, pid) == pid
        in_container = type(server)(backend="docker", url=server.url)
        assert cpu.server_process(in_container, pid) is None  # a container's PIDs are another namespace's
    engine.dispose()


def test_counting_statements_is_reported_only_where_the_run_owns_the_database(server):
    assert counting.server_counts_usable(server)
    url_server = type(server)(backend="url", url=server.url, pg_stat_statements=True)
    assert not counting.server_counts_usable(url_server)


def test_every_workload_has_a_group_with_a_baseline():
    for workload in load_all().values():
        groups = {c.group for c in all_cases() if c.workload is workload}
        for key in groups:
            labels = [c.variant.label for c in all_cases() if c.group == key]
            assert "baseline" in labels or workload.name == "restore_session", key


def test_a_count_across_an_eviction_is_refused_not_wrong():
    before = counting.ServerTotals(calls=100, exec_s=1.0, evictions=3)
    assert counting.ServerTotals(calls=90, exec_s=1.2, evictions=4).since(before) is None
    assert counting.ServerTotals(calls=111, exec_s=1.5, evictions=3).since(before) == counting.ServerTotals(11, 0.5)


def test_a_case_over_its_budget_is_measured_once_by_its_counting_round_and_says_so(state, server):
    cases = group("dashboard", "page_size=10")[:2]
    results = trials.measure_group(state, cases, server.url, max_time=0.05, min_rounds=6, trials=6, seed=7,
                                   case_budget=1e-9)  # every round is over a budget of a nanosecond
    for result in results.values():
        assert result.error is None and result.budget_limited
        assert len(result.durations) == 1 and result.warmup["warmup_rounds"] == 0
        assert result.columns()["budget_limited"] is True and result.counts["statements"] > 0
        # no block, so no yardstick: its time is not paced rather than paced by a guess
        assert result.columns()["trial_yardstick_s"] is None and result.columns()["trial_paced_s"] is None
    baseline, other = (results[c] for c in cases)
    assert baseline.ratio[1:] == (None, None) and other.ratio[1:] == (None, None)  # no interval from one trial


def test_a_slow_counting_round_of_a_fast_case_does_not_replace_its_warm_up(state, server, monkeypatch):
    # The counting round carries the counters and the first compilation of the variant's queries:
    # 0.1 s of it said nothing about a 4 ms round, and once left such a case one cold round per trial.
    real = measure.count_pass

    def slow_count_pass(*args, **kwargs):
        counts = real(*args, **kwargs)
        time.sleep(0.1)
        return counts

    monkeypatch.setattr(measure, "count_pass", slow_count_pass)
    case = next(c for c in group("dashboard", "page_size=10") if c.variant.label == "baseline")
    prepared = measure.prepare(state, case, server.url)
    try:
        assert prepared.warmup["warmup_rounds"] >= 1 and "over_budget_s" not in prepared.warmup
    finally:
        prepared.close()
