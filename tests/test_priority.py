"""The run's scheduling priority: raised for the run and what it starts, given back after, recorded."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bench import priority
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
        assert held == {"asked": "high", "nice": priority.HIGH_NICE, "raised": True}
    else:
        assert held["raised"] is False


def test_a_busy_run_that_could_not_raise_its_priority_says_so_and_a_strange_file_does_not_break_it(capsys):
    from bench.summary import print_summary

    load = {"noisy": True, "other_cpu_share": 0.9, "steal_share": 0.0}
    doc = {"benchmarks": [], "sessionbench": {"load": load, "priority": {"asked": "high", "nice": 0, "raised": False}}}
    print_summary(doc)
    assert "priority could not be raised" in capsys.readouterr().out
    for held in ({"asked": "high", "nice": -10, "raised": True}, "raised: false", None):
        doc["sessionbench"]["priority"] = held
        print_summary(doc)
        assert "priority could not be raised" not in capsys.readouterr().out
