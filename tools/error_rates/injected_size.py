"""The injected slowdown itself: which benchmarks a SESSIONBENCH_TEST_SLOWDOWN spec slowed, how big
the slowdown measured beside whether compare caught it, and what each slowed round's injected work
took against its aim (SESSIONBENCH_TEST_SLOWDOWN_LOG)."""

from __future__ import annotations

import datetime
import json
import math
import os
import platform
import statistics
from pathlib import Path

from bench import results
from bench.gate import compare, rule
from bench.measure import injected
from models_variants import Variant


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


def one_file_sizes(comparisons: list[dict]) -> list[dict]:
    """size_of for the slowed workload's rows of each stored one-file A/B comparison."""
    return [{"workload": r["workload"], "param": r["param"] or "", "variant": r["variant"] or "", "ratio": r["ratio"],
             "caught": r["verdict"] == "regression"} for c in comparisons for r in c["rows"] if r["workload"] == c["slowed"]]


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


def size_report(done: dict, options, title: str) -> str:
    """The measured size of every slowed benchmark, against the slowdown it was given: each within
    +/-0.07 of it, their median within +/-0.03; and the bystanders compare flagged."""
    per_side = min(len(done["base"]), len(done["new"]))
    metric = getattr(options, "metric", "wall")
    rows = compare.compare_runs([results.read(Path(p)) for p in done["base"][:per_side]],
                                [results.read(Path(p)) for p in done["new"][:per_side]], metric=metric)
    slowed = sorted((r for r in rows if slowed_by(done["spec"], r)), key=lambda r: (r.workload, r.param or "", r.variant or ""))
    targets = injected.parse_targets(done["spec"])
    aimed = {float(t.value) for t in targets if t.value}
    goal = 1 + (aimed.pop() if len(aimed) == 1 else options.slowdown)
    lines = [f"### {title}", "",
             f"Measured {datetime.date.today()} by `python -m tools.error_rates {' '.join(options.argv)}` on "
             f"{os.cpu_count()} cores, Python {platform.python_version()}, embedded PostgreSQL, Linux {platform.release()}"
             f"{', one busy process per core beside every run' if options.busy else ''}. {per_side} unchanged and "
             f"{per_side} {'slowed' if slowed else 'also unchanged'} runs (`SESSIONBENCH_TEST_SLOWDOWN={done['spec']}`), "
             "alternated"
             f"{_parts_words(done.get('parts', 1))}, each "
             f"`sessionbench run --only workload={options.workloads}`; ratio = compare's head / base (geometric "
             f"means of the runs), {compare.METRIC_WORDS[metric] if metric != 'wall' else 'wall time'}."]
    if not slowed:  # a fraction of 0 slows nothing: an A/A at the same schedule, every benchmark unchanged
        detects = sorted(r.detectable for r in rows if r.detectable is not None)
        lines += ["", f"Nothing slowed (A/A): compare exits {int(rule.has_regression(rows))}; flagged "
                      f"{sum(r.verdict != 'no change' for r in rows)}/{len(rows)} benchmarks"
                      + (f"; detects {statistics.median(detects):.0%} (median benchmark)" if detects else "") + "."]
        return "\n".join(lines)
    lines += ["", "| benchmark | measured ratio | within ±0.07 of the aim | compare |", "|---|---:|---|---|"]
    for row in slowed:
        lines.append(f"| {row.workload} {row.param or ''} {row.variant} | {row.ratio:.3f} | "
                     f"{'yes' if abs(row.ratio - goal) <= 0.07 else 'NO'} | {row.verdict} |")
    ratios = [r.ratio for r in slowed]
    middle = statistics.median(ratios)
    within = sum(abs(r - goal) <= 0.07 for r in ratios)
    bystanders = [r for r in rows if not slowed_by(done["spec"], r)]
    lines += ["", f"Aim {goal:.2f}: {within}/{len(ratios)} within ±0.07, median {middle:.3f} "
                  f"({'within' if abs(middle - goal) <= 0.03 else 'NOT within'} ±0.03), range "
                  f"{min(ratios):.3f}-{max(ratios):.3f}; caught {sum(r.verdict == 'regression' for r in slowed)}/"
                  f"{len(slowed)}; bystanders flagged {sum(r.verdict != 'no change' for r in bystanders)}/{len(bystanders)}."]
    logs = [Path(p) for p in done.get("logs", [])[:per_side]]
    if logs and all(p.is_file() for p in logs):
        records = [[json.loads(line) for line in p.read_text().splitlines() if line.strip()] for p in logs]
        base = round_medians([results.read(Path(p)) for p in done["base"][:per_side]])
        lines += decomposition_lines(rows, slowed, own_parts(records), base)
    return "\n".join(lines)


def _parts_words(parts: int) -> str:
    return (f" part by part (each run in {parts} parts, `run --shard K/{parts}`, merged: as `sessionbench continuous "
            f"--parts {parts}`)") if parts > 1 else ""


def _geometric_mean(values: list[float]) -> float:
    return math.exp(statistics.fmean(math.log(v) for v in values))


def _case_key(workload: str, param: str | None, variant: str | None) -> str:
    """The case's label as the injected log names it (bench.plan.cases: Case.id)."""
    return f"{workload}[{param or ''}]-{variant or 'baseline'}"


def round_medians(runs: list[dict]) -> dict[str, list[float]]:
    """Per case, each run's median timed round (all its rounds, every trial)."""
    medians: dict[str, list] = {}
    for run in runs:
        for bench in run["benchmarks"]:
            info, data = bench["extra_info"], bench.get("stats", {}).get("data")
            if data:
                medians.setdefault(_case_key(info["workload"], info["param"], info["variant"]), []).append(
                    statistics.median(data))
    return medians


def own_parts(logs: list[list[dict]]) -> dict[str, tuple[float, list[float]]]:
    """Per slowed case, from each slowed run's SESSIONBENCH_TEST_SLOWDOWN_LOG: the median over every
    logged round of (own part + work) / own part, the slowdown as each round took it; and each run's
    median own part (the round's time before and after the work), what the round took unslowed."""
    factors: dict[str, list] = {}
    own: dict[str, list] = {}
    for records in logs:
        per_case: dict[str, list] = {}
        for record in records:
            part = record["elapsed_s"] + record["tail_s"]
            per_case.setdefault(record["case"], []).append(part)
            factors.setdefault(record["case"], []).append((part + record["injected_s"]) / part)
        for case, parts in per_case.items():
            own.setdefault(case, []).append(statistics.median(parts))
    return {case: (statistics.median(factors[case]), parts) for case, parts in own.items()}


def decomposition_lines(rows, slowed_rows, parts: dict, base_medians: dict) -> list[str]:
    """What compare's ratio is made of: the slowdown each slowed round took (its own part and work,
    from the log), and how the own part of the slowed runs' rounds compares with the unslowed runs'
    rounds (per run the median round, geometric means over the runs): the runs' own speed."""
    inside, drift = [], []
    for row in slowed_rows:
        key = _case_key(row.workload, row.param, row.variant)
        if key in parts and base_medians.get(key):
            inside.append(parts[key][0])
            drift.append(_geometric_mean(parts[key][1]) / _geometric_mean(base_medians[key]))
    if not inside:
        return []
    bystanders = [r.ratio for r in rows if r not in slowed_rows and r.ratio]

    def spread(values):
        return f"{statistics.median(values):.3f} ({min(values):.3f}-{max(values):.3f})"
    return ["", f"What the ratio is made of ({len(inside)} slowed benchmarks, SESSIONBENCH_TEST_SLOWDOWN_LOG of the "
                f"slowed runs): per round, (own part + work) / own part {spread(inside)}; the slowed runs' own part "
                f"against the unslowed runs' round {spread(drift)}"
            + (f"; the unslowed bystanders' ratio {spread(bystanders)}" if bystanders else "") + "."]


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
