"""`sessionbench run`: check the options, run the benchmarks under pytest, write the results file."""

from __future__ import annotations

import contextlib
import json
import os
import sys
import tempfile
from pathlib import Path

from bench import backends, interrupts, redact
from bench.plan import settings, shard
from bench.plan.cases import all_cases, apply_only, parse_only, run_rtts
from bench.measure.context import new_run_id
from bench.data.spec import data_specs
from bench.errors import UserError
from bench.results import parse, run_info, write_new
from bench.commands.progress import Progress
from bench.commands.summary import print_summary

BENCHMARKS = Path(__file__).parents[1] / "benchmarks"


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
    spec = backends.get(backend)
    if spec.check is not None:  # an unreachable or unusable server is refused before anything starts
        spec.check(backends.Opening(backend, database_url=chosen.database_url))
    chosen = settings.RunSettings({**chosen.values, "backend": backend})
    if spec.data_in_tmpdir:
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
