"""What the workflow's tracker job sends, and how the trackers will judge it: a dry run, offline.

`python -m bench.results.trackers RUN.bencher.json [--baseline BASE.bencher.json] [--gab RUN.github-action-benchmark.json]`
prints the `bencher run` command the workflow runs (its thresholds are THRESHOLDS, the one
definition .github/workflows/benchmarks.yml is tested against), what each file carries, and, with a
baseline, the alerts Bencher would raise, judged here as Bencher's boundary code judges them
(lib/bencher_boundary at v0.6.12): exit 1 on an alert, as `bencher run --err` does.

The counts are exact, so their threshold is Bencher's Percentage test with an upper boundary of 0
over the last baseline run (max sample size 1): the limit is that run's count, and one statement
more is above it. (A Static threshold holds one limit for every benchmark of a measure, and the
dashboard's 11 statements and active_sync's 1 cannot share one.) Latency and CPU time are charted,
not judged: `sessionbench compare` gates them with pairs of runs.

github-action-benchmark applies one `alert-threshold` to a whole file, so the workflow feeds it two:
the counts (`*-counts.json`, threshold 100%: any increase alerts) and the timings (`*-timing.json`,
its 200% default), split by `split_github_action_benchmark`.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from dataclasses import dataclass
from pathlib import Path

from bench.errors import UserError


@dataclass(frozen=True)
class Threshold:
    measure: str      # Bencher measure slug, as bench.results.export writes it
    test: str         # Bencher threshold test
    upper: float      # upper boundary
    max_samples: int  # --threshold-max-sample-size

    def flags(self) -> list[str]:
        return ["--threshold-measure", self.measure, "--threshold-test", self.test,
                "--threshold-max-sample-size", str(self.max_samples), "--threshold-upper-boundary", f"{self.upper:g}"]

    def limit(self, history: list[float]) -> float | None:
        """The upper boundary limit over the last max_samples values (None: no history, no alert)."""
        data = history[-self.max_samples:]
        if self.test == "static":
            return self.upper
        if self.test == "percentage":
            if not data:
                return None
            mean = statistics.fmean(data)
            return mean + mean * self.upper
        raise ValueError(f"threshold test {self.test} is not judged offline")


# One extra statement, server statement, round trip or execution fails the Bencher run.
THRESHOLDS = tuple(Threshold(measure, "percentage", 0.0, 1)
                   for measure in ("statements", "server-statements", "round-trips", "executions"))
GAB_THRESHOLDS = {"counts": "100%", "timing": "200%"}


def bencher_command(bmf_path: str) -> list[str]:
    """`bencher run` as the workflow calls it (project, token, branch and testbed come from its environment)."""
    flags = [flag for threshold in THRESHOLDS for flag in threshold.flags()]
    return ["bencher", "run", "--adapter", "json", "--file", bmf_path, *flags, "--thresholds-reset", "--err"]


@dataclass(frozen=True)
class Alert:
    benchmark: str
    measure: str
    value: float
    limit: float

    def __str__(self) -> str:
        return f"ALERT {self.measure}: {self.benchmark}: {self.value:g} is above the limit {self.limit:g}"


def judge(current: dict, history: list[dict]) -> list[Alert]:
    """Bencher's alerts for one report, given earlier reports of the same branch and testbed (oldest first)."""
    alerts = []
    for threshold in THRESHOLDS:
        for benchmark, measures in current.items():
            if threshold.measure not in measures:
                continue
            past = [report[benchmark][threshold.measure]["value"] for report in history
                    if threshold.measure in report.get(benchmark, {})]
            limit = threshold.limit(past)
            value = measures[threshold.measure]["value"]
            if limit is not None and value > limit:  # bencher_boundary: an outlier lies strictly above
                alerts.append(Alert(benchmark, threshold.measure, value, limit))
    return alerts


def split_github_action_benchmark(entries: list[dict]) -> dict[str, list[dict]]:
    """The action's entries as two files, each with its own alert threshold: exact counts, and timings (ms)."""
    return {"counts": [e for e in entries if e.get("unit") != "ms"],
            "timing": [e for e in entries if e.get("unit") == "ms"]}


def _read(path: str, kind: type) -> object:
    try:
        document = json.loads(Path(path).read_text())
    except OSError as exc:
        raise UserError(f"{path}: cannot read ({exc.strerror})", "pass the file `sessionbench export` wrote") from None
    except ValueError:
        raise UserError(f"{path}: not JSON", "pass the file `sessionbench export` wrote") from None
    if not isinstance(document, kind):
        raise UserError(f"{path}: not a tracker export", "pass the file `sessionbench export` wrote")
    return document


def dry_run(bmf_path: str, baseline: list[str], gab_path: str | None, split_to: str | None) -> int:
    bmf = _read(bmf_path, dict)
    measures = sorted({slug for ms in bmf.values() for slug in ms})
    print("would run: " + " ".join(bencher_command(bmf_path)))
    print(f"would send: {len(bmf)} benchmarks, measures {', '.join(measures)}")
    for threshold in THRESHOLDS:
        print(f"threshold: {threshold.measure}: {threshold.test}, upper boundary {threshold.upper:g}, "
              f"over the last {threshold.max_samples} run(s)")
    if gab_path:
        parts = split_github_action_benchmark(_read(gab_path, list))
        for name, entries in parts.items():
            print(f"github-action-benchmark {name}: {len(entries)} entries, alert-threshold {GAB_THRESHOLDS[name]}")
            if split_to:
                target = Path(split_to) / f"{Path(gab_path).name.removesuffix('.json')}-{name}.json"
                target.write_text(json.dumps(entries, indent=1) + "\n")
                print(f"wrote {target}")
    if not baseline:
        return 0
    alerts = judge(bmf, [_read(path, dict) for path in baseline])
    for alert in alerts:
        print(alert)
    print(f"bencher would raise {len(alerts)} alert(s) against {len(baseline)} baseline run(s)")
    return 1 if alerts else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.results.trackers", description=__doc__.splitlines()[0])
    parser.add_argument("bencher", help="the run's Bencher export (sessionbench export --format bencher)")
    parser.add_argument("--baseline", action="append", default=[], metavar="BMF.json",
                        help="an earlier run's Bencher export (repeat, oldest first): judge the thresholds")
    parser.add_argument("--gab", default=None, metavar="GAB.json", help="the run's github-action-benchmark export")
    parser.add_argument("--split-to", default=None, metavar="DIR", help="write the two github-action-benchmark files")
    args = parser.parse_args(argv)
    try:
        return dry_run(args.bencher, args.baseline, args.gab, args.split_to)
    except UserError as exc:
        print(f"sessionbench trackers: error: {exc.message}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
