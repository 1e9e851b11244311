"""C5, audio storage: rows a backend move rewrites; C6, timestamps: rows found per server time zone."""

from __future__ import annotations

import pandas as pd

from bench.plotting.axes import faceted, finding_title, grouped_bars, grouped_points, not_measured, scale_from_zero_or_log
from bench.plotting.style import ms, name, plain, size
from bench.plotting.tables import by_param, summary


@faceted
def migration_cost(df: pd.DataFrame, ax) -> None:
    """Moving audio to a new storage backend: rows rewritten per variant, labelled with time and WAL."""
    table = summary(df, "migrate_audio_storage", by=("variant",))
    if table.empty:
        return not_measured(ax, "migrate_audio_storage workload")
    grouped_points(ax, table, "variant", "rows", "audio_storage",
                   label=lambda r: f"{r['rows']:,.0f} row{'s' if r['rows'] != 1 else ''}: {ms(r['median_s'])}, "
                                   f"{size(r['wal_bytes'])} WAL")
    ax.set_xticks(range(len(table)), [name(v, "audio_storage") for v in table["variant"]])
    scale_from_zero_or_log(ax, table["rows"])
    ax.set(xlabel="audio_storage variant", ylabel="rows rewritten by the migration"
           + (" (log scale)" if ax.get_yscale() == "log" else ""))
    parts = [f"{name(r['variant'], 'audio_storage')} rewrites {r['rows']:,.0f} row{'s' if r['rows'] != 1 else ''} "
             f"({ms(r['median_s'])}, {size(r['wal_bytes'])} WAL)" for _, r in table.iterrows()]
    finding_title(ax, "Moving audio storage: " + "; ".join(parts))


@faceted
def timestamps_rows(df: pd.DataFrame, ax) -> None:
    """Rows 'updated in the last 30 days' per server time zone and timestamp variant (same data)."""
    table = by_param(df, "recent_activity", "zone")
    if table.empty:
        return not_measured(ax, "recent_activity workload")
    grouped_bars(ax, table, "zone", "rows", "timestamps", labels=lambda p: [f"{v:.0f}" for v in p["rows"]])
    ax.set(xlabel="session TimeZone of the database connection", ylabel="rows returned (same data, same instant)")
    ax.set_ylim(0, table["rows"].max() * 1.25)  # linear from 0: bar lengths are the counts
    parts = []
    for variant, part in table.groupby("variant", sort=False):
        counts = ", ".join(f"{r:.0f} in {plain(z)}" for z, r in zip(part["zone"], part["rows"]))
        same = "same everywhere" if part["rows"].nunique() == 1 else "differs by zone"
        parts.append(f"{name(variant, 'timestamps')}: {counts} ({same})")
    finding_title(ax, "; ".join(parts))
