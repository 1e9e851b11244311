import json
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from bench.gate import check as gate
from bench.cli import main as cli_main
from bench.results import FORMAT_VERSION

ROOT = Path(__file__).resolve().parent.parent

PLANS = """
[[plan]]
workload = "active_sync"
variant = "sync_flag=bool_column"
seq_scan = false
uses_index = "ix_sessions_is_syncing"
min_sessions = 1000
why = "the bool column's index answers it"
"""


def make_bench(workload="dashboard", param="page_size=10", variant="baseline", *, statements=11, seq_scan=False,
               indexes=("ix_sessions_updated_at",), image=None, rtt_ms=0.0):
    return {"name": f"test_{workload}", "stats": {"median": 0.01, "data": [0.01, 0.01]},
            "extra_info": {"workload": workload, "param": param, "variant": variant, "image": image,
                           "rtt_ms": rtt_ms, "statements": statements, "seq_scan": seq_scan,
                           "plan_top": "Seq Scan" if seq_scan else "Index Scan", "indexes_used": list(indexes)}}


def make_doc(*benchmarks, sessions=1000, seed=42):
    if not benchmarks:
        benchmarks = (make_bench(), make_bench("active_sync", "", "sync_flag=bool_column", statements=1,
                                               indexes=["ix_sessions_is_syncing"]))
    return {"machine_info": {}, "commit_info": {}, "datetime": "2026-01-01T00:00:00+00:00",
            "sessionbench": {"format_version": FORMAT_VERSION, "run_id": "run-1", "scale": "small", "sessions": sessions,
                             "seed": seed, "server_version": "18.6"},
            "benchmarks": list(benchmarks)}


def write_run(tmp_path, doc, name="run.json"):
    path = tmp_path / name
    path.write_text(json.dumps(doc) if isinstance(doc, dict) else doc)
    return path


def write_budgets(tmp_path, counts="", plans=PLANS, sessions=1000, seed=42):
    counts = counts or """
  { workload = "dashboard", param = "page_size=10", variant = "baseline", statements = 11 },
  { workload = "active_sync", param = "", variant = "sync_flag=bool_column", statements = 1 },"""
    path = tmp_path / "budgets.toml"
    path.write_text(f"format = 1\n\n[[statements]]\nsessions = {sessions}\nseed = {seed}\ncounts = [{counts}\n]\n"
                    f"{plans}")
    return path


def test_within_budget_passes(tmp_path, capsys):
    assert gate.check(write_run(tmp_path, make_doc()), budgets=write_budgets(tmp_path)) == 0
    out = capsys.readouterr().out
    assert out.startswith("sessionbench check ok: 0 over statement budget, 0 plan expectation(s) broken, 0 case(s) failed to run; "
                          "2 benchmarks checked, 1 plan expectations applied")


def test_extra_statement_fails_with_a_table(tmp_path, capsys):
    doc = make_doc(make_bench(statements=12), make_bench(param="page_size=100", statements=103))
    counts = """
  { workload = "dashboard", param = "page_size=10", variant = "baseline", statements = 11 },
  { workload = "dashboard", param = "page_size=100", variant = "baseline", statements = 101 },"""
    assert gate.check(write_run(tmp_path, doc), budgets=write_budgets(tmp_path, counts)) == 1
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("sessionbench check FAILED: 2 over statement budget")
    table = lines[lines.index("statement budgets broken:") + 1:][:3]
    assert [line.split() for line in table] == [
        ["benchmark", "budget", "measured", "change"],
        ["dashboard", "page_size=10", "[baseline]", "11", "12", "+1", "statement"],
        ["dashboard", "page_size=100", "[baseline]", "101", "103", "+2", "statements"],
    ]


def test_each_image_and_round_trip_is_checked_against_one_budget(tmp_path, capsys):
    doc = make_doc(make_bench(image="postgres:17-alpine", statements=11),
                   make_bench(image="postgres:18-alpine", rtt_ms=2.0, statements=12))
    assert gate.check(write_run(tmp_path, doc), budgets=write_budgets(tmp_path)) == 1
    assert "dashboard page_size=10 [baseline] image=postgres:18-alpine rtt=2ms  11" in capsys.readouterr().out


def test_fewer_statements_and_no_budget_are_notes_not_failures(tmp_path, capsys):
    doc = make_doc(make_bench(statements=3), make_bench("new_workload", "", statements=7))
    assert gate.check(write_run(tmp_path, doc), budgets=write_budgets(tmp_path)) == 0
    out = capsys.readouterr().out
    assert "note: 1 benchmark(s) have no statement budget and were not checked: new_workload [baseline]" in out
    assert "note: 1 benchmark(s) now issue fewer statements than budgeted: dashboard page_size=10 [baseline]: " \
           "11 -> 3" in out


@pytest.mark.parametrize(("seq_scan", "indexes", "actual"), [
    (True, [], "Seq Scan, top Seq Scan, indexes none"),
    (False, ["ix_other"], "no Seq Scan, top Index Scan, indexes ix_other"),
    (None, [], "no plan captured"),
])
def test_broken_plan_expectation_fails(tmp_path, capsys, seq_scan, indexes, actual):
    doc = make_doc(make_bench("active_sync", "", "sync_flag=bool_column", statements=1, seq_scan=seq_scan,
                              indexes=indexes))
    assert gate.check(write_run(tmp_path, doc), budgets=write_budgets(tmp_path)) == 1
    out = capsys.readouterr().out
    assert "0 over statement budget, 1 plan expectation(s) broken" in out
    row = out.split("plan expectations broken:\n", 1)[1].splitlines()[1]
    assert row.split("  ")[0] == "active_sync [sync_flag=bool_column]"
    assert "no Seq Scan, uses ix_sessions_is_syncing (from 1000 sessions)" in row
    assert actual in row
    assert row.endswith("the bool column's index answers it")


def test_plan_expectation_does_not_apply_below_its_size(tmp_path, capsys):
    doc = make_doc(make_bench("active_sync", "", "sync_flag=bool_column", statements=1, seq_scan=True),
                   sessions=200)
    assert gate.check(write_run(tmp_path, doc), budgets=write_budgets(tmp_path, sessions=200)) == 0
    assert "0 plan expectations applied" in capsys.readouterr().out


def test_plan_expectation_lists_variants_and_params(tmp_path, capsys):
    plans = """
[[plan]]
workload = "dashboard"
param = ["page_size=10", "page_size=100"]
variant = ["baseline", "loading=selectin"]
seq_scan = false
"""
    doc = make_doc(make_bench(), make_bench(param="page_size=100", seq_scan=True),
                   make_bench(param="page_size=1000", seq_scan=True),
                   make_bench(variant="loading=joined", seq_scan=True))
    counts = "\n".join(f'  {{ workload = "dashboard", param = "page_size={n}", variant = "{v}", statements = 11 }},'
                       for n in (10, 100, 1000) for v in ("baseline", "loading=joined"))
    assert gate.check(write_run(tmp_path, doc), budgets=write_budgets(tmp_path, "\n" + counts, plans)) == 1
    out = capsys.readouterr().out
    broken = out.split("plan expectations broken:\n", 1)[1].split("\n\n", 1)[0].splitlines()[1:]
    assert [line.split("  ")[0] for line in broken] == ["dashboard page_size=100 [baseline]"]
    # A full run (no --only) that lacks budgeted benchmarks says so: one failed, or was removed.
    assert "note: 2 budgeted benchmark(s) are not in this run (failed, or removed from the suite): " \
           "dashboard page_size=100 [loading=joined], dashboard page_size=1000 [loading=joined]" in out


@pytest.mark.parametrize(("run", "budgets", "message"), [
    (None, "ok", "no such results file"),
    ("{not json", "ok", "not JSON"),
    (make_doc(sessions=100_000), "ok", "no statement budgets for 100000 sessions, seed 42 (it has: 1000 sessions "
                                       "seed 42)"),
    (make_doc(seed=7), "ok", "no statement budgets for 1000 sessions, seed 7"),
    (make_doc(), None, "no such budget file"),
    (make_doc(), "format = 1\n[[plan]\n", "not TOML"),
    (make_doc(), "format = 2\n", "budget format 2, this sessionbench reads 1"),
    (make_doc(), 'format = 1\n[[plan]]\nworkload = "a"\nvariant = "b"\nseq_scans = false\n', "knows only"),
    (make_doc(), 'format = 1\n[[plan]]\nworkload = "a"\nvariant = "b"\n', "expects nothing"),
    (make_doc(), 'format = 1\n[[statements]]\nsessions = 1000\ncounts = [{ workload = "a" }]\n', "needs exactly"),
])
def test_unusable_input_exits_2(tmp_path, capsys, run, budgets, message):
    run_path = tmp_path / "run.json" if run is None else write_run(tmp_path, run)
    budget_path = tmp_path / "missing.toml"
    if budgets == "ok":
        budget_path = write_budgets(tmp_path)
    elif budgets is not None:
        budget_path.write_text(budgets)
    assert cli_main(["check", str(run_path), "--budgets", str(budget_path)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    first, hint = captured.err.splitlines()
    assert first.startswith("sessionbench: error: ") and message in first
    assert hint.startswith("  try: ")


def test_update_round_trip(tmp_path, capsys):
    budgets = write_budgets(tmp_path)
    plans_before = gate.read_budgets(budgets)["plan"]
    doc = make_doc(make_bench(statements=13), make_bench("new_workload", "", statements=2))
    run = write_run(tmp_path, doc)
    assert gate.check(run, budgets=budgets) == 1
    capsys.readouterr()

    assert gate.check(run, budgets=budgets, update=True) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith(f"updated {budgets} (1000 sessions, seed 42) from run run-1: 2 changed, 0 unchanged, "
                             "1 kept (not in this run)")
    assert out[1:3] == ["  dashboard page_size=10 [baseline]: 11 -> 13", "  new_workload [baseline]: new, 2"]
    rewritten = gate.read_budgets(budgets)
    assert rewritten["plan"] == plans_before
    (block,) = rewritten["statements"]
    assert {(e["workload"], e["param"], e["variant"]): e["statements"] for e in block["counts"]} == {
        ("dashboard", "page_size=10", "baseline"): 13, ("new_workload", "", "baseline"): 2,
        ("active_sync", "", "sync_flag=bool_column"): 1}
    assert (block["scale"], block["made_from"], block["server_version"]) == ("small", "run-1", "18.6")
    assert list(tmp_path.glob(".budgets.toml.*")) == []  # the temporary file of the atomic write is gone

    assert gate.check(run, budgets=budgets) == 0
    assert gate.check(run, budgets=budgets, update=True) == 0
    assert "0 changed, 2 unchanged" in capsys.readouterr().out
    assert gate.render_budgets(rewritten) == budgets.read_text()


def test_update_creates_a_file_and_a_block_per_size(tmp_path, capsys):
    budgets = tmp_path / "new.toml"
    assert gate.check(write_run(tmp_path, make_doc()), budgets=budgets, update=True) == 0
    assert gate.check(write_run(tmp_path, make_doc(sessions=5000), "big.json"), budgets=budgets, update=True) == 0
    blocks = tomllib.loads(budgets.read_text())["statements"]
    assert [(b["sessions"], b["seed"], len(b["counts"])) for b in blocks] == [(1000, 42, 2), (5000, 42, 2)]


def test_update_refuses_counts_that_differ_between_servers(tmp_path, capsys):
    doc = make_doc(make_bench(image="postgres:17-alpine", statements=11),
                   make_bench(image="postgres:18-alpine", statements=12))
    run = write_run(tmp_path, doc)
    assert cli_main(["check", str(run), "--budgets", str(tmp_path / "b.toml"), "--update"]) == 2
    assert "statement counts differ across images or round trips" in capsys.readouterr().err
    assert not (tmp_path / "b.toml").exists()


def test_update_into_a_missing_folder_exits_2(tmp_path, capsys):
    run = write_run(tmp_path, make_doc())
    assert cli_main(["check", str(run), "--budgets", str(tmp_path / "no" / "b.toml"), "--update"]) == 2
    assert "cannot write" in capsys.readouterr().err


def test_committed_budgets_cover_the_default_run():
    budgets = gate.read_budgets(gate.DEFAULT_BUDGETS)
    (block,) = [b for b in budgets["statements"] if (b["sessions"], b["seed"]) == (1000, 42)]
    counts = {(e["workload"], e["param"], e["variant"]): e["statements"] for e in block["counts"]}
    # Exact facts of the ORM: lazy loading issues one query per session, selectin one per 500 ids.
    assert counts[("dashboard", "page_size=100", "baseline")] == 101
    assert counts[("dashboard", "page_size=1000", "loading=selectin")] == 5
    assert counts[("active_sync", "", "sync_flag=bool_column")] == 1
    assert all(plan.get("min_sessions", 0) >= 1000 for plan in budgets["plan"])


# ---------------------------------------------------------------- real runs

SUBSET = ["--only", "workload=dashboard", "--only", "param=page_size=10", "--only", "loading=lazy,selectin"]


def sessionbench(*args, env=None):
    environment = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
    return subprocess.run([sys.executable, "-m", "bench.cli", *args], env=environment, capture_output=True,
                          text=True, cwd=ROOT, timeout=300)


def real_run(database_url, out: Path, env=None, max_time="0.05") -> Path:
    # database_url None: a run on its own embedded server, where server CPU time is read too
    server = ["--backend", "url", "--database-url", database_url] if database_url else ["--backend", "embedded"]
    done = sessionbench("run", *server, "--scale", "small", "--quiet",
                        "--out", str(out), "--max-time", max_time, "--min-rounds", "5", *SUBSET, env=env)
    assert done.returncode == 0, done.stderr
    (path,) = out.glob("*.json")
    return path


@pytest.fixture(scope="module")
def unchanged_run(database_url, tmp_path_factory):
    return real_run(database_url, tmp_path_factory.mktemp("unchanged"))


@pytest.mark.db
def test_real_run_is_within_the_committed_budgets(unchanged_run):
    done = sessionbench("check", str(unchanged_run))
    assert done.returncode == 0, done.stdout
    assert "2 benchmarks checked, 1 plan expectations applied" in done.stdout.splitlines()[0]


@pytest.mark.db
@pytest.mark.slow
def test_real_extra_statement_is_caught(database_url, tmp_path):
    extra = real_run(database_url, tmp_path, env={"SESSIONBENCH_TEST_EXTRA_STATEMENT": "dashboard"})
    done = sessionbench("check", str(extra))
    assert done.returncode == 1
    assert "dashboard page_size=10 [baseline]          11      12        +1 statement" in done.stdout
    assert "dashboard page_size=10 [loading=selectin]  3       4         +1 statement" in done.stdout


@pytest.mark.db
@pytest.mark.slow
def test_a_real_slowdown_reaches_every_timed_round_and_compare_sees_it(database_url, tmp_path):
    # The wiring (hook -> run -> compare), proved by facts: every timed round of the slowed cases logs
    # its work, each the size aimed at, and compare reads the slowed side as slower. Whether compare
    # *flags* it depends on noise; how often a 25% slowdown is caught is measured in
    # docs/error-rates.md, where noise is counted, not hidden (with one file per side a busy or noisy
    # machine widens the interval past 2x: this test failed that way in CI, on an assertion of exit 1).
    log = tmp_path / "rounds.jsonl"
    base = real_run(None, tmp_path / "base", max_time="0.3")
    slow = real_run(None, tmp_path / "slow", env={"SESSIONBENCH_TEST_SLOWDOWN": "dashboard=1.0",
                                                 "SESSIONBENCH_TEST_SLOWDOWN_LOG": str(log)}, max_time="0.3")
    rounds = [json.loads(line) for line in log.read_text().splitlines()]
    assert rounds and {r["case"].split("[")[0] for r in rounds} == {"dashboard"}
    assert all(r["injected_s"] >= r["aimed_s"] * 0.999 for r in rounds)  # the work runs to its aim, wall time
    done = sessionbench("compare", str(base), str(slow), "--format", "json", "--metric", "wall")
    assert done.returncode in (0, 1), done.stderr
    ratios = [row["ratio"] for row in json.loads(done.stdout)["rows"]]
    assert ratios and all(ratio > 1 for ratio in ratios), ratios
    # at the machine's pace too: the injected work is inside the rounds, never in the yardstick beside them
    paced = sessionbench("compare", str(base), str(slow), "--format", "json", "--metric", "paced")
    assert paced.returncode in (0, 1), paced.stderr
    ratios = [row["ratio"] for row in json.loads(paced.stdout)["rows"]]
    assert ratios and all(ratio > 1 for ratio in ratios), ratios


def test_paced_times_of_different_yardsticks_are_not_compared(tmp_path, capsys):
    docs = []
    for number, version in enumerate((1, 2, None)):
        bench = make_bench()
        bench["extra_info"]["trial_paced_s"] = [0.02, 0.021, 0.019]
        doc = make_doc(bench)
        if version is not None:
            doc["sessionbench"]["yardstick"] = {"version": version, "nominal_s": 0.001, "median_s": 0.0006}
        docs.append(write_run(tmp_path, doc, f"run-{number}.json"))
    assert cli_main(["compare", str(docs[0]), str(docs[0]), "--metric", "paced"]) == 0
    capsys.readouterr()
    for other, shown in ((docs[1], "versions 1, 2"), (docs[2], "versions 1, none")):
        assert cli_main(["compare", str(docs[0]), str(other), "--metric", "paced"]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert shown in err[0] and err[-1] == "  try: compare --metric wall, or re-run both sides with one sessionbench", err
    # a yardstick block from elsewhere that is not one: one line and exit 2, no traceback
    for junk in ("junk", {"version": "1"}, {"version": True}):
        bad = make_doc(make_bench())
        bad["sessionbench"]["yardstick"] = junk
        assert cli_main(["compare", str(docs[0]), str(write_run(tmp_path, bad, "bad.json")), "--metric", "paced"]) == 2
        err = capsys.readouterr().err
        assert "Traceback" not in err and "sessionbench.yardstick is not an object" in err, err
        (tmp_path / "bad.json").unlink()
    # a run of a sessionbench before the yardstick has wall times only: paced is refused, not guessed
    old = make_doc()
    old["sessionbench"]["yardstick"] = {"version": 1, "nominal_s": 0.001, "median_s": 0.0006}
    assert cli_main(["compare", str(write_run(tmp_path, old, "old.json")), str(docs[0]), "--metric", "paced"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert "has no paced values on one side" in err[0] and "times the yardstick" in err[-1], err


def test_a_run_that_measured_nothing_fails(tmp_path, capsys):
    doc = make_doc()
    doc["benchmarks"] = []
    assert gate.check(write_run(tmp_path, doc), budgets=write_budgets(tmp_path)) == 1
    assert "holds no benchmark" in capsys.readouterr().out


def test_a_run_with_failed_cases_fails(tmp_path, capsys):
    doc = make_doc()
    doc["sessionbench"]["failed"] = ["dashboard[page_size=10]-baseline-server"]
    assert gate.check(write_run(tmp_path, doc), budgets=write_budgets(tmp_path)) == 1
    out = capsys.readouterr().out
    assert out.startswith("sessionbench check FAILED: ")
    assert "1 case(s) failed to run" in out and "dashboard[page_size=10]-baseline-server" in out


def _load_row(bench: dict) -> dict:
    bench["extra_info"].update(clients=8, statements=None)
    return bench


@pytest.mark.parametrize(("benchmarks", "why"), [
    ([_load_row(make_bench()), _load_row(make_bench(param="page_size=100"))],
     "of 2 benchmark(s) 2 measured under concurrent load"),
    ([make_bench("new_workload", "")], "of 1 benchmark(s) 1 without a statement budget"),
    ([{**make_bench(), "extra_info": {**make_bench()["extra_info"], "sessions": 50}}],
     "of 1 benchmark(s) 1 measured on another data size than the run's 1000 sessions"),
])
def test_a_check_that_checked_nothing_fails_saying_why(tmp_path, capsys, benchmarks, why):
    doc = make_doc(*benchmarks)
    assert gate.check(write_run(tmp_path, doc), budgets=write_budgets(tmp_path)) == 1
    out = capsys.readouterr().out
    assert out.startswith("sessionbench check FAILED: 0 benchmarks checked, ") and why in out
    assert "a gate that checked nothing passes nothing" in out.splitlines()[0]
