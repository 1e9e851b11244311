"""The results file: pytest-benchmark's JSON, extended. The only module that knows its layout.

Each benchmark keeps its raw per-round timings in `stats.data` and its non-timing metrics in
`extra_info` under the column names below; the run's metadata sits in `machine_info`,
`commit_info` and a `sessionbench` block carrying FORMAT_VERSION. Files are written
atomically and never overwrite an earlier run.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

from bench.errors import UserError

FORMAT_VERSION = 1
AXIS_COLUMNS = ["loading", "sync_flag", "deletion", "audio_storage", "timestamps"]
COLUMNS = [
    "run_id", "backend", "server_version", "image", "rtt_ms", "workload", "param", "variant", *AXIS_COLUMNS,
    "sessions", "statements", "server_statements", "rows", "min_s", "median_s", "mean_s", "stddev_s",
    "iqr_s", "q1_s", "q3_s", "p95_s", "p99_s", "rounds", "plan_top", "seq_scan", "generic_plan_top",
    "generic_seq_scan", "plan_in_use", "plan_changes", "plan_rows", "shared_hit", "shared_read", "planning_ms",
    "execution_ms", "wal_bytes", "table_bytes", "index_bytes", "orphans", "leaks", "label", "commit",
    "datetime",
]
KEY = ["workload", "param", "variant", "image", "rtt_ms"]


def read(path: str | os.PathLike) -> dict:
    """Parse and check one results file; every failure is one line naming the file."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"{path}: no such results file", "pass a file that `sessionbench run` wrote (results/*.json)")
    try:
        doc = json.loads(path.read_text())
    except OSError as exc:
        raise UserError(f"{path}: cannot read ({exc.strerror})", "check the file's permissions") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise UserError(f"{path}: not JSON ({exc.__class__.__name__})", "pass a results file from `sessionbench run`")\
            from None
    if not isinstance(doc, dict) or "sessionbench" not in doc or not isinstance(doc.get("benchmarks"), list):
        raise UserError(f"{path}: not a sessionbench results file", "pass a results file from `sessionbench run`")
    version = doc["sessionbench"].get("format_version")
    if version != FORMAT_VERSION:
        raise UserError(f"{path}: results format {version}, this sessionbench reads {FORMAT_VERSION}",
                        "re-run the benchmarks with this version")
    return doc


def key_of(benchmark: dict) -> tuple:
    info = benchmark.get("extra_info", {})
    return tuple(info.get(column) for column in KEY)


def rows(doc: dict) -> list[dict]:
    """One flat row per benchmark, under COLUMNS (extra metrics kept after them)."""
    meta = doc["sessionbench"]
    out = []
    for bench in doc["benchmarks"]:
        info, stats = bench.get("extra_info", {}), bench.get("stats", {})
        row = {column: info.get(column) for column in COLUMNS}
        row.update({f"{name}_s": stats.get(name) for name in ("min", "median", "mean", "stddev", "iqr", "q1", "q3")})
        commit = meta.get("commit") or (doc.get("commit_info") or {}).get("id")
        row.update(run_id=meta.get("run_id"), rounds=stats.get("rounds"), commit=commit,
                   datetime=doc.get("datetime"), backend=info.get("backend", meta.get("backend")),
                   server_version=info.get("server_version", meta.get("server_version")))
        out.append(row)
    return out


def load(paths) -> "pandas.DataFrame":  # noqa: F821 - pandas is imported lazily
    """A tidy DataFrame, one row per workload x variant x param x image x rtt, over one or more files."""
    import pandas as pd

    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    frames = [pd.DataFrame(rows(read(path)), columns=COLUMNS) for path in paths]
    if not frames:
        raise UserError("no results files given", "pass one or more results/*.json")
    return pd.concat(frames, ignore_index=True)


def write_new(doc: dict, out_dir: str | os.PathLike, run_id: str) -> Path:
    """Write `<out_dir>/<run_id>.json` atomically; refuse to overwrite an existing file."""
    out = Path(out_dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UserError(f"cannot create results folder {out}: {exc.strerror}", "pass a writable --out") from None
    final = out / f"{run_id}.json"
    handle, temp = tempfile.mkstemp(dir=out, prefix=f".{run_id}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w") as stream:
            json.dump(doc, stream, indent=1, default=str)
            stream.flush()
            os.fsync(stream.fileno())
        os.link(temp, final)  # atomic, and fails instead of replacing an earlier run
    except FileExistsError:
        raise UserError(f"{final} already exists; results are never overwritten", "use a new --out folder") from None
    finally:
        Path(temp).unlink(missing_ok=True)
    return final


def export(paths: list[str], fmt: str, out: str | None) -> int:
    table = load(paths)
    target = Path(out) if out else Path(paths[0]).with_suffix(f".{fmt}")
    if target.exists():
        raise UserError(f"{target} already exists; exports are never overwritten", "pass --out NEWFILE")
    temp = target.with_name(f".{target.name}.tmp")
    if fmt == "csv":
        table.to_csv(temp, index=False)
    else:
        try:
            table.to_parquet(temp, index=False)
        except ImportError:
            raise UserError("Parquet export needs pyarrow", "pip install pyarrow") from None
    os.replace(temp, target)
    print(f"wrote {len(table)} rows to {target}")
    return 0
