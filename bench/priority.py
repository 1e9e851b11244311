"""The run's place in the machine's scheduler: ahead of ordinary processes, so that on a busy
machine other work waits for the benchmark rather than the benchmark waiting for it.

A round of a workload is a chain of wake-ups (client sends, server wakes, answers, client wakes);
with every core taken by other processes each wake-up can wait a scheduler slice, which stretched
the dashboard's 101 round trips by up to 2x between trials (docs/error-rates.md). At nice -10 the
kernel runs the run's threads first when they wake. Children inherit it: an embedded server
started by the run does, a container's or a given URL's server does not (they are not ours).
Raising priority needs root or CAP_SYS_NICE; without it the run goes on at its own priority and
its results say so (`priority` in the results file, a note in the summary when the machine was busy).
"""

from __future__ import annotations

import contextlib
import os

HIGH_NICE = -10


def current() -> int:
    return os.getpriority(os.PRIO_PROCESS, 0)


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
    try:
        yield
    finally:
        if raised:
            with contextlib.suppress(OSError):
                os.setpriority(os.PRIO_PROCESS, 0, before)


def describe(wanted: str) -> dict:
    """What a results file records: what was asked, what the run got."""
    nice = current()
    return {"asked": wanted, "nice": nice, "raised": nice <= HIGH_NICE if wanted == "high" else None}
