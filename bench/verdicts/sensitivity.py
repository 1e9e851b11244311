"""Break-evens: for each profile value a rule reads, the values at which the claim's answer (its verdict,
recommended variant or action) would change, the other values held fixed.

They are found by asking the judgement that decides (the same function, on the same results) along a
log grid of the value, STEPS_PER_DECADE points a decade over SEARCHED, and bisecting each change to
PRECISION; a change and its return between two grid points is not seen. A break-even outside the
range the runs measured (C5's rows rewritten) is marked as extrapolated. A value a rule reads at the
measured point at or above it (C4's deleted fraction, C6's clock skew) can change the answer only just
above a measured point: each measured point is judged once instead. foreign_keys, true or false, gets the
answer with the other value.
"""

from __future__ import annotations

import math
from typing import Callable

import pandas as pd

from bench.plan.recommended import without as without_recommended
from bench.verdicts import storage, timestamps
from bench.verdicts.migration import MIGRATION_WORKLOADS, c5_migration, measured_rows
from bench.verdicts.profile import said as said_as
from bench.verdicts.rules import Judgement
from bench.verdicts.storage import c3_orphans, c4_soft_delete
from bench.verdicts.sync_flag import c2_by_reads_per_write
from bench.verdicts.timestamps import c6_timestamps

STEPS_PER_DECADE = 4
PRECISION = 0.01  # a break-even is bisected until its bracket is this close, relative
# Values a rule reads on a continuous scale, searched along a log grid: (lowest, highest, unit said after a value).
SEARCHED = {"reads_per_write": (0.001, 10_000.0, "reads per write"),
            "messages": (1_000.0, 100_000_000_000.0, "messages"),
            "maintenance_window_s": (0.01, 1_000_000.0, "s")}
# Values a rule reads at the measured point at or above them (C4's deleted fraction, C6's clock skew): the
# answer can change only just above a measured point, so each measured point is judged once. Unit said.
STEPPED = {"soft_deleted_fraction": "deleted", "clock_skew_ms": "ms"}
# The claim each key's rule belongs to (bench.verdicts.profile.KEYS says which rule reads it).
CLAIM_OF = {"reads_per_write": "C2", "messages": "C5", "maintenance_window_s": "C5", "foreign_keys": "C3",
            "soft_deleted_fraction": "C4", "clock_skew_ms": "C6"}


def _answer(judgement: Judgement) -> tuple[str, str, str]:
    return judgement.verdict, judgement.recommended, judgement.action


def changes(answer: Callable[[float], tuple], low: float, high: float) -> list[tuple[float, tuple]]:
    """Every value in [low, high] where `answer` differs from its value just below, in increasing order:
    [(break-even, the answer from there on)]."""
    steps = max(1, round(math.log10(high / low) * STEPS_PER_DECADE))
    grid = [low * (high / low) ** (k / steps) for k in range(steps + 1)]
    found, before, was = [], grid[0], answer(grid[0])
    for at in grid[1:]:
        now = answer(at)
        while now != was:  # one or more changes between `before` and `at`: bisect to the first, go on from it
            below, above = before, at
            while above / below > 1 + PRECISION:
                middle = math.sqrt(below * above)
                below, above = (middle, above) if answer(middle) == was else (below, middle)
            before, was = above, answer(above)
            found.append((above, was))
        before = at
    return found


def steps(answer: Callable[[float], tuple], measured: list[float]) -> list[tuple[float, tuple]]:
    """For a rule that judges a value at the smallest measured point at or above it: [(m, the answer for
    every value above m)] for each measured point m after which the answer changes."""
    points = sorted(set(measured))
    answers = [answer(m) for m in points]
    return [(low, now) for low, was, now in zip(points, answers, answers[1:]) if now != was]


def _judges(df: pd.DataFrame, profile, delete_paths) -> dict[str, Callable[[float], Judgement]]:
    """Per key, the judgement as a function of its value, every other profile value held at the profile's."""
    stated = profile.options()
    moves = df[df["workload"].isin(MIGRATION_WORKLOADS)]  # all C5 reads: the search asks it often
    window, messages = stated.get("maintenance_window_s"), stated.get("production_messages")
    return {
        "reads_per_write": c2_by_reads_per_write(df),
        "messages": lambda value: c5_migration(moves, production_messages=int(round(value)),
                                               maintenance_window_s=window),
        "maintenance_window_s": lambda value: c5_migration(moves, production_messages=messages,
                                                           maintenance_window_s=value),
        "soft_deleted_fraction": lambda value: c4_soft_delete(df, soft_deleted_fraction=value),
        "clock_skew_ms": lambda value: c6_timestamps(df, clock_skew_ms=value),
        "foreign_keys": lambda value: c3_orphans(df, delete_paths, foreign_keys=value),
    }


def _number(value: float, unit: str) -> str:
    if unit == "deleted":
        return f"{value:.0%} deleted"
    return f"{value:,.0f} {unit}" if value >= 100 else f"{value:.3g} {unit}"


def break_evens(df: pd.DataFrame, profile, delete_paths: pd.DataFrame | None = None) -> dict[str, list[dict]]:
    """Per claim, for each profile key its rule reads: the value it judged at, the range searched (or the
    points measured), and each break-even with the answer past it and whether it lies outside what the
    runs measured. For foreign_keys, the answer with the other value."""
    out: dict[str, list[dict]] = {}
    df = without_recommended(df)  # as bench.verdicts.judge_all judges
    rows = measured_rows(df)
    judges = _judges(df, profile, delete_paths)
    for key, (low, high, unit) in SEARCHED.items():
        judge = judges[key]
        found = changes(lambda value: _answer(judge(value)), low, high)
        listed = []
        for at, (verdict, recommended, action) in found:
            outside = key == "messages" and rows is not None and not rows[0] <= at <= rows[1]
            listed.append({"at": at, "verdict": verdict, "recommended": recommended, "action": action,
                           "extrapolated": outside})
        said = _said(_answer(judge(low)), listed, _number(low, unit), _number(high, unit), unit)
        out.setdefault(CLAIM_OF[key], []).append({
            "parameter": key, "judged_at": profile.value(key), "searched": [low, high], "changes": listed,
            "said": said, **({"measured": list(rows)} if key == "messages" and rows is not None else {})})
    measured = {"soft_deleted_fraction": storage.deleted_fractions(df), "clock_skew_ms": timestamps.measured_skews(df)}
    for key, unit in STEPPED.items():
        points = measured[key]
        if not points:
            continue
        judge = judges[key]
        listed = [{"at": at, "above": True, "verdict": v, "recommended": r, "action": a, "extrapolated": False}
                  for at, (v, r, a) in steps(lambda value: _answer(judge(value)), points)]
        said = _said(_answer(judge(min(points))), listed, _number(min(points), unit), _number(max(points), unit),
                     unit, above=True)
        out.setdefault(CLAIM_OF[key], []).append({
            "parameter": key, "judged_at": profile.value(key), "measured": sorted(set(points)), "changes": listed,
            "said": said})
    if delete_paths is not None and not delete_paths.empty:
        now = profile.value("foreign_keys")
        here, there = _answer(judges["foreign_keys"](now)), _answer(judges["foreign_keys"](not now))
        listed = [] if here == there else [{"at": not now, "verdict": there[0], "recommended": there[1],
                                            "action": there[2], "extrapolated": False}]
        said = f"{_words(*here)} with foreign_keys = {said_as('foreign_keys', now)}; " + (
            f"{_words(*there)} with foreign_keys = {said_as('foreign_keys', not now)}" if listed else
            f"the same with foreign_keys = {said_as('foreign_keys', not now)}")
        out.setdefault("C3", []).append({"parameter": "foreign_keys", "judged_at": now, "changes": listed,
                                         "said": said})
    return {claim: out[claim] for claim in sorted(out)}


def _words(verdict, recommended, action) -> str:
    named = recommended and action in ("adopt", "change")
    return f"{verdict} ({action}{' ' + recommended.split('=', 1)[-1] if named else ''})"


def _said(first: tuple, listed: list[dict], low: str, high: str, unit: str, above: bool = False) -> str:
    """'refuted (reject) up to 1,009,035 messages; confirmed (adopt storage_key) from 1,102,449 (extrapolated)';
    for a stepped value, 'confirmed (change aware) up to 0 ms; refuted (reject) above 0 ms'."""
    if not listed:
        return (f"{_words(*first)} at every measured value, {low} to {high}" if above else
                f"{_words(*first)} over all of {low} to {high}") + ": no break-even"
    said = [f"{_words(*first)} up to {_number(listed[0]['at'], unit)}"]
    said += [f"{_words(c['verdict'], c['recommended'], c['action'])} {'above' if above else 'from'} "
             f"{_number(c['at'], unit)}{' (extrapolated)' if c['extrapolated'] else ''}" for c in listed]
    return "; ".join(said)
