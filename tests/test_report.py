"""The HTML report on a real small run: every chart embedded, a table of contents, failures named."""

import os
import re
import subprocess
import sys

import nbformat
import pytest

from bench.report import plotting
from bench.report import _new_folder, _publish, render, report
from tests.test_notebooks import NOTEBOOKS, ROOT, small_run  # noqa: F401 - the shared session fixture


def sessionbench(*argv: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "bench.cli", *argv], capture_output=True, text=True, cwd=ROOT,
                          env={**os.environ, **env}, check=False)


@pytest.mark.db
@pytest.mark.slow
def test_report_embeds_every_chart_with_contents_and_run_metadata(small_run, tmp_path, capsys):  # noqa: F811
    page = render([small_run], tmp_path / "reports")
    html = page.read_text()
    progress = capsys.readouterr().out.splitlines()
    assert [line.split(" ...")[0] for line in progress] == [f"[{i}/{len(NOTEBOOKS)}] {p.name}" for i, p in enumerate(NOTEBOOKS, 1)]
    charts = sorted(p.stem for p in (page.parent / "charts").glob("*.png"))
    assert html.count("data:image/png;base64,") == len(charts) >= 10  # each chart drawn once, embedded
    assert set(charts) <= set(plotting.CHARTS)  # the rest were not measured: one line each, no file
    assert html.count('class="not-measured"') >= len(plotting.CHARTS) - len(charts)
    assert sorted(p.name for p in (page.parent / "notebooks").glob("*.ipynb")) == [p.name for p in NOTEBOOKS]
    for notebook in NOTEBOOKS[1:]:  # each notebook's section is linked from the decision and lands on it
        anchors = re.findall(rf'href="#({notebook.stem}-[a-z0-9-]+)"', html)
        assert anchors and all(f'id="{anchor}"' in html for anchor in anchors)
    assert ">embedded<" in html and ">200<" in html  # backend and sessions from the run metadata
    assert not re.search(r'<script[^>]*src="https?://', html)  # self-contained


def test_an_earlier_report_is_never_overwritten(tmp_path):
    first, second = _new_folder(tmp_path, ["20260101T000000-abc123"]), _new_folder(tmp_path, ["20260101T000000-abc123"])
    assert first != second and first.is_dir() and second.is_dir()
    (first / "report.html").write_text("first")
    published = _publish(first)
    assert published.name.startswith("report-") and published.name.endswith("-abc123")
    again = _publish(second)
    assert again.name == f"{published.name}-2" and (published / "report.html").read_text() == "first"


def test_folder_names_take_only_letters_and_digits_from_run_ids(tmp_path):
    building = _new_folder(tmp_path / "out", ["../../evil", "/etc/passwd", "a-b/../../c d"])
    assert building.parent == (tmp_path / "out").resolve()
    assert _publish(building).name.endswith("-evil-etcpasswd-bcd")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


@pytest.mark.db
def test_report_prints_where_the_html_and_the_charts_are_from_a_relative_out(small_run, tmp_path, monkeypatch,
                                                                             capsys):  # noqa: F811
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SESSIONBENCH_NOTEBOOKS", str(tmp_path / "one"))
    (tmp_path / "one").mkdir()
    source = next(path for path in NOTEBOOKS if path.stem == "04_storage_and_time")
    (tmp_path / "one" / source.name).write_bytes(source.read_bytes())
    assert report([small_run], "rel/reports") == 0  # what `sessionbench report RUN --out rel/reports` runs
    lines = capsys.readouterr().out.splitlines()
    (folder,) = (tmp_path / "rel" / "reports").iterdir()
    assert lines[-2] == f"report: {folder / 'report.html'}"
    charts = sorted(p.name for p in (folder / "charts").iterdir())
    assert lines[-1] == f"charts: {folder / 'charts'} ({len(charts)} PNG files)"
    assert charts == ["storage_migration.png", "time_ordering_skew.png", "time_rows_per_zone.png"]
    assert not list(tmp_path.glob("**/rel/reports/*/rel"))  # no doubled path under the report


@pytest.mark.db
def test_a_failing_cell_exits_non_zero_naming_notebook_and_cell(small_run, tmp_path):  # noqa: F811
    folder = tmp_path / "notebooks"
    folder.mkdir()
    parameters = nbformat.v4.new_code_cell("results = []\nout_dir = None")
    parameters.metadata["tags"] = ["parameters"]
    broken = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# Broken"), parameters,
                                             nbformat.v4.new_code_cell("raise RuntimeError('chart data missing')")])
    nbformat.write(broken, folder / "01_broken.ipynb")
    done = sessionbench("report", small_run, "--out", str(tmp_path / "reports"), SESSIONBENCH_NOTEBOOKS=str(folder))
    assert done.returncode == 2
    error = done.stderr
    assert "01_broken.ipynb: cell 3 (`raise RuntimeError('chart data missing')`) raised RuntimeError: " \
           "chart data missing" in error
    # No half-built report; the failed notebook is kept beside the reports, where the hint points.
    (kept,) = (tmp_path / "reports").iterdir()
    assert kept.name.startswith("01_broken-failed-report-") and kept.suffix == ".ipynb" and str(kept) in error


def test_a_missing_results_file_exits_2_before_any_notebook_runs(tmp_path):
    done = sessionbench("report", str(tmp_path / "nope.json"), "--out", str(tmp_path / "reports"))
    assert done.returncode == 2 and "nope.json: no such results file" in done.stderr
    assert not (tmp_path / "reports").exists()
