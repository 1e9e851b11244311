"""Pure statistics on benchmark timings: summaries, bootstrap ratios, verdicts, scaling, steps.

No I/O here. Inputs are plain sequences of seconds; outputs are floats, tuples and lists.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable, Sequence

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


def bootstrap_ratio_ci(
    base: Sequence[float],
    new: Sequence[float],
    *,
    statistic: Callable[..., np.ndarray] = np.median,
    confidence: float = 0.95,
    resamples: int = 2000,
    seed: int = 0,
) -> tuple[float, float, float]:
    """Ratio statistic(new) / statistic(base) with a percentile bootstrap interval.

    Base and new are resampled independently (they are separate runs), all
    resamples at once as an index matrix, so `statistic` must accept `axis=`
    (numpy reductions do). The same seed always gives the same interval.
    Returns (ratio, low, high); ratio > 1 means new is slower.
    """
    base_arr = np.asarray(base, dtype=float)
    new_arr = np.asarray(new, dtype=float)
    if base_arr.size == 0 or new_arr.size == 0:
        raise ValueError("bootstrap_ratio_ci() needs at least one sample on each side")
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be between 0 and 1, got {confidence}")
    base_point = float(statistic(base_arr))
    if base_point <= 0:
        raise ValueError(f"base statistic must be positive to form a ratio, got {base_point}")
    ratio = float(statistic(new_arr)) / base_point

    rng = np.random.default_rng(seed)
    base_boot = statistic(base_arr[rng.integers(0, base_arr.size, (resamples, base_arr.size))], axis=1)
    new_boot = statistic(new_arr[rng.integers(0, new_arr.size, (resamples, new_arr.size))], axis=1)
    # A resample of a base containing zeros can have a zero statistic; such a
    # ratio is unbounded, and it stays in the tail where the percentile sees it.
    with np.errstate(divide="ignore", invalid="ignore"):
        ratios = new_boot / base_boot
    alpha = 1.0 - confidence
    low, high = np.quantile(ratios, [alpha / 2, 1 - alpha / 2])
    return ratio, float(low), float(high)


def classify(ratio_ci: tuple[float, float, float], threshold: float = 0.10) -> str:
    """"regression", "improvement" or "no change" for a (ratio, low, high) triple.

    Only a confident, material change counts: regression when the whole
    interval lies above 1 + threshold, improvement when the whole interval lies
    below 1 / (1 + threshold). The lower bound is the reciprocal, not
    1 - threshold, so the rule is symmetric in log space: new taking 1.1x the
    base's time and base taking 1.1x the new's time are the same size of change.
    """
    if threshold < 0:
        raise ValueError(f"threshold must be >= 0, got {threshold}")
    _, low, high = ratio_ci
    if low > 1 + threshold:
        return "regression"
    if high < 1 / (1 + threshold):
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
