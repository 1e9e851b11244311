"""The `sessionbench` command: argument parsing and error reporting, nothing else.

Each subcommand hands its parsed options to the module that does the work. Settings are
resolved once: command-line flag, then SESSIONBENCH_* environment variable, then default.
"""

from __future__ import annotations

import argparse
import os
import sys
import traceback

from bench import interrupts, redact
from bench.plan import settings
from bench.analysis.pooling import POOLED
from bench.errors import UserError
from bench.results import METRICS
from bench.results.export import FORMATS as EXPORT_FORMATS


def _version() -> str:
    """The installed distribution's version (package metadata), as `pip show sessionbench` reports it."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("sessionbench")
    except PackageNotFoundError:
        return "(not installed: run pip install .)"


SERVER = ("backend", "image", "database_url")
LOAD = ("clients", "pool_size", "load_workers", "load_seconds")
DATA = ("scale", "sessions", "syncing", "nodes_per_session", "seed", "rtt_ms")
MEASURING = ("only", "grid", "max_time", "min_rounds", "trials", "case_budget", "jit", "priority", "cpus")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="sessionbench", description=(
        "Benchmark design variants of an AI hub's session models on real PostgreSQL."))
    parser.add_argument("--debug", action="store_true", help="show tracebacks")
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND",
                                help="`sessionbench COMMAND --help` explains each")

    run = sub.add_parser("run", help="run the benchmarks and write a results file")
    settings.add_to_argparse(run, SERVER, "PostgreSQL server")
    settings.add_to_argparse(run, DATA, "data")
    settings.add_to_argparse(run, MEASURING, "what to measure and how long")
    settings.add_to_argparse(run, LOAD, "concurrent load (only with --clients)")
    run.add_argument("--out", default=settings.environment("SESSIONBENCH_RESULTS_DIR") or "results",
                     help="results folder (env SESSIONBENCH_RESULTS_DIR; default results/)")
    run.add_argument("--report", action="store_true", help="render the HTML report (under report/) after the run")
    run.add_argument("--quiet", action="store_true",
                     help="no progress and no table: the headline facts, the results file and what to run next")
    run.add_argument("--print-path", action="store_true",
                     help="print only the results file's path on standard output (for scripts)")
    settings.add_to_argparse(run, ("shard",), "several machines (join the parts with `sessionbench merge`)")

    trace = sub.add_parser("trace", help="run one workload once and print every SQL statement it sent")
    trace.add_argument("workload", help="a workload name (`sessionbench list` shows them)")
    trace.add_argument("--variant", default="", help="AXIS=VALUE[,AXIS=VALUE...]; other axes stay at baseline")
    trace.add_argument("--param", action="append", default=[], metavar="K=V",
                       help="a workload parameter, e.g. page_size=100 (default: the middle value of each)")
    trace.add_argument("--json", action="store_true", help="print the statements as a JSON list")
    settings.add_to_argparse(trace, SERVER, "PostgreSQL server")
    settings.add_to_argparse(trace, DATA, "data")

    sub.add_parser("list", help="show every axis, its values, and every workload")
    doctor = sub.add_parser("doctor", help="show which PostgreSQL backends work on this machine")
    doctor.add_argument("--image", action="append", default=None,
                        help="also try this container image with Docker; repeat for several (default: "
                             "SESSIONBENCH_PG_IMAGE, else the run's default image)")

    export = sub.add_parser("export", help="write a results file as a table (CSV, Parquet) or a tracker's JSON")
    export.add_argument("run", nargs="+", help="results file(s) from `sessionbench run` (trackers: exactly one)")
    export.add_argument("--format", choices=EXPORT_FORMATS, default="csv",
                        help="csv | parquet: one row per benchmark; bencher: Bencher Metric Format; "
                             "github-action-benchmark: its customSmallerIsBetter JSON (default csv)")
    export.add_argument("--out", default=None,
                        help="new output file, or an existing folder (default: tables next to the results file, "
                             "tracker JSON in the current folder)")

    notebooks = sub.add_parser("notebooks", help="copy the shipped notebooks into a new folder to open in Jupyter")
    notebooks.add_argument("folder", help="new or empty folder; existing files are never overwritten")

    report = sub.add_parser(
        "report", help="execute the notebooks on results files and write an HTML report",
        description="Execute the notebooks on one or more results files and write one HTML report. Several runs "
                    f"are pooled: {POOLED}. Give it three runs taken at different times to decide from it.")
    report.add_argument("runs", nargs="+", metavar="RUN.json",
                        help="results file(s) from `sessionbench run`; several are pooled into one report")
    report.add_argument("--out", default="report",
                        help="parent folder; each report gets a new folder inside it (default report/)")
    report.add_argument("--profile", default=None, metavar="FILE",
                        help="the hub's own numbers the decision on the first screen is for (as `verdicts --profile`)")
    screenshots = sub.add_parser("screenshots", help="PNG screenshots of a report's first screen and of each section "
                                                     "(headless Chromium), for the README and reviews")
    screenshots.add_argument("page", metavar="REPORT.html", help="a report.html from `sessionbench report`")
    screenshots.add_argument("--out", default=None,
                             help="a new folder for the PNG files (default: screenshots/ beside the report)")

    verdicts = sub.add_parser("verdicts", help="the decision on the review's claims: verdicts, recommended variants "
                                               "with their ties, actions (markdown or JSON)")
    verdicts.add_argument("runs", nargs="+", metavar="RUN.json", help="results file(s); several are pooled")
    verdicts.add_argument("--format", choices=("markdown", "json"), default="markdown",
                          help="markdown: a table (default) | json: the decision object, schema sessionbench-decision/1")
    verdicts.add_argument("--profile", default=None, metavar="FILE",
                          help="the hub's own numbers (TOML, format = 1, a [hub] table: bench/verdicts/profile.py); "
                               "default: every value assumed"),

    check = sub.add_parser("check", help="check statement budgets and plan expectations (exit 1 on a breach)")
    check.add_argument("run", metavar="RUN.json", help="one results file from `sessionbench run`")
    check.add_argument("--budgets", default=None, help="budget file (default: the committed bench/budgets.toml)")
    check.add_argument("--update", action="store_true", help="rewrite the budgets from this run")

    compare = sub.add_parser("compare", help="noise-aware latency comparison of runs (exit 1 on a regression)")
    compare.add_argument("files", nargs="*", metavar="BASE.json NEW.json",
                         help="one results file per side; for several per side use --base and --new")
    compare.add_argument("--base", nargs="+", default=[], metavar="RUN.json",
                         help="base side: two or more runs make the run the unit of the interval")
    compare.add_argument("--new", nargs="+", default=[], metavar="RUN.json", help="new side, as --base")
    compare.add_argument("--threshold", default="10%",
                         help="smallest change that counts as a regression or improvement (default 10%%)")
    compare.add_argument("--format", choices=("text", "markdown", "json"), default="text",
                         help="text (default) | markdown: a table for a pull-request comment | json")
    compare.add_argument("--metric", choices=tuple(METRICS), default="wall",
                         help="wall: wall time per round (default); cpu: client + server CPU per round, which "
                              "other processes barely move; unloaded: wall time less the time spent waiting for a CPU; "
                              "paced: wall time at a fixed pace of the machine (each trial over the yardstick timed "
                              "beside it, in runs that timed one)")

    from bench.gate.continuous import add_arguments as continuous_arguments
    continuous_arguments(sub.add_parser(
        "continuous", help="measure two commits alternately, then compare and check the head (the CI gate)"))

    history = sub.add_parser("history", help="trend table and step-change chart over many runs")
    history.add_argument("runs", nargs="+", metavar="RUN.json",
                         help="results files from `sessionbench run`, in any order (ordered by their dates)")
    history.add_argument("--out", default="history", help="chart folder (default history/)")

    merge = sub.add_parser("merge", help="join the results files of a run's shards (run --shard K/N) into one")
    merge.add_argument("parts", nargs="+", metavar="SHARD.json", help="every shard's results file, each once")
    merge.add_argument("--out", default="results", help="folder for the merged results file (default results/)")
    merge.add_argument("--allow-missing", action="store_true",
                       help="merge even when shards are missing (they are named in the file and a warning)")
    merge.add_argument("--print-path", action="store_true",
                       help="print only the merged file's path on standard output (for scripts)")
    for command in sub.choices.values():
        _show_choices(command)
    return parser


def _show_choices(parser: argparse.ArgumentParser) -> None:
    """`--backend {auto,embedded,docker,url}` in usage and help, read from the backends registry."""
    from bench.backends import names

    for action in parser._actions:
        if action.dest == "backend":
            action.metavar = "{" + ",".join(names()) + "}"


def _dispatch(args: argparse.Namespace) -> int:
    if args.command == "run":
        from bench.commands.runner import run
        return run(args)
    if args.command == "trace":
        from bench.commands.trace import trace
        return trace(args)
    if args.command == "list":
        from bench.commands.listing import print_listing
        return print_listing()
    if args.command == "doctor":
        from bench.commands.doctor import doctor
        return doctor(settings.resolve_one("image", args.image))
    if args.command == "export":
        from bench.results.export import export
        return export(args.run, args.format, args.out)
    if args.command == "notebooks":
        from bench.commands.notebook_files import copy_notebooks
        return copy_notebooks(args.folder)
    if args.command == "report":
        from bench.report import report
        return report(args.runs, args.out, args.profile)
    if args.command == "screenshots":
        from bench.report.browser import main_screenshots
        return main_screenshots(args.page, args.out)
    if args.command == "verdicts":
        from bench.verdicts.decision import print_decision
        return print_decision(args.runs, args.format, args.profile)
    if args.command == "check":
        from bench.gate.check import check
        return check(args.run, budgets=args.budgets, update=args.update)
    if args.command == "compare":
        from bench.gate.compare import main_compare
        base, new = args.base, args.new
        if args.files:
            if len(args.files) != 2 or base or new:
                raise UserError("compare takes BASE.json NEW.json, or --base RUN... --new RUN...",
                                "e.g. sessionbench compare --base a1.json a2.json --new b1.json b2.json")
            base, new = [args.files[0]], [args.files[1]]
        return main_compare(base, new, args.threshold, args.format, metric=args.metric)
    if args.command == "continuous":
        from bench.gate.continuous import continuous
        return continuous(args)
    if args.command == "history":
        from bench.report.history import main_history
        return main_history(args.runs, args.out)
    if args.command == "merge":
        from bench.results.merge import merge
        return merge(args.parts, args.out, allow_missing=args.allow_missing, print_path=args.print_path)
    raise UserError(f"unknown command {args.command!r}")


def main(argv: list[str] | None = None) -> int:
    try:
        with redact.redacted_output():  # no password reaches the terminal, whatever fails
            try:
                return _main(argv)
            except BrokenPipeError:  # the reader stopped early (`sessionbench list | head -1`)
                return _reader_gone()
    except BrokenPipeError:  # the same, met by the last flush
        return _reader_gone()


def _reader_gone() -> int:
    """Standard output's reader has closed the pipe: what it read is all it wanted, so exit 0 quietly.

    Python's documented way: point standard output at devnull, so the flushes still to come
    (ours and the interpreter's at exit) do not raise again.
    """
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.__stdout__.fileno())
    os.close(devnull)
    return 0


def _main(argv: list[str] | None) -> int:
    args = build_parser().parse_args(argv)
    interrupts.install()  # SIGTERM unwinds like Ctrl-C, so every backend's cleanup runs
    redact.register_url(getattr(args, "database_url", None))
    try:
        return _dispatch(args)
    except UserError as exc:
        if args.debug:
            traceback.print_exc()
        print(f"sessionbench: error: {exc.message}", file=sys.stderr)
        if exc.hint:
            print(f"  try: {exc.hint}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        raise  # main(): the reader stopped early, not a fault
    except OSError as exc:
        # A fault of the file system met where no command foresaw it (a folder this user cannot
        # enter, a disk that fills): one line naming it, not a traceback.
        if args.debug:
            traceback.print_exc()
        where = f": {exc.filename}" if exc.filename else ""
        print(f"sessionbench: error: {exc.strerror or exc}{where}", file=sys.stderr)
        print("  try: a path this user can read and write, with free space (--debug shows where it failed)",
              file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        from bench.backends.leftovers import interrupted_message
        print(interrupted_message(), file=sys.stderr)  # says "stopped" only for what was verified gone
        return interrupts.exit_code()  # 130 for SIGINT, 143 for SIGTERM


if __name__ == "__main__":
    sys.exit(main())
