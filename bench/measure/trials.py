"""Measure the cases of one comparison group side by side: randomized, interleaved trials.

A group is every variant of one workload x parameter (on one server, at one RTT). After each
case is prepared (bench.measure), the group runs `trials` trials; each trial runs a block of
rounds of every case, in a new random order. A burst of load or a slow phase of the machine
therefore falls on every variant alike, and the ratio of a variant to the baseline is taken
within each trial (the same minutes), its interval from the spread between trials
(Abedi & Brecht's randomized multiple interleaved trials).

Per block the CPU time of the client thread and of the server backend, the time both waited for
a CPU (bench.measure.cpu), and the server's execution time for the block's statements (pg_stat_statements)
are recorded beside wall time: other processes barely move CPU time, and wall time less the CPU
waits approximates what the round would take on a quiet machine. Per trial the run's own tables are watched for autovacuum and the
server for checkpoints; a trial in which either ran is discarded (and counted), unless that
would leave none.
"""

from __future__ import annotations

import gc
import math
import random
import statistics
import time
from dataclasses import dataclass, field

from sqlalchemy import text

from bench.measure import counting, cpu, placement, yardstick
from bench import measure
from bench.analysis import stats
from bench.plan.cases import Case
from models_variants import labels

# Checkpoint counters moved to pg_stat_checkpointer in PostgreSQL 17.
_CHECKPOINTS = {True: "select num_timed + num_requested from pg_stat_checkpointer",
                False: "select checkpoints_timed + checkpoints_req from pg_stat_bgwriter"}
_TABLE_MAINTENANCE = text("""
    select coalesce(sum(autovacuum_count + autoanalyze_count), 0)::bigint, coalesce(sum(n_dead_tup), 0)::bigint
    from pg_stat_user_tables where schemaname = any(:schemas)
""")


@dataclass
class CaseResult:
    """One case's measurement: every kept round, and per trial its median and companions."""

    case: Case
    counts: dict = field(default_factory=dict)
    warmup: dict = field(default_factory=dict)
    facts: dict = field(default_factory=dict)
    rounds_per_trial: int = 0
    durations: list = field(default_factory=list)        # seconds, kept trials only, in run order
    trial_medians: list = field(default_factory=list)    # seconds, one per kept trial
    usage: list = field(default_factory=list)            # bench.measure.cpu.Usage per round, per kept trial
    server_per_round: list = field(default_factory=list)  # server execution seconds, per kept trial
    trial_means: list = field(default_factory=list)      # mean wall seconds per round, per kept trial
    yardsticks: list = field(default_factory=list)       # the yardstick's seconds before each kept trial's block
    paces: list = field(default_factory=list)            # per kept trial, the median yardstick of the group's blocks
    positions: list = field(default_factory=list)        # where the case ran in each trial's order
    budget_limited: bool = False                         # fewer rounds or trials than asked: --case-budget
    ratio: tuple | None = None                           # (ratio, low, high) to the group's baseline
    error: BaseException | None = None

    def unloaded(self) -> list[float]:
        """Per trial, the mean wall time of a round less the time client and server waited for a CPU."""
        return [max(mean - u.wait_s, 0.0) for mean, u in zip(self.trial_means, self.usage)]

    def columns(self) -> dict:
        """The measurement's results columns (bench.results names them)."""
        def median_or_none(values):
            values = [v for v in values if v is not None]
            return statistics.median(values) if values else None
        ratio, low, high = self.ratio or (None, None, None)
        cpu = [u.cpu_s for u in self.usage]
        return {
            "trials": len(self.trial_medians), "rounds_per_trial": self.rounds_per_trial,
            "trial_medians_s": self.trial_medians,
            "trial_cpu_s": cpu if None not in cpu else None,
            "trial_unloaded_s": self.unloaded() if None not in cpu else None,
            "trial_yardstick_s": self.yardsticks if self.yardsticks and None not in self.yardsticks else None,
            "trial_paced_s": yardstick.paced(self.trial_medians, self.paces),
            "cpu_s": median_or_none(cpu),
            "client_cpu_s": median_or_none([u.client_cpu_s for u in self.usage]),
            "server_cpu_s": median_or_none([u.server_cpu_s for u in self.usage]),
            "cpu_wait_s": median_or_none([u.wait_s for u in self.usage]),
            "server_exec_s": median_or_none(self.server_per_round),
            "ratio": ratio, "ratio_low": low, "ratio_high": high,
            "warmup_rounds": self.warmup.get("warmup_rounds"), "steady_state": self.warmup.get("steady_state"),
            "rounds_planned": self.rounds_per_trial * len(self.trial_medians),
            "budget_limited": self.budget_limited,
        }


@dataclass
class Watch:
    """What happened on the server while a trial ran that could have disturbed it."""

    checkpoints: int | None
    maintenance: int
    dead_tuples: int


def _watch(conn, schemas: list[str], version_num: int) -> Watch:
    try:
        checkpoints = conn.execute(text(_CHECKPOINTS[version_num >= 170000])).scalar_one()
    except Exception:  # noqa: BLE001 - a role without pg_read_all_stats may not read it: unknown, not fatal
        conn.rollback()
        checkpoints = None
    maintenance, dead = conn.execute(_TABLE_MAINTENANCE, {"schemas": schemas}).one()
    conn.commit()
    return Watch(checkpoints, int(maintenance), int(dead))


def rounds_per_trial(typical_s: float, *, max_time: float, min_rounds: int, trials: int) -> int:
    """Rounds each trial gives a case: its time budget over the trials, at least min_rounds overall."""
    total = max(min_rounds, math.ceil(max_time / typical_s)) if typical_s > 0 else min_rounds
    return max(1, math.ceil(total / trials))


def within_budget(typical_s: float, rounds: int, trials: int, case_budget: float | None) -> tuple[int, int]:
    """(rounds per trial, trials) cut so the case's timed rounds fit `case_budget` seconds.

    Rounds go first, then trials (a case keeps two trials, for an interval, while two rounds fit;
    a case whose single round exceeds the budget runs one). Nothing is ever dropped to zero.
    """
    if not case_budget or typical_s <= 0 or typical_s * rounds * trials <= case_budget:
        return rounds, trials
    fits = max(1, math.floor(case_budget / typical_s))
    if fits >= trials:
        return max(1, fits // trials), trials
    return 1, max(1, fits)


def balanced_orders(cases: list, trials: int, rng: random.Random) -> list[list]:
    """One running order per trial: every case at every position equally often (within each run of
    len(cases) trials), the trials in random order.

    A plain shuffle per trial can leave a case first in most trials; with a seeded order that bias
    repeats in every run, so a position effect (a cold cache after the previous case, a prepared
    statement not yet reused) would move one variant's ratio for good. Rows of a random Latin
    square (rotations of a random order) balance positions; their order is shuffled.
    """
    orders: list[list] = []
    while len(orders) < trials:
        base = list(cases)
        rng.shuffle(base)
        square = [base[shift:] + base[:shift] for shift in range(len(base))]
        rng.shuffle(square)
        orders += square
    return orders[:trials]


def measure_group(state, cases: list[Case], url, *, max_time: float, min_rounds: int, trials: int,
                  seed: int, case_budget: float | None = None) -> dict[Case, CaseResult]:
    """Prepare every case of a group, run the interleaved trials, then each case's facts and teardown."""
    results = {case: CaseResult(case) for case in cases}
    prepared: dict[Case, measure.Prepared] = {}
    with placement.group():  # the client on the run's CPU (bench.measure.placement) until the group is done
        try:
            for case in cases:
                try:
                    prepared[case] = measure.prepare(state, case, url, case_budget=case_budget)
                except Exception as exc:  # noqa: BLE001 - one variant failing must not hide the others
                    results[case].error = exc
            if prepared:
                _run_trials(state, prepared, results, max_time=max_time, min_rounds=min_rounds, trials=trials,
                            seed=seed, case_budget=case_budget)
            for case, ready in prepared.items():
                try:
                    results[case].facts = measure.case_facts(ready, state.server.version_num)
                except Exception as exc:  # noqa: BLE001
                    results[case].error = exc
        finally:
            for ready in prepared.values():
                ready.close()
    _ratios_to_baseline(results)
    return results


def _run_trials(state, prepared, results, *, max_time, min_rounds, trials, seed, case_budget=None) -> None:
    order = [case for case, ready in prepared.items() if not ready.warmup.get("over_budget_s")]
    rng = random.Random(f"{seed}/{next(iter(prepared)).workload.name}/{next(iter(prepared)).param}")
    for case, ready in prepared.items():
        if ready.warmup.get("over_budget_s"):  # its counting round is its one measurement
            result = results[case]
            result.counts, result.warmup, result.budget_limited = ready.counts, ready.warmup, True
            once = ready.warmup["over_budget_s"]
            result.durations, result.trial_medians, result.trial_means = [once], [once], [once]
            result.usage, result.server_per_round = [cpu.Usage(None, None, None, None)], [None]
            result.yardsticks, result.paces = [None], [None]
            result.rounds_per_trial = 1
    prepared = {case: prepared[case] for case in order}
    if not prepared:
        return
    schemas = sorted({ready.ctx.schema for ready in prepared.values()})
    server_times = counting.server_counts_usable(state.server)
    wanted = trials
    for case, ready in prepared.items():
        results[case].counts, results[case].warmup = ready.counts, ready.warmup
        typical = ready.warmup["typical_s"]
        rounds, fit = within_budget(typical, rounds_per_trial(typical, max_time=max_time, min_rounds=min_rounds,
                                                              trials=wanted), wanted, case_budget)
        results[case].rounds_per_trial = rounds
        trials = min(trials, fit)  # every case of the group runs in every trial
    for case, result in results.items():
        if case in prepared:
            result.budget_limited = trials < wanted or result.rounds_per_trial * trials < min_rounds
    blocks: dict[Case, list] = {case: [] for case in prepared}
    discarded = 0
    # Garbage one case leaves (a lazy dashboard of 1,000 sessions: tens of thousands of objects)
    # would otherwise be collected in whichever case runs next: a cost that follows the order,
    # not the case. What exists now is frozen out of collection; each block starts collected.
    gc.collect()
    gc.freeze()
    try:
        with state.setup_engine.connect() as watch_conn:
            for order in balanced_orders(order, trials, rng):
                for position, case in enumerate(order):
                    results[case].positions.append(position)
                before = _watch(watch_conn, schemas, state.server.version_num)
                trial_blocks = {case: _block(prepared[case], results[case].rounds_per_trial, watch_conn,
                                             server_times) for case in order}
                after = _watch(watch_conn, schemas, state.server.version_num)
                disturbed = after.maintenance != before.maintenance or (
                    after.checkpoints is not None and after.checkpoints != before.checkpoints)
                state.note_trial(dead_tuples=after.dead_tuples, disturbed=disturbed)
                if disturbed:
                    discarded += 1
                    continue
                for case, block in trial_blocks.items():
                    blocks[case].append(block)
    finally:
        gc.unfreeze()  # the set-up's objects go back to the collector, also on error
    if not any(blocks.values()):  # every trial disturbed: keep what there is rather than nothing, and say so
        blocks = {case: [_block(ready, results[case].rounds_per_trial, None, False)] for case, ready in prepared.items()}
    # The pace of each kept trial: the median of its blocks' yardsticks (one block's is a few ms, and noisier)
    trials_kept = len(next(iter(blocks.values())))
    paces = [statistics.median(kept[trial][3] for kept in blocks.values()) for trial in range(trials_kept)]
    for case, kept in blocks.items():
        result = results[case]
        result.paces = list(paces)
        for durations, use, server, yard in kept:
            result.durations.extend(durations)
            result.trial_medians.append(statistics.median(durations))
            result.trial_means.append(statistics.fmean(durations))
            result.usage.append(use)
            result.server_per_round.append(server)
            result.yardsticks.append(yard)
        result.counts = {**result.counts, "trials_discarded": discarded}


def _block(ready: measure.Prepared, rounds: int, watch_conn, server_times: bool) -> tuple[list, cpu.Usage, float | None, float]:
    """`rounds` timed rounds of one case: wall seconds each; CPU, CPU waits and server time per round;
    the machine's pace just before them (bench.measure.yardstick)."""
    gc.collect()  # untimed: the block's rounds pay only for their own garbage
    yard = yardstick.time_once()
    before = counting.server_totals(watch_conn) if server_times and watch_conn else None
    one_round = ready.one_round
    durations = []
    first = cpu.sample(ready.backend_pid)
    for _ in range(rounds):
        started = time.perf_counter()
        one_round()
        durations.append(time.perf_counter() - started)
    use = cpu.usage(first, cpu.sample(ready.backend_pid), rounds)
    server = None
    if before is not None:
        spent = counting.server_totals(watch_conn).since(before)
        server = spent.exec_s / rounds if spent is not None else None
    return durations, use, server, yard


def _ratios_to_baseline(results: dict[Case, CaseResult]) -> None:
    """Each variant over the baseline of its group, trial by trial, with the between-trial interval."""
    base = next((r for case, r in results.items() if case.variant.label == labels.BASELINE and r.trial_medians), None)
    if base is None:
        return
    for result in results.values():
        if result.trial_medians and len(result.trial_medians) == len(base.trial_medians):
            ratio, low, high = stats.paired_ratio(base.trial_medians, result.trial_medians)
            # one trial (a case over its budget) gives a ratio but no interval: no verdict may rest on it
            result.ratio = (ratio, low, high) if len(base.trial_medians) >= 2 else (ratio, None, None)
