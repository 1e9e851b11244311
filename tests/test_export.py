"""Exports of a real run: tables, and tracker JSON checked against the shapes Bencher and
github-action-benchmark document, with the statement counts that make an N+1 visible there."""

import json
import math
import os
import re
import stat
import subprocess
import sys

import jsonschema
import pandas as pd
import pytest

from bench.errors import UserError
from bench.results.export import export
from bench.results import COLUMNS, load
from bench.plan.cases import all_cases
from tests.runs import ROOT, tiny_dashboard_run

# What the tiny run measures: the dashboard's cases (every loading strategy x page size, and the
# recommended model beside them).
DASHBOARD_CASES = sum(case.workload.name == "dashboard" for case in all_cases())

# Bencher Metric Format, as its reference page publishes it (https://bencher.dev/bmf.json).
BMF_SCHEMA = {
    "$schema": "http://json-schema.org/draft-07/schema",
    "type": "object",
    "patternProperties": {".+": {
        "type": "object",
        "patternProperties": {".+": {
            "type": "object",
            "properties": {"value": {"type": "number"}, "lower_value": {"type": "number"},
                           "upper_value": {"type": "number"}},
            "required": ["value"],
        }},
    }},
}
# The counts every benchmark carries next to its latency, and its CPU time.
COUNT_SLUGS = {"statements", "server-statements", "rows", "wal-bytes", "round-trips", "executions", "wire-bytes"}
MEASURES = {"latency", "cpu-time"} | COUNT_SLUGS


def check_bmf(document) -> None:
    """Bencher's documented rules: benchmark name up to 1024 characters; measure slug up to 64,
    kebab case; a metric is `value` with optional `lower_value` / `upper_value`, all numbers."""
    jsonschema.validate(document, BMF_SCHEMA)
    assert isinstance(document, dict) and document
    for name, measures in document.items():
        assert 0 < len(name) <= 1024
        assert measures, f"{name}: no measure"
        for slug, metric in measures.items():
            assert len(slug) <= 64 and re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", slug), slug
            assert set(metric) <= {"value", "lower_value", "upper_value"}
            numbers = [metric.get(k) for k in ("lower_value", "value", "upper_value") if k in metric]
            assert all(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) for v in numbers)
            assert numbers == sorted(numbers), f"{name} {slug}: bounds around the value"


def check_custom_smaller_is_better(document) -> None:
    """github-action-benchmark's custom tools: a list of {name, unit, value} with optional string
    `range` and `extra`; `range` in the "± x" form its comment tables parse; one series per name."""
    assert isinstance(document, list) and document
    for entry in document:
        assert set(entry) >= {"name", "unit", "value"} and set(entry) <= {"name", "unit", "value", "range", "extra"}
        assert isinstance(entry["name"], str) and entry["name"] and isinstance(entry["unit"], str)
        assert isinstance(entry["value"], (int, float)) and math.isfinite(entry["value"])
        assert all(isinstance(entry[k], str) for k in ("range", "extra") if k in entry)
        if "range" in entry:
            assert re.fullmatch(r"(\+-|±)\s*\d[\d.e+-]*", entry["range"]), entry["range"]
    names = [entry["name"] for entry in document]
    assert len(names) == len(set(names))


@pytest.fixture(scope="module")
def run_file(tmp_path_factory) -> str:
    return tiny_dashboard_run(tmp_path_factory)


def _export(run_file, fmt, out):
    assert export([run_file], fmt, str(out)) == 0
    return json.loads(out.read_text())


@pytest.mark.db
def test_bencher_export_is_valid_bmf_with_latency_and_statement_counts(run_file, tmp_path):
    bmf = _export(run_file, "bencher", tmp_path / "bmf.json")
    check_bmf(bmf)
    table = load(run_file)
    # the dashboard: 3 page sizes x every loading strategy, plus the recommended model at the last page size
    assert len(bmf) == len(table) == DASHBOARD_CASES
    assert all(set(measures) == MEASURES for measures in bmf.values())
    # Exact statement counts: the N+1 of lazy loading is there for a tracker to chart.
    assert bmf["dashboard page_size=100 [baseline]"]["statements"] == {"value": 101}
    assert bmf["dashboard page_size=100 [loading=selectin]"]["statements"] == {"value": 3}
    assert bmf["dashboard page_size=100 [loading=joined]"]["statements"] == {"value": 1}
    # Bencher's built-in latency measure is in nanoseconds: median, bounded by the quartiles.
    row = table[(table.param == "page_size=100") & (table.variant == "baseline")].iloc[0]
    latency = bmf["dashboard page_size=100 [baseline]"]["latency"]
    assert latency["value"] == pytest.approx(row.median_s * 1e9)
    assert (latency["lower_value"], latency["upper_value"]) == pytest.approx((row.q1_s * 1e9, row.q3_s * 1e9))
    # round trips, executions, wire bytes and CPU time beside them: lazy loading's N+1 is 101 round trips
    lazy, joined = bmf["dashboard page_size=100 [baseline]"], bmf["dashboard page_size=100 [loading=joined]"]
    assert (lazy["round-trips"], lazy["executions"]) == ({"value": row.round_trips}, {"value": row.executions})
    assert lazy["round-trips"]["value"] >= 101 and joined["round-trips"]["value"] < lazy["round-trips"]["value"]
    assert lazy["wire-bytes"] == {"value": row.wire_bytes} and row.wire_bytes > 0
    assert lazy["cpu-time"]["value"] == pytest.approx(row.cpu_s * 1e9) and row.cpu_s > 0


@pytest.mark.db
def test_tracker_benchmark_names_and_slugs_keep_their_history(run_file, tmp_path):
    """A tracker keys its history by benchmark name and measure: the names are the results labels
    (image tag, not digest), and every earlier slug and entry name is still there."""
    bmf = _export(run_file, "bencher", tmp_path / "bmf.json")
    entries = {e["name"] for e in _export(run_file, "github-action-benchmark", tmp_path / "gab.json")}
    assert {"dashboard page_size=10 [baseline]", "dashboard page_size=1000 [loading=selectin]"} <= set(bmf)
    for name in bmf:
        assert {"latency", "statements", "server-statements", "rows", "wal-bytes"} <= set(bmf[name])
        assert {f"{name} {s}" for s in ("latency", "statements", "server statements", "rows", "WAL bytes")} <= entries


@pytest.mark.db
def test_github_action_benchmark_export_is_valid_custom_smaller_is_better_json(run_file, tmp_path):
    entries = _export(run_file, "github-action-benchmark", tmp_path / "gab.json")
    check_custom_smaller_is_better(entries)
    assert len(entries) == DASHBOARD_CASES * 9  # latency, CPU time and seven counts per benchmark
    by_name = {entry["name"]: entry for entry in entries}
    assert by_name["dashboard page_size=1000 [baseline] statements"] == {
        "name": "dashboard page_size=1000 [baseline] statements", "unit": "statements", "value": 201}
    assert by_name["dashboard page_size=1000 [loading=selectin] statements"]["value"] == 3
    latency = by_name["dashboard page_size=1000 [baseline] latency"]
    assert latency["unit"] == "ms" and latency["range"].startswith("± ") and "IQR" in latency["extra"]
    assert {entry["unit"] for entry in entries} == {"ms", "statements", "rows", "bytes", "round trips", "executions"}
    assert by_name["dashboard page_size=1000 [baseline] round trips"]["value"] >= 201
    cpu = by_name["dashboard page_size=1000 [baseline] CPU time"]
    assert cpu["unit"] == "ms" and cpu["value"] > 0


def test_validators_reject_what_the_trackers_would():
    """The two checks above are not vacuous: each documented rule fails a document that breaks it."""
    good = {"b": {"latency": {"value": 2.0, "lower_value": 1.0, "upper_value": 3.0}}}
    check_bmf(good)
    for bad in ({"b": {"latency": {"lower_value": 1.0}}}, {"b": {"latency": {"value": "2"}}},
                {"b": {"Latency Median": {"value": 1}}}, {"b": {"latency": {"value": 5, "upper_value": 3}}}, []):
        with pytest.raises((AssertionError, jsonschema.ValidationError)):
            check_bmf(bad)
    check_custom_smaller_is_better([{"name": "a", "unit": "ms", "value": 1.5, "range": "± 0.2"}])
    for bad in ([{"name": "a", "value": 1}], [{"name": "a", "unit": "ms", "value": 1, "range": "0.2"}],
                [{"name": "a", "unit": "ms", "value": 1}] * 2, {"name": "a", "unit": "ms", "value": 1}):
        with pytest.raises(AssertionError):
            check_custom_smaller_is_better(bad)


@pytest.mark.db
@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_table_export_is_the_results_table_and_is_never_overwritten(run_file, tmp_path, fmt, capsys):
    target = tmp_path / f"table.{fmt}"
    assert export([run_file], fmt, str(target)) == 0
    table = pd.read_csv(target) if fmt == "csv" else pd.read_parquet(target)
    # the results table: its declared columns first, then every other metric the benchmarks carry
    assert list(table.columns)[:len(COLUMNS)] == COLUMNS and len(table) == DASHBOARD_CASES
    assert sorted(table.statements) == sorted(load(run_file).statements)
    assert capsys.readouterr().out == f"wrote {DASHBOARD_CASES} benchmarks as {fmt} to {target}\n"
    before = target.read_bytes()
    with pytest.raises(UserError, match="never overwritten"):
        export([run_file], fmt, str(target))
    assert target.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == [target.name]  # no temporary file left


def test_an_unusable_out_is_refused_before_any_results_file_is_read(tmp_path):
    missing_run = str(tmp_path / "no-such-run.json")
    with pytest.raises(UserError, match="no folder"):
        export([missing_run], "bencher", str(tmp_path / "absent" / "out.json"))
    taken = tmp_path / "taken.json"
    taken.write_text("keep me")
    with pytest.raises(UserError, match="already exists"):
        export([missing_run], "github-action-benchmark", str(taken))
    assert taken.read_text() == "keep me"
    with pytest.raises(UserError, match="no such folder"):
        export([missing_run], "bencher", str(tmp_path / "absent") + "/")
    with pytest.raises(UserError, match="one results file"):
        export([missing_run, missing_run], "bencher", None)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["taken.json"]  # nothing written, not even a folder


@pytest.mark.db
def test_cli_writes_tracker_json_into_a_folder_readable_by_others_and_says_so_in_one_line(run_file, tmp_path):
    done = subprocess.run([sys.executable, "-m", "bench.cli", "export", run_file, "--format", "bencher",
                           "--out", str(tmp_path)], capture_output=True, text=True, cwd=ROOT, check=False)
    assert done.returncode == 0, done.stderr
    written = tmp_path / (os.path.basename(run_file)[:-len(".json")] + ".bencher.json")
    assert done.stdout == f"wrote {DASHBOARD_CASES} benchmarks as bencher to {written}\n"
    check_bmf(json.loads(written.read_text()))
    assert stat.S_IMODE(written.stat().st_mode) & 0o044  # not the temporary file's private 0600
    again = subprocess.run([sys.executable, "-m", "bench.cli", "export", run_file, "--format", "bencher",
                            "--out", str(tmp_path)], capture_output=True, text=True, cwd=ROOT, check=False)
    assert again.returncode == 2 and "never overwritten" in again.stderr.splitlines()[0]
