"""The HTML report: execute the shipped notebooks on results files and bind them into one page.

`sessionbench report RUN.json [...] --out DIR` writes a NEW folder under DIR (an earlier report
is never touched) holding the executed notebooks, the charts as PNG files and one
self-contained `report.html` (the decision first, then the evidence: bench.report.layout; charts
embedded), then prints where the HTML and the charts are. The folder is built under a hidden temporary name and
renamed when complete, so an interrupted or failed report leaves no half-built folder. Notebooks
run headlessly with papermill on a kernel spec written for the running interpreter, so a fresh
`pip install .` is enough. A failing cell raises UserError naming the notebook and the cell: the
CLI prints it and exits 2.

Results files are untrusted (often downloaded from CI or sent by a colleague): every string from
one that reaches the page is escaped, and no path is built from their contents.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from importlib.resources import files
from pathlib import Path

from bench.verdicts.decisions import delete_paths  # noqa: F401 - the notebooks' API
from bench.errors import UserError
from bench.plan import settings
from bench.report import layout
from bench.report.page import (  # noqa: F401 - table, folded, sentence, ...: the notebooks' API
    KERNEL, closing_sections, decision_table, folded, headline_of, report_title, run_metadata, runs_table, sentence, table,
    verdict_table,
)
from bench.verdicts.decision import decision
from bench.verdicts.profile import DEFAULTS, Profile, load_profile

# Small and quick: a notebook run without results measures only its own workloads.
FRESH_OPTIONS = ["--backend", "embedded", "--scale", "small", "--max-time", "0.1", "--min-rounds", "3"]


def notebooks_dir() -> Path:
    return Path(str(files("notebooks")))


def notebook_paths(folder: str | Path | None = None) -> list[Path]:
    """The numbered notebooks in `folder`, else $SESSIONBENCH_NOTEBOOKS, else the shipped ones, in order."""
    folder = folder or settings.environment("SESSIONBENCH_NOTEBOOKS") or notebooks_dir()
    return sorted(Path(folder).glob("[0-9]*.ipynb"))


def _package_root() -> str:
    return str(Path(__file__).resolve().parents[2])


def fresh_results(axes: list[str] | None = None, sessions: int | None = None) -> str:
    """Run a small embedded benchmark of the workloads over `axes` (all when None); return the results path."""
    from bench.workloads import load_all

    import atexit

    workloads = [w.name for w in load_all().values() if axes is None or w.axis in axes]
    out = tempfile.mkdtemp(prefix="sessionbench-fresh-")
    # The notebook reads the file until its kernel exits; nothing of the run stays behind after that.
    atexit.register(shutil.rmtree, out, ignore_errors=True)
    argv = [sys.executable, "-m", "bench.cli", "run", *FRESH_OPTIONS, "--out", out, "--quiet",
            "--only", "workload=" + ",".join(workloads)]
    if sessions:
        argv += ["--sessions", str(sessions)]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [_package_root(), os.environ.get("PYTHONPATH")]))}
    started = time.monotonic()
    done = subprocess.run(argv, capture_output=True, text=True, env=env, check=False)
    found = sorted(Path(out).glob("*.json"))
    if done.returncode != 0 or not found:
        tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
        raise UserError(f"fresh benchmark run failed: {' / '.join(tail)}", "run `sessionbench doctor`")
    print(f"measured {', '.join(workloads)} in {time.monotonic() - started:.0f} s -> {found[0]}")
    return str(found[0])


@contextlib.contextmanager
def _kernel():
    """A kernel spec for this interpreter, found first on JUPYTER_PATH while the notebooks run."""
    saved = {name: os.environ.get(name) for name in ("JUPYTER_PATH", "PYTHONPATH")}
    with tempfile.TemporaryDirectory(prefix="sessionbench-kernel-") as folder:
        spec = Path(folder, "kernels", KERNEL)
        spec.mkdir(parents=True)
        (spec / "kernel.json").write_text(json.dumps({
            # CRITICAL only: the kernel's start-up chatter would break the one-line-per-notebook progress.
            "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}", "--log-level=CRITICAL"],
            "display_name": "sessionbench (this Python)", "language": "python"}))
        os.environ["JUPYTER_PATH"] = os.pathsep.join(filter(None, [folder, saved["JUPYTER_PATH"]]))
        # The kernel runs in the report folder; bench must import from there too.
        os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [_package_root(), saved["PYTHONPATH"]]))
        try:
            yield KERNEL
        finally:
            for name, value in saved.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value


def _folder_name(run_ids: list[str]) -> str:
    """`report-<UTC stamp>-<id>...`: the ids cut to letters and digits, so no results file names a path."""
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S")
    tails = [re.sub(r"[^A-Za-z0-9]", "", str(run_id).split("-")[-1])[:12] for run_id in run_ids[:3]]
    return "-".join([f"report-{stamp}", *filter(None, tails)])


def _new_folder(out_dir: str | Path, run_ids: list[str]) -> Path:
    """A hidden temporary folder under `out_dir` to build the report in (see `_publish`)."""
    out = Path(out_dir).resolve()
    try:
        out.mkdir(parents=True, exist_ok=True)
        folder = Path(tempfile.mkdtemp(dir=out, prefix=f".{_folder_name(run_ids)}.", suffix=".partial"))
        umask = os.umask(0)
        os.umask(umask)
        folder.chmod(0o777 & ~umask)  # mkdtemp's 0700 is for the build; the report is shared like any folder
        return folder
    except OSError as exc:
        raise UserError(f"cannot create a report folder in {out}: {exc.strerror}", "pass a writable --out") from None


def _publish(building: Path) -> Path:
    """Rename the finished report to its final name (never replacing an earlier report)."""
    base = building.parent / building.name[1:].split(".", 1)[0]
    for attempt in range(1, 100):
        final = base if attempt == 1 else base.with_name(f"{base.name}-{attempt}")
        if final.exists():
            continue
        try:
            building.rename(final)
            return final
        except OSError:  # taken since the check: try the next name
            continue
    raise UserError(f"too many reports named {base}", "pass another --out")


def _failed_cell(notebook: Path, source: str) -> str:
    """'cell 5 (`plotting.publish(...)`)': the cell's number in the notebook file and its first line."""
    import nbformat

    cells = nbformat.read(notebook, as_version=4).cells
    number = next((i for i, cell in enumerate(cells, start=1) if cell.source.strip() == source.strip()), None)
    first = next((line for line in source.splitlines() if line.strip()), "")
    return f"cell {number if number else '?'} (`{first.strip()[:80]}`)"


def execute(notebook: Path, target: Path, parameters: dict, kernel: str, cwd: Path) -> None:
    import papermill
    from papermill.exceptions import PapermillExecutionError

    try:
        papermill.execute_notebook(str(notebook), str(target), parameters=parameters, kernel_name=kernel,
                                   language="python", progress_bar=False, log_output=False, cwd=str(cwd))
    except PapermillExecutionError as exc:
        raise UserError(f"{notebook.name}: {_failed_cell(notebook, exc.source)} raised {exc.ename}: "
                        f"{str(exc.evalue).strip().splitlines()[0] if exc.evalue else ''}",
                        f"the executed notebook with the traceback: {target}") from None


def render(run_paths: list[str], out_dir: str | Path, notebooks: str | Path | None = None,
           profile: Profile = DEFAULTS) -> Path:
    """Execute the notebooks on `run_paths` into a new folder under `out_dir`; return the HTML path. The
    page opens with the decision for the hub `profile` describes (bench.verdicts.decision)."""
    paths = [str(Path(p).resolve()) for p in run_paths]
    metadata = run_metadata(paths)  # reads every file first: a bad path fails before any notebook runs
    sources = notebook_paths(notebooks)
    if not sources:
        where = notebooks or settings.environment("SESSIONBENCH_NOTEBOOKS") or notebooks_dir()
        raise UserError(f"no numbered notebooks (NN_name.ipynb) in {where}",
                        "check SESSIONBENCH_NOTEBOOKS, or reinstall sessionbench")
    found = decision(paths, profile)
    building = _new_folder(out_dir, list(metadata["run_id"].astype(str)))
    try:
        _build(building, paths, sources)
        executed = [building / "notebooks" / source.name for source in sources]
        body = layout.page(executed, report_title(paths), found, headline_of(found), closing_sections(paths))
        (building / "report.html").write_text(body, encoding="utf-8")
        folder = _publish(building)
    finally:  # interrupted or failed: no half-built report stays behind
        shutil.rmtree(building, ignore_errors=True)
    return folder / "report.html"


def _build(folder: Path, paths: list[str], sources: list[Path]) -> None:
    """Execute every notebook into `folder`/notebooks, charts into `folder`/charts (absolute: the
    kernel runs in another working directory)."""
    charts = folder / "charts"
    charts.mkdir()
    (folder / "notebooks").mkdir()
    with _kernel() as kernel:
        for index, source in enumerate(sources, start=1):
            started = time.monotonic()
            print(f"[{index}/{len(sources)}] {source.name} ...", end=" ", flush=True)
            target = folder / "notebooks" / source.name
            try:
                execute(source, target, {"results": paths, "out_dir": str(charts)}, kernel, folder)
            except UserError as exc:
                print("failed", flush=True)
                kept = folder.parent / f"{source.stem}-failed-{folder.name[1:].split('.', 1)[0]}.ipynb"
                if target.exists():  # kept beside the reports: the folder being built is removed
                    shutil.copyfile(target, kept)
                raise UserError(exc.message, f"the executed notebook with the traceback: {kept}") from None
            print(f"{time.monotonic() - started:.1f} s", flush=True)


def report(run_paths: list[str], out_dir: str, profile: str | None = None) -> int:
    """The `sessionbench report` command: render, then print where the HTML and the charts are. Exit 0."""
    page = render(run_paths, out_dir, profile=load_profile(profile))
    print(f"report: {page}")
    print(f"charts: {page.parent / 'charts'} ({len(list((page.parent / 'charts').glob('*.png')))} PNG files)")
    return 0
