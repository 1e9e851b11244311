"""Nothing left behind: not on a held-down Ctrl-C, not on SIGTERM, and after SIGKILL, not for long.

Each test interrupts a real `sessionbench run` and then looks for its PostgreSQL processes,
its data folder and its schemas.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import text

from tests.test_hardening_support import FAST, WatchedRun, guardian_of, postgres_under

SEVERAL_CASES = ["--only", "workload=dashboard"]


def hold_down(proc: subprocess.Popen, sig: int, times: int = 40) -> None:
    """What a held-down Ctrl-C does: the same signal, again and again, a few ms apart."""
    for _ in range(times):
        if proc.poll() is not None:
            return
        proc.send_signal(sig)
        time.sleep(0.005)


def assert_nothing_under(tmp_path: Path) -> None:
    assert postgres_under(str(tmp_path)) == []
    assert list(tmp_path.glob("sessionbench-pg-*")) == []


@pytest.mark.db
@pytest.mark.parametrize("sig, code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_repeated_signals_still_stop_the_embedded_server_and_say_so(open_tmp_path, sig, code):
    run = WatchedRun(open_tmp_path, "run", "--backend", "embedded", *FAST, *SEVERAL_CASES,
                     "--out", str(open_tmp_path / "out"), env={"TMPDIR": str(open_tmp_path)})
    run.wait_for("] ")
    hold_down(run.proc, sig)
    assert run.finish() == code
    assert "sessionbench: interrupted; no server, container or schema of this run is left" in run.stderr
    assert "Traceback" not in run.stderr
    assert_nothing_under(open_tmp_path)


@pytest.mark.db
def test_repeated_ctrl_c_leaves_no_schema_on_a_url_server(database_url, engine, tmp_path):
    run = WatchedRun(tmp_path, "run", "--backend", "url", "--database-url", database_url, *FAST, *SEVERAL_CASES,
                     "--out", str(tmp_path / "out"))
    run.wait_for("] ")
    hold_down(run.proc, signal.SIGINT)
    assert run.finish() == 130
    assert "no server, container or schema of this run is left" in run.stderr
    prefix = "sb_" + re.search(r"run \d{8}T\d{6}-([0-9a-f]+)", run.stdout).group(1) + "_"
    with engine.connect() as conn:
        assert conn.execute(text("select count(*) from pg_namespace where left(nspname, length(:p)) = :p"),
                            {"p": prefix}).scalar_one() == 0


def sessionbench(*args: str, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "bench.cli", *args], capture_output=True, text=True, timeout=300,
                          env={**os.environ, **env})


@pytest.mark.db
def test_what_a_killed_run_left_is_removed_by_the_next_doctor_and_a_live_one_is_not(open_tmp_path):
    temp = {"TMPDIR": str(open_tmp_path)}
    # A live owner: a process holding an embedded server of its own under the same TMPDIR.
    alive = subprocess.Popen([sys.executable, "-c", "import sys\nfrom bench.backends import embedded_server\n"
                              "with embedded_server() as s:\n    print(s.where, flush=True)\n    sys.stdin.read()"],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env={**os.environ, **temp})
    try:
        alive_root = alive.stdout.readline().strip()
        killed = WatchedRun(open_tmp_path, "run", "--backend", "embedded", *FAST, *SEVERAL_CASES,
                            "--out", str(open_tmp_path / "out"), env=temp)
        killed.wait_for("] ")
        guardian_of(killed.proc.pid).kill()  # as when the whole machine's processes are killed at once
        killed.proc.kill()  # SIGKILL: no cleanup runs; its server (own session) keeps running
        killed.finish()
        [left] = [p for p in open_tmp_path.glob("sessionbench-pg-*") if str(p) != alive_root]
        assert postgres_under(str(left))

        done = sessionbench("doctor", env=temp)
        assert f"a killed run (pid {killed.proc.pid}) left {left}" in done.stderr
        assert postgres_under(str(left)) == [] and not left.exists()
        assert postgres_under(alive_root) and Path(alive_root).exists()  # its owner lives: untouched
    finally:
        alive.communicate("", timeout=60)
    assert_nothing_under(open_tmp_path)


@pytest.mark.db
@pytest.mark.parametrize("how", ["SIGKILL", "abort"])
def test_a_run_killed_beyond_any_cleanup_leaves_no_server_for_long(open_tmp_path, how):
    """No cleanup of its own runs (SIGKILL, or the interpreter's fatal error: SIGABRT); its guardian
    stops the server and removes the folder as soon as the run is gone."""
    run = WatchedRun(open_tmp_path, "run", "--backend", "embedded", *FAST, *SEVERAL_CASES,
                     "--out", str(open_tmp_path / "out"), env={"TMPDIR": str(open_tmp_path)})
    run.wait_for("] ")
    assert postgres_under(str(open_tmp_path))
    guardian = guardian_of(run.proc.pid)
    run.proc.send_signal(signal.SIGKILL if how == "SIGKILL" else signal.SIGABRT)
    run.finish()
    guardian.wait(120)  # it ends once it has stopped the server and removed its folder
    assert_nothing_under(open_tmp_path)


def test_the_guardian_outlives_its_owner_without_a_warning_and_reaps_what_it_was_told(tmp_path):
    """The guardian is spawned on a bare pipe: a run's last line stays its own (a Popen object still
    running at exit, and its pipe's file object, made the interpreter print two ResourceWarnings after
    it), and once its owner is gone the guardian removes the folders it was told about."""
    folder = tmp_path / "sessionbench-pg-guarded"
    folder.mkdir()
    owner = subprocess.run(
        [sys.executable, "-W", "always::ResourceWarning", "-c",
         "import sys; from pathlib import Path; from bench.backends import leftovers; "
         "leftovers._guard(Path(sys.argv[1])); print(leftovers._guardian['pid'])", str(folder)],
        capture_output=True, text=True, timeout=60, cwd=Path(__file__).resolve().parents[1], check=False)
    assert owner.returncode == 0, owner.stderr
    assert "ResourceWarning" not in owner.stderr, owner.stderr
    guardian = int(owner.stdout.strip())
    deadline = time.monotonic() + 60
    while folder.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not folder.exists()  # its owner ended: the guardian reaped the folder
    while time.monotonic() < deadline:
        try:
            os.kill(guardian, 0)
        except ProcessLookupError:
            break
        time.sleep(0.1)
    else:
        pytest.fail(f"the guardian {guardian} still runs after its owner ended")
