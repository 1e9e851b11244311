"""docs/claims.md: the six claims live in the repository, named as the report names them."""

import re
from pathlib import Path

import pytest

from bench import verdicts
from bench.analysis import growth
from bench.verdicts import loading, migration, rules
from bench.verdicts import storage as verdicts_storage, timestamps as verdicts_time
from bench.report import notebook_paths

pytestmark = pytest.mark.quick  # `python -m pytest -m "quick and not slow"`: the README's first-hour check
ROOT = Path(__file__).resolve().parent.parent
CLAIMS = (ROOT / "docs" / "claims.md").read_text()


def test_every_claim_the_report_names_has_a_section_with_what_confirms_and_refutes_it():
    assert set(verdicts.STATEMENTS) == {f"C{n}" for n in range(1, 7)}
    sections = re.split(r"^## ", CLAIMS, flags=re.M)[1:]
    by_claim = {section.split(":", 1)[0]: section for section in sections}
    assert sorted(by_claim) == sorted(verdicts.STATEMENTS)
    for claim, section in by_claim.items():
        assert "**Confirms" in section and "**Refutes" in section, claim


def test_each_claim_names_notebooks_and_workloads_that_exist():
    from bench.workloads import load_all

    notebooks = {path.stem for path in notebook_paths(ROOT / "notebooks")}
    table = [line for line in CLAIMS.splitlines() if re.match(r"\| C\d \|", line)]
    assert len(table) == 6
    for line in table:
        settled_by = line.rstrip("|").rsplit("|", 1)[-1]
        named = re.findall(r"`(\w+)`", settled_by)
        assert named and all(name in load_all() or name in notebooks for name in named), line
        assert any(name in notebooks for name in named), line


def test_the_thresholds_quoted_are_the_constants_the_verdicts_apply():
    for value, name in ((rules.FIX_RATIO, "FIX_RATIO"), (growth.SCAN_SLOPE, "SCAN_SLOPE"),
                        (verdicts_storage.AFFORDABLE_RATIO, "AFFORDABLE_RATIO"),
                        (migration.MASSIVE_SECONDS, "MASSIVE_SECONDS"),
                        (verdicts_time.NTP_SKEW_MS, "NTP_SKEW_MS")):
        assert re.search(rf"\b{value:g}\b[^`]{{0,12}}\(`{name}`", CLAIMS), name
    assert migration.MASSIVE_WAL_BYTES == 2**30 and "1 GiB of WAL" in CLAIMS
    assert f"ceil(page / {loading.SELECTIN_BATCH})" in CLAIMS


def test_the_readme_links_the_claims_inside_the_repository():
    readme = (ROOT / "README.md").read_text()
    assert "docs/claims.md" in readme
    assert "../shared" not in readme
