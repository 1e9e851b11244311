"""C1: the dashboard's loading strategy. Lazy loading's 1+N statements, selectin's bound, and which
strategy to recommend on equal work."""

from __future__ import annotations

import math

import pandas as pd

from bench.analysis.tables import EXTRA_ROWS, SAME_ROWS, dashboard_work, param_value, summary
from bench.verdicts.rules import (
    ADOPT, BETTER, CHANGE, CONFIRMED, FIX_RATIO, INCONCLUSIVE, MARGIN, NOT_MEASURED, PARTLY, REFUTED, REJECT, UNDECIDED,
    Choice, Judgement, _group_ratios, choose, decide, group_leads, row_of, short, versus,
)
from models_variants import AXES, Variant, labels

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
    leads = group_leads(df, "dashboard", top["param"].iloc[0])
    work = dashboard_work(top)
    sel = r.get(labels.SELECTIN)
    deciding = (f"selectin ÷ lazy latency at page size {page}: {sel.text()}; it fixes the page below "
                f"{FIX_RATIO:g}" if sel else f"selectin not measured beside lazy at page size {page}")
    evidence += "; " + _work_text(top, r, work, page)
    candidates = [v for v in top["variant"] if bounded.get(v) and v in r]
    choice = _c1_choice(candidates, r, work, top, leads)
    best = choice.chosen
    evidence += choice.text()
    evidence += _extra_work_cost(r, work, page, leads)
    if lazy["statements"].nunique() <= 1:
        verdict = REFUTED
    elif not (lazy_is_1n and selectin_ok):
        verdict = PARTLY
    else:
        verdict = decide(sel, FIX_RATIO, CONFIRMED, PARTLY)
    action, reason, why = _c1_action(verdict, best, r, work, page, deciding, top, leads)
    if why:
        evidence += f"; {why}"
    return Judgement(verdict, deciding, evidence, best, action, reason, choice)


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


# C1's tie-break among strategies latency cannot order (rules.choose), stated before any run: exact facts
# of the page first, then explicit loading (an eager strategy in the mapping also loads on every other
# query of Session: `trace list_live --variant loading=skills_sel` fetches every skill of the sessions
# listed and reads none), then the review's own proposal, then the axis's order.
C1_TIE_BREAK = ("loading only the rows the page shows", "fewer round trips", "fewer bytes from the server",
                "explicit loading (an eager mapping loads on every query of Session)", "the review's proposal",
                "the loading axis's order")


def _c1_choice(candidates: list[str], r: dict, work: dict, top: pd.DataFrame, leads) -> Choice:
    """The recommended strategy by the decision rule (rules.choose) among those within selectin's bound."""
    order = list(AXES["loading"].values)

    def fact(v: str, column: str) -> float:
        row = row_of(top, v)
        return float(row[column]) if row is not None and column in top and pd.notna(row[column]) else math.inf

    def key(v: str) -> tuple:
        explicit = v != labels.BASELINE and bool(Variant.parse(v).values()["loading"].explicit())
        value = AXES["loading"].baseline if v == labels.BASELINE else Variant.parse(v).loading
        return (work.get(v) != SAME_ROWS, fact(v, "round_trips"), fact(v, "wire_bytes"), not explicit,
                v != labels.SELECTIN, order.index(value))
    return choose({v: r[v] for v in candidates}, key, C1_TIE_BREAK, leads)


def _extra_work_cost(r: dict, work: dict, page: str, leads) -> str:
    """'; what loading every message costs: selectin on both ÷ skills_sel (...) at page size 1000: 3.1× [..]'."""
    if SKILLS_ONLY not in r or SELECTIN not in r or work.get(SELECTIN) != EXTRA_ROWS:
        return ""
    cost = leads(SELECTIN, SKILLS_ONLY) or r[SELECTIN].over(r[SKILLS_ONLY])
    return (f"; what loading every message costs: selectin on both ÷ skills_sel (the same skills query without "
            f"the messages) at page size {page}: {cost.text()} ({cost.how})")


def _c1_action(verdict, best, r, work, page, deciding, top, leads) -> tuple[str, str, str]:
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
    settled, lead = versus(r[best], sel, leads(best, labels.SELECTIN))
    selectin_extra = work.get(labels.SELECTIN) == EXTRA_ROWS
    chosen = row_of(top, best)
    trips = f" in {chosen['round_trips']:.0f} round trips" if "round_trips" in top and \
        pd.notna(chosen["round_trips"]) else ""
    why = f"{short(best)} is recommended: {chosen['statements']:.0f} statements{trips} loading " \
          f"{WORK_WORDS.get(work.get(best), 'rows not known')}, at {r[best].text()} of lazy's latency; against " \
          f"selectin {lead.text()} ({lead.how})"
    if selectin_extra and work.get(best) == SAME_ROWS:
        why += ", part of which is the messages selectin loads and the page never shows"
    loading = Variant.parse(best).values()["loading"]
    how = " and load explicitly what each page shows" if loading.explicit() else f", {loading.description}"
    if settled == BETTER:
        return CHANGE, f"use {short(best)}{how}: {lead.text()} of selectin's " \
                       f"latency at page size {page}" + (", where selectin also loads every message" if selectin_extra
                                                         else ""), why
    if verdict in (CONFIRMED, PARTLY):
        # A tie on latency with the review's selectin, broken by exact facts (C1_TIE_BREAK): the same advice
        # in every run, since those facts do not move.
        return CHANGE, f"use {short(best)}{how}: latency does not put it behind selectin ({lead.text()} of " \
                       f"selectin's at page size {page}, not settled beyond the {MARGIN:.0%} margin), and " + (
                           "it loads only the rows the page shows, where selectin also loads every message"
                           if selectin_extra and work.get(best) == SAME_ROWS else "it wins the stated tie-break"), why
    return UNDECIDED, deciding, why


RULE_C1 = (f"confirmed if lazy (baseline) issues exactly 1 + min(page_size, sessions) statements at every page size, "
           f"selectin at most 1 + {SELECTIN_COLLECTIONS}·ceil(page/{SELECTIN_BATCH}), and selectin's latency ÷ "
           f"lazy's at the largest page size is below {FIX_RATIO:g} over its whole 95% interval; partly if the "
           f"counts hold and the interval lies above {FIX_RATIO:g}, or the counts do not hold; inconclusive if the "
           f"interval straddles {FIX_RATIO:g}; refuted if lazy's count does not grow with page size. Recommended: "
           f"among strategies within selectin's statement bound, at the largest page size, the one no other is "
           f"faster than by more than {MARGIN:.0%} (MARGIN) over the whole interval of their latency ratio; several "
           f"such are a tie, decided by loading only the rows the page shows, then fewer round trips, then fewer "
           f"bytes from the server, then explicit loading (an eager strategy in the mapping loads on every query "
           f"of Session), then the review's selectin, then the axis's order, and labelled a tie. Each "
           f"comparison says whether it is on equal work: the rows the server sent over all statements (wire_rows) "
           f"against lazy's.")
