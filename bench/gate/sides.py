"""The two sides compare is given, read: each run's latency benchmarks by identity, the values each
benchmark's interval is built from, runs of the two sides paired by time, how noisy each run was,
and the benchmarks only one side has. Every results file is read through bench.results.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bench import results
from bench.analysis import stats
from bench.errors import UserError
from bench.gate.rule import MIN_PAIRS, RUN_SPREAD, RUN_SPREAD_PER_TRIAL_SPREAD, Identity
from bench.results import key_of as benchmark_identity
from bench.results import label_of as identity_label


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


def samples(benches: list[dict], metric: str) -> tuple[list[float], str]:
    """The values the interval is built from: one per run when there are several runs, else trials."""
    per_run = [results.trial_values(b, metric) for b in benches]
    per_run = [values for values in per_run if values]
    if len(per_run) >= 2:
        return [stats.geomean(values) for values in per_run], "run"
    return (per_run[0] if per_run else []), "trial"


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


def unmatched(base_docs: list[dict], new_docs: list[dict]) -> tuple[list[str], list[str]]:
    """Labels of benchmarks only in base and only in new (not compared)."""
    base_ids = {benchmark_identity(b) for doc in base_docs for b in doc["benchmarks"] if not results.under_load(b)}
    new_ids = {benchmark_identity(b) for doc in new_docs for b in doc["benchmarks"] if not results.under_load(b)}
    show_data = results.data_varies(base_ids | new_ids)
    return (
        sorted(identity_label(i, with_data=show_data) for i in base_ids - new_ids),
        sorted(identity_label(i, with_data=show_data) for i in new_ids - base_ids),
    )


def trial_spread(doc: dict, metric: str = "wall") -> float | None:
    """How noisy the machine was during a run, as its trials show it: the median, over its cases with
    two trials or more, of the standard deviation of their log trial values. None without trials."""
    return stats.median_log_spread(results.trial_values(bench, metric) for bench in doc["benchmarks"]
                                   if not results.under_load(bench))


def run_spread(docs: list[dict], metric: str = "wall", *,
               per_trial_spread: float = RUN_SPREAD_PER_TRIAL_SPREAD, least: float = RUN_SPREAD) -> float:
    """The spread between runs that one side's trials cannot show: `per_trial_spread` times the
    noisiest of its runs' trial spreads, at least `least` (RUN_SPREAD)."""
    seen = [spread for doc in docs if (spread := trial_spread(doc, metric)) is not None]
    return max([least, *(per_trial_spread * spread for spread in seen)])


def noisy(doc: dict) -> bool:
    """Whether the run says it was taken on a busy machine (its load's `noisy` flag)."""
    load = results.run_info(doc).get("load")
    return isinstance(load, dict) and load.get("noisy") is True
