"""The run's place in the machine's scheduler: ahead of ordinary processes, so that on a busy
machine other work waits for the benchmark rather than the benchmark waiting for it.

A round of a workload is a chain of wake-ups (client sends, server wakes, answers, client wakes);
with every core taken by other processes each wake-up can wait a scheduler slice, which stretched
the dashboard's 101 round trips by up to 2x between trials (measured before 2026-12-07: `git log -p docs/error-rates.md`). At nice -10 the
kernel runs the run's threads first when they wake. Children inherit it: an embedded server
started by the run does, a container's or a given URL's server does not (they are not ours).
Raising priority needs root or CAP_SYS_NICE; without it the run goes on at its own priority and
its results say so (`priority` in the results file, a note in the summary when the machine was busy).

Where the kernel groups tasks by session (autogroup, `/proc/sys/kernel/sched_autogroup_enabled`),
nice orders tasks only within their session's group; between groups the scheduler shares a CPU
equally. PostgreSQL puts every backend in a session of its own, so on a busy machine a measured
backend at nice -10 still got half a CPU against one ordinary process: a 4 ms CPU-bound query
(`active_sync`, json) took 8 ms in the runs whose CPU it shared with a busy process, and 4 ms in
the others (`git log -p docs/error-rates.md`). So at "high" the run also raises each measured backend's group
(a session of the server the run started, which ends with the backend). The run's own group is the
session of whoever started it (a terminal, a CI job) and is left as it is.
"""

from __future__ import annotations

import contextlib
import os
import re
from pathlib import Path

HIGH_NICE = -10
AUTOGROUP_SWITCH = Path("/proc/sys/kernel/sched_autogroup_enabled")
_state = {"wanted": "normal", "groups": False, "backends": 0, "backends_refused": 0}


def current() -> int:
    return os.getpriority(os.PRIO_PROCESS, 0)


def autogroups() -> bool:
    """Whether the kernel shares CPUs between session groups before nice counts."""
    try:
        return AUTOGROUP_SWITCH.read_text().strip() == "1"
    except OSError:
        return False


def group_nice(pid: int | str = "self") -> int | None:
    """The nice value of `pid`'s session group ("/autogroup-N nice X"), None where there is none."""
    try:
        found = re.search(r"nice\s+(-?\d+)", Path(f"/proc/{pid}/autogroup").read_text())
    except OSError:
        return None
    return int(found.group(1)) if found else None


def _set_group_nice(pid: int | str, nice: int) -> bool:
    try:
        Path(f"/proc/{pid}/autogroup").write_text(str(nice))
    except OSError:  # no such file, not permitted, or the process is gone
        return False
    return group_nice(pid) == nice


@contextlib.contextmanager
def for_run(wanted: str):
    """Raise this thread (and so every thread and process it starts) to HIGH_NICE while the run
    lasts when `wanted` is "high"; give the old priority back afterwards."""
    before = current()
    raised = False
    if wanted == "high" and before > HIGH_NICE:
        try:
            os.setpriority(os.PRIO_PROCESS, 0, HIGH_NICE)
            raised = True
        except OSError:  # not permitted: measure at the priority we have, and say so
            pass
    _state.update(wanted=wanted, groups=autogroups(), backends=0, backends_refused=0)
    try:
        yield
    finally:
        if raised:
            with contextlib.suppress(OSError):
                os.setpriority(os.PRIO_PROCESS, 0, before)
        _state.update(wanted="normal", groups=False)


def raise_backend(pid: int | None) -> None:
    """Give a measured case's server backend (a process this run started, bench.measure.cpu.server_process)
    the run's priority in its own session group too. Nothing to do where the kernel does not group
    by session, at "normal", or for a backend that is not ours (`pid` None)."""
    if pid is None or _state["wanted"] != "high" or not _state["groups"]:
        return
    if (group_nice(pid) or 0) <= HIGH_NICE or _set_group_nice(pid, HIGH_NICE):
        _state["backends"] += 1
    else:
        _state["backends_refused"] += 1


def describe(wanted: str) -> dict:
    """What a results file records: what was asked, what the run got; where the kernel groups by
    session, whether every measured backend's group was raised too (None when no backend of this
    machine was measured)."""
    nice = current()
    held = {"asked": wanted, "nice": nice, "raised": nice <= HIGH_NICE if wanted == "high" else None}
    if autogroups():
        backends = _state["backends"] + _state["backends_refused"]
        held["backend_groups_raised"] = _state["backends_refused"] == 0 if backends else None
    return held
