"""Where timed rounds run (bench.measure.placement): the client thread and its measured backend on one CPU,
everything else left where it was. Facts read from the kernel (affinity masks), never timings."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from sqlalchemy import create_engine

from bench import measure
from bench.measure import placement
from bench.plan.cases import all_cases
from tests.runs import tiny_dashboard_run

ALLOWED = os.sched_getaffinity(0)
several_cpus = pytest.mark.skipif(len(ALLOWED) < 2, reason="one CPU: nothing to choose, nothing is moved")


def allowed_of(pid: int) -> set[int]:
    return set(os.sched_getaffinity(pid))


@pytest.fixture
def same():
    placement.configure("same")
    yield max(ALLOWED)
    placement.configure("free")  # as every other test expects it


@several_cpus
def test_a_group_runs_on_one_cpu_and_gives_the_others_back_also_on_error(same):
    with placement.group():
        assert allowed_of(0) == {same}
    assert allowed_of(0) == ALLOWED
    with pytest.raises(RuntimeError), placement.group():
        raise RuntimeError("a case failed")
    assert allowed_of(0) == ALLOWED
    assert placement.describe() == {"asked": "same", "cpu": same, "server_pinned": False}  # no backend moved yet


def test_free_leaves_placement_to_the_scheduler():
    placement.configure("free")
    with placement.group():
        assert allowed_of(0) == ALLOWED
    placement.pin_backend(os.getpid())  # a pid is ignored: nothing is moved when free
    assert allowed_of(0) == ALLOWED
    assert placement.describe() == {"asked": "free", "cpu": None, "server_pinned": False}


@several_cpus
def test_a_server_that_is_not_ours_is_never_moved(same):
    placement.pin_backend(None)  # what bench.measure.cpu.server_process gives for a container's or a URL's backend
    assert placement.describe()["server_pinned"] is False


@pytest.mark.db
@several_cpus
def test_the_measured_backend_joins_the_client_and_the_servers_other_backends_do_not(same, small_state, server):
    case = next(c for c in all_cases() if c.workload.name == "active_sync" and c.variant.label == "baseline")
    with placement.group():
        prepared = measure.prepare(small_state, case, server.url, warm=False)
        try:
            assert prepared.backend_pid is not None
            assert allowed_of(prepared.backend_pid) == {same} == allowed_of(0)
            other = create_engine(server.url)
            with other.connect() as conn:  # the set-up's, a load client's: any other backend
                pid = conn.exec_driver_sql("select pg_backend_pid()").scalar_one()
                assert allowed_of(pid) == ALLOWED
            other.dispose()
        finally:
            prepared.close()
    assert placement.describe() == {"asked": "same", "cpu": same, "server_pinned": True}
    postmaster = int((Path(server.where) / "data" / "postmaster.pid").read_text().split()[0])
    assert allowed_of(postmaster) == ALLOWED  # the server itself keeps the whole machine


@pytest.mark.db
def test_the_results_file_says_where_the_rounds_ran(tmp_path_factory):
    held = json.loads(Path(tiny_dashboard_run(tmp_path_factory)).read_text())["sessionbench"]["placement"]
    if len(ALLOWED) < 2:
        assert held == {"asked": "same", "cpu": None, "server_pinned": False}
    else:
        assert held == {"asked": "same", "cpu": max(ALLOWED), "server_pinned": True}
