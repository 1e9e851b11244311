"""Distributions the intervals rest on, computed here so that the suite needs no scipy: Student's t
quantile (from the regularized incomplete beta), the distribution-free interval of a median, the
Clopper-Pearson bound of a proportion, and digamma and trigamma for the variance priors.

Pure functions of numbers, each exact to the digits its docstring gives (tests/test_stats.py holds
scipy's values as literals).
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence


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


def trigamma_inverse(value: float) -> float:
    """The x > 0 with trigamma(x) = value (trigamma falls monotonically), by bisection on log x."""
    low, high = 1e-8, 1e8
    for _ in range(200):
        mid = math.sqrt(low * high)
        if trigamma(mid) > value:
            low = mid
        else:
            high = mid
    return math.sqrt(low * high)

