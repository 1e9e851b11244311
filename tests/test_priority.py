"""The run's scheduling priority: raised for the run and what it starts, given back after, recorded."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bench.measure import priority
from tests.runs import tiny_dashboard_run

CHILD_NICE = [sys.executable, "-c", "import os; print(os.getpriority(os.PRIO_PROCESS, 0))"]


def _may_raise() -> bool:
    """Whether this process may lower its nice value (root or CAP_SYS_NICE), asked of the kernel itself."""
    probe = subprocess.run([sys.executable, "-c", "import os; os.setpriority(os.PRIO_PROCESS, 0, "
                            f"{priority.HIGH_NICE})"], capture_output=True)
    return probe.returncode == 0


def test_high_priority_reaches_the_processes_the_run_starts_and_is_given_back():
    before = priority.current()
    with priority.for_run("high"):
        child = int(subprocess.run(CHILD_NICE, capture_output=True, text=True, check=True).stdout)
    assert priority.current() == before
    if _may_raise():
        assert child == min(before, priority.HIGH_NICE)  # an embedded server starts the same way
    else:
        assert child == before  # not permitted: the run goes on as it was


def test_normal_priority_leaves_the_run_as_it_was():
    before = priority.current()
    with priority.for_run("normal"):
        child = int(subprocess.run(CHILD_NICE, capture_output=True, text=True, check=True).stdout)
    assert child == before == priority.current()


@pytest.mark.db
def test_the_results_file_says_what_priority_the_run_had(tmp_path_factory):
    doc = json.loads(Path(tiny_dashboard_run(tmp_path_factory)).read_text())
    held = doc["sessionbench"]["priority"]
    assert held["asked"] == "high"
    if _may_raise() and os.getpriority(os.PRIO_PROCESS, 0) >= priority.HIGH_NICE:
        assert {k: held[k] for k in ("asked", "nice", "raised")} == {"asked": "high", "nice": priority.HIGH_NICE,
                                                                    "raised": True}
    else:
        assert held["raised"] is False


def test_a_busy_run_that_could_not_raise_its_priority_says_so_and_a_strange_file_does_not_break_it(capsys):
    from bench.commands.summary import print_summary

    load = {"noisy": True, "other_cpu_share": 0.9, "steal_share": 0.0}
    doc = {"benchmarks": [], "sessionbench": {"load": load, "priority": {"asked": "high", "nice": 0, "raised": False}}}
    print_summary(doc)
    assert "priority could not be raised" in capsys.readouterr().out
    for held in ({"asked": "high", "nice": -10, "raised": True}, "raised: false", None):
        doc["sessionbench"]["priority"] = held
        print_summary(doc)
        assert "priority could not be raised" not in capsys.readouterr().out


def _groups_raisable() -> bool:
    return priority.autogroups() and _may_raise()


@pytest.mark.skipif(not _groups_raisable(), reason="the kernel does not group tasks by session here, or may not raise")
def test_a_backend_in_a_session_of_its_own_is_raised_in_its_group_and_nothing_else_is():
    """PostgreSQL puts each backend in a session of its own, where nice alone does not reach
    (bench.measure.priority): its group is raised; the caller's session group is left as it was."""
    own_group = priority.group_nice()
    with priority.for_run("high"):
        child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"], start_new_session=True)
        try:
            assert priority.group_nice(child.pid) == 0
            priority.raise_backend(child.pid)
            assert priority.group_nice(child.pid) == priority.HIGH_NICE
            assert priority.describe("high")["backend_groups_raised"] is True
        finally:
            child.kill()
            child.wait()
        assert priority.group_nice() == own_group
    with priority.for_run("normal"):
        child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"], start_new_session=True)
        try:
            priority.raise_backend(child.pid)
            assert priority.group_nice(child.pid) == 0
        finally:
            child.kill()
            child.wait()


@pytest.mark.db
@pytest.mark.skipif(not _groups_raisable(), reason="the kernel does not group tasks by session here, or may not raise")
def test_a_run_raises_its_measured_backends_groups_and_says_so(tmp_path_factory):
    held = json.loads(Path(tiny_dashboard_run(tmp_path_factory)).read_text())["sessionbench"]["priority"]
    assert held["backend_groups_raised"] is True
