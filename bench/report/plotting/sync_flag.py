"""C2, the sync flag: active-sync lookup cost and the read/write trade-off per schema."""

from __future__ import annotations

import pandas as pd
from matplotlib.ticker import FuncFormatter, NullFormatter, ScalarFormatter

from bench.report.plotting.axes import (
    faceted, finding_title, grouped_points, interval_errors, legend, name_bars, not_measured,
    scale_from_zero_or_log,
)
from bench.report.plotting.style import MS, marker_style, ms, name, plain, size
from bench.analysis.tables import fastest, summary
from bench.analysis.fits import fit_loglog_slope
from models_variants import labels


def _plan(row: pd.Series) -> str:
    top = row.get("plan_top")
    return "?" if not isinstance(top, str) else plain(top) + (" (+ Seq Scan)" if row.get("seq_scan") is True
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
            ax.errorbar(rows["sessions"], rows["median_s"] * MS, yerr=interval_errors(rows, ax), capsize=3, markersize=5,
                        label=f"{name(variant, 'sync_flag')}: slope {slope:.2f}", **marker_style(variant))
        ax.set(xscale="log", yscale="log", xlabel="sessions in the table", ylabel="active_sync latency (ms)")
        ax.xaxis.set_major_formatter(ScalarFormatter())
        ax.xaxis.set_minor_formatter(NullFormatter())
        ax.set_xticks(sorted(table["sessions"].unique()))
        grows = [f"{name(v, 'sync_flag')} as $N^{{{slopes[v]:.2f}}}$" for v in (labels.BASELINE, labels.BOOL_COLUMN)
                 if v in slopes]
        finding = "Latency grows " + ", ".join(grows) + f" (log-log slope, {part['sessions'].min():,.0f}–" \
                  f"{part['sessions'].max():,.0f} sessions; 1 = linear scan, 0 = constant)"
        finding_title(ax, finding)
        legend(ax, "sync_flag: schema's index size")
        return
    table = summary(part, "active_sync", by=("variant",))
    table["case"] = "active_sync"
    grouped_points(ax, table, "variant", "median_s", "sync_flag", errors=True, scale=MS,
                   label=lambda r: f"{ms(r['median_s'])}\n{_plan(r)}")
    ax.set_xticks(range(len(table)), [name(v, "sync_flag") for v in table["variant"]], rotation=20)
    scale_from_zero_or_log(ax, table["median_s"])
    ax.set(xlabel="sync_flag variant (label: median, top plan node)",
           ylabel="active_sync latency (ms" + (", log scale)" if ax.get_yscale() == "log" else ")"))
    finding = []
    for variant in (labels.BASELINE, labels.BOOL_COLUMN):
        rows = table[table["variant"] == variant]
        if not rows.empty:
            finding.append(f"{name(variant, 'sync_flag')}: {_plan(rows.iloc[0])}, {ms(rows['median_s'].iloc[0])}")
    best = fastest(table)
    if best["variant"] not in (labels.BASELINE, labels.BOOL_COLUMN):
        finding.append(f"fastest {name(best['variant'], 'sync_flag')}: {_plan(best)}, {ms(best['median_s'])}")
    finding_title(ax, ("; ".join(finding) + f" at {part['sessions'].max():,.0f} sessions").replace("\n", " "))


def _top(table: pd.DataFrame, side: str) -> float:
    """The highest value or error bar of one side (read or write), in seconds."""
    column = f"median_high_s_{side}"
    tops = table[[f"median_s_{side}", column]].max(axis=1) if column in table else table[f"median_s_{side}"]
    return float(tops.max())


@faceted
def read_write_tradeoff(df: pd.DataFrame, ax, reads_per_write: float | None = None) -> None:
    """active_sync (read) against mark_sync (write) latency per variant, each point labelled with its
    schema's index size; both axes from 0 (or log, said on the axis, when values span orders of magnitude).
    The title names the cheapest variant with reads and writes weighed by how often each runs
    (`reads_per_write`, by default the C2 verdict's READS_PER_WRITE)."""
    if reads_per_write is None:
        from bench.verdicts import READS_PER_WRITE as reads_per_write  # bench.verdicts imports this package
    reads, writes = summary(df, "active_sync", by=("variant",)), summary(df, "mark_sync", by=("variant",))
    if reads.empty or writes.empty:
        return not_measured(ax, "active_sync and mark_sync workloads")
    table = reads.merge(writes, on="variant", suffixes=("_read", "_write"))
    for _, row in table.iterrows():
        x, y = row["median_s_read"] * MS, row["median_s_write"] * MS
        read, write = (interval_errors(pd.DataFrame([{
            key: row.get(f"{key}_{side}") for key in ("median_s", "median_low_s", "median_high_s")}]))
            for side in ("read", "write"))
        ax.errorbar(x, y, xerr=read, yerr=write, capsize=2, elinewidth=0.8, markersize=7, linestyle="none",
                    label=f"{name(row['variant'], 'sync_flag')}: indexes {size(row['index_bytes_read'])}",
                    **marker_style(row["variant"]))
    name_bars(ax)
    # Reads differ by orders of magnitude between a scan and an index: five times apart is enough for a
    # log axis, or the indexed variants sit on top of each other at the left edge.
    read_top = _top(table, "read")
    if table["median_s_read"].min() > 0 and table["median_s_read"].max() / table["median_s_read"].min() >= 5:
        ax.set_xscale("log")
        # 0.5, 2, not 5×10⁻¹; between the powers of ten only the 2s and 5s are written.
        ax.xaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}"))
        ax.xaxis.set_minor_formatter(FuncFormatter(lambda value, _: f"{value:g}" if f"{value:g}".lstrip("0.")[:1]
                                                   in ("2", "5") else ""))
    else:
        ax.set_xlim(left=0, right=read_top * MS * 1.15)
    ax.set_ylim(bottom=0, top=_top(table, "write") * MS * 1.15)  # room above the highest error bar
    ax.set(xlabel="active_sync latency, read (ms" + (", log scale)" if ax.get_xscale() == "log" else ")"),
           ylabel="mark_sync latency, write (ms)")
    table["total"] = reads_per_write * table["median_s_read"] + table["median_s_write"]
    # As the C2 verdict: a plan with a Seq Scan grows with the table, so it is not a candidate.
    candidates = table[table["seq_scan_read"] != True]  # noqa: E712 - bools and None
    which = "Cheapest without a Seq Scan" if not candidates.empty else "Cheapest (every plan scans)"
    candidates = table if candidates.empty else candidates
    best, base = candidates.loc[candidates["total"].idxmin()], table[table["variant"] == labels.BASELINE]
    finding = f"{which} at {reads_per_write:g} reads per write: " \
              f"{name(best['variant'], 'sync_flag')} " \
              f"({ms(best['median_s_read'])} read, {ms(best['median_s_write'])} write, indexes " \
              f"{size(best['index_bytes_read'])})"
    if not base.empty:
        b = base.iloc[0]
        finding += f"; JSON blob {ms(b['median_s_read'])} read, {ms(b['median_s_write'])} write"
    finding_title(ax, finding)
    legend(ax, "sync_flag: schema's index size")
