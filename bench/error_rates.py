"""Measure how often the CI gates are wrong: `python -m bench.error_rates --trials 10`.

Each trial makes four runs of the same subset of workloads on this machine, through the
`sessionbench` command exactly as CI calls it:
  A1, A2  the same code twice      -> `compare A1 A2` should flag nothing (A/A, false positives)
                                      `check A1`, `check A2` should pass (deterministic gate, A/A)
  SLOW    SESSIONBENCH_TEST_SLOWDOWN makes one workload 25% slower
                                   -> `compare A1 SLOW` should flag it (A/B, detection power)
  EXTRA   SESSIONBENCH_TEST_EXTRA_STATEMENT adds one statement per round
                                   -> `check EXTRA` should exit 1 every time
The order of the four runs rotates from trial to trial, so a slow drift of the machine does not
always land on the same side. The numbers go into docs/error-rates.md between two markers
(text around them is kept) and every verdict into <work>/trials.json.
"""

from __future__ import annotations

import argparse
import datetime
import itertools
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

BEGIN, END = "<!-- error-rates:begin -->", "<!-- error-rates:end -->"
ROOT = Path(__file__).resolve().parent.parent


def sessionbench(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "bench.cli", *args]
    environment = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
    return subprocess.run(command, env=environment, capture_output=True, text=True, cwd=ROOT)


def one_run(options, out: Path, env: dict | None = None) -> Path:
    args = ["run", "--backend", options.backend, "--scale", "small", "--out", str(out), "--quiet",
            "--max-time", str(options.max_time), "--min-rounds", str(options.min_rounds),
            "--only", f"workload={options.workloads}"]
    done = sessionbench(*args, env=env)
    written = sorted(out.glob("*.json"))
    if done.returncode != 0 or len(written) != 1:
        raise SystemExit(f"run into {out} failed (exit {done.returncode}):\n{done.stderr[-2000:]}")
    return written[0]


def compare(base: Path, new: Path, threshold: str) -> dict:
    done = sessionbench("compare", str(base), str(new), "--threshold", threshold, "--format", "json")
    if done.returncode not in (0, 1):
        raise SystemExit(f"compare {base} {new} failed:\n{done.stderr}")
    rows = json.loads(done.stdout)["rows"]
    for row in rows:
        row["label"] = " ".join(filter(None, [row["workload"], row["param"], f"[{row['variant']}]"]))
    flagged = [r["label"] for r in rows if r["verdict"] == "regression"]
    workloads = {r["workload"] for r in rows}
    return {"exit": done.returncode, "benchmarks": len(rows), "flagged": flagged,
            "by_workload": {w: sum(r["workload"] == w for r in rows) for w in workloads},
            "flagged_by_workload": {w: sum(f.startswith(f"{w} ") for f in flagged) for w in workloads},
            "ratios": {r["label"]: [round(r[k], 4) for k in ("ratio", "ci_low", "ci_high")] for r in rows}}


def check(run: Path, budgets: str | None) -> dict:
    done = sessionbench("check", str(run), *(["--budgets", budgets] if budgets else []))
    return {"exit": done.returncode, "output": done.stdout.strip().splitlines()[:12] + done.stderr.strip().splitlines()}


def _load_average() -> float | None:
    """The machine's 1-minute load before a run: other work on the machine is part of the noise."""
    try:
        return float(Path("/proc/loadavg").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def trial(number: int, options, work: Path) -> dict:
    folder = work / f"trial-{number:02d}"
    hooks = {"A1": None, "A2": None, "SLOW": {"SESSIONBENCH_TEST_SLOWDOWN": f"{options.slow}={options.slowdown}"},
             "EXTRA": {"SESSIONBENCH_TEST_EXTRA_STATEMENT": options.extra}}
    order = list(hooks)
    order = order[number % 4:] + order[:number % 4]  # rotate which run goes first
    runs, started = {}, time.perf_counter()
    load = {}
    for name in order:
        load[name] = _load_average()
        runs[name] = one_run(options, folder / name, hooks[name])
    result = {"trial": number, "order": order, "runs": {k: str(v) for k, v in runs.items()}, "load": load,
              "aa": compare(runs["A1"], runs["A2"], options.threshold),
              "ab": compare(runs["A1"], runs["SLOW"], options.threshold),
              "check_a1": check(runs["A1"], options.budgets), "check_a2": check(runs["A2"], options.budgets),
              "check_extra": check(runs["EXTRA"], options.budgets),
              "seconds": round(time.perf_counter() - started, 1)}
    return result


def _rate(hits: int, total: int) -> str:
    return f"{hits}/{total} ({hits / total * 100:.0f}%)" if total else "-"


def _names(labels: list[str], shown: int = 3) -> str:
    if not labels:
        return "none"
    more = f" and {len(labels) - shown} more" if len(labels) > shown else ""
    return f"{len(labels)}: {', '.join(labels[:shown])}{more}"


def summarize(trials: list[dict], options, server: str, day: str) -> str:
    n, slow = len(trials), options.slow
    aa_any = sum(t["aa"]["exit"] == 1 for t in trials)
    aa_rows = sum(t["aa"]["benchmarks"] for t in trials)
    aa_flags = sum(len(t["aa"]["flagged"]) for t in trials)
    ab_caught = sum(t["ab"]["flagged_by_workload"].get(slow, 0) > 0 for t in trials)
    ab_rows = sum(t["ab"]["by_workload"].get(slow, 0) for t in trials)
    ab_flags = sum(t["ab"]["flagged_by_workload"].get(slow, 0) for t in trials)
    ab_other_rows = sum(t["ab"]["benchmarks"] - t["ab"]["by_workload"].get(slow, 0) for t in trials)
    ab_other_flags = sum(len(t["ab"]["flagged"]) - t["ab"]["flagged_by_workload"].get(slow, 0) for t in trials)
    check_aa = sum(t["check_a1"]["exit"] != 0 for t in trials) + sum(t["check_a2"]["exit"] != 0 for t in trials)
    check_extra = sum(t["check_extra"]["exit"] == 1 for t in trials)
    minutes = sum(t["seconds"] for t in trials) / 60
    lines = [
        BEGIN,
        f"Measured {day} by `python -m bench.error_rates --trials {n}` on "
        f"{os.cpu_count()} cores, Python {platform.python_version()}, {options.backend} PostgreSQL {server}, "
        f"{platform.system()} {platform.release()}. Each run: `sessionbench run --scale small "
        f"--only workload={options.workloads} --max-time {options.max_time} --min-rounds {options.min_rounds}`; "
        f"compare at threshold {options.threshold} (95% bootstrap CI of the ratio of medians). "
        f"{4 * n} runs, {minutes:.0f} minutes.",
        "",
        "| gate | question | comparisons | flagged | rate |",
        "|---|---|---:|---:|---:|",
        f"| `compare` A/A | two runs of the same code: does the comparison exit 1? | {n} | {aa_any} | "
        f"{_rate(aa_any, n)} |",
        f"| `compare` A/A, per benchmark | ... how many benchmarks were called a regression? | {aa_rows} | "
        f"{aa_flags} | "
        f"{_rate(aa_flags, aa_rows)} |",
        f"| `compare` A/B | `{slow}` {options.slowdown:.0%} slower: is at least one `{slow}` benchmark flagged? | "
        f"{n} | {ab_caught} | {_rate(ab_caught, n)} |",
        f"| `compare` A/B, per benchmark | ... how many `{slow}` benchmarks were flagged? | {ab_rows} | {ab_flags} | "
        f"{_rate(ab_flags, ab_rows)} |",
        f"| `compare` A/B, bystanders | ... how many untouched benchmarks were flagged? | {ab_other_rows} | "
        f"{ab_other_flags} | {_rate(ab_other_flags, ab_other_rows)} |",
        f"| `check` A/A | unchanged code: does the budget check fail? | {2 * n} | {check_aa} | "
        f"{_rate(check_aa, 2 * n)} |",
        f"| `check` A/B | one extra statement per `{options.extra}` round: does the check exit 1? | {n} | "
        f"{check_extra} | {_rate(check_extra, n)} |",
        "",
        "Per trial (run order; benchmarks flagged; median ratio of the slowed benchmarks):",
        "",
        "| trial | order | load before runs | A/A flagged | A/B flagged | A/B ratios of `%s` | check A1/A2/EXTRA |"
        % slow,
        "|---:|---|---|---|---|---|---|",
    ]
    for t in trials:
        ratios = sorted(v[0] for k, v in t["ab"]["ratios"].items() if k.startswith(f"{slow} "))
        aa = _names(t["aa"]["flagged"])
        ab = f"{t['ab']['flagged_by_workload'].get(slow, 0)}/{t['ab']['by_workload'].get(slow, 0)}"
        others = [f for f in t["ab"]["flagged"] if not f.startswith(f"{slow} ")]
        ab += f" (+ {_names(others)})" if others else ""
        load = " ".join(f"{t['load'][name]:.1f}" for name in t["order"]) if t.get("load") else "-"
        lines.append(f"| {t['trial']} | {' '.join(t['order'])} | {load} | {aa} | {ab} | "
                     f"{' '.join(f'{r:.2f}' for r in ratios)} | {t['check_a1']['exit']}/{t['check_a2']['exit']}/"
                     f"{t['check_extra']['exit']} |")
    lines += ["", "The same runs judged by other rules (replayed from the raw timings, nothing re-measured):", "",
              *rule_table(trials, slow), END]
    return "\n".join(lines)


# Other decision rules, replayed on the same runs (no new measurement): how would each have done?
# (label, confidence or None for the per-workload rule, threshold, seconds of rounds kept or None for all)
RULES = [("per benchmark, 95% CI, 10% (default)", 0.95, 0.10, None),
         ("per benchmark, 99% CI, 10%", 0.99, 0.10, None),
         ("per benchmark, 95% CI, 15%", 0.95, 0.15, None),
         ("per benchmark, 95% CI, 20%", 0.95, 0.20, None),
         ("per benchmark, 99% CI, 25%", 0.99, 0.25, None),
         ("per workload: geometric mean of median ratios > 1.10", None, 0.10, None),
         ("default rule on the first 0.3 s of rounds only (as if `--max-time 0.3`)", 0.95, 0.10, 0.3)]


def _timings(path: str, within: float | None = None) -> dict:
    """Raw rounds per benchmark, in the order they ran; `within` keeps the first seconds' worth (5 at least)."""
    doc = json.loads(Path(path).read_text())
    out = {}
    for bench in doc["benchmarks"]:
        data = bench["stats"]["data"]
        if within is not None:
            elapsed = itertools.accumulate(data)
            data = data[:max(5, sum(total <= within for total in elapsed))]
        out[tuple(bench["extra_info"][k] for k in ("workload", "param", "variant"))] = data
    return out


def _flags(base: dict, new: dict, confidence, threshold) -> set[str]:
    """Workloads with at least one flagged benchmark under one rule."""
    from bench.stats import bootstrap_ratio_ci, classify

    if confidence is None:
        by_workload: dict[str, list[float]] = {}
        for key in base.keys() & new.keys():
            by_workload.setdefault(key[0], []).append(statistics.median(new[key]) / statistics.median(base[key]))
        return {w for w, ratios in by_workload.items() if statistics.geometric_mean(ratios) > 1 + threshold}
    return {key[0] for key in base.keys() & new.keys()
            if classify(bootstrap_ratio_ci(base[key], new[key], confidence=confidence), threshold) == "regression"}


def rule_table(trials: list[dict], slow: str) -> list[str]:
    n = len(trials)
    lines = ["| rule | A/A: comparisons flagged | A/B: `%s` flagged | A/B: bystander workload flagged |" % slow,
             "|---|---:|---:|---:|"]
    for label, confidence, threshold, within in RULES:
        runs = [{name: _timings(t["runs"][name], within) for name in ("A1", "A2", "SLOW")} for t in trials]
        aa = [_flags(r["A1"], r["A2"], confidence, threshold) for r in runs]
        ab = [_flags(r["A1"], r["SLOW"], confidence, threshold) for r in runs]
        lines.append(f"| {label} | {_rate(sum(bool(f) for f in aa), n)} | {_rate(sum(slow in f for f in ab), n)} | "
                     f"{_rate(sum(bool(f - {slow}) for f in ab), n)} |")
    return lines


def write_doc(path: Path, block: str) -> None:
    text = path.read_text() if path.exists() else f"# Error rates of the CI gates\n\n{BEGIN}\n{END}\n"
    if BEGIN not in text or END not in text:
        text += f"\n{BEGIN}\n{END}\n"
    head, rest = text.split(BEGIN, 1)
    path.write_text(head + block + rest.split(END, 1)[1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.error_rates", description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=10)
    parser.add_argument("--workloads", default="dashboard,active_sync", help="the --only workload=... subset")
    parser.add_argument("--slow", default="dashboard", help="workload slowed down in the A/B runs")
    parser.add_argument("--slowdown", type=float, default=0.25)
    parser.add_argument("--extra", default="dashboard", help="workload given one extra statement")
    # The defaults are what .github/workflows/benchmarks.yml uses, so the page describes CI's gate.
    parser.add_argument("--threshold", default="15%")
    parser.add_argument("--max-time", type=float, default=1.0)
    parser.add_argument("--min-rounds", type=int, default=5)
    parser.add_argument("--backend", default="embedded")
    parser.add_argument("--budgets", default=None, help="budget file (default: the committed one)")
    parser.add_argument("--work", default="error-rates-runs", help="folder for the runs and trials.json")
    parser.add_argument("--doc", default=str(ROOT / "docs" / "error-rates.md"))
    parser.add_argument("--replay", action="store_true",
                        help="measure nothing: rewrite the doc from <work>/trials.json of an earlier measurement")
    options = parser.parse_args(argv)
    work = Path(options.work).resolve()
    work.mkdir(parents=True, exist_ok=True)
    trials = json.loads((work / "trials.json").read_text()) if options.replay else []
    for number in range(1, 0 if options.replay else options.trials + 1):
        trials.append(trial(number, options, work))
        (work / "trials.json").write_text(json.dumps(trials, indent=1))
        t = trials[-1]
        print(f"trial {number}: A/A exit {t['aa']['exit']} {t['aa']['flagged']}; A/B exit {t['ab']['exit']} "
              f"{t['ab']['flagged_by_workload']}; check {t['check_a1']['exit']}/{t['check_a2']['exit']}/"
              f"{t['check_extra']['exit']}; {t['seconds']}s", flush=True)
    first = json.loads(Path(trials[0]["runs"]["A1"]).read_text())
    day = str(first.get("datetime", datetime.date.today().isoformat()))[:10]
    write_doc(Path(options.doc), summarize(trials, options, first["sessionbench"].get("server_version"), day))
    print(f"wrote {options.doc}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
