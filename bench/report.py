"""The HTML report: execute the shipped notebooks on results files and bind them into one page.

`sessionbench report RUN.json [...] --out DIR` writes a NEW folder under DIR (an earlier report
is never touched) holding the executed notebooks, the charts as PNG files and one
self-contained `report.html` (charts embedded, a table of contents, the run metadata), then
prints the HTML's path. Notebooks run headlessly with papermill on a kernel spec written for
the running interpreter, so a fresh `pip install .` is enough. A failing cell raises
UserError naming the notebook and the cell: the CLI prints it and exits 2.
"""

from __future__ import annotations

import contextlib
import html
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from importlib.resources import files
from pathlib import Path

import pandas as pd

from bench.errors import UserError
from bench.results import read

KERNEL = "sessionbench-python"
# Small and quick: a notebook run without results measures only its own workloads.
FRESH_OPTIONS = ["--backend", "embedded", "--scale", "small", "--max-time", "0.1", "--min-rounds", "3"]


def notebooks_dir() -> Path:
    return Path(str(files("notebooks")))


def notebook_paths(folder: str | Path | None = None) -> list[Path]:
    """The numbered notebooks in `folder`, else $SESSIONBENCH_NOTEBOOKS, else the shipped ones, in order."""
    folder = folder or os.environ.get("SESSIONBENCH_NOTEBOOKS") or notebooks_dir()
    return sorted(Path(folder).glob("[0-9]*.ipynb"))


def _package_root() -> str:
    return str(Path(__file__).resolve().parent.parent)


def fresh_results(axes: list[str] | None = None, sessions: int | None = None) -> str:
    """Run a small embedded benchmark of the workloads over `axes` (all when None); return the results path."""
    from bench.workloads import load_all

    workloads = [w.name for w in load_all().values() if axes is None or w.axis in axes]
    out = tempfile.mkdtemp(prefix="sessionbench-fresh-")
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


def run_metadata(paths: list[str]) -> pd.DataFrame:
    """One row per results file: what produced the numbers."""
    rows = []
    for path in paths:
        doc = read(path)
        meta = doc["sessionbench"]
        rows.append({"run_id": meta.get("run_id"), "backend": meta.get("backend"),
                     "server_version": meta.get("server_version"), "scale": meta.get("scale"),
                     "sessions": meta.get("sessions"), "seed": meta.get("seed"), "commit": meta.get("commit"),
                     "datetime": doc.get("datetime"), "benchmarks": len(doc["benchmarks"]),
                     "sqlalchemy": (meta.get("packages") or {}).get("sqlalchemy"), "file": str(path)})
    return pd.DataFrame(rows)


def delete_paths(paths: list[str]) -> pd.DataFrame:
    """Claim C3's fact table from the runs' metadata: one row per delete path x deletion variant."""
    columns = ["image", "variant", "path", "label", "error", "sessions_left", "orphans"]
    rows = [{column: entry.get(column) for column in columns}
            for path in paths for entry in read(path)["sessionbench"].get("delete_paths") or []]
    return pd.DataFrame(rows, columns=columns)


VERDICT_COLOURS = {"confirmed": "#d9f0d3", "refuted": "#f9d5d3", "partly": "#fdf1c7", "not measured": "#eeeeee"}


def verdict_table(table: pd.DataFrame):
    """The verdict table as a styled HTML table (full text, wrapped, verdicts shaded)."""
    return (table.style.hide(axis="index")
            .map(lambda v: f"background-color: {VERDICT_COLOURS.get(v, 'transparent')}; font-weight: bold",
                 subset=["verdict"])
            .set_properties(**{"text-align": "left", "white-space": "normal", "vertical-align": "top"}))


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


def _new_folder(out_dir: str | Path, run_ids: list[str]) -> Path:
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S")
    base = Path(out_dir) / "-".join([f"report-{stamp}", *[r.split("-")[-1] for r in run_ids[:3]]])
    for attempt in range(1, 100):
        folder = base if attempt == 1 else base.with_name(f"{base.name}-{attempt}")
        try:
            folder.mkdir(parents=True, exist_ok=False)
            return folder
        except FileExistsError:
            continue
        except OSError as exc:
            raise UserError(f"cannot create report folder {folder}: {exc.strerror}", "pass a writable --out") from None
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


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def _bind(executed: list[Path], metadata: pd.DataFrame):
    """One notebook of every executed notebook's markdown and outputs, a contents list and run metadata first."""
    import nbformat

    combined, contents = nbformat.v4.new_notebook(), []
    for path in executed:
        nb = nbformat.read(path, as_version=4)
        for cell in nb.cells:
            tags = cell.get("metadata", {}).get("tags", [])
            if "parameters" in tags or "injected-parameters" in tags:
                continue
            if cell.cell_type == "markdown":
                lines = []
                for line in cell.source.splitlines():
                    match = re.match(r"^(#{1,3})\s+(.*)", line)
                    if match:
                        anchor = f"{path.stem}-{_slug(match.group(2))}"
                        contents.append((len(match.group(1)), match.group(2), anchor))
                        lines.append(f'<a id="{anchor}"></a>')
                        line = f"#{line}"  # one level down: the report's own title is the only h1
                    lines.append(line)
                cell.source = "\n".join(lines)
            combined.cells.append(cell)
    toc = "\n".join(f"{'  ' * (level - 1)}- [{html.escape(text)}](#{anchor})" for level, text, anchor in contents)
    head = ["# sessionbench report", "", "## Runs", "", _markdown_table(metadata.drop(columns=["file"])), "",
            "## Contents", "", toc]
    combined.cells.insert(0, nbformat.v4.new_markdown_cell("\n".join(head)))
    combined.metadata["kernelspec"] = {"name": KERNEL, "display_name": "Python", "language": "python"}
    return combined


def _markdown_table(frame: pd.DataFrame) -> str:
    cells = [[str(v) for v in frame.columns]] + [["" if pd.isna(v) else str(v) for v in row] for row in frame.values]
    return "\n".join(["| " + " | ".join(cells[0]) + " |", "|" + "---|" * len(frame.columns),
                      *["| " + " | ".join(row) + " |" for row in cells[1:]]])


def render(run_paths: list[str], out_dir: str | Path, notebooks: str | Path | None = None) -> Path:
    """Execute the notebooks on `run_paths` into a new folder under `out_dir`; return the HTML path."""
    from nbconvert import HTMLExporter

    paths = [str(Path(p).resolve()) for p in run_paths]
    metadata = run_metadata(paths)  # reads every file first: a bad path fails before any notebook runs
    sources = notebook_paths(notebooks)
    if not sources:
        where = notebooks or os.environ.get("SESSIONBENCH_NOTEBOOKS") or notebooks_dir()
        raise UserError(f"no numbered notebooks (NN_name.ipynb) in {where}",
                        "check SESSIONBENCH_NOTEBOOKS, or reinstall sessionbench")
    folder = _new_folder(out_dir, list(metadata["run_id"].astype(str)))
    charts, executed = folder / "charts", []
    (folder / "notebooks").mkdir()
    with _kernel() as kernel:
        for index, source in enumerate(sources, start=1):
            started = time.monotonic()
            print(f"[{index}/{len(sources)}] {source.name} ...", end=" ", flush=True)
            target = folder / "notebooks" / source.name
            try:
                execute(source, target, {"results": paths, "out_dir": str(charts)}, kernel, folder)
            except UserError:
                print("failed", flush=True)
                raise
            print(f"{time.monotonic() - started:.1f} s", flush=True)
            executed.append(target)
    exporter = HTMLExporter(exclude_input=True, exclude_input_prompt=True, exclude_output_prompt=True)
    body, _ = exporter.from_notebook_node(_bind(executed, metadata))
    # Self-contained: the report needs neither MathJax nor require.js (charts are PNG, no widgets),
    # and a page that loads scripts from a CDN breaks offline and in strict mail/wiki viewers.
    body = re.sub(r'<script[^>]*\ssrc="https?://[^"]*"[^>]*>\s*</script>', "", body)
    page = folder / "report.html"
    page.write_text(body, encoding="utf-8")
    return page


def report(run_paths: list[str], out_dir: str) -> int:
    """The `sessionbench report` command: render, then print the HTML's path. Exit 0."""
    page = render(run_paths, out_dir)
    print(f"report: {page}")
    return 0
