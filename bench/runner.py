"""`sessionbench run`: check the options, run the benchmarks under pytest, write the results file."""

from __future__ import annotations

import contextlib
import json
import sys
import tempfile
import time
from pathlib import Path

from bench import backends, interrupts, redact, settings, shard
from bench.cases import all_cases, apply_only, parse_only, run_rtts
from bench.context import new_run_id
from bench.data import data_specs
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

    def pytest_collection_finish(self, session):
        self.total = len(session.items)  # what will really run, so the counter never passes its total

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


def pytest_args(chosen: settings.RunSettings, run_id: str, partial: Path, quiet: bool) -> list[str]:
    argv = [str(BENCHMARKS / "test_workloads.py"), "-c", str(BENCHMARKS / "pytest.ini"), "--rootdir", str(BENCHMARKS),
            "-q", f"--benchmark-json={partial}", "--benchmark-quiet", "--benchmark-sort=fullname",
            "--sb-run-id", run_id, *settings.as_flags(chosen)]
    if chosen.clients:  # the load cases and C2's node-write facts run only when clients are asked for
        argv.insert(1, str(BENCHMARKS / "test_concurrency.py"))
    if not quiet:
        argv.append("--sb-progress")
    return argv


def _load_total(chosen: settings.RunSettings, only: dict) -> int:
    """Load cases (x RTTs) and node-write tables `--clients` adds; refused when --only leaves none."""
    if not chosen.clients:
        return 0
    from bench.concurrency_cases import MIXES, load_cases

    cases = load_cases(chosen.clients, only)
    if not cases:
        runs = "; ".join(f"{mix.name}: {', '.join(mix.workloads)}" for mix in MIXES)
        raise UserError("--clients: no load mix runs a workload --only keeps", f"the mixes run {runs}")
    return len(cases) * len(chosen.rtt_ms) + len({c.variant for c in cases if c.mix.axis == "sync_flag"})


def check_out_folder(out: Path) -> None:
    """Refuse an unusable results folder before any server starts."""
    try:
        out.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=out, prefix=".sessionbench-write-check-"):
            pass
    except OSError as exc:
        raise UserError(f"cannot write results to {out}: {exc.strerror or exc}",
                        "pass a writable folder with --out") from None


def keep_somewhere(doc: dict, run_id: str, failure: UserError) -> Path:
    """The measurements survive a results folder that failed at the end: written to the temp folder."""
    fallback = Path(tempfile.gettempdir())
    try:
        path = write_new(doc, fallback, f"sessionbench-{run_id}")
    except UserError:
        raise failure from None
    print(f"sessionbench: {failure.message}; the results were kept in {path}", file=sys.stderr)
    return path


def run(args) -> int:
    import pytest

    chosen = settings.resolve(vars(args))
    images = backends.resolve_image(chosen.image)
    only = parse_only(chosen.only)
    cases = shard.select(apply_only(all_cases(chosen.grid), only, images=images, rtts=run_rtts(chosen.rtt_ms, only)),
                         chosen.shard)
    data_sets = len(data_specs(chosen))
    out = Path(args.out)
    check_out_folder(out)
    backend, why = backends.choose(chosen.backend, images=images, database_url=chosen.database_url)
    if backend == "url" and not chosen.database_url:
        raise UserError("--backend url needs a database URL", "pass --database-url or set SESSIONBENCH_DATABASE_URL")
    if backend == "url":
        with backends.url_server(chosen.database_url):
            pass  # refuse an unreachable or read-only server before anything starts
    chosen = settings.RunSettings({**chosen.values, "backend": backend})
    run_id = new_run_id()
    partial = out / f".{run_id}.partial.json"
    delete_path_tables = len({c.variant for c in cases if c.workload.axis == "deletion"})
    servers = len(images) if backend == "docker" else 1
    total = (len(cases) * len(chosen.rtt_ms) + delete_path_tables) * servers * data_sets
    total += _load_total(chosen, only) * servers
    info = sys.stderr if args.print_path else sys.stdout
    sizes = f" on each of {data_sets} data sets" if data_sets > 1 else ""
    print(f"sessionbench: backend {backend} ({why}); {len(cases)} cases{sizes}, {chosen.trials} trials each; "
          f"run {run_id}", file=info, flush=True)
    progress = Progress(total, args.quiet)
    log = out / f"{run_id}.log"
    try:
        # pytest's own report goes to a log next to the results; progress and summary stay on screen.
        # Owner-only and redacted: a traceback there can show the connection string.
        with redact.open_private_log(log) as stream, contextlib.redirect_stdout(stream):
            try:
                code = pytest.main(pytest_args(chosen, run_id, partial, args.quiet), plugins=[progress])
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
    try:
        path = write_new(doc, out, run_id)
    except UserError as exc:
        path = keep_somewhere(doc, run_id, exc)
    with contextlib.redirect_stdout(info):
        print_summary(doc)
    for name, last in progress.failed:
        print(f"sessionbench: FAILED {name}: {' '.join(last)}", file=sys.stderr)
    print(f"sessionbench: {len(doc['benchmarks'])} benchmarks written to {path} (pytest's log: {log})", file=info)
    if args.print_path:
        print(path)
    if getattr(args, "report", False):
        from bench.report import report
        report([str(path)], "report")
    return 1 if progress.failed else 0
