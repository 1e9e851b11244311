"""The results file: pytest-benchmark's JSON, extended. The only module that knows its layout.

Each benchmark keeps its raw per-round timings in `stats.data` and its non-timing metrics in
`extra_info` under the column names below; the run's metadata sits in `machine_info`,
`commit_info` and a `sessionbench` block carrying FORMAT_VERSION. Files are written
atomically and never overwrite an earlier run.
"""

from __future__ import annotations

import json
import math
import os
import re
import tempfile
from pathlib import Path

from bench.errors import UserError
from bench.redact import printable
from models_variants import AXES, labels

FORMAT_VERSION = 2
AXIS_COLUMNS = list(AXES)
# The data set a case ran on (bench.data.DataSpec.columns): a size sweep measures each case at each.
DATA_COLUMNS = ["sessions", "nodes_per_session", "syncing"]
COLUMNS = [
    "run_id", "backend", "server_version", "image", "rtt_ms", "workload", "param", "variant", *AXIS_COLUMNS,
    *DATA_COLUMNS, "statements", "server_statements", "rows",
    # per round, on the wire (bench.measure.counting says what each is): executions with every parameter set,
    # round trips an added RTT multiplies, rows and bytes the server sent over all statements
    "executions", "round_trips", "wire_rows", "wire_bytes", "min_s", "median_s", "mean_s", "stddev_s",
    "iqr_s", "q1_s", "q3_s", "p95_s", "p99_s", "rounds",
    # measured side by side (bench.measure.trials): the ratio to the group's baseline and its interval
    "trials", "rounds_per_trial", "trials_discarded", "budget_limited", "ratio", "ratio_low", "ratio_high",
    "cpu_s", "client_cpu_s", "server_cpu_s", "cpu_wait_s", "server_exec_s",
    # a storage move (bench.workloads.storage), once with a writer updating the same messages meanwhile
    "rows_rewritten", "batches", "migration_wall_s", "writer_wait_max_s", "writer_updates", "writer_lock_waits",
    "plan_top", "seq_scan", "generic_plan_top",
    "generic_seq_scan", "plan_in_use", "plan_changes", "plan_rows", "shared_hit", "shared_read", "jit_used", "planning_ms",
    "execution_ms", "wal_bytes", "table_bytes", "index_bytes", "orphans", "leaks", "label", "commit",
    "datetime",
    # under concurrent load (--clients, bench.load.cases): one row per mix x variant x clients
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
_MAX_DEPTH = 24  # sessionbench writes at most 7 levels; far deeper nesting would exhaust a reader's stack
_RUN_TEXT = ("run_id", "backend", "server_version", "scale", "commit", "python", "grid")
_RUN_NUMBERS = ("sessions", "seed")


# What a value of each kind must be: a test and the words an error line uses. None (absent) is always allowed.
def _finite(value) -> bool:
    return not isinstance(value, bool) and isinstance(value, (int, float)) and abs(value) < _LARGEST


KINDS = {
    "duration": (lambda v: _finite(v) and v > 0, "a positive duration"),  # a timed round is never 0 s
    "time": (lambda v: _finite(v) and v >= 0, "a time of 0 or more"),  # a wait or a CPU time can be 0
    "count": (lambda v: _finite(v) and type(v) is int and v >= 0, "a whole count of 0 or more"),
    "amount": (lambda v: _finite(v) and v >= 0, "a number of 0 or more"),
    "ratio": (lambda v: _finite(v) and v > 0, "a positive ratio"),
    "number": (_finite, "a finite number"),
    "text": (lambda v: isinstance(v, str), "text"),
    "flag": (lambda v: isinstance(v, bool), "true or false"),
}
_LIST_KINDS = {"durations": "duration", "times": "time", "texts": "text"}

# The declared row: every column's kind (KINDS, or a list of one kind: _LIST_KINDS). A column not
# declared here is judged by its name's suffix (_SUFFIX_KINDS), else it must be one plain value.
ROW_SCHEMA = {
    **dict.fromkeys(("run_id", "backend", "server_version", "image", "workload", "param", "variant", *AXIS_COLUMNS,
                     "syncing", "label", "commit", "datetime", "plan_top", "generic_plan_top", "plan_in_use",
                     "roles", "lock_waits", "top_wait"), "text"),
    **dict.fromkeys(("sessions", "nodes_per_session", "statements", "server_statements", "rows", "executions",
                     "round_trips", "wire_rows", "wire_bytes", "rounds", "trials", "rounds_per_trial",
                     "trials_discarded", "rows_rewritten", "batches", "writer_updates", "writer_lock_waits",
                     "shared_hit", "shared_read", "wal_bytes", "table_bytes", "index_bytes", "orphans", "leaks",
                     "clients", "pool_size", "load_workers", "ops", "pool_waited", "errors", "wait_samples",
                     "warmup_rounds", "rounds_planned", "prepared_statements", "generic_executions",
                     "custom_executions"), "count"),
    **dict.fromkeys(("min_s", "median_s", "mean_s", "q1_s", "q3_s", "p95_s", "p99_s"), "duration"),
    **dict.fromkeys(("stddev_s", "iqr_s", "cpu_s", "client_cpu_s", "server_cpu_s", "cpu_wait_s", "server_exec_s",
                     "migration_wall_s", "writer_wait_max_s", "p50_s", "pool_wait_s", "pool_wait_p99_s"), "time"),
    **dict.fromkeys(("rtt_ms", "plan_rows", "planning_ms", "execution_ms", "ops_per_s", "pool_wait_share",
                     "load_cpu_share", "ceiling_ops_per_s", "busy_backends", "cpu_share", "lock_wait_share",
                     "client_wait_share"), "amount"),
    **dict.fromkeys(("ratio", "ratio_low", "ratio_high"), "ratio"),
    "headroom": "number",
    **dict.fromkeys(("budget_limited", "seq_scan", "generic_seq_scan", "plan_changes", "jit_used", "steady_state"),
                    "flag"),
    "indexes_used": "texts", "trial_medians_s": "durations", "trial_cpu_s": "times", "trial_unloaded_s": "times",
}
# pytest-benchmark's statistics of the timed rounds, and the raw rounds in stats.data.
STATS_SCHEMA = {"min": "duration", "max": "duration", "median": "duration", "mean": "duration", "q1": "duration",
                "q3": "duration", "stddev": "time", "iqr": "time", "rounds": "count"}
_SUFFIX_KINDS = (("_s", "time"), ("_ms", "amount"), ("_bytes", "amount"))


def _shown(value) -> str:
    """A value for an error line: repr (control characters escaped), cut short."""
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _kind_problem(kind: str, value, where: str) -> str | None:
    """Whether `value` is of `kind` (KINDS or _LIST_KINDS); None when it is, or when it is absent."""
    if value is None:
        return None
    if kind in _LIST_KINDS:
        if not isinstance(value, list):
            return f"{where} is {type(value).__name__}, not a list"
        return next((p for i, v in enumerate(value)
                     if (p := _kind_problem(_LIST_KINDS[kind], v, f"{where}[{i}]") if v is not None
                         else f"{where}[{i}] is None, not {KINDS[_LIST_KINDS[kind]][1]}")), None)
    test, words = KINDS[kind]
    if test(value):
        return None
    if kind not in ("text", "flag") and (isinstance(value, bool) or not isinstance(value, (int, float))):
        words = "a number"  # text where a number belongs: say so before saying which number
    elif kind not in ("text", "flag") and not _finite(value):
        words = "a finite number in range"
    return f"{where} is {_shown(value)}, not {words}"


def _number_problem(value, where: str, *, optional: bool = True) -> str | None:
    if value is None and not optional:
        return f"{where} is None, not a finite number"
    return _kind_problem("number", value, where)


def _text_problem(value, where: str) -> str | None:
    return _kind_problem("text", value, where)


def kind_of(name: str) -> str | None:
    """A column's declared kind (ROW_SCHEMA, else by suffix); None for an undeclared plain value."""
    return ROW_SCHEMA.get(name) or next((kind for suffix, kind in _SUFFIX_KINDS if name.endswith(suffix)), None)


def _column_problem(name: str, value, where: str) -> str | None:
    """A results column from extra_info or a fact table, against its declared kind."""
    kind = kind_of(name)
    if kind is not None:
        return _kind_problem(kind, value, where)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return _number_problem(value, where)
    if value is not None and not isinstance(value, (str, bool)):
        return f"{where} is {type(value).__name__}, not a single value"
    return None


def _structure_problem(doc) -> str | None:
    """Every level and number of the whole document, whatever its place: nesting no deeper than
    _MAX_DEPTH and every number finite and in range, so no reader (merge's copy, pandas, a sum over
    shards) can overflow its stack or produce an infinity. Iterative: a deep file cannot exhaust it."""
    stack = [(doc, "", 0)]
    while stack:
        node, where, depth = stack.pop()
        if depth > _MAX_DEPTH:
            return f"{where or 'the document'} is nested more than {_MAX_DEPTH} levels deep"
        if isinstance(node, dict):
            stack.extend((value, f"{where}.{key}" if where else str(key), depth + 1) for key, value in node.items())
        elif isinstance(node, list):
            stack.extend((value, f"{where}[{index}]", depth + 1) for index, value in enumerate(node))
        elif isinstance(node, (int, float)) and not isinstance(node, bool) and not _finite(node):
            return f"{where} is {_shown(node)}, not a finite number in range"
    return None


def _benchmark_problem(bench, where: str) -> str | None:
    if not isinstance(bench, dict):
        return f"{where} is {type(bench).__name__}, not an object"
    stats, info = bench.get("stats", {}), bench.get("extra_info", {})
    if not isinstance(stats, dict):
        return f"{where}.stats is {type(stats).__name__}, not an object"
    if not isinstance(info, dict):
        return f"{where}.extra_info is {type(info).__name__}, not an object"
    problems = [_kind_problem(kind, stats.get(name), f"{where}.stats.{name}") for name, kind in STATS_SCHEMA.items()]
    problems.append(_kind_problem("durations", stats.get("data"), f"{where}.stats.data"))
    # Every column the file holds that has a declared kind, and every COLUMNS one (as a plain value).
    problems += [_column_problem(name, info.get(name), f"{where}.extra_info.{name}")
                 for name in dict.fromkeys((*COLUMNS, *(name for name in info if kind_of(name))))]
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
    problems.append(_kind_problem("count", meta.get("sessions"), "sessionbench.sessions"))
    for name, kind in (("packages", dict), ("delete_paths", list), ("failed", list), ("only", list),
                       ("node_writes", list), ("concurrency", dict), ("settings", dict), ("data", dict),
                       ("machine", dict), ("load", dict), ("trials", dict)):
        if meta.get(name) is not None and not isinstance(meta[name], kind):
            problems.append(f"sessionbench.{name} is {type(meta[name]).__name__}, not "
                            f"{'an object' if kind is dict else 'a list'}")
    packages = meta.get("packages") if isinstance(meta.get("packages"), dict) else {}
    problems += [_text_problem(version, f"sessionbench.packages.{package}") for package, version in packages.items()]
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
    problems += [_kind_problem("texts", meta.get(name), f"sessionbench.{name}") for name in ("failed", "only")]
    settings = meta.get("settings") if isinstance(meta.get("settings"), dict) else {}
    problems.append(_text_problem(settings.get("shard"), "sessionbench.settings.shard"))
    data = meta.get("data") if isinstance(meta.get("data"), dict) else {}
    problems.append(_kind_problem("count", data.get("sessions"), "sessionbench.data.sessions"))
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
    return _structure_problem(doc) or _run_problem(doc) or next(
        (problem for index, bench in enumerate(doc["benchmarks"])
         if (problem := _benchmark_problem(bench, f"benchmarks[{index}]"))), None) or _mixed_problem(doc)


def _plain_kind(value) -> str | None:
    for kind, words in ((type(None), None), (bool, "true or false"), (str, "text"), ((int, float), "a number"),
                        (list, "a list"), (dict, "an object")):
        if isinstance(value, kind):
            return words
    return None


def _mixed_problem(doc: dict) -> str | None:
    """An undeclared column is one column of the table: the same kind in every row (a column of numbers
    and text has no type in a table file, Parquet's or pandas')."""
    first: dict[str, tuple[str, str]] = {}
    for index, bench in enumerate(doc["benchmarks"]):
        for name, value in bench.get("extra_info", {}).items():
            kind = _plain_kind(value) if kind_of(name) is None and name not in DETAIL else None
            where = f"benchmarks[{index}].extra_info.{name}"
            seen = first.setdefault(name, (kind, where)) if kind else None
            if seen and seen[0] != kind:
                return f"{where} is {_shown(value)}, not {seen[0]} like {seen[1]}"
    return None


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
    parts.append(f"[{variant or labels.BASELINE}]")
    if image:
        parts.append(f"image={image}")
    if rtt_ms:
        parts.append(f"rtt={rtt_ms:g}ms")
    if with_data:
        parts += [f"{name}={value}" for name, value in zip(DATA_COLUMNS, data) if value is not None]
    return printable(" ".join(parts), one_line=True)  # names come from a file: no control character acts


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
        # Ratios are taken in logs: a CPU or unloaded time that read 0 (all waiting) cannot be one.
        return [float(v) for v in values] if all(v > 0 for v in values) else []
    median = benchmark.get("stats", {}).get("median") if metric == "wall" else None
    return [float(median)] if median else []


def run_info(doc: dict) -> dict:
    """The run's own block (`sessionbench`): what produced the numbers; {} for a document without one."""
    block = doc.get("sessionbench")
    return block if isinstance(block, dict) else {}


def set_run_info(doc: dict, info: dict) -> None:
    """Put the run's block into a document being written (the benchmarks' conftest, at the end of a run)."""
    doc["sessionbench"] = info


def entries(doc: dict, name: str) -> list[dict]:
    """A list the run's block holds (`delete_paths`, `node_writes`, ...): its entries that are tables' rows."""
    return [entry for entry in run_info(doc).get(name) or [] if isinstance(entry, dict)]


def extra(benchmark: dict) -> dict:
    """A benchmark's own columns (pytest-benchmark's `extra_info`: counts, facts, the case's key)."""
    return benchmark.get("extra_info") or {}


def record(benchmark, columns: dict) -> None:
    """Add columns to the benchmark being measured (the pytest-benchmark fixture's `extra_info`)."""
    benchmark.extra_info.update(columns)


def parse(text: str) -> dict:
    """A results document from its JSON text, as pytest-benchmark wrote it (not yet validated: `read` does)."""
    return json.loads(text)


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
    return [printable(name, one_line=True) for name in doc["sessionbench"].get("failed") or []]


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


# One block per data set of the run (bench.measure.context), and the fields a cache-regime check reads.
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


def _finite_only(value):
    """`value` with every NaN or infinity (which JSON cannot hold) as null, the way a reader sees a missing value."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {key: _finite_only(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite_only(item) for item in value]
    return value


def dumps(doc: dict) -> str:
    """A results document as the JSON every file sessionbench writes holds: strict JSON, never NaN or Infinity."""
    return json.dumps(_finite_only(doc), indent=1, default=str, allow_nan=False)


def write_new(doc: dict, out_dir: str | os.PathLike, run_id: str) -> Path:
    """Write `<out_dir>/<run_id>.json` atomically; refuse to overwrite an existing file."""
    out = Path(out_dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UserError(f"cannot create results folder {out}: {exc.strerror}", "pass a writable --out") from None
    final = out / f"{run_id}.json"
    try:
        handle, temp = tempfile.mkstemp(dir=out, prefix=f".{run_id}.", suffix=".tmp")
    except OSError as exc:
        raise UserError(f"cannot write {final}: {exc.strerror or exc}", "free space there, or pass another folder")\
            from None
    try:
        # Readable by the owner's group like the logs: no secret can reach a results file.
        os.fchmod(handle, 0o640)
        with os.fdopen(handle, "w") as stream:
            stream.write(dumps(doc))
            stream.flush()
            os.fsync(stream.fileno())
        os.link(temp, final)  # atomic, and fails instead of replacing an earlier run
    except FileExistsError:
        raise UserError(f"{final} already exists; results are never overwritten", "use a new --out folder") from None
    except OSError as exc:  # a full disk or a read-only folder: nothing half-written is left, the caller decides
        raise UserError(f"cannot write {final}: {exc.strerror or exc}", "free space there, or pass another folder")\
            from None
    finally:
        Path(temp).unlink(missing_ok=True)
    return final
