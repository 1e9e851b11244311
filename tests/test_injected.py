"""The test-only injected regressions: which cases they slow, and that they leave every count alone.

Facts only (which cases, which counts, which statements reached the server), never timings.
"""

from __future__ import annotations

import json

import pytest
from sqlalchemy import text

from bench.measure import injected
from bench import measure
from bench.plan.cases import all_cases
from models_variants import Variant


def test_both_forms_are_read():
    assert injected.parse_targets("dashboard=0.25, list_live[deletion=soft,sync_flag=bool_column]=0.5,x") == [
        injected.Target("dashboard", (), "0.25"),
        injected.Target("list_live", (("deletion", "soft"), ("sync_flag", "bool_column")), "0.5"),
        injected.Target("x", (), ""),
    ]
    assert injected.parse_targets("") == []


@pytest.mark.parametrize("spec", ["dashboard[colour=red]=0.25", "dashboard[loading=eager]=0.25",
                                  "dashboard[loading]=0.25", "dashboard[loading=selectin=0.25"])
def test_a_misspelt_target_is_an_error_not_a_slowdown_of_nothing(spec):
    with pytest.raises(ValueError):
        injected.parse_targets(spec)


def slowed(monkeypatch, spec: str) -> dict:
    monkeypatch.setenv("SESSIONBENCH_TEST_SLOWDOWN", spec)
    return {case: injected.Work.for_case(case.workload.name, case.variant) for case in all_cases()}


def test_the_workload_form_slows_every_case_of_the_workload_and_no_other(monkeypatch):
    works = slowed(monkeypatch, "dashboard=0.25")
    chosen = {case for case, work in works.items() if work is not None}
    assert chosen == {case for case in works if case.workload.name == "dashboard"}
    assert len({case.variant for case in chosen}) > 2  # several variants, the recommended one too
    assert {works[case].fraction for case in chosen} == {0.25}


def test_the_variant_form_slows_only_the_cases_with_that_axis_value(monkeypatch):
    works = slowed(monkeypatch, "dashboard[loading=selectin]=0.25")
    chosen = {case for case, work in works.items() if work is not None}
    assert chosen == {case for case in works
                      if case.workload.name == "dashboard" and case.variant.loading == "selectin"}
    assert {case.param for case in chosen} == {"page_size=10", "page_size=100", "page_size=1000"}


def test_the_entry_with_more_conditions_wins(monkeypatch):
    monkeypatch.setenv("SESSIONBENCH_TEST_SLOWDOWN", "dashboard[loading=selectin]=0.5,dashboard=0.1")
    assert injected.Work.for_case("dashboard", Variant(loading="selectin")).fraction == 0.5
    assert injected.Work.for_case("dashboard", Variant(loading="raise")).fraction == 0.1
    assert injected.Work.for_case("list_live", Variant(loading="selectin")) is None
    monkeypatch.setenv("SESSIONBENCH_TEST_EXTRA_STATEMENT", "dashboard[loading=raise]")
    assert injected.Work.for_case("dashboard", Variant(loading="raise")).extra_statement
    assert not injected.Work.for_case("dashboard", Variant(loading="selectin")).extra_statement


def test_the_extra_time_is_a_share_of_the_round_itself():
    work = injected.Work(0.25, False)
    assert work.aim(0.004) == pytest.approx(0.001)  # nothing known yet of what follows the work
    for tail in (0.003, 0.001, 0.002, 0.1):  # rollback and close of earlier rounds: their median
        work.record_tail(tail)
    assert work.aim(0.004) == pytest.approx(0.25 * (0.004 + 0.0025))


def test_the_warm_up_and_the_rounds_per_trial_are_decided_on_the_workloads_own_time(monkeypatch):
    # Counted in, the extra time gave slowed runs fewer warm-up rounds and fewer rounds per trial
    # than unslowed ones, and a trial median over fewer rounds reads longer (the first round of a
    # block is the slowest): a change to what is timed beside the slowdown. A fake clock: no timing.
    clock = {"now": 0.0}
    monkeypatch.setattr(measure, "time", type("Clock", (), {"perf_counter": staticmethod(lambda: clock["now"])}))
    work = injected.Work(0.25, False)

    def one_round():
        clock["now"] += 0.004  # the workload
        clock["now"] += 0.1  # the injected work: 12 such rounds would not fit the warm-up budget
        work.injected_total_s += 0.1

    warm = measure.warm_up(one_round, work)
    assert warm["warmup_rounds"] == measure.STEADY_STATE_EXECUTIONS and warm["steady_state"]
    assert warm["typical_s"] == pytest.approx(0.004)
    assert measure.warm_up(lambda: clock.update(now=clock["now"] + 0.004)) == warm  # as without the hook


def test_the_burn_streams_its_series_and_the_server_count_leaves_it_out():
    from bench.measure import counting

    # In the select list (ProjectSet), not in FROM (a FunctionScan materialises into a tuplestore).
    assert "from (select generate_series(" in injected.BURN_SQL
    assert "generate_series" in str(counting._SERVER_TOTALS)


@pytest.fixture(scope="module")
def state(small_state):
    return small_state  # 200 sessions, seed 3, dropped after the module (tests/conftest.py)


def burns(conn) -> int:
    return conn.execute(text("select coalesce(sum(calls), 0) from pg_stat_statements "
                             "where query like '%generate_series%'")).scalar_one()


COUNTS = ("statements", "executions", "rows", "server_statements", "round_trips", "wire_rows", "prepared_statements",
          "generic_executions", "custom_executions")


@pytest.mark.db
def test_only_the_chosen_case_works_on_the_server_and_every_count_stays_the_workloads(state, server, monkeypatch,
                                                                                      tmp_path):
    cases = {case.variant.label: case for case in all_cases()
             if case.workload.name == "dashboard" and case.param == "page_size=10"}
    plain = {}
    for label in ("baseline", "loading=selectin"):
        prepared = measure.prepare(state, cases[label], server.url, warm=False)
        prepared.close()
        plain[label] = {name: prepared.counts[name] for name in COUNTS}
    monkeypatch.setenv("SESSIONBENCH_TEST_SLOWDOWN", "dashboard[loading=selectin]=0.25")
    log = tmp_path / "rounds.jsonl"
    monkeypatch.setenv("SESSIONBENCH_TEST_SLOWDOWN_LOG", str(log))
    with state.setup_engine.connect() as conn:
        for label, burned in (("baseline", False), ("loading=selectin", True)):
            before = burns(conn)
            prepared = measure.prepare(state, cases[label], server.url, warm=False)
            try:
                calibrated = burns(conn)
                for _ in range(3):
                    prepared.one_round()
            finally:
                prepared.close()
            assert {name: prepared.counts[name] for name in COUNTS} == plain[label]
            # The slowed case calibrated in its counting round (outside the counts) and then sent
            # work of its own each round; the other case sent nothing.
            assert (calibrated > before, burns(conn) > calibrated) == (burned, burned)
    # One line per slowed timed round (not the counting round), none for the case left alone.
    lines = [json.loads(line) for line in log.read_text().splitlines()]
    assert [line["case"] for line in lines] == [cases["loading=selectin"].id] * 3
    assert set(lines[0]) == {"case", "fraction", "elapsed_s", "aimed_s", "injected_s", "server_aimed_s", "server_s",
                             "tail_s"}


def test_the_log_holds_timed_rounds_only_written_through_one_open_file(monkeypatch, tmp_path):
    # A file opened and closed in every round weighed on the round the line describes; the warm-up's
    # rounds are not timed rounds, and the size measurement reads the log beside the timed ones.
    log = tmp_path / "rounds.jsonl"
    monkeypatch.setenv("SESSIONBENCH_TEST_SLOWDOWN_LOG", str(log))
    opened = []
    real_open = open
    monkeypatch.setattr("builtins.open", lambda *a, **k: opened.append(a[0]) or real_open(*a, **k))
    work = injected.Work(0.25, False, label="dashboard[page_size=10]-baseline")
    for timed in (False, True, True, True):
        work.timed = timed
        work._last = {"elapsed_s": 0.004, "aimed_s": 0.00125, "injected_s": 0.00125}
        work.record_tail(0.001)
    work.close_log()
    lines = [json.loads(line) for line in log.read_text().splitlines()]
    assert len(lines) == 3 and opened == [str(log)]
    assert lines[0] == {"case": "dashboard[page_size=10]-baseline", "fraction": 0.25, "elapsed_s": 0.004,
                        "aimed_s": 0.00125, "injected_s": 0.00125, "tail_s": 0.001}


def test_the_work_is_a_quarter_of_the_rounds_own_part_on_a_fake_clock(monkeypatch):
    # What the log showed of real runs (work 1.000 times a quarter of the own part), as a fact of the
    # code: a fake clock, the server part left out (its own test is against a server).
    clock = {"now": 0.0}
    monkeypatch.setattr(injected, "time", type("Clock", (), {"perf_counter": staticmethod(lambda: clock["now"])}))
    monkeypatch.setattr(injected.Work, "_server", lambda self, db, seconds: clock.update(now=clock["now"] + seconds))
    monkeypatch.setattr(injected, "spin_until", lambda deadline: clock.update(now=max(clock["now"], deadline)))
    work = injected.Work(0.25, False)
    work.record_tail(0.001)  # rollback and close of an earlier round
    took = work.apply(None, 0.004)
    assert took == pytest.approx(0.25 * (0.004 + 0.001))
    assert work.injected_total_s == pytest.approx(took)
