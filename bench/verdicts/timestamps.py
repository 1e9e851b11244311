"""Verdict C6: does datetime.utcnow keep event ordering consistent across zones and mesh nodes?

Decided on exact counts of mis-ordered events (bench.load.ordering, the results' `ordering_facts`): the
writers' clock skew first (what breaks ordering across hosts), then server time zones and a
daylight-saving change. A run without those facts is judged on rows found per server time zone by
`recent_activity`, as before. The same conventions as bench.verdicts: the rule beside the code.
"""

from __future__ import annotations

import pandas as pd

from bench.analysis.tables import param_value, summary
from bench.load import ordering
from bench.results import fact_table
from bench.verdicts import facts as verdict_facts
from bench.verdicts.rules import (
    CHANGE, CONFIRMED, NOT_MEASURED, PARTLY, REFUTED, REJECT, UNDECIDED, Judgement, at_or_above, short,
)
from models_variants import labels

DEPRECATED = "datetime.utcnow is deprecated since Python 3.12 (write datetime.now(timezone.utc))"
UTCNOW = f"{DEPRECATED}; across hosts, clock skew breaks event ordering more than time zones do, and this run " \
         f"does not measure skew"
NTP_SKEW_MS = verdict_facts.NTP_SKEW_MS
RULE = (f"on exact counts of mis-ordered events against commit order: refuted if, at a writer clock skew of "
        f"{NTP_SKEW_MS} ms (NTP-synced hosts), or the profile's clock_skew_ms when stated, judged at the smallest "
        f"measured skew at or above it, utcnow's timestamps mis-order more event pairs than the best "
        f"server-side source (now(), clock_timestamp() or a sequence) on the same schedule; confirmed if they "
        f"mis-order no more at every measured skew up to the one judged and naive UTC values mis-order none across server time zones "
        f"and a daylight-saving change; partly otherwise. Assumed: {ordering.EVENTS} events from "
        f"{len(ordering.SKEW_PATTERN)} writers, one started every {ordering.EVENT_GAP_MS:g} ms (EVENT_GAP_MS). "
        f"Without those facts: confirmed if naive_utc's recent_activity returns the same rows in every server time "
        f"zone, refuted if they differ while aware's do not. Recommended: aware if it never mis-orders across "
        f"zones and daylight saving. {DEPRECATED}.")


def _differs_by_zone(part: pd.DataFrame) -> bool:
    # Compared within each run: runs at other scales return other counts.
    return bool((part.groupby("run_id", dropna=False)["rows"].nunique() > 1).any())


def _by_rows(df: pd.DataFrame) -> Judgement:
    """Results without ordering facts: rows in the recent_activity window per server time zone."""
    part = df[df["workload"] == "recent_activity"]
    naive, aware = part[part["variant"] == labels.BASELINE], part[part["variant"] == labels.AWARE]
    if naive["param"].nunique() < 2:
        return Judgement(NOT_MEASURED, evidence=f"recent_activity needs at least two server time zones; {UTCNOW}",
                         reason=UTCNOW)
    counts = _rows_per_zone(df)
    naive_differs = _differs_by_zone(naive)
    aware_consistent = aware["param"].nunique() >= 2 and not _differs_by_zone(aware)
    recommended = labels.AWARE if aware_consistent else labels.BASELINE
    deciding = f"rows in the window per server time zone (exact counts): {counts}"
    evidence = f"{counts}; {UTCNOW}"
    if not naive_differs:
        return Judgement(CONFIRMED, deciding, evidence, recommended, CHANGE,
                         "time zones do not change naive_utc's rows here, but write UTC with "
                         "datetime.now(timezone.utc): datetime.utcnow is deprecated since Python 3.12")
    if aware_consistent:
        return Judgement(REFUTED, deciding, evidence, recommended, REJECT,
                         f"naive timestamps change with the server's time zone ({counts.split('; ')[0]}); store "
                         f"timestamptz written with datetime.now(timezone.utc) (utcnow is deprecated since 3.12)")
    return Judgement(PARTLY, deciding, evidence, recommended, UNDECIDED, deciding)


def _rows_per_zone(df: pd.DataFrame) -> str:
    table = summary(df, "recent_activity")
    if table.empty:
        return ""
    return "; ".join(f"{short(v) if v != labels.BASELINE else 'naive_utc'}: " + ", ".join(
        f"{r:.0f} rows in {param_value(p)}" for p, r in zip(rows["param"], rows["rows"]))
        for v, rows in table.groupby("variant", sort=False))


def _zones_text(found: dict, column: str) -> list[str]:
    said = []
    for check, where in (("time zones", f"writers in {', '.join(ordering.ZONES)}"),
                         ("daylight saving", f"{ordering.DST_ZONE} across the 2026-10-25 fall-back")):
        parts = [f"{source.split(':')[0]} {found[(check, source, None)]['misordered_pairs']}"
                 for source in ordering.VALUE_SOURCES if (check, source, None) in found]
        if parts:
            pairs = next(found[(check, s, None)]["pairs"] for s in ordering.VALUE_SOURCES if (check, s, None) in found)
            said.append(f"{where}, {column} column, mis-ordered pairs of {pairs}: {', '.join(parts)}")
    return said


def measured_skews(df: pd.DataFrame) -> list[float]:
    """The writer clock skews the run measured utcnow's ordering at (ms)."""
    naive = verdict_facts.ordering(fact_table(df, "ordering_facts"), "naive_utc")
    return sorted(k[2] for k in naive if k[:2] == ("clock skew", ordering.CLIENT_SOURCE))


def _judged_skew(client: dict, stated: float | None) -> float | None:
    """The writer clock skew C6 decides at: NTP_SKEW_MS, or for the hub's own skew (profile: clock_skew_ms)
    the smallest measured at or above it (mis-orderings grow with skew), the largest measured when it lies
    above them all. None when it was not measured."""
    if stated is None:
        return NTP_SKEW_MS if NTP_SKEW_MS in client else None
    return at_or_above(client, stated)


def c6_timestamps(df: pd.DataFrame, clock_skew_ms: float | None = None, **_) -> Judgement:
    facts = fact_table(df, "ordering_facts")
    naive, aware = verdict_facts.ordering(facts, "naive_utc"), verdict_facts.ordering(facts, "aware")
    client = {k[2]: v for k, v in naive.items() if k[:2] == ("clock skew", ordering.CLIENT_SOURCE)}
    server = {k[1]: v for k, v in naive.items() if k[0] == "clock skew" and k[1] in ordering.SERVER_SOURCES}
    skew = _judged_skew(client, clock_skew_ms)
    if skew is None or not server:
        return _by_rows(df)
    where = (f"a {skew:g} ms writer clock skew (NTP-synced hosts)" if clock_skew_ms is None else
             f"a {skew:g} ms writer clock skew (the hub's {clock_skew_ms:g} ms, profile: the smallest measured skew "
             f"at or above it, else the largest)")
    best = min(server, key=lambda s: (server[s]["misordered_pairs"], server[s]["late_events"]))
    at_ntp = client[skew]
    deciding = (f"at {where} utcnow's timestamps: "
                f"{verdict_facts.counted(at_ntp)}; {best}: {verdict_facts.counted(server[best])} (exact counts, "
                f"{at_ntp['events']} events, one every {ordering.EVENT_GAP_MS:g} ms)")
    skews = ", ".join(f"{measured:g} ms {c['misordered_pairs']} pairs/{c['late_events']} late"
                      for measured, c in client.items())
    servers = ", ".join(f"{s.removeprefix('server ')} {c['misordered_pairs']} pairs/{c['late_events']} late"
                        for s, c in server.items())
    zones = _zones_text(naive, "naive") + _zones_text(aware, "aware")
    rows = _rows_per_zone(df)
    evidence = (f"mis-ordered against commit order, of {at_ntp['pairs']} pairs / {at_ntp['events']} events: "
                f"utcnow()+skew {skews}; server-side (one clock) {servers}; " + "; ".join(zones)
                + (f"; rows in the recent_activity window: {rows}" if rows else "") + f"; {DEPRECATED}")
    utc_zones = [naive.get((check, ordering.VALUE_SOURCES[0], None)) for check in ("time zones", "daylight saving")]
    zones_hold = all(z is not None and z["misordered_pairs"] == 0 for z in utc_zones)
    aware_holds = all(aware.get((check, ordering.VALUE_SOURCES[1], None), {}).get("misordered_pairs", 1) == 0
                      for check in ("time zones", "daylight saving"))
    recommended = labels.AWARE if aware_holds else labels.BASELINE
    # Skews up to the one judged: a hub whose writers stay within it never meets the larger ones.
    worse = {measured for measured, c in client.items()
             if measured <= skew and c["misordered_pairs"] > server[best]["misordered_pairs"]}
    fix = (f"order events by the server's {best.removeprefix('server ')} (it mis-orders {server[best]['misordered_pairs']} of "
           f"{server[best]['pairs']} pairs, only where transactions commit out of insert order) and store timestamptz "
           f"written as datetime.now(timezone.utc) or by the server: utcnow is deprecated since Python 3.12")
    # The claim's two halves, each with the count that decides it: the recommendation for ordering
    # follows the skew half (a server clock), the storage type the zones half (timestamptz).
    zone_counts = ", ".join(f"{z['misordered_pairs']} of {z['pairs']} {check}" for check, z in
                            zip(("across zones", "across DST"), utc_zones) if z is not None)
    halves = (("time zones", "holds" if zones_hold else "fails",
               f"naive UTC mis-ordered {zone_counts or 'not measured'}"),
              ("clock skew between writers", "fails" if skew in worse else "holds",
               f"at {skew:g} ms: utcnow {at_ntp['misordered_pairs']} of {at_ntp['pairs']} pairs, the server's "
               f"{best.removeprefix('server ')} {server[best]['misordered_pairs']}"))
    if skew in worse:
        return Judgement(REFUTED, deciding, evidence, recommended, REJECT,
                         f"utcnow timestamps do not order events across hosts: at {skew:g} ms skew "
                         f"{verdict_facts.counted(at_ntp)}; {fix}", halves=halves)
    if not worse and zones_hold:
        return Judgement(CONFIRMED, deciding, evidence, recommended, CHANGE,
                         f"ordering holds at every measured skew up to {skew:g} ms and across zones, but {DEPRECATED}", halves=halves)
    return Judgement(PARTLY, deciding, evidence, recommended, CHANGE,
                     (f"utcnow keeps order at {skew:g} ms skew but not at {min(worse):g} ms; " if worse else
                      "naive UTC values mis-order across server time zones or daylight saving; ") + fix, halves=halves)
