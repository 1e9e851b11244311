"""Where a run's timed rounds execute: the client thread and the server backend it measures share one CPU.

A round is a chain of wake-ups between the client and its server backend. Left to the scheduler,
the two sometimes share a CPU (each wake-up is a context switch) and sometimes do not (each
wake-up crosses CPUs, which on a virtual machine means waking a halted vCPU), and the scheduler
keeps one arrangement for stretches of rounds before it moves: `active_sync [bool_column]` ran
at 0.30 ms in some stretches and 0.62 ms in others, within one trial, so its trial medians split
into two levels and a run's ratio depended on how many trials fell on each (measured before 2026-12-07: `git log -p docs/error-rates.md`).

`--cpus same` (the default) puts the client's main thread and each measured case's server
backend on one CPU while a comparison group is measured, so every round trip costs a context
switch, in every trial of every run. What a network round trip costs is the `--rtt-ms` relay's
to say, not the scheduler's. Only backends of an embedded server the run started are moved: a
container's or a given URL's server processes are not ours (the results say `server_pinned:
false`). The server itself, its other backends (set-up, load clients) and load workers keep the
whole machine. `--cpus free` leaves placement to the scheduler.
"""

from __future__ import annotations

import contextlib
import os

_state = {"wanted": "free", "cpu": None, "backends": 0, "backends_refused": 0}


def _allowed() -> set[int]:
    try:
        return set(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # no affinity on this platform
        return set()


def configure(wanted: str) -> None:
    """Choose the CPU for the run: the highest this process may use (CPU 0 usually takes most
    device interrupts). With one CPU there is nothing to choose, and nothing is moved."""
    allowed = _allowed()
    _state.update(wanted=wanted, backends=0, backends_refused=0,
                  cpu=max(allowed) if wanted == "same" and len(allowed) > 1 else None)


@contextlib.contextmanager
def group():
    """The calling thread on the run's CPU while a comparison group is set up and measured;
    its former CPUs are given back afterwards, also on error."""
    cpu = _state["cpu"]
    before = _allowed()
    moved = False
    if cpu is not None and before != {cpu}:
        try:
            os.sched_setaffinity(0, {cpu})
            moved = True
        except OSError:  # a cgroup took the CPU away since: measure where we are
            pass
    try:
        yield
    finally:
        if moved:
            with contextlib.suppress(OSError):
                os.sched_setaffinity(0, before)


def pin_backend(pid: int | None) -> None:
    """Put a measured case's server backend on the run's CPU. `pid` is None where the backend
    is not a process of this machine that the run started (bench.measure.cpu.server_process)."""
    if pid is None or _state["cpu"] is None:
        return
    try:
        os.sched_setaffinity(pid, {_state["cpu"]})
        _state["backends"] += 1
    except OSError:  # gone, or not ours to move
        _state["backends_refused"] += 1


def describe() -> dict:
    """What a results file records: what was asked, the CPU used, whether server backends followed."""
    return {"asked": _state["wanted"], "cpu": _state["cpu"],
            "server_pinned": _state["backends"] > 0 and _state["backends_refused"] == 0}
