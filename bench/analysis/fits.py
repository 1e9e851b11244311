"""Lines and levels fitted through a series of timings: how a time grows with the data size (the
log-log slope with its interval, the slopes between neighbouring sizes and where they bend), and
where a history of runs changes level (step detection).

No I/O here. Inputs are plain sequences of numbers; outputs are floats, tuples, lists and LogLogFit.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from bench.analysis.distributions import t_quantile


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
    """Same symmetric rule as bench.analysis.stats.classify(): up by min_ratio, or down by its reciprocal."""
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

