"""The results file: the only package that opens, parses or writes one (README, "Reading results").

`read` parses and checks one file (bench.results.validate), `load` gives a DataFrame of many, `rows`,
`run_info`, `entries` and `extra` read parts of a document, `write_new` writes one atomically and never
over an earlier run. What the file holds is declared in bench.results.format.
"""

from __future__ import annotations

import json
import math
import os
import re
import tempfile
from pathlib import Path

from bench.analysis.distributions import median_interval
from bench.errors import UserError
from bench.redact import printable
from bench.results.format import (
    COLUMNS, DATA_COLUMNS, DETAIL, FACT_DETAIL, FACT_TABLES, FORMAT_VERSION, KEY,
)
from bench.results.validate import malformed, number_problem, shown
from models_variants import labels

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
        raise UserError(f"{path}: results format {shown(version)}, this sessionbench reads {FORMAT_VERSION}",
                        "re-run the benchmarks with this version")
    problem = malformed(doc)
    if problem:
        raise UserError(f"{path}: malformed results: {problem}",
                        "pass the file exactly as `sessionbench run` wrote it (re-download it, or re-run)")
    return doc


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
METRICS = {"wall": "trial_medians_s", "cpu": "trial_cpu_s", "unloaded": "trial_unloaded_s",
           "paced": "trial_paced_s"}


def trial_values(benchmark: dict, metric: str = "wall") -> list[float]:
    """Per-trial values of a metric: wall (median wall time per round), cpu (client + server CPU per
    round), unloaded (wall time less CPU waits) or paced (wall time at the yardstick's fixed pace,
    bench.measure.yardstick). A file without trials has one wall value, its median."""
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


def sizes_of(info: dict) -> list[int]:
    """Every data size (sessions) a run measured, smallest first, from its block's `sizes`; [] when it lists none."""
    sizes = info.get("sizes")
    return sorted({size["sessions"] for size in sizes if isinstance(size, dict) and isinstance(size.get("sessions"), int)
                   and not isinstance(size.get("sessions"), bool)}) if isinstance(sizes, list) else []


def yardstick_version(doc: dict) -> int | None:
    """The version of the yardstick a run timed (bench.measure.yardstick); None for a run that timed none.
    A block that is not an object with a whole-number version is a UserError: the file came from elsewhere."""
    block = run_info(doc).get("yardstick")
    if block is None:
        return None
    version = block.get("version") if isinstance(block, dict) else None
    if type(version) is not int:
        raise UserError("a results file's sessionbench.yardstick is not an object with a whole-number version",
                        "re-run that side with sessionbench, or compare --metric wall")
    return version


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


def valid_trials(trial_medians) -> list[float]:
    """A case's per-trial medians as numbers, or [] when the file's list is missing or holds a value that is
    not a positive number (a results file is untrusted)."""
    values = trial_medians if isinstance(trial_medians, list) else []
    if not all(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) and v > 0 for v in values):
        return []
    return [float(v) for v in values]


def median_interval_of(trial_medians) -> dict:
    """`median_low_s`, `median_high_s`: the 95% distribution-free interval of a case's median over its
    trials (bench.analysis.distributions.median_interval), what the charts' error bars draw; None when
    the file holds fewer than six trial medians or a value that is not a positive number."""
    values = valid_trials(trial_medians)
    found = median_interval(values) if values else None
    return {"median_low_s": found[0] if found else None, "median_high_s": found[1] if found else None}


def rows(doc: dict) -> list[dict]:
    """One flat row per benchmark: COLUMNS first, then every other metric the benchmark carries."""
    meta = doc["sessionbench"]
    out = []
    for bench in doc["benchmarks"]:
        info, stats = bench.get("extra_info", {}), bench.get("stats", {})
        row = {column: info.get(column) for column in COLUMNS}
        row.update({name: value for name, value in info.items() if name not in row and name not in DETAIL})
        row.update({f"{name}_s": stats.get(name) for name in ("min", "median", "mean", "stddev", "iqr", "q1", "q3")})
        row.update(median_interval_of(info.get("trial_medians_s")))
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
        entry = {name: block.get(name) if number_problem(block.get(name), name) is None else None
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
    # Each row's per-trial medians (wall), by the row's index: what pairs two variants of one group trial by
    # trial (bench.analysis.tables.lead). Kept beside the table, not in it, so exports stay flat.
    trials = [valid_trials(bench.get("extra_info", {}).get("trial_medians_s")) for doc in docs
              for bench in doc["benchmarks"]]
    df.attrs["trial_medians"] = Shared({index: tuple(values) for index, values in enumerate(trials) if values})
    return df


def facts(doc: dict, name: str) -> list[dict]:
    """One fact table of a results file (FACT_TABLES), each entry flat and with its run_id; [] if absent."""
    run_id = doc["sessionbench"].get("run_id")
    return [{"run_id": run_id, **{k: v for k, v in entry.items() if k not in FACT_DETAIL}}
            for entry in doc["sessionbench"].get(name) or [] if isinstance(entry, dict)]


class Shared(dict):
    """A mapping in `df.attrs` shared by every frame derived from the loaded one, never copied: pandas
    deep-copies attrs on every operation, and these values never change after `load`."""

    def __deepcopy__(self, memo) -> Shared:
        return self


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
