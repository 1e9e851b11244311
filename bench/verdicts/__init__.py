"""Verdicts on the review's claims C1–C6, computed from results by the rules written here.

Each claim has one function returning a Judgement: the verdict ("confirmed", "refuted", "partly",
"inconclusive" or "not measured"), the number that decides it with its 95% interval and threshold,
the numbers behind it, the variant the numbers recommend, and what to do with the review's own
recommendation for the claim (adopt, reject, change, undecided). A latency decides only through
its ratio to the group's baseline, measured side by side in interleaved trials (bench.measure.trials),
and only when the whole interval lies on one side of the threshold; an interval across it makes
the verdict "inconclusive". Counts (statements, rows, orphans, WAL bytes) are exact and decide on
their own. Nothing is typed in: a new run can overturn any verdict. Numbers are at the largest
measured scale and the smallest added round-trip time; several runs are pooled
(bench.analysis.tables.ratios). C1 is judged in bench.verdicts.loading, C2 in
bench.verdicts.sync_flag, C3-C5 in bench.verdicts.storage, C6 in bench.verdicts.timestamps; their shared
words in bench.verdicts.rules.
"""

from __future__ import annotations

import pandas as pd

from bench.plan.recommended import without as without_recommended
from bench.verdicts import storage as verdicts_storage
from bench.verdicts.loading import RULE_C1, c1_loading
from bench.verdicts.migration import MASSIVE_SECONDS, MASSIVE_WAL_BYTES, PRODUCTION_MESSAGES
from bench.verdicts.rules import (  # noqa: F401 - the verdict words, read by the notebooks and the report
    ADOPT, CHANGE, COLUMNS, CONFIRMED, FIX_RATIO, INCONCLUSIVE, MARGIN, NOT_MEASURED, PARTLY, REFUTED, REJECT, SHOWN,
    UNDECIDED,
)
from bench.verdicts.sync_flag import READS_PER_WRITE, RULE_C2, c2_sync_flag


RULES = {"C1": RULE_C1, "C2": RULE_C2, **verdicts_storage.RULES}


def judge_all(df: pd.DataFrame, delete_paths: pd.DataFrame | None = None, *,
              reads_per_write: float = READS_PER_WRITE, production_messages: int | None = None,
              foreign_keys: bool | None = None, soft_deleted_fraction: float | None = None,
              maintenance_window_s: float | None = None, clock_skew_ms: float | None = None) -> dict:
    """Each claim's Judgement, C1 to C6: the one analysis every table, action and decision reads.

    `delete_paths` is C3's fact table (bench.report.delete_paths); without it C3 falls back to the
    orphan counts of the delete workloads. The other options are the hub's own numbers
    (bench.verdicts.profile.Profile.options); None is each rule's stated default: `reads_per_write` C2's
    assumption, `production_messages` (PRODUCTION_MESSAGES) the size C5 judges a storage move at,
    `foreign_keys` False judges C3 on tables without them, `soft_deleted_fraction` the deleted share C4
    judges list_live at, `maintenance_window_s` C5's "massive" time, `clock_skew_ms` the skew C6 judges at."""
    df = without_recommended(df)  # it changes every axis at once: judged in its own table
    options = {"reads_per_write": reads_per_write, "delete_paths": delete_paths,
               "production_messages": production_messages if production_messages is not None
               else PRODUCTION_MESSAGES, "foreign_keys": foreign_keys, "soft_deleted_fraction": soft_deleted_fraction,
               "maintenance_window_s": maintenance_window_s, "clock_skew_ms": clock_skew_ms}
    judges = {"C1": c1_loading, "C2": c2_sync_flag, **verdicts_storage.JUDGES}
    return {claim: judge(df, **options) for claim, judge in judges.items()}


def table_of(judged: dict) -> pd.DataFrame:
    """One row per claim: claim, statement, verdict, deciding number, evidence, recommended variant,
    rule, and the action on the review's recommendation with its reason."""
    rows = [{"claim": claim, "statement": STATEMENTS[claim], "verdict": j.verdict, "deciding": j.deciding,
             "evidence": j.evidence, "recommended": j.recommended, "rule": RULES[claim], "action": j.action,
             "reason": j.reason} for claim, j in judged.items()]
    return pd.DataFrame(rows, columns=COLUMNS)


def verdicts(df: pd.DataFrame, delete_paths: pd.DataFrame | None = None, **options) -> pd.DataFrame:
    """The verdict table (`table_of(judge_all(...))`), as the notebooks and the report show it."""
    return table_of(judge_all(df, delete_paths, **options))


STATEMENTS = {
    "C1": "Default lazy loading makes the dashboard issue 1+N queries; selectin fixes it",
    "C2": "Finding active sync sessions in a JSON blob is an O(N) scan; a boolean column fixes it",
    "C3": "session_skills can keep orphaned rows after an application-level purge",
    "C4": "Soft delete is affordable and allows recovery",
    "C5": "audio_path as a raw string makes a storage move a massive migration",
    "C6": "datetime.utcnow keeps ordering consistent across zones",
}


# What would change each answer: the rule's own thresholds and the profile values it reads, stated with
# the constants that decide (the break-even of each profile value: bench.verdicts.sensitivity).
CHANGES = {
    "C1": f"selectin ÷ lazy above {FIX_RATIO:g} at the largest page; a strategy faster than the choice by more "
          f"than {MARGIN:.0%} over its whole interval",
    "C2": f"reads_per_write in --profile; bool_column ÷ JSON blob above {FIX_RATIO:g}; a variant cheaper by "
          f"more than {MARGIN:.0%} over its whole interval",
    "C3": "a delete path leaving orphans on the declared schema; foreign_keys = false in --profile (production "
          "tables without the foreign keys)",
    "C4": f"a soft ÷ hard_orm ratio past {verdicts_storage.AFFORDABLE_RATIO:g} over its whole interval (across "
          f"it: near the cut-off, confirmed by default); soft_deleted_fraction in --profile; restore failing",
    "C5": f"messages and maintenance_window_s in --profile: massive from {MASSIVE_SECONDS:g} s (or the window) or "
          f"{MASSIVE_WAL_BYTES // 1024 ** 3} GiB of WAL for the move",
    "C6": "a server clock source mis-ordering as often as utcnow; clock_skew_ms in --profile (writers without "
          "clock skew)",
}


def headline(table: pd.DataFrame) -> str:
    """'3 confirmed, 1 partly, 1 inconclusive, 1 refuted': the verdict counts in one line."""
    counts = table["verdict"].value_counts()
    return ", ".join(f"{int(counts[v])} {v}" for v in (CONFIRMED, PARTLY, INCONCLUSIVE, REFUTED, NOT_MEASURED)
                     if v in counts)
