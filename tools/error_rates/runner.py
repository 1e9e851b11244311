"""The runs behind the rates: separate `sessionbench run`s made through the command exactly as a user
or CI calls it, and `compare` and `check` on them, each in its own process. Nothing here analyses."""

from __future__ import annotations

import contextlib
import json
import os
import random
import subprocess
import sys
import time
from pathlib import Path

from bench.gate.continuous import schedule
from tools.error_rates.between_runs import headline_ratios, run_spread

ROOT = Path(__file__).resolve().parents[2]
METRICS = ("wall", "cpu", "unloaded")


def sessionbench(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "bench.cli", *args]
    environment = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
    return subprocess.run(command, env=environment, capture_output=True, text=True, cwd=ROOT)


def one_run(workloads: str, out: Path, env: dict | None = None, shard: str | None = None) -> Path:
    started = time.perf_counter()
    done = sessionbench("run", "--backend", "embedded", "--out", str(out), "--quiet", "--print-path",
                        "--only", f"workload={workloads}", *(("--shard", shard) if shard else ()), env=env)
    if done.returncode != 0:
        raise SystemExit(f"run into {out} failed (exit {done.returncode}):\n{done.stderr[-2000:]}")
    path = Path(done.stdout.strip().splitlines()[-1])
    print(f"  {f'{out.parent.name} part {shard}' if shard else out.name}: {time.perf_counter() - started:.0f} s",
          file=sys.stderr, flush=True)
    return path


def merge(parts: list[Path], out: Path) -> Path:
    done = sessionbench("merge", *map(str, parts), "--out", str(out), "--print-path")
    if done.returncode != 0:
        raise SystemExit(f"merge into {out} failed (exit {done.returncode}):\n{done.stderr[-2000:]}")
    return Path(done.stdout.strip().splitlines()[-1])


def alternated_pair(workloads: str, base_out: Path, new_out: Path, new_env: dict, parts: int) -> tuple[Path, Path]:
    """One pair of runs, an unchanged one into `base_out` and one with `new_env` into `new_out`, in the
    order `sessionbench continuous --parts` measures base and head (continuous.schedule): whole runs
    with parts 1, else part by part (into <out>/parts), each side's parts merged into its run."""
    made: dict[int, list[Path]] = {0: [], 1: []}
    for _, part, side in schedule(1, parts):
        out = new_out if side else base_out
        made[side].append(one_run(workloads, out / "parts" if part else out, new_env if side else None,
                                  f"{part}/{parts}" if part else None))
    if parts == 1:
        return made[0][0], made[1][0]
    return merge(made[0], base_out), merge(made[1], new_out)


def compare(base: Path, new: Path, threshold: str, metric: str = "wall") -> dict:
    """`sessionbench compare base new` as CI calls it: its exit code and the rows the rates count."""
    done = sessionbench("compare", str(base), str(new), "--threshold", threshold, "--format", "json",
                        "--metric", metric)
    if done.returncode not in (0, 1):
        raise SystemExit(f"compare {base} {new} failed:\n{done.stderr}")
    rows = json.loads(done.stdout)["rows"]
    return {"exit": done.returncode,
            "rows": [{k: row[k] for k in ("workload", "param", "variant", "ratio", "ci_low", "ci_high", "verdict",
                                          "detectable")} for row in rows]}


def check(run: Path) -> int:
    return sessionbench("check", str(run)).returncode


@contextlib.contextmanager
def busy(cores: int):
    """One CPU-bound process per core beside the measurement, stopped by pid at the end."""
    spinners = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(cores)]
    try:
        yield [p.pid for p in spinners]
    finally:
        for process in spinners:
            process.kill()
            process.wait()


def _comparisons(runs: list[Path], slow: list[dict], threshold: str) -> dict:
    """Every metric's one-file comparisons: consecutive unchanged runs (A/A), and each slowed run
    against the unchanged run just before it (A/B)."""
    return {"aa": {m: [compare(a, b, threshold, m) for a, b in zip(runs, runs[1:])] for m in METRICS},
            "ab": {m: [{**compare(runs[s["base"]], Path(s["path"]), threshold, m), "slowed": s["workload"]}
                       for s in slow] for m in METRICS}}


def series(options) -> dict:
    work = Path(options.work)
    rng = random.Random(options.seed)
    workloads = options.workloads.split(",")
    every = max(1, options.runs // max(1, options.slow_runs))
    runs, slow, started = [], [], time.perf_counter()
    for i in range(options.runs):
        runs.append(one_run(options.workloads, work / f"A{i:02d}"))
        if i % every == every - 1 and len(slow) < options.slow_runs:
            target = rng.choice(workloads)
            env = {"SESSIONBENCH_TEST_SLOWDOWN": f"{target}={options.slowdown}"}
            slow.append({"workload": target, "base": i, "path": one_run(options.workloads, work / f"SLOW{len(slow):02d}",
                                                                         env)})
    extra = one_run(options.workloads, work / "EXTRA", {"SESSIONBENCH_TEST_EXTRA_STATEMENT": workloads[0]})
    return {
        "seconds": round(time.perf_counter() - started),
        **_comparisons(runs, slow, options.threshold),
        "check_aa": [check(path) for path in runs],
        "check_extra": check(extra),
        "headlines": [headline_ratios(path) for path in runs],
        "spread": {m: run_spread(runs, m) for m in METRICS},
        "runs": [str(p) for p in runs],
        "slow": [{"workload": s["workload"], "base": s["base"], "path": str(s["path"])} for s in slow],
    }


def blocks(result: dict, options) -> dict:
    """`options.blocks` blocks of runs added to a stored series, measured as the CI workflow measures
    base and head: `--per-side` unchanged runs and as many slowed ones, alternating (A B A B ...), so
    a slow phase of the machine lasting minutes falls on both sides alike. Block j slows every workload
    but one (the j-th, which stays as a bystander), so each workload is slowed in most blocks."""
    done = list(result.get("blocks", []))
    workloads = options.workloads.split(",")
    for j in range(len(done), len(done) + options.blocks):
        bystander = workloads[j % len(workloads)]
        slowed = [w for w in workloads if w != bystander] or workloads
        spec = ",".join(f"{w}={options.slowdown}" for w in slowed)
        env = {"SESSIONBENCH_TEST_SLOWDOWN": spec}
        base, new = [], []
        for k in range(options.per_side):
            a, b = alternated_pair(options.workloads, Path(options.work) / f"BLOCK{j:02d}-A{k}",
                                   Path(options.work) / f"BLOCK{j:02d}-B{k}", env, options.parts)
            base.append(str(a))
            new.append(str(b))
        done.append({"slowed": slowed, "spec": spec, "base": base, "new": new, "parts": options.parts})
    return {**result, "blocks": done}


def replay(result: dict, options) -> dict:
    """The comparisons again, with the current compare, on the runs a series stored."""
    runs = [Path(p) for p in result["runs"]]
    extra = next((Path(options.work) / "EXTRA").glob("*.json"))
    return {**result, "check_aa": [check(path) for path in runs], "check_extra": check(extra),
            **_comparisons(runs, result["slow"], options.threshold)}


def measure_size(options) -> dict:
    """`--per-side` unchanged and as many slowed runs, alternated as CI runs base and head, with
    SESSIONBENCH_TEST_SLOWDOWN=`options.slowed` (stored in <work>/size.json; runs already stored are
    kept, so a series can be finished later)."""
    stored = Path(options.work) / "size.json"
    done = (json.loads(stored.read_text()) if stored.is_file()
            else {"spec": options.slowed, "parts": options.parts, "base": [], "new": []})
    if done["spec"] != options.slowed or done.get("parts", 1) != options.parts:
        raise SystemExit(f"{stored} holds runs slowed by {done['spec']!r} in {done.get('parts', 1)} part(s), not "
                         f"{options.slowed!r} in {options.parts}: use another --work")
    for k in range(min(len(done["base"]), len(done["new"])), options.per_side):
        log = Path(options.work) / f"SIZE-B{k}.log"  # each slowed round's own part and work (injected_size)
        a, b = alternated_pair(options.workloads, Path(options.work) / f"SIZE-A{k}", Path(options.work) / f"SIZE-B{k}",
                               {"SESSIONBENCH_TEST_SLOWDOWN": options.slowed, "SESSIONBENCH_TEST_SLOWDOWN_LOG": str(log)},
                               options.parts)
        done["base"][k:], done["new"][k:] = [str(a)], [str(b)]
        done.setdefault("logs", [])[k:] = [str(log)]
        stored.write_text(json.dumps(done, indent=1))
    return done
