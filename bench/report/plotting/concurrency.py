"""Under concurrent load (--clients): throughput and p99 latency against the number of clients,
one line per variant (dashed for each added RTT), per workload mix."""

from __future__ import annotations

import textwrap

import pandas as pd
from matplotlib.figure import Figure

from bench.load.cases import MIXES
from bench.report.concurrency import NOT_MEASURED, finding, load_rows  # noqa: F401 - load_rows: the notebook's API
from bench.report.plotting.axes import legend, log_if_spread, not_measured
from bench.report.plotting.style import MS, marker_style, name

LOAD_MIXES = tuple(mix.name for mix in MIXES)
_AXIS = {mix.name: mix.axis for mix in MIXES}
_DASHES = ["-", "--", ":", "-."]


def load_curves(df: pd.DataFrame, workload: str = "dashboard_under_load") -> Figure:
    """Requests per second and p99 latency against clients, one line per variant (and RTT)."""
    part = df[df["workload"] == workload] if "workload" in df else df.iloc[0:0]
    if part.empty:
        fig = Figure(figsize=(7.5, 1.0))
        ax = fig.add_subplot()
        not_measured(ax, f"{workload} under concurrent load; run with --clients 1,4,8")
        return fig
    fig = Figure(figsize=(12, 4.4))
    throughput, tail = fig.add_subplot(1, 2, 1), fig.add_subplot(1, 2, 2)
    axis = _AXIS.get(workload)
    rtts = sorted(part["rtt_ms"].fillna(0).unique())
    for (variant, rtt), lines in part.groupby(["variant", part["rtt_ms"].fillna(0)], sort=False):
        lines = lines.sort_values("clients")
        label = name(variant, axis) + (f", +{rtt:g} ms RTT" if len(rtts) > 1 else "")
        style = {**marker_style(variant), "linestyle": _DASHES[rtts.index(rtt) % len(_DASHES)], "markersize": 5}
        throughput.plot(lines["clients"], lines["ops_per_s"], label=label, **style)
        tail.plot(lines["clients"], lines["p99_s"] * MS, label=label, **style)
    clients = sorted(part["clients"].unique())
    for ax in (throughput, tail):
        ax.set_xticks(clients)
        ax.set_xlabel("concurrent clients")
    throughput.set_ylabel("throughput (requests/s)")
    throughput.set_ylim(bottom=0)
    log_if_spread(tail, part["p99_s"] * MS)
    tail.set_ylabel("p99 latency, pool wait included (ms" + (", log scale)" if tail.get_yscale() == "log" else ")"))
    if tail.get_yscale() != "log":
        tail.set_ylim(bottom=0)
    legend(tail, axis)
    # The finding spans both panels (the right one has no title of its own).
    throughput.set_title(textwrap.fill(finding(part, workload), 125), fontsize=10, loc="left")
    fig.tight_layout()
    return fig
