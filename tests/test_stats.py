import math
import random

import numpy as np
import pytest
from pytest_benchmark.stats import Stats

from bench.stats import bootstrap_ratio_ci, classify, detect_steps, fit_loglog_slope, summarize


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


def test_bootstrap_identical_inputs_gives_ratio_one():
    samples = list(np.random.default_rng(1).normal(0.010, 0.001, 200))
    ratio, low, high = bootstrap_ratio_ci(samples, samples)
    assert ratio == 1.0
    assert low <= 1.0 <= high


def test_bootstrap_is_deterministic_given_seed():
    rng = np.random.default_rng(2)
    base, new = rng.normal(1, 0.1, 100), rng.normal(1.1, 0.1, 100)
    assert bootstrap_ratio_ci(base, new, seed=7) == bootstrap_ratio_ci(base, new, seed=7)
    assert bootstrap_ratio_ci(base, new, seed=7) != bootstrap_ratio_ci(base, new, seed=8)


def test_bootstrap_handles_large_inputs():
    rng = np.random.default_rng(3)
    base, new = rng.normal(1.0, 0.05, 1000), rng.normal(1.25, 0.05, 1000)
    ratio, low, high = bootstrap_ratio_ci(base, new, resamples=2000)
    assert low < ratio < high
    assert 1.2 < low and high < 1.3


def test_bootstrap_accepts_another_statistic():
    ratio, low, high = bootstrap_ratio_ci([1, 1, 1, 1], [2, 2, 2, 2], statistic=np.mean)
    assert (ratio, low, high) == (2.0, 2.0, 2.0)


def test_bootstrap_rejects_empty_and_zero_base():
    with pytest.raises(ValueError, match="at least one sample"):
        bootstrap_ratio_ci([], [1.0])
    with pytest.raises(ValueError, match="positive"):
        bootstrap_ratio_ci([0.0, 0.0], [1.0])


def test_shift_of_25_percent_with_low_noise_is_a_regression():
    rng = np.random.default_rng(4)
    base, new = rng.normal(0.010, 0.0002, 50), rng.normal(0.0125, 0.0002, 50)
    assert classify(bootstrap_ratio_ci(base, new)) == "regression"
    assert classify(bootstrap_ratio_ci(new, base)) == "improvement"


def test_a_a_with_noise_is_no_change():
    rng = np.random.default_rng(5)
    base, new = rng.normal(0.010, 0.002, 50), rng.normal(0.010, 0.002, 50)
    assert classify(bootstrap_ratio_ci(base, new)) == "no change"


@pytest.mark.parametrize(
    ("ratio_ci", "verdict"),
    [
        ((1.20, 1.11, 1.30), "regression"),
        ((1.20, 1.09, 1.30), "no change"),  # interval reaches below 1.10: not confident enough
        ((0.85, 0.80, 0.90), "improvement"),  # wholly below 1 / 1.1 = 0.909
        ((0.90, 0.89, 0.92), "no change"),  # 0.92 is above 0.909
        ((1.00, 0.95, 1.05), "no change"),
    ],
)
def test_classify(ratio_ci, verdict):
    assert classify(ratio_ci, threshold=0.10) == verdict


def test_classify_threshold_zero_needs_only_a_confident_direction():
    assert classify((1.02, 1.01, 1.03), threshold=0) == "regression"


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
