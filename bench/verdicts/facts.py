"""The fact tables behind C3, C4 and C6, read into the counts and sentences their verdicts use.

C3: delete paths on the tables without their foreign keys, and which schema lets every path complete
with no orphans. C4: soft delete's unique keys, leaks per read path and bloat (bench.measure.deletion_facts).
C6: mis-ordered events per timestamp source (bench.load.ordering). Every number here is an exact count of
one run's fact table; several runs count a fact once per distinct outcome.
"""

from __future__ import annotations

import pandas as pd

from bench.analysis.units import size
from models_variants import labels

# C6: a writer clock skew NTP keeps hosts within (the verdict's deciding skew), and one of badly synced hosts.
NTP_SKEW_MS = 10
BAD_SKEW_MS = 1000


def _short(variant: str) -> str:
    return variant.split("=", 1)[-1] if variant != labels.BASELINE else "hard_orm"


def with_schema(paths: pd.DataFrame) -> pd.DataFrame:
    """The delete-path table with its `schema` ("declared" where an older file does not say)."""
    schema = paths["schema"].fillna("declared") if "schema" in paths else "declared"
    return paths.assign(schema=schema)


def orphan_grid(paths: pd.DataFrame) -> pd.DataFrame:
    """C3's delete paths as one row per path and one column per deletion variant and schema: the orphans
    it left, "error" where it raised and deleted nothing, and the sessions it left behind."""
    if paths.empty:
        return paths

    def cell(row) -> str:
        if isinstance(row["error"], str) and row["error"]:
            return f"error ({row['error']})"
        orphans, left = _count(row["orphans"]), _count(row["sessions_left"])
        return ("n/a" if orphans is None else f"{orphans:,.0f}") + (f", {left:,.0f} left" if left else "")

    found = with_schema(paths)
    found = found.assign(result=found.apply(cell, axis=1),
                         column=found["variant"].map(_short) + " · " + found["schema"].astype(str))
    grid = found.pivot_table(index=["path", "label"], columns="column", values="result", aggfunc="first",
                             sort=False)
    return grid.reset_index().rename(columns={"label": "what it does"}).rename_axis(columns=None)


def timed_delete_table(df: pd.DataFrame) -> pd.DataFrame:
    """After the timed delete workloads, per workload and parameter (rows) and variant (columns): the
    statements and rows of one round, and any orphans or leaks (soft-deleted rows still read)."""
    part = df[df["orphans"].notna()]
    if part.empty:
        return part

    def cell(row) -> str:
        said = f"{row['statements']:,.0f} statements, {row['rows']:,.0f} rows"
        for column in ("orphans", "leaks"):
            if _count(row[column]):
                said += f", {row[column]:,.0f} {column}"
        return said

    part = part.assign(result=part.apply(cell, axis=1), shown=part["variant"].map(
        lambda v: "recommended model" if "," in str(v) else _short(v)))
    grid = part.pivot_table(index=["workload", "param"], columns="shown", values="result", aggfunc="first",
                            sort=False)
    return grid.reset_index().rename_axis(columns=None)


def _count(value) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) and value == value else None


def clean_everywhere(paths: pd.DataFrame) -> list[str]:
    """Variants on which every path completes (no error) and leaves 0 orphans."""
    bad = paths[paths["error"].notna() | (paths["orphans"] > 0)]["variant"]
    return [v for v in dict.fromkeys(paths["variant"]) if v not in set(bad)]


def without_fks(paths: pd.DataFrame) -> tuple[str, str]:
    """(short, listed) for the paths run without foreign keys: how many completed paths left orphans, and
    per variant each path with its orphan rows; ("", "") when none ran so."""
    if paths.empty:
        return "", ""
    completed = paths[paths["error"].isna()]
    leaving = completed[completed["orphans"] > 0]
    said = f"without the foreign keys {len(leaving)} of {len(completed)} completed delete paths leave orphans"
    if leaving.empty:
        return said, ""
    listed = "; ".join(f"{_short(v)}: " + ", ".join(f"{p} {o:.0f}" for p, o in zip(part["path"], part["orphans"]))
                       for v, part in leaving.groupby("variant", sort=False))
    plain = sorted({_short(v) for v in leaving.loc[leaving["path"] == "orm_delete", "variant"]})
    said += f" (up to {leaving['orphans'].max():.0f} rows" + (
        f"; even session.delete() on {', '.join(plain)}, which leaves deleting children to the database)"
        if plain else ")")
    return said, listed


def soft_facts(facts: pd.DataFrame, variant: str) -> dict:
    """One soft-delete variant's facts: leaks per kind of read path, unique keys, bloat. {} if not measured."""
    if facts.empty or "variant" not in facts:
        return {}
    mine = facts[facts["variant"] == variant]
    if mine.empty:
        return {}
    mine = mine.drop_duplicates(subset=[c for c in ("check", "case", "step") if c in mine])  # one per outcome
    found = {}
    leaks = mine[mine["check"] == "leak"]
    if not leaks.empty:
        raw = leaks["case"].str.startswith("raw SQL")
        found["deleted"] = int(leaks["deleted"].max())
        found["orm_paths"], found["orm_leaked"] = int((~raw).sum()), int(leaks.loc[~raw, "rows"].max())
        found["raw_paths"], found["raw_leaked"] = int(raw.sum()), int(leaks.loc[raw, "rows"].max()) if raw.any() else 0
        found["leaking"] = list(leaks.loc[leaks["rows"] > 0, "case"])
    unique = mine[mine["check"] == "unique"]
    for _, fact in unique.iterrows():
        key = ("partial " if "WHERE" in fact["case"] else "full ") + fact["step"]
        found[key] = fact["error"] if isinstance(fact["error"], str) else "ok"
    bloat = mine[mine["check"] == "bloat"]
    for _, fact in bloat.iterrows():
        found["bloat vacuum" if fact["vacuum"] else "bloat"] = fact.to_dict()
    return found


def unique_text(found: dict) -> str:
    """'a unique (user_id, slug) index blocks re-creating a soft-deleted session's key (UniqueViolation); ...'"""
    if "full re-create after delete" not in found:
        return ""
    said = [f"a unique key blocks re-creating a soft-deleted session's key ({found['full re-create after delete']})"
            if found["full re-create after delete"] != "ok" else "a unique key allows re-creating a soft-deleted key"]
    if "partial re-create after delete" in found:
        said.append(f"a partial unique index WHERE deleted_at IS NULL allows it "
                    f"({found['partial re-create after delete']})")
    if "partial restore after re-create" in found:
        said.append(f"then restoring the old session fails ({found['partial restore after re-create']})")
    return ", ".join(said)


def bloat_text(found: dict) -> str:
    """'10 cycles of 50% deleted and restored: table 344 KiB → 2.5 MiB (7.6×), ... without VACUUM; ...'"""
    said = []
    for key, mode in (("bloat", "without VACUUM"), ("bloat vacuum", "with VACUUM after each cycle")):
        fact = found.get(key)
        if fact:
            said.append(f"table {size(fact['table_bytes_before'])} → {size(fact['table_bytes'])} "
                        f"({fact['table_bytes'] / fact['table_bytes_before']:.1f}×), indexes "
                        f"{size(fact['index_bytes_before'])} → {size(fact['index_bytes'])}, "
                        f"{fact['dead_tuples']:,.0f} dead tuples {mode}")
    if not said:
        return ""
    first = found.get("bloat") or found.get("bloat vacuum")
    sample = first.get("sample_sessions")
    on = f" of {sample:,.0f} sessions" if sample == sample and sample is not None else ""
    return f"after {first['cycles']:.0f} delete/restore cycles{on}: " + "; ".join(said)


def ordering(facts: pd.DataFrame, timestamps: str = "naive_utc") -> dict:
    """C6's counts for one timestamps variant: per (check, source, skew_ms) its misordered pairs, late events,
    events and pairs. {} when not measured."""
    if facts.empty or "timestamps" not in facts:
        return {}
    mine = facts[facts["timestamps"] == timestamps]
    found = {}
    for _, fact in mine.iterrows():
        skew = None if pd.isna(fact["skew_ms"]) else float(fact["skew_ms"])
        found.setdefault((fact["check"], fact["source"], skew), {
            k: int(fact[k]) for k in ("events", "pairs", "misordered_pairs", "late_events")})
    return found


def counted(found: dict) -> str:
    """'20 of 780 pairs mis-ordered, 14 of 40 events late'."""
    return (f"{found['misordered_pairs']} of {found['pairs']} pairs mis-ordered, {found['late_events']} of "
            f"{found['events']} events late")


# Tables for the notebooks: one fact table of the runs `df` came from, shaped for reading.
def _facts(df: pd.DataFrame, name: str, check: str) -> pd.DataFrame:
    from bench.results import fact_table

    facts = fact_table(df, name)
    if facts.empty or "check" not in facts:
        return pd.DataFrame()
    facts = facts[(facts["check"] == check) & facts["run_id"].isin(df["run_id"])]
    return facts[~facts["variant"].str.contains(",")]  # one axis changed: the recommended model repeats soft


def leak_table(df: pd.DataFrame) -> pd.DataFrame:
    """Deleted sessions each read path returns, per deletion variant (after deleting one user's sessions)."""
    facts = _facts(df, "deletion_facts", "leak")
    if facts.empty:
        return facts
    table = facts.pivot_table(index="case", columns="variant", values="rows", aggfunc="max", sort=False).astype(int)
    deleted = facts.groupby("variant")["deleted"].max()
    table.columns = [f"{_short(v)} (of {deleted[v]:.0f} deleted)" for v in table.columns]
    return table.rename_axis("read path").reset_index()


def unique_table(df: pd.DataFrame) -> pd.DataFrame:
    """Per unique index form and step, the error raised per deletion variant ("ok", or n/a without deleted_at)."""
    facts = _facts(df, "deletion_facts", "unique")
    if facts.empty:
        return facts
    facts = facts.assign(outcome=[("ok" if not isinstance(e, str) else e) if applies else "n/a"
                                  for e, applies in zip(facts["error"], facts["applies"])])
    table = facts.pivot_table(index=["case", "step"], columns="variant", values="outcome", aggfunc="first", sort=False)
    table.columns = [_short(v) for v in table.columns]
    return table.fillna("not reached").reset_index()


def bloat_table(df: pd.DataFrame) -> pd.DataFrame:
    """Sessions table and index bytes, before and after the delete/restore cycles, and dead tuples left."""
    facts = _facts(df, "deletion_facts", "bloat")
    if facts.empty:
        return facts
    return pd.DataFrame({
        "variant": facts["variant"].map(_short), "cycles": facts["cycles"].astype(int),
        **({"sessions copied": facts["sample_sessions"].map(lambda n: f"{n:,.0f}" if n == n else "")}
           if "sample_sessions" in facts else {}),
        "VACUUM": facts["vacuum"].map({True: "after each cycle", False: "none"}),
        "table before": facts["table_bytes_before"].map(size), "table after": facts["table_bytes"].map(size),
        "indexes before": facts["index_bytes_before"].map(size), "indexes after": facts["index_bytes"].map(size),
        "dead tuples": facts["dead_tuples"].map(lambda n: f"{n:,.0f}")}).drop_duplicates()


def ordering_table(df: pd.DataFrame, check: str) -> pd.DataFrame:
    """Mis-ordered pairs and late events per timestamp source (and skew), per timestamps column type."""
    facts = _facts(df, "ordering_facts", check)
    if facts.empty:
        return facts
    facts = facts.assign(counted=[f"{p:.0f} of {n:.0f} pairs, {late:.0f} of {e:.0f} late" for p, n, late, e in
                                  zip(facts["misordered_pairs"], facts["pairs"], facts["late_events"], facts["events"])],
                         skew=facts["skew_ms"].map(lambda s: "one server clock" if pd.isna(s) else f"{s:,.0f} ms"))
    index = ["source", "skew"] if check == "clock skew" else ["source"]
    table = facts.pivot_table(index=index, columns="column", values="counted", aggfunc="first", sort=False)
    table.columns = [f"{c.lower()} column" for c in table.columns]
    return table.reset_index()
