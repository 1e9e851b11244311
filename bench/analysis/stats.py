"""Pure statistics on benchmark timings: summaries, ratios with intervals, verdicts, scaling, steps.

No I/O here. Inputs are plain sequences of seconds; outputs are floats, tuples and lists.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

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


def fit_loglog_slope(xs: Sequence[float], ys: Sequence[float]) -> tuple[float, float]:
    """Least-squares line through (log10 x, log10 y): returns (slope, intercept).

    The slope is the scaling exponent: ~0 constant, ~1 linear, ~2 quadratic
    in N. The intercept is log10 of y at x = 1.
    """
    x = np.asarray(xs, dtype=float)
    y = np.asarray(ys, dtype=float)
    if x.shape != y.shape:
        raise ValueError(f"xs and ys differ in length: {x.size} vs {y.size}")
    if np.any(x <= 0) or np.any(y <= 0):
        raise ValueError("fit_loglog_slope() needs positive xs and ys")
    if np.unique(x).size < 2:
        raise ValueError("fit_loglog_slope() needs at least two distinct xs")
    slope, intercept = np.polyfit(np.log10(x), np.log10(y), 1)
    return float(slope), float(intercept)


@dataclass(frozen=True)
class LogLogFit:
    """A least-squares line through (log10 x, log10 y) with what its intervals need.

    `low`/`high` bound the slope at `confidence` (Student t, n - 2 degrees of freedom, from the
    residuals: noise and any lack of fit alike); None with only two points, where a line fits exactly.
    """

    slope: float
    intercept: float
    low: float | None
    high: float | None
    points: int
    residual_se: float  # log10 units
    log_x_mean: float
    sxx: float          # sum of squared deviations of log10 x
    confidence: float = 0.95

    @property
    def df(self) -> int:
        return self.points - 2

    def predict(self, x: float) -> tuple[float, float | None, float | None]:
        """(y, low, high) the line gives at x, with the confidence interval of the line itself there
        (it widens with the distance from the measured xs: an extrapolation is as sure as the fit allows,
        and assumes the power law holds out there)."""
        log_x = math.log10(x)
        log_y = self.intercept + self.slope * log_x
        if self.df < 1:
            return 10 ** log_y, None, None
        half = t_quantile(0.5 + self.confidence / 2, self.df) * self.residual_se * math.sqrt(
            1 / self.points + (log_x - self.log_x_mean) ** 2 / self.sxx)
        return 10 ** log_y, 10 ** (log_y - half), 10 ** (log_y + half)


def fit_loglog(xs: Sequence[float], ys: Sequence[float], *, confidence: float = 0.95) -> LogLogFit:
    """fit_loglog_slope with the slope's interval. Repeated xs are welcome (every trial at a size is a
    point): the interval then carries the spread between trials as well as the line's lack of fit."""
    slope, intercept = fit_loglog_slope(xs, ys)
    log_x, log_y = np.log10(np.asarray(xs, dtype=float)), np.log10(np.asarray(ys, dtype=float))
    n = log_x.size
    sxx = float(((log_x - log_x.mean()) ** 2).sum())
    residuals = log_y - (intercept + slope * log_x)
    if n < 3:
        return LogLogFit(slope, intercept, None, None, n, 0.0, float(log_x.mean()), sxx, confidence)
    se = math.sqrt(float((residuals ** 2).sum()) / (n - 2))
    half = t_quantile(0.5 + confidence / 2, n - 2) * se / math.sqrt(sxx)
    return LogLogFit(slope, intercept, slope - half, slope + half, n, se, float(log_x.mean()), sxx, confidence)


def neighbour_slopes(xs: Sequence[float], ys: Sequence[float]) -> list[tuple[float, float, float]]:
    """(x from, x to, log-log slope) between each pair of neighbouring distinct xs, each x taken at the
    median of its ys: where the growth bends, these differ."""
    by_x: dict[float, list[float]] = {}
    for x, y in zip(xs, ys):
        if x <= 0 or y <= 0:
            raise ValueError("neighbour_slopes() needs positive xs and ys")
        by_x.setdefault(float(x), []).append(float(y))
    sizes = sorted(by_x)
    level = {x: statistics.median(by_x[x]) for x in sizes}
    return [(a, b, math.log10(level[b] / level[a]) / math.log10(b / a)) for a, b in zip(sizes, sizes[1:])]


# A bend: neighbouring segments whose slopes differ by at least this much (0.5: from flat to
# half-linear, or from linear to N^1.5). Segment slopes of medians move by about 0.2 between sizes
# 3x apart when medians are 10% noisy, so smaller changes are not told from noise.
BEND_SLOPE = 0.5


def bends(slopes: Sequence[float], *, min_change: float = BEND_SLOPE) -> list[int]:
    """Indices of the segments where the slope changes by min_change or more from the segment before."""
    return [i for i in range(1, len(slopes)) if abs(slopes[i] - slopes[i - 1]) >= min_change]


def _is_material(before: float, after: float, min_ratio: float) -> bool:
    """Same symmetric rule as classify(): up by min_ratio, or down by its reciprocal."""
    ratio = after / before
    return ratio >= 1 + min_ratio or ratio <= 1 / (1 + min_ratio)


def _l1_cost(values: np.ndarray) -> float:
    """Sum of absolute deviations from the median: how badly one constant level fits."""
    return float(np.abs(values - np.median(values)).sum())


# Penalty per extra level, in units of noise * ln(n). Chosen on simulated
# histories of 30 runs: 2 gave no false step at 5% noise and ~2% of series
# with one at 10% noise, while still finding 20% steps and 3-run blips.
STEP_PENALTY = 2.0


def detect_steps(values: Sequence[float], *, min_ratio: float = 0.10, min_size: int = 2) -> list[int]:
    """Indices where a history's level changes: each is the first value of the new level.

    A small take on asv's step detection (asv.step_detect): fit piecewise
    constant levels by optimal partitioning, minimising
        sum over levels of sum |x - median(level)|  +  penalty * (levels - 1)
    with penalty = STEP_PENALTY * noise * ln(n), where noise is the median
    absolute difference between consecutive values (a robust noise scale that
    a step barely moves). Then neighbouring levels whose medians differ by less
    than min_ratio (same symmetric rule as classify) are merged, closest first.
    Every level holds at least min_size values, so a single outlying run --
    even the latest one -- is not a step until another run confirms it.
    Values must be positive (timings). O(n^2) medians: fine for histories of
    a few hundred runs.
    """
    data = np.asarray(values, dtype=float)
    if np.any(data <= 0):
        raise ValueError("detect_steps() needs positive values")
    n = data.size
    if n < 2 * min_size:
        return []
    noise = float(np.median(np.abs(np.diff(data))))
    # The floor keeps noiseless data from splitting into many zero-cost levels.
    penalty = max(STEP_PENALTY * noise * math.log(n), 1e-9 * float(np.median(data)))

    # best[j]: least cost of levels covering data[:j]; start[j]: where its last level starts.
    best = [math.inf] * (n + 1)
    start = [0] * (n + 1)
    best[0] = -penalty  # the first level is free
    for j in range(min_size, n + 1):
        for i in [0, *range(min_size, j - min_size + 1)]:
            if best[i] == math.inf:
                continue
            total = best[i] + _l1_cost(data[i:j]) + penalty
            if total < best[j]:
                best[j], start[j] = total, i
    starts = []
    j = n
    while j > 0:
        j = start[j]
        starts.append(j)
    starts.sort()

    while len(starts) > 1:
        edges = [*starts, n]
        medians = [float(np.median(data[a:b])) for a, b in zip(edges, edges[1:])]
        gaps = [abs(math.log(b / a)) for a, b in zip(medians, medians[1:])]
        closest = int(np.argmin(gaps))
        if _is_material(medians[closest], medians[closest + 1], min_ratio):
            break
        del starts[closest + 1]
    return starts[1:]


def _incomplete_beta_fraction(a: float, b: float, x: float) -> float:
    """The continued fraction of the regularized incomplete beta (Numerical Recipes 6.4), evaluated
    by the modified Lentz method; it converges fast for x < (a + 1) / (a + b + 2)."""
    tiny, eps = 1e-300, 1e-15
    c, d = 1.0, 1.0 - (a + b) * x / (a + 1)
    d = 1 / (d if abs(d) > tiny else tiny)
    h = d
    for m in range(1, 10_000):
        for numerator in (m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m)),
                          -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1))):
            d = 1 + numerator * d
            d = 1 / (d if abs(d) > tiny else tiny)
            c = 1 + numerator / c
            c = c if abs(c) > tiny else tiny
            h *= d * c
        if abs(d * c - 1) < eps:
            return h
    raise ArithmeticError(f"incomplete beta fraction did not converge at a={a}, b={b}, x={x}")


def regularized_beta(a: float, b: float, x: float) -> float:
    """I_x(a, b), the regularized incomplete beta function, for a, b > 0 and 0 <= x <= 1."""
    if not 0 <= x <= 1:
        raise ValueError(f"x must be between 0 and 1, got {x}")
    if x in (0, 1):
        return float(x)
    log_front = (math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b)
                 + a * math.log(x) + b * math.log1p(-x))
    # The fraction converges on the side of the mean; the other side follows from I_x(a,b) = 1 - I_1-x(b,a).
    if x < (a + 1) / (a + b + 2):
        return math.exp(log_front) * _incomplete_beta_fraction(a, b, x) / a
    return 1 - math.exp(log_front) * _incomplete_beta_fraction(b, a, 1 - x) / b


def _t_upper_tail(t: float, df: float) -> float:
    """P(T > t) for t >= 0: half of I_{df/(df+t^2)}(df/2, 1/2). Taken from the tail, not 1 - cdf,
    so that p = 0.99995 keeps its digits."""
    return 0.5 * regularized_beta(df / 2, 0.5, df / (df + t * t))


# Beyond this many degrees of freedom the t quantile is the normal's to better than 1e-9 relative
# at the levels used here (the first correction, (z^3 + z) / (4 df), is below 1e-9 z for z <= 4.5).
_NORMAL_DF = 1e10


def t_quantile(p: float, df: float) -> float:
    """Student's t quantile, exact to about 1e-12 relative: the root in t of the upper tail
    (regularized incomplete beta by continued fraction), found by bisection on a bracket with
    Newton steps. Any df > 0, fractional included; df = 1 and 2 have closed forms, used directly."""
    if not 0 < p < 1:
        raise ValueError(f"p must be between 0 and 1, got {p}")
    if not df > 0:
        raise ValueError(f"df must be positive, got {df}")
    if p < 0.5:
        return -t_quantile(1 - p, df)
    if p == 0.5:
        return 0.0
    if df == 1:
        return math.tan(math.pi * (p - 0.5))
    tail = 1 - p
    if df == 2:
        return (1 - 2 * tail) / math.sqrt(2 * tail * (1 - tail))
    if df > _NORMAL_DF:
        return statistics.NormalDist().inv_cdf(p)
    # Bracket: the upper tail falls as t grows; double from the normal quantile (the t is wider).
    low, high = 0.0, max(1.0, statistics.NormalDist().inv_cdf(p))
    while _t_upper_tail(high, df) > tail:
        low, high = high, high * 2
    log_density_front = (math.lgamma((df + 1) / 2) - math.lgamma(df / 2)
                         - 0.5 * math.log(df * math.pi))
    t = (low + high) / 2
    for _ in range(200):
        excess = _t_upper_tail(t, df) - tail  # > 0: t is still too small
        if abs(excess) <= 1e-14 * tail:
            return t
        if excess > 0:
            low = t
        else:
            high = t
        density = math.exp(log_density_front - (df + 1) / 2 * math.log1p(t * t / df))
        newton = t + excess / density
        if newton == t or high - low <= 1e-15 * high:  # a step below the last digit: t is the root
            return t
        # A Newton step that leaves the bracket (far in the tail, where the density is tiny) is
        # replaced by bisection, so the root is always found.
        t = newton if low < newton < high else (low + high) / 2
    return t


def median_interval(values: Sequence[float], *, confidence: float = 0.95) -> tuple[float, float] | None:
    """Distribution-free interval for the median: the k-th smallest and k-th largest value, k the
    largest whose coverage 1 - 2 P(Binomial(n, 1/2) < k) is still at least `confidence` (Hollander &
    Wolfe, ch. 3). None when even the smallest and largest fall short (fewer than six values at 95%)."""
    ordered = sorted(values)
    n = len(ordered)
    below, k = 0.0, 0  # below: P(Binomial(n, 1/2) < k + 1)
    while k < n // 2:
        below += math.comb(n, k) / 2 ** n
        if 1 - 2 * below < confidence:
            break
        k += 1
    return (ordered[k - 1], ordered[n - k]) if k else None


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


def clopper_pearson_upper(successes: int, trials: int, *, confidence: float = 0.95) -> float:
    """One-sided exact upper bound of a binomial proportion (Clopper-Pearson), by bisection."""
    if trials <= 0 or not 0 <= successes <= trials:
        raise ValueError("need 0 <= successes <= trials and trials > 0")
    if successes == trials:
        return 1.0
    alpha = 1 - confidence

    def cdf(p: float) -> float:
        return sum(math.comb(trials, k) * p ** k * (1 - p) ** (trials - k) for k in range(successes + 1))

    low, high = successes / trials, 1.0
    for _ in range(100):
        mid = (low + high) / 2
        if cdf(mid) > alpha:
            low = mid
        else:
            high = mid
    return high


def digamma(x: float) -> float:
    """psi(x) for x > 0: recurrence up to 6, then the asymptotic series (error below 1e-9)."""
    result = 0.0
    while x < 6:
        result -= 1 / x
        x += 1
    inv2 = 1 / (x * x)
    return result + math.log(x) - 0.5 / x - inv2 * (1 / 12 - inv2 * (1 / 120 - inv2 * (1 / 252 - inv2 / 240)))


def trigamma(x: float) -> float:
    """psi'(x) for x > 0: recurrence up to 6, then the asymptotic series (error below 1e-9)."""
    result = 0.0
    while x < 6:
        result += 1 / (x * x)
        x += 1
    inv, inv2 = 1 / x, 1 / (x * x)
    return result + inv + inv2 / 2 + inv * inv2 * (1 / 6 - inv2 * (1 / 30 - inv2 * (1 / 42 - inv2 / 30)))


def _trigamma_inverse(value: float) -> float:
    """The x > 0 with trigamma(x) = value (trigamma falls monotonically), by bisection on log x."""
    low, high = 1e-8, 1e8
    for _ in range(200):
        mid = math.sqrt(low * high)
        if trigamma(mid) > value:
            low = mid
        else:
            high = mid
    return math.sqrt(low * high)


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
    df0 = 2 * _trigamma_inverse(excess)
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
