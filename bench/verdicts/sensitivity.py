"""Break-evens: for each profile value a rule reads, the values at which the claim's answer (its verdict,
recommended variant or action) would change, the other values held fixed.

They are found by asking the judgement that decides (the same function, on the same results) along a
log grid of the value, STEPS_PER_DECADE points a decade over SEARCHED, and bisecting each change to
PRECISION; a change and its return between two grid points is not seen. A break-even outside the
range the runs measured (C5's rows rewritten) is marked as extrapolated.
"""

from __future__ import annotations

import math
from typing import Callable

import pandas as pd

from bench.plan.recommended import without as without_recommended
from bench.verdicts.migration import MIGRATION_WORKLOADS, c5_migration, measured_rows
from bench.verdicts.rules import Judgement
from bench.verdicts.sync_flag import c2_by_reads_per_write

STEPS_PER_DECADE = 4
PRECISION = 0.01  # a break-even is bisected until its bracket is this close, relative
# The values searched, per profile key: (lowest, highest, unit said after a value).
SEARCHED = {"reads_per_write": (0.001, 10_000.0, "reads per write"),
            "messages": (1_000.0, 100_000_000_000.0, "messages")}
# The claim each key's rule belongs to (bench.verdicts.profile.KEYS says which rule reads it).
CLAIM_OF = {"reads_per_write": "C2", "messages": "C5"}


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


def _judge(df: pd.DataFrame, key: str) -> Callable[[float], Judgement]:
    if key == "reads_per_write":
        return c2_by_reads_per_write(df)
    moves = df[df["workload"].isin(MIGRATION_WORKLOADS)]  # all C5 reads: the search asks it often
    return lambda messages: c5_migration(moves, production_messages=int(round(messages)))


def _number(value: float, unit: str) -> str:
    return f"{value:,.0f} {unit}" if value >= 100 else f"{value:.3g} {unit}"


def break_evens(df: pd.DataFrame, profile) -> dict[str, list[dict]]:
    """Per claim, for each profile key its rule reads: the value it judged at, the range searched, and
    each break-even with the answer past it and whether it lies outside what the runs measured."""
    out: dict[str, list[dict]] = {}
    df = without_recommended(df)  # as bench.verdicts.judge_all judges
    rows = measured_rows(df)
    for key, (low, high, unit) in SEARCHED.items():
        judge = _judge(df, key)
        found = changes(lambda value: _answer(judge(value)), low, high)
        now = profile.value(key)
        listed = []
        for at, (verdict, recommended, action) in found:
            outside = key == "messages" and rows is not None and not rows[0] <= at <= rows[1]
            listed.append({"at": at, "verdict": verdict, "recommended": recommended, "action": action,
                           "extrapolated": outside})
        said = _said(_answer(judge(low)), listed, low, high, unit)
        out.setdefault(CLAIM_OF[key], []).append({
            "parameter": key, "judged_at": now, "searched": [low, high], "changes": listed, "said": said,
            **({"measured": list(rows)} if key == "messages" and rows is not None else {})})
    return out


def _said(first: tuple, listed: list[dict], low: float, high: float, unit: str) -> str:
    """'refuted (reject) up to 1,009,035 messages; confirmed (adopt storage_key) from 1,102,449 (extrapolated)'."""
    def answer(verdict, recommended, action):
        named = recommended and action in ("adopt", "change")
        return f"{verdict} ({action}{' ' + recommended.split('=', 1)[-1] if named else ''})"
    if not listed:
        return f"{answer(*first)} over all of {_number(low, unit)} to {_number(high, unit)}: no break-even"
    said = [f"{answer(*first)} up to {_number(listed[0]['at'], unit)}"]
    said += [f"{answer(c['verdict'], c['recommended'], c['action'])} from {_number(c['at'], unit)}"
             f"{' (extrapolated)' if c['extrapolated'] else ''}" for c in listed]
    return "; ".join(said)
