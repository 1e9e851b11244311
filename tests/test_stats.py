import math
import random
import statistics

import numpy as np
import pytest
from pytest_benchmark.stats import Stats

from bench.analysis.distributions import clopper_pearson_upper, digamma, median_interval, t_quantile, trigamma
from bench.analysis.fits import BEND_SLOPE, bends, detect_steps, fit_loglog, fit_loglog_slope, neighbour_slopes
from bench.analysis.stats import (
    classify, detectable_change, interpolated_bases, interpolated_se_factor, log_ratio, paired_ratio, summarize,
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


# scipy.stats.t.ppf(p, df) (scipy 1.17.1), copied here so the test needs no scipy. The levels are
# compare's: each bound at 5% or 0.1% divided by the number of benchmarks m (0.05 / m for m = 19,
# 51, 200, 1000), with 2 to 9 degrees of freedom where runs per side are few.
T_REFERENCE = [  # (df, [(p, t), ...])
    (1, [(0.975, 12.706204736174694), (0.9995, 636.6192487687897), (0.99995, 6366.197671316637), (0.9973684210526316, 120.95500095425352), (0.9990196078431373, 324.67505724255244), (0.99975, 1273.2392829359044), (0.99995, 6366.197671316637)]),
    (2, [(0.975, 4.302652729749462), (0.9995, 31.599054576445365), (0.99995, 99.99249984375004), (0.9973684210526316, 13.729578262321578), (0.9990196078431373, 22.5499554473426), (0.99975, 44.70458729293313), (0.99995, 99.99249984375004)]),
    (2.5, [(0.975, 3.5746548420036817), (0.9995, 18.277893528131457), (0.99995, 46.024215246951954), (0.9973684210526316, 9.330409062085055), (0.9990196078431373, 13.933226226801734), (0.99975, 24.147654460827745), (0.99995, 46.024215246951954)]),
    (3, [(0.975, 3.1824463052837078), (0.9995, 12.923978636687961), (0.99995, 28.000130010950002), (0.9973684210526316, 7.321501278465672), (0.9990196078431373, 10.283724294588936), (0.99975, 16.326334609803105), (0.99995, 28.000130010950002)]),
    (4, [(0.975, 2.7764451051977934), (0.9995, 8.610301581379522), (0.99995, 15.544100581546113), (0.9973684210526316, 5.518724678606795), (0.9990196078431373, 7.211060683070539), (0.99975, 10.306254681808051), (0.99995, 15.544100581546113)]),
    (5, [(0.975, 2.5705818356363146), (0.9995, 6.868826625881276), (0.99995, 11.17771007027887), (0.9973684210526316, 4.71561807359758), (0.9990196078431373, 5.919652157858545), (0.99975, 7.975653419040984), (0.99995, 11.17771007027887)]),
    (9, [(0.975, 2.262157162798205), (0.9995, 4.780912585931217), (0.99995, 6.593682583944882), (0.9973684210526316, 3.6566115368314946), (0.9990196078431373, 4.3103148717890525), (0.99975, 5.290653840306525), (0.99995, 6.593682583944882)]),
    (29, [(0.975, 2.045229642132703), (0.9995, 3.6594050194663748), (0.99995, 4.505511631211001), (0.9973684210526316, 3.01756191933606), (0.9990196078431373, 3.4038400461860965), (0.99975, 3.917714118594981), (0.99995, 4.505511631211001)]),
    (1000, [(0.975, 1.9623390808264083), (0.9995, 3.300282648423944), (0.99995, 3.9063437367014084), (0.9973684210526316, 2.7966123030445114), (0.9990196078431373, 3.104322418164903), (0.99975, 3.4922033374458894), (0.99995, 3.9063437367014084)]),
    (1000000.0, [(0.975, 1.959966356814107), (0.9995, 3.2905364612487222), (0.99995, 3.8906075818030925), (0.9973684210526316, 2.790476120873152), (0.9990196078431373, 3.0961169481876025), (0.99975, 3.480767817488855), (0.99995, 3.8906075818030925)]),
]


@pytest.mark.parametrize(("df", "levels"), T_REFERENCE)
def test_t_quantile_matches_the_reference_to_a_millionth(df, levels):
    for p, exact in levels:
        assert t_quantile(p, df) == pytest.approx(exact, rel=1e-6), (p, df)


def test_t_quantile_closed_forms_and_symmetry():
    # df = 1 (Cauchy): tan(pi (p - 1/2)); df = 2: (2p - 1) / sqrt(2 p (1 - p)). Just off those df the
    # general path must agree, which checks the continued fraction against the closed forms.
    for p in (0.975, 0.9995, 0.99995):
        assert t_quantile(p, 1.0000001) == pytest.approx(math.tan(math.pi * (p - 0.5)), rel=1e-6)
        assert t_quantile(p, 2.0000001) == pytest.approx((2 * p - 1) / math.sqrt(2 * p * (1 - p)), rel=1e-6)
    assert t_quantile(0.5, 3) == 0.0
    assert t_quantile(0.025, 4) == pytest.approx(-2.7764451051977934, rel=1e-9)
    assert t_quantile(0.0005, 2.5) == -t_quantile(0.9995, 2.5)
    # Very large df is the normal: z(0.9995) = 3.2905267314918945
    assert t_quantile(0.9995, 1e12) == pytest.approx(3.2905267314918945, rel=1e-9)
    assert t_quantile(0.9995, math.inf) == pytest.approx(3.2905267314918945, rel=1e-9)


def test_t_quantile_was_far_off_with_few_degrees_of_freedom_and_is_not_now():
    # The Cornish-Fisher series it replaced gave 26.29 at (0.9995, 2): 16.8% below 31.60.
    assert t_quantile(0.9995, 2) == pytest.approx(31.599054576445365, rel=1e-9)
    assert t_quantile(0.99995, 2) == pytest.approx(99.99249984375004, rel=1e-9)


@pytest.mark.parametrize(("p", "df"), [(0, 3), (1, 3), (-0.1, 3), (1.5, 3), (0.975, 0), (0.975, -1),
                                       (0.975, math.nan)])
def test_t_quantile_rejects_what_has_no_quantile(p, df):
    with pytest.raises(ValueError):
        t_quantile(p, df)


def test_paired_ratio_is_the_geometric_mean_of_trial_ratios():
    ratio, low, high = paired_ratio([1.0, 2.0, 4.0, 1.0], [2.0, 4.0, 8.0, 2.0])
    assert (ratio, low, high) == (pytest.approx(2.0), pytest.approx(2.0), pytest.approx(2.0))
    ratio, low, high = paired_ratio([1.0, 1.0, 1.0, 1.0], [1.1, 1.2, 1.15, 1.1])
    assert ratio == pytest.approx(1.1367, abs=1e-4)
    # t(0.975, 3) = 3.18245 (scipy: exp(mean -/+ t sd / 2) = 1.06371, 1.21481)
    assert (low, high) == (pytest.approx(1.06371, abs=1e-5), pytest.approx(1.21481, abs=1e-5))


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
    # Coverage 1 - 2 P(Binomial(n, 1/2) <= k - 1) from scipy.stats.binom.cdf, at the trial counts runs use:
    assert median_interval(range(10)) == (1, 8)  # k = 2: 97.85%; k = 3: 89.06%
    assert median_interval(range(15)) == (3, 11)  # k = 4: 96.48%; k = 5: 88.15%
    assert median_interval(range(20)) == (5, 14)  # k = 6: 95.86%; k = 7: 88.47%
    assert median_interval(range(30)) == (9, 20)  # k = 10: 95.72%; k = 11: 90.13%
    assert median_interval(range(10), confidence=0.99) == (0, 9)  # k = 2 gives only 97.85%
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


# scipy.stats.beta.ppf(0.95, k + 1, n - k): the counts the error-rate notes report (bystanders
# flagged of 388 or 1,290, misses of 99).
@pytest.mark.parametrize(("k", "n", "upper"), [
    (0, 10, 0.2588655508930522), (1, 10, 0.39416330243650466), (0, 30, 0.09503385285530411),
    (2, 99, 0.06222809568671874), (5, 100, 0.1022533776432745), (0, 388, 0.007691229424395649),
    (6, 388, 0.030292208456303222), (0, 1290, 0.002319578690251435)])
def test_clopper_pearson_upper(k, n, upper):
    assert clopper_pearson_upper(k, n) == pytest.approx(upper, rel=1e-6)


def test_clopper_pearson_upper_edges():
    assert clopper_pearson_upper(7, 7) == 1.0
    for k, n in ((-1, 5), (6, 5), (0, 0)):
        with pytest.raises(ValueError):
            clopper_pearson_upper(k, n)


# scipy.special.digamma and polygamma(1, x), at the half degrees of freedom variance_prior uses
# (d / 2 for d = 1, 2, 5, 9, 20, 100) and far out.
@pytest.mark.parametrize(("x", "psi", "psi1"), [
    (0.5, -1.9635100260214235, 4.93480220054468), (1, -0.5772156649015329, 1.6449340668482266),
    (2.5, 0.7031566406452432, 0.4903577561002349), (4.5, 1.388870926359529, 0.24872510303901035),
    (10, 2.251752589066721, 0.10516633568168576), (50, 3.9019896734278925, 0.020201333226697128),
    (1e4, 9.21029037114285, 0.00010000500016666666)])
def test_digamma_and_trigamma_match_the_reference(x, psi, psi1):
    assert digamma(x) == pytest.approx(psi, rel=1e-9)
    assert trigamma(x) == pytest.approx(psi1, rel=1e-9)


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
    # residuals -0.03, 0.09, -0.09, 0.03: se sqrt(0.018 / 2); half width t(0.975, 2) 4.30265 * se / sqrt(5) = 0.18255.
    fit = fit_loglog([1, 10, 100, 1000], [1, 10 ** 1.1, 10 ** 1.9, 1000])
    assert (fit.slope, fit.intercept, fit.points, fit.df) == (pytest.approx(0.98), pytest.approx(0.03), 4, 2)
    assert fit.residual_se == pytest.approx(math.sqrt(0.009))
    assert (fit.low, fit.high) == (pytest.approx(0.79745, abs=1e-5), pytest.approx(1.16255, abs=1e-5))
    exact = fit_loglog([10, 100, 1000], [2, 20, 200])
    assert (exact.slope, exact.low, exact.high) == (pytest.approx(1.0), pytest.approx(1.0), pytest.approx(1.0))


def test_fit_loglog_projection_widens_away_from_the_measured_sizes():
    fit = fit_loglog([1, 10, 100, 1000], [1, 10 ** 1.1, 10 ** 1.9, 1000])
    # At x = 10,000: log10 y = 0.03 + 0.98 * 4 = 3.95; half width 4.30265 * se * sqrt(1/4 + 2.5² / 5) = 0.49992.
    value, low, high = fit.predict(10_000)
    assert value == pytest.approx(10 ** 3.95)
    assert (low, high) == (pytest.approx(10 ** (3.95 - 0.49992), rel=1e-4),
                           pytest.approx(10 ** (3.95 + 0.49992), rel=1e-4))
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
