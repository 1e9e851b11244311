"""The HTML report as a reviewer's browser shows it: built from hostile results files, nothing from a
results file runs or becomes a path, every chart loads with a real alt text, no id repeats; built from a
default run, the decision fills the first screen and nothing is wider than the window; and an
interrupted report or a notebook run on its own leaves nothing behind."""

import json
import os
import re
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from bs4 import BeautifulSoup

from bench.report import browser, layout, plotting
from bench.report import _kernel, execute, render
from bench.report.page import closing_sections, headline_of
from bench.verdicts.decision import decision
from bench.results import FORMAT_VERSION, load
from tests.test_notebooks import NOTEBOOKS, ROOT, small_run  # noqa: F401 - the shared session fixture

# Each payload marks the page if it ever runs; escaped, it is only text.
SCRIPT = "<script>document.documentElement.setAttribute('data-injected','script')</script>"
ONERROR = "<img src=x onerror=\"document.documentElement.setAttribute('data-injected','onerror')\">"
MATHTEXT = r"$\undefinedcommand{x}$"  # chart text: would fail to draw if taken as mathtext
PLACEHOLDER = "No description has been provided for this image"
needs_browser = pytest.mark.skipif(browser.chromium() is None and not os.environ.get("SESSIONBENCH_REQUIRE_BROWSER"),
                                   reason="chromium is not installed (CI installs the Debian package and requires it)")


def hostile_copy(run: str, folder: Path) -> Path:
    """The real run with hostile strings wherever a results file holds text, and a run_id that is a path."""
    doc = json.loads(Path(run).read_text())
    meta = doc["sessionbench"]
    meta.update(run_id="../../evil", backend=SCRIPT, server_version=ONERROR, scale=MATHTEXT)
    meta["packages"]["sqlalchemy"] = SCRIPT
    meta["machine"]["cpu_model"] = ONERROR  # shown in the Caveats that end the page
    meta["delete_paths"][0].update(label=ONERROR, error=SCRIPT)
    for bench in doc["benchmarks"]:
        info = bench["extra_info"]
        info.update(label=SCRIPT + MATHTEXT, image=SCRIPT + MATHTEXT)  # drawn as its own panel beside the real run
        if info["workload"] == "session_detail":
            info["param"] += ONERROR + MATHTEXT  # a tick label, and part of the chart's title
    doc["benchmarks"][0]["extra_info"]["workload"] = SCRIPT
    path = folder / "hostile.json"
    path.write_text(json.dumps(doc))
    return path


@pytest.fixture(scope="module")
def hostile_report(small_run, tmp_path_factory):  # noqa: F811
    folder = tmp_path_factory.mktemp("hostile")
    out = folder / "deep" / "reports"
    page = render([small_run, str(hostile_copy(small_run, folder))], out)
    return folder, out, page


@pytest.mark.db
@pytest.mark.slow
def test_no_path_comes_from_a_results_file(hostile_report):
    folder, out, page = hostile_report
    assert page.parent.parent == out.resolve()
    assert [p.name for p in out.iterdir()] == [page.parent.name] and page.parent.name.endswith("-evil")
    assert sorted(p.name for p in folder.iterdir()) == ["deep", "hostile.json"]
    assert not (folder / "evil").exists() and not (folder.parent / "evil").exists()
    charts = sorted(p.stem for p in (page.parent / "charts").glob("*.png"))
    assert charts and set(charts) <= set(plotting.CHARTS)  # a chart nothing was measured for has no file


@pytest.mark.db
@pytest.mark.slow
def test_the_page_escapes_results_strings_and_reads_as_one_report(hostile_report, small_run):  # noqa: F811
    folder, _, page = hostile_report
    text = page.read_text()
    soup = BeautifulSoup(text, "html.parser")
    assert "<script>document.documentElement" not in text and "<img src=x onerror" not in text
    assert "&lt;script&gt;document.documentElement" in text  # shown, as text
    assert not soup.find(attrs={"onerror": True})
    assert soup.title.string.startswith("sessionbench report") and "Notebook" not in soup.title.string
    assert [h.get_text(strip=True) for h in soup.find_all("h2")].count("Runs") == 1
    assert "overflow-x: auto" in text  # wide tables scroll in their own box, not the page
    assert str(folder) not in text and str(Path(small_run).parent) not in text  # file names only
    cells = [td.get_text(strip=True) for td in soup.find_all("td")]
    assert "NaN" not in cells and "None" not in cells and "nan" not in cells
    assert not soup.select("th.row_heading, tbody th")  # no pandas index column
    assert "2 results files" in text and "side by side" in text  # how the runs are combined is said


@pytest.mark.db
@pytest.mark.slow
def test_the_page_opens_with_the_decision_and_ends_with_the_runs_and_caveats(hostile_report):
    _, _, page = hostile_report
    soup = BeautifulSoup(page.read_text(), "html.parser")
    sections = [s["id"] for s in soup.select("main > section")]
    assert sections[0] == layout.DECISION and sections[-2:] == ["report-runs", "report-caveats"]
    tables = soup.find_all("table", class_="decision")
    assert len(tables) == 1  # the verdicts once: no notebook's own verdict table on the page
    rows = [[td.get_text(" ", strip=True) for td in tr.find_all("td")] for tr in tables[0].find("tbody").find_all("tr")]
    assert [r[0].split(":")[0].strip() for r in rows] == ["C1", "C2", "C3", "C4", "C5", "C6"]
    assert all(r[1] in ("confirmed", "refuted", "partly", "inconclusive", "not measured") for r in rows)
    assert all(r[2].split()[0] in ("adopt", "reject", "change", "undecided") and r[3] and r[4] for r in rows)
    for link in tables[0].find_all("a"):  # each claim links to its evidence
        assert soup.find(id=link["href"][1:]) is not None
    caveats = soup.find(id="report-caveats").get_text(" ", strip=True)
    assert "<img src=x onerror" in caveats  # the hostile CPU model, shown as text
    assert "Clock skew between hosts (C6)" in caveats and "Load during the run" in caveats
    assert "No hub profile given" in soup.find(id=layout.DECISION).get_text()


@pytest.mark.db
@pytest.mark.slow
def test_a_measurement_the_run_did_not_make_is_one_line_naming_the_command(hostile_report):
    _, _, page = hostile_report
    soup = BeautifulSoup(page.read_text(), "html.parser")
    load = soup.find(id=lambda i: i and i.startswith("06_concurrency"))
    assert not load.find("img") and not load.find("table")  # no placeholder, no empty table
    assert "run with --clients 1,4,8" in load.get_text()
    assert "'not measured" not in soup.get_text()  # no raw Python string
    for table in soup.find_all("table"):
        assert table.find("tbody") and table.find("tbody").find("td"), "a header-only table"


def test_the_closing_sections_and_the_decision_escape_every_string_of_a_results_file(tmp_path):
    doc = {"sessionbench": {"format_version": FORMAT_VERSION, "run_id": "r1", "backend": SCRIPT,
                            "machine": {"cpu_model": ONERROR, "kernel": SCRIPT}, "load": {"noisy": True}},
           "benchmarks": []}
    path = tmp_path / "hostile.json"
    path.write_text(json.dumps(doc))
    closing = closing_sections([str(path)])
    assert [(heading, anchor) for heading, anchor, _ in closing] == [("Runs", "report-runs"),
                                                                     ("Caveats", "report-caveats")]
    found = decision([str(path)])
    shown = layout.decision_html(found, {}, headline_of(found)) + "".join(body for _, _, body in closing)
    assert "<script>" not in shown and "<img src=x" not in shown
    assert "&lt;img src=x onerror" in shown and "&lt;script&gt;" in shown
    assert headline_of(found) == "6 not measured"  # no benchmarks: every claim says so


def test_a_table_shows_counts_with_separators_sizes_in_units_and_says_constant_columns_once():
    import pandas as pd

    from bench.report.page import table

    frame = pd.DataFrame({"case": ["a", "b", "c"], "rows": [1.0, 2500.0, None], "wal_bytes": [100, 2048, 3 * 1024 ** 2],
                          "image": [None] * 3, "kind": ["x", "x", "x"], "ratio": [0.01234, 1.5, 1234.5]})
    shown = table(frame).to_html()
    cells = [td.get_text() for td in BeautifulSoup(shown, "html.parser").find_all("td")]
    assert cells == ["a", "1", "100 B", "0.0123", "b", "2,500", "2 KiB", "1.5", "c", "n/a", "3 MiB", "1,234"]
    caption = BeautifulSoup(shown, "html.parser").find("caption").get_text()
    assert caption == "image: n/a in every row; kind = x in every row"
    assert "not-measured" in table(frame.iloc[0:0], "the load (run with --clients 1,4,8)").data


@pytest.mark.db
@pytest.mark.slow
@pytest.mark.browser
@needs_browser
def test_headless_chromium_finds_no_broken_image_duplicate_id_placeholder_alt_error_or_injected_script(
        hostile_report):
    _, _, page = hostile_report
    found = browser.probe(page)
    assert found["errors"] == []
    assert found["images"] and all(image["loaded"] for image in found["images"])
    assert all(image["alt"] and image["alt"] != PLACEHOLDER and len(image["alt"]) > 20 for image in found["images"])
    soup = BeautifulSoup(page.read_text(), "html.parser")
    assert not soup.find(attrs={"data-injected": True}), "a script from a results file ran"
    ids = [element["id"] for element in soup.find_all(id=True)]
    assert len(ids) == len(set(ids)), sorted({i for i in ids if ids.count(i) > 1})


@pytest.fixture(scope="module")
def default_report(small_run, tmp_path_factory):  # noqa: F811
    return render([small_run], tmp_path_factory.mktemp("default") / "reports")


@pytest.mark.db
@pytest.mark.slow
@pytest.mark.browser
@needs_browser
def test_the_first_screen_is_the_decision_and_nothing_is_wider_than_the_window(default_report):
    wide = browser.probe(default_report, 1280, 800)
    assert wide["errors"] == [] and wide["decision_tables"] == 1
    assert [row["claim"] for row in wide["decision_rows"]] == ["C1", "C2", "C3", "C4", "C5", "C6"]
    assert max(row["bottom"] for row in wide["decision_rows"]) <= 800  # every verdict and action on screen
    assert wide["page_width"] <= 1280 and wide["wider"] == [] and wide["scrollers"] == []
    keys = [image["key"] for image in wide["images"]]
    assert len(keys) == len(set(keys))  # no two identical images
    assert wide["height"] <= 30_577 / 3  # a third of the page before the decision led it
    narrow = browser.probe(default_report, 800, 800)
    assert narrow["page_width"] <= 800 and narrow["wider"] == []  # wide tables scroll in their own box
    assert not any(box["decision"] for box in narrow["scrollers"])
    assert all(row["right"] <= 800 for row in narrow["decision_rows"])  # verdict and action visible


@pytest.mark.db
@pytest.mark.slow
@pytest.mark.browser
@needs_browser
def test_one_command_screenshots_the_first_screen_and_each_section(default_report, tmp_path, capsys):
    from bench.cli import main

    assert main(["screenshots", str(default_report), "--out", str(tmp_path / "shots")]) == 0
    shots = sorted(p.name for p in (tmp_path / "shots").glob("*.png"))
    sections = BeautifulSoup(default_report.read_text(), "html.parser").select("main > section")
    assert shots[0] == "01-first-screen.png" and len(shots) == 1 + len(sections)
    assert capsys.readouterr().out.strip().splitlines()[-1].startswith(f"screenshots: {tmp_path / 'shots'}")
    assert main(["screenshots", str(default_report), "--out", str(tmp_path / "shots")]) == 2  # never overwritten


def _read_until(process: subprocess.Popen, marker: str, seconds: float) -> str:
    seen, deadline = "", time.monotonic() + seconds
    while marker not in seen:
        left = deadline - time.monotonic()
        assert left > 0, f"never saw {marker!r}: {seen!r}"
        ready, _, _ = select.select([process.stdout], [], [], left)
        chunk = os.read(process.stdout.fileno(), 4096).decode() if ready else ""
        assert chunk or process.poll() is None, f"report ended early: {seen!r}"
        seen += chunk
    return seen


@pytest.mark.db
@pytest.mark.slow
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_an_interrupted_report_leaves_no_folder(signum, small_run, tmp_path):  # noqa: F811
    out = tmp_path / "reports"
    process = subprocess.Popen([sys.executable, "-m", "bench.cli", "report", small_run, "--out", str(out)],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=ROOT)
    try:
        _read_until(process, f"[2/{len(NOTEBOOKS)}]", 180)  # the first notebook is done, the second is executing
        assert any(out.iterdir())  # the report is being built
        process.send_signal(signum)
        process.wait(60)
    finally:
        process.kill()
        process.communicate()
    assert process.returncode != 0
    time.sleep(2)  # a kernel still drawing must not re-create anything
    assert list(out.iterdir()) == []


@pytest.mark.db
@pytest.mark.slow
def test_a_notebook_run_on_its_own_removes_its_fresh_run(open_tmp_path, monkeypatch):
    scratch = open_tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setenv("TMPDIR", str(scratch))  # the kernel and the fresh run make their temp folders here
    notebook = next(path for path in NOTEBOOKS if path.stem == "04_storage_and_time")
    with _kernel() as kernel:
        execute(notebook, open_tmp_path / notebook.name, {"results": [], "out_dir": None}, kernel, open_tmp_path)
    text = (open_tmp_path / notebook.name).read_text()
    assert "measured migrate_audio_storage" in text  # it did measure on its own
    assert not list(scratch.glob("sessionbench-fresh-*"))


def test_the_run_table_says_how_rounds_were_scheduled_and_ignores_shapes_a_run_never_writes():
    from bench.report.page import timed_as

    pinned = {"priority": {"nice": -10}, "placement": {"asked": "same", "cpu": 1, "server_pinned": True}}
    assert timed_as(pinned) == "nice -10, one CPU (1)"
    assert timed_as({**pinned, "placement": {"asked": "same", "cpu": 1, "server_pinned": False}}) == \
        "nice -10, one CPU (1), client only"
    assert timed_as({"priority": {"nice": 0}, "placement": {"asked": "free", "cpu": None}}) == "nice 0, any CPU"
    assert timed_as({**pinned, "priority": {"nice": -10, "backend_groups_raised": True}}) == \
        "nice -10 (server backends too), one CPU (1)"
    assert timed_as({}) is None  # an older run
    for strange in ({"priority": "nice -10", "placement": ["cpu", 1]}, {"priority": {"nice": True}},
                    {"placement": {"cpu": "<script>", "asked": "<b>"}}):
        assert timed_as(strange) is None


def test_the_run_table_lists_every_size_of_a_sweep():
    from bench.report.page import sessions_of

    assert sessions_of({"sessions": 1000, "sizes": [{"sessions": 10000}, {"sessions": 1000}, {"sessions": 1000}]}) \
        == "1,000; 10,000"
    assert sessions_of({"sessions": 1000, "sizes": [{"sessions": 1000}]}) == 1000
    assert sessions_of({"sessions": 200, "sizes": "many"}) == 200
    assert sessions_of({"sessions": 200, "sizes": [{"sessions": "<b>"}, None, {"sessions": True}]}) == 200


RATIO = re.compile(r"\d+(?:\.\d+)?× \[\d+(?:\.\d+)?–\d+(?:\.\d+)?\]")


def _analysis_ratios(df) -> set[str]:
    """Every ratio with its interval the analysis computes: each variant to its group's baseline, each
    variant to each other in its group (what titles and verdicts compare), and the recommended model's."""
    import itertools

    import pandas as pd

    from bench.analysis.tables import Ratio, ratios

    def number(value):
        return None if pd.isna(value) else float(value)

    known = set()
    for workload in df["workload"].dropna().unique():
        table = ratios(df, workload)
        for _, part in table.groupby(table["param"].fillna(""), sort=False):
            found = [Ratio(float(r.ratio), number(r.ratio_low), number(r.ratio_high)) for r in part.itertuples()
                     if pd.notna(r.ratio)] + [Ratio(1.0, 1.0, 1.0)]
            known |= {r.text() for r in found} | {a.over(b).text() for a, b in itertools.permutations(found, 2)}
    for row in df[df["variant"].str.contains(",", na=False)].itertuples():
        if pd.notna(row.ratio) and pd.notna(row.ratio_low):
            known.add(Ratio(float(row.ratio), float(row.ratio_low), float(row.ratio_high)).text())
    return known


@pytest.mark.db
@pytest.mark.slow
def test_every_ratio_the_page_states_is_the_analysis_one(default_report, small_run):  # noqa: F811
    soup = BeautifulSoup(default_report.read_text(), "html.parser")
    known = _analysis_ratios(load([small_run]))
    charts = {m for img in soup.find_all("img") for m in RATIO.findall(img.get("alt", "").replace("\n", " "))}
    assert charts and charts <= known, sorted(charts - known)  # a chart title quotes the analysis' own ratio
    decided = json.dumps(decision([small_run]), ensure_ascii=False)
    page = set(RATIO.findall(soup.get_text(" ")))
    # Everything else the page states is the analysis' ratio, or the decision object's own (a cost the
    # rule weighs from two ratios), printed from that one object.
    assert page and all(r in known or r in decided for r in page), sorted(r for r in page if r not in known)
    assert {r for r in page if r not in known} <= set(RATIO.findall(
        soup.find(id=layout.DECISION).get_text(" ")))


def test_the_kernels_own_warnings_stay_off_the_page_and_printed_findings_stay_on():
    assert layout.output_html({"output_type": "stream", "name": "stderr",
                               "text": "findfont: Font family ['STIXGeneral'] not found."}) is None
    kind, shown = layout.output_html({"output_type": "stream", "name": "stdout", "text": "3 confirmed <b>"})
    assert kind == "text" and shown == "<pre>3 confirmed &lt;b&gt;</pre>"
