"""C1, loading strategies: statements, latency (per page size, per case, per added RTT) and rows returned per page."""

from __future__ import annotations

import numpy as np
import pandas as pd

from bench.plotting.axes import faceted, finding_title, grouped_bars, latency_lines, legend, log_if_spread, not_measured
from bench.plotting.style import MS, marker_style, ms, name
from bench.plotting.tables import by_param, fastest, param_value, summary


def _statement_shape(part: pd.DataFrame) -> str:
    sizes, counts = part["page_size"].to_numpy(), part["statements"].to_numpy()
    if len(sizes) > 1 and np.all(counts == 1 + sizes):
        return f"1+N ({counts.min():.0f}→{counts.max():.0f})"
    return f"{counts.min():.0f}" if counts.min() == counts.max() else f"{counts.min():.0f}–{counts.max():.0f}"


@faceted
def statements_vs_page_size(df: pd.DataFrame, ax) -> None:
    """Dashboard: SQL statements per page load against page size, per loading strategy."""
    table = by_param(df, "dashboard", "page_size")
    if table.empty:
        return not_measured(ax, "dashboard workload")
    for variant, part in table.groupby("variant", sort=False):
        part = part.sort_values("page_size")
        ax.plot(part["page_size"], part["statements"], label=name(variant, "loading"), **marker_style(variant))
    sizes = np.array(sorted(table["page_size"].unique()))
    ax.plot(sizes, 1 + sizes, ls=":", color="#777777", label="1+N prediction")
    ax.set(xscale="log", yscale="log", xlabel="page size (sessions per page)", ylabel="SQL statements per page load")
    shapes = [f"{name(v, 'loading').replace(' (baseline)', '')}: {_statement_shape(p)}"
              for v, p in table.groupby("variant", sort=False)]
    finding_title(ax, "Statements per page — " + "; ".join(shapes) + f" at page sizes {sizes.min():.0f}–{sizes.max():.0f}")
    legend(ax, "loading")


@faceted
def latency_vs_page_size(df: pd.DataFrame, ax) -> None:
    """Dashboard: median latency (IQR bars) against page size, per loading strategy."""
    table = by_param(df, "dashboard", "page_size")
    if table.empty:
        return not_measured(ax, "dashboard workload")
    latency_lines(ax, table, "page_size", "loading")
    ax.set(xscale="log", yscale="log", xlabel="page size (sessions per page)", ylabel="latency per page load (ms)")
    top = table[table["page_size"] == table["page_size"].max()]
    base, best = top[top["variant"] == "baseline"], fastest(top)
    finding = f"At page size {top['page_size'].iloc[0]:.0f}: fastest is {name(best['variant'], 'loading')} " \
              f"({ms(best['median_s'])})"
    if not base.empty:
        finding += f", {base['median_s'].iloc[0] / best['median_s']:.1f}× faster than lazy ({ms(base['median_s'].iloc[0])})"
        selectin = top[top["variant"] == "loading=selectin"]
        if not selectin.empty and best["variant"] != "loading=selectin":
            finding += f"; selectin {ms(selectin['median_s'].iloc[0])}"
    finding_title(ax, finding)
    legend(ax, "loading")


@faceted
def latency_bars(df: pd.DataFrame, ax, workload: str = "session_detail", axis: str = "loading") -> None:
    """Median latency (IQR bars) per parameter value and variant of one workload."""
    table = summary(df, workload)
    if table.empty:
        return not_measured(ax, f"{workload} workload")
    table["case"] = table["param"].replace("", workload)
    grouped_bars(ax, table, "case", "median_s", axis, errors=True, scale=MS)
    ax.set(xlabel=f"{workload} case", ylabel="latency (ms)")
    log_if_spread(ax, table["median_s"])
    findings = []
    for case, part in table.groupby("case", sort=False):
        best, worst = fastest(part), part.loc[part["median_s"].idxmax()]
        findings.append(f"{case}: fastest {name(best['variant'], axis)} {ms(best['median_s'])}, slowest "
                        f"{name(worst['variant'], axis)} {ms(worst['median_s'])} "
                        f"({worst['median_s'] / best['median_s']:.1f}×)")
    finding_title(ax, "; ".join(findings))


@faceted
def row_explosion(df: pd.DataFrame, ax) -> None:
    """Dashboard: rows the main statement returns per page (plan_rows) against the rows the page uses.

    A JOIN of two collections returns their product; without plan_rows in the results, rows per
    statement is drawn instead (one fat statement against many thin ones)."""
    table = by_param(df, "dashboard", "page_size")
    if table.empty:
        return not_measured(ax, "dashboard workload")
    wire = "plan_rows" in table and table["plan_rows"].notna().any()
    table["y"] = table["plan_rows"] if wire else table["rows"] / table["statements"]
    for variant, part in table.groupby("variant", sort=False):
        part = part.sort_values("page_size")
        ax.plot(part["page_size"], part["y"], label=name(variant, "loading"), **marker_style(variant))
    used = table.groupby("page_size")["rows"].max()
    ax.plot(used.index, used.to_numpy(), ls=":", color="#777777", label="rows the page uses\n(sessions + skill names)")
    ax.set(xscale="log", yscale="log", xlabel="page size (sessions per page)",
           ylabel="rows the main statement returns" if wire else "rows per SQL statement")
    top = table[table["page_size"] == table["page_size"].max()]
    worst = top.loc[top["y"].idxmax()]
    if wire:
        finding = f"At page size {worst['page_size']:.0f}, {name(worst['variant'], 'loading')}'s statement returns " \
                  f"{worst['y']:,.0f} rows to build a page of {worst['rows']:,.0f} ({worst['y'] / worst['rows']:.1f}×)"
    else:
        finding = f"At page size {worst['page_size']:.0f}, {name(worst['variant'], 'loading')} carries " \
                  f"{worst['y']:,.0f} rows per statement, lazy " \
                  f"{top.loc[top['variant'] == 'baseline', 'y'].min():,.1f}"
    finding_title(ax, finding)
    legend(ax, "loading")


@faceted
def latency_vs_rtt(df: pd.DataFrame, ax) -> None:
    """Dashboard at the largest page size: latency against added round-trip time, with 1+N's prediction."""
    part = df[df["workload"] == "dashboard"]
    if part.empty or part["rtt_ms"].nunique() < 2:
        return not_measured(ax, "one round-trip time only (run with --rtt-ms 0,1,5)")
    table = summary(part, "dashboard", by=("param", "variant", "rtt_ms"))
    table["page_size"] = table["param"].map(param_value)
    table = table[table["page_size"] == table["page_size"].max()]
    latency_lines(ax, table, "rtt_ms", "loading")
    base = table[table["variant"] == "baseline"].sort_values("rtt_ms")
    if not base.empty:
        start = base.iloc[0]
        rtts = np.array(sorted(table["rtt_ms"].unique()))
        predicted = start["median_s"] * MS + start["statements"] * (rtts - start["rtt_ms"])
        ax.plot(rtts, predicted, ls=":", color="#777777", label="lazy predicted: +(1+N)×RTT")
        last = base.iloc[-1]
        finding = f"At {last['rtt_ms']:g} ms RTT lazy takes {ms(last['median_s'])}: {last['statements']:.0f} round " \
                  f"trips predict {predicted[-1]:.0f} ms"
        others = table[(table["rtt_ms"] == last["rtt_ms"]) & (table["variant"] != "baseline")]
        if not others.empty:
            best = fastest(others)
            finding += f"; {name(best['variant'], 'loading')} {ms(best['median_s'])}"
        finding_title(ax, finding)
    ax.set(xlabel="added round-trip time (ms)", ylabel=f"latency at page size {table['page_size'].max():.0f} (ms)")
    log_if_spread(ax, table["median_s"])
    legend(ax, "loading")
