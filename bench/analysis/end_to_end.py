"""The recommended model against the model as reviewed: end to end, and against the run's own verdicts.

`agreement(verdicts)`: per axis, whether the value measured (bench.plan.recommended.RECOMMENDED)
is the one the run's verdicts recommend. `end_to_end(df)`: one row per workload x param, the model
as reviewed -> the recommended one, with the recommended model's latency ratio and its interval.
`costs(df)`: where the recommended model is slower or larger, and which of its choices causes it.
"""

from __future__ import annotations

import pandas as pd

from bench.analysis.pooling import combine
from bench.analysis.tables import Ratio, ratio_of, ratios
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
    """The variant's row; measured in several runs, one row pooled as every table pools them: numbers as
    their median, the ratio to the baseline by bench.analysis.pooling.combine."""
    rows = part[part["variant"] == variant]
    rows = rows.drop_duplicates("run_id") if "run_id" in rows else rows  # a run's first data set, as one run reads
    if len(rows) <= 1:
        return None if rows.empty else rows.iloc[0]
    row = rows.iloc[0].copy()
    for column in rows.select_dtypes("number").columns:
        row[column] = rows[column].median()
    per_run = [(float(r), None if pd.isna(lo) else float(lo), None if pd.isna(hi) else float(hi))
               for r, lo, hi in zip(rows["ratio"], rows["ratio_low"], rows["ratio_high"]) if pd.notna(r)]
    row["ratio"], row["ratio_low"], row["ratio_high"] = combine(per_run) if per_run else (None, None, None)
    return row


def _one_data_set(df):
    """The rows both tables compare: zero added RTT (the smallest measured) and the largest data set."""
    if "rtt_ms" in df and df["rtt_ms"].notna().any():
        df = df[df["rtt_ms"] == df["rtt_ms"].min()]
    if "sessions" in df and df["sessions"].notna().any():
        df = df[df["sessions"] == df["sessions"].max()]
    return df


def _both(base, new, column: str, fmt) -> str:
    """'1,001 → 3': the reviewed model's value, then the recommended one's ("n/a" where there is none)."""
    values = [row.get(column) if row is not None else None for row in (base, new)]
    return " → ".join("n/a" if v is None or pd.isna(v) else fmt(v) for v in values)


def end_to_end(df):
    """One row per workload x param: the model as reviewed → the recommended model (statements, round
    trips, median latency, WAL, table + index bytes) and the recommended model's latency ratio to the
    reviewed one with its 95% interval (paired trials). At zero added RTT and the largest data set."""
    df = _one_data_set(df)
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


def _own_choices(df, workload: str, param) -> dict[str, Ratio]:
    """The recommended model's choices one at a time (one axis changed) on this workload and param."""
    table = ratios(df, workload)
    found = {}
    for axis in DECIDED_BY:
        variant = f"{axis}={getattr(RECOMMENDED, axis)}"
        ratio = ratio_of(table, variant, param if isinstance(param, str) else "")
        if ratio is not None:
            found[variant] = ratio
    return found


def _bytes(row) -> float | None:
    if row is None or pd.isna(row.get("table_bytes")) or pd.isna(row.get("index_bytes")):
        return None
    return float(row["table_bytes"] + row["index_bytes"])


def _grown(df) -> dict[str, float]:
    """Table + index bytes each of the recommended model's choices adds on its own: its rows against the
    model as reviewed in the same comparison group (the first workload that measured both)."""
    found = {}
    for axis in DECIDED_BY:
        variant = f"{axis}={getattr(RECOMMENDED, axis)}"
        for (_, _), part in df[df["variant"].isin([variant, labels.BASELINE])].groupby(
                ["workload", "param"], sort=False, dropna=False):
            own, base = _bytes(_pair(part, variant)), _bytes(_pair(part, labels.BASELINE))
            if own is not None and base is not None:
                found[variant] = own - base
                break
    return found


def costs(df) -> dict:
    """Where the recommended model costs more than the model as reviewed. `slower`: every workload whose
    ratio's whole 95% interval lies above 1, by how much, and which of its choices is slower there on
    its own (one axis changed, its whole interval above 1; else "no single choice on its own").
    `larger`: the schema's table + index bytes when they grow, and the choices that grow them."""
    df = _one_data_set(df)
    slower, larger = [], {}
    for (workload, param), part in df.groupby(["workload", "param"], sort=False, dropna=False):
        base, new = _pair(part, labels.BASELINE), _pair(part, RECOMMENDED.label)
        if base is None or new is None:
            continue
        if pd.notna(new.get("ratio_low")) and pd.notna(new.get("ratio_high")) and float(new["ratio_low"]) > 1:
            own = _own_choices(df, workload, param)
            slower.append({"workload": workload, "param": param if isinstance(param, str) else "",
                           "ratio": Ratio(float(new["ratio"]), float(new["ratio_low"]), float(new["ratio_high"])).text(),
                           "caused_by": [f"{v} {r.text()}" for v, r in own.items() if r.low is not None and r.low > 1]
                           or ["no single choice on its own"]})
        sizes = (_bytes(base), _bytes(new))
        if not larger and None not in sizes and sizes[1] > sizes[0]:
            grown = [f"{variant} +{extra:,.0f}" for variant, extra in _grown(df).items() if extra > 0]
            larger = {"bytes": f"{sizes[0]:,.0f} → {sizes[1]:,.0f} ({sizes[1] / sizes[0]:.2f}×)",
                      "caused_by": grown or ["no single choice on its own"]}
    return {"slower": slower, "larger": larger}
