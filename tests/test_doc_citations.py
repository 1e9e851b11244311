"""Every documentation section the code, the notebooks or the docs cite exists under that name.

A citation is a document followed by a quoted section name: `README, "Layout"`,
`docs/error-rates.md, "The injected slowdown"` (across a line break too), or a Markdown link to a
heading's anchor (`docs/claims.md#c1-...`). A section is any Markdown heading of that document; a
citation names it, or the start of it.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SOURCES = [*ROOT.glob("bench/**/*.py"), *ROOT.glob("tools/**/*.py"), *ROOT.glob("models_variants/*.py"),
           *ROOT.glob("notebooks/*.ipynb"), *ROOT.glob("docs/*.md"), ROOT / "README.md", ROOT / "pyproject.toml",
           *ROOT.glob(".github/workflows/*.yml")]
CITATION = re.compile(r"(?P<doc>docs/[\w-]+\.md|README(?:\.md)?)`?,?\s+(?:section\s+)?\"(?P<section>[^\"]{3,120})\"")
ANCHOR = re.compile(r"\((?P<doc>(?:\.\./)?docs/[\w-]+\.md|README\.md)#(?P<anchor>[\w-]+)\)")


def _headings(doc: str) -> list[str]:
    path = ROOT / ("README.md" if doc.startswith("README") else doc.removeprefix("../"))
    return [line.lstrip("#").strip() for line in path.read_text().splitlines() if re.match(r"#{1,4} ", line)]


def _anchor(heading: str) -> str:
    """GitHub's anchor of a heading: lower case, punctuation dropped, spaces as hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-")


def _citations() -> list[tuple[str, str, str]]:
    found = []
    for path in SOURCES:
        text = path.read_text()
        for match in CITATION.finditer(text):
            section = " ".join(match["section"].replace("\\n", " ").replace('"', "").split())
            found.append((str(path.relative_to(ROOT)), match["doc"], section))
        for match in ANCHOR.finditer(text):
            found.append((str(path.relative_to(ROOT)), match["doc"], "#" + match["anchor"]))
    return found


def test_citations_are_found():
    """The pattern finds the citations this test exists for (it would pass vacuously otherwise)."""
    cited = {(doc, section) for _, doc, section in _citations()}
    assert ("README", "Layout") in cited
    assert ("docs/compare-rule.md", "Spread between runs") in cited


@pytest.mark.parametrize("where, doc, section", _citations(), ids=lambda value: str(value)[:60])
def test_a_cited_section_exists(where, doc, section):
    headings = _headings(doc)
    if section.startswith("#"):
        assert section[1:] in {_anchor(heading) for heading in headings}, f"{where} links {doc}{section}"
    else:
        assert any(heading.startswith(section) for heading in headings), f"{where} cites {doc}, {section!r}"
