"""Ctrl-C while the source data loads: one line, exit 130, and no server of the run left.

The load streams each table with COPY; a signal that lands while a COPY is starting leaves its
connection inside the command, where any later statement fails. Each try interrupts a real
`sessionbench trace` or `sessionbench run` at another moment of its load.
"""

from __future__ import annotations

import signal
import time

import pytest

from tests.test_hardening_support import WatchedRun, postgres_under

INTERRUPTED = "sessionbench: interrupted; no server, container or schema of this run is left"
# Large enough that the load lasts several seconds after the server is up, so every try lands in it.
SESSIONS = ["--sessions", "50000"]
COMMANDS = {
    "trace": ["trace", "dashboard", *SESSIONS],
    "run": ["run", *SESSIONS, "--only", "workload=dashboard", "--max-time", "0.05", "--min-rounds", "1"],
}
# Seconds after the run's server process appears: staggered over the load (its tables start at
# different moments, and the signal has to meet one of them starting to reproduce the fault).
DELAYS = [0.5, 1.2, 1.9, 2.6]


def interrupt_during_load(tmp_path, command: str, delay: float, attempt: int) -> WatchedRun:
    args = [*COMMANDS[command], "--backend", "embedded"]
    if command == "run":
        args += ["--out", str(tmp_path / "out")]
    run = WatchedRun(tmp_path, *args, env={"TMPDIR": str(tmp_path)}, name=f"{command}-{attempt}")
    deadline = time.monotonic() + 120
    while not postgres_under(str(tmp_path)):
        assert run.proc.poll() is None, f"{command} ended before its server started:\n{run.stderr}"
        assert time.monotonic() < deadline, f"no server within 120 s:\n{run.stderr}"
        time.sleep(0.02)
    time.sleep(delay)
    assert run.proc.poll() is None, f"{command} ended before the signal (delay {delay} s):\n{run.stderr}"
    run.proc.send_signal(signal.SIGINT)
    return run


@pytest.mark.db
@pytest.mark.slow
@pytest.mark.parametrize("command", ["trace", "run"])
def test_ctrl_c_during_the_data_load_ends_in_one_line_and_leaves_no_server(open_tmp_path, command):
    for attempt, delay in enumerate(DELAYS):
        run = interrupt_during_load(open_tmp_path, command, delay, attempt)
        code = run.finish()
        stderr = run.stderr
        context = f"{command}, signal {delay} s after the server appeared:\n{stderr[-3000:]}"
        assert "Traceback" not in stderr, context
        assert code == 130, context
        assert stderr.strip().splitlines()[-1] == INTERRUPTED, context
        assert postgres_under(str(open_tmp_path)) == [], context
        assert list(open_tmp_path.glob("sessionbench-pg-*")) == [], context
