"""The architecture as rules the code must keep (README, "Layout"): folders as layers, no import cycle,
one owner per fact. Each rule reads the code itself (its imports, its syntax tree), nothing is run.

- The import contracts in pyproject.toml hold (`lint-imports`), and their ignore lists are empty.
- No import cycle between modules, imports inside functions included (they used to hide two).
- Only the results package opens or parses a results file, or reads a benchmark's `extra_info` or the
  run's `sessionbench` block.
- A variant is named by its label only in models_variants (`models_variants.labels`): elsewhere a
  string equal to a label is a copy that a renamed axis value would silently stop matching.
- Only the settings module reads sessionbench's environment variables.
- No module over 400 lines.
"""

from __future__ import annotations

import ast
import subprocess
import sys
import tomllib
from pathlib import Path

import grimp
import pytest

from models_variants import AXES, Variant

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "bench"
MAX_LINES = 400


def _sources(folder: Path = PACKAGE) -> dict[str, ast.Module]:
    return {str(path.relative_to(ROOT)): ast.parse(path.read_text(), str(path))
            for path in sorted(folder.rglob("*.py"))}


def _strings(tree: ast.AST):
    """Every plain string constant (f-string parts included) with its line."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            yield node.lineno, node.value


def test_the_import_contracts_hold():
    linter = Path(sys.executable).with_name("lint-imports")
    done = subprocess.run([str(linter)], cwd=ROOT, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert "0 broken" in done.stdout


def test_the_contracts_ignore_nothing():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    contracts = config["contracts"]
    assert {contract["type"] for contract in contracts} == {"layers", "forbidden"}
    for contract in contracts:
        assert contract.get("ignore_imports", []) == [], contract["name"]
    layers = next(contract for contract in contracts if contract["type"] == "layers")["layers"]
    named = {name.strip() for layer in layers for name in layer.split("|")}
    folders = {f"bench.{path.stem if path.is_file() else path.name}" for path in PACKAGE.iterdir()
               if (path.suffix == ".py" and path.stem != "__init__") or (path / "__init__.py").is_file()}
    assert named == folders, "every module or folder directly under bench/ has its place in the layers"


def _cycles(graph) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    index, low, stack, on_stack, found, counter = {}, {}, [], set(), [], [0]
    for start in sorted(graph.modules):
        if start in index:
            continue
        work = [(start, iter(sorted(graph.find_modules_directly_imported_by(start))))]
        index[start] = low[start] = counter[0]
        counter[0] += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter[0]
                    counter[0] += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.find_modules_directly_imported_by(child)))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def test_no_import_cycle():
    # Imports made only for annotations (under TYPE_CHECKING) never run, so they make no cycle.
    assert _cycles(grimp.build_graph("bench", "models_variants", exclude_type_checking_imports=True)) == []


def test_the_cycle_finder_finds_a_cycle(tmp_path, monkeypatch):
    """The rule above can fail: two modules that import each other are found."""
    package = tmp_path / "cyclic"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "a.py").write_text("def f():\n    from cyclic import b\n")
    (package / "b.py").write_text("from cyclic import a\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    assert _cycles(grimp.build_graph("cyclic")) == [["cyclic.a", "cyclic.b"]]


# Files of bench/ that parse JSON that is not a results file (each with what it reads).
OTHER_JSON = {"bench/backends/leftovers.py": "its own record of the schemas a run created",
              "bench/report/browser.py": "the layout numbers its own script wrote into the page"}


def test_only_the_results_package_reads_results_files():
    found = []
    for name, tree in _sources().items():
        if name.startswith("bench/results/"):
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and node.attr == "extra_info":
                found.append(f"{name}:{node.lineno} .extra_info")
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
                    and node.func.attr in ("load", "loads") and getattr(node.func.value, "id", "") == "json" \
                    and name not in OTHER_JSON:
                found.append(f"{name}:{node.lineno} json.{node.func.attr}")
            run_block = (isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Constant)
                         and node.slice.value in ("sessionbench", "extra_info")) or (
                isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "get"
                and node.args and isinstance(node.args[0], ast.Constant)
                and node.args[0].value in ("sessionbench", "extra_info"))
            if run_block:
                found.append(f"{name}:{node.lineno} [{ast.unparse(node)[:40]}]")
    assert found == [], "read results through bench.results (run_info, entries, extra, rows, load)"


def _labels() -> set[str]:
    return {variant.label for axis in AXES for variant in Variant.along(axis)}


def test_variant_labels_are_written_only_in_models_variants():
    labels = _labels()
    assert "baseline" in labels and "loading=selectin" in labels
    found = [f"{name}:{line} {value!r}" for name, tree in _sources().items()
             for line, value in _strings(tree) if value in labels]
    assert found == [], "name variants through models_variants.labels"


def test_only_the_settings_module_reads_sessionbench_environment_variables():
    found = []
    for name, tree in _sources().items():
        if name == "bench/plan/settings.py":
            continue
        for node in ast.walk(tree):
            reads_environ = isinstance(node, ast.Attribute) and node.attr in ("environ", "getenv") \
                and getattr(node.value, "id", "") == "os"
            if reads_environ:
                parent_line = node.lineno
                line = Path(ROOT / name).read_text().splitlines()[parent_line - 1]
                if "SESSIONBENCH_" in line:
                    found.append(f"{name}:{parent_line}")
    assert found == [], "read them through bench.plan.settings (resolve, resolve_one, environment)"


@pytest.mark.parametrize("folder", ["bench", "tools", "models_variants"])
def test_no_module_is_over_400_lines(folder):
    long = {str(path.relative_to(ROOT)): count for path in sorted((ROOT / folder).rglob("*.py"))
            if (count := len(path.read_text().splitlines())) > MAX_LINES}
    assert long == {}


def test_no_source_file_is_ignored_by_git():
    """A new module under an ignored name (a results/ folder pattern once caught bench/results/) would be left
    out of every commit while tests on the working tree still pass."""
    sources = [str(path.relative_to(ROOT)) for folder in ("bench", "models_variants", "tools", "notebooks", "tests")
               for path in (ROOT / folder).rglob("*") if path.suffix in (".py", ".ipynb", ".toml", ".json", ".ini")
               and "__pycache__" not in path.parts and ".venv" not in path.parts]
    done = subprocess.run(["git", "check-ignore", "--no-index", "--stdin"], cwd=ROOT, input="\n".join(sources),
                          capture_output=True, text=True, check=False)
    if done.returncode == 128:
        pytest.skip("not a git checkout")
    assert done.stdout.split() == []
