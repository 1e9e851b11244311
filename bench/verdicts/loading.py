"""C1: the dashboard's loading strategy. Lazy loading's 1+N statements, selectin's bound, and which
strategy to recommend on equal work."""

from __future__ import annotations

import math

import pandas as pd

from bench.analysis.tables import (
    EXTRA_ROWS, SAME_ROWS, dashboard_work, param_value, summary,
)
from bench.verdicts.rules import (
    ADOPT, CHANGE, CONFIRMED, FIX_RATIO, INCONCLUSIVE, NOT_MEASURED, PARTLY, REFUTED, REJECT, UNDECIDED, Judgement,
    _group_ratios, decide, row_of, short, ties,
)
from models_variants import Variant
from models_variants import labels

# C1: selectin issues one IN (...) query per 500 parents per collection (SQLAlchemy's default
# batch); the dashboard loads at most two collections (messages and skills).
SELECTIN_BATCH = 500
SELECTIN_COLLECTIONS = 2


def c1_loading(df: pd.DataFrame, **_) -> Judgement:
    part = df[(df["workload"] == "dashboard")].copy()
    if (part["variant"] == labels.BASELINE).sum() == 0:
        return Judgement(NOT_MEASURED, evidence="no dashboard results for lazy loading")
    part["pages"] = [min(param_value(p), s if s and not math.isnan(s) else math.inf)
                     for p, s in zip(part["param"], part["sessions"])]
    part["bound"] = [1 + SELECTIN_COLLECTIONS * math.ceil(pages / SELECTIN_BATCH) for pages in part["pages"]]
    lazy, selectin = part[part["variant"] == labels.BASELINE], part[part["variant"] == labels.SELECTIN]
    lazy_is_1n = bool((lazy["statements"] == 1 + lazy["pages"]).all())
    selectin_ok = not selectin.empty and bool((selectin["statements"] <= selectin["bound"]).all())
    bounded = {v: bool((g["statements"] <= g["bound"]).all()) for v, g in part.groupby("variant")}
    table = summary(df, "dashboard")
    table["page_size"] = table["param"].map(param_value)
    counts = {v: "/".join(f"{c:.0f}" for c in rows.sort_values("page_size")["statements"])
              for v, rows in table.groupby("variant", sort=False)}
    sizes = "/".join(f"{p:.0f}" for p in sorted(table["page_size"].unique()))
    evidence = f"statements at page size {sizes}: " + ", ".join(
        f"{'lazy' if v == labels.BASELINE else short(v)} {c}" for v, c in counts.items())
    top = table[table["page_size"] == table["page_size"].max()]
    page = f"{top['page_size'].iloc[0]:.0f}"
    r = _group_ratios(df, "dashboard", top["variant"], top["param"].iloc[0])
    work = dashboard_work(top)
    sel = r.get(labels.SELECTIN)
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

    others = [v for v in top["variant"] if v != labels.BASELINE]
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
SKILLS_ONLY, SELECTIN = labels.SKILLS_SEL, labels.SELECTIN


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
        explicit = v != labels.BASELINE and bool(Variant.parse(v).values()["loading"].explicit())
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
    sel = r.get(labels.SELECTIN)
    if verdict == REFUTED:
        return REJECT, "lazy loading issues a fixed number of statements at every page size: no N+1 to fix", ""
    if verdict in (INCONCLUSIVE, NOT_MEASURED) or sel is None or not best:
        return UNDECIDED, deciding, ""
    if best == labels.SELECTIN and verdict == CONFIRMED:
        return ADOPT, f"selectin is the fastest strategy with a bounded statement count: {sel.text()} of lazy's " \
                      f"latency at page size {page}", ""
    if best == labels.SELECTIN:
        return (REJECT, f"selectin is slower than lazy at page size {page}: {sel.text()}", "") \
            if sel.side(1.0) == "above" else (UNDECIDED, deciding, "")
    lead = r[best].over(sel)
    selectin_extra = work.get(labels.SELECTIN) == EXTRA_ROWS
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
