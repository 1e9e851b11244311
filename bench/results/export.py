"""`sessionbench export`: a results file as a table (CSV, Parquet) or as a benchmark tracker's JSON.

Trackers chart one number per benchmark and measure over commits. Both tracker formats carry the
latency and CPU time and, next to them, the exact counts (statements, server statements, rows, WAL
bytes, round trips, executions, wire bytes), so a dashboard that already tracks latency also shows an
N+1 coming back as a jump in `statements`.

- `bencher`: Bencher Metric Format, `{benchmark: {measure slug: {value, lower_value, upper_value}}}`.
  Latency goes to Bencher's built-in `latency` measure, which is in nanoseconds: the median, with
  the interquartile range (q1, q3) as its bounds.
- `github-action-benchmark`: the list its `customSmallerIsBetter` tool reads, one entry per
  benchmark and measure: `{name, unit, value, range, extra}`. Latency is in ms with `range`
  "± half the IQR", the form that action parses.

Reads results only through bench.results.load. Every export is written atomically and never
replaces an existing file; an unusable --out is refused before any results file is read.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from pathlib import Path

from bench.errors import UserError
from bench.results import KEY, load

TABLE_FORMATS = ("csv", "parquet")
TRACKER_FORMATS = ("bencher", "github-action-benchmark")
FORMATS = TABLE_FORMATS + TRACKER_FORMATS
SUFFIXES = {"csv": ".csv", "parquet": ".parquet", "bencher": ".bencher.json",
            "github-action-benchmark": ".github-action-benchmark.json"}

# The counts every tracker export carries: (results column, Bencher measure slug, unit, name suffix).
# Per round, as the results columns are (bench.measure.counting): round trips are what an added RTT
# multiplies, executions count every parameter set of an executemany, wire bytes what the server sent.
# New measures go at the end: a tracker keys its history by benchmark name and slug, never renamed.
COUNTS = [
    ("statements", "statements", "statements", "statements"),
    ("server_statements", "server-statements", "statements", "server statements"),
    ("rows", "rows", "rows", "rows"),
    ("wal_bytes", "wal-bytes", "bytes", "WAL bytes"),
    ("round_trips", "round-trips", "round trips", "round trips"),
    ("executions", "executions", "executions", "executions"),
    ("wire_bytes", "wire-bytes", "bytes", "wire bytes"),
]
# Client + server CPU time per round (median over trials, bench.measure.cpu): Bencher measure `cpu-time` in
# ns like its latency, github-action-benchmark `<benchmark> CPU time` in ms.
CPU = ("cpu_s", "cpu-time", "CPU time")


def _number(value) -> int | float | None:
    """A finite number, or None for a metric this benchmark did not record."""
    if value is None or isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    if not math.isfinite(number):
        return None
    return int(number) if number.is_integer() else number  # counts stay integers in the JSON


def _key(row) -> tuple:
    return tuple(None if _missing(row.get(column)) else row.get(column) for column in KEY)


def _namer(records: list[dict]):
    """Names for the rows: the data set is named only when the rows span several (a size sweep)."""
    from bench.results import data_varies, label_of  # not at import: the CLI reads FORMATS without numpy

    with_data = data_varies([_key(row) for row in records])
    return lambda row: label_of(_key(row), with_data=with_data)


def _missing(value) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def bencher(table) -> dict:
    """Bencher Metric Format: one benchmark per results row, latency (ns) and the counts as measures."""
    out: dict[str, dict] = {}
    records = table.to_dict("records")
    _name = _namer(records)
    for row in records:
        measures = {}
        median, q1, q3 = (_number(row[c]) for c in ("median_s", "q1_s", "q3_s"))
        if median is not None:
            latency = {"value": median * 1e9}
            if q1 is not None and q3 is not None:
                latency.update(lower_value=q1 * 1e9, upper_value=q3 * 1e9)
            measures["latency"] = latency
        for column, slug, _unit, _suffix in COUNTS:
            value = _number(row[column])
            if value is not None:
                measures[slug] = {"value": value}
        cpu = _number(row[CPU[0]])
        if cpu is not None:
            measures[CPU[1]] = {"value": cpu * 1e9}
        out[_name(row)] = measures
    return out


def github_action_benchmark(table) -> list[dict]:
    """customSmallerIsBetter entries: '<benchmark> latency' in ms, then one entry per count."""
    entries = []
    records = table.to_dict("records")
    _name = _namer(records)
    for row in records:
        name = _name(row)
        median, q1, q3 = (_number(row[c]) for c in ("median_s", "q1_s", "q3_s"))
        if median is not None:
            entry = {"name": f"{name} latency", "unit": "ms", "value": median * 1e3}
            if q1 is not None and q3 is not None:
                entry["range"] = f"± {(q3 - q1) * 1e3 / 2:.6g}"
                rounds = _number(row["rounds"])
                entry["extra"] = (f"median of {rounds:.0f} rounds; " if rounds else "median; ") + \
                    f"IQR {q1 * 1e3:.6g} to {q3 * 1e3:.6g} ms"
            entries.append(entry)
        for column, _slug, unit, suffix in COUNTS:
            value = _number(row[column])
            if value is not None:
                entries.append({"name": f"{name} {suffix}", "unit": unit, "value": value})
        cpu = _number(row[CPU[0]])
        if cpu is not None:
            entries.append({"name": f"{name} {CPU[2]}", "unit": "ms", "value": cpu * 1e3})
    return entries


def target_path(paths: list[str], fmt: str, out: str | None) -> Path:
    """Where the export goes; refused (UserError) when it exists or its folder is not writable."""
    default = Path(paths[0]).with_suffix("").name + SUFFIXES[fmt]
    if out is None:
        # Tables go next to the results file. Tracker JSON goes to the current folder: next to the
        # results it would be caught by the `results/*.json` globs that `history` and CI use.
        target = Path(default) if fmt in TRACKER_FORMATS else Path(paths[0]).parent / default
    elif Path(out).is_dir():
        target = Path(out) / default
    elif out.endswith(("/", os.sep)):
        raise UserError(f"cannot write into {out}: no such folder", "create the folder or pass another --out")
    else:
        target = Path(out)
    if target.exists():
        raise UserError(f"{target} already exists; exports are never overwritten", "pass --out NEWFILE")
    folder = target.parent
    if out is None and not folder.exists():
        return target  # the results file's own folder is missing: reading it says so first
    if not folder.is_dir():
        raise UserError(f"cannot write {target}: no folder {folder}", "create the folder or pass another --out")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise UserError(f"cannot write {target}: folder {folder} is not writable", "pass another --out")
    return target


def _write_new(target: Path, write) -> None:
    """Write through a temporary file in the target's folder; link it in, never replacing a file."""
    try:
        handle, temp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    except OSError as exc:
        raise UserError(f"cannot write {target}: {exc.strerror}", "pass another --out") from None
    os.close(handle)
    try:
        write(temp)
        # mkstemp's file is private (0600); an export is for other tools and people: the umask's default.
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(temp, 0o666 & ~umask)
        os.link(temp, target)  # atomic, and fails instead of replacing an existing file
    except FileExistsError:
        raise UserError(f"{target} already exists; exports are never overwritten", "pass --out NEWFILE") from None
    except OSError as exc:
        raise UserError(f"cannot write {target}: {exc.strerror}", "pass another --out") from None
    finally:
        Path(temp).unlink(missing_ok=True)


def export(paths: list[str], fmt: str, out: str | None) -> int:
    """The `sessionbench export` command: write one file, print one line naming it. Exit 0."""
    if fmt not in FORMATS:
        raise UserError(f"unknown export format {fmt!r}", f"use one of {', '.join(FORMATS)}")
    if fmt in TRACKER_FORMATS and len(paths) != 1:
        raise UserError(f"--format {fmt} takes one results file (a tracker records one run per commit)",
                        "export each run on its own")
    target = target_path(paths, fmt, out)
    table = load(paths)
    if fmt == "csv":
        _write_new(target, lambda temp: table.to_csv(temp, index=False))
    elif fmt == "parquet":
        try:
            import pyarrow  # noqa: F401 - pandas' Parquet engine
        except ImportError:
            raise UserError("Parquet export needs pyarrow, from the [parquet] extra",
                            "pip install 'sessionbench[parquet]' (from a clone: pip install '.[parquet]')") from None
        # the fact tables ride along in attrs for the notebooks; a parquet file keeps only the table
        plain = table.copy()
        plain.attrs = {}
        _write_new(target, lambda temp: plain.to_parquet(temp, index=False))
    else:
        document = bencher(table) if fmt == "bencher" else github_action_benchmark(table)
        _write_new(target, lambda temp: Path(temp).write_text(json.dumps(document, indent=1) + "\n"))
    print(f"wrote {len(table)} benchmarks as {fmt} to {target}")
    return 0
