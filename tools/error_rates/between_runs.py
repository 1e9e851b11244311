"""What moves between separate runs of unchanged code: the spread their trials do not show, each
workload's run effect, and how steady the report's headline ratios stay from run to run.

Statistics of its own here, each because no public function of bench.analysis.stats or
bench.gate.compare gives the same number (their reasons are at each one)."""

from __future__ import annotations

import math
import statistics
from pathlib import Path

from bench import results
from bench.analysis import stats
from bench.gate import sides

# The headline ratios the report leads with: (workload, param, variant, whether the ratio is inverted)
HEADLINES = {
    "lazy / selectin, dashboard page 100": ("dashboard", "page_size=100", "loading=selectin", True),
    "json / bool_column, active_sync": ("active_sync", "", "sync_flag=bool_column", True),
    "soft / hard_orm, delete_session": ("delete_session", "", "deletion=soft", False),
}


def ninetieth(ordered: list[float]) -> float:
    """The 90th percentile the harness's tables give: the sorted value at rank int(0.9 (n - 1)), no
    interpolation. bench.analysis.stats has no 90th percentile (`summarize` gives the 95th and 99th,
    interpolated linearly by numpy), which would move these published numbers."""
    return ordered[int(0.9 * (len(ordered) - 1))]


def headline_ratios(path: Path) -> dict:
    out = {}
    for row in results.rows(results.read(path)):
        for name, (workload, param, variant, inverted) in HEADLINES.items():
            if (row["workload"], row["param"], row["variant"]) == (workload, param, variant) and row.get("ratio"):
                out[name] = 1 / row["ratio"] if inverted else row["ratio"]
    return out


def run_spread(paths: list[Path], metric: str = "wall") -> dict:
    """Spread between runs that trials within a run do not show: per benchmark, the variance of the
    runs' log geometric means minus what their trial spread alone explains (Kalibera & Jones).

    Not sides.run_spread, which is another quantity of the same name: the spread compare *assumes*
    for one file per side (a factor times a run's median trial spread, at least RUN_SPREAD); this one
    is the spread measured across a series, against which that rule is set. A run's log geometric
    mean is the mean of its log values (statistics.fmean), not log(stats.geomean(...)): that goes
    through a plain sum and exp and back, and differs in the last digits."""
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
    return {"median": statistics.median(spreads), "p90": ninetieth(spreads), "max": spreads[-1],
            "benchmarks": len(spreads)}


def run_effects(result: dict) -> dict:
    """Per workload: how far a whole run moves it (standard deviation of the run effect, the mean over
    the workload's benchmarks of log time less the series median) and how much that effect carries
    over to the next run (lag-1 autocorrelation), from the series' unchanged runs."""
    docs = [results.read(p) for p in result["runs"]]
    indexed = [sides.index_benchmarks(doc, "series") for doc in docs]
    keys = [k for k in indexed[0] if all(k in i for i in indexed)]
    logs = {k: [math.log(stats.geomean(results.trial_values(i[k]))) for i in indexed] for k in keys}
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
    holds `window` reports that share no run. A headline some run did not measure is left out.

    Both estimators are taken on the same per-trial log ratios, signed the way the headline is
    named. stats.paired_ratio is not used: it gives the median from six trials up and the geometric
    mean below, where this compares the two estimators at every trial count; and an inverted
    headline taken as 1 / paired_ratio differs from exp(-log) in the last digits."""
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
