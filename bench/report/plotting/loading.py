"""C1, loading strategies: statements, latency (per page size, per case, per added RTT) and rows returned per page."""

from __future__ import annotations

import numpy as np
import pandas as pd

from bench.report.plotting.axes import (
    faceted, finding_title, grouped_points, latency_lines, legend, log_if_spread, not_measured,
    scale_from_zero_or_log,
)
from bench.report.plotting.style import MS, marker_style, ms, name, plain
from bench.analysis.tables import (
    EXTRA_ROWS, SAME_ROWS, by_param, dashboard_work, fastest, param_value, ratio_of, ratios, summary,
)
from models_variants import labels


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
    taken: dict[tuple, int] = {}  # (page size, count) -> strategies already drawn there
    for variant, part in table.groupby("variant", sort=False):
        part = part.sort_values("page_size")
        points = list(zip(part["page_size"], part["statements"]))
        under = [taken.get(point, 0) for point in points]
        shared = any(under)
        style = marker_style(variant)
        ax.plot(part["page_size"], part["statements"], linestyle="--" if shared else "-",
                label=name(variant, "loading") + (" (a ring where it shares a value)" if shared else ""), **style)
        # A strategy with the same count at a page size would hide the one drawn before it: there it is a
        # ring around the other's marker, at the exact value.
        for (x, y), depth in zip(points, under):
            if depth:
                ax.plot([x], [y], linestyle="none", marker=style["marker"], markersize=7 + 5 * depth,
                        markerfacecolor="none", markeredgewidth=1.6, color=style["color"])
            taken[(x, y)] = depth + 1
    sizes = np.array(sorted(table["page_size"].unique()))
    ax.plot(sizes, 1 + sizes, ls=":", color="#777777", label="1+N prediction")
    ax.set(xscale="log", yscale="log", xlabel="page size (sessions per page)", ylabel="SQL statements per page load")
    shapes = [f"{name(v, 'loading').replace(' (baseline)', '')}: {_statement_shape(p)}"
              for v, p in table.groupby("variant", sort=False)]
    finding_title(ax, "Statements per page — " + "; ".join(shapes) + f" at page sizes {sizes.min():.0f}–{sizes.max():.0f}")
    legend(ax, "loading")


@faceted
def latency_vs_page_size(df: pd.DataFrame, ax) -> None:
    """Dashboard: median latency (95% median intervals as bars) against page size, per loading strategy. Strategies that also
    load every message (not equal work with lazy) are dashed; the title gives each strategy's latency
    ratio to lazy with its 95% interval, grouped by equal and extra work."""
    table = by_param(df, "dashboard", "page_size")
    if table.empty:
        return not_measured(ax, "dashboard workload")
    top = table[table["page_size"] == table["page_size"].max()]
    work = dashboard_work(top)
    extra = [v for v, said in work.items() if said == EXTRA_ROWS]
    latency_lines(ax, table, "page_size", "loading", dashed=extra, suffix=" + messages")
    ax.set(xscale="log", yscale="log", xlabel="page size (sessions per page)", ylabel="latency per page load (ms)")
    base, best = top[top["variant"] == labels.BASELINE], fastest(top)
    page = f"{top['page_size'].iloc[0]:.0f}"
    found = ratios(df, "dashboard")
    measured = {v: r for v in top["variant"] if v != labels.BASELINE and (r := ratio_of(found, v, top["param"].iloc[0]))}
    if measured:
        def listed(variants):
            return ", ".join(f"{name(v, 'loading')} {measured[v].text()}" for v in variants if v in measured)
        same = [v for v in measured if work.get(v) == SAME_ROWS]
        finding = f"At page size {page}, latency ÷ lazy [95% interval] — equal work (same rows): " \
                  f"{listed(same) or 'none'}"
        if extra:
            finding += f"; also loading every message (dashed): {listed(extra)}"
    else:
        finding = f"At page size {page}: fastest is {name(best['variant'], 'loading')} ({ms(best['median_s'])})"
        if not base.empty:
            finding += f", {base['median_s'].iloc[0] / best['median_s']:.1f}× faster than lazy " \
                       f"({ms(base['median_s'].iloc[0])})"
        if extra:
            finding += f"; {', '.join(name(v, 'loading') for v in extra)} also load{'s' if len(extra) == 1 else ''} " \
                       f"every message (dashed)"
    finding_title(ax, finding)
    legend(ax, "loading")


@faceted
def latency_bars(df: pd.DataFrame, ax, workload: str = "session_detail", axis: str = "loading") -> None:
    """Median latency (95% interval whiskers) per parameter value and variant of one workload, as a dot plot;
    the title says which variant wins and by how much against the baseline."""
    table = summary(df, workload)
    if table.empty:
        return not_measured(ax, f"{workload} workload")
    table["case"] = table["param"].replace("", workload)
    grouped_points(ax, table, "case", "median_s", axis, errors=True, scale=MS, label=lambda r: ms(r["median_s"]))
    scale_from_zero_or_log(ax, table["median_s"])
    ax.set(xlabel=f"{workload} case", ylabel="median latency (ms" + (", log scale)" if ax.get_yscale() == "log" else ")"))
    finding_title(ax, _winner(table, workload, axis))


def _winner(table: pd.DataFrame, workload: str, axis: str) -> str:
    """'session_detail: joined is fastest in every case, 1.8–2.4× faster than lazy (baseline)'."""
    winners = {case: fastest(part) for case, part in table.groupby("case", sort=False)}
    names = {name(best["variant"], axis) for best in winners.values()}
    if len(names) > 1:
        worst = table.loc[table["median_s"].idxmax()]
        best = winners[worst["case"]]
        return f"{workload}: no single winner — " + "; ".join(
            f"{plain(case)}: {name(best['variant'], axis)} fastest" for case, best in winners.items()) + \
            f"; slowest {name(worst['variant'], axis)} on {plain(worst['case'])}, " \
            f"{worst['median_s'] / best['median_s']:.1f}× the fastest"
    speedups = []
    for case, best in winners.items():
        base = table[(table["case"] == case) & (table["variant"] == labels.BASELINE)]
        if not base.empty and best["variant"] != labels.BASELINE:
            speedups.append(base["median_s"].iloc[0] / best["median_s"])
    finding = f"{workload}: {names.pop()} is fastest in every case"
    if speedups:
        spread = f"{min(speedups):.1f}×" if round(min(speedups), 1) == round(max(speedups), 1) else \
            f"{min(speedups):.1f}–{max(speedups):.1f}×"
        finding += f", {spread} faster than {name(labels.BASELINE, axis)}"
    return finding


# What the row-explosion chart can count, best first: (column, axis label, what the title calls it).
ROW_MEASURES = (
    ("wire_rows", "rows the server sent, all statements of a page load", "its statements return"),
    ("plan_rows", "rows the main statement returns\n(the other statements' rows are not counted)",
     "its main statement alone returns"),
)


@faceted
def row_explosion(df: pd.DataFrame, ax) -> None:
    """Dashboard: rows fetched per page load against the rows the page uses.

    A JOIN of two collections returns their product. Counts every statement's rows when the results
    hold them (wire_rows), else the main statement's (plan_rows) and says so; without either, rows
    per statement."""
    table = by_param(df, "dashboard", "page_size")
    if table.empty:
        return not_measured(ax, "dashboard workload")
    column, ylabel, verb = next(((c, label, verb) for c, label, verb in ROW_MEASURES
                                 if c in table and table[c].notna().any()), (None, "rows per SQL statement", ""))
    table["y"] = table[column] if column else table["rows"] / table["statements"]
    for variant, part in table.groupby("variant", sort=False):
        part = part.sort_values("page_size")
        ax.plot(part["page_size"], part["y"], label=name(variant, "loading"), **marker_style(variant))
    used = table.groupby("page_size")["rows"].max()
    ax.plot(used.index, used.to_numpy(), ls=":", color="#777777", label="rows the page uses\n(sessions + skill names)")
    ax.set(xscale="log", yscale="log", xlabel="page size (sessions per page)", ylabel=ylabel)
    top = table[table["page_size"] == table["page_size"].max()]
    worst = top.loc[top["y"].idxmax()]
    if column == "wire_rows":
        groups = top.groupby("y", sort=False)["variant"].apply(lambda vs: ", ".join(_short_name(v) for v in vs))
        finding = f"At page size {worst['page_size']:.0f} the page uses {worst['rows']:,.0f} rows; the server sends " + \
            "; ".join(f"{rows:,.0f} ({rows / worst['rows']:.1f}×) for {names}"
                      for rows, names in sorted(groups.items(), reverse=True))
    elif column:
        finding = f"At page size {worst['page_size']:.0f}, {name(worst['variant'], 'loading')} fetches the most: " \
                  f"{verb} {worst['y']:,.0f} rows for a page that uses {worst['rows']:,.0f} " \
                  f"({worst['y'] / worst['rows']:.1f}×)"
    else:
        finding = f"At page size {worst['page_size']:.0f}, {name(worst['variant'], 'loading')} carries " \
                  f"{worst['y']:,.0f} rows per statement, lazy " \
                  f"{top.loc[top['variant'] == labels.BASELINE, 'y'].min():,.1f}"
    finding_title(ax, finding)
    legend(ax, "loading")


def _rtt_table(df: pd.DataFrame) -> pd.DataFrame:
    """Dashboard medians per variant and added RTT at the page size measured at the most RTTs (the
    default run's relay pass measures one), variants measured at two RTTs or more only, with
    `page_size`; empty when no page size has two."""
    table = summary(df, "dashboard", by=("param", "variant", "rtt_ms"))
    if table.empty:
        return table
    table["page_size"] = table["param"].map(param_value)
    spread = table.groupby("page_size")["rtt_ms"].nunique()
    if spread.max() < 2:
        return table.iloc[0:0]
    page = max(size for size, count in spread.items() if count == spread.max())
    table = table[table["page_size"] == page]
    return table[table.groupby("variant")["rtt_ms"].transform("nunique") >= 2]


def _short_name(variant: str) -> str:
    return name(variant, "loading").replace(" (baseline)", "")


@faceted
def latency_vs_rtt(df: pd.DataFrame, ax) -> None:
    """Dashboard: latency against added round-trip time, one page size, per loading strategy, beside the
    least each strategy's round trips let an added RTT cost (dotted: round trips × RTT, drawn from the
    smallest relayed RTT, since 0 ms is a direct connection without the relay's own overhead)."""
    table = _rtt_table(df)
    if table.empty:
        return not_measured(ax, "one round-trip time only (run with --rtt-ms 0,1,3, or without --only rtt_ms)")
    latency_lines(ax, table, "rtt_ms", "loading")
    rtts = np.array(sorted(table["rtt_ms"].unique()))
    label = "least an added RTT can cost: round trips × RTT"
    slopes = {}
    for variant, part in table.groupby("variant", sort=False):
        relayed = part[part["rtt_ms"] > 0].sort_values("rtt_ms")
        start = (relayed if not relayed.empty else part.sort_values("rtt_ms")).iloc[0]
        if "round_trips" not in part or pd.isna(start["round_trips"]):
            continue
        ax.plot(rtts, start["median_s"] * MS + start["round_trips"] * (rtts - start["rtt_ms"]), ls=":", lw=1,
                color=marker_style(variant)["color"], label=label)
        label = None  # one legend entry for every dotted line
        if len(relayed) >= 2:  # the slope between relayed points: the relay's own overhead cancels out
            first, last = relayed.iloc[0], relayed.iloc[-1]
            slopes[variant] = ((last["median_s"] - first["median_s"]) * MS / (last["rtt_ms"] - first["rtt_ms"]),
                               start["round_trips"])
    page = f"{table['page_size'].iloc[0]:.0f}"
    top = table[table["rtt_ms"] == rtts.max()].sort_values("median_s", ascending=False)
    finding = f"At {rtts.max():g} ms added RTT: " + ", ".join(
        f"{_short_name(row['variant'])} {ms(row['median_s'])}" for _, row in top.iterrows())
    if slopes:
        finding += "; per added ms: " + ", ".join(
            f"{_short_name(v)} {slope:+.1f} ms ({trips:.0f} round trips)" for v, (slope, trips) in slopes.items())
    finding_title(ax, finding)
    ax.set(xlabel="added round-trip time (ms; 0 = direct connection, others through the relay)",
           ylabel=f"latency per page load at page size {page} (ms)")
    log_if_spread(ax, table["median_s"])
    legend(ax, "loading")
