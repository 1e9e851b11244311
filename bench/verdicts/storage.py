"""Verdicts C3 and C4 (orphaned links, soft delete), and the table of C3-C6's judges and rules (C5 is judged in
bench.verdicts.migration, C6 in bench.verdicts.timestamps).

The same conventions as bench.verdicts (which builds the table): each rule's constants sit beside
the function that applies them, a latency decides through its ratio's 95% interval, counts decide
on their own, and each Judgement says what to do with the review's recommendation.
"""

from __future__ import annotations

import pandas as pd

from bench.analysis.tables import Ratio, param_value, ratio_of, ratios, summary
from bench.analysis.units import ms, size
from bench.results import fact_table
from bench.verdicts import facts as verdict_facts
from bench.verdicts import timestamps as verdicts_time
from bench.verdicts.rules import (
    ADOPT, BASE, CHANGE, CONFIRMED, INCONCLUSIVE, NOT_MEASURED, PARTLY, REFUTED, REJECT, UNDECIDED, Judgement,
    at_or_above,
    row_of, short,
)
from bench.verdicts.migration import RULE_C5, c5_migration
from models_variants import Variant, labels

# C3: workloads that delete; "delete_paths" (one case per supported path) is counted when present.
DELETE_PATHS = ("delete_session", "purge_user", "delete_paths")
# C3: paths no application runs. Turning FK triggers off needs superuser rights and disables every
# foreign key; its orphans show what the constraints prevent, not what an app purge leaves.
UNSUPPORTED_PATHS = {"raw_sql_delete_fk_triggers_off"}
# C4: soft delete is "affordable" while every soft/hard_orm latency ratio stays below this over its
# whole 95% interval.
AFFORDABLE_RATIO = 1.5
# C6 is judged in bench.verdicts.timestamps (mis-ordered events); its deprecation note is UTCNOW.
UTCNOW = verdicts_time.UTCNOW

RULES = {
    "C3": "on the schema the model declares (on the tables without its foreign keys when the profile says "
          "foreign_keys = false, where the action is to add them): confirmed if any supported delete path that "
          "completes (raises no error) leaves orphans > 0; refuted if every completed path leaves 0 (exact counts). A path that raises "
          "deleted nothing (the purge failed). Paths with FK triggers off are not supported and not counted. The "
          "same paths on the tables without their foreign keys (made by hand or by an older migration) and the "
          "variants on which every path completes with 0 orphans are stated beside it. Source: the run's "
          "delete-path fact table, else the delete workloads' orphan counts. Recommended: among variants with 0 "
          "orphans, the lowest purge_user latency ratio.",
    "C4": f"refuted if soft delete leaks deleted rows into reads (leaks > 0) or restore returns no row; partly "
          f"if restore is not measured or a soft ÷ hard_orm latency ratio (delete_session, purge_user, list_live "
          f"at the largest deleted fraction, or at the smallest measured at or above the profile's "
          f"soft_deleted_fraction) lies above {AFFORDABLE_RATIO:g} over its whole 95% interval; "
          f"confirmed if all lie below; near the cut-off if one straddles {AFFORDABLE_RATIO:g} (none above), where "
          f"the stated default is taken: confirmed, as below it, said as near the cut-off. Facts of the run "
          f"(exact counts: leaks per ORM and raw SQL read path, unique keys after a delete, bloat after delete/restore "
          f"cycles, list_live without the partial index) turn an adopt into a change that names what soft delete "
          f"needs. Recommended: soft unless refuted.",
    "C5": RULE_C5,
    "C6": verdicts_time.RULE,
}


def _deletion(variant: str):
    """The deletion axis value of a variant; None for a variant this sessionbench does not declare."""
    try:
        return Variant.parse(variant).values()["deletion"]
    except ValueError:
        return None


def _fastest_purge(df: pd.DataFrame, clean) -> tuple[str, Ratio | None]:
    """Among `clean` variants that delete rows (soft delete keeps them: C4 judges it), the one with the
    lowest purge_user ratio to hard_orm, and that ratio; ("", None) when the alternatives were not
    measured beside hard_orm."""
    table = ratios(df, "purge_user")
    clean = [v for v in clean if (value := _deletion(v)) is not None and not value.soft]
    found = {v: BASE if v == labels.BASELINE else ratio_of(table, v) for v in clean}
    known = {v: r for v, r in found.items() if r is not None}
    if not known or (len(known) < len(found) and set(known) == {labels.BASELINE}):
        return "", None
    best = min(known, key=lambda v: known[v].value)
    return best, known[best]


def _c3(df, verdict, evidence, clean, leaving: int, completed: int, failed: int, complete: list[str] | None = None,
        bare: str = "") -> Judgement:
    best, purge = _fastest_purge(df, clean)
    deciding = f"{leaving} of {completed} completed delete paths leave orphans (exact counts)"
    raised = f"; {failed} of the delete paths raised an error and deleted nothing" if failed else ""
    if complete is not None:
        deciding += " on the schema the model declares"
        raised = raised.replace("raised an error and deleted nothing", "raised an error and deleted nothing "
                                "(those purges fail)")
        raised += (f"; every path completes with 0 orphans only on {', '.join(short(v) for v in complete)}"
                   if complete else "; no variant completes every path with 0 orphans")
        raised += f"; {bare}: backrefs do not stop bulk, Core or raw SQL deletes, the database's foreign keys " \
                  f"do, so check the deployed schema has them" if bare else ""
    if verdict == CONFIRMED:
        action, reason = ADOPT, f"{deciding}; {short(best) if best else 'no variant'} leaves none"
    elif best and best != labels.BASELINE and purge is not None and purge.side(1.0) == "below":
        action, reason = CHANGE, (f"0 orphans on every completed path, so backrefs add nothing; use {short(best)} "
                                  f"({_deletion(best).description}): purge_user {purge.text()} of the ORM "
                                  f"cascade's time{raised}")
    else:
        action, reason = REJECT, f"0 orphans on every completed path: the foreign keys already prevent them{raised}"
    return Judgement(verdict, deciding, evidence, best, action, reason)


def _c3_from_paths(df: pd.DataFrame, paths: pd.DataFrame, foreign_keys: bool | None = None) -> Judgement:
    """C3 on the delete-path fact table: a path that raised deleted nothing, so only completed paths count.
    The verdict is on the schema the model declares; the same paths without its foreign keys say what a
    hand-made or older schema leaves. With `foreign_keys` False (the hub's profile says production's
    tables lack them) the verdict is on those paths instead. Several runs count a path once per outcome
    (the same path with the same result in every run is one)."""
    paths = verdict_facts.with_schema(paths)
    paths = paths.drop_duplicates(subset=[c for c in ("image", "variant", "schema", "path", "error", "orphans")
                                          if c in paths])
    if foreign_keys is False and (paths["schema"] == "no_fks").any():
        return _c3_without_fks(df, paths)
    bare = paths[(paths["schema"] == "no_fks") & ~paths["path"].isin(UNSUPPORTED_PATHS)]
    paths = paths[paths["schema"] == "declared"]
    bypass = paths[paths["path"].isin(UNSUPPORTED_PATHS)]
    paths = paths[~paths["path"].isin(UNSUPPORTED_PATHS)]
    completed = paths[paths["error"].isna()]
    failed = paths[paths["error"].notna()]
    leaving = completed[completed["orphans"] > 0]
    clean = set(paths["variant"]) - set(leaving["variant"])
    complete = verdict_facts.clean_everywhere(paths)
    bare_said, bare_listed = verdict_facts.without_fks(bare)
    raised = f"; {len(failed)} raised an error and deleted nothing ({', '.join(sorted(set(failed['error'])))})" \
        if not failed.empty else ""
    if not bypass.empty:
        raised += f"; not counted, FK triggers off: {', '.join(f'{o:.0f}' for o in bypass['orphans'])} orphans"
    if complete:
        raised += f"; every path completes with 0 orphans on {', '.join(short(v) for v in complete)} " \
                  f"({'; '.join(_deletion(v).description for v in complete if _deletion(v))})"
    if bare_said:
        raised += f"; {bare_said}" + (f": {bare_listed}" if bare_listed else "")
    options = {"complete": complete, "bare": bare_said}
    if not leaving.empty:
        listed = ", ".join(f"{p} × {short(v)} {o:.0f}" for p, v, o in
                           zip(leaving["path"], leaving["variant"], leaving["orphans"]))
        evidence = f"orphans left by {len(leaving)} of {len(completed)} completed delete paths: {listed}" + raised
        return _c3(df, CONFIRMED, evidence, clean, len(leaving), len(completed), len(failed), **options)
    evidence = f"0 orphans after every one of {len(completed)} completed delete paths " \
               f"({completed['path'].nunique()} paths × {completed['variant'].nunique()} variants)" + raised
    return _c3(df, REFUTED, evidence, clean, 0, len(completed), len(failed), **options)


def _c3_without_fks(df: pd.DataFrame, paths: pd.DataFrame) -> Judgement:
    """C3 for a hub whose tables lack the foreign keys the model declares (profile: foreign_keys = false):
    judged on the same paths run on the tables without them."""
    declared = paths[(paths["schema"] == "declared") & ~paths["path"].isin(UNSUPPORTED_PATHS)]
    bare = paths[(paths["schema"] == "no_fks") & ~paths["path"].isin(UNSUPPORTED_PATHS)]
    completed = bare[bare["error"].isna()]
    leaving = completed[completed["orphans"] > 0]
    deciding = (f"{len(leaving)} of {len(completed)} completed delete paths leave orphans (exact counts) on the "
                f"tables without their foreign keys (profile: foreign_keys = false)")
    complete = verdict_facts.clean_everywhere(declared)
    with_fks = (f"with the foreign keys the model declares, every path completes with 0 orphans on "
                f"{', '.join(short(v) for v in complete)}" if complete else
                "even with the foreign keys the model declares, no variant completes every path with 0 orphans")
    clean = sorted(set(completed["variant"]) - set(leaving["variant"]))
    if leaving.empty:
        evidence = f"0 orphans after every one of {len(completed)} completed delete paths without the foreign keys"
        return _c3(df, REFUTED, evidence, clean, 0, len(completed), len(bare) - len(completed))
    listed = "; ".join(f"{short(v)}: " + ", ".join(f"{p} {o:.0f}" for p, o in zip(part["path"], part["orphans"]))
                       for v, part in leaving.groupby("variant", sort=False))
    evidence = f"without the foreign keys, orphans left by {len(leaving)} of {len(completed)} completed delete " \
               f"paths: {listed}; {with_fks}"
    spared = f" (only {', '.join(short(v) for v in clean)} leaves none)" if clean else " on every variant"
    reason = (f"{deciding}, up to {leaving['orphans'].max():.0f} rows{spared}: SQLAlchemy backrefs do not stop bulk, "
              f"Core or raw SQL deletes. Add the foreign keys with ON DELETE CASCADE to production's tables; {with_fks}")
    best = complete[0] if complete else ""
    return Judgement(CONFIRMED, deciding, evidence, best, CHANGE, reason)


def c3_orphans(df: pd.DataFrame, delete_paths: pd.DataFrame | None = None, foreign_keys: bool | None = None,
               **_) -> Judgement:
    if delete_paths is not None and not delete_paths.empty:
        return _c3_from_paths(df, delete_paths, foreign_keys)
    measured = df[df["workload"].isin(DELETE_PATHS) & df["orphans"].notna()]
    if measured.empty:
        return Judgement(NOT_MEASURED, evidence="no delete path recorded orphan counts")
    paths = measured.assign(path=measured["workload"] + measured["param"].map(lambda p: f"[{p}]" if p else "")
                            + " × " + measured["variant"].map(short))
    leaving = paths[paths["orphans"] > 0]
    clean = measured.groupby("variant")["orphans"].max()
    clean = list(clean[clean == 0].index)
    if not leaving.empty:
        listed = ", ".join(f"{p} {o:.0f}" for p, o in zip(leaving["path"], leaving["orphans"]))
        return _c3(df, CONFIRMED, f"orphans left by {len(leaving)} of {len(paths)} delete paths: {listed}", clean,
                   len(leaving), len(paths), 0)
    evidence = f"0 orphans after every one of {paths['path'].nunique()} measured delete paths " \
               f"({', '.join(sorted(paths['path'].unique()))})"
    return _c3(df, REFUTED, evidence, clean, 0, len(paths), 0)


def _at_fraction(values: pd.Series, fraction: float | None):
    """The index of the deleted fraction C4 judges list_live at: the measured one at or above the hub's
    `fraction` (rules.at_or_above), the largest measured when `fraction` is None."""
    judged = values.max() if fraction is None else at_or_above(values, fraction)
    return values[values == judged].index[0]


def deleted_fractions(df: pd.DataFrame) -> list[float]:
    """The deleted fractions list_live measured soft delete at beside hard_orm."""
    table = ratios(df, "list_live")
    values = table["param"].map(lambda p: param_value(p) if p else 0.0) if not table.empty else []
    return sorted({float(v) for v in values if isinstance(v, float)})


def soft_ratios(df: pd.DataFrame, variant: str = labels.SOFT, fraction: float | None = None) -> dict[str, Ratio]:
    """A soft variant ÷ hard_orm latency per delete workload, list_live at its largest deleted fraction, or
    at the smallest measured at or above the hub's soft-deleted `fraction` (profile: soft_deleted_fraction)."""
    found = {}
    for workload in ("delete_session", "purge_user", "list_live"):
        table = ratios(df, workload)
        if table.empty:
            continue
        values = table["param"].map(lambda p: param_value(p) if p else 0.0)
        numeric = values.map(lambda v: isinstance(v, float))
        # the deleted fraction judged; a named parameter (purge_user's user=largest): the last one declared
        param = table.loc[_at_fraction(values[numeric].astype(float), fraction), "param"] if numeric.all() \
            else table["param"].iloc[-1]
        ratio = ratio_of(table, variant, param)
        if ratio is not None:
            found[workload + (f" at {param_value(param):.0%} deleted" if param and numeric.all() else
                              f" ({param})" if param else "")] = ratio
    return found


def _list_live_growth(df: pd.DataFrame) -> str:
    """'list_live ÷ hard_orm by deleted fraction, soft (partial index): 0% 1.07×, ..., 90% 1.31× [..]; soft_unindexed: ...'"""
    table = ratios(df, "list_live")
    if table.empty:
        return ""
    table = table.assign(fraction=table["param"].map(lambda p: param_value(p) if p else 0.0)).sort_values("fraction")
    said = []
    for variant, name in ((labels.SOFT, "soft (partial indexes on live rows)"),
                          (labels.SOFT_UNINDEXED, "soft_unindexed (no partial index)")):
        part = table[table["variant"] == variant]
        steps = [f"{f:.0%} {ratio_of(table, variant, p).text()}" for f, p in zip(part["fraction"], part["param"])
                 if ratio_of(table, variant, p) is not None]
        if steps:
            said.append(f"{name}: {', '.join(steps)}")
    return "list_live ÷ hard_orm by deleted fraction, " + "; ".join(said) if said else ""


def _soft_conditions(found: dict) -> list[str]:
    """What adopting soft delete takes, from the run's facts: each condition with the count behind it."""
    conditions = []
    if found.get("raw_leaked"):
        conditions.append(f"a deleted_at IS NULL filter in every raw SQL read (unfiltered, {found['raw_leaked']} of "
                          f"{found['deleted']} deleted sessions come back)")
    if found.get("full re-create after delete", "ok") != "ok":
        conditions.append("partial unique indexes WHERE deleted_at IS NULL (a plain one blocks re-creating a deleted "
                          "key; restore then fails on the re-created one)")
    bloat = found.get("bloat")
    if bloat and bloat["table_bytes"] > bloat["table_bytes_before"]:
        conditions.append(f"autovacuum keeping up ({bloat['cycles']:.0f} delete/restore cycles grow the table "
                          f"{bloat['table_bytes'] / bloat['table_bytes_before']:.1f}× without VACUUM)")
    return conditions


def c4_soft_delete(df: pd.DataFrame, soft_deleted_fraction: float | None = None, **_) -> Judgement:
    soft = df[df["variant"] == labels.SOFT]
    if soft.empty:
        return Judgement(NOT_MEASURED, evidence="no results for deletion=soft")
    leaks = soft["leaks"].dropna()
    restore = summary(df, "restore_session", by=("variant",))
    restored = row_of(restore, labels.SOFT) if not restore.empty else None
    found = soft_ratios(df, fraction=soft_deleted_fraction)
    facts = verdict_facts.soft_facts(fact_table(df, "deletion_facts"), labels.SOFT)
    evidence = "soft ÷ hard_orm latency: " + (", ".join(f"{w} {r.text()}" for w, r in found.items()) or "n/a")
    unindexed = soft_ratios(df, labels.SOFT_UNINDEXED, soft_deleted_fraction)
    if unindexed:
        evidence += "; without the partial indexes: " + ", ".join(f"{w} {r.text()}" for w, r in unindexed.items())
    growth = _list_live_growth(df)
    evidence += f"; {growth}" if growth else ""
    if soft_deleted_fraction is not None:
        listed = [w for w in found if w.startswith("list_live at ")]
        evidence += (f"; list_live judged {listed[0].removeprefix('list_live ')}, for the hub's "
                     f"{soft_deleted_fraction:.0%} soft-deleted (profile: the smallest measured fraction at or above "
                     f"it, else the largest)") if listed else ""
    evidence += f"; leaks {leaks.sum():.0f}" if not leaks.empty else "; leaks not measured"
    if "orm_paths" in facts:
        evidence += (f" (after deleting {facts['deleted']} sessions: {facts['orm_leaked']} come back through "
                     f"{facts['orm_paths']} ORM read paths, {facts['raw_leaked']} through each of "
                     f"{facts['raw_paths']} raw SQL reads without the filter)")
    evidence += f"; restore {ms(restored['median_s'])}, {restored['rows']:.0f} row" if restored is not None \
        else "; restore not measured"
    sizes = summary(df[df["workload"].isin(["delete_session", "list_live"])].assign(workload="x"), "x", by=("variant",))
    s, h = row_of(sizes, labels.SOFT), row_of(sizes, labels.BASELINE)
    if s is not None and h is not None and h["index_bytes"]:
        evidence += f"; indexes {size(s['index_bytes'])} vs {size(h['index_bytes'])}"
    for said in (verdict_facts.unique_text(facts), verdict_facts.bloat_text(facts)):
        evidence += f"; {said}" if said else ""
    sides = {w: r.side(AFFORDABLE_RATIO) for w, r in found.items()}
    # The deciding ratio: one above the threshold if any, else one across it, else the highest.
    worst = next((w for side in ("above", "straddles", "unknown") for w in found if sides[w] == side),
                 max(found, key=lambda w: found[w].value) if found else None)
    deciding = f"soft ÷ hard_orm, {worst}: {found[worst].text()}; affordable below {AFFORDABLE_RATIO:g}" if worst \
        else "soft delete's latency not measured beside hard_orm"
    if (not leaks.empty and leaks.sum() > 0) or (restored is not None and not restored["rows"] > 0) \
            or facts.get("orm_leaked"):
        why = f"{leaks.sum():.0f} deleted rows leak into reads" if not leaks.empty and leaks.sum() > 0 \
            else f"{facts['orm_leaked']} deleted sessions leak into ORM reads" if facts.get("orm_leaked") \
            else "restore returns no row"
        return Judgement(REFUTED, why, evidence, labels.BASELINE, REJECT, f"soft delete fails its purpose: {why}")
    if restored is None:
        return Judgement(PARTLY, deciding + "; restore not measured", evidence, labels.SOFT, UNDECIDED,
                         "recovery (restore_session) was not measured")
    # The claim's two halves: recovery (safety), and cost against the cut-off, which answers below, above
    # or near the cut-off (the interval across it), each with its deciding number.
    position = ("above" if "above" in sides.values() else "below" if found and set(sides.values()) == {"below"}
                else "near the cut-off")
    halves = (("recovery", "holds", f"restore {ms(restored['median_s'])}, {restored['rows']:.0f} row; no leak "
                                    f"into ORM reads"),
              ("cost", f"{position} {AFFORDABLE_RATIO:g}" if position != "near the cut-off" else position, deciding))
    conditions = _soft_conditions(facts)
    listed = next((w for w in found if w.startswith("list_live")), None)
    if listed and listed in unindexed and unindexed[listed].over(found[listed]).side(1.0) == "above":
        conditions.insert(0, f"partial indexes on live rows (without them {listed} takes "
                             f"{unindexed[listed].over(found[listed]).text()} as long)")
    needs = "; it needs " + ", ".join(conditions) if conditions else ""
    if not found:
        return Judgement(INCONCLUSIVE, deciding, evidence, labels.SOFT, UNDECIDED, deciding, halves=halves)
    if position == "near the cut-off":
        # Near the cut-off the answer is the default stated in the rule: confirmed and adopted with its
        # conditions, as below the cut-off, said as near it; more runs decide whether it stays affordable.
        return Judgement(CONFIRMED, deciding, evidence, labels.SOFT, CHANGE if conditions else ADOPT,
                         f"near the cut-off ({deciding}): by default adopt deleted_at with an ORM-wide filter, as "
                         f"below it; more runs settle whether it stays under {AFFORDABLE_RATIO:g}{needs}", halves=halves)
    if "above" in sides.values():
        return Judgement(PARTLY, deciding, evidence, labels.SOFT, CHANGE,
                         f"adopt soft delete only if {worst} at {found[worst].text()} the hard delete's latency is "
                         f"acceptable (above {AFFORDABLE_RATIO:g}); it restores in {ms(restored['median_s'])}{needs}",
                         halves=halves)
    affordable = (f"every soft ÷ hard_orm latency ratio lies below {AFFORDABLE_RATIO:g} (highest: {worst} "
                  f"{found[worst].text()}) and restore brings a session back in {ms(restored['median_s'])}")
    if conditions:
        return Judgement(CONFIRMED, deciding, evidence, labels.SOFT, CHANGE,
                         f"adopt deleted_at with an ORM-wide filter, not the bare column: {affordable}{needs}",
                         halves=halves)
    return Judgement(CONFIRMED, deciding, evidence, labels.SOFT, ADOPT, affordable, halves=halves)


JUDGES = {"C3": c3_orphans, "C4": c4_soft_delete, "C5": c5_migration, "C6": verdicts_time.c6_timestamps}
