"""C3/C4, deletion: latency and WAL bytes of delete, purge, restore and listing per deletion variant."""

from __future__ import annotations

import re

import pandas as pd

from bench.report.plotting.axes import (
    faceted, finding_title, grouped_bars, grouped_points, latency_lines, legend, not_measured, scale_from_zero_or_log,
)
from bench.report.plotting.style import MS, ms, size
from bench.analysis.tables import param_value, ratio_of, ratios, summary
from bench.results import fact_table
from bench.verdicts.storage import soft_ratios
from models_variants import labels

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
        else:  # one cluster per parameter value (purge_user's users, say)
            table["case"] = workload + table["param"].map(lambda p: f"\n({p})" if p else "")
        frames.append(table)
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def _soft_value_ratios(table: pd.DataFrame, value: str) -> list[tuple[str, float]]:
    """(case, soft ÷ ORM hard delete) of an exact value (WAL bytes) for every case measured on both."""
    out = []
    for case, part in table.groupby("case", sort=False):
        soft, hard = part[part["variant"] == labels.SOFT], part[part["variant"] == labels.BASELINE]
        if not soft.empty and not hard.empty and hard[value].iloc[0]:
            out.append((" ".join(case.splitlines()), soft[value].iloc[0] / hard[value].iloc[0]))
    return out


def _soft_finding(ratios: list[tuple[str, float]], what: str) -> str:
    """'Soft delete needs less time than ORM hard delete for delete_session (0.40×), more for list_live (1.20×)'."""
    less = ", ".join(f"{case} ({ratio:.2f}×)" for case, ratio in ratios if ratio < 1)
    more = ", ".join(f"{case} ({ratio:.2f}×)" for case, ratio in ratios if ratio >= 1)
    said = [f"less {what} than ORM hard delete for {less}" if less else "",
            f"{'more' if less else f'more {what} than ORM hard delete'} for {more}" if more else ""]
    return "Soft delete needs " + "; ".join(filter(None, said))


def _scale_note(ax) -> str:
    return ", log scale" if ax.get_yscale() == "log" else ""


@faceted
def deletion_latency(df: pd.DataFrame, ax) -> None:
    """Delete, purge, restore and list latency per deletion variant: a dot plot, 95% median intervals as whiskers, values labelled."""
    table = _deletion_table(df)
    if table.empty:
        return not_measured(ax, "deletion workloads")
    grouped_points(ax, table, "case", "median_s", "deletion", errors=True, scale=MS, label=lambda r: ms(r["median_s"]))
    scale_from_zero_or_log(ax, table["median_s"])
    ax.set(xlabel="operation", ylabel=f"median latency (ms{_scale_note(ax)})")
    # The ratios C4 decides on (bench.verdicts.storage.soft_ratios: each trial's ratio, measured side by
    # side), named as this chart's clusters are; dividing the medians here gave a second, other number.
    ratios = [(re.sub(r"^list_live at (\S+) deleted$", r"list_live (\1 deleted)", case), ratio.value)
              for case, ratio in soft_ratios(df).items()]
    restore = table[table["case"] == "restore_session"]
    finding = _soft_finding(ratios, "time") if ratios else "Latency per deletion variant"
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
    found = ratios(df, "list_live")
    said = [f"{label} {ratio.text()}" for variant, label in ((labels.SOFT, "with partial indexes"),
                                                             (labels.SOFT_UNINDEXED, "without"))
            if (ratio := ratio_of(found, variant, top["param"].iloc[0])) is not None]
    if said:
        finding_title(ax, f"With {top['fraction'].iloc[0]:.0f}% deleted, listing live sessions with soft delete takes "
                          f"{' and '.join(said)} the hard delete's time (95% intervals)")
    else:
        finding_title(ax, "list_live latency per deleted fraction")
    legend(ax, "deletion")


@faceted
def wal_bytes(df: pd.DataFrame, ax, workloads: tuple[str, ...] = ("delete_session", "purge_user", "restore_session"),
              axis: str = "deletion") -> None:
    """WAL bytes written per operation and variant (the write cost replicas and backups pay)."""
    # a workload with parameters (purge_user of the median and the largest user) gets a point per parameter
    frames = [(lambda t, w=workload: t.assign(case=[f"{w}\n({p})" if p else w for p in t["param"].fillna("")]))(
        summary(df, workload)) for workload in workloads]
    table = pd.concat([f for f in frames if not f.empty], ignore_index=True) if any(not f.empty for f in frames) else None
    if table is None:
        return not_measured(ax, ", ".join(workloads))
    grouped_points(ax, table, "case", "wal_bytes", axis, label=lambda r: size(r["wal_bytes"]))
    scale_from_zero_or_log(ax, table["wal_bytes"])
    ax.set(xlabel="operation", ylabel=f"WAL written per operation (bytes{_scale_note(ax)})")
    ratios = _soft_value_ratios(table, "wal_bytes") if axis == "deletion" else []
    finding_title(ax, _soft_finding(ratios, "WAL") if ratios else "WAL bytes per operation")


@faceted
def soft_delete_bloat(df: pd.DataFrame, ax) -> None:
    """Bytes of the sessions table and its indexes after many soft delete/restore cycles, without and with VACUUM."""
    facts = fact_table(df, "deletion_facts")
    if not facts.empty and "run_id" in facts:
        facts = facts[facts["run_id"].isin(df["run_id"])]
    bloat = facts[facts["check"] == "bloat"] if "check" in facts else facts
    if bloat.empty:
        return not_measured(ax, "soft delete/restore cycles (deletion facts)")
    bloat = bloat[~bloat["variant"].str.contains(",")].drop_duplicates(subset=["variant", "vacuum"])  # one axis
    first = bloat.iloc[0]
    rows = [{"variant": f["variant"], "state": "as loaded", "bytes": f["table_bytes_before"] + f["index_bytes_before"],
             "dead": 0, "index": f["index_bytes_before"]} for _, f in bloat[~bloat["vacuum"].astype(bool)].iterrows()]
    for vacuum, state in ((False, f"{first['cycles']:.0f} cycles,\nno VACUUM"),
                          (True, f"{first['cycles']:.0f} cycles,\nVACUUM after each")):
        rows += [{"variant": f["variant"], "state": state, "bytes": f["table_bytes"] + f["index_bytes"],
                  "dead": f["dead_tuples"], "index": f["index_bytes"]}
                 for _, f in bloat[bloat["vacuum"].astype(bool) == vacuum].iterrows()]
    table = pd.DataFrame(rows)
    table["mib"] = table["bytes"] / 1024 ** 2
    grouped_bars(ax, table, "state", "mib", "deletion",
                 labels=lambda p: [f"{size(b)}\n{d:,.0f} dead" if b == b else "" for b, d in zip(p["bytes"], p["dead"])])
    ax.set_ylim(0, table["mib"].max() * 1.3)
    sample = first.get("sample_sessions")
    copied = f" (a copy of its first {sample:,.0f} sessions)" if sample == sample and sample is not None else ""
    ax.set(xlabel=f"sessions table{copied} after soft-deleting and restoring half of its rows, repeatedly",
           ylabel="table + index size (MiB)")
    plain_run = bloat[~bloat["vacuum"].astype(bool) & (bloat["variant"] == labels.SOFT)]
    vacuumed = bloat[bloat["vacuum"].astype(bool) & (bloat["variant"] == labels.SOFT)]
    if not plain_run.empty and not vacuumed.empty:
        p, v = plain_run.iloc[0], vacuumed.iloc[0]
        def grown(f) -> float:  # what the bars show: table + index bytes, against as loaded
            return (f["table_bytes"] + f["index_bytes"]) / (f["table_bytes_before"] + f["index_bytes_before"])
        finding_title(ax, f"{p['cycles']:.0f} soft delete/restore cycles grow the sessions table and its indexes "
                          f"{grown(p):.1f}× without VACUUM, {grown(v):.1f}× with VACUUM after each cycle")
    else:
        finding_title(ax, "Sessions table size after soft delete/restore cycles")
