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
"""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import statistics
import sys
from pathlib import Path

from bench import results
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
    run_yard = results.run_info(doc).get("yardstick", {}).get("median_s")
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.pace_probe", description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=6, help="new runs to make before the table (default 6)")
    parser.add_argument("--workloads", default="dashboard", help="the --only workload=... of each run")
    parser.add_argument("--work", required=True, help="folder for the runs; the table reads every run in it")
    parser.add_argument("--busy", action="store_true", help="one CPU-bound process per core beside the runs")
    options = parser.parse_args(argv)
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
