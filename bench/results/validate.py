"""Every value of a results file checked before anything reads it (bench.results.read calls `malformed`).

A results file is often downloaded or sent by someone else: a hostile or damaged file is refused in
one line, never half-read. What each value must be is declared in bench.results.format.
"""

from __future__ import annotations

from bench.results.format import (
    COLUMNS, DETAIL, FACT_TABLES, KINDS, LIST_KINDS, MAX_DEPTH, ROW_SCHEMA, RUN_NUMBERS, RUN_TEXT, STATS_SCHEMA,
    SUFFIX_KINDS, finite,
)

def shown(value) -> str:
    """A value for an error line: repr (control characters escaped), cut short."""
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _kind_problem(kind: str, value, where: str) -> str | None:
    """Whether `value` is of `kind` (KINDS or LIST_KINDS); None when it is, or when it is absent."""
    if value is None:
        return None
    if kind in LIST_KINDS:
        if not isinstance(value, list):
            return f"{where} is {type(value).__name__}, not a list"
        return next((p for i, v in enumerate(value)
                     if (p := _kind_problem(LIST_KINDS[kind], v, f"{where}[{i}]") if v is not None
                         else f"{where}[{i}] is None, not {KINDS[LIST_KINDS[kind]][1]}")), None)
    test, words = KINDS[kind]
    if test(value):
        return None
    if kind not in ("text", "flag") and (isinstance(value, bool) or not isinstance(value, (int, float))):
        words = "a number"  # text where a number belongs: say so before saying which number
    elif kind not in ("text", "flag") and not finite(value):
        words = "a finite number in range"
    return f"{where} is {shown(value)}, not {words}"


def number_problem(value, where: str, *, optional: bool = True) -> str | None:
    if value is None and not optional:
        return f"{where} is None, not a finite number"
    return _kind_problem("number", value, where)


def _text_problem(value, where: str) -> str | None:
    return _kind_problem("text", value, where)


def kind_of(name: str) -> str | None:
    """A column's declared kind (ROW_SCHEMA, else by suffix); None for an undeclared plain value."""
    return ROW_SCHEMA.get(name) or next((kind for suffix, kind in SUFFIX_KINDS if name.endswith(suffix)), None)


def _column_problem(name: str, value, where: str) -> str | None:
    """A results column from extra_info or a fact table, against its declared kind."""
    kind = kind_of(name)
    if kind is not None:
        return _kind_problem(kind, value, where)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return number_problem(value, where)
    if value is not None and not isinstance(value, (str, bool)):
        return f"{where} is {type(value).__name__}, not a single value"
    return None


def _structure_problem(doc) -> str | None:
    """Every level and number of the whole document, whatever its place: nesting no deeper than
    MAX_DEPTH and every number finite and in range, so no reader (merge's copy, pandas, a sum over
    shards) can overflow its stack or produce an infinity. Iterative: a deep file cannot exhaust it."""
    stack = [(doc, "", 0)]
    while stack:
        node, where, depth = stack.pop()
        if depth > MAX_DEPTH:
            return f"{where or 'the document'} is nested more than {MAX_DEPTH} levels deep"
        if isinstance(node, dict):
            stack.extend((value, f"{where}.{key}" if where else str(key), depth + 1) for key, value in node.items())
        elif isinstance(node, list):
            stack.extend((value, f"{where}[{index}]", depth + 1) for index, value in enumerate(node))
        elif isinstance(node, (int, float)) and not isinstance(node, bool) and not finite(node):
            return f"{where} is {shown(node)}, not a finite number in range"
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


def _run_problem(doc: dict) -> str | None:
    meta = doc["sessionbench"]
    problems = [_text_problem(meta.get(name), f"sessionbench.{name}") for name in RUN_TEXT]
    problems += [number_problem(meta.get(name), f"sessionbench.{name}") for name in RUN_NUMBERS]
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
        return f"datetime is {shown(value)}, not an ISO 8601 time"
    return None


def malformed(doc: dict) -> str | None:
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
                return f"{where} is {shown(value)}, not {seen[0]} like {seen[1]}"
    return None


