"""`sessionbench merge`: the results files of the shards of one run (`run --shard K/N`) as one file.

The parts must be one run cut in pieces: the same commit, data, seed, grid, server version,
packages and settings (all but `shard`), no benchmark in two parts, no shard twice. Shards may run
on different machines (CPU model, count, kernel): a comparison group is never split, so each ratio
comes from one machine; the merged file names each shard's machine, load and run id under
`sessionbench.shards`. A missing shard is refused, or with `--allow-missing` merged without and
named under `sessionbench.missing_shards`.
"""

from __future__ import annotations

import copy
import json
import sys
from pathlib import Path

from bench import results
from bench.plan import shard
from bench.errors import UserError
from bench.redact import printable

# Set-up fields (results.SETUP_FIELDS) that say which machine ran a shard: they may differ between shards.
PER_MACHINE = ("cpu_model", "cpus", "kernel")
# Run fields outside SETUP_FIELDS that must match as well.
SAME_RUN = ("scale", "only")
# Lists in the run's block with one entry per server or data set of a shard: the merged file holds them all.
PER_SHARD_LISTS = ("servers", "loads", "sizes", "facts", "relays", "data_sizes")


def _plain(text: str, limit: int = 120) -> str:
    """Text from a results file made safe for a terminal line: control characters escaped, cut short."""
    return printable(text, limit, one_line=True)


def shard_of(doc: dict, path) -> tuple[int, int]:
    """The (K, N) a part was run with; a file without one is refused."""
    chosen = _block(doc["sessionbench"], "settings").get("shard")
    if not chosen:
        raise UserError(f"{path}: not a shard's results (its run had no --shard)",
                        "merge the files of `sessionbench run --shard K/N`, K = 1 to N")
    try:
        return shard.shard_numbers(chosen)
    except (ValueError, TypeError, AttributeError):
        raise UserError(f"{path}: malformed results: sessionbench.settings.shard is not K/N",
                        "pass the file exactly as `sessionbench run` wrote it") from None


def _run_fields(doc: dict) -> dict:
    """What must match between the parts of one run."""
    meta = doc["sessionbench"]
    fields = {name: value for name, value in results.setup_of(doc).items() if name not in PER_MACHINE}
    fields.update({name: meta.get(name) for name in SAME_RUN}, commit=results.commit_of(doc))
    fields.update({f"settings.{name}": value for name, value in _block(meta, "settings").items()
                   if name != "shard"})
    return {name: json.dumps(value, sort_keys=True, default=str) for name, value in fields.items()}


def check_parts(parts: list[tuple[str, dict]], allow_missing: bool = False) -> list[int]:
    """Refuse parts that are not shards of one run; return the missing shard numbers."""
    numbers = [shard_of(doc, path) for path, doc in parts]
    counts = {n for _, n in numbers}
    if len(counts) > 1:
        shown = ", ".join(f"{path} is {k}/{n}" for (path, _), (k, n) in zip(parts, numbers))
        raise UserError(f"the parts come from different splits: {shown}", "merge the shards of one split only")
    first_path, first = parts[0]
    expected = _run_fields(first)
    for path, doc in parts[1:]:
        fields = _run_fields(doc)
        differing = [name for name in expected if fields.get(name) != expected[name]]
        differing += [name for name in fields if name not in expected]
        if differing:
            raise UserError(f"{path} was made differently from {first_path} ({_plain(', '.join(differing))}): "
                            "not shards of one run", "merge the shards of one run; re-run the shard that differs")
    seen: dict[int, str] = {}
    for (path, _), (k, n) in zip(parts, numbers):
        if k in seen:
            raise UserError(f"shard {k}/{n} given twice: {seen[k]} and {path}", "pass each shard's file once")
        seen[k] = path
    owner: dict[tuple, str] = {}
    for path, doc in parts:
        for benchmark in doc["benchmarks"]:
            key = results.key_of(benchmark)
            if key in owner:
                raise UserError(f"{owner[key]} and {path} both hold {_plain(results.label_of(key))}: overlapping cases",
                                "merge the shards of one split, each once")
            owner[key] = path
    count = counts.pop()
    missing = [k for k in range(1, count + 1) if k not in seen]
    if missing and not allow_missing:
        raise UserError(f"shard(s) {', '.join(map(str, missing))} of {count} missing: their cases would be absent",
                        "pass every shard's results file, or --allow-missing to merge the others")
    return missing


def _merged_load(loads: list[dict]) -> dict:
    """The run's load as its busiest shard saw it: noisy when any shard was."""
    def worst(name):
        values = [load.get(name) for load in loads if isinstance(load.get(name), (int, float))]
        return max(values) if values else None
    out = {name: worst(name) for name in ("seconds", "cpu_busy_share", "steal_share", "other_cpu_share")}
    out["noisy"] = any(load.get("noisy") is True for load in loads)
    return {name: value for name, value in out.items() if value is not None}


def _merged_machine(machines: list[dict]) -> dict:
    """One machine block: a value every shard shares as it is, one that differs as 'a | b'."""
    out = {}
    for name in dict.fromkeys(key for machine in machines for key in machine):
        values = list(dict.fromkeys(json.dumps(machine.get(name), default=str) for machine in machines))
        out[name] = machines[0].get(name) if len(values) == 1 else \
            " | ".join(str(machine.get(name)) for machine in machines)
    return out


def _block(meta: dict, name: str) -> dict:
    value = meta.get(name)
    return value if isinstance(value, dict) else {}


def _count(value) -> int | float:
    return value if isinstance(value, (int, float)) and not isinstance(value, bool) else 0


def _list(meta: dict, name: str) -> list:
    value = meta.get(name)
    return value if isinstance(value, list) else []


def merged(parts: list[tuple[str, dict]], run_id: str, missing: list[int]) -> dict:
    """The parts (checked, in shard order) as one results document."""
    docs = [doc for _, doc in parts]
    metas = [doc["sessionbench"] for doc in docs]
    doc = copy.deepcopy(docs[0])
    meta = doc["sessionbench"]
    doc["benchmarks"] = sorted((b for d in docs for b in d["benchmarks"]), key=lambda b: str(b.get("fullname")))
    meta.update(run_id=run_id, settings={**_block(meta, "settings"), "shard": None},
                machine=_merged_machine([_block(m, "machine") for m in metas]),
                load=_merged_load([_block(m, "load") for m in metas]),
                failed=[name for m in metas for name in _list(m, "failed")], missing_shards=missing)
    trials = [_block(m, "trials") for m in metas]
    meta["trials"] = {"kept": sum(_count(t.get("kept")) for t in trials),
                      "disturbed": sum(_count(t.get("disturbed")) for t in trials),
                      "max_dead_tuples": max((_count(t.get("max_dead_tuples")) for t in trials), default=0)}
    for name in PER_SHARD_LISTS:
        if any(name in m for m in metas):
            meta[name] = [entry for m in metas for entry in _list(m, name)]
    # C3's fact table is a fact of the variant, not of the machine: each delete path of a variant once.
    paths = {}
    for m in metas:
        for entry in _list(m, "delete_paths"):
            paths.setdefault(json.dumps([entry.get(k) for k in ("image", "variant", "path")], default=str), entry)
    meta["delete_paths"] = list(paths.values())
    meta["shards"] = [{"shard": _block(m, "settings").get("shard"), "run_id": m.get("run_id"),
                       "machine": _block(m, "machine"), "load": _block(m, "load"), "datetime": d.get("datetime"),
                       "benchmarks": len(d["benchmarks"])} for m, d in zip(metas, docs)]
    return doc


def merge(paths: list[str], out: str, allow_missing: bool = False, print_path: bool = False) -> int:
    from bench.measure.context import new_run_id

    if not paths:
        raise UserError("no results files given", "pass every shard's results file: sessionbench merge A.json B.json")
    parts = [(str(path), results.read(path)) for path in paths]
    missing = check_parts(parts, allow_missing)
    parts.sort(key=lambda part: shard_of(part[1], part[0]))
    machines = {json.dumps({k: _block(d["sessionbench"], "machine").get(k) for k in PER_MACHINE}, default=str)
                for _, d in parts}
    doc = merged(parts, new_run_id(), missing)
    path = results.write_new(doc, Path(out), doc["sessionbench"]["run_id"])
    count = shard_of(parts[0][1], parts[0][0])[1]
    if missing:
        print(f"sessionbench: warning: shard(s) {', '.join(map(str, missing))} of {count} missing; "
              "their cases are not in the merged file", file=sys.stderr)
    if len(machines) > 1:
        print("sessionbench: note: the shards ran on different machines: each comparison group (and its ratios) "
              "is from one machine, absolute times of different groups are not", file=sys.stderr)
    print(f"sessionbench: {len(doc['benchmarks'])} benchmarks of {len(parts)} of {count} shard(s) written to {path}",
          file=sys.stderr if print_path else sys.stdout)
    if print_path:
        print(path)
    return 0
