"""What a run has started and not yet verifiably removed, and what killed runs left behind.

Each backend holds an entry from the moment it starts something (a server, a container,
schemas) until it has checked that the thing is gone; the CLI's last line after an interrupt
is built from what is still held, so it says "stopped" only when that is true.

Schemas a url run could not drop (its server went away) are remembered, without any password,
in the user's cache folder, and dropped by the next run that reaches that server.

A run killed with SIGKILL cannot clean up. Each embedded server's folder carries the pid of
the process that owns it; a later run or `sessionbench doctor` stops the servers and removes
the folders of owners that no longer exist, and never touches one whose owner is alive.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import sys
import tempfile
import time
from pathlib import Path

PREFIX = "sessionbench-pg-"
OWNER_FILE = "owner.pid"
_held: dict[str, str] = {}


def hold(key: str, what: str) -> None:
    _held[key] = what


def release(key: str) -> None:
    _held.pop(key, None)


def held() -> list[str]:
    return list(_held.values())


def interrupted_message() -> str:
    left = held()
    if not left:
        return "sessionbench: interrupted; no server, container or schema of this run is left"
    return f"sessionbench: interrupted; NOT removed: {'; '.join(left)}"


def write_owner(root: Path) -> None:
    (root / OWNER_FILE).write_text(f"{os.getpid()}\n")
    _guard(root)


# A process of its own watches this one's embedded server folders: when this process ends in a way
# no cleanup survives (SIGKILL, the interpreter's own fatal error, the kernel's OOM killer), the
# guardian stops the server and removes the folder at once. It learns each folder as a line on a pipe
# only this process holds, so the pipe's end is this process's end, however it comes.
_GUARDIAN = """
import sys, time
from bench.backends import leftovers
owner, folders = int(sys.argv[1]), []
for line in sys.stdin:
    folders.append(line.rstrip("\\n"))
deadline = time.monotonic() + 60
while leftovers._alive(owner) and not leftovers._zombie(owner):
    if time.monotonic() > deadline:  # the pipe closed, yet its owner lives: not ours to remove
        sys.exit(0)
    time.sleep(0.1)
for folder in folders:
    leftovers.reap(folder)
"""
_guardian: dict = {}  # {"pid": the guardian's pid, "pipe": the write end's descriptor}


def _guard(root: Path) -> None:
    """Tell the guardian (started with the first folder) about `root`. Best effort: the next run or
    `sessionbench doctor` reaps what a guardian that could not start leaves.

    Spawned with a bare descriptor rather than a `subprocess.Popen`: the guardian outlives this
    process by design, and a Popen object still running at exit (with its pipe's file object) made
    the interpreter print two ResourceWarnings after a run's last line."""
    try:
        if not _guardian or _exited(_guardian["pid"]):
            read, write = os.pipe()  # both ends non-inheritable: no other child holds the pipe open
            package_root = str(Path(__file__).resolve().parents[2])
            env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [package_root,
                                                                             os.environ.get("PYTHONPATH")]))}
            pid = os.posix_spawn(sys.executable, [sys.executable, "-c", _GUARDIAN, str(os.getpid())], env,
                                 file_actions=[(os.POSIX_SPAWN_DUP2, read, 0),
                                               (os.POSIX_SPAWN_OPEN, 1, os.devnull, os.O_WRONLY, 0),
                                               (os.POSIX_SPAWN_OPEN, 2, os.devnull, os.O_WRONLY, 0)],
                                 setsid=True)  # a Ctrl-C in the terminal is not for it
            os.close(read)
            if _guardian:
                os.close(_guardian["pipe"])
            _guardian.update(pid=pid, pipe=write)
        os.write(_guardian["pipe"], f"{root}\n".encode())
    except (OSError, RuntimeError, MemoryError):
        return


def _exited(pid: int) -> bool:
    try:
        return os.waitpid(pid, os.WNOHANG)[0] == pid
    except ChildProcessError:
        return True


def reap(folder: str | Path) -> None:
    """Stop the server serving an abandoned folder (if any) and remove the folder."""
    root = Path(folder)
    if not root.exists():
        return
    pid = postmaster_pid(root / "data")
    if pid is None or stop_pid(pid):
        shutil.rmtree(root, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return True


def _owner(root: Path) -> int | None:
    try:
        if (root / OWNER_FILE).stat().st_uid != os.geteuid():
            return None
        return int((root / OWNER_FILE).read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def stale_folders(temp_dir: str | None = None) -> list[tuple[Path, int]]:
    """Embedded server folders (and socket folders in /tmp) whose owning process is gone:
    (folder, dead owner pid). Only folders this user created are considered."""
    found = []
    for parent in sorted({temp_dir or tempfile.gettempdir(), "/tmp"}):
        for root in sorted(Path(parent).glob(PREFIX + "*")):
            owner = _owner(root)
            if owner is not None and owner != os.getpid() and not _alive(owner):
                found.append((root, owner))
    return found


def postmaster_pid(data: Path) -> int | None:
    """The pid in the data folder's postmaster.pid, if that process still serves this folder."""
    try:
        pid = int((data / "postmaster.pid").read_text().split()[0])
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except (OSError, ValueError, IndexError):
        return None
    return pid if str(data).encode() in cmdline else None


def stop_pid(pid: int) -> bool:
    """Fast shutdown, then immediate, then SIGKILL; True once the process is gone."""
    for sig, wait in ((signal.SIGINT, 10.0), (signal.SIGQUIT, 5.0), (signal.SIGKILL, 5.0)):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, sig)
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            if not _alive(pid) or _zombie(pid):
                return True
            time.sleep(0.05)
    return not _alive(pid)


def _zombie(pid: int) -> bool:
    with contextlib.suppress(OSError, IndexError):
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    return False


def remove_stale(temp_dir: str | None = None) -> list[str]:
    """Stop and remove what dead runs left; one line per folder, saying what was done."""
    lines = []
    for root, owner in stale_folders(temp_dir):
        pid = postmaster_pid(root / "data")
        if pid is not None and not stop_pid(pid):
            lines.append(f"sessionbench: an embedded server of a killed run (pid {owner}) still runs as pid {pid} "
                         f"in {root}; stop it with: kill -9 {pid} && rm -rf {root}")
            continue
        shutil.rmtree(root, ignore_errors=True)
        stopped = f"stopped its server (pid {pid}) and " if pid is not None else ""
        if root.exists():
            lines.append(f"sessionbench: cannot remove {root}, left by a killed run (pid {owner}); "
                         f"remove it with: rm -rf {root}")
        else:
            lines.append(f"sessionbench: a killed run (pid {owner}) left {root}: {stopped}removed it")
    return lines


def report_stale() -> None:
    """Remove what killed runs left, saying so on stderr (one line each)."""
    for line in remove_stale():
        print(line, file=sys.stderr, flush=True)


# Only names a run creates (sb_<run hex>_<variant>) are ever remembered, so only those are dropped.
_RUN_SCHEMA = re.compile(r"sb_[0-9a-f]+_[a-z0-9_]+")


def _schemas_file() -> Path:
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache) / "sessionbench" / "schemas-not-dropped.json"


def _read_schemas() -> dict[str, list[str]]:
    try:
        known = json.loads(_schemas_file().read_text())
    except (OSError, ValueError):
        return {}
    return known if isinstance(known, dict) else {}


def _write_schemas(known: dict[str, list[str]]) -> None:
    path = _schemas_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial")
    partial.write_text(json.dumps({k: v for k, v in known.items() if v}, indent=1))
    os.replace(partial, path)


def remember_schemas(server: str, names: list[str]) -> None:
    """`server` is the URL with its password masked: the key, never a secret."""
    known = _read_schemas()
    known[server] = sorted(set(known.get(server, [])) | {n for n in names if _RUN_SCHEMA.fullmatch(n)})
    _write_schemas(known)


def remembered_schemas(server: str) -> list[str]:
    return [n for n in _read_schemas().get(server, []) if isinstance(n, str) and _RUN_SCHEMA.fullmatch(n)]


def forget_schemas(server: str, names: list[str]) -> None:
    known = _read_schemas()
    known[server] = [n for n in known.get(server, []) if n not in names]
    _write_schemas(known)
