"""Drawing helpers the charts share: one panel per results source, finding titles, legends outside
the data, log scales for wide spreads, error bars that are the interval the title names, grouped
bars and latency lines."""

from __future__ import annotations

import functools
import math
import textwrap

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from bench.report.plotting.style import MS, colour, marker_style, name, plain

# A series is drawn on a log scale when its largest value is this many times its smallest.
LOG_SPAN = 30.0


def _sources(df: pd.DataFrame) -> list[str]:
    """Columns that tell results files apart for side-by-side panels (not scale: that is an x axis)."""
    return [column for column in ("image", "server_version", "commit")
            if column in df and df[column].fillna("-").nunique() > 1]


def _source_label(row: pd.Series, columns: list[str]) -> str:
    return plain(" · ".join(f"{row[column] or 'embedded'}" if column == "image" else str(row[column])
                            for column in columns))


def faceted(draw):
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
        fig = Figure(figsize=(8.5 * len(groups), 4.6))  # room for each panel's legend outside its data
        for index, (_, part) in enumerate(groups, start=1):
            panel = fig.add_subplot(1, len(groups), index)
            draw(part, panel, **options)
            source = textwrap.shorten(_source_label(part.iloc[0], columns), 60, placeholder="…")
            panel.set_title(f"[{source}]\n{panel.get_title(loc='left')}", fontsize=9, loc="left")
        fig.tight_layout()
        return fig

    return wrapper


# What every latency error bar is, said in the title of each chart that draws one.
BARS = "Error bars: 95% interval of each median (over its trials)."


def finding_title(ax, finding: str) -> None:
    text = textwrap.fill(finding, 64)
    ax.set_title(f"{text}\n{BARS}" if getattr(ax, "sessionbench_bars", False) else text, fontsize=10, loc="left")


def name_bars(ax) -> None:
    """The chart draws median intervals (`interval_errors`): its title says so, whether set before or after."""
    ax.sessionbench_bars = True
    title = ax.get_title(loc="left")
    if title and BARS not in title:
        ax.set_title(f"{title}\n{BARS}", fontsize=10, loc="left")


def legend(ax, title: str | None = None) -> None:
    # Outside the axes, to the right: a legend never sits on top of data.
    ax.legend(title=title, loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, title_fontsize=8,
              frameon=False)


def log_if_spread(ax, values, axis: str = "y") -> None:
    values = np.asarray([v for v in values if v and v > 0 and not math.isnan(v)], dtype=float)
    if values.size and values.max() / values.min() >= LOG_SPAN:
        (ax.set_yscale if axis == "y" else ax.set_xscale)("log")


def interval_errors(part: pd.DataFrame, ax=None) -> np.ndarray:
    """Asymmetric error bars, in ms, from each median's 95% interval over its trials (`median_low_s`,
    `median_high_s`: bench.results); none where a case had too few trials for one. With `ax`, the
    chart's title says what the bars are (`name_bars`)."""
    if ax is not None:
        name_bars(ax)
    if "median_low_s" not in part or "median_high_s" not in part:
        return np.zeros((2, len(part)))
    low = (part["median_s"] - part["median_low_s"]).clip(lower=0) * MS
    high = (part["median_high_s"] - part["median_s"]).clip(lower=0) * MS
    return np.vstack([low.fillna(0).to_numpy(), high.fillna(0).to_numpy()])


def bar_top(part: pd.DataFrame, scale: float = 1.0) -> np.ndarray:
    """Where a value's label goes: above its error bar's top when it has one."""
    ys = part["median_s"].to_numpy(dtype=float) * scale
    high = part["median_high_s"].to_numpy(dtype=float) * scale if "median_high_s" in part else ys
    return np.fmax(ys, np.nan_to_num(high, nan=-np.inf))


def not_measured(ax, what: str) -> None:
    """A panel whose measurement the run did not make. A chart of such panels only is not drawn in the
    report: `style.publish` shows its one line instead (`style.missing` reads `what`)."""
    ax.sessionbench_missing = what
    ax.text(0.5, 0.5, f"not measured: {what}", ha="center", va="center", transform=ax.transAxes, fontsize=10)
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_frame_on(False)
    if len(ax.figure.axes) == 1:  # a one-line notice, not a chart-sized blank
        ax.figure.set_size_inches(7.5, 1.0)
    finding_title(ax, f"Not measured: {what}")


def _slots(table: pd.DataFrame, group: str):
    """Cluster positions: (groups, variants, one x offset per variant, slot width)."""
    groups = list(dict.fromkeys(table[group]))
    variants = list(dict.fromkeys(table["variant"]))
    # One mark per cluster when the clusters are the variants themselves.
    slots = 1 if group == "variant" else len(variants)
    width = 0.8 / max(slots, 1)
    offsets = [0 if slots == 1 else (index - (slots - 1) / 2) * width for index in range(len(variants))]
    return groups, variants, offsets, width


def _placed(table: pd.DataFrame, group: str, groups: list, variant: str, offset: float):
    """One variant's rows in cluster order (NaN where it has none) and their x positions."""
    own = [variant] if group == "variant" else groups  # variants as clusters: each only in its own
    part = table[table["variant"] == variant].set_index(group).reindex(own)
    return part, np.array([groups.index(g) for g in own], dtype=float) + offset


def _not_applicable(ax, x: float) -> None:
    """An explicit "n/a" where a variant has no value, instead of a gap a reader takes for zero."""
    ax.annotate("n/a", (x, 0.02), xycoords=("data", "axes fraction"), ha="center", va="bottom", fontsize=7,
                color="#777777")


def _cluster_ticks(ax, groups: list, axis: str, variants: list) -> None:
    ax.set_xticks(np.arange(len(groups)), ["\n".join(textwrap.shorten(line, 40, placeholder="…")
                                                     for line in plain(g).splitlines()) for g in groups])
    if groups != variants:  # variants as clusters are named on the x axis; otherwise a legend names them
        legend(ax, axis)


def grouped_bars(ax, table: pd.DataFrame, group: str, value: str, axis: str, *, labels=None) -> None:
    """Grouped bars on a linear axis from 0 (bar lengths are the values): one cluster per `group`
    value, one bar per variant in a fixed colour, "n/a" where a variant has no value."""
    groups, variants, offsets, width = _slots(table, group)
    for variant, offset in zip(variants, offsets):
        part, xs = _placed(table, group, groups, variant, offset)
        heights = part[value].to_numpy(dtype=float)
        ax.bar(xs, heights, width * 0.95, color=colour(variant), label=name(variant, axis), edgecolor="white")
        texts = labels(part) if labels is not None else [""] * len(xs)
        for x, top, text in zip(xs, heights, texts):
            if math.isnan(top):
                _not_applicable(ax, x)
            else:
                ax.annotate(plain(text), (x, top), xytext=(0, 3), textcoords="offset points", ha="center",
                            va="bottom", fontsize=7)
    ax.set_ylim(bottom=0)
    _cluster_ticks(ax, groups, axis, variants)


def grouped_points(ax, table: pd.DataFrame, group: str, value: str, axis: str, *, label, errors: bool = False,
                   scale: float = 1.0) -> None:
    """A dot plot: one cluster per `group` value, one point per variant (fixed colour and marker), its
    value written beside it, 95% median intervals when `errors`, "n/a" where a variant has no value. Points
    stay honest on a log axis, where bar lengths would not be proportional to the values."""
    groups, variants, offsets, _ = _slots(table, group)
    upright = len(variants) >= 3  # side by side, three labels or more would overlap: written upwards
    for variant, offset in zip(variants, offsets):
        part, xs = _placed(table, group, groups, variant, offset)
        ys = part[value].to_numpy(dtype=float) * scale
        ax.errorbar(xs, ys, yerr=interval_errors(part, ax) if errors else None, capsize=3, linestyle="none", markersize=7,
                    label=name(variant, axis), elinewidth=1, **marker_style(variant))
        tops = np.fmax(ys, bar_top(part, scale)) if errors else ys  # above the whisker
        for x, y, top, row in zip(xs, ys, tops, (row for _, row in part.iterrows())):
            if math.isnan(y):
                _not_applicable(ax, x)
            else:
                ax.annotate(plain(label(row)), (x, top), xytext=(0, 5), textcoords="offset points", ha="center",
                            va="bottom", fontsize=7, rotation=90 if upright else 0)
    ax.set_xlim(-0.6, len(groups) - 0.4)
    ax.margins(y=0.3 if upright else 0.15)
    _cluster_ticks(ax, groups, axis, variants)


def scale_from_zero_or_log(ax, values) -> None:
    """Log when the values span LOG_SPAN or more (said in the axis label by the caller), else a linear
    axis starting at 0 so that distances compare."""
    log_if_spread(ax, values)
    if ax.get_yscale() != "log":
        ax.set_ylim(bottom=0)


def latency_lines(ax, table: pd.DataFrame, x: str, axis: str, *, errors: bool = True, dashed=(),
                  suffix: str = "") -> None:
    """One line per variant of median latency (ms) against `x`, 95% median intervals as error bars; variants in `dashed`
    are drawn dashed, their legend names followed by `suffix`."""
    for variant, part in table.groupby("variant", sort=False):
        part = part.sort_values(x)
        ax.errorbar(part[x], part["median_s"] * MS, yerr=interval_errors(part, ax) if errors else None, capsize=3,
                    label=name(variant, axis) + (suffix if variant in dashed else ""), markersize=5,
                    linestyle="--" if variant in dashed else "-", **marker_style(variant))
