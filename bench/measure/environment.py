"""The machine a run measured on, and how busy it was: enough to explain a difference between runs.

`machine()` is read once per run (CPU model, cores, cgroup CPU quota, kernel, memory, the driver's
implementation, every installed package as one hash). `LoadMeter` samples /proc/stat and the
load average at the start and end of a run: CPU steal and time other processes used while the
suite ran. `noisy()` says when that was too much to trust small differences.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import os
import platform
import time
from dataclasses import dataclass, field

# A run is called noisy when, on average, more than this share of the machine's CPU time went to
# other work than the run's own processes, or the hypervisor stole more than STEAL_NOISY of it.
OTHER_CPU_NOISY = 0.25
STEAL_NOISY = 0.02


def _read(path: str) -> str | None:
    try:
        with open(path) as stream:
            return stream.read().strip()
    except OSError:
        return None


def cpu_model() -> str | None:
    text = _read("/proc/cpuinfo") or ""
    for line in text.splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or None


def cgroup_cpu_quota() -> float | None:
    """CPUs this process may use by its cgroup's quota (cgroup v2 cpu.max), None when unlimited."""
    text = _read("/sys/fs/cgroup/cpu.max")
    if not text:
        return None
    quota, _, period = text.partition(" ")
    if quota == "max" or not period:
        return None
    return round(int(quota) / int(period), 2)


def packages_hash() -> tuple[int, str]:
    """How many distributions are installed, and a hash of their names and versions: equal hashes,
    equal stacks."""
    items = sorted(f"{d.metadata['Name']}=={d.version}".lower() for d in importlib.metadata.distributions()
                   if d.metadata["Name"])
    return len(items), hashlib.sha256("\n".join(items).encode()).hexdigest()[:16]


def driver() -> dict:
    try:
        import psycopg

        return {"psycopg": psycopg.__version__, "psycopg_impl": psycopg.pq.__impl__,
                "libpq": psycopg.pq.version()}
    except Exception:  # noqa: BLE001 - metadata only
        return {}


def machine() -> dict:
    count, digest = packages_hash()
    memory = None
    for line in (_read("/proc/meminfo") or "").splitlines():
        if line.startswith("MemTotal:"):
            memory = int(line.split()[1]) * 1024
    return {"cpu_model": cpu_model(), "cpus": os.cpu_count(), "cgroup_cpu_quota": cgroup_cpu_quota(),
            "kernel": platform.release(), "memory_bytes": memory, "python": platform.python_version(),
            "python_implementation": platform.python_implementation(), "packages_installed": count,
            "packages_hash": digest, **driver()}


def _cpu_times() -> dict | None:
    text = _read("/proc/stat")
    if not text:
        return None
    fields = text.splitlines()[0].split()[1:]
    names = ("user", "nice", "system", "idle", "iowait", "irq", "softirq", "steal")
    values = dict(zip(names, (int(v) for v in fields)))
    return values


def own_cpu_seconds() -> float:
    """CPU seconds used so far by this process and every process below it (an embedded server and
    its backends included), exited children counted through their parents."""
    ticks = os.sysconf("SC_CLK_TCK")
    parents, used = {}, {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        text = _read(f"/proc/{entry}/stat")
        if not text:
            continue
        fields = text.rsplit(")", 1)[1].split()
        parents[int(entry)] = int(fields[1])
        used[int(entry)] = sum(int(v) for v in fields[11:15]) / ticks  # utime, stime, cutime, cstime
    ours, frontier = set(), [os.getpid()]
    while frontier:
        pid = frontier.pop()
        ours.add(pid)
        frontier.extend(child for child, parent in parents.items() if parent == pid and child not in ours)
    return sum(used.get(pid, 0.0) for pid in ours)


@dataclass
class LoadMeter:
    """CPU use of the whole machine while a run ran, beside the share of the run's own processes."""

    started: float = field(default_factory=time.monotonic)
    start_times: dict | None = field(default_factory=_cpu_times)
    own_start: float = field(default_factory=own_cpu_seconds)
    load_start: tuple | None = field(default_factory=os.getloadavg)

    def finish(self) -> dict:
        end, own = _cpu_times(), own_cpu_seconds() - self.own_start
        out = {"seconds": round(time.monotonic() - self.started, 1), "loadavg_start": self.load_start,
               "loadavg_end": os.getloadavg(), "own_cpu_s": round(own, 2)}
        if self.start_times and end:
            ticks = os.sysconf("SC_CLK_TCK")
            delta = {k: end[k] - self.start_times.get(k, 0) for k in end}
            total = sum(delta.values()) or 1
            busy = total - delta.get("idle", 0) - delta.get("iowait", 0)
            out["cpu_busy_share"] = round(busy / total, 3)
            out["steal_share"] = round(delta.get("steal", 0) / total, 4)
            out["other_cpu_share"] = round(max(0.0, busy / ticks - own) / (total / ticks), 3)
        out["noisy"] = noisy(out)
        return out


def noisy(load: dict) -> bool:
    return (load.get("other_cpu_share") or 0) > OTHER_CPU_NOISY or (load.get("steal_share") or 0) > STEAL_NOISY
