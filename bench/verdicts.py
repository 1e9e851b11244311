"""Verdicts on the review's claims C1–C6, computed from results by the rules written here.

Each claim has one function: it reads the tidy results table, applies its stated rule and
returns the verdict ("confirmed", "refuted", "partly" or "not measured"), the numbers behind it
as text, the variant the numbers recommend and the rule itself. Nothing is typed in: a new
run can overturn any verdict. Latencies are medians at the largest measured scale and the
smallest added round-trip time (see bench.plotting.summary); repeated runs are medianed.
"""

from __future__ import annotations

import math

import pandas as pd

from bench.plotting import ms, param_value, size, summary
from bench.stats import fit_loglog_slope

CONFIRMED, REFUTED, PARTLY, NOT_MEASURED = "confirmed", "refuted", "partly", "not measured"
COLUMNS = ["claim", "statement", "verdict", "evidence", "recommended", "rule"]

# C1: selectin issues one IN (...) query per 500 parents per collection (SQLAlchemy's default
# batch); the dashboard loads at most two collections (messages and skills).
SELECTIN_BATCH = 500
SELECTIN_COLLECTIONS = 2
# C2: a fitted log-log slope below this over the measured sizes is not a growing scan.
SCAN_SLOPE = 0.5
# C4: soft delete is "affordable" while each soft/hard latency ratio stays at or below this.
AFFORDABLE_RATIO = 1.5
# C5: a migration is "massive" when it rewrites (and logs) this many times what the alternative does.
MASSIVE_FACTOR = 10.0
# C3: workloads that delete; "delete_paths" (one case per supported path) is counted when present.
DELETE_PATHS = ("delete_session", "purge_user", "delete_paths")
# C3: paths no application runs. Turning FK triggers off needs superuser rights and disables every
# foreign key; its orphans show what the constraints prevent, not what an app purge leaves.
UNSUPPORTED_PATHS = {"raw_sql_delete_fk_triggers_off"}

RULES = {
    "C1": f"confirmed if lazy (baseline) issues exactly 1 + min(page_size, sessions) statements at every page "
          f"size and selectin at most 1 + {SELECTIN_COLLECTIONS}·ceil(page/{SELECTIN_BATCH}); refuted if lazy's "
          f"count does not grow with page size; partly otherwise. Recommended: the fastest strategy at the "
          f"largest page size among those within selectin's bound.",
    "C2": f"confirmed if the JSON blob's (baseline) active_sync plan has a Seq Scan and bool_column's has none "
          f"(and, with several table sizes, the blob's log-log slope is >= {SCAN_SLOPE}); refuted if the blob's "
          f"plan has no Seq Scan; partly otherwise. Recommended: the variant without a Seq Scan with the least "
          f"active_sync + mark_sync latency.",
    "C3": "confirmed if any supported delete path that completes (raises no error) leaves orphans > 0; refuted "
          "if every completed path leaves 0. Paths with FK triggers off are not supported and not counted. Source: "
          "the run's delete-path fact table, else the delete workloads' orphan counts. Recommended: among variants with 0 orphans, the fastest purge_user.",
    "C4": f"refuted if soft delete leaks deleted rows into reads (leaks > 0) or restore returns no row; partly "
          f"if restore is not measured or a soft/hard_orm latency ratio (delete_session, purge_user, list_live at "
          f"the largest deleted fraction) exceeds {AFFORDABLE_RATIO}; confirmed otherwise. Recommended: soft "
          f"unless refuted.",
    "C5": f"confirmed if raw_path's migration rewrites >= {MASSIVE_FACTOR:g}x the rows and writes >= "
          f"{MASSIVE_FACTOR:g}x the WAL of storage_key's; refuted if it rewrites no more rows; partly otherwise. "
          f"Recommended: storage_key unless refuted.",
    "C6": "confirmed if naive_utc (baseline) recent_activity returns the same rows in every server time zone; "
          "refuted if its rows differ between zones while aware's do not; partly if both differ or aware is not "
          "measured. Recommended: aware if its rows never differ.",
}
STATEMENTS = {
    "C1": "Default lazy loading makes the dashboard issue 1+N queries; selectin fixes it",
    "C2": "Finding active sync sessions in a JSON blob is an O(N) scan; a boolean column fixes it",
    "C3": "session_skills can keep orphaned rows after an application-level purge",
    "C4": "Soft delete is affordable and allows recovery",
    "C5": "audio_path as a raw string makes a storage move a massive migration",
    "C6": "datetime.utcnow keeps ordering consistent across zones",
}


def _short(variant: str) -> str:
    return variant.split("=", 1)[-1]


def _row(table: pd.DataFrame, variant: str) -> pd.Series | None:
    rows = table[table["variant"] == variant]
    return None if rows.empty else rows.iloc[0]


def c1_loading(df: pd.DataFrame) -> tuple[str, str, str]:
    part = df[(df["workload"] == "dashboard")].copy()
    lazy = part[part["variant"] == "baseline"]
    if lazy.empty:
        return NOT_MEASURED, "no dashboard results for lazy loading", ""
    part["pages"] = [min(param_value(p), s if s and not math.isnan(s) else math.inf)
                     for p, s in zip(part["param"], part["sessions"])]
    part["bound"] = [1 + SELECTIN_COLLECTIONS * math.ceil(pages / SELECTIN_BATCH) for pages in part["pages"]]
    lazy = part[part["variant"] == "baseline"]
    selectin = part[part["variant"] == "loading=selectin"]
    lazy_is_1n = bool((lazy["statements"] == 1 + lazy["pages"]).all())
    selectin_ok = not selectin.empty and bool((selectin["statements"] <= selectin["bound"]).all())
    table = summary(df, "dashboard")
    table["page_size"] = table["param"].map(param_value)
    counts = {v: "/".join(f"{c:.0f}" for c in rows.sort_values("page_size")["statements"])
              for v, rows in table.groupby("variant", sort=False)}
    sizes = "/".join(f"{p:.0f}" for p in sorted(table["page_size"].unique()))
    evidence = f"statements at page size {sizes}: lazy {counts['baseline']}"
    if "loading=selectin" in counts:
        evidence += f", selectin {counts['loading=selectin']}"
    top = table[table["page_size"] == table["page_size"].max()]
    bounded = part.groupby("variant")[["statements", "bound"]].apply(lambda g: bool((g.iloc[:, 0] <= g.iloc[:, 1]).all()))
    candidates = top[top["variant"].map(bounded).fillna(False).astype(bool)]
    recommended = candidates.loc[candidates["median_s"].idxmin(), "variant"] if not candidates.empty else ""
    base, sel = _row(top, "baseline"), _row(top, "loading=selectin")
    if base is not None and sel is not None:
        evidence += f"; at page size {top['page_size'].iloc[0]:.0f} selectin {ms(sel['median_s'])} vs lazy " \
                    f"{ms(base['median_s'])} ({base['median_s'] / sel['median_s']:.1f}x)"
    if recommended and recommended != "loading=selectin":
        evidence += f"; fastest bounded: {_short(recommended)} {ms(candidates['median_s'].min())}"
    if lazy_is_1n and selectin_ok:
        return CONFIRMED, evidence, recommended
    if lazy["statements"].nunique() <= 1:
        return REFUTED, evidence, recommended
    return PARTLY, evidence, recommended


def c2_sync_flag(df: pd.DataFrame) -> tuple[str, str, str]:
    table = summary(df, "active_sync", by=("variant",))
    blob = _row(table, "baseline") if not table.empty else None
    if blob is None:
        return NOT_MEASURED, "no active_sync results for the JSON blob", ""
    flag = _row(table, "sync_flag=bool_column")
    blob_scans, flag_scans = blob["seq_scan"] is True, flag is not None and flag["seq_scan"] is True
    evidence = f"at {summary(df, 'active_sync', by=('variant', 'sessions'))['sessions'].max():,.0f} sessions: " \
               f"JSON blob {blob['plan_top']} {ms(blob['median_s'])}"
    if flag is not None:
        evidence += f", bool_column {flag['plan_top']} {ms(flag['median_s'])} " \
                    f"({blob['median_s'] / flag['median_s']:.0f}x faster)"
    slope = None
    blob_sizes = summary(df[df["variant"] == "baseline"], "active_sync", by=("sessions",))
    if blob_sizes["sessions"].nunique() > 1:
        slope, _ = fit_loglog_slope(blob_sizes["sessions"], blob_sizes["median_s"])
        evidence += f"; blob latency slope {slope:.2f} over {blob_sizes['sessions'].min():,.0f}–" \
                    f"{blob_sizes['sessions'].max():,.0f} sessions"
    writes = summary(df, "mark_sync", by=("variant",))
    both = table.merge(writes[["variant", "median_s"]], on="variant", how="left", suffixes=("", "_write"))
    both = both[both["seq_scan"] != True]  # noqa: E712 - object column of bools and None
    both["total"] = both["median_s"] + both["median_s_write"].fillna(0)
    recommended = both.loc[both["total"].idxmin(), "variant"] if not both.empty else ""
    if not blob_scans:
        return REFUTED, evidence, recommended
    if flag is not None and not flag_scans and (slope is None or slope >= SCAN_SLOPE):
        return CONFIRMED, evidence, recommended
    return PARTLY, evidence, recommended


def _c3_from_paths(df: pd.DataFrame, paths: pd.DataFrame) -> tuple[str, str, str]:
    """C3 on the delete-path fact table: a path that raised deleted nothing, so only completed paths count."""
    bypass = paths[paths["path"].isin(UNSUPPORTED_PATHS)]
    paths = paths[~paths["path"].isin(UNSUPPORTED_PATHS)]
    completed = paths[paths["error"].isna()]
    failed = paths[paths["error"].notna()]
    leaving = completed[completed["orphans"] > 0]
    clean = set(paths["variant"]) - set(leaving["variant"])
    purges = summary(df[df["variant"].isin(clean)], "purge_user", by=("variant",))
    recommended = purges.loc[purges["median_s"].idxmin(), "variant"] if not purges.empty else \
        (sorted(clean)[0] if clean else "")
    raised = f"; {len(failed)} raised an error and deleted nothing ({', '.join(sorted(set(failed['error'])))})" \
        if not failed.empty else ""
    if not bypass.empty:
        raised += f"; not counted, FK triggers off: {', '.join(f'{o:.0f}' for o in bypass['orphans'])} orphans"
    if not leaving.empty:
        listed = ", ".join(f"{p} × {_short(v)} {o:.0f}" for p, v, o in
                           zip(leaving["path"], leaving["variant"], leaving["orphans"]))
        return CONFIRMED, f"orphans left by {len(leaving)} of {len(completed)} completed delete paths: {listed}" \
            + raised, recommended
    return REFUTED, f"0 orphans after every one of {len(completed)} completed delete paths " \
                    f"({completed['path'].nunique()} paths × {completed['variant'].nunique()} variants)" + raised, \
        recommended


def c3_orphans(df: pd.DataFrame, paths: pd.DataFrame | None = None) -> tuple[str, str, str]:
    if paths is not None and not paths.empty:
        return _c3_from_paths(df, paths)
    measured = df[df["workload"].isin(DELETE_PATHS) & df["orphans"].notna()]
    if measured.empty:
        return NOT_MEASURED, "no delete path recorded orphan counts", ""
    paths = measured.assign(path=measured["workload"] + measured["param"].map(lambda p: f"[{p}]" if p else "")
                            + " × " + measured["variant"].map(_short))
    leaving = paths[paths["orphans"] > 0]
    clean = measured.groupby("variant")["orphans"].max()
    clean = clean[clean == 0].index
    purges = summary(df[df["variant"].isin(clean)], "purge_user", by=("variant",))
    recommended = purges.loc[purges["median_s"].idxmin(), "variant"] if not purges.empty else \
        (clean[0] if len(clean) else "")
    if not leaving.empty:
        listed = ", ".join(f"{p} {o:.0f}" for p, o in zip(leaving["path"], leaving["orphans"]))
        return CONFIRMED, f"orphans left by {len(leaving)} of {len(paths)} delete paths: {listed}", recommended
    return REFUTED, f"0 orphans after every one of {paths['path'].nunique()} measured delete paths " \
                    f"({', '.join(sorted(paths['path'].unique()))})", recommended


def c4_soft_delete(df: pd.DataFrame) -> tuple[str, str, str]:
    soft = df[df["variant"] == "deletion=soft"]
    if soft.empty:
        return NOT_MEASURED, "no results for deletion=soft", ""
    leaks = soft["leaks"].dropna()
    restore = summary(df, "restore_session", by=("variant",))
    restored = _row(restore, "deletion=soft") if not restore.empty else None
    ratios = {}
    for workload in ("delete_session", "purge_user", "list_live"):
        table = summary(df, workload)
        if table.empty:
            continue
        fractions = table["param"].map(lambda p: param_value(p) if p else 0.0)
        table = table[fractions == fractions.max()]
        s, h = _row(table, "deletion=soft"), _row(table, "baseline")
        if s is not None and h is not None:
            ratios[workload] = s["median_s"] / h["median_s"]
    evidence = "soft/hard_orm latency: " + ", ".join(f"{w} {r:.2f}x" for w, r in ratios.items())
    evidence += f"; leaks {leaks.sum():.0f}" if not leaks.empty else "; leaks not measured"
    evidence += f"; restore {ms(restored['median_s'])}, {restored['rows']:.0f} row" if restored is not None \
        else "; restore not measured"
    sizes = summary(df[df["workload"].isin(["delete_session", "list_live"])].assign(workload="x"), "x", by=("variant",))
    s, h = _row(sizes, "deletion=soft"), _row(sizes, "baseline")
    if s is not None and h is not None and h["index_bytes"]:
        evidence += f"; indexes {size(s['index_bytes'])} vs {size(h['index_bytes'])}"
    if (not leaks.empty and leaks.sum() > 0) or (restored is not None and not restored["rows"] > 0):
        return REFUTED, evidence, "baseline"
    if restored is None or any(r > AFFORDABLE_RATIO for r in ratios.values()) or not ratios:
        return PARTLY, evidence, "deletion=soft"
    return CONFIRMED, evidence, "deletion=soft"


def c5_migration(df: pd.DataFrame) -> tuple[str, str, str]:
    table = summary(df, "migrate_audio_storage", by=("variant",))
    raw = _row(table, "baseline") if not table.empty else None
    key = _row(table, "audio_storage=storage_key") if not table.empty else None
    if raw is None or key is None:
        return NOT_MEASURED, "migrate_audio_storage needs both raw_path and storage_key results", ""
    rows_ratio = raw["rows"] / max(key["rows"], 1)
    wal_ratio = raw["wal_bytes"] / max(key["wal_bytes"], 1)
    evidence = f"raw_path rewrites {raw['rows']:,.0f} rows ({ms(raw['median_s'])}, {size(raw['wal_bytes'])} WAL); " \
               f"storage_key {key['rows']:,.0f} ({ms(key['median_s'])}, {size(key['wal_bytes'])} WAL): " \
               f"{rows_ratio:,.0f}x the rows, {wal_ratio:,.0f}x the WAL"
    if raw["rows"] <= key["rows"]:
        return REFUTED, evidence, "baseline"
    if rows_ratio >= MASSIVE_FACTOR and wal_ratio >= MASSIVE_FACTOR:
        return CONFIRMED, evidence, "audio_storage=storage_key"
    return PARTLY, evidence, "audio_storage=storage_key"


def _differs_by_zone(part: pd.DataFrame) -> bool:
    # Compared within each run: runs at other scales return other counts.
    return bool((part.groupby("run_id", dropna=False)["rows"].nunique() > 1).any())


def c6_timestamps(df: pd.DataFrame) -> tuple[str, str, str]:
    part = df[df["workload"] == "recent_activity"]
    naive, aware = part[part["variant"] == "baseline"], part[part["variant"] == "timestamps=aware"]
    if naive["param"].nunique() < 2:
        return NOT_MEASURED, "recent_activity needs at least two server time zones", ""
    table = summary(df, "recent_activity")
    evidence = "; ".join(
        f"{_short(v) if v != 'baseline' else 'naive_utc'}: " + ", ".join(
            f"{r:.0f} rows in {param_value(p)}" for p, r in zip(rows["param"], rows["rows"]))
        for v, rows in table.groupby("variant", sort=False))
    naive_differs = _differs_by_zone(naive)
    aware_consistent = aware["param"].nunique() >= 2 and not _differs_by_zone(aware)
    recommended = "timestamps=aware" if aware_consistent else "baseline"
    if not naive_differs:
        return CONFIRMED, evidence, recommended
    if aware_consistent:
        return REFUTED, evidence, recommended
    return PARTLY, evidence, recommended


CLAIMS = {"C1": c1_loading, "C2": c2_sync_flag, "C3": c3_orphans, "C4": c4_soft_delete, "C5": c5_migration,
          "C6": c6_timestamps}


def verdicts(df: pd.DataFrame, delete_paths: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per claim: claim, statement, verdict, evidence, recommended variant, rule.

    `delete_paths` is C3's fact table (bench.report.delete_paths); without it C3 falls back to
    the orphan counts of the delete workloads."""
    rows = []
    for claim, judge in CLAIMS.items():
        verdict, evidence, recommended = judge(df, delete_paths) if claim == "C3" else judge(df)
        rows.append({"claim": claim, "statement": STATEMENTS[claim], "verdict": verdict, "evidence": evidence,
                     "recommended": recommended, "rule": RULES[claim]})
    return pd.DataFrame(rows, columns=COLUMNS)


def headline(table: pd.DataFrame) -> str:
    """'4 confirmed, 1 partly, 1 refuted': the verdict counts in one line."""
    counts = table["verdict"].value_counts()
    return ", ".join(f"{int(counts[v])} {v}" for v in (CONFIRMED, PARTLY, REFUTED, NOT_MEASURED) if v in counts)
