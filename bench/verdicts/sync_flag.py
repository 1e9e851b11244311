"""C2: the sync flag. Whether finding active syncs in the JSON blob grows like a scan, and the flag
layout with the lowest read + write cost."""

from __future__ import annotations

import math
from typing import Callable

import pandas as pd

from bench.analysis import growth
from bench.analysis.growth import SCAN_SLOPE
from bench.analysis.tables import (
    Ratio, summary,
)
from bench.analysis.units import ms
from bench.verdicts.rules import (
    ADOPT, BETTER, CHANGE, CONFIRMED, FIX_RATIO, INCONCLUSIVE, MARGIN, NOT_MEASURED, PARTLY, REFUTED, REJECT, UNDECIDED,
    Choice, Judgement, _group_ratios, choose, decide, group_leads, row_of, short, versus,
)
from models_variants import AXES, Variant, labels

# C2: how many hub-wide active_sync reads run per mark_sync write (a node starting or stopping a
# sync). An assumption, not a measurement: reconciliation runs periodically, sync flags flip on
# every sync of every node. The recommendation weighs read and write latency by it.
READS_PER_WRITE = 0.1
# C2: "O(N) table scans" is a claim about growth. With three sizes or more it is decided by the fitted
# log-log slope of active_sync latency against sessions (bench.analysis.growth) and its 95% interval: the JSON
# blob grows like a scan when the whole interval lies above SCAN_SLOPE (halfway between constant, 0,
# and linear, 1), not like one when it lies below; bool_column fixes it when its interval lies below.
# With two sizes the slope has no interval and is evidence only. SCAN_SLOPE is declared in bench.analysis.growth,
# which reads every chart's slopes by it.


def _weighted(read: Ratio | None, write: Ratio | None, read_share: float) -> Ratio | None:
    """read_share × read ratio + (1 − read_share) × write ratio: the ratio of the weighted cost; the
    interval adds the two intervals the same way, so it holds at least 90% (two 95% intervals)."""
    if read is None or write is None:
        return None
    value = read_share * read.value + (1 - read_share) * write.value
    if None in (read.low, read.high, write.low, write.high):
        return Ratio(value, how="no interval: one side has none")
    return Ratio(value, read_share * read.low + (1 - read_share) * write.low,
                 read_share * read.high + (1 - read_share) * write.high,
                 how="read and write intervals combined (at least 90%)")


def _weighted_leads(read_leads, write_leads, reads: dict, writes: dict, read_share: float):
    """a's read + write cost ÷ b's, from a ÷ b measured side by side on each workload (rules.group_leads):
    the two leads weighted by b's own read and write shares of its cost. The interval adds the two
    intervals the same way (at least 90%). None when a lead was not measured side by side."""

    def leads(a: str, b: str) -> Ratio | None:
        read, write = read_leads(a, b), write_leads(a, b)
        if read is None or write is None or b not in reads or b not in writes:
            return None
        part = read_share * reads[b].value
        alpha = part / (part + (1 - read_share) * writes[b].value)
        found = _weighted(read, write, alpha)
        return Ratio(found.value, found.low, found.high, how="read and write measured side by side, weighed by "
                                                            "the second's cost (at least 90%)")
    return leads


def _c2_data_set(df: pd.DataFrame) -> pd.DataFrame:
    """active_sync and mark_sync on one data set: the fixed syncing count when measured, and the nodes
    per session measured at the most sizes (bench.analysis.growth.one_data_set); every other row as it is."""
    if "syncing" not in df:
        return df
    if "nodes_per_session" not in df:  # results from before nodes per session were a data parameter
        df = df.assign(nodes_per_session=None)
    sets = df.loc[df["workload"] == "active_sync", ["syncing", "nodes_per_session"]]
    if sets.apply(lambda column: column.map(growth.data_key).astype(str).nunique()).max() <= 1:
        return df
    kept = growth.one_data_set(df, "active_sync")
    same = {column: set(kept[column].map(growth.data_key).astype(str)) for column in ("syncing", "nodes_per_session")}
    writes = df[(df["workload"] == "mark_sync") & df["syncing"].map(growth.data_key).astype(str).isin(same["syncing"])
                & df["nodes_per_session"].map(growth.data_key).astype(str).isin(same["nodes_per_session"])]
    return pd.concat([df[~df["workload"].isin(["active_sync", "mark_sync"])], kept, writes])


def _c2_growth(df: pd.DataFrame, data_sizes) -> dict | None:
    """The JSON blob's and bool_column's latency slopes against sessions: {"blob", "flag": growth rows or None,
    "said": the evidence}; None with one size."""
    part = df[df["workload"] == "active_sync"]
    table = growth.growth_table(part, data_sizes)
    if table.empty:
        return None
    table = table[table["sizes"].map(len) == table["sizes"].map(len).max()]
    buffers, table = table[table["metric"] == "buffers"], table[table["metric"] == "latency"]
    found = {v: (rows.iloc[0] if not rows.empty else None)
             for v, rows in ((v, table[table["variant"] == v]) for v in (labels.BASELINE, labels.BOOL_COLUMN))}
    blob, flag = found[labels.BASELINE], found[labels.BOOL_COLUMN]
    if blob is None:
        return None
    sizes = blob["sizes"]
    said = f"JSON blob's active_sync latency grows as N^{growth.slope_text(blob)}" + \
        (f", bool_column's as N^{growth.slope_text(flag)}" if flag is not None else "") + \
        f" over {sizes[0]:,}–{sizes[-1]:,} sessions ({len(sizes)} sizes; {growth.syncing_said(blob['syncing'])})" + \
        (f"; {blob['cliff']}" if blob["cliff"] else "") + (f"; JSON blob {blob['bend']}" if blob["bend"] else "")
    read = {v: rows.iloc[0] for v in (labels.BASELINE, labels.BOOL_COLUMN)
            if not (rows := buffers[buffers["variant"] == v]).empty}
    if read:  # exact counts, untouched by the machine's load drifting between sizes measured minutes apart
        said += "; buffers read grow as " + ", ".join(
            f"N^{growth.slope_text(row)} ({'JSON blob' if v == labels.BASELINE else short(v)})" for v, row in read.items())
    return {"blob": blob, "flag": flag, "said": said}


def _c2_other_modes(df: pd.DataFrame, data_sizes, used) -> str:
    """'; with 1% of sessions syncing (...): JSON blob N^1.00 [...], bool_column N^0.98 [...]' for every
    syncing mode measured besides the one the verdict used (evidence: with a share, every variant grows)."""
    said = ""
    for mode in growth.syncing_modes(df):
        if mode == str(used):
            continue
        table = growth.growth_table(growth.one_data_set(df, "active_sync", mode), data_sizes, metrics=("latency",))
        slopes = [f"{'JSON blob' if v == labels.BASELINE else short(v)} N^{growth.slope_text(rows.iloc[0])}"
                  for v in (labels.BASELINE, labels.BOOL_COLUMN) if not (rows := table[table["variant"] == v]).empty]
        if slopes:
            said += f"; with {growth.syncing_said(mode)}: {', '.join(slopes)}"
    return said


def _c2_by_slope(grown: dict, flag_read) -> str:
    """The verdict from the slopes' intervals against SCAN_SLOPE (and bool_column's ratio against FIX_RATIO)."""
    blob, flag = grown["blob"], grown["flag"]
    side = Ratio(blob["slope"], blob["slope_low"], blob["slope_high"]).side(SCAN_SLOPE)
    if side == "below":
        return REFUTED
    if side != "above":
        return INCONCLUSIVE
    if flag is None or Ratio(flag["slope"], flag["slope_low"], flag["slope_high"]).side(SCAN_SLOPE) == "above":
        return PARTLY
    if Ratio(flag["slope"], flag["slope_low"], flag["slope_high"]).side(SCAN_SLOPE) != "below":
        return INCONCLUSIVE
    return decide(flag_read, FIX_RATIO, CONFIRMED, PARTLY)


def c2_sync_flag(df: pd.DataFrame, reads_per_write: float = READS_PER_WRITE, **_) -> Judgement:
    return c2_by_reads_per_write(df)(reads_per_write)


def c2_by_reads_per_write(df: pd.DataFrame) -> Callable[[float], Judgement]:
    """C2's judgement as a function of the reads per write it weighs: everything measured is read once,
    and only the weighing, the choice and the action are redone per value (the break-even search,
    bench.verdicts.sensitivity, asks it many times)."""
    data_sizes, whole = df.attrs.get("data_sizes"), df
    df = _c2_data_set(df)
    table = summary(df, "active_sync", by=("variant",))
    blob = row_of(table, labels.BASELINE) if not table.empty else None
    if blob is None:
        return lambda _reads_per_write: Judgement(NOT_MEASURED, evidence="no active_sync results for the JSON blob")
    flag = row_of(table, labels.BOOL_COLUMN)
    blob_scans, flag_scans = blob["seq_scan"] is True, flag is not None and flag["seq_scan"] is True
    sessions = summary(df, "active_sync", by=("variant", "sessions"))["sessions"].max()
    reads = _group_ratios(df, "active_sync", table["variant"])
    writes = summary(df, "mark_sync", by=("variant",))
    write_ratios = _group_ratios(df, "mark_sync", writes["variant"]) if not writes.empty else {}
    flag_read = reads.get(labels.BOOL_COLUMN)
    measured = f"at {sessions:,.0f} sessions: JSON blob {blob['plan_top']} {ms(blob['median_s'])}"
    if flag is not None:
        measured += f", bool_column {flag['plan_top']} {ms(flag['median_s'])}"
    grown = _c2_growth(df, data_sizes)
    by_slope = grown is not None and pd.notna(grown["blob"]["slope_low"])
    if grown is None:
        measured += f"; growth with the table's size not measured ({growth.ONE_SIZE})"
    else:
        measured += "; " + grown["said"] + ("" if by_slope else " (two sizes: no interval, not deciding)")
        measured += _c2_other_modes(whole, data_sizes, grown["blob"]["syncing"])
    if by_slope:
        verdict = _c2_by_slope(grown, flag_read)
    elif not blob_scans:
        verdict = REFUTED
    elif flag is None or flag_scans:
        verdict = PARTLY
    else:
        verdict = decide(flag_read, FIX_RATIO, CONFIRMED, PARTLY)
    base_write = row_of(writes, labels.BASELINE) if not writes.empty else None
    unscanned = table[table["seq_scan"] != True]["variant"]  # noqa: E712 - bools and None
    read_leads, write_leads = group_leads(df, "active_sync"), group_leads(df, "mark_sync")

    def judged(reads_per_write: float) -> Judgement:
        evidence, weighted, leads = measured, {}, None
        if base_write is not None:
            read_cost = reads_per_write * blob["median_s"]
            share = read_cost / (read_cost + base_write["median_s"])
            weighted = {v: w for v in unscanned
                        if (w := _weighted(reads.get(v), write_ratios.get(v), share)) is not None}
            leads = _weighted_leads(read_leads, write_leads, reads, write_ratios, share) if weighted else None
        choice = _c2_choice(weighted, table, leads)
        best = choice.chosen
        assumption = f"{reads_per_write:g} active_sync reads per mark_sync write (READS_PER_WRITE, an assumption)"
        if weighted:
            evidence += f"; read + write cost ÷ the JSON blob's, weighing {assumption}: " + ", ".join(
                f"{short(v)} {w.text()}" for v, w in sorted(weighted.items(), key=lambda item: item[1].value))
            evidence += choice.text()
        deciding = (f"bool_column ÷ JSON blob, active_sync latency: {flag_read.text()}; fixes it below {FIX_RATIO:g}"
                    if flag_read else "bool_column not measured beside the JSON blob") + \
            f". Recommendation weighs {assumption}"
        if by_slope:
            deciding = f"{grown['said']}; a scan from slope {SCAN_SLOPE:g} (SCAN_SLOPE), over the whole 95% " \
                       f"interval. " + deciding
        action, reason = _c2_action(verdict, best, weighted, reads_per_write, deciding, leads)
        if by_slope and verdict == REFUTED:
            reason = f"the JSON blob's active_sync latency does not grow like a scan: {grown['said']}"
        return Judgement(verdict, deciding, evidence, best, action, reason, choice)
    return judged


# C2's tie-break among flag layouts latency cannot order (rules.choose), stated before any run: exact facts
# of the read first, then the review's proposal (bool_column), then the axis's order.
C2_TIE_BREAK = ("fewer round trips", "fewer bytes from the server", "the review's proposal", "the sync_flag axis's order")


def _c2_choice(weighted: dict, table: pd.DataFrame, leads) -> Choice:
    """The recommended flag layout by the decision rule (rules.choose) on read + write cost."""
    order = list(AXES["sync_flag"].values)

    def fact(v: str, column: str) -> float:
        row = row_of(table, v)
        return float(row[column]) if row is not None and column in table and pd.notna(row[column]) else math.inf

    def key(v: str) -> tuple:
        value = AXES["sync_flag"].baseline if v == labels.BASELINE else Variant.parse(v).sync_flag
        return (fact(v, "round_trips"), fact(v, "wire_bytes"), v != labels.BOOL_COLUMN, order.index(value))
    return choose(weighted, key, C2_TIE_BREAK, leads)


def _c2_action(verdict, best, weighted, reads_per_write, deciding, leads) -> tuple[str, str]:
    """Action on 'extract sync flags such as is_syncing to Boolean columns'."""
    flag = weighted.get(labels.BOOL_COLUMN)
    if verdict == REFUTED:
        return REJECT, "the JSON blob's active_sync plan has no Seq Scan"
    if verdict in (INCONCLUSIVE, NOT_MEASURED) or flag is None or not best:
        return UNDECIDED, deciding
    at = f"at {reads_per_write:g} reads per write"
    if best == labels.BOOL_COLUMN:
        return ADOPT, f"bool_column's read + write cost is {flag.text()} of the JSON blob's {at}; no variant " \
                      f"without a Seq Scan is cheaper by more than {MARGIN:.0%} over its whole interval"
    settled, lead = versus(weighted[best], flag, leads(best, labels.BOOL_COLUMN) if leads else None)
    if settled == BETTER:
        return CHANGE, f"use {short(best)}: its read + write cost is {lead.text()} of bool_column's {at}"
    if verdict in (CONFIRMED, PARTLY):
        # A tie on cost with bool_column, broken by exact facts (C2_TIE_BREAK), never by a point estimate.
        return CHANGE, f"use {short(best)}: cost does not put it behind bool_column ({lead.text()} of its read + " \
                       f"write cost {at}, not settled beyond the {MARGIN:.0%} margin), and it wins the stated tie-break"
    return UNDECIDED, deciding


RULE_C2 = (f"with three sizes or more, on growth: confirmed if the 95% interval of the JSON blob's (baseline) "
           f"log-log slope of active_sync latency against sessions lies above {SCAN_SLOPE:g} (SCAN_SLOPE), "
           f"bool_column's below it, and bool_column's latency ÷ the blob's at the largest size below "
           f"{FIX_RATIO:g} over its whole interval; refuted if the blob's slope interval lies below "
           f"{SCAN_SLOPE:g}; partly if bool_column's lies above or its ratio does; inconclusive if an interval "
           f"straddles its threshold; the fit is on the fixed syncing count when measured and says when it "
           f"spans a cache cliff. With one or two sizes: confirmed if the blob's active_sync plan has a Seq Scan, "
           f"bool_column's has none and its latency ratio lies below {FIX_RATIO:g}; partly if bool_column "
           f"scans too or its ratio lies above; inconclusive if it straddles; refuted if the blob's plan has no "
           f"Seq Scan. Recommended: among variants without a Seq Scan (a scan grows with the table), weighing "
           f"{READS_PER_WRITE:g} reads per write (READS_PER_WRITE), the one whose read + write cost no other beats "
           f"by more than {MARGIN:.0%} (MARGIN) over the whole interval of their ratio; several such are a tie, "
           f"decided by fewer round trips, then fewer bytes from the server, then the review's bool_column, then "
           f"the axis's order, and labelled a tie.")
