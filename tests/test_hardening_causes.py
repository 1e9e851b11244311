"""The terminal's last line names the cause the server or the operating system gave, with what to try:
an administrator ending the run's connection, the server's connection limit, no new thread, no memory.
Each fault is made for real (a real server terminating a backend or refusing a connection, a real
address-space limit) and told by bench.faults, which every stop of a run goes through."""

from __future__ import annotations

import secrets
import subprocess
import sys

import psycopg
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from bench.faults import fatal_fault, known_fault
from bench.errors import Fault
from tests.test_hardening_support import FAST, WatchedRun


@pytest.mark.db
def test_a_backend_an_administrator_terminated_is_named(database_url, engine):
    victim = create_engine(database_url)
    try:
        with victim.connect() as conn:
            conn.execute(text("select 1"))  # idle in a transaction, as in the trial
            pid = conn.execute(text("select pg_backend_pid()")).scalar_one()
            with engine.begin() as admin:
                admin.execute(text("select pg_terminate_backend(:pid)"), {"pid": pid})
            with pytest.raises(Exception) as raised:
                conn.execute(text("select 1"))
    finally:
        victim.dispose()
    fault = fatal_fault(raised.value, [make_url(database_url)], "dashboard[page_size=10]")
    assert isinstance(fault, Fault)
    assert fault.message.startswith("the server closed the run's connection during dashboard[page_size=10]: "
                                    "an administrator ended it (terminating connection due to administrator command")
    assert "pg_terminate_backend" in fault.hint


@pytest.fixture
def limited_role(engine):
    """A role the server lets hold one connection."""
    name, password = f"sb_limited_{secrets.token_hex(3)}", secrets.token_hex(8)
    with engine.begin() as conn:
        conn.execute(text(f"create role {name} login password '{password}' connection limit 1"))
        conn.execute(text(f"grant all on database {engine.url.database} to {name}"))
        conn.execute(text(f"grant create on schema public to {name}"))
    yield name, password
    with engine.begin() as conn:
        conn.execute(text("select pg_terminate_backend(pid) from pg_stat_activity where usename = :n"), {"n": name})
        conn.execute(text(f"drop owned by {name}"))
        conn.execute(text(f"drop role {name}"))


@pytest.mark.db
def test_a_connection_the_server_refuses_is_named(database_url, limited_role):
    name, password = limited_role
    url = make_url(database_url).set(username=name, password=password).set(drivername="postgresql")
    conninfo = url.render_as_string(hide_password=False)
    with psycopg.connect(conninfo), pytest.raises(psycopg.Error) as raised:
        psycopg.connect(conninfo)
    fault = known_fault(raised.value, "a load case")
    assert isinstance(fault, Fault)
    assert fault.message == \
        f'the server refused a connection during a load case: too many connections for role "{name}"'
    assert "--pool-size" in fault.hint


@pytest.mark.parametrize(("snippet", "words"), [
    ("import threading, time\nfor _ in range(100_000):\n    threading.Thread(target=time.sleep, args=(30,), "
     "daemon=True).start()",
     "the operating system refused a new thread during the run (can't start new thread)"),
    ("b = bytearray(1 << 31)", "this process ran out of memory during the run"),
])
def test_out_of_threads_or_memory_is_named(snippet, words):
    # A real address-space limit, in a process of its own: the exception Python raises there, told.
    code = ("import resource, sys\n"
            "import psycopg.errors\nfrom bench.faults import known_fault\n"
            "size = int(next(l for l in open('/proc/self/status') if l.startswith('VmSize')).split()[1]) * 1024\n"
            "resource.setrlimit(resource.RLIMIT_AS, (size + (256 << 20), size + (256 << 20)))\n"
            "try:\n" + "".join(f"    {line}\n" for line in snippet.splitlines()) +
            "except BaseException as exc:\n"
            "    fault = known_fault(exc, 'the run')\n"
            "    print(fault.message if fault else repr(exc))\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                          env={"MALLOC_ARENA_MAX": "1", "PATH": "/usr/bin:/bin"}, cwd=str(__import__("pathlib").Path(
                              __file__).resolve().parent.parent))
    assert done.stdout.strip() == words, done.stderr


@pytest.mark.db
def test_a_run_whose_load_the_server_refuses_ends_on_the_cause(database_url, limited_role, tmp_path):
    name, password = limited_role
    url = make_url(database_url).set(username=name, password=password).render_as_string(hide_password=False)
    run = WatchedRun(tmp_path, "run", "--backend", "url", "--database-url", url, *FAST,
                     "--only", "workload=dashboard", "--only", "variant=baseline", "--clients", "4",
                     "--load-seconds", "0.5", "--out", str(tmp_path / "out"))
    assert run.finish(600) == 2
    lines = run.stderr.splitlines()
    assert "too many connections for role" in lines[-2] and lines[-2].startswith("sessionbench: error: "), lines[-6:]
    assert lines[-1].startswith("  try: lower --clients, --pool-size or --load-workers")
    assert "Traceback" not in run.stderr and password not in run.stderr + run.stdout
