"""Measure how often the gates are wrong, at default settings: `python -m tools.error_rates`.

One measurement is a series of separate `sessionbench run`s of one commit on this machine, made
through the command exactly as a user or CI calls it, at its default settings:
  A0, A1, ...   unchanged code                -> `compare A_i A_i+1` should flag nothing (A/A)
                                                 `check A_i` should pass
  SLOW_k        SESSIONBENCH_TEST_SLOWDOWN makes a workload drawn at random 25% slower (real work
                in client and server) -> `compare A_j SLOW_k` (A_j the run just before) should
                flag every benchmark of that workload (A/B), and nothing else
  EXTRA         one extra statement per round -> `check EXTRA` should exit 1
With `--busy`, one CPU-bound process per core runs beside the whole series. The numbers, with
Clopper-Pearson upper bounds, go into docs/error-rates.md between the markers of the section
(text around them is kept); every comparison into <work>/series.json.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import json
import math
import os
import platform
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path

from bench.gate import compare as compare_module
from bench.measure import injected
from bench import results
from bench.analysis.stats import clopper_pearson_upper
from models_variants import Variant

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_WORKLOADS = "dashboard,active_sync,delete_session,list_live"
# The headline ratios the report leads with: (workload, param, variant, whether the ratio is inverted)
HEADLINES = {
    "lazy / selectin, dashboard page 100": ("dashboard", "page_size=100", "loading=selectin", True),
    "json / bool_column, active_sync": ("active_sync", "", "sync_flag=bool_column", True),
    "soft / hard_orm, delete_session": ("delete_session", "", "deletion=soft", False),
}


def sessionbench(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "bench.cli", *args]
    environment = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
    return subprocess.run(command, env=environment, capture_output=True, text=True, cwd=ROOT)


def one_run(workloads: str, out: Path, env: dict | None = None) -> Path:
    started = time.perf_counter()
    done = sessionbench("run", "--backend", "embedded", "--out", str(out), "--quiet", "--print-path",
                        "--only", f"workload={workloads}", env=env)
    if done.returncode != 0:
        raise SystemExit(f"run into {out} failed (exit {done.returncode}):\n{done.stderr[-2000:]}")
    path = Path(done.stdout.strip().splitlines()[-1])
    print(f"  {out.name}: {time.perf_counter() - started:.0f} s", file=sys.stderr, flush=True)
    return path


METRICS = ("wall", "cpu", "unloaded")


def compare(base: Path, new: Path, threshold: str, metric: str = "wall") -> dict:
    done = sessionbench("compare", str(base), str(new), "--threshold", threshold, "--format", "json",
                        "--metric", metric)
    if done.returncode not in (0, 1):
        raise SystemExit(f"compare {base} {new} failed:\n{done.stderr}")
    rows = json.loads(done.stdout)["rows"]
    return {"exit": done.returncode,
            "rows": [{k: row[k] for k in ("workload", "param", "variant", "ratio", "ci_low", "ci_high", "verdict",
                                          "detectable")} for row in rows]}


def check(run: Path) -> int:
    return sessionbench("check", str(run)).returncode


@contextlib.contextmanager
def busy(cores: int):
    """One CPU-bound process per core beside the measurement, stopped by pid at the end."""
    spinners = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(cores)]
    try:
        yield [p.pid for p in spinners]
    finally:
        for process in spinners:
            process.kill()
            process.wait()


def headline_ratios(path: Path) -> dict:
    out = {}
    for row in results.rows(results.read(path)):
        for name, (workload, param, variant, inverted) in HEADLINES.items():
            if (row["workload"], row["param"], row["variant"]) == (workload, param, variant) and row.get("ratio"):
                out[name] = 1 / row["ratio"] if inverted else row["ratio"]
    return out


def run_spread(paths: list[Path], metric: str = "wall") -> dict:
    """Spread between runs that trials within a run do not show: per benchmark, the variance of the
    runs' log geometric means minus what their trial spread alone explains (Kalibera & Jones)."""
    per_key: dict[tuple, list] = {}
    for path in paths:
        for bench in results.read(path)["benchmarks"]:
            values = results.trial_values(bench, metric)
            if len(values) >= 2:
                per_key.setdefault(results.key_of(bench), []).append([math.log(v) for v in values])
    spreads = []
    for runs in per_key.values():
        if len(runs) < 2:
            continue
        means = [statistics.fmean(r) for r in runs]
        within = statistics.fmean(statistics.variance(r) / len(r) for r in runs)
        spreads.append(math.sqrt(max(0.0, statistics.variance(means) - within)))
    spreads.sort()
    return {"median": statistics.median(spreads), "p90": spreads[int(0.9 * (len(spreads) - 1))],
            "max": spreads[-1], "benchmarks": len(spreads)}


def series(options) -> dict:
    work = Path(options.work)
    rng = random.Random(options.seed)
    workloads = options.workloads.split(",")
    every = max(1, options.runs // max(1, options.slow_runs))
    runs, slow, started = [], [], time.perf_counter()
    for i in range(options.runs):
        runs.append(one_run(options.workloads, work / f"A{i:02d}"))
        if i % every == every - 1 and len(slow) < options.slow_runs:
            target = rng.choice(workloads)
            env = {"SESSIONBENCH_TEST_SLOWDOWN": f"{target}={options.slowdown}"}
            slow.append({"workload": target, "base": i, "path": one_run(options.workloads, work / f"SLOW{len(slow):02d}",
                                                                         env)})
    extra = one_run(options.workloads, work / "EXTRA", {"SESSIONBENCH_TEST_EXTRA_STATEMENT": workloads[0]})
    return {
        "seconds": round(time.perf_counter() - started),
        "aa": {m: [compare(a, b, options.threshold, m) for a, b in zip(runs, runs[1:])] for m in METRICS},
        "ab": {m: [{**compare(runs[s["base"]], s["path"], options.threshold, m), "slowed": s["workload"]}
                   for s in slow] for m in METRICS},
        "check_aa": [check(path) for path in runs],
        "check_extra": check(extra),
        "headlines": [headline_ratios(path) for path in runs],
        "spread": {m: run_spread(runs, m) for m in METRICS},
        "runs": [str(p) for p in runs],
        "slow": [{"workload": s["workload"], "base": s["base"], "path": str(s["path"])} for s in slow],
    }


def blocks(result: dict, options) -> dict:
    """`options.blocks` blocks of runs added to a stored series, measured as the CI workflow measures
    base and head: `--per-side` unchanged runs and as many slowed ones, alternating (A B A B ...), so
    a slow phase of the machine lasting minutes falls on both sides alike. Block j slows every workload
    but one (the j-th, which stays as a bystander), so each workload is slowed in most blocks."""
    done = list(result.get("blocks", []))
    workloads = options.workloads.split(",")
    for j in range(len(done), len(done) + options.blocks):
        bystander = workloads[j % len(workloads)]
        slowed = [w for w in workloads if w != bystander] or workloads
        spec = ",".join(f"{w}={options.slowdown}" for w in slowed)
        env = {"SESSIONBENCH_TEST_SLOWDOWN": spec}
        base, new = [], []
        for k in range(options.per_side):
            base.append(str(one_run(options.workloads, Path(options.work) / f"BLOCK{j:02d}-A{k}")))
            new.append(str(one_run(options.workloads, Path(options.work) / f"BLOCK{j:02d}-B{k}", env)))
        done.append({"slowed": slowed, "spec": spec, "base": base, "new": new})
    return {**result, "blocks": done}


def replay(result: dict, options) -> dict:
    """The comparisons again, with the current compare, on the runs a series stored."""
    runs = [Path(p) for p in result["runs"]]
    slow = result["slow"]
    extra = next((Path(options.work) / "EXTRA").glob("*.json"))
    return {**result, "check_aa": [check(path) for path in runs], "check_extra": check(extra),
            "aa": {m: [compare(a, b, options.threshold, m) for a, b in zip(runs, runs[1:])] for m in METRICS},
            "ab": {m: [{**compare(runs[s["base"]], Path(s["path"]), options.threshold, m), "slowed": s["workload"]}
                       for s in slow] for m in METRICS}}


PER_SIDE = 5  # runs per side of the CI workflow's compare (RUNS_PER_SIDE in .github/workflows/benchmarks.yml)


def ci_order(window: list) -> tuple[list, list]:
    """Consecutive runs split into base and head as the CI workflow runs them: base, head, base, head ...

    Not base-head, head-base (ABBA), though that cancels a steady drift: a slow phase of the machine
    spans two runs often enough (run effects correlate +0.3 to +0.8 from one run to the next) that
    ABBA, which puts two runs of one side next to each other, flagged 3 of 22 busy A/A windows where
    this order flagged none (docs/error-rates.md)."""
    return window[0::2], window[1::2]


def _window_rows(runs: list, per_side: int, split=None, pair_up: bool = True, interpolate: bool = False,
                 min_pairs: int = compare_module.MIN_PAIRS):
    """Compare's rows for every window of 2 x per_side consecutive unchanged runs, split by `split`
    (default `ci_order`)."""
    split = split or ci_order
    for first in range(len(runs) - 2 * per_side + 1):
        yield compare_module.compare_runs(*split(runs[first:first + 2 * per_side]), pair_up=pair_up,
                                          interpolate=interpolate, min_pairs=min_pairs)


def _block_rows(result: dict, per_side: int, pair_up: bool = True, interpolate: bool = False,
                min_pairs: int = compare_module.MIN_PAIRS):
    """(block, compare's rows) for each alternated block of `per_side` runs a side."""
    for block in result.get("blocks", []):
        if len(block["base"]) == per_side:
            yield block, compare_module.compare_runs([results.read(p) for p in block["base"]],
                                                     [results.read(p) for p in block["new"]], pair_up=pair_up,
                                                     interpolate=interpolate, min_pairs=min_pairs)


def several_per_side(result: dict, per_side: int = PER_SIDE) -> dict:
    """`compare --base A1 .. A5 --new B1 .. B5` as the CI workflow runs it, base and head alternating.
    A/A: every window of 2 x per_side consecutive unchanged runs of the series, split as CI orders
    them (`ci_order`), which compare pairs run by run. A/B: each alternated block (`blocks`) of per_side runs a
    side, its slowed workloads' benchmarks caught, the others' flagged. Windows share runs: these
    are rates without bounds."""
    runs = [results.read(p) for p in result["runs"]]
    exits = flags = rows_seen = windows = 0
    detects = []
    for rows in _window_rows(runs, per_side):
        windows += 1
        exits += compare_module.has_regression(rows)
        flags += sum(row.verdict != "no change" for row in rows)
        rows_seen += len(rows)
        detects += [row.detectable for row in rows if row.detectable is not None]
    caught = slowed_seen = bystander_flags = bystanders = blocks_seen = 0
    sizes = []
    for block, rows in _block_rows(result, per_side):
        blocks_seen += 1
        spec = block.get("spec") or ",".join(f"{w}=1" for w in block["slowed"])  # blocks stored before specs
        for row in rows:
            if slowed_by(spec, row):
                slowed_seen += 1
                caught += row.verdict == "regression"
                sizes.append(size_of(row))
            else:
                bystanders += 1
                bystander_flags += row.verdict != "no change"
    detects.sort()
    return {"per_side": per_side, "windows": windows, "blocks": blocks_seen,
            "aa_exit": (exits, windows), "aa_flags": (flags, rows_seen),
            "ab_caught": (caught, slowed_seen), "ab_bystanders": (bystander_flags, bystanders),
            "detectable_median": statistics.median(detects) if detects else None,
            "detectable_p90": detects[int(0.9 * (len(detects) - 1))] if detects else None,
            "sizes": sizes}


def slowed_by(spec: str, row) -> bool:
    """Whether SESSIONBENCH_TEST_SLOWDOWN=`spec` slowed the benchmark of compare's `row` (either form:
    a whole workload, or its cases whose variant has the axis values in brackets)."""
    for target in injected.parse_targets(spec):
        if target.workload != row.workload or not target.value or float(target.value) <= 0:
            continue
        if not target.where or target.matches(row.workload, Variant.parse(row.variant or "")):
            return True
    return False


def size_of(row) -> dict:
    """A slowed benchmark's measured size (compare's ratio: head over base, geometric means of the
    runs) beside whether compare caught it."""
    return {"workload": row.workload, "param": row.param or "", "variant": row.variant or "",
            "ratio": row.ratio, "caught": row.verdict == "regression"}


def size_lines(sizes: list[dict], slowdown: float) -> list[str]:
    """Per workload and parameter: the slowed benchmarks' measured sizes and how many were caught, and
    the catch rate split at 1 + slowdown - 0.07 (a regression measured smaller than that is not the
    one the rate is about)."""
    if not sizes:
        return []
    low = 1 + slowdown - 0.07
    lines = [f"Each slowed benchmark's measured size (head / base, geometric means of the runs) beside "
             f"whether it was caught, slowdown {slowdown:g}:", "",
             "| workload | param | benchmarks | measured ratio: median (min-max) | caught |", "|---|---|---:|---|---|"]
    groups: dict[tuple, list] = {}
    for size in sizes:
        groups.setdefault((size["workload"], size["param"]), []).append(size)
    for (workload, param), own in groups.items():
        ratios = sorted(s["ratio"] for s in own)
        lines.append(f"| {workload} | {param or '-'} | {len(own)} | {statistics.median(ratios):.3f} "
                     f"({ratios[0]:.3f}-{ratios[-1]:.3f}) | {sum(s['caught'] for s in own)}/{len(own)} |")
    big = [s for s in sizes if s["ratio"] >= low]
    small = [s for s in sizes if s["ratio"] < low]
    ratios = [s["ratio"] for s in sizes]
    lines += ["", f"All {len(sizes)}: measured ratio median {statistics.median(ratios):.3f} "
                  f"({min(ratios):.3f}-{max(ratios):.3f}); measured at {low:.2f} or more: "
                  f"{sum(s['caught'] for s in big)}/{len(big)} caught; below: {sum(s['caught'] for s in small)}/{len(small)} caught."]
    return lines


def measure_size(options) -> dict:
    """`--per-side` unchanged and as many slowed runs, alternated as CI runs base and head, with
    SESSIONBENCH_TEST_SLOWDOWN=`options.slowed` (stored in <work>/size.json; runs already stored are
    kept, so a series can be finished later)."""
    stored = Path(options.work) / "size.json"
    done = json.loads(stored.read_text()) if stored.is_file() else {"spec": options.slowed, "base": [], "new": []}
    if done["spec"] != options.slowed:
        raise SystemExit(f"{stored} holds runs slowed by {done['spec']!r}, not {options.slowed!r}: use another --work")
    for k in range(len(done["new"]), options.per_side):
        if len(done["base"]) == k:
            done["base"].append(str(one_run(options.workloads, Path(options.work) / f"SIZE-A{k}")))
        done["new"].append(str(one_run(options.workloads, Path(options.work) / f"SIZE-B{k}",
                                       {"SESSIONBENCH_TEST_SLOWDOWN": options.slowed})))
        stored.write_text(json.dumps(done, indent=1))
    return done


def size_report(done: dict, options, title: str) -> str:
    """The measured size of every slowed benchmark, against the slowdown it was given: each within
    +/-0.07 of it, their median within +/-0.03; and the bystanders compare flagged."""
    per_side = min(len(done["base"]), len(done["new"]))
    rows = compare_module.compare_runs([results.read(Path(p)) for p in done["base"][:per_side]],
                                       [results.read(Path(p)) for p in done["new"][:per_side]])
    slowed = sorted((r for r in rows if slowed_by(done["spec"], r)), key=lambda r: (r.workload, r.param or "", r.variant or ""))
    targets = injected.parse_targets(done["spec"])
    aimed = {float(t.value) for t in targets if t.value}
    goal = 1 + (aimed.pop() if len(aimed) == 1 else options.slowdown)
    lines = [f"### {title}", "",
             f"Measured {datetime.date.today()} by `python -m tools.error_rates {' '.join(options.argv)}` on "
             f"{os.cpu_count()} cores, Python {platform.python_version()}, embedded PostgreSQL, Linux {platform.release()}"
             f"{', one busy process per core beside every run' if options.busy else ''}. {per_side} unchanged and "
             f"{per_side} slowed runs (`SESSIONBENCH_TEST_SLOWDOWN={done['spec']}`), alternated, each "
             f"`sessionbench run --only workload={options.workloads}`; ratio = compare's head / base (geometric "
             "means of the runs), wall time.", "",
             "| benchmark | measured ratio | within ±0.07 of the aim | compare |", "|---|---:|---|---|"]
    for row in slowed:
        lines.append(f"| {row.workload} {row.param or ''} {row.variant} | {row.ratio:.3f} | "
                     f"{'yes' if abs(row.ratio - goal) <= 0.07 else 'NO'} | {row.verdict} |")
    if slowed:
        ratios = [r.ratio for r in slowed]
        middle = statistics.median(ratios)
        within = sum(abs(r - goal) <= 0.07 for r in ratios)
        bystanders = [r for r in rows if not slowed_by(done["spec"], r)]
        lines += ["", f"Aim {goal:.2f}: {within}/{len(ratios)} within ±0.07, median {middle:.3f} "
                      f"({'within' if abs(middle - goal) <= 0.03 else 'NOT within'} ±0.03), range "
                      f"{min(ratios):.3f}-{max(ratios):.3f}; caught {sum(r.verdict == 'regression' for r in slowed)}/"
                      f"{len(slowed)}; bystanders flagged {sum(r.verdict != 'no change' for r in bystanders)}/{len(bystanders)}."]
    return "\n".join(lines)


def injected_log_summary(records: list[dict]) -> str:
    """Per slowed case, from SESSIONBENCH_TEST_SLOWDOWN_LOG lines: what the work took against what
    was aimed at, and against `fraction` x the round's own time (before the work and after it), the
    server part's time against its aim. Medians with the range over the case's timed rounds."""
    def spread(values: list[float]) -> str:
        return f"{statistics.median(values):.3f} ({min(values):.3f}-{max(values):.3f})" if values else "-"

    cases: dict[str, list] = {}
    for record in records:
        cases.setdefault(record["case"], []).append(record)
    lines = ["| case | rounds | work / aim | work / (fraction x own round) | server part / its aim |",
             "|---|---:|---|---|---|"]
    for case, rounds in cases.items():
        aim = [r["injected_s"] / r["aimed_s"] for r in rounds if r["aimed_s"] > 0]
        own = [r["injected_s"] / (r["fraction"] * (r["elapsed_s"] + r["tail_s"])) for r in rounds]
        server = [r["server_s"] / r["server_aimed_s"] for r in rounds if r.get("server_s")]
        lines.append(f"| {case} | {len(rounds)} | {spread(aim)} | {spread(own)} | {spread(server)} |")
    return "\n".join(lines)


def run_effects(result: dict) -> dict:
    """Per workload: how far a whole run moves it (standard deviation of the run effect, the mean over
    the workload's benchmarks of log time less the series median) and how much that effect carries
    over to the next run (lag-1 autocorrelation), from the series' unchanged runs."""
    docs = [results.read(p) for p in result["runs"]]
    indexed = [compare_module.index_benchmarks(doc, "series") for doc in docs]
    keys = [k for k in indexed[0] if all(k in i for i in indexed)]
    logs = {k: [math.log(compare_module.geomean(results.trial_values(i[k]))) for i in indexed] for k in keys}
    out = {}
    for workload in dict.fromkeys(k[0] for k in keys):
        own = [k for k in keys if k[0] == workload]
        effect = [statistics.fmean(logs[k][r] - statistics.median(logs[k]) for k in own) for r in range(len(docs))]
        mean = statistics.fmean(effect)
        lag1 = (sum((a - mean) * (b - mean) for a, b in zip(effect, effect[1:]))
                / sum((a - mean) ** 2 for a in effect))
        out[workload] = {"sd": statistics.stdev(effect), "lag1": lag1}
    return out


def headline_windows(result: dict, window: int = 5, within: float = 0.10, pooled: int = 1) -> dict:
    """Each headline ratio recomputed from every unchanged run's stored trials, as the geometric mean
    and as the median of the per-trial ratios: windows of `window` consecutive runs within ±`within`
    of the window's median, and the worst move. With `pooled` > 1, each reading is a report over
    that many consecutive runs (the median of their ratios, as the report pools runs), and a window
    holds `window` reports that share no run. A headline some run did not measure is left out."""
    indexed = [{(b["extra_info"].get("workload"), b["extra_info"].get("param") or "", b["extra_info"].get("variant")): b
                for b in results.read(p)["benchmarks"] if not results.under_load(b)} for p in result["runs"]]
    out = {}
    for name, (workload, param, variant, inverted) in HEADLINES.items():
        if not all((workload, param, "baseline") in rows and (workload, param, variant) in rows for rows in indexed):
            continue
        logs = {"geometric mean": [], "median": []}
        for rows in indexed:
            base, new = rows[(workload, param, "baseline")], rows[(workload, param, variant)]
            per_trial = [math.log(n / b) * (-1 if inverted else 1)
                         for b, n in zip(results.trial_values(base), results.trial_values(new))]
            logs["geometric mean"].append(statistics.fmean(per_trial))
            logs["median"].append(statistics.median(per_trial))
        out[name] = {}
        for estimator, values in logs.items():
            per_run = [math.exp(v) for v in values]
            reports = [statistics.median(per_run[i:i + pooled]) for i in range(len(per_run) - pooled + 1)]
            readings = [reports[i::pooled][:window] for i in range(len(reports) - pooled * (window - 1))]
            moves = [max(abs(r / statistics.median(group) - 1) for r in group) for group in readings]
            out[name][estimator] = {"held": sum(m <= within for m in moves), "windows": len(moves), "worst": max(moves)}
    return out


def pairing_rates(result: dict, per_side: int, split=None, pair_up: bool = True, interpolate: bool = False) -> dict:
    """A/A windows and A/B blocks at `per_side` runs a side, with compare's pairing on or off (or
    each head against the base runs either side, `interpolate`), and the A/A windows split by
    `split` (default `ci_order`), pairing from `per_side` pairs."""
    runs = [results.read(p) for p in result["runs"]]
    exits = flags = seen = windows = 0
    for rows in _window_rows(runs, per_side, split, pair_up, interpolate, min_pairs=per_side):
        windows += 1
        exits += compare_module.has_regression(rows)
        flags += sum(row.verdict != "no change" for row in rows)
        seen += len(rows)
    caught = slowed = 0
    for block, rows in _block_rows(result, per_side, pair_up, interpolate, min_pairs=per_side):
        caught += sum(row.verdict == "regression" for row in rows if row.workload in block["slowed"])
        slowed += sum(row.workload in block["slowed"] for row in rows)
    return {"aa_exit": (exits, windows), "aa_flags": (flags, seen), "ab_caught": (caught, slowed)}


SPREAD_FACTORS = (1.2, 1.3, 1.4, 1.5, 1.8, 2.1)


def one_file_rates(result: dict, factor: float | None) -> dict:
    """One file per side, in process, with compare's spread between runs at `factor` times a run's
    median trial spread (at least RUN_SPREAD), or None for RUN_SPREAD alone: the A/A pairs of
    consecutive unchanged runs and the slowed runs against the unchanged run before them."""
    runs = [results.read(Path(p)) for p in result["runs"]]
    rule = {"run_spread_per_trial_spread": 0.0 if factor is None else factor}
    exits = flags = seen = caught = slowed = 0
    for a, b in zip(runs, runs[1:]):
        rows = compare_module.compare_runs(a, b, **rule)
        exits += compare_module.has_regression(rows)
        flags += sum(row.verdict != "no change" for row in rows)
        seen += len(rows)
    for slow in result["slow"]:
        rows = compare_module.compare_runs(runs[slow["base"]], results.read(Path(slow["path"])), **rule)
        own = [row for row in rows if row.workload == slow["workload"]]
        caught += sum(row.verdict == "regression" for row in own)
        slowed += len(own)
    return {"aa_exit": (exits, len(runs) - 1), "aa_flags": (flags, seen), "ab_caught": (caught, slowed)}


def spread_evidence(result: dict) -> str:
    """How the spread between runs relates to a run's own trial spread, and what each factor of
    compare's one-file rule would have done on this series."""
    paths = [Path(p) for p in result["runs"]]
    within = statistics.median(compare_module.trial_spread(results.read(p)) for p in paths)
    between = run_spread(paths)["median"]
    lines = ["| runs' median trial spread (log) | spread between runs (median, log) | ratio |", "|---:|---:|---:|",
             f"| {within:.3f} | {between:.3f} | {between / within:.2f} |", "",
             "| one file per side: spread between runs | A/A exits 1 | A/A benchmarks flagged | A/B caught |",
             "|---|---|---|---|"]
    for factor in (None, *SPREAD_FACTORS):
        rates = one_file_rates(result, factor)
        name = f"RUN_SPREAD {compare_module.RUN_SPREAD} alone" if factor is None else f"{factor} x trial spread"
        lines.append(f"| {name} | " + " | ".join("%d/%d" % rates[k] for k in ("aa_exit", "aa_flags", "ab_caught")) + " |")
    return "\n".join(lines)


def abba_order(window: list) -> tuple[list, list]:
    """Base-head, head-base, ...: the order `ci_order` explains it does not use."""
    firsts, seconds = window[0::2], window[1::2]
    return ([pair[j % 2] for j, pair in enumerate(zip(firsts, seconds))],
            [pair[1 - j % 2] for j, pair in enumerate(zip(firsts, seconds))])


def analyze(result: dict) -> str:
    """The evidence behind compare's pairing, its MIN_PAIRS, the median ratio and the one-file spread
    between runs, for one stored series."""
    lines = [spread_evidence(result), "", "| workload | run effect (sd, log) | lag-1 autocorrelation |", "|---|---:|---:|"]
    lines += [f"| {w} | {e['sd']:.3f} | {e['lag1']:+.2f} |" for w, e in run_effects(result).items()]
    lines += ["", "| runs per side | split | compare | A/A windows exiting 1 | A/A benchmarks flagged | A/B caught |",
              "|---:|---|---|---|---|---|"]
    for per_side in (3, 4, 5):
        for split, pair_up, interpolate in ((ci_order, False, False), (ci_order, True, False),
                                            (ci_order, True, True), (abba_order, True, False)):
            rates = pairing_rates(result, per_side, split, pair_up, interpolate)
            caught = "%d/%d" % rates["ab_caught"] if split is ci_order else "- (blocks ran ABAB)"
            how = "interpolated" if interpolate else "paired" if pair_up else "unpaired"
            lines.append(f"| {per_side} | {'ABAB' if split is ci_order else 'ABBA'} | {how} | "
                         + " | ".join(f"{a}/{b}" for a, b in (rates["aa_exit"], rates["aa_flags"])) + f" | {caught} |")
    lines += ["", "| headline ratio | geometric mean: windows within ±10% (worst) | median: windows within ±10% (worst) |",
              "|---|---|---|"]
    for name, by in headline_windows(result).items():
        lines.append(f"| {name} | " + " | ".join(f"{v['held']}/{v['windows']} ({v['worst'] * 100:.1f}%)" for v in by.values()) + " |")
    lines += ["", "| headline ratio, reports over 3 consecutive runs each | geometric mean: windows of 5 reports within "
              "±10% (worst) | median: windows within ±10% (worst) |", "|---|---|---|"]
    for name, by in headline_windows(result, pooled=3).items():
        lines.append(f"| {name} | " + " | ".join(f"{v['held']}/{v['windows']} ({v['worst'] * 100:.1f}%)" for v in by.values()) + " |")
    return "\n".join(lines)


def _bound(hits: int, total: int) -> str:
    return f"{hits}/{total}, upper bound {clopper_pearson_upper(hits, total) * 100:.1f}%" if total else "-"


def gate_rates(aa: list[dict], ab: list[dict]) -> dict:
    """Counts behind the error rates of one metric's comparisons."""
    slowed = [r for c in ab for r in c["rows"] if r["workload"] == c["slowed"]]
    bystanders = [r for c in ab for r in c["rows"] if r["workload"] != c["slowed"]]
    detectable = sorted(r["detectable"] for c in aa for r in c["rows"] if r["detectable"] is not None)
    by_workload: dict[str, list] = {}
    for c in aa:
        for r in c["rows"]:
            if r["detectable"] is not None:
                by_workload.setdefault(r["workload"], []).append(r["detectable"])
    return {
        "aa_exit": (sum(c["exit"] == 1 for c in aa), len(aa)),
        "aa_flags": (sum(r["verdict"] != "no change" for c in aa for r in c["rows"]), sum(len(c["rows"]) for c in aa)),
        "ab_caught": (sum(r["verdict"] == "regression" for r in slowed), len(slowed)),
        "ab_bystanders": (sum(r["verdict"] != "no change" for r in bystanders), len(bystanders)),
        "detectable_median": statistics.median(detectable) if detectable else None,
        "detectable_p90": detectable[int(0.9 * (len(detectable) - 1))] if detectable else None,
        "detectable_by_workload": {w: statistics.median(v) for w, v in sorted(by_workload.items())},
    }


def _spreads(result: dict) -> dict:
    spread = result["spread"]
    if "median" in spread:  # a series stored before spreads were kept per metric
        spread = {"wall": spread}
    if len(spread) < len(METRICS):
        spread = {m: run_spread([Path(p) for p in result["runs"]], m) for m in METRICS}
    return spread


def _pct(value) -> str:
    return "-" if value is None else f"{value * 100:.0f}%"


def summarize(result: dict, options, title: str) -> str:
    lines = [
        f"### {title}",
        "",
        f"Measured {datetime.date.today()} by `python -m tools.error_rates {' '.join(options.argv)}` on "
        f"{os.cpu_count()} cores, Python {platform.python_version()}, embedded PostgreSQL, Linux {platform.release()}"
        f"{', one busy process per core beside every run' if options.busy else ', machine otherwise idle'}. "
        f"Each run: `sessionbench run --only workload={options.workloads}` at default settings; `compare` at "
        f"threshold {options.threshold}, one results file per side. {len(result['runs'])} unchanged runs "
        f"({len(result['runs']) - 1} A/A pairs), {len(result['ab']['wall'])} runs with one workload 25% slower, "
        f"1 with an extra statement; {result['seconds'] // 60} minutes. Counts with their Clopper-Pearson 95% "
        "upper bound; each metric is compared on the same runs.",
        "",
        "| compare `--metric` | A/A: compare exits 1 | A/A: benchmarks flagged | A/B: slowed benchmarks caught "
        "| A/B: bystanders flagged | detects (median / 90th pct.) |",
        "|---|---|---|---|---|---|",
    ]
    for metric in METRICS:
        rates = gate_rates(result["aa"][metric], result["ab"][metric])
        lines.append(f"| {metric} | {_bound(*rates['aa_exit'])} | {_bound(*rates['aa_flags'])} | "
                     f"{_bound(*rates['ab_caught'])} | {_bound(*rates['ab_bystanders'])} | "
                     f"{_pct(rates['detectable_median'])} / {_pct(rates['detectable_p90'])} |")
    wall = gate_rates(result["aa"]["wall"], result["ab"]["wall"])
    check_fail = sum(c != 0 for c in result["check_aa"])
    taken = statistics.median(compare_module.run_spread([results.read(Path(p))]) for p in result["runs"])
    lines += [
        "",
        f"`check` (statement budgets and plans): unchanged code failed {_bound(check_fail, len(result['check_aa']))}; "
        f"one extra statement per round {'was caught' if result['check_extra'] == 1 else 'was NOT caught'}.",
        "",
        "Smallest slowdown flagged 95% of the time by workload (wall, median over the A/A comparisons): "
        + ", ".join(f"{w} {_pct(v)}" for w, v in wall["detectable_by_workload"].items()) + ".",
        "",
        "Spread between runs that trials do not show (log scale): "
        + "; ".join(f"{m} median {v['median']:.3f}, 90th percentile {v['p90']:.3f}, largest {v['max']:.3f}"
                    for m, v in _spreads(result).items())
        + f". One file per side, compare takes {compare_module.RUN_SPREAD_PER_TRIAL_SPREAD} times a run's median "
        f"trial spread, at least {compare_module.RUN_SPREAD} (wall, median over these runs {taken:.3f}).",
        "",
        "Headline ratios, wall time, measured side by side in each run:",
        "",
        "| ratio | first five runs | all runs | largest move from the median |",
        "|---|---|---|---:|",
    ]
    for name in HEADLINES:
        values = [h[name] for h in result["headlines"] if name in h]
        if not values:
            continue
        middle = statistics.median(values)
        move = max(abs(v / middle - 1) for v in values)
        lines.append(f"| {name} | {' '.join(f'{v:.2f}' for v in values[:5])} | {min(values):.2f}-{max(values):.2f} "
                     f"(median {middle:.2f}) | {move * 100:.1f}% |")
    lines += [
        "",
        "With several runs per side, as the CI workflow compares (base and head alternating, compared pair by pair "
        "from five pairs, each benchmark's spread moderated by its workload's), wall time: A/A "
        "on every window of 2 x N consecutive unchanged runs of this series, split in that order; A/B on blocks of N "
        "unchanged and N slowed runs added after it (`--blocks`, `--per-side N`), alternating, each slowing every "
        "workload but one. "
        f"The CI workflow uses N = {PER_SIDE}. Windows share runs, so these are rates without bounds.",
        "",
        "| runs per side | A/A windows: compare exits 1 | A/A: benchmarks flagged | A/B blocks | A/B: slowed benchmarks "
        "caught | A/B: bystanders flagged | detects (median / 90th pct.) |",
        "|---:|---|---|---:|---|---|---|",
    ]
    for per_side in sorted({PER_SIDE} | {len(block["base"]) for block in result.get("blocks", [])}):
        several = several_per_side(result, per_side)
        counts = {key: f"{several[key][0]}/{several[key][1]}"
                  for key in ("aa_exit", "aa_flags", "ab_caught", "ab_bystanders")}
        lines.append(f"| {per_side} | {counts['aa_exit']} | {counts['aa_flags']} | {several['blocks']} | "
                     f"{counts['ab_caught']} | {counts['ab_bystanders']} | "
                     f"{_pct(several['detectable_median'])} / {_pct(several['detectable_p90'])} |")
    for per_side in sorted({len(block["base"]) for block in result.get("blocks", [])}):
        sizes = several_per_side(result, per_side)["sizes"]
        if sizes:
            lines += ["", f"At {per_side} runs per side. " + "\n".join(size_lines(sizes, options.slowdown))]
    slowed = ", ".join(f"{c['slowed']} ({sum(r['verdict'] == 'regression' for r in c['rows'] if r['workload'] == c['slowed'])}/"
                       f"{sum(r['workload'] == c['slowed'] for r in c['rows'])})" for c in result["ab"]["wall"])
    lines += ["", f"Slowed workloads, drawn at random, with the benchmarks wall time caught: {slowed}.", ""]
    one_file = one_file_sizes(result["ab"]["wall"])
    if one_file:
        lines += ["One file per side. " + "\n".join(size_lines(one_file, options.slowdown)), ""]
    return "\n".join(lines)


def one_file_sizes(comparisons: list[dict]) -> list[dict]:
    """size_of for the slowed workload's rows of each stored one-file A/B comparison."""
    return [{"workload": r["workload"], "param": r["param"] or "", "variant": r["variant"] or "", "ratio": r["ratio"],
             "caught": r["verdict"] == "regression"} for c in comparisons for r in c["rows"] if r["workload"] == c["slowed"]]


def write_doc(path: Path, section: str, block: str) -> None:
    begin, end = f"<!-- error-rates:{section}:begin -->", f"<!-- error-rates:{section}:end -->"
    text = path.read_text() if path.exists() else "# Error rates of the gates\n"
    if begin in text and end in text:
        head, rest = text.split(begin, 1)
        text = head + begin + "\n" + block + "\n" + end + rest.split(end, 1)[1]
    else:
        text = text.rstrip("\n") + f"\n\n{begin}\n{block}\n{end}\n"
    temp = path.with_name(f".{path.name}.tmp")
    temp.write_text(text)
    os.replace(temp, path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.error_rates", description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=31, help="unchanged runs; consecutive pairs are the A/A tests")
    parser.add_argument("--slow-runs", type=int, default=8, help="runs with one workload slowed down")
    parser.add_argument("--slowdown", type=float, default=0.25)
    parser.add_argument("--workloads", default=DEFAULT_WORKLOADS, help="the --only workload=... subset")
    parser.add_argument("--threshold", default="10%")
    parser.add_argument("--busy", action="store_true", help="one CPU-bound process per core beside the runs")
    parser.add_argument("--seed", type=int, default=1, help="seed for which workload is slowed")
    parser.add_argument("--work", default="error-rates-runs", help="folder for the runs and series.json")
    parser.add_argument("--doc", default=str(ROOT / "docs" / "error-rates.md"))
    parser.add_argument("--replay", action="store_true",
                        help="compare the runs stored in --work again (after changing compare), without new runs")
    parser.add_argument("--blocks", type=int, default=0, metavar="N",
                        help="with --replay: first add N blocks of --per-side unchanged and as many slowed runs, "
                             "alternating, for the several-per-side A/B, under the same --busy condition")
    parser.add_argument("--analyze", action="store_true",
                        help="print the evidence behind compare's one-file spread between runs, its pairing and the "
                             "median ratio for the series in --work (trial spread against spread between runs, "
                             "each factor's error rates, run effects, paired against unpaired, headline windows); "
                             "no runs, no doc")
    parser.add_argument("--per-side", type=int, default=PER_SIDE, metavar="N",
                        help=f"runs per side of each block --blocks adds (default {PER_SIDE}, as the CI workflow)")
    parser.add_argument("--size", action="store_true",
                        help="only the injected slowdown's measured size: --per-side unchanged and as many slowed "
                             "runs, alternated, then each slowed benchmark's ratio against the aim (section "
                             "size-idle or size-busy of --doc); runs stored in --work are kept and finished")
    parser.add_argument("--slowed", metavar="SPEC",
                        help="with --size: the SESSIONBENCH_TEST_SLOWDOWN value (default: the first of --workloads "
                             "at --slowdown), e.g. 'dashboard[loading=selectin]=0.25'")
    parser.add_argument("--injected-log", metavar="FILE",
                        help="summarise a SESSIONBENCH_TEST_SLOWDOWN_LOG file per case (no runs, no doc)")
    options = parser.parse_args(argv)
    options.argv = list(argv if argv is not None else sys.argv[1:])
    if options.injected_log:
        print(injected_log_summary([json.loads(line) for line in Path(options.injected_log).read_text().splitlines()
                                    if line.strip()]))
        return 0
    if options.size:
        options.slowed = options.slowed or f"{options.workloads.split(',')[0]}={options.slowdown}"
        injected.parse_targets(options.slowed)  # a misspelt spec stops here, before any run
        Path(options.work).mkdir(parents=True, exist_ok=True)
        with busy(os.cpu_count() or 1) if options.busy else contextlib.nullcontext():
            done = measure_size(options)
        title = ("Injected slowdown's measured size, busy: one CPU-bound process per core beside the runs"
                 if options.busy else "Injected slowdown's measured size, idle machine")
        block = size_report(done, options, title)
        write_doc(Path(options.doc), "size-busy" if options.busy else "size-idle", block)
        print(block)
        return 0
    if options.blocks and not options.replay:
        parser.error("--blocks adds runs to a stored series: use it with --replay")
    if options.per_side < 1:
        parser.error("--per-side needs at least 1 run per side")
    if options.analyze:
        stored = Path(options.work) / "series.json"
        if not stored.is_file():
            parser.error(f"--analyze reads a stored series: {stored} does not exist")
        print(analyze(json.loads(stored.read_text())))
        return 0
    section = "busy" if options.busy else "idle"
    Path(options.work).mkdir(parents=True, exist_ok=True)
    stored = Path(options.work) / "series.json"
    if options.replay:
        result = json.loads(stored.read_text())
        if options.blocks:
            with busy(os.cpu_count() or 1) if options.busy else contextlib.nullcontext():
                result = blocks(result, options)
        result = replay(result, options)
    else:
        with busy(os.cpu_count() or 1) if options.busy else contextlib.nullcontext():
            result = series(options)
    stored.write_text(json.dumps(result, indent=1, default=str))
    title = "Busy: one CPU-bound process per core beside the runs" if options.busy else "Idle machine"
    block = summarize(result, options, title)
    write_doc(Path(options.doc), section, block)
    print(block)
    print(f"written to {options.doc} ({section} section) and {options.work}/series.json", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
