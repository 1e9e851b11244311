"""The HTML report as a reviewer's browser shows it, built from hostile results files: nothing from a
results file runs or becomes a path, every chart loads with a real alt text, no id repeats; and an
interrupted report or a notebook run on its own leaves nothing behind."""

import json
import os
import select
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from bs4 import BeautifulSoup

from bench.report import plotting
from bench.report import _kernel, execute, render
from bench.report.page import closing_section
from bench.results import FORMAT_VERSION
from tests.test_notebooks import NOTEBOOKS, ROOT, small_run  # noqa: F401 - the shared session fixture

# Each payload marks the page if it ever runs; escaped, it is only text.
SCRIPT = "<script>document.documentElement.setAttribute('data-injected','script')</script>"
ONERROR = "<img src=x onerror=\"document.documentElement.setAttribute('data-injected','onerror')\">"
MATHTEXT = r"$\undefinedcommand{x}$"  # chart text: would fail to draw if taken as mathtext
PLACEHOLDER = "No description has been provided for this image"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
# Appended to a copy of the page: after load, record which images failed to decode.
CHECKER = """<script>
window.addEventListener('load', function () {
  var broken = [];
  document.querySelectorAll('img').forEach(function (img, i) {
    if (!img.complete || img.naturalWidth === 0) { broken.push(i); }
  });
  document.body.setAttribute('data-broken-images', broken.join(',') || 'none');
});
</script>"""


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
    assert sorted(p.stem for p in (page.parent / "charts").glob("*.png")) == sorted(plotting.CHARTS)


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
def test_the_page_ends_with_what_to_do_and_caveats(hostile_report):
    _, _, page = hostile_report
    soup = BeautifulSoup(page.read_text(), "html.parser")
    headings = [h.get_text(strip=True) for h in soup.find_all("h2")]
    assert headings[-2:] == ["What to do", "Caveats"] and headings.count("What to do") == 1
    assert soup.find("a", href="#report-what-to-do") and soup.find("a", href="#report-caveats")
    todo = soup.find(id="report-what-to-do").find_next("table")
    rows = [[td.get_text(strip=True) for td in tr.find_all("td")] for tr in todo.find("tbody").find_all("tr")]
    assert [r[1] for r in rows] == ["C1", "C2", "C3", "C4", "C5", "C6"]
    assert {r[2] for r in rows} <= {"adopt", "reject", "change", "undecided"}
    assert all(r[3] for r in rows)  # each decided by a number, or by what is missing
    caveats = soup.find(id="report-caveats").find_next("table").get_text(" ", strip=True)
    assert "<img src=x onerror" in caveats  # the hostile CPU model, shown as text
    assert "Clock skew between hosts (C6)" in caveats and "Load during the run" in caveats


def test_the_closing_sections_escape_every_string_of_a_results_file(tmp_path):
    doc = {"sessionbench": {"format_version": FORMAT_VERSION, "run_id": "r1", "backend": SCRIPT,
                            "machine": {"cpu_model": ONERROR, "kernel": SCRIPT}, "load": {"noisy": True}},
           "benchmarks": []}
    path = tmp_path / "hostile.json"
    path.write_text(json.dumps(doc))
    section = closing_section([str(path)])
    assert "<script>" not in section and "<img src=x" not in section
    assert "&lt;img src=x onerror" in section and "&lt;script&gt;" in section
    soup = BeautifulSoup(section, "html.parser")
    assert [h.get_text() for h in soup.find_all("h2")] == ["What to do", "Caveats"]
    assert [h["id"] for h in soup.find_all("h2")] == ["report-what-to-do", "report-caveats"]
    assert "6 not measured" in section  # no benchmarks: every claim says so, and every action is undecided


@pytest.mark.db
@pytest.mark.slow
@pytest.mark.skipif(CHROMIUM is None and not os.environ.get("SESSIONBENCH_REQUIRE_BROWSER"),
                    reason="chromium is not installed (CI installs the Debian package and requires it)")
def test_headless_chromium_finds_no_broken_image_duplicate_id_placeholder_alt_or_injected_script(hostile_report,
                                                                                                   tmp_path):
    _, _, page = hostile_report
    checked = tmp_path / "checked.html"
    checked.write_text(page.read_text().replace("</body>", CHECKER + "</body>"))
    shot = tmp_path / "report.png"
    common = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--virtual-time-budget=10000",
              f"--user-data-dir={tmp_path / 'profile'}"]
    dom = subprocess.run([*common, "--dump-dom", checked.as_uri()], capture_output=True, text=True, timeout=120,
                         check=True).stdout
    soup = BeautifulSoup(dom, "html.parser")
    assert soup.body is not None and soup.body.get("data-broken-images") == "none"
    assert not soup.find(attrs={"data-injected": True}), "a script from a results file ran"
    ids = [element["id"] for element in soup.find_all(id=True)]
    assert len(ids) == len(set(ids)), sorted({i for i in ids if ids.count(i) > 1})
    images = soup.find_all("img")
    assert len(images) >= len(plotting.CHARTS)
    assert all(img.get("alt") and img["alt"] != PLACEHOLDER and len(img["alt"]) > 20 for img in images)
    subprocess.run([*common, "--window-size=1280,4000", f"--screenshot={shot}", page.as_uri()],
                   capture_output=True, timeout=120, check=True)
    assert shot.stat().st_size > 10_000


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
