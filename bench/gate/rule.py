"""Compare's rule: how a change in latency is judged, benchmark by benchmark, and the numbers that set it.

What the comparison can see depends on what it is given:
- one results file per side: the unit is the trial. Each file holds several trials per case,
  run interleaved with the other variants, so their spread covers the slow and fast phases of
  the machine during that run. It cannot show how two runs differ as a whole (another server
  start, another data load), so a spread between runs is added to the variance. How far runs
  move apart depends on how noisy the machine was, and a run's own trials show that: each side
  adds RUN_SPREAD_PER_TRIAL_SPREAD times its run's median trial spread, at least RUN_SPREAD
  (bench.gate.sides.run_spread; calibrated on stored idle and busy series: docs/compare-rule.md).
- two or more files per side: the unit is the run (each run's geometric mean of its trials),
  and the spread between runs is measured, not assumed. Five runs per side (as CI runs it) give
  each benchmark a variance with eight degrees of freedom, too few for an interval at a family-wise level,
  so each benchmark's variance is moderated by those of its workload's other benchmarks
  (empirical Bayes, as limma does for thousands of genes measured a few times each:
  stats.variance_prior), each workload's prior worth at most one benchmark per comparison group
  (a group's variants share the machine's shifts). Its error rates, idle and busy, at three and
  five runs per side: docs/error-rates.md.
- MIN_PAIRS or more runs per side taken base and new one after the other (by their `datetime`, as
  the CI workflow and asv's `continuous` run them: bench.gate.sides.pair_runs): the unit is the pair of runs.
  Each benchmark's ratio is the geometric mean of its pairs' ratios, with the spread of those ratios
  (moderated as above). A slow phase of the machine lasting a pair or longer falls on both of its
  runs and cancels; a steady drift adds one run's worth to every pair's estimate, which the
  threshold must still be beyond. (Each head run against the base runs either side of it cancels
  that drift, but on eight stored series it exited 1 in 2 of 176 A/A windows against the pairs' 1
  and caught fewer busy slowdowns: `interpolate`, docs/error-rates.md.) Unpaired, one busy block
  whose machine slowed by a quarter widened the dashboard's intervals to a 61% detection limit
  (docs/error-rates.md).

Across many benchmarks some would be flagged by chance alone; a CI job fails on one. The interval
of each benchmark is therefore widened so the chance that noise flags *any* benchmark of the
comparison as slower stays at FAMILY_ALPHA (Bonferroni over the benchmarks compared: each bound at
FAMILY_ALPHA / m, so the two-sided intervals together cover at 1 - 2 FAMILY_ALPHA at least). A
benchmark is a regression when that interval lies wholly above 1 (the change is real) and the
estimate is beyond 1 + threshold (the change matters), as asv's `compare` decides. Each row also
states the smallest slowdown it would have flagged 95% of the time.

The parameters below are the defaults of bench.gate.compare.compare_runs's keyword arguments.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from bench import results
from bench.analysis import distributions, stats
from bench.results import label_of as identity_label

FAMILY_ALPHA = 0.05
# Spread (standard deviation of log time) between separate runs of the same commit that trials
# within one run do not show. It grows with the machine's noise, which a run's trials show: over
# the stored series, idle and busy, it was 1.6 to 3.0 times the median spread of a run's trials
# (standard deviation of log trial values, per case). 1.8 times, at least 0.04, is the smallest
# factor tried that kept six series' A/A comparisons within 1 in 20 exits and 1 in 100
# benchmarks flagged (1.5, chosen on five, let 3 of 30 through on the sixth), and it held on a
# seventh taken after it was chosen (docs/compare-rule.md, "Spread between runs").
RUN_SPREAD = 0.04
RUN_SPREAD_PER_TRIAL_SPREAD = 1.8
# Runs per side from which alternated runs are compared pair by pair (docs/compare-rule.md): with
# fewer, each benchmark's own spread of pairs has too few degrees of freedom against its workload's.
MIN_PAIRS = 5
# Regressions first (worst first), then improvements, then the rest.
VERDICT_ORDER = {"regression": 0, "improvement": 1, "no change": 2}

Identity = tuple  # results.KEY: (workload, param, variant, image, rtt_ms, *data set columns)


@dataclass(frozen=True)
class Row:
    """One benchmark present on both sides. Times in seconds; ratio = new / base."""

    workload: str
    param: str | None
    variant: str | None
    image: str | None
    rtt_ms: float | None
    base_median_s: float
    new_median_s: float
    ratio: float
    ci_low: float
    ci_high: float
    verdict: str  # "regression" | "improvement" | "no change"
    base_statements: int | None
    new_statements: int | None
    statements_verdict: str  # "same" | "more" | "fewer" | "unknown"
    detectable: float | None = None  # smallest slowdown flagged 95% of the time (0.2 = 20%)
    unit: str = "trial"  # what the interval's samples are: "trial", "run" or "pair" (of runs)
    note: str = ""
    data: tuple = ()  # the data set: results.DATA_COLUMNS values
    show_data: bool = False  # label names the data set (the comparison spans several)

    @property
    def identity(self) -> Identity:
        return (self.workload, self.param, self.variant, self.image, self.rtt_ms, *self.data)

    @property
    def label(self) -> str:
        return identity_label(self.identity, with_data=self.show_data)


def _statements_verdict(base: int | None, new: int | None) -> str:
    if base is None or new is None:
        return "unknown"
    return "same" if new == base else ("more" if new > base else "fewer")


def unit_of(side: tuple) -> str:
    """What one benchmark's values are, from its side (base values, base unit, new values, new unit):
    "pair", "run" or "trial"."""
    return "pair" if side[1] == side[3] == "pair" else "run" if side[1] == side[3] == "run" else "trial"


def _spread(side: tuple) -> tuple[float, float] | None:
    """One benchmark's own spread between runs (variance of log values, degrees of freedom), if any."""
    base, _, new, _ = side
    if unit_of(side) == "pair":
        return stats.paired_variance(base, new)
    if unit_of(side) == "run" and len(base) + len(new) > 2:
        return stats.pooled_variance(base, new)
    return None


def _run_prior(sides: list[tuple]) -> stats.VariancePrior | None:
    """With several runs per side: what all benchmarks' spreads between runs say about each one's."""
    spreads = [spread for spread in map(_spread, sides) if spread]
    return stats.variance_prior([v for v, _ in spreads], [d for _, d in spreads])


def _independent(prior: stats.VariancePrior | None, identities: list, sides: dict) -> stats.VariancePrior | None:
    """A prior worth at most what the workload's comparison groups can say independently.

    The variants of one group are measured in the same minutes of each run, so a slow phase of the
    machine moves them together: they agree on a spread between runs because they share it, not
    because each measured it. Counted as independent, they gave the prior so many degrees of
    freedom that 2 of 26 alternated idle A/A comparisons of one series (three runs per side)
    flagged a group's shared shift; capped at one benchmark's worth per group, 0 of 26
    (docs/error-rates.md).
    """
    if prior is None:
        return None
    groups = {(i[0], i[1], *i[3:]) for i in identities}  # the identity without its variant
    own_df = max((_spread(sides[i]) or (0, 0))[1] for i in identities)
    return prior.at_most(own_df * len(groups))


def workload_priors(sides: dict[Identity, tuple]) -> dict[tuple[str, str], stats.VariancePrior | None]:
    """The variance prior of each (workload, unit), from the sides of every benchmark compared."""
    # Sub-millisecond workloads spread more between runs than slow ones: each workload's benchmarks
    # inform each other (all benchmarks together for a workload with too few to say).
    # Spreads of pairs and of unpaired runs are different quantities: each unit has its own priors.
    priors = {}
    for unit in dict.fromkeys(map(unit_of, sides.values())):
        alike = {i: side for i, side in sides.items() if unit_of(side) == unit}
        everything = _run_prior(list(alike.values()))
        for workload in dict.fromkeys(i[0] for i in alike):
            own = [i for i in alike if i[0] == workload]
            priors[workload, unit] = _independent(_run_prior([alike[i] for i in own]) or everything, own, alike)
    return priors


def judge(identity: Identity, sides: tuple, threshold: float, alpha: float, prior, run_variance: float,
          base: list[dict], new: list[dict], show_data: bool = False, interpolated: bool = False) -> Row:
    """One benchmark's Row: its ratio, the interval at one-sided level `alpha`, the verdict and its
    statement counts (`base` and `new`: its benchmark entries in each side's runs)."""
    base_values, base_unit, new_values, new_unit = sides
    unit = unit_of(sides)
    base_median, new_median = stats.geomean(base_values), stats.geomean(new_values)
    ratio = new_median / base_median
    note, detectable = "", None
    if len(base_values) >= 2 and len(new_values) >= 2:
        if unit == "pair":  # the spread between pairs of runs taken side by side: the machine's drift cancels
            log_ratio, se, df = stats.moderated_paired_log_ratio(base_values, new_values, prior)
            if interpolated:  # neighbouring differences share a base run
                se *= stats.interpolated_se_factor(len(base_values))
        elif unit == "run":  # the spread between runs, measured, each benchmark's moderated by its workload's
            log_ratio, se, df = stats.moderated_log_ratio(base_values, new_values, prior)
        else:  # the spread between trials, measured, plus the spread between runs they cannot show
            log_ratio, se, df = stats.log_ratio(base_values, new_values, extra_variance=run_variance)
        half = distributions.t_quantile(1 - alpha, df) * se
        low, high = math.exp(log_ratio - half), math.exp(log_ratio + half)
        detectable = stats.detectable_change(se, df, threshold=threshold, alpha=alpha)
    else:
        low = high = ratio
        note = "one value per side: no interval"
    base_count = results.metric(base[0], "statements")
    new_count = results.metric(new[0], "statements")
    # Without an interval nothing shows the change is more than noise: no verdict either way.
    verdict = "no change" if note else stats.classify((ratio, low, high), threshold)
    return Row(
        *identity[:5], data=tuple(identity[5:]), show_data=show_data, base_median_s=base_median, new_median_s=new_median, ratio=ratio, ci_low=low, ci_high=high,
        verdict=verdict, base_statements=base_count,
        new_statements=new_count, statements_verdict=_statements_verdict(base_count, new_count),
        detectable=detectable, unit=unit, note=note,
    )


def sort_rows(rows: list[Row]) -> list[Row]:
    def key(row: Row) -> tuple:
        # Within regressions the worst first; within improvements the best first.
        severity = -row.ratio if row.verdict == "regression" else row.ratio
        return (VERDICT_ORDER[row.verdict], severity, row.label)

    return sorted(rows, key=key)


def has_regression(rows: list[Row]) -> bool:
    """A slower verdict, or more statements than before (counts are exact, so any increase is real)."""
    return any(row.verdict == "regression" or row.statements_verdict == "more" for row in rows)
