"""CPU time and CPU waits of the two processes a round runs in: this thread and its server backend.

Linux keeps, per thread, the nanoseconds spent running on a CPU and waiting in a run queue for
one (/proc/<pid>/schedstat). Over a block of rounds they give measures that other processes on
the machine barely move: the CPU the round used (client + server), and its wall time less the
time both sides waited for a CPU. The server side is readable only where the backend is a process
of this machine's own PID namespace (the embedded server); elsewhere it is None.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


def _schedstat(path: str) -> tuple[int, int] | None:
    try:
        run_ns, wait_ns, _slices = Path(path).read_text().split()
    except (OSError, ValueError):
        return None
    return int(run_ns), int(wait_ns)


def server_process(server, pid: int) -> int | None:
    """`pid` if it is the server backend as this machine sees it (embedded server), else None."""
    if not server.local_processes:
        return None  # a container's PIDs are another namespace's; a remote server is not here at all
    try:
        name = Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return None
    return pid if name.startswith("postgres") else None


@dataclass(frozen=True)
class Sample:
    client_run_ns: int
    client_wait_ns: int
    server_run_ns: int | None
    server_wait_ns: int | None


def sample(server_pid: int | None) -> Sample:
    client = _schedstat("/proc/thread-self/schedstat") or (0, 0)
    server = _schedstat(f"/proc/{server_pid}/schedstat") if server_pid else None
    return Sample(client[0], client[1], server[0] if server else None, server[1] if server else None)


@dataclass(frozen=True)
class Usage:
    """Per round, in seconds: CPU used and run-queue wait, client and server (None where unseen)."""

    client_cpu_s: float
    client_wait_s: float
    server_cpu_s: float | None
    server_wait_s: float | None

    @property
    def cpu_s(self) -> float | None:
        return None if self.server_cpu_s is None else self.client_cpu_s + self.server_cpu_s

    @property
    def wait_s(self) -> float | None:
        return None if self.server_wait_s is None else self.client_wait_s + self.server_wait_s


def usage(before: Sample, after: Sample, rounds: int) -> Usage:
    def per_round(a, b):
        return None if a is None or b is None else (b - a) / 1e9 / rounds
    return Usage(per_round(before.client_run_ns, after.client_run_ns),
                 per_round(before.client_wait_ns, after.client_wait_ns),
                 per_round(before.server_run_ns, after.server_run_ns),
                 per_round(before.server_wait_ns, after.server_wait_ns))
