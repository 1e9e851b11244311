"""The report's page: escaped tables (no index, "n/a" for missing values), the Runs section with how
several runs are combined, and the executed notebooks bound into one notebook for nbconvert.

Results files are untrusted: every string from one reaches the page through pandas' HTML escaping
or html.escape, and each chart image carries its finding as alt text.
"""

from __future__ import annotations

import html
import re
from pathlib import Path

import pandas as pd

from bench.results import load, read

KERNEL = "sessionbench-python"


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


def bind(executed: list[Path], paths: list[str], title: str):
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
