"""The markdown the harness prints and writes: the idle or busy section of docs/error-rates.md for a
series, the `--analyze` tables, and a section written between its markers (text around them is kept)."""

from __future__ import annotations

import datetime
import os
import platform
import statistics
from pathlib import Path

from bench import results
from bench.analysis.distributions import clopper_pearson_upper
from bench.gate import sides
from bench.gate import rule
from tools.error_rates.between_runs import HEADLINES, headline_windows, run_effects, run_spread
from tools.error_rates.gate_errors import (PER_SIDE, SPREAD_FACTORS, abba_order, ci_order, gate_rates,
                                           one_file_rates, pairing_rates, several_per_side)
from tools.error_rates.injected_size import one_file_sizes, size_lines
from tools.error_rates.runner import METRICS


def _bound(hits: int, total: int) -> str:
    return f"{hits}/{total}, upper bound {clopper_pearson_upper(hits, total) * 100:.1f}%" if total else "-"


def _pct(value) -> str:
    return "-" if value is None else f"{value * 100:.0f}%"


def _spreads(result: dict) -> dict:
    """Each metric's spread between runs as the series stored it, recomputed when it lacks a metric."""
    spread = result["spread"]
    if "median" in spread:  # a series stored before spreads were kept per metric
        spread = {"wall": spread}
    if len(spread) < len(METRICS):
        spread = {m: run_spread([Path(p) for p in result["runs"]], m) for m in METRICS}
    return spread


def summarize(result: dict, options, title: str) -> str:
    """The idle or busy section for a stored series: one file per side per metric, `check`, the
    spread between runs, the headline ratios, several runs per side as CI, and the slowed sizes."""
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
    taken = statistics.median(sides.run_spread([results.read(Path(p))]) for p in result["runs"])
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
        + f". One file per side, compare takes {rule.RUN_SPREAD_PER_TRIAL_SPREAD} times a run's median "
        f"trial spread, at least {rule.RUN_SPREAD} (wall, median over these runs {taken:.3f}).",
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


def spread_evidence(result: dict) -> str:
    """How the spread between runs relates to a run's own trial spread, and what each factor of
    compare's one-file rule would have done on this series."""
    paths = [Path(p) for p in result["runs"]]
    within = statistics.median(sides.trial_spread(results.read(p)) for p in paths)
    between = run_spread(paths)["median"]
    lines = ["| runs' median trial spread (log) | spread between runs (median, log) | ratio |", "|---:|---:|---:|",
             f"| {within:.3f} | {between:.3f} | {between / within:.2f} |", "",
             "| one file per side: spread between runs | A/A exits 1 | A/A benchmarks flagged | A/B caught |",
             "|---|---|---|---|"]
    for factor in (None, *SPREAD_FACTORS):
        rates = one_file_rates(result, factor)
        name = f"RUN_SPREAD {rule.RUN_SPREAD} alone" if factor is None else f"{factor} x trial spread"
        lines.append(f"| {name} | " + " | ".join("%d/%d" % rates[k] for k in ("aa_exit", "aa_flags", "ab_caught")) + " |")
    return "\n".join(lines)


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


def write_doc(path: Path, section: str, block: str) -> None:
    """`block` between the markers of `section` in the page at `path` (added at its end the first time)."""
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
