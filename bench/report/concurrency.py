"""The `--clients` results as tables and sentences: load rows per mix, the load generator check,
and C2's node-write fact table. Every sentence is computed from the numbers it states."""

from __future__ import annotations

import pandas as pd

from bench.results import COLUMNS, entries, load, read, rows, under_load
from models_variants import labels

NOT_MEASURED = "not measured: run with --clients 1,4,8"
LOAD_COLUMNS = ["workload", "variant", "clients", "rtt_ms", "ops_per_s", "p50_s", "p95_s", "p99_s", "pool_wait_s",
                "pool_wait_share", "lock_waits", "top_wait", "load_cpu_share", "ceiling_ops_per_s", "headroom",
                "errors"]
NODE_COLUMNS = ["image", "variant", "path", "label", "nodes", "sessions", "writes", "lost_updates", "updates_sent",
                "failed_writes", "deadlocks", "lock_waiters", "drift", "can_drift", "writes_per_s", "lost_free"]
# A case's throughput this many times below `select 1` on the same workers, threads and pools is
# not limited by the load generator.
HEADROOM_NEEDED = 2.0


def load_rows(paths) -> pd.DataFrame:
    """The load rows (--clients) of one or more results files; empty when none was measured."""
    if not paths:
        return pd.DataFrame(columns=COLUMNS)
    df = load(paths)
    if "clients" not in df:
        return df.iloc[0:0]
    return df[df["clients"].notna()].assign(clients=lambda d: d["clients"].astype(int)).reset_index(drop=True)


def node_writes(paths) -> pd.DataFrame:
    """C2's write-side fact table: one row per sync_flag variant x write path (`sessionbench.node_writes`)."""
    paths = [paths] if isinstance(paths, str) else list(paths or [])
    found = [{column: entry.get(column) for column in NODE_COLUMNS}
             for path in paths
             for entry in entries(read(path), "node_writes")]
    return pd.DataFrame(found, columns=NODE_COLUMNS)


def generator_check(df: pd.DataFrame) -> str:
    """Whether the load generator could have limited any case, from the headroom each row states."""
    if df.empty:
        return NOT_MEASURED
    headroom = df["headroom"].dropna()
    if headroom.empty:
        return "the load generator was not checked (no ceiling measured)"
    low = df.loc[headroom.idxmin()]
    verdict = "not the bottleneck" if low["headroom"] >= HEADROOM_NEEDED else "possibly the bottleneck"
    return (f"load generator {verdict}: `select 1` on the same workers, threads and pools reached at least "
            f"{headroom.min():.1f}x each case's throughput (lowest: {low['workload']} {low['variant']} at "
            f"{low['clients']} client{'s' if low['clients'] > 1 else ''}, {low['ops_per_s']:.0f} vs {low['ceiling_ops_per_s']:.0f} requests/s); "
            f"workers used at most {df['load_cpu_share'].max():.0%} of the machine's CPU")


def _named(df: pd.DataFrame, workload: str) -> pd.DataFrame:
    """Variants by their axis value ("selectin"), the baseline as "lazy (baseline)"."""
    from bench.load.cases import MIXES
    from models_variants import AXES

    axis = next((mix.axis for mix in MIXES if mix.name == workload), None)
    baseline = f"{AXES[axis].baseline} (baseline)" if axis else labels.BASELINE
    return df.assign(variant=df["variant"].map(lambda v: baseline if v == labels.BASELINE else str(v).split("=", 1)[-1]))


def finding(df: pd.DataFrame, workload: str) -> str:
    """One sentence per mix: the best variant at the most clients, and what that does to p99 and pool waits."""
    part = df[df["workload"] == workload]
    if part.empty:
        return f"{workload}: {NOT_MEASURED}"
    part = _named(part, workload)
    most = part[part["clients"] == part["clients"].max()]
    most = most[most["rtt_ms"] == most["rtt_ms"].min()]
    best, worst = most.loc[most["ops_per_s"].idxmax()], most.loc[most["ops_per_s"].idxmin()]
    few = part[(part["variant"] == worst["variant"]) & (part["rtt_ms"] == worst["rtt_ms"])]
    least = few.loc[few["clients"].idxmin()]
    rtt = f" (+{best['rtt_ms']:g} ms RTT)" if best["rtt_ms"] else ""
    text = (f"{workload}: at {best['clients']} clients{rtt}, {best['variant']} serves {best['ops_per_s']:.0f} "
            "requests/s "
            f"(p99 {best['p99_s'] * 1000:.1f} ms)")
    if best["variant"] != worst["variant"]:
        text += (f", {best['ops_per_s'] / worst['ops_per_s']:.1f}x {worst['variant']} ({worst['ops_per_s']:.0f}/s, "
                 f"p99 {worst['p99_s'] * 1000:.1f} ms, {worst['pool_wait_share']:.0%} of its request time "
                 "waiting for a pooled connection)")
    if least["clients"] != worst["clients"]:
        plural = "s" if least["clients"] > 1 else ""
        text += (f"; {worst['variant']} goes from {least['ops_per_s']:.0f}/s at {least['clients']} client{plural} to "
                 f"{worst['ops_per_s']:.0f}/s at {worst['clients']}")
    if worst.get("client_wait_share") is not None and worst["client_wait_share"] == worst["client_wait_share"]:
        text += (f"; its server backends spent {worst['client_wait_share']:.0%} of their sampled time waiting for "
                 "the client (ORM work and round trips), not on the server")
    if most["lock_wait_share"].fillna(0).max() > 0:
        locked = most.loc[most["lock_wait_share"].fillna(0).idxmax()]
        text += f"; lock waits are highest for {locked['variant']} ({locked['lock_waits']})"
    return text + "."


def node_write_findings(table: pd.DataFrame) -> str:
    """Which variants and write paths lose or corrupt data, with the counts, and which never do."""
    if table.empty:
        return NOT_MEASURED
    table = _named(table, "sync_under_load")
    variants = set(table["variant"])
    said = [f"{path} loses {_counts(part[part['lost_updates'] > 0], 'lost_updates')}"
            for path, part in table.groupby("path", sort=False) if (part["lost_updates"] > 0).any()]
    drifting = table[table["drift"].fillna(0) > 0]
    if not drifting.empty:
        said.append("the flag disagrees with the JSON value after " + ", ".join(
            f"{row['path']} on {row['variant']} ({row['drift']:.0f} of {row['sessions']} sessions)"
            for _, row in drifting.iterrows()))
    safe = []
    for path, part in table.groupby("path", sort=False):
        clean = set(part.loc[(part["lost_updates"] == 0) & (part["failed_writes"] == 0), "variant"])
        if clean:
            safe.append(f"{path} on {'every variant' if clean == set(part['variant']) else ', '.join(sorted(clean))}")
    said.append("no write lost by " + "; ".join(safe))
    never = sorted(variants - set(table.loc[table["can_drift"].fillna(False).astype(bool), "variant"]))
    said.append(f"cannot drift (one representation of the state): {', '.join(never)}")
    return "; ".join(said) + "."


def _counts(part: pd.DataFrame, column: str) -> str:
    return ", ".join(f"{row[column]:.0f}/{row['writes']:.0f} on {row['variant']}" for _, row in part.iterrows())


def print_load_summary(doc: dict) -> None:
    """The load rows of a run, as `sessionbench run` ends with (nothing without --clients)."""
    table = [r for r in rows(doc) if under_load(r)]
    if not table:
        return
    header = ["workload", "variant", "clients", "rtt ms", "req/s", "p50 ms", "p99 ms", "pool wait ms", "headroom"]
    lines = [[r["workload"], r["variant"], str(r["clients"]), f"{r['rtt_ms'] or 0:g}", _num(r["ops_per_s"], ".0f"),
              _num(r["p50_s"], ".2f", 1000), _num(r["p99_s"], ".2f", 1000), _num(r["pool_wait_s"], ".2f", 1000),
              _num(r.get("headroom"), ".1f")] for r in sorted(table, key=lambda r: (
                  r["workload"], r["rtt_ms"] or 0, r["variant"] != labels.BASELINE, r["variant"], r["clients"]))]
    widths = [max(len(h), *(len(c[i]) for c in lines)) for i, h in enumerate(header)]
    print("\nunder concurrent load (--clients):")
    print("  ".join(h.ljust(w) for h, w in zip(header, widths)))
    for cells in lines:
        print("  ".join(c.ljust(w) if i < 2 else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths))))
    frame = pd.DataFrame(table)
    print(generator_check(frame))
    written = entries(doc, "node_writes")
    if written:
        losing = [e for e in written if e.get("lost_updates")]
        print(f"node writes: {len(written)} variant x path cases, {len(losing)} lose updates: " + "; ".join(
            f"{e['variant']} {e['path']} {e['lost_updates']}/{e['writes']}" for e in losing))


def _num(value, spec: str, scale: float = 1.0) -> str:
    return "-" if value is None or value != value else format(value * scale, spec)


def findings(df: pd.DataFrame) -> pd.DataFrame | str:
    """What each mix's chart shows, one sentence each, then whether the load generator could have limited it."""
    from bench.load.cases import MIXES

    if df.empty:
        return NOT_MEASURED
    said = [{"workload": mix.name, "finding": finding(df, mix.name)} for mix in MIXES]
    return pd.DataFrame([*said, {"workload": "load generator", "finding": generator_check(df)}])


def load_table(df: pd.DataFrame) -> pd.DataFrame:
    """The load rows with the columns a reader compares, in a fixed order."""
    return df.reindex(columns=LOAD_COLUMNS).sort_values(["workload", "rtt_ms", "variant", "clients"])
