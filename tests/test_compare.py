import io
import json

import numpy as np
import pytest

from bench.gate import compare, rule, sides
from bench.gate.compare import compare_runs, main_compare, parse_threshold
from bench.gate.table import render
from bench.results import label_of as identity_label
from bench.errors import UserError


def make_bench(workload="dashboard", *, median=0.010, noise=0.01, trials=6, seed=0, statements=2,
               variant="baseline", param="page_size=100", trial_medians=True):
    """A benchmark whose trial medians spread by `noise` (log scale) around `median`."""
    medians = [float(median * np.exp(x)) for x in np.random.default_rng(seed).normal(0, noise, trials)]
    info = {"workload": workload, "param": param, "variant": variant, "image": None, "rtt_ms": 0.0,
            "statements": statements}
    if trial_medians:
        info["trial_medians_s"] = medians
    return {"name": f"test_{workload}[{param}]", "group": workload,
            "stats": {"median": float(np.median(medians)), "min": min(medians), "max": max(medians),
                      "rounds": trials, "data": medians},
            "extra_info": info}


def make_doc(*benchmarks, run_id="run-1", commit="abc1234def", **meta):
    return {
        "machine_info": {},
        "commit_info": {"id": commit},
        "datetime": "2026-01-01T12:00:00+00:00",
        "version": "5.3.0",
        "sessionbench": {"format_version": 2, "run_id": run_id, **meta},
        "benchmarks": list(benchmarks),
    }


def write(tmp_path, name, doc):
    path = tmp_path / name
    path.write_text(json.dumps(doc) if not isinstance(doc, str) else doc)
    return path


def test_identical_runs_are_unchanged():
    doc = make_doc(make_bench())
    (row,) = compare_runs(doc, doc)
    assert row.ratio == 1.0
    assert row.ci_low <= 1.0 <= row.ci_high
    assert row.verdict == "no change"
    assert row.statements_verdict == "same"
    assert row.label == "dashboard page_size=100 [baseline]"


def test_regressions_come_first():
    base = make_doc(make_bench("dashboard", seed=1), make_bench("search", seed=2), make_bench("export", seed=3))
    new = make_doc(make_bench("dashboard", seed=4, median=0.0080),
                   make_bench("search", seed=5, median=0.0125), make_bench("export", seed=6))
    rows = compare_runs(base, new)
    assert [(row.workload, row.verdict) for row in rows] == [
        ("search", "regression"), ("dashboard", "improvement"), ("export", "no change"),
    ]


def test_statement_counts_are_compared():
    base = make_doc(make_bench(statements=2))
    new = make_doc(make_bench(statements=101))
    (row,) = compare_runs(base, new)
    assert (row.base_statements, row.new_statements, row.statements_verdict) == (2, 101, "more")
    assert row.verdict == "no change"


def test_one_value_per_side_has_no_interval():
    base = make_doc(make_bench(trial_medians=False, trials=1, median=0.010))
    new = make_doc(make_bench(trial_medians=False, trials=1, median=0.015))
    (row,) = compare_runs(base, new)
    assert row.ratio == pytest.approx(1.5)
    assert row.ci_low == row.ci_high == row.ratio
    assert row.verdict == "no change"  # a single value cannot show a change is real
    assert "no interval" in render([row], "markdown")


def test_one_run_per_side_adds_the_run_spread():
    # Trials agree to 1%, but one run per side cannot show how runs differ: RUN_SPREAD widens it.
    base, new = make_doc(make_bench(seed=1, noise=0.01)), make_doc(make_bench(seed=2, noise=0.01, median=0.0105))
    (row,) = compare_runs(base, new)
    assert row.unit == "trial"
    # at least the run spread of both sides at the one-sided 95% normal quantile, on each side
    assert row.ci_high / row.ci_low > np.exp(2 * 1.645 * np.sqrt(2) * rule.RUN_SPREAD)
    assert row.verdict == "no change"


def test_several_runs_per_side_make_the_run_the_unit():
    base = [make_doc(make_bench(seed=s, median=0.010 * f)) for s, f in ((1, 1.0), (2, 1.01), (3, 0.99))]
    new = [make_doc(make_bench(seed=s, median=0.0125 * f)) for s, f in ((4, 1.0), (5, 1.01), (6, 0.99))]
    (row,) = compare_runs(base, new)
    assert row.unit == "run"
    assert row.ratio == pytest.approx(1.25, rel=0.02)
    assert row.verdict == "regression"
    assert row.detectable is not None and 0.10 < row.detectable < 0.25


def _runs(medians_by_variant: dict, shifts: list[float], seed: int) -> list[dict]:
    """One doc per run shift: every variant's median moved by that run's shift (log scale)."""
    return [make_doc(*(make_bench(variant=v, median=m * float(np.exp(shift)), seed=seed + 10 * n + k, noise=0.005)
                       for k, (v, m) in enumerate(medians_by_variant.items())), run_id=f"run-{seed}-{n}")
            for n, shift in enumerate(shifts)]


def test_three_runs_per_side_borrow_the_spread_between_runs_from_the_workloads_other_benchmarks():
    # 12 benchmarks whose runs differ by about 3% (log); each benchmark alone has four degrees of
    # freedom, whose t quantile at 0.05/12 would hide a 25% slowdown. Moderated, it is caught.
    rng = np.random.default_rng(7)
    variants = {f"v{k}": 0.002 * (k + 1) for k in range(12)}
    base = _runs(variants, list(rng.normal(0, 0.03, 3)), seed=100)
    same = _runs(variants, list(rng.normal(0, 0.03, 3)), seed=200)
    slower = _runs({v: m * (1.25 if v == "v3" else 1.0) for v, m in variants.items()},
                   list(rng.normal(0, 0.03, 3)), seed=300)
    assert all(row.verdict == "no change" and row.unit == "run" for row in compare_runs(base, same))
    rows = {row.variant: row for row in compare_runs(base, slower)}
    assert rows["v3"].verdict == "regression"
    assert all(row.verdict == "no change" for v, row in rows.items() if v != "v3")
    assert rows["v3"].detectable < 0.25


def test_a_shift_one_comparison_group_shares_counts_once_not_once_per_variant():
    # Twelve variants of one group measured in the same minutes: a slow phase of the machine moves
    # all of them by the same 16%. They agree on their spread because they share it; counted as
    # twelve independent variances it would flag every one (t = 3.1 against 2.6), as one it does not.
    variants = {f"v{k}": 0.002 * (k + 1) for k in range(12)}
    base = _runs(variants, [0.0, 0.06, -0.06], seed=400)
    shifted = _runs(variants, [0.15, 0.21, 0.09], seed=500)
    rows = compare_runs(base, shifted)
    assert all(row.unit == "run" and row.verdict == "no change" for row in rows)
    assert all(row.ratio > 1.1 and row.ci_low < 1 for row in rows)  # a 16% move the interval cannot tell from 1


def _timed(docs: list[dict], minutes: list[int]) -> list[dict]:
    return [{**doc, "datetime": f"2026-01-01T12:{m:02d}:00+00:00"} for doc, m in zip(docs, minutes)]


def test_alternated_runs_are_compared_pair_by_pair_so_the_machines_drift_cancels():
    # The machine slows steadily by 8% a pair over five pairs; the runs of each pair share it.
    # Paired, v3's 25% slowdown stands out and nothing else moves; the same runs measured all base
    # first, then all new, cannot be paired, and the drift widens every interval past 25%.
    variants = {f"v{k}": 0.002 * (k + 1) for k in range(12)}
    drift = [0.0, 0.08, 0.16, 0.24, 0.32]
    base = _runs(variants, drift, seed=600)
    slower = _runs({v: m * (1.25 if v == "v3" else 1.0) for v, m in variants.items()}, drift, seed=700)
    rows = {row.variant: row for row in compare_runs(_timed(base, [0, 2, 4, 6, 8]), _timed(slower, [1, 3, 5, 7, 9]))}
    assert {row.unit for row in rows.values()} == {"pair"}
    assert rows["v3"].verdict == "regression" and rows["v3"].ratio == pytest.approx(1.25, rel=0.02)
    assert all(row.verdict == "no change" for v, row in rows.items() if v != "v3")
    unpaired = {row.variant: row for row in compare_runs(_timed(base, [0, 1, 2, 3, 4]), _timed(slower, [5, 6, 7, 8, 9]))}
    assert {row.unit for row in unpaired.values()} == {"run"}
    assert unpaired["v3"].verdict == "no change" and unpaired["v3"].detectable > rows["v3"].detectable


def test_runs_are_paired_only_when_five_or_more_pairs_were_taken_one_after_the_other():
    variants = {f"v{k}": 0.002 * (k + 1) for k in range(4)}
    base, new = _runs(variants, [0.0] * 5, seed=800), _runs(variants, [0.0] * 5, seed=900)
    alternated = (_timed(base, [0, 2, 4, 6, 8]), _timed(new, [1, 3, 5, 7, 9]))
    assert {row.unit for row in compare_runs(*alternated)} == {"pair"}
    # given in any order, the runs are paired by time
    assert {row.unit for row in compare_runs(alternated[0][::-1], alternated[1])} == {"pair"}
    assert {row.unit for row in compare_runs(alternated[0][:4], alternated[1][:4])} == {"run"}  # too few pairs
    assert {row.unit for row in compare_runs(alternated[0], alternated[1][:4])} == {"run"}  # unequal sides
    naive = [{**doc, "datetime": "2026-01-01T12:05:30"} for doc in alternated[1]]  # cannot be ordered with aware
    assert {row.unit for row in compare_runs(alternated[0], naive)} == {"run"}
    assert not any("pair" in n for n in compare.setup_notes(*alternated))
    block = (_timed(base, [0, 1, 2, 3, 4]), _timed(new, [5, 6, 7, 8, 9]))
    assert {row.unit for row in compare_runs(*block)} == {"run"}
    assert any("compared unpaired" in n for n in compare.setup_notes(*block))
    # base-head, head-base, ... (the order within pairs alternating) pairs too
    abba = (_timed(base, [0, 3, 4, 7, 8]), _timed(new, [1, 2, 5, 6, 9]))
    assert {row.unit for row in compare_runs(*abba)} == {"pair"}
    assert sides.pair_runs(*abba).new == [abba[1][k] for k in range(5)] and sides.pair_runs(*abba).left_out == 0
    # a run whose neighbour in time is of its own side (a failed run of the other side) is left out, and said
    extra = (_timed([*base, base[0]], [0, 2, 4, 6, 8, 10]), _timed(new, [1, 3, 5, 7, 11]))
    pairing = sides.pair_runs(*extra)
    assert pairing.left_out == 1 and pairing.base == [extra[0][k] for k in (0, 1, 2, 3, 5)]
    assert any("1 run(s) had no run of the other side" in n for n in compare.setup_notes(*extra))
    same_time = (_timed(base, [0, 2, 4, 6, 8]), _timed(new, [0, 2, 4, 6, 8]))  # the same runs on both sides
    assert sides.pair_runs(*same_time) is None
    missing = [{k: v for k, v in doc.items() if k != "datetime"} for doc in alternated[0]]
    assert {row.unit for row in compare_runs(missing, alternated[1])} == {"run"}
    # a benchmark absent from one run falls back to the unpaired comparison; the others stay paired
    gappy = [alternated[0][0] | {"benchmarks": alternated[0][0]["benchmarks"][1:]}, *alternated[0][1:]]
    units = {row.variant: row.unit for row in compare_runs(gappy, alternated[1])}
    assert units == {"v0": "run", "v1": "pair", "v2": "pair", "v3": "pair"}


def test_variance_prior_finds_a_common_variance_and_how_much_benchmarks_differ():
    from bench.analysis import distributions, stats

    rng = np.random.default_rng(3)
    common = [float(np.var(rng.normal(0, 0.03, 6), ddof=1)) for _ in range(400)]
    prior = stats.variance_prior(common, [5] * 400)
    assert prior.s2 == pytest.approx(0.03 ** 2, rel=0.15) and prior.df > 30
    scales = rng.choice([0.01, 0.06], 400)
    mixed = [float(np.var(rng.normal(0, s, 6), ddof=1)) for s in scales]
    assert stats.variance_prior(mixed, [5] * 400).df < 10  # they differ: each keeps more of its own
    assert stats.variance_prior([0.001, 0.002], [4, 4]) is None  # too few to say anything
    assert distributions.digamma(1) == pytest.approx(-0.5772156649, abs=1e-9)
    assert distributions.trigamma(1) == pytest.approx(np.pi ** 2 / 6, abs=1e-9)


def test_the_interval_widens_with_the_number_of_benchmarks():
    one = compare_runs(make_doc(make_bench(seed=1)), make_doc(make_bench(seed=2)))[0]
    many_base = make_doc(*[make_bench(f"w{i}", seed=i) for i in range(60)])
    many_new = make_doc(*[make_bench(f"w{i}", seed=100 + i) for i in range(60)])
    wide = next(r for r in compare_runs(many_base, many_new) if r.workload == "w1")
    assert (wide.ci_high / wide.ci_low) > (one.ci_high / one.ci_low)
    assert wide.detectable > one.detectable


def test_setup_differences_and_same_commit_are_said():
    base = make_doc(make_bench(seed=1), sessions=1000, backend="embedded")
    new = make_doc(make_bench(seed=2), sessions=5000, backend="embedded")
    notes = compare.setup_notes([base], [new])
    assert notes[0].startswith("warning: the two sides differ in set-up (sessions)")
    assert notes[1].startswith("both sides are the same commit")
    other = make_doc(make_bench(seed=2), sessions=1000, backend="embedded", commit="fff")
    assert compare.setup_notes([base], [other]) == []


def test_one_file_per_side_takes_its_spread_between_runs_from_its_trials_and_says_so():
    quiet = make_doc(make_bench(seed=2, noise=0.01), load={"noisy": False})
    noisy = make_doc(make_bench(seed=1, noise=0.08))
    # a quiet run's trials say little: the least spread; a noisy one's, a multiple of their spread
    assert sides.run_spread([quiet]) == rule.RUN_SPREAD
    trials = sides.trial_spread(noisy)
    assert trials == pytest.approx(np.std(np.log(noisy["benchmarks"][0]["extra_info"]["trial_medians_s"]), ddof=1))
    assert sides.run_spread([noisy]) == pytest.approx(rule.RUN_SPREAD_PER_TRIAL_SPREAD * trials)
    assert sides.run_spread([noisy]) > rule.RUN_SPREAD
    # the interval widens with it, and one line says why (with each side's value)
    (quiet_row,) = compare_runs(quiet, quiet)
    (noisy_row,) = compare_runs(quiet, noisy)
    assert np.log(noisy_row.ci_high / noisy_row.ci_low) > np.log(quiet_row.ci_high / quiet_row.ci_low) * 1.5
    (said,) = [note for note in compare.setup_notes([quiet], [noisy]) if "spread more" in note]
    assert f"new {sides.run_spread([noisy]):.3f}" in said and "busy" not in said
    assert not any("spread more" in note for note in compare.setup_notes([quiet], [quiet]))
    # several files per side measure the spread between runs: no such note
    assert not any("spread more" in note for note in compare.setup_notes([noisy, noisy], [quiet, quiet]))


def test_a_busy_run_compared_one_file_per_side_is_said_and_several_per_side_is_not():
    busy = make_doc(make_bench(seed=1), load={"noisy": True, "other_cpu_share": 0.57})
    quiet = make_doc(make_bench(seed=2), load={"noisy": False})
    assert any("new run was taken on a busy machine" in note for note in compare.setup_notes([quiet], [busy]))
    assert any("base and new runs were taken" in note for note in compare.setup_notes([busy], [busy]))
    assert not any("busy machine" in note for note in compare.setup_notes([quiet], [quiet]))
    assert not any("busy machine" in note for note in compare.setup_notes([busy, busy], [quiet, quiet]))
    for strange in ("noisy", {"noisy": "yes"}, None, ["noisy"]):
        assert not any("busy machine" in note for note in compare.setup_notes([quiet], [make_doc(load=strange)]))


def test_identity_includes_variant_image_and_rtt():
    base = make_doc(make_bench(variant="baseline"), make_bench(variant="loading=selectin"))
    new = make_doc(make_bench(variant="loading=selectin"))
    (row,) = compare_runs(base, new)
    assert row.variant == "loading=selectin"


def test_nothing_in_common_is_a_user_error():
    with pytest.raises(UserError, match="no benchmark in common"):
        compare_runs(make_doc(make_bench("dashboard")), make_doc(make_bench("search")))


def test_duplicate_benchmark_is_a_user_error():
    with pytest.raises(UserError, match="twice"):
        compare_runs(make_doc(make_bench(), make_bench()), make_doc(make_bench()))


@pytest.mark.parametrize(("text", "value"), [("10%", 0.10), ("0.1", 0.10), ("10", 0.10), (" 5 % ", 0.05),
                                             ("0", 0.0), ("1", 1.0), ("150%", 1.5), (0.2, 0.2)])
def test_parse_threshold(text, value):
    assert parse_threshold(text) == pytest.approx(value)


@pytest.mark.parametrize("text", ["ten", "", "%", "-5%", "nan"])
def test_parse_threshold_rejects_junk(text):
    with pytest.raises(ValueError, match="threshold"):
        parse_threshold(text)


def test_markdown_has_summary_then_table():
    base = make_doc(make_bench("dashboard", seed=1), make_bench("search", seed=2))
    new = make_doc(make_bench("dashboard", seed=3, median=0.0140), make_bench("search", seed=4))
    text = render(compare_runs(base, new), "markdown", threshold=0.10)
    lines = text.splitlines()
    assert lines[0] == ("**1 regression, 0 improvements, 1 unchanged (threshold 10%; noise flags any of the 2 "
                        "benchmarks as slower at most 5% of the time; unit: trial)**")
    assert lines[2] == "| benchmark | base ms | new ms | change | interval | detects | verdict | statements |"
    assert lines[4].startswith("| dashboard page_size=100 [baseline] |")
    assert "**regression**" in lines[4]


def test_text_and_json_renderings():
    base = make_doc(make_bench(statements=2))
    new = make_doc(make_bench(statements=3))
    rows = compare_runs(base, new)
    text = render(rows, "text")
    assert text.splitlines()[0].endswith("; 1 benchmark issuing more SQL statements")
    assert "2 → 3 (more)" in text
    payload = json.loads(render(rows, "json"))
    assert payload["rows"][0]["statements_verdict"] == "more"
    assert payload["family_alpha"] == 0.05


def test_render_rejects_unknown_format():
    with pytest.raises(ValueError, match="unknown format"):
        render([], "html")


def run_main(base_path, new_path, threshold="10%", fmt="text"):
    out, err = io.StringIO(), io.StringIO()
    code = main_compare(base_path, new_path, threshold, fmt, out=out, err=err)
    return code, out.getvalue(), err.getvalue()


def test_main_compare_exit_0_when_nothing_regressed(tmp_path):
    base = write(tmp_path, "base.json", make_doc(make_bench(seed=1), make_bench("only_base")))
    new = write(tmp_path, "new.json", make_doc(make_bench(seed=2, median=0.007)))
    code, out, err = run_main(base, new)
    assert code == 0
    assert out.startswith("0 regressions, 1 improvement, 0 unchanged")
    assert "1 only in base, not compared: only_base page_size=100 [baseline]" in out
    assert err == ""


def test_main_compare_exit_1_on_regression(tmp_path):
    base = write(tmp_path, "base.json", make_doc(make_bench(seed=1)))
    new = write(tmp_path, "new.json", make_doc(make_bench(seed=2, median=0.014)))
    code, out, _ = run_main(base, new, fmt="markdown")
    assert code == 1
    assert "| benchmark |" in out


def test_main_compare_exit_1_on_more_statements(tmp_path):
    base = write(tmp_path, "base.json", make_doc(make_bench(seed=1, statements=2)))
    new = write(tmp_path, "new.json", make_doc(make_bench(seed=1, statements=12)))
    assert run_main(base, new)[0] == 1


def test_main_compare_threshold_changes_the_verdict(tmp_path):
    base = write(tmp_path, "base.json", make_doc(make_bench(seed=1)))
    new = write(tmp_path, "new.json", make_doc(make_bench(seed=2, median=0.014)))
    assert run_main(base, new, threshold="10%")[0] == 1
    assert run_main(base, new, threshold="50%")[0] == 0


@pytest.mark.parametrize(
    ("new_content", "message"),
    [
        (None, "no such results file"),
        ("{not json", "not JSON"),
        ({"benchmarks": []}, "not a sessionbench results file"),
        ({"sessionbench": {}}, "not a sessionbench results file"),
        ([1, 2], "not a sessionbench results file"),
        ({"sessionbench": {"format_version": 99}, "benchmarks": []}, "results format 99"),
        (make_doc(make_bench("other")), "no benchmark in common"),
        (make_doc(make_bench(), make_bench()), "twice"),
    ],
)
def test_main_compare_exit_2_on_unusable_input(tmp_path, new_content, message):
    base = write(tmp_path, "base.json", make_doc(make_bench()))
    new = tmp_path / "new.json" if new_content is None else write(tmp_path, "new.json", new_content)
    code, out, err = run_main(base, new)
    assert code == 2
    assert out == ""
    assert len(err.splitlines()) == 2
    assert message in err.splitlines()[0]
    assert err.splitlines()[1].startswith("  try: ")


@pytest.mark.parametrize(("threshold", "fmt"), [("lots", "text"), ("10%", "html")])
def test_main_compare_exit_2_on_bad_options(tmp_path, threshold, fmt):
    base = write(tmp_path, "base.json", make_doc(make_bench()))
    assert run_main(base, base, threshold=threshold, fmt=fmt)[0] == 2


def test_identity_label_shows_only_what_is_set():
    assert identity_label(("dashboard", "page_size=10", None, None, 0.0)) == "dashboard page_size=10 [baseline]"
    assert identity_label(("purge", None, "deletion=soft", "postgres:16", 5.0)) == (
        "purge [deletion=soft] image=postgres:16 rtt=5ms"
    )


def test_interpolated_bases_cancel_a_steady_drift_that_pairs_keep_one_runs_worth_of():
    # The machine slows by 12% a run, and each new run comes after its base run: every pair carries
    # one run's drift, so paired compare calls unchanged code 12% slower. Against the base runs
    # either side (the error-rate notes' alternative), only the last pair keeps it.
    variants = {f"v{k}": 0.002 * (k + 1) for k in range(12)}
    base = _runs(variants, [0.12 * k for k in (0, 2, 4, 6, 8)], seed=1000)
    new = _runs(variants, [0.12 * k for k in (1, 3, 5, 7, 9)], seed=1100)
    base, new = _timed(base, [0, 2, 4, 6, 8]), _timed(new, [1, 3, 5, 7, 9])
    paired = compare_runs(base, new)
    assert all(row.unit == "pair" and row.ratio == pytest.approx(1.127, rel=0.02) for row in paired)
    assert any(row.verdict == "regression" for row in paired)
    interpolated = compare_runs(base, new, interpolate=True)
    assert all(row.ratio == pytest.approx(1.024, rel=0.02) and row.verdict == "no change" for row in interpolated)


def test_the_rules_numbers_are_arguments_defaulting_to_the_modules():
    variants = {f"v{k}": 0.002 * (k + 1) for k in range(4)}
    base, new = _runs(variants, [0.0] * 4, seed=800), _runs(variants, [0.0] * 4, seed=900)
    alternated = (_timed(base, [0, 2, 4, 6]), _timed(new, [1, 3, 5, 7]))
    assert {row.unit for row in compare_runs(*alternated)} == {"run"}  # four pairs: fewer than MIN_PAIRS
    assert {row.unit for row in compare_runs(*alternated, min_pairs=4)} == {"pair"}
    assert len(sides.pair_runs(*alternated, min_pairs=4).base) == 4
    noisy = make_doc(make_bench(seed=1, noise=0.08))
    trials = sides.trial_spread(noisy)
    assert sides.run_spread([noisy], per_trial_spread=3.0) == pytest.approx(3.0 * trials)
    assert sides.run_spread([noisy], per_trial_spread=0.0) == rule.RUN_SPREAD
    (usual,) = compare_runs(noisy, noisy)
    (wider,) = compare_runs(noisy, noisy, run_spread_per_trial_spread=3.0)
    assert wider.ci_high / wider.ci_low > usual.ci_high / usual.ci_low
    assert rule.RUN_SPREAD_PER_TRIAL_SPREAD == 1.8 and rule.MIN_PAIRS == 5  # nothing changed the module's
