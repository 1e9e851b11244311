"""The report page, read top-down: the decision on the first screen, then the evidence.

First the title and the decision (bench.verdicts.decision, the object `sessionbench verdicts` prints):
the hub profile it assumed, then per claim its verdict, what to do, the deciding evidence and what would
change it, each claim linked to its section. Then one section per executed notebook, its headings as
cards: a chart takes half the width (two side by side on a wide screen), a table the whole width; the
first paragraph of each text shows, the rest folds under "How it is measured". A measurement the runs
did not make is one line naming what makes it (no placeholder image, no empty table), and a section
with nothing measured is one line under its heading. The recommended model, the runs and the caveats
end the page. Each table and chart appears once: the notebooks' own verdict and runs cells are left out.

Results files are untrusted: every string from one reaches the page escaped (the tables by pandas, the
decision and the alt texts here), and the notebooks' own Markdown is ours.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from pathlib import Path

from bench.verdicts import moved
from bench.verdicts.profile import said as value_said

# Cells the page leaves out: parameters, each notebook's own runs table and verdict (the page shows
# them once), and the summary's What to do and Caveats (the decision and the last section say them).
SKIPPED = {"parameters", "injected-parameters", "runs", "what-to-do", "verdict"}
MISSING_MARK = 'class="not-measured"'
# The verdict and action shades of every table that shows them (the Decision here, bench.report.page's tables).
VERDICT_COLOURS = {"confirmed": "#d9f0d3", "refuted": "#f9d5d3", "partly": "#fdf1c7", "inconclusive": "#dde6f3",
                   "not measured": "#eeeeee"}
ACTION_COLOURS = {"adopt": "#d9f0d3", "reject": "#f9d5d3", "change": "#fdf1c7", "undecided": "#dde6f3"}
BRIEF = 120
DECISION = "report-decision"  # the first screen's section  # characters of a long decision text shown before "more"

STYLE = """<style>
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 0; color: #1b1b1b; }
main { max-width: 1240px; margin: 0 auto; padding: 10px 18px 40px; }
h1 { font-size: 19px; margin: 4px 0 4px; }
h2 { font-size: 17px; margin: 26px 0 6px; padding-bottom: 2px; border-bottom: 1px solid #d0d0d0; }
h3 { font-size: 14.5px; margin: 2px 0 4px; }
p { margin: 3px 0 6px; }
a { color: #0b5cad; }
table { border-collapse: collapse; font-size: 12.5px; width: 100%; margin: 4px 0 8px; }
th, td { border-bottom: 1px solid #e3e3e3; padding: 3px 6px; text-align: left; vertical-align: top;
         white-space: normal; }
td { overflow-wrap: anywhere; }
th { background: #f5f5f5; font-weight: 600; overflow-wrap: break-word; }
caption { caption-side: top; text-align: left; color: #555; font-size: 12px; padding: 2px 0; }
.scroll { max-width: 100%; overflow-x: auto; }
.cards { display: grid; grid-template-columns: repeat(auto-fill, minmax(min(100%, 540px), 1fr)); gap: 14px 20px; }
.card { min-width: 0; }
.card.wide { grid-column: 1 / -1; }
img { max-width: 100%; height: auto; display: block; }
.card.wide img { max-width: min(100%, 760px); }
.pair { display: grid; grid-template-columns: repeat(auto-fit, minmax(min(100%, 480px), 1fr)); gap: 8px 20px;
        align-items: start; }
details > summary { cursor: pointer; color: #555; font-size: 12.5px; }
pre { white-space: pre-wrap; font-size: 12.5px; margin: 2px 0; }
.not-measured { color: #555; font-style: italic; }
.lead { color: #333; }
.nav { font-size: 13px; }
table.decision { table-layout: fixed; }
.decision td { font-size: 12.5px; line-height: 1.35; }
.decision .verdict, .decision .action { font-weight: 600; }
.decision .verdict { overflow-wrap: normal; }
.decision small { color: #444; }
</style>"""


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def markdown_html(source: str) -> str:
    """Markdown (the notebooks' own text) as HTML, the way nbconvert renders it."""
    from nbconvert.filters.markdown_mistune import markdown2html_mistune

    return markdown2html_mistune(source)


@dataclass
class Block:
    """One heading of a notebook with the text under it and the outputs that follow."""

    level: int
    heading: str
    anchor: str
    text: list[str] = field(default_factory=list)  # Markdown paragraphs
    outputs: list[tuple[str, str]] = field(default_factory=list)  # (kind, HTML): image, table, missing, text

    @property
    def missing_only(self) -> bool:
        return bool(self.outputs) and all(kind == "missing" for kind, _ in self.outputs)


def _joined(value) -> str:
    return "".join(value) if isinstance(value, list) else str(value)


def output_html(output) -> tuple[str, str] | None:
    """(kind, HTML) of one cell output; None for an output the page does not show."""
    data = output.get("data", {})
    if output.get("output_type") == "stream":
        if output.get("name") == "stderr":  # the kernel's own warnings (a font search), not a finding
            return None
        return "text", f"<pre>{html.escape(_joined(output.get('text', '')))}</pre>"
    if "image/png" in data:
        alt = (output.get("metadata", {}).get("image/png") or {}).get("alt") or "chart"
        encoded = "".join(_joined(data["image/png"]).split())
        return "image", f'<img src="data:image/png;base64,{encoded}" alt="{html.escape(alt)}">'
    for mime, render in (("text/html", str), ("text/markdown", markdown_html)):
        if mime in data:
            body = render(_joined(data[mime]))
            kind = "missing" if MISSING_MARK in body else "table" if "<table" in body else "text"
            return kind, f'<div class="scroll">{body}</div>' if kind == "table" else body
    if "text/plain" in data:
        return "text", f"<pre>{html.escape(_joined(data['text/plain']))}</pre>"
    return None


def blocks_of(path: Path) -> list[Block]:
    """The notebook's headings as Blocks, in order, with the cells the page leaves out skipped."""
    import nbformat

    blocks: list[Block] = []
    for cell in nbformat.read(path, as_version=4).cells:
        if SKIPPED & set(cell.get("metadata", {}).get("tags", [])):
            continue
        if cell.cell_type == "markdown":
            paragraph: list[str] = []
            for line in cell.source.splitlines() + [""]:
                match = re.match(r"^(#{1,3})\s+(.*)", line)
                if match or not line.strip():
                    if paragraph and blocks:
                        blocks[-1].text.append("\n".join(paragraph))
                    paragraph = []
                if match:
                    heading = match.group(2).strip()
                    blocks.append(Block(len(match.group(1)), heading, f"{path.stem}-{slug(heading)}"))
                elif line.strip():
                    paragraph.append(line)
        elif blocks:
            for output in cell.get("outputs", []):
                found = output_html(output)
                if found:
                    blocks[-1].outputs.append(found)
    return blocks


def _first_sentence(paragraph: str) -> tuple[str, str]:
    """A paragraph cut after its first sentence (not inside `code` or **bold**), and the rest."""
    for match in re.finditer(r"[.?!] ", paragraph):
        cut = match.end()
        head = paragraph[:cut]
        if cut >= 40 and head.count("`") % 2 == 0 and head.count("**") % 2 == 0:
            return head.rstrip(), paragraph[cut:]
    return paragraph, ""


def _text(block: Block) -> str:
    """The first sentence as it is; the rest folded under "How it is measured"."""
    if not block.text:
        return ""
    first, more = _first_sentence(block.text[0])
    rest = "\n\n".join(filter(None, [more, *block.text[1:]]))
    return markdown_html(first) + (f"<details><summary>How it is measured</summary>{markdown_html(rest)}</details>"
                                   if rest else "")


def _missing_line(block: Block) -> str:
    found = "".join(body for _, body in block.outputs)
    messages = re.findall(r'<p class="not-measured">(.*?)</p>', found, flags=re.S)
    said = "; ".join(dict.fromkeys(m.removeprefix("Not measured: ").rstrip(".") for m in messages))
    return f'<p class="not-measured"><b>{html.escape(block.heading)}</b>: not measured: {said}.</p>'


def _card(block: Block) -> str:
    if block.missing_only:
        return f'<div class="card wide" id="{block.anchor}">{_missing_line(block)}</div>'
    kinds = {kind for kind, _ in block.outputs}
    wide = "wide" if kinds - {"image", "missing"} or not kinds else ""
    body = "".join(part for _, part in block.outputs)
    if "image" in kinds and "table" in kinds:  # a chart and its table side by side
        images = "".join(part for kind, part in block.outputs if kind == "image")
        rest = "".join(part for kind, part in block.outputs if kind != "image")
        body = f'<div class="pair"><div>{images}</div><div>{rest}</div></div>'
    return (f'<div class="card {wide}" id="{block.anchor}"><h3>{html.escape(block.heading)}</h3>'
            f"{_text(block)}{body}</div>")


def section_html(blocks: list[Block]) -> str:
    """One notebook as a section: its title (h2) and first paragraph, then its headings as cards; a
    notebook with nothing measured is its title and one line."""
    if not blocks:
        return ""
    head, cards = blocks[0], [b for b in blocks[1:] if b.outputs or b.text]
    out = [f'<section id="{head.anchor}"><h2>{html.escape(head.heading)}</h2>']
    measured = [b for b in cards if b.outputs and not b.missing_only]
    if not measured and any(b.missing_only for b in cards):
        said = " ".join(_missing_line(b) for b in cards if b.missing_only)
        return "\n".join(out + [markdown_html(head.text[0]) if head.text else "", said, "</section>"])
    out.append(_text(head))
    for block in head.outputs:
        out.append(block[1])
    out.append('<div class="cards">' + "\n".join(_card(b) for b in cards) + "</div></section>")
    return "\n".join(out)


def claims_of(heading: str) -> list[str]:
    """'C3, C4 — Deletion: ...' -> ['C3', 'C4']: the claims a section is the evidence for."""
    before = heading.split("—", 1)[0] if "—" in heading else ""
    return re.findall(r"\bC\d\b", before)


def _nav_name(heading: str) -> str:
    """'C1 — Loading strategies: does ...' -> 'C1 Loading strategies'; 'Growth with the data size — ...' ->
    'Growth with the data size'."""
    before, _, after = heading.partition("—")
    claims = claims_of(heading)
    return f"{', '.join(claims)} {after.split(':')[0].strip()}" if claims else before.split(":")[0].strip()


def _brief(text: str) -> str:
    """A decision text escaped; past BRIEF characters, its first part and the whole under "more"."""
    text = " ".join(str(text).split())
    if len(text) <= BRIEF:
        return html.escape(text)
    cut = text.rfind("; ", 0, BRIEF)
    cut = cut if cut > 40 else text.rfind(" ", 0, BRIEF)
    return (f"{html.escape(text[:cut].rstrip(';'))} … <details><summary>more</summary>"
            f"{html.escape(text)}</details>")


def not_measured_line(what: str) -> str:
    """The one line that stands in for a table or chart the runs did not measure, naming what would
    measure it (notebook cells and the page show the same)."""
    what = what.removeprefix("not measured:").strip().rstrip(".")
    return f'<p {MISSING_MARK}>Not measured: {html.escape(what)}.</p>'


def _short(variant: str) -> str:
    return variant.split("=", 1)[-1] if "," not in variant else variant


def profile_line(profile: dict) -> str:
    """The hub the decision is for: the profile file and its hash, what it states, what is assumed."""
    if profile.get("file"):
        stated = ", ".join(f"{k} = {value_said(k, v)}" for k, v in profile.get("stated", {}).items()) or "nothing"
        said = f"Hub profile {profile['file']} (sha256 {str(profile.get('sha256'))[:12]}): {stated}."
    else:
        said = "No hub profile given (--profile FILE): the rules use their defaults."
    words = profile.get("assumed_said", {})
    assumed = [f"{k} = {words.get(k, 'the measured size' if v is None else v)} ({profile['read_by'][k].split(' ')[0]})"
               for k, v in profile.get("assumed", {}).items() if k in profile.get("read_by", {})]
    if assumed:
        said += " Assumed: " + ", ".join(assumed) + "."
    return html.escape(said)


def changes_it(claim: dict) -> str:
    """The break-evens the decision found for the claim's profile values, then the rule's own thresholds."""
    evens = [f"{even['parameter']}: {even['said']}" for even in claim.get("break_even", [])]
    return "; ".join([*evens, claim.get("what_changes_it", "")])


def decision_html(found: dict, anchors: dict[str, str], headline: str) -> str:
    """The first screen: per claim its verdict, what to do, the deciding evidence and what would change it."""
    rows = []
    for claim in found["claims"]:
        anchor = anchors.get(claim["claim"])
        name = html.escape(claim["claim"])
        link = f'<a href="#{anchor}">{name}</a>' if anchor else name
        do = html.escape(claim["action"])
        picked = ", ".join(_short(v) for v in claim["recommended"])
        if picked:
            do += f" → {html.escape(picked)}"
        if claim["tie"]:
            do += (f"<br><small>a tie with {html.escape(', '.join(_short(v) for v in claim['tied_with']))}; "
                   f"decided by {html.escape(claim['decided_by'].split(' (')[0])}</small>")
        verdict = claim["verdict"]
        reason = claim["reason"] + ("; costs: " + "; ".join(claim["costs"]) if claim.get("costs") else "")
        deciding = _brief(claim["deciding"]) if not claim.get("halves") else "<br>".join(
            f"<b>{html.escape(half['half'])}</b>: {html.escape(half['answer'])} ({html.escape(half['deciding'])})"
            for half in claim["halves"])
        rows.append(
            f"<tr><td>{link}: {html.escape(claim['statement'])}</td>"
            f'<td class="verdict" style="background:{VERDICT_COLOURS.get(verdict, "transparent")}">'
            f"{html.escape(verdict)}</td>"
            f'<td style="background:{ACTION_COLOURS.get(claim["action"], "transparent")}">'
            f'<span class="action">{do}</span><br>{_brief(reason)}</td>'
            f"<td>{deciding}</td><td>{_brief(changes_it(claim))}</td></tr>")
    return (f'<h2>Decision</h2>\n<p class="lead">{html.escape(headline)}. '
            f"{profile_line(found['profile'])}</p>\n"
            '<div class="scroll"><table class="decision"><colgroup><col style="width:18%"><col style="width:7.6em">'
            '<col style="width:30%"><col style="width:25%"><col style="width:19%"></colgroup>'
            "<thead><tr><th>claim</th><th>verdict</th><th>what to do</th><th>deciding evidence</th>"
            "<th>what would change it</th></tr></thead>\n<tbody>" + "\n".join(rows) + "</tbody></table></div>"
            + costs_html(found.get("recommended_model") or {}) + moved_html(found.get("facts_moved") or []))


def moved_html(found: list[dict]) -> str:
    """Facts read as exact that differed between the pooled runs, each read as its median; '' for none."""
    if not found:
        return ""
    return (f'<p class="lead">Facts that moved between the runs, each read as its median over them: '
            f"{html.escape(moved.said(found))}.</p>")


def costs_html(model: dict) -> str:
    """What the recommended model (every claim's choice at once) costs against the model as reviewed."""
    slower = [f"{row['workload']}{' ' + row['param'] if row['param'] else ''} {row['ratio']} "
              f"({'; '.join(row['caused_by'])})" for row in model.get("slower", [])]
    larger = model.get("larger") or {}
    said = []
    if slower:
        said.append("slower on " + ", ".join(slower))
    if larger:
        said.append(f"tables and indexes {larger['bytes']} bytes ({', '.join(larger['caused_by'])})")
    if not said:
        return ""
    return (f'<p class="lead">The recommended model ({html.escape(_short_all(model.get("variant", "")))}) against '
            f"the model as reviewed: {html.escape('; '.join(said))}. In brackets, which of its choices costs it on "
            f"its own; each claim's row names its own.</p>")


def _short_all(variant: str) -> str:
    return ", ".join(part.split("=", 1)[-1] for part in variant.split(","))


def page(executed: list[Path], title: str, found: dict, headline: str, closing: list[tuple[str, str, str]]) -> str:
    """The whole page as one self-contained HTML document. `closing`: (heading, anchor, HTML) sections
    that end it (the runs, the caveats)."""
    sections = [(path, blocks_of(path)) for path in executed]
    summary = [s for s in sections if s[0].stem.startswith("00")]
    evidence = [s for s in sections if not s[0].stem.startswith("00")]
    anchors = {claim: blocks[0].anchor for _, blocks in evidence if blocks for claim in claims_of(blocks[0].heading)}
    # The summary notebook's own title, intro and verdicts are the decision; the rest of it (the
    # recommended model) is evidence like any other section.
    tail = [blocks[1:] for _, blocks in summary]
    for blocks in tail:
        for block in blocks:
            block.level -= 1
    parts = [section_html(blocks) for _, blocks in evidence]
    parts += ["\n".join(f'<section id="{b.anchor}"><h2>{html.escape(b.heading)}</h2>{_text(b)}'
                        + "".join(body for _, body in b.outputs) + "</section>" for b in blocks) for blocks in tail]
    listed = [(_nav_name(b[0].heading), b[0].anchor) for _, b in evidence if b]
    listed += [(b.heading, b.anchor) for blocks in tail for b in blocks]
    listed += [(heading, anchor) for heading, anchor, _ in closing]
    nav = " · ".join(f'<a href="#{anchor}">{html.escape(text)}</a>' for text, anchor in listed)
    closing_html = [f'<section id="{anchor}"><h2>{html.escape(heading)}</h2>\n{body}</section>'
                    for heading, anchor, body in closing]
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{html.escape(title)}</title>{STYLE}</head>\n<body><main>\n"
            f'<h1>{html.escape(title)}</h1>\n<section id="{DECISION}">{decision_html(found, anchors, headline)}\n'
            f'<p class="nav">Evidence: {nav}</p></section>\n' + "\n".join(parts + closing_html)
            + "\n</main></body></html>\n")
