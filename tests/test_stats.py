import math
import random
import statistics

import numpy as np
import pytest
from pytest_benchmark.stats import Stats

from bench.stats import (
    BEND_SLOPE, bends, classify, clopper_pearson_upper, detect_steps, detectable_change, fit_loglog, fit_loglog_slope,
    interpolated_bases, interpolated_se_factor, log_ratio, median_interval, neighbour_slopes, paired_ratio, summarize,
    t_quantile,
)


def test_summarize_literal_values():
    summary = summarize([1, 2, 3, 4, 100])
    assert summary == {
        "min": 1.0,
        "max": 100.0,
        "mean": 22.0,
        "stddev": pytest.approx(math.sqrt(1902.5)),  # sum of squared deviations 7610 / (5 - 1)
        "median": 3.0,
        "q1": 1.75,  # 0.25 * 1 + 0.75 * 2
        "q3": 28.0,  # 0.75 * 4 + 0.25 * 100
        "iqr": 26.25,
        "p95": pytest.approx(80.8),  # linear: 4 + 0.8 * (100 - 4)
        "p99": pytest.approx(96.16),
        "rounds": 5,
    }


def test_summarize_even_count_takes_median_of_halves():
    summary = summarize([4, 1, 3, 2])
    assert (summary["q1"], summary["median"], summary["q3"], summary["iqr"]) == (1.5, 2.5, 3.5, 2.0)


def test_summarize_single_sample():
    summary = summarize([0.5])
    assert summary["stddev"] == 0
    assert summary["min"] == summary["max"] == summary["median"] == summary["q1"] == summary["q3"] == 0.5
    assert summary["iqr"] == 0
    assert summary["p99"] == 0.5


def test_summarize_empty_is_an_error():
    with pytest.raises(ValueError, match="at least one sample"):
        summarize([])


@pytest.mark.parametrize("rounds", range(1, 14))
def test_summarize_matches_pytest_benchmark(rounds):
    samples = [random.Random(rounds).uniform(0.001, 0.01) for _ in range(rounds)]
    reference = Stats()
    for sample in samples:
        reference.update(sample)
    summary = summarize(samples)
    for field in ("min", "max", "mean", "stddev", "median", "q1", "q3", "iqr", "rounds"):
        assert summary[field] == pytest.approx(getattr(reference, field), rel=1e-12, abs=0), field


@pytest.mark.parametrize(
    ("ratio_ci", "verdict"),
    [
        ((1.20, 1.09, 1.30), "regression"),  # real (interval above 1) and material (1.20 > 1.10)
        ((1.20, 0.99, 1.45), "no change"),  # interval reaches 1: not a real change at this confidence
        ((1.08, 1.05, 1.11), "no change"),  # real but 8% is below the 10% threshold
        ((0.85, 0.80, 0.95), "improvement"),  # real, and below 1 / 1.1 = 0.909
        ((0.92, 0.89, 0.95), "no change"),  # 0.92 is above 0.909
        ((1.00, 0.95, 1.05), "no change"),
    ],
)
def test_classify(ratio_ci, verdict):
    assert classify(ratio_ci, threshold=0.10) == verdict


def test_classify_threshold_zero_needs_only_a_confident_direction():
    assert classify((1.02, 1.01, 1.03), threshold=0) == "regression"


@pytest.mark.parametrize(("p", "df", "exact"), [(0.975, 2, 4.3027), (0.975, 5, 2.5706), (0.975, 30, 2.0423),
                                                 (0.95, 10, 1.8125), (0.999, 10, 4.1437), (0.975, 1, 12.7062)])
def test_t_quantile_matches_tables(p, df, exact):
    assert t_quantile(p, df) == pytest.approx(exact, rel=0.01 if df < 3 else 0.002)


def test_paired_ratio_is_the_geometric_mean_of_trial_ratios():
    ratio, low, high = paired_ratio([1.0, 2.0, 4.0, 1.0], [2.0, 4.0, 8.0, 2.0])
    assert (ratio, low, high) == (pytest.approx(2.0), pytest.approx(2.0), pytest.approx(2.0))
    ratio, low, high = paired_ratio([1.0, 1.0, 1.0, 1.0], [1.1, 1.2, 1.15, 1.1])
    assert ratio == pytest.approx(1.1367, abs=1e-4)
    assert (low, high) == (pytest.approx(1.0638, abs=1e-4), pytest.approx(1.2147, abs=1e-4))


def test_six_trials_or_more_give_the_median_ratio_and_its_distribution_free_interval():
    base = [1.0] * 6
    new = [2.0, 2.1, 1.9, 2.05, 1.95, 4.0]  # one trial hit by a burst of load: twice as slow
    ratio, low, high = paired_ratio(base, new)
    assert ratio == pytest.approx(math.sqrt(2.0 * 2.05))  # the median of six (log scale): the outlier moves it one rank
    assert (low, high) == (pytest.approx(1.9), pytest.approx(4.0))  # smallest and largest: 96.9% at n = 6
    mean_of_six = math.exp(statistics.fmean(math.log(x) for x in new))
    assert mean_of_six / ratio > 1.1  # what the geometric mean would have said


def test_median_interval_picks_the_widest_order_statistics_that_keep_95_percent():
    assert median_interval([3, 1, 2, 5, 4]) is None  # 1 - 2 / 32 = 93.75%: five values cannot say
    assert median_interval(range(6)) == (0, 5)  # 1 - 2 / 64 = 96.9%
    assert median_interval(range(9)) == (1, 7)  # k = 2: 1 - 2 * 10 / 512 = 96.1%
    assert median_interval(range(12)) == (2, 9)  # k = 3: 1 - 2 * 79 / 4096 = 96.1%; k = 4 gives 85.4%
    rng = np.random.default_rng(5)  # the coverage holds for a skewed distribution too
    hits = 0
    for _ in range(4000):
        low, high = median_interval(rng.exponential(1.0, 10))
        hits += low <= math.log(2) <= high
    assert hits / 4000 > 0.95


def test_paired_ratio_cancels_a_slow_phase_that_hits_both():
    # Trial 3 ran twice as slow for both variants: the ratio does not move.
    assert paired_ratio([1.0, 1.0, 2.0], [1.5, 1.5, 3.0])[1:] == (pytest.approx(1.5), pytest.approx(1.5))


def test_log_ratio_welch():
    log_ratio_value, se, df = log_ratio([1.0, math.e], [math.e, math.e ** 2])
    assert log_ratio_value == pytest.approx(1.0)
    assert se == pytest.approx(math.sqrt(0.25 + 0.25))
    assert df == pytest.approx(2.0)
    _, se_extra, _ = log_ratio([1.0, math.e], [math.e, math.e ** 2], extra_variance=0.5)
    assert se_extra == pytest.approx(1.0)


def test_detectable_change_grows_with_the_standard_error():
    # With no noise the threshold itself is the smallest change flagged.
    assert detectable_change(1e-9, 10, threshold=0.10, alpha=0.05) == pytest.approx(0.10, abs=1e-6)
    # se 0.03, df 10, alpha 0.001: exp((4.1437 + 1.6449) * 0.03) - 1 = 18.97%
    assert detectable_change(0.03, 10, threshold=0.10, alpha=0.001) == pytest.approx(0.1897, abs=2e-3)


@pytest.mark.parametrize(("k", "n", "upper"), [(0, 30, 0.0950), (1, 100, 0.0466), (0, 100, 0.0295), (5, 20, 0.4556)])
def test_clopper_pearson_upper(k, n, upper):
    assert clopper_pearson_upper(k, n) == pytest.approx(upper, abs=5e-4)


def test_fit_loglog_slope_quadratic_and_linear():
    slope, intercept = fit_loglog_slope([10, 100, 1000], [1, 100, 10_000])
    assert slope == pytest.approx(2.0)
    assert intercept == pytest.approx(-2.0)
    slope, intercept = fit_loglog_slope([1, 2, 4, 8], [3, 6, 12, 24])
    assert slope == pytest.approx(1.0)
    assert intercept == pytest.approx(math.log10(3))


def test_fit_loglog_slope_rejects_bad_input():
    with pytest.raises(ValueError, match="positive"):
        fit_loglog_slope([0, 1], [1, 2])
    with pytest.raises(ValueError, match="distinct"):
        fit_loglog_slope([5, 5], [1, 2])
    with pytest.raises(ValueError, match="length"):
        fit_loglog_slope([1, 2, 3], [1, 2])



def test_fit_loglog_gives_the_slopes_interval_from_the_residuals():
    # log10 y = 0, 1.1, 1.9, 3.0 at log10 x = 0..3: Sxx 5, Sxy 4.9, slope 0.98, intercept 0.03,
    # residuals -0.03, 0.09, -0.09, 0.03: se sqrt(0.018 / 2); half width t(0.975, 2) 4.27 * se / sqrt(5).
    fit = fit_loglog([1, 10, 100, 1000], [1, 10 ** 1.1, 10 ** 1.9, 1000])
    assert (fit.slope, fit.intercept, fit.points, fit.df) == (pytest.approx(0.98), pytest.approx(0.03), 4, 2)
    assert fit.residual_se == pytest.approx(math.sqrt(0.009))
    assert (fit.low, fit.high) == (pytest.approx(0.7988, abs=1e-4), pytest.approx(1.1612, abs=1e-4))
    exact = fit_loglog([10, 100, 1000], [2, 20, 200])
    assert (exact.slope, exact.low, exact.high) == (pytest.approx(1.0), pytest.approx(1.0), pytest.approx(1.0))


def test_fit_loglog_projection_widens_away_from_the_measured_sizes():
    fit = fit_loglog([1, 10, 100, 1000], [1, 10 ** 1.1, 10 ** 1.9, 1000])
    # At x = 10,000: log10 y = 0.03 + 0.98 * 4 = 3.95; half width 4.27 * se * sqrt(1/4 + 2.5² / 5) = 0.4962.
    value, low, high = fit.predict(10_000)
    assert value == pytest.approx(10 ** 3.95)
    assert (low, high) == (pytest.approx(10 ** (3.95 - 0.4962), rel=1e-3),
                           pytest.approx(10 ** (3.95 + 0.4962), rel=1e-3))
    inside = fit.predict(31.6)
    assert inside[2] / inside[1] < high / low


def test_fit_loglog_with_two_points_has_no_interval_and_repeated_sizes_count_each_trial():
    two = fit_loglog([100, 1000], [1, 10])
    assert (two.slope, two.low, two.high) == (pytest.approx(1.0), None, None)
    assert two.predict(10_000) == (pytest.approx(100.0), None, None)
    # Three trials at each of two sizes: four degrees of freedom, the spread between trials sets the width.
    trials = fit_loglog([100] * 3 + [1000] * 3, [0.9, 1.0, 1.1, 9, 10, 11])
    assert trials.points == 6 and trials.low < 1.0 < trials.high
    assert trials.slope == pytest.approx(1.0, abs=1e-3)


def test_neighbour_slopes_and_bends():
    # medians: 2 at 1,000 (of 1 and 3), 2 at 3,000, 20 at 10,000: flat, then log10(10) / log10(10/3) = 1.9125.
    segments = neighbour_slopes([1000, 1000, 3000, 3000, 10_000], [1, 3, 2, 2, 20])
    assert [(a, b) for a, b, _ in segments] == [(1000, 3000), (3000, 10_000)]
    assert [s for _, _, s in segments] == [pytest.approx(0.0), pytest.approx(1.9125, abs=1e-4)]
    assert BEND_SLOPE == 0.5
    assert bends([0.0, 1.9125]) == [1]
    assert bends([0.9, 1.0, 1.1, 0.95]) == []  # a straight line with noise
    assert bends([0.1, 0.2, 0.9, 1.0]) == [2]
    assert bends([1.0, 0.4], min_change=0.7) == []
    with pytest.raises(ValueError, match="positive"):
        neighbour_slopes([0, 1], [1, 1])

@pytest.mark.parametrize(
    ("values", "steps"),
    [
        ([10, 10, 10, 10, 12, 12, 12, 12], [4]),
        ([10, 10, 10, 15, 15, 15, 10, 10, 10], [3, 6]),  # a blip up and back down
        ([10, 10.1, 9.9, 15, 15.2, 14.8, 10, 10.1, 9.9], [3, 6]),
        ([10, 11, 9, 10.5, 9.5, 10, 10.2, 9.8, 10.1], []),  # noise only
        ([10, 10, 10, 10, 10, 30], []),  # one outlying latest run is not yet a step
        ([10, 10, 10, 10, 30, 30], [4]),  # confirmed by a second run, it is
        ([10, 10, 10, 10, 10.5, 10.5, 10.5, 10.5], []),  # 5% is below min_ratio
        ([5, 5, 5], []),
    ],
)
def test_detect_steps(values, steps):
    assert detect_steps(values) == steps


def test_detect_steps_min_ratio():
    values = [10, 10, 10, 10, 10.5, 10.5, 10.5, 10.5]
    assert detect_steps(values, min_ratio=0.04) == [4]


def test_detect_steps_in_noisy_history():
    rng = np.random.default_rng(6)
    values = np.r_[rng.normal(10, 0.3, 15), rng.normal(13, 0.3, 15)]
    assert detect_steps(values) == [15]


def test_interpolated_bases_are_the_neighbours_geometric_mean_and_the_last_head_keeps_its_own():
    assert interpolated_bases([1.0, 4.0, 9.0]) == [2.0, 6.0, 9.0]


def test_interpolated_differences_are_correlated_and_their_standard_error_says_so():
    # Five pairs, runs of variance 1: four differences h_i - (b_i + b_i+1)/2 of variance 1.5, the
    # last h_5 - b_5 of variance 2; neighbours share half a base (covariance 0.25, the last two
    # 0.5). Sum of the covariance matrix 8 + 2 x 1.25 = 10.5: the mean's variance is 10.5 / 25 =
    # 0.42, while the sample variance expects (8 - 10.5 / 5) / 4 = 1.475, so 0.295 for the mean.
    assert interpolated_se_factor(5) == pytest.approx((0.42 / 0.295) ** 0.5)
