"""Text from a results file reaches the terminal with its control characters escaped, in every command:
an escape sequence (here one that clears the screen) or a CR/LF in a workload name is shown, never
acted on, and a name stays on its line."""

from __future__ import annotations

import copy
import json
import subprocess
import sys

import pytest

from bench.redact import printable
from tests.test_results_untrusted import ROOT, valid_doc

HOSTILE_NAME = "dash\x1b[2J\x1b[H\r\nboard\u202e\x07"
SHOWN = "dash\\x1b[2J\\x1b[H\\r\\nboard\\u202e\\x07"


def _doc(shard: str | None = None, param: str = "page_size=10") -> dict:
    doc = valid_doc()
    info = doc["benchmarks"][0]["extra_info"]
    info["workload"], info["param"] = HOSTILE_NAME, param
    info["sessions"] = doc["sessionbench"]["sessions"] = 1000  # the committed budgets' size
    doc["sessionbench"]["failed"] = [f"{HOSTILE_NAME}[x]"]
    doc["benchmarks"][0]["extra_info"]["trial_medians_s"] = [0.004, 0.0041, 0.0042]
    if shard:
        doc["sessionbench"]["settings"] = {"shard": shard}
    return doc


def sessionbench(*argv: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "bench.cli", *argv], capture_output=True, text=True, cwd=ROOT,
                          check=False, timeout=300)


def test_printable_escapes_every_control_character_and_keeps_the_rest():
    assert printable(HOSTILE_NAME, one_line=True) == SHOWN
    assert printable("a\tb\nc") == "a\tb\nc"  # the command's own lines and columns
    assert printable("café ✓ 5 ms") == "café ✓ 5 ms"
    assert printable("x" * 50, 10) == "xxxxxxx..."


@pytest.mark.parametrize("command", ["check", "history", "compare", "merge"])
def test_no_control_character_from_a_file_reaches_the_terminal(command, tmp_path):
    first, second = tmp_path / "a.json", tmp_path / "b.json"
    first.write_text(json.dumps(_doc("1/2")))
    other = _doc("2/2")  # the same benchmark in two shards: merge names it refusing them
    second.write_text(json.dumps(other))
    argv = {"check": ["check", str(first)],
            "history": ["history", str(first), str(second), "--out", str(tmp_path / "history")],
            "compare": ["compare", str(first), str(second)],
            "merge": ["merge", str(first), str(second), "--out", str(tmp_path / "merged")]}[command]
    done = sessionbench(*argv)
    shown = done.stdout + done.stderr
    assert "Traceback" not in shown, shown[-2000:]
    assert SHOWN in shown, shown
    assert not any(ch in shown for ch in "\x1b\r\x07\u202e")
    assert not any(line.startswith("board") for line in shown.splitlines())


def test_the_run_s_own_lines_are_unchanged(tmp_path):
    path = tmp_path / "run.json"
    doc = copy.deepcopy(valid_doc())
    path.write_text(json.dumps(doc))
    done = sessionbench("compare", str(path), str(path), "--format", "json")
    assert json.loads(done.stdout)["rows"][0]["workload"] == "dashboard"
