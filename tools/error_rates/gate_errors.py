"""How often compare is wrong: A/A (unchanged code flagged) and A/B (an injected slowdown missed, a
bystander flagged), counted one file per side as stored by the series, several runs per side as the CI
workflow compares them, and with compare's rules set otherwise (pairing, MIN_PAIRS, the one-file
spread between runs) through compare_runs' arguments."""

from __future__ import annotations

import statistics
from pathlib import Path

from bench import results
from bench.gate import compare
from bench.gate import rule
from tools.error_rates.between_runs import ninetieth
from tools.error_rates.injected_size import size_of, slowed_by

PER_SIDE = 5  # runs per side of the CI workflow's compare (RUNS_PER_SIDE in .github/workflows/benchmarks.yml)
SPREAD_FACTORS = (1.2, 1.3, 1.4, 1.5, 1.8, 2.1)


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
        "detectable_p90": ninetieth(detectable) if detectable else None,
        "detectable_by_workload": {w: statistics.median(v) for w, v in sorted(by_workload.items())},
    }


def ci_order(window: list) -> tuple[list, list]:
    """Consecutive runs split into base and head as the CI workflow runs them: base, head, base, head ...

    Not base-head, head-base (ABBA), though that cancels a steady drift: a slow phase of the machine
    spans two runs often enough (run effects correlate +0.3 to +0.8 from one run to the next) that
    ABBA, which puts two runs of one side next to each other, flagged 3 of 22 busy A/A windows where
    this order flagged none (docs/error-rates.md)."""
    return window[0::2], window[1::2]


def abba_order(window: list) -> tuple[list, list]:
    """Base-head, head-base, ...: the order `ci_order` explains it does not use."""
    firsts, seconds = window[0::2], window[1::2]
    return ([pair[j % 2] for j, pair in enumerate(zip(firsts, seconds))],
            [pair[1 - j % 2] for j, pair in enumerate(zip(firsts, seconds))])


def _window_rows(runs: list, per_side: int, split=None, pair_up: bool = True, interpolate: bool = False,
                 min_pairs: int = rule.MIN_PAIRS):
    """Compare's rows for every window of 2 x per_side consecutive unchanged runs, split by `split`
    (default `ci_order`)."""
    split = split or ci_order
    for first in range(len(runs) - 2 * per_side + 1):
        yield compare.compare_runs(*split(runs[first:first + 2 * per_side]), pair_up=pair_up,
                                   interpolate=interpolate, min_pairs=min_pairs)


def _block_rows(result: dict, per_side: int, pair_up: bool = True, interpolate: bool = False,
                min_pairs: int = rule.MIN_PAIRS):
    """(block, compare's rows) for each alternated block of `per_side` runs a side."""
    for block in result.get("blocks", []):
        if len(block["base"]) == per_side:
            yield block, compare.compare_runs([results.read(p) for p in block["base"]],
                                              [results.read(p) for p in block["new"]], pair_up=pair_up,
                                              interpolate=interpolate, min_pairs=min_pairs)


def several_per_side(result: dict, per_side: int = PER_SIDE) -> dict:
    """`compare --base A1 .. A5 --new B1 .. B5` as the CI workflow runs it, base and head alternating.
    A/A: every window of 2 x per_side consecutive unchanged runs of the series, split as CI orders
    them (`ci_order`), which compare pairs run by run. A/B: each alternated block (`runner.blocks`) of
    per_side runs a side, its slowed workloads' benchmarks caught, the others' flagged. Windows share
    runs: these are rates without bounds."""
    runs = [results.read(p) for p in result["runs"]]
    exits = flags = rows_seen = windows = 0
    detects = []
    for rows in _window_rows(runs, per_side):
        windows += 1
        exits += rule.has_regression(rows)
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
            "detectable_p90": ninetieth(detects) if detects else None,
            "sizes": sizes}


def pairing_rates(result: dict, per_side: int, split=None, pair_up: bool = True, interpolate: bool = False) -> dict:
    """A/A windows and A/B blocks at `per_side` runs a side, with compare's pairing on or off (or
    each head against the base runs either side, `interpolate`), and the A/A windows split by
    `split` (default `ci_order`), pairing from `per_side` pairs."""
    runs = [results.read(p) for p in result["runs"]]
    exits = flags = seen = windows = 0
    for rows in _window_rows(runs, per_side, split, pair_up, interpolate, min_pairs=per_side):
        windows += 1
        exits += rule.has_regression(rows)
        flags += sum(row.verdict != "no change" for row in rows)
        seen += len(rows)
    caught = slowed = 0
    for block, rows in _block_rows(result, per_side, pair_up, interpolate, min_pairs=per_side):
        caught += sum(row.verdict == "regression" for row in rows if row.workload in block["slowed"])
        slowed += sum(row.workload in block["slowed"] for row in rows)
    return {"aa_exit": (exits, windows), "aa_flags": (flags, seen), "ab_caught": (caught, slowed)}


def one_file_rates(result: dict, factor: float | None) -> dict:
    """One file per side, in process, with compare's spread between runs at `factor` times a run's
    median trial spread (at least RUN_SPREAD), or None for RUN_SPREAD alone: the A/A pairs of
    consecutive unchanged runs and the slowed runs against the unchanged run before them."""
    runs = [results.read(Path(p)) for p in result["runs"]]
    params = {"run_spread_per_trial_spread": 0.0 if factor is None else factor}
    exits = flags = seen = caught = slowed = 0
    for a, b in zip(runs, runs[1:]):
        rows = compare.compare_runs(a, b, **params)
        exits += rule.has_regression(rows)
        flags += sum(row.verdict != "no change" for row in rows)
        seen += len(rows)
    for slow in result["slow"]:
        rows = compare.compare_runs(runs[slow["base"]], results.read(Path(slow["path"])), **params)
        own = [row for row in rows if row.workload == slow["workload"]]
        caught += sum(row.verdict == "regression" for row in own)
        slowed += len(own)
    return {"aa_exit": (exits, len(runs) - 1), "aa_flags": (flags, seen), "ab_caught": (caught, slowed)}
