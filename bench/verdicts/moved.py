"""Which "exact" facts moved between runs of the same benchmark.

Counts of statements, round trips and rows on the wire are exact: the same code gives the same number.
WAL bytes (a checkpoint between runs makes the next write log full pages), relation sizes and plan
shapes (ANALYZE reads a random sample) can move. When several runs are pooled, each such column is
compared across the runs of every benchmark; one that moved is stated with its spread and, like a
latency, read as its median over the runs (bench.analysis.tables.summary), never as exact.
"""

from __future__ import annotations

import pandas as pd

from bench.results import KEY

# Facts a rule reads as exact, in the order they are reported.
NUMBERS = ("statements", "server_statements", "executions", "round_trips", "wire_rows", "wire_bytes", "rows",
           "orphans", "leaks", "wal_bytes", "table_bytes", "index_bytes")
TEXTS = ("plan_top", "seq_scan")


def moved(df: pd.DataFrame) -> list[dict]:
    """Per fact that differs between runs of at least one benchmark: {"fact", "benchmarks" (how many moved),
    "of" (measured in more than one run), "largest" ((max − min) ÷ max over one benchmark's runs; None for a
    plan), "example" (workload, param and variant of the largest)}. [] for one run."""
    if df["run_id"].nunique() < 2:
        return []
    keys = [k for k in KEY if k in df]
    out = []
    for fact in (*NUMBERS, *TEXTS):
        if fact not in df or df[fact].isna().all():
            continue
        part = df[keys + ["run_id", fact]].dropna(subset=[fact])
        groups = part.groupby(keys, dropna=False)
        runs = groups["run_id"].nunique()
        several = runs[runs > 1].index
        if not len(several):
            continue
        values = groups[fact].agg(lambda v: sorted(set(map(str, v))) if fact in TEXTS else (min(v), max(v)))
        values = values.loc[several]
        if fact in TEXTS:
            moving = values[values.map(len) > 1]
            largest, where = None, moving.index[0] if len(moving) else None
        else:
            spread = values.map(lambda lo_hi: (lo_hi[1] - lo_hi[0]) / lo_hi[1] if lo_hi[1] else 0.0)
            moving = spread[spread > 0]
            largest = float(moving.max()) if len(moving) else None
            where = moving.idxmax() if len(moving) else None
        if len(moving):
            named = dict(zip(keys, where))
            out.append({"fact": fact, "benchmarks": int(len(moving)), "of": int(len(several)), "largest": largest,
                        "example": " ".join(str(named[k]) for k in ("workload", "param", "variant") if named.get(k))})
    return out


def said(found: list[dict]) -> str:
    """'wal_bytes moved in 42 of 91 benchmarks (by up to 100% of its largest value, active_sync
    sync_flag=bool_column); ...' or ''."""
    return "; ".join(f"{m['fact']} moved in {m['benchmarks']} of {m['of']} benchmarks"
                     + (f" (by up to {m['largest']:.0%} of its largest value, {m['example']})" if m["largest"] is not None
                        else f" (e.g. {m['example']})") for m in found)
