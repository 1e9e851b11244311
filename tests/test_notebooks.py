"""Every shipped notebook, executed on a real small run: thin, stored clean, and producing its charts."""

import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from bench.report import execute, notebook_paths

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = notebook_paths(ROOT / "notebooks")


@pytest.fixture(scope="session")
def small_run(tmp_path_factory) -> str:
    """One real benchmark run per test session (cached in the session's base temp folder)."""
    folder = tmp_path_factory.getbasetemp() / "small-run"
    found = sorted(folder.glob("*.json"))
    if not found:
        subprocess.run([sys.executable, "-m", "bench.cli", "run", "--backend", "embedded", "--sessions", "200",
                        "--max-time", "0.05", "--min-rounds", "3", "--out", str(folder), "--quiet"],
                       check=True, cwd=ROOT, capture_output=True, text=True)
        found = sorted(folder.glob("*.json"))
    return str(found[0])


def test_the_five_notebooks_ship_as_package_data():
    assert [path.name for path in NOTEBOOKS] == ["00_summary.ipynb", "01_loading.ipynb", "02_sync_flag.ipynb",
                                                 "03_deletion.ipynb", "04_storage_and_time.ipynb",
                                                 "05_growth.ipynb", "06_concurrency.ipynb"]
    assert (ROOT / "notebooks" / "__init__.py").exists()


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebooks_are_thin_and_stored_without_outputs(path):
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    code = [cell for cell in nb.cells if cell.cell_type == "code"]
    assert all(not cell.outputs and cell.execution_count is None for cell in code)
    assert not any("def " in cell.source or "class " in cell.source for cell in code)
    parameters = [cell for cell in code if "parameters" in cell.metadata.get("tags", [])]
    assert len(parameters) == 1 and "results = []" in parameters[0].source
    assert any(cell.cell_type == "markdown" for cell in nb.cells)


def _outputs(path: Path, mime: str) -> list:
    nb = nbformat.read(path, as_version=4)
    return [output["data"][mime] for cell in nb.cells if cell.cell_type == "code"
            for output in cell.outputs if mime in output.get("data", {})]


@pytest.mark.db
@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_each_notebook_runs_on_a_real_run_and_produces_its_charts(path, small_run, tmp_path):
    from bench.report import _kernel

    target = tmp_path / path.name
    with _kernel() as kernel:
        execute(path, target, {"results": [small_run], "out_dir": str(tmp_path / "charts")}, kernel, tmp_path)
    published = path.read_text().count("plotting.publish(")
    # A chart the run did not measure is one line naming what would measure it, and no file.
    missing = [text for text in _outputs(target, "text/markdown") if 'class="not-measured"' in text]
    drawn = _outputs(target, "image/png")
    assert len(drawn) + len(missing) == published
    assert len(list((tmp_path / "charts").glob("*.png"))) == len(drawn)
    if path.stem == "00_summary":
        verdict, todo, caveats = ([html for html in _outputs(target, "text/html") if heading in html]
                                  for heading in (">deciding<", ">review recommends<", ">what it means<"))
        assert len(verdict) == len(todo) == len(caveats) == 1
        assert all(f">C{n}<" in verdict[0] and f">C{n}<" in todo[0] for n in range(1, 7))
        assert ">Machine<" in caveats[0] and ">Not measured<" in caveats[0]
    elif path.stem in ("05_growth", "06_concurrency"):  # one size, no --clients: nothing to draw
        assert not drawn and all("run with --" in text for text in missing)
    else:
        assert len(drawn) == published >= 2


@pytest.mark.parametrize("given, expected", [
    ("results/a.json", ["results/a.json"]),
    (Path("results/a.json"), ["results/a.json"]),
    (["a.json", "b.json"], ["a.json", "b.json"]),
    (("a.json",), ["a.json"]),
    ([], []), ("", []), (None, []),
])
def test_the_results_parameter_is_one_path_or_a_list(given, expected):
    from bench.report.notebook_inputs import result_paths

    assert result_paths(given) == expected


def test_a_results_parameter_of_another_kind_is_refused_in_one_line():
    from bench.errors import UserError
    from bench.report.notebook_inputs import result_paths

    with pytest.raises(UserError, match="expected a results file path or a list"):
        result_paths(3)


@pytest.mark.db
@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_papermill_command_line_with_one_results_file(path, small_run, tmp_path):
    # papermill's usual `-p results RUN.json` hands the notebook a string, not a list; the list is
    # what the report passes (test_each_notebook_runs_on_a_real_run_and_produces_its_charts).
    target = tmp_path / path.name
    done = subprocess.run([sys.executable, "-m", "papermill", str(path), str(target), "-p", "results", small_run,
                           "-p", "out_dir", str(tmp_path / "charts"), "--cwd", str(tmp_path), "--no-progress-bar"],
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    published = path.read_text().count("plotting.publish(")
    drawn = _outputs(target, "image/png")
    missing = [text for text in _outputs(target, "text/markdown") if 'class="not-measured"' in text]
    assert len(list((tmp_path / "charts").glob("*.png"))) == len(drawn)
    assert len(drawn) + len(missing) == published
