"""`sessionbench continuous BASE HEAD`: the CI gate in one command, as asv's `continuous` is.

Each commit gets a git worktree and its own virtual environment, both cached by commit under the
cache folder (a second call with the same commits installs nothing). The two are measured
alternately, base, head, base, head, ... (`--runs-per-side` each), so a slow phase of the machine
falls on both sides alike. With `--parts N` each run is measured in N parts (`run --shard K/N`,
comparison groups whole), base and head alternating part by part, and each side's N parts are
merged (`sessionbench merge`, the side's own) into that run: the two sides of a comparison group
are then measured seconds apart, not a run's length. Then the head's own sessionbench judges, as
the workflow does:

1. `compare --base B1..Bn --new H1..Hn`: latency, with the pair of neighbouring runs as the unit;
2. `check` on the head's first run: exact statement counts and plan shapes against its budgets.

Exit 1 when either finds a regression, 2 when a side cannot be installed or measured or the runs
cannot be compared, else 0; with `--latency-gate advisory` compare's verdict is reported and left out
of the exit code (check always counts). One line per step on standard error; compare's and check's reports on standard
output (on standard error with --print-path, which prints only the head's first results file).

Environments: `--install shared` (default) puts only sessionbench at each commit into its
environment, over the packages of the one running this command, so the sides differ in their code
alone; `--install pinned` installs each side with its own constraints.txt, as the workflow does.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import sysconfig
import time
from pathlib import Path

from bench.plan import settings, shard
from bench.errors import UserError
from bench.results import METRICS

# The run settings passed through to each side's `sessionbench run` (each side parses them itself).
PASSED = ("backend", "image", "scale", "sessions", "syncing", "nodes_per_session", "seed", "rtt_ms",
          "only", "grid", "max_time", "min_rounds", "trials", "case_budget", "jit", "priority", "cpus")
READY = ".sessionbench-ready"


def default_cache() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "sessionbench" / "continuous"


def add_arguments(parser) -> None:
    parser.add_argument("base", metavar="BASE", help="the commit to compare against (any name git knows)")
    parser.add_argument("head", metavar="HEAD", help="the commit under test")
    parser.add_argument("--runs-per-side", type=int, default=5,
                        help="runs of each commit, alternating base and head (default 5; compare pairs them)")
    parser.add_argument("--parts", type=int, default=1, metavar="N",
                        help="measure each run in N parts (run --shard K/N), base and head alternating part by part, "
                             "then merge each side's parts: a comparison group's base and head are seconds apart "
                             "(default 1: whole runs; at most the number of comparison groups)")
    parser.add_argument("--repo", default=".", help="the git repository holding both commits (default: here)")
    parser.add_argument("--cache", default=None,
                        help=f"worktrees and environments, one per commit (default {default_cache()})")
    parser.add_argument("--install", choices=("shared", "pinned"), default="shared",
                        help="shared: only sessionbench per commit, over this environment's packages (default); "
                             "pinned: each commit with its own constraints.txt, as CI")
    parser.add_argument("--out", default="results/continuous",
                        help="results folder; base/ and head/ inside it (default results/continuous)")
    parser.add_argument("--threshold", default="10%", help="compare --threshold (default 10%%)")
    parser.add_argument("--metric", choices=tuple(METRICS), default="wall", help="compare --metric")
    parser.add_argument("--latency-gate", choices=("blocking", "advisory"), default="blocking",
                        help="advisory: a latency regression is reported, not in the exit code (check always blocks)")
    parser.add_argument("--summary", default=None, metavar="FILE",
                        help="append check's and compare's reports as markdown to FILE (e.g. $GITHUB_STEP_SUMMARY)")
    parser.add_argument("--print-path", action="store_true",
                        help="print only the head's first results file on standard output (reports go to stderr)")
    settings.add_to_argparse(parser, PASSED, "passed to each side's `sessionbench run`")


def _say(text: str) -> None:
    print(f"sessionbench continuous: {text}", file=sys.stderr, flush=True)


def _git(repo: Path, *args: str) -> str:
    done = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["git failed"])[-1]
        raise UserError(f"git {' '.join(args[:2])}: {last}", "pass a git repository with --repo and commits it holds")
    return done.stdout.strip()


def resolve_commit(repo: Path, name: str) -> str:
    if not name or name.startswith("-"):
        raise UserError(f"{name!r} is not a commit", "pass a commit, branch or tag, e.g. origin/main HEAD")
    done = subprocess.run(["git", "-C", str(repo), "rev-parse", "--verify", "--quiet", "--end-of-options",
                           f"{name}^{{commit}}"], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise UserError(f"{name!r} is not a commit of {repo}", "pass a commit, branch or tag the repository holds "
                        "(git fetch it first)")
    return done.stdout.strip()


def run_flags(args) -> list[str]:
    """The given run settings as `sessionbench run` flags (none resolved here: each side does that)."""
    argv = []
    for name in PASSED:
        value = getattr(args, name, None)
        if value is None or value == []:
            continue
        flag = settings.BY_NAME[name].flag
        argv += [item for v in value for item in (flag, str(v))] if isinstance(value, list) else [flag, str(value)]
    return argv


class Side:
    """One commit: its worktree and environment under the cache folder, made once."""

    def __init__(self, role: str, commit: str, cache: Path, install: str):
        self.role, self.commit, self.short = role, commit, commit[:10]
        self.worktree = cache / "worktrees" / commit
        key = commit if install == "pinned" else f"{commit}-{_environment_key()}"
        self.venv = cache / "venvs" / f"{key}-{install}"
        self.install = install
        self.files: list[Path] = []

    @property
    def sessionbench(self) -> str:
        return str(self.venv / "bin" / "sessionbench")

    def prepare(self, repo: Path) -> None:
        started = time.perf_counter()
        cached = []
        if (self.worktree / ".git").exists() and _git(self.worktree, "rev-parse", "HEAD") == self.commit:
            cached.append("worktree")
        else:
            shutil.rmtree(self.worktree, ignore_errors=True)
            _git(repo, "worktree", "prune")
            self.worktree.parent.mkdir(parents=True, exist_ok=True)
            _git(repo, "worktree", "add", "--detach", str(self.worktree), self.commit)
        if (self.venv / READY).is_file():
            cached.append("environment")
        else:
            self._install()
        made = "cached" if len(cached) == 2 else f"made in {time.perf_counter() - started:.0f} s"
        _say(f"{self.role} {self.short} ready ({made}: {self.worktree}, {self.venv})")

    def _install(self) -> None:
        shutil.rmtree(self.venv, ignore_errors=True)
        self.venv.parent.mkdir(parents=True, exist_ok=True)
        python = self.venv / "bin" / "python"
        if self.install == "pinned":
            steps = [[sys.executable, "-m", "venv", str(self.venv)],
                     [str(python), "-m", "pip", "install", "--quiet", str(self.worktree),
                      "-c", str(self.worktree / "constraints.txt")]]
        else:
            steps = [[sys.executable, "-m", "venv", "--without-pip", str(self.venv)]]
        for step in steps[:1]:
            _checked(step, f"could not create the {self.role}'s environment")
        if self.install == "shared":
            # This environment's packages, after the side's own: only sessionbench differs between sides.
            site = Path(subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                                       capture_output=True, text=True, check=True).stdout.strip())
            shared = dict.fromkeys(sysconfig.get_paths()[k] for k in ("purelib", "platlib"))
            (site / "sessionbench-shared.pth").write_text("".join(f"{path}\n" for path in shared))
            steps.append([sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet", "--no-deps",
                          str(self.worktree)])
        for step in steps[1:]:
            _checked(step, f"could not install {self.role} {self.short}")
        if not Path(self.sessionbench).exists():
            raise UserError(f"{self.role} {self.short} installs no `sessionbench` command",
                            "pass commits that have the sessionbench command")
        (self.venv / READY).write_text(self.commit + "\n")


def _environment_key() -> str:
    """Which environment a shared install layers over: its own path, hashed."""
    return hashlib.sha256(sys.prefix.encode()).hexdigest()[:8]


def _checked(argv: list[str], what: str) -> None:
    done = subprocess.run(argv, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        last = ((done.stderr or done.stdout).strip().splitlines() or ["no output"])[-1]
        raise UserError(f"{what}: {last}", "re-run with --debug, or try --install pinned")


def schedule(runs_per_side: int, parts: int) -> list[tuple[int, int, int]]:
    """The order of measurement, as (pair, part, side) with side 0 the base and 1 the head: pair by
    pair, part by part (0 = the whole run), base then head, so each part's two sides are neighbours."""
    return [(pair, part, side) for pair in range(runs_per_side)
            for part in (range(1, parts + 1) if parts > 1 else (0,)) for side in (0, 1)]


def _measure(side: Side, step: str, folder: Path, flags: list[str], log) -> Path:
    started = time.perf_counter()
    # In the side's worktree: pytest-benchmark records that checkout's commit in the results file.
    done = subprocess.run([side.sessionbench, "run", *flags, "--quiet", "--print-path", "--out", str(folder)],
                          cwd=side.worktree, capture_output=True, text=True, check=False)
    log.write(f"== {step}: {side.role} {side.commit}, exit {done.returncode}\n{done.stderr}\n")
    log.flush()
    path = Path(done.stdout.strip().splitlines()[-1]) if done.stdout.strip() else None
    if path is None or not path.is_file():
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise UserError(f"{step} ({side.role} {side.short}) wrote no results: {last}", f"see {log.name}")
    failed = f", {done.returncode=} (a case failed)" if done.returncode else ""
    _say(f"{step}: {side.role} {side.short} -> {path} ({time.perf_counter() - started:.0f} s{failed})")
    return path


def _merge(side: Side, parts: list[Path], folder: Path, step: str, log) -> Path:
    """A run's parts as one results file, by the side's own `sessionbench merge`."""
    done = subprocess.run([side.sessionbench, "merge", *map(str, parts), "--out", str(folder), "--print-path"],
                          cwd=side.worktree, capture_output=True, text=True, check=False)
    log.write(f"== {step}, merged: {side.role} {side.commit}, exit {done.returncode}\n{done.stderr}\n")
    log.flush()
    path = Path(done.stdout.strip().splitlines()[-1]) if done.returncode == 0 and done.stdout.strip() else None
    if path is None or not path.is_file():
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise UserError(f"{step}: the {side.role}'s parts could not be merged: {last}", f"see {log.name}")
    _say(f"{step}: {side.role} {side.short}, {len(parts)} parts merged -> {path}")
    return path


def measure_alternately(sides: list[Side], runs_per_side: int, parts: int, out: Path, flags: list[str], log) -> None:
    """Every run of both sides in `schedule` order; each side's files in `Side.files`, pair by pair."""
    pending: dict[int, list[Path]] = {0: [], 1: []}
    for pair, part, index in schedule(runs_per_side, parts):
        side = sides[index]
        step = f"run {pair + 1}/{runs_per_side}" + (f", part {part}/{parts}" if part else "")
        if not part:
            side.files.append(_measure(side, step, out / side.role, flags, log))
            continue
        pending[index].append(_measure(side, step, out / "parts" / side.role, [*flags, "--shard", f"{part}/{parts}"],
                                       log))
        if part == parts and index == len(sides) - 1:  # the pair's last part measured: merge both sides' parts
            for number, each in enumerate(sides):
                each.files.append(_merge(each, pending[number], out / each.role, f"run {pair + 1}/{runs_per_side}", log))
                pending[number] = []


def _report(argv: list[str], cwd: Path, title: str, args, stream) -> int:
    done = subprocess.run(argv, capture_output=True, text=True, cwd=cwd, check=False)
    print(done.stdout, end="", file=stream, flush=True)
    if done.stderr.strip():
        print(done.stderr, end="", file=sys.stderr, flush=True)
    if args.summary:
        with open(args.summary, "a") as summary:
            fenced = argv[1] == "check"
            summary.write(f"### {title}\n" + ("```\n" if fenced else "") + done.stdout
                          + ("```\n" if fenced else "") + "\n")
    return done.returncode


def continuous(args) -> int:
    if not 1 <= args.runs_per_side <= 100:
        raise UserError(f"--runs-per-side: {args.runs_per_side} is outside 1..100",
                        "5 per side pairs each run with its neighbour (docs/error-rates.md)")
    if not 1 <= args.parts <= shard.MAX_SHARDS:
        raise UserError(f"--parts: {args.parts} is outside 1..{shard.MAX_SHARDS}",
                        "1 measures whole runs; N up to the number of comparison groups cuts each run in N parts")
    flags = run_flags(args)
    for name in PASSED:  # refuse a bad value here, not after two installs
        if getattr(args, name, None) not in (None, []):
            settings.parse_value(settings.BY_NAME[name], getattr(args, name), f"{settings.BY_NAME[name].flag}:")
    repo = Path(_git(Path(args.repo), "rev-parse", "--show-toplevel"))
    base, head = resolve_commit(repo, args.base), resolve_commit(repo, args.head)
    cache = Path(args.cache) if args.cache else default_cache()
    out = Path(args.out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    sides = [Side("base", base, cache.resolve(), args.install), Side("head", head, cache.resolve(), args.install)]
    cut = f", each in {args.parts} parts alternating part by part" if args.parts > 1 else ", alternating"
    _say(f"base {base[:10]} against head {head[:10]}, {args.runs_per_side} runs each{cut}; "
         f"log in {out / 'continuous.log'}")
    for side in sides:
        side.prepare(repo)
    with open(out / "continuous.log", "a") as log:
        measure_alternately(sides, args.runs_per_side, args.parts, out, flags, log)
    base_side, head_side = sides
    stream = sys.stderr if args.print_path else sys.stdout
    fmt = ["--format", "markdown"] if args.summary else []
    _say("compare, base against head (the pair of runs as the unit)")
    compared = _report([head_side.sessionbench, "compare", "--base", *map(str, base_side.files),
                        "--new", *map(str, head_side.files), "--threshold", args.threshold, "--metric", args.metric,
                        *fmt], head_side.worktree, "Latency, base against head (measured alternately)", args, stream)
    _say(f"check on the head's first run ({head_side.files[0].name})")
    checked = _report([head_side.sessionbench, "check", str(head_side.files[0])], head_side.worktree,
                      "Statement budgets and plan expectations", args, stream)
    latency = compared
    if compared and args.latency_gate == "advisory":  # a regression, or sides that could not be compared
        _say(f"compare exit {compared} reported, not blocking (--latency-gate advisory)")
        latency = 0
    _say(f"compare exit {compared}, check exit {checked}")
    if args.print_path:
        print(head_side.files[0])
    codes = {latency, checked}
    return 1 if 1 in codes else 2 if codes - {0} else 0
