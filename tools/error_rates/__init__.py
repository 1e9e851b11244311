"""Measure how often the gates are wrong, at default settings: `python -m tools.error_rates`.

One measurement is a series of separate `sessionbench run`s of one commit on this machine, made
through the command exactly as a user or CI calls it, at its default settings:
  A0, A1, ...   unchanged code                -> `compare A_i A_i+1` should flag nothing (A/A)
                                                 `check A_i` should pass
  SLOW_k        SESSIONBENCH_TEST_SLOWDOWN makes a workload drawn at random 25% slower (real work
                in client and server) -> `compare A_j SLOW_k` (A_j the run just before) should
                flag every benchmark of that workload (A/B), and nothing else
  EXTRA         one extra statement per round -> `check EXTRA` should exit 1
With `--busy`, one CPU-bound process per core runs beside the whole series. The numbers, with
Clopper-Pearson upper bounds, go into docs/error-rates.md between the markers of the section
(text around them is kept); every comparison into <work>/series.json.

This module is the command line; the work is in
  runner         the runs, and `compare` and `check` on them, each through the command
  between_runs   the spread between runs that trials do not show, run effects, headline ratios' steadiness
  gate_errors    A/A and A/B counts: one file per side, several per side as CI, compare's rules varied
  injected_size  which benchmarks a slowdown spec slowed, and the size it measured
  sections       the markdown: the idle or busy section, the --analyze tables, writing a section
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
from pathlib import Path

from bench import results
from bench.measure import injected
from tools.error_rates import gate_errors, injected_size, runner, sections

DEFAULT_WORKLOADS = "dashboard,active_sync,delete_session,list_live"


def _busy(options):
    """With --busy, one CPU-bound process per core beside the runs."""
    return runner.busy(os.cpu_count() or 1) if options.busy else contextlib.nullcontext()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.error_rates", description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=31, help="unchanged runs; consecutive pairs are the A/A tests")
    parser.add_argument("--slow-runs", type=int, default=8, help="runs with one workload slowed down")
    parser.add_argument("--slowdown", type=float, default=0.25)
    parser.add_argument("--workloads", default=DEFAULT_WORKLOADS, help="the --only workload=... subset")
    parser.add_argument("--threshold", default="10%")
    parser.add_argument("--busy", action="store_true", help="one CPU-bound process per core beside the runs")
    parser.add_argument("--seed", type=int, default=1, help="seed for which workload is slowed")
    parser.add_argument("--work", default="error-rates-runs", help="folder for the runs and series.json")
    parser.add_argument("--doc", default=str(runner.ROOT / "docs" / "error-rates.md"))
    parser.add_argument("--replay", action="store_true",
                        help="compare the runs stored in --work again (after changing compare), without new runs")
    parser.add_argument("--blocks", type=int, default=0, metavar="N",
                        help="with --replay: first add N blocks of --per-side unchanged and as many slowed runs, "
                             "alternating, for the several-per-side A/B, under the same --busy condition")
    parser.add_argument("--analyze", action="store_true",
                        help="print the evidence behind compare's one-file spread between runs, its pairing and the "
                             "median ratio for the series in --work (trial spread against spread between runs, "
                             "each factor's error rates, run effects, paired against unpaired, headline windows); "
                             "no runs, no doc")
    parser.add_argument("--per-side", type=int, default=gate_errors.PER_SIDE, metavar="N",
                        help=f"runs per side of each block --blocks adds (default {gate_errors.PER_SIDE}, as the CI "
                             "workflow)")
    parser.add_argument("--parts", type=int, default=1, metavar="N",
                        help="with --blocks or --size: measure each pair as `sessionbench continuous --parts N` does, "
                             "each run in N parts alternating part by part, then merged (default 1: whole runs)")
    parser.add_argument("--size", action="store_true",
                        help="only the injected slowdown's measured size: --per-side unchanged and as many slowed "
                             "runs, alternated, then each slowed benchmark's ratio against the aim (section "
                             "size-idle or size-busy of --doc, size-parts<N>-... with --parts); runs stored in "
                             "--work are kept and finished")
    parser.add_argument("--slowed", metavar="SPEC",
                        help="with --size: the SESSIONBENCH_TEST_SLOWDOWN value (default: the first of --workloads "
                             "at --slowdown), e.g. 'dashboard[loading=selectin]=0.25'; a fraction of 0 slows "
                             "nothing: an A/A at the same schedule (section aa-...)")
    parser.add_argument("--metric", choices=tuple(results.METRICS), default="wall",
                        help="with --size: the compare --metric the sizes are read in (default wall); the runs "
                             "stored in --work are read again, none is added when they are all there")
    parser.add_argument("--injected-log", metavar="FILE",
                        help="summarise a SESSIONBENCH_TEST_SLOWDOWN_LOG file per case (no runs, no doc)")
    options = parser.parse_args(argv)
    options.argv = list(argv if argv is not None else sys.argv[1:])
    if options.injected_log:
        lines = Path(options.injected_log).read_text().splitlines()
        print(injected_size.injected_log_summary([json.loads(line) for line in lines if line.strip()]))
        return 0
    if options.parts < 1:
        parser.error("--parts needs at least 1 part")
    if options.size:
        options.slowed = options.slowed or f"{options.workloads.split(',')[0]}={options.slowdown}"
        injected.parse_targets(options.slowed)  # a misspelt spec stops here, before any run
        Path(options.work).mkdir(parents=True, exist_ok=True)
        with _busy(options):
            done = runner.measure_size(options)
        unchanged = not any(t.value and float(t.value) > 0 for t in injected.parse_targets(options.slowed))
        what = "Both sides unchanged (A/A)" if unchanged else "Injected slowdown's measured size"
        how = (f", each run in {options.parts} parts" if options.parts > 1 else "") + (
            f", compare --metric {options.metric}" if options.metric != "wall" else "")
        title = (f"{what}{how}, busy: one CPU-bound process per core beside the runs" if options.busy
                 else f"{what}{how}, idle machine")
        block = injected_size.size_report(done, options, title)
        section = "-".join(["aa" if unchanged else "size", *([f"parts{options.parts}"] if options.parts > 1 else []),
                            *([options.metric] if options.metric != "wall" else []), "busy" if options.busy else "idle"])
        sections.write_doc(Path(options.doc), section, block)
        print(block)
        return 0
    if options.blocks and not options.replay:
        parser.error("--blocks adds runs to a stored series: use it with --replay")
    if options.per_side < 1:
        parser.error("--per-side needs at least 1 run per side")
    if options.analyze:
        stored = Path(options.work) / "series.json"
        if not stored.is_file():
            parser.error(f"--analyze reads a stored series: {stored} does not exist")
        print(sections.analyze(json.loads(stored.read_text())))
        return 0
    section = "busy" if options.busy else "idle"
    Path(options.work).mkdir(parents=True, exist_ok=True)
    stored = Path(options.work) / "series.json"
    if options.replay:
        result = json.loads(stored.read_text())
        if options.blocks:
            with _busy(options):
                result = runner.blocks(result, options)
        result = runner.replay(result, options)
    else:
        with _busy(options):
            result = runner.series(options)
    stored.write_text(json.dumps(result, indent=1, default=str))
    title = "Busy: one CPU-bound process per core beside the runs" if options.busy else "Idle machine"
    block = sections.summarize(result, options, title)
    sections.write_doc(Path(options.doc), section, block)
    print(block)
    print(f"written to {options.doc} ({section} section) and {options.work}/series.json", file=sys.stderr)
    return 0
