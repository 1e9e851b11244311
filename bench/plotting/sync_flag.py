"""C2, the sync flag: active-sync lookup cost and the read/write trade-off per schema."""

from __future__ import annotations

import pandas as pd
from matplotlib.ticker import NullFormatter, ScalarFormatter

from bench.plotting.axes import faceted, finding_title, grouped_bars, iqr_errors, legend, log_if_spread, not_measured
from bench.plotting.style import MS, marker_style, ms, name, size
from bench.plotting.tables import fastest, summary
from bench.stats import fit_loglog_slope


def _plan(row: pd.Series) -> str:
    top = row.get("plan_top")
    return "?" if not isinstance(top, str) else top + ("\n(+ Seq Scan)" if row.get("seq_scan") is True
                                                        and top != "Seq Scan" else "")


@faceted
def active_sync(df: pd.DataFrame, ax) -> None:
    """Active-sync lookup per sync_flag variant: log-log against table size with fitted slopes when
    several sizes were measured, otherwise bars annotated with the plan shape."""
    part = df[df["workload"] == "active_sync"]
    if part.empty:
        return not_measured(ax, "active_sync workload")
    if part["sessions"].nunique() > 1:
        table = summary(part, "active_sync", by=("variant", "sessions"))
        slopes = {}
        for variant, rows in table.groupby("variant", sort=False):
            rows = rows.sort_values("sessions")
            slope, _ = fit_loglog_slope(rows["sessions"], rows["median_s"])
            slope = slopes[variant] = round(slope, 2) + 0.0  # + 0.0: never print "-0.00"
            ax.errorbar(rows["sessions"], rows["median_s"] * MS, yerr=iqr_errors(rows), capsize=3, markersize=5,
                        label=f"{name(variant, 'sync_flag')}: slope {slope:.2f}", **marker_style(variant))
        ax.set(xscale="log", yscale="log", xlabel="sessions in the table", ylabel="active_sync latency (ms)")
        ax.xaxis.set_major_formatter(ScalarFormatter())
        ax.xaxis.set_minor_formatter(NullFormatter())
        ax.set_xticks(sorted(table["sessions"].unique()))
        grows = [f"{name(v, 'sync_flag')} as $N^{{{slopes[v]:.2f}}}$" for v in ("baseline", "sync_flag=bool_column")
                 if v in slopes]
        finding = "Latency grows " + ", ".join(grows) + f" (log-log slope, {part['sessions'].min():,.0f}–" \
                  f"{part['sessions'].max():,.0f} sessions; 1 = linear scan, 0 = constant)"
        finding_title(ax, finding)
        legend(ax, "sync_flag")
        return
    table = summary(part, "active_sync", by=("variant",))
    table["case"] = "active_sync"
    grouped_bars(ax, table, "variant", "median_s", "sync_flag", errors=True, scale=MS, labels=lambda p: [_plan(r) for _, r in p.iterrows()])
    ax.set_xticks(range(len(table)), [name(v, "sync_flag") for v in table["variant"]], rotation=20)
    ax.set(xlabel="sync_flag variant (bar label: top plan node)", ylabel="active_sync latency (ms)")
    log_if_spread(ax, table["median_s"])
    ax.set_ylim(top=ax.get_ylim()[1] * (3 if ax.get_yscale() == "log" else 1.35))
    finding = []
    for variant in ("baseline", "sync_flag=bool_column"):
        rows = table[table["variant"] == variant]
        if not rows.empty:
            finding.append(f"{name(variant, 'sync_flag')}: {_plan(rows.iloc[0])}, {ms(rows['median_s'].iloc[0])}")
    best = fastest(table)
    if best["variant"] not in ("baseline", "sync_flag=bool_column"):
        finding.append(f"fastest {name(best['variant'], 'sync_flag')}: {_plan(best)}, {ms(best['median_s'])}")
    finding_title(ax, ("; ".join(finding) + f" at {part['sessions'].max():,.0f} sessions").replace("\n", " "))


@faceted
def read_write_tradeoff(df: pd.DataFrame, ax) -> None:
    """active_sync (read) against mark_sync (write) latency; marker area shows the schema's index bytes."""
    reads, writes = summary(df, "active_sync", by=("variant",)), summary(df, "mark_sync", by=("variant",))
    if reads.empty or writes.empty:
        return not_measured(ax, "active_sync and mark_sync workloads")
    table = reads.merge(writes, on="variant", suffixes=("_read", "_write"))
    largest = table["index_bytes_read"].max()
    for _, row in table.iterrows():
        style = marker_style(row["variant"])
        ax.errorbar(row["median_s_read"] * MS, row["median_s_write"] * MS,
                    xerr=[[max(row["median_s_read"] - row["q1_s_read"], 0) * MS], [max(row["q3_s_read"] - row["median_s_read"], 0) * MS]],
                    yerr=[[max(row["median_s_write"] - row["q1_s_write"], 0) * MS], [max(row["q3_s_write"] - row["median_s_write"], 0) * MS]],
                    color=style["color"], capsize=2, elinewidth=0.8, zorder=1)
        ax.scatter(row["median_s_read"] * MS, row["median_s_write"] * MS, s=60 + 400 * row["index_bytes_read"] / largest,
                   label=f"{name(row['variant'], 'sync_flag')} (indexes {size(row['index_bytes_read'])})", zorder=2,
                   **style, edgecolor="white")
    ax.set(xlabel="active_sync latency, read (ms)", ylabel="mark_sync latency, write (ms)")
    log_if_spread(ax, table["median_s_read"], "x")
    table["total"] = table["median_s_read"] + table["median_s_write"]
    best, base = table.loc[table["total"].idxmin()], table[table["variant"] == "baseline"]
    finding = f"Cheapest read + write: {name(best['variant'], 'sync_flag')} ({ms(best['median_s_read'])} read, " \
              f"{ms(best['median_s_write'])} write, indexes {size(best['index_bytes_read'])})"
    if not base.empty:
        b = base.iloc[0]
        finding += f"; JSON blob {ms(b['median_s_read'])} read, {ms(b['median_s_write'])} write"
    finding_title(ax, finding)
    legend(ax, "sync_flag (marker area: index bytes)")
    for handle in ax.get_legend().legend_handles:  # same size in the legend, whatever the index size
        handle.set_sizes([50])
