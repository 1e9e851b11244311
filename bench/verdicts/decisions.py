"""What to do with the review's recommendations, and the caveats of the runs the verdicts rest on.

`what_to_do(verdict_table)`: one row per recommendation of the review (its three summary
recommendations and the three the claims imply), each adopted, rejected, changed or left undecided,
with the number that decides it (bench.verdicts computes both). `caveats(paths, df)`: the data size,
machine, backend and load of each run, the trials it discarded, and what no run measures.

Both return plain DataFrames; the report and the notebooks render them escaped (results files are
untrusted: every value read here from one is type-checked and cut short before it is shown).
"""

from __future__ import annotations

import math

import pandas as pd

from bench.analysis.pooling import POOLED
from bench.results import entries, load, read, run_info, sizes_of
from bench.verdicts import verdicts as verdicts_of

# The review's recommendations, by the claim that decides each (as written, or as the claim implies).
REVIEW = {
    "C1": "1. Optimize loading strategies: lazy='selectin' for skills and messages",
    "C2": "Extract sync flags such as is_syncing to first-class Boolean columns",
    "C3": "2. Explicit cascade definitions: SQLAlchemy-level backrefs on association tables against orphaned links",
    "C4": "3. Soft delete for safety: a deleted_at column on Session instead of a hard delete",
    "C5": "(implied) Store audio as a storage-independent key instead of a raw path",
    "C6": "(rated Success) Keep datetime.utcnow timestamps for ordering across zones",
}
TODO_COLUMNS = ["review recommends", "claim", "do", "decided by", "verdict"]
CAVEAT_COLUMNS = ["caveat", "what it means"]
# What no run of this suite measures, and which verdicts it limits.
NOT_MEASURED = (
    "Concurrency: lock waits of a concurrent writer during a purge (C3) or soft-delete maintenance (C4); every "
    "case runs alone, and only the storage move (C5) is measured once more beside a writer on the same rows.",
    "Production size: the runs use the sizes above; a scan (C2), a migration (C5) and soft-deleted rows (C4) "
    "grow with the tables.",
    "Clock skew between hosts (C6) is simulated, not observed: each writer's clock reads the true time plus a "
    "fixed skew, on a seeded schedule of overlapping transactions (bench.load.ordering: its event rate is an "
    "assumption); real drift, NTP steps and several primaries are not measured. datetime.utcnow is deprecated "
    "since Python 3.12.",
    "Cold caches and replication: tables are vacuumed, frozen and warm before timing; WAL is counted, not shipped.",
)
TEXT_LIMIT = 80


def what_to_do(verdicts: pd.DataFrame) -> pd.DataFrame:
    """One row per review recommendation: what to do, and the number (with interval) that decides it."""
    rows = []
    for claim, recommendation in REVIEW.items():
        judged = verdicts[verdicts["claim"] == claim]
        if judged.empty:
            continue
        row = judged.iloc[0]
        rows.append({"review recommends": recommendation, "claim": claim, "do": row["action"],
                     "decided by": row["reason"] or row["deciding"], "verdict": row["verdict"]})
    return pd.DataFrame(rows, columns=TODO_COLUMNS)


def delete_paths(paths: list[str]) -> pd.DataFrame:
    """Claim C3's fact table from the runs' metadata: one row per delete path x deletion variant."""
    columns = ["image", "variant", "schema", "path", "label", "error", "sessions_left", "orphans"]
    rows = [{column: entry.get(column) for column in columns}
            for path in paths for entry in entries(read(path), "delete_paths")]
    return pd.DataFrame(rows, columns=columns).fillna({"schema": "declared"})  # older runs: declared FKs only


def _text(value) -> str | None:
    """A results value as short text, or None when it is missing or not a plain value."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, float)):
        return f"{value:g}" if math.isfinite(value) else None
    if isinstance(value, str) and value.strip():
        return value if len(value) <= TEXT_LIMIT else value[:TEXT_LIMIT - 1] + "…"
    return None


def _number(value) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return None
    return float(value)


def _block(meta: dict, name: str) -> dict:
    value = meta.get(name)
    return value if isinstance(value, dict) else {}


def _machine(meta: dict) -> str:
    machine = _block(meta, "machine")
    cpus, quota, memory = _number(machine.get("cpus")), _number(machine.get("cgroup_cpu_quota")), \
        _number(machine.get("memory_bytes"))
    parts = [_text(machine.get("cpu_model")) or "CPU model not recorded"]
    if cpus:
        parts.append(f"{cpus:.0f} CPUs" + (f" (cgroup quota {quota:g})" if quota else ""))
    if memory:
        parts.append(f"{memory / 1024 ** 3:.0f} GiB memory")
    for label, key in (("kernel", "kernel"), ("Python", "python"), ("psycopg", "psycopg_impl")):
        if _text(machine.get(key)):
            parts.append(f"{label} {_text(machine.get(key))}")
    return ", ".join(parts)


def _load(meta: dict) -> str:
    load = _block(meta, "load")
    other, steal = _number(load.get("other_cpu_share")), _number(load.get("steal_share"))
    if other is None and steal is None:
        return "not recorded"
    said = []
    if other is not None:
        said.append(f"other processes used {other:.1%} of the CPU")
    if steal is not None:
        said.append(f"steal {steal:.1%}")
    noisy = load.get("noisy") is True
    return ", ".join(said) + ("; NOISY: small differences may not repeat" if noisy else "; quiet")


def _trials(meta: dict) -> str:
    trials, settings = _block(meta, "trials"), _block(meta, "settings")
    kept, disturbed = _number(trials.get("kept")), _number(trials.get("disturbed"))
    per_case = _number(settings.get("trials"))
    said = f"{per_case:.0f} trials per comparison group; " if per_case else ""
    if kept is None or disturbed is None:
        return said + "discarded trials not recorded"
    return said + f"{disturbed:.0f} of {kept + disturbed:.0f} trials discarded (autovacuum or a checkpoint ran)"


def _server(meta: dict) -> str:
    return " ".join(filter(None, [_text(meta.get("backend")), "PostgreSQL", _text(meta.get("server_version"))]))


def _size(meta: dict) -> str:
    """The run's data size: every size of a sweep (the verdicts judge at the largest), with that one's messages."""
    sizes = sizes_of(meta)
    sessions = _number(meta.get("sessions")) if len(sizes) < 2 else sizes[-1]
    said = f"{sessions:,.0f} sessions" if sessions else "size not recorded"
    if len(sizes) > 1:
        said = f"{'; '.join(f'{n:,}' for n in sizes)} sessions (a size sweep; verdicts judge at the largest)"
    loads = [load for load in meta.get("loads") or [] if isinstance(load, dict)] \
        if isinstance(meta.get("loads"), list) else []
    largest = [load for load in loads if load.get("sessions") == sessions]
    first = (largest or loads or [{}])[0]
    counts = _block(_block(first, "source"), "rows")
    messages = _number(counts.get("messages"))
    scale = _text(meta.get("scale"))
    return said + (f", {messages:,.0f} messages" if messages else "") + (f" (scale {scale})" if scale else "")


def agreement(paths: list[str]) -> str:
    """Whether each run on its own reaches the same verdict per claim: 'Run by run, every claim has the
    same verdict in all 5 runs.' or which claims differ and how."""
    per_run = [verdicts_of(load([path]), delete_paths([path])).set_index("claim")["verdict"] for path in paths]
    found = pd.concat(per_run, axis=1)
    differ = [f"{claim} " + ", ".join(f"{verdict} in {count}" for verdict, count in
                                      sorted(row.value_counts().items(), key=lambda item: (-item[1], item[0])))
              for claim, row in found.iterrows() if row.nunique() > 1]
    if not differ:
        return f"Run by run, every claim has the same verdict in all {len(paths)} runs."
    return f"Run by run, the verdicts differ: {'; '.join(differ)} (of {len(paths)} runs); the others agree."


def _network(df: pd.DataFrame) -> list[tuple[str, str]]:
    """What added round-trip time the runs measured: none, a relay pass over a few cases, or every case."""
    relayed = df[df["rtt_ms"].fillna(0) > 0]
    if relayed.empty:
        return [("Network", "no added round-trip time: across zones every round trip of a request pays it (C1; "
                            "run with --rtt-ms)")]
    cases = relayed[["workload", "param"]].drop_duplicates()
    if len(cases) == len(df[["workload", "param"]].drop_duplicates()):
        return []
    rtts = ", ".join(f"{r:g}" for r in sorted(relayed["rtt_ms"].unique()))
    names = ", ".join(_text(f"{w} {p}".strip()) or "?" for w, p in cases.itertuples(index=False))
    return [("Network", f"added round-trip time ({rtts} ms) measured for {names} only (the relay pass); every other "
                        f"latency is at 0 ms, where each round trip costs far less than across zones (the results' "
                        f"round_trips say how many each request pays; run with --rtt-ms)")]


def caveats(paths: list[str], df: pd.DataFrame | None = None) -> pd.DataFrame:
    """What limits the verdicts: per run its size, machine, backend, load and discarded trials; how the
    runs combine; and what no run measures."""
    metas = [run_info(read(path)) for path in paths]
    several = len(metas) > 1
    per_run = {"Data size": _size, "Machine": _machine, "Backend": _server, "Load during the run": _load,
               "Trials": _trials}
    rows = []
    for caveat, describe in per_run.items():
        said = [describe(meta) for meta in metas]
        if len(set(said)) == 1:  # the same in every run: said once
            rows.append((caveat, said[0] + (" (every run)" if several else "")))
        else:
            rows += [(f"{caveat} ({_text(meta.get('run_id')) or 'run'})", text) for meta, text in zip(metas, said)]
    rows.append(("Runs", f"{len(metas)} results files pooled: {POOLED}. {agreement(paths)}" if several else
                 "one run: repeat it (five runs, say) and report them together to see whether each verdict holds"))
    if df is not None and "rtt_ms" in df:
        rows += _network(df)
    rows += [("Not measured", text) for text in NOT_MEASURED]
    return pd.DataFrame(rows, columns=CAVEAT_COLUMNS)
