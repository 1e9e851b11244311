"""`sessionbench run`: check the options, run the benchmarks under pytest, write the results file."""

from __future__ import annotations

import contextlib
import json
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

from bench import backends, interrupts, redact
from bench.plan import settings, shard
from bench.plan.cases import all_cases, apply_only, parse_only, run_rtts
from bench.measure.context import new_run_id
from bench.data import data_specs
from bench.errors import UserError
from bench.results import parse, run_info, write_new
from bench.commands.summary import print_summary, short_label

BENCHMARKS = Path(__file__).parents[1] / "benchmarks"


class Progress:
    """The run's count and progress, on the real terminal whatever pytest captures.

    One unit from the first line to the last: the step, a pytest item, either a benchmark (one
    results row) or a fact table (C3's delete paths, C4's deletion facts, C6's ordering facts,
    C2's node writes). The first line is printed once collection knows the steps, then one line
    per finished step with an estimate of the time left, and lines while the source data loads.
    """

    LOAD_EVERY_S = 2.0  # at most one data-load line per this many seconds
    STILL_EVERY_S = 15.0  # a step running longer says so this often (a large data set fills each variant's tables)

    def __init__(self, quiet: bool, header: str, info_fd: int = 1):
        self.total, self.done, self.quiet, self.failed, self.skipped = 0, 0, quiet, [], []
        self.benchmarks = self.facts = 0
        self.header = header
        self.started = time.perf_counter()
        self.config = None
        self.interrupted = False
        self._labels: dict[str, str] = {}
        self._weights: dict[str, float] = {}
        self._weight_done = 0.0
        self._load_started = self._load_shown = self._load_last = None
        self._running: tuple[str, float] | None = None  # the step under way and when it started
        self._stopped = threading.Event()
        self._ticker: threading.Thread | None = None
        # Copies of the terminal's descriptors: pytest's capture and the log redirect cannot reach them.
        self.terminal = _terminal(2)
        self.info = _terminal(info_fd)

    def close(self) -> None:
        self._stopped.set()
        if self._ticker is not None:
            self._ticker.join()
        for stream in (self.terminal, self.info):
            stream.close()

    def pytest_runtest_logstart(self, nodeid, location):  # noqa: ARG002 - hook signature
        self._running = (nodeid, time.perf_counter())
        if self._ticker is None and not self.quiet:
            self._ticker = threading.Thread(target=self._still_running, name="sessionbench-progress", daemon=True)
            self._ticker.start()

    def _still_running(self) -> None:
        """A line every STILL_EVERY_S while one step lasts longer: the first step of a comparison fills and
        settles its variants' tables and measures them all side by side, which takes minutes at large scale."""
        while not self._stopped.wait(self.STILL_EVERY_S):
            running = self._running
            if running is None or time.perf_counter() - running[1] < self.STILL_EVERY_S:
                continue
            name = self._labels.get(running[0], running[0])
            self._say(self.terminal, f"  ... step {self.done + 1} of {self.total}, {name}: "
                                     f"{time.perf_counter() - running[1]:.0f} s so far (its comparison's variant "
                                     f"tables are filled and measured in this step){self._left()}")

    def pytest_configure(self, config):
        self.config = config
        if not self.quiet:  # the benchmarks' data load reports here (bench/benchmarks/conftest.py)
            config._sessionbench_load_progress = self.data_loading

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
        """What will really run, counted once: the first line's count is the counter's total and the last line's."""
        self.total = len(session.items)
        cases = {case.id: case for case in getattr(self.config, "_sessionbench", {}).get("cases", [])}
        group_seconds: dict = {}
        for case in cases.values():
            group_seconds[case.group] = group_seconds.get(case.group, 0.0) + shard.case_seconds(case)
        measured = set()
        every = [getattr(getattr(item, "callspec", None), "params", {}) for item in session.items]
        varying = [key for key in ("image", "data", "rtt_ms") if len({str(p.get(key)) for p in every}) > 1]
        for item, params in zip(session.items, every):
            case = cases.get(params.get("case"))
            # A step's name: its case (or the fact table and its variant), and where it runs when that varies.
            where = "".join(f" rtt={params[key]:g}ms" if key == "rtt_ms" else f" {params[key]}"
                            for key in varying if key in params)
            if case is not None or "load_case" in params:
                self.benchmarks += 1
                self._labels[item.nodeid] = short_label(f"{params.get('case') or params['load_case'].id}{where}")
            else:
                self.facts += 1
                variant = next((v for k, v in params.items() if k.endswith("_variant")), None)
                label = getattr(variant, "label", None) or item.nodeid.split("[", 1)[-1].rstrip("]")
                self._labels[item.nodeid] = f"{item.originalname.removeprefix('test_')} {label}{where}"
            # Expected seconds, for the estimate of what remains: a comparison group is measured whole
            # by its first case (bench/measure/trials.py), so that step carries the group's time and the rest none.
            weight = shard.DEFAULT_CASE_SECONDS
            if case is not None:
                key = (params.get("image"), params.get("data"), params.get("rtt_ms"), case.group)
                weight = 0.0 if key in measured else group_seconds[case.group]
                measured.add(key)
            self._weights[item.nodeid] = weight
        self._say(self.info, f"{self.header}; {self.total} steps: {self.benchmarks} benchmarks and "
                             f"{self.facts} fact tables")

    def pytest_runtest_logfinish(self, nodeid, location):  # noqa: ARG002 - hook signature
        self._running = None
        if interrupts.received():
            # The signal's exception may have been swallowed inside a finaliser: stop here anyway.
            self.interrupted = True
            self.session.shouldstop = "interrupted"

    def pytest_runtest_logreport(self, report):
        if not (report.when == "call" or (report.when == "setup" and not report.passed)):
            return
        self.done += 1
        self._weight_done += self._weights.get(report.nodeid, 0.0)
        name = self._labels.get(report.nodeid) or report.nodeid.split("[", 1)[-1].rstrip("]")
        status, why = "ok", ""
        if report.failed:
            status = "FAILED"
            self.failed.append((name, str(report.longrepr).strip().splitlines()[-1:]))
        elif report.skipped:
            status = "skipped"
            why = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
            why = f" ({why.removeprefix('Skipped: ')})"
            self.skipped.append(name)
        if not self.quiet:
            elapsed = time.perf_counter() - self.started
            self._say(self.terminal, f"  [{self.done:>3}/{self.total}] {elapsed:6.1f}s  {status:<7} {name}{why}"
                                     f"{self._left()}")

    def _left(self) -> str:
        """'  (about 1 min 20 s left)': the expected seconds still to run, scaled by how this run has gone."""
        remaining = sum(self._weights.values()) - self._weight_done
        if self._weight_done <= 0 or self.done >= self.total:
            return ""
        seconds = remaining * (time.perf_counter() - self.started) / self._weight_done
        return f"  (about {_duration(seconds)} left)" if seconds >= 1 else "  (under 1 s left)"

    def data_loading(self, rows_done: int, rows_total: int) -> None:
        """The source data's COPY, as rows arrive (called from the loader's threads)."""
        now = time.perf_counter()
        if self._load_started is None or rows_done < (self._load_last or 0):
            self._load_started, self._load_shown = now, now  # a new data set
        self._load_last = rows_done
        if rows_done < rows_total and now - self._load_shown < self.LOAD_EVERY_S:
            return
        self._load_shown = now
        elapsed = now - self._load_started
        left = (f", about {_duration(elapsed * (rows_total - rows_done) / rows_done)} left"
                if 0 < rows_done < rows_total else "")
        self._say(self.terminal, f"  loading data: {rows_done / max(rows_total, 1):4.0%} of {rows_total:,} rows, "
                                 f"{elapsed:.0f} s{left}")

    _saying = threading.Lock()  # the loader's threads and the ticker write too: whole lines only

    def _say(self, stream, line: str) -> None:
        with self._saying:
            stream.write(line + "\n")
            stream.flush()


def _terminal(fd: int):
    """A line-buffered, redacted text stream on a copy of the descriptor `fd` as it is now."""
    return redact.RedactingStream(os.fdopen(os.dup(fd), "w", buffering=1, errors="replace"), owns=True)


def _duration(seconds: float) -> str:
    """12 s, 3 min 5 s, 1 h 2 min."""
    seconds = max(0, round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60} min"


def pytest_args(chosen: settings.RunSettings, partial: Path) -> list[str]:
    """pytest's arguments for the benchmarks; the run's settings go as a plugin (`settings.RunPlan`), not as text."""
    argv = [str(BENCHMARKS / "test_workloads.py"), "-c", str(BENCHMARKS / "pytest.ini"), "--rootdir", str(BENCHMARKS),
            "-q", f"--benchmark-json={partial}", "--benchmark-quiet", "--benchmark-sort=fullname"]
    if chosen.clients:  # the load cases and C2's node-write facts run only when clients are asked for
        argv.insert(1, str(BENCHMARKS / "test_concurrency.py"))
    return argv


def _load_total(chosen: settings.RunSettings, only: dict) -> int:
    """Load cases (x RTTs) and node-write tables `--clients` adds; refused when --only leaves none."""
    if not chosen.clients:
        return 0
    from bench.load.cases import MIXES, load_cases

    cases = load_cases(chosen.clients, only)
    if not cases:
        runs = "; ".join(f"{mix.name}: {', '.join(mix.workloads)}" for mix in MIXES)
        raise UserError("--clients: no load mix runs a workload --only keeps", f"the mixes run {runs}")
    return len(cases) * len(chosen.rtt_ms) + len({c.variant for c in cases if c.mix.axis == "sync_flag"})


# What a run needs on disk, from its plan. Results: a benchmark row takes about 8 kB in the file
# (a dashboard run: 156 kB for 19 rows), held twice at the end (pytest's part and the final file).
RESULT_BYTES_PER_ROW = 16_000
# The embedded server: a new data folder takes 39 MiB, its first WAL segment 16 MiB more; the data
# (settings.BYTES_PER_SESSION a session) is held twice, as the source and as a variant's copy of it.
SERVER_BASE_BYTES = 56 * 2**20


def check_out_folder(out: Path, needed: int = 0) -> None:
    """Refuse an unusable results folder, or one without room for the run's results, before any server starts."""
    check_room(out, needed, "the results", "free space there, or pass another folder with --out")
    try:
        out.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=out, prefix=".sessionbench-write-check-"):
            pass
    except OSError as exc:
        raise UserError(f"cannot write results to {out}: {exc.strerror or exc}",
                        "pass a writable folder with --out") from None


def check_room(folder: Path, needed: int, what: str, hint: str) -> None:
    """Refuse a run whose `what` would not fit in `folder`'s free space."""
    free = _free_bytes(folder)
    if free is not None and free < needed:
        raise UserError(f"not enough free space for {what} in {folder}: the run needs about {_size(needed)}, "
                        f"{_size(free)} is free", hint)


def _free_bytes(folder: Path) -> int | None:
    """The free space where `folder` would be; None when that cannot be told (a folder this user
    cannot enter, a filesystem without blocks such as /proc): the write check then says why."""
    try:
        while not folder.exists() and folder != folder.parent:
            folder = folder.parent
        found = os.statvfs(folder)
    except OSError:
        return None
    if found.f_blocks == 0:
        return None
    return found.f_bavail * found.f_frsize


def _size(count: float) -> str:
    for unit in ("bytes", "KiB", "MiB", "GiB"):
        if count < 1024 or unit == "GiB":
            return f"{count:.0f} {unit}" if unit == "bytes" else f"{count:.1f} {unit}"
        count /= 1024
    return f"{count} bytes"


def server_bytes(chosen: settings.RunSettings) -> int:
    """Disk the embedded server needs for the run's largest data set."""
    largest = max(spec.sessions for spec in data_specs(chosen))
    return SERVER_BASE_BYTES + 2 * largest * settings.BYTES_PER_SESSION


class Measurements:
    """pytest-benchmark's document, held in memory as it is made: the results survive a results
    folder that cannot take pytest's own copy."""

    doc: dict | None = None

    def pytest_benchmark_update_json(self, config, benchmarks, output_json):  # noqa: ARG002 - hook signature
        self.doc = output_json


def kept_places() -> list[Path]:
    """Where measurements go when the results folder cannot take them, in order of preference."""
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "sessionbench" / "kept"
    return [Path(tempfile.gettempdir()), cache, Path.cwd()]


def keep_somewhere(doc: dict, run_id: str, failure: UserError, places: list[Path] | None = None) -> tuple[Path, str]:
    """The measurements survive a results folder that failed at the end: written, whole, to the first
    of `places` (kept_places) that takes them. (path, the one line that says so); when none does, the failure."""
    places = kept_places() if places is None else places
    for place in places:
        try:
            path = write_new(doc, place, f"sessionbench-{run_id}")
        except UserError:
            continue
        return path, f"sessionbench: error: {failure.message}; the measurements were kept in {path}"
    raise UserError(f"{failure.message}; nowhere else ({', '.join(map(str, places))}) took them either",
                    failure.hint) from None


@contextlib.contextmanager
def _crashes_logged(log):
    """The interpreter's own fatal error (a crash in a C extension, an abort) dumps its traceback into the
    run's log, not dozens of lines onto the terminal; the run's guardian stops its server
    (bench.backends.leftovers). Only file and function names: nothing there can hold a secret."""
    import faulthandler

    faulthandler.enable(file=log.target)
    try:
        yield
    finally:
        faulthandler.disable()


class _PartialLost(Exception):
    """pytest could not write its copy of the results after measuring everything."""


def _measured(partial: Path, measurements: Measurements) -> dict:
    """The run's document: pytest's file as it wrote it, else (it could not: no room) the one held in memory."""
    try:
        return parse(partial.read_text())
    except (OSError, ValueError):
        if measurements.doc is None:
            raise
        return parse(json.dumps(measurements.doc, default=str))  # as pytest would have written it


def run(args) -> int:
    import pytest

    chosen = settings.resolve(vars(args))
    images = backends.resolve_image(chosen.image)
    only = parse_only(chosen.only)
    cases = shard.select(apply_only(all_cases(chosen.grid), only, images=images, rtts=run_rtts(chosen.rtt_ms, only)),
                         chosen.shard)
    data_sets = len(data_specs(chosen))
    out = Path(args.out)
    check_out_folder(out, RESULT_BYTES_PER_ROW * len(cases) * len(chosen.rtt_ms) * data_sets)
    backend, why = backends.choose(chosen.backend, images=images, database_url=chosen.database_url)
    if backend == "url" and not chosen.database_url:
        raise UserError("--backend url needs a database URL", "pass --database-url or set SESSIONBENCH_DATABASE_URL")
    if backend == "url":
        with backends.url_server(chosen.database_url):
            pass  # refuse an unreachable or read-only server before anything starts
    chosen = settings.RunSettings({**chosen.values, "backend": backend})
    if backend == "embedded":
        check_room(Path(tempfile.gettempdir()), server_bytes(chosen), "the embedded server's data",
                   "free space there, point TMPDIR at a larger disk, or run fewer --sessions")
    run_id = new_run_id()
    partial = out / f".{run_id}.partial.json"
    _load_total(chosen, only)  # refuses --clients when --only leaves no load mix
    info = sys.stderr if args.print_path else sys.stdout
    sizes = f" on {data_sets} data sets" if data_sets > 1 else ""
    # The count is added once pytest has collected the steps (Progress.pytest_collection_finish).
    progress = Progress(args.quiet, f"sessionbench: backend {backend} ({why}); run {run_id}{sizes}, "
                                    f"{chosen.trials} trials per comparison", info_fd=2 if args.print_path else 1)
    log = out / f"{run_id}.log"
    measurements = Measurements()
    try:
        # pytest's own report goes to a log next to the results; progress and summary stay on screen.
        # Owner-only and redacted: a traceback there can show the connection string.
        with redact.open_private_log(log) as stream, contextlib.redirect_stdout(stream), _crashes_logged(stream):
            try:
                code = pytest.main([*pytest_args(chosen, partial), "-p", "no:faulthandler"],
                                   plugins=[progress, measurements,
                                            settings.RunPlan(chosen, run_id, progress=not args.quiet)])
            except Exception as exc:
                if progress.interrupted or interrupts.received():
                    raise KeyboardInterrupt from None
                if measurements.doc is not None:  # all measured; only pytest's copy failed (a full --out)
                    raise _PartialLost from None
                from bench.faults import known_fault
                known = known_fault(exc, "the run")  # out of memory or threads outside any case: its cause
                if known is not None:
                    raise known from None
                raise
        if progress.fatal is not None:
            raise progress.fatal
        if code == pytest.ExitCode.INTERRUPTED or progress.interrupted or interrupts.received():
            raise KeyboardInterrupt
        if code == pytest.ExitCode.USAGE_ERROR or not (partial.exists() or measurements.doc):
            raise UserError(f"the benchmarks did not run; pytest's report is in {log}", "read it, or re-run with --debug")
        doc = _measured(partial, measurements)
    except _PartialLost:
        doc = _measured(partial, measurements)
    finally:
        with contextlib.suppress(OSError):  # a folder turned read-only keeps pytest's copy; the run goes on
            partial.unlink(missing_ok=True)
        progress.close()
    run_info(doc)["failed"] = [name for name, _ in progress.failed]
    kept = ""
    try:
        path = write_new(doc, out, run_id)
    except UserError as exc:
        path, kept = keep_somewhere(doc, run_id, exc)
    with contextlib.redirect_stdout(info):
        print_summary(doc, quiet=args.quiet)
    for name, last in progress.failed:
        print(f"sessionbench: FAILED {name}: {' '.join(last)}", file=sys.stderr)
    print(f"sessionbench: {progress.done} of {progress.total} steps run: {len(doc['benchmarks'])} benchmarks and "
          f"{progress.facts} fact tables" + (f", {len(progress.failed)} failed" if progress.failed else "")
          + (f", {len(progress.skipped)} skipped" if progress.skipped else "") + f"; pytest's log: {log}", file=info)
    print(f"results: {path}", file=info)
    if not getattr(args, "report", False):
        print(f"next: sessionbench report {path}   (verdicts and charts, one HTML page)", file=info)
    if args.print_path:
        print(path)
    if getattr(args, "report", False):
        from bench.report import report
        report([str(path)], "report")
    if kept:
        print(kept, file=sys.stderr)  # the last line: the results folder failed, the measurements are there
        return 2
    return 1 if progress.failed else 0
