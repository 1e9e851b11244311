"""How one ratio measured in several runs becomes one: the rule a pooled report and a pooled decision
read several results files by (pure Python, no pandas, so the command line can say it in its help)."""

from __future__ import annotations

import math
import statistics

from bench.analysis.distributions import t_quantile


def combine(per_run: list[tuple[float, float | None, float | None]]) -> tuple[float, float | None, float | None]:
    """One ratio from the same ratio measured in several runs, each (ratio, low, high): how a pooled report
    and a pooled decision read several results files.

    The value is the median of the runs' ratios (an odd run moves it by one rank). The interval treats
    the run as the unit, as `compare` does with several files per side: from three runs, the Student-t
    95% interval of the runs' log ratios (df = runs - 1), which narrows as agreeing runs are added and
    widens when they disagree, so more data can settle a ratio no single run could; from two runs (a
    t-interval on one degree of freedom is too wide to use), the span of both runs' intervals. A run
    without an interval gives the pool none."""
    if not per_run:
        raise ValueError("combine() needs at least one run's ratio")
    values = [float(r[0]) for r in per_run]
    value = statistics.median(values)
    if len(per_run) == 1:
        return per_run[0]
    if any(r[1] is None or r[2] is None for r in per_run) or min(values) <= 0:
        return value, None, None
    if len(per_run) == 2:
        return value, min(r[1] for r in per_run), max(r[2] for r in per_run)
    logs = [math.log(v) for v in values]
    half = t_quantile(0.975, len(logs) - 1) * statistics.stdev(logs) / math.sqrt(len(logs))
    mean = statistics.fmean(logs)
    return value, math.exp(mean - half), math.exp(mean + half)


# How several results files become one ratio (`combine`), said once for the help, the page and the decision.
POOLED = ("each ratio is the median of the runs' ratios, its interval over the runs (from three runs a Student-t "
          "interval over their ratios, narrowing as agreeing runs are added; from two, the span of both runs' "
          "intervals)")


def pooled_how(runs: int) -> str:
    """How `combine` obtained a pooled interval, in words."""
    if runs <= 1:
        return ""
    if runs == 2:
        return "pooled over 2 runs: the span of both runs' intervals"
    return f"pooled over {runs} runs: Student-t over the runs' ratios"
