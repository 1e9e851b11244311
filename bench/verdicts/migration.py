"""C5: the audio storage move. Whether storing audio_path as a raw string makes a storage move a massive
migration, judged on its absolute cost at the measured size, or projected to the hub's production size."""

from __future__ import annotations

import math

import pandas as pd

from bench.analysis.fits import fit_loglog
from bench.analysis.tables import Ratio, summary
from bench.analysis.units import ms, size
from bench.verdicts.rules import (
    ADOPT, CONFIRMED, INCONCLUSIVE, NOT_MEASURED, REFUTED, REJECT, UNDECIDED, Judgement,
    row_of, short,
)
from models_variants import labels

# C5: a storage move is "massive" when its one-transaction rewrite takes this long (every message row
# it updated stays locked until it commits) or writes this much WAL (replicas and backups carry it).
MASSIVE_SECONDS = 10.0
MASSIVE_WAL_BYTES = 1024 ** 3
# C5: messages in the hub's production database, when the user states it: the cost is then projected to
# that size along the time and WAL curves fitted over three sizes or more (bench.analysis.fits.fit_loglog), else
# linearly per row from the largest size (an assumption either way). None: judged at the measured size.
PRODUCTION_MESSAGES: int | None = None

RULE_C5 = (f"on absolute cost, not a ratio to the alternative: confirmed if raw_path's migration takes "
           f"{MASSIVE_SECONDS:g} s or more (MASSIVE_SECONDS, or the profile's maintenance_window_s; its whole "
           f"interquartile range) or writes {size(MASSIVE_WAL_BYTES)} of WAL "
           f"or more at the measured size, or at PRODUCTION_MESSAGES when stated: from the log-log curves of time, "
           f"WAL and a concurrent writer's longest wait against rows rewritten fitted over three sizes or more, "
           f"judged on their 95% intervals, else projected linearly from the largest size; refuted if it "
           f"rewrites no more rows than storage_key, or stays below both at the stated production size; "
           f"inconclusive otherwise (cheap at a measured size smaller than production says nothing of production). "
           f"Evidence: the longest wait of a writer updating the same messages during the one-UPDATE move and "
           f"during a backfill in id-range batches. Recommended: storage_key unless refuted.")


def _c5_sizes(df: pd.DataFrame, variant: str) -> pd.DataFrame:
    """raw_path's (or storage_key's) one-UPDATE move per measured size: rows, median, WAL, longest writer wait."""
    part = df[(df["workload"] == "migrate_audio_storage") & (df["variant"] == variant)]
    columns = [c for c in ("rows", "median_s", "wal_bytes", "writer_wait_max_s", "writer_lock_waits") if c in part]
    return part.groupby("sessions")[columns].median().reset_index().sort_values("sessions")


# Every workload C5's judgement reads.
MIGRATION_WORKLOADS = ("migrate_audio_storage", "backfill_audio_storage")


def measured_rows(df: pd.DataFrame) -> tuple[float, float] | None:
    """The fewest and most rows raw_path's move rewrote over the measured sizes; None if not measured."""
    rows = _c5_sizes(df, labels.BASELINE)["rows"].dropna() if "rows" in df else pd.Series(dtype=float)
    return (float(rows.min()), float(rows.max())) if not rows.empty else None


def _c5_writer(df: pd.DataFrame) -> str:
    """What a concurrent writer saw at the largest size, one UPDATE and batched backfill, per variant."""
    if "writer_wait_max_s" not in df or df["writer_wait_max_s"].isna().all():
        return ""
    part = df[df["workload"].isin(MIGRATION_WORKLOADS)]
    part = part[part["sessions"] == part["sessions"].max()]
    said = []
    for (workload, variant), rows in part.groupby(["workload", "variant"], sort=False):
        row = rows.iloc[0]
        if pd.isna(row["writer_wait_max_s"]):
            continue
        how = "one UPDATE" if workload == "migrate_audio_storage" else \
            f"a backfill in {row['batches']:,.0f} batch{'es' if row['batches'] != 1 else ''} ({row['param']})"
        seen = row.get("writer_lock_waits")
        seen = "" if pd.isna(seen) else ", never seen waiting for the move's locks" if not seen else \
            f", seen waiting for the move's locks at the end of {seen:.0f} step{'s' if seen != 1 else ''}"
        said.append(f"{short(variant) if variant != labels.BASELINE else 'raw_path'} as {how}: "
                    f"{ms(row['writer_wait_max_s'])}{seen}")
    return "; longest wait of a writer updating the same messages meanwhile: " + "; ".join(said) if said else ""


def _c5_fit(sizes: pd.DataFrame, column: str, at: float):
    """(fit, (value, low, high) at `at` rows) of `column` against rows rewritten; None below three sizes."""
    known = sizes[(sizes["rows"] > 0) & (sizes[column] > 0)] if column in sizes else sizes.iloc[0:0]
    if known["rows"].nunique() < 3:
        return None
    fit = fit_loglog(known["rows"], known[column])
    return fit, fit.predict(at)


def c5_migration(df: pd.DataFrame, production_messages: int | None = PRODUCTION_MESSAGES,
                 maintenance_window_s: float | None = None, **_) -> Judgement:
    """C5 at the measured size, or at `production_messages`; massive from `maintenance_window_s` (the hub's
    longest migration, default MASSIVE_SECONDS) or MASSIVE_WAL_BYTES."""
    window = MASSIVE_SECONDS if maintenance_window_s is None else maintenance_window_s
    table = summary(df, "migrate_audio_storage", by=("variant",))
    raw = row_of(table, labels.BASELINE) if not table.empty else None
    key = row_of(table, labels.STORAGE_KEY) if not table.empty else None
    if raw is None or key is None:
        return Judgement(NOT_MEASURED, evidence="migrate_audio_storage needs both raw_path and storage_key results")
    sessions = df.loc[df["workload"] == "migrate_audio_storage", "sessions"].max()
    rows, median, wal = raw["rows"], raw["median_s"], raw["wal_bytes"] or 0
    low, high = (raw["q1_s"] if pd.notna(raw["q1_s"]) else median), (raw["q3_s"] if pd.notna(raw["q3_s"]) else median)
    writer = _c5_writer(df)
    missing = [what for what, measured in (
        ("lock waits of a concurrent writer", bool(writer)), ("the production size", bool(production_messages)),
        ("a batched backfill", bool((df["workload"] == "backfill_audio_storage").any()))) if not measured]
    evidence = f"at {sessions:,.0f} sessions raw_path rewrites {rows:,.0f} rows in {ms(median)} (IQR {ms(low)}–" \
               f"{ms(high)}) and writes {size(wal)} WAL; storage_key rewrites {key['rows']:,.0f} " \
               f"row{'s' if key['rows'] != 1 else ''} in {ms(key['median_s'])}, {size(key['wal_bytes'] or 0)} WAL" \
               + writer + (f". Not measured: {', '.join(missing)}" if missing else "")
    if rows <= key["rows"]:
        return Judgement(REFUTED, f"raw_path rewrites {rows:,.0f} rows, storage_key {key['rows']:,.0f}", evidence,
                         labels.BASELINE, REJECT, "moving storage rewrites no more rows with raw paths")
    sizes = _c5_sizes(df, labels.BASELINE)
    timed = _c5_fit(sizes, "median_s", production_messages or rows)
    if production_messages and timed is not None:
        return _c5_at_production(sizes, timed, production_messages, key, evidence, window)
    scale = production_messages / rows if production_messages else 1.0
    where = f"{production_messages:,.0f} messages (projected linearly from {rows:,.0f})" if production_messages \
        else f"the measured {rows:,.0f} messages"
    took, wal_at = Ratio(median * scale, low * scale, high * scale), wal * scale
    cost = f"raw_path's move at {where}: {ms(took.value)} (IQR {ms(took.low)}–{ms(took.high)}), {size(wal_at)} WAL"
    deciding = f"{cost}; massive from {window:g} s or {size(MASSIVE_WAL_BYTES)}"
    side = took.side(window)
    if not production_messages and median > 0 and side == "below" and wal_at < MASSIVE_WAL_BYTES:
        if timed is not None:
            fit = timed[0]
            reach = 10 ** ((math.log10(window) - fit.intercept) / fit.slope) if fit.slope > 0 else math.inf
            deciding += f": not massive at this size; time grows as rows^{fit.slope:.2f} [{fit.low:.2f}–" \
                        f"{fit.high:.2f}] over {len(sizes)} sizes, so {window:g} s is reached near " \
                        f"{reach:,.0f} messages (extrapolation; production size not stated: PRODUCTION_MESSAGES)"
        else:
            deciding += f": not massive at this size; at this rate {window:g} s is reached near " \
                        f"{window / median * rows:,.0f} messages (production size not stated: " \
                        f"PRODUCTION_MESSAGES)"
    if side == "above" or wal_at >= MASSIVE_WAL_BYTES:
        return Judgement(CONFIRMED, deciding, evidence, labels.STORAGE_KEY, ADOPT,
                         f"{cost}, at or above {window:g} s or {size(MASSIVE_WAL_BYTES)}; storage_key "
                         f"rewrites {key['rows']:,.0f} row{'s' if key['rows'] != 1 else ''}")
    if side == "below" and production_messages:
        return Judgement(REFUTED, deciding, evidence, labels.STORAGE_KEY, REJECT,
                         f"not massive at the stated size: {cost}, below {window:g} s and "
                         f"{size(MASSIVE_WAL_BYTES)}")
    return Judgement(INCONCLUSIVE, deciding, evidence, labels.STORAGE_KEY, UNDECIDED,
                     f"cheap at this size ({ms(median)}, {size(wal)} WAL for {rows:,.0f} rows); measure at production "
                     f"size" + (f", with {' and as '.join(missing[:1] + missing[2:])}" if writer == "" else ""))


def _c5_at_production(sizes: pd.DataFrame, timed, production: int, key, evidence: str,
                      window: float) -> Judgement:
    """C5 at the stated production size from the curves fitted over three sizes or more, with their intervals."""
    fit, (value, low, high) = timed
    took = Ratio(value, low, high)
    walled = _c5_fit(sizes, "wal_bytes", production)
    wal = Ratio(*walled[1]) if walled is not None else None
    waited = _c5_fit(sizes, "writer_wait_max_s", production)
    how = "extrapolated" if production > sizes["rows"].max() else "interpolated"
    cost = f"raw_path's move at {production:,.0f} messages, {how} from {len(sizes)} sizes " \
           f"({sizes['rows'].min():,.0f}–{sizes['rows'].max():,.0f} rows; time grows as rows^{fit.slope:.2f} " \
           f"[{fit.low:.2f}–{fit.high:.2f}]): {ms(took.value)} [{ms(took.low)}–{ms(took.high)}]" + \
           (f", {size(wal.value)} [{size(wal.low)}–{size(wal.high)}] WAL" if wal is not None else "") + \
           (f", a writer on the same messages waits up to {ms(waited[1][0])} [{ms(waited[1][1])}–{ms(waited[1][2])}]"
            if waited is not None else "")
    deciding = f"{cost}; massive from {window:g} s or {size(MASSIVE_WAL_BYTES)}, over the whole 95% interval"
    sides = {took.side(window), wal.side(MASSIVE_WAL_BYTES) if wal is not None else "unknown"}
    rewrites = f"storage_key rewrites {key['rows']:,.0f} row{'s' if key['rows'] != 1 else ''}"
    if "above" in sides:
        return Judgement(CONFIRMED, deciding, evidence, labels.STORAGE_KEY, ADOPT,
                         f"{cost}: at or above {window:g} s or {size(MASSIVE_WAL_BYTES)}; {rewrites}")
    if sides == {"below"}:
        return Judgement(REFUTED, deciding, evidence, labels.STORAGE_KEY, REJECT,
                         f"not massive at the stated size: {cost}, below {window:g} s and "
                         f"{size(MASSIVE_WAL_BYTES)}")
    return Judgement(INCONCLUSIVE, deciding, evidence, labels.STORAGE_KEY, UNDECIDED, deciding)
