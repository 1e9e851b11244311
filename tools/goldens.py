"""Golden files: today's output of every analysis command on the committed results files.

    python tools/goldens.py                 # regenerate every golden (the trace one starts a server)
    python tools/goldens.py --no-db         # every golden that needs no server
    python tools/goldens.py --only-db       # only the trace golden
    python tools/goldens.py --emit OUT.json # write {golden path: output} to OUT.json, touch nothing
                                            # (tests/test_goldens.py compares that with the goldens)

Fixtures are tests/golden/runs/*.json (tests/golden/README.md says how each was made); outputs go to
tests/golden/out/<fixture>/<name>. A restructure changes no golden; a behaviour change regenerates
them in the same commit, with the diff reviewed.

Commands run in this process through `bench.cli.main`, with stdout and stderr captured. Two
commands bind `sys.stdout` as a default argument when their module is imported (`compare`,
`history`), so `main()` puts a forwarding stream in place before anything of `bench` is imported;
that is why the test runs this file as a subprocess rather than importing it.

This is a script of the repository, not part of the installed package.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import re
import shutil
import signal
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = ROOT / "tests" / "golden"
RUNS = GOLDEN / "runs"
OUT = GOLDEN / "out"
REGENERATE = "python tools/goldens.py"

# Every fixture, by name: its results file under tests/golden/runs/. `format_v1` is a copy of `shards`'s
# first part with its format version set to 1: the reader refuses every other version (bench.results.read).
FIXTURES = ("default", "sweep", "clients", "shard_1", "shard_2", "merged", "docker", "format_v1")
# `compare` between fixtures: (golden folder, base, new). default and merged ran the same settings
# (merged with --only); docker ran another backend and server version.
COMPARISONS = (("compare", "default", "merged"), ("compare", "default", "docker"))
# The one workload whose statements `trace --json` pins (needs a server; 200 sessions keep it short).
# Outputs kept as a fixture rather than under out/: merging the shards must give runs/merged.json.
STORED_AS_FIXTURE = {"merge/merged.json": "merged"}
TRACE = ["trace", "dashboard", "--variant", "loading=selectin", "--param", "page_size=10", "--json",
         "--backend", "embedded", "--sessions", "200"]


def fixture_path(name: str) -> Path:
    return RUNS / f"{name}.json"


def present(names=FIXTURES) -> list[str]:
    """The fixtures committed (the docker one is absent where it could not be made)."""
    return [name for name in names if fixture_path(name).is_file()]


# ---------------------------------------------------------------- what legitimately changes


_RUN_ID = re.compile(r"\b\d{8}T\d{6}-[0-9a-f]{6}\b")
_SCHEMA = re.compile(r"\bsb_[0-9a-f]{6,}_")
_TRACE_MS = re.compile(r'("ms": )-?[0-9.e+-]+')
# Where Python says a warning came from ("<root>/bench/report/history.py:199: UserWarning: ..."): a file and line.
_WARNING_AT = re.compile(r"^\S+\.py:\d+: (?=\w*Warning\b)", re.MULTILINE)
# A decimal number with more than SIGNIFICANT digits (leading zeros aside), outside words and dotted versions.
_LONG_NUMBER = re.compile(r"(?<![\w.])-?\d+\.\d+(?:[eE][+-]?\d+)?(?![\w.])")
SIGNIFICANT = 10


def _rounded(match: re.Match) -> str:
    text = match.group(0)
    mantissa = re.split(r"[eE]", text)[0]
    digits = mantissa.replace("-", "").replace(".", "").lstrip("0")
    return text if len(digits) <= SIGNIFICANT else f"{float(text):.{SIGNIFICANT}g}"


def normalise(text: str, tmp: str | os.PathLike | None = None) -> str:
    """The one place that says what may change between two runs of the same command on the same files:

    - `tmp`, the scratch folder outputs were written to (export, history, merge), reads `<tmp>`;
      the repository's absolute path reads `<root>`;
    - a run id (`20261207T043326-a3a6e1`) reads `<run-id>`: merge and trace make a new one per call;
    - a run's schema prefix (`sb_a3a6e1_`) reads `sb_<run>_` (trace's SQL names its schemas);
    - trace's per-statement `"ms"` reads `"<ms>"`: a timing, measured anew each call;
    - where a Python warning came from (`bench/report/history.py:199: UserWarning: ...`) reads `<source>`: a
      move or any edit above that line changes it, the warning itself is kept;
    - a number printed with more than SIGNIFICANT (10) significant digits is rounded to 10: its last
      bits move when the same arithmetic is done in another order (statistics moved into one module,
      say), while no figure a reader sees does (the tables and texts show 3 or 4 digits).

    Nothing else is normalised: every other byte comes from the committed fixtures and must repeat.
    """
    if tmp is not None:
        text = text.replace(str(tmp), "<tmp>")
    text = text.replace(str(ROOT), "<root>")
    text = _RUN_ID.sub("<run-id>", text)
    text = _SCHEMA.sub("sb_<run>_", text)
    text = _TRACE_MS.sub(r'\1"<ms>"', text)
    text = _WARNING_AT.sub("<source>: ", text)
    return _LONG_NUMBER.sub(_rounded, text)


# ---------------------------------------------------------------- running a command


class _Forward(io.TextIOBase):
    """A stream that writes wherever `target` points now (see the module docstring)."""

    def __init__(self, target):
        self.target = target

    def write(self, text):
        return self.target.write(text)

    def flush(self):
        self.target.flush()

    def isatty(self):
        return False

    @property
    def encoding(self):
        return getattr(self.target, "encoding", "utf-8")


def _install_forwarding() -> tuple[_Forward, _Forward]:
    if not isinstance(sys.stdout, _Forward):
        sys.stdout, sys.stderr = _Forward(sys.stdout), _Forward(sys.stderr)
    return sys.stdout, sys.stderr


def cli(argv: list[str], tmp: Path | None = None) -> str:
    """`sessionbench ARGV` in this process, from the repository root: the command line, exit code,
    stdout and stderr as one normalised text."""
    from bench.cli import main

    out, err = _install_forwarding()
    saved = out.target, err.target, signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)
    captured_out, captured_err = io.StringIO(), io.StringIO()
    out.target, err.target = captured_out, captured_err
    try:
        with contextlib.chdir(ROOT):
            try:
                code = main(argv)
            except SystemExit as exc:  # argparse refusing the command line
                code = exc.code
    finally:
        out.target, err.target = saved[0], saved[1]
        signal.signal(signal.SIGINT, saved[2])
        signal.signal(signal.SIGTERM, saved[3])
    shown = " ".join(argv)
    return normalise(f"$ sessionbench {shown}\nexit {code}\n--- stdout\n{captured_out.getvalue()}"
                     f"--- stderr\n{captured_err.getvalue()}", tmp)


def cli_fresh(argv: list[str], tmp: Path | None = None) -> str:
    """`sessionbench ARGV` in a new Python process, as `cli` shows it. For `trace`: in a process that
    has already built other variants' mappers, selectin's two loads (messages, skills) came out in the
    other order once; a fresh process, as a user runs it, gave one order every time."""
    import subprocess

    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    done = subprocess.run([sys.executable, "-m", "bench.cli", *argv], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=600)
    return normalise(f"$ sessionbench {' '.join(argv)}\nexit {done.returncode}\n--- stdout\n{done.stdout}"
                     f"--- stderr\n{done.stderr}", tmp)


def statements_in_a_stable_order(text: str) -> str:
    """`trace --json`'s statements after the first, sorted by their SQL and renumbered. selectin's two
    loads (messages, skills) run in the order the mappers were configured, which follows how the
    package was installed: an editable install gave skills first, a wheel install messages first.
    Which loads run, their SQL, rows and executions are what the golden pins."""
    head, _, rest = text.partition("--- stdout\n")
    out, sep, tail = rest.partition("--- stderr\n")
    try:
        statements = json.loads(out)
    except ValueError:
        return text
    first, others = statements[:1], sorted(statements[1:], key=lambda s: s.get("sql", ""))
    for n, statement in enumerate(first + others, 1):
        statement["n"] = n
    return f"{head}--- stdout\n{json.dumps(first + others, indent=1)}\n{sep}{tail}"


def _rel(path: Path) -> str:
    return str(path.relative_to(ROOT))


# ---------------------------------------------------------------- the goldens of one fixture


def _csv(frame) -> str:
    """A table as CSV; a function that found nothing to tabulate says so in one line, kept as it is."""
    return frame + "\n" if isinstance(frame, str) else frame.to_csv(index=False, lineterminator="\n")


def _charts(df) -> str:
    """Each chart's alt text (its title, the finding, and what its axes measure: bench.report.plotting.describe)."""
    from bench.report import plotting
    from bench.report.plotting.style import describe

    lines = []
    for name, chart in plotting.CHARTS.items():
        lines.append(f"{name}: {describe(chart(df))}")
    return "\n".join(lines) + "\n"


def tables(name: str) -> dict[str, str]:
    """The report's tables and sentences on one fixture: what the notebooks call (notebooks/*.ipynb)."""
    from bench.report import concurrency as concurrency_report, page as report_page
    from bench.verdicts import decisions, facts as verdict_facts
    from bench.analysis import growth, moves
    from bench.analysis import end_to_end
    from bench import verdicts as verdicts_module
    from bench.results import FACT_TABLES, fact_table, load

    paths = [_rel(fixture_path(name))]
    df = load(paths)
    delete_paths = decisions.delete_paths(paths)
    verdicts = verdicts_module.verdicts(df, delete_paths)
    out = {
        "load.csv": _csv(df),  # bench.results.load: the documented reading API
        "runs.csv": _csv(report_page.run_metadata(paths)),
        "verdicts.csv": _csv(verdicts),
        "what_to_do.csv": _csv(decisions.what_to_do(verdicts)),
        "caveats.csv": _csv(decisions.caveats(paths, df)),
        "recommended_agreement.csv": _csv(end_to_end.agreement(verdicts)),
        "recommended_end_to_end.csv": _csv(end_to_end.end_to_end(df)),
        "delete_paths.csv": _csv(delete_paths),
        "leaks.csv": _csv(verdict_facts.leak_table(df)),
        "unique_keys.csv": _csv(verdict_facts.unique_table(df)),
        "bloat.csv": _csv(verdict_facts.bloat_table(df)),
        "orphans.csv": _csv(df[df["orphans"].notna()][["workload", "param", "variant", "orphans", "leaks",
                                                         "statements", "rows"]]),
        "growth.csv": _csv(growth.shown(growth.growth_table(df))),
        "migration.csv": _csv(moves.migration_table(df)),
        "load_findings.csv": _csv(concurrency_report.findings(concurrency_report.load_rows(paths))),
        "load_table.csv": _csv(concurrency_report.load_table(concurrency_report.load_rows(paths))),
        "node_writes.csv": _csv(concurrency_report.node_writes(paths)),
        "charts.txt": _charts(df),
    }
    for check in ("clock skew", "time zones", "daylight saving"):
        out[f"ordering_{check.replace(' ', '_')}.csv"] = _csv(verdict_facts.ordering_table(df, check))
    for fact in FACT_TABLES:
        out[f"fact_{fact}.csv"] = _csv(fact_table(df, fact))
    sentences = [
        ("headline", verdicts_module.headline(verdicts)),
        ("report title", report_page.report_title(paths)),
        ("combining", report_page.combining(df)),
        ("agreement", decisions.agreement(paths)),
        ("sizes note", growth.sizes_note(df)),
        ("node write findings", concurrency_report.node_write_findings(concurrency_report.node_writes(paths))),
        ("generator check", concurrency_report.generator_check(concurrency_report.load_rows(paths))),
    ]
    out["sentences.txt"] = "".join(f"## {label}\n{text}\n\n" for label, text in sentences)
    return {key: normalise(value) for key, value in out.items()}


def commands(name: str, tmp: Path) -> dict[str, str]:
    """The CLI's analysis commands on one fixture: check, export (three formats)."""
    run = _rel(fixture_path(name))
    # The budgets as committed when the goldens were made: `check` is pinned, not the budget data.
    out = {"check.txt": cli(["check", run, "--budgets", _rel(RUNS / "budgets.toml")], tmp)}
    for fmt, suffix in (("csv", "csv"), ("bencher", "json"), ("github-action-benchmark", "json")):
        target = tmp / f"{name}.{fmt}.{suffix}"
        said = cli(["export", run, "--format", fmt, "--out", str(target)], tmp)
        written = normalise(target.read_text(), tmp) if target.is_file() else "(no file written)\n"
        out[f"export-{fmt}.txt"] = said
        out[f"export-{fmt}.{suffix}"] = written
    return out  # history: over every fixture at once (all_goldens), as `history results/*.json` is used


def merge_golden(tmp: Path) -> dict[str, str]:
    """`merge` of the two shards: its output, and the merged file, which must equal runs/merged.json
    (normalised): the committed merged fixture is that golden."""
    folder = tmp / "merged"
    said = cli(["merge", _rel(fixture_path("shard_1")), _rel(fixture_path("shard_2")), "--out", str(folder)], tmp)
    written = sorted(folder.glob("*.json"))
    return {"merge.txt": said, "merged.json": normalise(written[0].read_text(), tmp) if written else ""}


def all_goldens(db: bool) -> dict[str, str]:
    """{path under tests/golden/out: content} for every golden (those needing a server only if `db`)."""
    found: dict[str, str] = {}
    with tempfile.TemporaryDirectory(prefix="sessionbench-goldens-") as scratch:
        tmp = Path(scratch)
        for name in present():
            if name == "format_v1":  # refused: what each command says is the golden
                found.update({f"{name}/{key}": value for key, value in refused(name, tmp).items()})
                continue
            found.update({f"{name}/{key}": value for key, value in tables(name).items()})
            found.update({f"{name}/{key}": value for key, value in commands(name, tmp).items()})
        for folder, base, new in COMPARISONS:
            if not (fixture_path(base).is_file() and fixture_path(new).is_file()):
                continue
            for fmt, suffix in (("text", "txt"), ("json", "json"), ("markdown", "md")):
                found[f"{folder}/{base}-{new}.{suffix}"] = cli(
                    ["compare", _rel(fixture_path(base)), _rel(fixture_path(new)), "--format", fmt], tmp)
        singles = [_rel(fixture_path(name)) for name in present() if name not in ("format_v1", "shard_1", "shard_2")]
        found["history/all.txt"] = cli(["history", *singles, "--out", str(tmp / "history-all")], tmp)
        if present(("shard_1", "shard_2")) == ["shard_1", "shard_2"]:
            found.update({f"merge/{key}": value for key, value in merge_golden(tmp).items()})
        if db:
            found["trace/dashboard-selectin-page_size=10.json"] = statements_in_a_stable_order(cli_fresh(TRACE, tmp))
    return found


def refused(name: str, tmp: Path) -> dict[str, str]:
    """Every analysis command on a file this sessionbench does not read: each must refuse it in one line."""
    run = _rel(fixture_path(name))
    other = _rel(fixture_path("default"))
    said = {
        "check.txt": cli(["check", run, "--budgets", _rel(RUNS / "budgets.toml")], tmp),
        "export-csv.txt": cli(["export", run, "--format", "csv", "--out", str(tmp / f"{name}.csv")], tmp),
        "history.txt": cli(["history", run, "--out", str(tmp / f"history-{name}")], tmp),
        "compare.txt": cli(["compare", other, run], tmp),
        "merge.txt": cli(["merge", run, _rel(fixture_path("shard_2")), "--out", str(tmp / f"merged-{name}")], tmp),
    }
    from bench.errors import UserError
    from bench.results import load

    try:
        load([run])
        said["load.txt"] = "read without error\n"
    except UserError as exc:
        said["load.txt"] = normalise(f"UserError: {exc.message}\n  hint: {exc.hint}\n")
    return said


def write(found: dict[str, str], only_db: bool = False) -> None:
    """Replace tests/golden/out with `found` (only the trace goldens when `only_db`)."""
    if not only_db:
        keep = {path: (OUT / path).read_text() for path in ("trace/dashboard-selectin-page_size=10.json",)
                if (OUT / path).is_file() and path not in found}
        shutil.rmtree(OUT, ignore_errors=True)
        found = {**keep, **found}
    for path, content in sorted(found.items()):
        if path in STORED_AS_FIXTURE:
            continue
        target = OUT / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(content)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--no-db", action="store_true", help="leave out the goldens that need a PostgreSQL server")
    parser.add_argument("--emit", metavar="OUT.json", help="write the outputs to OUT.json instead of the goldens")
    parser.add_argument("--only-db", action="store_true", help="only the goldens that need a server")
    options = parser.parse_args(argv)
    _install_forwarding()  # before `bench` is imported: see the module docstring
    sys.path.insert(0, str(ROOT))
    if options.only_db:
        with tempfile.TemporaryDirectory(prefix="sessionbench-goldens-") as scratch:
            found = {"trace/dashboard-selectin-page_size=10.json":
                     statements_in_a_stable_order(cli_fresh(TRACE, Path(scratch)))}
    else:
        found = all_goldens(db=not options.no_db)
    if options.emit:
        Path(options.emit).write_text(json.dumps(found))
        return 0
    write(found, only_db=options.only_db)
    print(f"wrote {len(found)} goldens under {OUT.relative_to(ROOT)}", file=sys.__stdout__)
    return 0


if __name__ == "__main__":
    sys.exit(main())
