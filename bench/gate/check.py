"""`sessionbench check`: the deterministic CI gate. Statement budgets and plan expectations.

Timings are noisy, so `compare` needs a confidence interval; statement counts and plan shapes
are exact facts of the ORM and the planner, so a single run decides. The budget file
(bench/budgets.toml, written by `--update`) holds:

- `[[statements]]` blocks, one per data size: the exact client statement count of every
  workload x param x variant, made at `sessions` (and `seed`). Some counts follow the data
  (selectin batches of 500 ids, the number of sessions a purged user owns), so a run is only
  checked against the block made at its own size and seed; a run of another size is refused.
- `[[plan]]` expectations, written by hand: "this query uses no Seq Scan" / "uses this index",
  each valid from `min_sessions` up, because at a few hundred rows a Seq Scan is the right plan.

Exit codes: 0 all within budget, 1 a budget or expectation broke (table printed),
2 unusable input (UserError). Benchmarks without a budget are listed, not failed: a new
workload must not turn CI red by itself, and the note says how to add it.
"""

from __future__ import annotations

import json
import os
import tempfile
import tomllib
from dataclasses import dataclass
from pathlib import Path

from bench import results
from bench.errors import UserError
from models_variants import labels

BUDGET_FORMAT = 1
DEFAULT_BUDGETS = Path(__file__).parents[1] / "budgets.toml"
_PLAN_KEYS = {"workload", "variant", "param", "seq_scan", "uses_index", "min_sessions", "max_sessions", "why"}
_COUNT_KEYS = {"workload", "param", "variant", "statements"}
_BLOCK_KEYS = {"sessions", "seed", "scale", "made_from", "server_version", "counts"}

Budget = tuple  # (workload, param, variant)


@dataclass
class Breach:
    benchmark: str
    expected: str
    measured: str
    detail: str  # "+1 statement", or the expectation's `why`


# ---------------------------------------------------------------- the budget file


def _fail(path: Path, message: str) -> UserError:
    return UserError(f"{path}: {message}", "fix the budget file, or rebuild it: sessionbench check RUN.json --update")


def read_budgets(path: Path) -> dict:
    """Parse and validate; a typo in a key would silently disable a check, so unknown keys fail."""
    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UserError(f"{path}: no such budget file",
                        "pass --budgets FILE, or create one from a run: sessionbench check RUN.json --update") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise _fail(path, f"cannot read ({exc.__class__.__name__})") from None
    except tomllib.TOMLDecodeError as exc:
        raise _fail(path, f"not TOML ({exc})") from None
    if doc.get("format") != BUDGET_FORMAT:
        raise _fail(path, f"budget format {doc.get('format')!r}, this sessionbench reads {BUDGET_FORMAT}")
    for block in doc.setdefault("statements", []):
        if set(block) - _BLOCK_KEYS or not isinstance(block.get("sessions"), int):
            raise _fail(path, f"a [[statements]] block needs `sessions` and knows only {sorted(_BLOCK_KEYS)}")
        for entry in block.setdefault("counts", []):
            if set(entry) != _COUNT_KEYS or not isinstance(entry["statements"], int):
                raise _fail(path, f"count entry {entry} needs exactly {sorted(_COUNT_KEYS)}")
    for plan in doc.setdefault("plan", []):
        if set(plan) - _PLAN_KEYS or not {"workload", "variant"} <= set(plan):
            raise _fail(path, f"[[plan]] {plan} needs workload and variant, and knows only {sorted(_PLAN_KEYS)}")
        if any(not isinstance(plan.get(key, ""), (str, list)) for key in ("variant", "param")):
            raise _fail(path, f"[[plan]] {plan}: variant and param are a string or a list of strings")
        if "seq_scan" not in plan and "uses_index" not in plan:
            raise _fail(path, f"[[plan]] {plan} expects nothing: give seq_scan and/or uses_index")
    return doc


def _toml(value) -> str:
    if isinstance(value, list):
        return "[" + ", ".join(_toml(item) for item in value) + "]"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    return json.dumps(str(value))  # a JSON string literal is a valid TOML basic string


def render_budgets(doc: dict) -> str:
    lines = ["# Statement budgets and plan expectations for `sessionbench check` (see bench/gate/check.py).",
             "# [[statements]] is written by `sessionbench check RUN.json --update`: exact client statement",
             "# counts at one data size and seed. [[plan]] is written by hand: each expectation holds from",
             "# `min_sessions` up; `why` is printed when it breaks.", "", f"format = {BUDGET_FORMAT}"]
    for block in sorted(doc["statements"], key=lambda b: (b["sessions"], b.get("seed", 0))):
        lines += ["", "[[statements]]"]
        lines += [f"{key} = {_toml(block[key])}" for key in ("sessions", "seed", "scale", "made_from",
                                                               "server_version") if block.get(key) is not None]
        lines.append("counts = [")
        for entry in sorted(block["counts"], key=lambda e: (e["workload"], e["variant"], e["param"])):
            cells = ", ".join(f"{key} = {_toml(entry[key])}" for key in ("workload", "param", "variant", "statements"))
            lines.append(f"  {{ {cells} }},")
        lines.append("]")
    for plan in doc["plan"]:
        lines += ["", "[[plan]]"]
        lines += [f"{key} = {_toml(plan[key])}" for key in ("workload", "param", "variant", "seq_scan", "uses_index",
                                                             "min_sessions", "max_sessions", "why") if key in plan]
    return "\n".join(lines) + "\n"


def write_budgets(doc: dict, path: Path) -> None:
    """Atomically: a reader (or a crash) never sees half a budget file."""
    text = render_budgets(doc)
    tomllib.loads(text)  # never write a file this module cannot read back
    try:
        handle, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as exc:
        raise UserError(f"cannot write {path}: {exc.strerror}", "pass a writable --budgets path") from None
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(text)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temp, path)
    except OSError as exc:  # a full disk: the old budgets stay as they were, whole
        raise UserError(f"cannot write {path}: {exc.strerror or exc}; it was left as it was",
                        "free space there, or pass a writable --budgets path") from None
    finally:
        Path(temp).unlink(missing_ok=True)


# ---------------------------------------------------------------- the run


def _label(info: dict, with_data: bool = False) -> str:
    return results.label_of(tuple(info.get(k) for k in results.KEY), with_data=with_data)


def _rows_at(doc: dict, sessions: int) -> list[dict]:
    """The rows measured on `sessions` sessions: budgets are per data size (a sweep's other sizes are not gated)."""
    # Load rows (--clients) have no statement count of their own: one window of many clients' requests.
    return [info for info in results.rows(doc) if info.get("sessions") in (None, sessions) and not results.under_load(info)]


def _budget_key(info: dict) -> Budget:
    # Counts are client-side facts of the ORM: the same for every image and added round trip.
    return (info.get("workload"), info.get("param") or "", info.get("variant") or labels.BASELINE)


def _run_size(doc: dict) -> tuple[int, int | None]:
    meta = results.run_info(doc)
    sessions = meta.get("sessions") or (meta.get("data") or {}).get("sessions")
    if not isinstance(sessions, int):
        raise UserError("the results file does not say how many sessions it ran on", "re-run the benchmarks")
    return sessions, meta.get("seed")


def _find_block(budgets: dict, sessions: int, seed, path: Path) -> dict:
    for block in budgets["statements"]:
        if block["sessions"] == sessions and block.get("seed") == seed:
            return block
    made = ", ".join(f"{b['sessions']} sessions seed {b.get('seed')}" for b in budgets["statements"]) or "none"
    raise UserError(f"{path} has no statement budgets for {sessions} sessions, seed {seed} (it has: {made})",
                    "run at the budgets' size (--scale small, default seed), or add this size with --update")


def check_statements(doc: dict, block: dict) -> tuple[list[Breach], list[str], list[str], list[str]]:
    """(over budget, without a budget, under budget, budgeted but absent from the run)."""
    budget = {(e["workload"], e["param"], e["variant"]): e["statements"] for e in block["counts"]}
    table = _rows_at(doc, block["sessions"])
    absent = set(budget) - {_budget_key(info) for info in table}
    over, missing, under = [], [], []
    for info in table:
        allowed, measured = budget.get(_budget_key(info)), info.get("statements")
        if allowed is None:
            missing.append(_label(info))
        elif not isinstance(measured, int):
            over.append(Breach(_label(info), str(allowed), "?", "no count in the run"))
        elif measured > allowed:
            extra = measured - allowed
            over.append(Breach(_label(info), str(allowed), str(measured), f"+{extra} statement{'s' * (extra > 1)}"))
        elif measured < allowed:
            under.append(f"{_label(info)}: {allowed} -> {measured}")
    return over, missing, under, sorted(" ".join(filter(None, [w, p, f"[{v}]"])) for w, p, v in absent)


def _describe(plan: dict) -> str:
    wanted = [] if "seq_scan" not in plan else ["Seq Scan" if plan["seq_scan"] else "no Seq Scan"]
    wanted += [f"uses {plan['uses_index']}"] if plan.get("uses_index") else []
    return ", ".join(wanted) + f" (from {plan.get('min_sessions', 0)} sessions)"


def _matches(value: str, wanted: str | list | None) -> bool:
    """An expectation names one variant or param, a list of them, or (param omitted) every one."""
    return wanted is None or value == wanted or (isinstance(wanted, list) and value in wanted)


def check_plans(doc: dict, plans: list[dict]) -> tuple[list[Breach], int]:
    """(broken expectations, how many expectations applied to this run)."""
    run_sessions, _ = _run_size(doc)
    broken, applied = [], 0
    for plan in plans:
        matched = False
        for info in results.rows(doc):
            sessions = info.get("sessions") or run_sessions  # each row against its own data size
            if not plan.get("min_sessions", 0) <= sessions <= plan.get("max_sessions", sessions):
                continue
            workload, param, variant = _budget_key(info)
            if workload != plan["workload"] or not _matches(variant, plan["variant"]) or not _matches(
                    param, plan.get("param")):
                continue
            matched = True
            indexes = info.get("indexes_used") or []
            actual = "no plan captured" if info.get("seq_scan") is None else (
                f"{'Seq Scan' if info['seq_scan'] else 'no Seq Scan'}, top {info.get('plan_top')}, "
                f"indexes {', '.join(indexes) or 'none'}")
            ok = info.get("seq_scan") is not None and plan.get("seq_scan", info["seq_scan"]) == info["seq_scan"]
            ok = ok and plan.get("uses_index", indexes[0] if indexes else None) in indexes
            if not ok:
                broken.append(Breach(_label(info, with_data=True), _describe(plan), actual, plan.get("why", "")))
        applied += matched
    return broken, applied


# ---------------------------------------------------------------- output


def _table(header: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(row[c]) for row in [header, *rows]) for c in range(len(header))]
    return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in [header, *rows])


def _update(doc: dict, budgets: dict, path: Path) -> int:
    sessions, seed = _run_size(doc)
    meta = results.run_info(doc)
    counts: dict[Budget, int] = {}
    for info in _rows_at(doc, sessions):
        key, measured = _budget_key(info), info.get("statements")
        if not isinstance(measured, int):
            raise UserError(f"{_label(info)} has no statement count", "re-run the benchmarks before --update")
        if counts.setdefault(key, measured) != measured:
            raise UserError(f"{_label(info)}: statement counts differ across images or round trips",
                            "a count must be the same for every server; investigate before --update")
    block = next((b for b in budgets["statements"] if b["sessions"] == sessions and b.get("seed") == seed), None)
    if block is None:
        block = {"sessions": sessions, "seed": seed, "counts": []}
        budgets["statements"].append(block)
    old = {(e["workload"], e["param"], e["variant"]): e["statements"] for e in block["counts"]}
    block.update(scale=meta.get("scale"), made_from=meta.get("run_id"), server_version=meta.get("server_version"))
    block["counts"] = [{"workload": w, "param": p, "variant": v, "statements": n}
                       for (w, p, v), n in {**old, **counts}.items()]
    write_budgets(budgets, path)
    changed = [f"  {' '.join(filter(None, [w, p]))} [{v}]: "
               + (f"{old[(w, p, v)]} -> {n}" if (w, p, v) in old else f"new, {n}")
               for (w, p, v), n in sorted(counts.items()) if old.get((w, p, v)) != n]
    print(f"updated {path} ({sessions} sessions, seed {seed}) from run {meta.get('run_id')}: "
          f"{len(changed)} changed, {len(counts) - len(changed)} unchanged, {len(set(old) - set(counts))} kept "
          "(not in this run)")
    print("\n".join(changed) if changed else "  no count changed")
    broken, _ = check_plans(doc, budgets["plan"])
    if broken:
        print(f"note: {len(broken)} hand-written plan expectation(s) do not hold on this run; edit [[plan]] by hand:")
        print(_table(["benchmark", "expected", "actual"], [[b.benchmark, b.expected, b.measured] for b in broken]))
    return 0


def _why_none_checked(doc: dict, sessions: int, without_budget: int) -> str:
    """Where a file's benchmarks went when none was checked: load rows, other data sizes, no budget."""
    table = results.rows(doc)
    load = sum(1 for info in table if results.under_load(info))
    other_size = sum(1 for info in table
                     if not results.under_load(info) and info.get("sessions") not in (None, sessions))
    reasons = [f"{load} measured under concurrent load (--clients rows carry no statement count)" if load else "",
               f"{other_size} measured on another data size than the run's {sessions} sessions" if other_size else "",
               f"{without_budget} without a statement budget (add them: --update)" if without_budget else ""]
    return f"of {len(table)} benchmark(s) " + "; ".join(filter(None, reasons))


def check(run_path, budgets=None, update: bool = False) -> int:
    """Check a results file against the budget file; see the module docstring for the exit codes."""
    doc = results.read(run_path)
    path = Path(budgets) if budgets else DEFAULT_BUDGETS
    if update:
        current = read_budgets(path) if path.exists() else {"format": BUDGET_FORMAT, "statements": [], "plan": []}
        return _update(doc, current, path)
    budget_doc = read_budgets(path)
    sessions, seed = _run_size(doc)
    over, missing, under, absent = check_statements(doc, _find_block(budget_doc, sessions, seed, path))
    broken, applied = check_plans(doc, budget_doc["plan"])
    checked = len(_rows_at(doc, sessions)) - len(missing)
    failed = results.load_failed(doc)
    empty = not doc["benchmarks"]
    nothing = checked <= 0  # every row filtered out, or none with a budget: a gate that checked nothing
    verdict = "FAILED" if over or broken or failed or empty or nothing else "ok"
    if empty:
        print(f"sessionbench check FAILED: {run_path} holds no benchmark; a run that measured nothing passes no gate")
        return 1
    if nothing:
        print(f"sessionbench check FAILED: 0 benchmarks checked, {_why_none_checked(doc, sessions, len(missing))}; "
              "a gate that checked nothing passes nothing")
    else:
        print(f"sessionbench check {verdict}: {len(over)} over statement budget, {len(broken)} plan expectation(s) "
              f"broken, {len(failed)} case(s) failed to run; {checked} benchmarks checked, {applied} plan "
              f"expectations applied ({path.name}, {sessions} sessions, seed {seed})")
    for title, header, breaches in (("statement budgets broken:", ["benchmark", "budget", "measured", "change"], over),
                                    ("plan expectations broken:", ["benchmark", "expected", "actual", "why"], broken)):
        if breaches:
            print(f"\n{title}")
            print(_table(header, [[b.benchmark, b.expected, b.measured, b.detail] for b in breaches]))
    if missing:
        print(f"\nnote: {len(missing)} benchmark(s) have no statement budget and were not checked: "
              f"{', '.join(missing)}\n  add them: sessionbench check {run_path} --update (then commit the budgets)")
        if os.environ.get("GITHUB_ACTIONS") == "true":  # an annotation on the PR, so "no budget" is seen
            print(f"::warning title=sessionbench check::{len(missing)} benchmark(s) have no statement budget")
    if under:
        print(f"\nnote: {len(under)} benchmark(s) now issue fewer statements than budgeted: {'; '.join(under)}\n"
              "  lock the gain in with --update, or a later regression back to the old count passes unseen")
    if absent and not results.run_info(doc).get("only"):
        # A full run should measure every budgeted benchmark: one missing failed, or was removed.
        print(f"\nnote: {len(absent)} budgeted benchmark(s) are not in this run (failed, or removed from the suite): "
              f"{', '.join(absent)}")
    if failed:
        print(f"\ncases that failed to run (they were not measured, so they cannot pass): {', '.join(failed)}\n"
              "  see the run's log next to its results file")
    return 1 if over or broken or failed or nothing else 0
