"""Charts for the report: one function per question, each `(df, ax=None) -> Figure`.

Every chart follows the same conventions so a reader learns them once: one fixed colour
(and marker) per variant everywhere, latency in milliseconds with IQR error bars, log
scales where values span orders of magnitude, legends outside the data, and a title that
states the finding computed from the data. Figures are built without pyplot (no global
state, no display backend needed) and rendered to PNG with Agg. Several results files that
differ in image, server version or commit are drawn side by side, one panel each.
"""

from __future__ import annotations

import functools
import hashlib
import io
import math
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import NullFormatter, ScalarFormatter

from bench.stats import fit_loglog_slope
from models_variants import BASELINE

# Okabe & Ito's colour-blind-safe palette. The reviewed baseline is always black; within an
# axis the alternatives take the palette in declared order, so no chart shows a colour twice.
COLOURS = {
    "baseline": "#000000",
    "loading=selectin": "#0072B2", "loading=joined": "#E69F00", "loading=subquery": "#009E73",
    "loading=raise": "#CC79A7",
    "sync_flag=jsonb_gin": "#0072B2", "sync_flag=jsonb_expr": "#E69F00", "sync_flag=bool_column": "#009E73",
    "sync_flag=sync_table": "#CC79A7",
    "deletion=hard_db": "#0072B2", "deletion=soft": "#E69F00",
    "audio_storage=storage_key": "#0072B2",
    "timestamps=aware": "#0072B2",
}
MARKERS = {"#000000": "o", "#0072B2": "s", "#E69F00": "^", "#009E73": "D", "#CC79A7": "v", "#D55E00": "P"}
# Variants from a full grid ("loading=joined,deletion=soft") get a colour derived from the label.
_SPARE = ["#D55E00", "#56B4E9", "#F0E442", "#999999", "#882255", "#44AA99"]
DPI = 110
MS = 1000.0  # seconds -> milliseconds
# A series is drawn on a log scale when its largest value is this many times its smallest.
LOG_SPAN = 30.0


def colour(variant: str) -> str:
    if variant in COLOURS:
        return COLOURS[variant]
    digest = int(hashlib.sha1(variant.encode()).hexdigest(), 16)
    return _SPARE[digest % len(_SPARE)]


def name(variant: str, axis: str | None = None) -> str:
    """Legend text: the axis value ("selectin"), the baseline as "lazy (baseline)"."""
    if variant == "baseline":
        return f"{getattr(BASELINE, axis)} (baseline)" if axis else "baseline"
    if "," not in variant and "=" in variant:
        return variant.split("=", 1)[1]
    return variant


def _style(variant: str) -> dict:
    shade = colour(variant)
    return {"color": shade, "marker": MARKERS.get(shade, "o")}


def save(fig: Figure, out_dir: str | Path | None, name_: str) -> Path | None:
    """Write `<out_dir>/<name>.png`; nothing when out_dir is None (interactive use)."""
    if out_dir is None:
        return None
    path = Path(out_dir) / f"{name_}.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    FigureCanvasAgg(fig)
    fig.savefig(path, dpi=DPI, bbox_inches="tight")
    return path


def publish(fig: Figure, out_dir: str | Path | None, name_: str):
    """Save the chart and return it as a PNG image, so a notebook cell shows it under any backend."""
    from IPython.display import Image

    save(fig, out_dir, name_)
    FigureCanvasAgg(fig)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI, bbox_inches="tight")
    return Image(data=buffer.getvalue(), format="png")


# ---------------------------------------------------------------- shared plumbing
def _sources(df: pd.DataFrame) -> list[str]:
    """Columns that tell results files apart for side-by-side panels (not scale: that is an x axis)."""
    return [column for column in ("image", "server_version", "commit")
            if column in df and df[column].fillna("-").nunique() > 1]


def _source_label(row: pd.Series, columns: list[str]) -> str:
    return " · ".join(f"{row[column] or 'embedded'}" if column == "image" else str(row[column]) for column in columns)


def _faceted(draw):
    """Run `draw` once per results source, side by side, when the frame mixes several."""

    @functools.wraps(draw)
    def wrapper(df: pd.DataFrame, ax=None, **options) -> Figure:
        columns = _sources(df)
        if ax is not None or not columns:
            if ax is None:
                fig = Figure(figsize=(7.5, 4.2))
                ax = fig.add_subplot()
            draw(df, ax, **options)
            return ax.figure
        groups = list(df.groupby(columns, dropna=False, sort=True))
        fig = Figure(figsize=(6.5 * len(groups), 4.4))
        for index, (_, part) in enumerate(groups, start=1):
            panel = fig.add_subplot(1, len(groups), index)
            draw(part, panel, **options)
            panel.set_title(f"[{_source_label(part.iloc[0], columns)}]\n{panel.get_title(loc='left')}", fontsize=9,
                            loc="left")
        fig.tight_layout()
        return fig

    return wrapper


def _largest_scale(df: pd.DataFrame) -> pd.DataFrame:
    if df["sessions"].notna().any():
        return df[df["sessions"] == df["sessions"].max()]
    return df


def summary(df: pd.DataFrame, workload: str, by: tuple[str, ...] = ("param", "variant")) -> pd.DataFrame:
    """Median over repeated results of the same benchmark, at the largest scale and zero added RTT."""
    part = df[df["workload"] == workload]
    if part.empty:
        return part
    if "rtt_ms" not in by and part["rtt_ms"].notna().any():
        part = part[part["rtt_ms"] == part["rtt_ms"].min()]
    if "sessions" not in by:
        part = _largest_scale(part)
    numbers = ["statements", "rows", "median_s", "q1_s", "q3_s", "wal_bytes", "index_bytes", "table_bytes",
               "orphans", "leaks", *([c for c in ("plan_rows",) if c in part])]
    table = part.groupby(list(by), dropna=False, sort=False)[numbers].median(numeric_only=True)
    text = part.groupby(list(by), dropna=False, sort=False)[["plan_top", "seq_scan"]].first()
    return table.join(text).reset_index()


def param_value(param: str) -> float | str:
    """'page_size=100' -> 100.0; 'timezone=UTC' -> 'UTC'."""
    value = str(param).split("=", 1)[-1]
    try:
        return float(value)
    except ValueError:
        return value


def ms(seconds: float) -> str:
    value = seconds * MS
    return f"{value:.3g} ms" if value < 1000 else f"{seconds:.2f} s"


def size(count: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if abs(count) < 1024 or unit == "GiB":
            return f"{count:.0f} {unit}" if unit == "B" or count >= 100 else f"{count:.3g} {unit}"
        count /= 1024
    return ""


def _title(ax, finding: str) -> None:
    ax.set_title(textwrap.fill(finding, 64), fontsize=10, loc="left")


def _legend(ax, title: str | None = None) -> None:
    # Outside the axes, to the right: a legend never sits on top of data.
    ax.legend(title=title, loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, title_fontsize=8,
              frameon=False)


def _log_if_spread(ax, values, axis: str = "y") -> None:
    values = np.asarray([v for v in values if v and v > 0 and not math.isnan(v)], dtype=float)
    if values.size and values.max() / values.min() >= LOG_SPAN:
        (ax.set_yscale if axis == "y" else ax.set_xscale)("log")


def _errors(part: pd.DataFrame) -> np.ndarray:
    """Asymmetric error bars from the quartiles, in ms (never negative)."""
    low = (part["median_s"] - part["q1_s"]).clip(lower=0) * MS
    high = (part["q3_s"] - part["median_s"]).clip(lower=0) * MS
    return np.vstack([low.fillna(0).to_numpy(), high.fillna(0).to_numpy()])


def _empty(ax, what: str) -> None:
    ax.text(0.5, 0.5, f"not measured: {what}", ha="center", va="center", transform=ax.transAxes, fontsize=10)
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_frame_on(False)
    if len(ax.figure.axes) == 1:  # a one-line notice, not a chart-sized blank
        ax.figure.set_size_inches(7.5, 1.0)
    _title(ax, f"Not measured: {what}")


def _bars(ax, table: pd.DataFrame, group: str, value: str, axis: str, *, errors: bool = False,
          scale: float = 1.0, labels=None) -> None:
    """Grouped bars: one cluster per `group` value, one bar per variant in a fixed colour."""
    groups = list(dict.fromkeys(table[group]))
    variants = list(dict.fromkeys(table["variant"]))
    # One bar per cluster when the clusters are the variants themselves.
    slots = 1 if group == "variant" else len(variants)
    width = 0.8 / max(slots, 1)
    for index, variant in enumerate(variants):
        part = table[table["variant"] == variant].set_index(group).reindex(groups)
        offset = 0 if slots == 1 else (index - (slots - 1) / 2) * width
        xs = np.arange(len(groups)) + offset
        heights = part[value].to_numpy(dtype=float) * scale
        yerr = _errors(part) if errors else None
        ax.bar(xs, heights, width * 0.95, yerr=yerr, capsize=3, color=colour(variant), label=name(variant, axis),
               edgecolor="white", error_kw={"ecolor": "#555555", "elinewidth": 1})
        if labels is not None:
            # Above the error bar, so the label never sits on the whisker.
            tops = np.fmax(heights, part["q3_s"].to_numpy(dtype=float) * scale) if errors else heights
            for x, top, text in zip(xs, tops, labels(part)):
                if not math.isnan(top):
                    ax.annotate(text, (x, top), xytext=(0, 3), textcoords="offset points", ha="center",
                                va="bottom", fontsize=7, rotation=90 if slots * len(groups) > 8 else 0)
    ax.set_xticks(np.arange(len(groups)), [str(g) for g in groups])
    if slots > 1:  # bars per variant need a legend; variants as clusters are named on the x axis
        _legend(ax, axis)



def _xy_lines(ax, table: pd.DataFrame, x: str, axis: str, *, errors: bool = True) -> None:
    """One line per variant of median latency (ms) against `x`, IQR as error bars."""
    for variant, part in table.groupby("variant", sort=False):
        part = part.sort_values(x)
        ax.errorbar(part[x], part["median_s"] * MS, yerr=_errors(part) if errors else None, capsize=3,
                    label=name(variant, axis), markersize=5, **_style(variant))


def _fastest(table: pd.DataFrame) -> pd.Series:
    return table.loc[table["median_s"].idxmin()]


# ---------------------------------------------------------------- C1: loading strategies
def _statement_shape(part: pd.DataFrame) -> str:
    sizes, counts = part["page_size"].to_numpy(), part["statements"].to_numpy()
    if len(sizes) > 1 and np.all(counts == 1 + sizes):
        return f"1+N ({counts.min():.0f}→{counts.max():.0f})"
    return f"{counts.min():.0f}" if counts.min() == counts.max() else f"{counts.min():.0f}–{counts.max():.0f}"


@_faceted
def statements_vs_page_size(df: pd.DataFrame, ax) -> None:
    """Dashboard: SQL statements per page load against page size, per loading strategy."""
    table = summary(df, "dashboard")
    if table.empty:
        return _empty(ax, "dashboard workload")
    table["page_size"] = table["param"].map(param_value)
    for variant, part in table.groupby("variant", sort=False):
        part = part.sort_values("page_size")
        ax.plot(part["page_size"], part["statements"], label=name(variant, "loading"), **_style(variant))
    sizes = np.array(sorted(table["page_size"].unique()))
    ax.plot(sizes, 1 + sizes, ls=":", color="#777777", label="1+N prediction")
    ax.set(xscale="log", yscale="log", xlabel="page size (sessions per page)", ylabel="SQL statements per page load")
    shapes = [f"{name(v, 'loading').replace(' (baseline)', '')}: {_statement_shape(p)}"
              for v, p in table.groupby("variant", sort=False)]
    _title(ax, "Statements per page — " + "; ".join(shapes) + f" at page sizes {sizes.min():.0f}–{sizes.max():.0f}")
    _legend(ax, "loading")


@_faceted
def latency_vs_page_size(df: pd.DataFrame, ax) -> None:
    """Dashboard: median latency (IQR bars) against page size, per loading strategy."""
    table = summary(df, "dashboard")
    if table.empty:
        return _empty(ax, "dashboard workload")
    table["page_size"] = table["param"].map(param_value)
    _xy_lines(ax, table, "page_size", "loading")
    ax.set(xscale="log", yscale="log", xlabel="page size (sessions per page)", ylabel="latency per page load (ms)")
    top = table[table["page_size"] == table["page_size"].max()]
    base, best = top[top["variant"] == "baseline"], _fastest(top)
    finding = f"At page size {top['page_size'].iloc[0]:.0f}: fastest is {name(best['variant'], 'loading')} " \
              f"({ms(best['median_s'])})"
    if not base.empty:
        finding += f", {base['median_s'].iloc[0] / best['median_s']:.1f}× faster than lazy ({ms(base['median_s'].iloc[0])})"
        selectin = top[top["variant"] == "loading=selectin"]
        if not selectin.empty and best["variant"] != "loading=selectin":
            finding += f"; selectin {ms(selectin['median_s'].iloc[0])}"
    _title(ax, finding)
    _legend(ax, "loading")


@_faceted
def latency_bars(df: pd.DataFrame, ax, workload: str = "session_detail", axis: str = "loading") -> None:
    """Median latency (IQR bars) per parameter value and variant of one workload."""
    table = summary(df, workload)
    if table.empty:
        return _empty(ax, f"{workload} workload")
    table["case"] = table["param"].replace("", workload)
    _bars(ax, table, "case", "median_s", axis, errors=True, scale=MS)
    ax.set(xlabel=f"{workload} case", ylabel="latency (ms)")
    _log_if_spread(ax, table["median_s"])
    findings = []
    for case, part in table.groupby("case", sort=False):
        best, worst = _fastest(part), part.loc[part["median_s"].idxmax()]
        findings.append(f"{case}: fastest {name(best['variant'], axis)} {ms(best['median_s'])}, slowest "
                        f"{name(worst['variant'], axis)} {ms(worst['median_s'])} "
                        f"({worst['median_s'] / best['median_s']:.1f}×)")
    _title(ax, "; ".join(findings))


@_faceted
def row_explosion(df: pd.DataFrame, ax) -> None:
    """Dashboard: rows the main statement returns per page (plan_rows) against the rows the page uses.

    A JOIN of two collections returns their product; without plan_rows in the results, rows per
    statement is drawn instead (one fat statement against many thin ones)."""
    table = summary(df, "dashboard")
    if table.empty:
        return _empty(ax, "dashboard workload")
    table["page_size"] = table["param"].map(param_value)
    wire = "plan_rows" in table and table["plan_rows"].notna().any()
    table["y"] = table["plan_rows"] if wire else table["rows"] / table["statements"]
    for variant, part in table.groupby("variant", sort=False):
        part = part.sort_values("page_size")
        ax.plot(part["page_size"], part["y"], label=name(variant, "loading"), **_style(variant))
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
    _title(ax, finding)
    _legend(ax, "loading")


@_faceted
def latency_vs_rtt(df: pd.DataFrame, ax) -> None:
    """Dashboard at the largest page size: latency against added round-trip time, with 1+N's prediction."""
    part = df[df["workload"] == "dashboard"]
    if part.empty or part["rtt_ms"].nunique() < 2:
        return _empty(ax, "one round-trip time only (run with --rtt-ms 0,1,5)")
    table = summary(part, "dashboard", by=("param", "variant", "rtt_ms"))
    table["page_size"] = table["param"].map(param_value)
    table = table[table["page_size"] == table["page_size"].max()]
    _xy_lines(ax, table, "rtt_ms", "loading")
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
            best = _fastest(others)
            finding += f"; {name(best['variant'], 'loading')} {ms(best['median_s'])}"
        _title(ax, finding)
    ax.set(xlabel="added round-trip time (ms)", ylabel=f"latency at page size {table['page_size'].max():.0f} (ms)")
    _log_if_spread(ax, table["median_s"])
    _legend(ax, "loading")


# ---------------------------------------------------------------- C2: sync flag
def _plan(row: pd.Series) -> str:
    top = row.get("plan_top")
    return "?" if not isinstance(top, str) else top + ("\n(+ Seq Scan)" if row.get("seq_scan") is True
                                                        and top != "Seq Scan" else "")


@_faceted
def active_sync(df: pd.DataFrame, ax) -> None:
    """Active-sync lookup per sync_flag variant: log-log against table size with fitted slopes when
    several sizes were measured, otherwise bars annotated with the plan shape."""
    part = df[df["workload"] == "active_sync"]
    if part.empty:
        return _empty(ax, "active_sync workload")
    if part["sessions"].nunique() > 1:
        table = summary(part, "active_sync", by=("variant", "sessions"))
        slopes = {}
        for variant, rows in table.groupby("variant", sort=False):
            rows = rows.sort_values("sessions")
            slope, _ = fit_loglog_slope(rows["sessions"], rows["median_s"])
            slope = slopes[variant] = round(slope, 2) + 0.0  # + 0.0: never print "-0.00"
            ax.errorbar(rows["sessions"], rows["median_s"] * MS, yerr=_errors(rows), capsize=3, markersize=5,
                        label=f"{name(variant, 'sync_flag')}: slope {slope:.2f}", **_style(variant))
        ax.set(xscale="log", yscale="log", xlabel="sessions in the table", ylabel="active_sync latency (ms)")
        ax.xaxis.set_major_formatter(ScalarFormatter())
        ax.xaxis.set_minor_formatter(NullFormatter())
        ax.set_xticks(sorted(table["sessions"].unique()))
        grows = [f"{name(v, 'sync_flag')} as $N^{{{slopes[v]:.2f}}}$" for v in ("baseline", "sync_flag=bool_column")
                 if v in slopes]
        finding = "Latency grows " + ", ".join(grows) + f" (log-log slope, {part['sessions'].min():,.0f}–" \
                  f"{part['sessions'].max():,.0f} sessions; 1 = linear scan, 0 = constant)"
        _title(ax, finding)
        _legend(ax, "sync_flag")
        return
    table = summary(part, "active_sync", by=("variant",))
    table["case"] = "active_sync"
    _bars(ax, table, "variant", "median_s", "sync_flag", errors=True, scale=MS, labels=lambda p: [_plan(r) for _, r in p.iterrows()])
    ax.set_xticks(range(len(table)), [name(v, "sync_flag") for v in table["variant"]], rotation=20)
    ax.set(xlabel="sync_flag variant (bar label: top plan node)", ylabel="active_sync latency (ms)")
    _log_if_spread(ax, table["median_s"])
    ax.set_ylim(top=ax.get_ylim()[1] * (3 if ax.get_yscale() == "log" else 1.35))
    base = table[table["variant"] == "baseline"]
    finding = []
    for variant in ("baseline", "sync_flag=bool_column"):
        rows = table[table["variant"] == variant]
        if not rows.empty:
            finding.append(f"{name(variant, 'sync_flag')}: {_plan(rows.iloc[0])}, {ms(rows['median_s'].iloc[0])}")
    best = _fastest(table)
    if best["variant"] not in ("baseline", "sync_flag=bool_column"):
        finding.append(f"fastest {name(best['variant'], 'sync_flag')}: {_plan(best)}, {ms(best['median_s'])}")
    _title(ax, ("; ".join(finding) + f" at {part['sessions'].max():,.0f} sessions").replace("\n", " "))


@_faceted
def read_write_tradeoff(df: pd.DataFrame, ax) -> None:
    """active_sync (read) against mark_sync (write) latency; marker area shows the schema's index bytes."""
    reads, writes = summary(df, "active_sync", by=("variant",)), summary(df, "mark_sync", by=("variant",))
    if reads.empty or writes.empty:
        return _empty(ax, "active_sync and mark_sync workloads")
    table = reads.merge(writes, on="variant", suffixes=("_read", "_write"))
    largest = table["index_bytes_read"].max()
    for _, row in table.iterrows():
        style = _style(row["variant"])
        ax.errorbar(row["median_s_read"] * MS, row["median_s_write"] * MS,
                    xerr=[[max(row["median_s_read"] - row["q1_s_read"], 0) * MS], [max(row["q3_s_read"] - row["median_s_read"], 0) * MS]],
                    yerr=[[max(row["median_s_write"] - row["q1_s_write"], 0) * MS], [max(row["q3_s_write"] - row["median_s_write"], 0) * MS]],
                    color=style["color"], capsize=2, elinewidth=0.8, zorder=1)
        ax.scatter(row["median_s_read"] * MS, row["median_s_write"] * MS, s=60 + 400 * row["index_bytes_read"] / largest,
                   label=f"{name(row['variant'], 'sync_flag')} (indexes {size(row['index_bytes_read'])})", zorder=2,
                   **style, edgecolor="white")
    ax.set(xlabel="active_sync latency, read (ms)", ylabel="mark_sync latency, write (ms)")
    _log_if_spread(ax, table["median_s_read"], "x")
    table["total"] = table["median_s_read"] + table["median_s_write"]
    best, base = table.loc[table["total"].idxmin()], table[table["variant"] == "baseline"]
    finding = f"Cheapest read + write: {name(best['variant'], 'sync_flag')} ({ms(best['median_s_read'])} read, " \
              f"{ms(best['median_s_write'])} write, indexes {size(best['index_bytes_read'])})"
    if not base.empty:
        b = base.iloc[0]
        finding += f"; JSON blob {ms(b['median_s_read'])} read, {ms(b['median_s_write'])} write"
    _title(ax, finding)
    _legend(ax, "sync_flag (marker area: index bytes)")
    for handle in ax.get_legend().legend_handles:  # same size in the legend, whatever the index size
        handle.set_sizes([50])


# ---------------------------------------------------------------- C3/C4: deletion
DELETION_WORKLOADS = ("delete_session", "purge_user", "restore_session", "list_live")


def _deletion_table(df: pd.DataFrame) -> pd.DataFrame:
    """One row per deletion workload x variant; list_live at its largest deleted fraction."""
    frames = []
    for workload in DELETION_WORKLOADS:
        table = summary(df, workload)
        if table.empty:
            continue
        if workload == "list_live":
            fractions = table["param"].map(param_value)
            table = table[fractions == fractions.max()]
            table["case"] = f"list_live\n({fractions.max():.0%} deleted)"
        else:
            table["case"] = workload
        frames.append(table)
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def _soft_ratios(table: pd.DataFrame, value: str) -> list[str]:
    out = []
    for case, part in table.groupby("case", sort=False):
        soft, hard = part[part["variant"] == "deletion=soft"], part[part["variant"] == "baseline"]
        if not soft.empty and not hard.empty and hard[value].iloc[0]:
            out.append(f"{case.splitlines()[0]} {soft[value].iloc[0] / hard[value].iloc[0]:.2f}×")
    return out


@_faceted
def deletion_latency(df: pd.DataFrame, ax) -> None:
    """Delete, purge, restore and list latency per deletion variant, IQR error bars."""
    table = _deletion_table(df)
    if table.empty:
        return _empty(ax, "deletion workloads")
    _bars(ax, table, "case", "median_s", "deletion", errors=True, scale=MS)
    ax.set(xlabel="operation", ylabel="latency (ms)")
    _log_if_spread(ax, table["median_s"])
    ratios = _soft_ratios(table, "median_s")
    restore = table[(table["workload"] == "restore_session")] if "workload" in table else table[table["case"] == "restore_session"]
    finding = "Soft delete ÷ ORM hard delete, time: " + ", ".join(ratios) if ratios else \
        "Latency per deletion variant"
    if not restore.empty:
        finding += f"; restore {ms(restore['median_s'].iloc[0])}"
    _title(ax, finding)


@_faceted
def list_live_vs_fraction(df: pd.DataFrame, ax) -> None:
    """Listing the newest live sessions against the fraction of sessions deleted."""
    table = summary(df, "list_live")
    if table.empty:
        return _empty(ax, "list_live workload")
    table["fraction"] = table["param"].map(param_value) * 100
    _xy_lines(ax, table, "fraction", "deletion")
    ax.set(xlabel="sessions deleted (%)", ylabel="list_live latency (ms)")
    ax.set_ylim(bottom=0)
    top = table[table["fraction"] == table["fraction"].max()]
    soft, hard = top[top["variant"] == "deletion=soft"], top[top["variant"] == "baseline"]
    if not soft.empty and not hard.empty:
        _title(ax, f"With {top['fraction'].iloc[0]:.0f}% deleted, listing live sessions takes {ms(soft['median_s'].iloc[0])} "
                   f"with soft delete vs {ms(hard['median_s'].iloc[0])} with hard delete "
                   f"({soft['median_s'].iloc[0] / hard['median_s'].iloc[0]:.2f}×)")
    else:
        _title(ax, "list_live latency per deleted fraction")
    _legend(ax, "deletion")


@_faceted
def wal_bytes(df: pd.DataFrame, ax, workloads: tuple[str, ...] = ("delete_session", "purge_user", "restore_session"),
              axis: str = "deletion") -> None:
    """WAL bytes written per operation and variant (the write cost replicas and backups pay)."""
    frames = [summary(df, workload).assign(case=workload) for workload in workloads]
    table = pd.concat([f for f in frames if not f.empty], ignore_index=True) if any(not f.empty for f in frames) else None
    if table is None:
        return _empty(ax, ", ".join(workloads))
    _bars(ax, table, "case", "wal_bytes", axis, labels=lambda p: [size(v) if not math.isnan(v) else "" for v in p["wal_bytes"]])
    ax.set(xlabel="operation", ylabel="WAL written per operation (bytes)")
    _log_if_spread(ax, table["wal_bytes"])
    ax.set_ylim(top=ax.get_ylim()[1] * (4 if ax.get_yscale() == "log" else 1.2))
    ratios = _soft_ratios(table, "wal_bytes") if axis == "deletion" else []
    _title(ax, ("Soft delete ÷ ORM hard delete, WAL bytes: " + ", ".join(ratios)) if ratios
           else "WAL bytes per operation")


# ---------------------------------------------------------------- C5: storage, C6: time
@_faceted
def migration_cost(df: pd.DataFrame, ax) -> None:
    """Moving audio to a new storage backend: rows rewritten per variant, labelled with time and WAL."""
    table = summary(df, "migrate_audio_storage", by=("variant",))
    if table.empty:
        return _empty(ax, "migrate_audio_storage workload")
    _bars(ax, table, "variant", "rows", "audio_storage",
          labels=lambda p: [f"{r:,.0f} row{'s' if r != 1 else ''}\n{ms(t)}, {size(w)} WAL" for r, t, w in zip(p["rows"], p["median_s"], p["wal_bytes"])])
    ax.set_xticks(range(len(table)), [name(v, "audio_storage") for v in table["variant"]])
    ax.set(xlabel="audio_storage variant", ylabel="rows rewritten by the migration")
    _log_if_spread(ax, table["rows"])
    ax.set_ylim(top=ax.get_ylim()[1] * (8 if ax.get_yscale() == "log" else 1.3))
    parts = [f"{name(r['variant'], 'audio_storage')} rewrites {r['rows']:,.0f} row{'s' if r['rows'] != 1 else ''} "
             f"({ms(r['median_s'])}, {size(r['wal_bytes'])} WAL)" for _, r in table.iterrows()]
    _title(ax, "Moving audio storage: " + "; ".join(parts))


@_faceted
def timestamps_rows(df: pd.DataFrame, ax) -> None:
    """Rows 'updated in the last 30 days' per server time zone and timestamp variant (same data)."""
    table = summary(df, "recent_activity")
    if table.empty:
        return _empty(ax, "recent_activity workload")
    table["zone"] = table["param"].map(param_value)
    _bars(ax, table, "zone", "rows", "timestamps", labels=lambda p: [f"{v:.0f}" for v in p["rows"]])
    ax.set(xlabel="session TimeZone of the database connection", ylabel="rows returned (same data, same instant)")
    ax.set_ylim(0, table["rows"].max() * 1.25)
    parts = []
    for variant, part in table.groupby("variant", sort=False):
        counts = ", ".join(f"{r:.0f} in {z}" for z, r in zip(part["zone"], part["rows"]))
        same = "same everywhere" if part["rows"].nunique() == 1 else "differs by zone"
        parts.append(f"{name(variant, 'timestamps')}: {counts} ({same})")
    _title(ax, "; ".join(parts))


# Every chart, by the file name the report gives it.
CHARTS = {
    "loading_statements": statements_vs_page_size,
    "loading_latency": latency_vs_page_size,
    "loading_detail_latency": latency_bars,
    "loading_row_explosion": row_explosion,
    "loading_rtt": latency_vs_rtt,
    "sync_active": active_sync,
    "sync_read_write": read_write_tradeoff,
    "deletion_latency": deletion_latency,
    "deletion_list_live": list_live_vs_fraction,
    "deletion_wal": wal_bytes,
    "storage_migration": migration_cost,
    "time_rows_per_zone": timestamps_rows,
}
