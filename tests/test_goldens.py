"""Every analysis command's output on the committed fixtures equals its golden file.

The goldens (tests/golden/out/) were made by tools/goldens.py from the results files in
tests/golden/runs/; this test runs the same commands and functions again, in a subprocess (see that
script's docstring for why), and compares byte for byte after the one normalisation it defines
(`normalise`: scratch paths, new run ids, trace timings). A restructure changes no golden; a
behaviour change regenerates them (`python tools/goldens.py`) in the same commit, diff reviewed.
"""

from __future__ import annotations

import difflib
import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "tools" / "goldens.py"


def _script():
    spec = importlib.util.spec_from_file_location("sessionbench_goldens", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


goldens = _script()
TRACE_GOLDENS = {"trace/dashboard-selectin-page_size=10.json"}
COMMITTED = sorted(str(path.relative_to(goldens.OUT)) for path in goldens.OUT.rglob("*") if path.is_file())


def _emit(tmp_path_factory, *options: str) -> dict[str, str]:
    target = tmp_path_factory.mktemp("goldens") / "emitted.json"
    done = subprocess.run([sys.executable, str(SCRIPT), *options, "--emit", str(target)], cwd=ROOT,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, f"{SCRIPT.name} failed:\n{done.stderr[-3000:]}"
    return json.loads(target.read_text())


@pytest.fixture(scope="module")
def emitted(tmp_path_factory) -> dict[str, str]:
    """Every golden that needs no server, computed now from the committed fixtures."""
    return _emit(tmp_path_factory, "--no-db")


@pytest.fixture(scope="module")
def traced(tmp_path_factory) -> dict[str, str]:
    return _emit(tmp_path_factory, "--only-db")


def _same(name: str, now: str | None) -> None:
    assert now is not None, f"golden {name} is no longer produced; if that is intended: {goldens.REGENERATE}"
    stored = (goldens.OUT / name).read_text()
    if now != stored:
        diff = "".join(difflib.unified_diff(stored.splitlines(keepends=True), now.splitlines(keepends=True),
                                            fromfile=f"golden/{name}", tofile=f"now/{name}", n=2))
        pytest.fail(f"{name} differs from its golden (a restructure must change no golden; a behaviour change "
                    f"regenerates them with `{goldens.REGENERATE}` and the diff is reviewed):\n{diff[:20000]}",
                    pytrace=False)


@pytest.mark.parametrize("name", [n for n in COMMITTED if n not in TRACE_GOLDENS])
def test_golden(emitted, name):
    _same(name, emitted.get(name))


@pytest.mark.db
@pytest.mark.parametrize("name", sorted(TRACE_GOLDENS))
def test_trace_golden(traced, name):
    _same(name, traced.get(name))


def test_every_output_has_a_golden(emitted):
    """A command output without a committed golden (a new fixture or output) is pinned by regenerating."""
    missing = sorted(set(emitted) - set(COMMITTED) - set(goldens.STORED_AS_FIXTURE))
    assert not missing, f"outputs without a golden: {missing}; run `{goldens.REGENERATE}` and commit them"


def test_every_fixture_is_read_or_refused(emitted):
    """Each committed fixture has goldens, and the merged fixture is what `merge` makes of the shards."""
    for name in goldens.present():
        assert any(key.startswith(f"{name}/") for key in emitted), f"fixture {name} has no goldens"
    merged = goldens.fixture_path("merged")
    if merged.is_file():
        assert emitted["merge/merged.json"] == goldens.normalise(merged.read_text()), \
            f"merging runs/shard_1.json and runs/shard_2.json no longer gives runs/merged.json; see " \
            f"tests/golden/README.md to remake it"


def test_normalise_replaces_only_what_changes_between_calls():
    text = ('{"run_id": "20261207T043326-a3a6e1", "sql": "select 1 from sb_a3a6e1_d0_baseline.sessions", '
            '"ms": 0.123, "rows": 3, "ci_low": 0.018349169953261607, "median_s": 0.0123, "version": "3.11.7"}\n'
            '/scratch/x/history.png ' + str(goldens.ROOT) + "/tests\n"
            + str(goldens.ROOT) + "/bench/report/history.py:199: UserWarning: Tight layout not applied.")
    assert goldens.normalise(text, "/scratch/x") == (
        '{"run_id": "<run-id>", "sql": "select 1 from sb_<run>_d0_baseline.sessions", "ms": "<ms>", "rows": 3, '
        '"ci_low": 0.01834916995, "median_s": 0.0123, "version": "3.11.7"}\n'
        "<tmp>/history.png <root>/tests\n<source>: UserWarning: Tight layout not applied.")
