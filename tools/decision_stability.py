"""Does the same code give the same advice? `python -m tools.decision_stability --work DIR`.

Makes separate default runs (`sessionbench run`, as a user makes them): --idle of them, then --busy
with one CPU-bound process per core beside them; then --flip dashboard runs alternated with as many
with a 25% slowdown injected into the variant C1's rule prefers (`--slowed`). Each run is judged on
its own (`bench.verdicts.decision.decision`, what `sessionbench verdicts --format json` prints), the
idle and the busy ones are also pooled, and per claim the verdict, recommended variant, ties and
action are compared across them. Writes `DIR/decision-stability.csv` (one row per run and claim) and
prints the Markdown tables docs/decision-stability.md holds. `--judge` judges the runs stored in DIR
again without new runs (after changing a rule).
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
import time
from pathlib import Path

from tools.error_rates.runner import busy, sessionbench

SLOWED = "dashboard[loading=raise]=0.25"
CLAIMS = ("C1", "C2", "C3", "C4", "C5", "C6")


def _run(out: Path, *args: str, env: dict | None = None) -> None:
    started, load = time.perf_counter(), os.getloadavg()[0]
    done = sessionbench("run", "--backend", "embedded", "--out", str(out), "--quiet", *args, env=env)
    if done.returncode != 0:
        raise SystemExit(f"run into {out} failed (exit {done.returncode}): {done.stderr.strip().splitlines()[-1:]}")
    print(f"  {out.name}: {time.perf_counter() - started:.0f} s, load average {load:.2f} -> "
          f"{os.getloadavg()[0]:.2f}", file=sys.stderr, flush=True)


def measure(work: Path, idle: int, loaded: int, flip: int, slowed: str) -> None:
    for _ in range(idle):
        _run(work / "idle")
    if loaded:
        with busy(os.cpu_count() or 1):
            for _ in range(loaded):
                _run(work / "busy")
    for _ in range(flip):
        _run(work / "flip-base", "--only", "workload=dashboard")
        _run(work / "flip-slow", "--only", "workload=dashboard", env={"SESSIONBENCH_TEST_SLOWDOWN": slowed})


def _answers(found: dict) -> dict[str, tuple]:
    return {c["claim"]: (c["verdict"], tuple(c["recommended"]), tuple(c["tied_with"]), c["action"])
            for c in found["claims"]}


def judge(work: Path) -> str:
    from bench.analysis.tables import lead
    from bench.results import load
    from bench.verdicts.decision import decision

    rows, lines = [], []
    judged: dict[str, dict[str, tuple]] = {}
    for machine in ("idle", "busy"):
        files = sorted(str(p) for p in (work / machine).glob("*.json"))
        for path in files + ([None] if len(files) > 1 else []):
            name = f"{machine}/{Path(path).stem if path else 'pooled'}"
            answers = _answers(decision([path] if path else files))
            judged[name] = answers
            rows += [{"run": name, "claim": claim, "verdict": a[0], "recommended": " ".join(a[1]),
                      "tied_with": " ".join(a[2]), "action": a[3]} for claim, a in answers.items()]
    if judged:
        lines += [f"{len(judged)} decisions: " + ", ".join(judged), "",
                  "| claim | verdict, recommended, ties, action: the same in all? | answers |", "|---|---|---|"]
        for claim in CLAIMS:
            seen: dict[tuple, list[str]] = {}
            for name, answers in judged.items():
                seen.setdefault(answers[claim], []).append(name)
            said = "; ".join(f"{a[0]}, {' '.join(a[1]) or '-'} (tied: {' '.join(a[2]) or 'none'}), {a[3]}"
                             + (f" in {len(names)}" if len(seen) > 1 else "") for a, names in seen.items())
            lines.append(f"| {claim} | {'yes' if len(seen) == 1 else 'no'} | {said} |")
    for arm in ("flip-base", "flip-slow"):
        files = sorted(str(p) for p in (work / arm).glob("*.json"))
        if not files:
            continue
        if arm == "flip-base":
            lines += ["", "| runs | raise ÷ skills_sel at page size 1000 | C1 recommends | decided by |",
                      "|---|---|---|---|"]
        for group in [[f] for f in files] + ([files] if len(files) > 1 else []):
            found = next(c for c in decision(group)["claims"] if c["claim"] == "C1")
            ratio = lead(load(group), "dashboard", "loading=raise", "loading=skills_sel", "page_size=1000")
            tie = f" (a tie with {' '.join(found['tied_with'])})" if found["tie"] else ""
            lines.append(f"| {arm.removeprefix('flip-')} {'pooled' if len(group) > 1 else Path(group[0]).stem} | "
                         f"{ratio.text() if ratio else 'n/a'} | {' '.join(found['recommended'])}{tie} | "
                         f"{found['decided_by']} |")
    if rows:
        with open(work / "decision-stability.csv", "w", newline="") as out:
            writer = csv.DictWriter(out, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.decision_stability", description=__doc__.split("\n\n")[0])
    parser.add_argument("--work", required=True, help="folder for the runs (idle/, busy/, flip-base/, flip-slow/)")
    parser.add_argument("--idle", type=int, default=5, help="default runs on the machine as it is")
    parser.add_argument("--busy", type=int, default=3, help="default runs with one busy process per core beside")
    parser.add_argument("--flip", type=int, default=3, help="dashboard runs per arm, unchanged and slowed, alternated")
    parser.add_argument("--slowed", default=SLOWED, help=f"the injected slowdown (default {SLOWED})")
    parser.add_argument("--judge", action="store_true", help="judge the runs stored in --work again, no new runs")
    options = parser.parse_args()
    work = Path(options.work)
    if not options.judge:
        if work.exists() and any(work.iterdir()):
            parser.error(f"{work} is not empty: give a new folder, or --judge to judge its runs again")
        measure(work, options.idle, options.busy, options.flip, options.slowed)
    print(judge(work))
    print(f"per run and claim: {work / 'decision-stability.csv'}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
