"""Growth with the data size: latency against sessions (or nodes per session) on log-log axes, one
line per variant with its fitted slope and interval written on it, and the projection to a
production size drawn dashed with its interval band, labelled as extrapolation."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from matplotlib.ticker import FuncFormatter, NullFormatter

from bench.analysis import growth as numbers
from bench.report.plotting.axes import faceted, finding_title, interval_errors, legend, not_measured
from bench.report.plotting.style import MS, colour, marker_style, ms, name, plain
from bench.analysis.tables import param_value
from bench.data.spec import is_share
from models_variants import labels

# The case a growth chart shows when a workload has several: the review's "fetching 100 sessions".
DEFAULT_PARAMS = {"dashboard": "page_size=100"}
# Which axis a workload's variants run along (legend names such as "lazy (baseline)").
AXIS_OF = {"active_sync": "sync_flag", "mark_sync": "sync_flag", "dashboard": "loading", "list_live": "deletion",
           "migrate_audio_storage": "audio_storage", "backfill_audio_storage": "audio_storage"}
UNITS = {"sessions": "sessions in the table", "nodes_per_session": "mesh nodes per session"}
# The review's fix for each workload: the title sets it against the model as reviewed.
REVIEWED_FIX = {"active_sync": labels.BOOL_COLUMN, "mark_sync": labels.BOOL_COLUMN,
                "dashboard": labels.SELECTIN, "list_live": labels.SOFT,
                "migrate_audio_storage": labels.STORAGE_KEY,
                "backfill_audio_storage": labels.STORAGE_KEY}
# `syncing` may name a kind of setting instead of a value: a fixed count, or a fraction of the sessions.
KINDS = {"count": "a fixed count of syncing sessions (run with --syncing 100)",
         "fraction": "syncing sessions as a fraction of the table (run with --syncing 1%)"}


def chosen_param(df: pd.DataFrame, workload: str) -> str:
    """DEFAULT_PARAMS, else the largest parameter value measured (list_live: the largest deleted fraction)."""
    params = [p for p in dict.fromkeys(df.loc[df["workload"] == workload, "param"].fillna(""))]
    if DEFAULT_PARAMS.get(workload) in params:
        return DEFAULT_PARAMS[workload]
    numeric = [p for p in params if isinstance(param_value(p), float)]
    return max(numeric, key=param_value) if numeric else (params[0] if params else "")


def _part(df: pd.DataFrame, workload: str, param: str | None, syncing, along: str) -> pd.DataFrame:
    part = numbers.frame(df)
    part = part[part["workload"] == workload]
    if part.empty:
        return part
    param = chosen_param(part, workload) if param is None else param
    part = part[part["param"].fillna("") == param]
    if syncing in KINDS:  # the first mode of that kind, if any was measured
        modes = [m for m in numbers.syncing_modes(part, workload) if is_share(m) == (syncing == "fraction")]
        if not modes:
            return part.iloc[0:0]
        syncing = modes[0]
    return numbers.one_data_set(part, workload, syncing, along)


def _cut(text: str, width: int = 48) -> str:
    """A legend name cut to `width` characters (a full-grid variant names five axes)."""
    return text if len(text) <= width else text[:width - 1] + "…"


def _cliff_line(ax, cliff: str) -> None:
    """A dotted vertical line where the data outgrows shared_buffers (or RAM), said on the chart."""
    words = cliff.split(" between ", 1)[1].split(" ")
    low, high = float(words[0].replace(",", "")), float(words[2].replace(",", ""))
    x = math.sqrt(low * high)
    ax.axvline(x, color="#777777", linestyle=":", linewidth=1)
    ax.annotate(plain(cliff.split(" between ")[0].replace("data outgrows ", "data > ")), (x, 0.02),
                xycoords=("data", "axes fraction"), rotation=90, fontsize=7, color="#555555", ha="right",
                va="bottom")


@faceted
def latency_vs_size(df: pd.DataFrame, ax, workload: str = "active_sync", param: str | None = None, data_sizes=None,
           production: float | None = None, syncing=None, along: str = "sessions") -> None:
    """Median latency (95% interval whiskers) of every variant of `workload` against the data size, log-log; the
    fitted line with its slope [95% interval] in the legend and at the line's end; dashed, with its
    interval band, up to `production` (default 10x the largest size measured): an extrapolation."""
    data_sizes = df.attrs.get("data_sizes") if data_sizes is None else data_sizes
    measured = df[df["workload"] == workload] if "workload" in df else df.iloc[0:0]
    if along == "sessions" and not measured.empty and measured["sessions"].nunique() < 2:
        return not_measured(ax, f"growth of {workload} ({numbers.ONE_SIZE})")
    part = _part(df, workload, param, syncing, along)
    if part.empty:
        return not_measured(ax, f"{workload} with {KINDS[syncing]}" if syncing in KINDS and
                            (df["workload"] == workload).any() else f"{workload} workload")
    if part[along].nunique() < 2:
        return not_measured(ax, f"growth of {workload} ({numbers.ONE_SIZE})" if along == "sessions" else
                            f"growth of {workload} with {UNITS[along]} (one value measured: run with "
                            f"--nodes-per-session 2,20,200)")
    axis = AXIS_OF.get(workload)
    table = numbers.growth_table(part, data_sizes, along=along, production=production, metrics=("latency",))
    # Runs pooled: the median of the medians, the interval spanning every run's (as the ratios pool).
    timing = {c: how for c, how in (("median_s", "median"), ("median_low_s", "min"), ("median_high_s", "max"))
              if c in part}
    medians = part.groupby(["variant", along], sort=False).agg(timing).reset_index()
    top = float(table["production"].max())
    found, shown = [], []
    for _, fit in table.iterrows():
        variant = fit["variant"]
        points = medians[medians["variant"] == variant].sort_values(along)
        ax.errorbar(points[along], points["median_s"] * MS, yerr=interval_errors(points, ax), capsize=3, markersize=5,
                    linestyle="none", label=_cut(name(variant, axis)) +
                    f": slope {numbers.slope_text(fit)}",
                    **marker_style(variant))
        sizes = fit["sizes"]
        line = np.geomspace(sizes[0], sizes[-1], 20)
        ahead = np.geomspace(sizes[-1], top, 20)
        shade = colour(variant)
        predicted = [fit["fit"].predict(x) for x in line]
        ax.plot(line, [p[0] * MS for p in predicted], color=shade, linewidth=1.2)
        projected = [fit["fit"].predict(x) for x in ahead]
        ax.plot(ahead, [p[0] * MS for p in projected], color=shade, linewidth=1.2, linestyle="--")
        if projected[-1][1] is not None and projected[-1][2] / projected[-1][1] <= numbers.USELESS_BAND:
            ax.fill_between(ahead, [p[1] * MS for p in projected], [p[2] * MS for p in projected], color=shade,
                            alpha=0.12, linewidth=0)
        if variant in (labels.BASELINE, REVIEWED_FIX.get(workload)):  # the others' slopes are in the legend
            ax.annotate(f"slope {fit['slope']:.2f}", (sizes[-1], predicted[-1][0] * MS), xytext=(4, 4),
                        textcoords="offset points", fontsize=7, color=shade)
        found.append((variant, fit))
        shown += [*(points["median_s"] * MS), projected[-1][0] * MS]
    # The data and the projected lines set the scale; a band wider than that (few sizes) runs off the chart.
    low, high = min(v for v in shown if v > 0), max(shown)
    ax.set_ylim(low / 5, high * 5)
    ax.axvspan(max(s[-1] for s in table["sizes"]), top, color="#f2f2f2", zorder=0)
    ax.annotate("extrapolation →", (max(s[-1] for s in table["sizes"]), 0.97), xycoords=("data", "axes fraction"),
                xytext=(4, 0), textcoords="offset points", fontsize=7, color="#555555", va="top")
    cliffs = [c for c in table["cliff"] if c]
    if cliffs:
        _cliff_line(ax, cliffs[0])
    ax.set(xscale="log", yscale="log", xlabel=f"{UNITS.get(along, along)} (log scale)",
           ylabel=f"{workload} latency (ms, log scale)")
    ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _: f"{x:,.0f}"))
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set_xticks(sorted({*part[along].map(numbers.data_key).dropna(), top}))
    ax.tick_params(axis="x", labelrotation=30, labelsize=7)
    legend(ax, f"{axis or 'variant'}: fitted slope [95%]" + (f"\n{numbers.syncing_said(part['syncing'].iloc[0])}"
                                                           if workload in ("active_sync", "mark_sync") else ""))
    case = part["param"].fillna("").iloc[0]
    finding_title(ax, _finding(f"{workload} ({plain(case)})" if case else workload, found, along, top, cliffs))


def _power(fit) -> str:
    low = "" if pd.isna(fit["slope_low"]) else f" [{fit['slope_low']:.2f}–{fit['slope_high']:.2f}]"
    return f"$N^{{{fit['slope']:.2f}}}${low}"


def _band(fit) -> str:
    """' [1.45 s–9.92 s]', ' (no interval)', or ' (interval over 1000× wide: too few sizes)'."""
    if pd.isna(fit["projected_low"]):
        return " (no interval)"
    if fit["projected_high"] / fit["projected_low"] > numbers.USELESS_BAND:
        return f" (interval over {numbers.USELESS_BAND:,.0f}× wide: too few sizes)"
    return f" [{ms(fit['projected_low'])}–{ms(fit['projected_high'])}]"


def _finding(workload: str, found: list, along: str, top: float, cliffs: list) -> str:
    """'active_sync: json (baseline) grows like a scan, N^1.00 [0.99–1.00]; bool_column flat, N^0.05 [...];
    at 1,000,000 sessions (extrapolation) 194 ms [...] against 0.282 ms [...]'."""
    axis = AXIS_OF.get(workload.split(" ")[0])
    by_variant = dict(found)
    ends = [(v, by_variant[v]) for v in (labels.BASELINE, REVIEWED_FIX.get(workload.split(" ")[0])) if v in by_variant]
    if len(ends) < 2:  # the model as reviewed or its fix not measured: the steepest and the flattest
        ranked = sorted(found, key=lambda item: -item[1]["slope"])
        ends = [ranked[0]] + ([ranked[-1]] if ranked[-1][0] != ranked[0][0] else [])
    grows = "; ".join(f"{_cut(name(v, axis))} {numbers.shape(f)}, {_power(f)}" for v, f in ends)
    ahead = " against ".join(f"{ms(f['projected'])}{_band(f)}" for _, f in ends)
    return f"{workload}: {grows}; at {top:,.0f} {along.replace('_', ' ')} (extrapolation): {ahead}" + \
        ("; the fit spans a cache cliff (dotted line)" if cliffs else "")
