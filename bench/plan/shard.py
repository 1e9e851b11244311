"""`--shard K/N`: the K-th of N parts of a run's cases, for N machines, comparison groups whole.

A comparison group (all variants of one workload x parameter, `Case.group`; every data size of it
too, should a run ever measure several) is measured side by side on one server, so it is never
split: every ratio to a baseline comes from one machine. Groups are dealt out longest first, each
to the shard with the least estimated time so far (LPT: at most 4/3 of the best possible longest
shard), ties to the lower shard. The split depends only on the case list and CASE_SECONDS, so every
machine computes the same one, and every case falls in exactly one shard. With more shards than
groups the shards past the number of groups are empty, and running one is refused.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from bench.errors import UserError

if TYPE_CHECKING:  # settings.py parses --shard with this module: it stays free of the workloads' imports
    from bench.plan.cases import Case

MAX_SHARDS = 1000
# Seconds per case at small scale with the default settings, by workload and parameter, measured on
# a sample of the full grid (docs/suite-performance.md, "The full grid, sharded"). Only the ratios
# matter for the split. A parameter not listed costs its workload's mean, a workload not listed
# DEFAULT_CASE_SECONDS.
CASE_SECONDS = {
    "active_sync": {"": 0.47},
    "dashboard": {"page_size=10": 0.49, "page_size=100": 0.92, "page_size=1000": 2.41},
    "delete_session": {"": 0.71},
    "list_live": {"deleted_fraction=0": 0.97, "deleted_fraction=0.1": 1.5, "deleted_fraction=0.5": 1.43},
    "mark_sync": {"": 0.57},
    "migrate_audio_storage": {"": 0.51},
    "purge_user": {"": 2.43},
    "recent_activity": {"timezone=Asia/Tokyo": 0.6, "timezone=UTC": 0.36},
    "restore_session": {"": 1.15},
    "session_detail": {"messages=long": 0.67, "messages=short": 0.54},
}
DEFAULT_CASE_SECONDS = 1.0  # about the mean of the table
# What every shard pays besides its cases (same machine, small scale): imports, server start and
# source data; and each variant schema it uses, filled, vacuumed and analyzed once.
START_SECONDS = 2.0
VARIANT_SECONDS = 0.17


def parse_shard(text: str) -> str:
    """"3/8" -> "3/8" (spaces dropped): the K-th of N parts, 1 <= K <= N <= MAX_SHARDS."""
    part, sep, count = str(text).replace(" ", "").partition("/")
    if not sep or not part.isdigit() or not count.isdigit():
        raise ValueError(f"{str(text).strip()!r} is not K/N, e.g. 2/8 for the second of eight parts")
    k, n = int(part), int(count)
    if not 1 <= n <= MAX_SHARDS:
        raise ValueError(f"N must be between 1 and {MAX_SHARDS}, got {k}/{n}")
    if not 1 <= k <= n:
        raise ValueError(f"K must be between 1 and N, got {k}/{n}")
    return f"{k}/{n}"


def shard_numbers(shard: str) -> tuple[int, int]:
    """"3/8" -> (3, 8)."""
    k, n = parse_shard(shard).split("/")
    return int(k), int(n)


def case_seconds(case: Case) -> float:
    workload, param = case.group
    by_param = CASE_SECONDS.get(workload)
    if not by_param:
        return DEFAULT_CASE_SECONDS
    return by_param.get(param) or sum(by_param.values()) / len(by_param)


def estimated_seconds(cases: list[Case], cost=case_seconds) -> float:
    return sum(cost(case) for case in cases)


def shard_seconds(cases: list[Case], cost=case_seconds) -> float:
    """A shard's (or a whole run's) estimated time: start, each variant schema it loads, its cases."""
    return START_SECONDS + VARIANT_SECONDS * len({case.variant for case in cases}) + estimated_seconds(cases, cost)


def split(cases: list[Case], count: int, cost=case_seconds) -> list[list[Case]]:
    """The cases in `count` shards, each group whole, each shard's cases in their original order."""
    groups: dict[tuple, list[Case]] = {}
    for case in cases:
        groups.setdefault(case.group, []).append(case)
    # Longest first; equal estimates in the order of their names, so the deal never depends on input order.
    order = sorted(groups, key=lambda group: (-estimated_seconds(groups[group], cost), group))
    loads, shard_of = [0.0] * count, {}
    for group in order:
        emptiest = min(range(count), key=lambda index: (loads[index], index))
        shard_of[group] = emptiest
        loads[emptiest] += estimated_seconds(groups[group], cost)
    shards: list[list[Case]] = [[] for _ in range(count)]
    for case in cases:
        shards[shard_of[case.group]].append(case)
    return shards


def select(cases: list[Case], shard: str | None) -> list[Case]:
    """The cases of shard "K/N" (all of them without a shard); an empty shard is refused in one line."""
    if not shard:
        return cases
    k, n = shard_numbers(shard)
    chosen = split(cases, n)[k - 1]
    if not chosen:
        groups = len({case.group for case in cases})
        raise UserError(f"--shard {k}/{n}: this shard is empty: the run has {groups} comparison groups, which "
                        f"fill shards 1 to {groups} (a group is never split)",
                        f"use at most {groups} shards, e.g. --shard 1/{groups}")
    return chosen


def main(argv: list[str] | None = None) -> int:
    """`python -m bench.plan.shard N [axis|full]`: the estimated split of a grid over N shards."""
    import sys

    from bench.plan.cases import all_cases

    args = sys.argv[1:] if argv is None else argv
    count, grid = int(args[0]) if args else 8, args[1] if len(args) > 1 else "full"
    cases = all_cases(grid)
    print(f"{grid} grid: {len(cases)} cases in {len({c.group for c in cases})} groups, "
          f"{len({c.variant for c in cases})} variants; one machine about {shard_seconds(cases):,.0f} s")
    times = []
    for k, part in enumerate(split(cases, count), 1):
        times.append(shard_seconds(part) if part else 0.0)
        groups = ", ".join(sorted(f"{w} {p}".strip() for w, p in {c.group for c in part}))
        print(f"shard {k}/{count}: {len(part)} cases, about {times[-1]:,.0f} s ({groups or 'empty'})")
    print(f"longest {max(times):,.0f} s, shortest {min(times):,.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
