"""What to do with each of the review's recommendations, and the caveats of the runs, from hand-made
verdict tables and results files (no database)."""

import json

import pandas as pd
import pytest

from bench.verdicts.decisions import CAVEAT_COLUMNS, NOT_MEASURED, REVIEW, TODO_COLUMNS, agreement, caveats, what_to_do
from bench.errors import UserError
from bench.results import FORMAT_VERSION
from bench.verdicts import COLUMNS


def verdict_table(*rows):
    return pd.DataFrame([dict(dict.fromkeys(COLUMNS, ""), **row) for row in rows], columns=COLUMNS)


def test_one_line_per_review_recommendation_with_the_number_that_decides_it():
    table = verdict_table(
        {"claim": "C1", "verdict": "confirmed", "action": "change", "deciding": "selectin 0.40× [0.30–0.50]",
         "reason": "use raise: 0.25× [0.18–0.37] of selectin's latency"},
        {"claim": "C5", "verdict": "inconclusive", "action": "undecided", "deciding": "18 ms at 1,664 messages",
         "reason": ""},
        {"claim": "C3", "verdict": "refuted", "action": "reject", "reason": "0 orphans"})
    todo = what_to_do(table)
    assert list(todo.columns) == TODO_COLUMNS
    assert todo.values.tolist() == [
        [REVIEW["C1"], "C1", "change", "use raise: 0.25× [0.18–0.37] of selectin's latency", "confirmed"],
        [REVIEW["C3"], "C3", "reject", "0 orphans", "refuted"],
        [REVIEW["C5"], "C5", "undecided", "18 ms at 1,664 messages", "inconclusive"],  # no reason: the deciding number
    ]
    assert REVIEW["C1"].startswith("1. ") and REVIEW["C3"].startswith("2. ") and REVIEW["C4"].startswith("3. ")


def results_file(folder, name="run.json", benchmarks=(), **meta):
    doc = {"sessionbench": {"format_version": FORMAT_VERSION, "run_id": name.split(".")[0], **meta},
           "benchmarks": list(benchmarks)}
    path = folder / name
    path.write_text(json.dumps(doc))
    return str(path)


MACHINE = {"cpu_model": "Intel(R) Xeon(R) Processor", "cpus": 2, "cgroup_cpu_quota": None,
           "memory_bytes": 25_276_502_016, "kernel": "6.18.44", "python": "3.11.7", "psycopg_impl": "binary"}


def test_caveats_name_size_machine_backend_load_trials_and_what_no_run_measures(tmp_path):
    path = results_file(tmp_path, backend="embedded", server_version="18.6", sessions=200, scale="custom",
                        machine=MACHINE, settings={"trials": 6},
                        load={"other_cpu_share": 0.003, "steal_share": 0.0, "noisy": False},
                        trials={"disturbed": 1, "kept": 11, "max_dead_tuples": 0},
                        loads=[{"image": None, "source": {"rows": {"sessions": 200, "messages": 1762}}}])
    df = pd.DataFrame({"rtt_ms": [0.0, 0.0]})
    table = caveats([path], df)
    assert list(table.columns) == CAVEAT_COLUMNS
    said = dict(zip(table["caveat"], table["what it means"]))
    assert said["Data size"] == "200 sessions, 1,762 messages (scale custom)"
    assert said["Machine"] == "Intel(R) Xeon(R) Processor, 2 CPUs, 24 GiB memory, kernel 6.18.44, Python 3.11.7, " \
                              "psycopg binary"
    assert said["Backend"] == "embedded PostgreSQL 18.6"
    assert said["Load during the run"] == "other processes used 0.3% of the CPU, steal 0.0%; quiet"
    assert said["Trials"] == "6 trials per comparison group; 1 of 12 trials discarded (autovacuum or a checkpoint ran)"
    assert said["Runs"].startswith("one run: repeat it")
    assert said["Network"].startswith("no added round-trip time")
    assert list(table.loc[table["caveat"] == "Not measured", "what it means"]) == list(NOT_MEASURED)
    assert any("Clock skew between hosts (C6)" in text and "deprecated since Python 3.12" in text
               for text in NOT_MEASURED)


def test_a_noisy_run_says_so_and_several_runs_are_named_where_they_differ(tmp_path):
    paths = [results_file(tmp_path, f"r{i}.json", backend="embedded", server_version="18.6",
                          load={"other_cpu_share": share, "steal_share": 0.03, "noisy": share > 0.25})
             for i, share in ((1, 0.4), (2, 0.1))]
    said = dict(zip(*caveats(paths).T.values))
    assert said["Load during the run (r1)"] == "other processes used 40.0% of the CPU, steal 3.0%; NOISY: small " \
                                               "differences may not repeat"
    assert said["Load during the run (r2)"] == "other processes used 10.0% of the CPU, steal 3.0%; quiet"
    assert said["Backend"] == "embedded PostgreSQL 18.6 (every run)"  # the same in both runs: said once
    assert said["Runs"].startswith("2 results files pooled")
    assert "Network" not in said  # not known without the benchmarks


def test_metadata_of_the_wrong_type_is_refused_by_the_reader_in_one_line(tmp_path):
    # The one reader checks the metadata's kinds (hardening, second pass): the caveats never see a
    # string where an object belongs. Before it, they read such a field as "not recorded".
    path = results_file(tmp_path, machine="<script>x</script>", load={"other_cpu_share": "<b>", "noisy": "yes"},
                        trials=[1, 2], backend="x" * 500, loads="none")
    with pytest.raises(UserError, match=r"malformed results: sessionbench\.machine is str, not an object"):
        caveats([path])


def test_long_metadata_text_is_cut(tmp_path):
    path = results_file(tmp_path, backend="x" * 500)
    said = dict(zip(*caveats([path]).T.values))
    assert said["Backend"] == "x" * 79 + "… PostgreSQL"


def recent_activity(variant, zone, rows):
    return {"name": f"recent_activity[{variant}-{zone}]",
            "stats": {"median": 0.002, "q1": 0.002, "q3": 0.002, "rounds": 3, "data": [0.002] * 3},
            "extra_info": {"workload": "recent_activity", "param": f"timezone={zone}", "variant": variant,
                           "rows": rows, "sessions": 200, "rtt_ms": 0.0}}


def test_several_runs_say_whether_each_run_reaches_the_same_verdicts(tmp_path):
    def run(name, naive_tokyo):
        return results_file(tmp_path, name, benchmarks=[
            recent_activity("baseline", "UTC", 10), recent_activity("baseline", "Asia/Tokyo", naive_tokyo),
            recent_activity("timestamps=aware", "UTC", 10), recent_activity("timestamps=aware", "Asia/Tokyo", 10)])

    same = [run("a1.json", 7), run("a2.json", 7)]
    assert agreement(same) == "Run by run, every claim has the same verdict in all 2 runs."
    assert agreement([*same, run("b1.json", 10)]) == (
        "Run by run, the verdicts differ: C6 refuted in 2, confirmed in 1 (of 3 runs); the others agree.")
    said = dict(zip(*caveats(same).T.values))
    assert said["Runs"].endswith("Run by run, every claim has the same verdict in all 2 runs.")


def test_a_relay_pass_over_a_few_cases_says_the_others_are_at_zero_rtt(tmp_path):
    path = results_file(tmp_path, backend="embedded", server_version="18.6")
    df = pd.DataFrame({"workload": ["dashboard", "dashboard", "dashboard", "active_sync"],
                       "param": ["page_size=10", "page_size=10", "page_size=10", ""], "rtt_ms": [0.0, 1.0, 3.0, 0.0]})
    said = dict(zip(*caveats([path], df).T.values))
    assert said["Network"].startswith("added round-trip time (1, 3 ms) measured for dashboard page_size=10 only (the "
                                      "relay pass); every other latency is at 0 ms")
    everywhere = df.assign(rtt_ms=[1.0, 1.0, 3.0, 1.0])
    assert "Network" not in dict(zip(*caveats([path], everywhere).T.values))
