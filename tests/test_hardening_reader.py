"""Every number read from a results file is checked for its kind by the one reader (bench.results.read,
against its declared row, ROW_SCHEMA): a duration of zero or less, a fractional count, a plan field of
the wrong type, nesting deep enough to exhaust a stack, a number too large to stay finite, a column of
mixed kinds. Each is one line and exit 2 in every command; and no file sessionbench writes holds NaN
or Infinity, which are not JSON."""

from __future__ import annotations

import copy
import json
import math
import subprocess
import sys

import pytest

from bench import results
from bench.results import validate
from bench.errors import UserError
from tests.test_results_untrusted import ROOT, _set, valid_doc


def _two_rows(extra_a, extra_b) -> dict:
    doc = valid_doc()
    second = copy.deepcopy(doc["benchmarks"][0])
    second["extra_info"]["param"] = "page_size=100"
    doc["benchmarks"].append(second)
    doc["benchmarks"][0]["extra_info"]["custom_metric"] = extra_a
    doc["benchmarks"][1]["extra_info"]["custom_metric"] = extra_b
    return doc


def _deep_list(levels: int):
    value: list = []
    for _ in range(levels - 1):
        value = [value]
    return value


def _shard(doc: dict) -> dict:
    doc["sessionbench"]["settings"] = {"shard": "1/2"}
    return doc


# name: (document, words the one error line must hold)
UNUSABLE = {
    "median_zero": (_set(valid_doc(), "benchmarks.0.stats.median", 0), "stats.median is 0, not a positive duration"),
    "median_negative": (_set(valid_doc(), "benchmarks.0.stats.median", -0.004), "not a positive duration"),
    "raw_round_zero": (_set(valid_doc(), "benchmarks.0.stats.data", [0.004, 0.0]), "stats.data[1] is 0.0"),
    "trial_median_zero": (_set(valid_doc(), "benchmarks.0.extra_info.trial_medians_s", [0.004, 0]),
                          "extra_info.trial_medians_s[1] is 0, not a positive duration"),
    "trial_median_negative": (_set(valid_doc(), "benchmarks.0.extra_info.trial_medians_s", [-1.0, 0.004]),
                              "trial_medians_s[0] is -1.0"),
    "fractional_statements": (_set(valid_doc(), "benchmarks.0.extra_info.statements", 11.5),
                              "extra_info.statements is 11.5, not a whole count of 0 or more"),
    "negative_rows": (_set(valid_doc(), "benchmarks.0.extra_info.rows", -3), "extra_info.rows is -3"),
    "rounds_fractional": (_set(valid_doc(), "benchmarks.0.stats.rounds", 2.5), "stats.rounds is 2.5"),
    "indexes_used_numbers": (_set(valid_doc(), "benchmarks.0.extra_info.indexes_used", [1, 2]),
                             "extra_info.indexes_used[0] is 1, not text"),
    "indexes_used_text": (_set(valid_doc(), "benchmarks.0.extra_info.indexes_used", "ix"),
                          "extra_info.indexes_used is str, not a list"),
    "seq_scan_text": (_set(valid_doc(), "benchmarks.0.extra_info.seq_scan", "no"),
                      "extra_info.seq_scan is 'no', not true or false"),
    "packages_a_list": (_set(valid_doc(), "sessionbench.packages", ["sqlalchemy"]),
                        "sessionbench.packages is list, not an object"),
    "plan_top_number": (_set(valid_doc(), "benchmarks.0.extra_info.plan_top", 7), "extra_info.plan_top is 7, not text"),
    "run_sessions_fractional": (_set(valid_doc(), "sessionbench.sessions", 200.5), "sessionbench.sessions is 200.5"),
    "settings_900_deep": (_set(_shard(valid_doc()), "sessionbench.settings.deep", _deep_list(900)),
                          "nested more than 24 levels deep"),
    "huge_number_in_a_shard": (_set(_shard(valid_doc()), "sessionbench.trials", {"kept": 1e300}),
                               "sessionbench.trials.kept is 1e+300, not a finite number in range"),
    "mixed_kinds_in_a_column": (_two_rows(1.5, "fast"), "benchmarks[1].extra_info.custom_metric is 'fast', "
                                                        "not a number like benchmarks[0].extra_info.custom_metric"),
}


@pytest.mark.parametrize("name", sorted(UNUSABLE))
def test_the_reader_refuses_a_value_of_the_wrong_kind_naming_it(name, tmp_path):
    doc, words = UNUSABLE[name]
    path = tmp_path / "run.json"
    path.write_text(json.dumps(doc))
    with pytest.raises(UserError) as raised:
        results.read(path)
    assert words in raised.value.message and "\n" not in raised.value.message


def test_the_declared_row_covers_every_column_of_the_table():
    undeclared = [name for name in results.COLUMNS if validate.kind_of(name) is None]
    assert undeclared == [], f"declare these columns' kinds in ROW_SCHEMA: {undeclared}"


def test_a_file_as_a_run_writes_it_still_reads():
    doc = _two_rows(1.5, 2)  # an int and a float are both numbers
    doc["benchmarks"][0]["extra_info"]["trial_unloaded_s"] = [0.0, 0.001]  # all waiting: 0 is a real value
    doc["benchmarks"][0]["extra_info"]["trial_medians_s"] = [0.004, 0.005]
    assert validate.malformed(doc) is None
    # a 0 in a metric compare takes logs of leaves that metric without an interval instead of failing
    assert results.trial_values(doc["benchmarks"][0], "unloaded") == []
    assert results.trial_values(doc["benchmarks"][0], "wall") == [0.004, 0.005]


def sessionbench(*argv: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "bench.cli", *argv], capture_output=True, text=True, cwd=ROOT,
                          check=False, timeout=300)


COMMANDS = {
    "compare": lambda path, out: ["compare", path, path],
    "history": lambda path, out: ["history", path, "--out", str(out / "history")],
    "check": lambda path, out: ["check", path],
    "export-csv": lambda path, out: ["export", path, "--out", str(out / "table.csv")],
    "export-parquet": lambda path, out: ["export", path, "--format", "parquet", "--out", str(out / "t.parquet")],
    "merge": lambda path, out: ["merge", path, "--out", str(out / "merged")],
    "report": lambda path, out: ["report", path, "--out", str(out / "report")],
}
# Every command on three kinds of trouble, and each case of the trial on the command it broke.
CASES = [(command, name) for command in COMMANDS
         for name in ("median_zero", "settings_900_deep", "mixed_kinds_in_a_column")]
CASES += [("compare", "trial_median_zero"), ("history", "fractional_statements"), ("history", "median_negative"),
          ("check", "indexes_used_numbers"), ("check", "seq_scan_text"), ("merge", "huge_number_in_a_shard")]


@pytest.mark.parametrize(("command", "name"), CASES)
def test_every_command_refuses_it_in_one_line_with_exit_2(command, name, tmp_path):
    path = tmp_path / "run.json"
    path.write_text(json.dumps(UNUSABLE[name][0]))
    done = sessionbench(*COMMANDS[command](str(path), tmp_path))
    assert done.returncode == 2, done.stderr[-2000:]
    lines = done.stderr.splitlines()
    assert len(lines) == 2 and lines[0].startswith(f"sessionbench: error: {path}: malformed results: "), lines[:3]
    assert UNUSABLE[name][1] in lines[0] and lines[1].startswith("  try: ")
    assert "Traceback" not in done.stdout + done.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run.json"]  # nothing written


def _strict(text: str):
    def refuse(constant):
        raise ValueError(f"{constant} is not JSON")
    return json.loads(text, parse_constant=refuse)


def test_the_writer_never_writes_nan_or_infinity(tmp_path):
    doc = _set(valid_doc(), "benchmarks.0.extra_info.cpu_s", math.nan)
    doc["sessionbench"]["load"] = {"seconds": math.inf, "shares": [-math.inf, 0.5]}
    path = results.write_new(doc, tmp_path, "r1")
    written = _strict(path.read_text())  # every other tool's parser reads it
    assert written["benchmarks"][0]["extra_info"]["cpu_s"] is None
    assert written["sessionbench"]["load"] == {"seconds": None, "shares": [None, 0.5]}
    assert results.read(path)["benchmarks"][0]["stats"]["median"] == 0.0049
