"""The verdicts' shared vocabulary: verdict and action words, a Judgement, and how a ratio's interval
decides against a threshold (bench.verdicts states the rules of each claim)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import pandas as pd

from bench.analysis.tables import (
    Ratio, lead, ratio_of, ratios,
)
from models_variants import labels

CONFIRMED, REFUTED, PARTLY, INCONCLUSIVE, NOT_MEASURED = (
    "confirmed", "refuted", "partly", "inconclusive", "not measured")
# What to do with the review's recommendation for a claim.
ADOPT, REJECT, CHANGE, UNDECIDED = "adopt", "reject", "change", "undecided"
COLUMNS = ["claim", "statement", "verdict", "deciding", "evidence", "recommended", "rule", "action", "reason"]
SHOWN = ["claim", "statement", "verdict", "deciding", "evidence", "recommended", "rule"]
# C1, C2: a fix "fixes" a latency when its ratio to the model as reviewed stays below this over
# its whole 95% interval (at least 10% faster, beyond doubt at that confidence).
FIX_RATIO = 0.9
# C1, C2: the smallest latency difference between two candidates that matters, stated before any run
# (compare's default threshold). One candidate is better than another only when their ratio's whole 95%
# interval lies beyond it; equivalent when the interval lies within it; unresolved otherwise. With a
# margin, more data can settle an unresolved pair but cannot reverse a settled one.
MARGIN = 0.10
BETTER, WORSE, EQUIVALENT, UNRESOLVED = "better", "worse", "equivalent", "unresolved"


def short(variant: str) -> str:
    return variant.split("=", 1)[-1] if variant != labels.BASELINE else labels.BASELINE


def row_of(table: pd.DataFrame, variant: str) -> pd.Series | None:
    rows = table[table["variant"] == variant]
    return None if rows.empty else rows.iloc[0]


def decide(ratio: Ratio | None, threshold: float, below: str, above: str) -> str:
    """`below` when the whole interval is under `threshold`, `above` when over it, else INCONCLUSIVE."""
    side = ratio.side(threshold) if ratio is not None else "unknown"
    return below if side == "below" else above if side == "above" else INCONCLUSIVE


BASE = Ratio(1.0, 1.0, 1.0)


def versus(a: Ratio, b: Ratio, lead: Ratio | None = None) -> tuple[str, Ratio]:
    """Candidate a against b on latency (both ratios to the same baseline): BETTER when a ÷ b lies below
    1 / (1 + MARGIN) over its whole interval, WORSE when above 1 + MARGIN, EQUIVALENT when the whole
    interval lies between the two, UNRESOLVED otherwise (or without an interval); and a ÷ b. `lead` is
    a ÷ b measured side by side (bench.analysis.tables.lead) when known; otherwise the widest ratio
    their two intervals allow (Ratio.over)."""
    lead = lead if lead is not None else a.over(b)
    if lead.low is None or lead.high is None:
        return UNRESOLVED, lead
    faster, slower = 1 / (1 + MARGIN), 1 + MARGIN
    if lead.high < faster:
        return BETTER, lead
    if lead.low > slower:
        return WORSE, lead
    if lead.low >= faster and lead.high <= slower:
        return EQUIVALENT, lead
    return UNRESOLVED, lead


@dataclass(frozen=True)
class Choice:
    """What the decision rule picked among candidates, and how."""

    chosen: str = ""
    tied: tuple[str, ...] = ()  # candidates latency could not put behind the chosen one (equivalent or unresolved)
    won: bool = False  # the chosen one is better than every other candidate, beyond the margin
    broke_tie: str = ""  # what decided among the tied candidates (the tie-break's first differing fact)

    def text(self) -> str:
        """'; recommended: raise, better than every other candidate by more than 10%' or
        '; recommended: raise, a tie on latency with selectin, skills_sel (...), decided by fewer wire bytes'."""
        if not self.chosen:
            return ""
        if self.won:
            return f"; recommended: {short(self.chosen)}, better than every other candidate by more than " \
                   f"{MARGIN:.0%} over its whole interval"
        if not self.tied:
            return f"; recommended: {short(self.chosen)}, the only candidate no other is better than"
        return f"; recommended: {short(self.chosen)}, a tie on latency with {', '.join(short(v) for v in self.tied)} " \
               f"(equivalent within {MARGIN:.0%} or not told apart), decided by {self.broke_tie}"


@dataclass
class Judgement:
    verdict: str
    deciding: str = ""     # the number that decides, with its interval and threshold
    evidence: str = ""
    recommended: str = ""
    action: str = UNDECIDED  # for the review's recommendation on this claim
    reason: str = ""       # one line: the number that decides the action
    choice: Choice | None = None  # how the decision rule picked the recommended variant (C1, C2), with its ties
    # A claim with two halves answers each: (half, "holds" or "fails", the number that decides it) (C6).
    halves: tuple[tuple[str, str, str], ...] = ()


Leads = Callable[[str, str], "Ratio | None"]


def choose(found: dict[str, Ratio], tie_break: Callable[[str], tuple], facts: tuple[str, ...],
           leads: Leads | None = None) -> Choice:
    """The decision rule: the candidates no other is better than (`versus`); of several, the first by
    `tie_break` (exact facts first, as named in `facts` position by position, then a stated order),
    labelled a tie, never a win. Latency point estimates never decide. `leads(a, b)` gives a ÷ b measured
    side by side where the results hold it."""
    if not found:
        return Choice()

    def outcome(a: str, b: str) -> str:
        return versus(found[a], found[b], leads(a, b) if leads else None)[0]
    names = sorted(found)
    undominated = [v for v in names if not any(outcome(o, v) == BETTER for o in names if o != v)]
    undominated = undominated or names
    chosen = min(undominated, key=tie_break)
    won = len(names) > 1 and all(outcome(chosen, o) == BETTER for o in names if o != chosen)
    tied = tuple(v for v in undominated if v != chosen)
    broke = ""
    if tied:
        keys = {v: tie_break(v) for v in undominated}
        runner_up = min(tied, key=tie_break)
        position = next((i for i, (a, b) in enumerate(zip(keys[chosen], keys[runner_up])) if a != b), None)
        broke = facts[position] if position is not None and position < len(facts) else "the stated order"
    return Choice(chosen, tied, won, broke)


def _group_ratios(df: pd.DataFrame, workload: str, variants, param: str = "") -> dict[str, Ratio]:
    table = ratios(df, workload)
    found = {v: ratio_of(table, v, param) for v in variants}
    found[labels.BASELINE] = BASE
    return {v: r for v, r in found.items() if r is not None}



def group_leads(df: pd.DataFrame, workload: str, param: str = "") -> Leads:
    """a ÷ b for two variants of one group, measured side by side (bench.analysis.tables.lead), remembered."""
    known: dict = {}

    def leads(a: str, b: str) -> Ratio | None:
        if (a, b) not in known:
            known[(a, b)] = lead(df, workload, a, b, param)
        return known[(a, b)]
    return leads


def at_or_above(measured, stated: float):
    """The measured point a rule judges a hub's own value at: the smallest at or above `stated` (the cost
    or the harm grows with the value, so the next measured point is the conservative stand-in), the
    largest when `stated` lies above them all; None when nothing was measured. bench.verdicts.sensitivity
    finds these rules' break-evens just above each measured point."""
    measured = list(measured)
    above = [point for point in measured if point >= stated]
    return min(above) if above else max(measured, default=None)
