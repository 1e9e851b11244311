"""The HTML report: execute the shipped notebooks on results files and bind them into one page.

`sessionbench report RUN.json [...] --out DIR` writes a NEW folder under DIR (an earlier report
is never touched) holding the executed notebooks, the charts as PNG files and one
self-contained `report.html` (charts embedded, a table of contents, the run metadata), then
prints where the HTML and the charts are. The folder is built under a hidden temporary name and
renamed when complete, so an interrupted or failed report leaves no half-built folder. Notebooks
run headlessly with papermill on a kernel spec written for the running interpreter, so a fresh
`pip install .` is enough. A failing cell raises UserError naming the notebook and the cell: the
CLI prints it and exits 2.

Results files are untrusted (often downloaded from CI or sent by a colleague): every string from
one that reaches the page is escaped, and no path is built from their contents.
"""

from __future__ import annotations

import contextlib
import html
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

import pandas as pd

from bench.errors import UserError
from bench.results import load, read

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
                     "sqlalchemy": (meta.get("packages") or {}).get("sqlalchemy"), "file": Path(path).name})
    return pd.DataFrame(rows)


def delete_paths(paths: list[str]) -> pd.DataFrame:
    """Claim C3's fact table from the runs' metadata: one row per delete path x deletion variant."""
    columns = ["image", "variant", "path", "label", "error", "sessions_left", "orphans"]
    rows = [{column: entry.get(column) for column in columns}
            for path in paths for entry in read(path)["sessionbench"].get("delete_paths") or []]
    return pd.DataFrame(rows, columns=columns)


VERDICT_COLOURS = {"confirmed": "#d9f0d3", "refuted": "#f9d5d3", "partly": "#fdf1c7", "not measured": "#eeeeee"}
MISSING = "n/a"


def table(frame: pd.DataFrame):
    """A table for the report: no pandas index, "n/a" for a missing value, every cell HTML-escaped
    (results strings are untrusted), text wrapped."""
    return (frame.style.hide(axis="index").format(na_rep=MISSING, escape="html", precision=3)
            .format_index(escape="html", axis="columns")
            .set_properties(**{"text-align": "left", "white-space": "normal", "vertical-align": "top"}))


def verdict_table(verdicts: pd.DataFrame):
    """The verdict table as a styled HTML table (full text, wrapped, verdicts shaded)."""
    return table(verdicts).map(
        lambda v: f"background-color: {VERDICT_COLOURS.get(v, 'transparent')}; font-weight: bold", subset=["verdict"])


def runs_table(paths: list[str]):
    """What produced the numbers, one row per results file (the report shows it once, at the top)."""
    return table(run_metadata(paths))


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


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


# Wide tables scroll inside their own box instead of widening the page; long text wraps.
PAGE_STYLE = """<style>
.jp-OutputArea-output table { display: block; max-width: 100%; overflow-x: auto; }
.jp-OutputArea-output td { white-space: normal; overflow-wrap: break-word; max-width: 40em; }
.jp-OutputArea-output th { white-space: nowrap; text-align: left; }
.jp-RenderedImage img { max-width: 100%; height: auto; }
</style>"""


def _skipped(cell) -> bool:
    """Cells the bound report leaves out: parameters, and each notebook's own Runs table (shown once, on top)."""
    tags = cell.get("metadata", {}).get("tags", [])
    return bool({"parameters", "injected-parameters", "runs"} & set(tags))


def _image_as_html(output) -> None:
    """A PNG output as our own <img> with the chart's description as its alt text (escaped)."""
    data = output.get("data", {})
    if "image/png" not in data:
        return
    alt = (output.get("metadata", {}).get("image/png") or {}).get("alt") or "chart"
    encoded = "".join(data["image/png"].split())
    output["data"] = {"text/html": f'<img src="data:image/png;base64,{encoded}" alt="{html.escape(alt)}">'}
    output.get("metadata", {}).pop("image/png", None)


def _bind(executed: list[Path], paths: list[str], title: str):
    """One notebook of every executed notebook's markdown and outputs, with the runs and contents first."""
    import nbformat

    combined, contents = nbformat.v4.new_notebook(), []
    for path in executed:
        nb = nbformat.read(path, as_version=4)
        for cell in nb.cells:
            if _skipped(cell):
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
            for output in cell.get("outputs", []):
                _image_as_html(output)
            combined.cells.append(cell)
    toc = "\n".join(f"{'  ' * (level - 1)}- [{html.escape(text)}](#{anchor})" for level, text, anchor in contents)
    head = nbformat.v4.new_code_cell(outputs=[nbformat.v4.new_output(
        "display_data", {"text/html": runs_section(paths)})])
    combined.cells[:0] = [nbformat.v4.new_markdown_cell(f"# {html.escape(title)}"), head,
                          nbformat.v4.new_markdown_cell("## Contents\n\n" + toc)]
    combined.metadata.update(title=title, kernelspec={"name": KERNEL, "display_name": "Python",
                                                      "language": "python"})
    return combined


def runs_section(paths: list[str]) -> str:
    """The Runs table (escaped) and a sentence on how several results files are combined."""
    metadata = run_metadata(paths)
    return (f"<h2>Runs</h2>\n{runs_table(paths).to_html()}\n<p>{html.escape(combining(load(paths)))}</p>"
            if len(metadata) else "")


def combining(df: pd.DataFrame) -> str:
    """How the charts and verdicts combine the runs given, in one or two sentences."""
    runs = df["run_id"].nunique()
    if runs <= 1:
        return "One results file: every chart and verdict is from this run."
    said = [f"{runs} results files."]
    apart = [column for column in ("image", "server_version", "commit") if df[column].fillna("-").nunique() > 1]
    if apart:
        said.append(f"Runs that differ in {', '.join(apart)} are drawn side by side, one panel each; verdicts "
                    f"pool them.")
    if df["sessions"].nunique() > 1:
        said.append(f"Charts and verdicts use the largest data size ({df['sessions'].max():,.0f} sessions) unless "
                    f"a chart draws size on an axis.")
    repeated = df.groupby(["workload", "param", "variant", "image", "rtt_ms", "sessions"], dropna=False)["run_id"]
    pooled = int((repeated.nunique() > 1).sum())
    if pooled:
        said.append(f"{pooled} benchmarks measured in more than one run are pooled: each chart and verdict uses "
                    f"the median of their medians, so a headline can differ from any single run's.")
    return " ".join(said)


def report_title(paths: list[str]) -> str:
    ids = [Path(p).stem for p in paths]
    return f"sessionbench report: claims C1–C6 measured ({', '.join(ids[:3])}{', …' if len(ids) > 3 else ''})"


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
    building = _new_folder(out_dir, list(metadata["run_id"].astype(str)))
    try:
        _build(building, paths, sources)
        exporter = HTMLExporter(exclude_input=True, exclude_input_prompt=True, exclude_output_prompt=True)
        executed = [building / "notebooks" / source.name for source in sources]
        body, _ = exporter.from_notebook_node(_bind(executed, paths, report_title(paths)))
        # Self-contained: the report needs neither MathJax nor require.js (charts are PNG, no widgets),
        # and a page that loads scripts from a CDN breaks offline and in strict mail/wiki viewers.
        body = re.sub(r'<script[^>]*\ssrc="https?://[^"]*"[^>]*>\s*</script>', "", body)
        body = body.replace("</head>", f"{PAGE_STYLE}\n</head>", 1)
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


def report(run_paths: list[str], out_dir: str) -> int:
    """The `sessionbench report` command: render, then print where the HTML and the charts are. Exit 0."""
    page = render(run_paths, out_dir)
    print(f"report: {page}")
    print(f"charts: {page.parent / 'charts'} ({len(list((page.parent / 'charts').glob('*.png')))} PNG files)")
    return 0
