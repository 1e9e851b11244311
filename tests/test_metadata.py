"""The pytest-benchmark part of a real results file says what the run did, not the fixture's defaults."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench.results.metadata import measured_options
from bench.plan.settings import resolve
from tests.runs import TINY_RUN, tiny_dashboard_run


@pytest.fixture(scope="module")
def run_doc(tmp_path_factory) -> dict:
    return json.loads(Path(tiny_dashboard_run(tmp_path_factory)).read_text())


@pytest.mark.db
def test_options_record_the_runs_rounds_time_trials_and_warm_up(run_doc):
    assert TINY_RUN[TINY_RUN.index("--max-time") + 1] == "0.05" and TINY_RUN[TINY_RUN.index("--min-rounds") + 1] == "2"
    assert run_doc["benchmarks"]
    for bench in run_doc["benchmarks"]:
        options, info = bench["options"], bench["extra_info"]
        # pytest-benchmark's defaults would be min_rounds 5, max_time 1.0, warmup False
        assert (options["min_rounds"], options["max_time"], options["trials"]) == (2, 0.05, 12), options
        assert options["timer"] == "perf_counter" and options["disable_gc"] is False
        assert options["case_budget"] == run_doc["sessionbench"]["settings"]["case_budget"] == 20.0
        # warm-up rounds ran until the steady state: the count is the case's own (False when a round
        # long enough warmed itself, as pytest-benchmark records no warm-up)
        assert options["warmup"] == (info["warmup_rounds"] or False)
        assert bench["stats"]["rounds"] >= options["min_rounds"]
    assert any(bench["options"]["warmup"] for bench in run_doc["benchmarks"])


def test_the_relay_pass_and_load_cases_have_their_own_budgets():
    chosen = resolve({"max_time": "0.3", "min_rounds": "4", "trials": "8", "load_seconds": "6"})
    plain = measured_options({"workload": "dashboard", "rtt_ms": 0.0, "warmup_rounds": 7}, chosen)
    assert (plain["max_time"], plain["min_rounds"], plain["trials"], plain["warmup"]) == (0.3, 4, 8, 7)
    relayed = measured_options({"workload": "dashboard", "rtt_ms": 2.0, "warmup_rounds": 0}, chosen)
    assert (relayed["max_time"], relayed["trials"], relayed["warmup"]) == (0.1, 3, False)  # bench.plan.cases.RTT_PASS
    loaded = measured_options({"workload": "dashboard", "clients": 4}, chosen)
    assert (loaded["max_time"], loaded["warmup_s"], loaded["min_rounds"]) == (6.0, 2.0, None)
