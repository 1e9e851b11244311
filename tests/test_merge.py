"""`run --shard K/N` then `merge`, end to end on real runs: the merged file is the unsharded case set,
no comparison group split, readable by check, compare, summary and the report's tables; parts that are
not the shards of one run are refused in one line."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bench import results
from bench.plan.cases import all_cases, apply_only, parse_only
from bench.errors import UserError
from bench.results.merge import _merged_load, _merged_machine, _plain, merge

ROOT = Path(__file__).resolve().parent.parent
# Four comparison groups (active_sync, recent_activity x 2 time zones, restore_session; one deletion
# workload, so the delete-path fact table runs too) in three shards; two timed rounds a case.
ONLY = ["workload=active_sync,recent_activity,restore_session"]
SHORT = ["--backend", "embedded", "--max-time", "0.05", "--min-rounds", "2", "--trials", "2", "--quiet"]
TINY = [*SHORT, *(arg for only in ONLY for arg in ("--only", only))]
SHARDS = 3


def sessionbench(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "bench.cli", *args], capture_output=True, text=True, timeout=600,
                          cwd=ROOT, env={**os.environ, "SESSIONBENCH_SHARD": ""})


@pytest.fixture(scope="module")
def shard_files(tmp_path_factory) -> list[Path]:
    """Shards 1..3 of one small run, one after the other, each its own results file."""
    out = tmp_path_factory.mktemp("shards")
    paths = []
    for k in range(1, SHARDS + 1):
        done = sessionbench("run", *TINY, "--shard", f"{k}/{SHARDS}", "--out", str(out / str(k)), "--print-path")
        assert done.returncode == 0, done.stderr
        paths.append(Path(done.stdout.strip()))
    return paths


@pytest.fixture(scope="module")
def merged_file(shard_files, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("merged")
    done = sessionbench("merge", *map(str, reversed(shard_files)), "--out", str(out), "--print-path")  # any order
    assert done.returncode == 0, done.stderr
    [path] = out.glob("*.json")
    assert done.stdout == f"{path}\n"
    assert f"{len(unsharded_cases())} benchmarks of {SHARDS} of {SHARDS} shard(s)" in done.stderr
    return path


def unsharded() -> list:
    return apply_only(all_cases("axis"), parse_only(ONLY), images=[None], rtts=[0.0])


def unsharded_cases() -> set[tuple]:
    return {(case.workload.name, case.param, case.variant.label) for case in unsharded()}


def case_of(benchmark: dict) -> tuple:
    workload, param, variant, *_ = results.key_of(benchmark)
    return workload, param, variant


@pytest.mark.db
def test_merge_equals_the_unsharded_case_set_with_no_group_split(shard_files, merged_file):
    parts = [results.read(path) for path in shard_files]
    assert [part["sessionbench"]["settings"]["shard"] for part in parts] == ["1/3", "2/3", "3/3"]
    owner = {}
    for k, part in enumerate(parts, 1):
        assert part["benchmarks"], f"shard {k} ran nothing"
        for benchmark in part["benchmarks"]:
            workload, param, _ = case_of(benchmark)
            assert owner.setdefault((workload, param), k) == k, f"group {workload} {param} split"
    assert len(set(owner.values())) == SHARDS and len(owner) == len({case.group for case in unsharded()})
    merged = results.read(merged_file)
    found = [case_of(benchmark) for benchmark in merged["benchmarks"]]
    assert len(found) == len(set(found)) == len(unsharded())
    assert set(found) == unsharded_cases()
    assert sorted(found) == sorted(case_of(b) for part in parts for b in part["benchmarks"])


@pytest.mark.db
def test_the_merged_file_names_each_shards_machine_load_and_run(shard_files, merged_file):
    parts = [results.read(path)["sessionbench"] for path in shard_files]
    meta = results.read(merged_file)["sessionbench"]
    assert [(s["shard"], s["run_id"]) for s in meta["shards"]] == [(f"{k}/3", p["run_id"]) for k, p in
                                                                      enumerate(parts, 1)]
    assert all(s["machine"]["cpu_model"] and "noisy" in s["load"] for s in meta["shards"])
    assert meta["run_id"] not in {p["run_id"] for p in parts} and merged_file.name == f"{meta['run_id']}.json"
    assert meta["settings"]["shard"] is None and meta["missing_shards"] == []
    assert meta["trials"]["kept"] + meta["trials"]["disturbed"] == sum(
        p["trials"]["kept"] + p["trials"]["disturbed"] for p in parts)
    # restore_session's shard ran the delete-path fact table (C3); the merge keeps each path of a variant once
    paths = [(entry["image"], entry["variant"], entry["path"]) for entry in meta["delete_paths"]]
    assert paths and len(paths) == len(set(paths))
    assert set(paths) == {(e["image"], e["variant"], e["path"]) for p in parts for e in p["delete_paths"]}
    assert len(meta["servers"]) == SHARDS


@pytest.mark.db
def test_the_merged_file_passes_check_and_reads_in_compare_summary_and_the_reports_tables(merged_file, capsys):
    from bench.verdicts import decisions
    from bench.commands import summary

    done = sessionbench("check", str(merged_file))
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.startswith("sessionbench check ok: 0 over statement budget")
    compared = sessionbench("compare", str(merged_file), str(merged_file))
    assert compared.returncode == 0, compared.stdout + compared.stderr
    assert len(results.load(merged_file)) == len(unsharded())
    summary.print_summary(results.read(merged_file))
    assert "restore_session" in capsys.readouterr().out
    caveats = set(decisions.caveats([str(merged_file)])["caveat"])
    assert {"Data size", "Machine", "Load during the run", "Trials"} <= caveats


def write(doc: dict, folder: Path, name: str) -> str:
    path = folder / name
    path.write_text(json.dumps(doc))
    return str(path)


def refused(paths: list[str], tmp_path: Path, **options) -> str:
    with pytest.raises(UserError) as raised:
        merge(paths, str(tmp_path / "out"), **options)
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").glob("*.json"))
    return raised.value.message


@pytest.mark.db
@pytest.mark.parametrize("field, change", [
    ("seed", lambda meta: meta.update(seed=7)),
    ("commit", lambda meta: meta.update(commit="0" * 40)),
    ("server_version", lambda meta: meta.update(server_version="17.0")),
    ("settings.max_time", lambda meta: meta["settings"].update(max_time=0.4)),
    ("packages", lambda meta: meta["machine"].update(packages_hash="other")),
])
def test_parts_of_different_setups_are_refused_naming_what_differs(shard_files, tmp_path, field, change):
    doc = results.read(shard_files[1])
    change(doc["sessionbench"])
    message = refused([str(shard_files[0]), write(doc, tmp_path, "b.json"), str(shard_files[2])], tmp_path)
    assert "was made differently from" in message and field in message.split("(", 1)[1]


@pytest.mark.db
def test_overlapping_duplicate_missing_and_unsharded_parts_are_refused(shard_files, tmp_path):
    first, second, third = map(str, shard_files)
    relabelled = results.read(first)
    relabelled["sessionbench"]["settings"]["shard"] = "2/3"  # shard 1's cases claimed as shard 2
    assert "overlapping cases" in refused([first, write(relabelled, tmp_path, "x.json"), third], tmp_path)
    assert refused([first, second, first, third], tmp_path).startswith("shard 1/3 given twice")
    assert refused([first, third], tmp_path) == "shard(s) 2 of 3 missing: their cases would be absent"
    whole = results.read(first)
    whole["sessionbench"]["settings"]["shard"] = None
    assert "not a shard's results" in refused([write(whole, tmp_path, "whole.json"), second], tmp_path)
    odd = results.read(second)
    odd["sessionbench"]["settings"] = ["2/3"]  # a damaged file: one line, not a traceback (the reader's)
    assert "malformed results: sessionbench.settings is list" in refused([first, write(odd, tmp_path, "odd.json"),
                                                                          third], tmp_path)
    other_split = results.read(second)
    other_split["sessionbench"]["settings"]["shard"] = "2/4"
    assert "different splits" in refused([first, write(other_split, tmp_path, "y.json"), third], tmp_path)


@pytest.mark.db
def test_allow_missing_merges_the_rest_and_names_the_missing(shard_files, tmp_path, capsys):
    assert merge([str(shard_files[0]), str(shard_files[2])], str(tmp_path), allow_missing=True) == 0
    assert "shard(s) 2 of 3 missing" in capsys.readouterr().err
    [path] = tmp_path.glob("*.json")
    meta = results.read(path)["sessionbench"]
    assert meta["missing_shards"] == [2] and [s["shard"] for s in meta["shards"]] == ["1/3", "3/3"]


@pytest.mark.db
def test_shards_on_different_machines_merge_with_a_note(shard_files, tmp_path, capsys):
    other = results.read(shard_files[1])
    other["sessionbench"]["machine"]["cpu_model"] = "Other CPU <b>"
    parts = [str(shard_files[0]), write(other, tmp_path, "b.json"), str(shard_files[2])]
    assert merge(parts, str(tmp_path / "out")) == 0
    assert "ran on different machines" in capsys.readouterr().err
    [path] = (tmp_path / "out").glob("*.json")
    meta = results.read(path)["sessionbench"]
    assert "Other CPU <b>" in meta["machine"]["cpu_model"] and " | " in meta["machine"]["cpu_model"]
    assert meta["shards"][1]["machine"]["cpu_model"] == "Other CPU <b>"


def test_bad_input_is_one_line_and_no_traceback(tmp_path):
    for args, message in [
        (["run", "--shard", "3/2"], "sessionbench: error: --shard: K must be between 1 and N, got 3/2"),
        (["run", "--shard", "two"], "sessionbench: error: --shard: 'two' is not K/N"),
        (["merge", str(tmp_path / "nosuch.json")], f"sessionbench: error: {tmp_path / 'nosuch.json'}: no such results"),
    ]:
        done = sessionbench(*args)
        assert done.returncode == 2 and done.stderr.startswith(message), done.stderr
        assert "Traceback" not in done.stderr and len(done.stderr.strip().splitlines()) == 2


def test_an_empty_shard_is_refused_before_any_server_starts(tmp_path):
    done = sessionbench("run", *SHORT, "--only", "workload=recent_activity", "--shard", "3/3", "--out", str(tmp_path))
    assert done.returncode == 2
    assert "sessionbench: error: --shard 3/3: this shard is empty: the run has 2 comparison groups" in done.stderr
    assert not list(tmp_path.glob("*.json"))


def test_the_merged_load_is_the_busiest_shards_and_a_differing_machine_value_lists_each():
    loads = [{"seconds": 10.0, "other_cpu_share": 0.1, "steal_share": 0.0, "noisy": False},
             {"seconds": 12.5, "other_cpu_share": 0.3, "cpu_busy_share": 0.9, "noisy": True}]
    assert _merged_load(loads) == {"seconds": 12.5, "cpu_busy_share": 0.9, "steal_share": 0.0,
                                   "other_cpu_share": 0.3, "noisy": True}
    assert _merged_load([{"noisy": False}, {}]) == {"noisy": False}
    machines = [{"cpu_model": "A", "cpus": 2, "kernel": "6.1"}, {"cpu_model": "B", "cpus": 2, "kernel": "6.1"}]
    assert _merged_machine(machines) == {"cpu_model": "A | B", "cpus": 2, "kernel": "6.1"}


def test_text_from_a_part_reaches_the_terminal_escaped_and_short():
    assert _plain("dashboard\x1b[31m red\n") == "dashboard\\x1b[31m red\\n"
    assert _plain("x" * 200) == "x" * 117 + "..."
