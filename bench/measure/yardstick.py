"""The machine's pace, timed beside every block of rounds: a fixed piece of interpreter work.

On a shared virtual machine the CPU itself runs faster or slower from one half minute to the next:
idle, a run's whole group of cases read 20% faster or slower than the same group in the next
process, and its CPU seconds moved with its wall time, client and server alike (docs/error-rates.md,
"The machine's pace"). Trials interleave the variants of one run, so ratios inside a run do not
see it; two runs compared by `compare` do. This work is timed once before each block of rounds, on
the same CPU as the block, so each trial's median can be read at a fixed pace: the `paced` metric,
the median times NOMINAL_S over the trial's pace, the median yardstick of the group's blocks in that
trial (`trial_paced_s`; each block's own time is `trial_yardstick_s`).

The work never changes within a VERSION; compare refuses to pace two sides of different versions.
It is pure Python of the kinds the client spends its rounds on (attribute and dict access, small
objects, string building, a sort) and touches neither the database nor sessionbench's state.
"""

from __future__ import annotations

import time

VERSION = 1
NOMINAL_S = 0.001  # a paced value is the round's time on a machine where the yardstick takes 1 ms
_ITEMS = 300
_taken: list[float] = []  # every time_once of this process, for describe()


class _Row:
    __slots__ = ("key", "name", "score")

    def __init__(self, key: int, name: str, score: float) -> None:
        self.key, self.name, self.score = key, name, score


def work() -> int:
    """The yardstick's work; returns a checksum so that nothing of it can be skipped."""
    rows = [_Row(i, f"row-{i * 7919 % 1009}", (i * 31 % 97) / 7.0) for i in range(_ITEMS)]
    by_name: dict[str, _Row] = {}
    for row in rows:
        by_name[row.name] = row
    ordered = sorted(rows, key=lambda row: (row.score, row.name))
    text = ",".join(f"{row.key}:{row.score:.2f}" for row in ordered[:: 3])
    return len(by_name) + len(text) + sum(row.key for row in ordered if row.score > 6.0)


def time_once() -> float:
    """Seconds the yardstick's work takes now: the median of three times, so a lone interrupt is not the pace."""
    times = []
    for _ in range(3):
        started = time.perf_counter()
        work()
        times.append(time.perf_counter() - started)
    taken = sorted(times)[1]
    _taken.append(taken)
    return taken


def paced(medians: list[float], paces: list[float | None]) -> list[float] | None:
    """Each trial's median at the fixed pace: median x NOMINAL_S / the trial's pace; None without paces."""
    if not paces or len(paces) != len(medians) or any(not pace for pace in paces):
        return None
    return [median * NOMINAL_S / pace for median, pace in zip(medians, paces)]


def describe() -> dict:
    """What a results file records: the work's version and its nominal time, and how long it took in the run."""
    taken = sorted(_taken)
    return {"version": VERSION, "nominal_s": NOMINAL_S,
            "median_s": taken[len(taken) // 2] if taken else None}
