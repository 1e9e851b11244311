"""The tracker job's dry run (bench/results/trackers.py) on the exports of real runs: what it would send, and
that one extra statement fails the Bencher thresholds, judged as Bencher's boundary code judges."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bench.results.export import export
from bench.results.trackers import THRESHOLDS, Threshold, judge, split_github_action_benchmark
from tests.runs import ROOT, TINY_RUN, tiny_dashboard_run


@pytest.fixture(scope="module")
def exports(tmp_path_factory) -> dict:
    """Bencher and github-action-benchmark exports of two real tiny runs: as is, and with the
    dashboard sending one statement more per round (bench.measure.injected's test-only hook)."""
    folder = tmp_path_factory.mktemp("trackers")
    extra = folder / "extra-run"
    done = subprocess.run([sys.executable, "-m", "bench.cli", *TINY_RUN, "--out", str(extra), "--print-path"],
                          capture_output=True, text=True, cwd=ROOT, check=False, timeout=600,
                          env={**os.environ, "SESSIONBENCH_TEST_EXTRA_STATEMENT": "dashboard"})
    assert done.returncode == 0, done.stderr[-2000:]
    out = {}
    for name, run in (("base", tiny_dashboard_run(tmp_path_factory)), ("extra", done.stdout.strip())):
        for fmt in ("bencher", "github-action-benchmark"):
            target = folder / f"{name}.{fmt}.json"
            assert export([run], fmt, str(target)) == 0
            out[name, fmt] = str(target)
    return out


def _dry_run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "bench.results.trackers", *args], capture_output=True, text=True, cwd=ROOT,
                          check=False)


@pytest.mark.db
def test_the_dry_run_shows_what_would_be_sent_and_passes_an_unchanged_run(exports, tmp_path):
    base = exports["base", "bencher"]
    done = _dry_run(base, "--baseline", base, "--gab", exports["base", "github-action-benchmark"],
                    "--split-to", str(tmp_path))
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith(f"would run: bencher run --adapter json --file {base} --threshold-measure statements "
                               "--threshold-test percentage --threshold-max-sample-size 1 --threshold-upper-boundary 0")
    assert lines[0].endswith("--thresholds-reset --err")
    sent = next(line for line in lines if line.startswith("would send: "))
    bmf = json.loads(Path(base).read_text())
    assert sent == (f"would send: {len(bmf)} benchmarks, measures cpu-time, executions, latency, round-trips, rows, "
                    "server-statements, statements, wal-bytes, wire-bytes")
    assert lines[-1] == "bencher would raise 0 alert(s) against 1 baseline run(s)"
    counts = json.loads((tmp_path / "base.github-action-benchmark-counts.json").read_text())
    timing = json.loads((tmp_path / "base.github-action-benchmark-timing.json").read_text())
    assert {e["unit"] for e in timing} == {"ms"} and "ms" not in {e["unit"] for e in counts}
    assert sorted(e["name"] for e in counts + timing) == sorted(
        e["name"] for e in json.loads(Path(exports["base", "github-action-benchmark"]).read_text()))


@pytest.mark.db
def test_one_extra_statement_fails_the_bencher_threshold(exports):
    done = _dry_run(exports["extra", "bencher"], "--baseline", exports["base", "bencher"])
    assert done.returncode == 1, done.stdout + done.stderr
    alerts = [line for line in done.stdout.splitlines() if line.startswith("ALERT ")]
    # the lazy dashboard at page size 100: 101 statements before, 102 now
    assert "ALERT statements: dashboard page_size=100 [baseline]: 102 is above the limit 101" in alerts
    base, extra = (json.loads(Path(exports[side, "bencher"]).read_text()) for side in ("base", "extra"))
    assert all(extra[name]["statements"]["value"] == base[name]["statements"]["value"] + 1 for name in base)
    # every dashboard benchmark alerts on each count the extra statement moved
    assert sum(line.startswith("ALERT statements: ") for line in alerts) == len(base)
    assert sum(line.startswith("ALERT round-trips: ") for line in alerts) == len(base)
    assert done.stdout.splitlines()[-1] == f"bencher would raise {len(alerts)} alert(s) against 1 baseline run(s)"


def test_bencher_percentage_and_static_limits_with_literal_numbers():
    percentage = Threshold("statements", "percentage", 0.0, 1)
    assert percentage.limit([]) is None  # no history, no alert
    assert percentage.limit([120, 101]) == 101  # the last run only (max sample size 1)
    assert Threshold("statements", "percentage", 0.1, 2).limit([100, 120]) == pytest.approx(121)
    assert Threshold("statements", "static", 5.0, 1).limit([1, 2]) == 5.0
    one = {"b": {"statements": {"value": 101}}}
    assert judge(one, [one]) == []  # equal to the limit is no alert: Bencher's outlier is strictly above
    (alert,) = judge({"b": {"statements": {"value": 102}}, "new": {"statements": {"value": 9}}}, [one])
    assert (alert.benchmark, alert.measure, alert.value, alert.limit) == ("b", "statements", 102, 101)
    assert {t.measure for t in THRESHOLDS} == {"statements", "server-statements", "round-trips", "executions"}


def test_github_action_benchmark_entries_split_into_counts_and_timings():
    entries = [{"name": "a latency", "unit": "ms", "value": 1.0},
               {"name": "a statements", "unit": "statements", "value": 3},
               {"name": "a CPU time", "unit": "ms", "value": 0.5}]
    assert split_github_action_benchmark(entries) == {"counts": [entries[1]], "timing": [entries[0], entries[2]]}


def test_a_file_that_is_not_an_export_is_one_line_exit_2(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("[1, 2]")
    done = _dry_run(str(bad))
    assert done.returncode == 2 and done.stderr.count("\n") == 1 and "not a tracker export" in done.stderr
    assert _dry_run(str(tmp_path / "missing.json")).returncode == 2
