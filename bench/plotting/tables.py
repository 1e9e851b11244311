"""Results frames reduced to what one chart draws: medians per case, parameter values, the fastest row."""

from __future__ import annotations

import pandas as pd


def _largest_scale(df: pd.DataFrame) -> pd.DataFrame:
    if df["sessions"].notna().any():
        return df[df["sessions"] == df["sessions"].max()]
    return df


def summary(df: pd.DataFrame, workload: str, by: tuple[str, ...] = ("param", "variant")) -> pd.DataFrame:
    """Median over repeated results of the same benchmark, at the largest scale and zero added RTT."""
    part = df[df["workload"] == workload]
    if part.empty:
        return part
    if "rtt_ms" not in by and part["rtt_ms"].notna().any():
        part = part[part["rtt_ms"] == part["rtt_ms"].min()]
    if "sessions" not in by:
        part = _largest_scale(part)
    numbers = ["statements", "rows", "median_s", "q1_s", "q3_s", "wal_bytes", "index_bytes", "table_bytes",
               "orphans", "leaks", *([c for c in ("plan_rows", "wire_rows", "wire_bytes") if c in part])]
    table = part.groupby(list(by), dropna=False, sort=False)[numbers].median(numeric_only=True)
    text = part.groupby(list(by), dropna=False, sort=False)[["plan_top", "seq_scan"]].first()
    return table.join(text).reset_index()


def param_value(param: str) -> float | str:
    """'page_size=100' -> 100.0; 'timezone=UTC' -> 'UTC'."""
    value = str(param).split("=", 1)[-1]
    try:
        return float(value)
    except ValueError:
        return value


def by_param(df: pd.DataFrame, workload: str, column: str) -> pd.DataFrame:
    """`summary` of one workload with its parameter's value in `column` (empty if not measured)."""
    table = summary(df, workload)
    if not table.empty:
        table[column] = table["param"].map(param_value)
    return table


def fastest(table: pd.DataFrame) -> pd.Series:
    return table.loc[table["median_s"].idxmin()]
