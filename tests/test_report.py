"""The HTML report on a real small run: every chart embedded, a table of contents, failures named."""

import re

import nbformat
import pytest

from bench import plotting
from bench.cli import main
from bench.report import _new_folder, render
from tests.test_notebooks import NOTEBOOKS, small_run  # noqa: F401 - the shared session fixture


@pytest.mark.db
@pytest.mark.slow
def test_report_embeds_every_chart_with_contents_and_run_metadata(small_run, tmp_path, capsys):  # noqa: F811
    page = render([small_run], tmp_path / "reports")
    html = page.read_text()
    progress = capsys.readouterr().out.splitlines()
    assert [line.split(" ...")[0] for line in progress] == [f"[{i}/5] {p.name}" for i, p in enumerate(NOTEBOOKS, 1)]
    assert html.count("data:image/png;base64,") >= len(plotting.CHARTS)
    assert sorted(p.stem for p in (page.parent / "charts").glob("*.png")) == sorted(plotting.CHARTS)
    assert sorted(p.name for p in (page.parent / "notebooks").glob("*.ipynb")) == [p.name for p in NOTEBOOKS]
    assert "Contents" in html
    for notebook in NOTEBOOKS:  # each notebook's title is linked from the contents and lands on an anchor
        anchors = re.findall(rf'href="#({notebook.stem}-[a-z0-9-]+)"', html)
        assert anchors and all(f'id="{anchor}"' in html for anchor in anchors)
    assert ">embedded<" in html and ">200<" in html  # backend and sessions from the run metadata
    assert not re.search(r'<script[^>]*src="https?://', html)  # self-contained


def test_an_earlier_report_is_never_overwritten(tmp_path):
    first, second = _new_folder(tmp_path, ["20260101T000000-abc123"]), _new_folder(tmp_path, ["20260101T000000-abc123"])
    assert first != second and first.is_dir() and second.is_dir()


@pytest.mark.db
def test_a_failing_cell_exits_non_zero_naming_notebook_and_cell(small_run, tmp_path, monkeypatch, capsys):  # noqa: F811
    folder = tmp_path / "notebooks"
    folder.mkdir()
    parameters = nbformat.v4.new_code_cell("results = []\nout_dir = None")
    parameters.metadata["tags"] = ["parameters"]
    broken = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# Broken"), parameters,
                                             nbformat.v4.new_code_cell("raise RuntimeError('chart data missing')")])
    nbformat.write(broken, folder / "01_broken.ipynb")
    monkeypatch.setenv("SESSIONBENCH_NOTEBOOKS", str(folder))
    assert main(["report", small_run, "--out", str(tmp_path / "reports")]) == 2
    error = capsys.readouterr().err
    assert "01_broken.ipynb: cell 3 (`raise RuntimeError('chart data missing')`) raised RuntimeError: " \
           "chart data missing" in error


def test_a_missing_results_file_exits_2_before_any_notebook_runs(tmp_path, capsys):
    assert main(["report", str(tmp_path / "nope.json"), "--out", str(tmp_path / "reports")]) == 2
    assert "nope.json: no such results file" in capsys.readouterr().err
    assert not (tmp_path / "reports").exists()
