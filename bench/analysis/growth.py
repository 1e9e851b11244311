"""Growth as a number: how latency and buffers read grow with the data size, from a size sweep.

Per workload x param x variant (and per data set apart from the size: nodes per session, syncing),
the fitted log-log slope against sessions (bench.analysis.fits.fit_loglog) with its 95% interval: ~0 constant,
~1 linear, i.e. a scan. Each size is one point: the case's median latency (pooled over runs), or its
buffers read (shared_hit + shared_read of the main statement, exact); the interval (Student t,
sizes - 2 degrees of freedom) comes from how far the sizes lie off the line, so it holds the noise
between sizes and any bend alike, and needs three sizes. Sizes run one after another, minutes apart:
unlike a ratio within one size (interleaved trials), a latency slope also carries any drift in the
machine's load between sizes; buffers read do not. Beside the fit: the slope between neighbouring
sizes, so a bend shows, and the cache regime of each size (the run's data_sizes blocks: within
shared_buffers, within RAM, beyond RAM). A fit whose sizes sit in different regimes says so, and so
does a projection to a size whose data, scaled linearly, would leave the regime of the largest size.
"""

from __future__ import annotations

import math

import pandas as pd

from bench.analysis.units import ms, size
from bench.analysis.fits import BEND_SLOPE, bends, fit_loglog, neighbour_slopes
from bench.data.spec import DATA_COLUMNS, is_share

# What one fit is about: its workload, case, variant and the data set apart from the size swept.
CASE = ["workload", "param", "variant", "image"]
DATA = list(DATA_COLUMNS)
METRICS = {"latency": "median_s", "buffers": "buffers"}
# A slope whose whole 95% interval lies above this grows like a scan, below it does not: halfway between
# constant (0) and linear (1). The C2 verdict decides "O(N)" by it (bench.verdicts).
SCAN_SLOPE = 0.5
# A projected interval wider than this (its high over its low) says nothing a reader can use: charts do not
# draw it and tables say so instead of printing it.
USELESS_BAND = 1000.0
# When no production size is given: ten times the largest size measured.
PRODUCTION_FACTOR = 10
REGIMES = ("shared_buffers", "RAM", "beyond RAM")
COLUMNS = [*CASE, "along", "nodes_per_session", "syncing", "sessions", "metric", "sizes", "points", "slope",
           "slope_low", "slope_high", "segments", "bend", "regimes", "cliff", "production", "projected",
           "projected_low", "projected_high", "projection_note", "fit"]
ONE_SIZE = "one size measured: run with --sessions 1000,3000,10000,30000,100000"


def data_key(value):
    """A data column's value comparable across rows and data_sizes blocks: None, int or text."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, (int, float)) and float(value).is_integer():
        return int(value)
    return str(value)


def frame(rows) -> pd.DataFrame:
    """Results rows (bench.results.rows) or a frame of them, with every data column present."""
    df = rows.copy() if isinstance(rows, pd.DataFrame) else pd.DataFrame(list(rows))
    for column in (*CASE, *DATA, "rtt_ms"):
        if column not in df:
            df[column] = None
    if df["rtt_ms"].notna().any():  # growth at the run's own latency: the smallest added RTT
        df = df[df["rtt_ms"].isna() | (df["rtt_ms"] == df.groupby("workload")["rtt_ms"].transform("min"))]
    return df


def sizes_measured(rows, along: str = "sessions") -> list[int]:
    df = frame(rows)
    return sorted({data_key(v) for v in df[along] if data_key(v) is not None})


def syncing_modes(rows, workload: str = "active_sync") -> list[str]:
    """The syncing settings measured for a workload, fixed counts first ("100", then "1%")."""
    df = frame(rows)
    found = {data_key(v) for v in df.loc[df["workload"] == workload, "syncing"]}
    return sorted((str(v) for v in found if v is not None), key=lambda v: (is_share(v), v))


def one_data_set(rows, workload: str, syncing=None, along: str = "sessions") -> pd.DataFrame:
    """The workload's rows on one data set apart from `along`: `syncing` (default: the setting measured
    at the most values of `along`, a fixed count first, see syncing_modes), and the nodes per session
    (or sessions) measured at the most sizes."""
    df = frame(rows)
    part = df[df["workload"] == workload]
    modes = syncing_modes(part, workload)
    if syncing is None and modes:
        # the mode measured at the most values of `along` (a nodes sweep at one size keeps its own
        # syncing setting beside a sessions sweep's fixed count); a fixed count first on a tie
        spread = {mode: part.loc[part["syncing"].map(data_key).astype(str) == mode, along].map(data_key).nunique()
                  for mode in modes}
        syncing = max(modes, key=lambda mode: spread[mode])
    if syncing is not None:
        part = part[part["syncing"].map(data_key).astype(str) == str(syncing)]
    other = "sessions" if along == "nodes_per_session" else "nodes_per_session"
    keys = part[other].map(data_key)
    if keys.nunique(dropna=False) > 1:
        counts = part.groupby(keys.astype(str), dropna=False)[along].nunique()
        part = part[keys.astype(str) == counts.idxmax()]
    return part


def sizes_note(rows) -> str:
    """What the results hold for growth, in one paragraph (Markdown): the sizes and data sets measured."""
    sizes = sizes_measured(rows)
    if len(sizes) < 2:
        return f"**{ONE_SIZE[0].upper() + ONE_SIZE[1:]}** (this file: {', '.join(f'{s:,}' for s in sizes) or 'none'})" \
               f"; the charts below say so instead of fitting a line through one point."
    modes = syncing_modes(rows)
    nodes = sorted({data_key(v) for v in frame(rows)["nodes_per_session"] if data_key(v) is not None})
    return f"Sizes measured: {', '.join(f'{s:,}' for s in sizes)} sessions. Syncing: " + \
        ("; ".join(syncing_said(m) for m in modes) or "not recorded") + \
        (f". Nodes per session: {', '.join(str(n) for n in nodes)}" if nodes else "") + "."


def syncing_said(syncing) -> str:
    """'100 sessions syncing at any size (a fixed count)' or '1% of sessions syncing (a fraction)'."""
    value = data_key(syncing)
    if value is None:
        return "syncing sessions as generated (not recorded)"
    value = str(value)
    if is_share(value):
        return f"{value} of sessions syncing (a fraction: the answer grows with the table)"
    return f"{int(value):,} sessions syncing at every size (a fixed count)"


def _points(part: pd.DataFrame, along: str, metric: str) -> tuple[list, list]:
    xs, ys = [], []
    for _, row in part.iterrows():  # several runs at one size: their median
        x = data_key(row[along])
        if metric == "buffers":
            values = [sum(v for v in (row.get("shared_hit"), row.get("shared_read")) if data_key(v) is not None)] \
                if any(data_key(row.get(c)) is not None for c in ("shared_hit", "shared_read")) else []
        else:  # median_s, or any other column (wal_bytes, writer_wait_max_s, ...)
            values = [row.get(metric)]
        for value in values:
            if x and data_key(value) is not None and value > 0:
                xs.append(x)
                ys.append(float(value))
    return xs, ys


def _pooled(xs: list, ys: list) -> tuple[list, list]:
    """One point per size: the median of the values measured there (several runs, or repeated rows)."""
    by_size: dict = {}
    for x, y in zip(xs, ys):
        by_size.setdefault(x, []).append(y)
    sizes = sorted(by_size)
    return sizes, [float(pd.Series(by_size[x]).median()) for x in sizes]


def _regime(block: dict | None) -> int | None:
    if not block or block.get("fits_in_shared_buffers") is None:
        return None
    if block["fits_in_shared_buffers"]:
        return 0
    if block.get("fits_in_memory") is not None:
        return 1 if block["fits_in_memory"] else 2
    data, memory = block.get("data_bytes"), block.get("memory_bytes")
    return 2 if data is not None and memory is not None and data > memory else 1


def _blocks(data_sizes) -> dict[tuple, dict]:
    if data_sizes is None:
        return {}
    table = data_sizes if isinstance(data_sizes, pd.DataFrame) else pd.DataFrame(list(data_sizes))
    found = {}
    for block in table.to_dict("records"):
        found.setdefault(tuple(data_key(block.get(c)) for c in DATA), block)
    return found


def _cache(blocks: dict, data: dict, along: str, sizes: list, production: float) -> tuple[str, str, str]:
    """(regime per size, the cliff the fit spans, a note on the projection's regime)."""
    def block_at(size):
        return blocks.get(tuple(size if c == along else data.get(c) for c in DATA))

    regimes = [_regime(block_at(size)) for size in sizes]
    if all(r is None for r in regimes):
        return "not recorded", "", "cache regime not recorded"
    said = ", ".join(f"{s:,}: {REGIMES[r] if r is not None else '?'}" for s, r in zip(sizes, regimes))
    cliff = ""
    known = [(s, r) for s, r in zip(sizes, regimes) if r is not None]
    for (a, ra), (b, rb) in zip(known, known[1:]):
        if ra != rb:
            cliff = f"data outgrows {REGIMES[ra]} between {a:,} and {b:,} {along}: the slope spans a cache cliff"
            break
    last = block_at(sizes[-1]) or {}
    note = ""
    if last.get("data_bytes") and regimes[-1] is not None:
        scaled = last["data_bytes"] * production / sizes[-1]
        beyond = {"data_bytes": scaled, "memory_bytes": last.get("memory_bytes"), "fits_in_memory": None,
                  "fits_in_shared_buffers": scaled <= (last.get("shared_buffers_bytes") or math.inf)}
        if _regime(beyond) > regimes[-1]:
            note = f"at {production:,.0f} {along} the data (about {scaled / 1024 ** 3:.1f} GiB, scaled linearly) " \
                   f"would leave {REGIMES[regimes[-1]]}, which no measured size did: the projection does not " \
                   f"see that cliff"
    return said, cliff, note


def growth_table(rows, data_sizes=None, *, along: str = "sessions", production: float | None = None,
                 metrics=("latency", "buffers")) -> pd.DataFrame:
    """One row per case x variant x data set (apart from `along`) x metric measured at two sizes or more:
    slope with its 95% interval, neighbouring slopes and bends, cache regimes, and the projection at
    `production` (default PRODUCTION_FACTOR x the largest size measured) with its interval."""
    df = frame(rows)
    if data_sizes is None:  # bench.results.load keeps the files' data_sizes blocks beside the rows
        data_sizes = df.attrs.get("data_sizes")
    others = [c for c in DATA if c != along]
    found = []
    for keys, part in df.groupby(CASE + others, dropna=False, sort=False):
        data = dict(zip(CASE + others, (data_key(k) if c in DATA else k for c, k in zip(CASE + others, keys))))
        for metric in metrics:
            xs, ys = _pooled(*_points(part, along, METRICS.get(metric, metric)))
            sizes = sorted(set(xs))
            if len(sizes) < 2:
                continue
            fit = fit_loglog(xs, ys)
            segments = neighbour_slopes(xs, ys)
            bent = bends([s for _, _, s in segments])
            at = production or PRODUCTION_FACTOR * sizes[-1]
            value, low, high = fit.predict(at)
            regimes, cliff, note = _cache(_blocks(data_sizes), data, along, sizes, at)
            found.append({
                **{c: data.get(c) for c in CASE}, "along": along, **{c: data.get(c) for c in others},
                along: None, "metric": metric, "sizes": sizes, "points": fit.points, "slope": fit.slope,
                "slope_low": fit.low, "slope_high": fit.high, "segments": segments,
                "bend": "; ".join(f"bends at {segments[i][0]:,.0f}→{segments[i][1]:,.0f}: slope "
                                  f"{segments[i - 1][2]:.2f} → {segments[i][2]:.2f}" for i in bent),
                "regimes": regimes, "cliff": cliff, "production": at, "projected": value, "projected_low": low,
                "projected_high": high,
                "projection_note": "extrapolation: assumes the fitted power law holds" + (f"; {note}" if note else ""),
                "fit": fit})
    return pd.DataFrame(found, columns=COLUMNS)


def shape(row) -> str:
    """How a fitted slope reads, by its interval against SCAN_SLOPE: 'grows like a scan', 'does not grow
    like a scan', or 'not told apart from a scan' (the interval spans it, or there is none)."""
    low, high = row["slope_low"], row["slope_high"]
    if low is None or pd.isna(low):
        return "not told apart from a scan (no interval)"
    return "grows like a scan" if low > SCAN_SLOPE else "does not grow like a scan" if high < SCAN_SLOPE \
        else "not told apart from a scan"


def _two(value: float) -> str:
    return f"{round(value, 2) + 0.0:.2f}"  # + 0.0: never "-0.00"


def slope_text(row) -> str:
    """'1.00 [0.95–1.05]', '1.00 (no interval: two points)'."""
    if row["slope_low"] is None or pd.isna(row["slope_low"]):
        return f"{_two(row['slope'])} (no interval: two points)"
    return f"{_two(row['slope'])} [{_two(row['slope_low'])}–{_two(row['slope_high'])}]"


def shown(table: pd.DataFrame) -> pd.DataFrame:
    """The growth table as the report shows it: one line per fit, numbers written out."""
    def value(row, column):
        number = row[column]
        if number is None or pd.isna(number):
            return "n/a"
        return ms(number) if row["metric"] == "latency" or row["metric"].endswith("_s") else \
            size(number) if row["metric"].endswith("_bytes") else f"{number:,.0f} {row['metric']}"

    out = pd.DataFrame({
        "workload": table["workload"], "param": table["param"], "variant": table["variant"],
        "data set": [syncing_said(s) + (f", {n} nodes per session" if data_key(n) is not None else "")
                     for s, n in zip(table["syncing"], table["nodes_per_session"])],
        "metric": table["metric"],
        f"{table['along'].iloc[0] if len(table) else 'sessions'}": [
            ", ".join(f"{s:,}" for s in sizes) for sizes in table["sizes"]],
        "slope [95%]": [slope_text(row) for _, row in table.iterrows()],
        "between neighbours": [" · ".join(f"{s:.2f}" for _, _, s in segments) for segments in table["segments"]],
        "bend / cache": [("; ".join(filter(None, [row["bend"], row["cliff"]]))) or "none seen"
                         for _, row in table.iterrows()],
        "projection (extrapolation)": [
            f"{value(row, 'projected')} [{value(row, 'projected_low')}–{value(row, 'projected_high')}] at "
            f"{row['production']:,.0f}" for _, row in table.iterrows()],
    })
    return out.reset_index(drop=True)


def bend_rule() -> str:
    return f"a bend: neighbouring slopes differing by {BEND_SLOPE:g} or more (bench.analysis.fits.BEND_SLOPE)"

