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
    assert c4["verdict"] == "inconclusive" and c4["action"] == "change"
    assert c4["reason"].startswith("near the cut-off (") and "by default adopt deleted_at" in c4["reason"]
