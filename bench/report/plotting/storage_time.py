"""C5, audio storage: rows a backend move rewrites; C6, timestamps: rows found per server time zone and
events mis-ordered by writers' clock skew."""

from __future__ import annotations

import pandas as pd

from bench.report.plotting.axes import (
    faceted, finding_title, grouped_bars, grouped_points, legend, not_measured, scale_from_zero_or_log,
)
from bench.report.plotting.style import ms, name, plain, size
from bench.analysis.tables import by_param, summary


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


@faceted
def ordering_vs_skew(df: pd.DataFrame, ax) -> None:
    """Events a reader tailing by timestamp misses, against the writers' clock skew: utcnow vs the server's clock."""
    from bench.load import ordering
    from bench.results import fact_table

    facts = fact_table(df, "ordering_facts")
    if not facts.empty and "run_id" in facts:
        facts = facts[facts["run_id"].isin(df["run_id"])]
    skew = facts[(facts["check"] == "clock skew") & (facts["timestamps"] == "naive_utc")] if not facts.empty else facts
    if skew.empty:
        return not_measured(ax, "clock skew (ordering facts)")
    skew = skew.drop_duplicates(subset=["source", "skew_ms"])
    client = skew[skew["source"] == ordering.CLIENT_SOURCE].sort_values("skew_ms")
    positions = list(range(len(client)))
    events = int(skew["events"].iloc[0])
    ax.plot(positions, client["late_events"], marker="o", color="#000000", label="utcnow() + writer's skew (as reviewed)")
    for x, late, pairs in zip(positions, client["late_events"], client["misordered_pairs"]):
        ax.annotate(f"{late:.0f} ({pairs:.0f} pair{'' if pairs == 1 else 's'})", (x, late), xytext=(0, 6),
                    textcoords="offset points", ha="center", fontsize=7)
    server = skew[skew["skew_ms"].isna()]
    # Server sources with the same count share one line (one line drawn over another would hide it).
    same = server.groupby("late_events", sort=True)["source"].agg(lambda found: ", ".join(sorted(found)))
    for (late, sources), shade, dash in zip(same.items(), ("#0072B2", "#E69F00", "#009E73"), ("--", ":", "-.")):
        ax.axhline(late, color=shade, linestyle=dash, label=f"{sources} (one server clock): {late:.0f}")
    ax.set_xticks(positions, [f"{s:,.0f}" for s in client["skew_ms"]])
    ax.set_xlim(-0.5, len(positions) - 0.5)
    ax.set_ylim(0, events * 1.05)
    ax.set(xlabel="writers' clock skew (ms), one step per value measured (not to scale)\n"
                  "NTP-synced 1–10, badly synced 100–2,000",
           ylabel=f"events a reader tailing by timestamp misses (of {events})")
    legend(ax, "timestamp source")
    at = client[client["skew_ms"] == 10]
    best = server.sort_values(["late_events", "misordered_pairs"]).iloc[0] if not server.empty else None
    if not at.empty and best is not None:
        finding_title(ax, f"At 10 ms clock skew, utcnow timestamps put {at['late_events'].iloc[0]:.0f} of {events} events "
                          f"behind one committed earlier; the server's {best['source'].removeprefix('server ')} "
                          f"{best['late_events']:.0f} (one event every {ordering.EVENT_GAP_MS:g} ms, 4 writers)")
    else:
        finding_title(ax, "Events mis-ordered by writers' clock skew")
