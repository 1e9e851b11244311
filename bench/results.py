"""The results file: pytest-benchmark's JSON, extended. The only module that knows its layout.

Each benchmark keeps its raw per-round timings in `stats.data` and its non-timing metrics in
`extra_info` under the column names below; the run's metadata sits in `machine_info`,
`commit_info` and a `sessionbench` block carrying FORMAT_VERSION. Files are written
atomically and never overwrite an earlier run.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from pathlib import Path

from bench.errors import UserError
from models_variants import AXES

FORMAT_VERSION = 2
AXIS_COLUMNS = list(AXES)
# The data set a case ran on (bench.data.DataSpec.columns): a size sweep measures each case at each.
DATA_COLUMNS = ["sessions", "nodes_per_session", "syncing"]
COLUMNS = [
    "run_id", "backend", "server_version", "image", "rtt_ms", "workload", "param", "variant", *AXIS_COLUMNS,
    *DATA_COLUMNS, "statements", "server_statements", "rows",
    # per round, on the wire (bench.counting says what each is): executions with every parameter set,
    # round trips an added RTT multiplies, rows and bytes the server sent over all statements
    "executions", "round_trips", "wire_rows", "wire_bytes", "min_s", "median_s", "mean_s", "stddev_s",
    "iqr_s", "q1_s", "q3_s", "p95_s", "p99_s", "rounds",
    # measured side by side (bench.trials): the ratio to the group's baseline and its interval
    "trials", "rounds_per_trial", "trials_discarded", "budget_limited", "ratio", "ratio_low", "ratio_high",
    "cpu_s", "client_cpu_s", "server_cpu_s", "cpu_wait_s", "server_exec_s",
    # a storage move (bench.workloads.storage), once with a writer updating the same messages meanwhile
    "rows_rewritten", "batches", "migration_wall_s", "writer_wait_max_s", "writer_updates", "writer_lock_waits",
    "plan_top", "seq_scan", "generic_plan_top",
    "generic_seq_scan", "plan_in_use", "plan_changes", "plan_rows", "shared_hit", "shared_read", "jit_used", "planning_ms",
    "execution_ms", "wal_bytes", "table_bytes", "index_bytes", "orphans", "leaks", "label", "commit",
    "datetime",
    # under concurrent load (--clients, bench.concurrency_cases): one row per mix x variant x clients
    "clients", "roles", "pool_size", "load_workers", "ops", "ops_per_s", "p50_s", "pool_wait_s", "pool_wait_p99_s",
    "pool_wait_share", "pool_waited", "errors", "load_cpu_share", "ceiling_ops_per_s", "headroom", "busy_backends",
    "cpu_share", "lock_wait_share", "client_wait_share", "lock_waits", "top_wait",
]
# Lists of numbers, kept in extra_info beside the columns.
LIST_COLUMNS = ("trial_medians_s", "trial_cpu_s", "trial_unloaded_s")
# Bulky detail kept in the file, not in the table.
DETAIL = ("first_statements", "orphans_detail", "leaks_detail", "roles_detail", "wait_events", *LIST_COLUMNS)
KEY = ["workload", "param", "variant", "image", "rtt_ms", *DATA_COLUMNS]


def read(path: str | os.PathLike) -> dict:
    """Parse and check one results file; every failure is one line naming the file."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"{path}: no such results file", "pass a file that `sessionbench run` wrote (results/*.json)")
    try:
        doc = json.loads(path.read_text())
    except OSError as exc:
        raise UserError(f"{path}: cannot read ({exc.strerror})", "check the file's permissions") from None
    except RecursionError:
        raise UserError(f"{path}: nested too deeply to be a results file", "pass a results file from "
                        "`sessionbench run`") from None
    except (UnicodeDecodeError, ValueError) as exc:  # ValueError: bad JSON, or an integer of thousands of digits
        raise UserError(f"{path}: not JSON ({exc.__class__.__name__})", "pass a results file from `sessionbench run`")\
            from None
    if not isinstance(doc, dict) or not isinstance(doc.get("sessionbench"), dict) \
            or not isinstance(doc.get("benchmarks"), list):
        raise UserError(f"{path}: not a sessionbench results file", "pass a results file from `sessionbench run`")
    version = doc["sessionbench"].get("format_version")
    if type(version) is not int or version != FORMAT_VERSION:
        raise UserError(f"{path}: results format {_shown(version)}, this sessionbench reads {FORMAT_VERSION}",
                        "re-run the benchmarks with this version")
    problem = _malformed(doc)
    if problem:
        raise UserError(f"{path}: malformed results: {problem}",
                        "pass the file exactly as `sessionbench run` wrote it (re-download it, or re-run)")
    return doc


# A results file is often downloaded or sent by someone else: read() checks every value the rest of
# sessionbench reads from it, so a hostile or damaged file is refused in one line, never half-read.
_LARGEST = 2.0**63  # numbers must fit the 64-bit columns pandas computes with
_NUMERIC_SUFFIXES = ("_s", "_ms", "_bytes")
_COUNTS = {"rtt_ms", "sessions", "nodes_per_session", "statements", "server_statements", "rows", "rounds",
           "executions", "round_trips", "wire_rows", "orphans", "leaks",
           "plan_rows", "shared_hit", "shared_read", "rows_rewritten", "batches", "writer_updates",
           "writer_lock_waits"}
_COUNTS |= {"clients", "pool_size", "load_workers", "ops", "pool_waited", "errors", "wait_samples"}
_STATS = ("min", "max", "median", "mean", "stddev", "iqr", "q1", "q3", "rounds")
_RUN_TEXT = ("run_id", "backend", "server_version", "scale", "commit", "python", "grid")
_RUN_NUMBERS = ("sessions", "seed")


def _shown(value) -> str:
    """A value for an error line: repr (control characters escaped), cut short."""
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _number_problem(value, where: str, *, optional: bool = True) -> str | None:
    if value is None and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return f"{where} is {_shown(value)}, not a number"
    if not (abs(value) < _LARGEST):  # also false for NaN and infinity
        return f"{where} is {_shown(value)}, not a finite number in range"
    return None


def _text_problem(value, where: str) -> str | None:
    return None if value is None or isinstance(value, str) else f"{where} is {_shown(value)}, not text"


def _column_problem(name: str, value, where: str) -> str | None:
    """A results column from extra_info: a number where the column is numeric, else a plain value."""
    if name in LIST_COLUMNS:
        if value is None:
            return None
        if not isinstance(value, list):
            return f"{where} is {type(value).__name__}, not a list"
        return next((p for i, v in enumerate(value) if (p := _number_problem(v, f"{where}[{i}]", optional=False))),
                    None)
    if name in _COUNTS or name.endswith(_NUMERIC_SUFFIXES):
        return _number_problem(value, where)
    if name in KEY:
        return _text_problem(value, where)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return _number_problem(value, where)
    if value is not None and not isinstance(value, (str, bool)):
        return f"{where} is {type(value).__name__}, not a single value"
    return None


def _benchmark_problem(bench, where: str) -> str | None:
    if not isinstance(bench, dict):
        return f"{where} is {type(bench).__name__}, not an object"
    stats, info = bench.get("stats", {}), bench.get("extra_info", {})
    if not isinstance(stats, dict):
        return f"{where}.stats is {type(stats).__name__}, not an object"
    if not isinstance(info, dict):
        return f"{where}.extra_info is {type(info).__name__}, not an object"
    problems = [_number_problem(stats.get(name), f"{where}.stats.{name}") for name in _STATS]
    data = stats.get("data", [])
    if not isinstance(data, list):
        problems.append(f"{where}.stats.data is {type(data).__name__}, not a list")
    else:
        problems += [_number_problem(value, f"{where}.stats.data[{i}]", optional=False) for i, value in enumerate(data)]
    problems += [_column_problem(name, info.get(name), f"{where}.extra_info.{name}")
                 for name in (*COLUMNS, *LIST_COLUMNS)]
    problems.append(_text_problem(bench.get("name"), f"{where}.name"))
    return next((problem for problem in problems if problem), None)


# Fact tables a run writes beside its benchmarks (`sessionbench.<name>`, lists of flat objects): C3's
# delete paths, C4's deletion facts (unique keys, leaks per read path, bloat), C6's ordering facts.
FACT_TABLES = ("delete_paths", "deletion_facts", "ordering_facts")
_FACT_DETAIL = ("orphans_detail", "warnings")  # nested detail kept in the file, not in the tables


def _run_problem(doc: dict) -> str | None:
    meta = doc["sessionbench"]
    problems = [_text_problem(meta.get(name), f"sessionbench.{name}") for name in _RUN_TEXT]
    problems += [_number_problem(meta.get(name), f"sessionbench.{name}") for name in _RUN_NUMBERS]
    for name, kind in (("packages", dict), ("delete_paths", list), ("failed", list), ("only", list),
                       ("node_writes", list), ("concurrency", dict)):
        if meta.get(name) is not None and not isinstance(meta[name], kind):
            problems.append(f"sessionbench.{name} is {type(meta[name]).__name__}, not a {kind.__name__}")
    problems += [_text_problem(version, f"sessionbench.packages.{package}")
                 for package, version in (meta.get("packages") or {}).items()]
    for table in FACT_TABLES[1:]:  # delete_paths is checked above
        if meta.get(table) is not None and not isinstance(meta[table], list):
            problems.append(f"sessionbench.{table} is {type(meta[table]).__name__}, not a list")
            continue
        for index, entry in enumerate(meta.get(table) or []):
            problems += [f"sessionbench.{table}[{index}] is {type(entry).__name__}, not an object"] \
                if not isinstance(entry, dict) else [
                _column_problem(name, value, f"sessionbench.{table}[{index}].{name}") for name, value in entry.items()]
    for index, entry in enumerate(meta.get("delete_paths") or []):
        if not isinstance(entry, dict):
            problems.append(f"sessionbench.delete_paths[{index}] is {type(entry).__name__}, not an object")
            continue
        problems += [_column_problem(name, value, f"sessionbench.delete_paths[{index}].{name}")
                     for name, value in entry.items() if name not in ("orphans_detail", "warnings")]
    for index, entry in enumerate(meta.get("node_writes") or []):
        problems.append(None if isinstance(entry, dict) else f"sessionbench.node_writes[{index}] is not an object")
        problems += [_column_problem(name, value, f"sessionbench.node_writes[{index}].{name}")
                     for name, value in (entry.items() if isinstance(entry, dict) else ())]
    commit = doc.get("commit_info")
    if commit is not None and not isinstance(commit, dict):
        problems.append(f"commit_info is {type(commit).__name__}, not an object")
    elif commit:
        problems.append(_text_problem(commit.get("id"), "commit_info.id"))
    problems.append(_datetime_problem(doc.get("datetime")))
    return next((problem for problem in problems if problem), None)


def _datetime_problem(value) -> str | None:
    from datetime import datetime

    if value is None:
        return None
    try:
        datetime.fromisoformat(value)
    except (TypeError, ValueError):
        return f"datetime is {_shown(value)}, not an ISO 8601 time"
    return None


def _malformed(doc: dict) -> str | None:
    """The first value the rest of sessionbench could not use, named by where it sits; None if all are fine."""
    return _run_problem(doc) or next(
        (problem for index, bench in enumerate(doc["benchmarks"])
         if (problem := _benchmark_problem(bench, f"benchmarks[{index}]"))), None)


def key_of(benchmark: dict) -> tuple:
    """A benchmark's identity across files: (workload, param, variant, image, rtt_ms, *DATA_COLUMNS)."""
    info = benchmark.get("extra_info", {})
    workload = info.get("workload") or benchmark.get("name")
    return (workload, *(info.get(column) for column in KEY[1:]))


def label_of(key: tuple, with_data: bool = False) -> str:
    """Short human label: "dashboard page_size=100 [loading=selectin] image=pg16 rtt=5ms".

    `with_data` adds the data set ("sessions=10000 syncing=100"), for lists that hold several."""
    workload, param, variant, image, rtt_ms, *data = key
    parts = [str(workload)]
    if param:
        parts.append(str(param))
    parts.append(f"[{variant or 'baseline'}]")
    if image:
        parts.append(f"image={image}")
    if rtt_ms:
        parts.append(f"rtt={rtt_ms:g}ms")
    if with_data:
        parts += [f"{name}={value}" for name, value in zip(DATA_COLUMNS, data) if value is not None]
    return " ".join(parts)


def data_varies(keys) -> bool:
    """Whether benchmark keys span more than one data set (labels must then name it)."""
    return len({tuple(key[len(KEY) - len(DATA_COLUMNS):]) for key in keys}) > 1


def under_load(row: dict) -> bool:
    """A row (or benchmark) measured under concurrent load (`--clients`): one window of many clients'
    requests, not a one-client latency benchmark with trials, so compare and the gates leave it out."""
    return row.get("extra_info", row).get("clients") is not None


def metric(benchmark: dict, name: str):
    """One metric of a benchmark by its column name: timing statistics (`median_s`, ...) or extra_info."""
    stats = benchmark.get("stats", {})
    if name.endswith("_s") and name[:-2] in stats and name not in ("p95_s", "p99_s"):
        return stats.get(name[:-2])
    if name == "rounds":
        return stats.get("rounds")
    return benchmark.get("extra_info", {}).get(name)


# What compare can compare: each metric's per-trial values in a benchmark.
METRICS = {"wall": "trial_medians_s", "cpu": "trial_cpu_s", "unloaded": "trial_unloaded_s"}


def trial_values(benchmark: dict, metric: str = "wall") -> list[float]:
    """Per-trial values of a metric: wall (median wall time per round), cpu (client + server CPU per
    round) or unloaded (wall time less CPU waits). A file without trials has one wall value, its median."""
    values = benchmark.get("extra_info", {}).get(METRICS[metric])
    if values:
        return [float(v) for v in values]
    median = benchmark.get("stats", {}).get("median") if metric == "wall" else None
    return [float(median)] if median else []


def commit_of(doc: dict) -> str | None:
    return doc["sessionbench"].get("commit") or (doc.get("commit_info") or {}).get("id")


# What must match for two runs' latencies to be comparable, and where it sits in the run's block.
SETUP_FIELDS = {
    "backend": ("backend",), "server_version": ("server_version",), "sessions": ("sessions",),
    "seed": ("seed",), "grid": ("grid",), "max_time": ("settings", "max_time"),
    "min_rounds": ("settings", "min_rounds"), "trials": ("settings", "trials"),
    "priority": ("priority", "nice"), "server_priority": ("priority", "backend_groups_raised"),
    "placement": ("settings", "cpus"),
    "server_pinned": ("placement", "server_pinned"),
    "cpu_model": ("machine", "cpu_model"), "cpus": ("machine", "cpus"), "kernel": ("machine", "kernel"),
    "packages": ("machine", "packages_hash"), "python": ("python",),
}


def setup_of(doc: dict) -> dict:
    """The run's set-up fields (SETUP_FIELDS), for telling whether two runs were made alike."""
    out = {}
    for name, path in SETUP_FIELDS.items():
        value = doc["sessionbench"]
        for step in path:
            value = value.get(step) if isinstance(value, dict) else None
        out[name] = value
    return out


def load_failed(doc: dict) -> list[str]:
    """Cases the run tried and could not measure."""
    return [str(name) for name in doc["sessionbench"].get("failed") or []]


def rows(doc: dict) -> list[dict]:
    """One flat row per benchmark: COLUMNS first, then every other metric the benchmark carries."""
    meta = doc["sessionbench"]
    out = []
    for bench in doc["benchmarks"]:
        info, stats = bench.get("extra_info", {}), bench.get("stats", {})
        row = {column: info.get(column) for column in COLUMNS}
        row.update({name: value for name, value in info.items() if name not in row and name not in DETAIL})
        row.update({f"{name}_s": stats.get(name) for name in ("min", "median", "mean", "stddev", "iqr", "q1", "q3")})
        row.update(run_id=meta.get("run_id"), rounds=stats.get("rounds"), commit=commit_of(doc),
                   datetime=doc.get("datetime"), backend=info.get("backend", meta.get("backend")),
                   server_version=info.get("server_version", meta.get("server_version")))
        out.append(row)
    return out


# One block per data set of the run (bench.context), and the fields a cache-regime check reads.
DATA_SIZE_NUMBERS = ("sessions", "nodes_per_session", "data_bytes", "shared_buffers_bytes", "memory_bytes")


_SYNCING = re.compile(r"\d{1,9}(\.\d{1,6})?%?")


def data_sizes(doc: dict) -> list[dict]:
    """The run's data sets with their size against shared_buffers and RAM (`sessionbench.data_sizes`):
    sessions, nodes_per_session, syncing, data_bytes, shared_buffers_bytes, memory_bytes,
    fits_in_shared_buffers and fits_in_memory. A value of the wrong kind reads as missing (None), a block that is not
    an object is left out; a file without the list gives []."""
    blocks = doc["sessionbench"].get("data_sizes")
    out = []
    for block in blocks if isinstance(blocks, list) else []:
        if not isinstance(block, dict):
            continue
        entry = {name: block.get(name) if _number_problem(block.get(name), name) is None else None
                 for name in DATA_SIZE_NUMBERS}
        syncing = block.get("syncing")  # "100" or "1%", as --syncing takes it; anything else reads as missing
        entry["syncing"] = str(syncing) if isinstance(syncing, (str, int)) and _SYNCING.fullmatch(str(syncing)) else None
        for name in ("fits_in_shared_buffers", "fits_in_memory"):
            entry[name] = block.get(name) if isinstance(block.get(name), bool) else None
        out.append(entry)
    return out


def load(paths) -> "pandas.DataFrame":  # noqa: F821 - pandas is imported lazily
    """A tidy DataFrame, one row per workload x variant x param x image x rtt, over one or more files."""
    import pandas as pd

    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    frames, docs = [], []
    for path in paths:
        docs.append(read(path))
        table = rows(docs[-1])
        extra = [name for name in dict.fromkeys(k for row in table for k in row) if name not in COLUMNS]
        frames.append(pd.DataFrame(table, columns=COLUMNS + extra))
    if not frames:
        raise UserError("no results files given", "pass one or more results/*.json")
    df = pd.concat(frames, ignore_index=True)
    df.attrs["facts"] = Facts({name: [row for doc in docs for row in facts(doc, name)] for name in FACT_TABLES})
    df.attrs["data_sizes"] = [{"run_id": doc["sessionbench"].get("run_id"), **block}
                              for doc in docs for block in data_sizes(doc)]
    return df


def facts(doc: dict, name: str) -> list[dict]:
    """One fact table of a results file (FACT_TABLES), each entry flat and with its run_id; [] if absent."""
    run_id = doc["sessionbench"].get("run_id")
    return [{"run_id": run_id, **{k: v for k, v in entry.items() if k not in _FACT_DETAIL}}
            for entry in doc["sessionbench"].get(name) or [] if isinstance(entry, dict)]


class Facts:
    """The fact tables of the files a DataFrame was loaded from, in `df.attrs["facts"]` (set by `load`),
    so every table and verdict built from `df` can reach them. Shared, never copied: pandas copies
    attrs on every operation."""

    def __init__(self, tables: dict[str, list[dict]]) -> None:
        self._tables = tables

    def __deepcopy__(self, memo) -> Facts:
        return self

    def table(self, name: str) -> "pandas.DataFrame":  # noqa: F821 - pandas is imported lazily
        import pandas as pd

        return pd.DataFrame(self._tables.get(name) or [])


def fact_table(df, name: str) -> "pandas.DataFrame":  # noqa: F821 - pandas is imported lazily
    """Fact table `name` of the runs `df` was loaded from (an empty DataFrame when none was recorded)."""
    import pandas as pd

    found = df.attrs.get("facts")
    return found.table(name) if isinstance(found, Facts) else pd.DataFrame()


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
        # Readable by the owner's group like the logs: no secret can reach a results file.
        os.fchmod(handle, 0o640)
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
