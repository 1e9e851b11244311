"""`sessionbench compare`: compare runs benchmark by benchmark and say whether anything got slower.

compare_runs reads the two sides (bench.gate.sides: benchmarks by identity, runs paired by time),
judges each benchmark present on both by compare's rule (bench.gate.rule: the ratio of geometric
means, a family-wise interval, a verdict) and sorts the rows; setup_notes says what the reader
should know about the runs given (set-ups that differ, a noisy run, runs that could not be paired,
the same commit on both sides); main_compare prints the table (bench.gate.table) and gives the
command's exit code. The rule's parameters are compare_runs's keyword arguments.

Exit codes of main_compare: 0 no regression, 1 at least one regression (slower beyond the
threshold with confidence, or more SQL statements than before), 2 unusable input (a UserError).
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path
from typing import TextIO

from bench import results
from bench.analysis import stats
from bench.errors import UserError
from bench.gate.rule import (
    FAMILY_ALPHA, MIN_PAIRS, RUN_SPREAD, RUN_SPREAD_PER_TRIAL_SPREAD, Row, has_regression, judge, sort_rows, unit_of,
    workload_priors,
)
from bench.gate.sides import index_benchmarks, noisy, pair_runs, run_spread, samples, unmatched
from bench.gate.table import render
from bench.results import label_of as identity_label

__all__ = ["compare_runs", "main_compare", "parse_threshold", "report_user_error", "setup_notes"]

FORMATS = ("text", "markdown", "json")
NO_VALUES_HINT = {"cpu": "compare --metric wall, or re-run with the embedded backend (CPU is read there)",
                  "paced": "compare --metric wall, or re-run that side with a sessionbench that times the yardstick "
                           "(trial_paced_s)"}
METRIC_WORDS = {"wall": "wall time per round (median of each trial)",
                "cpu": "CPU time per round, client and server backend",
                "unloaded": "wall time per round less the time client and server waited for a CPU",
                "paced": "wall time per round at a fixed pace of the machine (each trial's median over the "
                         "yardstick timed before it, bench.measure.yardstick)"}


def parse_threshold(text: str | float) -> float:
    """"10%", "0.1" and "10" all mean 0.10: a bare number above 1 is read as percent."""
    raw = str(text).strip()
    try:
        if raw.endswith("%"):
            value = float(raw[:-1]) / 100
        else:
            value = float(raw)
            if value > 1:
                value /= 100
    except ValueError:
        raise ValueError(f"threshold {text!r} is not a number; use e.g. 10%, 0.1 or 10") from None
    if not math.isfinite(value) or value < 0 or value >= 10:
        raise ValueError(f"threshold {text!r} must be a percentage from 0 to 1000, e.g. 10%")
    return value


def compare_runs(base_docs, new_docs, *, threshold: float = 0.10, family_alpha: float = FAMILY_ALPHA,
                 metric: str = "wall", pair_up: bool = True, interpolate: bool = False, min_pairs: int = MIN_PAIRS,
                 run_spread_per_trial_spread: float = RUN_SPREAD_PER_TRIAL_SPREAD,
                 run_spread_least: float = RUN_SPREAD) -> list[Row]:
    """One Row per benchmark present on both sides, regressions first. Each side: a doc or a list of docs.
    For the error-rate notes only: `pair_up=False` compares runs unpaired even when they could be
    paired; `interpolate=True` compares each paired head run with the base runs either side of it
    (stats.interpolated_bases, for runs taken base first), which was measured and not adopted;
    `min_pairs`, `run_spread_per_trial_spread` and `run_spread_least` try other values of the rule's
    MIN_PAIRS, RUN_SPREAD_PER_TRIAL_SPREAD and RUN_SPREAD (docs/compare-rule.md)."""
    base_docs = [base_docs] if isinstance(base_docs, dict) else list(base_docs)
    new_docs = [new_docs] if isinstance(new_docs, dict) else list(new_docs)
    paired = pair_runs(base_docs, new_docs, min_pairs=min_pairs) if pair_up else None
    if paired:
        base_docs, new_docs = paired.base, paired.new
    base_index = [index_benchmarks(doc, "base") for doc in base_docs]
    new_index = [index_benchmarks(doc, "new") for doc in new_docs]
    common = [i for i in dict.fromkeys(k for idx in base_index for k in idx) if any(i in idx for idx in new_index)]
    if not common:
        raise UserError(
            "the two sides have no benchmark in common",
            "compare runs of the same workloads/variants (identity: workload, param, variant, image, rtt_ms)",
        )
    # Bonferroni: each benchmark's one-sided test at family_alpha / m keeps the chance that any of the m
    # is flagged by noise at family_alpha.
    alpha = family_alpha / len(common)
    show_data = results.data_varies(common)
    benches = {i: ([idx[i] for idx in base_index if i in idx], [idx[i] for idx in new_index if i in idx])
               for i in common}
    sides = {i: (*samples(base, metric), *samples(new, metric)) for i, (base, new) in benches.items()}
    if paired:  # a benchmark with a value in every run of both sides is compared pair by pair
        sides = {i: (b, "pair", n, "pair") if unit_of((b, bu, n, nu)) == "run" and len(b) == len(n) == len(base_docs)
                 else (b, bu, n, nu) for i, (b, bu, n, nu) in sides.items()}
    interpolated = bool(paired) and interpolate
    if interpolated:
        sides = {i: (stats.interpolated_bases(b), bu, n, nu) if bu == "pair" else (b, bu, n, nu)
                 for i, (b, bu, n, nu) in sides.items()}
    for i, (base_values, _, new_values, _) in sides.items():
        if not base_values or not new_values:
            raise UserError(f"{identity_label(i, with_data=show_data)} has no {metric} values on one side",
                            NO_VALUES_HINT.get(metric, NO_VALUES_HINT["cpu"]))
    priors = workload_priors(sides)
    # One run per side: the spread between runs it cannot show, each side's from its own trials (run_spread).
    run_variance = sum(run_spread(docs, metric, per_trial_spread=run_spread_per_trial_spread,
                                  least=run_spread_least) ** 2
                       for docs in (base_docs, new_docs))
    rows = [judge(i, sides[i], threshold, alpha, priors[i[0], unit_of(sides[i])], run_variance, *benches[i],
                   show_data, interpolated) for i in common]
    return sort_rows(rows)


def setup_notes(base_docs: list[dict], new_docs: list[dict], metric: str = "wall") -> list[str]:
    """One line when the two sides were made differently (naming the fields), one when one file per side
    takes a wider spread between runs than a quiet run's, one when same commit."""
    notes = []
    differing = []
    for name in results.SETUP_FIELDS:
        base_values = {json.dumps(results.setup_of(d)[name], default=str) for d in base_docs}
        new_values = {json.dumps(results.setup_of(d)[name], default=str) for d in new_docs}
        if base_values != new_values:
            differing.append(name)
    if differing:
        notes.append(f"warning: the two sides differ in set-up ({', '.join(differing)}); "
                     "a difference in time may come from that, not from the code")
    if len(base_docs) == 1 and len(new_docs) == 1:
        spreads = {"base": run_spread(base_docs, metric), "new": run_spread(new_docs, metric)}
        busy = [side for side, docs in (("base", base_docs), ("new", new_docs)) if noisy(docs[0])]
        if busy or max(spreads.values()) > RUN_SPREAD:
            taken = "; ".join(f"{side} {value:.3f}" for side, value in spreads.items())
            said = f", and the {' and '.join(busy)} run{'s were' if len(busy) > 1 else ' was'} taken on a busy machine" \
                if busy else ""
            notes.append(f"note: the runs' trials spread more than a quiet machine's{said}: each side's spread between "
                         f"runs, which one file per side cannot show, is taken as {RUN_SPREAD_PER_TRIAL_SPREAD} times its "
                         f"trials' median spread ({taken}, log scale; a quiet run {RUN_SPREAD}), so only larger "
                         "changes can be seen (the detects column); to gate, compare five runs per side, base and "
                         "head alternating (--base A1 .. A5 --new B1 .. B5)")
    if min(len(base_docs), len(new_docs)) >= MIN_PAIRS:
        paired = pair_runs(base_docs, new_docs)
        if paired is None:
            notes.append(f"note: fewer than {MIN_PAIRS} base runs were taken next to a new run (by their datetime), "
                         "so the runs are compared unpaired and a slow phase of the machine widens every interval; "
                         "run base and new alternating, as the CI workflow does, to compare them pair by pair")
        elif paired.left_out:
            notes.append(f"note: {paired.left_out} run(s) had no run of the other side next to them in time and are "
                         f"left out; the other {len(paired.base)} pairs are compared pair by pair")
    base_commits = {results.commit_of(d) for d in base_docs}
    new_commits = {results.commit_of(d) for d in new_docs}
    if base_commits == new_commits and None not in base_commits:
        notes.append("both sides are the same commit: any change flagged here is noise (verdicts are not altered)")
    return notes


def report_user_error(exc: UserError, err: TextIO) -> int:
    """Print a UserError the way the sessionbench command does and give its exit code, 2."""
    print(f"sessionbench: error: {exc.message}", file=err)
    if exc.hint:
        print(f"  try: {exc.hint}", file=err)
    return 2


def _same_yardstick(docs: list[dict]) -> None:
    """Paced times of two yardsticks are not comparable: every run must have timed the same one."""
    versions = {results.yardstick_version(doc) for doc in docs}
    if len(versions) > 1:
        shown = ", ".join(sorted("none" if v is None else str(v) for v in versions))
        raise UserError(f"the runs timed different yardsticks (versions {shown}); paced times cannot be compared",
                        "compare --metric wall, or re-run both sides with one sessionbench")


def main_compare(
    base_paths: str | Path | list,
    new_paths: str | Path | list,
    threshold: float | str,
    fmt: str,
    out: TextIO | None = None,
    err: TextIO | None = None,
    metric: str = "wall",
) -> int:
    """Print the comparison; 1 if anything regressed, 0 if not, 2 on unusable input. `out` and `err` are
    the streams of the moment the call is made (sys.stdout, sys.stderr) unless given: a stream bound at
    import would miss the redaction the command line puts around them."""
    out, err = out or sys.stdout, err or sys.stderr
    base_paths = [base_paths] if isinstance(base_paths, (str, Path)) else list(base_paths)
    new_paths = [new_paths] if isinstance(new_paths, (str, Path)) else list(new_paths)
    try:
        if fmt not in FORMATS:
            raise UserError(f"unknown format {fmt!r}", f"use one of: {', '.join(FORMATS)}")
        if metric not in results.METRICS:
            raise UserError(f"unknown metric {metric!r}", f"use one of: {', '.join(results.METRICS)}")
        try:
            threshold_value = parse_threshold(threshold)
        except ValueError as exc:
            raise UserError(str(exc), "e.g. --threshold 10%") from None
        if not base_paths or not new_paths:
            raise UserError("compare needs results files on both sides", "e.g. sessionbench compare BASE.json NEW.json")
        base_docs = [results.read(p) for p in base_paths]
        new_docs = [results.read(p) for p in new_paths]
        if metric == "paced":
            _same_yardstick(base_docs + new_docs)
        rows = compare_runs(base_docs, new_docs, threshold=threshold_value, metric=metric)
    except UserError as exc:
        return report_user_error(exc, err)
    only_base, only_new = unmatched(base_docs, new_docs)
    notes = setup_notes(base_docs, new_docs, metric)
    if only_base:
        notes.append(f"{len(only_base)} only in base, not compared: {', '.join(only_base)}")
    if only_new:
        notes.append(f"{len(only_new)} only in new, not compared: {', '.join(only_new)}")
    if metric != "wall":
        notes.insert(0, f"metric: {METRIC_WORDS[metric]} (times in the table are that metric)")
    out.write(render(rows, fmt, threshold=threshold_value, notes=tuple(notes)))
    return 1 if has_regression(rows) else 0
