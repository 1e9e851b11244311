"""The error-rate harness's bookkeeping, on literal data (the series itself is measured, not tested)."""

from __future__ import annotations

import argparse
import json
import math

import pytest

from tools import error_rates
from tools.error_rates import between_runs, gate_errors, injected_size, runner, sections
from bench.results import FORMAT_VERSION


def test_write_doc_replaces_only_its_own_section(tmp_path):
    page = tmp_path / "rates.md"
    page.write_text("# Rates\nintro\n<!-- error-rates:idle:begin -->\nold\n<!-- error-rates:idle:end -->\noutro\n")
    sections.write_doc(page, "idle", "new numbers")
    sections.write_doc(page, "busy", "busy numbers")
    text = page.read_text()
    assert text.startswith("# Rates\nintro\n<!-- error-rates:idle:begin -->\nnew numbers\n<!-- error-rates:idle:end -->"
                           "\noutro\n")
    assert text.endswith("<!-- error-rates:busy:begin -->\nbusy numbers\n<!-- error-rates:busy:end -->\n")
    assert "old" not in text


def _run(tmp_path, name, trials):
    """A results file with one benchmark per (variant, trial medians, ratio)."""
    path = tmp_path / f"{name}.json"
    path.write_text(json.dumps({"sessionbench": {"format_version": FORMAT_VERSION, "run_id": name}, "benchmarks": [
        {"name": f"test_workload[{variant}]",
         "stats": {"median": sorted(medians)[len(medians) // 2], "rounds": len(medians), "data": medians},
         "extra_info": {"workload": "dashboard", "param": "page_size=100", "variant": variant, "image": None,
                        "rtt_ms": 0.0, "trial_medians_s": medians, "ratio": ratio}}
        for variant, medians, ratio in trials]}))
    return path


def test_run_spread_is_what_the_trials_do_not_explain(tmp_path):
    # Two runs, trials identical within each run (no within-run spread): all spread is between runs.
    a = _run(tmp_path, "a", [("baseline", [1.0, 1.0, 1.0], 1.0)])
    b = _run(tmp_path, "b", [("baseline", [math.e ** 0.1] * 3, 1.0)])
    spread = between_runs.run_spread([a, b])
    # variance of the two run means (0 and 0.1) is 0.005: a spread of sqrt(0.005)
    assert spread["median"] == pytest.approx(math.sqrt(0.005))
    # when the trials alone spread that much, nothing is left for the runs
    c = _run(tmp_path, "c", [("baseline", [0.5, 2.0, 0.5, 2.0], 1.0)])
    d = _run(tmp_path, "d", [("baseline", [0.5, 2.0, 0.5, 2.2], 1.0)])
    assert between_runs.run_spread([c, d])["median"] == 0.0


def test_headline_ratios_are_read_the_way_round_they_are_named(tmp_path):
    path = _run(tmp_path, "h", [("baseline", [1.0, 1.0], 1.0), ("loading=selectin", [0.25, 0.25], 0.25)])
    assert between_runs.headline_ratios(path) == {"lazy / selectin, dashboard page 100": pytest.approx(4.0)}


def _row(workload, verdict, detectable=0.2):
    return {"workload": workload, "param": "", "variant": "baseline", "ratio": 1.0, "ci_low": 0.9,
            "ci_high": 1.1, "verdict": verdict, "detectable": detectable}


def test_gate_rates_count_false_flags_catches_and_bystanders():
    aa = [{"exit": 0, "rows": [_row("a", "no change"), _row("b", "no change")]},
          {"exit": 1, "rows": [_row("a", "regression"), _row("b", "no change", 0.4)]}]
    ab = [{"slowed": "a", "exit": 1, "rows": [_row("a", "regression"), _row("a", "regression"), _row("b", "improvement")]}]
    rates = gate_errors.gate_rates(aa, ab)
    assert rates["aa_exit"] == (1, 2)
    assert rates["aa_flags"] == (1, 4)
    assert rates["ab_caught"] == (2, 2)
    assert rates["ab_bystanders"] == (1, 1)
    assert rates["detectable_median"] == pytest.approx(0.2)
    assert rates["detectable_by_workload"] == {"a": pytest.approx(0.2), "b": pytest.approx(0.3)}


def test_several_per_side_compares_alternated_runs_as_ci_does_and_catches_the_slowed_workloads(tmp_path):
    from tools.error_rates.gate_errors import several_per_side
    from tests.test_compare import _runs

    variants = {f"v{k}": 0.002 * (k + 1) for k in range(6)}
    unchanged = _runs(variants, [0.0, 0.02, -0.02, 0.01, -0.01, 0.0, 0.015, -0.015], seed=1)
    slowed = _runs({v: m * 1.5 for v, m in variants.items()}, [0.0, 0.02, -0.02], seed=2)

    def saved(docs, prefix):
        return _saved(tmp_path, docs, prefix)

    base = saved(unchanged, "A")
    result = {"runs": base, "blocks": [{"slowed": ["dashboard"], "base": base[:3], "new": saved(slowed, "B")},
                                       {"slowed": ["active_sync"], "base": base[:3], "new": base[3:6]}]}
    rates = several_per_side(result, per_side=3)
    assert rates["windows"] == 3 and rates["aa_exit"] == (0, 3) and rates["aa_flags"][0] == 0  # 8 runs: 3 windows of 6
    assert rates["blocks"] == 2 and rates["ab_caught"] == (6, 6)  # the first block's dashboard benchmarks
    assert rates["ab_bystanders"] == (0, 6)  # the second block slowed a workload these runs do not have
    pairs = several_per_side(result, per_side=2)  # 8 runs: 5 windows of 4; no block has 2 runs a side
    assert pairs["windows"] == 5 and pairs["blocks"] == 0 and pairs["ab_caught"] == (0, 0)


def test_a_trend_across_a_series_falls_on_both_sides_of_an_alternated_window(tmp_path):
    """A machine that slows down over minutes: comparing early runs with late ones would flag it;
    alternating base and head, as CI does, does not."""
    from tools.error_rates.gate_errors import several_per_side
    from tests.test_compare import _runs

    variants = {f"v{k}": 0.002 * (k + 1) for k in range(6)}
    drifting = _runs(variants, [0.05 * n for n in range(6)], seed=3)  # each run 5% slower than the one before
    paths = []
    for n, doc in enumerate(drifting):
        path = tmp_path / f"A{n}.json"
        path.write_text(json.dumps(doc))
        paths.append(str(path))
    assert several_per_side({"runs": paths}, per_side=3)["aa_exit"] == (0, 1)
    from bench.gate import compare, rule
    from bench import results
    early_late = compare.compare_runs([results.read(p) for p in paths[:3]], [results.read(p) for p in paths[3:]])
    assert rule.has_regression(early_late)  # what a non-alternated comparison would have said


def test_ci_order_splits_consecutive_runs_base_head_base_head():
    assert gate_errors.ci_order(list(range(10))) == ([0, 2, 4, 6, 8], [1, 3, 5, 7, 9])


def test_blocks_alternate_unchanged_and_slowed_runs_and_rotate_the_bystander(tmp_path, monkeypatch):
    made = []

    def one_run(workloads, out, env=None, shard=None):
        made.append((out.name if not shard else f"{out.parent.name} {shard}", (env or {}).get("SESSIONBENCH_TEST_SLOWDOWN")))
        return out / f"run{shard or ''}.json".replace("/", "of")

    monkeypatch.setattr(runner, "one_run", one_run)
    monkeypatch.setattr(runner, "merge", lambda parts, out: out / f"merged from {len(parts)}.json")
    options = argparse.Namespace(workloads="dashboard,list_live,active_sync", blocks=2, slowdown=0.25,
                                 work=str(tmp_path), per_side=3, parts=1)
    done = runner.blocks({"runs": []}, options)
    slow_first, slow_second = "list_live=0.25,active_sync=0.25", "dashboard=0.25,active_sync=0.25"
    assert made[:6] == [("BLOCK00-A0", None), ("BLOCK00-B0", slow_first), ("BLOCK00-A1", None),
                        ("BLOCK00-B1", slow_first), ("BLOCK00-A2", None), ("BLOCK00-B2", slow_first)]  # as CI orders them
    assert done["blocks"][0]["base"] == [str(tmp_path / f"BLOCK00-A{k}" / "run.json") for k in range(3)]
    assert [name for name, _ in made[6:]][:2] == ["BLOCK01-A0", "BLOCK01-B0"] and made[7][1] == slow_second
    assert [b["slowed"] for b in done["blocks"]] == [["list_live", "active_sync"], ["dashboard", "active_sync"]]
    again = runner.blocks(done, argparse.Namespace(**{**vars(options), "blocks": 1}))
    assert len(again["blocks"]) == 3 and made[-1][0] == "BLOCK02-B2"  # more blocks add to the stored ones
    with pytest.raises(SystemExit):
        error_rates.main(["--blocks", "3", "--work", str(tmp_path)])
    five = runner.blocks({"runs": []}, argparse.Namespace(**{**vars(options), "blocks": 1, "per_side": 5}))
    assert [len(five["blocks"][0][side]) for side in ("base", "new")] == [5, 5] and made[-1][0] == "BLOCK00-B4"
    with pytest.raises(SystemExit):
        error_rates.main(["--replay", "--blocks", "1", "--per-side", "0", "--work", str(tmp_path)])
    # --parts 2: each pair part by part, base then slowed, as `sessionbench continuous --parts 2`; then merged
    made.clear()
    parted = runner.blocks({"runs": []}, argparse.Namespace(**{**vars(options), "blocks": 1, "per_side": 1, "parts": 2}))
    assert made == [("BLOCK00-A0 1/2", None), ("BLOCK00-B0 1/2", slow_first), ("BLOCK00-A0 2/2", None),
                    ("BLOCK00-B0 2/2", slow_first)]
    assert parted["blocks"][0]["base"] == [str(tmp_path / "BLOCK00-A0" / "merged from 2.json")]
    assert parted["blocks"][0]["parts"] == 2


def test_analyze_measures_run_effects_and_pairing_on_a_drifting_series(tmp_path):
    """Runs whose shift carries over from one run to the next: the run effect's autocorrelation is
    high, and five pairs cancel the drift that unpaired runs carry into every interval."""
    from tests.test_compare import _runs

    variants = {f"v{k}": 0.002 * (k + 1) for k in range(6)}
    drift = [0.04 * n for n in range(12)]  # a machine slowing 4% a run, every variant alike
    paths = []
    for n, doc in enumerate(_runs(variants, drift, seed=11)):
        path = tmp_path / f"A{n}.json"
        path.write_text(json.dumps({**doc, "datetime": f"2026-01-01T12:{n:02d}:00+00:00"}))
        paths.append(str(path))
    result = {"runs": paths}
    (effect,) = between_runs.run_effects(result).values()
    assert effect["lag1"] > 0.7 and effect["sd"] > 0.1
    unpaired = gate_errors.pairing_rates(result, 5, pair_up=False)
    paired = gate_errors.pairing_rates(result, 5)
    assert unpaired["aa_exit"][1] == paired["aa_exit"][1] == 3  # 12 runs: 3 windows of 10
    assert paired["aa_flags"][0] == 0  # each pair's runs were 4% apart, well inside the 10% threshold
    assert gate_errors.abba_order(list(range(8))) == ([0, 3, 4, 7], [1, 2, 5, 6])
    with pytest.raises(SystemExit):
        error_rates.main(["--analyze", "--work", str(tmp_path / "none")])


def test_one_file_rates_widen_with_the_factor_and_the_analysis_prints_each(tmp_path):
    """Runs that move apart twice as far as their trials spread: RUN_SPREAD alone flags unchanged
    runs, and a wider factor of the run's trial spread flags no more (it can only widen intervals)."""
    import numpy as np

    from tests.test_compare import make_bench, make_doc

    rng = np.random.default_rng(5)
    variants = [f"v{k}" for k in range(8)]
    paths = []
    for n in range(12):
        doc = make_doc(*(make_bench(variant=v, median=0.002 * (k + 1) * float(np.exp(rng.normal(0, 0.08))),
                                    noise=0.04, seed=100 * n + k) for k, v in enumerate(variants)), run_id=f"r{n}")
        path = tmp_path / f"A{n}.json"
        path.write_text(json.dumps(doc))
        paths.append(str(path))
    slowed = tmp_path / "SLOW.json"
    slowed.write_text(json.dumps(make_doc(*(make_bench(variant=v, median=0.002 * (k + 1) * 1.6, noise=0.04, seed=7 + k)
                                            for k, v in enumerate(variants)), run_id="slow")))
    result = {"runs": paths, "slow": [{"workload": "dashboard", "base": 3, "path": str(slowed)}]}
    alone, wide = gate_errors.one_file_rates(result, None), gate_errors.one_file_rates(result, 2.1)
    assert alone["aa_exit"][1] == 11 and alone["aa_flags"][1] == 11 * 8 and alone["ab_caught"][1] == 8
    assert alone["aa_flags"][0] > wide["aa_flags"][0]
    assert alone["ab_caught"][0] >= wide["ab_caught"][0]
    table = sections.spread_evidence(result)
    assert "RUN_SPREAD 0.04 alone" in table and all(f"{f} x trial spread" in table for f in gate_errors.SPREAD_FACTORS)
    from bench.gate import rule

    assert rule.RUN_SPREAD_PER_TRIAL_SPREAD == 1.8  # put back after each rate


def test_headline_windows_of_reports_over_three_runs_outlast_one_odd_run(tmp_path):
    # 15 runs whose lazy/selectin ratio is 4, but one run's is 6: every window of five single runs
    # holding it moves by half; a report over three runs takes their median and does not move.
    ratios = [4.0] * 15
    ratios[7] = 6.0
    paths = [str(_run(tmp_path, f"A{n}", [("baseline", [1.0] * 6, 1.0), ("loading=selectin", [1.0 / r] * 6, 1 / r)]))
             for n, r in enumerate(ratios)]
    single = between_runs.headline_windows({"runs": paths})["lazy / selectin, dashboard page 100"]["median"]
    assert (single["held"], single["windows"]) == (11 - 5, 11) and single["worst"] == pytest.approx(0.5)
    pooled = between_runs.headline_windows({"runs": paths}, pooled=3)["lazy / selectin, dashboard page 100"]["median"]
    assert (pooled["held"], pooled["windows"], pooled["worst"]) == (1, 1, 0.0)  # 13 reports: one window of 5 apart


def test_slowed_by_reads_both_forms_of_the_slowdown():
    from types import SimpleNamespace as Row

    selectin = Row(workload="dashboard", variant="loading=selectin")
    base = Row(workload="dashboard", variant="baseline")
    other = Row(workload="list_live", variant="v0")  # a synthetic label: no axis to read, none needed
    assert injected_size.slowed_by("dashboard=0.25", selectin) and injected_size.slowed_by("dashboard=0.25", base)
    assert injected_size.slowed_by("dashboard[loading=selectin]=0.25", selectin)
    assert not injected_size.slowed_by("dashboard[loading=selectin]=0.25", base)
    assert not injected_size.slowed_by("dashboard=0.25", other) and injected_size.slowed_by("x=1,list_live=0.5", other)
    assert not injected_size.slowed_by("dashboard=0", base)


def _saved(tmp_path, docs, prefix):
    paths = []
    for n, doc in enumerate(docs):
        path = tmp_path / f"{prefix}{n}.json"
        path.write_text(json.dumps(doc))
        paths.append(str(path))
    return paths


def test_size_report_gives_each_slowed_benchmarks_measured_ratio_against_the_aim(tmp_path):
    from tests.test_compare import make_bench, make_doc

    def run(n, slow):
        # selectin 25% slower, raise 10% slower (a size the aim would not accept); baseline untouched
        factors = {"baseline": 1.0, "loading=selectin": 1.25 if slow else 1.0, "loading=raise": 1.10 if slow else 1.0}
        return make_doc(*(make_bench(variant=v, median=0.01 * f, noise=0.002, seed=10 * n + k)
                          for k, (v, f) in enumerate(factors.items())), run_id=f"{'B' if slow else 'A'}{n}")

    done = {"spec": "dashboard[loading=selectin]=0.25,dashboard[loading=raise]=0.25",
            "base": _saved(tmp_path, [run(n, False) for n in range(5)], "A"),
            "new": _saved(tmp_path, [run(n, True) for n in range(5)], "B")}
    options = argparse.Namespace(argv=["--size"], busy=False, workloads="dashboard", slowdown=0.25)
    report = injected_size.size_report(done, options, "t")
    selectin = next(line for line in report.splitlines() if "loading=selectin |" in line)
    raising = next(line for line in report.splitlines() if "loading=raise |" in line)
    assert "| yes |" in selectin and "| regression |" in selectin
    assert "| NO |" in raising  # 1.10 is 0.15 from the aim of 1.25
    assert "baseline |" not in report  # a bystander has no row, only its count
    assert "1/2 within ±0.07" in report and "bystanders flagged 0/1" in report


def test_size_report_with_nothing_slowed_is_an_a_a_over_every_benchmark(tmp_path):
    from tests.test_compare import make_bench, make_doc

    def run(n, side):
        return make_doc(*(make_bench(variant=v, median=0.01, noise=0.002, seed=100 * side + 10 * n + k)
                          for k, v in enumerate(("baseline", "loading=selectin", "loading=raise"))), run_id=f"{side}{n}")

    done = {"spec": "dashboard=0", "parts": 4, "base": _saved(tmp_path, [run(n, 0) for n in range(5)], "A"),
            "new": _saved(tmp_path, [run(n, 1) for n in range(5)], "B")}
    options = argparse.Namespace(argv=["--size", "--slowed", "dashboard=0"], busy=True, workloads="dashboard",
                                 slowdown=0.25)
    report = injected_size.size_report(done, options, "t")
    assert "Nothing slowed (A/A): compare exits 0; flagged 0/3 benchmarks" in report
    assert "each run in 4 parts" in report and "--parts 4" in report


def test_several_per_side_reports_each_slowed_benchmarks_size_beside_whether_it_was_caught(tmp_path):
    from tests.test_compare import _runs

    variants = {f"v{k}": 0.002 * (k + 1) for k in range(6)}
    base = _saved(tmp_path, _runs(variants, [0.0, 0.02, -0.02], seed=1), "A")
    slowed = _saved(tmp_path, _runs({v: m * 1.5 for v, m in variants.items()}, [0.0, 0.02, -0.02], seed=2), "B")
    result = {"runs": base, "blocks": [{"slowed": ["dashboard"], "spec": "dashboard=0.5", "base": base, "new": slowed}]}
    sizes = gate_errors.several_per_side(result, per_side=3)["sizes"]
    assert len(sizes) == 6 and all(s["caught"] for s in sizes)
    assert all(s["ratio"] == pytest.approx(1.5, rel=0.03) for s in sizes)
    lines = "\n".join(injected_size.size_lines(sizes, 0.5))
    assert "| dashboard | page_size=100 | 6 |" in lines and "| 6/6 |" in lines
    assert "measured at 1.43 or more: 6/6 caught; below: 0/0 caught" in lines


def test_injected_log_summary_sets_the_work_against_its_aim_and_the_round_itself():
    rounds = [  # 4 ms before the work, 1 ms after it: a quarter of the round is 1.25 ms
        {"case": "c", "fraction": 0.25, "elapsed_s": 0.004, "aimed_s": 0.00125, "injected_s": 0.00125,
         "server_aimed_s": 0.000625, "server_s": 0.0005, "tail_s": 0.001},
        {"case": "c", "fraction": 0.25, "elapsed_s": 0.004, "aimed_s": 0.001, "injected_s": 0.0015,
         "server_aimed_s": 0.0005, "server_s": 0.0, "tail_s": 0.001},  # server part left to the client
    ]
    table = injected_size.injected_log_summary(rounds)
    # work / aim: 1.0 and 1.5; work / own quarter: 1.0 and 1.2; the server part only where it ran: 0.8
    assert table.splitlines()[-1] == "| c | 2 | 1.250 (1.000-1.500) | 1.100 (1.000-1.200) | 0.800 (0.800-0.800) |"


def test_one_file_sizes_are_the_slowed_workloads_rows_of_each_comparison():
    slowed_row = {**_row("dashboard", "regression"), "ratio": 1.27}
    missed_row = {**_row("dashboard", "no change"), "ratio": 1.12}
    comparisons = [{"slowed": "dashboard", "rows": [slowed_row, _row("list_live", "no change")]},
                   {"slowed": "dashboard", "rows": [missed_row]}]
    sizes = injected_size.one_file_sizes(comparisons)
    assert [(s["ratio"], s["caught"]) for s in sizes] == [(1.27, True), (1.12, False)]
    assert "measured at 1.18 or more: 1/1 caught; below: 0/1 caught" in "\n".join(injected_size.size_lines(sizes, 0.25))


def test_the_size_splits_into_each_rounds_slowdown_and_the_runs_own_speed():
    key = "dashboard[page_size=10]-baseline"
    # two slowed runs whose rounds' own parts were 10 and 12 ms, each slowed by exactly a quarter
    logs = [[{"case": key, "elapsed_s": own - 0.001, "tail_s": 0.001, "injected_s": own / 4}] * 3
            for own in (0.010, 0.012)]
    parts = injected_size.own_parts(logs)
    assert parts[key][0] == pytest.approx(1.25) and parts[key][1] == pytest.approx([0.010, 0.012])
    unslowed = {"benchmarks": [{"extra_info": {"workload": "dashboard", "param": "page_size=10", "variant": "baseline"},
                                "stats": {"data": [0.010, 0.0099, 0.5]}}]}  # median 10 ms, one stalled round
    base = injected_size.round_medians([unslowed, unslowed])
    assert base == {key: [0.010, 0.010]}
    row = argparse.Namespace(workload="dashboard", param="page_size=10", variant="baseline", ratio=1.375)
    bystander = argparse.Namespace(workload="list_live", param="", variant="baseline", ratio=0.96)
    line = injected_size.decomposition_lines([row, bystander], [row], parts, base)[-1]
    # the slowed runs' own part: sqrt(10 x 12) = 10.95 ms against 10 ms, so compare's 1.375 is 1.25 x 1.10
    assert "own part + work) / own part 1.250 (1.250-1.250)" in line
    assert "against the unslowed runs' round 1.095 (1.095-1.095)" in line
    assert "bystanders' ratio 0.960 (0.960-0.960)" in line


def test_counts_carry_their_clopper_pearson_upper_bound():
    from tools.error_rates.sections import _bound
    assert _bound(0, 30) == "0/30, upper bound 9.5%"
    assert _bound(1, 1290) == "1/1290, upper bound 0.4%"
    assert _bound(0, 0) == "-"
