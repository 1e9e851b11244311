"""The verdicts' shared vocabulary: verdict and action words, a Judgement, and how a ratio's interval
decides against a threshold (bench.verdicts states the rules of each claim)."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from bench.analysis.tables import (
    Ratio, ratio_of, ratios,
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


@dataclass
class Judgement:
    verdict: str
    deciding: str = ""     # the number that decides, with its interval and threshold
    evidence: str = ""
    recommended: str = ""
    action: str = UNDECIDED  # for the review's recommendation on this claim
    reason: str = ""       # one line: the number that decides the action


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


def ties(best: str, found: dict[str, Ratio]) -> str:
    """'; lowest: raise, ahead of every other' or '; lowest: jsonb_gin, not told apart from bool_column
    (...)': whether the recommendation's lead over each alternative is beyond its interval."""
    tied = [v for v in found if v != best and found[best].over(found[v]).side(1.0) != "below"]
    if not tied:
        return f"; lowest: {short(best)}, clearly below every other candidate"
    return f"; lowest: {short(best)}, not told apart from {', '.join(short(v) for v in tied)} (the interval of " \
           f"its ratio to each includes 1)"


def _group_ratios(df: pd.DataFrame, workload: str, variants, param: str = "") -> dict[str, Ratio]:
    table = ratios(df, workload)
    found = {v: ratio_of(table, v, param) for v in variants}
    found[labels.BASELINE] = BASE
    return {v: r for v, r in found.items() if r is not None}

