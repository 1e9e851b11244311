"""The report's page: escaped tables (no index, "n/a" for missing values), the Runs section with how
several runs are combined, the executed notebooks bound into one notebook for nbconvert, and the
What to do and Caveats sections that end it.

Results files are untrusted: every string from one reaches the page through pandas' HTML escaping
or html.escape, and each chart image carries its finding as alt text.
"""

from __future__ import annotations

import html
import re
from pathlib import Path

import pandas as pd

from bench.verdicts import decisions
from bench.results import KEY, load, read, run_info, sizes_of
from bench.verdicts import SHOWN, headline
from bench.verdicts import verdicts as verdicts_of

KERNEL = "sessionbench-python"


def run_metadata(paths: list[str]) -> pd.DataFrame:
    """One row per results file: what produced the numbers."""
    rows = []
    for path in paths:
        doc = read(path)
        meta = run_info(doc)
        rows.append({"run_id": meta.get("run_id"), "backend": meta.get("backend"),
                     "server_version": meta.get("server_version"), "scale": meta.get("scale"),
                     "sessions": sessions_of(meta), "seed": meta.get("seed"), "commit": _short(meta.get("commit")),
                     "datetime": doc.get("datetime"), "benchmarks": len(doc["benchmarks"]),
                     "timed as": timed_as(meta),
                     "sqlalchemy": (meta.get("packages") or {}).get("sqlalchemy"), "file": Path(path).name})
    return pd.DataFrame(rows)


def _short(commit):
    """A commit as `git log --oneline` shows it: 40 unbreakable characters pushed the run table off the page."""
    return commit[:12] if isinstance(commit, str) else commit


def sessions_of(meta: dict):
    """Every data size of the run (a size sweep has several), smallest first; the first size
    alone when the file lists no sizes."""
    found = sizes_of(meta)
    return "; ".join(f"{n:,}" for n in found) if len(found) > 1 else meta.get("sessions")


def timed_as(meta: dict) -> str | None:
    """How the rounds were scheduled (bench.measure.priority, bench.measure.placement), in a few words; None when
    the file does not say (an older run) or says it in a shape a run never writes."""
    def whole(value) -> bool:
        return isinstance(value, int) and not isinstance(value, bool)

    held, place = meta.get("priority"), meta.get("placement")
    parts = []
    if isinstance(held, dict) and whole(held.get("nice")):
        parts.append(f"nice {held['nice']}" + (" (server backends too)" if held.get("backend_groups_raised") is True
                                               else ""))
    if isinstance(place, dict) and whole(place.get("cpu")):
        parts.append(f"one CPU ({place['cpu']})" + ("" if place.get("server_pinned") is True else ", client only"))
    elif isinstance(place, dict) and place.get("asked") in ("same", "free"):
        parts.append("any CPU")
    return ", ".join(parts) or None


VERDICT_COLOURS = {"confirmed": "#d9f0d3", "refuted": "#f9d5d3", "partly": "#fdf1c7", "inconclusive": "#dde6f3",
                   "not measured": "#eeeeee"}
ACTION_COLOURS = {"adopt": "#d9f0d3", "reject": "#f9d5d3", "change": "#fdf1c7", "undecided": "#dde6f3"}
MISSING = "n/a"


def table(frame: pd.DataFrame):
    """A table for the report: no pandas index, "n/a" for a missing value, every cell HTML-escaped
    (results strings are untrusted), text wrapped."""
    return (frame.style.hide(axis="index").format(na_rep=MISSING, escape="html", precision=3)
            .format_index(escape="html", axis="columns")
            .set_properties(**{"text-align": "left", "white-space": "normal", "vertical-align": "top"})
            .set_table_styles([{"selector": "th", "props": "text-align: left; vertical-align: bottom"}]))


def _shaded(frame: pd.DataFrame, column: str, colours: dict):
    return table(frame).map(
        lambda v: f"background-color: {colours.get(v, 'transparent')}; font-weight: bold", subset=[column])


def verdict_table(verdicts: pd.DataFrame):
    """The verdict table as a styled HTML table (full text, wrapped, verdicts shaded); the action on the
    review's recommendation is shown by `decision_table`."""
    return _shaded(verdicts[[c for c in SHOWN if c in verdicts]], "verdict", VERDICT_COLOURS)


def decision_table(todo: pd.DataFrame):
    """What to do with each review recommendation (bench.verdicts.decisions.what_to_do), actions shaded."""
    return _shaded(todo, "do", ACTION_COLOURS)


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
    """Cells the bound report leaves out: parameters, each notebook's own Runs table (shown once, on top),
    and the summary's What to do and Caveats (the report ends with them)."""
    tags = cell.get("metadata", {}).get("tags", [])
    return bool({"parameters", "injected-parameters", "runs", "what-to-do"} & set(tags))


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
    contents += [(1, heading, anchor) for heading, anchor in CLOSING]
    toc = "\n".join(f"{'  ' * (level - 1)}- [{html.escape(text)}](#{anchor})" for level, text, anchor in contents)
    head = nbformat.v4.new_code_cell(outputs=[nbformat.v4.new_output(
        "display_data", {"text/html": runs_section(paths)})])
    combined.cells[:0] = [nbformat.v4.new_markdown_cell(f"# {html.escape(title)}"), head,
                          nbformat.v4.new_markdown_cell("## Contents\n\n" + toc)]
    combined.cells.append(nbformat.v4.new_code_cell(outputs=[nbformat.v4.new_output(
        "display_data", {"text/html": closing_section(paths)})]))
    combined.metadata.update(title=title, kernelspec={"name": KERNEL, "display_name": "Python",
                                                      "language": "python"})
    return combined


# The sections that end the report: (heading, anchor).
CLOSING = (("What to do", "report-what-to-do"), ("Caveats", "report-caveats"))


def closing_section(paths: list[str]) -> str:
    """What to do with each of the review's recommendations, then the caveats: the report's last
    sections, computed from the results (bench.verdicts, bench.verdicts.decisions) and escaped."""
    df = load(paths)
    verdicts = verdicts_of(df, decisions.delete_paths(paths))
    (todo, todo_anchor), (caveats, caveats_anchor) = CLOSING
    return (f'<h2 id="{todo_anchor}">{todo}</h2>\n<p>{html.escape(headline(verdicts))}. One line per recommendation '
            f'of the review: adopt, reject, change, or undecided while the deciding interval straddles its '
            f'threshold.</p>\n{decision_table(decisions.what_to_do(verdicts)).to_html()}\n'
            f'<h2 id="{caveats_anchor}">{caveats}</h2>\n{table(decisions.caveats(paths, df)).to_html()}')


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
    repeated = df.groupby(KEY, dropna=False)["run_id"]
    pooled = int((repeated.nunique() > 1).sum())
    if pooled:
        said.append(f"{pooled} benchmarks measured in more than one run are pooled: each chart uses the median of "
                    f"their medians, each verdict the median ratio with an interval spanning every run's, so a "
                    f"headline can differ from any single run's.")
    return " ".join(said)


def report_title(paths: list[str]) -> str:
    ids = [Path(p).stem for p in paths]
    return f"sessionbench report: claims C1–C6 measured ({', '.join(ids[:3])}{', …' if len(ids) > 3 else ''})"
