"""`pytest --codspeed` on the benchmarks: one line saying why CodSpeed does not apply, exit 2.

CodSpeed counts this process's instructions; the database time the benchmarks measure never reaches
it. With pytest-codspeed installed its plugin takes `--codspeed` (and CODSPEED_ENV, set by its CI
action); without it the benchmarks' conftest registers the flag, so the answer is the same line.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys

import pytest

from tests.runs import ROOT

HAS_PLUGIN = importlib.util.find_spec("pytest_codspeed") is not None


def _pytest(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pytest", "bench/benchmarks", "-q", *args], capture_output=True,
                          text=True, cwd=ROOT, env={**os.environ, **(env or {})}, check=False, timeout=120)


def _refused(done: subprocess.CompletedProcess) -> None:
    assert done.returncode == 2, done.stdout + done.stderr
    lines = done.stderr.splitlines()
    assert len(lines) == 1 and "CodSpeed does not apply" in lines[0] and "database time" in lines[0], done.stderr
    assert "Traceback" not in done.stdout + done.stderr and "AttributeError" not in done.stdout


def test_codspeed_flag_is_refused_in_one_line_without_the_plugin():
    # `-p no:codspeed` is a machine without pytest-codspeed, whether or not this one has it.
    _refused(_pytest("-p", "no:codspeed", "--codspeed"))


@pytest.mark.skipif(not HAS_PLUGIN, reason="pytest-codspeed is not installed (pip install pytest-codspeed)")
def test_codspeed_flag_and_its_ci_environment_are_refused_with_the_plugin():
    _refused(_pytest("--codspeed"))
    _refused(_pytest(env={"CODSPEED_ENV": "1"}))


def test_without_codspeed_the_benchmarks_still_collect():
    """The refusal is not a blanket one: the same command without the flag gets past configuration."""
    done = _pytest("-p", "no:codspeed", "--collect-only", "--sb-backend", "embedded", "--sb-only", "workload=dashboard")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "test_workload" in done.stdout
