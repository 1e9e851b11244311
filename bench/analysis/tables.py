"""Results frames reduced to what one chart or verdict draws: medians per case, ratios to the baseline
with their intervals, parameter values, the fastest row."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from bench.analysis import stats
from bench.analysis.pooling import combine, pooled_how
from bench.data.spec import is_share
from bench.plan.recommended import without as without_recommended
from models_variants import Variant
from models_variants import labels


def _largest_scale(df: pd.DataFrame) -> pd.DataFrame:
    """The rows of one data set: the largest size, then the natural node mix (or the fewest nodes per
    session), then one way of syncing (a share before a fixed count), so medians never pool data sets."""
    if df["sessions"].notna().any():
        df = df[df["sessions"] == df["sessions"].max()]
    if "nodes_per_session" in df and df["nodes_per_session"].notna().any():
        nodes = df["nodes_per_session"]
        df = df[nodes.isna()] if nodes.isna().any() else df[nodes == nodes.min()]
    if "syncing" in df and df["syncing"].nunique() > 1:
        modes = sorted(df["syncing"].dropna().unique(), key=lambda mode: (not is_share(mode), str(mode)))
        df = df[df["syncing"] == modes[0]]
    return df


def summary(df: pd.DataFrame, workload: str, by: tuple[str, ...] = ("param", "variant")) -> pd.DataFrame:
    """Median over repeated results of the same benchmark, at the largest scale and zero added RTT; the
    recommended model (several axes changed at once, bench.plan.recommended) is left out."""
    part = without_recommended(df[df["workload"] == workload])
    if part.empty:
        return part
    if "rtt_ms" not in by and part["rtt_ms"].notna().any():
        part = part[part["rtt_ms"] == part["rtt_ms"].min()]
    if "sessions" not in by:
        part = _largest_scale(part)
    numbers = ["statements", "rows", "median_s", "q1_s", "q3_s", "wal_bytes", "index_bytes", "table_bytes",
               "orphans", "leaks",
               *([c for c in ("plan_rows", "executions", "round_trips", "wire_rows", "wire_bytes") if c in part])]
    grouped = part.groupby(list(by), dropna=False, sort=False)
    table = grouped[numbers].median(numeric_only=True)
    # Each median's 95% interval (bench.results); pooled, spanning every run's (runs differ in level, and
    # a bar is an absolute time, not a ratio measured side by side).
    for column, how in (("median_low_s", "min"), ("median_high_s", "max")):
        if column in part:
            table[column] = grouped[column].agg(how)
    text = grouped[["plan_top", "seq_scan"]].first()
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


@dataclass(frozen=True)
class Ratio:
    """A latency ratio (variant ÷ reference) with its 95% interval; low and high are None when the
    results hold no interval. `how` says how the interval was obtained when not measured directly."""

    value: float
    low: float | None = None
    high: float | None = None
    how: str = ""

    def side(self, threshold: float) -> str:
        """'below' or 'above' when the whole interval lies on that side of `threshold`, else
        'straddles' (a boundary on the threshold counts as straddling); 'unknown' without an interval."""
        if self.low is None or self.high is None:
            return "unknown"
        if self.high < threshold:
            return "below"
        if self.low > threshold:
            return "above"
        return "straddles"

    def over(self, other: Ratio) -> Ratio:
        """This ratio divided by another one of the same group (both to the same baseline): the
        interval is the widest the two intervals allow, so it holds at least 90% (two 95% intervals)."""
        if None in (self.low, self.high, other.low, other.high) or not other.low:
            return Ratio(self.value / other.value, how="no interval: one side has none")
        return Ratio(self.value / other.value, self.low / other.high, self.high / other.low,
                     how="interval from both ratios' intervals (at least 90%)")

    def text(self, unit: str = "×") -> str:
        """'0.38× [0.17–0.84]', or '0.38× (no interval)'."""
        if self.low is None or self.high is None:
            return f"{_figure(self.value)}{unit} (no interval)"
        return f"{_figure(self.value)}{unit} [{_figure(self.low)}–{_figure(self.high)}]"


def _figure(value: float) -> str:
    """Two decimals as `sessionbench run` prints ratios; two significant figures below 0.1; whole
    numbers with thousands separators from 1,000."""
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    return f"{value:.2f}" if abs(value) >= 0.1 else f"{value:.2g}"


def _number(value) -> float | None:
    return None if value is None or pd.isna(value) else float(value)


def _group_rows(df: pd.DataFrame, workload: str) -> pd.DataFrame:
    """The rows a comparison reads: the workload's per-axis variants at the largest scale and the smallest
    added RTT, with their ratio columns as numbers (a damaged file's text reads as missing)."""
    part = without_recommended(df[df["workload"] == workload])
    if part.empty or "ratio" not in part:
        return part.iloc[0:0]
    if part["rtt_ms"].notna().any():
        part = part[part["rtt_ms"] == part["rtt_ms"].min()]
    part = _largest_scale(part).copy()
    for column in ("ratio", "ratio_low", "ratio_high"):
        part[column] = pd.to_numeric(part[column], errors="coerce")
    return part


def ratios(df: pd.DataFrame, workload: str) -> pd.DataFrame:
    """Each variant's latency ratio to its group's baseline with the interval, per param and variant,
    at the largest scale and zero added RTT. Results files measuring the same benchmark are pooled by
    `combine`. Columns: param, variant, ratio, ratio_low, ratio_high, runs."""
    columns = ["param", "variant", "ratio", "ratio_low", "ratio_high", "runs"]
    part = _group_rows(df, workload)
    if part.empty:
        return pd.DataFrame(columns=columns)
    rows = []
    for (param, variant), group in part.groupby(["param", "variant"], dropna=False, sort=False):
        per_run = [(float(r), _number(low), _number(high))
                   for r, low, high in zip(group["ratio"], group["ratio_low"], group["ratio_high"]) if pd.notna(r)]
        ratio, low, high = combine(per_run) if per_run else (None, None, None)
        rows.append({"param": param, "variant": variant, "ratio": ratio, "ratio_low": low, "ratio_high": high,
                     "runs": group["run_id"].nunique()})
    return pd.DataFrame(rows, columns=columns)


def lead(df: pd.DataFrame, workload: str, a: str, b: str, param: str = "") -> Ratio | None:
    """a's latency ÷ b's, two variants of one comparison group, measured side by side: in each run the
    ratio of their per-trial medians, trial by trial (both ran in every trial's minutes), with the same
    interval as a ratio to the baseline (stats.paired_ratio); several runs combined by `combine`. None
    when no run holds both variants' trials (then `Ratio.over` of their baseline ratios is what is known)."""
    trials = df.attrs.get("trial_medians") or {}
    part = _group_rows(df, workload)
    if part.empty:
        return None
    part = part[part["param"].fillna("") == param]
    per_run = []
    for _run, rows in part.groupby("run_id", sort=False):
        mine, theirs = rows[rows["variant"] == a], rows[rows["variant"] == b]
        if len(mine) != 1 or len(theirs) != 1:
            continue
        top, bottom = trials.get(mine.index[0]), trials.get(theirs.index[0])
        if not top or not bottom or len(top) != len(bottom) or len(top) < 2:
            continue
        per_run.append(stats.paired_ratio(bottom, top))
    if not per_run:
        return None
    ratio, low, high = combine(per_run)
    return Ratio(ratio, low, high, how=pooled_how(len(per_run)) or "trial by trial in one run")


def ratio_of(table: pd.DataFrame, variant: str, param: str = "") -> Ratio | None:
    """One variant's Ratio from a `ratios` table; None when it was not measured beside a baseline."""
    rows = table[(table["variant"] == variant) & (table["param"].fillna("") == param)]
    if rows.empty or _number(rows["ratio"].iloc[0]) is None:
        return None
    row = rows.iloc[0]
    return Ratio(float(row["ratio"]), _number(row["ratio_low"]), _number(row["ratio_high"]),
                 how=pooled_how(int(row["runs"])))


# SQLAlchemy loader strategies that load a relationship together with its parents, used or not.
EAGER_STRATEGIES = frozenset({"selectin", "joined", "subquery", "immediate"})
SAME_ROWS, EXTRA_ROWS, UNKNOWN_WORK = "same rows as lazy", "also loads every message", "work not known"


def _loads_messages(variant: str) -> bool | None:
    """Whether a loading variant's Session.messages loads with its parents (the dashboard shows only
    skills); None for a variant this sessionbench does not declare."""
    if variant == labels.BASELINE:
        return False
    try:
        loading = Variant.parse(variant).values()["loading"]
    except ValueError:
        return None
    strategy = getattr(loading, "messages_lazy", getattr(loading, "lazy", None))
    return None if strategy is None else strategy in EAGER_STRATEGIES


def dashboard_work(table: pd.DataFrame) -> dict[str, str]:
    """Per variant of a dashboard `summary` at one page size: SAME_ROWS, EXTRA_ROWS or UNKNOWN_WORK.

    The rows the server sent over all statements (`wire_rows`) decide when the results hold them; else
    the strategy does: the loading axis gives one strategy to skills and messages, so an eager one
    also loads every message of the page's sessions, while lazy and raise (with an explicit
    selectinload of skills) load only skills."""
    base = table[table["variant"] == labels.BASELINE]
    wire = "wire_rows" in table and table["wire_rows"].notna().any() and not base.empty \
        and pd.notna(base["wire_rows"].iloc[0])
    out = {}
    for _, row in table.iterrows():
        if wire and pd.notna(row["wire_rows"]):
            out[row["variant"]] = SAME_ROWS if row["wire_rows"] <= base["wire_rows"].iloc[0] else EXTRA_ROWS
        else:
            loads = _loads_messages(row["variant"])
            out[row["variant"]] = UNKNOWN_WORK if loads is None else EXTRA_ROWS if loads else SAME_ROWS
    return out
