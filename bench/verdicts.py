"""Verdicts on the review's claims C1–C6, computed from results by the rules written here.

Each claim has one function returning a Judgement: the verdict ("confirmed", "refuted", "partly",
"inconclusive" or "not measured"), the number that decides it with its 95% interval and threshold,
the numbers behind it, the variant the numbers recommend, and what to do with the review's own
recommendation for the claim (adopt, reject, change, undecided). A latency decides only through
its ratio to the group's baseline, measured side by side in interleaved trials (bench.trials),
and only when the whole interval lies on one side of the threshold; an interval across it makes
the verdict "inconclusive". Counts (statements, rows, orphans, WAL bytes) are exact and decide on
their own. Nothing is typed in: a new run can overturn any verdict. Numbers are at the largest
measured scale and the smallest added round-trip time; several runs are pooled
(bench.plotting.tables.ratios). Claims C3–C6 are judged in bench.verdicts_storage.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd

from bench import growth
from bench.growth import SCAN_SLOPE
from bench.plotting import ms, param_value, summary
from bench.plotting.tables import EXTRA_ROWS, SAME_ROWS, Ratio, dashboard_work, ratio_of, ratios
from bench.recommended import without as without_recommended
from models_variants import Variant

CONFIRMED, REFUTED, PARTLY, INCONCLUSIVE, NOT_MEASURED = (
    "confirmed", "refuted", "partly", "inconclusive", "not measured")
# What to do with the review's recommendation for a claim.
ADOPT, REJECT, CHANGE, UNDECIDED = "adopt", "reject", "change", "undecided"
COLUMNS = ["claim", "statement", "verdict", "deciding", "evidence", "recommended", "rule", "action", "reason"]
SHOWN = ["claim", "statement", "verdict", "deciding", "evidence", "recommended", "rule"]

# C1: selectin issues one IN (...) query per 500 parents per collection (SQLAlchemy's default
# batch); the dashboard loads at most two collections (messages and skills).
SELECTIN_BATCH = 500
SELECTIN_COLLECTIONS = 2
# C1, C2: a fix "fixes" a latency when its ratio to the model as reviewed stays below this over
# its whole 95% interval (at least 10% faster, beyond doubt at that confidence).
FIX_RATIO = 0.9
# C2: how many hub-wide active_sync reads run per mark_sync write (a node starting or stopping a
# sync). An assumption, not a measurement: reconciliation runs periodically, sync flags flip on
# every sync of every node. The recommendation weighs read and write latency by it.
READS_PER_WRITE = 0.1
# C2: "O(N) table scans" is a claim about growth. With three sizes or more it is decided by the fitted
# log-log slope of active_sync latency against sessions (bench.growth) and its 95% interval: the JSON
# blob grows like a scan when the whole interval lies above SCAN_SLOPE (halfway between constant, 0,
# and linear, 1), not like one when it lies below; bool_column fixes it when its interval lies below.
# With two sizes the slope has no interval and is evidence only. SCAN_SLOPE is declared in bench.growth,
# which reads every chart's slopes by it.


@dataclass
class Judgement:
    verdict: str
    deciding: str = ""     # the number that decides, with its interval and threshold
    evidence: str = ""
    recommended: str = ""
    action: str = UNDECIDED  # for the review's recommendation on this claim
    reason: str = ""       # one line: the number that decides the action


def short(variant: str) -> str:
    return variant.split("=", 1)[-1] if variant != "baseline" else "baseline"


def row_of(table: pd.DataFrame, variant: str) -> pd.Series | None:
    rows = table[table["variant"] == variant]
    return None if rows.empty else rows.iloc[0]


def decide(ratio: Ratio | None, threshold: float, below: str, above: str) -> str:
    """`below` when the whole interval is under `threshold`, `above` when over it, else INCONCLUSIVE."""
    side = ratio.side(threshold) if ratio is not None else "unknown"
    return below if side == "below" else above if side == "above" else INCONCLUSIVE


BASE = Ratio(1.0, 1.0, 1.0)


def ties(best: str, found: dict[str, Ratio]) -> str:
    """'; lowest: raise, ahead of every other' or '; lowest: jsonb_gin, not told apart from bool_column
    (...)': whether the recommendation's lead over each alternative is beyond its interval."""
    tied = [v for v in found if v != best and found[best].over(found[v]).side(1.0) != "below"]
    if not tied:
        return f"; lowest: {short(best)}, clearly below every other candidate"
    return f"; lowest: {short(best)}, not told apart from {', '.join(short(v) for v in tied)} (the interval of " \
           f"its ratio to each includes 1)"


def _group_ratios(df: pd.DataFrame, workload: str, variants, param: str = "") -> dict[str, Ratio]:
    table = ratios(df, workload)
    found = {v: ratio_of(table, v, param) for v in variants}
    found["baseline"] = BASE
    return {v: r for v, r in found.items() if r is not None}


def c1_loading(df: pd.DataFrame, **_) -> Judgement:
    part = df[(df["workload"] == "dashboard")].copy()
    if (part["variant"] == "baseline").sum() == 0:
        return Judgement(NOT_MEASURED, evidence="no dashboard results for lazy loading")
    part["pages"] = [min(param_value(p), s if s and not math.isnan(s) else math.inf)
                     for p, s in zip(part["param"], part["sessions"])]
    part["bound"] = [1 + SELECTIN_COLLECTIONS * math.ceil(pages / SELECTIN_BATCH) for pages in part["pages"]]
    lazy, selectin = part[part["variant"] == "baseline"], part[part["variant"] == "loading=selectin"]
    lazy_is_1n = bool((lazy["statements"] == 1 + lazy["pages"]).all())
    selectin_ok = not selectin.empty and bool((selectin["statements"] <= selectin["bound"]).all())
    bounded = {v: bool((g["statements"] <= g["bound"]).all()) for v, g in part.groupby("variant")}
    table = summary(df, "dashboard")
    table["page_size"] = table["param"].map(param_value)
    counts = {v: "/".join(f"{c:.0f}" for c in rows.sort_values("page_size")["statements"])
              for v, rows in table.groupby("variant", sort=False)}
    sizes = "/".join(f"{p:.0f}" for p in sorted(table["page_size"].unique()))
    evidence = f"statements at page size {sizes}: " + ", ".join(
        f"{'lazy' if v == 'baseline' else short(v)} {c}" for v, c in counts.items())
    top = table[table["page_size"] == table["page_size"].max()]
    page = f"{top['page_size'].iloc[0]:.0f}"
    r = _group_ratios(df, "dashboard", top["variant"], top["param"].iloc[0])
    work = dashboard_work(top)
    sel = r.get("loading=selectin")
    deciding = (f"selectin ÷ lazy latency at page size {page}: {sel.text()}; it fixes the page below "
                f"{FIX_RATIO:g}" if sel else f"selectin not measured beside lazy at page size {page}")
    evidence += "; " + _work_text(top, r, work, page)
    candidates = [v for v in top["variant"] if bounded.get(v) and v in r]
    best = _c1_best(candidates, r, work)
    lowest = min(candidates, key=lambda v: r[v].value) if candidates else ""
    if best == lowest and best:
        evidence += ties(best, {v: r[v] for v in candidates})
    elif best:
        evidence += f"; lowest: {short(lowest)}, not told apart from {short(best)} (the interval of their ratio " \
                    f"includes 1), so the tie goes to explicit loading, which loads only what each query asks for"
    evidence += _extra_work_cost(r, work, page)
    if lazy["statements"].nunique() <= 1:
        verdict = REFUTED
    elif not (lazy_is_1n and selectin_ok):
        verdict = PARTLY
    else:
        verdict = decide(sel, FIX_RATIO, CONFIRMED, PARTLY)
    action, reason, why = _c1_action(verdict, best, r, work, page, deciding, top)
    if why:
        evidence += f"; {why}"
    return Judgement(verdict, deciding, evidence, best, action, reason)


def _work_text(top: pd.DataFrame, r: dict, work: dict, page: str) -> str:
    """Which strategies are compared with lazy on equal work, and which load rows the page never shows."""
    def listed(variants):
        out = []
        for v in variants:
            wire = row_of(top, v)
            sent = f", {wire['wire_rows']:,.0f} rows sent" if "wire_rows" in top and pd.notna(wire["wire_rows"]) else ""
            out.append(f"{short(v)} {r[v].text() if v in r else 'n/a'}{sent}")
        return ", ".join(out)

    others = [v for v in top["variant"] if v != "baseline"]
    same = [v for v in others if work.get(v) == SAME_ROWS]
    extra = [v for v in others if work.get(v) == EXTRA_ROWS]
    used = top["rows"].dropna()
    said = [(f"every strategy hands the page the same {used.iloc[0]:,.0f} rows (sessions and skill names); "
             if len(used) and used.nunique() == 1 else "") + f"latency ÷ lazy at page size {page}"]
    if same:
        said.append(f"on equal work (the same rows as lazy): {listed(same)}")
    if extra:
        said.append(f"not equal work (they also load every message of the page's sessions, which the dashboard "
                    f"does not show): {listed(extra)}")
    return ": ".join(said[:2]) + ("; " + "; ".join(said[2:]) if len(said) > 2 else "")


WORK_WORDS = {SAME_ROWS: "the same rows as lazy", EXTRA_ROWS: "every message of the page's sessions as well"}
# C1: the strategy that does the review's work on skills only, and the review's own (selectin on both):
# their ratio is what loading every message costs, on otherwise the same queries.
SKILLS_ONLY, SELECTIN = "loading=skills_sel", "loading=selectin"


def _c1_best(candidates: list[str], r: dict, work: dict) -> str:
    """The lowest latency ratio; among the strategies not told apart from it (the interval of their ratio
    to it includes 1), one on equal work that loads only what each query asks for (explicit loading),
    so a tie does not flip the recommendation from run to run. An eager strategy in the mapping also
    loads on every other query of Session (`trace list_live --variant loading=skills_sel`: a list of
    sessions fetches every skill of them and reads none), explicit loading never does."""
    if not candidates:
        return ""
    lowest = min(candidates, key=lambda v: r[v].value)
    tied = [v for v in candidates if v == lowest or r[v].over(r[lowest]).side(1.0) != "above"]

    def preferred(v: str) -> tuple:
        explicit = v != "baseline" and bool(Variant.parse(v).values()["loading"].explicit())
        return (work.get(v) != SAME_ROWS, not explicit, r[v].value)
    return min(tied, key=preferred)


def _extra_work_cost(r: dict, work: dict, page: str) -> str:
    """'; what loading every message costs: selectin on both ÷ skills_sel (...) at page size 1000: 3.1× [..]'."""
    if SKILLS_ONLY not in r or SELECTIN not in r or work.get(SELECTIN) != EXTRA_ROWS:
        return ""
    cost = r[SELECTIN].over(r[SKILLS_ONLY])
    return (f"; what loading every message costs: selectin on both ÷ skills_sel (the same skills query without "
            f"the messages) at page size {page}: {cost.text()} ({cost.how})")


def _c1_action(verdict, best, r, work, page, deciding, top) -> tuple[str, str, str]:
    """(action on 'lazy=selectin for skills and messages', its reason, why the recommendation wins)."""
    sel = r.get("loading=selectin")
    if verdict == REFUTED:
        return REJECT, "lazy loading issues a fixed number of statements at every page size: no N+1 to fix", ""
    if verdict in (INCONCLUSIVE, NOT_MEASURED) or sel is None or not best:
        return UNDECIDED, deciding, ""
    if best == "loading=selectin" and verdict == CONFIRMED:
        return ADOPT, f"selectin is the fastest strategy with a bounded statement count: {sel.text()} of lazy's " \
                      f"latency at page size {page}", ""
    if best == "loading=selectin":
        return (REJECT, f"selectin is slower than lazy at page size {page}: {sel.text()}", "") \
            if sel.side(1.0) == "above" else (UNDECIDED, deciding, "")
    lead = r[best].over(sel)
    selectin_extra = work.get("loading=selectin") == EXTRA_ROWS
    chosen = row_of(top, best)
    trips = f" in {chosen['round_trips']:.0f} round trips" if "round_trips" in top and \
        pd.notna(chosen["round_trips"]) else ""
    why = f"{short(best)} is recommended: {chosen['statements']:.0f} statements{trips} loading " \
          f"{WORK_WORDS.get(work.get(best), 'rows not known')}, at {r[best].text()} of lazy's latency; against " \
          f"selectin {lead.text()} ({lead.how})"
    if selectin_extra and work.get(best) == SAME_ROWS:
        why += ", part of which is the messages selectin loads and the page never shows"
    if lead.side(1.0) == "below":
        loading = Variant.parse(best).values()["loading"]
        how = " and load explicitly what each page shows" if loading.explicit() else f", {loading.description}"
        return CHANGE, f"use {short(best)}{how}: {lead.text()} of selectin's " \
                       f"latency at page size {page}" + (", where selectin also loads every message" if selectin_extra
                                                         else ""), why
    if verdict == CONFIRMED:
        return ADOPT, f"selectin fixes the N+1 ({sel.text()} of lazy); {short(best)} is not clearly faster " \
                      f"({lead.text()} of selectin)", why
    return UNDECIDED, deciding, why


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


def _c2_data_set(df: pd.DataFrame) -> pd.DataFrame:
    """active_sync and mark_sync on one data set: the fixed syncing count when measured, and the nodes
    per session measured at the most sizes (bench.growth.one_data_set); every other row as it is."""
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
             for v, rows in ((v, table[table["variant"] == v]) for v in ("baseline", "sync_flag=bool_column"))}
    blob, flag = found["baseline"], found["sync_flag=bool_column"]
    if blob is None:
        return None
    sizes = blob["sizes"]
    said = f"JSON blob's active_sync latency grows as N^{growth.slope_text(blob)}" + \
        (f", bool_column's as N^{growth.slope_text(flag)}" if flag is not None else "") + \
        f" over {sizes[0]:,}–{sizes[-1]:,} sessions ({len(sizes)} sizes; {growth.syncing_said(blob['syncing'])})" + \
        (f"; {blob['cliff']}" if blob["cliff"] else "") + (f"; JSON blob {blob['bend']}" if blob["bend"] else "")
    read = {v: rows.iloc[0] for v in ("baseline", "sync_flag=bool_column")
            if not (rows := buffers[buffers["variant"] == v]).empty}
    if read:  # exact counts, untouched by the machine's load drifting between sizes measured minutes apart
        said += "; buffers read grow as " + ", ".join(
            f"N^{growth.slope_text(row)} ({'JSON blob' if v == 'baseline' else short(v)})" for v, row in read.items())
    return {"blob": blob, "flag": flag, "said": said}


def _c2_other_modes(df: pd.DataFrame, data_sizes, used) -> str:
    """'; with 1% of sessions syncing (...): JSON blob N^1.00 [...], bool_column N^0.98 [...]' for every
    syncing mode measured besides the one the verdict used (evidence: with a share, every variant grows)."""
    said = ""
    for mode in growth.syncing_modes(df):
        if mode == str(used):
            continue
        table = growth.growth_table(growth.one_data_set(df, "active_sync", mode), data_sizes, metrics=("latency",))
        slopes = [f"{'JSON blob' if v == 'baseline' else short(v)} N^{growth.slope_text(rows.iloc[0])}"
                  for v in ("baseline", "sync_flag=bool_column") if not (rows := table[table["variant"] == v]).empty]
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
    data_sizes, whole = df.attrs.get("data_sizes"), df
    df = _c2_data_set(df)
    table = summary(df, "active_sync", by=("variant",))
    blob = row_of(table, "baseline") if not table.empty else None
    if blob is None:
        return Judgement(NOT_MEASURED, evidence="no active_sync results for the JSON blob")
    flag = row_of(table, "sync_flag=bool_column")
    blob_scans, flag_scans = blob["seq_scan"] is True, flag is not None and flag["seq_scan"] is True
    sessions = summary(df, "active_sync", by=("variant", "sessions"))["sessions"].max()
    reads = _group_ratios(df, "active_sync", table["variant"])
    writes = summary(df, "mark_sync", by=("variant",))
    write_ratios = _group_ratios(df, "mark_sync", writes["variant"]) if not writes.empty else {}
    flag_read = reads.get("sync_flag=bool_column")
    evidence = f"at {sessions:,.0f} sessions: JSON blob {blob['plan_top']} {ms(blob['median_s'])}"
    if flag is not None:
        evidence += f", bool_column {flag['plan_top']} {ms(flag['median_s'])}"
    grown = _c2_growth(df, data_sizes)
    by_slope = grown is not None and pd.notna(grown["blob"]["slope_low"])
    if grown is None:
        evidence += f"; growth with the table's size not measured ({growth.ONE_SIZE})"
    else:
        evidence += "; " + grown["said"] + ("" if by_slope else " (two sizes: no interval, not deciding)")
        evidence += _c2_other_modes(whole, data_sizes, grown["blob"]["syncing"])
    base_write = row_of(writes, "baseline") if not writes.empty else None
    weighted = {}
    if base_write is not None:
        read_cost = reads_per_write * blob["median_s"]
        share = read_cost / (read_cost + base_write["median_s"])
        weighted = {v: w for v in table[table["seq_scan"] != True]["variant"]  # noqa: E712 - bools and None
                    if (w := _weighted(reads.get(v), write_ratios.get(v), share)) is not None}
    best = min(weighted, key=lambda v: weighted[v].value) if weighted else ""
    assumption = f"{reads_per_write:g} active_sync reads per mark_sync write (READS_PER_WRITE, an assumption)"
    if weighted:
        evidence += f"; read + write cost ÷ the JSON blob's, weighing {assumption}: " + ", ".join(
            f"{short(v)} {w.text()}" for v, w in sorted(weighted.items(), key=lambda item: item[1].value))
        evidence += ties(best, weighted)
    deciding = (f"bool_column ÷ JSON blob, active_sync latency: {flag_read.text()}; fixes it below {FIX_RATIO:g}"
                if flag_read else "bool_column not measured beside the JSON blob") + \
        f". Recommendation weighs {assumption}"
    if by_slope:
        deciding = f"{grown['said']}; a scan from slope {SCAN_SLOPE:g} (SCAN_SLOPE), over the whole 95% interval. " \
                   + deciding
        verdict = _c2_by_slope(grown, flag_read)
    elif not blob_scans:
        verdict = REFUTED
    elif flag is None or flag_scans:
        verdict = PARTLY
    else:
        verdict = decide(flag_read, FIX_RATIO, CONFIRMED, PARTLY)
    action, reason = _c2_action(verdict, best, weighted, reads_per_write, deciding)
    if by_slope and verdict == REFUTED:
        reason = f"the JSON blob's active_sync latency does not grow like a scan: {grown['said']}"
    return Judgement(verdict, deciding, evidence, best, action, reason)


def _c2_action(verdict, best, weighted, reads_per_write, deciding) -> tuple[str, str]:
    """Action on 'extract sync flags such as is_syncing to Boolean columns'."""
    flag = weighted.get("sync_flag=bool_column")
    if verdict == REFUTED:
        return REJECT, "the JSON blob's active_sync plan has no Seq Scan"
    if verdict in (INCONCLUSIVE, NOT_MEASURED) or flag is None or not best:
        return UNDECIDED, deciding
    at = f"at {reads_per_write:g} reads per write"
    if best == "sync_flag=bool_column":
        return ADOPT, f"bool_column's read + write cost is {flag.text()} of the JSON blob's {at}, the lowest " \
                      f"of the variants without a Seq Scan"
    lead = weighted[best].over(flag)
    if lead.side(1.0) == "below":
        return CHANGE, f"use {short(best)}: its read + write cost is {lead.text()} of bool_column's {at}"
    if verdict == CONFIRMED:
        return ADOPT, f"bool_column fixes the scan; {short(best)} is not clearly cheaper {at} ({lead.text()} " \
                      f"of bool_column's cost)"
    return UNDECIDED, deciding


def verdicts(df: pd.DataFrame, delete_paths: pd.DataFrame | None = None, *,
             reads_per_write: float = READS_PER_WRITE, production_messages: int | None = None) -> pd.DataFrame:
    """One row per claim: claim, statement, verdict, deciding number, evidence, recommended variant,
    rule, and the action on the review's recommendation with its reason.

    `delete_paths` is C3's fact table (bench.report.delete_paths); without it C3 falls back to the
    orphan counts of the delete workloads. `reads_per_write` is C2's assumption; `production_messages`
    (default PRODUCTION_MESSAGES) lets C5 judge a storage move at the size the hub really has."""
    from bench import verdicts_storage  # it imports this module's helpers

    df = without_recommended(df)  # it changes every axis at once: judged in its own table
    options = {"reads_per_write": reads_per_write, "delete_paths": delete_paths,
               "production_messages": production_messages if production_messages is not None
               else verdicts_storage.PRODUCTION_MESSAGES}
    judges = {"C1": c1_loading, "C2": c2_sync_flag, **verdicts_storage.JUDGES}
    rules = {"C1": RULE_C1, "C2": RULE_C2, **verdicts_storage.RULES}
    rows = []
    for claim, judge in judges.items():
        judged = judge(df, **options)
        rows.append({"claim": claim, "statement": STATEMENTS[claim], "verdict": judged.verdict,
                     "deciding": judged.deciding, "evidence": judged.evidence, "recommended": judged.recommended,
                     "rule": rules[claim], "action": judged.action, "reason": judged.reason})
    return pd.DataFrame(rows, columns=COLUMNS)


RULE_C1 = (f"confirmed if lazy (baseline) issues exactly 1 + min(page_size, sessions) statements at every page size, "
           f"selectin at most 1 + {SELECTIN_COLLECTIONS}·ceil(page/{SELECTIN_BATCH}), and selectin's latency ÷ "
           f"lazy's at the largest page size is below {FIX_RATIO:g} over its whole 95% interval; partly if the "
           f"counts hold and the interval lies above {FIX_RATIO:g}, or the counts do not hold; inconclusive if the "
           f"interval straddles {FIX_RATIO:g}; refuted if lazy's count does not grow with page size. Recommended: "
           f"the lowest latency ratio at the largest page size among strategies within selectin's statement "
           f"bound; among those not told apart from it, one on equal work loading only what each query asks for "
           f"(explicit loading: an eager strategy in the mapping loads on every query of Session). Each "
           f"comparison says whether it is on equal work: the rows the server sent over all statements (wire_rows) "
           f"against lazy's.")
RULE_C2 = (f"with three sizes or more, on growth: confirmed if the 95% interval of the JSON blob's (baseline) "
           f"log-log slope of active_sync latency against sessions lies above {SCAN_SLOPE:g} (SCAN_SLOPE), "
           f"bool_column's below it, and bool_column's latency ÷ the blob's at the largest size below "
           f"{FIX_RATIO:g} over its whole interval; refuted if the blob's slope interval lies below "
           f"{SCAN_SLOPE:g}; partly if bool_column's lies above or its ratio does; inconclusive if an interval "
           f"straddles its threshold; the fit is on the fixed syncing count when measured and says when it "
           f"spans a cache cliff. With one or two sizes: confirmed if the blob's active_sync plan has a Seq Scan, "
           f"bool_column's has none and its latency ratio lies below {FIX_RATIO:g}; partly if bool_column "
           f"scans too or its ratio lies above; inconclusive if it straddles; refuted if the blob's plan has no "
           f"Seq Scan. Recommended: among variants without a Seq Scan (a scan grows with the table), the lowest "
           f"read + write cost ratio, weighing {READS_PER_WRITE:g} reads per write (READS_PER_WRITE).")
STATEMENTS = {
    "C1": "Default lazy loading makes the dashboard issue 1+N queries; selectin fixes it",
    "C2": "Finding active sync sessions in a JSON blob is an O(N) scan; a boolean column fixes it",
    "C3": "session_skills can keep orphaned rows after an application-level purge",
    "C4": "Soft delete is affordable and allows recovery",
    "C5": "audio_path as a raw string makes a storage move a massive migration",
    "C6": "datetime.utcnow keeps ordering consistent across zones",
}


def headline(table: pd.DataFrame) -> str:
    """'3 confirmed, 1 partly, 1 inconclusive, 1 refuted': the verdict counts in one line."""
    counts = table["verdict"].value_counts()
    return ", ".join(f"{int(counts[v])} {v}" for v in (CONFIRMED, PARTLY, INCONCLUSIVE, REFUTED, NOT_MEASURED)
                     if v in counts)
