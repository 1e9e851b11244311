"""Install metadata that is true: what the wheel declares and ships, the floors, and the pins CI installs."""

from __future__ import annotations

import importlib.util
import re
import shutil
import subprocess
import sys
import tomllib
import zipfile
from email.parser import Parser
from importlib.metadata import version
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
NOTEBOOKS = sorted(path.name for path in (ROOT / "notebooks").glob("[0-9]*.ipynb"))
PYTHONS = {"3.11", "3.12", "3.13"}


def _requirements() -> list[Requirement]:
    project = PYPROJECT["project"]
    extras = [text for texts in project["optional-dependencies"].values() for text in texts]
    return [Requirement(text) for text in project["dependencies"] + extras]


def _requirement(name: str) -> Requirement:
    return next(req for req in _requirements() if canonicalize_name(req.name) == name)


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """The wheel `pip install .` builds, from a copy of the source (the build writes into its tree)."""
    base = tmp_path_factory.mktemp("wheel")
    source = base / "source"
    anywhere = shutil.ignore_patterns(".git", "build", "*.egg-info", "__pycache__", ".pytest_cache", ".venv")

    def ignore(folder, names):
        # what runs write at the top (results/, report/, history/); bench/results/ and bench/report/ are code
        top = {"results", "report", "history"} & set(names) if Path(folder) == ROOT else set()
        return anywhere(folder, names) | top

    shutil.copytree(ROOT, source, ignore=ignore)
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", str(base / "dist"),
                    str(source)], check=True, capture_output=True, text=True)
    (found,) = (base / "dist").glob("sessionbench-*.whl")
    return found


def _metadata(wheel: Path):
    with zipfile.ZipFile(wheel) as archive:
        name = next(n for n in archive.namelist() if n.endswith(".dist-info/METADATA"))
        return Parser().parsestr(archive.read(name).decode()), archive.namelist()


@pytest.mark.slow
def test_the_wheel_declares_true_requirements_license_and_pythons(wheel):
    meta, names = _metadata(wheel)
    assert meta["License-Expression"] == "MIT"
    assert meta["Requires-Python"] == ">=3.11"
    versions = {c.rsplit(" :: ", 1)[1] for c in meta.get_all("Classifier") if re.fullmatch(r".*:: 3\.\d+", c)}
    assert versions == PYTHONS
    required = {canonicalize_name(Requirement(text).name): Requirement(text)
                for text in meta.get_all("Requires-Dist") if "extra ==" not in text}
    # JupyterLab is the [lab] extra (`pip install 'sessionbench[lab]'`), not in a CI job's install
    assert "jupyterlab" not in required and "pyarrow" in required  # the data generator builds Arrow tables
    extras = {name: {canonicalize_name(Requirement(text).name) for text in meta.get_all("Requires-Dist")
                     if f'extra == "{name}"' in text} for name in ("parquet", "lab", "test")}
    assert extras["parquet"] == {"pyarrow"} and extras["lab"] == {"jupyterlab"}
    assert {"pyarrow", "jupyterlab", "check-jsonschema"} <= extras["test"]  # the tests use both extras
    assert required["testcontainers"].specifier.contains("4.15.0")
    assert not required["testcontainers"].specifier.contains("4.14.2")
    shipped = sorted(n.split("/")[1] for n in names if n.startswith("notebooks/") and n.endswith(".ipynb"))
    assert shipped == NOTEBOOKS and len(shipped) == 7
    assert {"bench/results/export.py", "bench/commands/notebook_files.py", "bench/schema/results.schema.json"} <= set(names)


def test_the_build_needs_a_setuptools_that_reads_an_spdx_license():
    """`license = "MIT"` (a PEP 639 expression) is read from setuptools 77.0 on; older ones reject it."""
    assert isinstance(PYPROJECT["project"]["license"], str)
    (setuptools,) = [Requirement(t) for t in PYPROJECT["build-system"]["requires"] if t.startswith("setuptools")]
    assert setuptools.specifier.contains("77.0.0") and not setuptools.specifier.contains("76.1.0")


def test_the_testcontainers_floor_is_the_first_release_with_the_module_the_code_imports():
    """testcontainers 4.14.2 ships `testcontainers/postgres/`; 4.15.0 is the first with
    `testcontainers/community/postgres/` (read in both wheels), which the docker backend imports."""
    source = (ROOT / "bench" / "backends" / "docker.py").read_text()
    assert "from testcontainers.community.postgres import PostgresContainer" in source
    floor = _requirement("testcontainers").specifier
    assert floor.contains("4.15.0") and not floor.contains("4.14.2")
    assert importlib.util.find_spec("testcontainers.community.postgres") is not None


def test_the_classifiers_name_the_pythons_the_workflow_tests():
    workflow = yaml.safe_load((ROOT / ".github" / "workflows" / "benchmarks.yml").read_text())
    matrix = workflow["jobs"]["tests"]["strategy"]["matrix"]["python-version"]
    classifiers = {c.rsplit(" :: ", 1)[1] for c in PYPROJECT["project"]["classifiers"]
                   if re.fullmatch(r"Programming Language :: Python :: 3\.\d+", c)}
    assert set(matrix) == classifiers == PYTHONS


def test_the_constraints_pin_every_requirement_inside_its_range():
    lines = [line.strip() for line in (ROOT / "constraints.txt").read_text().splitlines()]
    assert lines[0].startswith("#") and any("pip freeze" in line for line in lines if line.startswith("#"))
    pins = {}
    for line in lines:
        if line and not line.startswith("#"):
            match = re.fullmatch(r"([A-Za-z0-9._-]+)==([0-9][A-Za-z0-9.+!-]*)", line)
            assert match, f"not a pin: {line}"
            name = canonicalize_name(match.group(1))
            assert name not in pins, f"pinned twice: {name}"
            pins[name] = match.group(2)
    for requirement in _requirements():
        name = canonicalize_name(requirement.name)
        assert name in pins, f"{name} is required by pyproject.toml but not pinned in constraints.txt"
        assert requirement.specifier.contains(pins[name]), f"{name}=={pins[name]} is outside {requirement}"
    assert "sessionbench" not in pins


def test_version_prints_the_package_metadata():
    done = subprocess.run([sys.executable, "-m", "bench.cli", "--version"], capture_output=True, text=True,
                          check=True, cwd=ROOT)
    assert done.stdout == f"sessionbench {version('sessionbench')}\n"
    assert version("sessionbench") == PYPROJECT["project"]["version"]


@pytest.mark.slow
def test_a_wheel_install_copies_the_notebooks_out_and_never_overwrites(wheel, tmp_path):
    site = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", str(site),
                    str(wheel)], check=True, capture_output=True, text=True)
    env = {"PYTHONPATH": str(site), "PATH": "/usr/bin:/bin"}

    def sessionbench(*args):
        # Run outside the source tree, so `bench` and `notebooks` come from the installed wheel.
        return subprocess.run([sys.executable, "-m", "bench.cli", *args], capture_output=True, text=True,
                              cwd=tmp_path, env=env, check=False)

    where = subprocess.run([sys.executable, "-c", "import bench, notebooks; print(bench.__file__, notebooks.__file__)"],
                           capture_output=True, text=True, cwd=tmp_path, env=env, check=True)
    assert all(path.startswith(str(site)) for path in where.stdout.split())
    target = tmp_path / "my-notebooks"
    done = sessionbench("notebooks", str(target))
    assert done.returncode == 0, done.stderr
    assert done.stdout.count("\n") == 1 and str(target) in done.stdout and "7 notebooks" in done.stdout
    assert sorted(p.name for p in target.iterdir()) == NOTEBOOKS
    assert all((target / n).read_bytes() == (ROOT / "notebooks" / n).read_bytes() for n in NOTEBOOKS)
    (target / "01_loading.ipynb").write_text("my edits")
    again = sessionbench("notebooks", str(target))
    assert again.returncode == 2 and "not empty" in again.stderr.splitlines()[0]
    assert (target / "01_loading.ipynb").read_text() == "my edits"
    empty = tmp_path / "empty"
    empty.mkdir()
    assert sessionbench("notebooks", str(empty)).returncode == 0 and len(list(empty.iterdir())) == 7
    a_file = tmp_path / "a-file"
    a_file.write_text("x")
    refused = sessionbench("notebooks", str(a_file))
    assert refused.returncode == 2 and "not a folder" in refused.stderr and a_file.read_text() == "x"


def test_the_ci_installs_carry_the_test_extra_and_the_benchmark_job_needs_no_extra():
    """.ci/run and the tests job install '.[test]' (both extras' packages); the benchmark job runs and
    gates with the plain install, without Parquet or JupyterLab."""
    ci = (ROOT / ".ci" / "run").read_text()
    assert "pip install --quiet '.[test]' -c constraints.txt" in ci
    workflow = yaml.safe_load((ROOT / ".github" / "workflows" / "benchmarks.yml").read_text())
    installs = [step["run"] for job in workflow["jobs"].values() for step in job["steps"]
                if "pip install" in step.get("run", "")]
    assert "pip install '.[test]' -c constraints.txt" in installs
    assert "python -m venv venv-head && venv-head/bin/pip install ./head -c head/constraints.txt" in installs


@pytest.mark.db
def test_parquet_export_without_pyarrow_names_the_extra_in_one_line(tmp_path_factory, tmp_path):
    from tests.runs import tiny_dashboard_run

    run = tiny_dashboard_run(tmp_path_factory)
    # A Python where pyarrow cannot be imported (as after `pip install sessionbench` once the data
    # generator no longer needs it): the export refuses in one line naming the extra.
    code = ("import sys; sys.modules['pyarrow'] = None; from bench.cli import main; "
            f"sys.exit(main(['export', {run!r}, '--format', 'parquet', '--out', {str(tmp_path / 't.parquet')!r}]))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=False)
    assert done.returncode == 2, done.stderr
    first, hint = done.stderr.splitlines()
    assert first == "sessionbench: error: Parquet export needs pyarrow, from the [parquet] extra"
    assert "pip install 'sessionbench[parquet]'" in hint and not (tmp_path / "t.parquet").exists()
