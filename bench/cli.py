"""The `sessionbench` command: argument parsing and error reporting, nothing else.

Each subcommand hands its parsed options to the module that does the work. Settings are
resolved once: command-line flag, then SESSIONBENCH_* environment variable, then default.
"""

from __future__ import annotations

import argparse
import os
import sys
import traceback

from bench import interrupts
from bench.errors import UserError
from bench.export import FORMATS as EXPORT_FORMATS


def _version() -> str:
    """The installed distribution's version (package metadata), as `pip show sessionbench` reports it."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("sessionbench")
    except PackageNotFoundError:
        return "(not installed: run pip install .)"


def _env(name: str, default: str | None = None) -> str | None:
    return os.environ.get(f"SESSIONBENCH_{name}") or default


def _add_server_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("PostgreSQL server")
    group.add_argument("--backend", default=_env("BACKEND", "auto"),
                       help="auto | embedded | docker | url (env SESSIONBENCH_BACKEND; default auto)")
    group.add_argument("--image", action="append", default=None,
                       help="container image for --backend docker; repeat for a version matrix "
                            "(env SESSIONBENCH_PG_IMAGE; default postgres:18-alpine)")
    group.add_argument("--database-url", default=_env("DATABASE_URL"),
                       help="server for --backend url (env SESSIONBENCH_DATABASE_URL)")


def _add_data_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("data")
    group.add_argument("--scale", default=_env("SCALE", "small"),
                       help="small (1,000 sessions) | medium (100,000) | large (1,000,000)")
    group.add_argument("--sessions", type=int, default=None, help="exact number of sessions (overrides --scale)")
    group.add_argument("--seed", type=int, default=int(_env("SEED", "42")), help="data seed (default 42)")
    group.add_argument("--rtt-ms", default=_env("RTT_MS", "0"),
                       help="added network round-trip times in ms, comma separated, e.g. 0,0.5,2")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="sessionbench", description=(
        "Benchmark design variants of an AI hub's session models on real PostgreSQL."))
    parser.add_argument("--debug", action="store_true", help="show tracebacks")
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = sub.add_parser("run", help="run the benchmarks and write a results file")
    _add_server_options(run)
    _add_data_options(run)
    run.add_argument("--only", action="append", default=[], metavar="COLUMN=V1,V2",
                     help="keep only cases whose results column has one of these values (repeatable)")
    run.add_argument("--grid", choices=("axis", "full"), default="axis",
                     help="axis: each workload over the axis it exercises (default); full: every combination")
    run.add_argument("--out", default=_env("RESULTS_DIR", "results"), help="results folder (default results/)")
    run.add_argument("--max-time", type=float, default=float(_env("MAX_TIME", "0.5")),
                     help="seconds of timed rounds per benchmark after calibration (default 0.5)")
    run.add_argument("--min-rounds", type=int, default=int(_env("MIN_ROUNDS", "5")),
                     help="least timed rounds per benchmark (default 5)")
    run.add_argument("--report", action="store_true", help="render the HTML report (under report/) after the run")
    run.add_argument("--quiet", action="store_true", help="no progress, only the summary")

    trace = sub.add_parser("trace", help="run one workload once and print every SQL statement it sent")
    trace.add_argument("workload")
    trace.add_argument("--variant", default="", help="AXIS=VALUE[,AXIS=VALUE...]; other axes stay at baseline")
    trace.add_argument("--param", action="append", default=[], metavar="K=V")
    trace.add_argument("--json", action="store_true", help="print the statements as a JSON list")
    _add_server_options(trace)
    _add_data_options(trace)

    sub.add_parser("list", help="show every axis, its values, and every workload")
    doctor = sub.add_parser("doctor", help="show which PostgreSQL backends work on this machine")
    doctor.add_argument("--image", action="append", default=None)

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

    report = sub.add_parser("report", help="execute the notebooks on results files and write an HTML report")
    report.add_argument("runs", nargs="+")
    report.add_argument("--out", default="report",
                        help="parent folder; each report gets a new folder inside it (default report/)")

    check = sub.add_parser("check", help="check statement budgets and plan expectations (exit 1 on a breach)")
    check.add_argument("run")
    check.add_argument("--budgets", default=None, help="budget file (default: the committed bench/budgets.toml)")
    check.add_argument("--update", action="store_true", help="rewrite the budgets from this run")

    compare = sub.add_parser("compare", help="noise-aware latency comparison of two runs (exit 1 on a regression)")
    compare.add_argument("base")
    compare.add_argument("new")
    compare.add_argument("--threshold", default="10%")
    compare.add_argument("--format", choices=("text", "markdown", "json"), default="text")

    history = sub.add_parser("history", help="trend table and step-change chart over many runs")
    history.add_argument("runs", nargs="+")
    history.add_argument("--out", default="history", help="chart folder (default history/)")
    return parser


def _dispatch(args: argparse.Namespace) -> int:
    if args.command == "run":
        from bench.runner import run
        return run(args)
    if args.command == "trace":
        from bench.trace import trace
        return trace(args)
    if args.command == "list":
        from bench.listing import print_listing
        return print_listing()
    if args.command == "doctor":
        from bench.doctor import doctor
        return doctor(args.image)
    if args.command == "export":
        from bench.export import export
        return export(args.run, args.format, args.out)
    if args.command == "notebooks":
        from bench.notebook_files import copy_notebooks
        return copy_notebooks(args.folder)
    if args.command == "report":
        from bench.report import report
        return report(args.runs, args.out)
    if args.command == "check":
        from bench.gate import check
        return check(args.run, budgets=args.budgets, update=args.update)
    if args.command == "compare":
        from bench.compare import main_compare
        return main_compare(args.base, args.new, args.threshold, args.format)
    if args.command == "history":
        from bench.history import main_history
        return main_history(args.runs, args.out)
    raise UserError(f"unknown command {args.command!r}")


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    interrupts.install()  # SIGTERM unwinds like Ctrl-C, so every backend's cleanup runs
    try:
        return _dispatch(args)
    except UserError as exc:
        if args.debug:
            traceback.print_exc()
        print(f"sessionbench: error: {exc.message}", file=sys.stderr)
        if exc.hint:
            print(f"  try: {exc.hint}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("sessionbench: interrupted; servers and containers of this run were stopped", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
