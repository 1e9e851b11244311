"""`sessionbench run`: check the options, run the benchmarks under pytest, write the results file."""

from __future__ import annotations

import contextlib
import json
import sys
import time
from pathlib import Path

from bench import backends, interrupts
from bench.benchmarks.conftest import new_run_id
from bench.cases import all_cases, apply_only, parse_only
from bench.data import SCALES
from bench.errors import UserError
from bench.results import write_new
from bench.summary import print_summary

BENCHMARKS = Path(__file__).parent / "benchmarks"


class Progress:
    """One line per finished case, so a long run shows where it is."""

    def __init__(self, total: int, quiet: bool):
        self.total, self.done, self.quiet, self.failed = total, 0, quiet, []
        self.started = time.perf_counter()
        self.config = None
        self.interrupted = False

    def pytest_configure(self, config):
        self.config = config

    def pytest_keyboard_interrupt(self, excinfo):  # noqa: ARG002 - hook signature
        self.interrupted = True
        # A benchmark cut off before its first timed round has no statistics, and
        # pytest-benchmark would fail writing it out: it is dropped, the run is abandoned anyway.
        session = getattr(self.config, "_benchmarksession", None)
        if session is not None:
            session.benchmarks[:] = [b for b in session.benchmarks
                                     if getattr(getattr(b, "stats", None), "data", None)]

    @property
    def fatal(self) -> UserError | None:
        """A UserError raised while starting a server or loading data stops the whole run."""
        return self.config._sessionbench.get("fatal") if self.config is not None else None

    def pytest_sessionstart(self, session):
        self.session = session

    def pytest_runtest_logfinish(self, nodeid, location):  # noqa: ARG002 - hook signature
        if interrupts.received():
            # The signal's exception may have been swallowed inside a finaliser: stop here anyway.
            self.interrupted = True
            self.session.shouldstop = "interrupted"

    def pytest_runtest_logreport(self, report):
        if report.when == "call" or (report.when == "setup" and not report.passed):
            self.done += 1
            name = report.nodeid.split("[", 1)[-1].rstrip("]")
            if report.failed:
                self.failed.append((name, str(report.longrepr).strip().splitlines()[-1:]))
            if not self.quiet:
                status = "ok" if report.passed else ("skipped" if report.skipped else "FAILED")
                print(f"  [{self.done:>3}/{self.total}] {time.perf_counter() - self.started:6.1f}s  {status:<7} {name}",
                      file=sys.stderr, flush=True)


def parse_rtts(text: str) -> list[float]:
    try:
        values = [float(v) for v in str(text).split(",") if v.strip()]
    except ValueError:
        values = []
    if not values or any(v < 0 for v in values):
        raise UserError(f"--rtt-ms {text!r}: expected non-negative numbers in ms", "e.g. --rtt-ms 0,0.5,2")
    return values


def pytest_args(args, backend: str, images: list[str], run_id: str, partial: Path) -> list[str]:
    argv = [str(BENCHMARKS / "test_workloads.py"), "-c", str(BENCHMARKS / "pytest.ini"), "--rootdir", str(BENCHMARKS), "-q",
            f"--benchmark-json={partial}", f"--benchmark-max-time={args.max_time}",
            f"--benchmark-min-rounds={args.min_rounds}", "--benchmark-columns=median,iqr,rounds",
            "--benchmark-sort=fullname", "--sb-backend", backend, "--sb-scale", args.scale,
            "--sb-seed", str(args.seed), "--sb-rtt-ms", args.rtt_ms, "--sb-grid", args.grid,
            "--sb-run-id", run_id]
    if not args.quiet:
        argv.append("--sb-progress")
    if args.sessions:
        argv += ["--sb-sessions", str(args.sessions)]
    for image in images if backend == "docker" else []:
        argv += ["--sb-image", image]
    if backend == "url":
        argv += ["--sb-database-url", args.database_url]
    for item in args.only:
        argv += ["--sb-only", item]
    return argv


def run(args) -> int:
    import pytest

    if args.sessions is None and args.scale not in SCALES:
        raise UserError(f"unknown scale {args.scale!r}", f"use one of: {', '.join(SCALES)}, or --sessions N")
    if args.sessions is not None and args.sessions < 50:
        raise UserError(f"--sessions {args.sessions}: too few to measure anything", "use at least 50")
    rtts = parse_rtts(args.rtt_ms)
    images = backends.resolve_image(args.image)
    only = parse_only(args.only)
    cases = apply_only(all_cases(args.grid), only, images=images, rtts=rtts)
    backend, why = backends.choose(args.backend, images=images, database_url=args.database_url)
    if backend == "url" and not args.database_url:
        raise UserError("--backend url needs a database URL", "pass --database-url or set SESSIONBENCH_DATABASE_URL")
    if backend == "url":
        with backends.url_server(args.database_url):
            pass  # refuse an unreachable or read-only server before anything starts
    run_id = new_run_id()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    partial = out / f".{run_id}.partial.json"
    delete_path_tables = len({c.variant for c in cases if c.workload.axis == "deletion"})
    servers = len(images) if backend == "docker" else 1
    total = (len(cases) * len(rtts) + delete_path_tables) * servers
    print(f"sessionbench: backend {backend} ({why}); {total} cases; run {run_id}", flush=True)
    progress = Progress(total, args.quiet)
    log = out / f"{run_id}.log"
    try:
        # pytest's own report goes to a log next to the results; progress and summary stay on screen.
        with open(log, "w") as stream, contextlib.redirect_stdout(stream):
            try:
                code = pytest.main(pytest_args(args, backend, images, run_id, partial), plugins=[progress])
            except Exception:
                if progress.interrupted or interrupts.received():
                    raise KeyboardInterrupt from None
                raise
        if progress.fatal is not None:
            raise progress.fatal
        if code == pytest.ExitCode.INTERRUPTED or progress.interrupted or interrupts.received():
            raise KeyboardInterrupt
        if code == pytest.ExitCode.USAGE_ERROR or not partial.exists():
            raise UserError(f"the benchmarks did not run; pytest's report is in {log}", "read it, or re-run with --debug")
        doc = json.loads(partial.read_text())
    finally:
        partial.unlink(missing_ok=True)
    doc["sessionbench"]["failed"] = [name for name, _ in progress.failed]
    path = write_new(doc, out, run_id)
    print_summary(doc)
    for name, last in progress.failed:
        print(f"sessionbench: FAILED {name}: {' '.join(last)}", file=sys.stderr)
    print(f"sessionbench: {len(doc['benchmarks'])} benchmarks written to {path} (pytest's log: {log})")
    if getattr(args, "report", False):
        from bench.report import report
        report([str(path)], "report")
    return 1 if progress.failed else 0
