"""No password in any output, log or results file: not plain, not encoded, not on a failure."""

from __future__ import annotations

import io
import json
import secrets
import signal
import stat
from pathlib import Path
from urllib.parse import quote, quote_plus

import pytest
from sqlalchemy import create_engine, text

from bench import redact
from bench.backends import embedded_server
from tests.test_hardening_support import FAST, WatchedRun, postmaster_of

# Characters that URLs, conninfo strings, repr and JSON all spell differently.
PASSWORD = f"Sb p@ss/w%rd:'q\"{secrets.token_hex(4)}"


def encodings(password: str) -> set[str]:
    conninfo = password.replace("\\", "\\\\").replace("'", "\\'")
    forms = {password, quote(password, safe=""), quote(password), quote_plus(password), conninfo,
             repr(password)[1:-1], repr(conninfo)[1:-1], json.dumps(password)[1:-1]}
    return forms | {form.lower() for form in forms if "%" in form}


def test_every_spelling_of_a_registered_password_is_masked():
    redact.register(PASSWORD)
    for form in encodings(PASSWORD):
        assert redact.redact(f"before {form} after") == f"before {redact.MASK} after", form


def test_a_short_password_is_masked_where_it_is_written_and_nowhere_else():
    redact.register("pw")
    assert redact.redact("postgresql://u:pw@h/db, password=pw dbname=db, {'password': 'pw'}, pwd") == \
        f"postgresql://u:{redact.MASK}@h/db, password={redact.MASK} dbname=db, {{'password': '{redact.MASK}'}}, pwd"


def test_a_password_split_across_writes_is_still_masked():
    redact.register(PASSWORD)
    target = io.StringIO()
    stream = redact.RedactingStream(target)
    stream.write(f"url=postgresql://u:{quote(PASSWORD, safe='')[:5]}")
    stream.write(f"{quote(PASSWORD, safe='')[5:]}@host\npartial ")
    stream.flush()
    assert target.getvalue() == f"url=postgresql://u:{redact.MASK}@host\npartial "


@pytest.fixture
def password_server():
    """A server of the test's own, with a role that has a password, to stop while a run uses it."""
    with embedded_server() as server:
        engine = create_engine(server.url)
        with engine.begin() as conn:
            literal = PASSWORD.replace("'", "''")
            conn.execute(text(f"create role sb_owner login password '{literal}'"))
            conn.execute(text("grant create on database postgres to sb_owner"))
        engine.dispose()
        url = (f"postgresql://sb_owner:{quote(PASSWORD, safe='')}@/postgres"
               f"?host={quote(server.url.query['host'], safe='')}&port=5432")
        yield server, url


def assert_nowhere(password: str, out: Path, *texts: str) -> None:
    files = [path for path in out.rglob("*") if path.is_file()]
    written = [(str(path), path.read_text(errors="replace")) for path in files]
    for where, content in [*written, *(("output", t) for t in texts)]:
        for form in encodings(password):
            assert form not in content, f"{form!r} in {where}"


@pytest.mark.db
def test_a_url_run_with_a_password_writes_it_nowhere_even_when_the_server_stops(password_server, tmp_path):
    server, url = password_server
    out = tmp_path / "out"
    ok = WatchedRun(tmp_path, "run", "--backend", "url", "--database-url", url, *FAST,
                    "--only", "workload=dashboard", "--only", "loading=lazy", "--out", str(out), name="ok")
    assert ok.finish() == 0, ok.stderr
    stopped = WatchedRun(tmp_path, "run", "--backend", "url", "--database-url", url, *FAST,
                         "--only", "workload=dashboard", "--out", str(out), name="stopped")
    stopped.wait_for("] ")
    postmaster_of(server.where).send_signal(signal.SIGINT)  # a fast shutdown, as an operator stops a server
    assert stopped.finish() == 2
    assert "went away" in stopped.stderr and "Traceback" not in stopped.stderr
    # The url backend cannot drop its schemas on a stopped server: it names them and how to drop them.
    assert "its schemas were NOT dropped: sb_" in stopped.stderr and "DROP SCHEMA sb_" in stopped.stderr
    logs = list(out.glob("*.log"))
    assert len(logs) == 2 and all(stat.S_IMODE(log.stat().st_mode) == 0o600 for log in logs)
    assert "OperationalError" in max(logs, key=lambda log: log.stat().st_size).read_text()  # tracebacks were kept
    assert_nowhere(PASSWORD, tmp_path, ok.stdout, ok.stderr, stopped.stdout, stopped.stderr)
