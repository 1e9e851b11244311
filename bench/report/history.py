"""Benchmark history across many results files: a tidy table, step detection, a trend chart."""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

import numpy as np
import pandas as pd

from bench import results
from bench.results import key_of as benchmark_identity
from bench.results import label_of as identity_label
from bench.gate.compare import report_user_error
from bench.errors import UserError
from bench.report.plotting.axes import legend
from bench.report.plotting.style import plain
from bench.analysis.fits import detect_steps
from bench.plan.cases import RUN_COLUMNS

COLUMNS = ["key", *RUN_COLUMNS, "run_id", "commit", "datetime", "median_s", "iqr_s", "statements"]


def history_table(docs: Sequence[dict]) -> pd.DataFrame:
    """One row per benchmark x run, sorted by run datetime (then benchmark key)."""
    records = []
    for doc in docs:
        run = results.run_info(doc)
        commit = (doc.get("commit_info") or {}).get("id")
        for bench in doc.get("benchmarks", []):
            identity = benchmark_identity(bench)
            stats = bench.get("stats") or {}
            records.append({
                "key": identity_label(identity),
                **dict(zip(RUN_COLUMNS, identity)),
                "run_id": run.get("run_id"),
                "commit": commit,
                "datetime": doc.get("datetime"),
                "median_s": stats.get("median"),
                "iqr_s": stats.get("iqr"),
                "statements": results.extra(bench).get("statements"),
            })
    df = pd.DataFrame.from_records(records, columns=COLUMNS)
    # Files may mix naive and offset timestamps; all are UTC in pytest-benchmark output.
    df["datetime"] = pd.to_datetime(df["datetime"], utc=True, format="ISO8601")
    df["median_s"] = df["median_s"].astype(float)
    df["iqr_s"] = df["iqr_s"].astype(float)
    df["statements"] = df["statements"].astype("Int64")
    return df.sort_values(["datetime", "key"], kind="stable", ignore_index=True)


def mark_steps(df: pd.DataFrame, *, min_ratio: float = 0.10) -> pd.DataFrame:
    """A copy with a boolean `step` column: True on the first run of a new level, per benchmark."""
    marked = df.sort_values(["datetime", "key"], kind="stable", ignore_index=True)
    marked["step"] = False
    for _, group in marked.groupby("key", sort=False):
        for position in detect_steps(group["median_s"].to_numpy(), min_ratio=min_ratio):
            marked.loc[group.index[position], "step"] = True
    return marked


def step_changes(df: pd.DataFrame) -> pd.DataFrame:
    """One row per detected step (needs mark_steps): key, run, before/after level medians, ratio.

    A level's median is taken over all runs from the previous step to the next one.
    """
    rows = []
    for key, group in df.groupby("key", sort=False):
        values = group["median_s"].to_numpy()
        bounds = [0, *np.flatnonzero(group["step"].to_numpy()), len(values)]
        for before, start, end in zip(bounds, bounds[1:-1], bounds[2:]):
            level_before = float(np.median(values[before:start]))
            level_after = float(np.median(values[start:end]))
            run = group.iloc[start]
            rows.append({"key": key, "commit": run["commit"], "datetime": run["datetime"],
                         "before_s": level_before, "after_s": level_after, "ratio": level_after / level_before})
    return pd.DataFrame(rows, columns=["key", "commit", "datetime", "before_s", "after_s", "ratio"])


def _run_label(when: pd.Timestamp, commit: str | None) -> str:
    return f"{when:%Y-%m-%d}\n{(commit or '?')[:7]}"


def finding(df: pd.DataFrame) -> str:
    """One sentence for a chart title: the largest step, or that there was none."""
    runs = df["datetime"].nunique()
    steps = step_changes(df) if "step" in df else pd.DataFrame()
    if steps.empty:
        workloads = df["workload"].unique()
        prefix = f"{workloads[0]}: n" if len(workloads) == 1 else "N"
        return f"{prefix}o step change over {runs} runs"
    largest = steps.iloc[int(np.argmax(np.abs(np.log(steps["ratio"].to_numpy()))))]
    direction = "slower" if largest["ratio"] > 1 else "faster"
    change = abs(largest["ratio"] - 1) * 100
    more = f" (+{len(steps) - 1} more step{'s' if len(steps) > 2 else ''})" if len(steps) > 1 else ""
    return (f"{largest['key']}: {change:.0f}% {direction} from "
            f"{(largest['commit'] or '?')[:7]} ({largest['datetime']:%Y-%m-%d}){more}")


def plot_history(df: pd.DataFrame, key: str | Sequence[str], ax) -> None:
    """Median latency per run for the benchmark(s) `key`, a ring on each step, a title with the finding.

    x is the run order (labelled date + commit) rather than wall time so runs
    on the same day stay readable; shared across benchmarks via the run datetime.
    """
    keys = [key] if isinstance(key, str) else list(key)
    shown = df[df["key"].isin(keys)]
    if shown.empty:
        raise ValueError(f"no history for {keys}")
    if "step" not in shown:
        shown = mark_steps(shown)
    runs = shown.drop_duplicates("datetime").sort_values("datetime")
    position = {when: i for i, when in enumerate(runs["datetime"])}
    for number, label in enumerate(keys):
        series = shown[shown["key"] == label]
        if series.empty:
            continue
        x = series["datetime"].map(position).to_numpy()
        y = series["median_s"].to_numpy() * 1000
        style = series_style(number)
        color = style["color"]
        ax.plot(x, y, markersize=5, label=plain(label), **style)
        steps = series["step"].to_numpy(dtype=bool)
        ax.plot(x[steps], y[steps], linestyle="none", marker="o", markersize=13,
                markerfacecolor="none", markeredgecolor=color, markeredgewidth=2)
    if shown["step"].any():
        # One legend entry explains the rings for every line.
        ax.plot([], [], linestyle="none", marker="o", markersize=10, markerfacecolor="none",
                markeredgecolor="black", label="step change")
    every = -(-len(runs) // 8)  # at most 8 two-line tick labels fit side by side
    ticks = list(range(0, len(runs), every))
    ax.set_xticks(ticks)
    ax.set_xticklabels([_run_label(runs["datetime"].iloc[i], runs["commit"].iloc[i]) for i in ticks], fontsize=8)
    ax.set_xlabel("run (date, commit)")
    ax.set_ylabel("median latency (ms)")
    ax.set_ylim(bottom=0)
    ax.grid(True, alpha=0.3)
    legend(ax)  # outside the plot, to the right: it never covers a line
    ax.set_title(plain(finding(shown)), fontsize=10, loc="left")


# Okabe & Ito's colour-blind-safe palette; after eight series the line style and marker change, so
# every series on a panel has its own colour x marker x line style.
_PALETTE = ["#000000", "#0072B2", "#E69F00", "#009E73", "#CC79A7", "#D55E00", "#56B4E9", "#999999"]
_LINES = [("-", "o"), ("--", "s"), (":", "^"), ("-.", "D")]


def series_style(number: int) -> dict:
    linestyle, marker = _LINES[number // len(_PALETTE) % len(_LINES)]
    return {"color": _PALETTE[number % len(_PALETTE)], "linestyle": linestyle, "marker": marker}


def _trend_text(group: pd.DataFrame) -> str:
    table = pd.DataFrame({
        "date": group["datetime"].dt.strftime("%Y-%m-%d %H:%M"),
        "commit": group["commit"].fillna("?").str[:7],
        "median (ms)": (group["median_s"] * 1000).map("{:.3f}".format),
        "iqr (ms)": (group["iqr_s"] * 1000).map("{:.3f}".format),
        "statements": group["statements"].astype("string").fillna("?"),
        "": np.where(group["step"], "<- step", ""),
    })
    return table.to_string(index=False)


def _check_out(folder: Path) -> None:
    """Refuse an --out the chart cannot be written to, before reading any results (nothing is created)."""
    existing = folder
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir() or not os.access(existing, os.W_OK | os.X_OK):
        why = "a file is in the way" if not existing.is_dir() else "not writable"
        raise UserError(f"cannot write the history chart to {folder}: {existing} is {why}",
                        "pass a writable folder as --out")


def main_history(paths: Sequence[str | Path], out_dir: str | Path, out: TextIO | None = None,
                 err: TextIO | None = None) -> int:
    """Print one trend table per benchmark and write history.png (one panel per workload); `out` and
    `err` are sys.stdout and sys.stderr of the moment of the call unless given."""
    out, err = out or sys.stdout, err or sys.stderr
    import matplotlib

    matplotlib.use("Agg")  # files only; never open a window
    import matplotlib.pyplot as plt

    try:
        _check_out(Path(out_dir))
        if not paths:
            raise UserError("no results files given", "pass the results JSON files of the runs to chart")
        df = mark_steps(history_table([results.read(path) for path in paths]))
    except UserError as exc:
        return report_user_error(exc, err)
    for key, group in df.groupby("key", sort=True):
        print(f"{key}\n{_trend_text(group)}\n", file=out)

    workloads = list(dict.fromkeys(df["workload"]))
    fig, axes = plt.subplots(len(workloads), 1, figsize=(12, 4.5 * len(workloads)), squeeze=False)
    for ax, workload in zip(axes[:, 0], workloads):
        plot_history(df, sorted(df.loc[df["workload"] == workload, "key"].unique()), ax)
    fig.tight_layout()
    out_path = Path(out_dir) / "history.png"
    try:
        out_path.parent.mkdir(parents=True, exist_ok=True)
        handle, temp = tempfile.mkstemp(dir=out_path.parent, prefix=".history.", suffix=".png")
        try:
            with os.fdopen(handle, "wb") as stream:
                fig.savefig(stream, format="png", dpi=110, bbox_inches="tight")  # the outside legend included
            os.replace(temp, out_path)  # whole or not at all
        finally:
            Path(temp).unlink(missing_ok=True)
            plt.close(fig)
    except OSError as exc:
        return report_user_error(UserError(f"cannot write the history chart to {out_path}: {exc.strerror or exc}",
                                           "free space there, or pass another folder as --out"), err)
    print(f"chart: {out_path}", file=out)
    return 0
