"""Helpers the hardening tests share: a `sessionbench run` watched while it runs, and its servers.

No tests here: each helper starts or finds real processes and servers.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import psutil

FAST = ["--sessions", "50", "--max-time", "0.05", "--min-rounds", "1"]


class WatchedRun:
    """`sessionbench ARGS` in the background, stderr in a file to watch for progress lines."""

    def __init__(self, tmp_path: Path, *args: str, env: dict | None = None, name: str = "run"):
        self.stderr_path = tmp_path / f"{name}.stderr"
        self.stdout_path = tmp_path / f"{name}.stdout"
        with open(self.stderr_path, "w") as err, open(self.stdout_path, "w") as out:
            self.proc = subprocess.Popen([sys.executable, "-m", "bench.cli", *args], stdout=out, stderr=err,
                                         env={**os.environ, **(env or {})})

    @property
    def stderr(self) -> str:
        return self.stderr_path.read_text()

    @property
    def stdout(self) -> str:
        return self.stdout_path.read_text()

    def wait_for(self, text: str, timeout: float = 120) -> None:
        """Until `text` appears on stderr; fails when the run ends first."""
        deadline = time.monotonic() + timeout
        while text not in self.stderr:
            assert self.proc.poll() is None, f"the run ended before {text!r}:\n{self.stderr}"
            assert time.monotonic() < deadline, f"no {text!r} within {timeout} s:\n{self.stderr}"
            time.sleep(0.05)

    def finish(self, timeout: float = 120) -> int:
        return self.proc.wait(timeout)

    def __enter__(self) -> WatchedRun:
        return self

    def __exit__(self, *exc) -> None:
        """A test that failed midway still ends its run (and reaps it): nothing leaks into the next test."""
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(60)


def progress_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.lstrip().startswith("[")]


def postgres_under(prefix: str) -> list[int]:
    """PostgreSQL processes whose command line names a path under `prefix`."""
    return [p.pid for p in psutil.process_iter(["name", "cmdline"])
            if p.info["name"] == "postgres" and any(prefix in arg for arg in p.info["cmdline"] or [])]


def postmaster_of(data_root: str) -> psutil.Process:
    """The postmaster (the parent of the others) serving the data folder under `data_root`."""
    [pid] = [pid for pid in postgres_under(data_root) if "-D" in psutil.Process(pid).cmdline()]
    return psutil.Process(pid)


def guardian_of(pid: int) -> psutil.Process:
    """The guardian process watching the embedded servers of process `pid` (bench.backends.leftovers)."""
    [found] = [p for p in psutil.process_iter(["cmdline"])
               if (p.info["cmdline"] or [])[-1:] == [str(pid)] and "leftovers.reap" in " ".join(p.info["cmdline"])]
    return found
