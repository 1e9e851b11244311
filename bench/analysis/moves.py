"""C5 at size: the audio storage move per variant and data size, and its fitted projection.

One row per move (one UPDATE, a backfill in id batches) x variant x size: time (median), rows
rewritten, WAL, batches, and the longest wait of a writer updating the same messages meanwhile
(bench.workloads.lock_wait); then, where three sizes or more were measured, each fitted to a production size
(bench.analysis.growth) with its 95% interval, labelled as extrapolation.
"""

from __future__ import annotations

import pandas as pd

from bench.analysis.growth import USELESS_BAND, frame, growth_table
from bench.analysis.units import ms, size
MOVES = {"migrate_audio_storage": "one UPDATE", "backfill_audio_storage": "backfill in id batches"}


def _seen(steps) -> str:
    """Whether the server saw the writer wait for the move's locks: 'no', 'yes (3 steps)', 'n/a'."""
    if steps is None or pd.isna(steps):
        return "n/a"
    return "no" if not steps else f"yes ({steps:,.0f} step{'s' if steps != 1 else ''})"


def migration_table(rows, production: float | None = None) -> pd.DataFrame:
    """C5 at size: per move (one UPDATE, batched backfill) x variant x size, the time (median), rows
    rewritten, WAL, batches and the longest wait of a writer updating the same messages meanwhile (and in
    how many steps the server saw it wait); then, where three sizes or more were measured, each fitted to
    `production` sessions (default: bench.analysis.growth.PRODUCTION_FACTOR x the largest) with its 95% interval."""
    df = frame(rows)
    part = df[df["workload"].isin(list(MOVES))]
    columns = ["move", "variant", "sessions", "rows rewritten", "time", "WAL", "batches", "longest writer wait",
               "writer seen waiting"]
    if part.empty:
        return pd.DataFrame(columns=columns)
    numbers = ["rows", "rows_rewritten", "median_s", "wal_bytes", "batches", "writer_wait_max_s", "writer_lock_waits"]
    for column in numbers:
        if column not in part:
            part = part.assign(**{column: None})
    table = part.groupby(["workload", "variant", "sessions"], sort=False)[numbers].median().reset_index()

    def shown(value, kind):
        if value is None or pd.isna(value):
            return "n/a"
        return ms(value) if kind == "s" else size(value) if kind == "bytes" else f"{value:,.0f}"

    out = []
    for (workload, variant), sizes in table.groupby(["workload", "variant"], sort=False):
        for _, row in sizes.sort_values("sessions").iterrows():
            rewritten = row["rows_rewritten"] if pd.notna(row["rows_rewritten"]) else row["rows"]
            out.append([MOVES[workload], variant, f"{row['sessions']:,.0f}", shown(rewritten, ""),
                        shown(row["median_s"], "s"), shown(row["wal_bytes"], "bytes"), shown(row["batches"], ""),
                        shown(row["writer_wait_max_s"], "s"),
                        _seen(row["writer_lock_waits"])])
        own = part[(part["workload"] == workload) & (part["variant"] == variant)]
        fitted = growth_table(own, production=production,
                              metrics=("latency", "wal_bytes", "writer_wait_max_s", "rows_rewritten"))
        fitted = fitted[fitted["slope_low"].notna()]
        if fitted.empty:
            continue
        by = {row["metric"]: row for _, row in fitted.iterrows()}
        at = fitted["production"].iloc[0]

        def projected(metric, kind):
            row = by.get(metric)
            if row is None:
                return "n/a"
            if row["projected_high"] > USELESS_BAND * row["projected_low"]:
                return f"{shown(row['projected'], kind)} (interval over {USELESS_BAND:,.0f}× wide: too few sizes)"
            low, high = shown(row["projected_low"], kind), shown(row["projected_high"], kind)
            return f"{shown(row['projected'], kind)} [{low}–{high}]"

        out.append([MOVES[workload], variant, f"{at:,.0f} (extrapolation)", projected("rows_rewritten", ""),
                    projected("latency", "s"),
                    projected("wal_bytes", "bytes"), "", projected("writer_wait_max_s", "s"), ""])
    return pd.DataFrame(out, columns=columns)
