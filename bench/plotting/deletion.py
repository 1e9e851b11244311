"""C3/C4, deletion: latency and WAL bytes of delete, purge, restore and listing per deletion variant."""

from __future__ import annotations

import math

import pandas as pd

from bench.plotting.axes import faceted, finding_title, grouped_bars, latency_lines, legend, log_if_spread, not_measured
from bench.plotting.style import MS, ms, size
from bench.plotting.tables import param_value, summary

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


@faceted
def deletion_latency(df: pd.DataFrame, ax) -> None:
    """Delete, purge, restore and list latency per deletion variant, IQR error bars."""
    table = _deletion_table(df)
    if table.empty:
        return not_measured(ax, "deletion workloads")
    grouped_bars(ax, table, "case", "median_s", "deletion", errors=True, scale=MS)
    ax.set(xlabel="operation", ylabel="latency (ms)")
    log_if_spread(ax, table["median_s"])
    ratios = _soft_ratios(table, "median_s")
    restore = table[(table["workload"] == "restore_session")] if "workload" in table else table[table["case"] == "restore_session"]
    finding = "Soft delete ÷ ORM hard delete, time: " + ", ".join(ratios) if ratios else \
        "Latency per deletion variant"
    if not restore.empty:
        finding += f"; restore {ms(restore['median_s'].iloc[0])}"
    finding_title(ax, finding)


@faceted
def list_live_vs_fraction(df: pd.DataFrame, ax) -> None:
    """Listing the newest live sessions against the fraction of sessions deleted."""
    table = summary(df, "list_live")
    if table.empty:
        return not_measured(ax, "list_live workload")
    table["fraction"] = table["param"].map(param_value) * 100
    latency_lines(ax, table, "fraction", "deletion")
    ax.set(xlabel="sessions deleted (%)", ylabel="list_live latency (ms)")
    ax.set_ylim(bottom=0)
    top = table[table["fraction"] == table["fraction"].max()]
    soft, hard = top[top["variant"] == "deletion=soft"], top[top["variant"] == "baseline"]
    if not soft.empty and not hard.empty:
        finding_title(ax, f"With {top['fraction'].iloc[0]:.0f}% deleted, listing live sessions takes {ms(soft['median_s'].iloc[0])} "
                   f"with soft delete vs {ms(hard['median_s'].iloc[0])} with hard delete "
                   f"({soft['median_s'].iloc[0] / hard['median_s'].iloc[0]:.2f}×)")
    else:
        finding_title(ax, "list_live latency per deleted fraction")
    legend(ax, "deletion")


@faceted
def wal_bytes(df: pd.DataFrame, ax, workloads: tuple[str, ...] = ("delete_session", "purge_user", "restore_session"),
              axis: str = "deletion") -> None:
    """WAL bytes written per operation and variant (the write cost replicas and backups pay)."""
    frames = [summary(df, workload).assign(case=workload) for workload in workloads]
    table = pd.concat([f for f in frames if not f.empty], ignore_index=True) if any(not f.empty for f in frames) else None
    if table is None:
        return not_measured(ax, ", ".join(workloads))
    grouped_bars(ax, table, "case", "wal_bytes", axis, labels=lambda p: [size(v) if not math.isnan(v) else "" for v in p["wal_bytes"]])
    ax.set(xlabel="operation", ylabel="WAL written per operation (bytes)")
    log_if_spread(ax, table["wal_bytes"])
    ax.set_ylim(top=ax.get_ylim()[1] * (4 if ax.get_yscale() == "log" else 1.2))
    ratios = _soft_ratios(table, "wal_bytes") if axis == "deletion" else []
    finding_title(ax, ("Soft delete ÷ ORM hard delete, WAL bytes: " + ", ".join(ratios)) if ratios
           else "WAL bytes per operation")
