"""A server that misbehaves stops the run with one line: lost, timing out, read-only, out of reach.

Every test runs the real command against a real embedded PostgreSQL, and breaks it for real.
"""

from __future__ import annotations

import errno
import os
import resource
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError

from bench.backends import embedded_server
from bench.faults import reachable
from bench.measure.context import RunState
from bench.data.spec import DataSpec
from tests.test_hardening_support import FAST, WatchedRun, postmaster_of, progress_lines

ONE_WORKLOAD = ["--only", "workload=dashboard"]


def one_clear_line(done_stderr: str) -> str:
    """The `sessionbench: error:` line, after checking it is the only one and no traceback came."""
    assert "Traceback" not in done_stderr
    errors = [line for line in done_stderr.splitlines() if line.startswith("sessionbench: error:")]
    assert len(errors) == 1, done_stderr
    return errors[0]


@pytest.mark.db
def test_drop_run_schemas_drops_only_the_runs_own(engine, server):
    state = RunState(server, "20260101T000000-abc123", DataSpec(sessions=50, seed=1))
    own = ["sb_abc123_source", "sb_abc123_lazy"]
    foreign = ["sbXabc123_source", "sbXabc123Ysource", "sb_abc1234_source", "sb_abc12_source"]
    with engine.begin() as conn:
        for name in own + foreign:
            conn.execute(text(f'create schema "{name}"'))
    try:
        assert sorted(state.drop_run_schemas()) == sorted(own)
        with engine.connect() as conn:
            left = set(conn.execute(text("select nspname from pg_namespace")).scalars())
        assert set(foreign) <= left and not set(own) & left
    finally:
        state.close()
        with engine.begin() as conn:
            for name in foreign:
                conn.execute(text(f'drop schema if exists "{name}"'))


@pytest.mark.db
def test_embedded_server_killed_mid_run_stops_the_run_in_one_line(open_tmp_path):
    run = WatchedRun(open_tmp_path, "run", "--backend", "embedded", *FAST, *ONE_WORKLOAD,
                     "--out", str(open_tmp_path / "out"), env={"TMPDIR": str(open_tmp_path)})
    run.wait_for("] ")  # the first case finished: the server is serving benchmarks
    postmaster_of(str(open_tmp_path)).send_signal(signal.SIGKILL)
    assert run.finish() == 2
    line = one_clear_line(run.stderr)
    assert "the PostgreSQL server went away during" in line
    # It stopped at the case that met the dead server: one failed case, none ran after it.
    lines = progress_lines(run.stderr)
    assert "FAILED" in lines[-1] and sum("FAILED" in p for p in lines) == 1
    assert len(lines) < 15


@pytest.mark.db
def test_url_server_gone_mid_run_names_its_schemas_and_the_next_run_drops_them(tmp_path):
    cache = {"XDG_CACHE_HOME": str(tmp_path / "cache")}
    with embedded_server() as server:
        url = server.url.set(drivername="postgresql").render_as_string(hide_password=False)
        postmaster = postmaster_of(server.where)
        argv, user = postmaster.cmdline(), postmaster.username()
        run = WatchedRun(tmp_path, "run", "--backend", "url", "--database-url", url, *FAST, *ONE_WORKLOAD,
                         "--out", str(tmp_path / "out"), env=cache)
        run.wait_for("] ")
        postmaster.send_signal(signal.SIGINT)  # a fast shutdown: every session is ended
        assert run.finish() == 2
        line = one_clear_line(run.stderr)
        assert "went away" in line and "its schemas were NOT dropped: sb_" in line
        postmaster.wait(60)
        # The same server back on the same data: the next run drops what the cut-off one left.
        restarted = subprocess.Popen(argv, user=user, start_new_session=True, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        try:
            while not reachable(server.url):
                assert restarted.poll() is None
                time.sleep(0.1)
            again = sessionbench("run", "--backend", "url", "--database-url", url, *FAST, *ONE_WORKLOAD,
                                 "--only", "loading=lazy", "--out", str(tmp_path / "out"), env={**os.environ, **cache})
            assert again.returncode == 0, again.stderr
            assert "schemas an earlier run could not drop on this server: sb_" in again.stderr
            engine = create_engine(server.url)
            with engine.connect() as conn:
                assert conn.execute(text("select count(*) from pg_namespace where nspname ~ '^sb_[0-9a-f]{6}_'")).scalar_one() == 0
            engine.dispose()
        finally:
            restarted.send_signal(signal.SIGINT)
            restarted.wait(60)


@pytest.fixture
def role(engine):
    """A login role that may create schemas; the test sets what makes it misbehave."""
    name = f"sb_role_{secrets.token_hex(3)}"
    with engine.begin() as conn:
        conn.execute(text(f"create role {name} login"))
        conn.execute(text(f"grant create on database postgres to {name}"))
    yield name
    with engine.begin() as conn:
        conn.execute(text(f"revoke create on database postgres from {name}"))
        conn.execute(text(f"drop role {name}"))


def url_for(server, role_name: str) -> str:
    return f"postgresql://{role_name}@/postgres?host={server.url.query['host']}&port=5432"


def sessionbench(*args: str, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "bench.cli", *args], capture_output=True, text=True, timeout=300,
                          **kwargs)


def url_run_as(server, engine, role: str, setting: str, out) -> subprocess.CompletedProcess:
    """`sessionbench run` through the url backend as `role`, with `setting` set for that role."""
    with engine.begin() as conn:
        conn.execute(text(f"alter role {role} set {setting}"))
    return sessionbench("run", "--backend", "url", "--database-url", url_for(server, role), *FAST, *ONE_WORKLOAD,
                        "--out", str(out))


def assert_no_run_schemas(engine) -> None:
    with engine.connect() as conn:
        assert conn.execute(text("select count(*) from pg_namespace where nspname ~ '^sb_[0-9a-f]{6}_'")).scalar_one() == 0


@pytest.mark.db
def test_statement_timeout_at_the_start_is_one_line_naming_it(server, engine, role, tmp_path):
    done = url_run_as(server, engine, role, "statement_timeout = '1ms'", tmp_path)
    assert done.returncode == 2
    line = one_clear_line(done.stderr)
    assert "statement_timeout" in line and "cannot connect" not in line
    assert "statement_timeout = 0" in done.stderr  # what to try
    assert_no_run_schemas(engine)


def _lock_all(conn, tables: list[str]) -> None:
    """Take every table at once without deadlocking the run: a run that holds one of them while it
    waits for another would make PostgreSQL cancel one side after deadlock_timeout (1 s). Giving up
    after 0.5 s and trying again lets the run finish its statement first."""
    deadline = time.monotonic() + 60
    while True:
        try:
            conn.execute(text("set local lock_timeout = '500ms'"))
            conn.execute(text(f"lock table {', '.join(tables)} in access exclusive mode"))
            return
        except OperationalError:
            conn.rollback()
            assert time.monotonic() < deadline, "could not lock the run's tables within 60 s"


@pytest.mark.db
def test_statement_timeout_mid_run_stops_the_run_in_one_line(server, engine, role, tmp_path):
    with engine.begin() as conn:
        conn.execute(text(f"alter role {role} set statement_timeout = '3s'"))
    run = WatchedRun(tmp_path, "run", "--backend", "url", "--database-url", url_for(server, role), *FAST,
                     *ONE_WORKLOAD, "--out", str(tmp_path / "out"))
    try:
        run.wait_for("] ")
        # Every table of the run locked: the next case's query waits until statement_timeout cancels it.
        with engine.connect() as conn:
            tables = conn.execute(text("select format('%I.%I', schemaname, tablename) from pg_tables "
                                       "where schemaname ~ '^sb_[0-9a-f]{6}_'")).scalars().all()
            _lock_all(conn, tables)
            run.wait_for("FAILED")
            conn.rollback()
        assert run.finish() == 2
    finally:
        if run.proc.poll() is None:  # a failed assertion must not leave the run going into the next test
            run.proc.kill()
            run.proc.wait()
    assert "statement_timeout" in one_clear_line(run.stderr)
    assert sum("FAILED" in p for p in progress_lines(run.stderr)) == 1
    assert_no_run_schemas(engine)


@pytest.mark.db
def test_read_only_role_is_one_line_naming_it(server, engine, role, tmp_path):
    done = url_run_as(server, engine, role, "default_transaction_read_only = on", tmp_path)
    assert done.returncode == 2
    assert "read-only" in one_clear_line(done.stderr)


@pytest.mark.db
def test_tmpdir_too_deep_for_a_unix_socket_still_runs_and_leaves_nothing(open_tmp_path):
    deep = open_tmp_path / ("d" * 100)  # TMPDIR/sessionbench-pg-*/socket/.s.PGSQL.5432 is past the OS limit
    deep.mkdir()
    run = WatchedRun(open_tmp_path, "run", "--backend", "embedded", *FAST, *ONE_WORKLOAD, "--only", "loading=lazy",
                     "--out", str(open_tmp_path / "out"), env={"TMPDIR": str(deep)})
    assert run.finish() == 0, run.stderr
    assert not list(deep.iterdir())
    owners = [p.read_text().strip() for p in Path("/tmp").glob("sessionbench-pg-*/owner.pid")]
    assert str(run.proc.pid) not in owners  # its socket folder in /tmp went too


@pytest.mark.db
def test_tmpdir_with_a_space_runs(open_tmp_path):
    spaced = open_tmp_path / "with space"
    spaced.mkdir()
    done = sessionbench("run", "--backend", "embedded", *FAST, *ONE_WORKLOAD, "--only", "loading=lazy",
                        "--out", str(open_tmp_path / "out"), env={**os.environ, "TMPDIR": str(spaced)})
    assert done.returncode == 0, done.stderr
    assert len(list((open_tmp_path / "out").glob("*.json"))) == 1


@pytest.mark.db
def test_too_few_file_descriptors_is_one_line_naming_the_limit(tmp_path):
    def few_files():
        resource.setrlimit(resource.RLIMIT_NOFILE, (32, 32))

    done = sessionbench("run", "--backend", "embedded", *FAST, *ONE_WORKLOAD, "--out", str(tmp_path / "out"),
                        preexec_fn=few_files)
    assert done.returncode == 2
    assert "file descriptors" in one_clear_line(done.stderr)
    assert "ulimit -n" in done.stderr


def test_docker_without_an_engine_says_what_to_do_in_its_first_line(tmp_path):
    done = sessionbench("run", "--backend", "docker", *FAST, *ONE_WORKLOAD, "--out", str(tmp_path),
                        env={**os.environ, "DOCKER_HOST": "unix:///nonexistent/docker.sock"})
    assert done.returncode == 2
    first = done.stderr.splitlines()[0]
    assert first.startswith("sessionbench: error: --backend docker: no Docker engine answers")
    assert "--backend embedded" in first
    for raw in ("Connection aborted", "FileNotFoundError", "Error while fetching", "http+docker"):
        assert raw not in done.stderr


def test_docker_api_errors_are_told_in_words():
    import docker.errors

    from bench.backends.docker import _docker_cause

    assert _docker_cause(docker.errors.NotFound("404 Client Error: pull access denied")) == "not found in its registry"
    refused = docker.errors.APIError("500 Server Error", explanation="Get https://registry-1.docker.io/v2/: dial tcp")
    assert _docker_cause(refused) == "no registry answers"


@pytest.mark.db
def test_a_probe_of_a_live_server_does_not_call_it_gone(server):
    assert reachable(server.url)
    assert not reachable(server.url.set(query={"host": "/nonexistent", "port": "5432"}))


@pytest.fixture
def small_disk(open_tmp_path):
    """A 120 MB tmpfs: room for the run's plan, until the test takes the rest of it."""
    mount = open_tmp_path / "small-disk"
    mount.mkdir()
    if os.geteuid() != 0 or subprocess.run(["mount", "-t", "tmpfs", "-o", "size=120m,mode=755", "tmpfs", str(mount)],
                                           capture_output=True).returncode != 0:
        pytest.skip("mounting a small tmpfs needs root and the mount capability")
    yield mount
    subprocess.run(["umount", "-l", str(mount)], check=False)


@pytest.mark.db
def test_a_full_disk_stops_the_run_in_one_line_and_leaves_nothing(small_disk, open_tmp_path):
    from tests.test_hardening_space import fill

    with WatchedRun(open_tmp_path, "run", "--backend", "embedded", *FAST, "--sessions", "5000",
                    "--only", "workload=dashboard,active_sync,purge_user",
                    "--out", str(open_tmp_path / "out"), env={"TMPDIR": str(small_disk)}) as run:
        run.wait_for("] ")  # past the check of free space: the disk fills while the run measures
        try:
            fill(small_disk)
        except OSError as exc:  # the run's own writes filled the disk first (at the filler's open or
            assert exc.errno == errno.ENOSPC, exc  # its last flush): the same fault, sooner
        assert run.finish(600) == 2, run.stderr
    line = one_clear_line(run.stderr)
    assert "the disk is full" in line, line
    assert "try: free space" in run.stderr
    # the server was stopped and its folder removed: nothing is left but the test's own filler, if any
    assert [path.name for path in small_disk.iterdir()] in ([], ["filler"])


@pytest.mark.db
def test_a_disk_too_small_for_the_plan_is_refused_before_the_server_starts(small_disk, open_tmp_path):
    done = sessionbench("run", "--backend", "embedded", *FAST, "--sessions", "50000", *ONE_WORKLOAD,
                        "--out", str(open_tmp_path / "out"), env={**os.environ, "TMPDIR": str(small_disk)})
    assert done.returncode == 2, done.stderr
    line = one_clear_line(done.stderr)
    assert line.startswith(f"sessionbench: error: not enough free space for the embedded server's data in "
                           f"{small_disk}: the run needs about "), line
    assert not list(small_disk.iterdir())


def modes_up_to_root(path: Path) -> dict[Path, int]:
    return {folder: folder.stat().st_mode for folder in [path, *path.parents]}


root_only = pytest.mark.skipif(os.geteuid() != 0, reason="only a run as root hands the server to another user")


@pytest.mark.db
@root_only
def test_as_root_a_tmpdir_the_server_user_cannot_reach_is_one_line_and_opens_nothing(open_tmp_path):
    closed = open_tmp_path / "closed"
    closed.mkdir(mode=0o700)
    inner = closed / "inner"
    inner.mkdir(mode=0o755)
    before = modes_up_to_root(inner)
    done = sessionbench("run", "--backend", "embedded", *FAST, *ONE_WORKLOAD, "--out", str(open_tmp_path / "out"),
                        env={**os.environ, "TMPDIR": str(inner)})
    assert done.returncode == 2, done.stderr
    line = one_clear_line(done.stderr)
    assert f"cannot reach the server's folder (TMPDIR): {closed} is closed (mode 0700)" in line, line
    assert "try: set TMPDIR to a folder every user can pass through" in done.stderr
    assert modes_up_to_root(inner) == before  # nothing above the run's own folder was opened
    assert list(inner.iterdir()) == []


@pytest.mark.db
@root_only
def test_as_root_the_server_runs_under_a_folder_others_may_pass_but_not_list_and_leaves_its_mode(
        open_tmp_path, monkeypatch):
    passable = open_tmp_path / "pass"
    passable.mkdir()
    passable.chmod(0o711)  # others may pass through, not list
    before = modes_up_to_root(passable)
    monkeypatch.setattr("tempfile.tempdir", str(passable))
    with embedded_server() as server:
        engine = create_engine(server.url)
        try:
            with engine.connect() as conn:
                assert conn.execute(text("select 1")).scalar_one() == 1
        finally:
            engine.dispose()
        assert Path(server.where).parent == passable
    assert modes_up_to_root(passable) == before
    assert list(passable.iterdir()) == []


@pytest.mark.db
@root_only
def test_the_folder_a_user_cannot_pass_is_the_one_nearest_the_root(open_tmp_path, server):
    import pwd

    from bench.backends.embedded import closed_folder

    user = pwd.getpwnam("embedded_postgres")  # the session's server, run as root, runs as this user
    outer, middle, inner = open_tmp_path / "a", open_tmp_path / "a" / "b", open_tmp_path / "a" / "b" / "c"
    inner.mkdir(parents=True)
    outer.chmod(0o700)
    middle.chmod(0o700)
    assert closed_folder(inner, user) == outer
    outer.chmod(0o711)
    assert closed_folder(inner, user) == middle
    os.chown(middle, user.pw_uid, user.pw_gid)  # its owner may pass a folder closed to others
    assert closed_folder(inner, user) is None
