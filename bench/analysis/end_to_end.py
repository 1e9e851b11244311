"""The recommended model against the model as reviewed: end to end, and against the run's own verdicts.

`agreement(verdicts)`: per axis, whether the value measured (bench.plan.recommended.RECOMMENDED)
is the one the run's verdicts recommend. `end_to_end(df)`: one row per workload x param, the model
as reviewed -> the recommended one, with the recommended model's latency ratio and its interval.
"""

from __future__ import annotations

import pandas as pd

from bench.analysis.tables import Ratio
from bench.plan.recommended import DECIDED_BY, RECOMMENDED
from models_variants import labels

END_TO_END_COLUMNS = ["workload", "param", "statements", "round_trips", "latency ms", "ratio [95% interval]",
                      "WAL bytes", "table + index bytes"]


def agreement(verdicts):
    """Per axis: the value measured (RECOMMENDED), the value the run's verdict recommends, whether they agree."""
    out = []
    for axis, claim in DECIDED_BY.items():
        judged = verdicts[verdicts["claim"] == claim]
        said = str(judged["recommended"].iloc[0]) if not judged.empty else ""
        value = said.split("=", 1)[1] if said.startswith(f"{axis}=") else ""
        measured = getattr(RECOMMENDED, axis)
        out.append({"axis": axis, "measured": measured, "claim": claim, "its verdict recommends": value or "-",
                    "agree": "yes" if value == measured else "no" if value else "no recommendation"})
    return pd.DataFrame(out)


def _pair(part, variant: str):
    rows = part[part["variant"] == variant]
    return None if rows.empty else rows.iloc[0]


def _both(base, new, column: str, fmt) -> str:
    """'1,001 → 3': the reviewed model's value, then the recommended one's ("n/a" where there is none)."""
    values = [row.get(column) if row is not None else None for row in (base, new)]
    return " → ".join("n/a" if v is None or pd.isna(v) else fmt(v) for v in values)


def end_to_end(df):
    """One row per workload x param: the model as reviewed → the recommended model (statements, round
    trips, median latency, WAL, table + index bytes) and the recommended model's latency ratio to the
    reviewed one with its 95% interval (paired trials). At zero added RTT and the largest data set."""
    if "rtt_ms" in df and df["rtt_ms"].notna().any():
        df = df[df["rtt_ms"] == df["rtt_ms"].min()]
    if "sessions" in df and df["sessions"].notna().any():
        df = df[df["sessions"] == df["sessions"].max()]
    rows = []
    label = RECOMMENDED.label
    for (workload, param), part in df.groupby(["workload", "param"], sort=False, dropna=False):
        base, new = _pair(part, labels.BASELINE), _pair(part, label)
        if new is None:
            continue
        ratio = "n/a: the model as reviewed cannot run it" if base is None else "n/a"
        if base is not None and pd.notna(new.get("ratio")):
            low, high = new.get("ratio_low"), new.get("ratio_high")
            ratio = Ratio(float(new["ratio"]), None if pd.isna(low) else float(low),
                          None if pd.isna(high) else float(high)).text()
        sizes = {}
        for name, row in (("base", base), ("new", new)):
            if row is not None and pd.notna(row.get("table_bytes")) and pd.notna(row.get("index_bytes")):
                sizes[name] = row["table_bytes"] + row["index_bytes"]
        rows.append({
            "workload": workload, "param": param or "-",
            "statements": _both(base, new, "statements", lambda v: f"{v:,.0f}"),
            "round_trips": _both(base, new, "round_trips", lambda v: f"{v:,.0f}"),
            "latency ms": _both(base, new, "median_s", lambda v: f"{v * 1000:.3g}"),
            "ratio [95% interval]": ratio,
            "WAL bytes": _both(base, new, "wal_bytes", lambda v: f"{v:,.0f}"),
            "table + index bytes": " → ".join(f"{sizes[k]:,.0f}" if k in sizes else "n/a" for k in ("base", "new")),
        })
    return pd.DataFrame(rows, columns=END_TO_END_COLUMNS)
