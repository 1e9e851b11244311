"""A tiny real benchmark run shared by the export and Jupyter tests (made once per test session)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# The dashboard over every loading strategy, 200 sessions, two timed rounds: about ten seconds.
TINY_RUN = ["run", "--backend", "embedded", "--sessions", "200", "--max-time", "0.05", "--min-rounds", "2",
            "--only", "workload=dashboard", "--quiet"]


def tiny_dashboard_run(tmp_path_factory) -> str:
    """The results file of one tiny run, cached in the test session's base temporary folder."""
    folder = tmp_path_factory.getbasetemp() / "tiny-dashboard-run"
    found = sorted(folder.glob("*.json"))
    if not found:
        subprocess.run([sys.executable, "-m", "bench.cli", *TINY_RUN, "--out", str(folder)],
                       check=True, cwd=ROOT, capture_output=True, text=True)
        found = sorted(folder.glob("*.json"))
    return str(found[0])
