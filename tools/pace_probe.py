"""How much a whole process moves, and how much of it the yardstick takes away (docs/error-rates.md,
"The machine's pace").

Runs the same comparison group in N separate `sessionbench run` processes, one after the other, and
prints per way of reading a case's time the spread of its log geometric mean over the processes
(median and largest over the group's cases), and each process's common shift: wall time, wall time
over each block's own yardstick, over each trial's pace (the median yardstick of the trial's blocks:
what `compare --metric paced` reads), over the group's median yardstick, and over the run's.

    python -m tools.pace_probe --runs 6 --work /tmp/pace            # runs, then the table
    python -m tools.pace_probe --runs 6 --work /tmp/pace --busy     # one CPU-bound process per core beside them
    python -m tools.pace_probe --work /tmp/pace --runs 0            # the table of the runs already in --work
    python -m tools.pace_probe --pure 12 --seconds 30                # no database: 12 processes of pure Python

`--pure` asks whether the machine's pace is the code's: each process times, interleaved in a random
order, SQLAlchemy compiling a join (the kind of work a round's client does), the yardstick's own work
and a dict-and-string loop, and the table gives each one's spread over the processes and the spread
of their ratios within a process.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy import Column, Integer, MetaData, String, Table, select

from bench import results
from bench.measure import yardstick
from tools.error_rates import runner

WAYS = ("wall", "block", "trial", "group", "run")
WORDS = {"wall": "wall time", "block": "over each block's yardstick", "trial": "over each trial's pace (paced)",
         "group": "over the group's median yardstick", "run": "over the run's median yardstick"}


def _logs(doc: dict) -> dict[str, dict[str, float]]:
    """Per case, its log geometric mean in each way of reading it."""
    groups: dict[tuple, list[dict]] = {}
    for bench in doc["benchmarks"]:
        info = bench.get("extra_info", {})
        if info.get("trial_yardstick_s") and info.get("trial_medians_s"):
            groups.setdefault((info["workload"], info.get("param")), []).append(bench)
    block = results.run_info(doc).get("yardstick")
    run_yard = block.get("median_s") if isinstance(block, dict) else None
    out = {}
    for benches in groups.values():
        trials = min(len(b["extra_info"]["trial_yardstick_s"]) for b in benches)
        paces = [statistics.median(b["extra_info"]["trial_yardstick_s"][t] for b in benches) for t in range(trials)]
        group_yard = statistics.median(y for b in benches for y in b["extra_info"]["trial_yardstick_s"])
        for bench in benches:
            info = bench["extra_info"]
            medians, yards = info["trial_medians_s"][:trials], info["trial_yardstick_s"][:trials]
            wall = statistics.fmean(math.log(m) for m in medians)
            out[results.label_of(results.key_of(bench))] = {
                "wall": wall,
                "block": statistics.fmean(math.log(m / y) for m, y in zip(medians, yards)),
                "trial": statistics.fmean(math.log(m / p) for m, p in zip(medians, paces)),
                "group": wall - math.log(group_yard),
                "run": wall - math.log(run_yard) if run_yard else float("nan"),
            }
    return out


def table(paths: list[Path]) -> str:
    runs = [_logs(results.read(path)) for path in paths]
    cases = sorted(set.intersection(*(set(run) for run in runs)))
    if len(runs) < 2 or not cases:
        raise SystemExit("pace_probe: needs two runs or more that timed a yardstick, with cases in common")
    lines = [f"{len(runs)} processes, {len(cases)} cases in common", "",
             "| way | spread over the processes (log sd), median case | largest | each process's shift |",
             "|---|---:|---:|---|"]
    for way in WAYS:
        spreads = [statistics.stdev(run[case][way] for run in runs) for case in cases]
        shifts = [statistics.fmean(run[case][way] - statistics.fmean(r[case][way] for r in runs) for case in cases)
                  for run in runs]
        lines.append(f"| {WORDS[way]} | {statistics.median(spreads):.3f} | {max(spreads):.3f} | "
                     f"{' '.join(f'{shift:+.3f}' for shift in shifts)} |")
    return "\n".join(lines)


def _compile() -> None:
    metadata = MetaData()
    sessions = Table("sessions", metadata, Column("id", Integer, primary_key=True), Column("user_id", Integer),
                     Column("title", String))
    users = Table("users", metadata, Column("id", Integer, primary_key=True), Column("name", String))
    for number in range(40):
        str(select(sessions, users.c.name).join(users, users.c.id == sessions.c.user_id)
            .where(sessions.c.id > number).order_by(sessions.c.id.desc()).limit(10).compile())


def _dicts() -> None:
    table = {f"k{number}": str(number) * 3 for number in range(30000)}
    sorted(table)


PURE = {"compile": _compile, "yardstick": lambda: [yardstick.work() for _ in range(10)], "dicts": _dicts}


def pure_child(seconds: float) -> dict:
    """One process: each work timed (median of 5) in a random order, over and over for `seconds`."""
    logs: dict[str, list[float]] = {name: [] for name in PURE}
    for work in PURE.values():  # the first call of each pays for its warming up, not for the pace
        work()
    until = time.perf_counter() + seconds
    while time.perf_counter() < until:
        for name in random.sample(list(PURE), len(PURE)):
            times = []
            for _ in range(5):
                started = time.perf_counter()
                PURE[name]()
                times.append(time.perf_counter() - started)
            logs[name].append(math.log(statistics.median(times)))
    return {name: statistics.fmean(values) for name, values in logs.items()}


def pure_table(processes: int, seconds: float) -> str:
    means = []
    for number in range(processes):
        done = subprocess.run([sys.executable, "-m", "tools.pace_probe", "--pure-child", str(seconds)],
                              capture_output=True, text=True, check=True, cwd=runner.ROOT)
        means.append(json.loads(done.stdout))
        print(f"  process {number + 1}/{processes}", file=sys.stderr, flush=True)
    lines = [f"{processes} processes of {seconds:g} s, pure Python, no database", "",
             "| read | spread over the processes (log sd) |", "|---|---:|"]
    for name in PURE:
        lines.append(f"| {name} | {statistics.stdev(m[name] for m in means):.3f} |")
    for name in ("compile", "dicts"):
        lines.append(f"| {name} / yardstick, within each process | "
                     f"{statistics.stdev(m[name] - m['yardstick'] for m in means):.3f} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.pace_probe", description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=6, help="new runs to make before the table (default 6)")
    parser.add_argument("--workloads", default="dashboard", help="the --only workload=... of each run")
    parser.add_argument("--work", help="folder for the runs; the table reads every run in it")
    parser.add_argument("--pure", type=int, metavar="N", help="no runs: N processes of pure Python work (above)")
    parser.add_argument("--seconds", type=float, default=30.0, help="with --pure: each process's length (default 30)")
    parser.add_argument("--pure-child", type=float, help=argparse.SUPPRESS)
    parser.add_argument("--busy", action="store_true", help="one CPU-bound process per core beside the runs")
    options = parser.parse_args(argv)
    if options.pure_child:
        print(json.dumps(pure_child(options.pure_child)))
        return 0
    if options.pure:
        print(pure_table(options.pure, options.seconds))
        return 0
    if not options.work:
        parser.error("--work is needed unless --pure")
    work = Path(options.work)
    work.mkdir(parents=True, exist_ok=True)
    with runner.busy(os.cpu_count() or 1) if options.busy else contextlib.nullcontext():
        for number in range(options.runs):
            runner.one_run(options.workloads, work / f"run-{number:02d}-{os.getpid()}")
    paths = sorted(work.glob("*/*.json"), key=lambda path: path.name)  # run ids start with their time
    print(table(paths))
    print(f"read {len(paths)} runs in {work}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
