"""Pure statistics on benchmark timings: summaries, geometric means and spreads, ratios of two sets
of timings with their intervals, the verdict on a ratio, and the variance priors compare moderates with.

No I/O here. Inputs are plain sequences of seconds; outputs are floats, tuples and lists. The
distributions these intervals use are in bench.analysis.distributions; fits along sizes and steps
along a history in bench.analysis.fits.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from bench.analysis.distributions import digamma, median_interval, t_quantile, trigamma, trigamma_inverse


# Percentiles above the quartiles use numpy's default 'linear' method
# (Hyndman & Fan type 7), the same as Excel PERCENTILE.INC and R's default.
PERCENTILE_METHOD = "linear"


def _quartiles(sorted_data: Sequence[float]) -> tuple[float, float]:
    """q1 and q3 exactly as pytest-benchmark computes them.

    Same convention so our tables agree with `pytest-benchmark compare`:
    an even count takes the median of each half (Wikipedia method 2), an odd
    count interpolates (Wikipedia method 3), a single sample is its own quartile.
    """
    rounds = len(sorted_data)
    data = sorted_data
    if rounds == 1:
        return data[0], data[0]
    if rounds % 2 == 0:
        return statistics.median(data[: rounds // 2]), statistics.median(data[rounds // 2 :])
    n, q = rounds // 4, rounds % 4
    if q == 1:
        q1 = 0.25 * data[n - 1] + 0.75 * data[n]
        q3 = 0.75 * data[3 * n] + 0.25 * data[3 * n + 1]
    else:
        q1 = 0.75 * data[n] + 0.25 * data[n + 1]
        q3 = 0.25 * data[3 * n + 1] + 0.75 * data[3 * n + 2]
    return q1, q3


def summarize(samples: Sequence[float]) -> dict[str, float]:
    """min, max, mean, stddev, median, q1, q3, iqr, p95, p99 and rounds of raw timings.

    stddev is the sample standard deviation (ddof=1), 0 for a single sample.
    median/q1/q3/iqr match pytest-benchmark; p95/p99 use numpy's 'linear' method.
    """
    data = sorted(float(x) for x in samples)
    if not data:
        raise ValueError("summarize() needs at least one sample")
    q1, q3 = _quartiles(data)
    p95, p99 = np.percentile(data, [95, 99], method=PERCENTILE_METHOD)
    return {
        "min": data[0],
        "max": data[-1],
        "mean": statistics.mean(data),
        "stddev": statistics.stdev(data) if len(data) > 1 else 0.0,
        "median": statistics.median(data),
        "q1": q1,
        "q3": q3,
        "iqr": q3 - q1,
        "p95": float(p95),
        "p99": float(p99),
        "rounds": len(data),
    }


def classify(ratio_ci: tuple[float, float, float], threshold: float = 0.10) -> str:
    """"regression", "improvement" or "no change" for a (ratio, low, high) triple.

    Two conditions, as asv's `compare` has them: the change is real (the whole interval lies on one
    side of 1, at the interval's confidence) and it is material (the estimate is beyond
    1 + threshold, or below its reciprocal, so the rule is symmetric in log space).
    """
    if threshold < 0:
        raise ValueError(f"threshold must be >= 0, got {threshold}")
    ratio, low, high = ratio_ci
    if low > 1 and ratio > 1 + threshold:
        return "regression"
    if high < 1 and ratio < 1 / (1 + threshold):
        return "improvement"
    return "no change"


def geomean(values: Sequence[float]) -> float:
    """The geometric mean of positive values: the level of timings whose spread is multiplicative."""
    return math.exp(sum(math.log(v) for v in values) / len(values))


def median_log_spread(samples: Iterable[Sequence[float]]) -> float | None:
    """How noisy a run was, as its trials show it (its trial spread): the median, over the samples
    (one per case) with two positive values or more, of the standard deviation of their log values.
    None when no sample has two."""
    spreads = []
    for values in samples:
        positive = [v for v in values if v > 0]
        if len(positive) >= 2:
            spreads.append(statistics.stdev(math.log(v) for v in positive))
    return statistics.median(spreads) if spreads else None


def paired_ratio(base: Sequence[float], new: Sequence[float], *, confidence: float = 0.95) -> tuple[float, float, float]:
    """new / base measured side by side, from the per-trial ratios. Returns (ratio, low, high).

    Six trials or more: the median of the per-trial ratios, with the distribution-free interval for
    the median (`median_interval`). A burst of load that doubles one trial of one variant moves a
    mean of six by 12% and widens a t-interval past usefulness; it moves the median by one rank.
    Fewer trials: order statistics cannot reach 95%, so the geometric mean with a Student-t
    interval from the ratios' spread."""
    if len(base) != len(new) or not base:
        raise ValueError("paired_ratio() needs the same number (at least one) of trials on both sides")
    logs = [math.log(n / b) for b, n in zip(base, new)]
    interval = median_interval(logs, confidence=confidence)
    if interval is not None:
        return math.exp(statistics.median(logs)), math.exp(interval[0]), math.exp(interval[1])
    mean = statistics.fmean(logs)
    if len(logs) < 2:
        return math.exp(mean), math.exp(mean), math.exp(mean)
    half = t_quantile(0.5 + confidence / 2, len(logs) - 1) * statistics.stdev(logs) / math.sqrt(len(logs))
    return math.exp(mean), math.exp(mean - half), math.exp(mean + half)


def log_ratio(base: Sequence[float], new: Sequence[float], *, extra_variance: float = 0.0) -> tuple[float, float, float]:
    """Welch's comparison of two independent samples on the log scale.

    Returns (log of the ratio of geometric means new/base, its standard error, Welch-Satterthwaite
    degrees of freedom). `extra_variance` (log scale) is added to the squared standard error: the
    spread of a level the samples cannot show, such as between runs when each side is one run.
    """
    lb, ln = [math.log(x) for x in base], [math.log(x) for x in new]
    if len(lb) < 2 or len(ln) < 2:
        raise ValueError("log_ratio() needs at least two values per side")
    vb, vn = statistics.variance(lb) / len(lb), statistics.variance(ln) / len(ln)
    se2 = vb + vn + extra_variance
    denominator = vb ** 2 / (len(lb) - 1) + vn ** 2 / (len(ln) - 1)
    df = se2 ** 2 / denominator if denominator > 0 else math.inf
    df = min(df, 1e6)
    return statistics.fmean(ln) - statistics.fmean(lb), math.sqrt(se2), df


def detectable_change(se: float, df: float, *, threshold: float, alpha: float, power: float = 0.95) -> float:
    """The smallest slowdown (0.25 = 25%) that `classify` flags with probability `power`, for an
    estimate with standard error `se` (log scale) and a one-sided interval at level `alpha`."""
    z_power = statistics.NormalDist().inv_cdf(power)
    real = math.exp((t_quantile(1 - alpha, df) + z_power) * se)
    material = (1 + threshold) * math.exp(z_power * se)
    return max(real, material) - 1


@dataclass(frozen=True)
class VariancePrior:
    """What many benchmarks together say about one benchmark's variance: a typical variance `s2`
    worth `df` degrees of freedom (math.inf: the benchmarks share one variance)."""

    s2: float
    df: float

    def moderate(self, s2: float, df: float) -> tuple[float, float]:
        """One benchmark's own variance (with its degrees of freedom) pulled toward the prior:
        (moderated variance, degrees of freedom of the moderated t statistic)."""
        if math.isinf(self.df):
            return self.s2, math.inf
        return (self.df * self.s2 + df * s2) / (self.df + df), self.df + df

    def at_most(self, df: float) -> "VariancePrior":
        """The same prior worth no more than `df` degrees of freedom: for variances that are not
        independent (benchmarks measured in the same minutes share the machine's shifts)."""
        return VariancePrior(self.s2, min(self.df, df))


def variance_prior(variances: Sequence[float], dfs: Sequence[float]) -> VariancePrior | None:
    """Empirical Bayes prior of many sample variances (Smyth 2004, limma's fitFDist, method of
    moments on log variances). With three runs per side each benchmark's own variance has four
    degrees of freedom, so its t quantile at a family-wise level is huge; borrowing strength from
    the other benchmarks' variances makes the interval as wide as the spread between runs really
    is. None when fewer than three usable variances."""
    pairs = [(v, d) for v, d in zip(variances, dfs) if v > 0 and d > 0 and math.isfinite(v)]
    if len(pairs) < 3:
        return None
    e = [math.log(v) - digamma(d / 2) + math.log(d / 2) for v, d in pairs]
    mean = statistics.fmean(e)
    excess = statistics.variance(e) - statistics.fmean(trigamma(d / 2) for _, d in pairs)
    if excess <= 0:  # no more spread than sampling alone makes: one common variance
        return VariancePrior(math.exp(mean), math.inf)
    df0 = 2 * trigamma_inverse(excess)
    return VariancePrior(math.exp(mean + digamma(df0 / 2) - math.log(df0 / 2)), df0)


def pooled_variance(base: Sequence[float], new: Sequence[float]) -> tuple[float, float]:
    """The two sides' pooled sample variance of log values, with its degrees of freedom."""
    lb, ln = [math.log(x) for x in base], [math.log(x) for x in new]
    df = len(lb) + len(ln) - 2
    if len(lb) < 2 and len(ln) < 2 or df <= 0:
        raise ValueError("pooled_variance() needs three values or more in all")
    ss = sum((x - statistics.fmean(lb)) ** 2 for x in lb) + sum((x - statistics.fmean(ln)) ** 2 for x in ln)
    return ss / df, df


def paired_variance(base: Sequence[float], new: Sequence[float]) -> tuple[float, float]:
    """The sample variance of the pairs' log ratios log(new_i / base_i), with its degrees of freedom."""
    if len(base) != len(new) or len(base) < 2:
        raise ValueError("paired_variance() needs two pairs or more")
    logs = [math.log(n / b) for b, n in zip(base, new)]
    return statistics.variance(logs), len(logs) - 1


def moderated_paired_log_ratio(base: Sequence[float], new: Sequence[float], prior: VariancePrior | None
                               ) -> tuple[float, float, float]:
    """(mean of log(new_i / base_i), standard error, degrees of freedom) for values measured in
    pairs (base_i and new_i taken minutes apart): a shift of the machine that lasts longer than a
    pair falls on both members and cancels. The variance is moderated by `prior`."""
    s2, df = paired_variance(base, new)
    if prior is not None:
        s2, df = prior.moderate(s2, df)
    mean = statistics.fmean(math.log(n / b) for b, n in zip(base, new))
    return mean, math.sqrt(s2 / len(base)), min(df, 1e6)


def moderated_log_ratio(base: Sequence[float], new: Sequence[float], prior: VariancePrior | None
                        ) -> tuple[float, float, float]:
    """(log of new/base geometric means, standard error, degrees of freedom), the variance
    moderated by `prior` (pooled two-sample t when there is none)."""
    s2, df = pooled_variance(base, new)
    if prior is not None:
        s2, df = prior.moderate(s2, df)
    lb, ln = [math.log(x) for x in base], [math.log(x) for x in new]
    se = math.sqrt(s2 * (1 / len(lb) + 1 / len(ln)))
    return statistics.fmean(ln) - statistics.fmean(lb), se, min(df, 1e6)


def interpolated_bases(base: Sequence[float]) -> list[float]:
    """For runs taken base, head, base, head ...: the base each head run is compared with, the
    geometric mean of the base runs either side of it (the last head has only the one before).
    A drift of the machine that is steady over a few runs cancels, where a plain pair keeps one
    run's worth of it."""
    return [math.sqrt(a * b) for a, b in zip(base, base[1:])] + list(base[-1:])


def interpolated_se_factor(pairs: int) -> float:
    """How much the standard error of the mean of `pairs` differences against interpolated_bases
    exceeds what their sample variance says: neighbours share a base run, so the differences are
    correlated. Exact for independent runs of equal variance."""
    n = pairs
    weights = []  # each difference as weights on the runs b_1 .. b_n, h_1 .. h_n
    for i in range(n):
        row = [0.0] * (2 * n)
        row[n + i] = 1.0
        for j in (i, i + 1) if i < n - 1 else (i,):
            row[j] -= 0.5 if i < n - 1 else 1.0
        weights.append(row)
    cov = [[sum(a * b for a, b in zip(r, s)) for s in weights] for r in weights]
    total = sum(map(sum, cov))
    var_mean = total / n ** 2
    expected_s2 = (sum(cov[i][i] for i in range(n)) - total / n) / (n - 1)
    return math.sqrt(var_mean / (expected_s2 / n))
