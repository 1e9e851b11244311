"""A results file is untrusted input: every command that reads one refuses a malformed file with
exit 2 and one error line (never a traceback), and nothing from it becomes a path or markup."""

import copy
import json
import subprocess
import sys
from pathlib import Path

import pytest

from bench.results import FORMAT_VERSION, read

ROOT = Path(__file__).resolve().parent.parent

# Every command that reads results files, as argv after the file name is filled in.
READERS = {
    "report": lambda path, out: ["report", path, "--out", str(out / "report")],
    "compare": lambda path, out: ["compare", path, path],
    "history": lambda path, out: ["history", path, "--out", str(out / "history")],
    "check": lambda path, out: ["check", path],
    "export": lambda path, out: ["export", path, "--out", str(out / "table.csv")],
}


def valid_doc() -> dict:
    """The shape `sessionbench run` writes, cut down to one benchmark."""
    info = {"workload": "dashboard", "param": "page_size=10", "variant": "baseline", "loading": "lazy",
            "label": "Dashboard: newest sessions", "image": None, "rtt_ms": 0.0, "backend": "embedded",
            "sessions": 200, "statements": 11, "rows": 35, "median_s": None, "p95_s": 0.0052, "plan_top": "Limit",
            "seq_scan": False, "wal_bytes": 424, "indexes_used": ["ix_sessions_updated_at"],
            "first_statements": [{"n": 1, "sql": "SELECT 1", "ms": 0.9, "rows": 10}]}
    stats = {"min": 0.0046, "max": 0.0054, "mean": 0.0049, "stddev": 0.0002, "rounds": 3, "median": 0.0049,
             "iqr": 0.0003, "q1": 0.0047, "q3": 0.0050, "outliers": "2;0", "data": [0.0046, 0.0049, 0.0054]}
    return {"machine_info": {"node": "ci"}, "commit_info": {"id": "8dab3c86eb2d"}, "datetime": "2026-11-27T04:46:44+00:00",
            "version": "5.1.0",
            "sessionbench": {"format_version": FORMAT_VERSION, "run_id": "20261127T044644-a5655f", "backend": "embedded",
                             "server_version": "18.6", "scale": "small", "sessions": 200, "seed": 42,
                             "packages": {"sqlalchemy": "2.0.44"}, "failed": [], "only": [],
                             "delete_paths": [{"image": None, "variant": "baseline", "path": "orm_delete",
                                               "label": "ORM delete", "error": None, "sessions_left": 0,
                                               "orphans": 0, "orphans_detail": {"messages": 0}, "warnings": []}]},
            "benchmarks": [{"name": "test_workload[dashboard]", "extra_info": info, "stats": stats}]}


def _set(doc: dict, where: str, value) -> dict:
    """A copy of `doc` with the value at a dotted path ('benchmarks.0.stats.median') replaced."""
    doc = copy.deepcopy(doc)
    *parents, last = where.split(".")
    node = doc
    for part in parents:
        node = node[int(part)] if isinstance(node, list) else node[part]
    node[int(last) if isinstance(node, list) else last] = value
    return doc


def _deep(levels: int) -> str:
    return "[" * levels + "]" * levels


# name: (file text, words the one error line must hold)
HOSTILE = {
    "sessionbench_block_is_a_list": (json.dumps(_set(valid_doc(), "sessionbench", [1])), "not a sessionbench results"),
    "format_version_true": (json.dumps(_set(valid_doc(), "sessionbench.format_version", True)), "results format True"),
    "benchmark_is_a_string": (json.dumps(_set(valid_doc(), "benchmarks.0", "dashboard")),
                              "benchmarks[0] is str, not an object"),
    "extra_info_is_a_list": (json.dumps(_set(valid_doc(), "benchmarks.0.extra_info", ["workload"])),
                             "benchmarks[0].extra_info is list"),
    "stats_is_a_number": (json.dumps(_set(valid_doc(), "benchmarks.0.stats", 5)), "benchmarks[0].stats is int"),
    "median_is_text": (json.dumps(_set(valid_doc(), "benchmarks.0.stats.median", "abc")),
                       "benchmarks[0].stats.median is 'abc', not a number"),
    "median_is_infinite": (json.dumps(_set(valid_doc(), "benchmarks.0.stats.median", 1e308)).replace("1e+308", "1e999"),
                           "stats.median is inf"),
    "median_is_nan": (json.dumps(_set(valid_doc(), "benchmarks.0.stats.median", float("nan"))), "stats.median is nan"),
    "median_is_huge": (json.dumps(_set(valid_doc(), "benchmarks.0.stats.median", 10**300)), "not a finite number"),
    "integer_of_5000_digits": (json.dumps(valid_doc()).replace('"rounds": 3', '"rounds": ' + "9" * 5000),
                               "not JSON (ValueError)"),
    "raw_timing_is_text": (json.dumps(_set(valid_doc(), "benchmarks.0.stats.data", [0.1, "x"])),
                           "stats.data[1] is 'x'"),
    "statements_is_text": (json.dumps(_set(valid_doc(), "benchmarks.0.extra_info.statements", "11")),
                           "extra_info.statements is '11', not a number"),
    "variant_is_an_object": (json.dumps(_set(valid_doc(), "benchmarks.0.extra_info.variant", {"a": 1})),
                             "extra_info.variant is {'a': 1}, not text"),
    "label_is_nested": (json.dumps(_set(valid_doc(), "benchmarks.0.extra_info.label", [[["x"]]])),
                        "extra_info.label is [[['x']]], not text"),
    "run_id_is_a_number": (json.dumps(_set(valid_doc(), "sessionbench.run_id", 7)), "sessionbench.run_id is 7"),
    "delete_path_is_text": (json.dumps(_set(valid_doc(), "sessionbench.delete_paths.0", "orm")),
                            "sessionbench.delete_paths[0] is str"),
    "datetime_is_garbage": (json.dumps(_set(valid_doc(), "datetime", "yesterday")), "datetime is 'yesterday'"),
    "nested_100k_deep_alone": (_deep(100_000), "nested too deeply"),
    "nested_100k_deep_in_a_label": (json.dumps(_set(valid_doc(), "benchmarks.0.extra_info.label", "@"))
                                    .replace('"@"', _deep(100_000)), "nested too deeply"),
}


def test_a_file_as_run_writes_it_is_read():
    assert read.__module__ == "bench.results"
    doc = valid_doc()
    assert _set(doc, "benchmarks.0.stats.median", 0.0049) == doc


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_read_refuses_a_hostile_file_naming_the_value(name, tmp_path):
    text, words = HOSTILE[name]
    path = tmp_path / "run.json"
    path.write_text(text)
    with pytest.raises(Exception) as raised:
        read(path)
    assert type(raised.value).__name__ == "UserError"
    assert str(path) in raised.value.message and words in raised.value.message
    assert "\n" not in raised.value.message


def sessionbench(*argv: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "bench.cli", *argv], capture_output=True, text=True, cwd=ROOT,
                          check=False)


@pytest.mark.parametrize("command", sorted(READERS))
@pytest.mark.parametrize("name", ["median_is_text", "extra_info_is_a_list", "nested_100k_deep_in_a_label"])
def test_every_reading_command_exits_2_with_one_line(command, name, tmp_path):
    path = tmp_path / "run.json"
    path.write_text(HOSTILE[name][0])
    done = sessionbench(*READERS[command](str(path), tmp_path))
    assert done.returncode == 2, done.stderr
    lines = done.stderr.splitlines()
    assert len(lines) == 2 and lines[0].startswith(f"sessionbench: error: {path}: ") and lines[1].startswith("  try: ")
    assert "Traceback" not in done.stderr + done.stdout
    assert not (tmp_path / "report").exists() and not (tmp_path / "table.csv").exists()


def test_history_refuses_an_unusable_out_before_reading_anything(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    missing = tmp_path / "missing.json"  # would fail too: the --out refusal must come first
    done = sessionbench("history", str(missing), "--out", str(blocker / "charts"))
    assert done.returncode == 2
    err = done.stderr
    assert err.startswith(f"sessionbench: error: cannot write the history chart to {blocker}") and len(err.splitlines()) == 2


def test_history_refuses_a_read_only_out(tmp_path):
    import os

    folder = tmp_path / "locked"
    folder.mkdir()
    folder.chmod(0o500)
    try:
        if os.access(folder, os.W_OK):
            pytest.skip("running as a user who can write to read-only folders (root)")
        done = sessionbench("history", str(tmp_path / "missing.json"), "--out", str(folder))
        assert done.returncode == 2 and "cannot write the history chart" in done.stderr
    finally:
        folder.chmod(0o700)
