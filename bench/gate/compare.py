"""Compare runs benchmark by benchmark: ratio of geometric means, a family-wise interval, a verdict.

What the comparison can see depends on what it is given:
- one results file per side: the unit is the trial. Each file holds several trials per case,
  run interleaved with the other variants, so their spread covers the slow and fast phases of
  the machine during that run. It cannot show how two runs differ as a whole (another server
  start, another data load), so a spread between runs is added to the variance. How far runs
  move apart depends on how noisy the machine was, and a run's own trials show that: each side
  adds RUN_SPREAD_PER_TRIAL_SPREAD times its run's median trial spread, at least RUN_SPREAD
  (run_spread; calibrated on stored idle and busy series, docs/error-rates.md).
- two or more files per side: the unit is the run (each run's geometric mean of its trials),
  and the spread between runs is measured, not assumed. Five runs per side (as CI runs it) give
  each benchmark a variance with eight degrees of freedom, too few for an interval at a family-wise level,
  so each benchmark's variance is moderated by those of its workload's other benchmarks
  (empirical Bayes, as limma does for thousands of genes measured a few times each:
  stats.variance_prior), each workload's prior worth at most one benchmark per comparison group
  (a group's variants share the machine's shifts). Its error rates, idle and busy, at three and
  five runs per side: docs/error-rates.md.
- MIN_PAIRS or more runs per side taken base and new one after the other (by their `datetime`, as
  the CI workflow and asv's `continuous` run them: pair_runs): the unit is the pair of runs.
  Each benchmark's ratio is the geometric mean of its pairs' ratios, with the spread of those ratios
  (moderated as above). A slow phase of the machine lasting a pair or longer falls on both of its
  runs and cancels; a steady drift adds one run's worth to every pair's estimate, which the
  threshold must still be beyond. (Each head run against the base runs either side of it cancels
  that drift, but on eight stored series it exited 1 in 2 of 176 A/A windows against the pairs' 1
  and caught fewer busy slowdowns: `interpolate`, docs/error-rates.md.) Unpaired, one busy block
  whose machine slowed by a quarter widened the dashboard's intervals to a 61% detection limit
  (docs/error-rates.md).

Across many benchmarks some would be flagged by chance alone; a CI job fails on one. The interval
of each benchmark is therefore widened so the chance that noise flags *any* benchmark of the
comparison as slower stays at FAMILY_ALPHA (Bonferroni over the benchmarks compared: each bound at
FAMILY_ALPHA / m, so the two-sided intervals together cover at 1 - 2 FAMILY_ALPHA at least). A
benchmark is a regression when that interval lies wholly above 1 (the change is real) and the
estimate is beyond 1 + threshold (the change matters), as asv's `compare` decides. Each row also
states the smallest slowdown it would have flagged 95% of the time.

Exit codes of main_compare: 0 no regression, 1 at least one regression (slower beyond the
threshold with confidence, or more SQL statements than before), 2 unusable input (a UserError).
"""

from __future__ import annotations

import json
import math
import statistics
import sys
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import TextIO

from bench import results
from bench.analysis import stats
from bench.errors import UserError
from bench.results import key_of as benchmark_identity
from bench.results import label_of as identity_label

__all__ = ["benchmark_identity", "compare_runs", "identity_label", "main_compare", "parse_threshold", "render"]

FAMILY_ALPHA = 0.05
# Spread (standard deviation of log time) between separate runs of the same commit that trials
# within one run do not show. It grows with the machine's noise, which a run's trials show: over
# the stored series, idle and busy, it was 1.6 to 3.0 times the median spread of a run's trials
# (standard deviation of log trial values, per case). 1.8 times, at least 0.04, is the smallest
# factor tried that kept six series' A/A comparisons within 1 in 20 exits and 1 in 100
# benchmarks flagged (1.5, chosen on five, let 3 of 30 through on the sixth), and it held on a
# seventh taken after it was chosen (docs/error-rates.md, "A run's spread from its own trials").
RUN_SPREAD = 0.04
RUN_SPREAD_PER_TRIAL_SPREAD = 1.8
# Runs per side from which alternated runs are compared pair by pair (docs/error-rates.md): with
# fewer, each benchmark's own spread of pairs has too few degrees of freedom against its workload's.
MIN_PAIRS = 5
FORMATS = ("text", "markdown", "json")
METRIC_WORDS = {"wall": "wall time per round (median of each trial)",
                "cpu": "CPU time per round, client and server backend",
                "unloaded": "wall time per round less the time client and server waited for a CPU"}
UNIT_WORDS = {"trial": "trial", "run": "run", "pair": "pair of runs taken one after the other"}
# Regressions first (worst first), then improvements, then the rest.
_VERDICT_ORDER = {"regression": 0, "improvement": 1, "no change": 2}

Identity = tuple  # results.KEY: (workload, param, variant, image, rtt_ms, *data set columns)


@dataclass(frozen=True)
class Row:
    """One benchmark present on both sides. Times in seconds; ratio = new / base."""

    workload: str
    param: str | None
    variant: str | None
    image: str | None
    rtt_ms: float | None
    base_median_s: float
    new_median_s: float
    ratio: float
    ci_low: float
    ci_high: float
    verdict: str  # "regression" | "improvement" | "no change"
    base_statements: int | None
    new_statements: int | None
    statements_verdict: str  # "same" | "more" | "fewer" | "unknown"
    detectable: float | None = None  # smallest slowdown flagged 95% of the time (0.2 = 20%)
    unit: str = "trial"  # what the interval's samples are: "trial", "run" or "pair" (of runs)
    note: str = ""
    data: tuple = ()  # the data set: results.DATA_COLUMNS values
    show_data: bool = False  # label names the data set (the comparison spans several)

    @property
    def identity(self) -> Identity:
        return (self.workload, self.param, self.variant, self.image, self.rtt_ms, *self.data)

    @property
    def label(self) -> str:
        return identity_label(self.identity, with_data=self.show_data)


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


def index_benchmarks(doc: dict, side: str) -> dict[Identity, dict]:
    """A results file's latency benchmarks by identity; one found twice is a UserError naming `side`."""
    indexed: dict[Identity, dict] = {}
    for bench in doc["benchmarks"]:
        if results.under_load(bench):  # one window of many clients, no trials: not a latency benchmark
            continue
        identity = benchmark_identity(bench)
        if identity in indexed:
            raise UserError(
                f"{side} results hold {identity_label(identity)} twice",
                "each (workload, param, variant, image, rtt_ms, data set) must appear once per file",
            )
        indexed[identity] = bench
    return indexed


def _statements_verdict(base: int | None, new: int | None) -> str:
    if base is None or new is None:
        return "unknown"
    return "same" if new == base else ("more" if new > base else "fewer")


def geomean(values: list[float]) -> float:
    return math.exp(sum(math.log(v) for v in values) / len(values))


def _samples(benches: list[dict], metric: str) -> tuple[list[float], str]:
    """The values the interval is built from: one per run when there are several runs, else trials."""
    per_run = [results.trial_values(b, metric) for b in benches]
    per_run = [values for values in per_run if values]
    if len(per_run) >= 2:
        return [geomean(values) for values in per_run], "run"
    return (per_run[0] if per_run else []), "trial"


def _unit(side: tuple) -> str:
    return "pair" if side[1] == side[3] == "pair" else "run" if side[1] == side[3] == "run" else "trial"


def _spread(side: tuple) -> tuple[float, float] | None:
    """One benchmark's own spread between runs (variance of log values, degrees of freedom), if any."""
    base, _, new, _ = side
    if _unit(side) == "pair":
        return stats.paired_variance(base, new)
    if _unit(side) == "run" and len(base) + len(new) > 2:
        return stats.pooled_variance(base, new)
    return None


def _run_prior(sides: list[tuple]) -> stats.VariancePrior | None:
    """With several runs per side: what all benchmarks' spreads between runs say about each one's."""
    spreads = [spread for spread in map(_spread, sides) if spread]
    return stats.variance_prior([v for v, _ in spreads], [d for _, d in spreads])


@dataclass(frozen=True)
class Pairing:
    """Runs of the two sides paired by time: base[i] and new[i] were taken one after the other."""

    base: list[dict]
    new: list[dict]
    left_out: int  # runs with no run of the other side next to them in time


def pair_runs(base_docs: list[dict], new_docs: list[dict], *, min_pairs: int = MIN_PAIRS) -> Pairing | None:
    """Pair each run with its next neighbour in time when that neighbour is of the other side: base,
    head, base, head ... as the CI workflow runs them (base-head, head-base ... pairs too). A run
    whose neighbour is of its own side (its partner's run failed) is left out. None when fewer than
    `min_pairs` pairs form, or when the runs' `datetime`s are missing, cannot be ordered, or coincide."""
    if min(len(base_docs), len(new_docs)) < min_pairs:
        return None
    try:
        stamped = sorted([(datetime.fromisoformat(d["datetime"]), 0, k) for k, d in enumerate(base_docs)]
                         + [(datetime.fromisoformat(d["datetime"]), 1, k) for k, d in enumerate(new_docs)])
    except (KeyError, TypeError, ValueError):  # no time, or times that cannot be ordered
        return None
    if len({when for when, _, _ in stamped}) < len(stamped):  # the same run on both sides, or no order
        return None
    pairs, i = [], 0
    while i + 1 < len(stamped):
        (_, side, k), (_, other, j) = stamped[i], stamped[i + 1]
        if side != other:
            pairs.append((k, j) if side == 0 else (j, k))
            i += 2
        else:
            i += 1
    if len(pairs) < min_pairs:
        return None
    return Pairing([base_docs[k] for k, _ in pairs], [new_docs[j] for _, j in pairs], len(stamped) - 2 * len(pairs))


def _independent(prior: stats.VariancePrior | None, identities: list, sides: dict) -> stats.VariancePrior | None:
    """A prior worth at most what the workload's comparison groups can say independently.

    The variants of one group are measured in the same minutes of each run, so a slow phase of the
    machine moves them together: they agree on a spread between runs because they share it, not
    because each measured it. Counted as independent, they gave the prior so many degrees of
    freedom that 2 of 26 alternated idle A/A comparisons of one series (three runs per side)
    flagged a group's shared shift; capped at one benchmark's worth per group, 0 of 26
    (docs/error-rates.md).
    """
    if prior is None:
        return None
    groups = {(i[0], i[1], *i[3:]) for i in identities}  # the identity without its variant
    own_df = max((_spread(sides[i]) or (0, 0))[1] for i in identities)
    return prior.at_most(own_df * len(groups))


def _compare_one(identity: Identity, sides: tuple, threshold: float, alpha: float, prior, run_variance: float,
                 base: list[dict], new: list[dict], show_data: bool = False, interpolated: bool = False) -> Row:
    base_values, base_unit, new_values, new_unit = sides
    unit = _unit(sides)
    base_median, new_median = geomean(base_values), geomean(new_values)
    ratio = new_median / base_median
    note, detectable = "", None
    if len(base_values) >= 2 and len(new_values) >= 2:
        if unit == "pair":  # the spread between pairs of runs taken side by side: the machine's drift cancels
            log_ratio, se, df = stats.moderated_paired_log_ratio(base_values, new_values, prior)
            if interpolated:  # neighbouring differences share a base run
                se *= stats.interpolated_se_factor(len(base_values))
        elif unit == "run":  # the spread between runs, measured, each benchmark's moderated by its workload's
            log_ratio, se, df = stats.moderated_log_ratio(base_values, new_values, prior)
        else:  # the spread between trials, measured, plus the spread between runs they cannot show
            log_ratio, se, df = stats.log_ratio(base_values, new_values, extra_variance=run_variance)
        half = stats.t_quantile(1 - alpha, df) * se
        low, high = math.exp(log_ratio - half), math.exp(log_ratio + half)
        detectable = stats.detectable_change(se, df, threshold=threshold, alpha=alpha)
    else:
        low = high = ratio
        note = "one value per side: no interval"
    base_count = results.metric(base[0], "statements")
    new_count = results.metric(new[0], "statements")
    # Without an interval nothing shows the change is more than noise: no verdict either way.
    verdict = "no change" if note else stats.classify((ratio, low, high), threshold)
    return Row(
        *identity[:5], data=tuple(identity[5:]), show_data=show_data, base_median_s=base_median, new_median_s=new_median, ratio=ratio, ci_low=low, ci_high=high,
        verdict=verdict, base_statements=base_count,
        new_statements=new_count, statements_verdict=_statements_verdict(base_count, new_count),
        detectable=detectable, unit=unit, note=note,
    )


def compare_runs(base_docs, new_docs, *, threshold: float = 0.10, family_alpha: float = FAMILY_ALPHA,
                 metric: str = "wall", pair_up: bool = True, interpolate: bool = False, min_pairs: int = MIN_PAIRS,
                 run_spread_per_trial_spread: float = RUN_SPREAD_PER_TRIAL_SPREAD) -> list[Row]:
    """One Row per benchmark present on both sides, regressions first. Each side: a doc or a list of docs.
    For the error-rate notes only: `pair_up=False` compares runs unpaired even when they could be
    paired; `interpolate=True` compares each paired head run with the base runs either side of it
    (stats.interpolated_bases, for runs taken base first), which was measured and not adopted;
    `min_pairs` and `run_spread_per_trial_spread` try other values of the rules' MIN_PAIRS and
    RUN_SPREAD_PER_TRIAL_SPREAD."""
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
    sides = {i: (*_samples(base, metric), *_samples(new, metric)) for i, (base, new) in benches.items()}
    if paired:  # a benchmark with a value in every run of both sides is compared pair by pair
        sides = {i: (b, "pair", n, "pair") if _unit((b, bu, n, nu)) == "run" and len(b) == len(n) == len(base_docs)
                 else (b, bu, n, nu) for i, (b, bu, n, nu) in sides.items()}
    interpolated = bool(paired) and interpolate
    if interpolated:
        sides = {i: (stats.interpolated_bases(b), bu, n, nu) if bu == "pair" else (b, bu, n, nu)
                 for i, (b, bu, n, nu) in sides.items()}
    for i, (base_values, _, new_values, _) in sides.items():
        if not base_values or not new_values:
            raise UserError(f"{identity_label(i, with_data=show_data)} has no {metric} values on one side",
                            "compare --metric wall, or re-run with the embedded backend (CPU is read there)")
    # Sub-millisecond workloads spread more between runs than slow ones: each workload's benchmarks
    # inform each other (all benchmarks together for a workload with too few to say).
    # Spreads of pairs and of unpaired runs are different quantities: each unit has its own priors.
    priors = {}
    for unit in dict.fromkeys(map(_unit, sides.values())):
        alike = {i: side for i, side in sides.items() if _unit(side) == unit}
        everything = _run_prior(list(alike.values()))
        for workload in dict.fromkeys(i[0] for i in alike):
            own = [i for i in alike if i[0] == workload]
            priors[workload, unit] = _independent(_run_prior([alike[i] for i in own]) or everything, own, alike)
    # One run per side: the spread between runs it cannot show, each side's from its own trials (run_spread).
    run_variance = sum(run_spread(docs, metric, per_trial_spread=run_spread_per_trial_spread) ** 2
                       for docs in (base_docs, new_docs))
    rows = [_compare_one(i, sides[i], threshold, alpha, priors[i[0], _unit(sides[i])], run_variance, *benches[i],
                         show_data, interpolated) for i in common]
    return sort_rows(rows)


def sort_rows(rows: list[Row]) -> list[Row]:
    def key(row: Row) -> tuple:
        # Within regressions the worst first; within improvements the best first.
        severity = -row.ratio if row.verdict == "regression" else row.ratio
        return (_VERDICT_ORDER[row.verdict], severity, row.label)

    return sorted(rows, key=key)


def unmatched(base_docs: list[dict], new_docs: list[dict]) -> tuple[list[str], list[str]]:
    """Labels of benchmarks only in base and only in new (not compared)."""
    base_ids = {benchmark_identity(b) for doc in base_docs for b in doc["benchmarks"] if not results.under_load(b)}
    new_ids = {benchmark_identity(b) for doc in new_docs for b in doc["benchmarks"] if not results.under_load(b)}
    show_data = results.data_varies(base_ids | new_ids)
    return (
        sorted(identity_label(i, with_data=show_data) for i in base_ids - new_ids),
        sorted(identity_label(i, with_data=show_data) for i in new_ids - base_ids),
    )


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
        busy = [side for side, docs in (("base", base_docs), ("new", new_docs)) if _noisy(docs[0])]
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


def trial_spread(doc: dict, metric: str = "wall") -> float | None:
    """How noisy the machine was during a run, as its trials show it: the median, over its cases with
    two trials or more, of the standard deviation of their log trial values. None without trials."""
    spreads = []
    for bench in doc["benchmarks"]:
        if results.under_load(bench):
            continue
        values = [v for v in results.trial_values(bench, metric) if v > 0]
        if len(values) >= 2:
            spreads.append(statistics.stdev(math.log(v) for v in values))
    return statistics.median(spreads) if spreads else None


def run_spread(docs: list[dict], metric: str = "wall", *,
               per_trial_spread: float = RUN_SPREAD_PER_TRIAL_SPREAD) -> float:
    """The spread between runs that one side's trials cannot show: `per_trial_spread` times the
    noisiest of its runs' trial spreads, at least RUN_SPREAD."""
    seen = [spread for doc in docs if (spread := trial_spread(doc, metric)) is not None]
    return max([RUN_SPREAD, *(per_trial_spread * spread for spread in seen)])


def _noisy(doc: dict) -> bool:
    load = results.run_info(doc).get("load")
    return isinstance(load, dict) and load.get("noisy") is True


def has_regression(rows: list[Row]) -> bool:
    """A slower verdict, or more statements than before (counts are exact, so any increase is real)."""
    return any(row.verdict == "regression" or row.statements_verdict == "more" for row in rows)


def summary_line(rows: list[Row], threshold: float, family_alpha: float = FAMILY_ALPHA) -> str:
    counts = {verdict: sum(row.verdict == verdict for row in rows) for verdict in _VERDICT_ORDER}

    def plural(count: int, word: str) -> str:
        return f"{count} {word}{'' if count == 1 else 's'}"

    units = {row.unit for row in rows}
    line = (
        f"{plural(counts['regression'], 'regression')}, {plural(counts['improvement'], 'improvement')}, "
        f"{counts['no change']} unchanged (threshold {threshold * 100:g}%; noise flags any of the "
        f"{len(rows)} benchmarks as slower at most {family_alpha * 100:g}% of the time; "
        f"unit: {'/'.join(UNIT_WORDS[u] for u in sorted(units))})"
    )
    more = sum(row.statements_verdict == "more" for row in rows)
    if more:
        line += f"; {plural(more, 'benchmark')} issuing more SQL statements"
    return line


def _pct(ratio: float) -> str:
    return f"{(ratio - 1) * 100:+.1f}%"


def _statements_cell(row: Row) -> str:
    if row.statements_verdict == "unknown":
        return "?"
    if row.statements_verdict == "same":
        return str(row.new_statements)
    return f"{row.base_statements} → {row.new_statements} ({row.statements_verdict})"


def _cells(row: Row) -> list[str]:
    ci = "no interval" if row.note else f"[{_pct(row.ci_low)}, {_pct(row.ci_high)}]"
    detectable = "-" if row.detectable is None else f"{row.detectable * 100:.0f}%"
    return [
        row.label,
        f"{row.base_median_s * 1000:.3f}",
        f"{row.new_median_s * 1000:.3f}",
        _pct(row.ratio),
        ci,
        detectable,
        row.verdict,
        _statements_cell(row),
    ]


_HEADER = ["benchmark", "base ms", "new ms", "change", "interval", "detects", "verdict", "statements"]
_NUMERIC = range(1, 4)


def render(rows: list[Row], fmt: str = "text", *, threshold: float = 0.10, notes: tuple[str, ...] = ()) -> str:
    """The comparison as "text" (terminal), "markdown" (PR comment / job summary) or "json"."""
    rows = sort_rows(rows)
    summary = summary_line(rows, threshold)
    if fmt == "json":
        payload = {"summary": summary, "threshold": threshold, "family_alpha": FAMILY_ALPHA,
                   "run_spread_least": RUN_SPREAD, "run_spread_per_trial_spread": RUN_SPREAD_PER_TRIAL_SPREAD, "notes": list(notes), "rows": [asdict(row) for row in rows]}
        return json.dumps(payload, indent=2)
    table = [_cells(row) for row in rows]
    legend = (f"interval: new/base, each bound at {FAMILY_ALPHA * 100:g}% / {len(rows)} benchmarks (Bonferroni); "
              "detects: the smallest slowdown this benchmark flags 95% of the time")
    if fmt == "markdown":
        lines = [f"**{summary}**", ""]
        lines.extend(f"> {note}" for note in notes)
        lines.append("| " + " | ".join(_HEADER) + " |")
        lines.append("|" + "|".join(["---"] + ["---:"] * 5 + ["---"] * 2) + "|")
        for row, cells in zip(rows, table):
            if row.verdict != "no change":
                cells[6] = f"**{cells[6]}**"
            if row.statements_verdict == "more":
                cells[7] = f"**{cells[7]}**"
            lines.append("| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |")
        lines.append(f"\n_{legend}_")
        return "\n".join(lines) + "\n"
    if fmt == "text":
        widths = [max(len(r[c]) for r in [_HEADER, *table]) for c in range(len(_HEADER))]
        lines = [summary, *notes, ""]
        for cells in [_HEADER, *table]:
            aligned = [cell.rjust(width) if column in _NUMERIC else cell.ljust(width)
                       for column, (cell, width) in enumerate(zip(cells, widths))]
            lines.append("  ".join(aligned).rstrip())
        lines.append(legend)
        return "\n".join(lines) + "\n"
    raise ValueError(f"unknown format {fmt!r}; use text, markdown or json")


def report_user_error(exc: UserError, err: TextIO) -> int:
    """Print a UserError the way the sessionbench command does and give its exit code, 2."""
    print(f"sessionbench: error: {exc.message}", file=err)
    if exc.hint:
        print(f"  try: {exc.hint}", file=err)
    return 2


def main_compare(
    base_paths: str | Path | list,
    new_paths: str | Path | list,
    threshold: float | str,
    fmt: str,
    out: TextIO = sys.stdout,
    err: TextIO = sys.stderr,
    metric: str = "wall",
) -> int:
    """Print the comparison; 1 if anything regressed, 0 if not, 2 on unusable input."""
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
