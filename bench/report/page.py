"""The report's parts: escaped tables (no index, "n/a" for missing values, counts with separators,
sizes in units, constant columns said once), one-line "not measured" notes, the Runs section with how
several runs are combined, and the Caveats that end the page (bench.report.layout puts them together).

Results files are untrusted: every string from one reaches the page through pandas' HTML escaping
or html.escape, and each chart image carries its finding as alt text.
"""

from __future__ import annotations

import html
from pathlib import Path

import pandas as pd

from bench.verdicts import decisions
from bench.analysis.pooling import POOLED
from bench.analysis.units import size
from bench.results import KEY, load, read, run_info, sizes_of
from bench.verdicts import SHOWN, headline
from bench.report.layout import ACTION_COLOURS, VERDICT_COLOURS, not_measured_line

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


MISSING = "n/a"


def not_measured(what: str):
    """One line in place of a table or chart the runs did not measure, naming what would measure it."""
    from IPython.display import HTML

    return HTML(not_measured_line(what))


def sentence(text: str):
    """A finding computed from the results, as one escaped paragraph (never a raw Python string)."""
    from IPython.display import HTML

    if str(text).lower().startswith("not measured"):
        return not_measured(str(text).split(":", 1)[-1].strip().rstrip("."))
    return HTML(f"<p>{html.escape(str(text))}</p>")


def _number(column: str):
    """How one numeric column reads: counts as integers with thousands separators, byte columns in
    binary units, other numbers to three significant digits (never in exponent form)."""
    def shown(value) -> str:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return str(value)  # the table escapes what its formatters return
        if value != value:  # NaN
            return MISSING
        if "bytes" in column:
            return size(value)
        if float(value).is_integer() or abs(value) >= 1000:
            return f"{value:,.0f}"
        return f"{value:.3g}" if abs(value) >= 1e-3 else f"{value:.2g}"
    return shown


def _said_once(frame: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """Columns that are n/a, or one value, on every row (of three rows or more), taken out of the
    table and said once above it instead."""
    said, keep = [], []
    for column in frame.columns:
        values = frame[column]
        if values.isna().all():
            said.append(f"{column}: {MISSING} in every row")
        elif len(frame) >= 3 and values.map(repr).nunique() == 1 and not values.isna().any():
            said.append(f"{column} = {_number(str(column))(values.iloc[0])} in every row")
        else:
            keep.append(column)
    return frame[keep], said


def folded(frame: pd.DataFrame, column: str, least: int = 4) -> pd.DataFrame:
    """Rows equal in every column but `column`, `least` or more of them, as one row naming them all
    ("24 read paths: select(Session), ..."): a long run of identical rows shown once, nothing dropped."""
    if frame.empty or column not in frame:
        return frame
    others = [c for c in frame.columns if c != column]
    keys = frame[others].astype(str).agg("\x1f".join, axis=1)
    rows, done = [], set()
    for key in keys:
        if key in done:
            continue
        done.add(key)
        group = frame[keys == key]
        if len(group) >= least:
            row = group.iloc[0].copy()
            row[column] = f"{len(group)} {column}s: " + ", ".join(map(str, group[column]))
            rows.append(row)
        else:
            rows.extend(row for _, row in group.iterrows())
    return pd.DataFrame(rows, columns=frame.columns).reset_index(drop=True)


def table(frame: pd.DataFrame, missing: str = "this table (no rows in these runs)", caption: str = ""):
    """A table for the report: no pandas index, "n/a" for a missing value, every cell HTML-escaped
    (results strings are untrusted), text wrapped, counts with thousands separators, byte columns in
    units; a column constant or n/a on every row is said once in the caption, after `caption`. No rows: one line,
    `missing` naming what would measure it (`not_measured`)."""
    if not isinstance(frame, pd.DataFrame):
        return sentence(str(frame))
    if frame.empty:
        return not_measured(missing)
    shown, said = _said_once(frame)
    # Numbers wherever they are, also in a column of mixed values (pandas' own format would print 0.000).
    numeric = [c for c in shown.columns if shown[c].dtype != bool and shown[c].map(
        lambda v: isinstance(v, (int, float)) and not isinstance(v, bool)).any()]
    # One format call: a second would reset the escaping of every column it does not name.
    styled = (shown.style.hide(axis="index")
              .format({c: _number(str(c)) for c in numeric}, na_rep=MISSING, escape="html", precision=3)
              .format_index(escape="html", axis="columns")
              .set_properties(**{"text-align": "left", "white-space": "normal", "vertical-align": "top"})
              .set_table_styles([{"selector": "th", "props": "text-align: left; vertical-align: bottom"}]))
    if said or caption:
        styled = styled.set_caption(html.escape(". ".join(filter(None, [caption, "; ".join(said)]))))
    return styled


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


def closing_sections(paths: list[str]) -> list[tuple[str, str, str]]:
    """The sections that end the page, (heading, anchor, HTML): the runs and how several are combined,
    then the caveats (bench.verdicts.decisions), every results string escaped."""
    df = load(paths)
    return [("Runs", "report-runs", runs_section(paths)),
            ("Caveats", "report-caveats", table(decisions.caveats(paths, df)).to_html())]


def headline_of(found: dict) -> str:
    """'3 confirmed, 1 partly, 1 inconclusive, 1 refuted' from a decision (bench.verdicts.decision)."""
    verdicts = pd.DataFrame({"verdict": [claim["verdict"] for claim in found["claims"]]})
    return headline(verdicts)


def runs_section(paths: list[str]) -> str:
    """The Runs table (escaped) and a sentence on how several results files are combined."""
    metadata = run_metadata(paths)
    return (f'<div class="scroll">{runs_table(paths).to_html()}</div>\n<p>{html.escape(combining(load(paths)))}</p>'
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
                    f"their medians; {POOLED}, so a headline can differ from any single run's.")
    return " ".join(said)


def report_title(paths: list[str]) -> str:
    ids = [Path(p).stem for p in paths]
    return f"sessionbench report: claims C1–C6 measured ({', '.join(ids[:3])}{', …' if len(ids) > 3 else ''})"
