"""The decision rule (bench/verdicts/rules.py): three outcomes on latency with a 10% margin, ties
broken by stated facts, never by a point estimate; and the decision object `sessionbench verdicts` prints."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from bench.analysis.tables import Ratio
from bench.results import load
from bench.verdicts import decisions, verdicts
from bench.verdicts.decision import SCHEMA, decision
from bench.verdicts.rules import BETTER, EQUIVALENT, MARGIN, UNRESOLVED, WORSE, choose, short, versus

ROOT = Path(__file__).resolve().parents[1]
RUNS = ROOT / "tests" / "golden" / "runs"
FIXTURES = [str(path) for path in sorted(RUNS.glob("*.json")) if path.name != "format_v1.json"]
BASE = Ratio(1.0, 1.0, 1.0)


@pytest.mark.parametrize("a, expected", [
    (Ratio(0.50, 0.40, 0.60), BETTER),       # the whole interval below 1 / 1.1
    (Ratio(0.85, 0.80, 0.92), UNRESOLVED),   # the interval reaches past 1 / 1.1 = 0.909
    (Ratio(0.98, 0.95, 1.05), EQUIVALENT),   # the whole interval within [0.909, 1.1]
    (Ratio(1.30, 1.20, 1.40), WORSE),
    (Ratio(1.30, 0.50, 2.00), UNRESOLVED),   # a wide interval decides nothing, whatever its estimate
    (Ratio(0.50), UNRESOLVED),               # no interval
])
def test_versus_has_three_outcomes_and_a_margin(a, expected):
    assert MARGIN == 0.10
    assert versus(a, BASE)[0] == expected


def test_a_clear_winner_wins():
    found = {"a": Ratio(0.3, 0.25, 0.35), "b": Ratio(1.0, 0.95, 1.05), "c": Ratio(2.0, 1.8, 2.2)}
    choice = choose(found, lambda v: (v,), ("name",))
    assert (choice.chosen, choice.won, choice.tied) == ("a", True, ())


def test_a_tie_goes_to_the_stated_facts_not_to_the_lower_estimate():
    found = {"fast_on_paper": Ratio(0.80, 0.40, 1.60), "fewer_round_trips": Ratio(0.95, 0.50, 1.80)}
    trips = {"fast_on_paper": 3, "fewer_round_trips": 2}
    choice = choose(found, lambda v: (trips[v], v), ("fewer round trips", "the stated order"))
    assert choice.chosen == "fewer_round_trips" and not choice.won
    assert choice.tied == ("fast_on_paper",) and choice.broke_tie == "fewer round trips"
    assert "a tie on latency with fast_on_paper" in choice.text()


def test_a_dominated_candidate_is_never_chosen_whatever_the_tie_break():
    found = {"slow": Ratio(2.0, 1.8, 2.2), "fast": Ratio(0.5, 0.45, 0.55), "also_fast": Ratio(0.52, 0.3, 0.9)}
    choice = choose(found, lambda v: (v != "slow", v), ("prefers slow",))
    assert choice.chosen != "slow" and "slow" not in choice.tied


def test_more_data_narrowing_the_intervals_does_not_reverse_a_settled_choice():
    wide = {"x": Ratio(0.5, 0.40, 0.62), "y": Ratio(1.0, 0.9, 1.1)}
    narrow = {"x": Ratio(0.5, 0.47, 0.53), "y": Ratio(1.0, 0.98, 1.02)}
    key = (lambda v: (v == "x",))  # a tie-break that would pick y: it never gets the chance
    assert choose(wide, key, ("order",)).chosen == choose(narrow, key, ("order",)).chosen == "x"


@pytest.mark.parametrize("path", FIXTURES, ids=lambda p: Path(p).name)
def test_the_action_follows_the_recommendation(path):
    """Adopt means the review's own variant is recommended; change names the recommended one (C1, C2)."""
    table = verdicts(load([path]), decisions.delete_paths([path])).set_index("claim")
    proposal = {"C1": "loading=selectin", "C2": "sync_flag=bool_column"}
    for claim, own in proposal.items():
        row = table.loc[claim]
        if row["action"] == "adopt":
            assert row["recommended"] == own, (claim, row["recommended"], row["reason"])
        if row["action"] == "change":
            assert row["reason"].startswith(f"use {short(row['recommended'])}"), (claim, row["reason"])


def test_the_decision_object_is_the_verdict_table():
    path = str(RUNS / "default.json")
    found = decision([path])
    table = verdicts(load([path]), decisions.delete_paths([path])).set_index("claim")
    assert found["schema"] == SCHEMA and [c["claim"] for c in found["claims"]] == list(table.index)
    for claim in found["claims"]:
        row = table.loc[claim["claim"]]
        assert (claim["verdict"], claim["action"], claim["reason"]) == (row["verdict"], row["action"], row["reason"])
        assert claim["recommended"] == ([row["recommended"]] if row["recommended"] else [])
    c2 = next(c for c in found["claims"] if c["claim"] == "C2")
    assert c2["tie"] and c2["decided_by"] == "the review's proposal"


def test_sessionbench_verdicts_prints_json_and_markdown():
    path = str(RUNS / "default.json")
    done = subprocess.run([sys.executable, "-m", "bench.cli", "verdicts", path, "--format", "json"],
                          capture_output=True, text=True, cwd=ROOT, check=False, timeout=120)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == json.loads(json.dumps(decision([path])))
    done = subprocess.run([sys.executable, "-m", "bench.cli", "verdicts", path], capture_output=True, text=True,
                          cwd=ROOT, check=False, timeout=120)
    assert done.returncode == 0 and "| C1 | confirmed |" in done.stdout and "Assumed (defaults" in done.stdout


def test_the_decision_states_what_the_recommended_model_costs_and_which_choice_causes_it():
    path = str(RUNS / "default.json")
    found = decision([path])
    model = found["recommended_model"]
    df = load([path])
    for row in model["slower"]:  # slower only where its whole interval lies above 1
        low = float(row["ratio"].split("[")[1].split("–")[0])
        assert low > 1 and row["caused_by"]
    # The bytes each choice adds on its own add up to the growth of the whole model (exact sizes).
    if model["larger"]:
        before, after = (int(side.strip().split(" ")[0].replace(",", "")) for side in model["larger"]["bytes"].split("→"))
        added = sum(int(cause.split("+")[1].replace(",", "")) for cause in model["larger"]["caused_by"]
                    if "+" in cause)
        assert added == after - before
    # Each claim's row names what its own choice costs (the axis it decides).
    by_claim = {claim["claim"]: claim["costs"] for claim in found["claims"]}
    for row in model["slower"]:
        for cause in row["caused_by"]:
            if cause.startswith("deletion=soft "):
                assert any(row["workload"] in said for said in by_claim["C4"])
    assert by_claim["C3"] == []  # C3 decides no axis of the model
    assert not df.empty


def test_c6_answers_each_half_with_the_count_that_decides_it():
    found = decision([str(RUNS / "default.json")])
    c6 = next(claim for claim in found["claims"] if claim["claim"] == "C6")
    halves = {half["half"]: half for half in c6["halves"]}
    assert set(halves) == {"time zones", "clock skew between writers"}
    assert all(half["answer"] in ("holds", "fails") for half in halves.values())
    skew = halves["clock skew between writers"]
    # The verdict follows the skew half, and the advice the clock that decides it.
    assert (c6["verdict"] == "refuted") == (skew["answer"] == "fails")
    if skew["answer"] == "fails":
        server = skew["deciding"].split("the server's ")[1].split(" ")[0]
        assert server in c6["reason"]


def test_c4_answers_recovery_and_cost_and_near_its_cut_off_takes_the_stated_default():
    found = decision([str(RUNS / "default.json")])
    c4 = next(claim for claim in found["claims"] if claim["claim"] == "C4")
    halves = {half["half"]: half for half in c4["halves"]}
    assert halves["recovery"]["answer"] == "holds"
    # The stored run's list_live ratio, 1.37x [0.82-2.15], lies across 1.5: near the cut-off.
    assert halves["cost"]["answer"] == "near the cut-off" and "1.37×" in halves["cost"]["deciding"]
    assert c4["verdict"] == "confirmed" and c4["action"] == "change"
    assert c4["reason"].startswith("near the cut-off (") and "by default adopt deleted_at" in c4["reason"]


def test_a_lead_measured_side_by_side_is_the_runs_own_ratio_to_the_baseline():
    """tables.lead pairs two variants trial by trial: against the baseline it gives exactly the ratio the
    run itself recorded (bench.measure.trials), so the two owners cannot disagree."""
    from bench.analysis.tables import lead
    df = load([str(RUNS / "default.json")])
    rows = df[(df["workload"] == "dashboard") & (df["variant"] != "baseline") & df["ratio_low"].notna()]
    rows = rows[(rows["sessions"] == rows["sessions"].max()) & (rows["rtt_ms"] == 0) & ~rows["variant"].str.contains(",")]
    assert len(rows) == 15  # five strategies at three page sizes
    for _, row in rows.iterrows():
        found = lead(df, "dashboard", row["variant"], "baseline", row["param"])
        assert (found.value, found.low, found.high) == pytest.approx((row["ratio"], row["ratio_low"], row["ratio_high"]),
                                                                     rel=1e-12)


def test_a_lead_between_two_variants_pairs_their_trials():
    """raise ÷ skills_sel straight from the file's per-trial medians, trial by trial, and its interval is
    narrower than the widest one their two ratios to lazy allow (Ratio.over)."""
    from bench.analysis import stats
    from bench.analysis.tables import lead, ratio_of, ratios
    doc = json.loads((RUNS / "default.json").read_text())
    trials = {(b["extra_info"]["variant"], b["extra_info"]["param"]): b["extra_info"]["trial_medians_s"]
              for b in doc["benchmarks"] if b["extra_info"].get("workload") == "dashboard"}
    page = "page_size=1000"
    expected = stats.paired_ratio(trials[("loading=skills_sel", page)], trials[("loading=raise", page)])
    df = load([str(RUNS / "default.json")])
    found = lead(df, "dashboard", "loading=raise", "loading=skills_sel", page)
    assert (found.value, found.low, found.high) == pytest.approx(expected, rel=1e-12)
    table = ratios(df, "dashboard")
    wide = ratio_of(table, "loading=raise", page).over(ratio_of(table, "loading=skills_sel", page))
    assert found.high - found.low < wide.high - wide.low


def test_pooled_runs_settle_what_one_run_left_unresolved_and_keep_what_it_settled():
    """combine: three runs that agree narrow the interval (the run is the unit), so a lead no single run
    could settle beyond the margin is settled by their pool; runs that each settled it stay settled."""
    from bench.analysis.tables import combine
    runs = [(1.28, 1.08, 1.56), (1.27, 1.09, 1.67), (1.30, 1.17, 1.54)]
    assert [versus(Ratio(*run), BASE)[0] for run in runs] == [UNRESOLVED, UNRESOLVED, WORSE]
    assert versus(Ratio(*combine(runs)), BASE)[0] == WORSE
    settled = [(0.5, 0.45, 0.55), (0.52, 0.47, 0.58), (0.49, 0.44, 0.53)]
    assert versus(Ratio(*combine(settled)), BASE)[0] == BETTER


def test_the_break_even_search_finds_each_change_even_two_within_one_grid_step():
    from bench.verdicts.sensitivity import PRECISION, changes
    def answer(x):
        return "a" if x < 50 else "b" if x < 52 else "c"  # 50 and 52 lie within one step of the grid
    found = changes(answer, 1.0, 1000.0)
    assert [said for _, said in found] == ["b", "c"]
    assert found[0][0] == pytest.approx(50, rel=PRECISION) and found[1][0] == pytest.approx(52, rel=PRECISION)
    assert found[0][0] >= 50 and found[1][0] >= 52  # each is a value where the new answer already holds
    assert changes(lambda x: "same", 1.0, 1000.0) == []


def test_facts_that_moved_between_pooled_runs_are_named_with_their_spread(tmp_path):
    """The same run twice states no moved fact; a copy whose WAL bytes and plan differ for one benchmark
    is reported for exactly that one, and the pooled decision says so."""
    from bench.verdicts.moved import moved
    doc = json.loads((RUNS / "default.json").read_text())
    assert moved(load([str(RUNS / "default.json")] * 2)) == []
    doc["sessionbench"]["run_id"] = "20261207T000000-second"
    target = next(b for b in doc["benchmarks"] if b["extra_info"].get("wal_bytes") and b["extra_info"].get("plan_top"))
    workload = target["extra_info"]["workload"]
    target["extra_info"]["wal_bytes"] = target["extra_info"]["wal_bytes"] * 2
    target["extra_info"]["plan_top"] = "Something Else"
    second = tmp_path / "second.json"
    second.write_text(json.dumps(doc))
    found = {m["fact"]: m for m in moved(load([str(RUNS / "default.json"), str(second)]))}
    assert set(found) == {"wal_bytes", "plan_top"}
    assert found["wal_bytes"]["benchmarks"] == 1 and found["wal_bytes"]["largest"] == pytest.approx(0.5)
    assert found["wal_bytes"]["example"].startswith(workload) and found["plan_top"]["benchmarks"] == 1
    pooled = decision([str(RUNS / "default.json"), str(second)])
    assert [m["fact"] for m in pooled["facts_moved"]] == ["wal_bytes", "plan_top"]


def test_the_recommended_models_table_pools_runs_as_every_table_does(tmp_path):
    """end_to_end read only the first run's row when runs were pooled; it now pools them like the ratios:
    the same run under a second run id leaves the table unchanged, a second run with other numbers moves
    its ratio to the pooled one."""
    from bench.analysis.end_to_end import end_to_end
    from bench.analysis.pooling import combine
    doc = json.loads((RUNS / "default.json").read_text())
    doc["sessionbench"]["run_id"] = "20261207T000000-second"
    same = tmp_path / "same.json"
    same.write_text(json.dumps(doc))
    alone = end_to_end(load([str(RUNS / "default.json")]))
    assert end_to_end(load([str(RUNS / "default.json"), str(same)])).equals(alone)
    moved = next(b for b in doc["benchmarks"] if "," in b["extra_info"].get("variant", "")
                 and b["extra_info"].get("ratio_low") and b["extra_info"].get("rtt_ms") == 0)
    info = moved["extra_info"]
    first = (info["ratio"], info["ratio_low"], info["ratio_high"])
    info["ratio"], info["ratio_low"], info["ratio_high"] = (v * 1.5 for v in first)
    other = tmp_path / "other.json"
    other.write_text(json.dumps(doc))
    table = end_to_end(load([str(RUNS / "default.json"), str(other)]))
    row = table[table["workload"] == info["workload"]].iloc[0]
    pooled = combine([first, tuple(v * 1.5 for v in first)])
    assert row["ratio [95% interval]"] == Ratio(*pooled).text()
